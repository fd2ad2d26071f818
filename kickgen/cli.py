"""Thin command line over the pipeline stages. The only place that catches KickgenError.

Each command is a pair: `_add_<name>(subparsers)` declares its arguments and
`_cmd_<name>(args) -> int` calls one stage entry point and prints the result.
"""

from __future__ import annotations

import argparse
import logging
import sys

from kickgen import __version__
from kickgen.core.errors import KickgenError

log = logging.getLogger("kickgen")


# --- render / validate / profiles / show (stage: profile -> kickstart) -------------------

def _add_overrides(p: argparse.ArgumentParser) -> None:
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", dest="overrides",
                   help="override a profile value (repeatable), e.g. mirrors.centos_os=http://...")


def _add_render(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("render", help="render a profile to a kickstart (validated)")
    p.add_argument("profile", help="profile name in profiles/ or a path")
    p.add_argument("-o", "--output", metavar="FILE", help="write here (atomically) instead of stdout")
    _add_overrides(p)
    p.add_argument("--no-validate", action="store_true", help="skip pykickstart/shellcheck/EL6 rules")
    p.set_defaults(func=_cmd_render)


def _cmd_render(args: argparse.Namespace) -> int:
    from pathlib import Path

    from kickgen.core.atomic import write_text
    from kickgen.profile.loader import load_profile
    from kickgen.kickstart.render import render_kickstart
    from kickgen.kickstart.validate import validate_kickstart

    kickstart = render_kickstart(load_profile(args.profile, args.overrides))
    if not args.no_validate:
        validate_kickstart(kickstart.text, f"<{kickstart.profile_name}.ks>")
    if args.output:
        write_text(Path(args.output), kickstart.text)
        print(f"kickgen: wrote {args.output} (profile {kickstart.profile_name}, "
              f"sha256 {kickstart.sha256})", file=sys.stderr)
    else:
        sys.stdout.write(kickstart.text)
    return 0


def _add_validate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("validate", help="check a profile's kickstart or a kickstart file")
    p.add_argument("target", metavar="PROFILE|KSFILE",
                   help="profile name or .yaml path (rendered first), or a kickstart file")
    _add_overrides(p)
    p.set_defaults(func=_cmd_validate)


def _cmd_validate(args: argparse.Namespace) -> int:
    from pathlib import Path

    from kickgen.core.errors import UsageError
    from kickgen.profile.loader import resolve_profile_ref, load_profile
    from kickgen.kickstart.render import render_kickstart
    from kickgen.kickstart.validate import validate_kickstart

    target = args.target
    is_profile = target.endswith((".yaml", ".yml")) or not Path(target).is_file()
    if is_profile and resolve_profile_ref(target) is not None:
        kickstart = render_kickstart(load_profile(target, args.overrides))
        validate_kickstart(kickstart.text, f"<{kickstart.profile_name}.ks>")
        print(f"kickgen: profile {kickstart.profile_name}: kickstart is valid")
        return 0
    if not Path(target).is_file():
        raise UsageError(f"no profile or kickstart file {target!r}")
    if args.overrides:
        raise UsageError("--set applies to profiles, not to a kickstart file")
    try:
        text = Path(target).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {target}: {exc}") from None
    validate_kickstart(text, target)
    print(f"kickgen: {target}: kickstart is valid")
    return 0


def _add_profiles(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("profiles", help="list the profiles in profiles/ with their descriptions")
    p.set_defaults(func=_cmd_profiles)


def _cmd_profiles(args: argparse.Namespace) -> int:
    from kickgen.core.errors import KickgenError
    from kickgen.profile.loader import list_profile_names, load_profile

    names = list_profile_names()
    width = max((len(n) for n in names), default=0)
    broken = 0
    for name in names:
        try:
            description = load_profile(name).description
        except KickgenError as exc:
            description = f"(broken: {exc.message.splitlines()[0]})"
            broken += 1
        print(f"{name:<{width}}  {description}")
    return 1 if broken else 0


def _add_show(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("show", help="print the merged profile (extends and --set applied) as YAML")
    p.add_argument("profile", help="profile name in profiles/ or a path")
    _add_overrides(p)
    p.set_defaults(func=_cmd_show)


def _cmd_show(args: argparse.Namespace) -> int:
    import yaml

    from kickgen.profile.loader import load_profile, profile_to_data

    profile = load_profile(args.profile, args.overrides)
    print(f"# profile {profile.name} ({profile.source}), merged with its parents and --set")
    sys.stdout.write(yaml.safe_dump(profile_to_data(profile), sort_keys=False, width=100))
    return 0


# --- standin (stand-in CentOS 6.5 media) ---------------------------------------------------

def _add_standin(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("standin", help="build stand-in CentOS 6.5 install media (Debian kernel, busybox installer)")
    p.add_argument("--variant", choices=("dvd", "minimal"), default="dvd",
                   help="dvd: BIOS + UEFI (EFI/, images/efiboot.img); minimal: BIOS only (default: dvd)")
    p.add_argument("-o", "--output", metavar="ISO", help="also write the image here (default: only the cache)")
    p.add_argument("--no-cache", action="store_true", help="rebuild even when build/standin/ has it")
    p.set_defaults(func=_cmd_standin)


def _cmd_standin(args: argparse.Namespace) -> int:
    import time
    from pathlib import Path

    from kickgen.standin.builder import build_standin

    started = time.monotonic()
    iso = build_standin(args.variant, Path(args.output) if args.output else None, cache=not args.no_cache)
    size_mib = iso.stat().st_size / 2**20
    print(f"kickgen: stand-in {args.variant} media {iso} ({size_mib:.1f} MiB) "
          f"in {time.monotonic() - started:.1f} s")
    return 0


# --- iso / inspect (stage: remaster) --------------------------------------------------------

def _add_iso(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("iso", help="remaster a CentOS 6.5 ISO so it installs the profile unattended")
    p.add_argument("profile", help="profile name or path")
    p.add_argument("--base", required=True, metavar="BASE.iso", help="the CentOS 6.5 install ISO (only read)")
    p.add_argument("-o", "--output", required=True, metavar="OUT.iso", help="the ISO to write")
    p.add_argument("--ks", metavar="FILE", help="put this kickstart on the ISO instead of rendering PROFILE")
    _add_overrides(p)
    p.add_argument("--add", action="append", default=[], metavar="SRC:ISO_PATH",
                   help="also put file SRC on the ISO at ISO_PATH (repeatable)")
    p.add_argument("--quiet", action="store_true", help="no progress bar and no closing line")
    p.add_argument("--no-offline-check", action="store_true",
                   help="offline profiles: skip the check that the base media plus media.embed hold "
                        "everything the kickstart installs (run by default; see check-offline)")
    p.set_defaults(func=_cmd_iso)


def _cmd_iso(args: argparse.Namespace) -> int:
    from pathlib import Path

    from kickgen.core.errors import UsageError
    from kickgen.pipeline import build_media, parse_add
    from kickgen.profile.loader import load_profile

    profile = load_profile(args.profile, args.overrides)
    kickstart = None
    if args.ks:
        try:
            kickstart = Path(args.ks).read_text()
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"--ks {args.ks}: cannot read the kickstart: {exc}") from None
    add = [parse_add(item) for item in args.add]
    build = dict(kickstart=kickstart, kickstart_source=args.ks, add=add,
                 offline_check=not args.no_offline_check)
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    if args.quiet or not console.is_terminal:  # a bar only where someone watches it
        result = build_media(profile, Path(args.base), Path(args.output), **build)
    else:
        with Progress(TextColumn("{task.description:<14}"), BarColumn(), DownloadColumn(),
                      TimeElapsedColumn(), console=console, transient=True) as bar:
            tasks: dict[str, object] = {}

            def progress(stage: str, done: int, total: int) -> None:
                if stage not in tasks:
                    label = {"write": "writing ISO", "md5": "implanting MD5", "sha256": "sha256"}.get(stage, stage)
                    tasks[stage] = bar.add_task(label, total=total)
                bar.update(tasks[stage], completed=done, total=total)

            result = build_media(profile, Path(args.base), Path(args.output), progress=progress, **build)
    if args.quiet:
        return 0
    print(f"wrote {result.output} ({result.size / 2**20:.1f} MiB) in {result.seconds:.1f} s; "
          f"manifest {result.manifest.name}; volume {result.volume_id}; hybrid {result.hybrid}")
    return 0


def _add_inspect(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("inspect", help="show an ISO's volume ID, boot entries, ks= arguments and media MD5")
    p.add_argument("iso", metavar="ISO")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=_cmd_inspect)


def _cmd_inspect(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    from kickgen.media.inspect import format_text, inspect_image

    info = inspect_image(Path(args.iso))
    if args.json:
        print(json.dumps(info.as_json(), indent=2))
    else:
        print(format_text(info))
    return 0


# --- boot-test / matrix (stage: prove it) ---------------------------------------------------

def _add_boot_test(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("boot-test", help="install an ISO under libvirt, boot it, assert the profile's expect:")
    p.add_argument("iso", help="the (remastered) install ISO")
    p.add_argument("--profile", required=True, help="profile name in profiles/ or a path")
    _add_overrides(p)
    _add_vm_options(p)
    p.add_argument("--firmware", choices=("bios", "uefi"), default="bios")
    p.add_argument("--medium", choices=("cd", "usb"), default="cd",
                   help="attach the ISO as a CD or as a USB disk (the hybrid image)")
    p.add_argument("--timeout-install", type=int, metavar="S", help="default: profile vm.timeout_install")
    p.add_argument("--timeout-boot", type=int, metavar="S", help="default: profile vm.timeout_boot")
    p.add_argument("--stall", type=int, metavar="S", help="default: profile vm.stall_seconds")
    p.add_argument("--artifacts", metavar="DIR", help="default: build/boot-tests/<run name>")
    p.add_argument("--keep", action="store_true", help="leave the domain and its disk behind")
    p.add_argument("--ks-sha256", metavar="HEX", help="also assert the report's kickstart checksum")
    p.add_argument("--extra-disks", type=int, default=0, metavar="N",
                   help="attach N blank 2 GiB disks besides the target; the install must not write to them")
    p.add_argument("--keep-medium", action="store_true",
                   help="leave the medium attached and first in the boot order after the install: the run "
                        "must still end in the installed system (CD media eject it: reboot --eject)")
    p.add_argument("--writable-medium", action="store_true",
                   help="attach a writable copy of the ISO (as a USB stick is) and assert it comes out unchanged")
    p.set_defaults(func=_cmd_boot_test)


def _add_vm_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--connect", metavar="URI", default=None, help="libvirt URI (default qemu:///system)")
    p.add_argument("--network", metavar="NAME", help="attach this libvirt network (default: none)")
    p.add_argument("--accel", choices=("auto", "kvm", "tcg"), default="auto",
                   help="auto: probe KVM once, else TCG")
    p.add_argument("--quiet", action="store_true", help="no live progress display")


def _sigterm_as_interrupt() -> None:
    """SIGTERM unwinds like Ctrl-C, so the harness's cleanup runs."""
    import signal

    def interrupt(_signum, _frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, interrupt)


def _cmd_boot_test(args: argparse.Namespace) -> int:
    from contextlib import nullcontext
    from pathlib import Path

    from kickgen.vm.harness import boot_test
    from kickgen.profile.loader import load_profile
    from kickgen.progress import LiveProgress
    from kickgen.vm.host import DEFAULT_URI

    _sigterm_as_interrupt()
    profile = load_profile(args.profile, args.overrides)
    display = nullcontext() if args.quiet else LiveProgress()
    with display as live:
        result = boot_test(Path(args.iso), profile, connect=args.connect or DEFAULT_URI,
                           firmware=args.firmware, medium=args.medium,
                           timeout_install=args.timeout_install, timeout_boot=args.timeout_boot,
                           stall_seconds=args.stall, artifacts=Path(args.artifacts) if args.artifacts else None,
                           keep=args.keep, network=args.network, accel=args.accel,
                           ks_sha256=args.ks_sha256, extra_disks=args.extra_disks,
                           keep_medium=args.keep_medium, writable_medium=args.writable_medium,
                           progress=live.update if live else None)
    print(f"accel: {result.accel_reason}")
    for phase in result.phases:
        print(f"{phase.phase}: {phase.outcome} in {phase.seconds:.0f}s: {phase.reason}")
        for note in phase.notes:
            print(f"  note: {note}")
        if not phase.ok and phase.excerpt:
            print(f"  last console lines ({phase.serial_log}):")
            for line in phase.excerpt:
                print(f"  | {line}")
        if phase.screenshot:
            print(f"  screenshot: {phase.screenshot}")
    for check in result.assertions:
        print(f"  {check.describe()}")
    for problem in result.cleanup_problems:
        print(f"cleanup: {problem}", file=sys.stderr)
    if result.kept:
        print(f"kept: domain {result.name}, volumes {', '.join(result.volumes)} (--keep)")
    print(f"artifacts: {result.artifacts}")
    print(result.verdict)
    return result.exit_code


def _add_matrix(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("matrix", help="boot-test profile x firmware x medium cases over libvirt hosts")
    p.add_argument("matrix", help="matrix YAML (see vm/matrix-example.yaml)")
    p.add_argument("--connect", action="append", metavar="URI", default=[],
                   help="libvirt URI to spread cases over (repeatable; overrides hosts: in the file)")
    p.add_argument("--parallel", type=int, metavar="N", help="cases at once per host (overrides the file)")
    p.add_argument("--artifacts", metavar="DIR", help="default: build/matrix/<timestamp>")
    p.add_argument("--accel", choices=("auto", "kvm", "tcg"), default="auto")
    p.add_argument("--quiet", action="store_true", help="no live progress display")
    p.set_defaults(func=_cmd_matrix)


def _cmd_matrix(args: argparse.Namespace) -> int:
    from contextlib import nullcontext
    from pathlib import Path

    from kickgen.pipeline import run_matrix
    from kickgen.vm.matrix import load_matrix, summary_table
    from kickgen.progress import LiveProgress

    _sigterm_as_interrupt()
    plan = load_matrix(Path(args.matrix), connect=args.connect, parallel=args.parallel)
    display = nullcontext() if args.quiet else LiveProgress()
    with display as live:
        outcome = run_matrix(plan, artifacts=Path(args.artifacts) if args.artifacts else None,
                             accel=args.accel, progress=live.update if live else None)
    print(summary_table(outcome))
    print(f"junit: {outcome.junit}")
    print(outcome.verdict)
    return outcome.exit_code


# --- check-offline (air-gapped media) -------------------------------------------------------

def _add_check_offline(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "check-offline",
        help="prove that the base media plus the embedded RPMs hold everything the kickstart installs")
    p.add_argument("profile", nargs="?", help="profile name or path (rendered to get the kickstart)")
    p.add_argument("--base", required=True, metavar="BASE.iso", help="the base install media")
    p.add_argument("--embed", action="append", default=[], metavar="REPO=PATH",
                   help="an RPM folder or file to carry as repo REPO (repeatable; adds to the "
                        "profile's media.embed)")
    p.add_argument("--kickstart", metavar="KS", help="check this kickstart file instead of "
                   "rendering PROFILE")
    _add_overrides(p)
    p.set_defaults(func=_cmd_check_offline)


def _cmd_check_offline(args: argparse.Namespace) -> int:
    from pathlib import Path

    from kickgen.core.errors import UsageError
    from kickgen.offline.check import check_offline

    embed: dict[str, list[Path]] = {}
    if args.kickstart:
        try:
            text = Path(args.kickstart).read_text()
        except OSError as exc:
            raise UsageError(f"{args.kickstart}: cannot read kickstart: {exc.strerror}") from None
    elif args.profile:
        from kickgen.profile.loader import load_profile
        from kickgen.kickstart.render import render_kickstart

        profile = load_profile(args.profile, args.overrides)
        text = render_kickstart(profile).text
        for repo, paths in dict(getattr(profile.media, "embed", None) or {}).items():
            embed[repo] = [Path(p) for p in paths]
    else:
        raise UsageError("check-offline needs a PROFILE or --kickstart KS")
    for item in args.embed:
        repo, sep, path = item.partition("=")
        if not sep or not repo or not path:
            raise UsageError(f"--embed {item}: expected REPO=PATH")
        embed.setdefault(repo, []).append(Path(path))
    if not embed:
        raise UsageError("nothing to check: the profile has no media.embed and no --embed given")
    result = check_offline(text, Path(args.base), embed)
    for repo, count in result.repos:
        print(f"repo {repo}: {count} package{'' if count == 1 else 's'}")
    print(f"embedded: {len(result.embedded.manifest)} RPMs, "
          f"{result.embedded.size_added / 2**20:.1f} MiB added to the ISO")
    for note in result.report.notes:
        print(f"note: {note}")
    report = result.report
    print(f"resolved: {len(report.selected)} packages would be installed")
    for missing in report.missing:
        print(f"MISSING: {missing}")
    report.require_complete()
    print("offline set complete")
    return 0



# In pipeline order, as `kickgen --help` lists them.
COMMANDS = [_add_profiles, _add_show, _add_render, _add_validate, _add_check_offline, _add_iso,
            _add_inspect, _add_boot_test, _add_matrix, _add_standin]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kickgen", description="YAML profiles -> EL6 kickstarts -> remastered CentOS 6.5 media, boot-tested under libvirt.")
    parser.add_argument("--version", action="version", version=f"kickgen {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in COMMANDS:
        add(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)  # argparse exits 2 on a usage error, as we want
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.func(args) or 0)
    except KickgenError as exc:
        if args.debug:
            log.exception("failed")
        for line in exc.message.splitlines() or [""]:  # several problems: one line each
            print(f"kickgen: error: {line}", file=sys.stderr)
        if exc.hint:
            print(f"kickgen: hint: {exc.hint}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("kickgen: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
