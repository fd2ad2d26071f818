"""A tiny BIOS-bootable ISO: the host's Debian kernel and a busybox initrd running a given /init.

The harness uses it for the KVM probe (does a guest get from ISOLINUX to userspace under KVM?)
and its tests use it as a fake installer. xorriso masters it with an isohybrid MBR, so the same
image also boots when written to a disk.
"""

from __future__ import annotations

import gzip
import hashlib
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from kickgen.core.atomic import move_into_place, write_text
from kickgen.core.errors import EnvironmentProblem
from kickgen.core.hostkernel import newest_kernel

BUSYBOX = Path("/bin/busybox")
ISOLINUX_BIN = Path("/usr/lib/ISOLINUX/isolinux.bin")
ISOHYBRID_MBR = Path("/usr/lib/ISOLINUX/isohdpfx.bin")
LDLINUX_C32 = Path("/usr/lib/syslinux/modules/bios/ldlinux.c32")
TOOLS_HINT = "install xorriso, isolinux, syslinux-common, busybox-static and linux-image-amd64 (make setup)"


def host_kernel() -> tuple[Path, str]:
    """The newest Debian kernel in /boot and its release (kickgen.core.hostkernel chooses)."""
    try:
        kernel = newest_kernel()
    except EnvironmentProblem as exc:
        raise EnvironmentProblem(exc.message, hint=TOOLS_HINT) from None
    return kernel.path, kernel.release


def build_tiny_iso(out: Path, init_script: str, *, modules: Sequence[str] = (),
                   files: Mapping[str, Path] = {}, append: str = "console=ttyS0,115200n8",
                   volume_id: str = "KICKGEN_TINY") -> Path:
    """Master OUT: isolinux boots the host kernel with an initrd whose /init is INIT_SCRIPT.

    MODULES are kernel module names copied to /lib/modules/NAME.ko in the initrd (the script
    insmods them itself); FILES maps initrd paths to host files. Cached: an OUT whose stamp
    matches the inputs is reused.
    """
    for needed in (BUSYBOX, ISOLINUX_BIN, ISOHYBRID_MBR, LDLINUX_C32):
        if not needed.is_file():
            raise EnvironmentProblem(f"missing {needed}", hint=TOOLS_HINT)
    if shutil.which("xorriso") is None:
        raise EnvironmentProblem("xorriso not found on PATH", hint=TOOLS_HINT)
    kernel, release = host_kernel()
    module_paths = [_module_path(release, name) for name in modules]

    key = hashlib.sha256()
    for part in (init_script, append, volume_id, str(kernel), *map(str, module_paths)):
        key.update(part.encode() + b"\0")
    for dest, src in sorted(files.items()):
        key.update(f"{dest}={src}:{src.stat().st_size}:{src.stat().st_mtime_ns}\0".encode())
    stamp = out.with_name(out.name + ".stamp")
    if out.is_file() and stamp.is_file() and stamp.read_text() == key.hexdigest():
        return out

    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=".tiny-") as tmp:
        root = Path(tmp) / "initrd"
        for sub in ("bin", "dev", "proc", "sys", "tmp", "mnt", "lib/modules"):
            (root / sub).mkdir(parents=True)
        shutil.copy2(BUSYBOX, root / "bin/busybox")
        (root / "bin/sh").symlink_to("busybox")
        (root / "init").write_text(init_script)
        (root / "init").chmod(0o755)
        for path in module_paths:
            shutil.copy2(path, root / "lib/modules" / path.name)
        for dest, src in files.items():
            target = root / dest.lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, target)

        tree = Path(tmp) / "iso"
        (tree / "isolinux").mkdir(parents=True)
        shutil.copy2(kernel, tree / "isolinux/vmlinuz")
        (tree / "isolinux/initrd.img").write_bytes(_cpio_gz(root))
        shutil.copy2(ISOLINUX_BIN, tree / "isolinux/isolinux.bin")
        shutil.copy2(LDLINUX_C32, tree / "isolinux/ldlinux.c32")
        (tree / "isolinux/isolinux.cfg").write_text(
            f"default tiny\ntimeout 1\nlabel tiny\n  kernel vmlinuz\n  append initrd=initrd.img {append}\n")

        partial = Path(tmp) / "out.iso"
        cmd = ["xorriso", "-as", "mkisofs", "-quiet", "-R", "-J", "-V", volume_id,
               "-isohybrid-mbr", str(ISOHYBRID_MBR), "-b", "isolinux/isolinux.bin",
               "-c", "isolinux/boot.cat", "-no-emul-boot", "-boot-load-size", "4",
               "-boot-info-table", "-o", str(partial), str(tree)]
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            raise EnvironmentProblem(f"xorriso failed making {out}: {done.stderr.strip()[-300:]}")
        move_into_place(partial, out)
    write_text(stamp, key.hexdigest())
    return out


def _module_path(release: str, name: str) -> Path:
    done = subprocess.run(["modinfo", "-k", release, "-n", name], capture_output=True, text=True)
    path = Path(done.stdout.strip())
    if done.returncode != 0 or not path.is_file():
        raise EnvironmentProblem(f"kernel module {name} not found for {release}", hint=TOOLS_HINT)
    return path


def _cpio_gz(root: Path) -> bytes:
    """The tree as a gzip'd newc cpio archive (what the kernel unpacks as an initramfs)."""
    names = subprocess.run(["find", ".", "-mindepth", "1"], cwd=root, capture_output=True,
                           text=True, check=True).stdout
    archive = subprocess.run(["cpio", "-o", "-H", "newc", "--quiet", "-R", "0:0"], cwd=root,
                             input=names.encode(), capture_output=True, check=True).stdout
    return gzip.compress(archive, compresslevel=6, mtime=0)
