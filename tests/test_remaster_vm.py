"""Remastered stand-in DVD booted under qemu (TCG): BIOS CD, BIOS USB disk, UEFI CD.

The stand-in installer names on the serial console the kickstart it read and the ks= argument
it was given, so each boot shows which menu entry ran and that /ks.cfg was found. Under UEFI
the media carries BOOTX64.conf twice (on the ISO and inside images/efiboot.img); which copy
6.5's grub-efi reads is unknown, so the stand-in's GRUB boots only media whose copies agree.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kickgen.kickstart.render import render_kickstart
from kickgen.media.remaster import RemasterRequest, remaster
from kickgen.profile import load_profile
from qemu_boot import boot
from remaster_fixtures import isoinfo_extract, run

READ = r"kickgen-standin: kickstart read from (\S+) via (ks=\S+)"
OUTCOME = rf"{READ}|kickgen-standin: ERROR: [^\r\n]*"
EFI_COPIES_DIFFER = r"kickgen-standin-efi: ERROR: the two BOOTX64.conf copies differ"


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
    """The ISO as a disk: SeaBIOS -> isohybrid MBR -> isolinux -> the USB entry (the default here),
    whose repo=hd:LABEL=... makes the stick the install source: the kickstart's `cdrom` alone
    searches optical drives only and stops with "No driver found" where there is none."""
    source = r"kickgen-standin: install source: \S+ \(hd:LABEL=CentOS_6\.5_Final:/[^\r\n]*"
    result = boot(disks=[dvd_usb], boot_from="disk", snapshot=True, serial_log=tmp_path / "serial.log",
                  expect=rf"{source}|kickgen-standin: ERROR: [^\r\n]*", timeout=400)
    assert result.matched, result.tail()
    text = result.text
    assert "kickgen-standin: installer starting (ks=hd:LABEL=CentOS_6.5_Final:/ks.cfg)" in text, result.tail()
    assert ("kickgen-standin: kickstart read from /ks.cfg via ks=hd:LABEL=CentOS_6.5_Final:/ks.cfg"
            in text), result.tail()
    assert result.match.startswith("kickgen-standin: install source: "), result.tail()


@pytest.mark.vm
@pytest.mark.timeout(600)
def test_uefi_refuses_media_whose_two_bootx64_conf_copies_differ(dvd_cd, tmp_path) -> None:
    """Media edited in one copy only stops in the stand-in's GRUB, whichever copy was edited:
    the stand-in must not pass media that would boot differently depending on the copy read."""
    iso_conf = tmp_path / "BOOTX64.conf"
    iso_conf.write_bytes(isoinfo_extract(dvd_cd, "/EFI/BOOT/BOOTX64.conf", "rr"))
    text = iso_conf.read_text()
    assert "ks=cdrom:/ks.cfg" in text
    iso_conf.write_text(text.replace("ks=cdrom:/ks.cfg", "ks=cdrom:/other.cfg", 1))
    variant = tmp_path / "one-copy-edited.iso"
    run("xorriso", "-indev", dvd_cd, "-outdev", variant, "-boot_image", "any", "replay",
        "-map", iso_conf, "/EFI/BOOT/BOOTX64.conf")
    fat = tmp_path / "efiboot.img"
    fat.write_bytes(isoinfo_extract(variant, "/images/efiboot.img", "rr"))
    fat_copy = run("mtype", "-i", fat, "::/EFI/BOOT/BOOTX64.conf",
                   env={**os.environ, "MTOOLS_SKIP_CHECK": "1"}).stdout
    assert "ks=cdrom:/ks.cfg" in fat_copy and "ks=cdrom:/other.cfg" not in fat_copy

    # Wait for any sign of booting on: none may come after the refusal (the GRUB menu would run
    # `Booting ...` within a second of the 1 s timeout the remaster set).
    result = boot(cdrom=variant, firmware="uefi", serial_log=tmp_path / "serial.log",
                  expect=r"Booting `|kickgen-standin: installer starting", timeout=90)
    assert not result.matched, result.tail()
    assert EFI_COPIES_DIFFER in result.text, result.tail()
    assert "kickgen-standin-efi: stopped." in result.text, result.tail()
