"""Typed conversion: a merged, located YAML tree -> the schema's frozen dataclasses.

Each value is checked against its field's type and string kind (`schema.KINDS`); every
problem is added to one `Problems` list with the key path and file:line:col where it was set.
Secret fields (`secret=True`) never have their value echoed.
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from kickgen.core.el6 import REPO_NAME, RESERVED_REPO_NAMES
from kickgen.profile.schema import (
    DERIVED_FIELDS,
    KINDS,
    FrozenMapping,
    MediaFile,
    Profile,
    RootPassword,
    join_key,
)
from kickgen.profile.yamlsource import MAX_LIST_ITEMS, UNREADABLE, Node, Problems, kind_of


class Converter:
    """Converts nodes to schema values, adding every problem found to PROBLEMS (and a
    placeholder value, so the walk goes on and all problems are reported together)."""

    def __init__(self, problems: Problems) -> None:
        self.problems = problems

    def convert(self, node: Node, tp: Any, path: str, meta: dict[str, Any]) -> Any:
        if node.value is UNREADABLE:        # reported where it was read
            return _placeholder(tp)
        origin = typing.get_origin(tp)
        args = typing.get_args(tp)
        if origin in (typing.Union, types.UnionType):
            if node.value is None and type(None) in args:
                return None
            inner = [a for a in args if a is not type(None)]
            return self.convert(node, inner[0], path, meta)
        if node.value is None:
            self.problems.add(node.mark, path, f"a value is required, got null ({_describe(tp)})")
            return _placeholder(tp)
        if isinstance(tp, type) and dataclasses.is_dataclass(tp):
            return self.dataclass(node, tp, path)
        if origin is Mapping:
            return self.mapping(node, args[1], path, meta)
        if origin is tuple:
            if not isinstance(node.value, list):
                self.problems.add(node.mark, path, f"expected a list, got {kind_of(node.value)}")
                return ()
            if len(node.value) > MAX_LIST_ITEMS:
                self.problems.add(node.mark, path, f"a list of {len(node.value)} items; at most {MAX_LIST_ITEMS}")
                return ()
            return tuple(self.convert(item, args[0], f"{path}[{i}]", meta)
                         for i, item in enumerate(node.value))
        if origin is Literal:
            if not isinstance(node.value, str) or node.value not in args:
                choices = ", ".join(args)
                shown = "" if meta.get("secret") else f" {node.value!r}"
                self.problems.add(node.mark, path, f"expected one of {choices}, got{shown}")
                return args[0]
            return node.value
        if tp is bool:
            if not isinstance(node.value, bool):
                self.problems.add(node.mark, path, f"expected true or false, got {kind_of(node.value)}")
                return False
            return node.value
        if tp is int:
            if not isinstance(node.value, int) or isinstance(node.value, bool):
                self.problems.add(node.mark, path, f"expected an integer, got {kind_of(node.value)}")
                return 0
            if node.value < 0:
                self.problems.add(node.mark, path, "expected a number >= 0")
            return node.value
        if tp in (str, Path):
            if not isinstance(node.value, str):
                hint = " (quote it)" if isinstance(node.value, (int, float, bool)) else ""
                self.problems.add(node.mark, path,
                                  f"expected a string, got {kind_of(node.value)}{hint}")
                return ""
            if not self.check_kind(node, path, meta):
                return _placeholder(tp)
            if tp is Path:
                try:
                    return (node.mark.base_dir / node.value).resolve()
                except (OSError, RuntimeError) as exc:     # RuntimeError: a symbolic link loop
                    self.problems.add(node.mark, path, f"cannot resolve the path: {exc}")
                    return _placeholder(tp)
            return node.value
        raise TypeError(f"unsupported schema type {tp!r} at {path}")

    def mapping(self, node: Node, value_tp: Any, path: str, meta: dict[str, Any]) -> FrozenMapping:
        """`media.embed`: names -> a list of paths (a single path counts as a list of one)."""
        if not isinstance(node.value, dict):
            self.problems.add(node.mark, path, f"expected a mapping of repo names, got "
                              f"{kind_of(node.value)}")
            return FrozenMapping()
        out: dict[str, Any] = {}
        for name, (kmark, sub) in node.value.items():
            where = join_key(path, name)
            if not REPO_NAME.fullmatch(name):
                self.problems.add(kmark, where, "a repo name is letters, digits and _ . - "
                                  "(it becomes a folder on the ISO and a yum repo id)")
                continue
            if name in RESERVED_REPO_NAMES:
                self.problems.add(kmark, where, f"{name!r} is reserved ("
                                  + ("the install media's own repository" if name == "base"
                                     else "used by kickgen") + "); choose another repo name")
                continue
            if isinstance(sub.value, str):
                sub = Node([sub], sub.mark)
            if not isinstance(sub.value, list):
                self.problems.add(sub.mark, where, "expected a folder or .rpm file (or a list of "
                                  f"them), got {kind_of(sub.value)}")
                continue
            if not sub.value:
                self.problems.add(sub.mark, where, "list at least one folder or .rpm file")
                continue
            out[name] = self.convert(sub, value_tp, where, meta)
        return FrozenMapping(out)

    def check_kind(self, node: Node, path: str, meta: dict[str, Any]) -> bool:
        """Whether NODE's string is of its field's kind (if not, the problem is added)."""
        kind = meta.get("kind") or "text"
        value: str = node.value
        pattern, description = KINDS[kind]
        if kind == "script":
            bad = [i for i, line in enumerate(value.split("\n"), 1) if line.lstrip().startswith("%")]
            if bad:
                self.problems.add(node.mark, path,
                                  f"line {bad[0]} of the script starts with '%', which would end "
                                  "the kickstart section")
                return False
        if pattern.fullmatch(value):
            return True
        if meta.get("secret"):
            self.problems.add(node.mark, path, f"expected {description} (value not shown)")
        else:
            self.problems.add(node.mark, path, f"expected {description}, got {_quote(value)}")
        return False

    def dataclass(self, node: Node, cls: type, path: str) -> Any:
        if not isinstance(node.value, dict):
            self.problems.add(node.mark, path, f"expected a mapping, got {kind_of(node.value)}")
            return _placeholder(cls)
        hints = typing.get_type_hints(cls)
        derived = DERIVED_FIELDS if cls is Profile else set()
        fields = {f.name: f for f in dataclasses.fields(cls)
                  if f.name not in derived and not f.metadata.get("internal")}
        for k, (kmark, _) in node.value.items():
            if k not in fields:
                close = difflib.get_close_matches(k, fields, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                self.problems.add(kmark, join_key(path, k), f"unknown key{hint}")
        values: dict[str, Any] = {}
        for name, f in fields.items():
            entry = node.value.get(name)
            if entry is not None:
                sub = entry[1]
                if sub.value is None and dataclasses.is_dataclass(hints[name]):
                    sub = Node({}, sub.mark)    # `network:` with every key commented out: its defaults
                values[name] = self.convert(sub, hints[name], join_key(path, name), dict(f.metadata))
            elif f.default is dataclasses.MISSING:
                self.problems.add(node.mark, join_key(path, name), "required key is missing")
                values[name] = _placeholder(hints[name])
        if cls is Profile:
            return values  # name and source are added by load_profile
        if cls is RootPassword:
            values["where"] = node.mark.text()
        if cls is MediaFile:
            values["where"] = node.mark.text()
            values["folder"] = node.value.get("src", (None, node))[1].mark.base_dir.resolve()
        obj = cls(**values)
        if cls is RootPassword:
            self.check_rootpw(node, obj, path)
        return obj

    def check_rootpw(self, node: Node, pw: RootPassword, path: str) -> None:
        given = [n for n in ("hash", "env", "file") if getattr(pw, n) is not None]
        if len(given) != 1:
            self.problems.add(node.mark, path, "give exactly one of hash, env, file")


def _quote(value: str) -> str:
    shown = value if len(value) <= 60 else value[:57] + "..."
    return repr(shown)


def _describe(tp: Any) -> str:
    if dataclasses.is_dataclass(tp):
        return "expected a mapping"
    if typing.get_origin(tp) is tuple:
        return "expected a list"
    if tp is bool:
        return "expected true or false"
    if tp is int:
        return "expected an integer"
    if typing.get_origin(tp) is Literal:
        return f"expected one of {', '.join(typing.get_args(tp))}"
    return "expected a string"


def _placeholder(tp: Any) -> Any:
    """A stand-in value so conversion can go on collecting problems."""
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        values = {}
        hints = typing.get_type_hints(tp)
        for f in dataclasses.fields(tp):
            if f.default is dataclasses.MISSING:
                values[f.name] = _placeholder(hints[f.name])
        return tp(**values)
    if typing.get_origin(tp) is tuple:
        return ()
    if typing.get_origin(tp) is Mapping:
        return FrozenMapping()
    if typing.get_origin(tp) is Literal:
        return typing.get_args(tp)[0]
    return {bool: False, int: 0, str: "", Path: Path(".")}.get(tp)

