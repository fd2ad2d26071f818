"""Stand-in CentOS 6.5 install media, built from Debian packages without root.

Real CentOS 6.5 media cannot be fetched here, so this builds a look-alike ISO: the 6.5 layout,
volume ID, stock isolinux.cfg and BOOTX64.conf, El Torito BIOS + UEFI entries, hybrid MBR/GPT,
implanted media MD5, booting Debian's kernel into a busybox initrd that holds the stand-in
installer (data/initrd/), the stand-in system (data/sysroot/) and its package
catalogue (data/packages/). `build_standin` reads like the recipe:

    initrd  <- busybox + kernel modules + extra host binaries + the overlays   (_build_initrd)
    tree    <- the 6.5 layout around kernel + initrd                          (_stage_tree)
    EFI     <- BOOTX64.efi (GRUB 2 + legacycfg) inside images/efiboot.img     (_build_efiboot)
    ISO     <- xorriso (mkisofs emulation), then implantisomd5 / checkisomd5  (_master_iso)

Builds are reproducible (SOURCE_DATE_EPOCH, default the 6.5 compose time) and cached under
build/standin/ keyed by a hash of every input byte and tool version.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import logging
import lzma
import os
import re
import shutil
import stat
import subprocess
import tarfile
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from kickgen.core.atomic import copy_file, move_into_place
from kickgen.core.el6 import DEFAULT_VOLUME_ID
from kickgen.core.errors import EnvironmentProblem, InternalError, MediaError, UsageError
from kickgen.core.hostkernel import newest_kernel
from kickgen.core.outputs import check_output, refuse_inputs
from kickgen.core.reproducible import source_date_epoch
from kickgen.core.resources import cache_dir, package_dir

log = logging.getLogger(__name__)

VARIANTS = ("dvd", "minimal")
VOLUME_ID = DEFAULT_VOLUME_ID
EFI_LABEL = "ANACONDA"
# The 6.5 compose time (.discinfo / .treeinfo): the default for every timestamp on the media.
DEFAULT_EPOCH = 1385726532

STANDIN_DIR = package_dir("kickgen.standin", "data")
RECIPE_DIR = STANDIN_DIR / "build"          # ours: texts and lists for the build
INITRD_OVERLAY = STANDIN_DIR / "initrd"     # the installer helper's: copied to / of the initrd
SYSROOT_DIR = STANDIN_DIR / "sysroot"       # -> /standin/sysroot in the initrd
PACKAGES_DIR = STANDIN_DIR / "packages"     # -> /standin/packages in the initrd
BINARIES_LIST = STANDIN_DIR / "initrd-binaries.txt"
CACHE_DIR = cache_dir("standin")
CACHE_KEEP_SECONDS = 2 * 3600  # longer than any test session

BUSYBOX = Path("/bin/busybox")
ISOLINUX_BIN = Path("/usr/lib/ISOLINUX/isolinux.bin")
ISOHYBRID_MBR = Path("/usr/lib/ISOLINUX/isohdpfx.bin")
SYSLINUX_BIOS = Path("/usr/lib/syslinux/modules/bios")
SYSLINUX_MODULES = ("ldlinux.c32", "libcom32.c32", "libutil.c32", "vesamenu.c32")
GRUB_EFI_DIR = Path("/usr/lib/grub/x86_64-efi")
TOOLS = ("xorriso", "grub-mkimage", "mkfs.vfat", "mmd", "mcopy", "implantisomd5", "checkisomd5", "ldd")
# Debian packages whose versions join the cache key (the tools that shape the bytes).
TOOL_PACKAGES = ("xorriso", "grub-efi-amd64-bin", "grub-common", "mtools", "dosfstools", "isomd5sum",
                 "isolinux", "syslinux-common", "busybox-static")

ROOT_PLACEHOLDERS = {  # ISO root files whose content no stage reads
    "CentOS_BuildTag": "20131129-1802\n",
    "EULA": "kickgen stand-in media: placeholder for the CentOS 6.5 EULA.\n",
    "GPL": "kickgen stand-in media: placeholder for the GNU GPL text shipped on CentOS 6.5 media.\n",
    "RELEASE-NOTES-en-US.html": "<html><body><p>kickgen stand-in media: placeholder for the "
                                "CentOS 6.5 release notes.</p></body></html>\n",
    "RPM-GPG-KEY-CentOS-6": "kickgen stand-in media: placeholder, not a key.\n",
    "RPM-GPG-KEY-CentOS-Debug-6": "kickgen stand-in media: placeholder, not a key.\n",
    "RPM-GPG-KEY-CentOS-Security-6": "kickgen stand-in media: placeholder, not a key.\n",
    "RPM-GPG-KEY-CentOS-Testing-6": "kickgen stand-in media: placeholder, not a key.\n",
    "images/install.img": "kickgen stand-in media: placeholder for the anaconda stage2 image; "
                          "the stand-in installer lives in the initrd.\n",
    "isolinux/memtest": "kickgen stand-in media: placeholder for memtest86+.\n",
    "isolinux/splash.jpg": "kickgen stand-in media: placeholder for the boot splash.\n",
}
EFI_ONLY_PLACEHOLDERS = {
    "images/efidisk.img": "kickgen stand-in media: placeholder for the EFI disk image.\n",
}
SPLASH_XPM = b'/* XPM */\nstatic char *splash[] = {\n"1 1 1 1",\n"  c #000000",\n" "};\n'


# --- inputs -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class KernelModule:
    name: str           # as in modules.dep, '-' normalised to '_'
    relpath: str        # e.g. kernel/drivers/scsi/sr_mod.ko(.xz) under /lib/modules/<version>
    depends: tuple[str, ...] = ()   # relpaths, as modules.dep lists them


@dataclass(frozen=True)
class StandinInputs:
    """Everything a build reads, resolved up front; `key()` names the cached ISO."""

    variant: str
    epoch: int
    kernel_version: str
    kernel: Path
    modules: tuple[KernelModule, ...]        # in load order, dependencies first
    host_files: tuple[tuple[str, Path], ...]  # (path in initrd, host file): extra binaries + libs
    tool_versions: tuple[str, ...]

    @property
    def modules_dir(self) -> Path:
        return Path("/lib/modules") / self.kernel_version

    def key(self) -> str:
        h = hashlib.sha256()
        for line in (self.variant, str(self.epoch), self.kernel_version, *self.tool_versions):
            h.update(line.encode() + b"\n")
        files = [("kernel", self.kernel), ("busybox", BUSYBOX), ("isolinux", ISOLINUX_BIN),
                 ("isohdpfx", ISOHYBRID_MBR), ("builder", Path(__file__))]
        files += [(m.relpath, self.modules_dir / m.relpath) for m in self.modules]
        files += [(f"host:{dest}", src) for dest, src in self.host_files]
        files += [(f"c32:{name}", SYSLINUX_BIOS / name) for name in SYSLINUX_MODULES]
        files += [(f"vm:{p.relative_to(STANDIN_DIR)}", p) for p in _tree_files(STANDIN_DIR)]
        for label, path in files:
            h.update(f"{label}\0{_mode_class(path)}\0".encode())
            h.update(os.readlink(path).encode() if path.is_symlink() else _file_digest(path))
        return h.hexdigest()


def collect_inputs(variant: str) -> StandinInputs:
    """Resolve kernel, modules, host binaries and tool versions; fail early on anything missing."""
    if variant not in VARIANTS:
        raise UsageError(f"unknown stand-in variant {variant!r}", hint=f"use one of: {', '.join(VARIANTS)}")
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    missing += [str(p) for p in (BUSYBOX, ISOLINUX_BIN, ISOHYBRID_MBR, GRUB_EFI_DIR) if not p.exists()]
    missing += [str(SYSLINUX_BIOS / n) for n in SYSLINUX_MODULES if not (SYSLINUX_BIOS / n).exists()]
    if missing:
        raise EnvironmentProblem(f"stand-in media needs: {', '.join(missing)}",
                                 hint="run 'make setup' (installs debian-packages.txt)")
    kernel = newest_kernel()
    return StandinInputs(
        variant=variant,
        epoch=source_date_epoch(DEFAULT_EPOCH),
        kernel_version=kernel.release,
        kernel=kernel.path,
        modules=_resolve_modules(kernel.release, RECIPE_DIR / "initrd-modules.txt"),
        host_files=_resolve_host_binaries(BINARIES_LIST),
        tool_versions=_tool_versions(),
    )


def _resolve_modules(kernel_version: str, wanted_list: Path) -> tuple[KernelModule, ...]:
    modules_dir = Path("/lib/modules") / kernel_version
    deps: dict[str, list[str]] = {}
    paths: dict[str, str] = {}
    for line in (modules_dir / "modules.dep").read_text().splitlines():
        target, _, rest = line.partition(":")
        name = _module_name(target)
        paths[name] = target
        deps[name] = [_module_name(d) for d in rest.split()]
    ordered: list[str] = []

    def add(name: str) -> None:
        if name in ordered:
            return
        for dep in reversed(deps[name]):  # modules.dep lists the deepest dependency last
            add(dep)
        ordered.append(name)

    for lineno, line in enumerate(wanted_list.read_text().splitlines(), 1):
        for word in line.partition("#")[0].split():
            name = word.replace("-", "_")
            if name not in paths:
                raise EnvironmentProblem(f"{wanted_list}:{lineno}: kernel module {word!r} not found "
                                         f"for kernel {kernel_version}",
                                         hint="it may be built in, or renamed: check modules.builtin")
            add(name)
    return tuple(KernelModule(n, paths[n], tuple(paths[d] for d in deps[n])) for n in ordered)


def _module_name(relpath: str) -> str:
    return Path(relpath).name.split(".ko")[0].replace("-", "_")


def _resolve_host_binaries(binaries_list: Path) -> tuple[tuple[str, Path], ...]:
    """The listed host files plus the shared libraries ldd finds for them, as (initrd path, host path)."""
    if not binaries_list.exists():
        return ()
    result: dict[str, Path] = {}
    for lineno, line in enumerate(binaries_list.read_text().splitlines(), 1):
        entry = line.partition("#")[0].strip()
        if not entry:
            continue
        src = Path(entry)
        if not src.is_absolute() or not src.is_file():
            raise EnvironmentProblem(f"{binaries_list}:{lineno}: {entry!r} is not an absolute path "
                                     "to a file on this machine",
                                     hint="install the Debian package that provides it (debian-packages.txt)")
        result[entry] = src.resolve()
        for lib in _shared_libraries(src):
            result[str(lib)] = lib.resolve()
    return tuple(sorted(result.items()))


def _shared_libraries(binary: Path) -> list[Path]:
    proc = subprocess.run(["ldd", str(binary)], capture_output=True, text=True)
    if proc.returncode != 0:  # static binary, script or data file: nothing to add
        return []
    libs = []
    for line in proc.stdout.splitlines():
        m = re.search(r"(?:=>\s*)?(/\S+)\s+\(0x", line)
        if m:
            libs.append(Path(m.group(1)))
    return libs


def _tool_versions() -> tuple[str, ...]:
    proc = subprocess.run(["dpkg-query", "-W", "-f", "${Package} ${Version}\n", *TOOL_PACKAGES],
                          capture_output=True, text=True)
    return tuple(sorted(proc.stdout.splitlines()))  # dpkg-less machines: the file hashes still count


# --- build ------------------------------------------------------------------------------------

def build_standin(variant: str = "dvd", out: Path | None = None, *, cache: bool = True) -> Path:
    """Build (or reuse from the cache) the stand-in ISO for `variant`; return its path.

    With `out`, the ISO is also written there (temp file + rename). cache=False rebuilds even
    when a cached image exists (the reproducibility test uses it) and, with `out`, leaves the
    cache alone.
    """
    if out is not None:    # before any work: a regular file or a new name (kickgen.core.outputs)
        out = check_output(out, command="standin")
    inputs = collect_inputs(variant)
    key = inputs.key()
    cached = CACHE_DIR / "cache" / f"CentOS-6.5-standin-{variant}-{key[:16]}.iso"
    if out is not None and cache:
        refuse_inputs(out, [("kickgen's cached stand-in image", cached)])
    if cache and cached.exists():
        log.info("stand-in %s: cache hit %s", variant, cached)
        return copy_file(cached, out) if out else cached
    target = Path(out) if (out and not cache) else cached
    target.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix=".standin-", dir=target.parent) as tmp:
        work = Path(tmp)
        initrd = _build_initrd(inputs, work)
        tree = _stage_tree(inputs, initrd, work / "tree")
        if variant == "dvd":
            _build_efiboot(inputs, work, tree)
        iso = work / "out.iso"
        _master_iso(inputs, tree, iso)
        move_into_place(iso, target)
    if target == cached:
        _prune_cache(cached)
    log.info("stand-in %s: built %s in %.1f s", variant, target, time.monotonic() - started)
    return copy_file(target, out) if (out and target != Path(out)) else target


def _prune_cache(keep: Path) -> None:
    """Drop cached images of the same variant older than CACHE_KEEP_SECONDS: a path handed out
    earlier in a test session (or to a parallel run) must stay valid while its inputs change."""
    variant_glob = keep.name.rsplit("-", 1)[0] + "-*.iso"
    for old in keep.parent.glob(variant_glob):
        if old != keep and time.time() - old.stat().st_mtime > CACHE_KEEP_SECONDS:
            old.unlink(missing_ok=True)


# --- initrd -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class CpioEntry:
    mode: int           # full st_mode: type bits + permissions
    data: bytes = b""   # file content, or symlink target
    rdev: tuple[int, int] = (0, 0)


def _build_initrd(inputs: StandinInputs, work: Path) -> Path:
    """gzip'd newc cpio, written by us so that entry order, inodes and mtimes are fixed."""
    entries: dict[str, CpioEntry] = {}
    for d in ("bin", "sbin", "usr/bin", "usr/sbin", "etc", "proc", "sys", "dev", "tmp", "run",
              "mnt", "mnt/source", "mnt/sysimage", "root", "standin"):
        entries[d] = CpioEntry(0o040755)
    entries["tmp"] = CpioEntry(0o041777)
    entries["dev/console"] = CpioEntry(0o020600, rdev=(5, 1))
    entries["dev/null"] = CpioEntry(0o020666, rdev=(1, 3))
    entries["dev/ttyS0"] = CpioEntry(0o020600, rdev=(4, 64))

    entries["bin/busybox"] = CpioEntry(0o100755, BUSYBOX.read_bytes())
    applets = subprocess.run([str(BUSYBOX), "--list-full"], capture_output=True, text=True, check=True)
    for applet in applets.stdout.split():
        if "/" in applet and applet != "bin/busybox":
            entries[applet] = CpioEntry(0o120777, b"/bin/busybox")

    modules_root = f"lib/modules/{inputs.kernel_version}"
    load_order, dep_lines = [], []
    for module in inputs.modules:
        raw = (inputs.modules_dir / module.relpath).read_bytes()
        if module.relpath.endswith(".xz"):
            raw = lzma.decompress(raw)
        elif not module.relpath.endswith(".ko"):
            raise EnvironmentProblem(f"kernel module {module.relpath}: only .ko and .ko.xz are supported")
        relpath = module.relpath.removesuffix(".xz")
        entries[f"{modules_root}/{relpath}"] = CpioEntry(0o100644, raw)
        load_order.append(f"/{modules_root}/{relpath}\n")
        dep_lines.append(" ".join([f"{relpath}:", *(d.removesuffix(".xz") for d in module.depends)]) + "\n")
    entries["standin/modules.list"] = CpioEntry(0o100644, "".join(load_order).encode())
    # A modules.dep for busybox modprobe, limited to what is on board.
    entries[f"{modules_root}/modules.dep"] = CpioEntry(0o100644, "".join(dep_lines).encode())

    for dest, src in inputs.host_files:
        entries[dest.lstrip("/")] = CpioEntry(0o100755 if os.access(src, os.X_OK) else 0o100644,
                                              src.read_bytes())

    if not (INITRD_OVERLAY / "init").exists():
        # The installer helper's /init is not there yet: a tiny init that proves the boot.
        entries["init"] = CpioEntry(0o100755, (RECIPE_DIR / "fallback-init").read_bytes())
    _add_tree(entries, INITRD_OVERLAY, "")
    entries["init"] = CpioEntry(0o100755, entries["init"].data)  # PID 1 must be executable
    _add_tree(entries, SYSROOT_DIR, "standin/sysroot")
    _add_tree(entries, PACKAGES_DIR, "standin/packages")

    # Every parent directory exists as an entry (the kernel's unpacker does not create them).
    for path in list(entries):
        parts = path.split("/")
        for i in range(1, len(parts)):
            entries.setdefault("/".join(parts[:i]), CpioEntry(0o040755))
    initrd = work / "initrd.img"
    initrd.write_bytes(gzip.compress(_newc_archive(entries, inputs.epoch), compresslevel=9, mtime=0))
    return initrd


