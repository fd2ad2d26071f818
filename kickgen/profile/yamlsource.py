"""Located YAML: profile files read into `Node`s that remember file:line:col (or `--set`).

Every problem is collected in a `Problems` list and reported together, one line each, as
`file:line:col: key.path: message` (or `--set key.path: message` for an override).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from kickgen.core.errors import ProfileError
from kickgen.profile.search import is_shipped


@dataclass(frozen=True)
class Mark:
    """Where a value came from: a file position, or a `--set key.path` override."""
    file: Path | None
    line: int = 0
    column: int = 0
    override: str | None = None

    def text(self) -> str:
        if self.override is not None:
            return f"--set {self.override}"
        return f"{display_path(self.file)}:{self.line}:{self.column}"

    @property
    def base_dir(self) -> Path:
        """Where a relative path set here resolves: beside the file that set it; for a `--set`
        override, and for a shipped profile (inside the installed package, where no user file
        can be), the current folder."""
        if self.file is None or is_shipped(self.file):
            return Path.cwd()
        return self.file.parent


@dataclass
class Node:
    """A YAML value with its position. Maps hold (key mark, value) pairs."""
    value: Any  # dict[str, tuple[Mark, Node]] | list[Node] | scalar
    mark: Mark


class Problems:
    """Every problem found, reported together (file order first, then `--set` overrides)."""

    def __init__(self) -> None:
        self.entries: list[tuple[tuple, str]] = []

    @property
    def lines(self) -> list[str]:
        return [text for _, text in sorted(self.entries, key=lambda e: e[0])]

    def add(self, mark: Mark, path: str, message: str) -> None:
        where = mark.text()
        if mark.override is not None and path == mark.override:
            text = f"{where}: {message}"
        elif path:
            text = f"{where}: {path}: {message}"
        else:
            text = f"{where}: {message}"
        order = (mark.override is not None, str(mark.file), mark.line, mark.column,
                 len(self.entries))
        self.entries.append((order, text))

    def drop(self, fragment: str) -> None:
        self.entries = [e for e in self.entries if fragment not in e[1]]

    def extend(self, other: Problems) -> None:
        self.entries.extend(other.entries)

    def raise_if_any(self, hint: str | None = None) -> None:
        if self.entries:
            raise ProfileError("\n".join(self.lines), hint=hint)


def display_path(path: Path | None) -> str:
    """Relative to the current folder when below it (as users type it), else absolute."""
    if path is None:
        return "<none>"
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return str(path)
    return str(path) if rel.startswith("..") else rel


def _mark(file: Path | None, ymark: yaml.Mark) -> Mark:
    return Mark(file, ymark.line + 1, ymark.column + 1)


_CONSTRUCTOR = yaml.constructor.SafeConstructor()


def node_from_yaml(node: yaml.Node, file: Path | None, problems: Problems,
                   override: str | None = None, index: int = 0) -> Node:
    """A composed YAML node -> a located Node tree (keys checked: no `<<`, no duplicates)."""
    # An override's mark keeps its place among the --set options (line) for error order.
    mark = (Mark(None, index, override=override) if override is not None
            else _mark(file, node.start_mark))
    if isinstance(node, yaml.MappingNode):
        items: dict[str, tuple[Mark, Node]] = {}
        for knode, vnode in node.value:
            kmark = (Mark(None, index, override=override) if override is not None
                     else _mark(file, knode.start_mark))
            if knode.tag == "tag:yaml.org,2002:merge":
                problems.add(kmark, "", "YAML merge keys (<<) are not supported: use extends:")
                continue
            if not isinstance(knode, yaml.ScalarNode):
                problems.add(kmark, "", "a key must be a plain word")
                continue
            k = str(knode.value)
            if k in items:
                problems.add(kmark, k, "duplicate key")
                continue
            items[k] = (kmark, node_from_yaml(vnode, file, problems, override, index))
        return Node(items, mark)
    if isinstance(node, yaml.SequenceNode):
        return Node([node_from_yaml(n, file, problems, override, index) for n in node.value], mark)
    try:
        return Node(_CONSTRUCTOR.construct_object(node, deep=True), mark)
    except yaml.YAMLError as exc:
        problems.add(mark, "", f"bad YAML value: {getattr(exc, 'problem', exc)}")
        return Node(None, mark)


def kind_of(value: Any) -> str:
    """What a YAML value is, as error messages say it ("a list", "null", ...)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def read_yaml_file(path: Path, problems: Problems) -> Node | None:
    """One profile file -> its located mapping, or None (the reason is added to PROBLEMS)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        problems.add(Mark(path, 1, 1), "", f"cannot read profile: {exc}")
        return None
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        ymark = exc.problem_mark or exc.context_mark
        mark = _mark(path, ymark) if ymark else Mark(path, 1, 1)
        what = exc.problem or exc.context or "syntax error"
        problems.add(mark, "", f"YAML syntax error: {what}")
        return None
    except yaml.YAMLError as exc:
        problems.add(Mark(path, 1, 1), "", f"YAML error: {exc}")
        return None
    if root is None:
        return Node({}, Mark(path, 1, 1))
    node = node_from_yaml(root, path, problems)
    if not isinstance(node.value, dict):
        problems.add(node.mark, "", f"a profile must be a mapping of keys, got {kind_of(node.value)}")
        return None
    return node
