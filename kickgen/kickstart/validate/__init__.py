"""Stage: validate. Judges a kickstart the way the EL6 installer will, and names what will go wrong.

Public entry points:
- `check_kickstart(text, source, options)` -> Report: every finding, sorted (errors first);
- `check_file(path, options)` -> Report, for a kickstart on disk (its %includes found beside it);
- `validate_kickstart(text, source, strict=...)`: raises ValidationError when the report fails
  (errors; warnings too when strict), else returns the report so warnings can be shown.

The checks, in order: EL6's reading of the file (source.py), each command and section header
against the targeted release's grammar (grammar.py), today's pykickstart as a second opinion
(pykickstart3.py), whole-kickstart rules (checks.py), the scripts (scripts.py). rules.py lists
every rule id.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kickgen.core.errors import UsageError, ValidationError
from kickgen.kickstart.validate.checks import check_kickstart_rules
from kickgen.kickstart.validate.findings import Finding, Report, Rule, Severity
from kickgen.kickstart.validate.grammar import DEFAULT_RELEASE, Grammar, release_key, releases
from kickgen.kickstart.validate.pykickstart3 import check_with_pykickstart3
from kickgen.kickstart.validate.rules import RULES, is_disabled, is_shellcheck
from kickgen.kickstart.validate.scripts import check_scripts
from kickgen.kickstart.validate.source import read_bounded, read_kickstart

__all__ = ["DEFAULT_RELEASE", "RULES", "Finding", "Options", "Report", "Rule", "Severity",
           "check_file", "check_kickstart", "releases", "validate_kickstart"]


@dataclass(frozen=True)
class Options:
    release: str = DEFAULT_RELEASE
    include_dirs: tuple[Path, ...] = ()
    disabled: frozenset[str] = frozenset()


def check_kickstart(text: str, source: str = "<kickstart>", options: Options = Options(), *,
                    path: Path | None = None) -> Report:
    """Every finding for TEXT (named SOURCE; read from PATH, whose folder %include looks in)."""
    grammar = Grammar(options.release)
    ks = read_kickstart(text, source, path=path, include_dirs=options.include_dirs,
                        release=release_key(grammar.release))
    found: list[Finding] = list(ks.findings)
    refused = set()
    for cmd in ks.commands:
        problems = grammar.check_command(cmd)
        found += problems
        if any(p.severity == Severity.ERROR for p in problems):
            refused.add(cmd.at)
    for section in ks.sections:
        found += grammar.check_header(section)[1]
    found += check_with_pykickstart3([c for c in ks.commands if c.at not in refused])
    found += check_kickstart_rules(ks, grammar)
    shellcheck_off = frozenset(r for r in options.disabled if is_shellcheck(r))
    if "shellcheck" not in options.disabled:
        found += check_scripts(ks.sections, shellcheck_excludes=shellcheck_off)
    kept = [f for f in found if not is_disabled(f.rule, options.disabled)]
    return Report(kept, files=ks.files, release=options.release)


def check_file(path: Path, options: Options = Options()) -> Report:
    try:
        text = read_bounded(Path(path))
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path}: not a UTF-8 text file (byte {exc.start})") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot read the kickstart: {exc.strerror}") from None
    return check_kickstart(text, str(path), options, path=Path(path))


def validate_kickstart(text: str, source: str = "<kickstart>", *, strict: bool = True,
                       options: Options = Options(), path: Path | None = None) -> Report:
    """Raise ValidationError when TEXT fails (errors, or warnings too when STRICT); else the report."""
    report = check_kickstart(text, source, options, path=path)
    if report.fails(strict):
        shown = [f for f in report.findings if f.severity <= (Severity.WARNING if strict else Severity.ERROR)]
        lines = [str(f) for f in shown]
        raise ValidationError("\n".join([*lines, report.summary()]), problems=lines,
                              hint=f"kickgen validate --ks FILE --release {options.release} lists every finding")
    return report
