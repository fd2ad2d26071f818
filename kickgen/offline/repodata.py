"""Yum repository metadata that EL6's yum (3.2.29) reads: write it, and read it back.

Written with createrepo_c's own writers (its Package objects, PrimaryXmlFile/FilelistsXmlFile/
OtherXmlFile, RepomdRecord and Repomd): `repodata/repomd.xml` and gzip-compressed
`primary.xml.gz`, `filelists.xml.gz`, `other.xml.gz` (plus `comps.xml` as `group`/`group_gz`
when given), with sha256 checksums and checksum-prefixed file names as createrepo writes them.
Never zstd or xz: EL6 yum reads gzip and bz2 only. No sqlite databases: yum builds its own from
the XML. The output is a pure function of the packages and the timestamp (packages sorted,
record timestamps and revision from the caller's epoch or the packages' build times), so the
same RPMs always give the same bytes.

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
import re
import shutil
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath

import createrepo_c as cr

from kickgen.core.errors import MediaError
from kickgen.offline.rpm import Capability, PackageFile, RpmPackage

NS_COMMON = "http://linux.duke.edu/metadata/common"
NS_RPM = "http://linux.duke.edu/metadata/rpm"
NS_REPO = "http://linux.duke.edu/metadata/repo"
NS_FILELISTS = "http://linux.duke.edu/metadata/filelists"
NS_OTHER = "http://linux.duke.edu/metadata/other"
REPOMD = "repodata/repomd.xml"

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
    TIMESTAMP (default: the newest build time) is the revision and every record's timestamp.
    """
    with tempfile.TemporaryDirectory(prefix="kickgen-repodata-") as scratch:
        folder = Path(scratch)
        names = _write_metadata(folder, packages, comps=comps, timestamp=timestamp,
                                unique_names=unique_names)
        return tuple((f"repodata/{name}", (folder / name).read_bytes()) for name in names)


def write_repodata(repo_dir: Path, packages: Iterable[RpmPackage], *,
                   comps: bytes | None = None, timestamp: int | None = None,
                   unique_names: bool = True) -> Path:
    """Write REPO_DIR/repodata as one step: built in a temp folder beside it, then renamed."""
    repo_dir = Path(repo_dir)
    staging = Path(tempfile.mkdtemp(prefix=".repodata-", dir=repo_dir))
    try:
        _write_metadata(staging, packages, comps=comps, timestamp=timestamp,
                        unique_names=unique_names)
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


def _write_metadata(folder: Path, packages: Iterable[RpmPackage], *, comps: bytes | None,
                    timestamp: int | None, unique_names: bool) -> list[str]:
    """Write the metadata files and repomd.xml into FOLDER (the future `repodata/`), with
    createrepo_c's writers; returns the file names, repomd.xml last."""
    ordered = sorted(packages, key=lambda p: (p.name, p.arch, p.location, p.sha256))
    if timestamp is None:
        timestamp = max((p.time_build for p in ordered), default=0)
    writers = {"primary": cr.PrimaryXmlFile, "filelists": cr.FilelistsXmlFile,
               "other": cr.OtherXmlFile}
    documents = {kind: make(str(folder / f"{kind}.xml.gz"), cr.GZ_COMPRESSION)
                 for kind, make in writers.items()}
    for document in documents.values():
        document.set_num_of_pkgs(len(ordered))
    for package in ordered:
        entry = _cr_package(package)
        for document in documents.values():
            document.add_pkg(entry)
    for document in documents.values():
        document.close()
    records = [cr.RepomdRecord(kind, str(folder / f"{kind}.xml.gz")) for kind in documents]
    if comps is not None:
        # comps is the caller's document, stored as given (createrepo_c has no comps writer;
        # modifyrepo_c adds it the same way): `group` plain, `group_gz` compressed by createrepo_c
        (folder / "comps.xml").write_bytes(comps)
        cr.compress_file(str(folder / "comps.xml"), str(folder / "comps.xml.gz"), cr.GZ_COMPRESSION)
        records += [cr.RepomdRecord("group", str(folder / "comps.xml")),
                    cr.RepomdRecord("group_gz", str(folder / "comps.xml.gz"))]
    repomd = cr.Repomd()
    repomd.set_revision(str(timestamp))
    for record in records:
        record.fill(cr.SHA256)
        record.set_timestamp(timestamp)   # not the files' mtimes: the same input, the same bytes
        if unique_names:
            record.rename_file()
        repomd.set_record(record)
    repomd.sort_records()
    (folder / "repomd.xml").write_text(repomd.xml_dump(), encoding="utf-8")
    return [PurePosixPath(r.location_href).name for r in repomd.records] + ["repomd.xml"]


