"""Boot an ISO or disk image under qemu (TCG) for tests: serial console to a file, wait for a line.

Shared by the stand-in media and installer tests. qemu is always killed before `boot` returns,
whatever happens (match, timeout, exception), so no guest outlives a test.

    result = boot(cdrom=iso, serial_log=tmp_path / "serial.log",
                  expect=r"kickgen-standin: installer starting", timeout=240, press_enter=True)
    assert result.matched, result.tail()

`expect` is a regex searched in the whole serial log (multiline); without it, `boot` waits until
qemu exits by itself (guest power-off, or reboot under `-no-reboot`) or the timeout.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

QEMU = "qemu-system-x86_64"
OVMF_DIR = Path("/usr/share/OVMF")
# Matching CODE/VARS pairs, newest layout first.
OVMF_PAIRS = (("OVMF_CODE_4M.fd", "OVMF_VARS_4M.fd"), ("OVMF_CODE.fd", "OVMF_VARS.fd"))


@dataclass(frozen=True)
class BootResult:
    matched: bool               # `expect` was seen on the serial console
    match: str | None           # the matched text (group 0), if any
    exited: bool                # qemu exited by itself (power-off, or a reboot under -no-reboot)
    returncode: int | None      # qemu's exit code when it exited by itself
    seconds: float              # wall time from start to match / exit / timeout
    serial_log: Path

    @property
    def text(self) -> str:
        return self.serial_log.read_text(errors="replace") if self.serial_log.exists() else ""

    def tail(self, lines: int = 40) -> str:
        """The end of the serial log, for assertion messages."""
        return "\n".join(self.text.splitlines()[-lines:])


def ovmf_firmware() -> tuple[Path, Path]:
    """(CODE, VARS template) of an installed OVMF pair; raises FileNotFoundError if none."""
    for code, vars_ in OVMF_PAIRS:
        if (OVMF_DIR / code).is_file() and (OVMF_DIR / vars_).is_file():
            return OVMF_DIR / code, OVMF_DIR / vars_
    raise FileNotFoundError(f"no OVMF CODE/VARS pair in {OVMF_DIR} (install the 'ovmf' package)")


def qemu_command(
    *,
    cdrom: Path | None,
    disks: Sequence[Path],
    boot_from: Literal["cdrom", "disk"],
    firmware: Literal["bios", "uefi"],
    serial_log: Path,
    memory_mb: int,
    snapshot: bool,
    vars_copy: Path | None,
    extra_args: Sequence[str],
    nic: bool = True,
) -> list[str]:
    """The qemu command line (no I/O). Boot order is given by bootindex, which SeaBIOS and OVMF both honour."""
    cmd = [QEMU, "-accel", "tcg", "-machine", "pc", "-m", str(memory_mb), "-smp", "1",
           "-display", "none", "-no-reboot",
           "-serial", f"file:{serial_log}", "-monitor", "stdio"]
    if firmware == "uefi":
        code, _ = ovmf_firmware()
        cmd += ["-drive", f"if=pflash,format=raw,readonly=on,file={code}",
                "-drive", f"if=pflash,format=raw,file={vars_copy}"]
    # An e1000 NIC (as libvirt gives the harness VMs) on QEMU user-mode networking with
    # restrict=on: the guest has an interface to name, and no packet leaves qemu.
    cmd += ["-nic", "user,model=e1000,restrict=on" if nic else "none"]
    if snapshot:
        cmd.append("-snapshot")
    # IDE (ata_piix): the bus the stand-in initrd and the facts' module chain cover. Two buses of
    # two units: disks first (sda, sdb, ...), then the CD, each in an explicit slot.
    if len(disks) + (cdrom is not None) > 4:
        raise ValueError("at most 4 IDE drives (disks + cdrom)")
    slots = (f"bus=ide.{k // 2},unit={k % 2}" for k in range(4))
    for n, disk in enumerate(disks):
        fmt = "qcow2" if disk.suffix == ".qcow2" else "raw"
        index = 0 if boot_from == "disk" and n == 0 else 10 + n
        cmd += ["-drive", f"if=none,id=disk{n},file={disk},format={fmt}",
                "-device", f"ide-hd,drive=disk{n},{next(slots)},bootindex={index}"]
    if cdrom is not None:
        index = 0 if boot_from == "cdrom" else 20
        cmd += ["-drive", f"if=none,id=cd0,file={cdrom},format=raw,media=cdrom,readonly=on",
                "-device", f"ide-cd,drive=cd0,{next(slots)},bootindex={index}"]
    return cmd + list(extra_args)


def boot(
    *,
    cdrom: Path | None = None,
    disks: Sequence[Path] = (),
    boot_from: Literal["cdrom", "disk"] = "cdrom",
    firmware: Literal["bios", "uefi"] = "bios",
    serial_log: Path,
    expect: str | None = None,
    timeout: float = 300,
    memory_mb: int = 768,
    snapshot: bool = False,
    press_enter: bool = False,
    extra_args: Sequence[str] = (),
    nic: bool = True,
) -> BootResult:
    """Boot under TCG until `expect` (regex) shows on the serial console, qemu exits, or `timeout` s.

    cdrom: an ISO attached as an IDE CD-ROM (read-only).
    disks: disk images (raw, or qcow2 by suffix) attached as IDE disks, first one first.
    boot_from: "cdrom" boots the CD, "disk" the first disk (e.g. a hybrid ISO as a USB stick,
        or an installed disk). snapshot=True keeps every drive unmodified (qemu -snapshot):
        use it when a disk is an ISO or a fixture shared between tests.
    nic: an e1000 NIC on restricted user-mode networking (no traffic leaves qemu); False: none.
    press_enter: press Enter every 2 s until the guest writes anything to the serial console,
        to skip a boot menu wait (the stock isolinux.cfg waits 60 s and says nothing on serial).
    """
    if cdrom is None and not disks:
        raise ValueError("boot() needs a cdrom or a disk")
    serial_log = Path(serial_log)
    serial_log.parent.mkdir(parents=True, exist_ok=True)
    serial_log.write_bytes(b"")
    vars_copy = None
    if firmware == "uefi":
        _, vars_template = ovmf_firmware()
        vars_copy = serial_log.with_name(serial_log.name + ".OVMF_VARS.fd")
        shutil.copyfile(vars_template, vars_copy)
    cmd = qemu_command(cdrom=cdrom, disks=disks, boot_from=boot_from, firmware=firmware,
                       serial_log=serial_log, memory_mb=memory_mb, snapshot=snapshot,
                       vars_copy=vars_copy, extra_args=extra_args, nic=nic)
    pattern = re.compile(expect, re.MULTILINE) if expect else None
    qemu_stderr = serial_log.with_name(serial_log.name + ".qemu-stderr")
    start = time.monotonic()
    with open(qemu_stderr, "wb") as err:
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=err,
                                start_new_session=True)
    try:
        next_key = start + 2.0
        while True:
            now = time.monotonic()
            data = serial_log.read_bytes()
            if pattern is not None:
                found = pattern.search(data.decode(errors="replace"))
                if found:
                    return BootResult(True, found.group(0), False, None, now - start, serial_log)
            returncode = proc.poll()
            if returncode is not None:
                text = serial_log.read_text(errors="replace")  # last words written before exit
                found = pattern.search(text) if pattern is not None else None
                if returncode != 0 and not text:
                    raise RuntimeError(f"qemu failed ({returncode}): {qemu_stderr.read_text()[-2000:]}")
                return BootResult(bool(found), found.group(0) if found else None, True, returncode,
                                  now - start, serial_log)
            if now - start > timeout:
                return BootResult(False, None, False, None, now - start, serial_log)
            if press_enter and not data and now >= next_key:
                _monitor(proc, "sendkey ret")
                next_key = now + 2.0
            time.sleep(0.25)
    finally:
        _kill(proc)
        if vars_copy is not None:
            vars_copy.unlink(missing_ok=True)


def user_nics(macs: Sequence[str], *, tftp: Path | None = None, bootfile: str | None = None,
              boot_from_nic: bool = False) -> list[str]:
    """qemu arguments for e1000 NICs with the given MAC addresses on user-mode networking that
    reaches the host (no restrict=on): the guest sees the host's 127.0.0.1 as 10.0.2.2, and
    QEMU's built-in DHCP (and TFTP of `tftp`, offering `bootfile`) on each NIC. Use with
    boot(nic=False, extra_args=...). The guests of these tests only ever talk to 10.0.2.2.
    boot_from_nic: the first NIC gets bootindex 0 (PXE boot; SeaBIOS and OVMF honour it)."""
    args: list[str] = []
    for n, mac in enumerate(macs):
        netdev = f"user,id=kgnet{n}"
        if tftp is not None:
            netdev += f",tftp={tftp}"
            if bootfile:
                netdev += f",bootfile={bootfile}"
        device = f"e1000,netdev=kgnet{n},mac={mac}"
        if boot_from_nic and n == 0:
            device += ",bootindex=0"
        args += ["-netdev", netdev, "-device", device]
    return args


def _monitor(proc: subprocess.Popen, command: str) -> None:
    try:
        assert proc.stdin is not None
        proc.stdin.write(command.encode() + b"\n")
        proc.stdin.flush()
    except (BrokenPipeError, OSError):
        pass  # qemu is going away; the main loop notices


def _kill(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, 9)  # its own session: qemu and nothing else
        except ProcessLookupError:
            pass
    proc.wait()
    if proc.stdin is not None:
        try:
            proc.stdin.close()
        except OSError:
            pass
