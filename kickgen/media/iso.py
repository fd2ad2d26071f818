"""The ISO image through pycdlib: the only module that imports it.

`IsoImage` opens a base image read-only, answers questions about it (volume ID, El Torito
entries, files), takes edits (replace a file's bytes keeping its records, add a file named
after the image's own conventions in every namespace, set the volume ID), and writes the
result. pycdlib's exceptions become kickgen.core.errors.MediaError / InternalError here.

Unchanged file data is never read into Python: pycdlib reads the base through `_BaseReader`,
which during the write hands out `_Span` placeholders instead of bytes, and `_SpanWriter`
records each placeholder as a `blockcopy.Copy` that the caller runs kernel-side
(`os.copy_file_range`) while it hashes the output. pycdlib still decides the layout and
writes every record itself.
"""

from __future__ import annotations

import bisect
import calendar
import io
import os
import re
import struct
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import pycdlib
from pycdlib import dates as _pycdlib_dates
from pycdlib.pycdlibexception import PyCdlibException, PyCdlibInternalError, PyCdlibInvalidInput

from kickgen.core.errors import EnvironmentProblem, InternalError, MediaError
from kickgen.media import hybrid
from kickgen.media.blockcopy import Copy

# The pycdlib releases kickgen is tested with: besides its API, this module uses pycdlib's
# internals (see `_PYCDLIB_INTERNALS`). pyproject.toml pins the same range (a test checks).
PYCDLIB_RANGE = ">=1.22,<1.23"
# What of pycdlib's insides kickgen touches: attributes of an opened PyCdlib, of its parts, and
# the classes it checks for. `write_fp` reading the base through our `_BaseReader.read` (which
# then returns `_Span`s) is relied on too; `IsoImage.write` reports it if that ever changes.
_PYCDLIB_INTERNALS = {
    "PyCdlib": ("pvd", "joliet_vd", "inodes", "eltorito_boot_catalog", "isohybrid_mbr",
                "interchange_level"),
    "PyCdlib.pvd": ("volume_identifier", "space_size", "volume_creation_date"),
    "Inode": ("linked_records", "boot_info_table", "get_data_length", "extent_location"),
    "EltoritoEntry": ("get_rba", "inode", "boot_indicator", "boot_media_type", "load_segment",
                      "sector_count"),
    "EltoritoBootCatalog": ("validation_entry", "initial_entry", "sections", "dirrecords"),
    "DirectoryRecord": ("date", "rock_ridge", "children", "inode", "is_dot", "is_dotdot",
                        "file_identifier"),
    "dates": ("DirectoryRecordDate",),
}

SECTOR = 2048
PLATFORMS = {0x00: "BIOS", 0xEF: "UEFI", 0x01: "PPC", 0x02: "Mac"}
EMULATIONS = {0: "none", 1: "1.2M floppy", 2: "1.44M floppy", 3: "2.88M floppy", 4: "hard disk"}


@dataclass(frozen=True)
class ElToritoEntry:
    """One El Torito boot entry, with the figures `xorriso -report_el_torito` shows."""

    number: int
    platform: str
    bootable: bool
    emulation: str
    load_segment: int
    load_size: int              # 512-byte sectors
    lba: int
    path: str | None
    boot_info_table: bool


def _pycdlib_version() -> str:
    try:
        from importlib.metadata import version
        return version("pycdlib")
    except Exception:   # noqa: BLE001 - a missing dist-info must not hide the real message
        return "(unknown version)"


def _missing_internals(iso: pycdlib.PyCdlib) -> list[str]:
    """The `_PYCDLIB_INTERNALS` an opened image lacks ("Owner.name"), [] when all are there."""
    from pycdlib import dr, eltorito, inode
    cat = getattr(iso, "eltorito_boot_catalog", None)
    owners: dict[str, object] = {
        "PyCdlib": iso, "PyCdlib.pvd": getattr(iso, "pvd", None),
        "Inode": next(iter(getattr(iso, "inodes", None) or []), None) or getattr(inode, "Inode", None),
        "EltoritoEntry": getattr(cat, "initial_entry", None) or getattr(eltorito, "EltoritoEntry", None),
        "EltoritoBootCatalog": cat or getattr(eltorito, "EltoritoBootCatalog", None),
        "DirectoryRecord": _root_record(iso) or getattr(dr, "DirectoryRecord", None),
        "dates": _pycdlib_dates,
    }
    return [f"{owner}.{name}" for owner, names in _PYCDLIB_INTERNALS.items()
            for name in names if not hasattr(owners[owner], name)]


