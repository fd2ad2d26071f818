"""Where each file of an ISO lies in the image: path -> byte extents, read once.

The image is read through kickgen.media.iso (pycdlib; `IsoImage.walk` and `file_copies`), so
the names are the ones a mounted image shows and the ones `kickgen netboot --extract-tree`
writes: Rock Ridge names when the image has Rock Ridge (CentOS media do), else Joliet names,
else ISO 9660 names as Linux's isofs maps them. A file is a list of (offset, length) extents of
the image file: one for every file but those over 4 GiB, which ISO 9660 level 3 splits over
several directory records. No file data is read: the server sends the extents straight from the
image's file descriptor with sendfile.

Rock Ridge symbolic links are kept as links and resolved at lookup time, inside the image
only: an absolute target, or one that climbs out of the image, resolves to nothing (a mounted
image would point into the host's own file system there).
"""

from __future__ import annotations

import os
import posixpath
from dataclasses import dataclass, field
from pathlib import Path

from kickgen.core.errors import MediaError
from kickgen.media.iso import IsoImage

MAX_LINK_HOPS = 8


@dataclass(frozen=True)
class IsoFile:
    extents: tuple[tuple[int, int], ...]     # (byte offset in the image, length), in file order
    size: int


@dataclass
class IsoDir:
    children: dict[str, IsoFile | IsoDir | IsoLink] = field(default_factory=dict)


@dataclass(frozen=True)
class IsoLink:
    target: str                               # as recorded (Rock Ridge SL)


@dataclass(frozen=True)
class IsoIndex:
    path: Path
    root: IsoDir
    names: str                                # "rock ridge" | "joliet" | "iso9660"
    image_size: int
    files: int

    def lookup(self, parts: list[str] | tuple[str, ...]) -> IsoFile | IsoDir | None:
        """The file or folder at PARTS (path components below the image's root), links followed
        inside the image; None when there is none."""
        return _resolve(self.root, list(parts), 0)


def _resolve(root: IsoDir, parts: list[str], hops: int) -> IsoFile | IsoDir | None:
    node: IsoFile | IsoDir | IsoLink = root
    walked: list[str] = []
    for i, part in enumerate(parts):
        if not isinstance(node, IsoDir):
            return None
        child = node.children.get(part)
        if child is None:
            return None
        if isinstance(child, IsoLink):
            if hops >= MAX_LINK_HOPS or child.target.startswith("/"):
                return None
            if _climbs_out(walked, child.target):
                return None
            joined = posixpath.normpath(posixpath.join("/", *walked, child.target))
            rest = [p for p in joined.split("/") if p] + parts[i + 1:]
            return _resolve(root, rest, hops + 1)
        node = child
        walked.append(part)
    return node if not isinstance(node, IsoLink) else None


def _climbs_out(where: list[str], target: str) -> bool:
    depth = len(where)
    for part in target.split("/"):
        if part == "..":
            depth -= 1
            if depth < 0:
                return True
        elif part not in ("", "."):
            depth += 1
    return False


def index_iso(path: Path) -> IsoIndex:
    """Every file, folder and link of the image at PATH with its extents. MediaError for an
    unreadable, damaged or truncated image."""
    path = Path(path)
    try:
        size = os.stat(path).st_size
    except OSError as exc:
        raise MediaError(f"{path}: cannot read the ISO: {exc.strerror}") from None
    root = IsoDir()
    files = 0
    with IsoImage(path) as image:
        names = "rock ridge" if image.has_rock_ridge else "joliet" if image.has_joliet else "iso9660"
        for entry in image.walk():
            *folders, name = [p for p in entry.path.split("/") if p]
            parent = root
            for part in folders:
                child = parent.children.get(part)
                if not isinstance(child, IsoDir):
                    child = parent.children[part] = IsoDir()
                parent = child
            if entry.kind == "dir":
                if not isinstance(parent.children.get(name), IsoDir):
                    parent.children[name] = IsoDir()
            elif entry.kind == "link":
                parent.children[name] = IsoLink(entry.target or "")
            else:
                extents = tuple((c.src, c.length) for c in image.file_copies(entry) if c.length)
                for offset, length in extents:
                    if offset + length > size:
                        raise MediaError(f"{path}: {entry.path} ends at byte {offset + length}, past the end "
                                         f"of the image ({size} bytes): a truncated copy?")
                parent.children[name] = IsoFile(extents, sum(n for _, n in extents))
                files += 1
    return IsoIndex(path=path, root=root, names=names, image_size=size, files=files)
