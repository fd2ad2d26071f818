"""EL6's kickstart grammar per minor release, and the check of each command and section header.

`el6-grammar.json` was read off EL6's own parser: pykickstart's RHEL6 handler at the r1.74.*
tag each release shipped (its `about` field and docs/kickgen-validate.md say how). Option
handling copies what that parser does with Python's optparse: `--opt=value` or `--opt value`,
a unique prefix of a long option accepted, options and arguments in any order, `--` ends options.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

from kickgen.core.errors import UsageError
from kickgen.kickstart.validate.findings import Finding, Severity
from kickgen.kickstart.validate.source import Command, Line, Section

DEFAULT_RELEASE = "6.5"
# Options that lower the number of arguments a command needs: the table's counts were probed
# without options. Probed with r1.74.14 (anaconda's classes): `key --skip`,
# `raid / --useexisting --device=md0` and `volgroup vg --noformat` are accepted; `rootpw --lock`
# alone is not ("A single argument is expected").
_FEWER_ARGUMENTS_WITH = {"key": ({"--skip"}, 0), "raid": ({"--useexisting", "--noformat"}, 1),
                         "volgroup": ({"--useexisting", "--noformat"}, 1)}
_BOOLEAN = {"on", "yes", "true", "1", "off", "no", "false", "0"}


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
            deprecated_since=spec.get("deprecated_since"), required=bool(spec.get("required")))
    return out


@dataclass(frozen=True)
class _Data:
    releases: dict[str, str]      # release -> pykickstart tag
    commands: dict[str, CommandSpec]
    sections: dict[str, dict[str, OptionSpec]]
    section_since: dict[str, str]


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
            options_checked=not spec.get("options_unchecked"))
    sections = {name: _options(spec.get("options", {})) for name, spec in raw["sections"].items()}
    since = {name: spec.get("since") or "6.0" for name, spec in raw["sections"].items()}
    return _Data(dict(raw["releases"]), commands, sections, since)


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
        if spec.args is not None:
            low, high = spec.args
            lowering, fewer = _FEWER_ARGUMENTS_WITH.get(cmd.name, (set(), low))
            if any(word.split("=", 1)[0] in lowering for word in cmd.words[1:]):
                low = fewer
            if len(positional) < low or (high is not None and len(positional) > high):
                found.append(_f(at, Severity.ERROR, "argument-count",
                                f"'{cmd.name}' {_count_text(low, high)}, not {len(positional)}"
                                + (f" ({' '.join(positional)})" if positional else "")))
        return found

    def _not_in_release(self, at: Line, what: str, since: str, until: str | None) -> Finding:
        if release_key(since) > release_key(self.release):
            return _f(at, Severity.ERROR, "too-new",
                      f"{what} is accepted from {self._first_release_with(since)}; "
                      f"the target is {self.release} (--release)")
        return _f(at, Severity.ERROR, "unknown-option" if what.startswith("option") else "unknown-command",
                  f"{what} was removed after RHEL/CentOS {until}; the target is {self.release}")

    def _parse_options(self, at: Line, owner: str, words: list[str],
                       options: dict[str, OptionSpec]) -> tuple[list[str], list[Finding]]:
        """optparse's reading of WORDS: the positional arguments left, and the problems found."""
        available = {name: o for name, o in options.items() if _in(self.release, o.since, o.until)}
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
                    found.append(_f(at, Severity.NOTE, "option-abbreviated",
                                    f"{owner} {name}: EL6 reads this as {spec.name}; spell it out"))
                elif len(matches) > 1:
                    found.append(_f(at, Severity.ERROR, "option-value",
                                    f"{owner} {name} is ambiguous: {', '.join(matches)}"))
                    continue
            if spec is None:
                later = options.get(name)
                if later is not None:
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
        elif spec.type == "int":
            try:
                int(value, 0) if value.lower().startswith(("0x", "0o", "0b")) else int(value)
            except ValueError:
                problem = f"'{value}' is not a whole number"
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
        return self._parse_options(section.header, section.name, list(section.args), options)


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
