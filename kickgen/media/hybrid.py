"""Hybrid (USB) boot records after a remaster: MBR partition table, primary and backup GPT.

pycdlib moves files when it rewrites an image, and the image changes size. The system area
(the first 32 KiB: MBR with isohybrid boot code, primary GPT) and the backup GPT at the end
must then describe the new image. `plan_system_area` takes the base image's records and the
moves, and returns the new bytes to write; `xorriso -report_system_area plain` then reports
no problem. An image without an MBR signature is not hybrid and is left so.

Positions are mapped, in 512-byte sectors, by what they point at in the base image: the
system area stays, a position inside a moved file moves with it, the end of the ISO volume
becomes the new end, and a position in the tail after the volume (backup GPT, padding) keeps
its distance from the end of the file.
"""

from __future__ import annotations

import os
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

from kickgen.core.errors import MediaError

SECTOR = 512
SYSTEM_AREA = 16 * 2048
ISOHYBRID_ALIGN = 1024 * 1024            # isohybrid pads to 64 heads * 32 sectors * 512
ISOHYBRID_BOOT_LBA_AT = 432              # isohybrid MBR code: 512-byte LBA of isolinux.bin
GPT_SIGNATURE = b"EFI PART"


@dataclass(frozen=True)
class Move:
    """A file of the base image that is at another place in the new one (2048-byte LBAs)."""

    old_lba: int
    new_lba: int
    size: int                             # bytes


@dataclass(frozen=True)
class ImageEnds:
    """Byte sizes of an image: end of file data, ISO volume (PVD), whole file."""

    data_end: int
    volume: int
    total: int


@dataclass(frozen=True)
class HybridPlan:
    """What to write into the new image for its hybrid boot records."""

    kind: str                             # "none" | "mbr" | "mbr+gpt"
    volume_size: int                      # bytes the ISO volume (PVD) must say
    total_size: int                       # bytes the output file must have
    writes: tuple[tuple[int, bytes], ...]  # (offset, bytes) to write after pycdlib's output


# --- reading the partition tables: the one parser (inspect reports what it returns) ---------------

MBR_TABLE_AT = 446                        # four 16-byte entries, then the 0x55AA signature
GPT_ENTRY_MIN = 128                       # the smallest entry size the UEFI spec allows


@dataclass(frozen=True)
class Partition:
    """One used partition entry, as `kickgen inspect` reports it."""

    table: str                            # "MBR" | "GPT"
    number: int                           # 1-based, as fdisk/gdisk number them
    type: str                             # MBR type byte as 0xNN, or the GPT type GUID (hex, on-disk order)
    start: int                            # 512-byte sectors
    sectors: int


@dataclass(frozen=True)
class MbrEntry:
    index: int                            # 0..3
    at: int                               # byte offset of the entry in the MBR
    type: int
    start: int                            # 512-byte sectors
    sectors: int                          # 0 = unused
    heads: int                            # CHS of the end: heads - 1 and sectors per track
    track_sectors: int