# XML 1.0 cannot carry these control characters; createrepo_c refuses a package holding them
_XML_FORBIDDEN = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _clean(value: str) -> str:
    return _XML_FORBIDDEN.sub("", value)


def _cr_package(p: RpmPackage) -> cr.Package:
    """The createrepo_c Package of P (text cleaned of characters XML cannot carry)."""
    package = cr.Package()
    package.pkgId = p.sha256
    package.checksum_type = "sha256"
    for attribute, value in (
            ("name", p.name), ("arch", p.arch), ("epoch", p.epoch), ("version", p.version),
            ("release", p.release), ("summary", p.summary), ("description", p.description),
            ("url", p.url), ("rpm_packager", p.packager), ("rpm_license", p.license),
            ("rpm_vendor", p.vendor), ("rpm_group", p.group), ("rpm_buildhost", p.buildhost),
            ("rpm_sourcerpm", p.sourcerpm), ("location_href", p.location)):
        setattr(package, attribute, _clean(value))
    package.time_file, package.time_build = p.time_file, p.time_build
    package.size_package, package.size_installed = p.size_package, p.size_installed
    package.size_archive = p.size_archive
    package.rpm_header_start, package.rpm_header_end = p.header_start, p.header_end
    for attribute, caps in (("provides", p.provides), ("requires", p.requires),
                            ("conflicts", p.conflicts), ("obsoletes", p.obsoletes)):
        _set_in_order(package, attribute, [_cr_capability(cap) for cap in caps])
    _set_in_order(package, "files", [_cr_file(f) for f in p.files])
    return package


def _set_in_order(package: cr.Package, attribute: str, items: list[tuple]) -> None:
    """Set a list attribute so that the XML lists ITEMS in their order: createrepo_c 1.x's
    binding stores a list reversed (and dumps it as stored), which its getter shows."""
    setattr(package, attribute, items)
    if len(items) > 1 and list(getattr(package, attribute)) != items:
        setattr(package, attribute, items[::-1])


def _cr_capability(cap: Capability) -> tuple:
    """(name, flags, epoch, version, release, pre) as createrepo_c takes a dependency."""
    def text(value: str | None) -> str | None:
        return None if value is None else _clean(value)
    if not cap.flags:
        return (_clean(cap.name), None, None, None, None, cap.pre)
    return (_clean(cap.name), cap.flags, text(cap.epoch), text(cap.version), text(cap.release),
            cap.pre)


def _cr_file(entry: PackageFile) -> tuple[str, str, str]:
    """(type, directory with its trailing '/', base name): createrepo_c's file entry."""
    path = _clean(entry.path)
    cut = path.rfind("/") + 1
    return ("" if entry.kind == "file" else entry.kind, path[:cut], path[cut:])


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
    records: dict[str | None, tuple[str, ET.Element | None]] = {}
    for data in repomd.iter(f"{{{NS_REPO}}}data"):
        location = data.find(f"{{{NS_REPO}}}location")
        checksum = data.find(f"{{{NS_REPO}}}checksum")
        if location is None or not location.get("href"):
            raise MediaError(f"{source}/{REPOMD}: record '{data.get('type')}' has no location")
        records[data.get("type")] = (location.get("href", ""), checksum)
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
            declared = checksum.get("type") or "sha256"
            algorithm = {"sha": "sha1"}.get(declared, declared)
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
        filelists_xml = document("filelists")
        assert filelists_xml is not None   # its record is listed
        files = _parse_filelists(filelists_xml, f"{source}/{records['filelists'][0]}")
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
