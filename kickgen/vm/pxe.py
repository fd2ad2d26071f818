"""The PXE machine of a network boot test: no install medium, its own blank disk, and a NIC on
QEMU user-mode networking whose built-in DHCP and TFTP servers (slirp) boot it from a netboot
tree (kickgen netboot's tftp/ folder). Pure text and files: no libvirt calls here (harness.py
runs it; host.py makes the libvirt calls).

libvirt's `<interface type='user'>` has no TFTP root or boot file, so the NIC is given to qemu
directly (`<qemu:commandline>`, which libvirt marks as a "custom-argv" taint in the domain log):

    -netdev user,id=kgpxe0,net=10.0.2.0/24,host=10.0.2.2,dhcpstart=<the host's address>,
            hostname=<host name>,tftp=<staged TFTP root>,bootfile=<pxelinux.0 | EFI/BOOT/BOOTX64.efi>,
            restrict=off
    -device e1000,netdev=kgpxe0,mac=<the host's MAC>,bus=pci.0,addr=0x1e,bootindex=1
    -object filter-dump,id=kgpxe0-dump,netdev=kgpxe0,file=<capture>,maxlen=64

- The guest gets one address from slirp's DHCP, the first of its pool (`dhcpstart`): the host's
  fixed address from the inventory (the one its kickstart's static network line names), or
  10.0.2.15. (EL6's grub.efi looks for a config named by the client's address in hex after the
  one named by its MAC, so that name is right too.)
- slirp's DHCP names one boot file for every client (no architecture option), so the machine's
  firmware picks it: pxelinux.0 for SeaBIOS, the ISO's grub for OVMF.
- The option ROM is qemu's default for an e1000, iPXE's (efi-e1000.rom from ipxe-qemu: a legacy
  PXE ROM and an EFI driver in one). On OVMF the iPXE EFI driver does DHCP and TFTP itself and
  gives the loaded grub the EFI PXE base code protocol; OVMF's own network stack is switched off
  (fw_cfg IPv4Support/IPv6Support=no), else OVMF first tries HTTP boot over the NIC and waits
  a minute for an answer no one sends.
- The guest reaches the host's loopback as 10.0.2.2 (slirp's gateway): kickgen serve on
  127.0.0.1:PORT is http://10.0.2.2:PORT to it. restrict=off, because restrict=on refuses the
  guest's connections to 10.0.2.2 too (DHCP and TFTP still work, the kickstart download does
  not), and its one way back in (guestfwd=) is either one character device (one TCP stream for
  all connections, not reconnected) or a command run per connection, which libvirt's seccomp
  sandbox for qemu forbids (-sandbox ...,spawn=deny).
  What the guest sent is checked instead: `filter-dump` writes every frame's first 64 bytes
  (the headers) to a pcap file, and `confinement()` asserts that everything the guest sent
  went to the install server (DHCP, TFTP, the server's port on 10.0.2.2) and nowhere else.
- qemu runs as libvirt's DAC user (libvirt-qemu) and opens the TFTP files and the capture
  itself, so both live in a staging folder under the system's temp folder, readable by all
  (a copy of the tree's tftp/: the artefacts folder is often private) and with capture files
  created beforehand for qemu's user (`stage()`).
- The install phase boots the NIC first (bootindex=1, the disk second); the boot phase keeps the
  same NIC (same MAC and network: the installed system posts its report to the server) without
  an option ROM (romfile=), so it can only boot its disk, as after a one-time network boot.
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import stat
import struct
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import jinja2

from kickgen.core.errors import EnvironmentProblem, InternalError, TemplateError, UsageError
from kickgen.vm.domain import DOMAIN_TEMPLATES, FIRMWARES, DomainSpec
from kickgen.vm.host import is_local
from kickgen.vm.verdict import Assertion

SLIRP_NET = "10.0.2.0/24"
SLIRP_HOST = "10.0.2.2"           # the gateway; the host's 127.0.0.1 as the guest sees it
SLIRP_DNS = "10.0.2.3"
DEFAULT_ADDRESS = "10.0.2.15"     # slirp's first DHCP address unless the host has its own
BOOTFILES = {"bios": "pxelinux.0", "uefi": "EFI/BOOT/BOOTX64.efi"}
NETDEV_ID = "kgpxe0"
NIC_SLOT = "0x1e"                 # a PCI slot libvirt does not hand out to the devices it places
CAPTURE_BYTES = 64                # per frame: Ethernet + IPv6 + the ports, not the payload
# OVMF's own IPv4/IPv6 stacks off (edk2 OvmfPkg/RUNTIME_CONFIG.md): iPXE's EFI driver boots the NIC
OVMF_NETWORK_OFF = ("opt/org.tianocore/IPv4Support", "opt/org.tianocore/IPv6Support")
PHASE_FILES = ("install", "boot")


@dataclass(frozen=True)
class PxeNic:
    """The NIC of a PXE machine and its slirp network."""

    mac: str                      # 52:54:00:..., lower case
    tftp_root: str                # the staged TFTP root on the libvirt host (qemu reads it)
    bootfile: str                 # relative to tftp_root
    address: str = DEFAULT_ADDRESS
    hostname: str | None = None   # slirp's DHCP hands it out (option 12)
    capture: str | None = None    # the pcap file qemu writes (created beforehand for qemu's user)
    boot_first: bool = True       # install phase: bootindex=1; boot phase: no option ROM at all


@dataclass(frozen=True)
class PxeDomainSpec(DomainSpec):
    """A DomainSpec whose machine boots from the network (medium 'pxe', no ISO)."""

    nic: PxeNic | None = None

    @property
    def medium_target(self) -> str:
        return ""


def check_request(firmware: str, connect: str) -> None:
    """What a PXE boot test needs before any work: a known firmware and libvirt on this machine."""
    if firmware not in FIRMWARES:
        raise UsageError(f"--firmware {firmware}: expected one of {', '.join(FIRMWARES)}")
    if not is_local(connect):
        raise UsageError(f"--pxe needs libvirt on this machine, not {connect}: qemu reads the TFTP folder "
                         "and reaches the install server on this machine's loopback",
                         hint="leave out --connect (qemu:///system)")


def _opt(value: str) -> str:
    """A value inside a qemu -netdev/-device/-object option list: commas are doubled."""
    return value.replace(",", ",,")


def qemu_args(spec: PxeDomainSpec) -> tuple[str, ...]:
    """The qemu arguments that give SPEC's machine its NIC (see the module docstring)."""
    nic = spec.nic
    if nic is None:
        raise InternalError("PxeDomainSpec.nic is None")
    netdev = [f"user,id={NETDEV_ID}", f"net={SLIRP_NET}", f"host={SLIRP_HOST}", f"dhcpstart={nic.address}",
              f"tftp={_opt(nic.tftp_root)}", f"bootfile={_opt(nic.bootfile)}", "restrict=off"]
    if nic.hostname:
        netdev.insert(4, f"hostname={_opt(nic.hostname)}")
    device = [f"e1000,netdev={NETDEV_ID}", f"mac={nic.mac}", "bus=pci.0", f"addr={NIC_SLOT}"]
    device.append("bootindex=1" if nic.boot_first else "romfile=")
    args = ["-netdev", ",".join(netdev), "-device", ",".join(device)]
    if nic.capture:
        args += ["-object", f"filter-dump,id={NETDEV_ID}-dump,netdev={NETDEV_ID},file={_opt(nic.capture)},"
                            f"maxlen={CAPTURE_BYTES}"]
    if spec.firmware == "uefi":
        for knob in OVMF_NETWORK_OFF:
            args += ["-fw_cfg", f"name={knob},string=no"]
    return tuple(args)


