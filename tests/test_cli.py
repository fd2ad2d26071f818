"""The command line: one vocabulary, --debug/--quiet anywhere, help with examples, manuals that
match the parser, `profiles` origins, `inspect --check`, signals, and no process-wide handlers
installed by library code."""

from __future__ import annotations

import ast
import errno
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kickgen.cli import build_parser, main, options_markdown, subcommands, synopsis_text
from paths import PROJECT_ROOT
from remaster_fixtures import run, tiny_hybrid  # noqa: F401

KICKGEN = Path(sys.executable).parent / "kickgen"
DOCS = PROJECT_ROOT / "docs"
COMMANDS = ["profiles", "show", "render", "validate", "pin", "check-offline", "iso", "inspect",
            "netboot", "serve", "status", "boot-test", "matrix", "results", "report", "standin"]
# The least each command needs to parse.
MINIMAL_ARGS = {
    "profiles": [], "show": ["el6-base"], "render": ["el6-base"], "validate": ["el6-base"], "pin": ["el6-base"],
    "check-offline": ["el6-base", "--base", "b.iso"], "iso": ["el6-base", "--base", "b.iso", "-o", "o.iso"],
    "inspect": ["x.iso"], "boot-test": ["el6-base", "x.iso"], "matrix": ["m.yaml"], "standin": [],
    "serve": ["netboot/"], "status": ["netboot/"], "results": ["import", "a/"], "report": [],
    "netboot": ["hosts.yaml", "--base", "b.iso", "-o", "netboot"],
}
MAN_SECTIONS = ["NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "EXIT STATUS", "EXAMPLES", "FILES", "ENVIRONMENT"]


def kickgen(*args: str, cwd: Path = PROJECT_ROOT, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([str(KICKGEN), *args], cwd=cwd, capture_output=True, text=True, **kw)


# --- one vocabulary, help with a description and an example ----------------------------------

def test_the_command_list_is_the_one_documented_here():
    assert list(subcommands()) == COMMANDS


@pytest.mark.parametrize("name", COMMANDS)
def test_every_command_help_has_a_description_and_an_example(name):
    parser = subcommands()[name]
    assert parser.description and len(parser.description.split()) >= 8, name
    help_text = parser.format_help()
    assert parser.description.split("\n")[0].split()[0] in help_text
    examples = help_text.split("\nexamples:\n", 1)
    assert len(examples) == 2, f"{name} --help has no examples: section"
    lines = [line.strip() for line in examples[1].splitlines() if line.strip()]
    assert lines and all(line.startswith(f"kickgen {name}") or f" kickgen {name}" in line for line in lines)
    for line in lines:   # every example parses (env prefixes, pipes and redirections aside)
        words = shlex.split(line)
        argv = words[words.index("kickgen") + 1:]
        argv = argv[:next((i for i, w in enumerate(argv) if w in ("|", "&&", ">")), len(argv))]
        build_parser().parse_args(argv)


def test_the_example_check_fails_on_a_command_without_examples():
    parser = subcommands()["render"]
    parser.epilog = None
    assert "\nexamples:\n" not in parser.format_help()


@pytest.mark.parametrize("name", [n for n in COMMANDS if n not in ("profiles", "standin", "inspect", "matrix",
                                                                "serve", "status", "netboot", "results",
                                                                "report")])
def test_profile_is_the_first_positional_everywhere(name):
    positionals = [a for a in subcommands()[name]._actions if not a.option_strings]
    assert positionals[0].metavar == "PROFILE"


def test_one_spelling_per_option():
    """--ks, --set, -o/--output, --artifacts: the same spelling and metavar wherever they appear."""
    seen: dict[str, set[tuple]] = {}
    for parser in subcommands().values():
        for action in parser._actions:
            if action.help == "==SUPPRESS==":
                continue
            for option in action.option_strings:
                if option in ("--ks", "--set", "-o", "--artifacts", "--debug", "--quiet"):
                    seen.setdefault(option, set()).add((tuple(action.option_strings), action.dest,
                                                        action.metavar if option != "-o" else ""))
    assert set(seen) == {"--ks", "--set", "-o", "--artifacts", "--debug", "--quiet"}
    for option, variants in seen.items():
        assert len(variants) == 1, (option, variants)
    assert not any(action.option_strings == ["--kickstart"] and action.help != "==SUPPRESS=="
                   for parser in subcommands().values() for action in parser._actions)


@pytest.mark.parametrize("name", COMMANDS)
def test_debug_and_quiet_before_or_after_the_command(name):
    parser = build_parser()
    args = MINIMAL_ARGS[name]
    plain = parser.parse_args([name, *args])
    assert (plain.debug, plain.quiet) == (False, False)
    for argv in (["--debug", "--quiet", name, *args], [name, *args, "--debug", "--quiet"],
                 ["--debug", name, *args, "-q"], ["-q", name, "--debug", *args]):
        parsed = parser.parse_args(argv)
        assert (parsed.debug, parsed.quiet) == (True, True), argv


@pytest.mark.parametrize("where", ["before", "after"])
def test_debug_adds_a_traceback_wherever_it_is_given(where):
    argv = ["--debug", "render", "no-such-profile"] if where == "before" else ["render", "no-such-profile", "--debug"]
    result = kickgen(*argv)
    assert result.returncode == 2 and "Traceback" in result.stderr
    plain = kickgen("render", "no-such-profile")
    assert plain.returncode == 2 and "Traceback" not in plain.stderr
    assert plain.stderr.splitlines()[0].startswith("kickgen: error: ")


def test_quiet_drops_the_confirmations_not_the_results(tmp_path):
    out = tmp_path / "ks.cfg"
    loud = kickgen("render", "el6-base", "-o", str(out))
    assert loud.returncode == 0 and loud.stderr.startswith(f"kickgen: wrote {out}")
    for argv in (["render", "el6-base", "-o", str(out), "--quiet"], ["-q", "render", "el6-base", "-o", str(out)],
                 ["validate", "el6-base", "-q"], ["validate", "--ks", str(out), "--quiet"]):
        result = kickgen(*argv)
        assert (result.returncode, result.stdout, result.stderr) == (0, "", ""), argv
    # the result a command exists to print stays
    assert kickgen("render", "el6-base", "-q").stdout.startswith("# Kickstart")
    assert "el6-base" in kickgen("profiles", "-q").stdout


def test_validate_takes_ks_and_the_older_positional_kickstart(tmp_path):
    ks = tmp_path / "ks.cfg"
    assert kickgen("render", "el6-base", "-o", str(ks)).returncode == 0
    for argv in (["validate", "--ks", str(ks)], ["validate", str(ks)]):
        result = kickgen(*argv)
        assert result.returncode == 0 and result.stdout.endswith(f"{ks}: 0 errors, 0 warnings, 1 note (EL6.5)\n"), argv
    both = kickgen("validate", "el6-base", "--ks", str(ks))
    assert both.returncode == 2 and "not both" in both.stderr
    neither = kickgen("validate")
    assert neither.returncode == 2 and "needs a PROFILE or --ks FILE" in neither.stderr
    missing = kickgen("validate", "--ks", str(tmp_path / "none.cfg"))
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1


def test_check_offline_takes_ks_and_the_older_kickstart_option():
    parser = build_parser()
    new = parser.parse_args(["check-offline", "--ks", "a.cfg", "--base", "b.iso"])
    old = parser.parse_args(["check-offline", "--kickstart", "a.cfg", "--base", "b.iso"])
    assert new.ks == old.ks == "a.cfg" and new.profile is None
    assert "--kickstart" not in subcommands()["check-offline"].format_help()


@pytest.mark.parametrize("argv", [["boot-test", "standin-docker", "{iso}"],
                                  ["boot-test", "{iso}", "--profile", "standin-docker"]])
def test_boot_test_takes_profile_then_iso_and_the_older_profile_option(argv, tmp_path, capsys):
    iso = tmp_path / "nope.iso"
    assert main([a.format(iso=iso) for a in argv] + ["--quiet"]) == 2
    assert capsys.readouterr().err.splitlines() == [f"kickgen: error: {iso}: no such ISO file"]


def test_boot_test_usage_names_profile_then_iso(capsys):
    assert "PROFILE ISO" in subcommands()["boot-test"].format_usage()
    assert main(["boot-test", "standin-docker"]) == 2
    assert "needs PROFILE and ISO" in capsys.readouterr().err


PXE_INVENTORY = str(PROJECT_ROOT / "tests" / "data" / "pxe" / "hosts.yaml")


@pytest.mark.parametrize(("argv", "message"), [
    (["--pxe", PXE_INVENTORY], "--pxe needs at least one --host NAME"),
    (["--pxe", PXE_INVENTORY, "--host", "pxe-docker1"], "--pxe needs --base ISO"),
    (["standin-docker", "x.iso", "--pxe", PXE_INVENTORY, "--host", "pxe-docker1", "--base", "x.iso"],
     "PROFILE/ISO cannot go with it"),
    (["--pxe", PXE_INVENTORY, "--host", "pxe-docker1", "--base", "x.iso", "--medium", "usb", "--set", "a.b=1"],
     "--set, --medium cannot go with it"),
    (["standin-docker", "x.iso", "--host", "pxe-docker1"], "--host goes with --pxe INVENTORY"),
    (["standin-docker", "x.iso", "--base", "x.iso"], "--base goes with --pxe INVENTORY"),
    (["--pxe", PXE_INVENTORY, "--host", "nobody", "--base", "x.iso"],
     f"--host nobody: not a host of {PXE_INVENTORY} (its hosts: pxe-docker1, pxe-docker2)"),
    (["--pxe", PXE_INVENTORY, "--host", "pxe-docker1", "--host", "PXE-docker1", "--base", "x.iso"],
     "--host PXE-docker1: given twice"),
    (["--pxe", PXE_INVENTORY, "--host", "pxe-docker1", "--base", "{tmp}/none.iso"], "no such ISO file"),
    (["--pxe", PXE_INVENTORY, "--host", "pxe-docker1", "--base", "x.iso", "--connect", "qemu+ssh://root@b/system"],
     "--pxe needs libvirt on this machine, not qemu+ssh://root@b/system"),
])
def test_boot_test_pxe_usage_problems_are_one_line_before_any_work(argv, message, tmp_path, capsys):
    code = main(["boot-test", *[a.format(tmp=tmp_path) for a in argv], "--quiet", "--artifacts", str(tmp_path / "a")])
    err = capsys.readouterr().err.splitlines()
    assert code == 2
    assert message in err[0] and err[0].startswith("kickgen: error: ")
    assert all(line.startswith("kickgen: hint: ") for line in err[1:])
    assert not (tmp_path / "a").exists()          # refused before the netboot tree or a VM


# --- kickgen profiles: where each came from ---------------------------------------------------

def test_profiles_names_origin_path_and_description(tmp_path):
    here = tmp_path / "work"
    site = tmp_path / "site"
    here.mkdir()
    site.mkdir()
    (here / "local.yaml").write_text("extends: el6-base\ndescription: my local one\n")
    (site / "site-wide.yaml").write_text("extends: el6-base\ndescription: the site's\n")
    (site / "el6-base.yaml").write_text((PROJECT_ROOT / "profiles" / "el6-base.yaml").read_text()
                                        .replace("description:", "description: SHADOW", 1))
    env = {**os.environ, "KICKGEN_PROFILE_PATH": str(site)}
    result = kickgen("profiles", cwd=here, env=env)
    assert result.returncode == 0, result.stderr
    rows = {line.split()[0]: line for line in result.stdout.splitlines()}
    assert list(rows) == sorted(rows)
    assert re.fullmatch(rf"local +current folder +{re.escape(str(here / 'local.yaml'))} +my local one", rows["local"])
    assert re.fullmatch(rf"site-wide +\$KICKGEN_PROFILE_PATH +{re.escape(str(site / 'site-wide.yaml'))} +the site's",
                        rows["site-wide"])
    # a name resolves to the first on the search path: the site's copy shadows the shipped one
    assert f"$KICKGEN_PROFILE_PATH  {site / 'el6-base.yaml'}" in re.sub(" +", "  ", rows["el6-base"])
    assert "SHADOW" in rows["el6-base"]
    assert re.match(r"standin-docker +shipped +/\S+/standin-docker\.yaml +\S", rows["standin-docker"])


def test_profiles_exits_1_naming_a_broken_profile(tmp_path):
    (tmp_path / "broken.yaml").write_text("extends: el6-base\nvm: {vcpus: many}\n")
    result = kickgen("profiles", cwd=tmp_path)
    assert result.returncode == 1
    broken = next(line for line in result.stdout.splitlines() if line.startswith("broken "))
    assert "current folder" in broken and "(broken: " in broken and "vm.vcpus" in broken


# --- inspect --check -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def implanted(tiny_hybrid, tmp_path_factory) -> Path:  # noqa: F811
    copy = tmp_path_factory.mktemp("check") / "implanted.iso"
    shutil.copyfile(tiny_hybrid, copy)
    run("implantisomd5", "--force", copy)
    return copy


def test_inspect_check_passes_on_intact_media(implanted):
    result = kickgen("inspect", "--check", str(implanted))
    assert result.returncode == 0, result.stderr
    assert "matches" in result.stdout.splitlines()[-1]
    quiet = kickgen("inspect", str(implanted), "--check", "--quiet")
    assert (quiet.returncode, quiet.stdout, quiet.stderr) == (0, "", "")


def test_inspect_check_fails_on_a_corrupted_copy(implanted, tmp_path):
    corrupted = tmp_path / "corrupted.iso"
    shutil.copyfile(implanted, corrupted)
    data = bytearray(corrupted.read_bytes())
    package = __import__("hashlib").sha256(b"1").digest() * 3000   # Packages/pkg-1.0-1, see make_tree
    where = data.find(package)
    assert where > 0
    data[where + 1000] ^= 0xFF
    corrupted.write_bytes(bytes(data))
    # the independent tool agrees that the copy is corrupted
    assert subprocess.run(["checkisomd5", str(corrupted)], capture_output=True).returncode != 0
    result = kickgen("inspect", "--check", str(corrupted))
    assert result.returncode == 1
    assert "DOES NOT MATCH" in result.stdout
    assert result.stderr == (f"kickgen: {corrupted}: media MD5 does not match (implanted "
                             f"{_field(result.stdout, 0)}, computed {_field(result.stdout, 1)})\n")
    # without --check, inspect only reports it
    assert kickgen("inspect", str(corrupted)).returncode == 0


def _field(text: str, which: int) -> str:
    line = next(line for line in text.splitlines() if line.startswith("media MD5"))
    return re.findall(r"[0-9a-f]{32}", line)[which]


def test_inspect_check_fails_when_no_md5_is_implanted(tiny_hybrid):  # noqa: F811
    result = kickgen("inspect", "--check", "--json", str(tiny_hybrid))
    assert result.returncode == 1
    assert result.stderr == f"kickgen: {tiny_hybrid}: no media MD5 implanted\n"


# --- signals: the CLI turns SIGTERM/SIGHUP into an interrupt, library code sets no handlers ----

def default_signals() -> None:
    """In the child: SIGINT/SIGTERM/SIGHUP at their defaults, whatever the test runner inherited
    (a runner started with `nohup` or as a background job ignores SIGHUP or SIGINT)."""
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_DFL)


def start_blocked_check_offline(tmp_path: Path, preexec=default_signals) -> tuple[subprocess.Popen, int]:
    """check-offline blocked reading a FIFO as its kickstart, and the FIFO's writer end."""
    fifo = tmp_path / "ks.fifo"
    os.mkfifo(fifo)
    proc = subprocess.Popen([str(KICKGEN), "check-offline", "--ks", str(fifo), "--base", str(tmp_path / "b.iso"),
                             "--embed", "x=y"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=preexec)
    deadline = time.monotonic() + 60
    writer = None
    while writer is None and time.monotonic() < deadline and proc.poll() is None:
        try:   # succeeds once kickgen has the FIFO open for reading: it now waits for data
            writer = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as exc:
            assert exc.errno == errno.ENXIO
            time.sleep(0.02)
    assert writer is not None, "kickgen never opened the kickstart"
    time.sleep(0.2)
    return proc, writer


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_sigterm_and_sighup_interrupt_any_command(sig, tmp_path):
    """check-offline blocks reading a FIFO as its kickstart; the signal must unwind it."""
    proc, writer = start_blocked_check_offline(tmp_path)
    try:
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=30)
    finally:
        os.close(writer)
    assert (proc.returncode, err) == (130, "kickgen: interrupted\n")


def test_an_ignored_sighup_stays_ignored(tmp_path):
    """Started under nohup (SIGHUP ignored), kickgen must survive a hang-up; SIGTERM still ends it."""
    def nohup() -> None:
        default_signals()
        signal.signal(signal.SIGHUP, signal.SIG_IGN)

    proc, writer = start_blocked_check_offline(tmp_path, preexec=nohup)
    try:
        proc.send_signal(signal.SIGHUP)
        with pytest.raises(subprocess.TimeoutExpired):
            proc.wait(timeout=2)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    finally:
        os.close(writer)
    assert (proc.returncode, err) == (130, "kickgen: interrupted\n")


def test_main_leaves_the_signal_handlers_as_it_found_them():
    before = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGHUP)}
    assert main(["profiles", "-q"]) == 0
    assert {sig: signal.getsignal(sig) for sig in before} == before


