"""Hostile or careless outputs and inputs (issue 13): nothing destroyed, nothing leaked, no traceback.

Every `-o`/OUT path passes one rule (kickgen.core.outputs) before any work: a regular file or
a new name, never a device, FIFO, symbolic link or folder, never one of the command's inputs.
Disk full, read-only and quota errors are environment problems (exit 2) naming the path, and
leave nothing behind. Real device nodes, FIFOs and small tmpfs mounts are used (the mounts
need root; those tests are skipped without it).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from kickgen.core.atomic import output_fd, write_text
from kickgen.core.errors import EnvironmentProblem, ProfileError, UsageError
from kickgen.media.remaster import ExtraFile, RemasterRequest, remaster
from remaster_fixtures import isoinfo_extract, make_tree, mkisofs_pungi, run

KICKGEN = Path(sys.executable).parent / "kickgen"
KS = b"# a kickstart\n"


def kickgen(*args: object, cwd: Path | None = None, umask: int | None = None) -> subprocess.CompletedProcess:
    def preexec() -> None:
        if umask is not None:
            os.umask(umask)
    return subprocess.run([str(KICKGEN), *map(str, args)], capture_output=True, text=True, cwd=cwd,
                          preexec_fn=preexec, timeout=120)


def one_error(proc: subprocess.CompletedProcess, code: int = 2) -> str:
    """The error line of a refused command: exit `code`, no traceback, one `error:` line."""
    assert proc.returncode == code, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr, proc.stderr
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("kickgen: error: ")]
    assert len(errors) == 1, proc.stderr
    return errors[0].removeprefix("kickgen: error: ")


def listing(folder: Path) -> dict[str, tuple[int, int]]:
    """name -> (file type bits, size): what a refused command must leave as it was."""
    return {p.name: (stat.S_IFMT(p.lstat().st_mode), p.lstat().st_size) for p in folder.iterdir()}


@pytest.fixture
def base(tiny_hybrid, tmp_path) -> Path:
    copy = tmp_path / "base.iso"
    shutil.copy(tiny_hybrid, copy)
    return copy


# --- the output rule: a regular file or a new name ----------------------------------------------

def make_target(folder: Path, kind: str) -> Path:
    path = folder / f"out-{kind}"
    if kind == "device":
        os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, 3))     # a /dev/null of our own
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "symlink":
        (folder / "pointed-at").write_text("keep me\n")
        path.symlink_to("pointed-at")
    elif kind == "directory":
        path.mkdir()
    return path


KIND_WORDS = {"device": "is a character device", "fifo": "is a FIFO (named pipe)", "symlink": "is a symbolic link",
              "directory": "is a directory"}


@pytest.mark.parametrize("kind", ["device", "fifo", "symlink", "directory"])
@pytest.mark.parametrize("command", ["render", "iso", "standin"])
def test_output_onto_a_non_regular_file_is_refused(command, kind, tmp_path, base, standin_minimal) -> None:
    if kind == "device" and os.geteuid() != 0:
        pytest.skip("mknod needs root")
    target = make_target(tmp_path, kind)
    before = listing(tmp_path)
    argv = {"render": ["render", "standin-docker", "-o", target],
            "iso": ["iso", "standin-docker", "--base", base, "-o", target],
            "standin": ["standin", "--variant", "minimal", "-o", target]}[command]
    message = one_error(kickgen(*argv))
    assert message == f"output {target} {KIND_WORDS[kind]}", message
    assert listing(tmp_path) == before
    if kind == "symlink":
        assert (tmp_path / "pointed-at").read_text() == "keep me\n"


def test_render_dash_is_stdout(tmp_path) -> None:
    proc = kickgen("render", "standin-docker", "-o", "-", cwd=tmp_path)
    assert proc.returncode == 0 and proc.stdout.startswith("#") and list(tmp_path.iterdir()) == []
    message = one_error(kickgen("standin", "--variant", "minimal", "-o", "-", cwd=tmp_path))
    assert message.startswith("output -: standin cannot write to standard output")


def test_the_rule_is_one_function(tmp_path) -> None:
    from kickgen.core.outputs import check_output

    fifo = make_target(tmp_path, "fifo")
    with pytest.raises(UsageError, match=f"output {fifo} is a FIFO"):
        check_output(fifo)
    assert check_output("-", stdout=True) is None
    with pytest.raises(UsageError, match="output folder .*nowhere does not exist"):
        check_output(tmp_path / "nowhere" / "x.iso", make_folder=False)
    assert check_output(tmp_path / "new.iso") == tmp_path / "new.iso"
    # the library's writers refuse such targets too, whoever calls them
    with pytest.raises(UsageError, match="is a FIFO"):
        write_text(fifo, "x")
    with pytest.raises(UsageError, match="is a FIFO"):
        with output_fd(fifo):
            pass
    assert stat.S_ISFIFO(fifo.lstat().st_mode)


# --- no output is, or is linked to, an input ------------------------------------------------------

def test_iso_manifest_onto_the_base_is_refused(tiny_hybrid, tmp_path) -> None:
    """`iso --base c.iso.json -o c.iso`: the manifest c.iso.json would replace the base."""
    base = tmp_path / "c.iso.json"
    shutil.copy(tiny_hybrid, base)
    digest = hashlib.sha256(base.read_bytes()).hexdigest()
    message = one_error(kickgen("iso", "standin-docker", "--base", base, "-o", tmp_path / "c.iso"))
    assert message.startswith(f"manifest {base} is the base image; kickgen never modifies its input"), message
    assert hashlib.sha256(base.read_bytes()).hexdigest() == digest
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.iso.json"]


@pytest.mark.parametrize("which", ["ks", "add", "manifest-add", "hardlink-base", "profile"])
def test_iso_output_onto_an_input_is_refused(which, base, tmp_path) -> None:
    ks = tmp_path / "my.ks"
    ks.write_bytes(kickgen("render", "standin-docker").stdout.encode())
    extra = tmp_path / "extra.txt"
    extra.write_text("extra\n")
    profile = tmp_path / "site.yaml"
    profile.write_text("extends: standin-docker\n")
    out, args, what = {
        "ks": (ks, ["--ks", ks], "the kickstart (--ks)"),
        "add": (extra, ["--add", f"{extra}:/extra.txt"], "an --add source"),
        "manifest-add": (tmp_path / "o.iso", ["--add", f"{tmp_path / 'o.iso.json'}:/extra.txt"], "an --add source"),
        "hardlink-base": (tmp_path / "link.iso", [], "the base image"),
        "profile": (profile, [], "a profile file"),
    }[which]
    if which == "hardlink-base":
        out.hardlink_to(base)
    if which == "manifest-add":
        (tmp_path / "o.iso.json").write_text("mine\n")
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    message = one_error(kickgen("iso", profile if which == "profile" else "standin-docker",
                                "--base", base, "-o", out, *args))
    assert f" is {what}" in message and "kickgen never modifies its input" in message, message
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_render_onto_its_profile_or_password_file_is_refused(tmp_path) -> None:
    (tmp_path / "pw").write_text("secret\n")
    profile = tmp_path / "site.yaml"
    profile.write_text("extends: standin-docker\nsystem:\n  rootpw: {file: pw}\n")
    for out in (profile, tmp_path / "pw"):
        before = out.read_bytes()
        message = one_error(kickgen("render", profile, "-o", out))
        assert message.startswith(f"output {out} is ") and "kickgen never modifies its input" in message
        assert out.read_bytes() == before


def test_the_remaster_itself_refuses_an_input_as_output(base, tmp_path) -> None:
    extra = tmp_path / "extra.txt"
    extra.write_text("x\n")
    with pytest.raises(UsageError, match="is an --add source"):
        remaster(RemasterRequest(base=base, output=extra, kickstart=KS, profile_name="t",
                                 extra_files=(ExtraFile(extra, "/extra.txt", "--add"),)))
    assert extra.read_text() == "x\n"


# --- file modes ---------------------------------------------------------------------------------

@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_kickstarts_are_written_0600_and_the_umask_is_respected(umask, base, tmp_path) -> None:
    assert kickgen("render", "standin-docker", "-o", tmp_path / "ks.cfg", umask=umask).returncode == 0
    assert stat.S_IMODE((tmp_path / "ks.cfg").stat().st_mode) == 0o600
    proc = kickgen("iso", "standin-docker", "--base", base, "-o", tmp_path / "o.iso", "-q", umask=umask)
    assert proc.returncode == 0, proc.stderr
    for name in ("o.iso", "o.iso.json"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o666 & ~umask


# --- media.add stays inside the profile's folder ------------------------------------------------

@pytest.fixture
def outside(tmp_path) -> Path:
    secret = tmp_path / "host" / "secret"
    secret.parent.mkdir()
    secret.write_text("root:$6$not-for-the-iso\n")
    (tmp_path / "prof").mkdir()
    return secret


@pytest.mark.parametrize("how", ["absolute", "dotdot", "symlink"])
def test_media_add_outside_the_profile_folder_is_refused(how, outside, base, tmp_path) -> None:
    prof = tmp_path / "prof"
    src = {"absolute": str(outside), "dotdot": "../host/secret", "symlink": "inside"}[how]
    if how == "symlink":
        (prof / "inside").symlink_to(outside)
    (prof / "leak.yaml").write_text(f"extends: standin-docker\nmedia:\n  add:\n"
                                    f"    - {{src: {src}, dest: /extra/secret}}\n")
    out = tmp_path / "leak.iso"
    message = one_error(kickgen("iso", prof / "leak.yaml", "--base", base, "-o", out), code=1)
    assert message.startswith(f"{prof / 'leak.yaml'}:4:"), message
    assert f"media.add[0].src: {outside} is outside the profile's folder {prof}" in message, message
    assert "--allow-path" in message
    assert not out.exists()
    # the command line may allow the folder
    proc = kickgen("iso", prof / "leak.yaml", "--base", base, "-o", out, "--allow-path", outside.parent, "-q")
    assert proc.returncode == 0, proc.stderr
    assert isoinfo_extract(out, "/extra/secret", "rr") == outside.read_bytes()
    added = json.loads((tmp_path / "leak.iso.json").read_text())["added"]
    assert added == [{"dest": "/extra/secret", "source": str(outside), "size": outside.stat().st_size,
                      "sha256": hashlib.sha256(outside.read_bytes()).hexdigest(),
                      "from": added[0]["from"]}]
    assert added[0]["from"].endswith("media.add[0]")


def test_the_manifest_lists_every_added_file(base, tmp_path) -> None:
    prof = tmp_path / "prof"
    (prof / "files").mkdir(parents=True)
    (prof / "files" / "motd").write_text("welcome\n")
    (prof / "site.yaml").write_text("extends: standin-docker\nmedia:\n  add:\n"
                                    "    - {src: files/motd, dest: /extra/motd}\n")
    cli_file = tmp_path / "cli.txt"
    cli_file.write_text("from the command line\n")
    out = tmp_path / "o.iso"
    proc = kickgen("iso", prof / "site.yaml", "--base", base, "-o", out, "--add", f"{cli_file}:/extra/cli.txt", "-q")
    assert proc.returncode == 0, proc.stderr
    added = json.loads((tmp_path / "o.iso.json").read_text())["added"]
    assert [(a["dest"], a["source"], a["sha256"]) for a in added] == [
        ("/extra/motd", str(prof / "files" / "motd"), hashlib.sha256(b"welcome\n").hexdigest()),
        ("/extra/cli.txt", str(cli_file), hashlib.sha256(b"from the command line\n").hexdigest())]
    assert added[1]["from"] == "--add"


def test_media_add_containment_is_a_profile_rule(outside, tmp_path) -> None:
    from kickgen.profile import load_profile
    from kickgen.profile.loader import check_media_sources

    (tmp_path / "prof" / "leak.yaml").write_text(f"extends: standin-docker\nmedia:\n  add:\n"
                                                 f"    - {{src: {outside}, dest: /x}}\n")
    profile = load_profile(tmp_path / "prof" / "leak.yaml")    # loading (show, render) reads no file
    with pytest.raises(ProfileError, match=r"leak.yaml:4:\d+: media.add\[0\].src: .* is outside"):
        check_media_sources(profile)
    check_media_sources(profile, allow_paths=[outside.parent])


def test_a_set_media_add_stays_in_the_current_folder(outside, base, tmp_path) -> None:
    work = tmp_path / "prof"
    (work / "here.txt").write_text("here\n")
    out = tmp_path / "o.iso"
    message = one_error(kickgen("iso", "standin-docker", "--base", base, "-o", out, "--set",
                                f"media.add=[{{src: {outside}, dest: /x}}]", cwd=work), code=1)
    assert message.startswith("--set media.add: media.add[0].src: ") and "outside the current folder" in message
    proc = kickgen("iso", "standin-docker", "--base", base, "-o", out, "-q", "--set",
                   "media.add=[{src: here.txt, dest: /here.txt}]", cwd=work)
    assert proc.returncode == 0, proc.stderr
    message = one_error(kickgen("iso", "standin-docker", "--base", base, "-o", out, "--allow-path", tmp_path / "no"))
    assert message == f"--allow-path {tmp_path / 'no'}: no such folder"


# --- destinations kickgen itself writes -----------------------------------------------------------

@pytest.mark.parametrize("dest, option", [
    ("/ks.cfg", "--ks"), ("/KS.CFG", "--ks"),
    ("/isolinux/isolinux.cfg", "boot."), ("/isolinux/isolinux.bin", "boot."),
    ("/EFI/BOOT/BOOTX64.conf", "boot."), ("/images/efiboot.img", "boot."),
    ("/isolinux/boot.cat", "boot."), ("/kickgen/repo/x.rpm", "media.embed"),
    ("/isolinux/TRANS.TBL", "kickgen keeps"),
])
def test_add_onto_what_kickgen_writes_is_refused(dest, option, base, tmp_path) -> None:
    junk = tmp_path / "junk"
    junk.write_text("junk\n")
    out = tmp_path / "o.iso"
    message = one_error(kickgen("iso", "standin-docker", "--base", base, "-o", out, "--add", f"{junk}:{dest}"))
    assert message.startswith(f"--add {junk}:{dest}: ") and option in message, message
    assert not out.exists()


def test_media_add_onto_ks_cfg_is_refused_too(base, tmp_path) -> None:
    (tmp_path / "junk").write_text("junk\n")
    (tmp_path / "p.yaml").write_text("extends: standin-docker\nmedia:\n  add:\n    - {src: junk, dest: /ks.cfg}\n")
    message = one_error(kickgen("iso", tmp_path / "p.yaml", "--base", base, "-o", tmp_path / "o.iso"), code=1)
    assert "p.yaml:4:" in message and "media.add[0]" in message and "--ks" in message, message


@pytest.mark.parametrize("dest", ["/extra/caf\u00e9.txt", "/extra/\u20ac.txt", "/\u65e5\u672c.txt",
                                  "/x y.txt", "/a;1", "/./x", "/a/../x", "/a//b", "/" + "a" * 65])
def test_add_destination_an_iso_cannot_name_is_refused(dest, base, tmp_path) -> None:
    junk = tmp_path / "junk"
    junk.write_text("junk\n")
    out = tmp_path / "o.iso"
    message = one_error(kickgen("iso", "standin-docker", "--base", base, "-o", out, "--add", f"{junk}:{dest}"))
    assert message.startswith(f"--add {junk}:{dest}: ") and "A-Z a-z 0-9 . _ + -" in message, message
    assert not out.exists()


# --- truncated images ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def tiny_mbr(tmp_path_factory) -> Path:
    """BIOS-only, `isohybrid` without --uefi: an MBR and no GPT, as the stock CentOS 6.5 DVD."""
    folder = tmp_path_factory.mktemp("mbr")
    iso = mkisofs_pungi(make_tree(folder / "tree", efi=False), folder / "mbr.iso", efi=False)
    run("isohybrid", iso)
    return iso


@pytest.mark.parametrize("kind", ["hybrid", "mbr"])
@pytest.mark.parametrize("keep", [0.3, 0.7, 0.9])
def test_a_truncated_image_is_named_truncated(kind, keep, tiny_hybrid, tiny_mbr, tmp_path) -> None:
    whole = (tiny_hybrid if kind == "hybrid" else tiny_mbr).read_bytes()
    cut = tmp_path / "cut.iso"
    cut.write_bytes(whole[:int(len(whole) * keep) // 2048 * 2048])
    size = cut.stat().st_size
    for argv in (["iso", "standin-docker", "--base", cut, "-o", tmp_path / "o.iso"], ["inspect", cut],
                 ["inspect", "--json", cut]):
        message = one_error(kickgen(*argv), code=1)
        assert message.startswith(f"{cut}: the image is truncated: {size} bytes, {len(whole)} expected ("), message
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cut.iso"]


def test_whole_images_are_not_called_truncated(tiny_hybrid, tiny_plain, tiny_mbr, standin_dvd,
                                               standin_minimal) -> None:
    for iso in (tiny_hybrid, tiny_plain, tiny_mbr, standin_dvd, standin_minimal):
        assert kickgen("inspect", iso).returncode == 0, iso


# --- full, read-only file systems ---------------------------------------------------------------

@pytest.fixture
def tmpfs(tmp_path) -> Iterator:
    """tmpfs(name, size, ro=False) -> a fresh mount under tmp_path (unmounted afterwards)."""
    if os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("mounting a tmpfs needs root")
    mounted: list[Path] = []

    def mount(name: str, size: str, ro: bool = False) -> Path:
        point = tmp_path / name
        point.mkdir()
        proc = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}{',ro' if ro else ''}", "tmpfs",
                               str(point)], capture_output=True, text=True)
        if proc.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.strip()}")
        mounted.append(point)
        return point
    yield mount
    for point in mounted:
        subprocess.run(["umount", "-l", str(point)], check=False)


def fill(folder: Path) -> None:
    """Fill a file system to the last block."""
    fd = os.open(folder / "filler", os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError:
        pass
    finally:
        os.close(fd)


def test_iso_onto_a_read_only_file_system(tmpfs, base) -> None:
    ro = tmpfs("ro", "200m", ro=True)
    message = one_error(kickgen("iso", "standin-docker", "--base", base, "-o", ro / "o.iso"))
    assert message == f"cannot write {ro / 'o.iso'}: {ro} is on a read-only file system", message
    assert list(ro.iterdir()) == []


@pytest.mark.parametrize("command", ["render", "standin"])
def test_render_and_standin_onto_a_full_disk(command, tmpfs, standin_minimal) -> None:
    full = tmpfs("full", "256k")
    fill(full)
    out = full / "out"
    argv = ["render", "standin-docker", "-o", out] if command == "render" else \
        ["standin", "--variant", "minimal", "-o", out]
    message = one_error(kickgen(*argv))
    assert message.startswith(f"cannot write {out}: no space left on device"), message
    assert sorted(p.name for p in full.iterdir()) == ["filler"]


def test_iso_onto_a_disk_that_fills_while_writing(tmpfs, base, monkeypatch) -> None:
    """The free-space check passes (disk_usage says so) and the disk fills during the write."""
    full = tmpfs("full", "1m")
    monkeypatch.setattr(shutil, "disk_usage", lambda p: shutil._ntuple_diskusage(10**12, 0, 10**12))
    with pytest.raises(EnvironmentProblem, match=f"cannot write {full / 'o.iso'}: no space left on device"):
        remaster(RemasterRequest(base=base, output=full / "o.iso", kickstart=KS, profile_name="t"))
    assert list(full.iterdir()) == []


def test_write_text_and_output_fd_on_a_full_disk(tmpfs) -> None:
    full = tmpfs("full", "64k")
    with pytest.raises(EnvironmentProblem, match=f"cannot write {full / 'big'}: no space left on device"):
        write_text(full / "big", "x" * (1 << 20))
    with pytest.raises(EnvironmentProblem, match=f"cannot write {full / 'big'}: no space left on device"):
        with output_fd(full / "big") as fd:
            os.ftruncate(fd, 0)
            for _ in range(64):
                os.write(fd, b"\0" * (64 << 10))
    assert list(full.iterdir()) == []


# --- a folder where the manifest goes -------------------------------------------------------------

def test_a_folder_named_like_the_manifest_is_refused_before_any_work(base, tmp_path) -> None:
    (tmp_path / "o.iso.json").mkdir()
    message = one_error(kickgen("iso", "standin-docker", "--base", base, "-o", tmp_path / "o.iso"))
    assert message == f"manifest {tmp_path / 'o.iso.json'} is a directory", message
    assert not (tmp_path / "o.iso").exists()


def test_render_onto_a_folder_is_refused(tmp_path) -> None:
    assert one_error(kickgen("render", "standin-docker", "-o", tmp_path)) == f"output {tmp_path} is a directory"
