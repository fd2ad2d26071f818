"""The PXE machine without a VM (kickgen/vm/pxe.py): its domain XML (golden files) and qemu
arguments, the staging folder qemu reads, the capture of what the guest sent and the `network`
assertion judged from it, and the refusals of pxe_boot_test before any libvirt call. The real
boots are in tests/test_pxe_vm.py."""

from __future__ import annotations

import ipaddress
import os
import struct
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from kickgen.core.errors import UsageError
from kickgen.profile import load_profile
from kickgen.vm.harness import pxe_boot_test
from kickgen.vm.pxe import (
    PxeDomainSpec,
    PxeNic,
    confinement,
    owner_from_label,
    qemu_args,
    read_capture,
    render_pxe_xml,
    stage,
    staging_parent,
)

GOLDEN = Path(__file__).parent / "golden" / "domain"
QEMU_NS = "{http://libvirt.org/schemas/domain/qemu/1.0}"
GUEST = "52:54:00:4b:50:01"
SLIRP = "52:55:0a:00:02:02"


def _spec(phase: str = "install", firmware: str = "bios", **nic) -> PxeDomainSpec:
    values = dict(mac=GUEST, tftp_root="/tmp/kickgen-pxe-docker1-bios-pxe-00000000-x/tftp",
                  bootfile="pxelinux.0" if firmware == "bios" else "EFI/BOOT/BOOTX64.efi", address="10.0.2.21",
                  hostname="pxe-docker1", capture=f"/tmp/kickgen-pxe-docker1-bios-pxe-00000000-x/{phase}-network.pcap",
                  boot_first=phase == "install")
    values.update(nic)
    return PxeDomainSpec(name="kickgen-pxe-docker1-bios-pxe-00000000", uuid="00000000-0000-4000-8000-000000000000",
                         profile="standin-docker", phase=phase, domain_type="qemu", firmware=firmware, medium="pxe",
                         iso="", pool="kickgen", volume="kickgen-pxe-docker1-bios-pxe-00000000-disk.qcow2",
                         serial_log=f"/srv/artifacts/{phase}-serial.log", memory_mb=512,
                         nic=PxeNic(**values))  # type: ignore[arg-type]


# --- the domain ------------------------------------------------------------------------------

@pytest.mark.parametrize("case, spec", [
    ("pxe-install-bios", _spec()),
    ("pxe-boot-uefi", _spec("boot", "uefi")),
])
def test_pxe_domain_xml_matches_golden(case, spec):
    """Regenerate with KICKGEN_REGEN_GOLDEN=1 after an intended change, then review the diff."""
    xml = render_pxe_xml(spec)
    golden = GOLDEN / f"{case}.xml"
    if os.environ.get("KICKGEN_REGEN_GOLDEN") == "1":
        golden.write_text(xml)
    assert golden.is_file(), f"no golden file {golden}: run with KICKGEN_REGEN_GOLDEN=1"
    assert xml == golden.read_text()


def _args(root: ET.Element) -> list[str]:
    return [a.get("value", "") for a in root.iter(f"{QEMU_NS}arg")]


def test_install_boots_the_nic_first_and_has_no_medium_nor_libvirt_interface():
    root = ET.fromstring(render_pxe_xml(_spec()))
    assert root.find("devices/interface") is None
    assert root.findall("devices/disk") == root.findall("devices/disk[@device='disk']")   # no CD, no stick
    assert root.find("devices/disk/boot").get("order") == "2"
    netdev, device, dump = (a for a in _args(root) if a.startswith(("user,", "e1000,", "filter-dump,")))
    assert netdev.split(",") == ["user", "id=kgpxe0", "net=10.0.2.0/24", "host=10.0.2.2", "dhcpstart=10.0.2.21",
                                 "hostname=pxe-docker1", "tftp=/tmp/kickgen-pxe-docker1-bios-pxe-00000000-x/tftp",
                                 "bootfile=pxelinux.0", "restrict=off"]
    assert device.split(",")[1:] == ["netdev=kgpxe0", f"mac={GUEST}", "bus=pci.0", "addr=0x1e", "bootindex=1"]
    assert "netdev=kgpxe0" in dump and dump.endswith("install-network.pcap,maxlen=64")
    assert "-fw_cfg" not in _args(root)


def test_boot_phase_boots_the_disk_alone_with_the_same_nic_but_no_option_rom():
    root = ET.fromstring(render_pxe_xml(_spec("boot", "uefi")))
    assert root.find("devices/disk/boot").get("order") == "1"
    device = next(a for a in _args(root) if a.startswith("e1000,"))
    assert "romfile=" in device.split(",") and "bootindex=1" not in device and f"mac={GUEST}" in device
    # OVMF's own network stack off: the NIC's iPXE driver boots it, no minute of HTTP boot first
    assert [a for a in _args(root) if a.startswith("name=opt/")] == [
        "name=opt/org.tianocore/IPv4Support,string=no", "name=opt/org.tianocore/IPv6Support,string=no"]
    assert root.find("os/loader") is not None and root.find("os/nvram") is not None


