"""`kickgen inspect`: what an install ISO holds for booting, as data.

Volume ID, El Torito entries, hybrid (MBR/GPT) status, every boot menu entry with its ks=
and repo= arguments (isolinux.cfg, EFI/BOOT/BOOTX64.conf on the ISO and inside the FAT image), the
kickstart at /ks.cfg and whether the implanted media MD5 matches.
"""

from __future__ import annotations

import hashlib
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from kickgen.core.el6 import KS_PATH
from kickgen.core.errors import MediaError
from kickgen.core.outputs import is_disk_error, write_problem
from kickgen.media import bootcfg, fatimage, hybrid, implant
from kickgen.media.hybrid import Partition
from kickgen.media.iso import ElToritoEntry, IsoImage
from kickgen.media.layout import efi_image_file, find_boot_layout, has_efi_image_conf


@dataclass(frozen=True)
class MenuEntry:
    config: str
    name: str
    kernel: str
    ks: str | None
    repo: str | None    # install source on the kernel line (repo= or method=)
    default: bool


@dataclass(frozen=True)
class ImageInfo:
    path: str
    size: int
    volume_id: str
    volume_bytes: int
    el_torito: tuple[ElToritoEntry, ...]
    boot_catalog: str | None
    hybrid: str                          # "none" | "mbr" | "mbr+gpt"
    partitions: tuple[Partition, ...]
    entries: tuple[MenuEntry, ...]
    kickstart_sha256: str | None
    md5_implanted: str | None
    md5_computed: str
    md5_matches: bool

    def as_json(self) -> dict:
        return asdict(self)


def inspect_image(path: Path) -> ImageInfo:
    path = Path(path)
    if not path.is_file():
        raise MediaError(f"{path}: no such file")
    with IsoImage(path) as image:
        el_torito = image.eltorito()
        entries: list[MenuEntry] = []
        layout = find_boot_layout(image)          # inspect reports what is there, complete or not
        configs: list[tuple[str, str, str]] = []   # (label, kind, text)
        if layout.isolinux_cfg is not None:
            configs.append((layout.isolinux_cfg.lstrip("/"), "isolinux",
                            image.read(layout.isolinux_cfg).decode("utf-8", "replace")))
        if layout.efi_conf is not None:
            configs.append((layout.efi_conf.lstrip("/"), "grub",
                            image.read(layout.efi_conf).decode("utf-8", "replace")))
        if layout.efi_image is not None and layout.efi_image_conf is not None:
            try:
                with efi_image_file(image, layout) as fat:
                    if has_efi_image_conf(fat):
                        configs.append((f"{layout.efi_image.lstrip('/')}:{layout.efi_image_conf}", "grub",
                                        fatimage.read_file(fat, layout.efi_image_conf).decode("utf-8", "replace")))
            except OSError as exc:     # the temp copy mtools reads, in the temp folder
                if not is_disk_error(exc):
                    raise
                work = Path(tempfile.gettempdir()) / f"(a temp copy of {layout.efi_image.lstrip('/')})"
                raise write_problem(work, exc) from None
        for label, kind, text in configs:
            parsed = bootcfg.isolinux_entries(text) if kind == "isolinux" else bootcfg.grub_legacy_entries(text)
            entries += [MenuEntry(label, e.name, e.kernel, e.ks, e.repo, e.default) for e in parsed]
        ks_sha = hashlib.sha256(image.read(KS_PATH)).hexdigest() if image.exists(KS_PATH) else None
        info_volume_id, volume_bytes = image.volume_id, image.volume_bytes
        catalog = image.boot_catalog_path()
    with open(path, "rb") as f:
        system_area = f.read(hybrid.SYSTEM_AREA)
    kind = ("none" if not hybrid.is_hybrid(system_area)
            else "mbr+gpt" if hybrid.has_gpt(system_area) else "mbr")
    md5 = implant.check(path)
    return ImageInfo(path=str(path), size=path.stat().st_size, volume_id=info_volume_id,
                     volume_bytes=volume_bytes, el_torito=tuple(el_torito), boot_catalog=catalog,
                     hybrid=kind, partitions=tuple(hybrid.partitions(system_area)), entries=tuple(entries),
                     kickstart_sha256=ks_sha, md5_implanted=md5.implanted, md5_computed=md5.computed,
                     md5_matches=md5.matches)


def format_text(info: ImageInfo) -> str:
    """Human-readable report (the same figures as --json)."""
    lines = [f"image        : {info.path} ({info.size} bytes, volume {info.volume_bytes} bytes)",
             f"volume ID    : {info.volume_id}",
             f"boot catalog : {info.boot_catalog or '-'}"]
    for e in info.el_torito:
        lines.append(f"El Torito {e.number}  : {e.platform:<4} {'bootable' if e.bootable else 'not bootable'}"
                     f" emul={e.emulation} load_size={e.load_size} lba={e.lba} {e.path or '-'}"
                     f"{' boot-info-table' if e.boot_info_table else ''}")
    if not info.el_torito:
        lines.append("El Torito    : none")
    lines.append(f"hybrid       : {info.hybrid}")
    for p in info.partitions:
        lines.append(f"  {p.table} partition {p.number}: type {p.type} start {p.start} sectors {p.sectors}")
    current = None
    for m in info.entries:
        if m.config != current:
            lines.append(f"menu {m.config}:")
            current = m.config
        mark = "*" if m.default else " "
        lines.append(f"  {mark} {m.name}: {m.ks or 'no ks='}{' ' + m.repo if m.repo else ''}")
    lines.append(f"/ks.cfg      : {('sha256 ' + info.kickstart_sha256) if info.kickstart_sha256 else 'absent'}")
    if info.md5_implanted is None:
        lines.append(f"media MD5    : none implanted (computed {info.md5_computed})")
    else:
        lines.append(f"media MD5    : {info.md5_implanted} "
                     f"{'matches' if info.md5_matches else 'DOES NOT MATCH (computed ' + info.md5_computed + ')'}")
    return "\n".join(lines)