def _root_record(iso: pycdlib.PyCdlib) -> object | None:
    try:
        return iso.get_record(iso_path="/")
    except PyCdlibException:
        return None


def check_pycdlib(iso: pycdlib.PyCdlib) -> None:
    """Refuse, in one line, a pycdlib whose internals are not the ones kickgen was written for."""
    missing = _missing_internals(iso)
    if missing:
        raise EnvironmentProblem(
            f"pycdlib {_pycdlib_version()} lacks {', '.join(missing[:3])}"
            f"{' and more' if len(missing) > 3 else ''}, which kickgen's ISO writer uses",
            hint=f"install pycdlib{PYCDLIB_RANGE} (the range in kickgen's pyproject.toml)")


@contextmanager
def _pycdlib_errors(what: str) -> Iterator[None]:
    try:
        yield
    except PyCdlibInternalError as exc:
        raise InternalError(f"pycdlib failed to {what}: {exc}") from exc
    except PyCdlibInvalidInput as exc:
        raise MediaError(f"cannot {what}: {exc}") from exc
    except PyCdlibException as exc:
        raise MediaError(f"cannot {what}: {exc}") from exc


class _Span:
    """`length` bytes of file `fd` at `offset`, not read: copied kernel-side on write."""

    __slots__ = ("fd", "offset", "length")

    def __init__(self, fd: int, offset: int, length: int):
        self.fd, self.offset, self.length = fd, offset, length

    def __len__(self) -> int:
        return self.length


class _BaseReader(io.RawIOBase):
    """Read-only view of the base image (or a host file to add); hands out `_Span`s while
    `deferred` is set."""

    def __init__(self, path: Path):
        super().__init__()
        self.file = open(path, "rb", buffering=0)
        self.size = os.fstat(self.file.fileno()).st_size
        self.pos = 0
        self.deferred = False

    mode = "rb"

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        self.pos = {0: offset, 1: self.pos + offset, 2: self.size + offset}[whence]
        return self.pos

    def tell(self) -> int:
        return self.pos

    def read(self, n: int = -1):
        n = self.size - self.pos if n is None or n < 0 else min(n, max(0, self.size - self.pos))
        if self.deferred:
            span = _Span(self.file.fileno(), self.pos, n)
            self.pos += n
            return span
        data = os.pread(self.file.fileno(), n, self.pos)
        self.pos += len(data)
        return data

    def fileno(self) -> int:
        return self.file.fileno()

    def close(self) -> None:
        self.file.close()
        super().close()


class _SpanWriter:
    """Output file object for pycdlib: bytes are written at once, `_Span`s are recorded as
    `Copy`s for kickgen.media.blockcopy to carry out later, kernel-side.

    A later write wins over an earlier one, as in a real file: bytes written over a recorded
    copy (pycdlib patches the boot-info-table into a boot image after copying it) are cut
    out of that copy."""

    mode = "wb"

    def __init__(self, fd: int):
        self.fd, self.pos, self.size = fd, 0, 0
        self.copies: list[Copy] = []           # sorted by destination, never overlapping
        self._starts: list[int] = []

    def seek(self, offset: int, whence: int = 0) -> int:
        self.pos = offset if whence == 0 else self.pos + offset if whence == 1 else self.size + offset
        return self.pos

    def tell(self) -> int:
        return self.pos

    def write(self, data) -> int:
        start = self.pos
        length = len(data)
        self._cut(start, start + length)
        if isinstance(data, _Span):
            if length:
                at = bisect.bisect_left(self._starts, start)
                self._starts.insert(at, start)
                self.copies.insert(at, Copy(start, data.fd, data.offset, length))
        else:
            view, at = memoryview(data), start
            while view:
                done = os.pwrite(self.fd, view, at)
                view, at = view[done:], at + done
        self.pos = start + length
        self.size = max(self.size, self.pos)
        return length

    def _cut(self, start: int, end: int) -> None:
        """Remove [start, end) from the recorded copies."""
        at = bisect.bisect_left(self._starts, end)
        while at > 0 and self.copies[at - 1].end > start:
            at -= 1
            old = self.copies[at]
            pieces = []
            if old.dest < start:
                pieces.append(Copy(old.dest, old.src_fd, old.src, start - old.dest))
            if old.end > end:
                pieces.append(Copy(end, old.src_fd, old.src + (end - old.dest), old.end - end))
            self.copies[at:at + 1] = pieces
            self._starts[at:at + 1] = [p.dest for p in pieces]

    def flush(self) -> None:
        pass


