"""Tiny fake install media for the harness tests (used until, and beside, the stand-in media).

A "fake installer" ISO whose initrd prints stand-in installer lines on ttyS0 and, in the good
case, writes a tiny bootable "installed system" image to the first disk and powers off. That
system prints a KICKGEN-REPORT v1 line and powers off. Each boots in seconds under TCG, so the
harness logic (phases, failure lines, stall, timeout, cleanup) is tested on real libvirt runs.
"""

from __future__ import annotations

import json
from pathlib import Path

from kickgen.vm.probeiso import build_tiny_iso

DISK_MODULES = ("scsi_common", "scsi_mod", "libata", "ata_piix", "crct10dif_common",
                "crct10dif_generic", "crc-t10dif", "crc64", "crc64_rocksoft_generic",
                "crc64-rocksoft", "t10-pi", "sd_mod",
                # extra blank disks of a boot test are virtio (vdb, ... on the host; vda, ... inside)
                "virtio_ring", "virtio", "virtio_pci_legacy_dev", "virtio_pci_modern_dev",
                "virtio_pci", "virtio_blk",
                # the medium attached as a USB stick (qemu-xhci)
                "usb-common", "usbcore", "xhci-hcd", "xhci-pci", "usb-storage")

_PRELUDE = """#!/bin/sh
/bin/busybox --install -s /bin
mount -t devtmpfs dev /dev
mount -t proc proc /proc
exec > /dev/ttyS0 2>&1
"""


def fake_system_iso(out_dir: Path, *, profile: str, docker_rc: int = 0) -> Path:
    report = {"profile": profile, "ks_sha256": "0" * 64, "kernel_release": "@UNAME@",
              "aufs": False, "docker_status_rc": docker_rc,
              "docker_info": "Containers: 0\nStorage Driver: vfs\n" if docker_rc == 0 else "",
              "default_entry_title": "CentOS (3.10.5-3.el6.x86_64)"}
    line = "KICKGEN-REPORT v1 " + json.dumps(report, separators=(",", ":"))
    init = _PRELUDE + f"""echo "fake system: booted from disk"
line='{line}'
echo "${{line/@UNAME@/$(uname -r)}}"
poweroff -f
"""
    return build_tiny_iso(out_dir / f"fake-system-{profile}-{docker_rc}.iso", init, volume_id="FAKE_SYSTEM")


SCENARIOS = {
    # installs the system image, then powers off like the stand-in's `poweroff`
    "ok": """echo "kickgen-standin: running %post (1 of 1)"
dd if=/system.img of=/dev/sda bs=1M 2>/dev/null && sync
echo "kickgen-standin: install complete: poweroff"
poweroff -f
""",
    "no-kickstart": """echo "kickgen-standin: ERROR: kickstart file not found: ks=cdrom:/missing.cfg"
echo "kickgen-standin: waiting at prompt (as the EL6 installer would)"
while true; do sleep 60; done
""",
    "post-fails": """echo "kickgen-standin: running %post (1 of 1)"
echo "+ false   # the script's own output"
echo "kickgen-standin: ERROR: %post script failed with exit code 3 (--erroronfail): install aborted"
echo "kickgen-standin: waiting at prompt (as the EL6 installer would)"
while true; do sleep 60; done
""",
    # installs, then reboots without ejecting anything: with the medium kept first in the boot
    # order the next boot is this installer again (the reinstall loop)
    "reboot-no-eject": """echo "kickgen-standin: running %post (1 of 1)"
dd if=/system.img of=/dev/sda bs=1M 2>/dev/null && sync
echo "kickgen-standin: install complete: reboot"
reboot -f
""",
    # installs, but also writes to the first extra disk (clearpart --all over every disk)
    "writes-extra-disk": """for i in 1 2 3 4 5; do [ -b /dev/vda ] && break; sleep 1; done
echo "kickgen-standin: partitioning /dev/vda too"
dd if=/dev/zero of=/dev/vda bs=512 count=1 conv=fsync 2>/dev/null
dd if=/system.img of=/dev/sda bs=1M 2>/dev/null && sync
echo "kickgen-standin: install complete: poweroff"
poweroff -f
""",
    # booted from a writable USB stick, it writes one sector of the stick (which must never happen)
    "writes-the-stick": """for i in 1 2 3 4 5 6 7 8 9 10; do [ -b /dev/sdb ] && break; sleep 1; done
echo "kickgen-standin: writing to the install medium /dev/sdb"
dd if=/dev/urandom of=/dev/sdb bs=512 seek=2048 count=1 conv=fsync 2>/dev/null
dd if=/system.img of=/dev/sda bs=1M 2>/dev/null && sync
echo "kickgen-standin: install complete: poweroff"
poweroff -f
""",
    # hangs quietly: only the stall detector or the timeout can end it
    "silent": """while true; do sleep 60; done
""",
}


def fake_installer_iso(out_dir: Path, scenario: str, system_iso: Path) -> Path:
    init = _PRELUDE + """echo "kickgen-standin: installer starting (ks=cdrom:/ks.cfg)"
for m in """ + " ".join(DISK_MODULES) + """; do insmod /lib/modules/$m.ko 2>/dev/null; done
for i in 1 2 3 4 5 6 7 8 9 10; do [ -b /dev/sda ] && break; sleep 1; done
echo "kickgen-standin: kickstart read from /ks.cfg via ks=cdrom:/ks.cfg"
""" + SCENARIOS[scenario]
    return build_tiny_iso(out_dir / f"fake-installer-{scenario}-{system_iso.stem}.iso", init,
                          modules=DISK_MODULES, files={"/system.img": system_iso},
                          volume_id="FAKE_INSTALLER")
