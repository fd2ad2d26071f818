"""Outputs appear whole or not at all: written to a temp file in the destination folder,
then renamed into place (a rename within one folder is atomic)."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from kickgen.core.errors import UsageError


def _publish(path: Path, fill: Callable[[str], object]) -> Path:
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror}") from None
    os.close(fd)
    try:
        fill(tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_text(path: Path, text: str) -> Path:
    return _publish(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def write_bytes(path: Path, data: bytes) -> Path:
    return _publish(path, lambda tmp: Path(tmp).write_bytes(data))


def write_json(path: Path, data: object) -> Path:
    return write_text(path, json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")


def copy_file(src: Path, path: Path) -> Path:
    return _publish(path, lambda tmp: shutil.copyfile(src, tmp))


def move_into_place(src: Path, path: Path) -> Path:
    """A finished file `src`, made in `path`'s folder (a temp folder there will do), renamed
    over `path`. For outputs another tool writes (xorriso, mkisofs)."""
    os.chmod(src, 0o644)
    os.replace(src, path)
    return Path(path)


@contextmanager
def output_fd(path: Path) -> Iterator[int]:
    """An open, empty, read-write file that becomes `path` when the block ends without an error.

    For large outputs written in place (pwrite, copy_file_range): an unnamed file (O_TMPFILE)
    in `path`'s folder, so even a killed process leaves nothing behind; it is given a name
    beside `path` only at the end, then renamed over it. Where the file system has no
    O_TMPFILE, a named temp file that an error or interruption (KeyboardInterrupt) removes.
    """
    path = Path(path)
    try:
        fd, named = os.open(path.parent, os.O_TMPFILE | os.O_RDWR, 0o600), None
    except (OSError, AttributeError):
        try:
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".kickgen-tmp", dir=path.parent)
        except OSError as exc:
            raise UsageError(f"cannot write {path}: {exc.strerror}") from None
        named = Path(tmp)
    published = named
    try:
        try:
            yield fd
            os.fchmod(fd, 0o644)
            if named is None:
                published = path.with_name(f".{path.name}.{os.getpid()}.kickgen-tmp")
                published.unlink(missing_ok=True)
                folder = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
                try:  # linkat(AT_SYMLINK_FOLLOW) on /proc/self/fd/N: the way to name an O_TMPFILE
                    os.link(f"/proc/self/fd/{fd}", published.name, dst_dir_fd=folder, follow_symlinks=True)
                finally:
                    os.close(folder)
        finally:
            os.close(fd)
        assert published is not None
        os.replace(published, path)
    except BaseException:
        if published is not None:
            published.unlink(missing_ok=True)
        raise
