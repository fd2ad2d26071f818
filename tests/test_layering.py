"""The package's layering, read from the source with `ast` (no import runs).

Layers (kickgen.<name>): core <- profile <- kickstart; core <- media; offline may use core,
profile, kickstart and media; vm may use core and profile; standin (a test tool) may use core,
offline and media; netboot may use core, profile, kickstart and media. Only pipeline, cli,
progress and __main__ join every stage. Every import counts, the lazy ones inside functions
too. And no two modules import each other, directly or round a longer loop (imports under
`if TYPE_CHECKING:` never run, so they make no cycle; they still obey the layers).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "kickgen"

# layer -> the layers it may import (itself always included)
ALLOWED: dict[str, frozenset[str]] = {
    "core": frozenset({"core"}),
    "profile": frozenset({"core", "profile"}),
    "kickstart": frozenset({"core", "profile", "kickstart"}),
    "media": frozenset({"core", "media"}),
    "offline": frozenset({"core", "profile", "kickstart", "media", "offline"}),
    "vm": frozenset({"core", "profile", "vm"}),
    "standin": frozenset({"core", "offline", "media", "standin"}),
    "serve": frozenset({"core", "profile", "media", "vm", "serve"}),     # vm: the report's verdict
    "netboot": frozenset({"core", "profile", "kickstart", "media", "netboot"}),
    "results": frozenset({"core", "results"}),                # the results database: plain records
    "report": frozenset({"core", "results", "report"}),       # the HTML page, read from results only
}
JOINERS = frozenset({"pipeline", "cli", "progress", "__main__"})
ROOT = "kickgen"     # kickgen/__init__.py: the version and a docstring; anyone may read it


@dataclass(frozen=True)
class Import:
    importer: str     # dotted module name
    target: str       # dotted module name it imports (a module of the package)
    line: int
    runtime: bool     # False under `if TYPE_CHECKING:`

    def __str__(self) -> str:
        return f"{self.importer} line {self.line}: imports {self.target}"


def modules_of(package: Path) -> dict[str, str]:
    """{dotted name: source} of every module under PACKAGE (a package's __init__ is the package)."""
    found = {}
    for path in sorted(package.rglob("*.py")):
        rel = path.relative_to(package.parent).with_suffix("")
        parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
        found[".".join(parts)] = path.read_text(encoding="utf-8")
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or \
        (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def imports_of(name: str, source: str, modules: set[str]) -> list[Import]:
    """The package modules NAME imports anywhere in SOURCE (top level, functions, try blocks)."""
    is_package = any(m.startswith(name + ".") for m in modules) or name == ROOT
    here = name if is_package else name.rpartition(".")[0]
    found: list[Import] = []

    def resolve(dotted: str) -> str | None:
        # the longest prefix that is a module of the package: `kickgen.vm.host.connect` -> kickgen.vm.host
        while dotted:
            if dotted in modules:
                return dotted
            dotted = dotted.rpartition(".")[0]
        return None

    def visit(node: ast.AST, runtime: bool) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.body:
                visit(child, False)
            for child in node.orelse:
                visit(child, runtime)
            return
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = here.split(".")
                anchor = anchor[:len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            # `from pkg import sub` imports the submodule pkg.sub when there is one
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                       for alias in node.names]
        for target in targets:
            resolved = resolve(target)
            if resolved is not None and resolved != name:
                found.append(Import(name, resolved, node.lineno, runtime))
        for child in ast.iter_child_nodes(node):
            visit(child, runtime)

    visit(ast.parse(source, filename=name), True)
    return found


def layer_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ROOT


def layer_violations(graph: list[Import]) -> list[str]:
    problems = []
    for imp in graph:
        mine, theirs = layer_of(imp.importer), layer_of(imp.target)
        if mine in JOINERS or theirs == ROOT and mine != ROOT:
            continue
        allowed = ALLOWED.get(mine)
        if allowed is None:
            problems.append(f"{imp}: {imp.importer} is in no layer (add it to ALLOWED or JOINERS)")
        elif theirs not in allowed:
            problems.append(f"{imp}: layer {mine} may import only {', '.join(sorted(allowed))}")
    return problems


def import_cycles(graph: list[Import]) -> list[list[str]]:
    """Strongly connected groups of more than one module over the run-time imports (Tarjan)."""
    edges: dict[str, set[str]] = {}
    for imp in graph:
        if imp.runtime:
            edges.setdefault(imp.importer, set()).add(imp.target)
            edges.setdefault(imp.target, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def strongconnect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(edges[node]):
            if nxt not in index:
                strongconnect(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(edges):
        if node not in index:
            strongconnect(node)
    return groups


def describe_cycle(group: list[str], graph: list[Import]) -> str:
    inside = sorted(str(imp) for imp in graph if imp.runtime and imp.importer in group and imp.target in group)
    return f"import cycle {' <-> '.join(group)}: " + "; ".join(inside)


def check(modules: dict[str, str]) -> list[str]:
    names = set(modules)
    graph = [imp for name, source in modules.items() for imp in imports_of(name, source, names)]
    return layer_violations(graph) + [describe_cycle(g, graph) for g in import_cycles(graph)]


# --- the package ---------------------------------------------------------------------------

def test_the_package_keeps_its_layers_and_has_no_import_cycles():
    modules = modules_of(PACKAGE)
    assert {"kickgen.core.errors", "kickgen.cli", "kickgen.vm.harness", "kickgen.standin.builder"} <= set(modules)
    problems = check(modules)
    assert problems == [], "\n".join(problems)


def test_every_module_is_in_a_layer():
    layers = {layer_of(m) for m in modules_of(PACKAGE)}
    assert layers <= set(ALLOWED) | JOINERS | {ROOT}, layers - set(ALLOWED) - JOINERS


def test_the_walk_sees_the_imports_the_package_really_has():
    """A guard on the checker: if it found no imports it would pass everything."""
    modules = modules_of(PACKAGE)
    graph = [imp for name, src in modules.items() for imp in imports_of(name, src, set(modules))]
    assert len(graph) > 50
    assert any(i.importer == "kickgen.cli" and i.target.startswith("kickgen.profile") for i in graph)  # lazy
    assert any(i.importer == "kickgen.vm.harness" and i.target == "kickgen.vm.host" for i in graph)


# --- the checker on made-up trees (each must fail) -------------------------------------------

def _tree(**sources: str) -> dict[str, str]:
    base = {"kickgen": "", "kickgen.core": "", "kickgen.core.errors": "", "kickgen.profile": "",
            "kickgen.profile.loader": "from kickgen.core.errors import X\n", "kickgen.media": "",
            "kickgen.media.iso": "import kickgen.core.errors\n", "kickgen.vm": "", "kickgen.vm.host": "",
            "kickgen.kickstart": "", "kickgen.kickstart.render": "", "kickgen.cli": "",
            "kickgen.offline": "", "kickgen.offline.check": "", "kickgen.standin": "",
            "kickgen.standin.builder": ""}
    base.update({name.replace("__", "."): src for name, src in sources.items()})
    return base


def test_a_clean_made_up_tree_passes():
    assert check(_tree(kickgen__cli="from kickgen.vm.host import boot\nfrom kickgen.media import iso\n")) == []


@pytest.mark.parametrize("importer, source, expected", [
    ("kickgen__core__errors", "from kickgen.vm.host import connect\n", "layer core may import only core"),
    ("kickgen__media__iso", "from kickgen.profile import loader\n", "layer media may import only core, media"),
    ("kickgen__profile__loader", "def f():\n    from kickgen.kickstart.render import r\n",
     "layer profile may import only core, profile"),                                  # lazy import
    ("kickgen__vm__host", "try:\n    import kickgen.media.iso as iso\nexcept ImportError:\n    pass\n",
     "layer vm may import only core, profile, vm"),
    ("kickgen__standin__builder", "from kickgen.vm import host\n", "layer standin may import only"),
    ("kickgen__kickstart__render", "from ..offline.check import c\n", "layer kickstart may import only"),
    ("kickgen__offline__check", "from kickgen import pipeline\n", "layer offline may import only"),
    ("kickgen__core__errors", "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
     "    from kickgen.vm.host import Conn\n", "layer core may import only core"),
])
def test_a_forbidden_import_is_named(importer, source, expected):
    problems = check(_tree(**{importer: source}, kickgen__pipeline=""))
    assert len(problems) == 1 and expected in problems[0], problems
    assert problems[0].startswith(importer.replace("__", ".") + " line "), problems


def test_a_module_outside_every_layer_is_named():
    problems = check(_tree(kickgen__extras="from kickgen.core import errors\n"))
    assert problems == ["kickgen.extras line 1: imports kickgen.core.errors: kickgen.extras is in no layer "
                        "(add it to ALLOWED or JOINERS)"]


def test_a_two_module_cycle_is_found_even_through_a_lazy_import():
    problems = check(_tree(kickgen__media__iso="from kickgen.media.blockcopy import copy\n",
                           kickgen__media__blockcopy="def f():\n    from kickgen.media import iso\n"))
    assert problems == ["import cycle kickgen.media.blockcopy <-> kickgen.media.iso: "
                        "kickgen.media.blockcopy line 2: imports kickgen.media.iso; "
                        "kickgen.media.iso line 1: imports kickgen.media.blockcopy"]


def test_a_longer_cycle_through_a_package_init_is_found():
    problems = check(_tree(kickgen__profile="from kickgen.profile.loader import load_profile\n",
                           kickgen__profile__loader="from kickgen.profile.schema import Profile\n",
                           kickgen__profile__schema="from kickgen.profile import load_profile\n"))
    assert len(problems) == 1 and problems[0].startswith(
        "import cycle kickgen.profile <-> kickgen.profile.loader <-> kickgen.profile.schema: "), problems


def test_type_checking_imports_make_no_cycle():
    assert check(_tree(kickgen__media__iso="from kickgen.media.blockcopy import copy\n",
                       kickgen__media__blockcopy="import typing\nif typing.TYPE_CHECKING:\n"
                                                 "    from kickgen.media.iso import Iso\n")) == []
