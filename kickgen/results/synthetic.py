"""Made-up nightly history for benchmarks, tests and the README's screenshot (not for real use).

    runs = synthetic_runs(["a/bios/cd", ...], nights=30, end="2024-05-30T02:00:00Z")
    add_runs(db_path, runs)

Every night runs every case; the inputs change as they do in real life (a kickgen release
halfway, a weekly rebuild of the media, kickstart edits), and a few cases are given a story,
chosen by a seeded random generator so the same arguments give the same history:
a regression that starts when its kickstart changed and lasts to the last night, a flaky case
(passes and fails on the same inputs), an expected failure, a night it could not run. With
`like=` (a real run) the nights come before that run, use its cases' profiles, hosts and
`expect_fail`, and the last nights have its inputs.
"""

from __future__ import annotations

import hashlib
import random
import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from kickgen.results.db import connect
from kickgen.results.model import (
    ERROR,
    EXPECTED_FAIL,
    FAIL,
    FLAKY,
    PASS,
    CaseRecord,
    Excerpt,
    RunRecord,
)

TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def _sha(*parts: object) -> str:
    return hashlib.sha256("/".join(map(str, parts)).encode()).hexdigest()


def _parse(started: str) -> datetime:
    return datetime.strptime(started, TIME_FORMAT).replace(tzinfo=UTC)


def synthetic_runs(labels: Sequence[str], nights: int = 30, *, end: str = "2024-05-30T02:00:00Z",
                   seed: int = 15, like: RunRecord | None = None) -> list[RunRecord]:
    """NIGHTS runs of LABELS, one a night, the last at END (or the night before LIKE)."""
    rng = random.Random(seed)
    templates = {c.label: c for c in like.cases} if like else {}
    last_night = _parse(like.started) - timedelta(days=1) if like else _parse(end)
    labels = list(labels) or list(templates)
    stories = _stories(labels, rng, templates)
    runs = []
    for night in range(nights):
        started = last_night - timedelta(days=nights - 1 - night)
        version = "0.0.9" if night < nights // 2 else "0.1.0"
        if like is not None and night >= nights - 3:
            version = like.kickgen_version
        cases = []
        for index, label in enumerate(labels):
            cases.append(_case(label, index, night, nights, version, stories.get(label, "pass"), rng,
                               templates.get(label)))
        run_id = uuid.UUID(int=rng.getrandbits(128), version=4).hex
        runs.append(RunRecord(run_id=run_id, started=started.strftime(TIME_FORMAT), machine="nightly-1",
                              matrix="matrix-example.yaml", kickgen_version=version,
                              artifacts=f"/srv/nightly/{started:%Y%m%d}", passed=all(
                                  c.status in (PASS, FLAKY, EXPECTED_FAIL) for c in cases),
                              seconds=sum(c.seconds for c in cases) / 2, cases=tuple(cases)))
    return runs


