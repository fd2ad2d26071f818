"""Nightly boot-test matrix: profile x firmware x medium, spread over libvirt hosts.

    plan = load_matrix(Path("vm/matrix-example.yaml"))
    outcome = kickgen.pipeline.run_matrix(plan)   # one JUnit file, one summary table

Hosts are libvirt URIs (libvirt's remote driver reaches other machines; no agents of ours);
each runs up to `parallel` cases at once. Every profile is remastered from the base ISO once
per medium (USB-stick cases get media whose USB entry is the default), or given an already
remastered `iso:`, then its cases are queued.

A case may say it is expected to fail (`expect_fail: "reason"` on its profile entry): failing
is then its pass, and passing fails the run (unexpected-pass). `--retries N` runs a failed case
again on the same host, a pass after a fail is `flaky`; `--shard K/N` runs a stable 1/N of the
cases (`shard_cases`). Statuses: kickgen.results.model (one vocabulary for the table, the
database and the report).
"""

from __future__ import annotations

import hashlib
import itertools
import re
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from kickgen.core.errors import KickgenError, UsageError
from kickgen.profile.yamlsource import compose, yaml_error_mark, yaml_error_text
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
    expect_fail: str | None = None        # why its cases are expected to fail


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
    shard: tuple[int, int] | None = None   # (K, N): this plan holds shard K of N (shard_cases)
    all_cases: int = 0             # cases in the file, before --shard


# The status words (kickgen.results.model has the same: the DB and the report use them).
PASS, FAIL, ERROR, FLAKY, EXPECTED_FAIL, UNEXPECTED_PASS = (
    "pass", "fail", "error", "flaky", "expected-fail", "unexpected-pass")
GOOD = frozenset({PASS, FLAKY, EXPECTED_FAIL})


@dataclass(frozen=True)
class Attempt:
    """One run of a case (several with --retries)."""

    number: int
    result: BootTestResult | None         # None when it could not run
    error: str | None = None
    seconds: float = 0.0

    @property
    def outcome(self) -> str:
        if self.result is None:
            return "error"
        return "pass" if self.result.passed else "fail"


@dataclass(frozen=True)
class CaseOutcome:
    case: Case
    host: str
    result: BootTestResult | None         # the last attempt's; None when the case could not run
    error: str | None = None              # why it could not run (one line)
    seconds: float = 0.0
    earlier: tuple[Attempt, ...] = ()     # the attempts before the last one (--retries)
    iso_sha256: str | None = None         # the media it booted
    ks_sha256: str | None = None          # the kickstart on it

    @property
    def attempts(self) -> tuple[Attempt, ...]:
        return self.earlier + (Attempt(len(self.earlier) + 1, self.result, self.error, self.seconds),)

    @property
    def status(self) -> str:
        outcomes = [a.outcome for a in self.attempts]
        if outcomes[-1] == "error" and "pass" not in outcomes:
            return ERROR
        if self.case.entry.expect_fail:
            return UNEXPECTED_PASS if "pass" in outcomes else EXPECTED_FAIL
        if "pass" in outcomes:
            return FLAKY if "fail" in outcomes or "error" in outcomes else PASS
        return FAIL

    @property
    def passed(self) -> bool:
        """Leaves the run green: passed, flaky, or failed as expected."""
        return self.status in GOOD

    @property
    def verdict(self) -> str:
        """One line naming the case by its label (the verdict of its last attempt)."""
        line = attempt_verdict(self.case, self.attempts[-1])
        status = self.status
        if status == EXPECTED_FAIL:
            return f"EXPECTED-FAIL {line} (expected: {self.case.entry.expect_fail})"
        if status == UNEXPECTED_PASS:
            return f"UNEXPECTED-PASS {line} (expected to fail: {self.case.entry.expect_fail})"
        if status == FLAKY:
            return f"FLAKY {self.case.id}: " + "; ".join(
                f"attempt {a.number}: {attempt_verdict(self.case, a)}" for a in self.attempts)
        return line


