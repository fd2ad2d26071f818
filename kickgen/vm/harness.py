"""The boot test: install the (remastered) ISO into a fresh disk, boot the disk, judge the report.

    boot_test(iso, profile, firmware="bios", medium="cd") -> BootTestResult
    pxe_boot_test(tftp_dir, mac, profile, host_name=..., server_port=...) -> BootTestResult
        the same with no install medium: the machine PXE-boots (kickgen/vm/pxe.py)

Reads like its steps: connect and pick KVM or TCG; create the disk volume; install phase
(ISO attached, a reboot or power-off ends it); boot phase (disk alone, until the first-boot
report line); assertions from `profile.expect`; artefacts. Cleanup always runs unless keep=True.
Install and boot failures and failed assertions are results (passed=False, exit code 1);
only environment problems (no libvirtd, no permission) raise.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import libvirt

from kickgen.core.atomic import write_json, write_text
from kickgen.core.errors import HarnessError, UsageError
from kickgen.core.resources import artifacts_dir
from kickgen.vm import host as vmhost
from kickgen.vm.console import BootReport, SerialTail, find_report, match_failure, parse_report, tail_lines
from kickgen.vm.domain import FIRMWARES, MEDIA, DomainSpec, render_domain_xml
from kickgen.vm.pxe import (
    BOOTFILES,
    DEFAULT_ADDRESS,
    PxeDomainSpec,
    PxeNic,
    check_request,
    confinement,
    owner_from_label,
    render_pxe_xml,
    stage,
)
from kickgen.vm.verdict import Assertion, JUnitCase, check_expectations, junit_xml

log = logging.getLogger(__name__)

POLL_SECONDS = 1.0
REPORT_POWEROFF_GRACE = 30     # seconds the boot phase waits for the box to power off after its report
EXCERPT_LINES = 15
FAILURE_GRACE = 3          # seconds to collect the lines that follow a failure line
MAX_EXTRA_DISKS = 3
EXTRA_DISK_GB = 2          # more than the 100 MB for which EL6's autopart puts an LVM PV on a disk
# The installer starting (stand-in, anaconda 13.21's loader and stage 2): in the boot phase of a
# run that kept the medium, the machine is reinstalling itself.
INSTALLER_START = re.compile(r"kickgen-standin: installer starting|Running anaconda|"
                             r"Welcome to CentOS for x86_64")
TRAY_POLL_SECONDS = 0.25   # the installer ejects, then reboots a second or more later


@dataclass(frozen=True)
class Progress:
    """What the live display shows."""

    run: str
    phase: str
    elapsed: float
    last_line: str
    accel: str = ""


ProgressFn = Callable[[Progress], None]


@dataclass(frozen=True)
class Clock:
    """Where the phase watch reads the time and waits; unit tests pass a fake one."""

    now: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep


SYSTEM_CLOCK = Clock()


@dataclass(frozen=True)
class PhaseResult:
    phase: str                     # install | boot
    outcome: str                   # ok | failed | timeout | stall | not-run
    reason: str                    # one line; why it failed, or what ended it
    seconds: float
    serial_log: Path
    excerpt: tuple[str, ...] = ()  # serial lines quoted on failure
    screenshot: Path | None = None
    notes: tuple[str, ...] = ()    # error lines that did not end the phase (e.g. a boot-time mount)

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"


@dataclass(frozen=True)
class BootTestResult:
    name: str                      # the libvirt domain (unique per run)
    profile: str
    firmware: str
    medium: str
    connect: str
    accel: str                     # KVM | TCG
    accel_reason: str
    phases: tuple[PhaseResult, ...]
    report: BootReport | None
    assertions: tuple[Assertion, ...]
    passed: bool
    verdict: str                   # one line
    artifacts: Path
    volumes: tuple[str, ...]
    kept: bool
    seconds: float
    cleanup_problems: tuple[str, ...] = field(default=())
    host: str | None = None        # network boot tests: the inventory host installed

    @property
    def exit_code(self) -> int:
        return 0 if self.passed else 1

    def junit_cases(self) -> list[JUnitCase]:
        who = f"{self.host}.{self.profile}" if self.host else self.profile
        classname = f"kickgen.{who}.{self.firmware}-{self.medium}"
        cases = []
        for phase in self.phases:
            if phase.outcome == "not-run":
                cases.append(JUnitCase(classname, phase.phase, 0.0, skipped=phase.reason))
            else:
                cases.append(JUnitCase(classname, phase.phase, phase.seconds,
                                       failure=None if phase.ok else f"{phase.outcome}: {phase.reason}",
                                       details="\n".join(phase.excerpt)))
        for check in self.assertions:
            cases.append(JUnitCase(classname, f"expect.{check.name}", 0.0,
                                   failure=None if check.passed else check.describe()))
        return cases


def run_name(profile_name: str, firmware: str, medium: str) -> str:
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in profile_name)[:40]
    return f"{vmhost.NAME_PREFIX}{safe}-{firmware}-{medium}-{uuid.uuid4().hex[:8]}"


def boot_test(iso: Path, profile, *, connect: str = vmhost.DEFAULT_URI, firmware: str = "bios",
              medium: str = "cd", timeout_install: int | None = None, timeout_boot: int | None = None,
              stall_seconds: int | None = None, artifacts: Path | None = None, keep: bool = False,
              network: str | None = None, accel: str = "auto", ks_sha256: str | None = None,
              extra_disks: int = 0, keep_medium: bool = False, writable_medium: bool = False,
              progress: ProgressFn | None = None) -> BootTestResult:
    """Install ISO with PROFILE's VM settings, boot the result, check `profile.expect`.

    extra_disks: blank disks attached besides the target; the install must not write to them.
    keep_medium: the medium stays attached and first in the boot order for the first boot, as a
    disc left in the drive does (a CD the installer ejected is out of the drive then): the run
    must still end in the installed system, not a second install.
    writable_medium: the medium is a writable copy (as a real USB stick is) that must come out
    unchanged."""
    iso = Path(iso).resolve()
    if not iso.is_file():
        raise UsageError(f"{iso}: no such ISO file")
    if firmware not in FIRMWARES:
        raise UsageError(f"--firmware {firmware}: expected one of {', '.join(FIRMWARES)}")
    if medium not in MEDIA:
        raise UsageError(f"--medium {medium}: expected one of {', '.join(MEDIA)}")
    if not 0 <= extra_disks <= MAX_EXTRA_DISKS:
        raise UsageError(f"--extra-disks {extra_disks}: expected 0 to {MAX_EXTRA_DISKS}")
    if not profile.report.enabled:
        raise UsageError(f"profile {profile.name}: report.enabled is false; boot-test needs the "
                         "first-boot report line", hint="drop `--set report.enabled=false`")
    vm = profile.vm
    timeouts = {"install": timeout_install or vm.timeout_install, "boot": timeout_boot or vm.timeout_boot}
    stall = stall_seconds or vm.stall_seconds
    name = run_name(profile.name, firmware, medium)
    artifacts = artifacts_dir(artifacts, "boot-tests", name)
    artifacts.mkdir(parents=True, exist_ok=True)

    started = time.monotonic()
    local = vmhost.is_local(connect)
    conn = vmhost.connect(connect)
    volumes: list[str] = []
    phases: list[PhaseResult] = []
    problems: list[str] = []
    try:
        chosen = vmhost.choose_accel(conn, connect, accel)
        pool = vmhost.ensure_pool(conn)
        volume = f"{name}-disk.qcow2"
        vmhost.create_volume(pool, volume, vm.disk_gb)
        volumes.append(volume)
        extra_volumes: dict[str, int] = {}    # name -> allocation when blank
        for index in range(extra_disks):
            extra = f"{name}-extra{index + 1}.qcow2"
            extra_volumes[extra] = vmhost.volume_allocation(vmhost.create_volume(pool, extra, EXTRA_DISK_GB))
            volumes.append(extra)
        iso_volume = None
        # Another host cannot see our files, and qemu (user libvirt-qemu) cannot read a private
        # one: then the ISO goes into the pool as a volume (never chown the user's file). A
        # writable medium is always a copy: the guest must never be able to change the user's ISO.
        if not local or not _world_readable(iso) or writable_medium:
            iso_volume = f"{name}-media.iso"
            volumes.append(iso_volume)
            vmhost.upload_volume(conn, pool, iso_volume, iso)
        spec = DomainSpec(name=name, uuid=str(uuid.uuid4()), profile=profile.name, phase="install",
                          domain_type=chosen.domain_type, firmware=firmware, medium=medium,
                          iso=str(iso), pool=vmhost.POOL_NAME, volume=volume,
                          serial_log=str(artifacts / "install-serial.log"),
                          memory_mb=vm.memory_mb, vcpus=vm.vcpus, network=network,
                          iso_volume=iso_volume, serial="file" if local else "pty",
                          extra_volumes=tuple(extra_volumes), keep_medium=keep_medium,
                          medium_readonly=not writable_medium)
        watch = _PhaseWatch(conn, connect, name, chosen.label, artifacts, stall, progress)

        def boot_spec() -> DomainSpec:
            spec_ = spec.for_phase("boot", str(artifacts / "boot-serial.log"))
            return replace(spec_, medium_ejected=watch.tray_opened) if keep_medium else spec_

        _install_then_boot(watch, spec, boot_spec, timeouts, phases, artifacts)
        report = watch.report
    finally:
        try:
            # Checked on the volumes themselves, after the guest is gone: qemu's write counters
            # die with the qemu process, which a guest power-off ends.
            untouched: tuple[Assertion, ...] = ()
            if phases:
                untouched = _untouched_disks(conn, spec, extra_volumes)
                if writable_medium and local:
                    assert iso_volume is not None   # a writable medium is a pool copy
                    untouched += (_medium_unchanged(conn, iso, iso_volume, spec.medium_target),)
        finally:
            if keep:
                log.warning("kept domain %s and volumes %s (--keep)", name, ", ".join(volumes))
            else:
                problems = vmhost.cleanup(conn, name, volumes)
            conn.close()

    assertions = (check_expectations(profile.expect, report, profile_name=profile.name, ks_sha256=ks_sha256,
                                     allow_unsigned=tuple(profile.repos.allow_unsigned))
                  if report is not None else ())
    assertions += untouched
    passed = all(p.ok for p in phases) and all(a.passed for a in assertions)
    result = BootTestResult(
        name=name, profile=profile.name, firmware=firmware, medium=medium, connect=connect,
        accel=chosen.label, accel_reason=chosen.reason, phases=tuple(phases), report=report,
        assertions=assertions, passed=passed, verdict="", artifacts=artifacts,
        volumes=tuple(volumes), kept=keep, seconds=time.monotonic() - started,
        cleanup_problems=tuple(problems))
    result = _with_verdict(result)
    _write_artifacts(result)
    return result


def pxe_boot_test(tftp_dir: Path, mac: str, profile, *, host_name: str, server_port: int,
                  address: str | None = None, connect: str = vmhost.DEFAULT_URI, firmware: str = "bios",
                  timeout_install: int | None = None, timeout_boot: int | None = None,
                  stall_seconds: int | None = None, artifacts: Path | None = None, keep: bool = False,
                  accel: str = "auto", ks_sha256: str | None = None,
                  extra_checks: Callable[[], Sequence[Assertion]] | None = None,
                  progress: ProgressFn | None = None) -> BootTestResult:
    """Install PROFILE by PXE on a machine with no install medium and a blank disk, boot the disk,
    check `profile.expect` (the same phases, watchdogs, assertions and artefacts as boot_test).

    TFTP_DIR: a netboot tree's tftp/ folder, served by QEMU user-mode networking's TFTP with the
    firmware's boot file; MAC: the machine's NIC (the tree's per-host config installs it);
    ADDRESS: what its DHCP hands out (a host's fixed address, else 10.0.2.15); SERVER_PORT: the
    install server on this machine's 127.0.0.1, which the guest reaches as 10.0.2.2
    (kickgen/vm/pxe.py). Also asserted: the guest sent nothing anywhere but the install
    server (`network`, from a capture of each phase). EXTRA_CHECKS, called after the boot phase,
    adds assertions of the caller (the server's view of the host)."""
    check_request(firmware, connect)
    if not profile.report.enabled:
        raise UsageError(f"profile {profile.name}: report.enabled is false; boot-test needs the "
                         "first-boot report line", hint="drop report.enabled=false from the host's set:")
    mac = mac.lower()
    vm = profile.vm
    timeouts = {"install": timeout_install or vm.timeout_install, "boot": timeout_boot or vm.timeout_boot}
    stall = stall_seconds or vm.stall_seconds
    name = run_name(host_name, firmware, "pxe")
    artifacts = artifacts_dir(artifacts, "boot-tests", name)
    artifacts.mkdir(parents=True, exist_ok=True)

    started = time.monotonic()
    conn = vmhost.connect(connect)
    volumes: list[str] = []
    phases: list[PhaseResult] = []
    problems: list[str] = []
    staging = None
    captures: dict[str, Path] = {}
    try:
        chosen = vmhost.choose_accel(conn, connect, accel)
        pool = vmhost.ensure_pool(conn)
        volume = f"{name}-disk.qcow2"
        vmhost.create_volume(pool, volume, vm.disk_gb)
        volumes.append(volume)
        staging = stage(Path(tftp_dir), name, owner_from_label(vmhost.qemu_dac_label(conn, chosen.domain_type)))
        nic = PxeNic(mac=mac, tftp_root=str(staging.tftp_root), bootfile=BOOTFILES[firmware],
                     address=address or DEFAULT_ADDRESS, hostname=host_name,
                     capture=str(staging.captures["install"]))
        spec = PxeDomainSpec(name=name, uuid=str(uuid.uuid4()), profile=profile.name, phase="install",
                             domain_type=chosen.domain_type, firmware=firmware, medium="pxe", iso="",
                             pool=vmhost.POOL_NAME, volume=volume, serial_log=str(artifacts / "install-serial.log"),
                             memory_mb=vm.memory_mb, vcpus=vm.vcpus, nic=nic)
        watch = _PhaseWatch(conn, connect, name, chosen.label, artifacts, stall, progress)

        def boot_spec() -> PxeDomainSpec:
            assert staging is not None
            return replace(spec, phase="boot", serial_log=str(artifacts / "boot-serial.log"),
                           nic=replace(nic, boot_first=False, capture=str(staging.captures["boot"])))

        _install_then_boot(watch, spec, boot_spec, timeouts, phases, artifacts)
        report = watch.report
    finally:
        try:
            if keep:
                log.warning("kept domain %s and volumes %s (--keep)", name, ", ".join(volumes))
            else:
                problems = vmhost.cleanup(conn, name, volumes)
            conn.close()
        finally:
            if staging is not None:
                captures = staging.collect(artifacts)     # qemu is gone: the captures are whole
                if keep:
                    log.warning("kept the TFTP folder and captures of %s in %s (--keep)", name, staging.path)
                else:
                    staging.remove()

    assertions = (check_expectations(profile.expect, report, profile_name=profile.name, ks_sha256=ks_sha256,
                                     allow_unsigned=tuple(profile.repos.allow_unsigned))
                  if report is not None else ())
    assertions += (confinement(captures, mac, server_port),)
    if extra_checks is not None:
        assertions += tuple(extra_checks())
    passed = all(p.ok for p in phases) and all(a.passed for a in assertions)
    result = BootTestResult(
        name=name, profile=profile.name, firmware=firmware, medium="pxe", connect=connect,
        accel=chosen.label, accel_reason=chosen.reason, phases=tuple(phases), report=report,
        assertions=assertions, passed=passed, verdict="", artifacts=artifacts,
        volumes=tuple(volumes), kept=keep, seconds=time.monotonic() - started,
        cleanup_problems=tuple(problems), host=host_name)
    result = _with_verdict(result)
    _write_artifacts(result)
    return result


def _world_readable(path: Path) -> bool:
    """Can any user read PATH (o+r on it, o+x on every folder above)?"""
    if not path.stat().st_mode & 0o004:
        return False
    return all(parent.stat().st_mode & 0o001 for parent in path.parents)


def _untouched_disks(conn: libvirt.virConnect, spec: DomainSpec,
                     blank: dict[str, int]) -> tuple[Assertion, ...]:
    """One assertion per extra disk: a qcow2 volume the guest never wrote to allocated nothing."""
    checks = []
    for (volume, before), target in zip(blank.items(), spec.extra_targets, strict=True):
        after = vmhost.volume_allocation(vmhost.lookup_volume(conn, volume))
        checks.append(Assertion(f"untouched:{target}", f"extra disk {target} left blank ({before} bytes allocated)",
                                f"{after} bytes allocated", after == before))
    return tuple(checks)


def _medium_unchanged(conn: libvirt.virConnect, iso: Path, volume: str, target: str) -> Assertion:
    """The writable copy of the medium still has the ISO's bytes (sha256 of both)."""
    path = Path(vmhost.lookup_volume(conn, volume).path())
    expected, actual = _sha256(iso), _sha256(path, limit=iso.stat().st_size)
    return Assertion(f"untouched:{target}", f"install medium {target} unchanged (sha256 {expected[:16]}...)",
                     f"sha256 {actual[:16]}...", expected == actual)


def _sha256(path: Path, limit: int | None = None) -> str:
    digest = hashlib.sha256()
    left = limit
    with path.open("rb") as stream:
        while left is None or left > 0:
            chunk = stream.read(1 << 20 if left is None else min(1 << 20, left))
            if not chunk:
                break
            digest.update(chunk)
            if left is not None:
                left -= len(chunk)
    return digest.hexdigest()


def _with_verdict(result: BootTestResult) -> BootTestResult:
    timing = ", ".join(f"{p.phase} {p.seconds:.0f}s" for p in result.phases if p.outcome != "not-run")
    who = f"{result.host} ({result.profile})" if result.host else result.profile
    where = f"{who} {result.firmware}/{result.medium} {result.accel}"
    if result.passed:
        line = f"PASS {where}: {len(result.assertions)} assertions held ({timing})"
    else:
        failed_phase = next((p for p in result.phases if not p.ok and p.outcome != "not-run"), None)
        if failed_phase is not None:
            line = f"FAIL {where}: {failed_phase.phase} {failed_phase.outcome}: {failed_phase.reason} ({timing})"
        else:
            failed = [a.describe() for a in result.assertions if not a.passed]
            line = f"FAIL {where}: {'; '.join(failed)} ({timing})"
    return replace(result, verdict=line)


def _write_artifacts(result: BootTestResult) -> None:
    out = result.artifacts
    write_json(out / "report.json", {
        "verdict": result.verdict, "passed": result.passed, "name": result.name,
        "profile": result.profile, "firmware": result.firmware, "medium": result.medium,
        **({"host": result.host} if result.host else {}),
        "accel": result.accel, "accel_reason": result.accel_reason, "seconds": round(result.seconds, 1),
        "phases": [{**asdict(p), "seconds": round(p.seconds, 1)} for p in result.phases],
        "report": result.report.raw if result.report else None,
        "assertions": [asdict(a) for a in result.assertions],
    })
    write_text(out / "junit.xml", junit_xml([(f"kickgen boot-test {result.name}", result.junit_cases())]))
    write_text(out / "verdict.txt", result.verdict + "\n")


def _install_then_boot(watch: _PhaseWatch, spec, boot_spec: Callable[[], DomainSpec | PxeDomainSpec],
                       timeouts: dict[str, int], phases: list[PhaseResult], artifacts: Path) -> None:
    """The two phases of every boot test, appended to PHASES as each ends (an interrupt keeps
    what has run): the install, then, only if it ended well, the first boot of the disk."""
    install = watch.run(spec, timeouts["install"], want_report=False)
    phases.append(install)
    if install.ok:
        phases.append(watch.run(boot_spec(), timeouts["boot"], want_report=True))
    else:
        phases.append(PhaseResult("boot", "not-run", "the install phase failed", 0.0,
                                  artifacts / "boot-serial.log"))


class _PhaseWatch:
    """Runs one phase: define, start, watch serial + disk until it ends, a failure, a stall or the timeout."""

    def __init__(self, conn: libvirt.virConnect, uri: str, run: str, accel: str, artifacts: Path,
                 stall_seconds: int, progress: ProgressFn | None, clock: Clock = SYSTEM_CLOCK):
        self.conn = conn
        self.clock = clock
        self.uri = uri
        self.run_name = run
        self.accel = accel
        self.artifacts = artifacts
        self.stall_seconds = stall_seconds
        self.progress = progress
        self.report: BootReport | None = None
        self.tray_opened = False     # the guest opened the medium's tray during the install phase

    def run(self, spec: DomainSpec, timeout: int, *, want_report: bool) -> PhaseResult:
        serial = Path(spec.serial_log)
        serial.unlink(missing_ok=True)
        xml = render_pxe_xml(spec) if isinstance(spec, PxeDomainSpec) else render_domain_xml(spec)
        write_text(self.artifacts / f"{spec.phase}-domain.xml", xml)
        dom = vmhost.define(self.conn, xml, spec.phase)
        started = self.clock.now()
        if spec.serial == "file":
            vmhost.start(dom, spec.phase)
            return self._watch(dom, spec, timeout, want_report, started)
        vmhost.start(dom, spec.phase, paused=True)   # console first, so no line is lost
        recorder = vmhost.ConsoleRecorder(self.uri, spec.name, serial)
        try:
            vmhost.resume(dom, spec.phase)
            return self._watch(dom, spec, timeout, want_report, started)
        finally:
            vmhost.stop(dom)
            recorder.close()

    def _watch(self, dom: libvirt.virDomain, spec: DomainSpec, timeout: int, want_report: bool,
               started: float) -> PhaseResult:
        serial = Path(spec.serial_log)
        tail = SerialTail(serial)
        last_activity = started
        last_writes = None
        notes: list[str] = []
        # A kept medium: watch the drive's tray while installing (the install ends in a reboot,
        # which resets the virtual drive); in the first boot, an installer is a reinstall.
        watch_tray = spec.keep_medium and spec.medium == "cd" and spec.phase == "install"
        reinstall_guard = spec.keep_medium and spec.phase == "boot"
        if spec.phase == "install":
            self.tray_opened = False

        def result(outcome: str, reason: str, *, shot: bool = False) -> PhaseResult:
            screenshot = None
            if shot:
                screenshot = vmhost.screenshot(self.conn, dom, self.artifacts / f"{spec.phase}-screenshot.png")
            vmhost.stop(dom)
            tail.flush()
            excerpt = tuple(tail_lines(serial, EXCERPT_LINES)) if outcome != "ok" else ()
            return PhaseResult(spec.phase, outcome, reason, self.clock.now() - started, serial,
                               excerpt, screenshot, tuple(notes))

        while True:
            now = self.clock.now()
            lines = tail.read_new()
            if lines:
                last_activity = now
            for line in lines:
                if reinstall_guard and INSTALLER_START.search(line):
                    return result("failed", "reinstall loop: the installer started again at the first "
                                  "boot (the install medium stayed first in the boot order and still "
                                  "boots the unattended install)", shot=True)
                failure = match_failure(line, spec.phase)
                if failure is not None and not failure.fatal:
                    notes.append(failure.line)
                elif failure is not None:
                    self.clock.sleep(FAILURE_GRACE)   # the lines after an error often say why
                    return result("failed", f"{failure.what}: {failure.line}", shot=True)
                payload = find_report(line) if want_report else None
                if payload is not None:
                    try:
                        self.report = parse_report(payload, source=str(serial))
                    except HarnessError as exc:
                        return result("failed", exc.message, shot=True)
            if self.report is not None:
                return self._after_report(dom, result)

            current = vmhost.state(dom)
            if current in (libvirt.VIR_DOMAIN_SHUTOFF, libvirt.VIR_DOMAIN_NOSTATE):
                for line in tail.flush():
                    failure = match_failure(line, spec.phase)
                    if failure is not None and failure.fatal:
                        return result("failed", f"{failure.what}: {failure.line}")
                if want_report:
                    return result("failed", "the installed system powered off without a KICKGEN-REPORT line")
                return result("ok", "the installer powered off (or rebooted) the machine")
            if current in (libvirt.VIR_DOMAIN_PAUSED, libvirt.VIR_DOMAIN_CRASHED):
                return result("failed", f"the guest stopped in libvirt state {_STATE_NAMES.get(current, current)}"
                              " (emulation failure or guest crash)", shot=True)

            writes = vmhost.disk_writes(dom, spec.disk_target)
            if writes is not None and writes != last_writes:
                if last_writes is not None:
                    last_activity = now
                last_writes = writes
            elapsed = now - started
            if elapsed > timeout:
                return result("timeout", f"absolute timeout: {timeout}s passed "
                              f"(--timeout-{spec.phase}); last console line: {tail.last_line or '(none)'}",
                              shot=True)
            if now - last_activity > self.stall_seconds:
                return result("stall", f"stall: no serial output and no disk writes for "
                              f"{self.stall_seconds}s (vm.stall_seconds); last console line: "
                              f"{tail.last_line or '(none)'}", shot=True)
            if self.progress is not None:
                self.progress(Progress(self.run_name, spec.phase, elapsed, tail.last_line, self.accel))
            if watch_tray:
                self.tray_opened = self.tray_opened or vmhost.tray_open(dom, spec.medium_target)
                self.clock.sleep(TRAY_POLL_SECONDS)
            else:
                self.clock.sleep(POLL_SECONDS)

    def _after_report(self, dom: libvirt.virDomain, result: Callable[..., PhaseResult]) -> PhaseResult:
        """The report is in: give the first-boot script a moment to power off, then stop anyway."""
        deadline = self.clock.now() + REPORT_POWEROFF_GRACE
        while self.clock.now() < deadline and vmhost.state(dom) == libvirt.VIR_DOMAIN_RUNNING:
            self.clock.sleep(POLL_SECONDS)
        return result("ok", "the installed system wrote its report")


_STATE_NAMES = {libvirt.VIR_DOMAIN_PAUSED: "paused", libvirt.VIR_DOMAIN_CRASHED: "crashed"}
