"""Where profiles are found by name: the current folder, $KICKGEN_PROFILE_PATH, the shipped ones.

A name (`centos65-docker`) is looked up folder by folder, first match wins; a path
(`x/y.yaml`, anything with a slash or a .yaml suffix) is taken as it is. `extends:` looks
beside the extending file first, then along the same path.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from kickgen.core.resources import package_dir

ENV_VAR = "KICKGEN_PROFILE_PATH"
SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class SearchDir:
    path: Path
    # "current folder", "$KICKGEN_PROFILE_PATH", "shipped", or "beside the extending profile"
    origin: str


@dataclass(frozen=True)
class FoundProfile:
    name: str
    path: Path
    origin: str


def shipped_dir() -> Path:
    return package_dir("kickgen.profile", "shipped")


def is_shipped(path: Path) -> bool:
    """PATH is one of the profiles shipped inside the package."""
    return path.resolve().parent == shipped_dir().resolve()


def search_dirs(beside: Path | None = None) -> list[SearchDir]:
    dirs = [SearchDir(beside, "beside the extending profile")] if beside is not None else []
    dirs.append(SearchDir(Path.cwd(), "current folder"))
    for entry in os.environ.get(ENV_VAR, "").split(os.pathsep):
        if entry:
            dirs.append(SearchDir(Path(entry).expanduser(), f"${ENV_VAR}"))
    dirs.append(SearchDir(shipped_dir(), "shipped"))
    return dirs


def is_path_ref(text: str) -> bool:
    return "/" in text or text.endswith(SUFFIXES)


def find_profile(ref: str | os.PathLike, beside: Path | None = None) -> Path | None:
    """A profile name or path -> the existing file (resolved), or None."""
    text = os.fspath(ref)
    if is_path_ref(text):
        try:
            path = Path(text).expanduser()
        except RuntimeError:            # ~user of no such user
            return None
        if not path.is_absolute() and beside is not None:
            path = beside / path
        return path.resolve() if _is_file(path) else None
    for folder in search_dirs(beside):
        for suffix in SUFFIXES:
            candidate = folder.path / f"{text}{suffix}"
            if _is_file(candidate):
                return candidate.resolve()
    return None


def _is_file(path: Path) -> bool:
    """Path.is_file, also False for a name the system refuses (too long: ENAMETOOLONG)."""
    try:
        return path.is_file()
    except OSError:
        return False


def describe_search(beside: Path | None = None) -> str:
    """The search path on one line, in order, each folder with where it comes from."""
    return ", ".join(f"{d.path} ({d.origin})" for d in search_dirs(beside))


def list_profiles() -> list[FoundProfile]:
    """Every profile reachable by name, the one a name resolves to first; sorted by name."""
    found: dict[str, FoundProfile] = {}
    for folder in search_dirs():
        if not folder.path.is_dir():
            continue
        for path in sorted(folder.path.iterdir()):
            if path.suffix in SUFFIXES and path.is_file() and path.stem not in found:
                found[path.stem] = FoundProfile(path.stem, path.resolve(), folder.origin)
    return sorted(found.values(), key=lambda f: f.name)
