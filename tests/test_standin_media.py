"""Stand-in CentOS 6.5 media: layout against the 6.5 facts, reproducibility, and real boots.

Layout is read back with tools independent of the builder (isoinfo, xorriso reports, mtools,
cpio, checkisomd5). Boots use qemu TCG through tests/qemu_boot.py.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from kickgen.core.errors import EnvironmentProblem, UsageError
from kickgen.standin import builder as standin
from kickgen.standin.builder import build_standin, collect_inputs
from paths import PROJECT_ROOT
from qemu_boot import boot

INSTALLER_STARTING = r"kickgen-standin: installer starting \(ks=(?P<ks>[^)]*)\)"

# sha256 of the stock 6.5 texts, so an edit of the recipe copies shows here.
STOCK_ISOLINUX_CFG_SHA256 = "d1934dfafcf23c7472d95956e8ff55512d958a42185789f436e49bafeecbdd24"
STOCK_BOOTX64_CONF_LINES = [
    "#debug --graphics", "default=0", "splashimage=/EFI/BOOT/splash.xpm.gz", "timeout 5", "hiddenmenu",
    "title CentOS 6.5", "\tkernel /images/pxeboot/vmlinuz", "\tinitrd /images/pxeboot/initrd.img",
    "title Install system with basic video driver",
    "\tkernel /images/pxeboot/vmlinuz xdriver=vesa nomodeset askmethod",
    "\tinitrd /images/pxeboot/initrd.img",
    "title rescue", "\tkernel /images/pxeboot/vmlinuz rescue askmethod", "\tinitrd /images/pxeboot/initrd.img",
]

COMMON_FILES = {
    "/.discinfo", "/.treeinfo", "/CentOS_BuildTag", "/EULA", "/GPL", "/RELEASE-NOTES-en-US.html",
    "/RPM-GPG-KEY-CentOS-6", "/RPM-GPG-KEY-CentOS-Debug-6", "/RPM-GPG-KEY-CentOS-Security-6",
    "/RPM-GPG-KEY-CentOS-Testing-6", "/TRANS.TBL",
    "/Packages", "/Packages/TRANS.TBL", "/repodata", "/repodata/TRANS.TBL", "/repodata/repomd.xml",
    "/repodata/primary.xml.gz", "/repodata/filelists.xml.gz", "/repodata/other.xml.gz",
    "/repodata/comps.xml", "/repodata/comps.xml.gz",
    "/images", "/images/TRANS.TBL", "/images/install.img",
    "/images/pxeboot", "/images/pxeboot/TRANS.TBL", "/images/pxeboot/vmlinuz", "/images/pxeboot/initrd.img",
    "/isolinux", "/isolinux/TRANS.TBL", "/isolinux/boot.cat", "/isolinux/boot.msg", "/isolinux/grub.conf",
    "/isolinux/initrd.img", "/isolinux/isolinux.bin", "/isolinux/isolinux.cfg", "/isolinux/memtest",
    "/isolinux/splash.jpg", "/isolinux/vesamenu.c32", "/isolinux/vmlinuz",
    "/isolinux/ldlinux.c32", "/isolinux/libcom32.c32", "/isolinux/libutil.c32",
}
DVD_ONLY_FILES = {
    "/EFI", "/EFI/TRANS.TBL", "/EFI/BOOT", "/EFI/BOOT/TRANS.TBL", "/EFI/BOOT/BOOTX64.conf",
    "/EFI/BOOT/splash.xpm.gz", "/images/efiboot.img", "/images/efidisk.img",
}


def run(*cmd: str | Path, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True, check=check)


def iso_files(iso: Path) -> set[str]:
    return set(run("isoinfo", "-R", "-f", "-i", iso).stdout.split())


def extract(iso: Path, iso_path: str, dest: Path) -> Path:
    run("xorriso", "-osirrox", "on", "-indev", iso, "-extract", iso_path, dest)
    dest.chmod(0o644)
    return dest


def xorriso_report(iso: Path, what: str) -> str:
    return run("xorriso", "-indev", iso, f"-report_{what}", "plain").stdout


@pytest.fixture(params=["dvd", "minimal"])
def any_variant(request, standin_dvd, standin_minimal) -> tuple[str, Path]:
    return request.param, {"dvd": standin_dvd, "minimal": standin_minimal}[request.param]


# --- layout -------------------------------------------------------------------------------------

def test_volume_id_and_extensions(any_variant):
    _, iso = any_variant
    info = run("isoinfo", "-d", "-i", iso).stdout
    assert "Volume id: CentOS_6.5_Final" in info
    assert "System id: LINUX" in info  # as mkisofs writes on Linux
    assert "Joliet" in info and "Rock Ridge signatures" in info


def test_file_set_matches_the_65_layout(any_variant):
    variant, iso = any_variant
    expected = COMMON_FILES | (DVD_ONLY_FILES if variant == "dvd" else set())
    assert iso_files(iso) == expected


def test_stock_isolinux_cfg_byte_for_byte(standin_dvd, standin_minimal, tmp_path):
    for iso in (standin_dvd, standin_minimal):
        text = extract(iso, "/isolinux/isolinux.cfg", tmp_path / "isolinux.cfg").read_bytes()
        assert text.startswith(b"default vesamenu.c32\n#prompt 1\ntimeout 600\n")
        assert b"label linux\n  menu label ^Install or upgrade an existing system\n  menu default\n" \
               b"  kernel vmlinuz\n  append initrd=initrd.img\n" in text
        assert text.endswith(b"label memtest86\n  menu label ^Memory test\n  kernel memtest\n  append -\n\n")
        assert b"serial" not in text and b"console=" not in text
        assert hashlib.sha256(text).hexdigest() == STOCK_ISOLINUX_CFG_SHA256


def test_stock_bootx64_conf_on_iso_and_inside_efiboot(standin_dvd, tmp_path):
    on_iso = extract(standin_dvd, "/EFI/BOOT/BOOTX64.conf", tmp_path / "iso.conf").read_text()
    assert on_iso.splitlines() == STOCK_BOOTX64_CONF_LINES
    img = extract(standin_dvd, "/images/efiboot.img", tmp_path / "efiboot.img")
    assert "Volume label is ANACONDA" in run("mlabel", "-s", "-i", img, "::").stdout
    listing = run("mdir", "-b", "-i", img, "::EFI/BOOT").stdout.split()
    assert sorted(listing) == ["::/EFI/BOOT/BOOTX64.conf", "::/EFI/BOOT/BOOTX64.efi", "::/EFI/BOOT/splash.xpm.gz"]
    assert run("mtype", "-i", img, "::EFI/BOOT/BOOTX64.conf").stdout == on_iso
    efi = subprocess.run(["mtype", "-i", str(img), "::EFI/BOOT/BOOTX64.efi"], capture_output=True, check=True)
    assert efi.stdout[:2] == b"MZ"  # a PE image


def test_kernel_and_initrd_are_the_same_in_isolinux_and_pxeboot(standin_dvd, tmp_path):
    for name in ("vmlinuz", "initrd.img"):
        a = extract(standin_dvd, f"/isolinux/{name}", tmp_path / f"a-{name}").read_bytes()
        b = extract(standin_dvd, f"/images/pxeboot/{name}", tmp_path / f"b-{name}").read_bytes()
        assert a == b and len(a) > 100_000


def test_discinfo_and_treeinfo(standin_minimal, tmp_path):
    discinfo = extract(standin_minimal, "/.discinfo", tmp_path / "discinfo").read_text()
    assert discinfo.splitlines() == ["1385726532.68", "6.5", "x86_64", "1"]
    treeinfo = extract(standin_minimal, "/.treeinfo", tmp_path / "treeinfo").read_text()
    assert "family = CentOS\n" in treeinfo and "version = 6.5\n" in treeinfo
    assert "variant = \n" in treeinfo  # the trailing space of the real file
    assert "[stage2]\nmainimage = images/install.img\n" in treeinfo


def test_trans_tbl_lists_each_directory(standin_dvd, tmp_path):
    table = extract(standin_dvd, "/isolinux/TRANS.TBL", tmp_path / "TRANS.TBL").read_text()
    names = [line.split()[-1] for line in table.splitlines()]
    assert "isolinux.cfg" in names and "boot.cat" in names and "TRANS.TBL" not in names
    assert re.search(r"^F isolinux\.bin;1 +isolinux\.bin$", table, re.M)
    images = extract(standin_dvd, "/images/TRANS.TBL", tmp_path / "images.TBL").read_text()
    assert re.search(r"^F efiboot\.img;1 +efiboot\.img$", images, re.M)
    assert re.search(r"^D pxeboot +pxeboot$", images, re.M)


def test_el_torito_entries(any_variant):
    variant, iso = any_variant
    report = xorriso_report(iso, "el_torito")
    assert re.search(r"El Torito cat path : /isolinux/boot\.cat", report)
    assert re.search(r"El Torito boot img :\s+1\s+BIOS\s+y\s+none\s+0x0000\s+0x00\s+4\s", report)
    assert "El Torito img path :   1  /isolinux/isolinux.bin" in report
    assert re.search(r"El Torito img opts :\s+1\s+boot-info-table", report)
    has_uefi = re.search(r"El Torito boot img :\s+2\s+UEFI\s+y\s+none", report) is not None
    assert has_uefi == (variant == "dvd")
    if variant == "dvd":
        assert "El Torito img path :   2  /images/efiboot.img" in report


def test_hybrid_system_area(any_variant):
    variant, iso = any_variant
    report = xorriso_report(iso, "system_area")
    assert "MBR isohybrid" in report
    # Partition 1 covers the whole image from sector 0 (type 0x00 beside a GPT, else 0x17).
    assert re.search(r"MBR partition\s+:\s+1\s+0x80\s+0x(00|17)\s+0\s", report)
    if variant == "dvd":  # as isohybrid --uefi: an 0xEF partition on efiboot.img, and a GPT
        assert re.search(r"MBR partition\s+:\s+2\s+0x00\s+0xef\s", report)
        assert "MBR partition path :   2  /images/efiboot.img" in report
        assert "GPT partition path :   2  /images/efiboot.img" in report
    else:
        assert "GPT" not in report and "0xef" not in report


def test_media_md5_implanted_and_checked(standin_minimal, tmp_path):
    assert run("checkisomd5", standin_minimal, check=False).returncode == 0
    broken = tmp_path / "broken.iso"
    shutil.copyfile(standin_minimal, broken)
    with open(broken, "r+b") as f:  # flip one byte inside the data area
        f.seek(200 * 2048 + 7)
        byte = f.read(1)
        f.seek(-1, 1)
        f.write(bytes([byte[0] ^ 0xFF]))
    assert run("checkisomd5", broken, check=False).returncode != 0


def test_initrd_contents(standin_minimal, tmp_path):
    initrd = extract(standin_minimal, "/isolinux/initrd.img", tmp_path / "initrd.img")
    cpio = subprocess.run(f"zcat {initrd} | cpio -itv --quiet", shell=True, capture_output=True,
                          text=True, check=True).stdout
    entries = {line.split()[-1] if " -> " not in line else line.split(" -> ")[0].split()[-1]: line
               for line in cpio.splitlines()}
    assert entries["init"].startswith("-rwxr-xr-x")
    assert entries["bin/busybox"].startswith("-rwxr-xr-x")
    assert entries["bin/sh"].startswith("l")
    assert entries["dev/console"].startswith("c")
    assert all(" root " in line or " 0 " in line for line in cpio.splitlines())
    modules = subprocess.run(f"zcat {initrd} | cpio -i --quiet --to-stdout standin/modules.list",
                             shell=True, capture_output=True, text=True, check=True).stdout.split()
    names = [Path(m).name for m in modules]
    for before, after in [("scsi_mod.ko", "sr_mod.ko"), ("cdrom.ko", "sr_mod.ko"), ("sr_mod.ko", "isofs.ko"),
                          ("crct10dif_generic.ko", "sd_mod.ko"), ("crc64_rocksoft_generic.ko", "sd_mod.ko"),
                          ("jbd2.ko", "ext4.ko"), ("libata.ko", "ata_piix.ko"), ("fat.ko", "vfat.ko")]:
        assert names.index(before) < names.index(after), (before, after)
    assert all(m.lstrip("/") in entries for m in modules)


# --- building -----------------------------------------------------------------------------------

def test_initrd_falls_back_to_a_builtin_init_without_the_installer(tmp_path, monkeypatch):
    monkeypatch.setattr(standin, "INITRD_OVERLAY", tmp_path / "no-installer")
    initrd = standin._build_initrd(collect_inputs("minimal"), tmp_path)
    init = subprocess.run(f"zcat {initrd} | cpio -i --quiet --to-stdout init", shell=True,
                          capture_output=True, text=True, check=True).stdout
    assert init == (standin.RECIPE_DIR / "fallback-init").read_text()
    assert "installer starting (ks=$ks)" in init


def test_builds_are_reproducible(tmp_path):
    first = build_standin("dvd", tmp_path / "one.iso", cache=False)
    second = build_standin("dvd", tmp_path / "two.iso", cache=False)
    assert first.read_bytes() == second.read_bytes()
    assert not list(tmp_path.glob(".*"))  # no temp files left behind


def test_cache_key_follows_inputs():
    inputs = collect_inputs("minimal")
    assert inputs.key() == collect_inputs("minimal").key()
    assert dataclasses.replace(inputs, epoch=inputs.epoch + 1).key() != inputs.key()
    assert dataclasses.replace(inputs, variant="dvd").key() != inputs.key()
    assert dataclasses.replace(inputs, tool_versions=("xorriso 9",)).key() != inputs.key()


def test_cli_writes_the_image_and_reports_size(standin_minimal, tmp_path):
    out = tmp_path / "media" / "standin.iso"
    kickgen = PROJECT_ROOT / ".venv" / "bin" / "kickgen"
    proc = run(kickgen if kickgen.exists() else "kickgen", "standin", "--variant", "minimal", "-o", out)
    assert re.search(r"stand-in minimal media .*standin\.iso \(\d+\.\d MiB\) in \d+\.\d s", proc.stdout)
    assert out.read_bytes() == build_standin("minimal").read_bytes()  # the cached image, copied


def test_output_that_is_a_directory_is_refused(tmp_path):
    with pytest.raises(UsageError, match=rf"output {tmp_path} is a directory"):
        build_standin("minimal", tmp_path)


def test_cli_reports_a_user_error_in_one_line(tmp_path):
    kickgen = PROJECT_ROOT / ".venv" / "bin" / "kickgen"
    proc = run(kickgen if kickgen.exists() else "kickgen", "standin", "--variant", "minimal", "-o", tmp_path,
               check=False)
    assert proc.returncode == 2
    assert proc.stderr.splitlines()[0] == f"kickgen: error: output {tmp_path} is a directory"
    assert "Traceback" not in proc.stderr


def test_unknown_variant_is_refused():
    with pytest.raises(UsageError, match=r"unknown stand-in variant 'netinstall'"):
        build_standin("netinstall")


def test_bad_source_date_epoch_is_refused(monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "yesterday")
    with pytest.raises(UsageError, match=r"SOURCE_DATE_EPOCH='yesterday' is not a number"):
        build_standin("minimal")


def test_unknown_kernel_module_names_the_list_line(tmp_path):
    wanted = tmp_path / "modules.txt"
    wanted.write_text("# comment\nsr_mod\nno_such_module_x\n")
    version = standin.newest_kernel().release
    with pytest.raises(EnvironmentProblem, match=rf"{wanted}:3: kernel module 'no_such_module_x' not found"):
        standin._resolve_modules(version, wanted)


def test_missing_host_binary_names_the_list_line(tmp_path):
    listing = tmp_path / "initrd-binaries.txt"
    listing.write_text("/bin/busybox\n\n/usr/sbin/no-such-tool\n")
    with pytest.raises(EnvironmentProblem, match=rf"{listing}:3: '/usr/sbin/no-such-tool' is not an absolute path"):
        standin._resolve_host_binaries(listing)


def test_host_binary_brings_its_shared_libraries(tmp_path):
    listing = tmp_path / "initrd-binaries.txt"
    listing.write_text("/usr/bin/xorriso  # dynamic: libc and friends must follow\n")
    files = dict(standin._resolve_host_binaries(listing))
    assert "/usr/bin/xorriso" in files
    assert any(re.search(r"/libc\.so\.6$", dest) for dest in files)
    assert any("ld-linux-x86-64" in dest for dest in files)


# --- boots (qemu TCG) ---------------------------------------------------------------------------

@pytest.mark.vm
@pytest.mark.timeout(900)
@pytest.mark.parametrize("as_disk", [False, True], ids=["cd", "usb-disk"])
def test_bios_boot_reaches_the_installer(any_variant, as_disk, tmp_path):
    """Both variants boot under SeaBIOS as a CD (El Torito) and as a disk (hybrid MBR)."""
    variant, iso = any_variant
    kwargs = dict(disks=[iso], boot_from="disk", snapshot=True) if as_disk else dict(cdrom=iso)
    result = boot(**kwargs, serial_log=tmp_path / "serial.log", expect=INSTALLER_STARTING,
                  timeout=400, press_enter=True)  # Enter skips the stock menu's 60 s wait
    assert result.matched, f"{variant} did not reach the installer:\n{result.tail()}"
    assert re.search(INSTALLER_STARTING, result.match).group("ks") == "none"


@pytest.mark.vm
@pytest.mark.timeout(600)
def test_uefi_boot_of_the_stock_dvd(standin_dvd, tmp_path):
    """The unmodified DVD reaches the installer under OVMF through the stock BOOTX64.conf (5 s hiddenmenu)."""
    result = boot(cdrom=standin_dvd, firmware="uefi", serial_log=tmp_path / "serial.log",
                  expect=INSTALLER_STARTING, timeout=400)
    assert result.matched, f"UEFI boot did not reach the installer:\n{result.tail()}"
    assert "Booting `CentOS 6.5'" in result.text  # GRUB ran the legacy menu's first entry
    assert re.search(INSTALLER_STARTING, result.match).group("ks") == "none"
