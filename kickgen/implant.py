"""The media-check MD5 that anaconda's mediacheck reads (isomd5sum's format).

Implanting runs Debian's `implantisomd5` (the tool EL6 media were made with). Reading and
verifying is done here, so `kickgen inspect` can report it; the test suite checks the result
against `checkisomd5`.

Format: the primary volume descriptor's application-use area (512 bytes at 16*2048+883)
holds `ISO MD5SUM = <md5>;SKIPSECTORS = <n>;RHLISOSTATUS=<0|1>;FRAGMENT SUMS = ...;...`.
The MD5 covers the ISO volume (PVD volume size), minus its last SKIPSECTORS sectors, with
the application-use area read as spaces.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .errors import EnvironmentProblem, InternalError

SECTOR = 2048
APPDATA_OFFSET = 16 * SECTOR + 883
APPDATA_SIZE = 512
VOLUME_SIZE_OFFSET = 16 * SECTOR + 80


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
    return ImplantedMd5(md5.group(1) if md5 else None, int(skip.group(1)) if skip else 15,
                        bool(status and status.group(1) == "1"))


def compute_md5(path: Path, skip_sectors: int = 15) -> str:
    """The MD5 mediacheck computes: volume minus skipped sectors, application area as spaces."""
    with open(path, "rb", buffering=0) as f:
        f.seek(VOLUME_SIZE_OFFSET)
        volume_sectors = int.from_bytes(f.read(4), "little")
        end = (volume_sectors - skip_sectors) * SECTOR
        h = hashlib.md5()
        pos = 0
        f.seek(0)
        while pos < end:
            chunk = bytearray(f.read(min(8 << 20, end - pos)))
            if not chunk:
                break
            lo, hi = APPDATA_OFFSET - pos, APPDATA_OFFSET + APPDATA_SIZE - pos
            if hi > 0 and lo < len(chunk):
                a, b = max(0, lo), min(len(chunk), hi)
                chunk[a:b] = b" " * (b - a)
            h.update(chunk)
            pos += len(chunk)
    return h.hexdigest()


def check(path: Path) -> Md5Check:
    implanted = read_implanted(path)
    computed = compute_md5(path, implanted.skip_sectors)
    return Md5Check(implanted.md5, computed, implanted.md5 == computed)


def implant(path: Path, *, supported: bool) -> str:
    """Implant a fresh MD5 into `path` (rewrites the PVD's application-use area only)."""
    tool = shutil.which("implantisomd5")
    if tool is None:
        raise EnvironmentProblem("'implantisomd5' not found; it is needed to implant the media MD5",
                                 hint="install the Debian package isomd5sum (make setup)")
    argv = [tool, "--force", *(["--supported-iso"] if supported else []), os.fspath(path)]
    proc = subprocess.run(argv, capture_output=True, text=True)
    if proc.returncode != 0:
        raise InternalError(f"implantisomd5 failed on {path}: {(proc.stderr or proc.stdout).strip()}")
    found = read_implanted(path).md5
    if found is None:
        raise InternalError(f"implantisomd5 left no MD5 in {path}")
    return found
