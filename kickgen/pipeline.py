"""The stages joined: profile -> install media (`kickgen iso`), and media -> boot tests (`kickgen matrix`).

  render the kickstart (or take a ready one) -> validate it -> gather the extra files
  (profile `media.add`, `--add`, embedded offline repos) -> prove offline media complete
  -> remaster the base ISO.

And an inventory -> its netboot tree + an install server -> its hosts installed by PXE at once
(`kickgen boot-test --pxe`, boot_test_pxe at the end of this file).
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from kickgen.core.atomic import write_text
from kickgen.core.errors import KickgenError, ProfileError, UsageError
from kickgen.core.resources import artifacts_dir
from kickgen.kickstart.render import render_kickstart, reproducible_salt
from kickgen.kickstart.validate import Options as ValidationOptions
from kickgen.kickstart.validate import Report as ValidationReport
from kickgen.kickstart.validate import validate_kickstart
from kickgen.media.remaster import (
    ExtraFile,
    Progress,
    RemasterRequest,
    RemasterResult,
    check_request,
    destination_problem,
    remaster,
)
from kickgen.profile import Profile, load_profile
from kickgen.profile.loader import check_media_sources, profile_inputs
from kickgen.vm.harness import ProgressFn, boot_test
from kickgen.vm.matrix import (
    USB_OVERRIDES,
    Case,
    CaseOutcome,
    Host,
    MatrixOutcome,
    MatrixPlan,
    ProfileEntry,
    slug,
    summary_table,
)
from kickgen.vm.verdict import JUnitCase, junit_xml


def kickstart_for(profile: Profile, media_label: str | None = None) -> str:
    """The profile's kickstart with its reproducible salt (`kickgen.kickstart.reproducible_salt`):
    the same profile gives the same bytes wherever its file lives, so a remastered ISO is
    reproducible, and `kickgen render` gives the same text for the same media label.
    `media_label`: the volume ID of the media it goes on (its %pre must not pick that disk)."""
    salt = reproducible_salt(profile, media_label=media_label)
    return render_kickstart(profile, salt=salt, media_label=media_label).text


def _volume_id_of(iso: Path) -> str | None:
    """The volume ID in ISO's primary volume descriptor (sector 16), or None when it has none.
    Read directly: parsing the whole image for 32 bytes would cost a second on a DVD."""
    try:
        with open(iso, "rb") as stream:
            stream.seek(16 * 2048)
            pvd = stream.read(72)
    except OSError:
        return None            # the remaster reports the base's problem with its own message
    if pvd[:6] != b"\x01CD001":
        return None
    return pvd[40:72].decode("ascii", "replace").rstrip(" \x00") or None


def parse_add(item: str) -> ExtraFile:
    """`--add SRC:ISO_PATH` -> ExtraFile; an ISO_PATH kickgen cannot name, or one kickgen
    writes itself (/ks.cfg, the boot files, /kickgen/), is refused here, before any work."""
    src, sep, dest = item.rpartition(":")
    if not sep or not src or not dest.startswith("/"):
        raise UsageError(f"--add {item}: expected SRC:ISO_PATH with an absolute ISO_PATH, "
                         "e.g. files/a.rpm:/extra/a.rpm")
    extra = ExtraFile(Path(src), dest, origin="--add")
    problem = destination_problem(dest)
    if problem is not None:
        raise extra.refuse(problem)
    return extra


def _require_pins(profile: Profile) -> None:
    """Media whose install would stop at an unpinned download is not built: the %post refuses
    any RPM it fetches without a sha256 pin (kickstart/templates/el6/aufs-kernel.j2, epel.j2)."""
    from kickgen.profile.pins import pin_of, pinned_downloads

    missing = [d.file for d in pinned_downloads(profile) if pin_of(profile, d.file) is None]
    if missing:
        raise ProfileError(
            f"{profile.source}: pins: no sha256 pin for {', '.join(missing)}: the install would stop "
            "before installing it",
            hint=f"fill the pins from your mirror: kickgen pin {profile.name} --from MIRROR -o site.yaml, "
                 "then build from site.yaml")


def build_media(profile: Profile, base: Path, output: Path, *, kickstart: str | None = None,
                kickstart_source: str | None = None, add: Sequence[ExtraFile] = (),
                offline_check: bool = True, strict: bool = False,
                validation: ValidationOptions | None = None,
                on_findings: Callable[[ValidationReport], None] | None = None,
                progress: Progress | None = None, allow_paths: Sequence[Path] = ()) -> RemasterResult:
    """Remaster BASE into OUTPUT so it installs PROFILE unattended (or KICKSTART, when given).

    A given KICKSTART is refused for errors (and for warnings when STRICT); its findings go to
    ON_FINDINGS before the build. A rendered one must have no warnings: kickgen's own policy.
    The profile's media.add sources must lie beside it, or inside ALLOW_PATHS (`--allow-path`).
    """
    # Before any work: where the files come from, where they go, and where the outputs go.
    check_media_sources(profile, allow_paths)
    # (the profile loader resolved each src beside the file that set it, see Mark.base_dir)
    extras = [ExtraFile(m.src, m.dest, origin=f"{m.where or profile.source}: media.add[{n}]")
              for n, m in enumerate(profile.media.add)]
    extras += add
    inputs = [(what, path) for what, path in profile_inputs(profile) if "media.add" not in what]
    if kickstart_source:
        inputs.append(("the kickstart (--ks)", Path(kickstart_source)))
    check_request(RemasterRequest(base=Path(base), output=Path(output), kickstart=b"", profile_name=profile.name,
                                  boot_default=profile.boot.default, extra_files=tuple(extras),
                                  inputs=tuple(inputs)))
    if kickstart is None:
        _require_pins(profile)
    label = profile.media.volume_id or _volume_id_of(Path(base))
    text = kickstart if kickstart is not None else kickstart_for(profile, label)
    report = validate_kickstart(text, kickstart_source or f"{profile.name} (rendered)",
                                strict=strict or kickstart is None, options=validation or ValidationOptions(),
                                path=Path(kickstart_source) if kickstart_source else None)
    if on_findings is not None and report.findings:
        on_findings(report)
    embedded = None
    if profile.media.embed:                  # offline media: RPMs + repodata under /kickgen/
        from kickgen.offline import embedded_repos_for  # RPM readers: only when needed

        embedded = embedded_repos_for(profile)
    if embedded is not None:
        extras += [ExtraFile(f.src, f.iso_path, generated=True) for f in embedded.files]
    if profile.media.offline and offline_check:
        # Offline media must install with what it carries: prove it before writing anything.
        from kickgen.offline import check_offline

        check_offline(text, Path(base), profile.media.embed).report.require_complete()
    request = RemasterRequest(
        base=Path(base), output=Path(output), kickstart=text.encode(), profile_name=profile.name,
        boot_label=profile.boot.label, boot_args=tuple(profile.boot.args),
        boot_timeout=profile.boot.timeout, boot_default=profile.boot.default,
        volume_id=profile.media.volume_id, extra_files=tuple(extras), inputs=tuple(inputs),
        embedded=tuple(e.as_dict() for e in embedded.manifest) if embedded else ())
    return remaster(request, progress)


def run_matrix(plan: MatrixPlan, *, artifacts: Path | None = None, accel: str = "auto",
               progress: ProgressFn | None = None, allow_paths: Sequence[Path] = (), retries: int = 0,
               db: Path | None = None) -> MatrixOutcome:
    """Run every case (each host takes up to its `parallel` at once); write one JUnit file, the
    summary table and the run file (kickgen-run.json, for `kickgen results import`), and record
    the run into the results database DB when given.
    ALLOW_PATHS: folders the profiles' media.add may take files from (`--allow-path`).
    RETRIES: a failed case runs again on the same host up to this many times (its attempts in
    <case>/attempt-N/ then)."""
    import socket
    import uuid

    from kickgen.vm.matrix import run_case

    started = time.monotonic()
    run_id, started_at = uuid.uuid4().hex, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    artifacts = artifacts_dir(artifacts, "matrix", time.strftime("%Y%m%d-%H%M%S"))
    artifacts.mkdir(parents=True, exist_ok=True)

    # (profile entry, medium) -> (profile, ISO, its sha256, kickstart sha256 or None), or why it
    # cannot run. A USB-stick case boots the media's USB entry (ks=hd:LABEL=...), so it gets its
    # own copy of the media with that entry as the default.
    prepared: dict[tuple[ProfileEntry, str], tuple[object, Path, str | None, str | None] | str] = {}
    hashed: dict[Path, str | None] = {}
    for entry, medium in dict.fromkeys((case.entry, case.medium) for case in plan.cases):
        try:
            overrides = entry.overrides + (USB_OVERRIDES if medium == "usb" and entry.iso is None else ())
            profile = load_profile(entry.ref, overrides)
            if entry.iso is not None:
                if entry.iso not in hashed:
                    hashed[entry.iso] = _file_sha256(entry.iso)
                prepared[entry, medium] = (profile, entry.iso, hashed[entry.iso], None)
            else:
                out = artifacts / "media" / f"{slug(entry.label)}-{medium}.iso"
                out.parent.mkdir(parents=True, exist_ok=True)
                assert plan.base_iso is not None   # load_matrix requires it for cases without an iso
                made = build_media(profile, plan.base_iso, out, allow_paths=allow_paths)
                prepared[entry, medium] = (profile, made.output, made.sha256, made.ks_sha256)
        except KickgenError as exc:
            prepared[entry, medium] = exc.message

    todo: queue.Queue[Case] = queue.Queue()
    for case in plan.cases:
        todo.put(case)
    outcomes: list[CaseOutcome] = []
    lock = threading.Lock()
    cancel = threading.Event()

    def relay(update) -> None:
        if cancel.is_set():           # Ctrl-C in the main thread: the running case unwinds and cleans up
            raise KeyboardInterrupt
        if progress is not None:
            progress(update)

    def worker(host: Host) -> None:
        try:
            work(host)
        except KeyboardInterrupt:     # cancelled: boot_test has removed its domain and volumes
            return

    def work(host: Host) -> None:
        while not cancel.is_set():
            try:
                case = todo.get_nowait()
            except queue.Empty:
                return
            ready = prepared[case.entry, case.medium]
            if isinstance(ready, str):
                outcome = CaseOutcome(case, host.uri, None, ready)
            else:
                profile, iso, iso_sha256, ks_sha256 = ready
                folder = artifacts / slug(case.id)

                def once(attempt: int, case: Case = case, profile=profile, iso: Path = iso,
                         ks_sha256: str | None = ks_sha256, folder: Path = folder):
                    return boot_test(iso, profile, connect=host.uri, firmware=case.firmware, ks_sha256=ks_sha256,
                                     medium=case.medium, timeout_install=plan.timeout_install,
                                     timeout_boot=plan.timeout_boot, accel=accel, progress=relay,
                                     artifacts=folder / f"attempt-{attempt}" if retries else folder,
                                     extra_disks=plan.extra_disks,
                                     keep_medium=plan.keep_medium and case.medium == "cd",
                                     writable_medium=plan.writable_medium and case.medium == "usb")
                outcome = run_case(case, host.uri, once, retries)
                outcome = replace(outcome, iso_sha256=iso_sha256, ks_sha256=ks_sha256)
            with lock:
                outcomes.append(outcome)

    threads = [threading.Thread(target=worker, args=(host,), name=f"matrix-{host.uri}-{n}", daemon=True)
               for host in plan.hosts for n in range(host.parallel)]
    # Polled, not Thread.join(): a join interrupted by a signal can mark a running thread as ended
    # (CPython 3.11), and the process would exit while a case is still cleaning up its VM.
    try:
        for thread in threads:
            thread.start()
        while any(thread.is_alive() for thread in threads):
            time.sleep(0.5)
    except KeyboardInterrupt:
        cancel.set()
        deadline = time.monotonic() + 120
        while any(thread.is_alive() for thread in threads) and time.monotonic() < deadline:
            time.sleep(0.5)
        raise

    order = {case: n for n, case in enumerate(plan.cases)}
    ordered = tuple(sorted(outcomes, key=lambda o: order[o.case]))
    junit = write_text(artifacts / "junit.xml", junit_xml([(f"{o.case.id} on {o.host}", _junit_cases(o))
                                                           for o in ordered]))
    result = MatrixOutcome(plan, ordered, junit, artifacts, time.monotonic() - started, run_id=run_id,
                           started=started_at)
    write_text(artifacts / "summary.txt", summary_table(result) + "\n" + result.verdict + "\n")
    # The record: hours of boot tests are not lost to a database that cannot be written (the
    # outcome says what went wrong; the command prints it after the table).
    from kickgen.core.atomic import write_json
    from kickgen.results import RUN_FILE, record_run, run_file_data

    record = _run_record(result, socket.gethostname(), retries)
    problems = []
    for write in (lambda: write_json(artifacts / RUN_FILE, run_file_data(record, artifacts)),
                  lambda: record_run(db, record) if db is not None else None):
        try:
            write()
        except KickgenError as exc:
            problems.append(exc.message)
    return replace(result, record_problems=tuple(problems)) if problems else result


def _file_sha256(path: Path) -> str | None:
    import hashlib

    digest = hashlib.sha256()
    try:
        with open(path, "rb") as stream:
            while chunk := stream.read(1 << 20):
                digest.update(chunk)
    except OSError:
        return None                # boot_test names the missing ISO
    return digest.hexdigest()


def _junit_cases(outcome: CaseOutcome) -> list[JUnitCase]:
    """The case's JUnit test cases, named by its label: the last attempt's phases and assertions;
    an expected failure's failures as skipped, an unexpected pass as one failure, the attempts
    before a flaky pass as skipped."""

    from kickgen.vm.matrix import EXPECTED_FAIL, UNEXPECTED_PASS

    case = outcome.case
    classname = f"kickgen.{case.entry.label}.{case.firmware}-{case.medium}"

    def of(attempt) -> list[JUnitCase]:
        if attempt.result is None:
            return [JUnitCase(classname, "setup", attempt.seconds, failure=attempt.error)]
        return [replace(c, classname=classname) for c in attempt.result.junit_cases()]

    attempts = outcome.attempts
    cases = of(attempts[-1])
    if outcome.status == EXPECTED_FAIL:
        cases = [replace(c, failure=None, details="", skipped=f"expected to fail ({case.entry.expect_fail}): "
                         f"{c.failure}") if c.failure else c for c in cases]
    elif outcome.status == UNEXPECTED_PASS:
        cases.append(JUnitCase(classname, "expect_fail", 0.0,
                               failure=f"passed, but expected to fail: {case.entry.expect_fail}"))
    for attempt in attempts[:-1]:
        cases += [replace(c, name=f"attempt{attempt.number}.{c.name}", failure=None, details="",
                          skipped=f"attempt {attempt.number} of {len(attempts)}: {c.failure}")
                  for c in of(attempt) if c.failure]
    return cases


def _run_record(outcome: MatrixOutcome, machine: str, retries: int):
    """The run as the results database keeps it (kickgen.results.RunRecord)."""
    from kickgen import __version__
    from kickgen.results import CaseRecord, RunRecord
    from kickgen.results.excerpt import lines_around
    from kickgen.vm.matrix import attempt_verdict

    records = []
    for o in outcome.outcomes:
        status = o.status
        for attempt in o.attempts:
            r = attempt.result
            phases = {p.phase: p for p in r.phases} if r else {}
            failed: list[str] = []
            screenshot = excerpt = None
            if r is None:
                failed.append(f"setup: {attempt.error}")
            else:
                bad = [p for p in r.phases if not p.ok and p.outcome != "not-run"]
                failed += [f"{p.phase}: {p.outcome}: {p.reason}" for p in bad]
                failed += [a.describe() for a in r.assertions if not a.passed]
                shots = [p.screenshot for p in r.phases if p.screenshot is not None]
                if not r.passed and shots:
                    screenshot = Path(shots[-1]).name
                if bad:
                    excerpt = lines_around(bad[0].serial_log, bad[0].reason)
                elif not r.passed and "boot" in phases:
                    excerpt = lines_around(phases["boot"].serial_log, marker="KICKGEN-REPORT v1 ")

            def seconds(name: str, phases: dict = phases) -> float | None:
                p = phases.get(name)
                return None if p is None or p.outcome == "not-run" else round(p.seconds, 1)

            records.append(CaseRecord(
                label=o.case.id, attempt=attempt.number, profile=r.profile if r else o.case.entry.ref,
                firmware=o.case.firmware, medium=o.case.medium, host=o.host, accel=r.accel if r else "",
                outcome=attempt.outcome, status=status, verdict=attempt_verdict(o.case, attempt),
                failed=tuple(failed),
                install_outcome=phases["install"].outcome if "install" in phases else "",
                install_seconds=seconds("install"),
                boot_outcome=phases["boot"].outcome if "boot" in phases else "", boot_seconds=seconds("boot"),
                kickgen_version=__version__, iso_sha256=o.iso_sha256,
                ks_sha256=o.ks_sha256 or (r.report.ks_sha256 if r and r.report else None) or None,
                artifacts=str(r.artifacts) if r else "", expect_fail=o.case.entry.expect_fail,
                screenshot=screenshot, excerpt=excerpt, seconds=round(attempt.seconds, 1)))
    shard = f"{outcome.plan.shard[0]}/{outcome.plan.shard[1]}" if outcome.plan.shard else None
    return RunRecord(run_id=outcome.run_id, started=outcome.started, machine=machine,
                     matrix=outcome.plan.source.name, kickgen_version=__version__, artifacts=str(outcome.artifacts),
                     passed=outcome.passed, seconds=round(outcome.seconds, 1), shard=shard, retries=retries,
                     cases=tuple(records))


# --- network boot tests (issue 14): kickgen boot-test --pxe -----------------------------------
# One region (owner: the PXE boot test). kickgen.netboot and kickgen.serve are imported inside
# the functions: other commands that load this module do not pay for them.

from typing import TYPE_CHECKING  # noqa: E402  (this region's own imports)

from kickgen.vm.harness import BootTestResult  # noqa: E402

if TYPE_CHECKING:
    import socket

    from kickgen.serve.state import HostState
    from kickgen.vm.verdict import Assertion

PXE_GUEST_GATEWAY = "10.0.2.2"     # QEMU user-mode networking's gateway: the host's loopback (kickgen.vm.pxe)


@dataclass(frozen=True)
class PxeOutcome:
    """The result of `boot_test_pxe`: one BootTestResult per host (in the order asked), the
    server's view of every inventory host at the end, and the netboot tree the run served."""

    inventory: Path
    tree: Path
    server_url: str
    firmware: str
    results: tuple[BootTestResult, ...]
    states: tuple[HostState, ...]
    junit: Path
    artifacts: Path
    seconds: float

    @property
    def passed(self) -> bool:
        return bool(self.results) and all(r.passed for r in self.results)

    @property
    def exit_code(self) -> int:
        return 0 if self.passed else 1

    @property
    def verdict(self) -> str:
        good = sum(1 for r in self.results if r.passed)
        word = "PASS" if self.passed else "FAIL"
        return (f"{word} network install ({self.firmware}/pxe): {good}/{len(self.results)} hosts passed "
                f"({self.seconds:.0f}s)")


