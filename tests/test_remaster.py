"""Remaster (kickgen.media.remaster): the written ISO read back with xorriso, isoinfo, mtools, checkisomd5.

Runs on the stand-in DVD and minimal media, on a pungi-like hybrid image and on a non-hybrid
xorriso image. Golden files: tests/golden/bootcfg/remaster/ (KICKGEN_REGEN_GOLDEN=1).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kickgen.core import errors
from kickgen.kickstart.render import render_kickstart
from kickgen.media import implant
from kickgen.media.blockcopy import CopyJob
from kickgen.media.iso import IsoImage
from kickgen.media.remaster import ExtraFile, RemasterRequest, remaster
from kickgen.profile import load_profile
from remaster_fixtures import (
    EPOCH,
    checkisomd5,
    isoinfo_extract,
    isoinfo_names,
    make_tree,
    mkisofs_pungi,
    problems,
    report_shape,
    run,
    xorriso_plain,
    xorriso_report,
)
from test_bootcfg import assert_golden

GOLDEN = Path(__file__).parent / "golden" / "bootcfg" / "remaster"
KICKGEN = Path(sys.executable).parent / "kickgen"
BASES = ["standin_dvd", "standin_minimal", "tiny_hybrid", "tiny_plain"]


@pytest.fixture(scope="session")
def kickstart() -> bytes:
    profile = load_profile("standin-docker")
    return render_kickstart(profile, salt="kickgentest").text.encode()


def request(base: Path, out: Path, ks: bytes, **kw) -> RemasterRequest:
    return RemasterRequest(base=base, output=out, kickstart=ks, profile_name="standin-docker", **kw)


@pytest.fixture(scope="session")
def remastered(tmp_path_factory, kickstart):
    """remastered(name, base) -> output path; each base is remastered once per session."""
    outputs: dict[str, Path] = {}
    folder = tmp_path_factory.mktemp("remastered")

    def get(name: str, base: Path) -> Path:
        if name not in outputs:
            outputs[name] = folder / f"{name}-ks.iso"
            remaster(request(base, outputs[name], kickstart))
        return outputs[name]
    return get


@pytest.fixture(params=BASES)
def case(request, remastered):
    base = request.getfixturevalue(request.param)
    return request.param, base, remastered(request.param, base)


def test_el_torito_and_system_area_kept(case) -> None:
    name, base, out = case
    before, after = xorriso_report(base), xorriso_report(out)
    assert report_shape(before) == report_shape(after)
    assert problems(after) == []
    assert any("boot-info-table" in ln for ln in after)
    hybrid = name != "tiny_plain"
    assert any(ln.startswith("MBR partition      :") for ln in after) == hybrid


def test_output_size_matches_partitions(case) -> None:
    """MBR partition 1 and the GPT describe the new image exactly (not the base's size)."""
    _, _, out = case
    lines = xorriso_report(out)
    size512 = out.stat().st_size // 512
    for line in lines:
        if line.startswith("MBR partition      :   1"):
            start, blocks = map(int, line.split()[-2:])
            assert start + blocks == size512
        if line.startswith("GPT lba range"):
            assert int(line.split()[-1]) == size512 - 1      # backup header in the last sector


def test_boot_info_table_points_at_the_new_isolinux_bin(case) -> None:
    import struct
    _, _, out = case
    data = isoinfo_extract(out, "/isolinux/isolinux.bin", "rr")
    lba = next(int(ln.split()[-1]) for ln in xorriso_report(out) if ln.startswith("El Torito boot img :   1"))
    pvd, file_lba, length, checksum = struct.unpack_from("<IIII", data, 8)
    words = struct.unpack_from(f"<{(len(data) - 64) // 4}I", data, 64)
    assert (pvd, file_lba, length) == (16, lba, len(data))
    assert checksum == sum(words) & 0xFFFFFFFF


def test_media_md5_passes(case) -> None:
    _, _, out = case
    assert checkisomd5(out) == 0
    assert implant.check(out).matches


def test_kickstart_in_every_namespace(case, kickstart) -> None:
    name, _, out = case
    assert isoinfo_extract(out, "/ks.cfg", "rr") == kickstart
    assert isoinfo_extract(out, "/ks.cfg", "joliet") == kickstart
    iso_names = isoinfo_names(out, "/", "iso")
    untranslated = name != "tiny_plain"
    expected = "ks.cfg" if untranslated else "KS.CFG;1"
    assert expected in iso_names, sorted(iso_names)
    assert isoinfo_extract(out, f"/{expected}", "iso") == kickstart
    listing = run("xorriso", "-indev", out, "-find", "/ks.cfg", "-exec", "lsdl").stdout
    assert f"{len(kickstart)}" in listing and "'/ks.cfg'" in listing
    # Rock Ridge mode like the neighbours (mkisofs -R makes files 0444, xorriso keeps 0644)
    rr = isoinfo_names(out, "/", "rr")
    assert rr["ks.cfg"].split()[0] == rr[".discinfo"].split()[0]


def test_trans_tbl_lists_the_new_file(case) -> None:
    name, base, out = case
    if name == "tiny_plain":
        assert "TRANS.TBL" not in isoinfo_names(out, "/", "rr")
        return
    before = isoinfo_extract(base, "/TRANS.TBL", "rr").decode()
    after = isoinfo_extract(out, "/TRANS.TBL", "rr").decode()
    added = [ln for ln in after.splitlines() if ln not in before.splitlines()]
    assert len(added) == 1 and added[0].startswith("F ks.cfg") and added[0].endswith("ks.cfg")
    template = before.splitlines()[0]
    # the ISO name is padded to a column (then a tab with genisoimage, spaces in the stand-in's
    # table), then the real name: the new line uses the same separator and column as the others
    def layout(line: str) -> tuple[str, int]:
        kind, iso_name, real_name = line.split(maxsplit=2)
        column = len(line) - len(real_name)
        return line[len(kind) + 1 + len(iso_name):column].replace(" ", ""), column

    assert layout(added[0]) == layout(template), (template, added[0])


def test_boot_configs_golden(case) -> None:
    name, _, out = case
    assert_golden(GOLDEN / name / "isolinux.cfg", isoinfo_extract(out, "/isolinux/isolinux.cfg", "rr").decode())
    if name == "standin_minimal":
        return
    assert_golden(GOLDEN / name / "BOOTX64.conf.isoroot", isoinfo_extract(out, "/EFI/BOOT/BOOTX64.conf", "rr").decode())
    fat = out.with_suffix(".efiboot.img")
    fat.write_bytes(isoinfo_extract(out, "/images/efiboot.img", "rr"))
    inner = run("mtype", "-i", fat, "::/EFI/BOOT/BOOTX64.conf", env={**os.environ, "MTOOLS_SKIP_CHECK": "1"}).stdout
    assert_golden(GOLDEN / name / "BOOTX64.conf.fat", inner)


def test_both_bootx64_conf_copies_are_byte_identical(case) -> None:
    """Nobody knows which copy 6.5's grub-efi reads (the ISO's or the one inside efiboot.img),
    so kickgen writes the same bytes to both; the stand-in's GRUB refuses media where they differ."""
    name, _, out = case
    if name == "standin_minimal":                       # BIOS only: no BOOTX64.conf
        return
    iso_copy = isoinfo_extract(out, "/EFI/BOOT/BOOTX64.conf", "rr")
    fat = out.with_suffix(".copies.img")
    fat.write_bytes(isoinfo_extract(out, "/images/efiboot.img", "rr"))
    fat_copy = fat.with_suffix(".conf")
    run("mcopy", "-n", "-i", fat, "::/EFI/BOOT/BOOTX64.conf", fat_copy, env={**os.environ, "MTOOLS_SKIP_CHECK": "1"})
    assert b"repo=hd:LABEL=" in iso_copy
    assert fat_copy.read_bytes() == iso_copy


def test_fat_image_keeps_size_and_label(case) -> None:
    name, base, out = case
    if name in ("standin_minimal",):
        return
    old = isoinfo_extract(base, "/images/efiboot.img", "rr")
    new = isoinfo_extract(out, "/images/efiboot.img", "rr")
    assert len(old) == len(new) and old != new
    fat = out.with_suffix(".label.img")
    fat.write_bytes(new)
    assert "ANACONDA" in run("mlabel", "-s", "-i", fat, "::", env={**os.environ, "MTOOLS_SKIP_CHECK": "1"}).stdout


def test_volume_id_kept_and_manifest(case, kickstart) -> None:
    import hashlib
    import json
    _, base, out = case
    with IsoImage(base) as b, IsoImage(out) as o:
        assert o.volume_id == b.volume_id
    doc = json.loads(out.with_name(out.name + ".json").read_text())
    assert doc["output_sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
    assert doc["base"]["sha256"] == hashlib.sha256(base.read_bytes()).hexdigest()
    assert doc["kickstart_sha256"] == hashlib.sha256(kickstart).hexdigest()
    assert doc["profile"] == "standin-docker"
    assert {e["ks"] for e in doc["boot_entries_changed"]} == {
        "ks=cdrom:/ks.cfg", f"ks=hd:LABEL={doc['volume_id']}:/ks.cfg"}


def test_base_is_not_modified(tiny_hybrid, kickstart, tmp_path) -> None:
    before = tiny_hybrid.read_bytes()
    mtime = tiny_hybrid.stat().st_mtime_ns
    remaster(request(tiny_hybrid, tmp_path / "out.iso", kickstart))
    assert tiny_hybrid.read_bytes() == before and tiny_hybrid.stat().st_mtime_ns == mtime


def test_build_twice_byte_identical(standin_dvd, kickstart, tmp_path, monkeypatch) -> None:
    first = remaster(request(standin_dvd, tmp_path / "a.iso", kickstart))
    time.sleep(1.1)                      # another second, another time zone: no clock leaks in
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    try:
        second = remaster(request(standin_dvd, tmp_path / "b.iso", kickstart))
    finally:
        monkeypatch.undo()
        time.tzset()
    assert first.sha256 == second.sha256
    assert (tmp_path / "a.iso").read_bytes() == (tmp_path / "b.iso").read_bytes()


def test_kernel_copy_equals_pycdlib_copy(tiny_hybrid, tmp_path) -> None:
    """The deferred kernel-side copies write exactly the bytes pycdlib's own copy loop writes
    (the boot-info-table pycdlib patches into isolinux.bin after copying it included)."""
    outs = []
    for kernel_copy in (True, False):
        out = tmp_path / f"k{kernel_copy}.iso"
        with IsoImage(tiny_hybrid) as image:
            image.add("/ks.cfg", b"# ks\n", epoch=int(EPOCH))
            image.replace("/isolinux/isolinux.cfg", b"default linux\n" * 300)
            fd = os.open(out, os.O_CREAT | os.O_RDWR | os.O_TRUNC, 0o644)
            try:
                mastered = image.write(fd, epoch=int(EPOCH), kernel_copy=kernel_copy)
                assert bool(mastered.copies) == kernel_copy
                with CopyJob(fd, list(mastered.copies)):
                    pass
            finally:
                os.close(fd)
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]


def test_volume_id_from_profile_and_usb_entry(tiny_hybrid, kickstart, tmp_path) -> None:
    out = tmp_path / "vol.iso"
    result = remaster(request(tiny_hybrid, out, kickstart, volume_id="KS_DISC", boot_default="usb",
                              boot_timeout=9))
    assert result.volume_id == "KS_DISC"
    assert "Volume id    : 'KS_DISC'" in "\n".join(xorriso_report(out)) or \
        "KS_DISC" in run("isoinfo", "-d", "-i", out).stdout
    cfg = isoinfo_extract(out, "/isolinux/isolinux.cfg", "rr").decode()
    assert "ks=hd:LABEL=KS_DISC:/ks.cfg" in cfg and "timeout 90" in cfg
    usb = cfg[cfg.index("label kickstart-usb"):cfg.index("label linux")]
    assert "menu default" in usb
    # the stick is the install source as well, under the new label
    assert "ks=hd:LABEL=KS_DISC:/ks.cfg repo=hd:LABEL=KS_DISC:/ " in usb
    assert checkisomd5(out) == 0


def test_extra_files(tiny_hybrid, kickstart, tmp_path) -> None:
    extra = tmp_path / "site-tools-1.0-1.el6.noarch.rpm"
    extra.write_bytes(b"rpm bytes" * 100)
    out = tmp_path / "extra.iso"
    remaster(request(tiny_hybrid, out, kickstart, extra_files=(ExtraFile(extra, "/Packages/" + extra.name),)))
    assert isoinfo_extract(out, "/Packages/" + extra.name, "rr") == extra.read_bytes()
    assert extra.name in isoinfo_names(out, "/Packages", "iso")       # untranslated like pkg-*.rpm
    assert extra.name in isoinfo_extract(out, "/Packages/TRANS.TBL", "rr").decode()
    assert checkisomd5(out) == 0


def test_extra_file_in_a_new_folder(tiny_hybrid, tiny_plain, kickstart, tmp_path) -> None:
    extra = tmp_path / "site.rpm"
    extra.write_bytes(b"site rpm")
    for base in (tiny_hybrid, tiny_plain):
        out = tmp_path / f"new-{base.name}"
        remaster(request(base, out, kickstart, extra_files=(ExtraFile(extra, "/extra/tools/site.rpm"),)))
        assert isoinfo_extract(out, "/extra/tools/site.rpm", "rr") == b"site rpm"
        assert isoinfo_extract(out, "/extra/tools/site.rpm", "joliet") == b"site rpm"
        assert problems(xorriso_report(out)) == [] and checkisomd5(out) == 0
        if base == tiny_hybrid:        # untranslated names, TRANS.TBL in every folder
            assert "extra" in isoinfo_names(out, "/", "iso")
            assert "site.rpm" in isoinfo_names(out, "/extra/tools", "iso")
            root_tbl = isoinfo_extract(out, "/TRANS.TBL", "rr").decode()
            assert any(ln.startswith("D extra") and ln.endswith("\textra") for ln in root_tbl.splitlines())
            tbl = isoinfo_extract(out, "/extra/tools/TRANS.TBL", "rr").decode()
            assert tbl.splitlines() == [f"F {'site.rpm':<{root_tbl.index(chr(9)) - 2}}\tsite.rpm"]
        else:
            assert "EXTRA" in isoinfo_names(out, "/", "iso")
            assert "SITE.RPM;1" in isoinfo_names(out, "/EXTRA/TOOLS", "iso")


def test_cli_iso_with_add_and_quiet(tiny_hybrid, tmp_path) -> None:
    extra = tmp_path / "motd"
    extra.write_text("hello\n")
    out = tmp_path / "cli.iso"
    proc = subprocess.run([str(KICKGEN), "iso", "standin-docker", "--base", str(tiny_hybrid), "-o", str(out),
                           "--add", f"{extra}:/isolinux/motd", "--set", "boot.timeout=3"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"wrote {out} (") and " s; manifest cli.iso.json" in proc.stdout
    assert isoinfo_extract(out, "/isolinux/motd", "rr") == b"hello\n"
    assert "timeout 30" in isoinfo_extract(out, "/isolinux/isolinux.cfg", "rr").decode()
    quiet = subprocess.run([str(KICKGEN), "iso", "standin-docker", "--base", str(tiny_hybrid), "-o",
                            str(tmp_path / "q.iso"), "--quiet"], capture_output=True, text=True)
    assert quiet.returncode == 0 and quiet.stdout == "" and quiet.stderr == ""


def test_cli_ks_file(tiny_hybrid, kickstart, tmp_path) -> None:
    ks = tmp_path / "ks.cfg"
    ks.write_bytes(kickstart)
    out = tmp_path / "ks.iso"
    proc = subprocess.run([str(KICKGEN), "iso", "standin-docker", "--base", str(tiny_hybrid), "-o", str(out),
                           "--ks", str(ks), "--quiet"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert isoinfo_extract(out, "/ks.cfg", "rr") == kickstart


# A user's own kickstart, as public EL6 kickstarts are written: accepted by EL6 with warnings
# (clear-text root password, %packages without %end, no finishing command).
USER_KS = """\
install
cdrom
lang en_US.UTF-8
keyboard us
timezone UTC
rootpw vagrant
bootloader --location=mbr
zerombr
clearpart --all --initlabel
autopart
%packages --nobase
@core
"""


def test_cli_ks_with_warnings_builds_the_media(tiny_hybrid, tmp_path) -> None:
    ks = tmp_path / "user.ks"
    ks.write_text(USER_KS)
    out = tmp_path / "user.iso"
    argv = [str(KICKGEN), "iso", "standin-docker", "--base", str(tiny_hybrid), "-o", str(out), "--ks", str(ks)]
    proc = subprocess.run(argv, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    warned = [line for line in proc.stderr.splitlines() if ": warning: " in line]
    assert [w.rsplit("[", 1)[1] for w in warned] == ["rootpw-plaintext]", "section-without-end]",
                                                      "no-finishing-command]"], proc.stderr
    assert isoinfo_extract(out, "/ks.cfg", "rr") == USER_KS.encode()
    # --strict refuses it, and leaves nothing
    strict = tmp_path / "strict.iso"
    proc = subprocess.run([*argv[:5], "-o", str(strict), "--ks", str(ks), "--strict"], capture_output=True, text=True)
    assert proc.returncode == 1 and "[rootpw-plaintext]" in proc.stderr and "Traceback" not in proc.stderr
    assert not strict.exists() and not Path(f"{strict}.json").exists()
    # an error refuses it whatever the strictness; a later release's syntax is an error for 6.5
    ks.write_text(USER_KS.replace("%packages --nobase", "%packages --nocore"))
    proc = subprocess.run([*argv[:5], "-o", str(strict), "--ks", str(ks)], capture_output=True, text=True)
    assert proc.returncode == 1 and "accepted from RHEL/CentOS 6.6" in proc.stderr and not strict.exists()
    proc = subprocess.run([*argv[:5], "-o", str(strict), "--ks", str(ks), "--release", "6.6", "-q"],
                          capture_output=True, text=True)
    assert proc.returncode == 0 and strict.exists(), proc.stderr


# --- refusals -------------------------------------------------------------------------------

def _only(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_refuses_out_equal_base(tiny_hybrid, kickstart, tmp_path) -> None:
    base = tmp_path / "base.iso"
    shutil.copy(tiny_hybrid, base)
    with pytest.raises(errors.UsageError, match="is the base image; kickgen never modifies its input"):
        remaster(request(base, base, kickstart))
    link = tmp_path / "link.iso"
    link.hardlink_to(base)
    with pytest.raises(errors.UsageError, match="is the base image"):
        remaster(request(base, link, kickstart))


def test_refuses_not_an_iso(kickstart, tmp_path) -> None:
    junk = tmp_path / "junk.iso"
    junk.write_bytes(b"\0" * 70000)
    with pytest.raises(errors.MediaError, match=r"junk.iso: not an ISO 9660 image"):
        remaster(request(junk, tmp_path / "out.iso", kickstart))
    assert _only(tmp_path) == ["junk.iso"]


def test_refuses_no_el_torito(kickstart, tmp_path) -> None:
    base = xorriso_plain(make_tree(tmp_path / "tree"), tmp_path / "noboot.iso", boot=False)
    with pytest.raises(errors.MediaError, match=r"noboot.iso: no El Torito boot record"):
        remaster(request(base, tmp_path / "out.iso", kickstart))
    assert not (tmp_path / "out.iso").exists()


def test_refuses_no_isolinux_cfg(kickstart, tmp_path) -> None:
    base = mkisofs_pungi(make_tree(tmp_path / "tree", isolinux_cfg=False), tmp_path / "nocfg.iso")
    with pytest.raises(errors.MediaError, match=r"no isolinux/isolinux.cfg next to the BIOS boot image "
                                                r"isolinux/isolinux.bin"):
        remaster(request(base, tmp_path / "out.iso", kickstart))


def test_refuses_unexpected_layout(kickstart, tmp_path) -> None:
    base = mkisofs_pungi(make_tree(tmp_path / "tree", efi_conf_on_iso=False), tmp_path / "noconf.iso")
    with pytest.raises(errors.MediaError, match=r"unexpected layout: a UEFI boot entry \(images/efiboot.img\) "
                                                r"but no EFI/BOOT/BOOTX64.conf on the image"):
        remaster(request(base, tmp_path / "out.iso", kickstart))


@pytest.mark.parametrize("volume_id, problem", [("CentOS 6.5 Final", "contains a space"),
                                                ("CentOS:6.5", "contains a colon")])
def test_refuses_base_volume_id_unusable_in_label(kickstart, tmp_path, volume_id, problem) -> None:
    base = mkisofs_pungi(make_tree(tmp_path / "tree"), tmp_path / "vol.iso", volume_id=volume_id)
    with pytest.raises(errors.MediaError, match=f"vol.iso: volume ID '{volume_id}' {problem}; it cannot be "
                                                r"used in ks=hd:LABEL=\.\.\."):
        remaster(request(base, tmp_path / "out.iso", kickstart))


def test_refuses_profile_volume_id_too_long(tiny_hybrid, kickstart, tmp_path) -> None:
    with pytest.raises(errors.MediaError, match="volume ID 'A{33}' is longer than 32 characters"):
        remaster(request(tiny_hybrid, tmp_path / "out.iso", kickstart, volume_id="A" * 33))


def test_refuses_without_free_space(tiny_hybrid, kickstart, tmp_path, monkeypatch) -> None:
    # A full disk cannot be made safely here; the check itself is what is under test.
    monkeypatch.setattr(shutil, "disk_usage", lambda p: shutil._ntuple_diskusage(10**9, 10**9 - 4096, 4096))
    with pytest.raises(errors.EnvironmentProblem, match=r"not enough free space in .*: \d+ MiB needed, 0 MiB free"):
        remaster(request(tiny_hybrid, tmp_path / "out.iso", kickstart))
    assert not (tmp_path / "out.iso").exists()


def test_cli_errors_are_one_line(tiny_hybrid, tmp_path) -> None:
    proc = subprocess.run([str(KICKGEN), "iso", "standin-docker", "--base", str(tiny_hybrid), "-o",
                           str(tiny_hybrid)], capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.splitlines()[0].startswith("kickgen: error: output ") and "Traceback" not in proc.stderr
    proc = subprocess.run([str(KICKGEN), "iso", "standin-docker", "--base", str(tiny_hybrid), "-o",
                           str(tmp_path / "o.iso"), "--add", "nocolon"], capture_output=True, text=True)
    assert proc.returncode == 2 and "--add nocolon: expected SRC:ISO_PATH" in proc.stderr


# --- interruption ---------------------------------------------------------------------------

def _writing_into(pid: int, folder: Path) -> bool:
    """True once process `pid` has an (unnamed) file open in `folder`."""
    try:
        links = [os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")]
    except OSError:
        return False
    return any(link.startswith(f"{folder}/") and link.endswith("(deleted)") for link in links)


@pytest.mark.timeout(300)
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_interrupted_remaster_leaves_nothing(big_hybrid, kickstart, tmp_path, sig) -> None:
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    ks = tmp_path / "ks.cfg"
    ks.write_bytes(kickstart)
    proc = subprocess.Popen([str(KICKGEN), "iso", "standin-docker", "--base", str(big_hybrid), "-o",
                             str(out_dir / "big-ks.iso"), "--ks", str(ks), "--quiet"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not _writing_into(proc.pid, out_dir) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.3)
    assert proc.poll() is None, "the remaster finished before it could be interrupted"
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode != 0
    if sig == signal.SIGTERM:
        assert "kickgen: interrupted" in err
    assert _only(out_dir) == []


# --- offline media: embedded repositories (kickgen.offline plans them, the remaster writes) -----

def test_cli_embeds_offline_repos(tiny_hybrid, mission_rpms, tmp_path) -> None:
    import json
    embed = "{" + ", ".join(f"{repo}: {folder}" for repo, folder in mission_rpms.items()) + "}"
    out = tmp_path / "offline.iso"
    proc = subprocess.run([str(KICKGEN), "iso", "centos65-docker-offline", "--base", str(tiny_hybrid),
                           "-o", str(out), "--set", f"media.embed={embed}", "--quiet",
                           "--no-offline-check"],   # tiny_hybrid has no repodata to check against
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(out.with_name(out.name + ".json").read_text())
    assert doc["embedded"], "no embedded RPMs in the manifest"
    for entry in doc["embedded"]:
        rpm = isoinfo_extract(out, entry["path"], "rr")
        assert len(rpm) == entry["size"]
        import hashlib
        assert hashlib.sha256(rpm).hexdigest() == entry["sha256"]
    for repo in mission_rpms:
        assert b"<repomd" in isoinfo_extract(out, f"/kickgen/{repo}/repodata/repomd.xml", "rr")
    assert problems(xorriso_report(out)) == [] and checkisomd5(out) == 0


def test_the_kickstart_on_the_media_names_the_media_it_is_on(tmp_path):
    """The %pre that picks the target disk skips the disk labelled like the media: build_media
    renders with the base's volume ID (or media.volume_id), not CentOS 6.5's by default."""
    from kickgen.pipeline import build_media

    base = xorriso_plain(make_tree(tmp_path / "tree"), tmp_path / "base.iso", volume_id="SITE_DVD_1")
    profile = load_profile("el6-base")
    made = build_media(profile, base, tmp_path / "out.iso")
    with IsoImage(made.output) as image:
        ks = image.read("/ks.cfg").decode()
    assert "kg_label=$(kg_boot_label SITE_DVD_1)\n" in ks and "CentOS_6.5_Final" not in ks
    relabelled = build_media(load_profile("el6-base", ["media.volume_id=KS_MEDIA"]), base, tmp_path / "re.iso")
    with IsoImage(relabelled.output) as image:
        assert "kg_label=$(kg_boot_label KS_MEDIA)\n" in image.read("/ks.cfg").decode()
