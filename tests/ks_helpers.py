"""Kickstart reading for tests: the validator's reader, with script bodies as text."""

from __future__ import annotations

from dataclasses import dataclass

from kickgen.kickstart.validate import Severity, check_kickstart
from kickgen.kickstart.validate.source import Command, read_kickstart


@dataclass(frozen=True)
class SectionText:
    name: str
    args: tuple[str, ...]
    body: str             # the lines between header and %end, each ending with a newline


def split_kickstart(text: str) -> tuple[list[Command], list[SectionText], list[str]]:
    """Commands, sections and what the reading itself found (unclosed sections, ...)."""
    ks = read_kickstart(text, "<ks>")
    sections = [SectionText(s.name, s.args, "".join(f"{line.text}\n" for line in s.body)) for s in ks.sections]
    return ks.commands, sections, [str(f) for f in ks.findings]


def problems(text: str, source: str = "<kickstart>") -> list[str]:
    """Errors and warnings: what kickgen's own kickstarts must not have (notes are allowed)."""
    report = check_kickstart(text, source)
    return [str(f) for f in report.findings if f.severity <= Severity.WARNING]
