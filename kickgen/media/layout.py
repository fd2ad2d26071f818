"""Where an install ISO keeps its boot menus: the one discovery that remaster and inspect share.

EL6 media boot BIOS machines through ISOLINUX (the El Torito BIOS image, with isolinux.cfg
beside it) and UEFI machines through grub-legacy's EFI/BOOT/BOOTX64.conf, which exists twice:
on the ISO and inside the FAT image the UEFI El Torito entry points at (images/efiboot.img).
`find_boot_layout` says what an image has; `BootLayout.problems` says what a remaster would
miss (inspect reports what there is, the remaster refuses an incomplete layout).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from kickgen.core.errors import MediaError
from kickgen.media import fatimage
from kickgen.media.iso import IsoImage

EFI_CONF = "EFI/BOOT/BOOTX64.conf"         # grub-legacy's menu: on the ISO and in the FAT image
ISOLINUX_CFG = "isolinux.cfg"              # next to the BIOS boot image


@dataclass(frozen=True)
class BootLayout:
    """Paths are absolute ISO paths; None where the image has no such thing."""

    isolinux_cfg: str | None
    efi_conf: str | None                   # /EFI/BOOT/BOOTX64.conf on the ISO
    efi_image: str | None                  # the UEFI El Torito image (images/efiboot.img)
    problems: tuple[str, ...] = ()         # why this layout cannot be remastered (first = worst)

    @property
    def efi_image_conf(self) -> str | None:
        """The menu inside the FAT image (whether it is there: `has_efi_image_conf`)."""
        return EFI_CONF if self.efi_image else None

    def require_complete(self) -> BootLayout:
        if self.problems:
            raise MediaError(self.problems[0])
        return self


def find_boot_layout(image: IsoImage) -> BootLayout:
    where = image.path
    entries = image.eltorito()
    problems: list[str] = []
    if not entries:
        problems.append(f"{where}: no El Torito boot record; this is not bootable install media")
    bios = next((e for e in entries if e.platform == "BIOS"), None)
    isolinux_cfg = None
    if entries and (bios is None or bios.path is None):
        problems.append(f"{where}: no BIOS El Torito entry (isolinux/isolinux.bin) found")
    elif bios is not None and bios.path is not None:
        candidate = str(PurePosixPath(bios.path).parent / ISOLINUX_CFG)
        if image.exists(candidate):
            isolinux_cfg = candidate
        else:
            problems.append(f"{where}: no {candidate.lstrip('/')} next to the BIOS boot image "
                            f"{bios.path.lstrip('/')}")
    efi_conf = f"/{EFI_CONF}" if image.exists(f"/{EFI_CONF}") else None
    uefi = next((e for e in entries if e.platform == "UEFI"), None)
    efi_image = None
    if uefi is not None:
        if uefi.path is None:
            problems.append(f"{where}: the UEFI El Torito entry points at no file on the image")
        else:
            efi_image = uefi.path
            if efi_conf is None:
                problems.append(f"{where}: unexpected layout: a UEFI boot entry "
                                f"({efi_image.lstrip('/')}) but no {EFI_CONF} on the image")
    return BootLayout(isolinux_cfg, efi_conf, efi_image, tuple(problems))


@contextmanager
def efi_image_file(image: IsoImage, layout: BootLayout, folder: Path | None = None) -> Iterator[Path]:
    """The layout's FAT image as a file mtools can open and change: an unnamed temp file (in
    `folder`) reached through /proc, so even a killed run leaves nothing behind. Read it back
    with `read_bytes()` on the yielded path."""
    if layout.efi_image is None:
        raise MediaError(f"{image.path}: no UEFI boot image")
    with tempfile.TemporaryFile(dir=folder) as work:
        work.write(image.read(layout.efi_image))
        work.flush()
        yield Path(f"/proc/{os.getpid()}/fd/{work.fileno()}")


def has_efi_image_conf(fat: Path) -> bool:
    return fatimage.has_file(fat, EFI_CONF)
