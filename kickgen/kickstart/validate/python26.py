"""Syntax check of a %pre/%post script body meant for EL6's system python, 2.6.

The host python cannot compile Python 2, so the body is parsed with fissix (the maintained
lib2to3 fork) and its Python 2 grammar (print and exec statements). That grammar also takes most
Python 2.7 and 3 syntax, so the parse tree is then searched for what 2.6 refuses: set literals,
dict and set comprehensions, several context managers in one `with`, and Python 3 syntax
(f-strings, annotations, keyword-only arguments, starred expressions, `yield from`, ...).
"""

from __future__ import annotations

import ast
import codecs
import functools
import io
import itertools
import re
import string
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import fissix
from fissix import pytree
from fissix.pgen2 import driver, grammar, parse, pgen, token, tokenize

# (1-based line within the script, 1-based column or None, message)
Problem = tuple[int, int | None, str]

REFUSED = "python 2.6 refuses it"

# What `from __future__ import` knows in 2.6; anything else is a SyntaxError there.
FUTURE_FEATURES_26 = frozenset({
    "nested_scopes", "generators", "division", "absolute_import", "with_statement",
    "print_function", "unicode_literals",
})
# String prefixes 2.6 reads (case-insensitive): no f-strings, no `rb`.
STRING_PREFIXES_26 = frozenset({"", "u", "r", "b", "ur", "br"})
# PEP 263, as python 2 matches it on the first two lines.
CODING_COOKIE = re.compile(r"^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)")


@functools.cache
def _grammars() -> tuple[grammar.Grammar, grammar.Grammar]:
    """(print-statement grammar, print-function grammar), built from fissix's Grammar.txt.

    Built here rather than through fissix.pygram, which pickles the tables into the user's
    cache directory on import; building them takes milliseconds.
    """
    with_print = pgen.generate_grammar(str(Path(fissix.__file__).with_name("Grammar.txt")))
    # `nonlocal` is an ordinary name in python 2
    del with_print.keywords["nonlocal"]
    no_print = with_print.copy()
    del no_print.keywords["print"]
    return with_print, no_print


def check_python26(source: str) -> list[Problem]:
    """What python 2.6 would refuse to compile in `source`, in line order; empty when it compiles."""
    source = source.replace("\r\n", "\n").replace("\r", "\n")
    if not source.endswith("\n"):
        source += "\n"
    if source.startswith("\ufeff"):  # a UTF-8 byte order mark declares the coding too
        problems: list[Problem] = []
        source = source[1:]
    else:
        problems = _encoding_problems(source)
    features = _leading_future_features(source)
    with_print, no_print = _grammars()
    parser_grammar = no_print if "print_function" in features else with_print
    try:
        tree = driver.Driver(parser_grammar, convert=pytree.convert).parse_string(source)
    except parse.ParseError as error:
        problems.append(_parse_error(error, source))
    except tokenize.TokenError as error:
        message, (line, column) = error.args
        problems.append((line, column + 1, _token_error_message(message)))
    except SyntaxError as error:  # IndentationError from the tokenizer
        problems.append((error.lineno or 1, (error.offset or 0) + 1, error.msg))
    else:
        problems.extend(_TreeCheck(parser_grammar).run(tree))
    return sorted(set(problems), key=lambda p: (p[0], p[1] or 0, p[2]))


def _encoding_problems(source: str) -> list[Problem]:
    """Non-ASCII text needs a coding declaration in python 2 (PEP 263), or the file is refused."""
    for number, text in enumerate(source.splitlines()[:2], start=1):
        cookie = CODING_COOKIE.match(text)
        if cookie:
            try:
                codecs.lookup(cookie.group(1))
            except LookupError:
                return [(number, None, f"unknown encoding {cookie.group(1)!r} in the coding declaration")]
            return []
    for number, text in enumerate(source.splitlines(), start=1):
        for column, char in enumerate(text, start=1):
            if ord(char) > 127:
                return [(number, column, f"non-ASCII character U+{ord(char):04X} and no coding declaration: "
                         f"{REFUSED} (add '# -*- coding: utf-8 -*-' as line 1 or 2)")]
    return []


