"""The media-check MD5 that anaconda's mediacheck reads (isomd5sum's format), computed here.

Format: the primary volume descriptor's application-use area (512 bytes at 16*2048+883)
holds `ISO MD5SUM = <md5>;SKIPSECTORS = 15;RHLISOSTATUS=<0|1>;FRAGMENT SUMS = <60 hex
digits>;FRAGMENT COUNT = 20;THIS IS NOT THE SAME AS RUNNING MD5SUM ON THIS ISO!!`, padded
with spaces. The MD5 covers the ISO volume (the PVD's volume size) minus its last
SKIPSECTORS sectors, with the application-use area read as spaces. isomd5sum reads the
image in 32 KiB chunks and takes a fragment sum (the first hex digit of each of the first
three digest bytes) after the first chunk that starts in each of the 21 equal fragments
after the first; `checkisomd5` checks those while it reads, so they must match to the chunk.

Implanting is done in-process rather than by running `implantisomd5`, so the MD5 can be
computed while the remaster's copy is still running (one read of the output fewer). The
test suite holds the result to `implantisomd5` byte for byte and to `checkisomd5`.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

SECTOR = 2048
PVD_OFFSET = 16 * SECTOR
APPDATA_OFFSET = PVD_OFFSET + 883
APPDATA_SIZE = 512
VOLUME_SIZE_OFFSET = PVD_OFFSET + 80      # both-endian: little-endian copy here, big-endian at +4
SKIP_SECTORS = 15
FRAGMENT_COUNT = 20
FRAGMENT_DIGITS = 60 // FRAGMENT_COUNT   # hex digits per fragment sum
CHUNK = 16 * SECTOR                       # isomd5sum's read size: fragment sums fall on its ends
READ_SIZE = 1 << 20                       # our read size (a multiple of CHUNK; fits the L2 cache)


@dataclass(frozen=True)
class ImplantedMd5:
    md5: str | None             # None: the image carries no implanted sum
    skip_sectors: int
    supported: bool             # RHLISOSTATUS=1


@dataclass(frozen=True)
class Md5Check:
    implanted: str | None
    computed: str
    matches: bool


def read_implanted(path: Path) -> ImplantedMd5:
    with open(path, "rb") as f:
        f.seek(APPDATA_OFFSET)
        text = f.read(APPDATA_SIZE).decode("latin-1")
    md5 = re.search(r"ISO MD5SUM = ([0-9a-f]{32})", text)
    skip = re.search(r"SKIPSECTORS = (\d+)", text)
    status = re.search(r"RHLISOSTATUS=(\d)", text)
    return ImplantedMd5(md5.group(1) if md5 else None, int(skip.group(1)) if skip else SKIP_SECTORS,
                        bool(status and status.group(1) == "1"))


def fragment_marks(total: int) -> list[int]:
    """Offsets after which isomd5sum takes a fragment sum, for `total` hashed bytes.

    Fragment k (of FRAGMENT_COUNT + 1) starts at k * (total // 21); the sum is taken after
    the first 32 KiB chunk whose start lies in a new fragment."""
    size = total // (FRAGMENT_COUNT + 1)
    marks: list[int] = []
    if size == 0:
        return marks
    previous, k = 0, 1
    while True:
        start = -(-k * size // CHUNK) * CHUNK     # first chunk start at or after fragment k
        if start >= total:
            return marks
        fragment = start // size
        if fragment != previous:
            marks.append(min(start + CHUNK, total))
            previous = fragment
        k = fragment + 1


class MediaMd5:
    """isomd5sum's MD5 and fragment sums over an ISO volume fed in order, from offset 0."""

    def __init__(self, volume_bytes: int, skip_sectors: int = SKIP_SECTORS):
        self.total = max(0, volume_bytes - skip_sectors * SECTOR)
        self.skip_sectors = skip_sectors
        self.pos = 0
        self.fragment_sums = ""
        self._md5 = hashlib.md5()
        self._marks = fragment_marks(self.total)

    @property
    def done(self) -> bool:
        return self.pos >= self.total

    def update(self, data: bytes | bytearray | memoryview) -> None:
        """Hash the next bytes of the image (those past the hashed length are ignored)."""
        view = memoryview(data)[: max(0, self.total - self.pos)]
        while view:
            stop = len(view)
            if self._marks:
                stop = min(stop, self._marks[0] - self.pos)
            if self.pos < APPDATA_OFFSET + APPDATA_SIZE and self.pos + stop > APPDATA_OFFSET:
                stop = self._update_around_appdata(view[:stop])
            else:
                self._md5.update(view[:stop])
            self.pos += stop
            view = view[stop:]
            if self._marks and self.pos == self._marks[0]:
                self._marks.pop(0)
                digest = self._md5.copy().digest()
                self.fragment_sums += "".join(f"{b:x}"[0] for b in digest[:FRAGMENT_DIGITS])

    def _update_around_appdata(self, view: memoryview) -> int:
        """Hash `view` with the application-use area read as spaces (isomd5sum blanks it)."""
        head = max(0, APPDATA_OFFSET - self.pos)
        blank = min(len(view), APPDATA_OFFSET + APPDATA_SIZE - self.pos) - head
        self._md5.update(view[:head])
        self._md5.update(b" " * blank)
        return head + blank

    def hexdigest(self) -> str:
        return self._md5.hexdigest()

    def appdata(self, *, supported: bool) -> bytes:
        """The 512 bytes implantisomd5 writes for this sum."""
        text = (f"ISO MD5SUM = {self.hexdigest()};SKIPSECTORS = {self.skip_sectors};"
                f"RHLISOSTATUS={int(supported)};FRAGMENT SUMS = {self.fragment_sums};"
                f"FRAGMENT COUNT = {FRAGMENT_COUNT};THIS IS NOT THE SAME AS RUNNING MD5SUM ON THIS ISO!!")
        return text.encode("ascii").ljust(APPDATA_SIZE, b" ")


def volume_bytes_of(fd: int) -> int:
    """The ISO volume size from the PVD (big-endian copy, as isomd5sum reads it)."""
    return int.from_bytes(os.pread(fd, 4, VOLUME_SIZE_OFFSET + 4), "big") * SECTOR


def digest_fd(fd: int, sums: MediaMd5, *, ready: Callable[[int], int] | None = None,
              progress: Callable[[int, int], None] | None = None) -> MediaMd5:
    """Feed `sums` from open file `fd`. `ready(pos)` blocks until the bytes from `pos` on are
    final and returns where the final bytes end (for reading an image still being copied)."""
    buffer = bytearray(READ_SIZE)
    final = sums.total if ready is None else 0
    while not sums.done:
        if sums.pos >= final:
            assert ready is not None   # final < total only when ready is given
            final = ready(sums.pos)
        want = min(READ_SIZE, final - sums.pos, sums.total - sums.pos)
        got = os.preadv(fd, [memoryview(buffer)[:want]], sums.pos)
        if got <= 0:
            break                                  # the file ends early: hash what there is
        sums.update(memoryview(buffer)[:got])
        if progress is not None:
            progress(sums.pos, sums.total)
    return sums


def implant_fd(fd: int, *, supported: bool, ready: Callable[[int], int] | None = None,
               progress: Callable[[int, int], None] | None = None) -> str:
    """Implant a fresh media MD5 into the open image `fd`; returns the MD5."""
    os.pwrite(fd, b" " * APPDATA_SIZE, APPDATA_OFFSET)
    sums = digest_fd(fd, MediaMd5(volume_bytes_of(fd)), ready=ready, progress=progress)
    os.pwrite(fd, sums.appdata(supported=supported), APPDATA_OFFSET)
    return sums.hexdigest()


def compute_md5(path: Path, skip_sectors: int = SKIP_SECTORS) -> str:
    """The MD5 mediacheck computes: volume minus skipped sectors, application area as spaces."""
    fd = os.open(path, os.O_RDONLY)
    try:
        return digest_fd(fd, MediaMd5(volume_bytes_of(fd), skip_sectors)).hexdigest()
    finally:
        os.close(fd)


def check(path: Path) -> Md5Check:
    implanted = read_implanted(path)
    computed = compute_md5(path, implanted.skip_sectors)
    return Md5Check(implanted.md5, computed, implanted.md5 == computed)
