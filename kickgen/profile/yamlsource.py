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
        self.entries.append((order, _printable(text)))

    def drop(self, fragment: str) -> None:
        self.entries = [e for e in self.entries if fragment not in e[1]]

    def extend(self, other: Problems) -> None:
        self.entries.extend(other.entries)

    def raise_if_any(self, hint: str | None = None) -> None:
        if self.entries:
            raise ProfileError("\n".join(self.lines), hint=hint)


def _printable(text: str) -> str:
    """A key or value from a hostile profile must not reach the terminal raw (escape sequences,
    line breaks): what is not printable is shown escaped, as Python writes it."""
    return text if text.isprintable() else "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


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


# --- limits --------------------------------------------------------------------------------------
# A profile is a few kilobytes. These bound the work a careless or hostile one can cause (an
# alias bomb, a recursive alias, megabytes of list); docs/profile.md, "Limits", lists them.
MAX_PROFILE_BYTES = 1 << 20     # one profile file
MAX_DEPTH = 32                  # levels of maps and lists, aliases expanded
MAX_NODES = 20_000              # values (keys included) of one file or --set value, aliases expanded
MAX_TEXT_CHARS = 1 << 20        # characters of their text, aliases expanded
MAX_STRING_CHARS = 1 << 16      # one string
MAX_LIST_ITEMS = 10_000         # one list (checked after `key+:` appends too, by the conversion)


class LimitReached(yaml.MarkedYAMLError):
    """A limit stopped the reading: reported as is (not as a syntax error)."""


class _BoundedLoader(yaml.SafeLoader):
    """PyYAML's safe loader, stopped after MAX_NODES nodes or MAX_DEPTH levels while it composes:
    its composer recurses once per level (deeper input ends in a RecursionError), and each node
    costs tens of microseconds."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._nodes = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        self._nodes += 1
        self._depth += 1
        try:
            if self._nodes > MAX_NODES:
                raise LimitReached(problem=f"more than {MAX_NODES} values (the limit for a profile)",
                                    problem_mark=self.peek_event().start_mark)
            if self._depth > MAX_DEPTH:
                raise LimitReached(problem=f"more than {MAX_DEPTH} levels of nesting (the limit for a profile)",
                                    problem_mark=self.peek_event().start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def compose(text: str) -> yaml.Node | None:
    """TEXT's single YAML document as a node graph (aliases not expanded), within the limits."""
    loader = _BoundedLoader(text)
    try:
        return loader.get_single_node()
    finally:
        loader.dispose()


def yaml_error_text(exc: yaml.YAMLError) -> str:
    """One line saying what is wrong (a limit, a syntax error, a character YAML refuses)."""
    if isinstance(exc, LimitReached):
        return str(exc.problem)
    if isinstance(exc, yaml.reader.ReaderError):
        shown = repr(chr(exc.character)) if isinstance(exc.character, int) else repr(exc.character)
        return f"YAML syntax error: {exc.reason}: {shown}"
    if isinstance(exc, yaml.MarkedYAMLError):
        return f"YAML syntax error: {exc.problem or exc.context or 'syntax error'}"
    return f"YAML error: {' '.join(str(exc).split())}"


def yaml_error_mark(exc: yaml.YAMLError, text: str, file: Path | None) -> Mark | None:
    """Where EXC happened in TEXT, or None when YAML does not say."""
    if isinstance(exc, yaml.MarkedYAMLError):
        ymark = exc.problem_mark or exc.context_mark
        return _mark(file, ymark) if ymark else None
    if isinstance(exc, yaml.reader.ReaderError) and 0 <= exc.position <= len(text):
        line = text.count("\n", 0, exc.position) + 1
        return Mark(file, line, exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1)
    return None


class _Stop(Exception):
    def __init__(self, mark: Mark, message: str) -> None:
        super().__init__(message)
        self.mark = mark
        self.message = message


