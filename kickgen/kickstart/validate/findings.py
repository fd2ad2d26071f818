"""What the validator hands back: findings with a severity and a rule id, and a report of them."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from enum import IntEnum


class Severity(IntEnum):
    """Ordered as reported: errors first."""

    ERROR = 0      # the EL6 installer refuses the file, or an unattended install stops
    WARNING = 1    # accepted, but wrong or risky
    NOTE = 2       # style, or something kickgen could not check

    @property
    def label(self) -> str:
        return self.name.lower()


@dataclass(frozen=True, order=True)
class Finding:
    severity: Severity
    file: str              # the kickstart or included file, as the user named it
    line: int              # 1-based, never 0
    rule: str
    message: str
    column: int | None = None

    def __str__(self) -> str:
        # a hostile kickstart must not reach the terminal raw (escape sequences, line breaks)
        return _printable(f"{self.file}:{self.line}: {self.severity.label}: {self.message} [{self.rule}]")


def _printable(text: str) -> str:
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


@dataclass(frozen=True)
class Rule:
    id: str
    severity: Severity
    summary: str
    example: str           # a kickstart snippet that triggers the rule


@dataclass
class Report:
    findings: list[Finding]
    files: list[str] = field(default_factory=list)   # the kickstart, then each included file read
    release: str = "6.5"

    def __post_init__(self) -> None:
        # severity, then file order (the kickstart before what it includes), then line
        order = {name: index for index, name in enumerate(self.files)}
        self.findings = sorted(set(self.findings), key=lambda f: (
            f.severity, order.get(f.file, len(order)), f.file, f.line, f.column or 0, f.rule, f.message))

    def count(self, severity: Severity) -> int:
        return sum(1 for f in self.findings if f.severity == severity)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == Severity.ERROR]

    def fails(self, strict: bool = False) -> bool:
        """Errors always fail; warnings fail under --strict; notes never."""
        worst = Severity.WARNING if strict else Severity.ERROR
        return any(f.severity <= worst for f in self.findings)

    def summary(self) -> str:
        counts = Counter(f.severity for f in self.findings)
        parts = [f"{counts[s]} {s.label}{'' if counts[s] == 1 else 's'}" for s in Severity]
        return ", ".join(parts)

    def lines(self) -> list[str]:
        return [str(f) for f in self.findings]