def _utc_date(record_date, epoch: int) -> None:
    """Set a pycdlib directory-record date to `epoch` in UTC (pycdlib uses local time)."""
    if not isinstance(record_date, _pycdlib_dates.DirectoryRecordDate):
        return
    t = time.gmtime(epoch)
    record_date.years_since_1900 = t.tm_year - 1900
    record_date.month, record_date.day_of_month = t.tm_mon, t.tm_mday
    record_date.hour, record_date.minute, record_date.second = t.tm_hour, t.tm_min, t.tm_sec
    record_date.gmtoffset = 0


# The names kickgen gives new files on the media: portable in every namespace (ISO 9660 at
# the image's own level, Rock Ridge, Joliet's UCS-2 with its 64-character limit, TRANS.TBL's
# Latin-1 lines) and in EL6's tools. Other characters are refused rather than translated.
ISO_NAME_CHARS = "A-Z a-z 0-9 . _ + -"
ISO_NAME = re.compile(r"[A-Za-z0-9._+-]{1,64}")
ISO_NAME_MAX = 64


def iso_path_problem(path: str) -> str | None:
    """Why `path` cannot name a new file on the media (None when it can)."""
    if not path.startswith("/") or path.endswith("/"):
        return "the ISO path must be absolute and name a file, e.g. /extras/x.rpm"
    rule = f"a name on the ISO is 1 to {ISO_NAME_MAX} of the characters {ISO_NAME_CHARS}"
    for part in path[1:].split("/"):
        if part in ("", ".", ".."):
            return f"{path} has an empty, '.' or '..' part; {rule}"
        if len(part) > ISO_NAME_MAX:
            return f"{part[:20]}... is {len(part)} characters long; {rule}"
        if not ISO_NAME.fullmatch(part):
            bad = "".join(sorted({c for c in part if not ISO_NAME.fullmatch(c)}))
            return f"{part!r} holds {bad!r}, which kickgen does not put in ISO names; {rule}"
    return None


def check_whole(path: Path, fd: int) -> None:
    """Refuse a truncated image, naming the size its own records give: the ISO volume size in
    the primary volume descriptor, and for a hybrid image the end of its MBR partitions and of
    the backup GPT. (pycdlib would fail on it somewhere inside, or read on as if it were whole.)"""
    head = os.pread(fd, 17 * SECTOR, 0)
    pvd = head[16 * SECTOR:]
    if len(pvd) < 88 or pvd[:6] != b"\x01CD001":
        return                        # not an ISO 9660 image: pycdlib says so
    size = os.fstat(fd).st_size
    expected = int.from_bytes(pvd[80:84], "little") * SECTOR
    what = "the ISO volume size in its primary volume descriptor"
    recorded = hybrid.recorded_end(head[:hybrid.SYSTEM_AREA])
    if recorded is not None and recorded[0] > expected:
        expected, what = recorded
    if size < expected:
        raise MediaError(f"{path}: the image is truncated: {size} bytes, {expected} expected ({what}); "
                         f"{expected - size} bytes are missing", hint="copy or download the image again")


