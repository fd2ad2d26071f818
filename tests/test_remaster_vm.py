"""Remastered stand-in DVD booted under qemu (TCG): BIOS CD, BIOS USB disk, UEFI CD.

The stand-in installer names on the serial console the kickstart it read and the ks= argument
it was given, so each boot shows which menu entry ran and that /ks.cfg was found. Under UEFI
the argument comes from BOOTX64.conf inside images/efiboot.img (the stand-in's GRUB reads that
copy first, as the facts file describes).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kickgen.profile import load_profile
from kickgen.remaster import RemasterRequest, remaster
from kickgen.render import render_kickstart
from qemu_boot import boot

READ = r"kickgen-standin: kickstart read from (\S+) via (ks=\S+)"
OUTCOME = rf"{READ}|kickgen-standin: ERROR: [^\r\n]*"


def _remastered(base: Path, out: Path, default: str) -> Path:
    profile = load_profile("standin-docker")
    ks = render_kickstart(profile, salt="kickgentest").text.encode()
    remaster(RemasterRequest(base=base, output=out, kickstart=ks, profile_name=profile.name,
                             boot_args=tuple(profile.boot.args), boot_timeout=1, boot_default=default))
    return out


@pytest.fixture(scope="module")
def dvd_cd(standin_dvd, tmp_path_factory) -> Path:
    return _remastered(standin_dvd, tmp_path_factory.mktemp("vm") / "dvd-cd.iso", "cd")


@pytest.fixture(scope="module")
def dvd_usb(standin_dvd, tmp_path_factory) -> Path:
    return _remastered(standin_dvd, tmp_path_factory.mktemp("vm") / "dvd-usb.iso", "usb")


@pytest.mark.vm
@pytest.mark.timeout(600)
def test_bios_cd_reads_ks_from_cdrom(dvd_cd, tmp_path) -> None:
    result = boot(cdrom=dvd_cd, serial_log=tmp_path / "serial.log", expect=OUTCOME, timeout=400)
    assert result.matched, result.tail()
    assert result.match == "kickgen-standin: kickstart read from /ks.cfg via ks=cdrom:/ks.cfg", result.tail()


@pytest.mark.vm
@pytest.mark.timeout(600)
def test_uefi_cd_reads_ks_from_cdrom(dvd_cd, tmp_path) -> None:
    result = boot(cdrom=dvd_cd, firmware="uefi", serial_log=tmp_path / "serial.log", expect=OUTCOME,
                  timeout=400)
    assert result.matched, result.tail()
    assert result.match == "kickgen-standin: kickstart read from /ks.cfg via ks=cdrom:/ks.cfg", result.tail()


@pytest.mark.vm
@pytest.mark.timeout(600)
def test_bios_usb_disk_boots_through_hybrid_mbr_into_usb_entry(dvd_usb, tmp_path) -> None:
    """The ISO as a disk: SeaBIOS -> isohybrid MBR -> isolinux -> the USB entry (the default here)."""
    result = boot(disks=[dvd_usb], boot_from="disk", snapshot=True, serial_log=tmp_path / "serial.log",
                  expect=OUTCOME, timeout=400)
    assert result.matched, result.tail()
    text = result.text
    assert "kickgen-standin: installer starting (ks=hd:LABEL=CentOS_6.5_Final:/ks.cfg)" in text, result.tail()
    assert "kickgen-standin: install media: /dev/sda (disk, label CentOS_6.5_Final)" in text, result.tail()
    assert result.match == (
        "kickgen-standin: kickstart read from /ks.cfg via ks=hd:LABEL=CentOS_6.5_Final:/ks.cfg"
    ), result.tail()
