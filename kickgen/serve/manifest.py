"""The netboot tree `kickgen serve` serves, read from its manifest (DIR/kickgen-netboot.json).

Only what the server needs is read, and checked: the base ISO (path, volume ID), whether the
install tree is the ISO itself or DIR/http/tree, and per host its name, MAC, profile, address,
kickstart file (inside DIR), kickstart sha256 and what its report must show (`expect`,
`allow_unsigned`). A problem is one line naming the manifest and the field
(`DIR/kickgen-netboot.json: hosts[1].kickstart: ...`).
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kickgen.core.errors import KickgenError, MediaError, UsageError
from kickgen.profile.schema import KINDS, Expect

MANIFEST_NAME = "kickgen-netboot.json"
STATE_NAME = "kickgen-serve.sqlite"
TREE_DIR = Path("http") / "tree"
HOSTNAME = KINDS["hostname"][0]
_SECTOR = 2048


class ManifestError(KickgenError):
    """The netboot tree's manifest is missing a field or holds a wrong one (exit 1)."""


@dataclass(frozen=True)
class ServedHost:
    name: str
    mac: str
    profile: str
    address: str | None
    kickstart: Path                 # absolute, inside the tree
    kickstart_sha256: str | None
    expect: Expect
    allow_unsigned: tuple[str, ...]


@dataclass(frozen=True)
class NetbootTree:
    root: Path                      # DIR, absolute
    server_url: str
    base_iso: Path
    volume_id: str | None
    tree: str                       # "iso" | "extracted"
    hosts: tuple[ServedHost, ...]

    @property
    def manifest(self) -> Path:
        return self.root / MANIFEST_NAME

    @property
    def state_db(self) -> Path:
        return self.root / STATE_NAME

    @property
    def tree_dir(self) -> Path:
        return self.root / TREE_DIR

    def host(self, name: str) -> ServedHost | None:
        return self._by_name().get(name)

    def _by_name(self) -> dict[str, ServedHost]:
        cached = self.__dict__.get("_hosts_by_name")
        if cached is None:
            cached = {h.name: h for h in self.hosts}
            object.__setattr__(self, "_hosts_by_name", cached)
        return cached