def _stories(labels: list[str], rng: random.Random, templates: dict[str, CaseRecord]) -> dict[str, str]:
    stories = {label: "expected" for label, t in templates.items() if t.expect_fail}
    free = [label for label in labels if label not in stories]
    count = max(1, len(free) // 40)     # a few of each in a big matrix, one in a small one
    picked = rng.sample(free, min(len(free), 4 * count)) if free else []
    for n, label in enumerate(picked):
        stories[label] = ("regression", "flaky", "error-once", "expected")[n % 4]
    if not templates:
        return stories
    # with a real run: its last nights agree with it (the regression ends before it, say)
    return {label: ("fixed" if story == "regression" and templates.get(label)
                    and templates[label].status == PASS else story) for label, story in stories.items()}


def _case(label: str, index: int, night: int, nights: int, version: str, story: str, rng: random.Random,
          template: CaseRecord | None) -> CaseRecord:
    profile_label, _, rest = label.partition("/")
    firmware, _, medium = rest.partition("/")
    week = night // 7
    iso = _sha("iso", profile_label, medium, week, version)
    ks_edit = night >= nights - 5 and story in ("regression", "fixed")
    ks = _sha("ks", profile_label, "edited" if ks_edit else "v1")
    if template is not None and night >= nights - 3:
        iso, ks = template.iso_sha256 or iso, template.ks_sha256 or ks
    install = round(rng.gauss(60 if firmware == "bios" else 70, 6), 1)
    boot = round(rng.gauss(20, 2.5), 1)
    status, outcome = PASS, "pass"
    if story == "regression" and ks_edit:
        status = outcome = FAIL
    elif story == "fixed" and ks_edit and night < nights - 2:
        status = outcome = FAIL
    elif story == "flaky" and night % 3 == 1:
        status = outcome = FAIL
    elif story == "error-once" and night == nights // 2:
        status, outcome = ERROR, "error"
    elif story == "expected":
        status, outcome = EXPECTED_FAIL, "fail"
    record = CaseRecord(
        label=label, attempt=1, profile=template.profile if template else profile_label, firmware=firmware or "bios",
        medium=medium or "cd", host=template.host if template else f"qemu+ssh://root@vmhost{index % 3 + 1}/system",
        accel=template.accel if template else "KVM", outcome=outcome, status=status, verdict="",
        install_outcome="ok", install_seconds=install, boot_outcome="ok", boot_seconds=boot,
        kickgen_version=version, iso_sha256=iso, ks_sha256=ks, artifacts="",
        expect_fail=(template.expect_fail if template else None) or
        ("docker.enable_service=false: docker is not running" if story == "expected" else None),
        seconds=install + boot + 8)
    where = f"{record.profile} {record.firmware}/{record.medium} {record.accel}"
    if status == PASS:
        return replace(record, verdict=f"PASS {where}: 6 assertions held (install {install:.0f}s, boot {boot:.0f}s)")
    if status == ERROR:
        return replace(record, accel="", install_outcome="", install_seconds=None, boot_outcome="",
                       boot_seconds=None, iso_sha256=None, seconds=2.0,
                       verdict=f"ERROR {label}: cannot connect to libvirt at {record.host}",
                       failed=(f"setup: cannot connect to libvirt at {record.host}",))
    if story == "flaky":
        line = "kickgen-standin: ERROR: cannot read /dev/sr0: Input/output error"
        return replace(record, install_outcome="failed", boot_outcome="not-run", boot_seconds=None,
                       verdict=f"FAIL {where}: install failed: the stand-in installer reported an error: {line}",
                       failed=(f"install: failed: {line}",),
                       excerpt=Excerpt("install-serial.log", 40, (
                           "kickgen-standin: installer starting (ks=cdrom:/ks.cfg)",
                           "kickgen-standin: mounting the install source", line,
                           "kickgen-standin: waiting at prompt (as the EL6 installer would)"), 2))
    failed = "docker_running: FAILED: expected docker running, got docker not running (service docker status rc=3)"
    return replace(record, verdict=f"FAIL {where}: {failed} (install {install:.0f}s, boot {boot:.0f}s)",
                   failed=(failed,), excerpt=Excerpt("boot-serial.log", 112, (
                       "Starting docker: [FAILED]",
                       f'KICKGEN-REPORT v1 {{"profile":"{record.profile}","docker_status_rc":3}}',
                       "Power down."), 1))


def add_runs(db: Path, runs: Sequence[RunRecord]) -> None:
    """Write RUNS into the database at DB (made when absent) in one transaction."""
    from kickgen.results.db import _insert

    conn = connect(db, create=True)
    try:
        with conn:
            _insert(conn, runs, Path(db).parent)
    finally:
        conn.close()


def synthetic_labels(count: int) -> list[str]:
    """COUNT case labels as a big matrix has them: profiles x bios/uefi x cd/usb."""
    combos = [(f, m) for f in ("bios", "uefi") for m in ("cd", "usb")]
    return [f"profile-{n // 4:03d}/{combos[n % 4][0]}/{combos[n % 4][1]}" for n in range(count)]