def test_qemu_option_values_double_their_commas_and_xml_escapes_them():
    spec = _spec(tftp_root="/srv/a,b&c/tftp", hostname=None)
    netdev = next(a for a in qemu_args(spec) if a.startswith("user,"))
    assert "tftp=/srv/a,,b&c/tftp," in netdev and "hostname=" not in netdev
    assert "/srv/a,,b&amp;c/tftp" in render_pxe_xml(spec)
    assert next(a for a in _args(ET.fromstring(render_pxe_xml(spec))) if a.startswith("user,")) == netdev


# --- the staging folder ------------------------------------------------------------------------

def _tree(tmp_path: Path) -> Path:
    tftp = tmp_path / "private" / "tftp"
    (tftp / "pxelinux.cfg").mkdir(parents=True)
    (tftp / "images").mkdir()
    (tftp / "pxelinux.0").write_bytes(b"pxe")
    (tftp / "pxelinux.cfg" / "default").write_text("DEFAULT local\n")
    (tftp / "EFI").mkdir()
    (tftp / "EFI" / "images").symlink_to("../images")
    for path in (tftp / "pxelinux.0", tftp / "pxelinux.cfg" / "default"):
        path.chmod(0o600)
    (tmp_path / "private").chmod(0o700)
    return tftp


def test_stage_copies_the_tree_readable_by_all_and_hands_the_captures_to_qemus_user(tmp_path):
    tftp = _tree(tmp_path)
    owner = (65534, 65534) if os.getuid() == 0 else None
    staging = stage(tftp, "kickgen-test-stage", owner)
    try:
        assert staging.path.parent == staging_parent() and staging.path.name.startswith("kickgen-test-stage-")
        assert staging.path.stat().st_mode & 0o777 == 0o755
        assert (staging.tftp_root / "pxelinux.0").read_bytes() == b"pxe"
        assert (staging.tftp_root / "pxelinux.0").stat().st_mode & 0o777 == 0o644
        assert (staging.tftp_root / "pxelinux.cfg").stat().st_mode & 0o777 == 0o755
        assert os.readlink(staging.tftp_root / "EFI" / "images") == "../images"
        assert sorted(staging.captures) == ["boot", "install"]
        for capture in staging.captures.values():
            assert capture.stat().st_size == 0 and capture.stat().st_mode & 0o777 == 0o600
            if owner:
                assert (capture.stat().st_uid, capture.stat().st_gid) == owner
        assert (tftp / "pxelinux.0").stat().st_mode & 0o777 == 0o600      # the user's files are untouched
        staging.captures["install"].write_bytes(b"x")
        kept = staging.collect(tmp_path)
        assert kept == {"install": tmp_path / "install-network.pcap"}     # an empty capture is no capture
    finally:
        staging.remove()
    assert not staging.path.exists()


def test_stage_refuses_a_missing_tftp_folder(tmp_path):
    with pytest.raises(UsageError, match="no such TFTP folder"):
        stage(tmp_path / "none", "kickgen-test-stage", None)


def test_staging_goes_to_tmp_when_the_temp_folder_is_private(tmp_path, monkeypatch):
    private = tmp_path / "private-tmp"
    private.mkdir(mode=0o700)
    monkeypatch.setattr(tempfile, "tempdir", str(private))
    assert staging_parent() == Path("/tmp")
    open_dir = Path(tempfile.mkdtemp(prefix="kickgen-test-open-", dir="/tmp"))
    try:
        open_dir.chmod(0o755)
        monkeypatch.setattr(tempfile, "tempdir", str(open_dir))
        assert staging_parent() == open_dir
    finally:
        open_dir.rmdir()


def test_owner_from_libvirts_dac_label():
    assert owner_from_label("+64055:+64055") == (64055, 64055)
    assert owner_from_label("107:108") == (107, 108)
    assert owner_from_label(None) is None and owner_from_label("qemu") is None


# --- what the guest sent ---------------------------------------------------------------------------

def _ipv4(src: str, dst: str, proto: int, dport: int | None, sport: int = 40000) -> bytes:
    ports = struct.pack(">HH", sport, dport) if dport is not None else b""
    header = bytes([0x45, 0, 0, 40, 0, 0, 0, 0, 64, proto, 0, 0]) + ipaddress.IPv4Address(src).packed \
        + ipaddress.IPv4Address(dst).packed
    return b"\x08\x00" + header + ports + b"\0" * 16


def _ipv6(dst: str, next_header: int = 58) -> bytes:
    header = bytes([0x60, 0, 0, 0, 0, 8, next_header, 255]) + ipaddress.IPv6Address("fe80::1").packed \
        + ipaddress.IPv6Address(dst).packed
    return b"\x86\xdd" + header + b"\0" * 8


def _frame(payload: bytes, src: str = GUEST) -> bytes:
    return b"\xff" * 6 + bytes.fromhex(src.replace(":", "")) + payload