def _leading_future_features(source: str) -> set[str]:
    """Names imported from __future__ at the top of the script, where python reads them.

    Read from tokens, before parsing, because they choose the grammar (print statement or function).
    """
    features: set[str] = set()
    tokens = (t[:2] for t in tokenize.generate_tokens(io.StringIO(source).readline)
              if t[0] not in (tokenize.NL, tokenize.COMMENT))
    try:
        kind, value = next(tokens)
        if kind == tokenize.STRING:  # a docstring
            while kind != tokenize.NEWLINE:
                kind, value = next(tokens)
            kind, value = next(tokens)
        while value == "from":
            if [value for _, value in itertools.islice(tokens, 2)] != ["__future__", "import"]:
                break
            previous = "import"
            kind, value = next(tokens)
            while kind not in (tokenize.NEWLINE, tokenize.ENDMARKER) and value != ";":
                if kind == tokenize.NAME and "as" not in (value, previous):  # `as alias` names no feature
                    features.add(value)
                previous = value
                kind, value = next(tokens)
            kind, value = next(tokens)
    except (StopIteration, tokenize.TokenError, SyntaxError):
        pass
    return features


def _token_error_message(message: str) -> str:
    return {
        "EOF in multi-line string": "unterminated triple-quoted string",
        "EOF in multi-line statement": "unexpected end of script: unclosed bracket or line continuation",
    }.get(message, message)


def _parse_error(error: parse.ParseError, source: str) -> Problem:
    """The parser's complaint in python's words, where they are easy to tell apart."""
    _, (line, column) = error.context
    lines = source.splitlines()
    text = lines[line - 1] if 0 < line <= len(lines) else ""
    if error.type == token.INDENT:
        message = "unexpected indent"
    elif error.type == token.ENDMARKER or error.msg == "incomplete input":
        message = "unexpected end of script"
    elif error.type == token.ERRORTOKEN:
        # the tokenizer gives up one character at a time: a lone quote opens an unterminated string
        rest = text[column:].lstrip()
        column += len(text) - column - len(rest)
        quote = re.match(r"[uUbBrRfF]{0,2}['\"]", rest)
        message = "unterminated string literal" if quote else f"invalid character {rest[:1]!r}"
    elif _opens_block_before(source, (line, column)):
        message = "expected an indented block"
    else:
        message = f"invalid syntax at {error.value.strip() or tokenize.tok_name.get(error.type, '?')!r}"
    if re.search(r"\bprint\s*\(.*\b(end|sep|file)\s*=", text):
        message += ": print() with keyword arguments needs 'from __future__ import print_function' in python 2"
    elif re.match(r"\s*nonlocal\b", text):
        message += ": 'nonlocal' is Python 3"
    return line, column + 1, message


def _opens_block_before(source: str, position: tuple[int, int]) -> bool:
    """Whether the tokens before `position` end in `:` NEWLINE, so an indented block should come next."""
    last: list[str] = []
    for kind, value, start, _, _ in tokenize.generate_tokens(io.StringIO(source).readline):
        if start >= position:
            break
        if kind not in (tokenize.NL, tokenize.COMMENT):
            last = [*last[-1:], "NEWLINE" if kind == tokenize.NEWLINE else value]
    return last == [":", "NEWLINE"]


