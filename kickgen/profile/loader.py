"""Loading a profile: the file and its `extends:` chain, merged; `--set` overrides; then
conversion (`convert`) and the rules across keys (`rules`).

Public entry point: `load_profile(ref, overrides) -> Profile`. Every problem found is
collected and reported together, one line each, as `file:line:col: key.path: message`
(or `--set key.path: message` for a command-line override).
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path

import yaml

from kickgen.core.errors import ProfileError, UsageError
from kickgen.profile.convert import Converter
from kickgen.profile.rules import check_profile
from kickgen.profile.schema import KINDS, Profile
from kickgen.profile.search import describe_search, find_profile, is_path_ref, list_profiles
from kickgen.profile.yamlsource import (
    LimitReached,
    Mark,
    Node,
    Problems,
    compose,
    display_path,
    kind_of,
    node_from_yaml,
    read_yaml_file,
    yaml_error_text,
)

# --- loading files, extends and merging ------------------------------------------------------

def resolve_profile_ref(ref: str | os.PathLike, relative_to: Path | None = None) -> Path | None:
    """A profile name (`centos65-docker`) or a path (`x/y.yaml`) -> existing file or None."""
    return find_profile(ref, beside=relative_to)


def _load_chain(path: Path, problems: Problems, stack: tuple[Path, ...] = (),
                files: list[Path] | None = None) -> Node | None:
    """Read `path` and its `extends:` ancestors; return the merged tree (parent first).
    FILES, when given, collects every file read."""
    if files is not None:
        files.append(path)
    node = read_yaml_file(path, problems)
    if node is None:
        return None
    extends = node.value.pop("extends", None)
    if extends is None:
        return _strip_append_keys(node)
    kmark, enode = extends
    if not isinstance(enode.value, str) or not enode.value:
        problems.add(enode.mark, "extends", f"expected a profile name or path, got {kind_of(enode.value)}")
        return None
    parent_path = resolve_profile_ref(enode.value, relative_to=path.parent)
    if parent_path is None:
        problems.add(enode.mark, "extends",
                     f"parent profile {enode.value!r} not found (looked in "
                     f"{describe_search(path.parent)})")
        return None
    chain = stack + (path,)
    if parent_path in chain:
        cycle = " -> ".join(display_path(p) for p in chain[chain.index(parent_path):] + (parent_path,))
        problems.add(enode.mark, "extends", f"extends cycle: {cycle}")
        return None
    parent = _load_chain(parent_path, problems, chain, files)
    if parent is None:
        return None
    return _merge(parent, node)


# Maps a child replaces as a whole: one-of choices, where a merge would mix two answers.
WHOLE_MAPS = {("system", "rootpw")}


def _merge(parent: Node, child: Node, path: tuple[str, ...] = ()) -> Node:
    """Maps merge key by key; lists and scalars replace; `key+: [...]` appends to the parent's list.
    An empty section (`network:` with every key commented out) is an empty map: it changes nothing."""
    if child.value is None and isinstance(parent.value, dict):
        child = Node({}, child.mark)
    if not (isinstance(parent.value, dict) and isinstance(child.value, dict)) or path in WHOLE_MAPS:
        return _strip_append_keys(child)
    merged = dict(parent.value)
    for k, (kmark, cnode) in child.value.items():
        if k.endswith("+") and len(k) > 1:
            base = k[:-1]
            old = merged.get(base)
            if old is not None and isinstance(old[1].value, list) and isinstance(cnode.value, list):
                merged[base] = (kmark, Node(old[1].value + cnode.value, cnode.mark))
            else:
                merged[base] = (kmark, _strip_append_keys(cnode))
        elif k in merged:
            merged[k] = (kmark, _merge(merged[k][1], cnode, path + (k,)))
        else:
            merged[k] = (kmark, _strip_append_keys(cnode))
    return Node(merged, child.mark)


def _strip_append_keys(node: Node) -> Node:
    """With no parent value to append to, `key+:` is just `key:`."""
    if not isinstance(node.value, dict):
        return node
    out: dict[str, tuple[Mark, Node]] = {}
    for k, (kmark, sub) in node.value.items():
        name = k[:-1] if k.endswith("+") and len(k) > 1 else k
        out[name] = (kmark, _strip_append_keys(sub))
    return Node(out, node.mark)


# One part of a `--set` key path (`key+` appends to a list).
KEY_PART = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\+?")


def _apply_override(root: Node, text: str, problems: Problems, index: int = 0) -> None:
    """`key.path=value`: value is parsed as YAML (a scalar, or a flow list/map)."""
    if "=" not in text:
        raise UsageError(f"--set {text!r}: expected key.path=value",
                         hint="for example --set system.timezone=Europe/Berlin")
    path, raw = text.split("=", 1)
    path = path.strip()
    parts = path.split(".")
    if not path or any(not KEY_PART.fullmatch(p) for p in parts):
        raise UsageError(f"--set {text!r}: {path!r} is not a key path like system.timezone")
    local = Problems()
    try:
        ynode = compose(raw) if raw.strip() else None
    except yaml.YAMLError as exc:
        problems.add(Mark(None, index, override=path), path, yaml_error_text(exc) if isinstance(exc, LimitReached)
                     else f"value is not valid YAML: {getattr(exc, 'problem', None) or ' '.join(str(exc).split())}")
        return
    value: Node | None = Node(None, Mark(None, index, override=path))
    if ynode is not None:
        value = node_from_yaml(ynode, None, local, override=path, index=index)
    problems.extend(local)
    if value is None:       # a limit stopped it (the reason is in PROBLEMS)
        return
    put_value(root, parts, Mark(None, index, override=path), value)


def put_value(root: Node, parts: Sequence[str], mark: Mark, value: Node) -> None:
    """Set key path PARTS of the merged tree ROOT to VALUE, as `--set` does: a missing or
    non-map parent becomes a map (marked MARK), a parent in WHOLE_MAPS is replaced whole, and a
    last part `key+` appends VALUE's list to the list there. MARK is where the key was written."""
    target = root
    for depth, part in enumerate(parts[:-1], 1):
        entry = target.value.get(part)
        if tuple(parts[:depth]) in WHOLE_MAPS:  # system.rootpw.env=X replaces the whole choice
            entry = None
        if entry is None or not isinstance(entry[1].value, dict):
            entry = (mark, Node({}, mark))
            target.value[part] = entry
        target = entry[1]
    last = parts[-1]
    if last.endswith("+"):
        base = last[:-1]
        old = target.value.get(base)
        if old is not None and isinstance(old[1].value, list) and isinstance(value.value, list):
            value = Node(old[1].value + value.value, value.mark)
        last = base
    target.value[last] = (mark, value)


