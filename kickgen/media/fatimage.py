"""Read and replace one file inside a FAT image (images/efiboot.img) without root or mount.

Uses mtools (`mtype`, `mcopy`) on an image file. The image keeps its size, so the El Torito
UEFI entry's load size stays right. FAT timestamps are pinned (TZ=UTC, `mcopy -m` with the
source's mtime set to the given epoch) so the same inputs give the same bytes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from kickgen.core.errors import EnvironmentProblem, MediaError


def _mtools_env() -> dict[str, str]:
    # MTOOLS_SKIP_CHECK: accept images whose geometry mtools finds odd (mkdosfs -C images).
    return {**os.environ, "TZ": "UTC", "MTOOLS_SKIP_CHECK": "1", "MTOOLS_NO_VFAT": "0"}


def _run(argv: list[str], what: str) -> bytes:
    if shutil.which(argv[0]) is None:
        raise EnvironmentProblem(f"'{argv[0]}' not found; it is needed to {what}",
                                 hint="install the Debian package mtools (make setup)")
    proc = subprocess.run(argv, capture_output=True, env=_mtools_env())
    if proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).decode(errors="replace").strip().splitlines()
        raise MediaError(f"cannot {what}: {detail[-1] if detail else 'mtools exit ' + str(proc.returncode)}")
    return proc.stdout


def read_file(image: Path, path: str) -> bytes:
    """Bytes of `path` (e.g. 'EFI/BOOT/BOOTX64.conf', case-insensitive as FAT is) in the image."""
    return _run(["mtype", "-i", str(image), f"::/{path.lstrip('/')}"],
                f"read {path} inside {image.name}")


def has_file(image: Path, path: str) -> bool:
    proc = subprocess.run(["mdir", "-i", str(image), "-b", f"::/{path.lstrip('/')}"],
                          capture_output=True, env=_mtools_env())
    return proc.returncode == 0


def replace_file(image: Path, path: str, data: bytes, *, epoch: int) -> None:
    """Overwrite `path` inside the FAT image file `image` (edited in place) with `data`."""
    with tempfile.TemporaryFile() as src:   # unnamed: nothing is left behind if killed
        src.write(data)
        src.flush()
        src_path = f"/proc/{os.getpid()}/fd/{src.fileno()}"
        os.utime(src.fileno(), (epoch, epoch))
        _run(["mcopy", "-o", "-m", "-i", str(image), src_path, f"::/{path.lstrip('/')}"],
             f"write {path} inside {image.name}")