@dataclass
class _TreeCheck:
    """One walk over a parse tree, collecting the syntax python 2.6 refuses."""

    parser_grammar: grammar.Grammar

    def run(self, tree: pytree.Base) -> list[Problem]:
        self.problems: list[Problem] = []
        self._future_imports(tree)
        for node in tree.pre_order():
            if isinstance(node, pytree.Leaf):
                self._leaf(node)
            else:
                check = getattr(self, "_on_" + self.parser_grammar.number2symbol[node.type], None)
                if check is not None:
                    check(node)
        return self.problems

    def _add(self, node: pytree.Base, message: str) -> None:
        first = node if isinstance(node, pytree.Leaf) else next(node.leaves())
        self.problems.append((first.lineno, first.column + 1, message))

    def _newer(self, node: pytree.Base, what: str, version: str = "Python 3") -> None:
        """Syntax that came with a later python."""
        self._add(node, f"{what} is {version} syntax: {REFUSED}")

    def _refused(self, node: pytree.Base, what: str) -> None:
        self._add(node, f"{what}: {REFUSED}")

    def _symbol(self, node: pytree.Base | None) -> str | None:
        if node is None or isinstance(node, pytree.Leaf):
            return None
        return self.parser_grammar.number2symbol[node.type]

    # -- leaves -------------------------------------------------------------------------------------------

    def _leaf(self, leaf: pytree.Leaf) -> None:
        if leaf.type == token.STRING:
            prefix = leaf.value[:len(leaf.value) - len(leaf.value.lstrip("uUrRbBfF"))].lower()
            if "f" in prefix:
                self._newer(leaf, "an f-string", "Python 3.6")
            elif prefix not in STRING_PREFIXES_26:
                self._newer(leaf, f"the string prefix {prefix!r}")
        elif leaf.type == token.NUMBER and "_" in leaf.value:
            self._newer(leaf, "an underscore in a number", "Python 3.6")
        elif leaf.type == token.NAME and not leaf.value.isascii():
            self._refused(leaf, f"the non-ASCII name {leaf.value!r} (python 2 names are ASCII)")
        elif leaf.type in (token.ASYNC, token.AWAIT):
            self._newer(leaf, f"'{leaf.value}'", "Python 3.5")
        elif leaf.type == token.ATEQUAL or (leaf.type == token.AT and self._symbol(leaf.parent) == "term"):
            self._newer(leaf, "the '@' operator", "Python 3.5")
        elif leaf.type == token.COLONEQUAL:
            self._newer(leaf, "an assignment expression ':='", "Python 3.8")

    # -- nodes, by grammar symbol (fissix's Grammar.txt) --------------------------------------------------

    def _on_atom(self, node: pytree.Node) -> None:
        kids = node.children
        if len(kids) == 3 and all(k.type == token.DOT for k in kids):
            if self._symbol(node.parent) not in ("trailer", "subscriptlist"):
                self._newer(node, "'...' outside a subscript")
            return
        if len(kids) != 3 or kids[0].type != token.LBRACE:
            return
        inside = kids[1]
        if self._symbol(inside) != "dictsetmaker":  # one item: `{x}`
            if self._symbol(inside) != "star_expr":  # `{*x}` is reported as a starred expression
                self._newer(node, "a set literal", "Python 2.7")
            return
        parts = inside.children
        is_dict = parts[0].type == token.DOUBLESTAR or parts[1].type == token.COLON
        if any(self._symbol(p) == "comp_for" for p in parts):
            self._newer(node, "a dict comprehension" if is_dict else "a set comprehension", "Python 2.7")
        elif not is_dict:
            self._newer(node, "a set literal", "Python 2.7")
        for part in parts:
            if part.type == token.DOUBLESTAR:
                self._newer(part, "'**' in a dict display", "Python 3.5")

    def _on_comp_for(self, node: pytree.Node) -> None:
        """`for x in a, b`: lib2to3 takes the bare tuple in every comprehension, 2.6 only in list ones."""
        in_keyword = next(k for k in node.children if isinstance(k, pytree.Leaf) and k.value == "in")
        iterable = in_keyword.next_sibling
        if self._symbol(iterable) != "testlist_safe":
            return
        container = node.parent
        while self._symbol(container) in ("comp_for", "comp_if"):
            container = container.parent
        if self._symbol(container) == "argument":  # f(x for x in a, b): the tuple is really more arguments
            self._refused(container, "a generator expression beside other arguments without its own parentheses")
        elif self._symbol(container) != "listmaker":
            self._refused(iterable, "a bare tuple after 'in' in a generator expression or comprehension")

    def _on_with_stmt(self, node: pytree.Node) -> None:
        if any(k.type == token.COMMA for k in node.children):
            self._newer(node, "a 'with' of several context managers (nest them instead)", "Python 2.7")

    def _on_star_expr(self, node: pytree.Node) -> None:
        self._newer(node, "a starred expression")

    def _on_annassign(self, node: pytree.Node) -> None:
        self._newer(node, "a variable annotation", "Python 3.6")

    def _on_tname(self, node: pytree.Node) -> None:
        self._newer(node, "an argument annotation")

    def _on_funcdef(self, node: pytree.Node) -> None:
        for kid in node.children:
            if kid.type == token.RARROW:
                self._newer(kid, "a return annotation")

    def _on_raise_stmt(self, node: pytree.Node) -> None:
        for kid in node.children:
            if isinstance(kid, pytree.Leaf) and kid.value == "from":
                self._newer(kid, "'raise ... from'")

    def _on_yield_arg(self, node: pytree.Node) -> None:
        if isinstance(node.children[0], pytree.Leaf) and node.children[0].value == "from":
            self._newer(node, "'yield from'", "Python 3.3")

    def _on_typedargslist(self, node: pytree.Node) -> None:
        self._check_parameters(node.children)

    def _on_varargslist(self, node: pytree.Node) -> None:
        self._check_parameters(node.children)

    def _check_parameters(self, kids: list[pytree.Base]) -> None:
        """def and lambda parameters: 2.6 takes `a, b=1, *args, **kwargs`, and no comma after either star."""
        groups = _split_on_commas(kids)
        trailing_comma = kids[-1] if kids[-1].type == token.COMMA else None
        seen_default = False
        for index, group in enumerate(groups):
            head, rest = group[0], groups[index + 1:]
            if head.type == token.STAR:
                if len(group) == 1:
                    self._newer(head, "a bare '*' (keyword-only parameters)")
                elif rest and rest[0][0].type != token.DOUBLESTAR:
                    self._newer(rest[0][0], "a parameter after *args (keyword-only parameters)")
                elif trailing_comma is not None:
                    self._refused(trailing_comma, f"a comma after {'**kwargs' if rest else '*args'}")
                return
            if head.type == token.DOUBLESTAR:
                if trailing_comma is not None:
                    self._refused(trailing_comma, "a comma after **kwargs")
                return
            if len(group) > 1:  # name = default
                seen_default = True
            elif seen_default:
                self._refused(head, "a parameter without a default after one with a default")

    def _on_classdef(self, node: pytree.Node) -> None:
        kids = node.children
        if len(kids) > 4 and kids[2].type == token.LPAR and kids[3].type != token.RPAR:
            bases = kids[3].children if self._symbol(kids[3]) == "arglist" else [kids[3]]
            for base in bases:
                if self._symbol(base) == "argument":
                    self._newer(base, "a keyword or unpacked argument among class bases")

    def _on_trailer(self, node: pytree.Node) -> None:
        kids = node.children
        if len(kids) == 3 and kids[0].type == token.LPAR:
            self._check_arguments(kids[1].children if self._symbol(kids[1]) == "arglist" else [kids[1]])

    def _check_arguments(self, kids: list[pytree.Base]) -> None:
        """Call arguments: 2.6 takes positional, keyword, *args, keyword, **kwargs, in that order."""
        arguments = [k for k in kids if k.type != token.COMMA]
        stage = "positional"  # then "keyword", "star", "doublestar"
        for argument in arguments:
            kind = self._argument_kind(argument)
            if kind == "generator" and len(arguments) > 1:
                self._refused(argument, "a generator expression beside other arguments without parentheses")
            elif stage == "doublestar":
                self._refused(argument, "an argument after **kwargs")
            elif kind == "star" and stage == "star":
                self._newer(argument, "a second *args", "Python 3.5")
            elif kind in ("positional", "generator") and stage != "positional":
                self._refused(argument, f"a positional argument after {'*args' if stage == 'star' else 'a keyword'}")
            if kind in ("star", "doublestar") or (kind == "keyword" and stage == "positional"):
                stage = kind
        last = self._argument_kind(arguments[-1])
        if kids[-1].type == token.COMMA and last in ("star", "doublestar"):
            self._refused(kids[-1], f"a comma after {'*args' if last == 'star' else '**kwargs'}")

    def _argument_kind(self, argument: pytree.Base) -> str:
        if self._symbol(argument) != "argument":
            return "positional"
        first, second = argument.children[:2]
        if first.type in (token.STAR, token.DOUBLESTAR):
            return "star" if first.type == token.STAR else "doublestar"
        if second.type == token.EQUAL:
            return "keyword"
        if self._symbol(second) == "comp_for":
            return "generator"
        return "positional"  # `x := y`, reported on its ':=' leaf

    def _on_power(self, node: pytree.Node) -> None:
        """'{}'.format(...) fails in 2.6 (no automatic field numbering): a run-time ValueError, not syntax."""
        kids = node.children
        if len(kids) < 3 or not _is_attribute(kids[1], "format") or self._symbol(kids[2]) != "trailer":
            return
        strings = kids[0].children if self._symbol(kids[0]) == "atom" else [kids[0]]
        if any(s.type != token.STRING for s in strings):
            return
        try:
            text = "".join(str(ast.literal_eval(_python3_literal(s.value))) for s in strings)
            fields = [field for _, field, _, _ in string.Formatter().parse(text) if field is not None]
        except (ValueError, SyntaxError):
            return
        if any(field == "" or field.startswith(("[", ".")) for field in fields):
            self._add(kids[0], "'{}' in a format string: python 2.6 needs numbered fields like '{0}' "
                               "and raises ValueError at run time")

    def _future_imports(self, tree: pytree.Base) -> None:
        """`from __future__` only at the top, and only with the features 2.6 has."""
        at_top = True
        for position, statement in enumerate(_top_level_statements(tree, self.parser_grammar)):
            if self._symbol(statement) == "import_from" and statement.children[1].value == "__future__":
                if not at_top:
                    self._add(statement, "from __future__ imports must occur at the beginning of the script")
                for name in _imported_names(statement, self.parser_grammar):
                    if name.value not in FUTURE_FEATURES_26:
                        self._add(name, f"future feature {name.value!r} is not defined in python 2.6")
            elif not (position == 0 and statement.type == token.STRING):  # a docstring may come first
                at_top = False


