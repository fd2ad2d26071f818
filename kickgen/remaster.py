"""Stage: base CentOS 6.5 ISO + kickstart -> remastered ISO that boots the kickstart unattended.

`remaster()` reads like the steps it takes:
  check the request -> open the base -> check its layout -> edit the boot menus (isolinux.cfg,
  EFI/BOOT/BOOTX64.conf on the ISO and inside images/efiboot.img) -> add /ks.cfg and extra
  files -> write through pycdlib into a temp file beside OUT -> fix the hybrid MBR/GPT ->
  implant the media MD5 -> rename into place -> write the JSON manifest.
The base image is only read. A failure or interruption leaves neither OUT nor the temp file.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath

from . import bootcfg, fatimage, hybrid, implant
from .errors import EnvironmentProblem, MediaError, UsageError
from .iso import ElToritoEntry, IsoImage

KS_ISO_PATH = "/ks.cfg"
VOLUME_ID_RE = re.compile(r"^[A-Za-z0-9_.\-+]{1,32}$")
Progress = Callable[[str, int, int], None]   # (stage, done, total)


@dataclass(frozen=True)
class ExtraFile:
    src: Path
    dest: str                                # absolute path on the ISO


@dataclass(frozen=True)
class RemasterRequest:
    base: Path
    output: Path
    kickstart: bytes
    profile_name: str
    boot_label: str = "kickstart"
    boot_args: tuple[str, ...] = ("text", "console=tty0", "console=ttyS0,115200n8")
    boot_timeout: int = 5
    boot_default: str = "cd"
    volume_id: str | None = None
    extra_files: tuple[ExtraFile, ...] = ()


@dataclass(frozen=True)
class ChangedEntry:
    config: str                              # e.g. "isolinux/isolinux.cfg", "images/efiboot.img:EFI/BOOT/BOOTX64.conf"
    name: str
    ks: str
    default: bool


@dataclass(frozen=True)
class RemasterResult:
    output: Path
    manifest: Path
    size: int
    seconds: float
    sha256: str
    volume_id: str
    base: Path
    base_sha256: str
    base_volume_id: str
    profile_name: str
    ks_sha256: str
    md5: str
    hybrid: str                              # "none" | "mbr" | "mbr+gpt"
    changed_entries: tuple[ChangedEntry, ...]
    el_torito: tuple[ElToritoEntry, ...]
    configs: dict[str, str] = field(default_factory=dict)   # config path -> edited text


def check_volume_id(volume_id: str, what: str) -> None:
    """A volume ID must work in `ks=hd:LABEL=<id>:/ks.cfg`: no blanks, no colons, <= 32 chars."""
    if not VOLUME_ID_RE.match(volume_id):
        problem = ("is longer than 32 characters" if len(volume_id) > 32 else
                   "contains a space" if " " in volume_id else
                   "contains a colon" if ":" in volume_id else
                   "is empty" if not volume_id else "has characters other than A-Z a-z 0-9 _ . - +")
        raise MediaError(f"{what} {volume_id!r} {problem}; it cannot be used in ks=hd:LABEL=...",
                         hint="set media.volume_id in the profile (or --set media.volume_id=NAME)")


def source_epoch(image: IsoImage) -> int:
    """Timestamps for new records: SOURCE_DATE_EPOCH, else the base image's creation date."""
    value = os.environ.get("SOURCE_DATE_EPOCH")
    if value:
        if not value.isdigit():
            raise UsageError(f"SOURCE_DATE_EPOCH={value!r} is not a whole number of seconds")
        return int(value)
    return image.creation_epoch


def _sha256(path: Path, out: dict | None = None) -> str:
    h = hashlib.sha256()
    with open(path, "rb", buffering=0) as f:
        while chunk := f.read(8 << 20):
            h.update(chunk)
    if out is not None:
        out["sha256"] = h.hexdigest()
    return h.hexdigest()


def _check_request(req: RemasterRequest) -> None:
    if not req.base.is_file():
        raise UsageError(f"base image {req.base} does not exist or is not a file")
    out = req.output
    if out.resolve() == req.base.resolve() or (out.exists() and os.path.samefile(out, req.base)):
        raise UsageError(f"output {out} is the base image; kickgen never modifies its input",
                         hint="give -o a new file name")
    if not out.parent.is_dir():
        raise UsageError(f"output folder {out.parent} does not exist")
    if out.is_dir():
        raise UsageError(f"output {out} is a folder; give a file name ending in .iso")
    if req.boot_default not in ("cd", "usb"):
        raise UsageError(f"boot default must be 'cd' or 'usb', not {req.boot_default!r}")
    for extra in req.extra_files:
        if not extra.src.is_file():
            raise UsageError(f"--add {extra.src}:{extra.dest}: {extra.src} is not a file")
        if not extra.dest.startswith("/") or extra.dest.endswith("/"):
            raise UsageError(f"--add {extra.src}:{extra.dest}: the ISO path must be absolute, e.g. /extras/x.rpm")