_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(str(DOMAIN_TEMPLATES)),
    undefined=jinja2.StrictUndefined,
    autoescape=True,
    keep_trailing_newline=True,
)


def render_pxe_xml(spec: PxeDomainSpec) -> str:
    """The domain XML for SPEC.phase (kickgen/vm/xml/pxe-<phase>.xml.j2)."""
    for field, allowed in (("phase", PHASE_FILES), ("firmware", FIRMWARES), ("medium", ("pxe",)),
                           ("domain_type", ("qemu", "kvm")), ("serial", ("file",))):
        if getattr(spec, field) not in allowed:
            raise InternalError(f"PxeDomainSpec.{field}={getattr(spec, field)!r}, expected one of {allowed}")
    if spec.keep_medium or spec.iso_volume:
        raise InternalError("a PXE machine has no install medium")
    template_name = f"pxe-{spec.phase}.xml.j2"
    try:
        return _env.get_template(template_name).render(spec=spec, qemu_args=qemu_args(spec))
    except jinja2.TemplateError as exc:
        line = getattr(exc, "lineno", None)
        where = Path(DOMAIN_TEMPLATES, template_name)
        raise TemplateError(f"{where}{f':{line}' if line else ''}: {exc}") from None


# --- the staging folder qemu reads and writes ------------------------------------------------