def attempt_verdict(case: Case, attempt: Attempt) -> str:
    """The attempt's verdict line with the case's label in place of the profile name."""
    result = attempt.result
    if result is None:
        return f"ERROR {case.id}: {attempt.error}"
    word = "PASS" if result.passed else "FAIL"
    prefix = f"{word} {result.profile} {result.firmware}/{result.medium} {result.accel}: "
    rest = result.verdict[len(prefix):] if result.verdict.startswith(prefix) else result.verdict
    return f"{word} {case.id} {result.accel}: {rest}"


def run_case(case: Case, host: str, run_once: Callable[[int], BootTestResult], retries: int = 0) -> CaseOutcome:
    """Run CASE with RUN_ONCE(attempt number) until it passes, at most 1 + RETRIES times (a case
    expected to fail runs once). An exception is that attempt's error (one broken case must not
    stop the others)."""
    attempts: list[Attempt] = []
    allowed = 1 if case.entry.expect_fail else 1 + retries
    for number in range(1, allowed + 1):
        began = time.monotonic()
        try:
            attempt = Attempt(number, run_once(number), seconds=time.monotonic() - began)
        except KickgenError as exc:
            attempt = Attempt(number, None, exc.message, time.monotonic() - began)
        except Exception as exc:
            attempt = Attempt(number, None, f"{type(exc).__name__}: {exc}", time.monotonic() - began)
        attempts.append(attempt)
        if attempt.outcome == "pass":
            break
    last = attempts[-1]
    return CaseOutcome(case, host, last.result, last.error, last.seconds, tuple(attempts[:-1]))


@dataclass(frozen=True)
class MatrixOutcome:
    plan: MatrixPlan
    outcomes: tuple[CaseOutcome, ...]
    junit: Path
    artifacts: Path
    seconds: float = 0.0
    passed: bool = field(init=False)

    run_id: str = ""
    started: str = ""             # UTC, 2024-05-01T02:00:00Z
    record_problems: tuple[str, ...] = ()   # why the run file or the results database was not written

    def __post_init__(self):
        object.__setattr__(self, "passed", all(o.passed for o in self.outcomes))

    @property
    def exit_code(self) -> int:
        """0 every case passed, 1 one did not, 2 the run was not recorded (an environment problem)."""
        return 2 if self.record_problems else (0 if self.passed else 1)

    @property
    def verdict(self) -> str:
        counts = Counter(o.status for o in self.outcomes)
        good = counts[PASS] + counts[FLAKY]
        word = "PASS" if self.passed else "FAIL"
        extra = [f"{counts[FLAKY]} flaky" if counts[FLAKY] else "",
                 f"{counts[EXPECTED_FAIL]} failed as expected" if counts[EXPECTED_FAIL] else "",
                 f"{counts[UNEXPECTED_PASS]} passed unexpectedly" if counts[UNEXPECTED_PASS] else ""]
        shard = f", shard {self.plan.shard[0]}/{self.plan.shard[1]}" if self.plan.shard else ""
        return (f"{word} matrix {self.plan.source.name}: {good}/{len(self.outcomes)} cases passed"
                + "".join(f", {e}" for e in extra if e) + f" ({self.seconds:.0f}s{shard})")


_TOP_KEYS = {"iso", "profiles", "firmware", "medium", "exclude", "hosts", "timeout_install", "timeout_boot",
             "extra_disks", "keep_medium", "writable_medium"}
_ENTRY_KEYS = {"name", "set", "label", "iso", "expect_fail"}
# What a USB-stick case changes in its profile: its media boots the USB entry by default, and
# since nothing ejects a stick, the install powers off rather than reboot into itself again.
USB_OVERRIDES = ("boot.default=usb", "system.finish=poweroff")
MAX_MATRIX_BYTES = 1 << 20
MAX_REASON_CHARS = 500
MAX_RETRIES = 5


