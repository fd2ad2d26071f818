"""RPM package headers as plain data, and RPM version comparison.

`read_rpm(path)` reads one RPM with createrepo_c's header reader (the library createrepo itself
uses), checks the RPM's own digests (header SHA256/SHA1, header+payload MD5 from the signature
header) and returns a frozen `RpmPackage`. The same dataclass comes back from yum metadata
(`kickgen.offline.repodata`), so the dependency check sees RPM files and repodata alike.

`compare_evr` / `satisfies` follow rpm's own rules (rpmdsCompare), on top of
`kickgen.core.versions.rpmvercmp` (rpmvercmp.c).
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from kickgen.core.errors import EnvironmentProblem, MediaError
from kickgen.core.versions import rpmvercmp

RPM_LEAD_MAGIC = b"\xed\xab\xee\xdb"
HEADER_MAGIC = b"\x8e\xad\xe8\x01"
LEAD_SIZE = 96

# Signature header tags (rpmtag.h): digests a reader can check without a key.
SIGTAG_SIZE = 1000        # header + payload size (int32)
SIGTAG_MD5 = 1004         # MD5 of header + payload (bin, 16 bytes)
SIGTAG_SHA1 = 269         # SHA1 of the header (hex string)
SIGTAG_SHA256 = 273       # SHA256 of the header (hex string)
SIGTAG_LONGSIZE = 270     # header + payload size (int64)

FLAG_SYMBOLS = {"EQ": "=", "LT": "<", "LE": "<=", "GT": ">", "GE": ">="}
SYMBOL_FLAGS = {symbol: flag for flag, symbol in FLAG_SYMBOLS.items()}


@dataclass(frozen=True, order=True)
class Capability:
    """One provides/requires/conflicts/obsoletes entry: `name [flags epoch:version-release]`."""

    name: str
    flags: str | None = None          # None (any version) or EQ, LT, LE, GT, GE
    epoch: str | None = None
    version: str | None = None
    release: str | None = None
    pre: bool = False                 # a Requires(pre): install-order hint only

    def __str__(self) -> str:
        if not self.flags:
            return self.name
        return f"{self.name} {FLAG_SYMBOLS[self.flags]} {self.evr}"

    @property
    def evr(self) -> str:
        text = self.version or ""
        if self.epoch not in (None, "", "0"):
            text = f"{self.epoch}:{text}"
        if self.release:
            text = f"{text}-{self.release}"
        return text

    @property
    def is_file(self) -> bool:
        return self.name.startswith("/")

    @property
    def is_rpmlib(self) -> bool:
        """rpmlib(...) features are provided by rpm itself, never by a package."""
        return self.name.startswith("rpmlib(")


@dataclass(frozen=True, order=True)
class PackageFile:
    """One entry of a package's file list; kind is 'file', 'dir' or 'ghost' (filelists.xml)."""

    path: str
    kind: str = "file"


@dataclass(frozen=True)
class RpmPackage:
    """What yum metadata says about one package (primary + filelists), plus its file name."""

    name: str
    epoch: str
    version: str
    release: str
    arch: str
    sha256: str
    location: str                     # href relative to the repository root
    summary: str = ""
    description: str = ""
    url: str = ""
    packager: str = ""
    license: str = ""
    vendor: str = ""
    group: str = ""
    buildhost: str = ""
    sourcerpm: str = ""
    time_build: int = 0
    time_file: int = 0
    size_package: int = 0
    size_installed: int = 0
    size_archive: int = 0
    header_start: int = 0
    header_end: int = 0
    provides: tuple[Capability, ...] = ()
    requires: tuple[Capability, ...] = ()
    conflicts: tuple[Capability, ...] = ()
    obsoletes: tuple[Capability, ...] = ()
    files: tuple[PackageFile, ...] = field(default=(), repr=False)

    @property
    def evr(self) -> tuple[str, str, str]:
        return (self.epoch or "0", self.version, self.release)

    @property
    def nevra(self) -> str:
        epoch = "" if self.epoch in ("", "0") else f"{self.epoch}:"
        return f"{self.name}-{epoch}{self.version}-{self.release}.{self.arch}"

    @property
    def full_version(self) -> str:
        """version-release, with epoch: when it is not 0 (what the manifest shows)."""
        epoch = "" if self.epoch in ("", "0") else f"{self.epoch}:"
        return f"{epoch}{self.version}-{self.release}"


