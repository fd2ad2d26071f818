"""kickgen as a user gets it: a wheel, installed into a fresh venv outside the checkout, run from
a folder that has nothing to do with the checkout.

Once per session: copy the source (the build writes build/ and *.egg-info next to the sources,
so it never runs in the checkout), `pip wheel` it, make a venv in a temporary folder, install the
wheel there (dependencies from the package registry, through pip's cache), then run profiles,
show, render, validate, standin, iso and inspect from a temporary working folder with a
temporary HOME and XDG cache, so the stand-in build is a real one. The tests assert on what each
printed and wrote, and that nothing was written into the installed package or into the checkout.
The boot test of the media made here is in the VM suite (marker `vm`).

    .venv/bin/python -m pytest tests/test_wheel.py -m "not vm"     # about 40 s with a warm pip cache
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from paths import PROJECT_ROOT

PROFILE = "standin-docker"
SHIPPED = sorted(p.stem for p in (PROJECT_ROOT / "kickgen" / "profile" / "shipped").glob("*.yaml"))
STANDIN_DATA = PROJECT_ROOT / "kickgen" / "standin" / "data"
# Not sources: what the checkout holds besides them (never copied, never compared).
CHECKOUT_NOISE = {".git", ".venv", "build", "kickgen.egg-info", "kickgen-artifacts", ".pytest_cache",
                  ".mypy_cache", ".ruff_cache"}
# The files of the checkout that nobody but a person or a build may create or delete.
TREE_IGNORED_PARTS = {".git", ".venv", "__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache"}


def _copy_ignore(folder: str, names: list[str]) -> set[str]:
    skipped = {n for n in names if n == "__pycache__"}
    if Path(folder).resolve() == PROJECT_ROOT:
        skipped |= {n for n in names if n in CHECKOUT_NOISE}
    return skipped


def _run(argv: list[str | Path], **kw) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in argv], capture_output=True, text=True, **kw)


def _checked(argv: list[str | Path], **kw) -> subprocess.CompletedProcess:
    proc = _run(argv, **kw)
    assert proc.returncode == 0, f"{' '.join(map(str, argv))} exited {proc.returncode}:\n{proc.stderr[-3000:]}"
    return proc


def checkout_paths() -> set[str]:
    """Every path in the checkout, relative, minus VCS, venv and tool caches."""
    found = set()
    for folder, dirs, files in os.walk(PROJECT_ROOT):
        dirs[:] = [d for d in dirs if d not in TREE_IGNORED_PARTS]
        rel = Path(folder).relative_to(PROJECT_ROOT)
        found.update(str(rel / name) for name in dirs + files)
    return found


def tree_state(root: Path) -> dict[str, tuple[int, int, int]]:
    """{relative path: (mode, size, mtime_ns)} of everything under ROOT, compiled bytecode included."""
    state = {}
    for path in sorted(root.rglob("*")):
        st = path.lstat()
        state[str(path.relative_to(root))] = (st.st_mode, st.st_size, st.st_mtime_ns)
    return state


@dataclass
class Installed:
    wheel: Path
    venv: Path
    package: Path                 # kickgen/ inside the venv's site-packages
    work: Path                    # the working folder the commands run in
    cache: Path                   # $XDG_CACHE_HOME
    env: dict[str, str]
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def kickgen(self) -> Path:
        return self.venv / "bin" / "kickgen"

    def run(self, *args: str | Path) -> subprocess.CompletedProcess:
        return _run([self.kickgen, *args], cwd=self.work, env=self.env)

    def ok(self, *args: str | Path) -> subprocess.CompletedProcess:
        return _checked([self.kickgen, *args], cwd=self.work, env=self.env)


@pytest.fixture(scope="session")
def installed(tmp_path_factory) -> Installed:
    root = tmp_path_factory.mktemp("wheel")
    assert not root.resolve().is_relative_to(PROJECT_ROOT)
    seconds: dict[str, float] = {}

    started = time.monotonic()
    source = root / "source"
    shutil.copytree(PROJECT_ROOT, source, symlinks=True, ignore=_copy_ignore)
    dist = root / "dist"
    _checked([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--wheel-dir", dist, source])
    (wheel,) = dist.glob("kickgen-*.whl")
    seconds["wheel"] = time.monotonic() - started

    started = time.monotonic()
    venv = root / "venv"
    _checked([sys.executable, "-m", "venv", venv])
    pip_env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    _checked([venv / "bin" / "python", "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
              wheel], env=pip_env)
    seconds["install"] = time.monotonic() - started

    home = root / "home"
    work = root / "work"
    cache = root / "xdg-cache"
    for folder in (home, work):
        folder.mkdir()
    env = {k: v for k, v in pip_env.items()
           if not k.startswith("KICKGEN_") and k not in ("XDG_CACHE_HOME", "HOME", "PWD")}
    env.update(HOME=str(home), XDG_CACHE_HOME=str(cache), PWD=str(work))
    where = _checked([venv / "bin" / "python", "-c", "import kickgen; print(kickgen.__file__)"],
                     cwd=work, env=env).stdout.strip()
    package = Path(where).parent
    assert package.is_relative_to(venv), where
    return Installed(wheel, venv, package, work, cache, env, seconds)


@dataclass
class Runs:
    """What the commands printed, and the trees around them."""

    out: dict[str, subprocess.CompletedProcess]
    standin_iso: Path
    media: Path
    package_before: dict[str, tuple[int, int, int]]
    package_after: dict[str, tuple[int, int, int]]
    checkout_before: set[str]
    checkout_after: set[str]
    seconds: float


@pytest.fixture(scope="session")
def runs(installed: Installed) -> Runs:
    """Every non-VM command once, in the order a user would run them."""
    package_before = tree_state(installed.package)
    checkout_before = checkout_paths()
    started = time.monotonic()
    out = {
        "profiles": installed.ok("profiles"),
        "show": installed.ok("show", PROFILE),
        "render": installed.ok("render", PROFILE),
        "render-o": installed.ok("render", PROFILE, "-o", "ks.cfg"),
        "validate": installed.ok("validate", PROFILE),
        "validate-file": installed.ok("validate", "ks.cfg"),
        "validate-bad": installed.run("validate", "missing.cfg"),
        "standin": installed.ok("standin", "--variant", "minimal"),
    }
    found = re.search(r"stand-in minimal media (\S+\.iso) \(", out["standin"].stdout)
    assert found, out["standin"].stdout
    standin_iso = Path(found.group(1))
    out["iso"] = installed.ok("iso", PROFILE, "--base", standin_iso, "-o", "media.iso")
    out["inspect"] = installed.ok("inspect", "media.iso")
    out["inspect-json"] = installed.ok("inspect", "--json", "media.iso")
    seconds = time.monotonic() - started
    return Runs(out, standin_iso, installed.work / "media.iso", package_before, tree_state(installed.package),
                checkout_before, checkout_paths(), seconds)


# --- the wheel ----------------------------------------------------------------------------

def _wheel_modes(wheel: Path) -> dict[str, int]:
    with zipfile.ZipFile(wheel) as archive:
        return {info.filename: info.external_attr >> 16 for info in archive.infolist()}


def test_the_wheel_carries_templates_profiles_domain_xml_and_the_standin_recipe(installed):
    modes = _wheel_modes(installed.wheel)
    assert "kickgen/kickstart/templates/el6/ks.cfg.j2" in modes
    assert sorted(Path(n).stem for n in modes if n.startswith("kickgen/profile/shipped/")) == SHIPPED
    assert {Path(n).name for n in modes if n.startswith("kickgen/vm/xml/")} >= {"install.xml.j2", "boot.xml.j2"}
    assert "kickgen/report/templates/report.html.j2" in modes          # kickgen report's page
    recipe = sorted(str(p.relative_to(PROJECT_ROOT)) for p in STANDIN_DATA.rglob("*")
                    if p.is_file() and "__pycache__" not in p.parts)
    missing = [name for name in recipe if name not in modes]
    assert missing == [], f"stand-in data not in the wheel: {missing}"
    assert not [n for n in modes if "__pycache__" in n or n.endswith(".pyc")]


def test_the_wheel_and_the_installed_copy_keep_the_standin_executable_bits(installed):
    modes = _wheel_modes(installed.wheel)
    executable = sorted(str(p.relative_to(PROJECT_ROOT)) for p in STANDIN_DATA.rglob("*")
                        if p.is_file() and p.stat().st_mode & 0o111)
    assert "kickgen/standin/data/initrd/init" in executable   # the file the kernel runs as PID 1
    in_wheel = sorted(n for n in modes if n.startswith("kickgen/standin/data/") and modes[n] & 0o111)
    assert in_wheel == executable
    site = installed.package.parent
    installed_x = sorted(str(p.relative_to(site)) for p in (installed.package / "standin" / "data").rglob("*")
                         if p.is_file() and p.stat().st_mode & stat.S_IXUSR)
    assert installed_x == executable


def test_the_installed_package_runs_from_the_venv_not_the_checkout(installed):
    assert not installed.package.resolve().is_relative_to(PROJECT_ROOT)
    assert not installed.work.resolve().is_relative_to(PROJECT_ROOT)
    direct_url = next(installed.package.parent.glob("kickgen-*.dist-info")) / "direct_url.json"
    assert json.loads(direct_url.read_text()).get("dir_info", {}).get("editable") is not True


# --- the commands -------------------------------------------------------------------------

def test_profiles_lists_the_shipped_profiles_from_the_installed_package(runs, installed):
    lines = runs.out["profiles"].stdout.splitlines()
    assert sorted(line.split()[0] for line in lines) == SHIPPED
    for line in lines:
        assert " shipped " in line, line
        assert str(installed.package / "profile" / "shipped") in line, line
    assert str(PROJECT_ROOT) not in runs.out["profiles"].stdout


def test_show_prints_the_merged_profile_from_the_installed_file(runs, installed):
    text = runs.out["show"].stdout
    shipped = installed.package / "profile" / "shipped" / f"{PROFILE}.yaml"
    assert text.splitlines()[0].startswith(f"# profile {PROFILE} ({shipped})")
    assert "\ndescription: " in text and "\nvm:\n" in text


def test_render_prints_a_kickstart(runs):
    text = runs.out["render"].stdout
    assert text.startswith(f"# Kickstart for CentOS 6.5, generated by kickgen from profile {PROFILE}.")
    for line in ("install", "cdrom", "%post", "%end"):
        assert f"\n{line}" in text, line
    assert re.search(r"^rootpw --iscrypted \$6\$", text, re.M)


def test_render_to_a_file_writes_it_in_the_working_folder(runs, installed):
    assert (installed.work / "ks.cfg").read_text() == runs.out["render"].stdout
    sha = hashlib.sha256(runs.out["render"].stdout.encode()).hexdigest()
    assert f"sha256 {sha}" in runs.out["render-o"].stderr


def test_the_installed_render_equals_the_checkout_render(runs):
    """The same shipped profile, from site-packages and from the checkout: the same bytes (the
    password salt must not depend on where the profile file lives)."""
    from kickgen.kickstart import render_kickstart
    from kickgen.profile import load_profile

    assert runs.out["render"].stdout == render_kickstart(load_profile(PROFILE)).text


def test_validate_accepts_the_profile_and_the_written_kickstart(runs):
    assert runs.out["validate"].returncode == 0
    assert runs.out["validate"].stdout.endswith(f"<{PROFILE}.ks>: 0 errors, 0 warnings, 1 note (EL6.5)\n")
    assert runs.out["validate-file"].returncode == 0
    assert runs.out["validate-file"].stdout.endswith("ks.cfg: 0 errors, 0 warnings, 1 note (EL6.5)\n")


def test_validate_of_something_missing_is_one_line_and_no_traceback(runs):
    bad = runs.out["validate-bad"]
    assert bad.returncode == 2
    assert bad.stderr.startswith("kickgen: error: ") and "missing.cfg" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_standin_builds_into_the_xdg_cache(runs, installed):
    assert runs.standin_iso.is_relative_to(installed.cache / "kickgen"), runs.standin_iso
    assert runs.standin_iso.stat().st_size > 10 * 2**20
    with runs.standin_iso.open("rb") as iso:
        iso.seek(16 * 2048 + 1)
        assert iso.read(5) == b"CD001"           # an ISO 9660 primary volume descriptor


def test_iso_writes_the_media_and_its_manifest_in_the_working_folder(runs, installed):
    assert runs.out["iso"].stdout.startswith("wrote media.iso (")
    assert runs.media.is_file() and (installed.work / "media.iso.json").is_file()


def test_inspect_accepts_the_media_and_finds_the_kickstart(runs):
    text = runs.out["inspect"].stdout
    assert "ks=cdrom:/ks.cfg" in text
    assert re.search(r"^media MD5 +: [0-9a-f]{32} matches$", text, re.M), text
    info = json.loads(runs.out["inspect-json"].stdout)
    assert info["volume_id"] == "CentOS_6.5_Final"


def test_nothing_was_written_into_the_installed_package(runs):
    before, after = runs.package_before, runs.package_after
    changed = sorted(p for p in before.keys() | after.keys() if before.get(p) != after.get(p))
    assert changed == []


def test_nothing_was_written_into_the_checkout(runs):
    assert sorted(runs.checkout_after - runs.checkout_before) == []


def test_the_wheel_test_stays_fast(installed, runs):
    """Not a product rule: a guard on `make check`'s budget (a cold pip cache builds libvirt-python,
    ~15 s more). The times are printed with -s."""
    print(f"\nwheel test: build {installed.seconds['wheel']:.1f}s, venv+install {installed.seconds['install']:.1f}s,"
          f" commands {runs.seconds:.1f}s")
    assert runs.seconds < 120


# --- the boot test from the wheel (VM suite) -------------------------------------------------

@pytest.mark.vm
@pytest.mark.timeout(1800)
def test_boot_test_of_the_media_from_the_installed_package(runs, installed):
    package_before = tree_state(installed.package)
    proc = installed.run("boot-test", "media.iso", "--profile", PROFILE, "--artifacts", "boot")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    verdict = (installed.work / "boot" / "verdict.txt").read_text()
    assert verdict.startswith(f"PASS {PROFILE} bios/cd "), verdict
    assert tree_state(installed.package) == package_before
