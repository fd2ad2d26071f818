"""Where kickgen may write: the one rule every `-o`/OUT path passes before any work.

An output is a regular file or a new name in an existing (or creatable) folder, or `-` for
standard output where the command has one. Never a device, FIFO, socket, symbolic link or
folder (kickgen renames a temp file over its output: over /dev/null that replaces the
machine's /dev/null, over a link the link), and never one of the command's inputs (the base
image, the kickstart, an added file, a profile file), by any name. Refusals are one line
naming the path and why (exit 2); so are a read-only, full or over-quota file system.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterable
from pathlib import Path
from typing import TypeGuard

from kickgen.core.errors import EnvironmentProblem, KickgenError, UsageError

STDOUT = "-"
KICKSTART_MODE = 0o600            # a kickstart holds the root password hash
ALL_READ_WRITE = 0o666            # any other output: what the umask leaves of this

# Errors that say the file system cannot take the output (not that the output is wrong).
DISK_ERRNOS = {errno.ENOSPC: "no space left on device", errno.EDQUOT: "disk quota exceeded",
               errno.EFBIG: "file too large for the file system", errno.EROFS: "read-only file system"}
ACCESS_ERRNOS = {errno.EACCES, errno.EPERM}

_KIND_WORDS = {stat.S_IFDIR: "a directory", stat.S_IFCHR: "a character device", stat.S_IFBLK: "a block device",
               stat.S_IFIFO: "a FIFO (named pipe)", stat.S_IFSOCK: "a socket", stat.S_IFLNK: "a symbolic link"}
HINT = "kickgen writes only to a regular file or a new name (it replaces the file whole); give another -o"

Inputs = Iterable[tuple[str, "os.PathLike[str] | str"]]     # (what it is, path): "the base image", base


def current_umask() -> int:
    """The process umask, read without changing it (os.umask() can only set it, process-wide)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)          # no /proc: set and restore at once
    os.umask(mask)
    return mask


def file_mode(mode: int = ALL_READ_WRITE) -> int:
    """`mode` less what the umask takes away: what open(2) would have given a new file."""
    return mode & ~current_umask() & 0o7777


def refuse_non_regular(path: Path, label: str = "output", hint: str = HINT) -> None:
    """An existing `path` that is not a regular file (or is a symbolic link) is refused."""
    try:
        st = os.lstat(path)
    except OSError:
        return                       # not there (or not reachable): writing it says why
    kind = stat.S_IFMT(st.st_mode)
    if kind != stat.S_IFREG:
        word = _KIND_WORDS.get(kind, "not a regular file")
        raise UsageError(f"{label} {path} is {word}", hint=hint)


def refuse_inputs(path: Path, inputs: Inputs, label: str = "output") -> None:
    """`path` must not be any of `inputs` (same name, or the same file under another name:
    a hard link; symbolic links are refused as outputs anyway)."""
    try:
        out = os.stat(path)
    except OSError:
        return                       # not there yet: no input can be it
    for what, given in inputs:
        if given is None:
            continue
        try:
            st = os.stat(given)
        except OSError:
            continue
        if (st.st_dev, st.st_ino) == (out.st_dev, out.st_ino):
            named = "" if os.path.abspath(given) == os.path.abspath(path) else f" {given} (the same file)"
            raise UsageError(f"{label} {path} is {what}{named}; kickgen never modifies its input",
                             hint="give -o a new file name")


def check_output(path: os.PathLike[str] | str, *, label: str = "output", inputs: Inputs = (),
                 stdout: bool = False, command: str = "this command", make_folder: bool = True) -> Path | None:
    """Refuse an output path kickgen must not write (see the module docstring); return it as
    a Path, or None for `-` (standard output) where `stdout` is allowed.

    `make_folder`: the writer creates missing folders (else the folder must exist).
    """
    if os.fspath(path) == STDOUT:
        if stdout:
            return None
        raise UsageError(f"{label} -: {command} cannot write to standard output",
                         hint="give a file name (./- for a file named -)")
    path = Path(path)
    if not path.name or path.name in (".", ".."):
        raise UsageError(f"{label} {path} is a directory", hint=HINT)
    refuse_non_regular(path, label)
    refuse_inputs(path, inputs, label)
    folder = path.parent
    if not folder.exists():
        if make_folder:
            return path
        raise UsageError(f"{label} folder {folder} does not exist")
    if not folder.is_dir():
        raise UsageError(f"{label} {path}: {folder} is not a folder")
    probe_writable(path)
    return path


def probe_writable(path: Path) -> None:
    """Can a new file be made beside `path`? An unnamed one (O_TMPFILE) is tried, so nothing
    is left even if kickgen is killed; a read-only or inaccessible folder is named at once,
    before the work that would come first."""
    folder = path.parent
    try:
        fd = os.open(folder, os.O_TMPFILE | os.O_WRONLY, 0o600)
    except OSError as exc:
        if exc.errno in DISK_ERRNOS or exc.errno in ACCESS_ERRNOS:
            raise write_problem(path, exc) from None
        if not os.access(folder, os.W_OK):       # no O_TMPFILE here: ask instead
            raise write_problem(path, OSError(errno.EACCES, os.strerror(errno.EACCES))) from None
        return
    os.close(fd)


def write_problem(path: Path, exc: OSError) -> KickgenError:
    """The error for an OSError met while writing output `path`: the file system's fault
    (full, read-only, quota, permission) is an EnvironmentProblem, anything else a UsageError."""
    if exc.errno == errno.EROFS:
        return EnvironmentProblem(f"cannot write {path}: {_mount_of(path.parent)} is on a read-only file system")
    if exc.errno in DISK_ERRNOS:
        return EnvironmentProblem(f"cannot write {path}: {DISK_ERRNOS[exc.errno]}",
                                  hint=f"free some space in {path.parent}, or write elsewhere")
    reason = exc.strerror or str(exc)
    if exc.errno in ACCESS_ERRNOS:
        return EnvironmentProblem(f"cannot write {path}: {reason}")
    return UsageError(f"cannot write {path}: {reason}")


def is_disk_error(exc: BaseException) -> TypeGuard[OSError]:
    """Full, over quota, too large, read-only: the output's file system, not its path."""
    return isinstance(exc, OSError) and exc.errno in DISK_ERRNOS


def _mount_of(folder: Path) -> Path:
    """The folder itself where it exists, else its nearest existing parent (named in messages)."""
    for candidate in (folder, *folder.parents):
        if candidate.exists():
            return candidate
    return folder