# --- reading an RPM file ----------------------------------------------------------------------


def read_rpm(path: Path, *, location: str | None = None) -> RpmPackage:
    """Read PATH's header and check its digests. Raises MediaError naming PATH if it is unusable.

    LOCATION is the href to record (default: the file name). The file is only read.
    """
    path = Path(path)
    try:
        with path.open("rb") as handle:
            head = handle.read(LEAD_SIZE + 16)
    except OSError as exc:
        raise MediaError(f"{path}: cannot read RPM: {exc.strerror or exc}") from None
    if not head.startswith(RPM_LEAD_MAGIC):
        raise MediaError(f"{path}: not an RPM file (no RPM lead magic)",
                         hint="remove it from the embedded folder or replace it with a good copy")
    sha256 = _verify_digests(path)
    cr = _createrepo_c()
    try:
        pkg = cr.package_from_rpm(str(path), cr.SHA256, location or path.name, None, 0)
    except (OSError, RuntimeError, cr.CreaterepoCError) as exc:
        raise MediaError(f"{path}: unreadable RPM header ({exc})",
                         hint="the file is damaged or truncated; download it again") from None
    if pkg.pkgId != sha256:
        raise MediaError(f"{path}: changed while being read (sha256 differs between two reads)")
    return _from_createrepo_c(pkg)


def _createrepo_c():
    try:
        import createrepo_c
    except ImportError as exc:  # a broken venv, not a user mistake
        raise EnvironmentProblem(f"createrepo_c is not importable: {exc}",
                                 hint="run 'make setup' to install kickgen's dependencies") from None
    return createrepo_c


def _from_createrepo_c(pkg) -> RpmPackage:
    def caps(entries) -> tuple[Capability, ...]:
        return tuple(Capability(name, flags or None, epoch, ver, rel, bool(pre))
                     for name, flags, epoch, ver, rel, pre in entries)

    files = tuple(PackageFile(f"{dirname}{basename}", kind or "file")
                  for kind, dirname, basename, *_ in pkg.files)
    return RpmPackage(
        name=pkg.name, epoch=pkg.epoch or "0", version=pkg.version, release=pkg.release,
        arch=pkg.arch, sha256=pkg.pkgId, location=pkg.location_href,
        summary=pkg.summary or "", description=pkg.description or "", url=pkg.url or "",
        packager=pkg.rpm_packager or "", license=pkg.rpm_license or "",
        vendor=pkg.rpm_vendor or "", group=pkg.rpm_group or "",
        buildhost=pkg.rpm_buildhost or "", sourcerpm=pkg.rpm_sourcerpm or "",
        # time_file is the build time, not the file's mtime: the same RPM gives the same bytes.
        time_build=int(pkg.time_build or 0), time_file=int(pkg.time_build or 0),
        size_package=int(pkg.size_package or 0), size_installed=int(pkg.size_installed or 0),
        size_archive=int(pkg.size_archive or 0),
        header_start=int(pkg.rpm_header_start or 0), header_end=int(pkg.rpm_header_end or 0),
        provides=caps(pkg.provides), requires=caps(r for r in pkg.requires
                                                   if not r[0].startswith("rpmlib(")),
        conflicts=caps(pkg.conflicts), obsoletes=caps(pkg.obsoletes),
        files=tuple(sorted(files)),
    )


