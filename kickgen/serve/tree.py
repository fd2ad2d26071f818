"""The install tree behind /tree/ and /hosts/<h>/tree/: the base ISO itself (its files' extents,
sent with sendfile from the image) or the extracted folder DIR/http/tree; and the request path
as segments, refused when it could name anything outside.

A request path is split on `/` before percent-decoding (so an encoded slash stays inside its
segment, where it is refused), empty segments are dropped (`//` as one `/`), and a segment that
is `.` or `..` (also encoded), holds a NUL or an encoded `/`, or a bad `%` escape makes the
request a 400. Nothing is normalised away: `/tree/a/../b` is refused, not served as `/tree/b`.
In the extracted folder a symbolic link may point inside the folder only; the file opened is the
link's real target (O_NOFOLLOW on the resolved path), and only regular files are sent.
"""

from __future__ import annotations

import io
import os
import re
import stat
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from kickgen.serve.isoindex import IsoDir, IsoFile, IsoIndex

_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")


class BadPath(Exception):
    """The request target cannot name a file of the tree (400)."""


@dataclass(frozen=True)
class Target:
    segments: tuple[str, ...]
    slash: bool            # the path ended with '/'
    path: str              # the raw path, without the query


def split_target(raw: str) -> Target:
    """The decoded segments of a request target's path; BadPath for anything that could climb out."""
    if not raw.startswith("/"):
        raise BadPath("the request target is not an absolute path")
    path = raw.split("?", 1)[0]
    if "#" in path:
        raise BadPath("a fragment in the request target")
    if _BAD_ESCAPE.search(path):
        raise BadPath("a bad %-escape in the path")
    segments = []
    for part in path.split("/"):
        if not part:
            continue
        name = urllib.parse.unquote_to_bytes(part).decode("utf-8", "surrogateescape")
        if name in (".", ".."):
            raise BadPath("a '.' or '..' segment in the path")
        if "/" in name or "\x00" in name:
            raise BadPath("an encoded '/' or a NUL in the path")
        segments.append(name)
    return Target(tuple(segments), path.endswith("/") and len(path) > 1, path)


@dataclass
class FileBody:
    """An open file of the tree and where its bytes are in it."""

    file: io.FileIO                          # opened for this request; the caller closes it
    extents: tuple[tuple[int, int], ...]     # (offset in `file`, length)
    size: int
    mtime: float
    etag: str
    name: str


@dataclass(frozen=True)
class Listing:
    names: tuple[str, ...]                   # folders end with '/'


class IsoTree:
    """The tree as the base ISO holds it."""

    def __init__(self, index: IsoIndex):
        self.index = index
        st = os.stat(index.path)
        self.mtime = st.st_mtime
        self._tag = f"{st.st_mtime_ns:x}-{st.st_size:x}"

    def describe(self) -> str:
        return f"{self.index.path} ({self.index.files} files, {self.index.names} names)"

    def lookup(self, segments: tuple[str, ...]) -> FileBody | Listing | None:
        node = self.index.lookup(segments)
        if isinstance(node, IsoDir):
            return Listing(tuple(sorted(n + "/" if isinstance(c, IsoDir) else n
                                        for n, c in node.children.items())))
        if not isinstance(node, IsoFile):
            return None
        try:
            file = open(self.index.path, "rb", buffering=0)   # noqa: SIM115 - closed by the caller
        except OSError:
            return None
        first = node.extents[0][0] if node.extents else 0
        return FileBody(file, node.extents, node.size, self.mtime, f'"{self._tag}-{first:x}-{node.size:x}"',
                        segments[-1] if segments else "")


class FolderTree:
    """The tree extracted into DIR/http/tree."""

    def __init__(self, root: Path):
        self.root = os.path.realpath(root)

    def describe(self) -> str:
        return f"{self.root} (extracted)"

    def lookup(self, segments: tuple[str, ...]) -> FileBody | Listing | None:
        real = os.path.realpath(os.path.join(self.root, *segments))
        if real != self.root and not real.startswith(self.root + os.sep):
            return None                      # a link out of the tree
        try:
            fd = os.open(real, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError:
            return None
        try:
            st = os.fstat(fd)
            if stat.S_ISDIR(st.st_mode):
                with os.scandir(fd) as entries:
                    names = tuple(sorted(e.name + "/" if e.is_dir() else e.name for e in entries))
                os.close(fd)
                return Listing(names)
            if not stat.S_ISREG(st.st_mode):
                os.close(fd)
                return None
            file = io.FileIO(fd, "rb")
        except OSError:
            os.close(fd)
            return None
        return FileBody(file, ((0, st.st_size),) if st.st_size else (), st.st_size, st.st_mtime,
                        f'"{st.st_ino:x}-{st.st_mtime_ns:x}-{st.st_size:x}"', segments[-1] if segments else "")


def slice_extents(extents: tuple[tuple[int, int], ...], start: int, length: int) -> list[tuple[int, int]]:
    """The parts of EXTENTS that hold bytes [start, start + length) of the file."""
    out = []
    at = 0
    for offset, size in extents:
        if length <= 0:
            break
        if start < at + size:
            skip = max(0, start - at)
            take = min(size - skip, length)
            out.append((offset + skip, take))
            start += take
            length -= take
        at += size
    return out