def process_wide_calls(path: Path) -> list[str]:
    """`LINE: owner.call` for each call that changes process-wide state."""
    calls = {("signal", "signal"), ("signal", "set_wakeup_fd"), ("libvirt", "registerErrorHandler")}
    return [f"{node.lineno}: {node.func.value.id}.{node.func.attr}"
            for node in ast.walk(ast.parse(path.read_text(), str(path)))
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name) and (node.func.value.id, node.func.attr) in calls]


def test_only_the_cli_installs_process_wide_handlers(tmp_path):
    package = PROJECT_ROOT / "kickgen"
    found = [f"{path.relative_to(PROJECT_ROOT)}:{hit}" for path in sorted(package.rglob("*.py"))
             if path != package / "cli.py" for hit in process_wide_calls(path)]
    assert found == []
    in_cli = {hit.split(": ")[1] for hit in process_wide_calls(package / "cli.py")}
    assert in_cli == {"signal.signal", "libvirt.registerErrorHandler"}
    bad = tmp_path / "bad.py"    # the check sees one when there is one
    bad.write_text("import signal\nsignal.signal(signal.SIGTERM, print)\n")
    assert process_wide_calls(bad) == ["2: signal.signal"]


def test_libvirt_errors_print_nothing_of_libvirts_own(tmp_path):
    """The library leaves libvirt's default printer alone; the CLI silences it for its commands."""
    code = ("import libvirt, kickgen.vm.host\n"
            "try:\n    libvirt.open('qemu+tcp://127.0.0.1:1/system')\nexcept libvirt.libvirtError:\n    pass\n")
    library = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert "libvirt: " in library.stderr       # the default printer is still in place
    iso = tmp_path / "x.iso"
    iso.write_bytes(b"\0" * 2048)
    result = kickgen("boot-test", "standin-docker", str(iso), "--quiet", "--connect",
                     "qemu+tcp://127.0.0.1:1/system", "--artifacts", str(tmp_path / "a"))
    assert result.returncode == 2
    assert [line for line in result.stderr.splitlines() if not line.startswith("kickgen: ")] == []


