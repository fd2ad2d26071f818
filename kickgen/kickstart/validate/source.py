"""Reads a kickstart the way EL6's parser does (pykickstart r1.74's state machine), %includes followed.

What EL6 does and this module copies (r1.74.14 `pykickstart/parser.py`, `_stateMachine`):
- outside scripts a command line is cut at its first '#', even inside quotes, then split
  with shlex (POSIX rules); a quote left open makes the parser fail;
- `%include` is followed wherever it stands, in a script or %packages too, and the included
  lines continue the section that is open; line numbers restart in each included file;
- a section ends at `%end`, at the next section header, or at the end of the file;
- any other `%word` outside a script, and `%end` outside a section, are fatal.

Included files are read only from the kickstart's folder and the --include-dir folders, never
from an absolute host path: a hostile `%include /etc/shadow` must not print the host's file.

A kickstart larger than MAX_KICKSTART_CHARS or MAX_KICKSTART_LINES (its included files counted)
is refused with a ValidationError before any check runs: the checks are linear, but a runaway
file (1.7 million package names) would still take minutes (docs/kickgen-validate.md, "Limits").
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from kickgen.core.errors import ValidationError
from kickgen.kickstart.validate.findings import Finding, Severity

SCRIPT_SECTIONS = ("%pre", "%post", "%traceback")
KNOWN_SECTIONS = (*SCRIPT_SECTIONS, "%packages")
# Words that end a script in EL6 (r1.74.14 parser.py ~586 and ~718)
_SCRIPT_TRANSITIONS = ("%end", "%post", "%pre", "%traceback", "%include", "%packages", "%ksappend")
MAX_INCLUDE_DEPTH = 16
# What kickgen validates at most: the kickstart with its included files (2 MiB, 100,000 lines, of
# which 10,000 commands; a real one has a few hundred lines), one line outside %pre/%post scripts
# (16 KiB: EL6 splits those with shlex, which takes quadratic time on a long word), and the lines
# of script given to shellcheck in one kickstart or checked as Python 2.6 in one script
# (shellcheck takes seconds and hundreds of MB per thousand lines; a longer script is reported
# as not checked, rule script-too-long).
MAX_KICKSTART_CHARS = 2 << 20
MAX_KICKSTART_LINES = 100_000
MAX_COMMANDS = 10_000
MAX_COMMAND_LINE_CHARS = 16 << 10
MAX_SCRIPT_LINES = 2_000


@dataclass(frozen=True)
class Line:
    file: str
    number: int
    text: str                    # without the line ending


@dataclass(frozen=True)
class Command:
    at: Line
    words: tuple[str, ...]       # shlex-split after EL6's comment cut

    @property
    def name(self) -> str:
        return self.words[0]

    @property
    def text(self) -> str:
        return self.at.text.strip()


@dataclass
class Section:
    name: str                    # %pre, %post, %traceback, %packages, or an unknown %word
    header: Line
    args: tuple[str, ...]
    body: list[Line] = field(default_factory=list)
    closed: bool = False         # ended by %end (not by another header or the end of a file)


@dataclass(frozen=True)
class Include:
    at: Line
    path: str                    # as written
    read_from: Path | None       # where kickgen read it, or None
    generated: bool              # a %pre writes it at install time (/tmp/...)


@dataclass
class Kickstart:
    """A kickstart read with its includes: what the checks look at."""

    commands: list[Command] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)
    includes: list[Include] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    last: Line | None = None     # the last line of the top file, for "missing" findings

    @property
    def unresolved_includes(self) -> list[Include]:
        return [inc for inc in self.includes if inc.read_from is None]


# A /tmp/ path as a shell script names it (quotes, separators and expansions end it)
_TMP_PATH = re.compile(r"/tmp/[^\s'\"`;|&<>(){}$]*")

# Up to 6.8 (r1.74.20) the parser cut a command line at its first '#' before splitting it;
# 6.9's r1.74.22 splits with shlex's own comments, which leave a quoted '#' alone.
LAST_RELEASE_CUTTING_AT_HASH = (6, 8)


def option(words: Iterable[str], name: str) -> str | None:
    """The value of option NAME in WORDS (`--name=value` or `--name value`), or None."""
    words = list(words)
    for index, word in enumerate(words):
        if word.startswith(name + "="):
            return word.split("=", 1)[1]
        if word == name and index + 1 < len(words):
            return words[index + 1]
    return None


def el6_words(text: str, cut_at_hash: bool = True) -> tuple[list[str] | None, int | None]:
    """EL6's split of a command line: cut at the first '#', then shlex. (words, cut column)."""
    if not cut_at_hash:
        try:
            return shlex.split(text, comments=True), None
        except ValueError:
            return None, None
    cut = text.find("#")
    head = text[:cut] if cut >= 0 else text
    try:
        return shlex.split(head.rstrip()), (cut + 1 if cut >= 0 else None)
    except ValueError:
        return None, (cut + 1 if cut >= 0 else None)