def _check_space(req: RemasterRequest) -> None:
    need = req.base.stat().st_size + sum(e.src.stat().st_size for e in req.extra_files) + (64 << 20)
    free = shutil.disk_usage(req.output.parent).free
    if free < need:
        raise EnvironmentProblem(
            f"not enough free space in {req.output.parent}: {need // (1 << 20)} MiB needed, "
            f"{free // (1 << 20)} MiB free")


@dataclass(frozen=True)
class _Layout:
    isolinux_cfg: str
    efi_conf: str | None                     # EFI/BOOT/BOOTX64.conf on the ISO
    efi_image: str | None                    # images/efiboot.img (El Torito UEFI image)
    efi_image_conf: str | None               # path of BOOTX64.conf inside the FAT image


def _find_layout(image: IsoImage) -> _Layout:
    entries = image.eltorito()
    if not entries:
        raise MediaError(f"{image.path}: no El Torito boot record; this is not bootable install media")
    bios = next((e for e in entries if e.platform == "BIOS"), None)
    if bios is None or bios.path is None:
        raise MediaError(f"{image.path}: no BIOS El Torito entry (isolinux/isolinux.bin) found")
    isolinux_cfg = str(PurePosixPath(bios.path).parent / "isolinux.cfg")
    if not image.exists(isolinux_cfg):
        raise MediaError(f"{image.path}: no {isolinux_cfg.lstrip('/')} next to the BIOS boot image "
                         f"{bios.path.lstrip('/')}")
    efi_conf = "/EFI/BOOT/BOOTX64.conf" if image.exists("/EFI/BOOT/BOOTX64.conf") else None
    uefi = next((e for e in entries if e.platform == "UEFI"), None)
    efi_image = efi_image_conf = None
    if uefi is not None:
        if uefi.path is None:
            raise MediaError(f"{image.path}: the UEFI El Torito entry points at no file on the image")
        efi_image = uefi.path
        if efi_conf is None:
            raise MediaError(f"{image.path}: unexpected layout: a UEFI boot entry ({efi_image.lstrip('/')}) "
                             "but no EFI/BOOT/BOOTX64.conf on the image")
    return _Layout(isolinux_cfg, efi_conf, efi_image, "EFI/BOOT/BOOTX64.conf" if efi_image else None)


def _changed(config: str, text: str) -> list[ChangedEntry]:
    """The entries of an edited config that carry a ks= argument (for the manifest)."""
    parse = bootcfg.isolinux_entries if config.endswith("isolinux.cfg") else bootcfg.grub_legacy_entries
    return [ChangedEntry(config, e.name, e.ks or "", e.default) for e in parse(text) if e.ks]


def remaster(req: RemasterRequest, progress: Progress | None = None) -> RemasterResult:
    """Write the remastered image `req.output` and its manifest `<output>.json`."""
    started = time.monotonic()
    step = progress or (lambda stage, done, total: None)
    _check_request(req)
    base_hash: dict[str, str] = {}
    with IsoImage(req.base) as image:
        layout = _find_layout(image)
        base = _BaseFacts.of(image, req.base)
        volume_id = _volume_id(req, base.volume_id)
        _check_space(req)
        hasher = threading.Thread(target=_sha256, args=(req.base, base_hash), daemon=True)
        hasher.start()                       # the base's sha256, on the other core meanwhile
        epoch = base.epoch
        edit = bootcfg.BootEdit(label=req.boot_label, args=req.boot_args, volume_id=volume_id,
                                timeout_s=req.boot_timeout, default=req.boot_default)
        configs = _edit_menus(image, layout, edit)
        configs.update(_edit_efi_image(image, layout, edit, req, epoch))
        _add_files(image, req, epoch)
        if volume_id != base.volume_id:
            image.set_volume_id(volume_id)
        written = _write(req, image, base, step)
    hasher.join()
    changed = [entry for config, text in configs.items() for entry in _changed(config, text)]
    result = RemasterResult(
        output=req.output, manifest=req.output.with_name(req.output.name + ".json"),
        size=req.output.stat().st_size, seconds=round(time.monotonic() - started, 3),
        sha256=written.sha256, volume_id=volume_id, base=req.base,
        base_sha256=base_hash.get("sha256") or _sha256(req.base), base_volume_id=base.volume_id,
        profile_name=req.profile_name, ks_sha256=hashlib.sha256(req.kickstart).hexdigest(),
        md5=written.md5, hybrid=written.hybrid, changed_entries=tuple(changed),
        el_torito=tuple(written.el_torito), configs=configs)
    _write_manifest(result)
    return result