def _split_on_commas(kids: list[pytree.Base]) -> list[list[pytree.Base]]:
    groups: list[list[pytree.Base]] = [[]]
    for kid in kids:
        if kid.type == token.COMMA:
            groups.append([])
        else:
            groups[-1].append(kid)
    return [group for group in groups if group]


def _is_attribute(node: pytree.Base, name: str) -> bool:
    """Whether `node` is the trailer `.name`."""
    kids = node.children
    return len(kids) == 2 and kids[0].type == token.DOT and kids[1].value == name


def _python3_literal(literal: str) -> str:
    """A python 2 string literal that python 3's literal_eval reads (`ur''` is gone)."""
    return "r" + literal[2:] if literal[:2].lower() == "ur" else literal


def _top_level_statements(tree: pytree.Base, parser_grammar: grammar.Grammar) -> Iterator[pytree.Base]:
    """Top-level statements in order: compound statements whole, `a; b` split."""
    for statement in tree.children:
        if isinstance(statement, pytree.Leaf):
            if statement.type not in (token.NEWLINE, token.ENDMARKER):
                yield statement
        elif parser_grammar.number2symbol[statement.type] == "simple_stmt":
            yield from (k for k in statement.children if k.type not in (token.SEMI, token.NEWLINE))
        else:
            yield statement


def _imported_names(node: pytree.Base, parser_grammar: grammar.Grammar) -> Iterator[pytree.Leaf]:
    """The names after `import` in `from X import a, b as c`, or in parentheses: a, b."""
    for name in node.children[3:]:
        symbol = None if isinstance(name, pytree.Leaf) else parser_grammar.number2symbol[name.type]
        for item in name.children if symbol == "import_as_names" else [name]:
            if isinstance(item, pytree.Leaf):
                if item.type == token.NAME:
                    yield item
            elif isinstance(item.children[0], pytree.Leaf):
                yield item.children[0]  # import_as_name: NAME 'as' NAME