def _add_tree(entries: dict[str, CpioEntry], src_root: Path, dest_root: str) -> None:
    if not src_root.is_dir():
        return
    for path in sorted(src_root.rglob("*")):
        rel = path.relative_to(src_root).as_posix()
        dest = f"{dest_root}/{rel}" if dest_root else rel
        if path.is_symlink():
            entries[dest] = CpioEntry(0o120777, os.readlink(path).encode())
        elif path.is_dir():
            entries[dest] = CpioEntry(0o040755)
        else:
            entries[dest] = CpioEntry(0o100755 if _mode_class(path) == "x" else 0o100644, path.read_bytes())


def _newc_archive(entries: dict[str, CpioEntry], mtime: int) -> bytes:
    """SVR4 'newc' cpio: entries sorted so parents come first, inodes numbered in that order."""
    out = io.BytesIO()

    def record(ino: int, name: str, entry: CpioEntry) -> None:
        name_bytes = name.encode() + b"\0"
        fields = (ino, entry.mode, 0, 0, 2 if stat.S_ISDIR(entry.mode) else 1,
                  mtime, len(entry.data), 0, 0, entry.rdev[0], entry.rdev[1], len(name_bytes), 0)
        out.write(b"070701" + b"".join(f"{f:08X}".encode() for f in fields))
        out.write(name_bytes)
        out.write(b"\0" * (-(110 + len(name_bytes)) % 4))
        out.write(entry.data)
        out.write(b"\0" * (-len(entry.data) % 4))

    for ino, name in enumerate(sorted(entries, key=lambda p: p.split("/")), start=1):
        record(ino, name, entries[name])
    record(0, "TRAILER!!!", CpioEntry(0))
    return out.getvalue()