def load_tree(tree_dir: str | os.PathLike) -> NetbootTree:
    """DIR's manifest, checked. UsageError when DIR is no netboot tree, ManifestError for a bad field."""
    root = Path(tree_dir).resolve()
    if not root.is_dir():
        raise UsageError(f"{tree_dir}: no such folder", hint="give the folder `kickgen netboot -o DIR` wrote")
    path = root / MANIFEST_NAME
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"{tree_dir}: not a netboot tree (no {MANIFEST_NAME})",
                         hint="make one with `kickgen netboot INVENTORY --base ISO -o DIR`") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ManifestError(f"{path}: cannot read it: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ManifestError(f"{path}:{exc.lineno}:{exc.colno}: not valid JSON: {exc.msg}") from None
    return _tree(root, path, data)


def _tree(root: Path, path: Path, data: Any) -> NetbootTree:
    def problem(field: str, what: str) -> ManifestError:
        return ManifestError(f"{path}: {field}: {what}")

    def get(obj: Any, field: str, key: str, kind: type | tuple[type, ...], *, optional: bool = False) -> Any:
        where = f"{field}.{key}" if field else key
        if not isinstance(obj, dict):
            raise problem(field or "(top)", f"expected an object, got {type(obj).__name__}")
        if key not in obj:
            if optional:
                return None
            raise problem(where, "missing")
        value = obj[key]
        if value is None and optional:
            return None
        if not isinstance(value, kind) or isinstance(value, bool) and bool not in _as_tuple(kind):
            names = " or ".join(k.__name__ for k in _as_tuple(kind))
            raise problem(where, f"expected {names}, got {type(value).__name__}")
        return value

    server_url = get(data, "", "server_url", str)
    base = get(data, "", "base_iso", dict)
    iso_path = Path(get(base, "base_iso", "path", str))
    volume_id = get(base, "base_iso", "volume_id", str, optional=True)
    tree = get(data, "", "tree", str)
    if tree not in ("iso", "extracted"):
        raise problem("tree", f"expected \"iso\" or \"extracted\", got {tree!r}")
    if tree == "iso":
        if not iso_path.is_absolute():
            raise problem("base_iso.path", f"expected an absolute path, got {str(iso_path)!r}")
        _check_iso(iso_path, volume_id, path)
    elif not (root / TREE_DIR).is_dir():
        raise problem("tree", f"\"extracted\", but {root / TREE_DIR} is not a folder")
    hosts = []
    seen: set[str] = set()
    for i, entry in enumerate(get(data, "", "hosts", list)):
        field = f"hosts[{i}]"
        name = get(entry, field, "name", str)
        if not HOSTNAME.fullmatch(name):
            raise problem(f"{field}.name", f"{name!r} is not a host name ({KINDS['hostname'][1]})")
        if name in seen:
            raise problem(f"{field}.name", f"{name!r} appears twice")
        seen.add(name)
        kickstart_rel = get(entry, field, "kickstart", str)
        kickstart = (root / kickstart_rel).resolve()
        if not kickstart.is_relative_to(root) or Path(kickstart_rel).is_absolute():
            raise problem(f"{field}.kickstart", f"{kickstart_rel!r} is not a file inside {root}")
        if not kickstart.is_file():
            raise problem(f"{field}.kickstart", f"{kickstart} is not a file")
        hosts.append(ServedHost(
            name=name, mac=get(entry, field, "mac", str), profile=get(entry, field, "profile", str),
            address=get(entry, field, "address", str, optional=True), kickstart=kickstart,
            kickstart_sha256=get(entry, field, "kickstart_sha256", str, optional=True),
            expect=_expect(get(entry, field, "expect", dict, optional=True) or {}, f"{field}.expect", problem),
            allow_unsigned=_names(get(entry, field, "allow_unsigned", list, optional=True) or [],
                                  f"{field}.allow_unsigned", problem)))
    return NetbootTree(root=root, server_url=server_url.rstrip("/"), base_iso=iso_path, volume_id=volume_id,
                       tree=tree, hosts=tuple(hosts))


def _as_tuple(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def _expect(data: dict, field: str, problem) -> Expect:
    known = {f.name: f for f in dataclasses.fields(Expect)}
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key not in known:
            raise problem(f"{field}.{key}", f"not an expect: key (known: {', '.join(known)})")
        wanted = bool if key in ("aufs", "docker_running") else str
        if value is not None and not isinstance(value, wanted):
            raise problem(f"{field}.{key}", f"expected {wanted.__name__} or null, got {type(value).__name__}")
        values[key] = value
    return Expect(**values)


def _names(items: list, field: str, problem) -> tuple[str, ...]:
    for i, item in enumerate(items):
        if not isinstance(item, str):
            raise problem(f"{field}[{i}]", f"expected str, got {type(item).__name__}")
    return tuple(items)


def read_volume_id(fd: int) -> str | None:
    """The primary volume descriptor's volume ID, or None when the file is no ISO 9660 image."""
    pvd = os.pread(fd, _SECTOR, 16 * _SECTOR)
    if len(pvd) < 72 or pvd[:6] != b"\x01CD001":
        return None
    return pvd[40:72].decode("ascii", "replace").rstrip(" \x00")


def _check_iso(iso: Path, volume_id: str | None, manifest: Path) -> None:
    try:
        fd = os.open(iso, os.O_RDONLY)
    except OSError as exc:
        raise MediaError(f"{iso}: cannot open the base ISO the manifest names: {exc.strerror}",
                         hint=f"the tree was made from it ({manifest}); put it back or make the tree again") from None
    try:
        found = read_volume_id(fd)
    finally:
        os.close(fd)
    if found is None:
        raise MediaError(f"{iso}: not an ISO 9660 image (the base ISO {manifest} names)")
    if volume_id is not None and found != volume_id:
        raise MediaError(f"{iso}: volume ID {found!r}, but the manifest says {volume_id!r}: not the ISO "
                         "the tree was made from", hint="make the tree again from this ISO, or restore that one")
