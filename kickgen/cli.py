"""Thin command line over the pipeline stages. The only place that catches KickgenError.

Each command is a pair: `_add_<name>(subparsers)` declares its arguments (with a description
and examples for its --help) and `_cmd_<name>(args) -> int` calls one stage entry point and
prints the result. The CLI is also the one place that touches process-wide state: it turns
SIGTERM/SIGHUP into KeyboardInterrupt (so every command's cleanup runs) and, for the commands
that talk to libvirt, silences libvirt's default error printer (kickgen reports errors itself).

One vocabulary: PROFILE is always a positional (a name on the profile search path, or a
path); `--ks FILE` is a ready kickstart; `--set KEY=VALUE` overrides a profile value;
`-o/--output` is the file a command writes; `--artifacts DIR` the folder of a run;
`--debug` and `-q/--quiet` work before and after the command and mean the same everywhere.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from kickgen import __version__
from kickgen.core.errors import KickgenError

if TYPE_CHECKING:
    from kickgen.kickstart.validate import Options as ValidationOptions
    from kickgen.kickstart.validate import Report as ValidationReport

log = logging.getLogger("kickgen")

PROFILE_HELP = "a profile name (found in the current folder, $KICKGEN_PROFILE_PATH, then the shipped ones) or a path"
QUIET_HELP = ("no progress display and no confirmation lines (what was written, that a check passed); "
              "results and errors are still printed")
DEBUG_HELP = "show tracebacks and debug logs"

# --debug/--quiet on every subparser too; SUPPRESS keeps a subparser from resetting what was
# given before the command (`kickgen --debug render x` and `kickgen render x --debug` agree).
_COMMON = argparse.ArgumentParser(add_help=False)
_COMMON.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=DEBUG_HELP)
_COMMON.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS, help=QUIET_HELP)


class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Wraps the description's paragraphs to the terminal; keeps indented lines (examples) as written."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        import textwrap

        out = []
        for line in text.splitlines():
            if line.startswith(" ") or not line:
                out.append(indent + line)
            else:
                out.append(textwrap.fill(line, width, initial_indent=indent, subsequent_indent=indent))
        return "\n".join(out)


def _command(sub: argparse._SubParsersAction, name: str, summary: str, description: str,
             examples: list[str]) -> argparse.ArgumentParser:
    """A subparser with the shared options, a description and an `examples:` epilog."""
    epilog = "examples:\n" + "\n".join(f"  {line}" for line in examples)
    return sub.add_parser(name, help=summary, description=description, epilog=epilog,
                          parents=[_COMMON], formatter_class=_HelpFormatter)


# boot-test's operands are both optional to argparse (so the older `ISO --profile PROFILE`
# still parses); its usage line shows the spelling to use.
_USAGE_FIXES = {"[PROFILE] [ISO]": "PROFILE ISO"}


def _usage(p: argparse.ArgumentParser, width: int | None = None) -> str:
    formatter = p._get_formatter() if width is None else argparse.HelpFormatter(prog=p.prog, width=width)
    formatter.add_usage(None, p._actions, p._mutually_exclusive_groups, prefix="usage: ")
    text = formatter.format_help().strip().removeprefix("usage: ")
    for old, new in _USAGE_FIXES.items():
        text = text.replace(old, new)
    return text


def _add_profile(p: argparse.ArgumentParser, optional: bool = False) -> None:
    p.add_argument("profile", metavar="PROFILE", nargs="?" if optional else None, help=PROFILE_HELP)


def _add_overrides(p: argparse.ArgumentParser) -> None:
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", dest="overrides",
                   help="override a profile value, VALUE parsed as YAML (repeatable), "
                        "e.g. --set vm.vcpus=2 --set mirrors.centos_os=http://mirror.local/6.5/os/x86_64/")


def _add_ks(p: argparse.ArgumentParser, help: str, old_spelling: str | None = None) -> None:
    p.add_argument("--ks", metavar="FILE", help=help)
    if old_spelling:   # kept working, not shown
        p.add_argument(old_spelling, dest="ks", metavar="FILE", help=argparse.SUPPRESS)


def _add_artifacts(p: argparse.ArgumentParser, default: str) -> None:
    p.add_argument("--artifacts", metavar="DIR",
                   help=f"write the run's logs and reports here (default: ./kickgen-artifacts/{default})")


def _add_accel(p: argparse.ArgumentParser) -> None:
    p.add_argument("--accel", choices=("auto", "kvm", "tcg"), default="auto",
                   help="auto: probe KVM once per run, else TCG (default: auto)")


def _read_kickstart(path: str) -> str:
    from kickgen.core.errors import UsageError

    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise UsageError(f"--ks {path}: cannot read the kickstart: {reason}") from None


# --- profiles / show / render / validate (stage: profile -> kickstart) ------------------------

def _add_profiles(sub: argparse._SubParsersAction) -> None:
    p = _command(sub, "profiles", "list the profiles kickgen finds, with where each came from",
                 "List every profile reachable by name: NAME, ORIGIN (current folder, "
                 "$KICKGEN_PROFILE_PATH or shipped), PATH and DESCRIPTION.\nWhere two folders "
                 "hold the same name, the one a name resolves to (the first on the search path) "
                 "is listed. Exit 1 when a profile does not load.",
                 ["kickgen profiles",
                  "KICKGEN_PROFILE_PATH=~/site-profiles kickgen profiles"])
    p.set_defaults(func=_cmd_profiles)


def _cmd_profiles(args: argparse.Namespace) -> int:
    from kickgen.profile import list_profiles, load_profile

    found = list_profiles()
    rows = []
    broken = 0
    for profile in found:
        try:
            description = load_profile(str(profile.path)).description
        except KickgenError as exc:
            description = f"(broken: {exc.message.splitlines()[0]})"
            broken += 1
        rows.append((profile.name, profile.origin, str(profile.path), description))
    widths = [max((len(row[i]) for row in rows), default=0) for i in range(3)]
    for name, origin, path, description in rows:
        print(f"{name:<{widths[0]}}  {origin:<{widths[1]}}  {path:<{widths[2]}}  {description}".rstrip())
    return 1 if broken else 0


def _add_show(sub: argparse._SubParsersAction) -> None:
    p = _command(sub, "show", "print the merged profile (extends and --set applied) as YAML",
                 "Print PROFILE merged with its `extends:` parents and every --set, as YAML: "
                 "what the kickstart will be rendered from.\nA password is never shown in "
                 "plain text.",
                 ["kickgen show standin-docker",
                  "kickgen show ./site.yaml --set vm.vcpus=2"])
    _add_profile(p)
    _add_overrides(p)
    p.set_defaults(func=_cmd_show)


def _cmd_show(args: argparse.Namespace) -> int:
    import yaml

    from kickgen.profile import load_profile, profile_to_data

    profile = load_profile(args.profile, args.overrides)
    print(f"# profile {profile.name} ({profile.source}), merged with its parents and --set")
    sys.stdout.write(yaml.safe_dump(profile_to_data(profile), sort_keys=False, width=100))
    return 0


def _add_render(sub: argparse._SubParsersAction) -> None:
    p = _command(sub, "render", "render a profile to a kickstart (validated)",
                 "Render PROFILE to an EL6 kickstart and validate it (as kickgen validate does; a "
                 "warning fails too) before writing it to stdout, or with -o to FILE "
                 "(through a temp file renamed into place: a failure leaves no file). The file "
                 "holds the root password hash: it is written mode 0600 (less what the umask "
                 "takes). FILE must be a regular file or a new name, and none of the profile's "
                 "own files.",
                 ["kickgen render centos65-docker > ks.cfg",
                  "kickgen render centos65-docker -o ks.cfg --set network.hostname=docker1",
                  "kickgen render ./site.yaml --no-validate -o ks.cfg"])
    _add_profile(p)
    p.add_argument("-o", "--output", metavar="FILE",
                   help="write the kickstart here (atomically, mode 0600) instead of stdout; - is stdout")
    _add_overrides(p)
    p.add_argument("--no-validate", action="store_true",
                   help="skip the validation (kickgen validate's checks), e.g. to read the line a problem names")
    p.set_defaults(func=_cmd_render)


def _cmd_render(args: argparse.Namespace) -> int:
    from kickgen.core.atomic import write_text
    from kickgen.core.outputs import KICKSTART_MODE, check_output
    from kickgen.kickstart import render_kickstart, reproducible_salt, validate_kickstart
    from kickgen.profile import load_profile
    from kickgen.profile.loader import profile_inputs

    profile = load_profile(args.profile, args.overrides)
    output = None
    if args.output:   # refused before any work: a device, FIFO, link, folder, or the profile itself
        output = check_output(args.output, inputs=profile_inputs(profile), stdout=True, command="render")
    # the salt `kickgen iso` uses too: render and the media's /ks.cfg agree
    kickstart = render_kickstart(profile, salt=reproducible_salt(profile))
    if not args.no_validate:
        validate_kickstart(kickstart.text, f"<{kickstart.profile_name}.ks>")
    if output is not None:
        write_text(output, kickstart.text, mode=KICKSTART_MODE)
        if not args.quiet:
            print(f"kickgen: wrote {args.output} (profile {kickstart.profile_name}, "
                  f"sha256 {kickstart.sha256})", file=sys.stderr)
    else:
        sys.stdout.write(kickstart.text)
    return 0


def _add_validation_options(p: argparse.ArgumentParser) -> None:
    """The options `validate` and `iso --ks` share: how a kickstart is judged."""
    from kickgen.kickstart.validate import DEFAULT_RELEASE, releases

    p.add_argument("--release", default=DEFAULT_RELEASE, choices=releases(), metavar="6.N",
                   help="judge the kickstart by this EL6 release's installer (6.0 to 6.10; default "
                        f"{DEFAULT_RELEASE}): later releases' syntax is an error")
    p.add_argument("--include-dir", action="append", default=[], metavar="DIR", dest="include_dirs",
                   help="look for %%include files here too (besides the kickstart's folder) (repeatable)")
    p.add_argument("--disable", action="append", default=[], metavar="RULE",
                   help="do not apply this rule (an id from --list-rules, a shellcheck code such as "
                        "SC2086, or 'shellcheck' for all of them) (repeatable)")
    p.add_argument("--strict", action="store_true", help="warnings fail too (exit 1); errors always do")


def _validation_options(args: argparse.Namespace) -> ValidationOptions:
    from kickgen.kickstart.validate import Options
    from kickgen.kickstart.validate.rules import check_rule_ids

    return Options(release=args.release, include_dirs=tuple(Path(d) for d in args.include_dirs),
                   disabled=check_rule_ids(args.disable))


def _add_validate(sub: argparse._SubParsersAction) -> None:
    p = _command(sub, "validate", "judge a kickstart file as the EL6 installer will, or a profile's kickstart",
                 "Check the kickstart FILE given with --ks, or the kickstart PROFILE renders, the "
                 "way the EL6 installer (anaconda 13.21 and its parser, pykickstart r1.74, as of "
                 "--release) will read it, and name what will go wrong: one line per finding, "
                 "FILE:LINE: severity: message [rule], errors first, then the counts.\n"
                 "error: the installer refuses the file, or the unattended install would stop "
                 "and ask; warning: accepted, but wrong or risky; note: style, or not checked. "
                 "%include files are followed; scripts are checked with shellcheck (as bash, "
                 "EL6's /bin/sh) or as Python 2.6.\n"
                 "Exit 0 when there is no error (warnings printed), 1 with an error, or with a "
                 "warning under --strict. A profile's own kickstart is always judged strictly.",
                 ["kickgen validate --ks ks.cfg",
                  "kickgen validate --ks ks.cfg --release 6.10 --disable SC2086 --strict",
                  "kickgen validate --ks ks.cfg --format sarif > ks.sarif",
                  "kickgen validate centos65-docker"])
    _add_profile(p, optional=True)
    _add_ks(p, "validate this kickstart file instead of rendering PROFILE")
    _add_overrides(p)
    _add_validation_options(p)
    p.add_argument("--format", choices=("text", "json", "sarif"), default="text",
                   help="text: one line per finding (default); json; sarif: SARIF 2.1.0 for code-scanning pages")
    p.add_argument("--list-rules", action="store_true",
                   help="print every rule id with its severity and meaning, and exit")
    p.set_defaults(func=_cmd_validate)


def _cmd_validate(args: argparse.Namespace) -> int:
    from kickgen.core.errors import UsageError
    from kickgen.kickstart.validate import check_file, check_kickstart

    if args.list_rules:
        from kickgen.kickstart.validate import RULES

        for rule in RULES.values():
            print(f"{rule.id:<30} {rule.severity.label:<8} {rule.summary}")
        return 0
    options = _validation_options(args)
    if args.ks and args.profile:
        raise UsageError("give a PROFILE or --ks FILE, not both")
    if args.ks is None and args.profile is None:
        raise UsageError("validate needs a PROFILE or --ks FILE")
    strict = args.strict
    if args.ks is None and _names_a_profile(args.profile):
        from kickgen.kickstart import render_kickstart
        from kickgen.profile import load_profile

        kickstart = render_kickstart(load_profile(args.profile, args.overrides))
        report = check_kickstart(kickstart.text, f"<{kickstart.profile_name}.ks>", options)
        strict = True           # kickgen's own kickstarts carry no warnings
    else:
        source = args.ks or args.profile      # the older spelling: a kickstart file as the positional
        if args.ks is None and not Path(source).is_file():
            raise UsageError(f"no profile or kickstart file {source!r}")
        if args.overrides:
            raise UsageError("--set applies to profiles, not to a kickstart file")
        if not Path(source).is_file():
            raise UsageError(f"--ks {source}: no such kickstart file")
        report = check_file(Path(source), options)
    _print_report(report, args.format, quiet=args.quiet)
    return 1 if report.fails(strict) else 0


def _names_a_profile(target: str) -> bool:
    """A profile name or YAML file (found on the profile search path), not a kickstart file."""
    from kickgen.profile.search import find_profile  # not imported for --ks: its import time

    looks_like_profile = target.endswith((".yaml", ".yml")) or not Path(target).is_file()
    return looks_like_profile and find_profile(target) is not None


def _print_report(report: ValidationReport, form: str, *, quiet: bool = False) -> None:
    import json

    from kickgen.kickstart.validate import Severity

    if form == "sarif":
        from kickgen.kickstart.validate import RULES
        from kickgen.kickstart.validate.sarif import sarif_log

        print(json.dumps(sarif_log(report, RULES, __version__), indent=2))
    elif form == "json":
        print(json.dumps({
            "release": report.release, "files": report.files,
            "counts": {severity.label: report.count(severity) for severity in Severity},
            "findings": [{"file": f.file, "line": f.line, "column": f.column, "severity": f.severity.label,
                          "rule": f.rule, "message": f.message} for f in report.findings]}, indent=2))
    else:
        # --quiet keeps what needs acting on: errors and warnings
        shown = [f for f in report.findings if not quiet or f.severity <= Severity.WARNING]
        for finding in shown:
            print(finding)
        if not quiet:
            print(f"{report.files[0] if report.files else 'kickstart'}: {report.summary()} (EL{report.release})")


# --- check-offline (air-gapped media) ---------------------------------------------------------

def _add_check_offline(sub: argparse._SubParsersAction) -> None:
    p = _command(sub, "check-offline",
                 "prove that the base media plus the embedded RPMs hold everything the kickstart installs",
                 "Read the base media's repodata and every embedded RPM (the profile's "
                 "media.embed plus --embed), take what the kickstart installs (%packages, "
                 "the installer's forced packages, %post yum targets) and resolve their "
                 "requirements like EL6's yum. Prints MISSING: lines naming what needs each "
                 "missing capability; exit 1 when anything is missing.",
                 ["kickgen check-offline centos65-docker-offline --base CentOS-6.5-x86_64-bin-DVD1.iso",
                  "kickgen check-offline --ks ks.cfg --base DVD1.iso --embed epel=rpms/epel6"])
    _add_profile(p, optional=True)
    p.add_argument("--base", required=True, metavar="BASE.iso", help="the base install media (only read)")
    _add_ks(p, "check this kickstart file instead of rendering PROFILE", old_spelling="--kickstart")
    p.add_argument("--embed", action="append", default=[], metavar="REPO=PATH",
                   help="an RPM folder or file to carry as repo REPO (repeatable; adds to the "
                        "profile's media.embed)")
    _add_overrides(p)
    p.set_defaults(func=_cmd_check_offline)


def _cmd_check_offline(args: argparse.Namespace) -> int:
    from kickgen.core.errors import UsageError
    from kickgen.offline import check_offline

    embed: dict[str, list[Path]] = {}
    if args.ks:
        if args.profile:
            raise UsageError("give a PROFILE or --ks FILE, not both")
        if args.overrides:
            raise UsageError("--set applies to profiles, not to a kickstart file")
        text = _read_kickstart(args.ks)
    elif args.profile:
        from kickgen.kickstart import render_kickstart
        from kickgen.profile import load_profile

        profile = load_profile(args.profile, args.overrides)
        text = render_kickstart(profile).text
        for repo, paths in dict(getattr(profile.media, "embed", None) or {}).items():
            embed[repo] = [Path(p) for p in paths]
    else:
        raise UsageError("check-offline needs a PROFILE or --ks FILE")
    for item in args.embed:
        repo, sep, path = item.partition("=")
        if not sep or not repo or not path:
            raise UsageError(f"--embed {item}: expected REPO=PATH")
        embed.setdefault(repo, []).append(Path(path))
    if not embed:
        raise UsageError("nothing to check: the profile has no media.embed and no --embed given")
    result = check_offline(text, Path(args.base), embed)
    report = result.report
    if not args.quiet:
        for repo, count in result.repos:
            print(f"repo {repo}: {count} package{'' if count == 1 else 's'}")
        print(f"embedded: {len(result.embedded.manifest)} RPMs, "
              f"{result.embedded.size_added / 2**20:.1f} MiB added to the ISO")
    for note in report.notes:
        print(f"note: {note}")
    if not args.quiet:
        print(f"resolved: {len(report.selected)} packages would be installed")
    for missing in report.missing:
        print(f"MISSING: {missing}")
    report.require_complete()
    if not args.quiet:
        print("offline set complete")
    return 0


# --- iso / inspect (stage: remaster) ----------------------------------------------------------

def _add_iso(sub: argparse._SubParsersAction) -> None:
    p = _command(sub, "iso", "remaster a CentOS 6.5 ISO so it installs the profile unattended",
                 "Write a copy of BASE.iso that installs PROFILE unattended: /ks.cfg, two boot "
                 "entries in front (CD: ks=cdrom:/ks.cfg; USB: ks=hd:LABEL=...) in isolinux.cfg "
                 "and both BOOTX64.conf copies, embedded offline repos, hybrid MBR/GPT kept, media "
                 "MD5 implanted again, and OUT.iso.json as the manifest (with the source and "
                 "sha256 of every added file). The kickstart is rendered and validated first (or "
                 "taken from --ks, validated too). The base is only read; OUT.iso and OUT.iso.json "
                 "appear only when complete, and must be regular files or new names, none of the "
                 "inputs.",
                 ["kickgen iso centos65-docker --base CentOS-6.5-x86_64-bin-DVD1.iso -o centos65-ks.iso",
                  "kickgen iso standin-docker --base standin.iso -o out.iso --ks my-ks.cfg --add motd:/isolinux/motd"])
    _add_profile(p)
    p.add_argument("--base", required=True, metavar="BASE.iso", help="the CentOS 6.5 install ISO (only read)")
    p.add_argument("-o", "--output", required=True, metavar="OUT.iso", help="the ISO to write")
    _add_ks(p, "put this kickstart on the ISO instead of rendering PROFILE (judged as by kickgen "
               "validate: errors refuse the media, warnings are printed)")
    _add_overrides(p)
    _add_validation_options(p)
    p.add_argument("--add", action="append", default=[], metavar="SRC:ISO_PATH",
                   help="also put file SRC on the ISO at ISO_PATH (repeatable); ISO_PATH names use A-Z a-z "
                        "0-9 . _ + - and cannot be a file kickgen writes (/ks.cfg: use --ks; the boot "
                        "menus and images: the boot.* profile keys; /kickgen/: media.embed)")
    _add_allow_path(p)
    p.add_argument("--no-offline-check", action="store_true",
                   help="offline profiles: skip the check that the base media plus media.embed hold "
                        "everything the kickstart installs (run by default; see check-offline)")
    p.set_defaults(func=_cmd_iso)


def _add_allow_path(p: argparse.ArgumentParser) -> None:
    p.add_argument("--allow-path", action="append", default=[], metavar="DIR", dest="allow_paths",
                   help="let the profiles' media.add take files from DIR too (repeatable); without it a "
                        "media.add source must lie in the folder of the profile file that names it")


def _allow_paths(args: argparse.Namespace) -> list[Path]:
    from kickgen.core.errors import UsageError

    for folder in args.allow_paths:
        if not Path(folder).is_dir():
            raise UsageError(f"--allow-path {folder}: no such folder")
    return [Path(folder) for folder in args.allow_paths]


def _cmd_iso(args: argparse.Namespace) -> int:
    from kickgen.pipeline import build_media, parse_add
    from kickgen.profile import load_profile

    allow_paths = _allow_paths(args)
    profile = load_profile(args.profile, args.overrides)
    kickstart = _read_kickstart(args.ks) if args.ks else None
    add = [parse_add(item) for item in args.add]

    def show_findings(report: ValidationReport) -> None:  # a --ks kickstart's findings, before the long work
        from kickgen.kickstart.validate import Severity

        shown = Severity.NOTE if args.ks and not args.quiet else Severity.WARNING
        for finding in report.findings:
            if finding.severity <= shown:
                print(f"kickgen: {finding}", file=sys.stderr)

    build = dict(kickstart=kickstart, kickstart_source=args.ks, add=add,
                 offline_check=not args.no_offline_check, strict=args.strict,
                 validation=_validation_options(args), on_findings=show_findings, allow_paths=allow_paths)
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    if args.quiet or not console.is_terminal:  # a bar only where someone watches it
        result = build_media(profile, Path(args.base), Path(args.output), **build)
    else:
        with Progress(TextColumn("{task.description:<14}"), BarColumn(), DownloadColumn(),
                      TimeElapsedColumn(), console=console, transient=True) as bar:
            tasks: dict[str, TaskID] = {}

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
    p = _command(sub, "inspect", "show an ISO's volume ID, boot entries, ks= arguments and media MD5",
                 "Print ISO's volume ID, El Torito entries, hybrid MBR/GPT partitions, every boot "
                 "menu entry of every config (default marked *) with its ks= and repo= "
                 "arguments, the sha256 of /ks.cfg, and whether the implanted media MD5 "
                 "matches (computed as checkisomd5 does). With --check, exit 1 when it does "
                 "not match or none is implanted.",
                 ["kickgen inspect centos65-ks.iso",
                  "kickgen inspect --json centos65-ks.iso | jq .md5_matches",
                  "kickgen inspect --check --quiet stick-copy.iso && echo media intact"])
    p.add_argument("iso", metavar="ISO", help="the image to read (only read)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--check", action="store_true",
                   help="exit 1 unless the implanted media MD5 matches the image (as checkisomd5)")
    p.set_defaults(func=_cmd_inspect)


def _cmd_inspect(args: argparse.Namespace) -> int:
    import json

    from kickgen.media import inspect_image
    from kickgen.media.inspect import format_text

    info = inspect_image(Path(args.iso))
    if args.json:
        print(json.dumps(info.as_json(), indent=2))
    elif not (args.check and args.quiet):
        print(format_text(info))
    if not args.check:
        return 0
    if info.md5_implanted is None:
        print(f"kickgen: {args.iso}: no media MD5 implanted", file=sys.stderr)
        return 1
    if not info.md5_matches:
        print(f"kickgen: {args.iso}: media MD5 does not match (implanted {info.md5_implanted}, "
              f"computed {info.md5_computed})", file=sys.stderr)
        return 1
    return 0


# --- boot-test / matrix (stage: prove it) -----------------------------------------------------

def _add_boot_test(sub: argparse._SubParsersAction) -> None:
    p = _command(sub, "boot-test", "install an ISO under libvirt, boot it, assert the profile's expect:",
                 "Install ISO into a fresh disk under libvirt (BIOS or UEFI, as a CD or a USB "
                 "disk), boot the installed disk and check its first-boot report line against "
                 "PROFILE's expect: block. Stall detector and absolute timeouts per phase; the "
                 "domain and its disk are always cleaned up (unless --keep). Prints one line per "
                 "phase and assertion, then the verdict; exit 0 pass, 1 fail, 2 usage or "
                 "environment problem.\n\n"
                 "With --pxe INVENTORY --host NAME [--host NAME ...] --base ISO (instead of PROFILE "
                 "ISO): a network install. The netboot tree of the inventory is made from ISO, a "
                 "kickgen serve for it starts on 127.0.0.1, and each host installs at the same time "
                 "on a machine with no install medium and a blank disk, PXE-booted by QEMU user-mode "
                 "networking (its DHCP and TFTP; the guest reaches the server as 10.0.2.2); each "
                 "report is judged on the console and as the server recorded it (kickgen status).",
                 ["kickgen boot-test standin-docker out.iso",
                  "kickgen boot-test centos65-docker centos65-ks.iso --firmware uefi --medium usb --network default",
                  "kickgen boot-test standin-docker out.iso --connect qemu+ssh://root@host/system --keep",
                  "kickgen boot-test --pxe hosts.yaml --host docker1 --host base1 --base CentOS-6.5-DVD1.iso"])
    _add_profile(p, optional=True)
    p.add_argument("iso", metavar="ISO", nargs="?", help="the (remastered) install ISO (only read)")
    p.add_argument("--profile", dest="profile_option", metavar="PROFILE", help=argparse.SUPPRESS)
    _add_overrides(p)
    p.add_argument("--connect", metavar="URI", default=None, help="libvirt URI (default: qemu:///system)")
    p.add_argument("--network", metavar="NAME", help="attach this libvirt network (default: QEMU user networking)")
    _add_accel(p)
    p.add_argument("--firmware", choices=("bios", "uefi"), default="bios", help="(default: bios)")
    p.add_argument("--medium", choices=("cd", "usb"), default="cd",
                   help="attach the ISO as a CD or as a USB disk (the hybrid image) (default: cd)")
    p.add_argument("--timeout-install", type=int, metavar="S", help="default: the profile's vm.timeout_install")
    p.add_argument("--timeout-boot", type=int, metavar="S", help="default: the profile's vm.timeout_boot")
    p.add_argument("--stall", type=int, metavar="S", help="default: the profile's vm.stall_seconds")
    _add_artifacts(p, "boot-tests/<run name>")
    p.add_argument("--keep", action="store_true", help="leave the domain and its disk behind")
    p.add_argument("--ks-sha256", metavar="HEX", help="also assert the report's kickstart checksum")
    p.add_argument("--extra-disks", type=int, default=0, metavar="N",
                   help="attach N blank 2 GiB disks besides the target; the install must not write to them")
    p.add_argument("--keep-medium", action="store_true",
                   help="leave the medium attached and first in the boot order after the install: the run "
                        "must still end in the installed system (CD media eject it: reboot --eject)")
    p.add_argument("--writable-medium", action="store_true",
                   help="attach a writable copy of the ISO (as a USB stick is) and assert it comes out unchanged")
    p.add_argument("--pxe", metavar="INVENTORY",
                   help="a network install of hosts of this inventory (hosts.yaml) instead of PROFILE ISO")
    p.add_argument("--host", action="append", default=[], metavar="NAME", dest="pxe_hosts",
                   help="with --pxe: an inventory host to install (repeatable: they install at the same time)")
    p.add_argument("--base", metavar="ISO", dest="pxe_base",
                   help="with --pxe: the base ISO the netboot tree is made from (only read)")
    p.set_defaults(func=_cmd_boot_test, uses_libvirt=True)
    p.usage = _usage(p)


def _boot_test_operands(args: argparse.Namespace) -> tuple[str, str]:
    """PROFILE ISO; the older `ISO --profile PROFILE` still works."""
    from kickgen.core.errors import UsageError

    if args.profile_option is not None:
        if args.iso is not None:
            raise UsageError("boot-test takes PROFILE ISO (or the older ISO --profile PROFILE), not both")
        if args.profile is None:
            raise UsageError("boot-test needs an ISO")
        return args.profile_option, args.profile
    if args.profile is None or args.iso is None:
        raise UsageError("boot-test needs PROFILE and ISO, e.g. kickgen boot-test standin-docker out.iso")
    return args.profile, args.iso


def _pxe_conflicts(args: argparse.Namespace) -> None:
    """--pxe takes its hosts from the inventory: the options of the ISO form are refused with it."""
    from kickgen.core.errors import UsageError

    if args.pxe is None:
        if args.pxe_hosts or args.pxe_base:
            raise UsageError(f"{'--host' if args.pxe_hosts else '--base'} goes with --pxe INVENTORY",
                             hint="kickgen boot-test --pxe hosts.yaml --host NAME --base ISO")
        return
    given = [name for name, value in (
        ("PROFILE/ISO", args.profile or args.iso or args.profile_option), ("--set", args.overrides),
        ("--network", args.network), ("--medium", args.medium != "cd"), ("--ks-sha256", args.ks_sha256),
        ("--extra-disks", args.extra_disks), ("--keep-medium", args.keep_medium),
        ("--writable-medium", args.writable_medium)) if value]
    if given:
        raise UsageError(f"--pxe installs the inventory's hosts with their own profiles: {', '.join(given)} "
                         "cannot go with it", hint="put overrides in the host's set: in the inventory")
    if not args.pxe_hosts:
        raise UsageError("--pxe needs at least one --host NAME (a host of the inventory)")
    if not args.pxe_base:
        raise UsageError("--pxe needs --base ISO (the base ISO the netboot tree is made from)")


def _cmd_boot_test_pxe(args: argparse.Namespace) -> int:
    from contextlib import nullcontext

    from kickgen.pipeline import boot_test_pxe
    from kickgen.progress import LiveProgress
    from kickgen.serve.status import status_text

    display = nullcontext() if args.quiet else LiveProgress()
    with display as live:
        outcome = boot_test_pxe(Path(args.pxe), args.pxe_hosts, Path(args.pxe_base), args.firmware,
                                connect=args.connect, accel=args.accel, timeout_install=args.timeout_install,
                                timeout_boot=args.timeout_boot, stall_seconds=args.stall,
                                artifacts=Path(args.artifacts) if args.artifacts else None, keep=args.keep,
                                progress=live.update if live else None)
    for result in outcome.results:
        print(f"{result.host} (profile {result.profile}):")
        _print_boot_result(result, indent="  ")
    print(f"install server {outcome.server_url} (netboot tree {outcome.tree}):")
    print(status_text(outcome.states), end="")
    print(f"junit: {outcome.junit}")
    print(f"artifacts: {outcome.artifacts}")
    print(outcome.verdict)
    return outcome.exit_code


def _print_boot_result(result, indent: str = "") -> None:
    """A boot test's phases, notes, assertions and verdict, one line each."""
    print(f"{indent}accel: {result.accel_reason}")
    for phase in result.phases:
        print(f"{indent}{phase.phase}: {phase.outcome} in {phase.seconds:.0f}s: {phase.reason}")
        for note in phase.notes:
            print(f"{indent}  note: {note}")
        if not phase.ok and phase.excerpt:
            print(f"{indent}  last console lines ({phase.serial_log}):")
            for line in phase.excerpt:
                print(f"{indent}  | {line}")
        if phase.screenshot:
            print(f"{indent}  screenshot: {phase.screenshot}")
    for check in result.assertions:
        print(f"{indent}  {check.describe()}")
    for problem in result.cleanup_problems:
        print(f"cleanup: {problem}", file=sys.stderr)
    if result.kept:
        print(f"{indent}kept: domain {result.name}, volumes {', '.join(result.volumes)} (--keep)")
    print(f"{indent}artifacts: {result.artifacts}")
    print(f"{indent}{result.verdict}")


