"""Where kickgen reads its own data and writes its caches and artefacts.

Data shipped with kickgen (templates, profiles, domain XML, the stand-in's recipe) lives
inside the package and is found through importlib.resources, so an installed wheel works
on its own. Nothing is ever written into the package: caches go under the user's cache
folder (XDG), run artefacts under the current folder unless the caller names one.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

from kickgen.core.errors import InternalError

ARTIFACTS_NAME = "kickgen-artifacts"


def package_dir(anchor: str, *parts: str) -> Path:
    """A data folder shipped inside package `anchor`, as a real path on disk.

    kickgen's data are whole trees handed to tools (xorriso, cpio, jinja2's loader), so
    they must be real folders: a zipped install is refused here rather than half-working.
    """
    node = resources.files(anchor).joinpath(*parts)
    path = Path(os.fspath(node)) if isinstance(node, os.PathLike) else None
    if path is None or not path.is_dir():
        raise InternalError(f"kickgen's data folder {anchor}:{'/'.join(parts)} is not on disk "
                            "(kickgen must be installed unzipped)")
    return path


def cache_dir(*parts: str) -> Path:
    """$KICKGEN_CACHE_DIR, else $XDG_CACHE_HOME/kickgen, else ~/.cache/kickgen (not created)."""
    explicit = os.environ.get("KICKGEN_CACHE_DIR")
    if explicit:
        base = Path(explicit)
    else:
        xdg = os.environ.get("XDG_CACHE_HOME")
        base = (Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".cache") / "kickgen"
    return base.joinpath(*parts)


def artifacts_dir(explicit: str | os.PathLike | None, *default_parts: str) -> Path:
    """The folder a run writes its artefacts to: the one given, else ./kickgen-artifacts/..."""
    if explicit is not None:
        return Path(explicit).resolve()
    return (Path.cwd() / ARTIFACTS_NAME).joinpath(*default_parts).resolve()