class _Expander:
    """A composed node graph -> a located Node tree, aliases expanded within the limits."""

    def __init__(self, file: Path | None, problems: Problems, override: str | None, index: int) -> None:
        self.file = file
        self.problems = problems
        self.override = override
        self.index = index
        self.nodes = 0
        self.chars = 0
        self.active: set[int] = set()      # the nodes being expanded: one seen again is a recursive alias
        # a fresh constructor each time: PyYAML's keeps every object it built
        self.constructor = yaml.constructor.SafeConstructor()

    def mark(self, ymark: yaml.Mark) -> Mark:
        # An override's mark keeps its place among the --set options (line) for error order.
        if self.override is not None:
            return Mark(None, self.index, override=self.override)
        return _mark(self.file, ymark)

    def node(self, node: yaml.Node, path: str, depth: int) -> Node:
        mark = self.mark(node.start_mark)
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise _Stop(mark, f"more than {MAX_NODES} values once its aliases are expanded (the limit for a profile)")
        if depth > MAX_DEPTH:
            raise _Stop(mark, f"more than {MAX_DEPTH} levels of nesting once its aliases are expanded "
                        "(the limit for a profile)")
        if id(node) in self.active:
            raise _Stop(mark, "a recursive alias: this value contains itself")
        if isinstance(node, yaml.MappingNode | yaml.SequenceNode):
            self.active.add(id(node))
            try:
                return self.collection(node, mark, path, depth)
            finally:
                self.active.discard(id(node))
        return self.scalar(node, mark, path)

    def collection(self, node: yaml.MappingNode | yaml.SequenceNode, mark: Mark, path: str, depth: int) -> Node:
        if isinstance(node, yaml.SequenceNode):
            return Node([self.node(n, f"{path}[{i}]", depth + 1) for i, n in enumerate(node.value)], mark)
        items: dict[str, tuple[Mark, Node]] = {}
        for knode, vnode in node.value:
            kmark = self.mark(knode.start_mark)
            self.nodes += 1
            if knode.tag == "tag:yaml.org,2002:merge":
                self.problems.add(kmark, "", "YAML merge keys (<<) are not supported: use extends:")
                continue
            if not isinstance(knode, yaml.ScalarNode):
                self.problems.add(kmark, "", "a key must be a plain word")
                continue
            k = str(knode.value)
            self.count_text(kmark, k)
            where = f"{path}.{k}" if path else k
            if k in items:
                self.problems.add(kmark, where, "duplicate key")
                continue
            items[k] = (kmark, self.node(vnode, where, depth + 1))
        return Node(items, mark)

    def scalar(self, node: yaml.Node, mark: Mark, path: str) -> Node:
        text = str(node.value)
        self.count_text(mark, text)
        if len(text) > MAX_STRING_CHARS:
            self.problems.add(mark, path, f"a string of {len(text)} characters; at most {MAX_STRING_CHARS}")
            return Node(UNREADABLE, mark)
        tag = str(node.tag).rsplit(":", 1)[-1]
        try:
            return Node(self.constructor.construct_object(node, deep=True), mark)
        except yaml.YAMLError as exc:
            self.problems.add(mark, path, f"bad YAML value: {getattr(exc, 'problem', None) or exc}")
        except (ValueError, ArithmeticError) as exc:     # a date like 2001-13-45, an int of 5000 digits
            self.problems.add(mark, path, f"bad YAML value {_short(text)} ({tag}): {str(exc).split(';')[0]}")
        except (LookupError, TypeError, AttributeError):  # `!!bool maybe`, `!!timestamp x`, `!!float ""`
            self.problems.add(mark, path, f"bad YAML value {_short(text)}: not a {tag}")
        return Node(UNREADABLE, mark)

    def count_text(self, mark: Mark, text: str) -> None:
        self.chars += len(text)
        if self.chars > MAX_TEXT_CHARS:
            raise _Stop(mark, f"more than {MAX_TEXT_CHARS} characters of text once its aliases are "
                        "expanded (the limit for a profile)")


class _Unreadable:
    """A value YAML could not construct: its problem is reported, the conversion skips it."""

    def __repr__(self) -> str:
        return "<unreadable>"


UNREADABLE = _Unreadable()


def _short(text: str) -> str:
    return repr(text if len(text) <= 40 else text[:37] + "...")


def node_from_yaml(node: yaml.Node, file: Path | None, problems: Problems,
                   override: str | None = None, index: int = 0) -> Node | None:
    """A composed YAML node -> a located Node tree (keys checked: no `<<`, no duplicates), or
    None when a limit stopped it (the reason is added to PROBLEMS). Key paths in messages start
    at OVERRIDE (a `--set` value) or at the top of the file."""
    expander = _Expander(file, problems, override, index)
    try:
        return expander.node(node, override or "", 0)
    except _Stop as stop:
        problems.add(stop.mark, "", stop.message)
        return None


def kind_of(value: Any) -> str:
    """What a YAML value is, as error messages say it ("a list", "null", ...)."""
    if value is None:
        return "null"
    if value is UNREADABLE:
        return "an unreadable value"
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
        with path.open("rb") as f:
            data = f.read(MAX_PROFILE_BYTES + 1)
        if len(data) > MAX_PROFILE_BYTES:
            problems.add(Mark(path, 1, 1), "", f"the file is larger than {MAX_PROFILE_BYTES} bytes (1 MiB), "
                         "the limit for a profile")
            return None
        text = data.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        problems.add(Mark(path, 1, 1), "", f"cannot read profile: {exc}")
        return None
    try:
        root = compose(text)
    except yaml.YAMLError as exc:
        problems.add(yaml_error_mark(exc, text, path) or Mark(path, 1, 1), "", yaml_error_text(exc))
        return None
    if root is None:
        return Node({}, Mark(path, 1, 1))
    node = node_from_yaml(root, path, problems)
    if node is None:
        return None
    if not isinstance(node.value, dict):
        problems.add(node.mark, "", f"a profile must be a mapping of keys, got {kind_of(node.value)}")
        return None
    return node
