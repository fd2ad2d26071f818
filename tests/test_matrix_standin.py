"""The full matrix on the stand-in media: the online and the offline mission profiles x BIOS/UEFI
x CD/USB, each with a blank second disk that must stay blank, the DVD left in the drive after a
CD install (it must still end in the installed system, not a second install), and USB cases
booted from a writable stick, the only install source, that must come out unchanged.

This is the proof of the media's install path on the stricter stand-in (vm/standin/README.md):
a `cdrom` kickstart on a stick needs the USB entry's repo=hd:LABEL=..., the offline %post must
find the stick itself once /mnt/source is unmounted, the default target is one disk, and the
CD install ends with reboot --eject.
"""

from __future__ import annotations

import json
import textwrap
import xml.etree.ElementTree as ET

import pytest

from kickgen.cli import main
from test_offline_standin import offline_profile

pytestmark = pytest.mark.vm
CASES = [f"{profile}/{firmware}/{medium}" for profile in ("online", "offline")
         for firmware in ("bios", "uefi") for medium in ("cd", "usb")]


@pytest.mark.timeout(2700)
def test_mission_matrix_on_the_strict_standin(standin_dvd, mission_rpms, tmp_path, capsys):
    offline = offline_profile(tmp_path, mission_rpms)
    matrix = tmp_path / "matrix.yaml"
    matrix.write_text(textwrap.dedent(f"""\
        iso: {standin_dvd}
        profiles:
          - {{name: standin-docker, label: online, set: [boot.timeout=1]}}
          - {{name: {offline}, label: offline}}
        firmware: [bios, uefi]
        medium: [cd, usb]
        extra_disks: 1
        keep_medium: true
        writable_medium: true
        hosts: [{{uri: "qemu:///system", parallel: 2}}]
        timeout_install: 1500
        timeout_boot: 900
        """))
    artifacts = tmp_path / "artifacts"
    code = main(["matrix", str(matrix), "--artifacts", str(artifacts), "--quiet"])
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "PASS matrix matrix.yaml: 8/8 cases passed" in printed

    for case in CASES:
        report = json.loads((artifacts / case.replace("/", "-") / "report.json").read_text())
        checks = {a["name"]: a for a in report["assertions"]}
        assert checks["untouched:vdb"]["passed"], (case, checks["untouched:vdb"])
        assert checks["docker_running"]["passed"], case
        assert checks["repos_trusted"]["passed"], (case, checks["repos_trusted"])
        folder = artifacts / case.replace("/", "-")
        if case.endswith("/usb"):
            assert checks["untouched:sdb"]["expected"].startswith("install medium sdb unchanged"), case
            assert checks["untouched:sdb"]["passed"], case
        else:
            # the drive stayed first in the boot order; the install ejected the disc
            install_log = (folder / "install-serial.log").read_text(errors="replace")
            assert "kickgen-standin: ejecting /dev/sr0" in install_log, case
            drive = ET.parse(folder / "boot-domain.xml").getroot().find("devices/disk[@device='cdrom']")
            assert drive.find("boot").get("order") == "1" and drive.find("target").get("tray") == "open", case
            assert "installer starting" not in (folder / "boot-serial.log").read_text(errors="replace"), case