def _verify_digests(path: Path) -> str:
    """Check the digests in the signature header (as `rpm -K --nosignature`); return the sha256."""
    whole = hashlib.sha256()

    def read(handle, size: int) -> bytes:
        data = handle.read(size)
        whole.update(data)
        return data

    damaged = "the file is damaged or truncated; download it again"
    with path.open("rb") as handle:
        read(handle, LEAD_SIZE)
        sig_intro = read(handle, 16)
        if len(sig_intro) < 16:
            raise MediaError(f"{path}: unreadable RPM (truncated in the lead)", hint=damaged)
        if sig_intro[:4] != HEADER_MAGIC:
            raise MediaError(f"{path}: unreadable RPM (no signature header)", hint=damaged)
        count, store_size = struct.unpack(">II", sig_intro[8:16])
        if count > 10_000 or store_size > 64 << 20:
            raise MediaError(f"{path}: unreadable RPM (implausible signature header)", hint=damaged)
        body = read(handle, 16 * count + store_size)
        if len(body) < 16 * count + store_size:
            raise MediaError(f"{path}: unreadable RPM (truncated in the signature)", hint=damaged)
        read(handle, (8 - (16 + len(body)) % 8) % 8)  # the signature is padded to 8 bytes
        try:
            tags = dict(_signature_tags(body, count))
        except (struct.error, ValueError):
            raise MediaError(f"{path}: unreadable RPM (damaged signature header)", hint=damaged) from None
        header_intro = read(handle, 16)
        if len(header_intro) < 16:
            raise MediaError(f"{path}: unreadable RPM (truncated after the signature)", hint=damaged)
        if header_intro[:4] != HEADER_MAGIC:
            raise MediaError(f"{path}: unreadable RPM (no main header after the signature)",
                             hint=damaged)
        hcount, hstore = struct.unpack(">II", header_intro[8:16])
        header = header_intro + read(handle, 16 * hcount + hstore)
        if len(header) < 16 + 16 * hcount + hstore:
            raise MediaError(f"{path}: unreadable RPM (truncated inside the header)", hint=damaged)
        md5 = hashlib.md5(header, usedforsecurity=False)
        payload_size = 0
        for chunk in iter(lambda: read(handle, 1 << 20), b""):
            md5.update(chunk)
            payload_size += len(chunk)
    problems = []
    if SIGTAG_SHA256 in tags and tags[SIGTAG_SHA256] != hashlib.sha256(header).hexdigest():
        problems.append("header SHA256 digest mismatch")
    if (SIGTAG_SHA1 in tags
            and tags[SIGTAG_SHA1] != hashlib.sha1(header, usedforsecurity=False).hexdigest()):
        problems.append("header SHA1 digest mismatch")
    if SIGTAG_MD5 in tags and tags[SIGTAG_MD5] != md5.hexdigest():
        problems.append("header+payload MD5 digest mismatch")
    size = tags.get(SIGTAG_LONGSIZE, tags.get(SIGTAG_SIZE))
    if size is not None and size != len(header) + payload_size:
        problems.append(f"size {len(header) + payload_size} differs from the recorded {size}")
    if problems:
        raise MediaError(f"{path}: damaged RPM: {'; '.join(problems)}", hint=damaged)
    return whole.hexdigest()


def _signature_tags(body: bytes, count: int) -> Iterator[tuple[int, object]]:
    store = body[16 * count:]
    for index in range(count):
        tag, kind, offset, items = struct.unpack(">iiii", body[16 * index:16 * index + 16])
        if tag == SIGTAG_MD5 and kind == 7:                    # BIN
            yield tag, store[offset:offset + items].hex()
        elif tag in (SIGTAG_SHA1, SIGTAG_SHA256) and kind == 6:  # STRING
            yield tag, store[offset:store.index(b"\0", offset)].decode("ascii", "replace")
        elif tag == SIGTAG_SIZE and kind == 4:                 # INT32
            yield tag, struct.unpack(">I", store[offset:offset + 4])[0]
        elif tag == SIGTAG_LONGSIZE and kind == 5:             # INT64
            yield tag, struct.unpack(">Q", store[offset:offset + 8])[0]


# --- versions ---------------------------------------------------------------------------------


def compare_evr(a: tuple[str | None, str | None, str | None],
                b: tuple[str | None, str | None, str | None]) -> int:
    """Compare (epoch, version, release); a missing epoch is 0, a missing release matches any."""
    epoch_a, epoch_b = int(a[0] or 0), int(b[0] or 0)
    if epoch_a != epoch_b:
        return 1 if epoch_a > epoch_b else -1
    result = rpmvercmp(a[1] or "", b[1] or "")
    if result or not a[2] or not b[2]:
        return result
    return rpmvercmp(a[2], b[2])


def satisfies(provide: Capability, require: Capability) -> bool:
    """Does PROVIDE meet REQUIRE? The two version ranges must overlap (rpmdsCompare)."""
    if provide.name != require.name:
        return False
    if not provide.flags or not require.flags or not provide.version or not require.version:
        return True  # an unversioned side matches any version
    sense = compare_evr((provide.epoch, provide.version, provide.release),
                        (require.epoch, require.version, require.release))
    p_flags, r_flags = provide.flags, require.flags
    if sense < 0:
        return "G" in p_flags or "L" in r_flags
    if sense > 0:
        return "L" in p_flags or "G" in r_flags
    return (("E" in p_flags and "E" in r_flags) or ("L" in p_flags and "L" in r_flags)
            or ("G" in p_flags and "G" in r_flags))