# --- ISO tree ---------------------------------------------------------------------------------

def _stage_tree(inputs: StandinInputs, initrd: Path, tree: Path) -> Path:
    """The CentOS 6.5 DVD/minimal layout around our kernel and initrd."""
    recipe = RECIPE_DIR
    files: dict[str, bytes] = {
        ".discinfo": (recipe / "discinfo").read_bytes(),
        ".treeinfo": (recipe / "treeinfo").read_bytes(),
        "isolinux/isolinux.cfg": (recipe / "isolinux.cfg").read_bytes(),
        "isolinux/boot.msg": (recipe / "boot.msg").read_bytes(),
        "isolinux/grub.conf": (recipe / "grub.conf").read_bytes(),
        "isolinux/isolinux.bin": ISOLINUX_BIN.read_bytes(),
        "isolinux/vmlinuz": inputs.kernel.read_bytes(),
        "isolinux/initrd.img": initrd.read_bytes(),
        "images/pxeboot/vmlinuz": inputs.kernel.read_bytes(),
        "images/pxeboot/initrd.img": initrd.read_bytes(),
    }
    files.update({k: v.encode() for k, v in ROOT_PLACEHOLDERS.items()})
    files.update(dict(base_repodata(inputs.epoch)))
    files.update({f"isolinux/{n}": (SYSLINUX_BIOS / n).read_bytes() for n in SYSLINUX_MODULES})
    if inputs.variant == "dvd":
        files["EFI/BOOT/BOOTX64.conf"] = (recipe / "BOOTX64.conf").read_bytes()
        files["EFI/BOOT/splash.xpm.gz"] = gzip.compress(SPLASH_XPM, mtime=0)
        files.update({k: v.encode() for k, v in EFI_ONLY_PLACEHOLDERS.items()})
    for rel, data in files.items():
        path = tree / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    (tree / "Packages").mkdir(exist_ok=True)
    return tree