@dataclass(frozen=True)
class GptHeader:
    size: int
    my_lba: int
    alt_lba: int
    first: int                            # first and last usable sector
    last: int
    entries_lba: int
    count: int
    esize: int

    @property
    def array_bytes(self) -> int:
        return self.count * self.esize

    @property
    def backup_entries_lba(self) -> int:
        """Where the backup array sits: just in front of the backup header."""
        return self.alt_lba - -(-self.array_bytes // SECTOR)


@dataclass(frozen=True)
class GptEntry:
    index: int                            # 0-based slot in the array
    at: int                               # byte offset of the entry in the array
    type_guid: bytes
    first: int
    last: int                             # inclusive


def has_mbr(system_area: bytes) -> bool:
    return len(system_area) >= SECTOR and system_area[510:512] == b"\x55\xaa"


def mbr_entries(mbr: bytes) -> list[MbrEntry]:
    """All four MBR partition entries, used or not."""
    out = []
    for i in range(4):
        at = MBR_TABLE_AT + 16 * i
        start, count = struct.unpack_from("<II", mbr, at + 8)
        out.append(MbrEntry(i, at, mbr[at + 4], start, count, mbr[at + 5] + 1, mbr[at + 6] & 0x3F))
    return out


def is_hybrid(system_area: bytes) -> bool:
    """True when the system area holds an MBR with at least one partition."""
    return has_mbr(system_area) and any(e.sectors for e in mbr_entries(system_area))


def has_gpt(system_area: bytes) -> bool:
    return system_area[SECTOR:SECTOR + 8] == GPT_SIGNATURE


def gpt_header(raw: bytes) -> GptHeader:
    """The GPT header in `raw` (its first 92 bytes)."""
    (_sig, _rev, hsize, _crc, _res, my_lba, alt_lba, first, last, _guid, entries_lba, count,
     esize, _ecrc) = struct.unpack_from("<8sIIIIQQQQ16sQIII", raw)
    return GptHeader(hsize, my_lba, alt_lba, first, last, entries_lba, count, esize)


def gpt_entries(array: bytes, header: GptHeader) -> list[GptEntry]:
    """The used entries (type GUID not zero) of a GPT entry array; a short array gives those it holds."""
    out: list[GptEntry] = []
    if header.esize < GPT_ENTRY_MIN:
        return out
    for i in range(header.count):
        at = i * header.esize
        if at + header.esize > len(array):
            break
        guid = bytes(array[at:at + 16])
        if guid == bytes(16):
            continue
        first, last = struct.unpack_from("<QQ", array, at + 32)
        out.append(GptEntry(i, at, guid, first, last))
    return out


def partitions(system_area: bytes) -> list[Partition]:
    """The used MBR partitions and, when there is a GPT, its partitions (primary array)."""
    if not is_hybrid(system_area):
        return []
    out = [Partition("MBR", e.index + 1, f"0x{e.type:02x}", e.start, e.sectors)
           for e in mbr_entries(system_area) if e.sectors]
    if has_gpt(system_area):
        header = gpt_header(system_area[SECTOR:2 * SECTOR])
        array = system_area[header.entries_lba * SECTOR:header.entries_lba * SECTOR + header.array_bytes]
        out += [Partition("GPT", e.index + 1, e.type_guid.hex(), e.first, e.last - e.first + 1)
                for e in gpt_entries(array, header)]
    return out


def recorded_end(system_area: bytes) -> tuple[int, str] | None:
    """Where the hybrid records say the image ends, at the least: (bytes, which record says
    so), or None for an image that is not hybrid. A shorter file has been truncated."""
    if not is_hybrid(system_area):
        return None
    end, what = 0, ""
    for e in mbr_entries(system_area):
        if e.sectors and e.sectors != 0xFFFFFFFF and (e.start + e.sectors) * SECTOR > end:
            end, what = (e.start + e.sectors) * SECTOR, f"the end of MBR partition {e.index + 1}"
    if has_gpt(system_area):
        backup = (gpt_header(system_area[SECTOR:2 * SECTOR]).alt_lba + 1) * SECTOR
        if backup > end:
            end, what = backup, "the end of the backup GPT header"
    return end, what


class _Mapper:
    """Old 512-byte sector -> new one (see the module docstring for the rules)."""

    def __init__(self, moves: list[Move], old: ImageEnds, new: ImageEnds):
        self.moves = [(m.old_lba * 4, m.new_lba * 4, -(-m.size // SECTOR)) for m in moves]
        self.old, self.new = old, new

    def __call__(self, pos: int, what: str) -> int:
        old, new = self.old, self.new
        if pos < SYSTEM_AREA // SECTOR:
            return pos
        for start, moved_to, length in self.moves:
            if start <= pos <= start + length:
                return moved_to + (pos - start)
        if pos == old.volume // SECTOR and old.volume < old.total:
            return new.volume // SECTOR
        if old.data_end // SECTOR <= pos <= old.total // SECTOR:
            return (new.total - (old.total - pos * SECTOR)) // SECTOR
        raise MediaError(f"hybrid boot record: {what} points at 512-byte sector {pos}, inside the ISO "
                         "data but at no boot image; kickgen cannot tell where it belongs after the "
                         "remaster")


def _chs(lba: int, heads: int, sectors: int) -> bytes:
    cyl = lba // (heads * sectors)
    if cyl > 1023:
        cyl, head, sec = 1023, heads - 1, sectors
    else:
        head, sec = (lba // sectors) % heads, lba % sectors + 1
    return bytes([head, ((cyl >> 2) & 0xC0) | sec, cyl & 0xFF])


def _geometry(mbr: bytes) -> tuple[int, int]:
    for e in mbr_entries(mbr):
        if e.sectors and e.track_sectors:
            return e.heads, e.track_sectors
    return 64, 32


def _new_sizes(system_area: bytes, base: Path, old_vol_bytes: int, new_vol_bytes: int) -> tuple[int, int]:
    """(volume, total) byte sizes of the new image.

    isohybrid pads the file to whole 1 MiB "cylinders" after the volume; xorriso counts that
    padding (and the backup GPT) in the volume. Either way the new image keeps the alignment.
    """
    old_total = base.stat().st_size
    old_tail = max(0, old_total - old_vol_bytes)
    aligned = is_hybrid(system_area) and old_total % ISOHYBRID_ALIGN == 0
    if not aligned:
        return new_vol_bytes, new_vol_bytes + old_tail
    round_up = lambda n: -(-n // ISOHYBRID_ALIGN) * ISOHYBRID_ALIGN  # noqa: E731
    if old_tail == 0:
        total = round_up(new_vol_bytes)
        return total, total
    need = 0
    if has_gpt(system_area):
        header = gpt_header(system_area[SECTOR:2 * SECTOR])
        need = max(0, old_total - header.backup_entries_lba * SECTOR)
    return new_vol_bytes, round_up(new_vol_bytes + need)


def _gpt_with(raw_header: bytes, entries: bytes, **fields: int) -> bytes:
    header = bytearray(raw_header[:SECTOR])
    offsets = {"my_lba": 24, "alt_lba": 32, "first": 40, "last": 48, "entries_lba": 72}
    for key, value in fields.items():
        struct.pack_into("<Q", header, offsets[key], value)
    struct.pack_into("<I", header, 88, zlib.crc32(entries) & 0xFFFFFFFF)
    hsize = struct.unpack_from("<I", header, 12)[0]
    struct.pack_into("<I", header, 16, 0)
    struct.pack_into("<I", header, 16, zlib.crc32(bytes(header[:hsize])) & 0xFFFFFFFF)
    return bytes(header)


def plan_system_area(base: Path, old_data_end: int, old_vol_bytes: int, new_data_end: int,
                     new_vol_bytes: int, moves: list[Move]) -> HybridPlan:
    """New system area (and backup GPT) for the remastered image of `base`.

    `*_data_end` is where the last file's data ends (bytes), `*_vol_bytes` the ISO volume size.
    """
    with open(base, "rb") as f:
        system_area = bytearray(f.read(SYSTEM_AREA))
        old_total = base.stat().st_size
        new_vol_bytes, total = _new_sizes(bytes(system_area), base, old_vol_bytes, new_vol_bytes)
        if not is_hybrid(bytes(system_area)):
            return HybridPlan("none", new_vol_bytes, total, ((0, bytes(system_area)),))
        remap = _Mapper(moves, ImageEnds(old_data_end, old_vol_bytes, old_total),
                        ImageEnds(new_data_end, new_vol_bytes, total))
        heads, sectors = _geometry(bytes(system_area))
        for entry in mbr_entries(bytes(system_area)):
            i, at, start, count = entry.index, entry.at, entry.start, entry.sectors
            if not count or count == 0xFFFFFFFF:
                continue
            new_start = remap(start, f"MBR partition {i + 1} start")
            new_end = remap(start + count, f"MBR partition {i + 1} end")
            if new_start != start:
                system_area[at + 1:at + 4] = _chs(new_start, heads, sectors)
            if new_end != start + count:
                system_area[at + 5:at + 8] = _chs(new_end - 1, heads, sectors)
            struct.pack_into("<II", system_area, at + 8, new_start, new_end - new_start)
        boot_lba = struct.unpack_from("<I", system_area, ISOHYBRID_BOOT_LBA_AT)[0]
        for m in moves:
            if boot_lba and boot_lba == m.old_lba * 4:
                struct.pack_into("<I", system_area, ISOHYBRID_BOOT_LBA_AT, m.new_lba * 4)
        writes: list[tuple[int, bytes]] = []
        kind = "mbr"
        if has_gpt(bytes(system_area)):
            kind = "mbr+gpt"
            writes += _plan_gpt(f, system_area, remap)
        lowest_tail = min((off for off, _ in writes), default=total)
        if lowest_tail < new_data_end:
            raise MediaError(f"hybrid boot record: the backup GPT would land at byte {lowest_tail}, "
                             f"inside the new image's data (ending at {new_data_end})")
        return HybridPlan(kind, new_vol_bytes, total, ((0, bytes(system_area)), *writes))


def _plan_gpt(f, system_area: bytearray, remap: _Mapper) -> list[tuple[int, bytes]]:
    raw = bytes(system_area[SECTOR:2 * SECTOR])
    h = gpt_header(raw)
    array_len = h.array_bytes
    at = h.entries_lba * SECTOR
    if at + array_len > SYSTEM_AREA:
        raise MediaError("hybrid boot record: the primary GPT entry array reaches past the system area")
    if h.esize < GPT_ENTRY_MIN:
        raise MediaError(f"hybrid boot record: GPT entries of {h.esize} bytes (at least {GPT_ENTRY_MIN})")
    entries = bytearray(system_area[at:at + array_len])
    for e in gpt_entries(bytes(entries), h):
        new_first = remap(e.first, f"GPT partition {e.index + 1} start")
        new_last = remap(e.last + 1, f"GPT partition {e.index + 1} end") - 1
        struct.pack_into("<QQ", entries, e.at + 32, new_first, new_last)
    new_alt = remap(h.alt_lba, "GPT backup header")
    new_last_usable = remap(h.last + 1, "GPT last usable sector") - 1
    system_area[at:at + array_len] = entries
    system_area[SECTOR:2 * SECTOR] = _gpt_with(raw, bytes(entries), alt_lba=new_alt, last=new_last_usable)
    # Backup: the base's own backup header (or the primary, if the base lacks one) made to point
    # back at LBA 1, with its array just in front of it.
    f.seek(h.alt_lba * SECTOR)
    backup_raw = f.read(SECTOR)
    if backup_raw[:8] != GPT_SIGNATURE:
        backup_raw = raw
    backup_entries_lba = new_alt - -(-array_len // SECTOR)
    backup = _gpt_with(backup_raw, bytes(entries), my_lba=new_alt, alt_lba=1, last=new_last_usable,
                       entries_lba=backup_entries_lba)
    return [(backup_entries_lba * SECTOR, bytes(entries)), (new_alt * SECTOR, backup)]


def set_volume_size(fd: int, volume_bytes: int) -> None:
    """Write the volume space size into every primary/supplementary volume descriptor of `fd`."""
    sectors = volume_bytes // 2048
    for number in range(16, 16 + 64):
        head = os.pread(fd, 7, number * 2048)
        if len(head) < 7 or head[1:6] != b"CD001" or head[0] == 255:
            break
        if head[0] in (1, 2):
            os.pwrite(fd, struct.pack("<I", sectors) + struct.pack(">I", sectors), number * 2048 + 80)
