"""The network install path on real libvirt + qemu (TCG when KVM does not work): machines with no
install medium and a blank disk PXE-boot from QEMU user-mode networking's DHCP and TFTP (a
`kickgen netboot` tree of the stand-in DVD) and install from a `kickgen serve` on this machine's
loopback, which they reach as 10.0.2.2 (kickgen/vm/pxe.py, kickgen.pipeline.boot_test_pxe).

Two hosts of tests/data/pxe/hosts.yaml with different profiles install at the same time from one
server, on BIOS and on UEFI; SIGTERM while they boot unwinds both; an unknown MAC gets the menu
and boots its (blank) disk, no install. Every run checks that libvirt and the staging folder hold nothing of it afterwards."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

import pytest

from kickgen.cli import main
from kickgen.netboot import build_netboot
from kickgen.pipeline import _server_check, boot_test_pxe
from kickgen.profile import load_profile
from kickgen.serve import host_states, start_server
from kickgen.vm import host as vmhost
from kickgen.vm.harness import pxe_boot_test
from kickgen.vm.pxe import staging_parent
from libvirt_checks import assert_nothing_left
from paths import PROJECT_ROOT

pytestmark = pytest.mark.vm
INVENTORY = PROJECT_ROOT / "tests" / "data" / "pxe" / "hosts.yaml"
HOSTS = {"pxe-docker1": "standin-docker", "pxe-docker2": "standin-docker-berlin"}
QEMU_NS = "{http://libvirt.org/schemas/domain/qemu/1.0}"


def assert_no_staging_left(result) -> None:
    assert list(staging_parent().glob(f"{result.name}-*")) == []


@pytest.mark.timeout(900)
@pytest.mark.parametrize("firmware", ["bios", "uefi"])
def test_two_hosts_with_different_profiles_install_at_once_from_one_server(firmware, standin_dvd, tmp_path, capsys):
    outcome = boot_test_pxe(INVENTORY, list(HOSTS), standin_dvd, firmware, artifacts=tmp_path)
    try:
        assert outcome.passed, "\n".join(r.verdict for r in outcome.results)
        assert outcome.exit_code == 0
        assert outcome.server_url.startswith("http://10.0.2.2:")
        for result, (host, profile) in zip(outcome.results, HOSTS.items(), strict=True):
            assert (result.host, result.profile, result.medium, result.firmware) == (host, profile, "pxe", firmware)
            assert result.report is not None and result.report.profile == profile   # each its own report
            checks = {a.name: a for a in result.assertions}
            assert {"profile", "ks_sha256", "network", "server", "docker_running"} <= set(checks)
            assert checks["server"].actual == "reported, passed"
            assert checks["network"].passed and "all to the install server" in checks["network"].actual
            # the machine: no install medium, its NIC on qemu's command line with the host's MAC,
            # first in the boot order while installing; the installed disk alone after
            install = ET.parse(result.artifacts / "install-domain.xml").getroot()
            assert install.find("devices/disk[@device='cdrom']") is None
            assert install.find("devices/interface") is None
            args = [a.get("value") for a in install.iter(f"{QEMU_NS}arg")]
            nic = next(a for a in args if a.startswith("e1000,"))
            assert "bootindex=1" in nic and f"mac={_mac(host)}" in nic
            boot = ET.parse(result.artifacts / "boot-domain.xml").getroot()
            assert "romfile=" in next(a.get("value") for a in boot.iter(f"{QEMU_NS}arg")
                                      if a.get("value").startswith("e1000,"))
            assert (result.artifacts / "install-network.pcap").stat().st_size > 0
        # at the same time: each fetched its kickstart before the other reported
        states = {s.name: s for s in host_states(outcome.tree)}
        assert all(states[h].passed for h in HOSTS)
        assert max(states[h].kickstart_at for h in HOSTS) < min(states[h].reported_at for h in HOSTS)
        # and `kickgen status` says so
        capsys.readouterr()
        assert main(["status", str(outcome.tree)]) == 0
        rows = capsys.readouterr().out.splitlines()
        for host, profile in HOSTS.items():
            assert any(r.split()[:5] == [host, _mac(host), profile, "reported", "passed"] for r in rows), rows
        assert rows[-1] == "2 hosts: 2 passed, 0 failed, 0 not reported"
    finally:
        for result in outcome.results:
            assert_nothing_left(result)
            assert_no_staging_left(result)


def _mac(host: str) -> str:
    return {"pxe-docker1": "52:54:00:4b:50:01", "pxe-docker2": "52:54:00:4b:50:02"}[host]


@pytest.mark.timeout(300)
def test_sigterm_while_both_hosts_boot_removes_their_machines_disks_and_staging(standin_dvd, tmp_path):
    """The hosts run on threads: an interrupt must still unwind each of them (exit 130)."""
    artifacts = tmp_path / "run"
    cli = subprocess.Popen([sys.executable, "-m", "kickgen", "boot-test", "--pxe", str(INVENTORY),
                            "--host", "pxe-docker1", "--host", "pxe-docker2", "--base", str(standin_dvd),
                            "--quiet", "--artifacts", str(artifacts)],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    names = []
    try:
        deadline = time.monotonic() + 180
        while len(names) < 2 and time.monotonic() < deadline and cli.poll() is None:
            names = [ET.parse(x).getroot().findtext("name") for x in sorted(artifacts.glob("*/install-domain.xml"))]
            time.sleep(0.5)
        assert len(names) == 2, cli.stderr.read() if cli.poll() is not None else "no domains in 180 s"
        conn = vmhost.connect(vmhost.DEFAULT_URI)
        try:
            while time.monotonic() < deadline and not all(
                    any(d.name() == n and d.isActive() for d in conn.listAllDomains(0)) for n in names):
                time.sleep(0.5)
        finally:
            conn.close()
        cli.send_signal(signal.SIGTERM)
        out, err = cli.communicate(timeout=90)
    finally:
        if cli.poll() is None:
            cli.kill()
    assert cli.returncode == 130, err
    assert err.splitlines() == ["kickgen: interrupted"]
    conn = vmhost.connect(vmhost.DEFAULT_URI)
    try:
        for name in names:
            assert vmhost.leftovers(conn, prefix=name) == []
            assert list(staging_parent().glob(f"{name}-*")) == []
    finally:
        conn.close()


@pytest.mark.timeout(400)
def test_an_unknown_mac_gets_the_menu_and_boots_its_disk_not_an_install(standin_dvd, tmp_path):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        port = holder.getsockname()[1]
        tree = build_netboot(INVENTORY, standin_dvd, tmp_path / "netboot", f"http://10.0.2.2:{port}")
    profile = load_profile("standin-docker", ["vm.disk_gb=2", "vm.memory_mb=512", "vm.stall_seconds=120"])
    with start_server(tree.path, port=port):
        result = pxe_boot_test(tree.path / "tftp", "52:54:00:4b:50:99", profile, host_name="stranger",
                               server_port=port, artifacts=tmp_path / "stranger", timeout_install=240)
    install, boot = result.phases
    assert not result.passed
    assert (install.outcome, boot.outcome) == ("failed", "not-run")
    assert install.reason.startswith("the firmware found nothing to boot: ")     # the blank disk
    log = (tmp_path / "stranger" / "install-serial.log").read_text(errors="replace")
    assert "Filename: pxelinux.0" in log and "PXELINUX" in log                    # it did PXE-boot
    assert f"kickgen netboot (http://10.0.2.2:{port})" in log                    # the menu's title
    assert "Linux version" not in log and "kickgen-standin: installer starting" not in log
    assert [s.state for s in host_states(tree.path)] == ["not seen", "not seen"]
    (server,) = _server_check(tree.path, "pxe-docker1")            # the server-side assertion can fail
    assert not server.passed and server.actual == "not seen"
    network = next(a for a in result.assertions if a.name == "network")
    assert network.passed and "(0 to its HTTP port)" in network.actual             # never asked the server
    assert_nothing_left(result)
    assert_no_staging_left(result)
