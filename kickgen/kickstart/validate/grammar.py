"""EL6's kickstart grammar per minor release, and the check of each command and section header.

`el6-grammar.json` was read off EL6's own parser: pykickstart's RHEL6 handler at the r1.74.*
tag each release shipped (its `about` field and docs/kickgen-validate.md say how). Option
handling copies what that parser does with Python's optparse: `--opt=value` or `--opt value`,
a unique prefix of a long option accepted, options and arguments in any order, `--` ends options.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from functools import cache
from importlib.resources import files
from typing import Any

from kickgen.core.errors import UsageError
from kickgen.kickstart.validate.findings import Finding, Severity
from kickgen.kickstart.validate.source import Command, Line, Section

DEFAULT_RELEASE = "6.5"
# Options that change the number of arguments a command takes: the table's counts were probed
# without options. Probed with r1.74.14: `key --skip` takes none; `raid / --useexisting
# --device=md0` and `volgroup vg --noformat` take no members ("Members may not be specified for
# preexisting ..."); `rootpw --lock` alone is refused ("A single argument is expected").
_ARGUMENTS_WITH = {"key": ({"--skip"}, (0, 1)), "raid": ({"--useexisting", "--noformat"}, (1, 1)),
                   "volgroup": ({"--useexisting", "--noformat"}, (1, 1))}
# Checks between a line's options that the commands' parse() make (probed with r1.74.14;
# "ARG" stands for a positional argument): exactly one of a set, or one option needing another.
_EXACTLY_ONE = {"ignoredisk": ("--drives", "--only-use", "--interactive"),
                "driverdisk": ("ARG", "--source", "--biospart"),
                "harddrive": ("--partition", "--biospart"),
                "repo": ("--baseurl", "--mirrorlist")}
_AT_LEAST_ONE = {"services": ("--disabled", "--enabled")}
# Accepted together, but one cancels the other: the parser keeps the last (a warning).
_ONE_WINS = {"clearpart": ("--all", "--linux", "--none"), "firewall": ("--enable", "--disable")}
_MEANINGLESS_WHEN_DISABLED = ("--service", "--port", "--trust", "--ssh", "--http", "--ftp", "--smtp", "--telnet")
_NEEDS = {"logging": ("--port", "--host")}
# raid without --level: "RAID Partition defined without RAID level" from 6.3 (r1.74.10) on,
# unless the array exists already
_RAID_LEVEL_REQUIRED_FROM = "6.3"
# anaconda 13.21 replaces some of the parser's command classes (kickstart.py): zerombr is based on
# FC3_ZeroMbr, which ignores arguments with a deprecation warning where ksvalidator's F9_ZeroMbr
# refuses them; multipath and dmraid raise "not currently supported" (~795-801).
_INSTALLER_IGNORES_ARGUMENTS = {"zerombr"}
_INSTALLER_REFUSES = {"multipath", "dmraid"}
_BOOLEAN = {"on", "yes", "true", "1", "off", "no", "false", "0"}


@cache
def release_key(release: str) -> tuple[int, ...]:
    return tuple(int(part) for part in release.split("."))


@dataclass(frozen=True)
class OptionSpec:
    name: str
    canonical: str
    value: bool
    type: str | None
    choices: tuple[str, ...] | None
    since: str
    until: str | None
    deprecated_since: str | None
    required: bool
    varies: tuple[tuple[str, str, object], ...] = ()   # (field, since release, value), oldest first

    def at(self, release: str) -> OptionSpec:
        """This option as RELEASE's parser has it (a few changed: deprecated options took no
        value before 6.4, network --bootproto gained ibft in 6.1)."""
        changes: dict[str, Any] = {}
        for field_name, since, value in self.varies:
            if release_key(since) <= release_key(release):
                changes[field_name] = tuple(value) if isinstance(value, list) else value
        return replace(self, **changes) if changes else self


@dataclass(frozen=True)
class CommandSpec:
    name: str
    cls: str                      # commands sharing a class are spellings of one setting
    multiple: bool                # may be given many times (part, network, repo, ...)
    since: str
    until: str | None
    deprecated_since: str | None
    args: tuple[int, int | None] | None
    options: dict[str, OptionSpec]
    options_checked: bool         # False: the command takes its words as they are (auth)
    args_since: dict[str, tuple[int, int | None]]   # release -> argument counts from then on

    def args_in(self, release: str) -> tuple[int, int | None] | None:
        counts = self.args
        for since, value in sorted(self.args_since.items(), key=lambda item: release_key(item[0])):
            if release_key(since) <= release_key(release):
                counts = value
        return counts


def _in(release: str, since: str, until: str | None) -> bool:
    key = release_key(release)
    return release_key(since) <= key and (until is None or key <= release_key(until))


def _options(data: dict) -> dict[str, OptionSpec]:
    out = {}
    for name, spec in data.items():
        out[name] = OptionSpec(
            name=name, canonical=spec.get("canonical") or name, value=bool(spec.get("value")),
            type=spec.get("type"), choices=tuple(spec["choices"]) if spec.get("choices") else None,
            since=spec.get("since") or "6.0", until=spec.get("until"),
            deprecated_since=spec.get("deprecated_since"), required=bool(spec.get("required")),
            varies=tuple(sorted(((field_name, since, value) for field_name, by_release in spec.get("varies", {}).items()
                                 for since, value in by_release.items()), key=lambda v: release_key(v[1]))))
    return out


@dataclass(frozen=True)
class _Data:
    releases: dict[str, str]      # release -> pykickstart tag
    commands: dict[str, CommandSpec]
    sections: dict[str, dict[str, OptionSpec]]
    section_since: dict[str, str]
    section_refused: dict[str, dict[str, str]]    # options the parser knows and refuses -> why


@cache
def _data() -> _Data:
    raw = json.loads(files("kickgen.kickstart.validate").joinpath("el6-grammar.json").read_text())
    commands = {}
    for name, spec in raw["commands"].items():
        args = spec.get("args")
        commands[name] = CommandSpec(
            name=name, cls=spec.get("class") or name, multiple=bool(spec.get("multiple")),
            since=spec.get("since") or "6.0", until=spec.get("until"),
            deprecated_since=spec.get("deprecated_since"),
            args=(args[0], args[1]) if args else None, options=_options(spec.get("options", {})),
            options_checked=not spec.get("options_unchecked"),
            args_since={since: (v[0], v[1]) for since, v in spec.get("varies", {}).get("args", {}).items() if v})
    sections = {name: _options(spec.get("options", {})) for name, spec in raw["sections"].items()}
    since = {name: spec.get("since") or "6.0" for name, spec in raw["sections"].items()}
    refused = {name: {option: _last_line(why.get("message", "")) for option, why in
                      spec.get("refused_options", {}).items()} for name, spec in raw["sections"].items()}
    return _Data(dict(raw["releases"]), commands, sections, since, refused)


def _last_line(message: str) -> str:
    """The parser's message without its 'problem occurred on line N' preamble."""
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    return lines[-1].split(": ", 1)[-1] if lines else "refused"