class IsoImage:
    """An opened base image plus pending edits. Use as a context manager."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._reader = _BaseReader(self.path)
        self._iso = pycdlib.PyCdlib()
        self._keep: list[io.BytesIO] = []   # pycdlib reads added data at write time
        self._hosts: list[_BaseReader] = []  # host files to add, also copied kernel-side
        self._trans_template: str | None = None   # a TRANS.TBL line to copy the layout of
        try:
            check_whole(self.path, self._reader.fileno())
            self._iso.open_fp(self._reader)  # type: ignore[arg-type]  # any readable file object
        except MediaError:
            self._reader.close()
            raise
        except PyCdlibException as exc:
            self._reader.close()
            raise MediaError(f"{self.path}: not an ISO 9660 image ({exc})") from exc
        except (OSError, ValueError, KeyError, IndexError, struct.error, RecursionError) as exc:
            self._reader.close()    # pycdlib on a damaged image: its own parser's errors
            raise MediaError(f"{self.path}: not an ISO 9660 image, or a damaged one "
                             f"({type(exc).__name__}: {exc})"[:300]) from exc
        try:
            check_pycdlib(self._iso)
        except EnvironmentProblem:
            self.close()
            raise

    def __enter__(self) -> IsoImage:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        try:
            self._iso.close()
        except PyCdlibException:
            pass
        for reader in [self._reader, *self._hosts]:
            reader.close()

    # --- questions -------------------------------------------------------------------------

    @property
    def volume_id(self) -> str:
        return self._iso.pvd.volume_identifier.decode("ascii", "replace").rstrip(" \x00")

    @property
    def volume_bytes(self) -> int:
        return self._iso.pvd.space_size * SECTOR

    def data_end(self) -> int:
        """Byte offset just past the last file data (or boot catalog) of the current layout."""
        end = 0
        for ino in self._iso.inodes:
            length = ino.get_data_length()
            if length == 0:
                continue          # empty files may claim any extent (pycdlib notes ISOs that do)
            end = max(end, ino.extent_location() * SECTOR + -(-length // SECTOR) * SECTOR)
        cat = self._iso.eltorito_boot_catalog
        if cat is not None and cat.dirrecords:
            end = max(end, (cat.dirrecords[0].extent_location() + 1) * SECTOR)
        return end

    @property
    def has_rock_ridge(self) -> bool:
        return self._iso.has_rock_ridge()

    @property
    def has_joliet(self) -> bool:
        return self._iso.has_joliet()

    @property
    def creation_epoch(self) -> int:
        """The PVD's volume creation date in seconds since the epoch (0 when unset)."""
        d = self._iso.pvd.volume_creation_date
        try:
            t = (d.year, d.month, d.dayofmonth, d.hour, d.minute, d.second)
            return calendar.timegm(t) - d.gmtoffset * 15 * 60
        except (AttributeError, ValueError, OverflowError):
            return 0

    def _record(self, path: str):
        """The directory record of `path` (real names: Rock Ridge, else Joliet, else ISO9660)."""
        try:
            if self.has_rock_ridge:
                return self._iso.get_record(rr_path=path)
            if self.has_joliet:
                return self._iso.get_record(joliet_path=path)
            return self._iso.get_record(iso_path=path)
        except PyCdlibException:
            return None

    def exists(self, path: str) -> bool:
        return self._record(path) is not None

    def is_dir(self, path: str) -> bool:
        rec = self._record(path)
        return rec is not None and rec.is_dir()

    def read(self, path: str) -> bytes:
        out = io.BytesIO()
        kind = "rr_path" if self.has_rock_ridge else "joliet_path" if self.has_joliet else "iso_path"
        with _pycdlib_errors(f"read {path} from {self.path.name}"):
            self._iso.get_file_from_iso_fp(out, **{kind: path})
        return out.getvalue()

    def _path_of(self, rec) -> str | None:
        try:
            return self._iso.full_path_from_dirrecord(rec, rockridge=self.has_rock_ridge)
        except PyCdlibException:
            return None

    def _entries(self):
        cat = self._iso.eltorito_boot_catalog
        if cat is None:
            return []
        out = [(cat.validation_entry.platform_id, cat.initial_entry)]
        for sec in cat.sections:
            out += [(sec.platform_id, e) for e in sec.section_entries]
        return out

    def eltorito(self) -> list[ElToritoEntry]:
        """The El Torito entries in catalog order (empty when the image has none)."""
        result = []
        for number, (platform, entry) in enumerate(self._entries(), start=1):
            path = None
            if entry.inode is not None:
                for rec, is_pvd in entry.inode.linked_records:
                    if is_pvd:
                        path = self._path_of(rec)
                        break
            result.append(ElToritoEntry(
                number=number, platform=PLATFORMS.get(platform, f"0x{platform:02x}"),
                bootable=entry.boot_indicator == 0x88,
                emulation=EMULATIONS.get(entry.boot_media_type, str(entry.boot_media_type)),
                load_segment=entry.load_segment, load_size=entry.sector_count,
                lba=entry.get_rba(), path=path,
                boot_info_table=entry.inode is not None and entry.inode.boot_info_table is not None))
        return result

    def boot_catalog_path(self) -> str | None:
        cat = self._iso.eltorito_boot_catalog
        if cat is None or not cat.dirrecords:
            return None
        return self._path_of(cat.dirrecords[0])

    def boot_image_lbas(self) -> list[tuple[object, int, int]]:
        """(entry handle, LBA, data length) of every El Torito image, for hybrid fix-ups."""
        out = []
        for _platform, entry in self._entries():
            length = entry.inode.get_data_length() if entry.inode is not None else entry.sector_count * 512
            out.append((entry, entry.get_rba(), length))
        return out

    @staticmethod
    def lba_of_entry(entry_handle) -> int:
        return entry_handle.get_rba()

    def walk(self, top: str = "/") -> list[TreeEntry]:
        """Every folder, file and symbolic link below folder TOP, sorted by path, with the names a
        mounted image shows: Rock Ridge, else Joliet (version `;1` dropped), else ISO 9660 as
        Linux's isofs maps them (version and a trailing dot dropped, lower case). TOP is given
        in the image's own namespace ("/" for the whole image)."""
        kind = "rr_path" if self.has_rock_ridge else "joliet_path" if self.has_joliet else "iso_path"
        found: list[TreeEntry] = []

        def visit(lookup: str, shown: str) -> None:
            with _pycdlib_errors(f"list {shown} on {self.path.name}"):
                children = [r for r in self._iso.list_children(**{kind: lookup})
                            if not (r.is_dot() or r.is_dotdot())]
            for rec in children:
                raw = rec.file_identifier()
                if kind == "rr_path" and rec.rock_ridge is not None:
                    name = seen = rec.rock_ridge.name().decode("utf-8", "surrogateescape")
                elif kind == "joliet_path":
                    name = raw.decode("utf-16-be", "replace")
                    seen = _split_version(name)[0]
                else:
                    name = raw.decode("ascii", "replace")
                    seen = _split_version(name)[0].removesuffix(".").lower() if kind == "iso_path" else name
                child, child_shown = f"{lookup.rstrip('/')}/{name}", f"{shown.rstrip('/')}/{seen}"
                if rec.is_dir():
                    found.append(TreeEntry(child_shown, "dir", 0, child))
                    visit(child, child_shown)
                elif rec.rock_ridge is not None and rec.rock_ridge.is_symlink():
                    target = rec.rock_ridge.symlink_path().decode("utf-8", "surrogateescape")
                    found.append(TreeEntry(child_shown, "link", 0, child, target))
                else:
                    found.append(TreeEntry(child_shown, "file", _file_length(rec), child))

        visit(top, top)
        return sorted(found, key=lambda e: e.path)

    def file_copies(self, entry: TreeEntry) -> tuple[Copy, ...]:
        """File ENTRY's data (from `walk`) as kernel-side copies to offset 0 on of an output file
        (kickgen.media.blockcopy.CopyJob runs them): one piece, or several for a file over 4 GiB
        that ISO 9660 level 3 splits over several records."""
        kind = "rr_path" if self.has_rock_ridge else "joliet_path" if self.has_joliet else "iso_path"
        with _pycdlib_errors(f"find {entry.path} on {self.path.name}"):
            rec: Any = self._iso.get_record(**{kind: entry.lookup})     # never UDF here
        copies: list[Copy] = []
        dest = 0
        while rec is not None:
            length = rec.get_data_length()
            start = (rec.inode.extent_location() if rec.inode is not None else rec.extent_location()) * SECTOR
            if length:
                copies.append(Copy(dest, self._reader.fileno(), start, length))
            dest += length
            rec = rec.data_continuation
        return tuple(copies)

    # --- edits -------------------------------------------------------------------------------

    def set_volume_id(self, volume_id: str) -> None:
        with _pycdlib_errors("set the volume ID"):
            self._iso.pvd.volume_identifier = volume_id.encode("ascii").ljust(32, b" ")
            if self._iso.joliet_vd is not None:
                self._iso.joliet_vd.volume_identifier = volume_id[:16].encode("utf-16-be").ljust(32, b"\x00")

    def _source(self, data: bytes | Path) -> tuple[io.RawIOBase | io.BytesIO, int]:
        """A file object pycdlib reads at write time: bytes in memory, or a host file (copied
        kernel-side like the base's files, never read whole into memory)."""
        if isinstance(data, bytes):
            fp = io.BytesIO(data)
            self._keep.append(fp)
            return fp, len(data)
        reader = _BaseReader(Path(data))
        self._hosts.append(reader)
        return reader, reader.size

    def replace(self, path: str, data: bytes | Path) -> None:
        """New content for an existing file; its records (names, modes, dates) stay as they are."""
        fp, length = self._source(data)
        kind = "rr_path" if self.has_rock_ridge else "joliet_path" if self.has_joliet else "iso_path"
        with _pycdlib_errors(f"replace {path}"):
            self._iso.update_file_contents_fp(fp, length, **{kind: path})  # type: ignore[arg-type]

    def add(self, path: str, data: bytes | Path, *, epoch: int) -> str:
        """Add a new file at `path`, named in every namespace like its neighbours.

        Returns the ISO9660 name given. Updates the folder's TRANS.TBL where it has one.
        """
        parent = str(PurePosixPath(path).parent)
        name = PurePosixPath(path).name
        if self.exists(parent) and not self.is_dir(parent):
            raise MediaError(f"cannot add {path}: {parent} is a file on the image")
        if not self.exists(parent):
            self._make_dir(parent, epoch=epoch)
        siblings = self._neighbours(parent, files=True)
        iso_name = _iso9660_name(name, siblings)
        iso_parent = self._iso_path(parent)
        iso_path = f"{iso_parent.rstrip('/')}/{iso_name}"
        joliet_path = None
        if self.has_joliet:
            versioned = any(s["joliet"].endswith(";1") for s in siblings if s["joliet"])
            joliet_path = f"{parent.rstrip('/')}/{name}{';1' if versioned else ''}"
        mode = Counter(s["mode"] for s in siblings if s["mode"]).most_common(1)
        fp, length = self._source(data)
        old_level = self._iso.interchange_level
        self._iso.interchange_level = 4   # accept the image's own (untranslated) names
        try:
            with _pycdlib_errors(f"add {path}"):
                kwargs: dict[str, Any] = {"rr_name": name} if self.has_rock_ridge else {}
                if self.has_rock_ridge:
                    kwargs["file_mode"] = mode[0][0] if mode else 0o100444
                self._iso.add_fp(fp, length, iso_path=iso_path,  # type: ignore[arg-type]
                                 joliet_path=joliet_path, **kwargs)
        finally:
            self._iso.interchange_level = old_level
        self._pin_dates(iso_path, joliet_path, epoch)
        self._add_to_trans_tbl(parent, iso_name, name)
        return iso_name

    def _make_dir(self, path: str, *, epoch: int) -> None:
        """Create folder `path` (and missing parents) named like its neighbours, with a
        TRANS.TBL where its parent has one."""
        parent = str(PurePosixPath(path).parent)
        name = PurePosixPath(path).name
        if not self.exists(parent):
            self._make_dir(parent, epoch=epoch)
        dirs = self._neighbours(parent, files=False)
        iso_name = _split_version(_iso9660_name(name, dirs or self._neighbours(parent, files=True)))[0]
        iso_path = f"{self._iso_path(parent).rstrip('/')}/{iso_name}"
        joliet_path = f"{parent.rstrip('/')}/{name}" if self.has_joliet else None
        mode = Counter(s["mode"] for s in dirs if s["mode"]).most_common(1)
        kwargs: dict[str, Any] = ({"rr_name": name, "file_mode": mode[0][0] if mode else 0o40555}
                                  if self.has_rock_ridge else {})
        old_level = self._iso.interchange_level
        self._iso.interchange_level = 4
        try:
            with _pycdlib_errors(f"add folder {path}"):
                self._iso.add_directory(iso_path=iso_path, joliet_path=joliet_path, **kwargs)
        finally:
            self._iso.interchange_level = old_level
        records = [self._iso.get_record(iso_path=iso_path)]
        if joliet_path:
            records.append(self._iso.get_record(joliet_path=joliet_path))
        for rec in records:
            for r in [rec, *rec.children[:2]]:  # type: ignore[union-attr]  # never UDF here
                self._pin_record(r, epoch)
        parent_tbl = f"{parent.rstrip('/')}/TRANS.TBL"
        if self.exists(parent_tbl):
            text = self.read(parent_tbl).decode("latin-1")
            self._trans_template = self._trans_template or next(iter(text.splitlines(keepends=True)), None)
            self.replace(parent_tbl, trans_tbl_with(text, iso_name, name, kind="D",
                                                    template=self._trans_template).encode("latin-1"))
            self.add(f"{path}/TRANS.TBL", b"", epoch=epoch)

    def _neighbours(self, folder: str, *, files: bool) -> list[dict]:
        """Files (or folders) whose naming a new entry in `folder` should follow: the folder's
        own, else the nearest ancestor's (a new folder has none). TRANS.TBL does not count."""
        path = folder
        while True:
            found = [c for c in self._children(path) if c["file"] == files and c["rr"] != "TRANS.TBL"]
            if found or path == "/":
                return found
            path = str(PurePosixPath(path).parent)

    def _children(self, parent: str) -> list[dict]:
        kind = "rr_path" if self.has_rock_ridge else "joliet_path" if self.has_joliet else "iso_path"
        out = []
        with _pycdlib_errors(f"list {parent}"):
            for rec in self._iso.list_children(**{kind: parent}):
                if rec.is_dot() or rec.is_dotdot():
                    continue
                iso_rec = rec
                if kind == "joliet_path" and rec.inode is not None:
                    iso_rec = next((r for r, pvd in rec.inode.linked_records if pvd), rec)
                jol = ""
                if self.has_joliet and rec.inode is not None:
                    for r, pvd in rec.inode.linked_records:
                        if not pvd and hasattr(r, "file_identifier"):   # skip El Torito entries
                            jol = r.file_identifier().decode("utf-16-be", "replace")
                rr = rec.rock_ridge
                out.append({"iso": iso_rec.file_identifier().decode("ascii", "replace"),
                            "rr": rr.name().decode() if rr is not None else None,
                            "joliet": jol, "file": not rec.is_dir(),
                            "mode": rr.get_file_mode() if rr is not None else None})
        return out

    def _iso_path(self, path: str) -> str:
        """The ISO9660 path of an existing folder given by its real name."""
        rec = self._record(path)
        if rec is None:
            raise MediaError(f"no folder {path} on the image")
        if not self.has_rock_ridge and self.has_joliet and rec.inode is None:
            return path.upper()
        return self._iso.full_path_from_dirrecord(rec, rockridge=False) or "/"

    def _pin_dates(self, iso_path: str, joliet_path: str | None, epoch: int) -> None:
        recs = [self._iso.get_record(iso_path=iso_path)]
        if joliet_path:
            recs.append(self._iso.get_record(joliet_path=joliet_path))
        for rec in recs:
            self._pin_record(rec, epoch)

    @staticmethod
    def _pin_record(rec, epoch: int) -> None:
        _utc_date(rec.date, epoch)
        rr = rec.rock_ridge
        tf = rr.dr_entries.tf_record if rr is not None else None
        if tf is not None:
            for field in ("creation_time", "access_time", "modification_time", "attribute_change_time"):
                _utc_date(getattr(tf, field, None), epoch)

    def _add_to_trans_tbl(self, parent: str, iso_name: str, long_name: str) -> None:
        tbl_path = f"{parent.rstrip('/')}/TRANS.TBL"
        if long_name == "TRANS.TBL" or not self.exists(tbl_path):
            return   # (a TRANS.TBL does not list itself)
        text = self.read(tbl_path).decode("latin-1")
        self._trans_template = self._trans_template or next(iter(text.splitlines(keepends=True)), None)
        self.replace(tbl_path, trans_tbl_with(text, iso_name, long_name,
                                              template=self._trans_template).encode("latin-1"))

    # --- output --------------------------------------------------------------------------------

    def write(self, fd: int, *, epoch: int, kernel_copy: bool = True) -> MasteredImage:
        """Master the image into the open file `fd`: every record is written, the data of
        unchanged files is returned as copies still to run (kickgen.media.blockcopy.CopyJob).
        With `kernel_copy=False` pycdlib copies all data itself (slow; for comparison).

        The ISO's own hybrid records are left to kickgen.media.hybrid (pycdlib's are dropped here).
        The volume modification date, which pycdlib sets to "now", is set to `epoch`.
        """
        with _pycdlib_errors("write the image"):
            if self._iso.isohybrid_mbr is not None:
                self._iso.rm_isohybrid()
            out = _SpanWriter(fd)
            for reader in [self._reader, *self._hosts]:
                reader.deferred = kernel_copy
            try:
                self._iso.write_fp(out, blocksize=  # type: ignore[arg-type]
                                   (1 << 40) if kernel_copy else (1 << 20))
            except TypeError as exc:
                raise InternalError(f"pycdlib read base bytes while writing, which kickgen's "
                                    f"kernel-side copy does not support: {exc}") from exc
            finally:
                for reader in [self._reader, *self._hosts]:
                    reader.deferred = False
        _set_modification_dates(fd, epoch)
        if out.copies and out.copies[-1].end > self.volume_bytes:
            raise InternalError(f"pycdlib placed file data past the end of the volume "
                                f"({out.copies[-1].end} > {self.volume_bytes} bytes)")
        return MasteredImage(self.volume_bytes, tuple(out.copies))