# --- the manuals match the parser -------------------------------------------------------------

def generated_blocks(text: str) -> dict[str, str]:
    return {m.group(1): m.group(2).strip("\n") for m in
            re.finditer(r"<!-- BEGIN GENERATED: (.+?) -->\n(.*?)<!-- END GENERATED -->", text, re.S)}


def expected_blocks(name: str | None) -> dict[str, str]:
    blocks = {"options": options_markdown(name)}
    if name:
        blocks["synopsis"] = f"```\n{synopsis_text(name)}\n```"
    return blocks


@pytest.mark.parametrize("name", [None, *COMMANDS])
def test_manual_page_matches_the_parser(name):
    page = DOCS / (f"kickgen-{name}.md" if name else "kickgen.md")
    assert page.is_file(), f"no manual page {page}"
    text = page.read_text()
    headings = re.findall(r"^## (.+)$", text, re.M)
    assert headings[:len(MAN_SECTIONS)] == MAN_SECTIONS, page.name
    # the parser's blocks (validate's rules and releases: tests/test_validate.py)
    parser_blocks = {k: v for k, v in generated_blocks(text).items() if k in ("options", "synopsis")}
    assert parser_blocks == expected_blocks(name), (
        f"{page.name} is out of date with the parser: run .venv/bin/python docs/update.py")


def test_manual_check_fails_on_a_stale_page():
    stale = "<!-- BEGIN GENERATED: options -->\n- `--gone`: removed\n<!-- END GENERATED -->\n"
    assert generated_blocks(stale) != expected_blocks("render")


def test_docs_updater_regenerates_the_pages(tmp_path):
    docs = tmp_path / "docs"
    shutil.copytree(DOCS, docs)
    page = docs / "kickgen-render.md"
    page.write_text(page.read_text().replace("`-o FILE`", "`-o STALE`"))
    subprocess.run([sys.executable, str(docs / "update.py")], check=True, capture_output=True)
    assert page.read_text() == (DOCS / "kickgen-render.md").read_text()


def test_every_doc_link_points_to_a_file():
    pages = [PROJECT_ROOT / "README.md", PROJECT_ROOT / "CONTRIBUTING.md", *DOCS.glob("*.md")]
    for page in pages:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text()):
            if "://" in target:
                continue
            assert (page.parent / target).exists(), f"{page.name}: broken link {target}"