class _Located:
    """The matrix file's data, and where each value is: errors name file:line:col and the key."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.marks: dict[tuple, tuple[int, int]] = {}
        node = compose(text)
        if node is None:
            self.data = None
            return
        loader = yaml.SafeLoader("")
        try:
            self.data = loader.construct_document(node)
        finally:
            loader.dispose()
        self._walk(node, ())

    def _walk(self, node: yaml.Node, keys: tuple) -> None:
        self.marks.setdefault(keys, (node.start_mark.line + 1, node.start_mark.column + 1))
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode):
                    self.marks.setdefault(keys + (key.value,), (key.start_mark.line + 1, key.start_mark.column + 1))
                    self._walk(value, keys + (key.value,) + ("=",))
        elif isinstance(node, yaml.SequenceNode):
            for n, item in enumerate(node.value):
                self._walk(item, keys + (n,))

    def where(self, *keys) -> str:
        """file:line:col of the value at KEYS (its key's place when the value has none)."""
        for end in range(len(keys), -1, -1):
            prefix = tuple(keys[:end])
            value = self._value_keys(prefix)
            for candidate in (value, value[:-1] if value[-1:] == ("=",) else value):
                if candidate in self.marks:
                    line, col = self.marks[candidate]
                    return f"{self.path}:{line}:{col}"
        return str(self.path)

    @staticmethod
    def _value_keys(keys: tuple) -> tuple:
        out: list = []
        for key in keys:
            out.append(key)
            if isinstance(key, str):
                out.append("=")
        return tuple(out)

    def error(self, keys: tuple, message: str, *, name: str | None = None) -> UsageError:
        """file:line:col: key.path: message (NAME replaces the key path shown)."""
        shown = name if name is not None else _key_text(keys)
        return UsageError(f"{self.where(*keys)}: {shown}: {message}" if shown else f"{self.where(*keys)}: {message}")


def _key_text(keys: tuple) -> str:
    text = ""
    for key in keys:
        text += f"[{key}]" if isinstance(key, int) else (f".{key}" if text else str(key))
    return text


def load_matrix(path: Path, *, connect: Sequence[str] = (), parallel: int | None = None) -> MatrixPlan:
    """Read and check a matrix file; CONNECT and PARALLEL override its hosts. A mistake is one
    line naming file:line:col and the key (`matrix.yaml:3:21: firmware: 'bois' is not one of ...`)."""
    where = str(path)
    try:
        with open(path, "rb") as stream:
            raw = stream.read(MAX_MATRIX_BYTES + 1)
    except FileNotFoundError:
        raise UsageError(f"{where}: no such matrix file") from None
    except OSError as exc:
        raise UsageError(f"{where}: cannot read the matrix file: {exc.strerror or exc}") from None
    if len(raw) > MAX_MATRIX_BYTES:
        raise UsageError(f"{where}: larger than 1 MiB; not a matrix file")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"{where}: not UTF-8 text (byte {exc.start})") from None
    try:
        doc = _Located(path, text)
    except yaml.YAMLError as exc:
        mark = yaml_error_mark(exc, text, path)
        at = f"{where}:{mark.line}:{mark.column}" if mark else where
        raise UsageError(f"{at}: not valid YAML: {yaml_error_text(exc)}") from None
    data = doc.data
    if not isinstance(data, dict):
        raise UsageError(f"{where}: expected a mapping with profiles:, firmware:, medium:, hosts:")
    unknown = sorted((k for k in data if k not in _TOP_KEYS), key=str)
    if unknown:
        raise doc.error((unknown[0],), f"unknown key '{unknown[0]}' (known: {', '.join(sorted(_TOP_KEYS))})",
                        name="")

    base = path.parent
    base_iso = _path(data.get("iso"), base)
    profiles = data.get("profiles") or []
    if not isinstance(profiles, list):
        raise doc.error(("profiles",), "expected a list")
    entries = [_profile_entry(item, doc, n, base) for n, item in enumerate(profiles)]
    if not entries:
        raise doc.error(("profiles",), "lists no profile")
    labels: dict[str, int] = {}
    for n, entry in enumerate(entries):
        if entry.label in labels:
            raise doc.error(("profiles", n), f"the label '{entry.label}' is already that of "
                            f"profiles[{labels[entry.label]}] (give each entry its own label:)")
        labels[entry.label] = n
    if base_iso is None and any(e.iso is None for e in entries):
        raise UsageError(f"{where}: iso: is missing (the base media the profiles are remastered from), "
                         "and not every profile names its own iso:")
    firmwares = _choices(data, "firmware", FIRMWARES, doc)
    media = _choices(data, "medium", MEDIA, doc)
    excluded = []
    for n, rule in enumerate(data.get("exclude") or []):
        if not isinstance(rule, dict) or not set(rule) <= {"profile", "firmware", "medium"}:
            raise doc.error(("exclude", n), "expected a mapping of profile/firmware/medium",
                            name=f"exclude[{n}]")
        excluded.append(rule)

    cases = []
    for entry, firmware, medium in itertools.product(entries, firmwares, media):
        values = {"profile": entry.label, "firmware": firmware, "medium": medium}
        if not any(all(values[k] == v for k, v in rule.items()) for rule in excluded):
            cases.append(Case(entry, firmware, medium))
    if not cases:
        raise doc.error(("exclude",), "leaves no case to run")

    if connect:
        hosts = [Host(uri, parallel or 1) for uri in connect]
    else:
        hosts = []
        for n, item in enumerate(data.get("hosts") or [{"uri": DEFAULT_URI}]):
            if isinstance(item, str):
                item = {"uri": item}
            if not isinstance(item, dict) or "uri" not in item:
                raise doc.error(("hosts", n), "expected {uri: ..., parallel: N}")
            count = parallel or item.get("parallel", 1)
            if not isinstance(count, int) or isinstance(count, bool) or count < 1:
                raise doc.error(("hosts", n, "parallel"), f"expected a whole number >= 1, got {count!r}")
            hosts.append(Host(str(item["uri"]), count))
    timeouts: dict[str, int | None] = {}
    for key in ("timeout_install", "timeout_boot"):
        value = data.get(key)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
            raise doc.error((key,), f"expected seconds (a whole number), got {value!r}")
        timeouts[key] = value
    extra_disks = data.get("extra_disks", 0)
    if not isinstance(extra_disks, int) or isinstance(extra_disks, bool) or not 0 <= extra_disks <= MAX_EXTRA_DISKS:
        raise doc.error(("extra_disks",), f"expected a whole number from 0 to {MAX_EXTRA_DISKS}, "
                        f"got {extra_disks!r}")
    flags = {}
    for key in ("keep_medium", "writable_medium"):
        value = data.get(key, False)
        if not isinstance(value, bool):
            raise doc.error((key,), f"expected true or false, got {value!r}")
        flags[key] = value
    return MatrixPlan(path, base_iso, tuple(cases), tuple(hosts), timeout_install=timeouts["timeout_install"],
                      timeout_boot=timeouts["timeout_boot"], extra_disks=extra_disks,
                      keep_medium=flags["keep_medium"], writable_medium=flags["writable_medium"],
                      all_cases=len(cases))


