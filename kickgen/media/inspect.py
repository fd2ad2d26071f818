"""`kickgen inspect`: what an install ISO holds for booting, as data.

Volume ID, El Torito entries, hybrid (MBR/GPT) status, every boot menu entry with its ks=
and repo= arguments (isolinux.cfg, EFI/BOOT/BOOTX64.conf on the ISO and inside the FAT image), the
kickstart at /ks.cfg and whether the implanted media MD5 matches.
"""

from __future__ import annotations

import hashlib
import struct
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath

from kickgen.media import bootcfg, fatimage, hybrid, implant
from kickgen.core.errors import MediaError
from kickgen.media.iso import ElToritoEntry, IsoImage


@dataclass(frozen=True)
class Partition:
    table: str          # "MBR" | "GPT"
    number: int
    type: str           # MBR type byte as 0xNN, or GPT type GUID
    start: int          # 512-byte sectors
    sectors: int


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


def _partitions(system_area: bytes) -> list[Partition]:
    out = []
    if not hybrid.is_hybrid(system_area):
        return out
    for i in range(4):
        e = system_area[446 + 16 * i: 462 + 16 * i]
        start, count = struct.unpack_from("<II", e, 8)
        if count:
            out.append(Partition("MBR", i + 1, f"0x{e[4]:02x}", start, count))
    if hybrid.has_gpt(system_area):
        entries_lba, count, esize = struct.unpack_from("<QII", system_area, 512 + 72)
        base = entries_lba * 512
        for i in range(count):
            e = system_area[base + i * esize: base + (i + 1) * esize]
            if len(e) < 48 or e[:16] == bytes(16):
                continue
            first, last = struct.unpack_from("<QQ", e, 32)
            out.append(Partition("GPT", i + 1, e[:16].hex(), first, last - first + 1))
    return out


def inspect_image(path: Path) -> ImageInfo:
    path = Path(path)
    if not path.is_file():
        raise MediaError(f"{path}: no such file")
    with IsoImage(path) as image:
        el_torito = image.eltorito()
        entries: list[MenuEntry] = []
        bios = next((e for e in el_torito if e.platform == "BIOS" and e.path), None)
        configs: list[tuple[str, str, str]] = []   # (label, kind, text)
        if bios is not None:
            cfg = str(PurePosixPath(bios.path).parent / "isolinux.cfg")
            if image.exists(cfg):
                configs.append((cfg.lstrip("/"), "isolinux", image.read(cfg).decode("utf-8", "replace")))
        if image.exists("/EFI/BOOT/BOOTX64.conf"):
            configs.append(("EFI/BOOT/BOOTX64.conf", "grub",
                            image.read("/EFI/BOOT/BOOTX64.conf").decode("utf-8", "replace")))
        uefi = next((e for e in el_torito if e.platform == "UEFI" and e.path), None)
        if uefi is not None:
            with tempfile.TemporaryDirectory(prefix="kickgen-inspect-") as tmp:
                fat = Path(tmp) / "efiboot.img"
                fat.write_bytes(image.read(uefi.path))
                inner = "EFI/BOOT/BOOTX64.conf"
                if fatimage.has_file(fat, inner):
                    configs.append((f"{uefi.path.lstrip('/')}:{inner}", "grub",
                                    fatimage.read_file(fat, inner).decode("utf-8", "replace")))
        for label, kind, text in configs:
            parsed = bootcfg.isolinux_entries(text) if kind == "isolinux" else bootcfg.grub_legacy_entries(text)
            entries += [MenuEntry(label, e.name, e.kernel, e.ks, e.repo, e.default) for e in parsed]
        ks_sha = hashlib.sha256(image.read("/ks.cfg")).hexdigest() if image.exists("/ks.cfg") else None
        info_volume_id, volume_bytes = image.volume_id, image.volume_bytes
        catalog = image.boot_catalog_path()
    with open(path, "rb") as f:
        system_area = f.read(hybrid.SYSTEM_AREA)
    kind = ("none" if not hybrid.is_hybrid(system_area)
            else "mbr+gpt" if hybrid.has_gpt(system_area) else "mbr")
    md5 = implant.check(path)
    return ImageInfo(path=str(path), size=path.stat().st_size, volume_id=info_volume_id,
                     volume_bytes=volume_bytes, el_torito=tuple(el_torito), boot_catalog=catalog,
                     hybrid=kind, partitions=tuple(_partitions(system_area)), entries=tuple(entries),
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