def _reserve_port() -> socket.socket:
    """A free port on 127.0.0.1, held by a bound socket (no SO_REUSEADDR, so nobody else can
    bind it) until the caller closes it right before the server binds it."""
    import socket

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    return sock


def _server_check(tree_dir: Path, name: str) -> tuple[Assertion, ...]:
    """The install server's view of host NAME: it fetched its kickstart, installed, posted its
    report, and the report passed the host's expect: (kickgen status says `reported passed`)."""
    from kickgen.serve import host_states
    from kickgen.vm.verdict import Assertion

    expected = f"kickgen serve: {name} reported, and its report passed the profile's expect:"
    states = {s.name: s for s in host_states(tree_dir)}
    st = states.get(name)
    if st is None:
        return (Assertion("server", expected, "the server does not know the host", False),)
    actual = st.state + (f", {st.verdict}" if st.verdict else "")
    if st.failed:
        actual += ": " + "; ".join(st.failed)
    return (Assertion("server", expected, actual, st.passed),)


def boot_test_pxe(inventory: str | Path, host_names: Sequence[str], base_iso: str | Path, firmware: str = "bios",
                  *, connect: str | None = None, accel: str = "auto", timeout_install: int | None = None,
                  timeout_boot: int | None = None, stall_seconds: int | None = None,
                  artifacts: Path | None = None, keep: bool = False,
                  progress: ProgressFn | None = None) -> PxeOutcome:
    """Install HOST_NAMES of INVENTORY at the same time by PXE from one install server, each on a
    machine with no install medium and a blank disk, and judge each host's report twice: on its
    serial console (the ISO path's assertions, plus what it sent on the network) and as the
    server recorded it (`kickgen status`: reported, passed).

        netboot tree (kickgen netboot, server URL http://10.0.2.2:PORT) -> kickgen serve on
        127.0.0.1:PORT -> one PXE machine per host (kickgen.vm.harness.pxe_boot_test), all at
        once -> the server's states -> the server stopped

    Artefacts (default ./kickgen-artifacts/boot-tests/pxe-<firmware>-<time>/): netboot/ (the tree
    with the server's state database), <host>/ (each host's run, as boot-test's), junit.xml,
    status.txt (`kickgen status` of the tree at the end)."""
    import threading

    from kickgen.netboot import build_netboot, load_inventory
    from kickgen.netboot.inventory import host_profile
    from kickgen.serve import host_states, start_server
    from kickgen.serve.status import status_text
    from kickgen.vm import host as vmhost
    from kickgen.vm.harness import pxe_boot_test
    from kickgen.vm.pxe import check_request as check_pxe_request

    started = time.monotonic()
    connect = connect or vmhost.DEFAULT_URI
    check_pxe_request(firmware, connect)
    if not host_names:
        raise UsageError("--pxe needs at least one --host NAME (a host of the inventory)")
    inv = load_inventory(inventory)
    by_name = {h.name.lower(): h for h in inv.hosts}
    chosen = []
    for name in host_names:
        host = by_name.get(name.lower())
        if host is None:
            known = ", ".join(h.name for h in inv.hosts) or "none"
            raise UsageError(f"--host {name}: not a host of {inventory} (its hosts: {known})")
        if host in chosen:
            raise UsageError(f"--host {name}: given twice")
        chosen.append(host)
    if not Path(base_iso).is_file():
        raise UsageError(f"--base {base_iso}: no such ISO file")

    artifacts = artifacts_dir(artifacts, "boot-tests", f"pxe-{firmware}-{time.strftime('%Y%m%d-%H%M%S')}")
    artifacts.mkdir(parents=True, exist_ok=True)
    holder = _reserve_port()
    try:
        port = holder.getsockname()[1]
        server_url = f"http://{PXE_GUEST_GATEWAY}:{port}"
        tree = build_netboot(inventory, base_iso, artifacts / "netboot", server_url)
    finally:
        holder.close()
    records = {h.name: h for h in tree.hosts}
    if firmware == "uefi":
        if not tree.efi:
            raise UsageError(f"--firmware uefi: {base_iso} has no grub EFI binary, so UEFI machines cannot "
                             "boot from the network tree")
        lacking = [h.name for h in chosen if records[h.name].efi_config is None]
        if lacking:
            raise UsageError(f"--firmware uefi: {', '.join(lacking)} has no grub.efi config of its own in the "
                             "tree", hint="make the tree with kickgen netboot to see why")
    profiles = {h.name: host_profile(h, server_url) for h in chosen}

    server = start_server(tree.path, port=port)
    cancel = threading.Event()
    results: dict[str, BootTestResult] = {}
    errors: dict[str, BaseException] = {}

    def relay(update) -> None:
        if cancel.is_set():           # Ctrl-C in the main thread: each run unwinds (and cleans up)
            raise KeyboardInterrupt
        if progress is not None:
            progress(update)

    finished = {h.name: threading.Event() for h in chosen}

    def run(host) -> None:
        record = records[host.name]
        try:
            results[host.name] = pxe_boot_test(
                tree.path / "tftp", record.mac, profiles[host.name], host_name=host.name, server_port=port,
                address=record.address, connect=connect, firmware=firmware, timeout_install=timeout_install,
                timeout_boot=timeout_boot, stall_seconds=stall_seconds, artifacts=artifacts / host.name,
                keep=keep, accel=accel, ks_sha256=record.kickstart_sha256,
                extra_checks=lambda: _server_check(tree.path, host.name), progress=relay)
        except BaseException as exc:   # noqa: B036 - handed to the main thread, which re-raises it
            errors[host.name] = exc
        finally:
            finished[host.name].set()

    # The main thread waits on events, not Thread.join(): a join interrupted by a signal (Ctrl-C,
    # SIGTERM) can mark a running thread as ended (CPython 3.11 threading._wait_for_tstate_lock),
    # and the process would then exit while that host is still cleaning up.
    def wait_all(limit: float | None) -> None:
        deadline = None if limit is None else time.monotonic() + limit
        for event in finished.values():
            while not event.wait(0.5):
                if deadline is not None and time.monotonic() > deadline:
                    return

    try:
        for host in chosen:
            threading.Thread(target=run, args=(host,), name=f"pxe-{host.name}", daemon=True).start()
        try:
            wait_all(None)
        except KeyboardInterrupt:
            cancel.set()              # each run unwinds at its next console poll and cleans up
            wait_all(120)
            raise
    finally:
        server.stop()
    for name in (h.name for h in chosen):
        if name in errors:
            raise errors[name]
    states = tuple(host_states(tree.path))
    write_text(artifacts / "status.txt", status_text(states))
    ordered = tuple(results[h.name] for h in chosen)
    junit = write_text(artifacts / "junit.xml", junit_xml(
        [(f"kickgen boot-test --pxe {r.host} ({r.name})", r.junit_cases()) for r in ordered]))
    outcome = PxeOutcome(inventory=Path(inventory), tree=tree.path, server_url=server_url, firmware=firmware,
                         results=ordered, states=states, junit=junit, artifacts=artifacts,
                         seconds=time.monotonic() - started)
    write_text(artifacts / "verdict.txt", "\n".join([*(r.verdict for r in ordered), outcome.verdict]) + "\n")
    return outcome
