"""Nightly boot-test matrix: profile x firmware x medium, spread over libvirt hosts.

    plan = load_matrix(Path("vm/matrix-example.yaml"))
    outcome = kickgen.pipeline.run_matrix(plan)   # one JUnit file, one summary table

Hosts are libvirt URIs (libvirt's remote driver reaches other machines; no agents of ours);
each runs up to `parallel` cases at once. Every profile is remastered from the base ISO once
per medium (USB-stick cases get media whose USB entry is the default), or given an already
remastered `iso:`, then its cases are queued.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from kickgen.core.errors import UsageError
from kickgen.vm.domain import FIRMWARES, MEDIA
from kickgen.vm.harness import MAX_EXTRA_DISKS, BootTestResult
from kickgen.vm.host import DEFAULT_URI


@dataclass(frozen=True)
class Host:
    uri: str
    parallel: int = 1


@dataclass(frozen=True)
class ProfileEntry:
    ref: str                              # profile name or path
    overrides: tuple[str, ...] = ()       # --set values
    label: str = ""                       # name in the table; defaults to ref
    iso: Path | None = None               # already remastered: no remaster step


@dataclass(frozen=True)
class Case:
    entry: ProfileEntry
    firmware: str
    medium: str

    @property
    def id(self) -> str:
        return f"{self.entry.label}/{self.firmware}/{self.medium}"


@dataclass(frozen=True)
class MatrixPlan:
    source: Path
    base_iso: Path | None
    cases: tuple[Case, ...]
    hosts: tuple[Host, ...]
    timeout_install: int | None = None
    timeout_boot: int | None = None
    extra_disks: int = 0          # blank disks beside the target, which the install must not touch
    keep_medium: bool = False     # CD cases: the medium stays in the drive after the install
    writable_medium: bool = False  # USB cases: a writable stick that must come out unchanged


@dataclass(frozen=True)
class CaseOutcome:
    case: Case
    host: str
    result: BootTestResult | None         # None when the case could not run
    error: str | None = None              # why it could not run (one line)
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return self.result is not None and self.result.passed

    @property
    def verdict(self) -> str:
        return self.result.verdict if self.result else f"ERROR {self.case.id}: {self.error}"


@dataclass(frozen=True)
class MatrixOutcome:
    plan: MatrixPlan
    outcomes: tuple[CaseOutcome, ...]
    junit: Path
    artifacts: Path
    seconds: float = 0.0
    passed: bool = field(init=False)

    def __post_init__(self):
        object.__setattr__(self, "passed", all(o.passed for o in self.outcomes))

    @property
    def exit_code(self) -> int:
        return 0 if self.passed else 1

    @property
    def verdict(self) -> str:
        good = sum(o.passed for o in self.outcomes)
        word = "PASS" if self.passed else "FAIL"
        return f"{word} matrix {self.plan.source.name}: {good}/{len(self.outcomes)} cases passed ({self.seconds:.0f}s)"


_TOP_KEYS = {"iso", "profiles", "firmware", "medium", "exclude", "hosts", "timeout_install", "timeout_boot",
             "extra_disks", "keep_medium", "writable_medium"}
# What a USB-stick case changes in its profile: its media boots the USB entry by default, and
# since nothing ejects a stick, the install powers off rather than reboot into itself again.
USB_OVERRIDES = ("boot.default=usb", "system.finish=poweroff")


def load_matrix(path: Path, *, connect: Sequence[str] = (), parallel: int | None = None) -> MatrixPlan:
    """Read and check a matrix file; CONNECT and PARALLEL override its hosts."""
    where = str(path)
    try:
        data = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise UsageError(f"{where}: no such matrix file") from None
    except yaml.YAMLError as exc:
        raise UsageError(f"{where}: not valid YAML: {str(exc).splitlines()[0]}") from None
    if not isinstance(data, dict):
        raise UsageError(f"{where}: expected a mapping with profiles:, firmware:, medium:, hosts:")
    unknown = sorted(set(data) - _TOP_KEYS)
    if unknown:
        raise UsageError(f"{where}: unknown key '{unknown[0]}' (known: {', '.join(sorted(_TOP_KEYS))})")

    base = path.parent
    base_iso = _path(data.get("iso"), base)
    entries = [_profile_entry(item, where, n, base) for n, item in enumerate(_list(data, "profiles", where))]
    if not entries:
        raise UsageError(f"{where}: profiles: lists no profile")
    if base_iso is None and any(e.iso is None for e in entries):
        raise UsageError(f"{where}: iso: is missing (the base media the profiles are remastered from), "
                         "and not every profile names its own iso:")
    firmwares = _choices(data, "firmware", FIRMWARES, where)
    media = _choices(data, "medium", MEDIA, where)
    excluded = []
    for n, rule in enumerate(data.get("exclude") or []):
        if not isinstance(rule, dict) or not set(rule) <= {"profile", "firmware", "medium"}:
            raise UsageError(f"{where}: exclude[{n}]: expected a mapping of profile/firmware/medium")
        excluded.append(rule)

    cases = []
    for entry, firmware, medium in itertools.product(entries, firmwares, media):
        values = {"profile": entry.label, "firmware": firmware, "medium": medium}
        if not any(all(values[k] == v for k, v in rule.items()) for rule in excluded):
            cases.append(Case(entry, firmware, medium))
    if not cases:
        raise UsageError(f"{where}: exclude: leaves no case to run")

    if connect:
        hosts = [Host(uri, parallel or 1) for uri in connect]
    else:
        hosts = []
        for n, item in enumerate(data.get("hosts") or [{"uri": DEFAULT_URI}]):
            if isinstance(item, str):
                item = {"uri": item}
            if not isinstance(item, dict) or "uri" not in item:
                raise UsageError(f"{where}: hosts[{n}]: expected {{uri: ..., parallel: N}}")
            count = parallel or item.get("parallel", 1)
            if not isinstance(count, int) or count < 1:
                raise UsageError(f"{where}: hosts[{n}].parallel: expected a whole number >= 1, got {count!r}")
            hosts.append(Host(str(item["uri"]), count))
    timeouts = {}
    for key in ("timeout_install", "timeout_boot"):
        value = data.get(key)
        if value is not None and (not isinstance(value, int) or value < 1):
            raise UsageError(f"{where}: {key}: expected seconds (a whole number), got {value!r}")
        timeouts[key] = value
    extra_disks = data.get("extra_disks", 0)
    if not isinstance(extra_disks, int) or isinstance(extra_disks, bool) or not 0 <= extra_disks <= MAX_EXTRA_DISKS:
        raise UsageError(f"{where}: extra_disks: expected a whole number from 0 to {MAX_EXTRA_DISKS}, "
                         f"got {extra_disks!r}")
    flags = {}
    for key in ("keep_medium", "writable_medium"):
        value = data.get(key, False)
        if not isinstance(value, bool):
            raise UsageError(f"{where}: {key}: expected true or false, got {value!r}")
        flags[key] = value
    return MatrixPlan(path, base_iso, tuple(cases), tuple(hosts), **timeouts, extra_disks=extra_disks,
                      keep_medium=flags["keep_medium"], writable_medium=flags["writable_medium"])


def _list(data: dict, key: str, where: str) -> list:
    value = data.get(key) or []
    if not isinstance(value, list):
        raise UsageError(f"{where}: {key}: expected a list")
    return value


def _choices(data: dict, key: str, allowed: tuple[str, ...], where: str) -> list[str]:
    values = data.get(key, [allowed[0]])
    values = [values] if isinstance(values, str) else values
    for value in values:
        if value not in allowed:
            raise UsageError(f"{where}: {key}: '{value}' is not one of {', '.join(allowed)}")
    return list(dict.fromkeys(values))


def _path(value, base: Path) -> Path | None:
    if value is None:
        return None
    path = Path(str(value))
    return path if path.is_absolute() else (base / path if not path.exists() else path)


def _profile_entry(item, where: str, n: int, base: Path) -> ProfileEntry:
    if isinstance(item, str):
        return ProfileEntry(item, label=item)
    if not isinstance(item, dict) or "name" not in item:
        raise UsageError(f"{where}: profiles[{n}]: expected a profile name or {{name: ..., set: [...]}}")
    unknown = sorted(set(item) - {"name", "set", "label", "iso"})
    if unknown:
        raise UsageError(f"{where}: profiles[{n}]: unknown key '{unknown[0]}'")
    overrides = item.get("set") or []
    if not isinstance(overrides, list) or not all(isinstance(o, str) and "=" in o for o in overrides):
        raise UsageError(f"{where}: profiles[{n}].set: expected a list of key.path=value strings")
    return ProfileEntry(str(item["name"]), tuple(overrides), str(item.get("label") or item["name"]),
                        _path(item.get("iso"), base))


def slug(text: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in text)


def summary_table(outcome: MatrixOutcome) -> str:
    """Plain text: one row per case (CI logs keep it as is)."""
    rows = [("case", "host", "accel", "install", "boot", "result")]
    for o in outcome.outcomes:
        phases = {p.phase: p for p in o.result.phases} if o.result else {}

        def cell(name: str, phases: dict = phases) -> str:
            p = phases.get(name)
            return "-" if p is None or p.outcome == "not-run" else f"{p.outcome} {p.seconds:.0f}s"
        result = "PASS" if o.passed else ("ERROR" if o.result is None else "FAIL")
        rows.append((o.case.id, o.host, o.result.accel if o.result else "-", cell("install"), cell("boot"), result))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(value.ljust(width) for value, width in zip(row, widths, strict=True)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    for o in outcome.outcomes:
        if not o.passed:
            lines.append(f"  {o.verdict}")
    return "\n".join(lines)