@dataclass(frozen=True)
class TreeEntry:
    """A folder, file or symbolic link of an image, as `IsoImage.walk` finds it."""

    path: str                   # absolute, the name a mounted image shows
    kind: str                   # "dir" | "file" | "link"
    size: int                   # data length of a file (0 otherwise)
    lookup: str = field(default="", repr=False)    # the path in the image's own namespace
    target: str | None = None   # a link's target, as recorded


def _file_length(rec: Any) -> int:
    """A file's length, every record of a multi-extent file counted."""
    total = 0
    while rec is not None:
        total += rec.get_data_length()
        rec = rec.data_continuation
    return total


@dataclass(frozen=True)
class MasteredImage:
    """What `IsoImage.write` leaves: the volume size and the file data still to copy."""

    volume_bytes: int
    copies: tuple[Copy, ...]


def _set_modification_dates(fd: int, epoch: int) -> None:
    """Volume modification date of every primary/supplementary descriptor := `epoch` (UTC)."""
    stamp = time.strftime("%Y%m%d%H%M%S", time.gmtime(epoch)).encode() + b"00\x00"
    for number in range(16, 16 + 64):
        head = os.pread(fd, 6, number * SECTOR)
        if len(head) < 6 or head[1:6] != b"CD001" or head[0] == 255:
            break
        if head[0] in (1, 2):
            os.pwrite(fd, stamp, number * SECTOR + 830)