def _pcap(path: Path, frames: list[bytes], big_endian: bool = False, snaplen: int = 64) -> Path:
    order = ">" if big_endian else "<"
    data = struct.pack(order + "IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, snaplen, 1)
    for n, frame in enumerate(frames):
        kept = frame[:snaplen]
        data += struct.pack(order + "IIII", 1_700_000_000 + n, 0, len(kept), len(frame)) + kept
    path.write_bytes(data)
    return path


SERVER_PORT = 8123
TO_THE_SERVER = [
    _frame(_ipv4("0.0.0.0", "255.255.255.255", 17, 67, 68)),        # DHCP discover
    _frame(_ipv4("10.0.2.21", "10.0.2.2", 17, 69)),                  # TFTP
    _frame(_ipv4("10.0.2.21", "10.0.2.2", 6, SERVER_PORT)),          # HTTP to kickgen serve
    _frame(_ipv4("10.0.2.21", "10.0.2.2", 6, SERVER_PORT)),
    _frame(_ipv6("ff02::2")),                                        # router solicitation
    _frame(b"\x08\x06" + b"\0" * 28),                                # ARP: no traffic anywhere
    _frame(_ipv4("10.0.2.2", "8.8.8.8", 17, 53), src=SLIRP),        # not the guest's: ignored
]


def test_a_guest_that_talked_to_the_install_server_only_passes(tmp_path):
    install = _pcap(tmp_path / "install.pcap", TO_THE_SERVER)
    boot = _pcap(tmp_path / "boot.pcap", TO_THE_SERVER[2:4], big_endian=True)
    check = confinement({"install": install, "boot": boot}, GUEST, SERVER_PORT)
    assert check.passed, check.describe()
    assert check.actual == "7 packets, all to the install server (4 to its HTTP port)"
    sent = read_capture(install, GUEST.upper())
    assert {(s.destination, s.protocol, s.port, s.count) for s in sent} == {
        ("255.255.255.255", "udp", 67, 1), ("10.0.2.2", "udp", 69, 1), ("10.0.2.2", "tcp", SERVER_PORT, 2),
        ("ff02::2", "icmpv6", None, 1)}


@pytest.mark.parametrize("stray, named", [
    (_ipv4("10.0.2.21", "10.0.2.3", 17, 53), "10.0.2.3 udp/53 x1"),               # slirp's DNS: a lookup leaves
    (_ipv4("10.0.2.21", "10.0.2.2", 6, 22), "10.0.2.2 tcp/22 x1"),                # the host, another port
    (_ipv4("10.0.2.21", "93.184.216.34", 6, 80), "93.184.216.34 tcp/80 x1"),      # anywhere else
    (_ipv4("10.0.2.21", "10.0.2.2", 1, None), "10.0.2.2 icmp x1"),                # a ping
    (_ipv6("fec0::2", 6), "fec0::2 tcp"),                                         # the host over IPv6
], ids=["dns", "host-port", "elsewhere", "ping", "ipv6"])
def test_anything_sent_elsewhere_fails_the_network_assertion_and_is_named(tmp_path, stray, named):
    capture = _pcap(tmp_path / "boot.pcap", [*TO_THE_SERVER, _frame(stray)])
    check = confinement({"boot": capture}, GUEST, SERVER_PORT)
    assert not check.passed
    assert check.actual.startswith("1 of 6 packets elsewhere: ") and named in check.actual


def test_a_missing_or_broken_capture_fails_the_network_assertion(tmp_path):
    assert confinement({}, GUEST, SERVER_PORT).actual == "no capture (qemu wrote none)"
    broken = tmp_path / "install.pcap"
    broken.write_bytes(b"not a pcap file at all, not even close")
    check = confinement({"install": broken}, GUEST, SERVER_PORT)
    assert not check.passed and "capture of the install phase unreadable" in check.actual


# --- refused before any libvirt call -----------------------------------------------------------

@pytest.mark.parametrize("kwargs, message", [
    ({"connect": "qemu+ssh://root@b/system"}, "--pxe needs libvirt on this machine, not qemu+ssh://root@b/system"),
    ({"connect": "qemu+unix:///system"}, "--pxe needs libvirt on this machine"),
    ({"firmware": "coreboot"}, "--firmware coreboot: expected one of bios, uefi"),
])
def test_pxe_boot_test_refuses_what_it_cannot_run(kwargs, message, tmp_path):
    with pytest.raises(UsageError, match=message.replace("+", r"\+")):
        pxe_boot_test(tmp_path, GUEST, load_profile("standin-docker"), host_name="h", server_port=1,
                      artifacts=tmp_path / "a", **kwargs)
    assert not (tmp_path / "a").exists()


def test_pxe_boot_test_needs_the_report_line(tmp_path):
    with pytest.raises(UsageError, match="report.enabled is false"):
        pxe_boot_test(tmp_path, GUEST, load_profile("standin-docker", ["report.enabled=false"]), host_name="h",
                      server_port=1, artifacts=tmp_path / "a")
