"""The report's content as data: from the results history to what each case shows. No I/O.

A case's display state comes from its latest run, with one rule across runs: a case that both
passed and failed (or could not run) on the same inputs -- the same kickgen version, ISO sha256
and kickstart sha256 -- within the runs shown is FLAKY, not failing (a retry that passed after
a failure, inside one run, is flaky too). For a failing case the report finds the first run of
its current streak and says which inputs changed between the run before it and that run.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from markupsafe import Markup

from kickgen.report import svg
from kickgen.report.style import EXPLAIN, STATES
from kickgen.results.db import CaseRun, History
from kickgen.results.model import (
    ERROR,
    EXPECTED_FAIL,
    FAIL,
    FLAKY,
    PASS,
    UNEXPECTED_PASS,
    CaseRecord,
    Excerpt,
)

FAILING = frozenset({FAIL, ERROR, UNEXPECTED_PASS})
INPUT_NAMES = ("kickgen version", "ISO", "kickstart")
# the order of the failure sections: what needs a person first
SECTION_ORDER = {"unexpected-pass": 0, "fail": 1, "error": 2, "flaky": 3, "expected-fail": 4, "pass": 5}


def display_state(runs: tuple[CaseRun, ...]) -> tuple[str, str]:
    """(state, why) of a case from its runs, oldest first (see the module doc)."""
    latest = runs[-1]
    status = latest.status
    if status in (EXPECTED_FAIL, UNEXPECTED_PASS):
        return status, EXPLAIN[status]
    if status == FLAKY:
        return FLAKY, "failed, then passed on a retry in the same run"
    inputs = latest.last.inputs
    same = [r for r in runs if r.last.inputs == inputs]
    passed = any(r.status in (PASS, FLAKY) for r in same)
    failed = any(r.status in (FAIL, ERROR, FLAKY) for r in same)
    if passed and failed:
        word = "passed" if status == PASS else "failed"
        other = sum(1 for r in same if (r.status in (PASS, FLAKY)) != (status == PASS))
        return FLAKY, (f"{word} in the latest run, but {other} of the {len(same)} runs with the same inputs "
                       f"(kickgen version, ISO, kickstart) had the other result")
    return status, EXPLAIN[status]


@dataclass(frozen=True)
class Streak:
    since: CaseRun                 # the first failing run of the current streak
    runs: int                      # failing runs in a row, up to the latest
    before: CaseRun | None         # the run before it (None: the streak reaches past the runs shown)
    changed: tuple[str, ...]       # which of INPUT_NAMES differ between `before` and `since`


def streak(runs: tuple[CaseRun, ...]) -> Streak | None:
    """The current failure streak of a failing case (runs oldest first), or None."""
    if runs[-1].status not in FAILING:
        return None
    start = len(runs) - 1
    while start > 0 and runs[start - 1].status in FAILING:
        start -= 1
    before = runs[start - 1] if start > 0 else None
    changed: tuple[str, ...] = ()
    if before is not None:
        changed = tuple(name for name, a, b in zip(INPUT_NAMES, before.last.inputs, runs[start].last.inputs,
                                                   strict=True) if a != b)
    return Streak(runs[start], len(runs) - start, before, changed)


def anchor(label: str) -> str:
    """An id for the case's section: readable, unique, safe in a URL fragment."""
    readable = "".join(ch if ch.isascii() and ch.isalnum() else "-" for ch in label)[:48].strip("-")
    return f"case-{readable}-{hashlib.sha256(label.encode('utf-8', 'surrogatepass')).hexdigest()[:8]}"


