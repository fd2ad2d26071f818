"""Yum repository metadata that EL6's yum (3.2.29) reads: write it, and read it back.

Written: `repodata/repomd.xml` and gzip-compressed `primary.xml.gz`, `filelists.xml.gz`,
`other.xml.gz` (plus `comps.xml` as `group`/`group_gz` when given), with sha256 checksums and
checksum-prefixed file names as createrepo writes them. Never zstd or xz: EL6 yum reads gzip
and bz2 only. No sqlite databases: yum builds its own from the XML. The output is a pure
function of the packages (sorted, gzip mtime 0, timestamps from the packages' build times), so
the same RPMs always give the same bytes.

Read: any repository whose repomd.xml lists primary (+ filelists, group/group_gz), in gzip,
bz2, xz or plain XML, through a `read(relative_path) -> bytes` callable so that a folder and a
file inside an ISO are read the same way.
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import io
import lzma
import os
import shutil
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from kickgen.core.errors import MediaError
from kickgen.offline.rpm import Capability, PackageFile, RpmPackage

NS_COMMON = "http://linux.duke.edu/metadata/common"
NS_RPM = "http://linux.duke.edu/metadata/rpm"
NS_REPO = "http://linux.duke.edu/metadata/repo"
NS_FILELISTS = "http://linux.duke.edu/metadata/filelists"
NS_OTHER = "http://linux.duke.edu/metadata/other"
REPOMD = "repodata/repomd.xml"
GZIP_LEVEL = 6

ReadFile = Callable[[str], bytes]


@dataclass(frozen=True)
class CompsGroup:
    """One comps.xml group; %packages `@id` installs mandatory + default (+ optional)."""

    id: str
    name: str
    mandatory: tuple[str, ...] = ()
    default: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    conditional: tuple[tuple[str, str], ...] = ()   # (package, installed only with this one)


@dataclass(frozen=True)
class RepoMetadata:
    packages: tuple[RpmPackage, ...]
    groups: tuple[CompsGroup, ...] = ()
    revision: str = ""
    source: str = ""                                 # where it was read from, for messages


# --- writing ----------------------------------------------------------------------------------


def render_repodata(packages: Iterable[RpmPackage], *, comps: bytes | None = None,
                    timestamp: int | None = None,
                    unique_names: bool = True) -> tuple[tuple[str, bytes], ...]:
    """The files of `repodata/` as (path relative to the repository root, bytes), repomd last.

    UNIQUE_NAMES prefixes each file with its sha256 as createrepo does; without it the names
    are plain (`primary.xml.gz`, createrepo's --simple-md-filenames), which EL6 yum reads alike.
    """
    def name(digest_of: bytes, suffix: str) -> str:
        return f"repodata/{_sha256(digest_of)}-{suffix}" if unique_names else f"repodata/{suffix}"

    ordered = sorted(packages, key=lambda p: (p.name, p.arch, p.location, p.sha256))
    if timestamp is None:
        timestamp = max((p.time_build for p in ordered), default=0)
    documents = [
        ("primary", _primary_xml(ordered)),
        ("filelists", _filelists_xml(ordered)),
        ("other", _other_xml(ordered)),
    ]
    files: list[tuple[str, bytes]] = []
    records: list[str] = []
    for kind, xml in documents:
        compressed = gzip.compress(xml, compresslevel=GZIP_LEVEL, mtime=0)
        href = name(compressed, f"{kind}.xml.gz")
        files.append((href, compressed))
        records.append(_repomd_record(kind, href, compressed, xml, timestamp))
    if comps is not None:
        href = name(comps, "comps.xml")
        files.append((href, comps))
        records.append(_repomd_record("group", href, comps, None, timestamp))
        compressed = gzip.compress(comps, compresslevel=GZIP_LEVEL, mtime=0)
        href = name(compressed, "comps.xml.gz")
        files.append((href, compressed))
        records.append(_repomd_record("group_gz", href, compressed, comps, timestamp))
    repomd = (f'<?xml version="1.0" encoding="UTF-8"?>\n<repomd xmlns="{NS_REPO}" '
              f'xmlns:rpm="{NS_RPM}">\n  <revision>{timestamp}</revision>\n'
              + "".join(records) + "</repomd>\n")
    files.append((REPOMD, repomd.encode()))
    return tuple(files)


def write_repodata(repo_dir: Path, packages: Iterable[RpmPackage], *,
                   comps: bytes | None = None, timestamp: int | None = None,
                   unique_names: bool = True) -> Path:
    """Write REPO_DIR/repodata as one step: built in a temp folder beside it, then renamed."""
    repo_dir = Path(repo_dir)
    files = render_repodata(packages, comps=comps, timestamp=timestamp, unique_names=unique_names)
    staging = Path(tempfile.mkdtemp(prefix=".repodata-", dir=repo_dir))
    try:
        for rel, data in files:
            target = staging / rel.removeprefix("repodata/")
            target.write_bytes(data)
        target = repo_dir / "repodata"
        if target.exists():
            old = Path(tempfile.mkdtemp(prefix=".repodata-old-", dir=repo_dir))
            os.replace(target, old / "repodata")
            os.replace(staging, target)
            shutil.rmtree(old)
        else:
            os.replace(staging, target)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return repo_dir / "repodata"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _repomd_record(kind: str, href: str, data: bytes, opened: bytes | None, timestamp: int) -> str:
    lines = [f'  <data type="{kind}">',
             f'    <checksum type="sha256">{_sha256(data)}</checksum>']
    if opened is not None:
        lines.append(f'    <open-checksum type="sha256">{_sha256(opened)}</open-checksum>')
    lines += [f"    <location href={quoteattr(href)}/>",
              f"    <timestamp>{timestamp}</timestamp>",
              f"    <size>{len(data)}</size>"]
    if opened is not None:
        lines.append(f"    <open-size>{len(opened)}</open-size>")
    lines.append("  </data>\n")
    return "\n".join(lines)


def _text(value: str) -> str:
    """Escape for XML, dropping control characters XML 1.0 cannot carry."""
    clean = "".join(c for c in value if c in "\t\n\r" or ord(c) >= 0x20)
    return escape(clean)


def _attr(value: str) -> str:
    return quoteattr("".join(c for c in value if c in "\t\n\r" or ord(c) >= 0x20))


def _is_primary_file(path: str) -> bool:
    """createrepo keeps these paths in primary.xml so yum resolves common file requires early."""
    return "bin/" in path or path.startswith("/etc/") or path == "/usr/lib/sendmail"


def _version_tag(p: RpmPackage) -> str:
    return f'<version epoch={_attr(p.epoch)} ver={_attr(p.version)} rel={_attr(p.release)}/>'


def _entries(tag: str, caps: Sequence[Capability]) -> str:
    if not caps:
        return ""
    out = [f"    <rpm:{tag}>\n"]
    for cap in caps:
        attrs = f"name={_attr(cap.name)}"
        if cap.flags:
            attrs += f' flags="{cap.flags}"'
            for key, value in (("epoch", cap.epoch), ("ver", cap.version), ("rel", cap.release)):
                if value is not None:
                    attrs += f" {key}={_attr(value)}"
        if cap.pre:
            attrs += ' pre="1"'
        out.append(f"      <rpm:entry {attrs}/>\n")
    out.append(f"    </rpm:{tag}>\n")
    return "".join(out)


def _file_tag(entry: PackageFile, indent: str) -> str:
    kind = "" if entry.kind == "file" else f' type="{entry.kind}"'
    return f"{indent}<file{kind}>{_text(entry.path)}</file>\n"


def _primary_xml(packages: Sequence[RpmPackage]) -> bytes:
    out = [f'<?xml version="1.0" encoding="UTF-8"?>\n<metadata xmlns="{NS_COMMON}" '
           f'xmlns:rpm="{NS_RPM}" packages="{len(packages)}">\n']
    for p in packages:
        out.append(
            '<package type="rpm">\n'
            f"  <name>{_text(p.name)}</name>\n"
            f"  <arch>{_text(p.arch)}</arch>\n"
            f"  {_version_tag(p)}\n"
            f'  <checksum type="sha256" pkgid="YES">{p.sha256}</checksum>\n'
            f"  <summary>{_text(p.summary)}</summary>\n"
            f"  <description>{_text(p.description)}</description>\n"
            f"  <packager>{_text(p.packager)}</packager>\n"
            f"  <url>{_text(p.url)}</url>\n"
            f'  <time file="{p.time_file}" build="{p.time_build}"/>\n'
            f'  <size package="{p.size_package}" installed="{p.size_installed}" '
            f'archive="{p.size_archive}"/>\n'
            f"  <location href={_attr(p.location)}/>\n"
            "  <format>\n"
            f"    <rpm:license>{_text(p.license)}</rpm:license>\n"
            f"    <rpm:vendor>{_text(p.vendor)}</rpm:vendor>\n"
            f"    <rpm:group>{_text(p.group)}</rpm:group>\n"
            f"    <rpm:buildhost>{_text(p.buildhost)}</rpm:buildhost>\n"
            f"    <rpm:sourcerpm>{_text(p.sourcerpm)}</rpm:sourcerpm>\n"
            f'    <rpm:header-range start="{p.header_start}" end="{p.header_end}"/>\n'
            + "".join(_entries(tag, caps) for tag, caps in (
                ("provides", p.provides), ("requires", p.requires),
                ("conflicts", p.conflicts), ("obsoletes", p.obsoletes)))
            + "".join(_file_tag(f, "    ") for f in p.files if _is_primary_file(f.path))
            + "  </format>\n</package>\n")
    out.append("</metadata>\n")
    return "".join(out).encode()


def _filelists_xml(packages: Sequence[RpmPackage]) -> bytes:
    out = [f'<?xml version="1.0" encoding="UTF-8"?>\n<filelists xmlns="{NS_FILELISTS}" '
           f'packages="{len(packages)}">\n']
    for p in packages:
        out.append(f'<package pkgid="{p.sha256}" name={_attr(p.name)} arch={_attr(p.arch)}>\n'
                   f"  {_version_tag(p)}\n"
                   + "".join(_file_tag(f, "  ") for f in p.files)
                   + "</package>\n")
    out.append("</filelists>\n")
    return "".join(out).encode()


def _other_xml(packages: Sequence[RpmPackage]) -> bytes:
    out = [f'<?xml version="1.0" encoding="UTF-8"?>\n<otherdata xmlns="{NS_OTHER}" '
           f'packages="{len(packages)}">\n']
    for p in packages:
        out.append(f'<package pkgid="{p.sha256}" name={_attr(p.name)} arch={_attr(p.arch)}>\n'
                   f"  {_version_tag(p)}\n</package>\n")
    out.append("</otherdata>\n")
    return "".join(out).encode()


# --- reading ----------------------------------------------------------------------------------


def read_repodata(read: ReadFile, *, source: str = "<repo>", filelists: bool = True) -> RepoMetadata:
    """Read a repository through READ (relative path -> bytes; FileNotFoundError if absent).

    Checks each file against its repomd checksum. FILELISTS=False skips the full file lists
    (primary still carries the */bin/* and /etc/* files that most file requires name).
    """
    try:
        repomd_bytes = read(REPOMD)
    except FileNotFoundError:
        raise MediaError(f"{source}: no {REPOMD}",
                         hint="not a yum repository (run createrepo, or point at its root)") from None
    try:
        repomd = ET.fromstring(repomd_bytes)
    except ET.ParseError as exc:
        raise MediaError(f"{source}/{REPOMD}: not valid XML ({exc})") from None
    records = {}
    for data in repomd.iter(f"{{{NS_REPO}}}data"):
        location = data.find(f"{{{NS_REPO}}}location")
        checksum = data.find(f"{{{NS_REPO}}}checksum")
        if location is None or not location.get("href"):
            raise MediaError(f"{source}/{REPOMD}: record '{data.get('type')}' has no location")
        records[data.get("type")] = (location.get("href"), checksum)
    revision = (repomd.findtext(f"{{{NS_REPO}}}revision") or "").strip()

    def document(kind: str) -> bytes | None:
        if kind not in records:
            return None
        href, checksum = records[kind]
        try:
            raw = read(href)
        except FileNotFoundError:
            raise MediaError(f"{source}: {REPOMD} lists {href}, which is missing") from None
        if checksum is not None and checksum.text:
            algorithm = {"sha": "sha1"}.get(checksum.get("type", "sha256"), checksum.get("type"))
            try:
                actual = hashlib.new(algorithm, raw).hexdigest()
            except ValueError:
                raise MediaError(f"{source}/{href}: unknown checksum type '{algorithm}'") from None
            if actual != checksum.text.strip():
                raise MediaError(f"{source}/{href}: {algorithm} checksum differs from {REPOMD}",
                                 hint="the repository metadata is stale or damaged; regenerate it")
        return decompress(raw, f"{source}/{href}")

    primary = document("primary")
    if primary is None:
        raise MediaError(f"{source}/{REPOMD}: no 'primary' record")
    packages = _parse_primary(primary, f"{source}/{records['primary'][0]}")
    if filelists and "filelists" in records:
        files = _parse_filelists(document("filelists"), f"{source}/{records['filelists'][0]}")
        packages = [replace(p, files=files.get(p.sha256, p.files)) for p in packages]
    comps = document("group_gz") if "group_gz" in records else document("group")
    groups = parse_comps(comps, f"{source} comps") if comps is not None else ()
    return RepoMetadata(tuple(packages), groups, revision, source)


def read_repodata_dir(repo_dir: Path, *, filelists: bool = True) -> RepoMetadata:
    """Read the repository whose root (holding repodata/) is REPO_DIR."""
    root = Path(repo_dir)

    def read(rel: str) -> bytes:
        return (root / rel).read_bytes()

    return read_repodata(read, source=str(root), filelists=filelists)


def decompress(data: bytes, name: str) -> bytes:
    """Plain, gzip, bz2 or xz by magic number; zstd is refused (EL6 yum cannot read it)."""
    try:
        if data[:2] == b"\x1f\x8b":
            return gzip.decompress(data)
        if data[:3] == b"BZh":
            return bz2.decompress(data)
        if data[:6] == b"\xfd7zXZ\x00":
            return lzma.decompress(data)
    except (OSError, EOFError, lzma.LZMAError, ValueError) as exc:
        raise MediaError(f"{name}: damaged compressed metadata ({exc})") from None
    if data[:4] == b"\x28\xb5\x2f\xfd":
        raise MediaError(f"{name}: zstd-compressed metadata, which EL6 yum cannot read",
                         hint="regenerate with gzip (createrepo_c --general-compress-type=gz)")
    return data


def _caps(parent: ET.Element | None, tag: str) -> tuple[Capability, ...]:
    if parent is None:
        return ()
    block = parent.find(f"{{{NS_RPM}}}{tag}")
    if block is None:
        return ()
    return tuple(Capability(e.get("name", ""), e.get("flags") or None, e.get("epoch"),
                            e.get("ver"), e.get("rel"), e.get("pre") in ("1", "true"))
                 for e in block.iter(f"{{{NS_RPM}}}entry"))


def _files(parent: ET.Element | None, ns: str) -> tuple[PackageFile, ...]:
    if parent is None:
        return ()
    return tuple(sorted(PackageFile(f.text or "", f.get("type", "file"))
                        for f in parent.findall(f"{{{ns}}}file")))


def _parse_primary(xml: bytes, name: str) -> list[RpmPackage]:
    c = f"{{{NS_COMMON}}}"
    r = f"{{{NS_RPM}}}"
    packages = []
    try:
        for _, elem in ET.iterparse(io.BytesIO(xml)):
            if elem.tag != f"{c}package":
                continue
            version = elem.find(f"{c}version")
            fmt = elem.find(f"{c}format")
            times = elem.find(f"{c}time")
            sizes = elem.find(f"{c}size")
            header = fmt.find(f"{r}header-range") if fmt is not None else None
            location = elem.find(f"{c}location")

            def fmt_text(tag: str, fmt=fmt) -> str:
                return (fmt.findtext(f"{r}{tag}") or "") if fmt is not None else ""

            def num(node, key: str) -> int:
                return int(node.get(key, 0) or 0) if node is not None else 0

            packages.append(RpmPackage(
                name=elem.findtext(f"{c}name") or "", arch=elem.findtext(f"{c}arch") or "",
                epoch=version.get("epoch", "0") if version is not None else "0",
                version=version.get("ver", "") if version is not None else "",
                release=version.get("rel", "") if version is not None else "",
                sha256=(elem.findtext(f"{c}checksum") or "").strip(),
                location=location.get("href", "") if location is not None else "",
                summary=elem.findtext(f"{c}summary") or "",
                description=elem.findtext(f"{c}description") or "",
                packager=elem.findtext(f"{c}packager") or "", url=elem.findtext(f"{c}url") or "",
                license=fmt_text("license"), vendor=fmt_text("vendor"), group=fmt_text("group"),
                buildhost=fmt_text("buildhost"), sourcerpm=fmt_text("sourcerpm"),
                time_build=num(times, "build"), time_file=num(times, "file"),
                size_package=num(sizes, "package"), size_installed=num(sizes, "installed"),
                size_archive=num(sizes, "archive"),
                header_start=num(header, "start"), header_end=num(header, "end"),
                provides=_caps(fmt, "provides"), requires=_caps(fmt, "requires"),
                conflicts=_caps(fmt, "conflicts"), obsoletes=_caps(fmt, "obsoletes"),
                files=_files(fmt, NS_COMMON),
            ))
            elem.clear()
    except ET.ParseError as exc:
        raise MediaError(f"{name}: not valid primary XML ({exc})") from None
    return packages


def _parse_filelists(xml: bytes, name: str) -> dict[str, tuple[PackageFile, ...]]:
    tag = f"{{{NS_FILELISTS}}}package"
    files: dict[str, tuple[PackageFile, ...]] = {}
    try:
        for _, elem in ET.iterparse(io.BytesIO(xml)):
            if elem.tag == tag:
                files[elem.get("pkgid", "")] = _files(elem, NS_FILELISTS)
                elem.clear()
    except ET.ParseError as exc:
        raise MediaError(f"{name}: not valid filelists XML ({exc})") from None
    return files


def parse_comps(xml: bytes, name: str = "comps.xml") -> tuple[CompsGroup, ...]:
    """Groups of a comps file (no namespace); names in other languages are skipped."""
    try:
        root = ET.fromstring(xml)
    except ET.ParseError as exc:
        raise MediaError(f"{name}: not valid comps XML ({exc})") from None
    lang = "{http://www.w3.org/XML/1998/namespace}lang"
    groups = []
    for group in root.iter("group"):
        kinds: dict[str, list[str]] = {"mandatory": [], "default": [], "optional": []}
        conditional = []
        for req in group.iter("packagereq"):
            kind = req.get("type", "mandatory")
            if kind == "conditional":
                conditional.append(((req.text or "").strip(), req.get("requires", "")))
            else:
                kinds.setdefault(kind, []).append((req.text or "").strip())
        title = next((n.text or "" for n in group.findall("name") if lang not in n.attrib), "")
        groups.append(CompsGroup(
            id=(group.findtext("id") or "").strip(), name=title.strip(),
            mandatory=tuple(kinds["mandatory"]), default=tuple(kinds["default"]),
            optional=tuple(kinds["optional"]), conditional=tuple(conditional)))
    return tuple(groups)
