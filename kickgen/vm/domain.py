"""Domain XML for the two phases of a boot test, rendered from the templates in kickgen/vm/xml/.

Pure text: no libvirt calls here (harness.py defines and runs what this renders).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import jinja2

from kickgen.core.errors import InternalError, TemplateError
from kickgen.core.resources import package_dir

DOMAIN_TEMPLATES = package_dir("kickgen.vm", "xml")
OVMF_CODE = "/usr/share/OVMF/OVMF_CODE.fd"
OVMF_VARS = "/usr/share/OVMF/OVMF_VARS.fd"
NVRAM_DIR = "/var/lib/libvirt/qemu/nvram"
FIRMWARES = ("bios", "uefi")
MEDIA = ("cd", "usb")
PHASES = ("install", "boot")


@dataclass(frozen=True)
class DomainSpec:
    """Everything a domain template needs; one per phase (only phase and serial_log differ)."""

    name: str
    uuid: str                  # fixed per run: both phases define the same domain
    profile: str
    phase: str                 # install | boot
    domain_type: str           # qemu (TCG) | kvm
    firmware: str              # bios | uefi
    medium: str                # cd | usb: how the ISO is attached while installing
    iso: str                   # path of the ISO on the libvirt host
    pool: str
    volume: str
    serial_log: str            # path of the serial log (on the libvirt host when serial == "file")
    memory_mb: int = 1024
    vcpus: int = 1
    network: str | None = None
    iso_volume: str | None = None   # remote hosts: the ISO uploaded as a volume of `pool`
    serial: str = "file"       # file: qemu writes serial_log; pty: kickgen reads a console stream
    disk_bus: str = "ide"      # what both EL6 and the stand-in kernel drive without extra modules
    ovmf_code: str = OVMF_CODE
    ovmf_vars: str = OVMF_VARS
    # Blank volumes of `pool` attached besides the target disk (virtio: vdb, vdc, ...), so a test
    # can show what the installer does to disks it was not meant to touch.
    extra_volumes: tuple[str, ...] = ()
    # The install medium stays attached and first in the boot order for the first boot too (the
    # reinstall-loop test); else the boot phase has the disk alone. medium_ejected: the guest
    # opened the CD tray while installing, so the drive is empty at the first boot (a virtual
    # drive closes its tray at a reset; a real one keeps the disc out).
    keep_medium: bool = False
    medium_ejected: bool = False
    medium_readonly: bool = True   # False: a writable stick, to show the install leaves it unchanged

    @property
    def extra_targets(self) -> tuple[str, ...]:
        return tuple(f"vd{chr(ord('b') + i)}" for i in range(len(self.extra_volumes)))

    @property
    def medium_target(self) -> str:
        return "hdc" if self.medium == "cd" else "sdb"

    @property
    def disk_target(self) -> str:
        return {"ide": "hda", "sata": "sda", "virtio": "vda"}[self.disk_bus]

    @property
    def nvram_path(self) -> str:
        return f"{NVRAM_DIR}/{self.name}_VARS.fd"

    def for_phase(self, phase: str, serial_log: str) -> DomainSpec:
        return replace(self, phase=phase, serial_log=serial_log)


_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(str(DOMAIN_TEMPLATES)),
    undefined=jinja2.StrictUndefined,
    autoescape=True,            # profile names and paths land in XML attributes
    keep_trailing_newline=True,
)


def render_domain_xml(spec: DomainSpec) -> str:
    """The domain XML for SPEC.phase (kickgen/vm/xml/<phase>.xml.j2)."""
    for field, allowed in (("phase", PHASES), ("firmware", FIRMWARES), ("medium", MEDIA),
                           ("domain_type", ("qemu", "kvm")), ("serial", ("file", "pty"))):
        if getattr(spec, field) not in allowed:
            raise InternalError(f"DomainSpec.{field}={getattr(spec, field)!r}, expected one of {allowed}")
    template_name = f"{spec.phase}.xml.j2"
    try:
        return _env.get_template(template_name).render(spec=spec)
    except jinja2.TemplateError as exc:
        line = getattr(exc, "lineno", None)
        where = Path(DOMAIN_TEMPLATES, template_name)
        raise TemplateError(f"{where}{f':{line}' if line else ''}: {exc}") from None