def _choices(data: dict, key: str, allowed: tuple[str, ...], doc: _Located) -> list[str]:
    values = data.get(key, [allowed[0]])
    values = [values] if isinstance(values, str) else values
    if not isinstance(values, list):
        raise doc.error((key,), f"expected a list of {', '.join(allowed)}")
    for n, value in enumerate(values):
        if value not in allowed:
            keys = (key, n) if isinstance(data.get(key), list) else (key,)
            raise doc.error(keys, f"'{value}' is not one of {', '.join(allowed)}", name=key)
    return list(dict.fromkeys(values))


def _path(value, base: Path) -> Path | None:
    if value is None:
        return None
    path = Path(str(value))
    return path if path.is_absolute() else (base / path if not path.exists() else path)


_BAD_LABEL = re.compile(r"[/\\\x00-\x1f\x7f]")


def _profile_entry(item, doc: _Located, n: int, base: Path) -> ProfileEntry:
    if isinstance(item, str):
        return ProfileEntry(item, label=item)
    if not isinstance(item, dict) or "name" not in item:
        raise doc.error(("profiles", n), "expected a profile name or {name: ..., set: [...]}",
                        name=f"profiles[{n}]")
    unknown = sorted((k for k in item if k not in _ENTRY_KEYS), key=str)
    if unknown:
        raise doc.error(("profiles", n, unknown[0]),
                        f"unknown key '{unknown[0]}' (known: {', '.join(sorted(_ENTRY_KEYS))})", name=f"profiles[{n}]")
    overrides = item.get("set") or []
    if not isinstance(overrides, list) or not all(isinstance(o, str) and "=" in o for o in overrides):
        raise doc.error(("profiles", n, "set"), "expected a list of key.path=value strings")
    label = str(item.get("label") or item["name"])
    if _BAD_LABEL.search(label):
        raise doc.error(("profiles", n, "label"), f"{label!r} may not hold '/', '\\' or control characters "
                        "(it names the case and its artefact folder)")
    reason = item.get("expect_fail")
    if reason is not None and (not isinstance(reason, str) or not reason.strip()
                               or len(reason) > MAX_REASON_CHARS or not reason.isprintable()):
        raise doc.error(("profiles", n, "expect_fail"),
                        f"expected the reason the case fails, as one line of text (at most {MAX_REASON_CHARS} "
                        f"characters), e.g. expect_fail: \"docker.enable_service=false: docker not running\"; "
                        f"got {reason!r}")
    return ProfileEntry(str(item["name"]), tuple(overrides), label, _path(item.get("iso"), base),
                        reason.strip() if reason else None)