class _Reader:
    def __init__(self, include_dirs: tuple[Path, ...], cut_at_hash: bool):
        self.ks = Kickstart()
        self.include_dirs = include_dirs
        self.cut_at_hash = cut_at_hash
        self.section: Section | None = None
        self.pending: list[tuple[Line, str]] = []   # %include targets not found on this host
        self.reading: list[Path] = []   # the files being read, innermost last (Path() for text)
        self.pre_paths: set[str] | None = None    # the /tmp/ paths the %pre scripts name
        self.chars = 0                  # read so far, included files counted (the limits)
        self.lines = 0

    def finding(self, at: Line, severity: Severity, rule: str, message: str, column: int | None = None) -> None:
        self.ks.findings.append(Finding(severity, at.file, at.number, rule, message, column))

    # --- files ----------------------------------------------------------------------------------

    def read(self, text: str, name: str, path: Path | None) -> None:
        top = not self.ks.files
        first = self.ks.files[0] if self.ks.files else name
        self.chars += len(text)
        if self.chars > MAX_KICKSTART_CHARS:
            raise ValidationError(f"{first}: too large to validate: kickgen reads at most {MAX_KICKSTART_CHARS} "
                                  "characters (2 MiB), its %include files counted")
        lines = text.split("\n")
        if text.endswith("\n"):
            lines.pop()
        self.lines += len(lines)
        if self.lines > MAX_KICKSTART_LINES:
            raise ValidationError(f"{first}: too long to validate: kickgen reads at most {MAX_KICKSTART_LINES} "
                                  "lines, its %include files counted")
        self.reading.append(path.resolve() if path is not None else Path())
        self.ks.files.append(name)
        last = None
        carriage_returns = []
        # EL6 reads a file line by line at "\n" only (readline): no other character ends a line
        for number, raw in enumerate(lines, 1):
            if raw.endswith("\r"):
                carriage_returns.append(number)
                raw = raw[:-1]
            last = Line(name, number, raw)
            self.line(last)
        if carriage_returns:
            self.finding(Line(name, carriage_returns[0], ""), Severity.WARNING, "line-endings",
                         f"{len(carriage_returns)} lines end with CR LF (Windows): EL6 keeps the CR in "
                         "%pre/%post lines, and bash fails on them ('$'\\r': command not found')")
        self.reading.pop()
        if top:
            self.ks.last = last or Line(name, 1, "")

    def end(self) -> None:
        if self.section is not None:
            self.close(None)
        for at, target in self.pending:
            self.unresolved(at, target)

    def unresolved(self, at: Line, target: str) -> None:
        generated = self._written_by_pre(target)
        self.ks.includes.append(Include(at, target, None, generated))
        if generated:
            self.finding(at, Severity.NOTE, "include-generated",
                         f"%include {target}: written by a %pre at install time; not checked, "
                         "nor what it may supply")
        elif target.startswith(("http://", "https://", "ftp://")):
            self.finding(at, Severity.NOTE, "include-generated",
                         f"%include {target}: fetched by the installer over the network; not checked")
        else:
            hint = "no %pre writes it" if target.startswith("/tmp/") else \
                "give its folder with --include-dir to check it"
            self.finding(at, Severity.ERROR, "include-missing",
                         f"%include {target}: no such file ({hint}); the installer stops here")

    # --- the state machine ---------------------------------------------------------------------

    def line(self, at: Line) -> None:
        raw = at.text
        stripped = raw.strip()
        in_script = self.section is not None and self.section.name in SCRIPT_SECTIONS
        if not stripped or stripped.startswith("#"):
            if in_script:
                assert self.section is not None
                self.section.body.append(at)
            return
        if in_script:
            assert self.section is not None
            first = stripped.split()[0]
            if first not in _SCRIPT_TRANSITIONS:
                self.section.body.append(at)
                return
            self._check_length(at)
            try:                 # a header inside a script is split whole: no comment cut there
                words = shlex.split(raw)
            except ValueError:
                self.finding(at, Severity.ERROR, "unclosed-quote", f"a quote is left open in '{stripped}'")
                return
        else:
            self._check_length(at)
            split, cut = el6_words(raw, self.cut_at_hash)
            if split is None:
                where = f" (EL6 cut the line at the '#' in column {cut})" if cut else ""
                self.finding(at, Severity.ERROR, "unclosed-quote", f"a quote is left open{where}", cut)
                return
            words = split
            if cut is not None and raw[:cut - 1].strip():
                self._comment_cut(at, cut)
            if not words:
                return

        keyword = words[0]
        if keyword == "%include":
            self.include(at, words)
        elif keyword == "%ksappend":
            self.finding(at, Severity.NOTE, "include-generated",
                         "%ksappend is read by the installer before parsing: kickgen does not follow it")
        elif keyword == "%end":
            if self.section is None:
                self.finding(at, Severity.ERROR, "stray-end", "%end without an open section (EL6 stops here)")
            else:
                self.close(at)
        elif keyword.startswith("%"):
            if self.section is not None and self.section.name not in KNOWN_SECTIONS and \
                    keyword not in KNOWN_SECTIONS:
                return            # inside a section EL6 does not know: its lines mean nothing
            if self.section is not None:
                self.close(None, next_header=at)
            self.section = Section(keyword, at, tuple(words[1:]))
            if keyword not in KNOWN_SECTIONS:
                hint = " (an EL7+ section)" if keyword in ("%addon", "%anaconda", "%onerror",
                                                            "%pre-install") else ""
                self.finding(at, Severity.ERROR, "unknown-section",
                             f"EL6 has no {keyword} section{hint}: the installer stops here")
        elif self.section is not None and self.section.name == "%packages":
            self.section.body.append(at)
        elif self.section is not None and self.section.name not in KNOWN_SECTIONS:
            return
        else:
            self.ks.commands.append(Command(at, tuple(words)))
            if len(self.ks.commands) > MAX_COMMANDS:
                raise ValidationError(f"{at.file}:{at.number}: too many commands to validate: kickgen reads at "
                                      f"most {MAX_COMMANDS}, its %include files counted")

    def _check_length(self, at: Line) -> None:
        if len(at.text) > MAX_COMMAND_LINE_CHARS:
            raise ValidationError(f"{at.file}:{at.number}: a line of {len(at.text)} characters: outside scripts, "
                                  f"kickgen reads lines of at most {MAX_COMMAND_LINE_CHARS} (16 KiB)")

    def _comment_cut(self, at: Line, cut: int) -> None:
        """A '#' after text: EL6 drops the rest. Harmless when it starts a real comment."""
        before = at.text[:cut - 1]
        if before.endswith((" ", "\t")) and before.count('"') % 2 == 0 and before.count("'") % 2 == 0:
            return               # `command  # comment`
        self.finding(at, Severity.WARNING, "comment-cuts-line",
                     f"EL6 ends this line at the '#' in column {cut} and ignores "
                     f"'{at.text[cut - 1:].strip()[:40]}'", cut)

    def close(self, at: Line | None, next_header: Line | None = None) -> None:
        section = self.section
        assert section is not None
        section.closed = at is not None
        if at is None and section.name in KNOWN_SECTIONS:
            until = f"line {next_header.number}" if next_header else "the end of the file"
            self.finding(section.header, Severity.WARNING, "section-without-end",
                         f"{section.name} is not closed with %end before {until} "
                         "(deprecated in EL6, refused from EL7)")
        self.ks.sections.append(section)
        self.section = None

    # --- %include -----------------------------------------------------------------------------

    def include(self, at: Line, words: list[str]) -> None:
        if len(words) < 2 or not words[1]:
            self.finding(at, Severity.ERROR, "include-missing", "%include without a file name (EL6 stops here)")
            return
        target = words[1]
        reading = self.reading[-1]
        found = self._locate(target, reading.parent if reading != Path() else None)
        if found is not None and found.resolve() in self.reading:
            self.finding(at, Severity.ERROR, "include-loop", f"%include {target} includes a file being read")
            return
        if found is not None and len(self.reading) >= MAX_INCLUDE_DEPTH:
            self.finding(at, Severity.ERROR, "include-loop", f"%include {target}: more than "
                                                             f"{MAX_INCLUDE_DEPTH} levels of %include")
            return
        if found is None:
            self.pending.append((at, target))   # a %pre further down may write it
            return
        self.ks.includes.append(Include(at, target, found, False))
        try:
            text = read_bounded(found, errors="replace")
        except OSError as exc:
            self.finding(at, Severity.ERROR, "include-missing", f"%include {target}: cannot read it: {exc.strerror}")
            return
        self.read(text, _display(found), found)

    def _locate(self, target: str, base: Path | None) -> Path | None:
        relative = target.lstrip("/")
        if not relative or target.startswith(("http://", "https://", "ftp://")):
            return None
        candidates: list[tuple[Path, Path]] = []
        if base is not None and not target.startswith("/"):
            candidates.append((base, base / relative))
        for folder in self.include_dirs:
            candidates += [(folder, folder / relative), (folder, folder / Path(relative).name)]
        for root, candidate in candidates:
            try:
                resolved = candidate.resolve()
                if resolved.is_relative_to(root.resolve()) and resolved.is_file():
                    return candidate
            except OSError:
                continue
        return None

    def _written_by_pre(self, target: str) -> bool:
        """A %pre that names the file (the usual `... > /tmp/part-include`): anaconda runs every
        %pre before it reads the includes (anaconda 13.21 `kickstart.py` ~1427-1453)."""
        if not target.startswith("/tmp/"):
            return False
        if self.pre_paths is None:      # read once: a kickstart may have thousands of %includes
            self.pre_paths = {path for s in self.ks.sections if s.name == "%pre" for line in s.body
                              for path in _TMP_PATH.findall(line.text)}
        return target in self.pre_paths


def read_bounded(path: Path, errors: str = "strict") -> str:
    """PATH's text, read no further than the limit needs: a file of 4 * (MAX_KICKSTART_CHARS + 1)
    bytes has more characters than the limit (UTF-8 takes at most 4 bytes for one), so it is cut
    there, and then refused by the reader."""
    cap = 4 * (MAX_KICKSTART_CHARS + 1)
    with path.open("rb") as f:
        data = f.read(cap)
    return data.decode("utf-8", "replace" if len(data) == cap else errors)


def _display(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def read_kickstart(text: str, name: str, *, path: Path | None = None, include_dirs: tuple[Path, ...] = (),
                   release: tuple[int, ...] = (6, 5)) -> Kickstart:
    """Split TEXT (named NAME in findings; read from PATH, if any) into commands and sections,
    as RELEASE's parser does."""
    reader = _Reader(include_dirs, cut_at_hash=release <= LAST_RELEASE_CUTTING_AT_HASH)
    reader.read(text, name, path)
    reader.end()
    return reader.ks
