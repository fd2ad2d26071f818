"""`kickgen matrix`: the matrix file's checks (each error names the key), and one real run of two
cases side by side on qemu:///system with the fake media of the harness tests."""

from __future__ import annotations

import json
import textwrap
import xml.etree.ElementTree as ET

import pytest

from harness_fakes import fake_installer_iso, fake_system_iso
from kickgen.cli import main
from kickgen.core.errors import UsageError
from kickgen.vm import host as vmhost
from kickgen.vm.matrix import load_matrix
from paths import PROJECT_ROOT
from paths import TEST_WORK as BUILD_DIR


def _write(tmp_path, text: str):
    path = tmp_path / "matrix.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def test_example_matrix_loads():
    plan = load_matrix(PROJECT_ROOT / "vm" / "matrix-example.yaml")
    ids = [case.id for case in plan.cases]
    assert len(ids) == 6                 # 2x2 for the profile, 2 for the variant (uefi excluded)
    assert "standin-docker/uefi/usb" in ids and "standin-docker-no-service/uefi/cd" not in ids
    assert plan.hosts[0].uri == "qemu:///system" and plan.hosts[0].parallel == 2
    assert (plan.extra_disks, plan.keep_medium, plan.writable_medium) == (1, True, True)


def test_connect_and_parallel_override_the_hosts(tmp_path):
    path = _write(tmp_path, """
        iso: base.iso
        profiles: [standin-docker]
        hosts: [{uri: "qemu:///system", parallel: 3}]
    """)
    plan = load_matrix(path, connect=["qemu+ssh://a/system", "qemu+ssh://b/system"], parallel=2)
    assert [(h.uri, h.parallel) for h in plan.hosts] == [("qemu+ssh://a/system", 2), ("qemu+ssh://b/system", 2)]
    assert [c.id for c in plan.cases] == ["standin-docker/bios/cd"]   # defaults: bios, cd


@pytest.mark.parametrize("text, message", [
    ("profiles: [standin-docker]\n", "iso: is missing"),
    ("iso: a.iso\nprofiles: []\n", "profiles: lists no profile"),
    ("iso: a.iso\nprofiles: [x]\nfirmware: [bios, bois]\n", "firmware: 'bois' is not one of bios, uefi"),
    ("iso: a.iso\nprofiles: [x]\nmedium: floppy\n", "medium: 'floppy' is not one of cd, usb"),
    ("iso: a.iso\nprofiles: [x]\nhost: []\n", "unknown key 'host'"),
    ("iso: a.iso\nprofiles: [{name: x, set: nope}]\n", "profiles[0].set: expected a list of key.path=value"),
    ("iso: a.iso\nprofiles: [x]\nhosts: [{uri: 'qemu:///system', parallel: 0}]\n",
     "hosts[0].parallel: expected a whole number >= 1, got 0"),
    ("iso: a.iso\nprofiles: [x]\nexclude: [{firmware: bios}]\n", "exclude: leaves no case to run"),
    ("iso: a.iso\nprofiles: [x\n", "not valid YAML"),
    ("iso: a.iso\nprofiles: [x]\nextra_disks: 4\n", "extra_disks: expected a whole number from 0 to 3, got 4"),
    ("iso: a.iso\nprofiles: [x]\nextra_disks: true\n", "extra_disks: expected a whole number from 0 to 3"),
    ("iso: a.iso\nprofiles: [x]\nkeep_medium: yes please\n", "keep_medium: expected true or false"),
    ("iso: a.iso\nprofiles: [x]\nwritable_medium: 1\n", "writable_medium: expected true or false, got 1"),
])
def test_bad_matrix_files_are_named(tmp_path, text, message):
    path = _write(tmp_path, text)
    with pytest.raises(UsageError) as err:
        load_matrix(path)
    assert err.value.message.startswith(f"{path}: ")
    assert message in err.value.message


def test_matrix_cli_usage_error_exits_2(tmp_path, capsys):
    assert main(["matrix", str(tmp_path / "none.yaml")]) == 2
    assert f"kickgen: error: {tmp_path / 'none.yaml'}: no such matrix file" in capsys.readouterr().err


@pytest.mark.vm
@pytest.mark.timeout(400)
def test_cases_spread_over_two_hosts_into_one_junit(tmp_path, capsys):
    """`kickgen matrix` over two libvirt URIs (the second through the remote driver), one worker each."""
    out = BUILD_DIR / "harness-fakes"
    iso = fake_installer_iso(out, "ok", fake_system_iso(out, profile="standin-docker"))
    path = _write(tmp_path, f"""
        profiles:
          - name: standin-docker
            iso: {iso}
            set: [vm.disk_gb=1, vm.memory_mb=512, vm.stall_seconds=90]
          - name: no-such-profile
            iso: {iso}
        firmware: [bios]
        medium: [cd, usb]
        exclude: [{{profile: no-such-profile, medium: usb}}]
        hosts: [{{uri: "qemu:///system", parallel: 1}}, {{uri: "qemu+unix:///system", parallel: 1}}]
        timeout_install: 180
        timeout_boot: 180
    """)
    artifacts = tmp_path / "artifacts"
    code = main(["matrix", str(path), "--artifacts", str(artifacts), "--quiet"])
    printed = capsys.readouterr().out
    assert code == 1                                   # one case could not run
    assert f"junit: {artifacts / 'junit.xml'}" in printed
    assert "FAIL matrix matrix.yaml: 2/3 cases passed" in printed

    suites = ET.parse(artifacts / "junit.xml").getroot().findall("testsuite")
    assert [s.get("name").split(" on ")[0] for s in suites] == [
        "standin-docker/bios/cd", "standin-docker/bios/usb", "no-such-profile/bios/cd"]
    assert [s.get("failures") for s in suites] == ["0", "0", "1"]
    assert "no-such-profile" in suites[2].find("testcase/failure").get("message")
    table = (artifacts / "summary.txt").read_text().splitlines()
    assert table[0].split() == ["case", "host", "accel", "install", "boot", "result"]
    rows = {line.split()[0]: line.split() for line in table[2:5]}
    assert rows["standin-docker/bios/cd"][-1] == rows["standin-docker/bios/usb"][-1] == "PASS"
    assert rows["no-such-profile/bios/cd"][-1] == "ERROR"
    assert {row[1] for row in rows.values()} <= {"qemu:///system", "qemu+unix:///system"}
    assert "\n".join(table[:5]) in printed            # the same table on stdout

    conn = vmhost.connect(vmhost.DEFAULT_URI)
    try:
        for case in ("standin-docker-bios-cd", "standin-docker-bios-usb"):
            name = json.loads((artifacts / case / "report.json").read_text())["name"]
            assert vmhost.leftovers(conn, prefix=name) == []
    finally:
        conn.close()
