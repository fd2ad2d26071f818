"""What a matrix run leaves in the results database: one RunRecord, one CaseRecord per attempt.

Plain data, no I/O: `kickgen.pipeline` fills these from a matrix outcome, `kickgen.results.db`
stores them, the run file (`kickgen-run.json` in each run's artefact folder) carries them to
another machine, and `kickgen.report` reads them back.

Vocabulary (the `status` of a case in one run; the same words in the DB, the run file, the
summary table and the report):

- pass: it passed (at the first attempt)
- fail: every attempt failed
- error: it could not run (its media could not be built, an unknown profile, libvirt gone)
- flaky: a later attempt passed after an earlier one failed (`--retries`); counts as passed
- expected-fail: the case says `expect_fail: "reason"` and it failed: counts as passed
- unexpected-pass: the case says `expect_fail:` and it passed: fails the run
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields

PASS, FAIL, ERROR, FLAKY, EXPECTED_FAIL, UNEXPECTED_PASS = (
    "pass", "fail", "error", "flaky", "expected-fail", "unexpected-pass")
STATUSES = (PASS, FAIL, ERROR, FLAKY, EXPECTED_FAIL, UNEXPECTED_PASS)
# The statuses that leave the run green.
GOOD = frozenset({PASS, FLAKY, EXPECTED_FAIL})
# One attempt's own outcome.
OUTCOMES = ("pass", "fail", "error")

RUN_FILE = "kickgen-run.json"        # in each matrix run's artefact folder
RUN_FILE_FORMAT = "kickgen-run v1"


def case_status(outcomes: list[str] | tuple[str, ...], expect_fail: str | None) -> str:
    """A case's status in one run from its attempts' outcomes, in order (see the module doc)."""
    if not outcomes:
        raise ValueError("a case has at least one attempt")
    last = outcomes[-1]
    if last == "error" and "pass" not in outcomes:
        return ERROR
    if expect_fail:
        return UNEXPECTED_PASS if "pass" in outcomes else EXPECTED_FAIL
    if last == "pass":
        return FLAKY if len(outcomes) > 1 else PASS
    return FLAKY if "pass" in outcomes else FAIL


@dataclass(frozen=True)
class Excerpt:
    """Serial-log lines around a failure: `lines` start at line `first` (1-based) of `log` (a
    file name in the attempt's folder); `mark` is the index in `lines` of the failure line, or -1."""

    log: str
    first: int
    lines: tuple[str, ...]
    mark: int = -1


@dataclass(frozen=True)
class CaseRecord:
    """One attempt of one case in one run."""

    label: str                     # the case id: <profile label>/<firmware>/<medium>
    attempt: int                   # 1, 2, ... (--retries)
    profile: str
    firmware: str
    medium: str
    host: str                      # libvirt URI
    accel: str                     # KVM | TCG | "" (could not run)
    outcome: str                   # this attempt: pass | fail | error
    status: str                    # the case in this run (STATUSES), the same on every attempt
    verdict: str                   # one line
    failed: tuple[str, ...] = ()   # failed assertions and phases, one line each
    install_outcome: str = ""      # ok | failed | timeout | stall | not-run | "" (no run)
    install_seconds: float | None = None
    boot_outcome: str = ""
    boot_seconds: float | None = None
    kickgen_version: str = ""
    iso_sha256: str | None = None  # the media booted
    ks_sha256: str | None = None   # the kickstart on it
    artifacts: str = ""            # this attempt's folder (absolute in memory; see db.py on disk)
    expect_fail: str | None = None  # the reason, when the case is expected to fail
    screenshot: str | None = None  # file name in `artifacts` of the last failure screen
    excerpt: Excerpt | None = None
    seconds: float = 0.0

    @property
    def inputs(self) -> tuple[str, str | None, str | None]:
        """What kickgen put into this case: flaky means different results on equal inputs."""
        return (self.kickgen_version, self.iso_sha256, self.ks_sha256)


@dataclass(frozen=True)
class RunRecord:
    run_id: str                    # unique (uuid4 hex)
    started: str                   # UTC, ISO 8601 with seconds: 2024-05-01T02:00:00Z
    machine: str                   # host name of the machine that ran kickgen
    matrix: str                    # the matrix file's name
    kickgen_version: str
    artifacts: str                 # the run's artefact folder
    passed: bool
    seconds: float = 0.0
    shard: str | None = None       # "K/N" with --shard
    retries: int = 0
    cases: tuple[CaseRecord, ...] = field(default=())


def excerpt_to_json(excerpt: Excerpt | None) -> str | None:
    return None if excerpt is None else json.dumps(asdict(excerpt), separators=(",", ":"))


def excerpt_from_json(text: str | None) -> Excerpt | None:
    """An excerpt from the DB or a run file; anything malformed (an imported file) reads as None."""
    if not text:
        return None
    try:
        data = json.loads(text)
        lines = tuple(str(line) for line in data["lines"])
        return Excerpt(str(data["log"]), int(data["first"]), lines, int(data.get("mark", -1)))
    except (ValueError, TypeError, KeyError, AttributeError):
        return None


def run_to_data(run: RunRecord) -> dict:
    """A run as JSON data (the run file), the cases' artefact folders as given."""
    data = {f.name: getattr(run, f.name) for f in fields(RunRecord) if f.name != "cases"}
    data["cases"] = []
    for case in run.cases:
        item = {f.name: getattr(case, f.name) for f in fields(CaseRecord)}
        item["failed"] = list(case.failed)
        item["excerpt"] = asdict(case.excerpt) if case.excerpt else None
        data["cases"].append(item)
    return data


class RecordError(ValueError):
    """A run file or database row that is not what kickgen writes (names the field)."""


def _text(data: dict, key: str, *, optional: bool = False) -> str | None:
    value = data.get(key)
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise RecordError(f"{key}: expected a string, got {type(value).__name__}")
    return value


def _number(data: dict, key: str, *, optional: bool = False) -> float | None:
    value = data.get(key)
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise RecordError(f"{key}: expected a number, got {type(value).__name__}")
    return float(value)


def case_from_data(data: dict) -> CaseRecord:
    if not isinstance(data, dict):
        raise RecordError("cases[]: expected a mapping")
    outcome, status = _text(data, "outcome"), _text(data, "status")
    if outcome not in OUTCOMES:
        raise RecordError(f"outcome: {outcome!r} is not one of {', '.join(OUTCOMES)}")
    if status not in STATUSES:
        raise RecordError(f"status: {status!r} is not one of {', '.join(STATUSES)}")
    attempt = data.get("attempt")
    if not isinstance(attempt, int) or isinstance(attempt, bool) or attempt < 1:
        raise RecordError(f"attempt: expected a whole number >= 1, got {attempt!r}")
    failed = data.get("failed") or []
    if not isinstance(failed, list) or not all(isinstance(x, str) for x in failed):
        raise RecordError("failed: expected a list of strings")
    excerpt = data.get("excerpt")
    return CaseRecord(
        label=_text(data, "label") or "", attempt=attempt, profile=_text(data, "profile") or "",
        firmware=_text(data, "firmware") or "", medium=_text(data, "medium") or "",
        host=_text(data, "host") or "", accel=_text(data, "accel") or "", outcome=outcome, status=status,
        verdict=_text(data, "verdict") or "", failed=tuple(failed),
        install_outcome=_text(data, "install_outcome") or "",
        install_seconds=_number(data, "install_seconds", optional=True),
        boot_outcome=_text(data, "boot_outcome") or "",
        boot_seconds=_number(data, "boot_seconds", optional=True),
        kickgen_version=_text(data, "kickgen_version") or "",
        iso_sha256=_text(data, "iso_sha256", optional=True), ks_sha256=_text(data, "ks_sha256", optional=True),
        artifacts=_text(data, "artifacts") or "", expect_fail=_text(data, "expect_fail", optional=True),
        screenshot=_text(data, "screenshot", optional=True),
        excerpt=excerpt_from_json(json.dumps(excerpt)) if isinstance(excerpt, dict) else None,
        seconds=_number(data, "seconds", optional=True) or 0.0)


def run_from_data(data: object) -> RunRecord:
    """A run file's data -> RunRecord; RecordError names the first field that is wrong."""
    if not isinstance(data, dict) or data.get("format") != RUN_FILE_FORMAT:
        raise RecordError(f"not a kickgen run file (no \"format\": \"{RUN_FILE_FORMAT}\")")
    cases = data.get("cases")
    if not isinstance(cases, list):
        raise RecordError("cases: expected a list")
    shard = _text(data, "shard", optional=True)
    retries = data.get("retries", 0)
    if not isinstance(retries, int) or isinstance(retries, bool) or retries < 0:
        raise RecordError(f"retries: expected a whole number >= 0, got {retries!r}")
    passed = data.get("passed")
    if not isinstance(passed, bool):
        raise RecordError("passed: expected true or false")
    records = []
    for n, item in enumerate(cases):
        try:
            records.append(case_from_data(item))
        except RecordError as exc:
            raise RecordError(f"cases[{n}].{exc}") from None
    return RunRecord(run_id=_text(data, "run_id") or "", started=_text(data, "started") or "",
                     machine=_text(data, "machine") or "", matrix=_text(data, "matrix") or "",
                     kickgen_version=_text(data, "kickgen_version") or "", artifacts=_text(data, "artifacts") or "",
                     passed=passed, seconds=_number(data, "seconds", optional=True) or 0.0, shard=shard,
                     retries=retries, cases=tuple(records))