def _write_trans_tables(tree: Path) -> None:
    """TRANS.TBL in every directory, as `mkisofs -T` writes them (xorriso ignores -T)."""
    for directory in [tree, *sorted(p for p in tree.rglob("*") if p.is_dir())]:
        names = {c.name: c.is_dir() for c in directory.iterdir()}
        if directory.name == "isolinux":
            names["boot.cat"] = False  # the El Torito catalog xorriso adds there
        lines = []
        for name, is_dir in sorted(names.items()):
            kind, iso_name = ("D", name) if is_dir else ("F", f"{name};1")
            lines.append(f"{kind} {iso_name:<34} {name}\n")
        (directory / "TRANS.TBL").write_text("".join(lines))


def _normalise(tree: Path, epoch: int) -> None:
    """Fixed modes and mtimes, so the ISO does not depend on umask or on when it was built."""
    for path in sorted(tree.rglob("*"), reverse=True):
        path.chmod(0o755 if path.is_dir() else 0o644)
        os.utime(path, (epoch, epoch), follow_symlinks=False)
    tree.chmod(0o755)
    os.utime(tree, (epoch, epoch))


# --- the media's own yum repository -------------------------------------------------------------

BASE_REPO_RECIPE = RECIPE_DIR / "base-repo.txt"
BASE_DB_DIR = SYSROOT_DIR / "var" / "lib" / "rpm" / "standin"