def _split_version(name: str) -> tuple[str, str]:
    base, sep, version = name.rpartition(";")
    return (base, sep + version) if sep else (name, "")


def _iso9660_name(long_name: str, sibling_files: list[dict]) -> str:
    """The ISO9660 identifier for `long_name`, following the neighbours' convention.

    EL6 media (mkisofs -U) keep real names: lowercase, several dots, no ';1'. Standard media
    get d-characters, upper case, one dot and ';1'.
    """
    isos = [s["iso"] for s in sibling_files] or ["X.X;1"]
    versioned = sum(n.endswith(";1") for n in isos) * 2 >= len(isos)
    untranslated = any(_split_version(n)[0] != _split_version(n)[0].upper() for n in isos) or any(
        _split_version(s["iso"])[0] == s["rr"] and s["rr"].count(".") > 1 for s in sibling_files)
    if untranslated:
        name = long_name
    else:
        stem, dot, ext = long_name.rpartition(".")
        if not dot:
            stem, ext = long_name, ""
        def clean(s: str) -> str:
            return "".join(c if c.isalnum() and c.isascii() else "_" for c in s.upper())
        short = all(len(_split_version(n)[0].partition(".")[0]) <= 8 for n in isos)
        stem, ext = clean(stem), clean(ext)
        if short:
            stem, ext = stem[:8], ext[:3]
        else:
            stem = stem[: 30 - len(ext) - 1]
        name = f"{stem}.{ext}" if ext else stem
    return name + (";1" if versioned else "")


def trans_tbl_with(text: str, iso_name: str, long_name: str, *, kind: str = "F",
                   template: str | None = None) -> str:
    """TRANS.TBL text with a line for a new file, laid out like the existing lines (or like
    `template`, a line from another TRANS.TBL of the image, when this one is empty)."""
    lines = text.splitlines(keepends=True)
    template = next((ln for ln in lines if ln[:2] in ("F ", "D ", "L ")), template)
    nl = "\r\n" if template and template.endswith("\r\n") else "\n"
    if template is None:
        return text + f"{kind} {iso_name}{' ' * max(1, 36 - len(iso_name))}{long_name}\n"
    body = template.rstrip("\r\n")
    if "\t" in body:
        width, sep = body.index("\t") - 2, "\t"
    else:
        long_of_template = body.split()[-1]
        width, sep = len(body) - len(long_of_template) - 2, ""
    new = f"{kind} {iso_name:<{width}}{sep}{long_name}{nl}"
    def key(ln: str) -> str:
        return ln[2:].split()[0] if len(ln) > 2 and ln[2:].split() else ""
    at = next((i for i, ln in enumerate(lines) if key(ln) > iso_name), len(lines))
    return "".join(lines[:at] + [new] + lines[at:])
