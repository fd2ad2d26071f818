"""The stages joined: profile -> install media (`kickgen iso`), and media -> boot tests (`kickgen matrix`).

  render the kickstart (or take a ready one) -> validate it -> gather the extra files
  (profile `media.add`, `--add`, embedded offline repos) -> prove offline media complete
  -> remaster the base ISO.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Sequence
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
               progress: ProgressFn | None = None, allow_paths: Sequence[Path] = ()) -> MatrixOutcome:
    """Run every case (each host takes up to its `parallel` at once); write one JUnit file.
    ALLOW_PATHS: folders the profiles' media.add may take files from (`--allow-path`)."""
    started = time.monotonic()
    artifacts = artifacts_dir(artifacts, "matrix", time.strftime("%Y%m%d-%H%M%S"))
    artifacts.mkdir(parents=True, exist_ok=True)

    # (profile entry, medium) -> (profile, ISO, kickstart sha256 or None), or why it cannot run.
    # A USB-stick case boots the media's USB entry (ks=hd:LABEL=...), so it gets its own copy
    # of the media with that entry as the default.
    prepared: dict[tuple[ProfileEntry, str], tuple[object, Path, str | None] | str] = {}
    for entry, medium in dict.fromkeys((case.entry, case.medium) for case in plan.cases):
        try:
            overrides = entry.overrides + (USB_OVERRIDES if medium == "usb" and entry.iso is None else ())
            profile = load_profile(entry.ref, overrides)
            if entry.iso is not None:
                prepared[entry, medium] = (profile, entry.iso, None)
            else:
                out = artifacts / "media" / f"{slug(entry.label)}-{medium}.iso"
                out.parent.mkdir(parents=True, exist_ok=True)
                assert plan.base_iso is not None   # load_matrix requires it for cases without an iso
                made = build_media(profile, plan.base_iso, out, allow_paths=allow_paths)
                prepared[entry, medium] = (profile, made.output, made.ks_sha256)
        except KickgenError as exc:
            prepared[entry, medium] = exc.message

    todo: queue.Queue[Case] = queue.Queue()
    for case in plan.cases:
        todo.put(case)
    outcomes: list[CaseOutcome] = []
    lock = threading.Lock()

    def worker(host: Host) -> None:
        while True:
            try:
                case = todo.get_nowait()
            except queue.Empty:
                return
            began = time.monotonic()
            ready = prepared[case.entry, case.medium]
            if isinstance(ready, str):
                outcome = CaseOutcome(case, host.uri, None, ready)
            else:
                profile, iso, ks_sha256 = ready
                try:
                    result = boot_test(iso, profile, connect=host.uri, firmware=case.firmware, ks_sha256=ks_sha256,
                                       medium=case.medium, timeout_install=plan.timeout_install,
                                       timeout_boot=plan.timeout_boot, accel=accel, progress=progress,
                                       artifacts=artifacts / slug(case.id), extra_disks=plan.extra_disks,
                                       keep_medium=plan.keep_medium and case.medium == "cd",
                                       writable_medium=plan.writable_medium and case.medium == "usb")
                    outcome = CaseOutcome(case, host.uri, result, seconds=time.monotonic() - began)
                except KickgenError as exc:
                    outcome = CaseOutcome(case, host.uri, None, exc.message, time.monotonic() - began)
                except Exception as exc:   # one broken case must not stop the others
                    outcome = CaseOutcome(case, host.uri, None, f"{type(exc).__name__}: {exc}",
                                          time.monotonic() - began)
            with lock:
                outcomes.append(outcome)

    threads = [threading.Thread(target=worker, args=(host,), name=f"matrix-{host.uri}-{n}", daemon=True)
               for host in plan.hosts for n in range(host.parallel)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    order = {case: n for n, case in enumerate(plan.cases)}
    ordered = tuple(sorted(outcomes, key=lambda o: order[o.case]))
    suites = []
    for outcome in ordered:
        if outcome.result is not None:
            cases = outcome.result.junit_cases()
        else:
            cases = [JUnitCase(f"kickgen.{outcome.case.entry.label}.{outcome.case.firmware}-{outcome.case.medium}",
                               "setup", outcome.seconds, failure=outcome.error)]
        suites.append((f"{outcome.case.id} on {outcome.host}", cases))
    junit = write_text(artifacts / "junit.xml", junit_xml(suites))
    result = MatrixOutcome(plan, ordered, junit, artifacts, time.monotonic() - started)
    write_text(artifacts / "summary.txt", summary_table(result) + "\n" + result.verdict + "\n")
    return result