def base_repodata(epoch: int = DEFAULT_EPOCH) -> tuple[tuple[str, bytes], ...]:
    """`repodata/` of the stand-in media (metadata only, plain file names): the packages and
    groups of data/build/base-repo.txt, versions from the stand-in base system or catalogue.
    What `kickgen check-offline --base` and the stand-in yum (file:// repos) read."""
    from kickgen.offline.repodata import render_repodata
    from kickgen.offline.rpm import Capability, PackageFile, RpmPackage

    packages: list[RpmPackage] = []
    groups: list[tuple[str, str, list[str]]] = []
    for lineno, line in enumerate(BASE_REPO_RECIPE.read_text().splitlines(), 1):
        words = line.partition("#")[0].split()
        where = f"{BASE_REPO_RECIPE}:{lineno}"
        if not words:
            continue
        if words[0] == "group" and len(words) >= 3 and ":" in line:
            head, _, members = line.partition("#")[0].partition(":")
            gid, gname = head.split()[1], " ".join(head.split()[2:])
            groups.append((gid, gname, members.split()))
            continue
        if words[0] != "package" or len(words) < 2:
            raise InternalError(f"{where}: expected 'package NAME ...' or 'group ID NAME: ...'")
        name, rest = words[1], words[2:]
        options = dict(w.split("=", 1) for w in rest if "=" in w)
        plain = [w for w in rest if "=" not in w]
        if plain:
            version, _, release = plain[0].partition("-")
            arch = plain[1]
        else:
            meta = next((m for m in (BASE_DB_DIR / name, PACKAGES_DIR / name / "meta") if m.is_file()), None)
            if meta is None:
                raise InternalError(f"{where}: {name} is neither in the stand-in base system nor in "
                                    "the catalogue: give VERSION-RELEASE ARCH")
            fields = dict(item.split("=", 1) for item in meta.read_text().splitlines() if "=" in item)
            version, release, arch = fields["version"], fields["release"], fields["arch"]
        nevra = f"{name}-{version}-{release}.{arch}"
        packages.append(RpmPackage(
            name=name, epoch="0", version=version, release=release, arch=arch,
            sha256=hashlib.sha256(f"kickgen stand-in {nevra}".encode()).hexdigest(),
            location=f"Packages/{nevra}.rpm", summary=f"{name} (kickgen stand-in: metadata only)",
            time_build=epoch, time_file=epoch,
            provides=(Capability(name, "EQ", "0", version, release),),
            requires=tuple(Capability(r) for r in options.get("requires", "").split(",") if r),
            files=tuple(PackageFile(f) for f in options.get("files", "").split(",") if f)))
    comps = ['<?xml version="1.0" encoding="UTF-8"?>\n<comps>\n']
    for gid, gname, member_names in groups:
        comps.append(f"  <group>\n    <id>{gid}</id>\n    <name>{gname}</name>\n    <packagelist>\n")
        comps += [f'      <packagereq type="mandatory">{m}</packagereq>\n' for m in member_names]
        comps.append("    </packagelist>\n  </group>\n")
    comps.append("</comps>\n")
    return render_repodata(packages, comps="".join(comps).encode(), timestamp=epoch, unique_names=False)