def _cmd_boot_test(args: argparse.Namespace) -> int:
    from contextlib import nullcontext

    _pxe_conflicts(args)
    if args.pxe is not None:
        return _cmd_boot_test_pxe(args)

    from kickgen.profile import load_profile
    from kickgen.progress import LiveProgress
    from kickgen.vm import boot_test
    from kickgen.vm.host import DEFAULT_URI

    profile_ref, iso = _boot_test_operands(args)
    profile = load_profile(profile_ref, args.overrides)
    display = nullcontext() if args.quiet else LiveProgress()
    with display as live:
        result = boot_test(Path(iso), profile, connect=args.connect or DEFAULT_URI,
                           firmware=args.firmware, medium=args.medium,
                           timeout_install=args.timeout_install, timeout_boot=args.timeout_boot,
                           stall_seconds=args.stall, artifacts=Path(args.artifacts) if args.artifacts else None,
                           keep=args.keep, network=args.network, accel=args.accel,
                           ks_sha256=args.ks_sha256, extra_disks=args.extra_disks,
                           keep_medium=args.keep_medium, writable_medium=args.writable_medium,
                           progress=live.update if live else None)
    _print_boot_result(result)
    return result.exit_code


def _add_db(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument("--db", metavar="PATH",
                   help=f"{what} (default: ./kickgen-artifacts/results.sqlite)")


def _add_matrix(sub: argparse._SubParsersAction) -> None:
    p = _command(sub, "matrix", "boot-test profile x firmware x medium cases over libvirt hosts",
                 "Run every case of a matrix file (profiles with optional set:, label:, expect_fail:, "
                 "firmware:, medium:, exclude:, hosts:): each profile is remastered once per medium, the "
                 "cases are queued over the hosts, and one junit.xml plus one summary table "
                 "(also summary.txt) come out; the run is recorded in the results database "
                 "(--db) and in kickgen-run.json in its artefact folder. Exit 0 when every case "
                 "passed (a flaky pass and an expected failure count as passed), else 1.",
                 ["kickgen matrix matrix.yaml",
                  "kickgen matrix matrix.yaml --connect qemu:///system "
                  "--connect qemu+ssh://root@b/system --parallel 2",
                  "kickgen matrix matrix.yaml --shard 2/3 --retries 1 --report"])
    p.add_argument("matrix", metavar="MATRIX.yaml", help="the matrix file (see vm/matrix-example.yaml)")
    p.add_argument("--connect", action="append", metavar="URI", default=[],
                   help="libvirt URI to spread cases over (repeatable; replaces hosts: in the file)")
    p.add_argument("--parallel", type=int, metavar="N", help="cases at once per host (overrides the file)")
    p.add_argument("--retries", type=int, default=0, metavar="N",
                   help="run a failed case again on the same host, up to N more times; a pass after a "
                        "failure is FLAKY, and every attempt's artefacts are kept in <case>/attempt-N/ "
                        "(default: 0)")
    p.add_argument("--shard", metavar="K/N",
                   help="run only shard K of N: the cases sorted by the sha256 of their label, dealt "
                        "out in turn (the N shards run every case once, on any machine); merge the "
                        "shards' results with kickgen results import")
    _add_db(p, "record the run in this results database")
    p.add_argument("--report", nargs="?", const="", metavar="HTML",
                   help="then write the HTML report of the results database (kickgen report) to HTML "
                        "(default: report.html in the run's artefact folder)")
    _add_artifacts(p, "matrix/<timestamp>")
    _add_accel(p)
    _add_allow_path(p)
    p.set_defaults(func=_cmd_matrix, uses_libvirt=True)


def _cmd_matrix(args: argparse.Namespace) -> int:
    from contextlib import nullcontext

    from kickgen.core.errors import UsageError
    from kickgen.core.outputs import check_output
    from kickgen.pipeline import run_matrix
    from kickgen.progress import LiveProgress
    from kickgen.results import default_db_path
    from kickgen.vm import load_matrix, summary_table
    from kickgen.vm.matrix import MAX_RETRIES, parse_shard, shard_plan

    allow_paths = _allow_paths(args)
    if not 0 <= args.retries <= MAX_RETRIES:
        raise UsageError(f"--retries {args.retries}: expected a whole number from 0 to {MAX_RETRIES}")
    shard = parse_shard(args.shard) if args.shard is not None else None
    plan = load_matrix(Path(args.matrix), connect=args.connect, parallel=args.parallel)
    if shard is not None:
        plan = shard_plan(plan, *shard)
    db = Path(args.db) if args.db else default_db_path()
    check_output(db, label="--db")
    if args.report:
        check_output(args.report, label="--report", inputs=[("the results database", db)], command="matrix")
        if os.path.abspath(args.report) == os.path.abspath(db):
            raise UsageError(f"--report {args.report} is the results database (--db); give the page another name")
    display = nullcontext() if args.quiet else LiveProgress()
    with display as live:
        outcome = run_matrix(plan, artifacts=Path(args.artifacts) if args.artifacts else None,
                             accel=args.accel, progress=live.update if live else None, allow_paths=allow_paths,
                             retries=args.retries, db=db)
    print(summary_table(outcome))
    print(f"junit: {outcome.junit}")
    for problem in outcome.record_problems:
        print(f"kickgen: error: the run was not recorded: {problem}", file=sys.stderr)
    if not outcome.record_problems:
        print(f"results: {db}")
    if args.report is not None and not outcome.record_problems:
        from kickgen.report import write_report

        report = write_report(db, Path(args.report) if args.report else outcome.artifacts / "report.html")
        print(f"report: {report.path}")
    print(outcome.verdict)
    return outcome.exit_code


# --- results / report (the nightly history and its page) --------------------------------------

def _add_results(sub: argparse._SubParsersAction) -> None:
    p = _command(sub, "results", "merge matrix runs from other machines into the results database, or list it",
                 "The results database holds every matrix run: one row per run, one per attempt of "
                 "each case (docs/kickgen-results.md lists the columns). `import` merges the runs "
                 "found in ARTIFACTS -- artefact folders (searched for kickgen-run.json and "
                 "results databases), run files or database files, e.g. those of CI jobs that "
                 "each ran one --shard -- into --db; a run already there (same run id) is "
                 "skipped, so importing twice adds nothing. `list` prints the runs, newest first.",
                 ["kickgen results import shard-1/ shard-2/ shard-3/",
                  "kickgen results import other-host/results.sqlite --db nightly.sqlite",
                  "kickgen results list --db nightly.sqlite"])
    p.add_argument("action", choices=("import", "list"), help="import: merge ARTIFACTS into --db; list: print its runs")
    p.add_argument("paths", metavar="ARTIFACTS", nargs="*",
                   help="artefact folders, kickgen-run.json files or results databases (import)")
    _add_db(p, "the results database to merge into or list")
    p.add_argument("--runs", type=int, default=20, metavar="N", help="list: the newest N runs (default: 20)")
    p.set_defaults(func=_cmd_results)


def _cmd_results(args: argparse.Namespace) -> int:
    from kickgen.core.errors import UsageError
    from kickgen.results import default_db_path, import_results, read_runs

    db = Path(args.db) if args.db else default_db_path()
    if args.action == "import":
        if not args.paths:
            raise UsageError("results import needs ARTIFACTS: artefact folders, kickgen-run.json files or "
                             "results databases")
        summary = import_results(db, [Path(p) for p in args.paths])
        present = summary.runs_seen - summary.runs_added
        print(f"imported {summary.runs_added} run{'s' if summary.runs_added != 1 else ''} "
              f"({summary.cases_added} case rows) into {db} from {len(summary.sources)} "
              f"file{'s' if len(summary.sources) != 1 else ''}; {present} already there")
        return 0
    if args.paths:
        raise UsageError("results list takes no ARTIFACTS")
    if args.runs < 1:
        raise UsageError(f"--runs {args.runs}: expected a whole number >= 1")
    runs = sorted(read_runs(db), key=lambda r: (r.started, r.run_id), reverse=True)[:args.runs]
    for run in runs:
        statuses = [c.status for c in run.cases if c.attempt == 1]    # a case's status is on each attempt
        counts = {s: statuses.count(s) for s in dict.fromkeys(statuses)}
        shard = f" shard {run.shard}" if run.shard else ""
        print(f"{run.started}  {run.run_id[:12]}  {'PASS' if run.passed else 'FAIL'}  {run.machine}  "
              f"{run.matrix}{shard}  " + ", ".join(f"{n} {s}" for s, n in counts.items()))
    return 0


def _add_report(sub: argparse._SubParsersAction) -> None:
    p = _command(sub, "report", "write the HTML report of the results database (latest results, failures, history)",
                 "Write one static HTML page (and, beside it, a <name>-images/ folder with the failing "
                 "cases' last screens) from the results database: the latest result of every case "
                 "with install and boot times; for each case that needs a look its failed "
                 "assertions, last screen, serial-log lines around the failure and links to its "
                 "artefacts; and each case's history over its last N runs (results and times), "
                 "since when it fails and which of kickgen version, ISO and kickstart changed then. "
                 "A case that passed and failed on the same inputs is FLAKY, not failing. The page "
                 "needs no network and no JavaScript; links are relative, so it opens from a file "
                 "or any web server serving the folder.",
                 ["kickgen report -o nightly/report.html",
                  "kickgen report --db nightly.sqlite --runs 60 -o report.html"])
    _add_db(p, "the results database to read")
    p.add_argument("--runs", type=int, default=30, metavar="N",
                   help="history over each case's last N runs; cases not seen in the last N runs are left out "
                        "(default: 30)")
    p.add_argument("-o", "--output", metavar="HTML",
                   help="the page to write (default: ./kickgen-artifacts/report.html)")
    p.add_argument("--title", default="", metavar="TEXT", help="the page's heading (default: kickgen boot tests)")
    p.set_defaults(func=_cmd_report)


def _cmd_report(args: argparse.Namespace) -> int:
    from kickgen.core.resources import artifacts_dir
    from kickgen.report import write_report
    from kickgen.results import default_db_path

    db = Path(args.db) if args.db else default_db_path()
    output = Path(args.output) if args.output else artifacts_dir(None, "report.html")
    result = write_report(db, output, runs=args.runs, title=args.title)
    if not args.quiet:
        images = f" and {result.images}/" if result.images else ""
        print(f"kickgen: wrote {result.path}{images}: {result.cases} cases, {result.failing} failing "
              f"({result.seconds:.2f} s)", file=sys.stderr)
    return 0


# --- standin (stand-in CentOS 6.5 media; a test tool) -----------------------------------------

def _add_standin(sub: argparse._SubParsersAction) -> None:
    p = _command(sub, "standin", "build stand-in CentOS 6.5 install media (Debian kernel, busybox installer)",
                 "Build a look-alike of CentOS 6.5 install media from Debian packages, without "
                 "root: the 6.5 file set and boot configs, a Debian kernel and a busybox "
                 "installer that follows anaconda 13.21 where kickgen depends on it. For tests "
                 "and the demo when no real media is at hand. Images are cached under "
                 "$KICKGEN_CACHE_DIR/standin (else $XDG_CACHE_HOME/kickgen/standin, else "
                 "~/.cache/kickgen/standin), named by a hash of every input.",
                 ["kickgen standin -o standin-dvd.iso",
                  "kickgen standin --variant minimal -o standin-minimal.iso --no-cache"])
    p.add_argument("--variant", choices=("dvd", "minimal"), default="dvd",
                   help="dvd: BIOS + UEFI (EFI/, images/efiboot.img); minimal: BIOS only (default: dvd)")
    p.add_argument("-o", "--output", metavar="ISO",
                   help="also write the image here (default: only the cache); a regular file or a new name")
    p.add_argument("--no-cache", action="store_true", help="rebuild even when the cache has it")
    p.set_defaults(func=_cmd_standin)


def _cmd_standin(args: argparse.Namespace) -> int:
    import time

    from kickgen.standin.builder import build_standin

    started = time.monotonic()
    iso = build_standin(args.variant, Path(args.output) if args.output else None, cache=not args.no_cache)
    if not args.quiet:
        size_mib = iso.stat().st_size / 2**20
        print(f"kickgen: stand-in {args.variant} media {iso} ({size_mib:.1f} MiB) "
              f"in {time.monotonic() - started:.1f} s")
    return 0


# --- pin (supply chain: sha256 of the RPMs the %post downloads) -------------------------------

def _add_pin(sub: argparse._SubParsersAction) -> None:
    p = _command(sub, "pin", "write the sha256 pins of the RPMs a profile's %post downloads",
                 "Read each RPM that PROFILE's %post downloads and installs only when pinned "
                 "(the aufs kernel and its -devel, which hop5 never signed; epel-release, which "
                 "brings the EPEL key) and print its sha256 as the profile's `pins:` list, or "
                 "with -o write a profile that extends PROFILE with them.\n"
                 "The files come from each --from in turn (a folder, searched by file name, or a "
                 "mirror URL, the file name appended), else from the profile's own URLs "
                 "(aufs_kernel.repo_url, epel.release_rpm_url; offline: media.embed). Each must be "
                 "a readable RPM whose header names what its file name says. A pin the profile "
                 "already holds is never replaced by a different one (exit 1: the file changed).",
                 ["kickgen pin centos65-docker --from http://mirror.local/hop5/el6/ "
                  "--from http://mirror.local/epel/6/x86_64/ -o site.yaml",
                  "kickgen pin centos65-docker --from ./rpms",
                  "kickgen pin centos65-docker-offline -o offline-pinned.yaml"])
    _add_profile(p)
    p.add_argument("--from", action="append", default=[], metavar="URL|DIR", dest="sources",
                   help="read the RPMs from this folder or mirror URL (repeatable; tried in order)")
    p.add_argument("-o", "--output", metavar="PROFILE.yaml",
                   help="write a profile extending PROFILE with the pins (atomically; - for stdout) "
                        "instead of printing the pins: list")
    p.set_defaults(func=_cmd_pin)


def _cmd_pin(args: argparse.Namespace) -> int:
    from kickgen.core.atomic import write_text
    from kickgen.core.outputs import check_output
    from kickgen.offline.pin import pin_profile, pinned_profile_text, pins_yaml
    from kickgen.profile import load_profile

    profile = load_profile(args.profile)
    output = None
    if args.output:
        output = check_output(args.output, label="-o", inputs=[("the profile", f) for f in profile.files],
                              stdout=True, command="pin")
    pinned = pin_profile(profile, args.sources)
    if not args.quiet:
        for p in pinned:
            print(f"kickgen: pinned {p.file} (sha256 {p.sha256}) from {p.source}", file=sys.stderr)
    if output is None:             # no -o: the pins: list; -o -: the whole profile, on stdout
        sys.stdout.write(pinned_profile_text(profile, args.profile, pinned, Path.cwd() / "-") if args.output
                         else pins_yaml(profile, pinned))
        return 0
    write_text(output, pinned_profile_text(profile, args.profile, pinned, output))
    load_profile(str(output))      # what was written loads (and extends the right profile)
    if not args.quiet:
        print(f"kickgen: wrote {output} (extends {profile.name}, {len(pinned)} pins)", file=sys.stderr)
    return 0


# --- netboot (network installs: PXE/HTTP trees for an inventory of hosts) --------------------

def _add_netboot(sub: argparse._SubParsersAction) -> None:
    from kickgen.netboot.layout import DEFAULT_SERVER_URL

    p = _command(sub, "netboot", "write a PXE/HTTP netboot tree that installs an inventory of hosts",
                 "Write DIR, a tree for network installs of the hosts in INVENTORY (hosts.yaml: per host "
                 "its MAC, host name, profile, set: overrides, network and drives; see docs/netboot.md) "
                 "from the base ISO: TFTP files for BIOS PXE (pxelinux, a menu whose default boots the "
                 "local disk, a pxelinux.cfg/01-<mac> per host that installs it at once) and UEFI PXE "
                 "(the ISO's grub EFI binary, its menu, a config per host named by its MAC), the "
                 "installer from the ISO's images/pxeboot/, one kickstart per host (validated as "
                 "kickgen render does: install tree and report URL under --server-url, the host's network "
                 "line and drives), with --extract-tree the ISO's install tree, dnsmasq and nginx "
                 "snippets, and DIR/kickgen-netboot.json as the manifest. Serve it with kickgen serve DIR "
                 "or with those servers.\nReproducible: the same inputs give the same bytes and dates "
                 "(SOURCE_DATE_EPOCH, else the ISO's creation date). DIR appears whole or not at all: "
                 "written beside it and renamed into place; an existing DIR must be a tree kickgen "
                 "netboot made (its entries are replaced, kickgen serve's state stays). The ISO is only read.",
                 ["kickgen netboot hosts.yaml --base CentOS-6.5-x86_64-bin-DVD1.iso -o netboot",
                  "kickgen netboot hosts.yaml --base standin.iso -o netboot --server-url http://192.168.50.1:8123 "
                  "--extract-tree"])
    p.add_argument("inventory", metavar="INVENTORY", help="the host inventory (hosts.yaml; docs/netboot.md)")
    p.add_argument("--base", required=True, metavar="BASE.iso", help="the CentOS 6.5 install ISO (only read)")
    p.add_argument("-o", "--output", required=True, metavar="DIR",
                   help="the tree to write: a new folder, or one kickgen netboot wrote before")
    p.add_argument("--server-url", metavar="URL", default=DEFAULT_SERVER_URL,
                   help="where the hosts reach the HTTP server (kickgen serve, or nginx), http://HOST[:PORT]"
                        f"[/PATH]; it goes into the kickstarts and boot entries (default {DEFAULT_SERVER_URL}: "
                        "the host's port 8123 seen from QEMU user-mode networking)")
    p.add_argument("--extract-tree", action="store_true",
                   help="also copy the ISO's install tree into DIR/http/tree (for nginx; kickgen serve reads "
                        "the ISO itself)")
    p.set_defaults(func=_cmd_netboot)


def _cmd_netboot(args: argparse.Namespace) -> int:
    from kickgen.netboot import build_netboot

    def progress(line: str) -> None:
        print(f"kickgen: netboot: {line}", file=sys.stderr, flush=True)

    tree = build_netboot(args.inventory, args.base, args.output, args.server_url, extract_tree=args.extract_tree,
                         progress=None if args.quiet else progress)
    if args.quiet:
        return 0
    hosts = ", ".join(f"{h.name} ({h.address or 'dhcp'})" for h in tree.hosts)
    print(f"wrote {tree.path} ({tree.files} files, {tree.size / 2**20:.1f} MiB; install tree: {tree.tree}; "
          f"UEFI: {'yes' if tree.efi else 'no'}) in {tree.seconds:.1f} s; hosts: {hosts}")
    print(f"serve it: kickgen serve {args.output} (the hosts reach it as {tree.server_url})")
    return 0


# --- serve / status (the install server of network installs) ----------------------------------

def _add_serve(sub: argparse._SubParsersAction) -> None:
    p = _command(sub, "serve", "serve a netboot tree over HTTP: install tree, kickstarts, reports",
                 "Serve the netboot tree DIR (written by kickgen netboot) until Ctrl-C: the install "
                 "tree straight out of the base ISO the manifest names (range requests, sendfile; "
                 "or DIR/http/tree when the tree was extracted), each host's kickstart, and the "
                 "endpoint installed hosts post their KICKGEN-REPORT line to. What each host did is "
                 "kept in DIR/kickgen-serve.sqlite (see kickgen status). Prints its URL, then one "
                 "line per request (none with --quiet).\nIt listens on 127.0.0.1:8123 unless "
                 "--listen names another address: a lab network needs it said out loud, since "
                 "anyone who reaches the port reads the kickstarts (root password hashes) and can "
                 "post reports.",
                 ["kickgen serve netboot/",
                  "kickgen serve netboot/ --listen 192.168.50.1:8123 --quiet"])
    p.add_argument("tree_dir", metavar="DIR", help="the netboot tree (kickgen netboot -o DIR)")
    p.add_argument("--listen", metavar="HOST:PORT", default="127.0.0.1:8123",
                   help="address and port to listen on (default 127.0.0.1:8123; [::1]:8123 for IPv6; "
                        "0.0.0.0:8123 for every interface; port 0: any free port)")
    p.add_argument("--workers", type=int, metavar="N",
                   help="event loops sharing the port (default: one per CPU, at most 4)")
    p.set_defaults(func=_cmd_serve)


def _listen_address(text: str) -> tuple[str, int]:
    from kickgen.core.errors import UsageError

    host, sep, port = text.rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not sep or not host or not port.isdigit() or not 0 <= int(port) < 65536:
        raise UsageError(f"--listen {text}: expected HOST:PORT, e.g. 127.0.0.1:8123 or [::1]:8123")
    return host, int(port)


def _cmd_serve(args: argparse.Namespace) -> int:
    import ipaddress
    from urllib.parse import urlsplit

    from kickgen.serve.manifest import load_tree
    from kickgen.serve.server import default_workers, serve_until_interrupted

    host, port = _listen_address(args.listen)
    tree = load_tree(args.tree_dir)          # a missing or bad manifest: one line, before anything listens

    def log_line(line: str) -> None:
        print(line, flush=True)

    def announce(server) -> None:
        hosts = "1 host" if len(tree.hosts) == 1 else f"{len(tree.hosts)} hosts"
        print(f"kickgen: serving {tree.root} at {server.url} ({hosts}; install tree: "
              f"{server.tree}); Ctrl-C stops", flush=True)
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = host == "localhost"
        if not loopback:
            print(f"kickgen: note: listening on {host}: whoever reaches port {server.port} reads the "
                  "kickstarts (root password hashes) and can post reports", file=sys.stderr)
        wanted = urlsplit(tree.server_url).port or 80
        if wanted != server.port:
            print(f"kickgen: note: the kickstarts name {tree.server_url} (port {wanted}), but this server "
                  f"listens on port {server.port}", file=sys.stderr)

    try:
        serve_until_interrupted(tree.root, host, port, log_line=None if args.quiet else log_line,
                                announce=announce, workers=args.workers or default_workers())
    except KeyboardInterrupt:
        print("kickgen: server stopped", file=sys.stderr)
    return 0


def _add_status(sub: argparse._SubParsersAction) -> None:
    p = _command(sub, "status", "show each inventory host's install: not seen, installing, reported",
                 "Print one row per inventory host of the netboot tree DIR, in the inventory's "
                 "order: HOST, MAC, PROFILE, STATE (not seen, kickstart fetched, installing, "
                 "reported), VERDICT (passed or failed: the report judged against the profile's "
                 "expect:, each failed assertion on a line below) and SINCE (when it reached that "
                 "state, UTC), from what kickgen serve recorded in DIR/kickgen-serve.sqlite. Reads "
                 "only; works while the server runs.\nExit 0 when every host reported and passed, "
                 "1 otherwise.",
                 ["kickgen status netboot/",
                  "kickgen status netboot/ --format json | jq '.hosts[].state'"])
    p.add_argument("tree_dir", metavar="DIR", help="the netboot tree kickgen serve serves")
    p.add_argument("--format", choices=("text", "json"), default="text",
                   help="text: a table (default); json: every field, times in seconds since the epoch")
    p.set_defaults(func=_cmd_status)


def _cmd_status(args: argparse.Namespace) -> int:
    from kickgen.serve.state import host_states
    from kickgen.serve.status import exit_code, status_json, status_text

    states = host_states(args.tree_dir)
    sys.stdout.write(status_json(states) if args.format == "json" else status_text(states))
    return exit_code(states)


# --- the parser and main ----------------------------------------------------------------------

# In pipeline order, as `kickgen --help` lists them.
COMMANDS = [_add_profiles, _add_show, _add_render, _add_validate, _add_pin, _add_check_offline, _add_iso,
            _add_inspect, _add_netboot, _add_serve, _add_status, _add_boot_test, _add_matrix,
            _add_results, _add_report, _add_standin]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kickgen",
        description="YAML profiles -> EL6 kickstarts -> remastered CentOS 6.5 media, boot-tested under libvirt.",
        epilog="examples:\n  kickgen profiles\n  kickgen render centos65-docker -o ks.cfg\n"
               "  kickgen iso centos65-docker --base CentOS-6.5-x86_64-bin-DVD1.iso -o centos65-ks.iso\n"
               "  kickgen boot-test centos65-docker centos65-ks.iso\n\n"
               "`kickgen COMMAND --help` describes a command; docs/kickgen-COMMAND.md has its manual.",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"kickgen {__version__}")
    parser.add_argument("--debug", action="store_true", default=False, help=DEBUG_HELP)
    parser.add_argument("-q", "--quiet", action="store_true", default=False, help=QUIET_HELP)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in COMMANDS:
        add(sub)
    return parser