@dataclass(frozen=True)
class _BaseFacts:
    """Where things are in the base, taken before any edit (pycdlib re-lays out on reads)."""

    volume_id: str
    data_end: int
    boot_images: dict[int, tuple[int, int]]  # id(El Torito entry) -> (LBA, size)
    md5_supported: bool
    epoch: int                               # timestamps of new records and dates

    @classmethod
    def of(cls, image: IsoImage, path: Path) -> _BaseFacts:
        return cls(volume_id=image.volume_id, data_end=image.data_end(),
                   boot_images={id(h): (lba, size) for h, lba, size in image.boot_image_lbas()},
                   md5_supported=implant.read_implanted(path).supported, epoch=source_epoch(image))


@dataclass(frozen=True)
class _Written:
    md5: str
    sha256: str
    hybrid: str
    el_torito: list[ElToritoEntry]


def _volume_id(req: RemasterRequest, base_volume_id: str) -> str:
    if req.volume_id:
        check_volume_id(req.volume_id, "volume ID")
        return req.volume_id
    check_volume_id(base_volume_id, f"{req.base.name}: volume ID")
    return base_volume_id


def _edit_menus(image: IsoImage, layout: _Layout, edit: bootcfg.BootEdit) -> dict[str, str]:
    """isolinux.cfg and the ISO's BOOTX64.conf, edited and put back; returns path -> new text."""
    configs: dict[str, str] = {}
    for path, editor in ((layout.isolinux_cfg, bootcfg.edit_isolinux),
                         (layout.efi_conf, bootcfg.edit_grub_legacy)):
        if path is None:
            continue
        text = image.read(path).decode("utf-8", "surrogateescape")
        configs[path.lstrip("/")] = editor(text, edit, source=path.lstrip("/"))
        image.replace(path, configs[path.lstrip("/")].encode("utf-8", "surrogateescape"))
    return configs


def _edit_efi_image(image: IsoImage, layout: _Layout, edit: bootcfg.BootEdit, req: RemasterRequest,
                    epoch: int) -> dict[str, str]:
    """BOOTX64.conf inside images/efiboot.img (the copy UEFI firmware boots with)."""
    if not (layout.efi_image and layout.efi_image_conf):
        return {}
    inner = f"{layout.efi_image.lstrip('/')}:{layout.efi_image_conf}"
    # An unnamed temp file (O_TMPFILE): even a killed run leaves nothing behind.
    with tempfile.TemporaryFile(dir=req.output.parent) as work:
        work.write(image.read(layout.efi_image))
        work.flush()
        fat = _fd_path(work.fileno())
        if not fatimage.has_file(fat, layout.efi_image_conf):
            raise MediaError(f"{req.base}: unexpected layout: {layout.efi_image.lstrip('/')} "
                             f"holds no {layout.efi_image_conf}")
        text = fatimage.read_file(fat, layout.efi_image_conf).decode("utf-8", "surrogateescape")
        new = bootcfg.edit_grub_legacy(text, edit, source=inner)
        fatimage.replace_file(fat, layout.efi_image_conf, new.encode("utf-8", "surrogateescape"),
                              epoch=epoch)
        work.seek(0)
        image.replace(layout.efi_image, work.read())
    return {inner: new}


def _add_files(image: IsoImage, req: RemasterRequest, epoch: int) -> None:
    """/ks.cfg and the extra files: replaced where the path exists, else added."""
    for dest, data in [(KS_ISO_PATH, req.kickstart),
                       *[(e.dest, e.src.read_bytes()) for e in req.extra_files]]:
        if image.exists(dest):
            image.replace(dest, data)
        else:
            image.add(dest, data, epoch=epoch)