def printable(text: str) -> str:
    """Control characters of a log line shown as escapes (\\x1b), not passed to the page raw."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() or ch == "\t" else repr(ch)[1:-1] for ch in text)


def seconds(value: float | None, outcome: str = "ok") -> str:
    if value is None:
        return "–" if not outcome or outcome == "not-run" else outcome
    shown = f"{value:.0f} s"
    return shown if outcome in ("ok", "") else f"{outcome} {shown}"


def short_time(started: str) -> str:
    """2024-05-30T02:00:00Z -> 2024-05-30 02:00 UTC."""
    return f"{started[:10]} {started[11:16]} UTC" if len(started) >= 16 else started


def short_sha(value: str | None) -> str:
    return value[:12] if value else "none"


@dataclass(frozen=True)
class Link:
    text: str
    href: str


@dataclass
class AttemptView:
    number: int
    outcome: str
    verdict: str
    folder: str                                  # where its artefacts are (shown)
    links: list[Link] = field(default_factory=list)
    missing: bool = False                        # its folder is not on this machine


@dataclass
class Image:
    src: str                                     # relative URL
    alt: str
    source: str                                  # the screenshot it copies (absolute path)
    name: str                                    # file name in the images folder


@dataclass
class CaseView:
    label: str
    anchor: str
    state: str
    word: str
    why: str
    latest: CaseRecord                           # the last attempt of the latest run
    run_started: str
    run_machine: str
    install: str
    boot: str
    strip: Markup
    plot: Markup
    history_runs: int
    shown: CaseRun | None = None                 # the run whose failure the section shows
    failure: CaseRecord | None = None            # the attempt it shows
    attempts: list[AttemptView] = field(default_factory=list)
    excerpt: Excerpt | None = None
    image: Image | None = None
    streak: Streak | None = None
    streak_text: str = ""

    @property
    def has_section(self) -> bool:
        return self.state != "pass"


def case_view(label: str, runs: tuple[CaseRun, ...]) -> CaseView:
    latest_run = runs[-1]
    latest = latest_run.last
    state, why = display_state(runs)
    points = [svg.Point(r.status if r.status in STATES else "none", short_time(r.run.started),
                        r.last.install_seconds, r.last.boot_seconds) for r in runs]
    view = CaseView(label=label, anchor=anchor(label), state=state, word=STATES[state][0], why=why, latest=latest,
                    run_started=short_time(latest_run.run.started), run_machine=latest_run.run.machine,
                    install=seconds(latest.install_seconds, latest.install_outcome),
                    boot=seconds(latest.boot_seconds, latest.boot_outcome),
                    strip=svg.strip(points, label), plot=svg.plot(points, label), history_runs=len(runs))
    if state == "pass":
        return view
    shown = latest_run
    if not any(a.outcome != "pass" for a in shown.attempts):          # flaky, passed this time
        shown = next((r for r in reversed(runs) if any(a.outcome != "pass" for a in r.attempts)), latest_run)
    view.shown = shown
    failing = [a for a in shown.attempts if a.outcome != "pass"]
    view.failure = failing[-1] if failing else shown.last
    view.excerpt = view.failure.excerpt
    found = streak(runs) if state in FAILING else None
    view.streak = found
    if found is not None:
        view.streak_text = _streak_text(found, len(runs))
    return view


def _streak_text(found: Streak, shown: int) -> str:
    since = short_time(found.since.run.started)
    count = f"{found.runs} run{'s' if found.runs != 1 else ''} in a row"
    if found.before is None:
        if shown == 1:
            return f"Failing in the only run shown ({since})."
        return f"Failing in every one of the {shown} runs shown (since at least {since}; {count})."
    if not found.changed:
        return (f"Failing since {since} ({count}). Nothing kickgen records changed at that point: "
                "the kickgen version, ISO and kickstart were those of the passing run before it; "
                "look at the host (libvirt, qemu, load).")
    a, b = found.before.last, found.since.last
    details = []
    for name, old, new in zip(INPUT_NAMES, a.inputs, b.inputs, strict=True):
        if name in found.changed:
            old_text = old if name == "kickgen version" else short_sha(old)
            new_text = new if name == "kickgen version" else short_sha(new)
            details.append(f"{name} {old_text} → {new_text}")
    return (f"Failing since {since} ({count}). Changed from the run before "
            f"({short_time(found.before.run.started)}): {'; '.join(details)}.")


@dataclass
class ReportView:
    title: str
    generated: str
    kickgen_version: str
    db_name: str
    runs_shown: int
    total_runs: int
    newest: list                                 # RunRecords of the latest runs (newest first)
    cases: list[CaseView]
    sections: list[CaseView]
    counts: list[tuple[str, str, int]]           # (state, word, count), in STATES order
    images_dir: str = ""


def report_view(history: History, *, generated: str, kickgen_version: str, title: str = "") -> ReportView:
    cases = [case_view(label, runs) for label, runs in sorted(history.cases.items())]
    sections = sorted((c for c in cases if c.has_section), key=lambda c: (SECTION_ORDER[c.state], c.label))
    counts = [(state, STATES[state][0], sum(1 for c in cases if c.state == state)) for state in STATES]
    newest_started = history.runs[0].started[:10] if history.runs else ""
    latest = [r for r in history.runs if r.started[:10] == newest_started] if history.runs else []
    return ReportView(title=title or "kickgen boot tests", generated=generated, kickgen_version=kickgen_version,
                      db_name=history.db.name, runs_shown=len(history.runs), total_runs=history.total_runs,
                      newest=latest, cases=cases, sections=sections,
                      counts=[c for c in counts if c[2]])
