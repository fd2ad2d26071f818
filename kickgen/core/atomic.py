"""Outputs appear whole or not at all: written to a temp file in the destination folder,
then renamed into place (a rename within one folder is atomic).

Every writer here refuses a destination that is not a regular file (kickgen.core.outputs:
renaming over /dev/null or a link would replace it), gives the new file the mode the umask
allows (`mode`, e.g. KICKSTART_MODE, less the umask), and turns a full, read-only or
over-quota file system into an EnvironmentProblem naming the path, leaving nothing behind.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from kickgen.core.outputs import ALL_READ_WRITE, file_mode, is_disk_error, refuse_non_regular, write_problem


def _publish(path: Path, fill: Callable[[str], object], mode: int = ALL_READ_WRITE) -> Path:
    path = Path(path)
    refuse_non_regular(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise write_problem(path, exc) from None
    os.close(fd)
    try:
        fill(tmp)
        os.chmod(tmp, file_mode(mode))
        refuse_non_regular(path)             # still so, just before the rename
        os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if is_disk_error(exc) or isinstance(exc, IsADirectoryError):
            raise write_problem(path, exc) from None
        raise
    return path


def write_text(path: Path, text: str, *, mode: int = ALL_READ_WRITE) -> Path:
    return _publish(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"), mode)


def write_bytes(path: Path, data: bytes, *, mode: int = ALL_READ_WRITE) -> Path:
    return _publish(path, lambda tmp: Path(tmp).write_bytes(data), mode)


def write_json(path: Path, data: object) -> Path:
    return write_text(path, json_text(data))


def json_text(data: object) -> str:
    return json.dumps(data, indent=2, sort_keys=True, default=str) + "\n"


def copy_file(src: Path, path: Path, *, mode: int = ALL_READ_WRITE) -> Path:
    return _publish(path, lambda tmp: shutil.copyfile(src, tmp), mode)


def move_into_place(src: Path, path: Path, *, mode: int = ALL_READ_WRITE) -> Path:
    """A finished file `src`, made in `path`'s folder (a temp folder there will do), renamed
    over `path`. For outputs another tool writes (xorriso, mkisofs)."""
    refuse_non_regular(Path(path))
    os.chmod(src, file_mode(mode))
    try:
        os.replace(src, path)
    except OSError as exc:
        raise write_problem(Path(path), exc) from None
    return Path(path)


class Staged:
    """A finished file beside `path` under a temp name, not yet in place: `publish()` renames
    it over `path`, `discard()` removes it. For an output that must appear together with
    another (the manifest beside its ISO), staged while a failure can still undo both."""

    def __init__(self, path: Path, tmp: Path):
        self.path, self.tmp = Path(path), tmp

    def publish(self) -> Path:
        refuse_non_regular(self.path)
        try:
            os.replace(self.tmp, self.path)
        except OSError as exc:
            self.discard()
            raise write_problem(self.path, exc) from None
        return self.path

    def discard(self) -> None:
        self.tmp.unlink(missing_ok=True)


def stage_text(path: Path, text: str, *, mode: int = ALL_READ_WRITE) -> Staged:
    path = Path(path)
    refuse_non_regular(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise write_problem(path, exc) from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.chmod(tmp, file_mode(mode))
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if is_disk_error(exc):
            raise write_problem(path, exc) from None
        raise
    return Staged(path, Path(tmp))


@contextmanager
def output_fd(path: Path, *, mode: int = ALL_READ_WRITE) -> Iterator[int]:
    """An open, empty, read-write file that becomes `path` when the block ends without an error.

    For large outputs written in place (pwrite, copy_file_range): an unnamed file (O_TMPFILE)
    in `path`'s folder, so even a killed process leaves nothing behind; it is given a name
    beside `path` only at the end, then renamed over it. Where the file system has no
    O_TMPFILE, a named temp file that an error or interruption (KeyboardInterrupt) removes.
    A full, read-only or over-quota file system, met anywhere in the block, is reported as
    an EnvironmentProblem naming `path`.
    """
    path = Path(path)
    refuse_non_regular(path)
    try:
        fd, named = os.open(path.parent, os.O_TMPFILE | os.O_RDWR, 0o600), None
    except (OSError, AttributeError) as exc:
        if is_disk_error(exc):
            raise write_problem(path, exc) from None
        try:
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".kickgen-tmp", dir=path.parent)
        except OSError as exc:
            raise write_problem(path, exc) from None
        named = Path(tmp)
    published = named
    try:
        try:
            yield fd
            os.fchmod(fd, file_mode(mode))
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
        refuse_non_regular(path)             # still so, just before the rename
        os.replace(published, path)
    except BaseException as exc:
        if published is not None:
            published.unlink(missing_ok=True)
        if is_disk_error(exc):
            raise write_problem(path, exc) from None
        raise