@dataclass(frozen=True)
class Staging:
    """A run's folder for qemu: the TFTP root (a copy) and the capture files, one per phase."""

    path: Path
    tftp_root: Path
    captures: dict[str, Path]

    def collect(self, artifacts: Path) -> dict[str, Path]:
        """Move the captures qemu wrote into ARTIFACTS (<phase>-network.pcap); returns them."""
        kept = {}
        for phase, capture in self.captures.items():
            if capture.is_file() and capture.stat().st_size:
                target = artifacts / f"{phase}-network.pcap"
                shutil.copyfile(capture, target)
                kept[phase] = target
        return kept

    def remove(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


def stage(tftp_dir: Path, run: str, owner: tuple[int, int] | None) -> Staging:
    """Copy TFTP_DIR into a new folder under the temp folder that qemu (user OWNER, as libvirt's
    DAC label says; None: it runs as us) can read, with an empty capture file per phase it can
    write. Never changes the permissions of the user's files."""
    tftp_dir = Path(tftp_dir)
    if not tftp_dir.is_dir():
        raise UsageError(f"{tftp_dir}: no such TFTP folder")
    try:
        root = Path(tempfile.mkdtemp(prefix=f"{run}-", dir=staging_parent()))
    except OSError as exc:
        raise EnvironmentProblem(f"cannot make a staging folder for qemu: {exc.strerror}") from None
    try:
        root.chmod(0o755)
        tftp = root / "tftp"
        shutil.copytree(tftp_dir, tftp, symlinks=True)
        for folder, dirs, files in os.walk(tftp):
            for name in dirs:
                if not (Path(folder) / name).is_symlink():
                    (Path(folder) / name).chmod(0o755)
            for name in files:
                path = Path(folder) / name
                if not path.is_symlink():
                    path.chmod(0o644)
        captures = {}
        for phase in PHASE_FILES:
            capture = root / f"{phase}-network.pcap"
            capture.touch(mode=0o600)
            _hand_over(capture, owner)
            captures[phase] = capture
        return Staging(root, tftp, captures)
    except OSError as exc:
        shutil.rmtree(root, ignore_errors=True)
        raise EnvironmentProblem(f"cannot stage the TFTP folder for qemu in {root}: {exc.strerror or exc}") from None
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise


def staging_parent() -> Path:
    """Where staging folders go: the temp folder ($TMPDIR), or /tmp when other users (qemu's)
    cannot pass through that one."""
    chosen = Path(tempfile.gettempdir())
    return chosen if _searchable(chosen) else Path("/tmp")


def _searchable(folder: Path) -> bool:
    """Can every user pass through FOLDER and the folders above it?"""
    try:
        return all(p.stat().st_mode & stat.S_IXOTH for p in (folder, *folder.parents))
    except OSError:
        return False


def _hand_over(path: Path, owner: tuple[int, int] | None) -> None:
    """Let qemu's user write PATH: chown it (root), else make it writable by all (in a folder
    only we can write to, so nobody can put anything else in its place)."""
    if owner is None or owner == (os.getuid(), os.getgid()):
        return
    try:
        os.chown(path, *owner)
    except PermissionError:
        path.chmod(0o666)


# --- what the guest sent: the capture read back -------------------------------------------------

@dataclass(frozen=True)
class Sent:
    """One kind of packet the guest sent: where to, how many."""

    family: str                   # ipv4 | ipv6
    destination: str
    protocol: str                 # udp | tcp | icmp | ...
    port: int | None
    count: int

    def describe(self) -> str:
        port = f"/{self.port}" if self.port is not None else ""
        return f"{self.destination} {self.protocol}{port} x{self.count}"


_PROTOCOLS = {1: "icmp", 6: "tcp", 17: "udp", 58: "icmpv6"}


def read_capture(path: Path, guest_mac: str) -> list[Sent]:
    """The IP packets the guest (source MAC GUEST_MAC) sent, counted by destination, protocol and
    port, from a pcap file (qemu's filter-dump: classic libpcap, Ethernet)."""
    data = Path(path).read_bytes()
    if len(data) < 24:
        raise ValueError(f"{path}: not a pcap file ({len(data)} bytes)")
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        order = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        order = ">"
    else:
        raise ValueError(f"{path}: not a pcap file (magic {magic.hex()})")
    if struct.unpack(order + "I", data[20:24])[0] != 1:
        raise ValueError(f"{path}: not an Ethernet capture")
    mac = bytes.fromhex(guest_mac.replace(":", ""))
    counts: Counter[tuple[str, str, str, int | None]] = Counter()
    offset = 24
    while offset + 16 <= len(data):
        length = struct.unpack(order + "I", data[offset + 8:offset + 12])[0]
        frame = data[offset + 16:offset + 16 + length]
        offset += 16 + length
        if len(frame) < 14 or frame[6:12] != mac:
            continue
        kind = _frame_kind(frame)
        if kind is not None:
            counts[kind] += 1
    return [Sent(family, dest, proto, port, n) for (family, dest, proto, port), n in sorted(
        counts.items(), key=lambda item: (item[0][0], item[0][1], item[0][2], item[0][3] or 0))]


def _frame_kind(frame: bytes) -> tuple[str, str, str, int | None] | None:
    ethertype = struct.unpack(">H", frame[12:14])[0]
    ip = frame[14:]
    if ethertype == 0x0800 and len(ip) >= 20:
        header = (ip[0] & 0x0F) * 4
        proto = ip[9]
        dest = str(ipaddress.IPv4Address(ip[16:20]))
        port = struct.unpack(">H", ip[header + 2:header + 4])[0] if proto in (6, 17) and len(ip) >= header + 4 \
            else None
        return "ipv4", dest, _PROTOCOLS.get(proto, str(proto)), port
    if ethertype == 0x86DD and len(ip) >= 40:
        proto = ip[6]
        dest = str(ipaddress.IPv6Address(ip[24:40]))
        port = struct.unpack(">H", ip[42:44])[0] if proto in (6, 17) and len(ip) >= 44 else None
        return "ipv6", dest, _PROTOCOLS.get(proto, str(proto)), port
    return None                   # ARP and the like: no traffic anywhere


def allowed(sent: Sent, server_port: int) -> bool:
    """Traffic to the install server: DHCP (to slirp or broadcast), TFTP and the server's port
    on 10.0.2.2; IPv6 only link-local and multicast (neighbour discovery, router solicitation:
    slirp answers them itself)."""
    if sent.family == "ipv6":
        address = ipaddress.IPv6Address(sent.destination)
        return address.is_link_local or address.is_multicast
    if sent.protocol == "udp" and sent.port == 67 and sent.destination in (SLIRP_HOST, "255.255.255.255"):
        return True
    if sent.destination != SLIRP_HOST:
        return False
    return (sent.protocol == "udp" and sent.port == 69) or (sent.protocol == "tcp" and sent.port == server_port)


def confinement(captures: dict[str, Path], guest_mac: str, server_port: int) -> Assertion:
    """One assertion: every IP packet the guest sent (in every phase's capture) went to the install
    server (see `allowed`). A missing or unreadable capture fails it."""
    expected = (f"the guest sent to the install server only (DHCP, TFTP, {SLIRP_HOST}:{server_port}; "
                "IPv6 link-local and multicast)")
    sent: list[Sent] = []
    for phase in PHASE_FILES:
        capture = captures.get(phase)
        if capture is None:
            continue
        try:
            sent += read_capture(capture, guest_mac)
        except (OSError, ValueError) as exc:
            return Assertion("network", expected, f"capture of the {phase} phase unreadable: {exc}", False)
    if not captures:
        return Assertion("network", expected, "no capture (qemu wrote none)", False)
    elsewhere = [s for s in sent if not allowed(s, server_port)]
    total = sum(s.count for s in sent)
    if elsewhere:
        return Assertion("network", expected, f"{sum(s.count for s in elsewhere)} of {total} packets elsewhere: "
                         + ", ".join(s.describe() for s in elsewhere[:8]), False)
    to_server = sum(s.count for s in sent if s.family == "ipv4" and s.protocol == "tcp")
    return Assertion("network", expected, f"{total} packets, all to the install server "
                     f"({to_server} to its HTTP port)", True)


def owner_from_label(label: str | None) -> tuple[int, int] | None:
    """libvirt's DAC base label ("+64055:+64055") as (uid, gid); None when there is none."""
    if not label:
        return None
    try:
        user, group = label.split(":")
        return int(user.lstrip("+")), int(group.lstrip("+"))
    except ValueError:
        return None

