"""`kickgen inspect`: its figures agree with xorriso, isoinfo and checkisomd5."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kickgen.core.errors import MediaError
from kickgen.kickstart.render import render_kickstart
from kickgen.media.inspect import inspect_image
from kickgen.media.remaster import RemasterRequest, remaster
from kickgen.profile import load_profile
from remaster_fixtures import checkisomd5, run, xorriso_report

KICKGEN = Path(sys.executable).parent / "kickgen"


@pytest.fixture(scope="module")
def remastered_dvd(standin_dvd, tmp_path_factory) -> Path:
    ks = render_kickstart(load_profile("standin-docker"), salt="kickgentest").text.encode()
    out = tmp_path_factory.mktemp("inspect") / "dvd-ks.iso"
    remaster(RemasterRequest(base=standin_dvd, output=out, kickstart=ks, profile_name="standin-docker"))
    return out


@pytest.fixture(params=["remastered_dvd", "standin_minimal", "tiny_hybrid", "tiny_plain"])
def image(request) -> Path:
    return request.getfixturevalue(request.param)


def _xorriso_el_torito(lines: list[str]) -> list[tuple]:
    rows = [ln.split(":", 1)[1].split() for ln in lines if ln.startswith("El Torito boot img :")]
    paths = {ln.split(":", 1)[1].split()[0]: ln.split(":", 1)[1].split()[1]
             for ln in lines if ln.startswith("El Torito img path :")}
    return [(int(r[0]), r[1], int(r[6]), int(r[7]), paths.get(r[0])) for r in rows]


def test_el_torito_agrees_with_xorriso(image) -> None:
    info = inspect_image(image)
    ours = [(e.number, e.platform, e.load_size, e.lba, e.path) for e in info.el_torito]
    assert ours == _xorriso_el_torito(xorriso_report(image))


def test_partitions_agree_with_xorriso(image) -> None:
    info = inspect_image(image)
    lines = xorriso_report(image)
    mbr = [tuple(int(x) for x in ln.split(":", 1)[1].split()[-2:])
           for ln in lines if ln.startswith("MBR partition      :")]
    gpt = [tuple(int(x) for x in ln.split(":", 1)[1].split()[-2:])
           for ln in lines if ln.startswith("GPT start and size :")]
    assert [(p.start, p.sectors) for p in info.partitions if p.table == "MBR"] == mbr
    assert [(p.start, p.sectors) for p in info.partitions if p.table == "GPT"] == gpt
    summary = next((ln for ln in lines if ln.startswith("System area summary")), "")
    assert (info.hybrid != "none") == ("MBR" in summary)
    assert (info.hybrid == "mbr+gpt") == ("GPT" in summary)


def test_volume_id_agrees_with_isoinfo(image) -> None:
    volume = next(ln.split(":", 1)[1].strip() for ln in run("isoinfo", "-d", "-i", image).stdout.splitlines()
                  if ln.startswith("Volume id:"))
    assert inspect_image(image).volume_id == volume


def test_md5_agrees_with_checkisomd5(image, tmp_path) -> None:
    info = inspect_image(image)
    rc = checkisomd5(image)
    if info.md5_implanted is None:
        assert rc != 0 and not info.md5_matches
        return
    assert info.md5_matches and rc == 0
    sumonly = run("checkisomd5", "--md5sumonly", image).stdout
    assert info.md5_implanted in sumonly
    broken = tmp_path / "broken.iso"
    shutil.copy(image, broken)
    with open(broken, "r+b") as f:          # flip one byte well inside the checked area
        f.seek(40 * 2048)
        byte = f.read(1)
        f.seek(40 * 2048)
        f.write(bytes([byte[0] ^ 0xFF]))
    assert checkisomd5(broken) != 0
    assert not inspect_image(broken).md5_matches


def test_boot_entries_of_remastered_image(remastered_dvd) -> None:
    info = inspect_image(remastered_dvd)
    defaults = {(m.config, m.ks) for m in info.entries if m.default}
    assert defaults == {("isolinux/isolinux.cfg", "ks=cdrom:/ks.cfg"),
                        ("EFI/BOOT/BOOTX64.conf", "ks=cdrom:/ks.cfg"),
                        ("images/efiboot.img:EFI/BOOT/BOOTX64.conf", "ks=cdrom:/ks.cfg")}
    assert sum(m.ks == "ks=hd:LABEL=CentOS_6.5_Final:/ks.cfg" for m in info.entries) == 3
    # every USB entry names the stick as install source; nothing else carries repo=
    assert [(m.config, m.repo) for m in info.entries if m.repo] == [
        (config, "repo=hd:LABEL=CentOS_6.5_Final:/")
        for config in ("isolinux/isolinux.cfg", "EFI/BOOT/BOOTX64.conf", "images/efiboot.img:EFI/BOOT/BOOTX64.conf")]
    assert info.kickstart_sha256 is not None


def test_cli_text_and_json(remastered_dvd) -> None:
    text = subprocess.run([str(KICKGEN), "inspect", str(remastered_dvd)], capture_output=True, text=True)
    assert text.returncode == 0, text.stderr
    assert "volume ID    : CentOS_6.5_Final" in text.stdout
    assert "  * kickstart: ks=cdrom:/ks.cfg\n" in text.stdout
    assert ("    kickstart-usb: ks=hd:LABEL=CentOS_6.5_Final:/ks.cfg repo=hd:LABEL=CentOS_6.5_Final:/\n"
            in text.stdout)
    assert " matches" in text.stdout.splitlines()[-1]
    doc = json.loads(subprocess.run([str(KICKGEN), "inspect", "--json", str(remastered_dvd)],
                                    capture_output=True, text=True, check=True).stdout)
    assert doc["volume_id"] == "CentOS_6.5_Final" and doc["md5_matches"] is True
    assert [e["platform"] for e in doc["el_torito"]] == ["BIOS", "UEFI"]
    usb = [e for e in doc["entries"] if e["name"] == "kickstart-usb"]
    assert [e["repo"] for e in usb] == ["repo=hd:LABEL=CentOS_6.5_Final:/"]


def test_refuses_a_file_that_is_not_an_iso(tmp_path) -> None:
    junk = tmp_path / "junk.iso"
    junk.write_bytes(b"x" * 100000)
    with pytest.raises(MediaError, match="junk.iso: not an ISO 9660 image"):
        inspect_image(junk)
    proc = subprocess.run([str(KICKGEN), "inspect", str(junk)], capture_output=True, text=True)
    assert proc.returncode == 1 and proc.stderr.startswith("kickgen: error: ") and "Traceback" not in proc.stderr