# --- EFI --------------------------------------------------------------------------------------

def _build_efiboot(inputs: StandinInputs, work: Path, tree: Path) -> None:
    """images/efiboot.img: FAT labelled ANACONDA with EFI/BOOT/{BOOTX64.efi,BOOTX64.conf,splash.xpm.gz}."""
    efi = _build_grub_efi(inputs, work)
    efi_boot = tree / "EFI" / "BOOT"
    contents = {"BOOTX64.efi": efi, "BOOTX64.conf": efi_boot / "BOOTX64.conf",
                "splash.xpm.gz": efi_boot / "splash.xpm.gz"}
    size_kib = max(2048, (sum(p.stat().st_size for p in contents.values()) // 1024) * 5 // 4 + 512)
    image = tree / "images" / "efiboot.img"
    env = {**os.environ, "SOURCE_DATE_EPOCH": str(inputs.epoch), "MTOOLS_SKIP_CHECK": "1"}
    _run(["mkfs.vfat", "-C", "--invariant", "-i", f"{inputs.epoch & 0xFFFFFFFF:08x}", "-n", EFI_LABEL,
          str(image), str(size_kib)], "mkfs.vfat", env=env)
    _run(["mmd", "-i", str(image), "::EFI", "::EFI/BOOT"], "mmd", env=env)
    for name, src in contents.items():
        os.utime(src, (inputs.epoch, inputs.epoch))
        _run(["mcopy", "-m", "-i", str(image), str(src), f"::EFI/BOOT/{name}"], "mcopy", env=env)
    image.chmod(0o644)
    os.utime(image, (inputs.epoch, inputs.epoch))


def _build_grub_efi(inputs: StandinInputs, work: Path) -> Path:
    """BOOTX64.efi: GRUB 2 with our grub.cfg in a memdisk (grub-mkstandalone's layout, but with a
    tar we write ourselves, because grub-mkstandalone's tar carries the build time). grub.cfg
    (grub-embedded.cfg) sources the media part (grub-cdboot.cfg) or the PXE part
    (grub-netboot.cfg); the memdisk also holds the modules of grub-memdisk-modules.txt, loaded
    only when needed (see there), with their dependencies not built in already."""
    memdisk = work / "memdisk.tar"
    module_names = _word_list(RECIPE_DIR / "grub-modules.txt")
    lazy = _module_closure(_word_list(RECIPE_DIR / "grub-memdisk-modules.txt"))
    lazy -= _module_closure(module_names)
    files: list[tuple[str, bytes | None]] = [
        ("boot", None), ("boot/grub", None),
        ("boot/grub/grub.cfg", (RECIPE_DIR / "grub-embedded.cfg").read_bytes()),
        ("boot/grub/cdboot.cfg", (RECIPE_DIR / "grub-cdboot.cfg").read_bytes()),
        ("boot/grub/netboot.cfg", (RECIPE_DIR / "grub-netboot.cfg").read_bytes()),
        ("boot/grub/x86_64-efi", None)]
    files += [(f"boot/grub/x86_64-efi/{m}.mod", (GRUB_EFI_DIR / f"{m}.mod").read_bytes()) for m in sorted(lazy)]
    with tarfile.open(memdisk, "w", format=tarfile.USTAR_FORMAT) as tar:
        for name, data in files:
            info = tarfile.TarInfo(name)
            info.mtime, info.uid, info.gid, info.uname, info.gname = inputs.epoch, 0, 0, "root", "root"
            if data is None:
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
            else:
                info.size, info.mode = len(data), 0o644
                tar.addfile(info, io.BytesIO(data))
    efi = work / "BOOTX64.efi"
    _run(["grub-mkimage", "-O", "x86_64-efi", "-d", str(GRUB_EFI_DIR), "-o", str(efi),
          "-p", "/boot/grub", "-c", str(RECIPE_DIR / "grub-early.cfg"), "-m", str(memdisk),
          *module_names], "grub-mkimage")
    return efi


def _word_list(path: Path) -> list[str]:
    """The words of a recipe list (one or more a line, # comments)."""
    return [w for line in path.read_text().splitlines() for w in line.partition("#")[0].split()]


def _module_closure(names: list[str]) -> set[str]:
    """GRUB modules NAMES with every module they depend on (moddep.lst of the host's GRUB)."""
    deps: dict[str, list[str]] = {}
    for line in (GRUB_EFI_DIR / "moddep.lst").read_text().splitlines():
        name, _, rest = line.partition(":")
        deps[name.strip()] = rest.split()
    seen: set[str] = set()
    todo = list(names)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        if name not in deps and not (GRUB_EFI_DIR / f"{name}.mod").is_file():
            raise EnvironmentProblem(f"GRUB module {name!r} not found in {GRUB_EFI_DIR}",
                                     hint="install grub-efi-amd64-bin (debian-packages.txt)")
        seen.add(name)
        todo.extend(deps.get(name, ()))
    return seen


# --- mastering --------------------------------------------------------------------------------

def _master_iso(inputs: StandinInputs, tree: Path, iso: Path) -> None:
    _write_trans_tables(tree)  # last, once every file is in place
    _normalise(tree, inputs.epoch)
    stamp = datetime.fromtimestamp(inputs.epoch, UTC).strftime("%Y%m%d%H%M%S00")
    cmd = ["xorriso", "-as", "mkisofs", "-o", str(iso),
           "-V", VOLUME_ID, "-sysid", "LINUX", "-U", "-R", "-J", "-uid", "0", "-gid", "0",
           "--modification-date=" + stamp, "--set_all_file_dates", stamp,
           "-b", "isolinux/isolinux.bin", "-c", "isolinux/boot.cat",
           "-no-emul-boot", "-boot-load-size", "4", "-boot-info-table",
           "-isohybrid-mbr", str(ISOHYBRID_MBR)]
    if inputs.variant == "dvd":
        cmd += ["-eltorito-alt-boot", "-e", "images/efiboot.img", "-no-emul-boot", "-isohybrid-gpt-basdat"]
    cmd.append(str(tree))
    env = {**os.environ, "SOURCE_DATE_EPOCH": str(inputs.epoch)}
    _run(cmd, "xorriso", env=env)
    _run(["implantisomd5", str(iso)], "implantisomd5")
    check = subprocess.run(["checkisomd5", str(iso)], capture_output=True, text=True)
    if check.returncode != 0:
        raise InternalError(f"checkisomd5 rejected the freshly built {iso.name}: {check.stdout.strip()}")


# --- small helpers ----------------------------------------------------------------------------

def _run(cmd: list[str], what: str, env: dict[str, str] | None = None) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        raise MediaError(f"building stand-in media: {what} failed ({proc.returncode}): {detail[0]}")


def _tree_files(root: Path) -> list[Path]:
    if not root.is_dir():
        return []
    return sorted(p for p in root.rglob("*")
                  if (p.is_file() or p.is_symlink()) and "__pycache__" not in p.parts)


def _mode_class(path: Path) -> str:
    if path.is_symlink():
        return "l"
    return "x" if path.stat().st_mode & 0o111 else "f"


def _file_digest(path: Path) -> bytes:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.digest()
