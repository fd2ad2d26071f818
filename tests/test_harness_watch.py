"""The phase watch's stall and timeout logic on a fake clock and a fake guest (no VM, no libvirtd).

The real-VM runs of the same rules are in tests/test_harness_vm.py; here each rule is checked to
the poll, with its negative, in milliseconds. The fake guest follows a script keyed by the fake
clock: serial lines appear in the log file, disk write counters grow, the power state changes.
"""

from __future__ import annotations

import json
from pathlib import Path

import libvirt
import pytest

from kickgen.vm.domain import DomainSpec
from kickgen.vm.harness import POLL_SECONDS, REPORT_POWEROFF_GRACE, Clock, Progress, _PhaseWatch

# A watch that slept for real would run into this long before any stall or timeout fired.
pytestmark = pytest.mark.timeout(20)


class FakeClock:
    """Time moves only when the watch sleeps; each sleep lets the guest act on its script."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.guest: FakeGuest | None = None

    def sleep(self, seconds: float) -> None:
        self.now += seconds
        if self.guest is not None:
            self.guest.advance(self.now)

    def clock(self) -> Clock:
        return Clock(now=lambda: self.now, sleep=self.sleep)


class FakeGuest:
    """What _PhaseWatch reads from a libvirt domain: state, block stats, tray, destroy."""

    def __init__(self, clock: FakeClock, serial: Path) -> None:
        self.clock = clock
        self.serial = serial
        self.start = clock.now
        self.events: list[tuple[float, str, object]] = []   # (seconds after start, what, value)
        self.writes = 0
        self.running = True
        self.destroyed_at: float | None = None
        clock.guest = self

    # the script --------------------------------------------------------------------------
    def line(self, at: float, text: str) -> FakeGuest:
        self.events.append((at, "line", text))
        return self

    def disk_write(self, at: float) -> FakeGuest:
        self.events.append((at, "write", 1))
        return self

    def power_off(self, at: float) -> FakeGuest:
        self.events.append((at, "off", None))
        return self

    def every(self, step: float, until: float, what: str) -> FakeGuest:
        at = step
        while at <= until:
            if what == "line":
                self.line(at, f"working at {at:.0f}s")
            else:
                self.disk_write(at)
            at += step
        return self

    def advance(self, now: float) -> None:
        due = sorted((e for e in self.events if self.start + e[0] <= now), key=lambda e: e[0])
        self.events = [e for e in self.events if self.start + e[0] > now]
        for _, what, value in due:
            if not self.running:
                break
            if what == "line":
                with self.serial.open("a") as log:
                    log.write(f"{value}\n")
            elif what == "write":
                self.writes += 1
            else:
                self.running = False

    # the libvirt domain calls the harness makes ---------------------------------------------
    def state(self) -> list[int]:
        return [libvirt.VIR_DOMAIN_RUNNING if self.running else libvirt.VIR_DOMAIN_SHUTOFF, 0]

    def blockStats(self, target: str) -> tuple[int, int, int, int, int]:
        if not self.running:
            raise libvirt.libvirtError("domain is not running")
        return (0, 0, self.writes, self.writes * 4096, 0)

    def isActive(self) -> bool:
        return self.running

    def destroy(self) -> None:
        self.running = False
        self.destroyed_at = self.clock.now - self.start

    def name(self) -> str:
        return "kickgen-unit"


class NoScreenConnection:
    """Screenshots fail the way they do on a host without a display: a warning, no file."""

    def newStream(self, flags: int) -> None:
        raise libvirt.libvirtError("no screen in the unit tests")


def watch(tmp_path: Path, script, *, stall: int, timeout: int, want_report: bool = False,
          phase: str = "install", progress=None):
    """Run one phase under the fake clock; returns (PhaseResult, guest, watch)."""
    fake = FakeClock()
    serial = tmp_path / f"{phase}-serial.log"
    guest = script(FakeGuest(fake, serial))
    spec = DomainSpec(name="kickgen-unit", uuid="00000000-0000-0000-0000-000000000000", profile="unit",
                      phase=phase, domain_type="qemu", firmware="bios", medium="cd", iso="/unit.iso",
                      pool="unit", volume="unit.qcow2", serial_log=str(serial))
    phase_watch = _PhaseWatch(NoScreenConnection(), "test:///default", "kickgen-unit", "TCG", tmp_path,
                              stall, progress, clock=fake.clock())
    result = phase_watch._watch(guest, spec, timeout, want_report, fake.now)
    return result, guest, phase_watch


# --- stall ----------------------------------------------------------------------------------

def test_a_silent_guest_stalls_after_stall_seconds(tmp_path):
    result, guest, _ = watch(tmp_path, lambda g: g.line(0.5, "kickgen-standin: installer starting"),
                             stall=60, timeout=600)
    assert result.outcome == "stall"
    # the first poll after 60 s without a line or a write (the last activity was at 1 s)
    assert 61 < result.seconds <= 61 + POLL_SECONDS, result.seconds
    assert result.reason == ("stall: no serial output and no disk writes for 60s (vm.stall_seconds); "
                             "last console line: kickgen-standin: installer starting")
    assert result.excerpt == ("kickgen-standin: installer starting",)
    assert guest.destroyed_at == pytest.approx(result.seconds)


def test_stall_counts_from_the_last_activity_not_from_the_start(tmp_path):
    result, _, _ = watch(tmp_path, lambda g: g.every(10, 100, "line"), stall=60, timeout=600)
    assert result.outcome == "stall"
    assert 160 < result.seconds <= 160 + POLL_SECONDS, result.seconds
    assert result.reason.endswith("last console line: working at 100s")


def test_disk_writes_without_console_output_are_not_a_stall(tmp_path):
    """A quiet installer that is writing the disk (package installs print nothing for minutes)."""
    result, _, _ = watch(tmp_path, lambda g: g.every(20, 400, "write").power_off(401), stall=60, timeout=600)
    assert result.outcome == "ok", result.reason
    assert 401 <= result.seconds <= 401 + POLL_SECONDS


def test_console_output_without_disk_writes_is_not_a_stall(tmp_path):
    result, _, _ = watch(tmp_path, lambda g: g.every(50, 400, "line").power_off(401), stall=60, timeout=600)
    assert result.outcome == "ok", result.reason


def test_a_first_disk_counter_reading_is_not_activity(tmp_path):
    """The counters read once at the start are a baseline, not a write: silence still stalls."""
    result, _, _ = watch(tmp_path, lambda g: g, stall=30, timeout=600)
    assert result.outcome == "stall"
    assert 30 < result.seconds <= 30 + POLL_SECONDS


def test_one_second_of_silence_short_of_stall_seconds_is_not_a_stall(tmp_path):
    result, _, _ = watch(tmp_path, lambda g: g.line(1, "a").line(60, "b").power_off(119), stall=60, timeout=600)
    assert result.outcome == "ok", result.reason


# --- timeout --------------------------------------------------------------------------------

def test_a_busy_guest_is_stopped_by_the_absolute_timeout(tmp_path):
    result, guest, _ = watch(tmp_path, lambda g: g.every(5, 1000, "line"), stall=60, timeout=120)
    assert result.outcome == "timeout"
    assert 120 < result.seconds <= 120 + POLL_SECONDS, result.seconds
    assert result.reason.startswith("absolute timeout: 120s passed (--timeout-install); last console line: "
                                    "working at 1")
    assert guest.destroyed_at is not None


def test_powering_off_before_the_timeout_is_not_a_timeout(tmp_path):
    result, _, _ = watch(tmp_path, lambda g: g.every(5, 115, "line").power_off(118), stall=60, timeout=120)
    assert result.outcome == "ok", result.reason
    assert result.reason == "the installer powered off (or rebooted) the machine"


def test_the_timeout_wins_when_it_comes_before_the_stall(tmp_path):
    result, _, _ = watch(tmp_path, lambda g: g, stall=600, timeout=25)
    assert result.outcome == "timeout"
    assert result.reason.startswith("absolute timeout: 25s passed (--timeout-install)")


def test_the_stall_wins_when_it_comes_before_the_timeout(tmp_path):
    result, _, _ = watch(tmp_path, lambda g: g, stall=15, timeout=240)
    assert result.outcome == "stall"
    assert result.reason.startswith("stall: no serial output and no disk writes for 15s")


# --- the rest of a phase's ends, on the same clock ----------------------------------------------

def test_a_failure_line_ends_the_phase_after_the_grace_for_the_lines_that_follow(tmp_path):
    result, _, _ = watch(tmp_path, lambda g: g.line(3, "kickgen-standin: ERROR: kickstart file not found: "
                                                       "ks=cdrom:/ks.cfg").line(4, "waiting"),
                         stall=60, timeout=600)
    assert result.outcome == "failed"
    assert result.reason.startswith("the installer did not find the kickstart: ")
    assert "waiting" in result.excerpt        # read after the grace, quoted in the excerpt
    assert result.seconds < 10


def test_the_boot_phase_ends_on_the_report_and_waits_for_power_off(tmp_path):
    report = {"profile": "unit", "ks_sha256": "0" * 64, "kernel_release": "2.6.32", "aufs": False,
              "docker_status_rc": 0, "docker_info": "", "default_entry_title": "CentOS"}
    line = "KICKGEN-REPORT v1 " + json.dumps(report)
    result, _, phase_watch = watch(tmp_path, lambda g: g.line(20, line), stall=60, timeout=600,
                                   want_report=True, phase="boot")
    assert result.outcome == "ok"
    assert phase_watch.report is not None and phase_watch.report.profile == "unit"
    # the guest never powered itself off: the watch gave it the grace, then stopped it
    assert 20 + REPORT_POWEROFF_GRACE <= result.seconds <= 22 + REPORT_POWEROFF_GRACE + POLL_SECONDS


def test_a_boot_phase_that_powers_off_without_a_report_fails(tmp_path):
    result, _, _ = watch(tmp_path, lambda g: g.line(5, "booting").power_off(10), stall=60, timeout=600,
                         want_report=True, phase="boot")
    assert result.outcome == "failed"
    assert result.reason == "the installed system powered off without a KICKGEN-REPORT line"


def test_progress_reports_elapsed_time_from_the_clock(tmp_path):
    seen: list[Progress] = []
    watch(tmp_path, lambda g: g.line(1, "hello").power_off(5), stall=60, timeout=600, progress=seen.append)
    assert [round(p.elapsed) for p in seen] == [0, 1, 2, 3, 4]
    assert seen[-1].last_line == "hello" and seen[-1].phase == "install" and seen[-1].accel == "TCG"