# --- sharding -------------------------------------------------------------------------------------

def parse_shard(text: str) -> tuple[int, int]:
    """`K/N` (1 <= K <= N) -> (K, N); anything else is a usage error naming --shard."""
    found = re.fullmatch(r"\s*(\d{1,6})\s*/\s*(\d{1,6})\s*", text or "")
    if not found:
        raise UsageError(f"--shard {text}: expected K/N, e.g. --shard 2/3 (the second of three shards)")
    k, n = int(found.group(1)), int(found.group(2))
    if n < 1 or not 1 <= k <= n:
        raise UsageError(f"--shard {text}: expected 1 <= K <= N, e.g. --shard 1/{max(n, 2)}")
    return k, n


def shard_key(case_id: str) -> str:
    """A case's place in the shard order: sha256 of its label (the same on every machine)."""
    return hashlib.sha256(case_id.encode("utf-8")).hexdigest()


def shard_cases(cases: Sequence[Case], k: int, n: int) -> tuple[Case, ...]:
    """Shard K of N: the cases sorted by the sha256 of their label, then dealt out in turn.
    The N shards together hold every case exactly once, their sizes differ by at most one, and
    the split depends only on the set of labels (not their order in the file, the machine or
    the process), so every CI job computes the same split. Adding or removing a case may move
    others to another shard (no scheme can keep both balance and that, see docs/boot-tests.md)."""
    ranked = sorted(cases, key=lambda case: (shard_key(case.id), case.id))
    mine = {case.id for index, case in enumerate(ranked) if index % n == k - 1}
    return tuple(case for case in cases if case.id in mine)


def shard_plan(plan: MatrixPlan, k: int, n: int) -> MatrixPlan:
    """PLAN with only shard K of N; a shard with no case (more shards than cases) is a usage error."""
    from dataclasses import replace

    cases = shard_cases(plan.cases, k, n)
    if not cases:
        raise UsageError(f"--shard {k}/{n}: no case falls in this shard ({plan.source} has {len(plan.cases)} "
                         f"cases; use at most {len(plan.cases)} shards)")
    return replace(plan, cases=cases, shard=(k, n), all_cases=len(plan.cases))


def slug(text: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in text)


STATUS_WORDS = {PASS: "PASS", FAIL: "FAIL", ERROR: "ERROR", FLAKY: "FLAKY", EXPECTED_FAIL: "EXPECTED-FAIL",
                UNEXPECTED_PASS: "UNEXPECTED-PASS"}


def summary_table(outcome: MatrixOutcome) -> str:
    """Plain text: one row per case, named by its label (CI logs keep it as is); below it one
    verdict line for each case that did not simply pass."""
    rows = [("case", "host", "accel", "install", "boot", "result")]
    for o in outcome.outcomes:
        phases = {p.phase: p for p in o.result.phases} if o.result else {}

        def cell(name: str, phases: dict = phases) -> str:
            p = phases.get(name)
            return "-" if p is None or p.outcome == "not-run" else f"{p.outcome} {p.seconds:.0f}s"
        tries = f" ({len(o.attempts)} attempts)" if len(o.attempts) > 1 else ""
        rows.append((o.case.id, o.host, o.result.accel if o.result else "-", cell("install"), cell("boot"),
                     STATUS_WORDS[o.status] + tries))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(value.ljust(width) for value, width in zip(row, widths, strict=True)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    for o in outcome.outcomes:
        if o.status != PASS:
            lines.append(f"  {o.verdict}")
    return "\n".join(lines)