def subcommands(parser: argparse.ArgumentParser | None = None) -> dict[str, argparse.ArgumentParser]:
    """Command name -> its subparser, in `kickgen --help` order."""
    parser = parser or build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def _silence_libvirt_errors() -> None:
    """libvirt prints every error to stderr unless a handler takes them; kickgen reports its own."""
    import libvirt

    libvirt.registerErrorHandler(lambda _ctx, _err: None, None)


def _interrupt(_signum, _frame) -> None:
    raise KeyboardInterrupt


def _signals_as_interrupt() -> dict[int, object]:
    """SIGTERM and SIGHUP unwind like Ctrl-C, so every command's cleanup (temp files, domains,
    volumes) runs. A signal the caller set to be ignored stays ignored (`nohup kickgen matrix`
    must survive the logout). Returns the previous handlers; only the main thread may set them."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    return {sig: signal.signal(sig, _interrupt) for sig in (signal.SIGTERM, signal.SIGHUP)
            if signal.getsignal(sig) is not signal.SIG_IGN}


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)  # argparse exits 2 on a usage error, as we want
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    previous = _signals_as_interrupt()
    try:
        if getattr(args, "uses_libvirt", False):
            _silence_libvirt_errors()
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
    except BrokenPipeError:
        # the reader went away (`kickgen validate ... | head`): no traceback, and none at exit
        # when Python flushes stdout again
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    finally:
        for sig, handler in previous.items():   # main() may run inside another program (tests)
            signal.signal(sig, handler)  # type: ignore[arg-type]


# --- the manual pages' generated parts (docs/kickgen-<command>.md; tests/test_cli.py) ----------

def synopsis_text(name: str) -> str:
    """`kickgen NAME ...` usage, wrapped at 100 columns whatever the terminal."""
    lines = _usage(subcommands()[name], width=100).splitlines()
    return "\n".join([lines[0]] + [line.removeprefix(" " * len("usage: ")) for line in lines[1:]])


def options_markdown(name: str | None = None) -> str:
    """One bullet per option of command NAME (or of `kickgen` itself), hidden aliases left out."""
    p = subcommands()[name] if name else build_parser()
    lines = []
    actions = [a for a in p._actions if not a.option_strings] + [a for a in p._actions if a.option_strings]
    for action in actions:
        if action.help == argparse.SUPPRESS or isinstance(action, argparse._SubParsersAction):
            continue
        metavar = action.metavar or (
            None if action.nargs == 0
            else "{" + ",".join(action.choices) + "}" if action.choices else action.dest.upper())
        if action.option_strings:
            spelled = ", ".join(f"`{o} {metavar}`" if action.nargs != 0 and metavar else f"`{o}`"
                                for o in action.option_strings)
        else:
            spelled = f"`{metavar}`" + (" (optional)" if action.nargs == "?" else "")
        text = (action.help or "").replace("%(default)s", str(action.default))
        if action.choices and "one of" not in text:
            text = f"one of {', '.join(action.choices)}; {text}" if text else f"one of {', '.join(action.choices)}"
        if action.required:
            text += " (required)"
        lines.append(f"- {spelled}: {text}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