def _write(req: RemasterRequest, image: IsoImage, base: _BaseFacts, progress: Progress) -> _Written:
    """pycdlib output -> hybrid records -> MD5 -> sha256, in an unnamed file renamed to OUT."""
    fd, named = _open_unnamed(req.output)
    old_handlers = _trap_signals()
    published = None
    try:
        try:
            volume_bytes = image.write(fd, lambda done, total: progress("write", done, total),
                                       epoch=base.epoch)
            moves = [hybrid.Move(base.boot_images[id(h)][0], lba, base.boot_images[id(h)][1])
                     for h, lba, _ in image.boot_image_lbas()]
            plan = hybrid.plan_system_area(req.base, base.data_end, image_base_volume(req.base),
                                           image.data_end(), volume_bytes, moves)
            os.ftruncate(fd, volume_bytes)      # drop anything beyond the volume, then
            os.ftruncate(fd, plan.total_size)   # grow with zeros to the hybrid size
            if plan.volume_size != volume_bytes:
                hybrid.set_volume_size(fd, plan.volume_size)
            for offset, data in plan.writes:
                os.pwrite(fd, data, offset)
            progress("md5", 0, 1)
            md5 = implant.implant(named or _fd_path(fd), supported=base.md5_supported)
            progress("md5", 1, 1)
            progress("sha256", 0, 1)
            sha = _sha256(named or Path(f"/proc/self/fd/{fd}"))
            progress("sha256", 1, 1)
            el_torito = image.eltorito()
            os.fchmod(fd, 0o644)
            if named is None:
                # give the unnamed file a name beside OUT, then rename it over OUT
                published = req.output.with_name(f".{req.output.name}.{os.getpid()}.kickgen-tmp")
                published.unlink(missing_ok=True)
                folder = os.open(req.output.parent, os.O_RDONLY | os.O_DIRECTORY)
                try:  # linkat(AT_SYMLINK_FOLLOW) on /proc/self/fd/N: the way to name an O_TMPFILE
                    os.link(f"/proc/self/fd/{fd}", published.name, dst_dir_fd=folder, follow_symlinks=True)
                finally:
                    os.close(folder)
            else:
                published = named
        finally:
            os.close(fd)
        os.replace(published, req.output)
        return _Written(md5, sha, plan.kind, el_torito)
    except BaseException:
        for leftover in (named, published):
            if leftover is not None:
                leftover.unlink(missing_ok=True)
        raise
    finally:
        _restore_signals(old_handlers)


def _fd_path(fd: int) -> Path:
    """A path other processes (implantisomd5, mtools) can open to reach our open file `fd`."""
    return Path(f"/proc/{os.getpid()}/fd/{fd}")


def _open_unnamed(output: Path) -> tuple[int, Path | None]:
    """(fd, None) for an unnamed file in OUT's folder; (fd, path) where O_TMPFILE is unsupported."""
    try:
        return os.open(output.parent, os.O_TMPFILE | os.O_RDWR, 0o600), None
    except (OSError, AttributeError):
        fd, name = tempfile.mkstemp(prefix=f".{output.name}.", suffix=".kickgen-tmp", dir=output.parent)
        return fd, Path(name)


def image_base_volume(path: Path) -> int:
    """The ISO volume size (PVD) of a file, in bytes."""
    with open(path, "rb") as f:
        f.seek(implant.VOLUME_SIZE_OFFSET)
        return int.from_bytes(f.read(4), "little") * implant.SECTOR


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def _trap_signals() -> dict[int, object]:
    """SIGTERM/SIGHUP unwind like Ctrl-C so the temp file is removed (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    old = {}
    for sig in (signal.SIGTERM, signal.SIGHUP):
        old[sig] = signal.signal(sig, _raise_interrupt)
    return old


def _restore_signals(old: dict[int, object]) -> None:
    for sig, handler in old.items():
        signal.signal(sig, handler)  # type: ignore[arg-type]


def _write_manifest(result: RemasterResult) -> None:
    doc = {
        "output": str(result.output), "output_sha256": result.sha256, "size": result.size,
        "volume_id": result.volume_id, "profile": result.profile_name,
        "kickstart_sha256": result.ks_sha256,
        "base": {"path": str(result.base), "sha256": result.base_sha256, "volume_id": result.base_volume_id},
        "media_md5": result.md5, "hybrid": result.hybrid,
        "boot_entries_changed": [asdict(e) for e in result.changed_entries],
        "el_torito": [asdict(e) for e in result.el_torito],
    }
    fd, tmp = tempfile.mkstemp(prefix=f".{result.manifest.name}.", dir=result.manifest.parent)
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(doc, f, indent=2, sort_keys=True)
            f.write("\n")
        os.chmod(tmp, 0o644)
        os.replace(tmp, result.manifest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
