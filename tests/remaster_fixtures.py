"""Small CentOS-layout ISOs for the remaster and inspect tests, made with real tools.

`tiny_hybrid`: mkisofs -U -J -R -T like pungi (untranslated names, TRANS.TBL), BIOS + UEFI
El Torito, `isohybrid --uefi` (MBR + GPT). `tiny_plain`: xorriso, standard ISO9660 names,
no TRANS.TBL, not hybrid. Both use Debian's isolinux.bin, the stock CentOS 6.5 isolinux.cfg
and BOOTX64.conf (tests/golden/bootcfg/inputs) and a FAT efiboot.img made with mkfs.vfat +
mtools. Built once per session under build/test-remaster/.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from paths import TEST_WORK as BUILD_DIR

INPUTS = Path(__file__).parent / "golden" / "bootcfg" / "inputs"
WORK = BUILD_DIR / "test-remaster"
EPOCH = "1385726532"
VOLUME_ID = "CentOS_6.5_Final"
BIOS_MODULES = Path("/usr/lib/syslinux/modules/bios")


def run(*argv: str | os.PathLike, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in argv], check=True, capture_output=True, text=True, **kw)


def make_tree(root: Path, *, efi: bool = True, isolinux_cfg: bool = True, efi_conf_on_iso: bool = True,
              big_file: int = 0) -> Path:
    if root.exists():
        shutil.rmtree(root)
    (root / "isolinux").mkdir(parents=True)
    (root / "images" / "pxeboot").mkdir(parents=True)
    (root / "Packages").mkdir()
    shutil.copy("/usr/lib/ISOLINUX/isolinux.bin", root / "isolinux")
    for module in ("ldlinux.c32", "vesamenu.c32", "libcom32.c32", "libutil.c32"):
        shutil.copy(BIOS_MODULES / module, root / "isolinux")
    if isolinux_cfg:
        shutil.copy(INPUTS / "centos65-isolinux.cfg", root / "isolinux" / "isolinux.cfg")
    for d in (root / "isolinux", root / "images" / "pxeboot"):
        (d / "vmlinuz").write_bytes(b"not a kernel\n")
        (d / "initrd.img").write_bytes(b"not an initrd\n")
    (root / ".discinfo").write_text(f"{EPOCH}.68\n6.5\nx86_64\n1\n")
    for i in range(3):
        (root / "Packages" / f"pkg-{i}.0-1.el6.x86_64.rpm").write_bytes(
            hashlib.sha256(str(i).encode()).digest() * 3000)
    if big_file:
        with open(root / "Packages" / "big-1.0-1.el6.x86_64.rpm", "wb") as f:
            f.truncate(big_file)
    if efi:
        (root / "EFI" / "BOOT").mkdir(parents=True)
        conf = INPUTS / "centos65-BOOTX64.conf"
        if efi_conf_on_iso:
            shutil.copy(conf, root / "EFI" / "BOOT" / "BOOTX64.conf")
        img = root / "images" / "efiboot.img"
        run("mkfs.vfat", "-C", "-n", "ANACONDA", "-i", "12345678", img, "2048")
        env = {**os.environ, "TZ": "UTC", "MTOOLS_SKIP_CHECK": "1"}
        run("mmd", "-i", img, "::EFI", "::EFI/BOOT", env=env)
        run("mcopy", "-m", "-i", img, conf, "::EFI/BOOT/BOOTX64.conf", env=env)
        efi_bin = root.parent / f"{root.name}-BOOTX64.efi"
        efi_bin.write_bytes(b"MZ not really an EFI binary\n")
        run("mcopy", "-m", "-i", img, efi_bin, "::EFI/BOOT/BOOTX64.efi", env=env)
    for path in root.rglob("*"):
        os.utime(path, (int(EPOCH), int(EPOCH)))
    return root


def mkisofs_pungi(tree: Path, out: Path, *, volume_id: str = VOLUME_ID, efi: bool = True) -> Path:
    """genisoimage the way pungi ran mkisofs for EL6 (-U -J -R -T), BIOS + UEFI El Torito."""
    uefi = ["-eltorito-alt-boot", "-e", "images/efiboot.img", "-no-emul-boot"] if efi else []
    run("genisoimage", "-quiet", "-U", "-J", "-R", "-T", "-V", volume_id,
        "-b", "isolinux/isolinux.bin", "-c", "isolinux/boot.cat", "-no-emul-boot",
        "-boot-load-size", "4", "-boot-info-table", *uefi, "-o", out, tree,
        env={**os.environ, "SOURCE_DATE_EPOCH": EPOCH})
    return out


def xorriso_plain(tree: Path, out: Path, *, boot: bool = True, volume_id: str = VOLUME_ID) -> Path:
    """xorriso with standard names, no TRANS.TBL, no hybrid MBR (El Torito BIOS + UEFI if boot)."""
    boot_args = ["-b", "isolinux/isolinux.bin", "-c", "isolinux/boot.cat", "-no-emul-boot",
                 "-boot-load-size", "4", "-boot-info-table"]
    if boot and (tree / "images" / "efiboot.img").exists():
        boot_args += ["-eltorito-alt-boot", "-e", "images/efiboot.img", "-no-emul-boot"]
    run("xorriso", "-as", "mkisofs", "-R", "-J", "-V", volume_id, *(boot_args if boot else []),
        "-o", out, tree, env={**os.environ, "SOURCE_DATE_EPOCH": EPOCH})
    return out


def _cached(name: str, build) -> Path:
    """WORK/NAME, built once: BUILD(tmp, tree) makes it from a source tree folder of this process's
    own (two pytest workers may build the same fixture at once; the last rename wins, same bytes)."""
    WORK.mkdir(parents=True, exist_ok=True)
    out = WORK / name
    if not out.exists():
        tmp = WORK / f".{name}.{os.getpid()}.tmp"
        tree = WORK / f".tree-{name}.{os.getpid()}"
        try:
            build(tmp, tree)
            os.replace(tmp, out)
        finally:
            shutil.rmtree(tree, ignore_errors=True)
    return out


@pytest.fixture(scope="session")
def tiny_hybrid() -> Path:
    def build(out: Path, tree: Path) -> None:
        mkisofs_pungi(make_tree(tree), out)
        run("isohybrid", "--uefi", "--id", "0x4b47454e", out)
    return _cached("tiny-hybrid.iso", build)


@pytest.fixture(scope="session")
def tiny_plain() -> Path:
    return _cached("tiny-plain.iso", lambda out, tree: xorriso_plain(make_tree(tree), out))


@pytest.fixture(scope="session")
def big_hybrid() -> Path:
    """About 800 MB (mostly one sparse file): long enough to interrupt a remaster midway."""
    def build(out: Path, tree: Path) -> None:
        mkisofs_pungi(make_tree(tree, big_file=800 << 20), out)
        run("isohybrid", "--uefi", "--id", "0x4b47454e", out)
    return _cached("big-hybrid.iso", build)


# --- reading results back with independent tools ---------------------------------------------

PROBLEM = re.compile(r"wrong|problem|not match|beyond|invalid|damaged|cannot", re.IGNORECASE)


def xorriso_report(iso: Path) -> list[str]:
    proc = subprocess.run(["xorriso", "-indev", str(iso), "-report_el_torito", "plain",
                           "-report_system_area", "plain"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.splitlines()


def report_shape(lines: list[str]) -> list[str]:
    """The report lines that must survive a remaster (LBAs, sizes, GUIDs left out)."""
    keep = []
    for line in lines:
        if line.startswith("El Torito boot img"):
            keep.append(" ".join(line.split()[:-1]))          # drop the LBA
        elif line.startswith(("El Torito img path", "El Torito img opts", "El Torito cat path",
                              "System area summary", "MBR partition path", "GPT partition path",
                              "MBR heads per cyl", "MBR secs per head", "Volume id")):
            keep.append(line)
        elif line.startswith("MBR partition      :"):
            keep.append(" ".join(line.split()[:6]))          # number, status, type
        elif line.startswith(("GPT type GUID", "GPT partition name")):
            keep.append(line)
    return keep


def problems(lines: list[str]) -> list[str]:
    return [ln for ln in lines if PROBLEM.search(ln)]


def isoinfo_extract(iso: Path, path: str, namespace: str) -> bytes:
    """`isoinfo -R|-J|(plain) -x` of one file (plain ISO9660 uses the ISO name as given)."""
    flag = {"rr": ["-R"], "joliet": ["-J"], "iso": []}[namespace]
    proc = subprocess.run(["isoinfo", *flag, "-i", str(iso), "-x", path], capture_output=True)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def isoinfo_names(iso: Path, folder: str, namespace: str) -> dict[str, str]:
    """{name: listing line} of one folder as isoinfo -l lists it."""
    flag = {"rr": ["-R"], "joliet": ["-J"], "iso": []}[namespace]
    out = run("isoinfo", *flag, "-l", "-i", iso).stdout
    names: dict[str, str] = {}
    current = None
    for line in out.splitlines():
        if line.startswith("Directory listing of "):
            current = line[len("Directory listing of "):].strip().rstrip("/") or "/"
        elif current == folder and "]" in line:
            name = line.split("]", 1)[1].strip()
            if name not in (".", ".."):
                names[name] = line
    return names


def checkisomd5(iso: Path) -> int:
    return subprocess.run(["checkisomd5", str(iso)], capture_output=True).returncode