def releases() -> list[str]:
    return sorted(_data().releases, key=release_key)


def check_release(release: str) -> str:
    if release not in _data().releases:
        raise UsageError(f"--release {release}: EL6 releases are {', '.join(releases())}")
    return release


def tag_of(release: str) -> str:
    return _data().releases[release]


def releases_markdown() -> str:
    """The release table of docs/kickgen-validate.md."""
    rows = ["| --release | EL6's parser (pykickstart tag) |", "|---|---|"]
    rows += [f"| {release} | `{tag_of(release)}` |" for release in releases()]
    return "\n".join(rows)


def command_spec(name: str) -> CommandSpec | None:
    return _data().commands.get(name)


class Grammar:
    """The commands and section options of one EL6 release."""

    def __init__(self, release: str = DEFAULT_RELEASE):
        self.release = check_release(release)
        self.data = _data()
        self._available: dict[int, dict[str, OptionSpec]] = {}     # id(options) -> those of this release

    def _first_release_with(self, since: str) -> str:
        return f"RHEL/CentOS {since} (pykickstart {tag_of(since)})"

    # --- commands -------------------------------------------------------------------------------

    def check_command(self, cmd: Command) -> list[Finding]:
        spec = self.data.commands.get(cmd.name)
        at = cmd.at
        if spec is None:
            return [_f(at, Severity.ERROR, "unknown-command", f"EL6 has no '{cmd.name}' command")]
        if not _in(self.release, spec.since, spec.until):
            return [self._not_in_release(at, f"the '{cmd.name}' command", spec.since, spec.until)]
        if cmd.name in _INSTALLER_REFUSES:
            return [_f(at, Severity.ERROR, "unknown-command",
                       f"EL6's installer does not support '{cmd.name}' (anaconda 13.21 stops on it)")]
        found = []
        if spec.deprecated_since and release_key(spec.deprecated_since) <= release_key(self.release):
            found.append(_f(at, Severity.WARNING, "deprecated",
                            f"'{cmd.name}' is deprecated in EL6 and ignored"))
        if not spec.options_checked:
            return found
        positional, problems = self._parse_options(at, cmd.name, list(cmd.words[1:]), spec.options)
        found += problems
        if any(p.severity == Severity.ERROR for p in problems):
            return found
        found += self._between_options(cmd, positional)
        counts = spec.args_in(self.release)
        if counts is not None:
            low, high = counts
            changing, changed = _ARGUMENTS_WITH.get(cmd.name, (set(), counts))
            if self._given(cmd) & changing:
                low, high = changed
            if cmd.name in _INSTALLER_IGNORES_ARGUMENTS and positional:
                found.append(_f(at, Severity.WARNING, "deprecated",
                                f"EL6's installer ignores the arguments of '{cmd.name}' "
                                f"({' '.join(positional)}); ksvalidator refuses them"))
            elif len(positional) < low or (high is not None and len(positional) > high):
                found.append(_f(at, Severity.ERROR, "argument-count",
                                f"'{cmd.name}' {_count_text(low, high)}, not {len(positional)}"
                                + (f" ({' '.join(positional)})" if positional else "")))
        return found

    def _given(self, cmd: Command) -> set[str]:
        """The long options on CMD's line with a value, abbreviations spelled out (an empty
        `--opt=` counts as not given: the commands test the value)."""
        spec = self.data.commands[cmd.name]
        given = set()
        for word in cmd.words[1:]:
            name, equals, value = word.partition("=")
            if not name.startswith("--") or (equals and not value):
                continue
            matches = [o for o in spec.options if o == name] or [o for o in spec.options if o.startswith(name)]
            if len(matches) == 1:
                given.add(spec.options[matches[0]].canonical)
        return given

    def _between_options(self, cmd: Command, positional: list[str]) -> list[Finding]:
        given = self._given(cmd) | ({"ARG"} if positional else set())
        spell = {"ARG": "a partition argument"}
        problem = None
        if cmd.name in _EXACTLY_ONE:
            choices = _EXACTLY_ONE[cmd.name]
            if len(given & set(choices)) != 1:
                problem = f"takes exactly one of {', '.join(spell.get(c, c) for c in choices)}"
        elif cmd.name in _AT_LEAST_ONE and not given & set(_AT_LEAST_ONE[cmd.name]):
            problem = f"needs {' or '.join(_AT_LEAST_ONE[cmd.name])}"
        elif cmd.name in _NEEDS and _NEEDS[cmd.name][0] in given and _NEEDS[cmd.name][1] not in given:
            problem = f"{_NEEDS[cmd.name][0]} needs {_NEEDS[cmd.name][1]}"
        elif cmd.name == "raid" and not given & {"--level", "--useexisting", "--noformat"} and \
                release_key(self.release) >= release_key(_RAID_LEVEL_REQUIRED_FROM):
            problem = "needs --level (a new RAID device)"
        found = []
        if problem is not None:
            found.append(_f(cmd.at, Severity.ERROR, "required-option", f"'{cmd.name}' {problem}"))
        both = [o for o in _ONE_WINS.get(cmd.name, ()) if o in given]
        if len(both) > 1:
            found.append(_f(cmd.at, Severity.WARNING, "conflicting-options",
                            f"'{cmd.name}' is given {' and '.join(both)}: only the last one counts"))
        if cmd.name == "firewall" and "--disable" in given and given & set(_MEANINGLESS_WHEN_DISABLED):
            found.append(_f(cmd.at, Severity.WARNING, "conflicting-options",
                            "'firewall --disabled' with ports or services to open: they have no effect"))
        return found

    def _not_in_release(self, at: Line, what: str, since: str, until: str | None) -> Finding:
        if release_key(since) > release_key(self.release):
            return _f(at, Severity.ERROR, "too-new",
                      f"{what} is accepted from {self._first_release_with(since)}; "
                      f"the target is {self.release} (--release)")
        return _f(at, Severity.ERROR, "unknown-option" if what.startswith("option") else "unknown-command",
                  f"{what} was removed after RHEL/CentOS {until}; the target is {self.release}")

    def _parse_options(self, at: Line, owner: str, words: list[str], options: dict[str, OptionSpec],
                       refused: dict[str, str] | None = None) -> tuple[list[str], list[Finding]]:
        """optparse's reading of WORDS: the positional arguments left, and the problems found."""
        available = self._available.get(id(options))
        if available is None:       # once per command or section kind: a kickstart may have 100,000 lines
            available = {name: o.at(self.release) for name, o in options.items()
                         if _in(self.release, o.since, o.until)}
            self._available[id(options)] = available
        found: list[Finding] = []
        seen: set[str] = set()
        positional: list[str] = []
        index = 0
        while index < len(words):
            word = words[index]
            index += 1
            if word == "--":
                positional += words[index:]
                break
            if not word.startswith("-") or word == "-":
                positional.append(word)
                continue
            name, has_value, value = word.partition("=") if word.startswith("--") else (word, "", "")
            spec = available.get(name)
            if spec is None and name.startswith("--"):
                matches = sorted(o for o in available if o.startswith(name))
                if len(matches) == 1:
                    spec = available[matches[0]]
                    found.append(_f(at, Severity.WARNING, "option-abbreviated",
                                    f"{owner} {name}: EL6 reads this as {spec.name}; spell it out"))
                elif len(matches) > 1:
                    found.append(_f(at, Severity.ERROR, "option-value",
                                    f"{owner} {name} is ambiguous: {', '.join(matches)}"))
                    continue
            if spec is None:
                later = options.get(name)
                if refused and name in refused:
                    found.append(_f(at, Severity.ERROR, "unknown-option", f"{owner} {name}: {refused[name]}"))
                elif later is not None:
                    found.append(self._not_in_release(at, f"option {owner} {name}", later.since, later.until))
                else:
                    found.append(_f(at, Severity.ERROR, "unknown-option", f"{owner} has no option {name} in EL6"))
                continue
            seen.add(spec.canonical)
            if spec.value:
                if not has_value:
                    if index >= len(words):
                        found.append(_f(at, Severity.ERROR, "option-value", f"{owner} {spec.name} needs a value"))
                        continue
                    value = words[index]
                    index += 1
                found += self._check_value(at, owner, spec, value)
            elif has_value:
                found.append(_f(at, Severity.ERROR, "option-value",
                                f"{owner} {spec.name} takes no value (given '={value}')"))
            if spec.deprecated_since and release_key(spec.deprecated_since) <= release_key(self.release):
                found.append(_f(at, Severity.WARNING, "deprecated",
                                f"{owner} {spec.name} is deprecated in EL6 and ignored"))
        for spec in available.values():
            if spec.required and spec.canonical == spec.name and spec.canonical not in seen:
                found.append(_f(at, Severity.ERROR, "required-option", f"{owner} needs {spec.name}"))
        return positional, found

    def _check_value(self, at: Line, owner: str, spec: OptionSpec, value: str) -> list[Finding]:
        problem = None
        if spec.choices is not None and value not in spec.choices:
            problem = f"'{value}' is not one of {', '.join(spec.choices)}"
        elif spec.type == "int" and _py2_optparse_int(value) is None:
            problem = f"'{value}' is not a whole number" + (
                " (EL6 reads a leading 0 as octal)" if value.lstrip("+-").startswith("0") else "")
        elif spec.type == "string" and value.startswith("--"):
            # pykickstart 1.74's string type refuses it: usually an option given without its value
            problem = f"needs a value, not the option '{value}'"
        elif spec.type == "float":
            try:
                float(value)
            except ValueError:
                problem = f"'{value}' is not a number"
        elif spec.type == "ksboolean" and value.lower() not in _BOOLEAN:
            problem = f"'{value}' is not yes/no, on/off, true/false or 1/0"
        if problem is None:
            return []
        return [_f(at, Severity.ERROR, "option-value", f"{owner} {spec.name}: {problem}")]

    # --- section headers ------------------------------------------------------------------------

    def check_header(self, section: Section) -> tuple[list[str], list[Finding]]:
        """The header's options; returns its positional arguments too."""
        options = self.data.sections.get(section.name)
        if options is None:
            return [], []
        since = self.data.section_since.get(section.name, "6.0")
        if release_key(since) > release_key(self.release):
            return [], [self._not_in_release(section.header, f"the {section.name} section", since, None)]
        return self._parse_options(section.header, section.name, list(section.args), options,
                                   self.data.section_refused.get(section.name))


def _py2_optparse_int(value: str) -> int | None:
    """Python 2 optparse's int: 0x hex, 0b binary, a leading 0 octal, else decimal."""
    text = value.lower()
    sign = text[:1] if text[:1] in "+-" else ""
    digits = text[len(sign):]
    base = 16 if digits.startswith("0x") else 2 if digits.startswith("0b") else 8 if digits.startswith("0") else 10
    try:
        return int(sign + (digits[2:] if base in (16, 2) else digits), base)
    except ValueError:
        return None


def _count_text(low: int, high: int | None) -> str:
    if high == 0:
        return "takes no arguments"
    if low == high:
        return f"takes exactly {low} argument{'s' if low != 1 else ''}"
    if high is None:
        return f"takes at least {low} argument{'s' if low != 1 else ''}"
    return f"takes {low} to {high} arguments"


def _f(at: Line, severity: Severity, rule: str, message: str) -> Finding:
    return Finding(severity, at.file, at.number, rule, message)