# --- public entry point ---------------------------------------------------------------------------

def load_profile(ref: str | os.PathLike, overrides: Sequence[str] = (), *,
                 located: Sequence[tuple[Sequence[str], Mark, Node]] = ()) -> Profile:
    """Load a profile by name (on the search path, see `search`) or path, merge its parents,
    apply `--set` overrides, then LOCATED ones: (key path parts, where the key was written,
    its value) read from another located file (kickgen netboot's inventory), `--set`'s
    semantics, problems reported at their file:line:col."""
    path = resolve_profile_ref(ref)
    if path is None:
        text = os.fspath(ref)
        where = "no such file" if is_path_ref(text) else f"looked in {describe_search()}"
        raise UsageError(f"no profile {text!r} ({where})",
                         hint=f"give a path or one of: {', '.join(list_profile_names()) or 'none'}")
    problems = Problems()
    if not KINDS["name"][0].fullmatch(path.stem):
        problems.add(Mark(path, 1, 1), "", f"profile file name {path.stem!r}: expected "
                     f"{KINDS['name'][1]} (the name goes into the kickstart)")
    files: list[Path] = []
    root = _load_chain(path, problems, files=files)
    problems.raise_if_any()
    assert root is not None
    for index, text in enumerate(overrides):
        _apply_override(root, text, problems, index)
    for parts, mark, value in located:
        put_value(root, parts, mark, value)
    converter = Converter(problems)
    values = converter.dataclass(root, Profile, "")
    profile = Profile(name=path.stem, source=path, files=tuple(files), **values)
    check_profile(root, profile, problems)
    problems.raise_if_any()
    return profile


def check_media_sources(profile: Profile, allow_paths: Sequence[str | os.PathLike] = ()) -> None:
    """Every `media.add` source must lie inside the folder it is relative to (the folder of the
    profile file that set it; for `--set`, the current folder), symbolic links followed, unless
    it lies inside one of ALLOW_PATHS (`--allow-path DIR`). A profile must not be able to copy
    any host file (/etc/shadow, ../../secrets) onto the media it builds. Checked where media.add
    is read (kickgen iso, kickgen matrix), not by load_profile: showing or rendering a profile
    reads none of these files."""
    allowed = [Path(p).resolve() for p in allow_paths]
    problems = []
    for index, item in enumerate(profile.media.add):
        src = Path(item.src).resolve()
        folder = item.folder or Path(profile.source).parent.resolve()
        if src.is_relative_to(folder) or any(src.is_relative_to(a) for a in allowed):
            continue
        whose = "the current folder" if item.where.startswith("--set") else f"the profile's folder {folder}"
        problems.append(f"{item.where or profile.source}: media.add[{index}].src: {src} is outside {whose} "
                        "(a profile adds only files beside it; --allow-path DIR on the command line allows more)")
    if problems:
        raise ProfileError("\n".join(problems))


def profile_inputs(profile: Profile) -> list[tuple[str, Path]]:
    """(what it is, path) of every file PROFILE was read from or names to be read: no output
    may be one of them (kickgen.core.outputs)."""
    out = [("a profile file", Path(f)) for f in (profile.files or (profile.source,))]
    if profile.system.rootpw.file is not None:
        out.append(("the root password file (system.rootpw.file)", Path(profile.system.rootpw.file)))
    out += [("a media.add source", Path(m.src)) for m in profile.media.add]
    out += [("a media.embed path", Path(p)) for paths in profile.media.embed.values() for p in paths]
    return out


def list_profile_names() -> list[str]:
    """The names `load_profile` finds on the search path (cwd, $KICKGEN_PROFILE_PATH, shipped)."""
    return [found.name for found in list_profiles()]

