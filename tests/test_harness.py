"""Harness parts that need no VM: console patterns, the report parser, assertions, JUnit,
domain XML (golden files), the CLI's usage and environment errors."""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from kickgen.cli import main
from kickgen.core.errors import HarnessError
from kickgen.profile import load_profile
from kickgen.vm.console import SerialTail, find_report, match_failure, parse_report
from kickgen.vm.domain import DomainSpec, render_domain_xml
from kickgen.vm.verdict import JUnitCase, check_expectations, junit_xml

GOLDEN = Path(__file__).parent / "golden" / "domain"

GOOD_REPORT = {"profile": "standin-docker", "ks_sha256": "ab" * 32, "kernel_release": "6.1.0-56-amd64",
               "aufs": False, "docker_status_rc": 0,
               "docker_info": "Containers: 0\nStorage Driver: vfs\nExecution Driver: native-0.2\n",
               "default_entry_title": "CentOS (3.10.5-3.el6.x86_64)"}


# --- console: known failure lines ----------------------------------------------------------

@pytest.mark.parametrize("line, kind", [
    ("kickgen-standin: ERROR: kickstart file not found: ks=cdrom:/missing.cfg", "kickstart-not-found"),
    ("kickgen-standin: ERROR: %post script failed with exit code 3 (--erroronfail): install aborted", "post-failed"),
    ("kickgen-standin: ERROR: no install source found", "installer-error"),
    # waits of the real loader / anaconda (newt window titles and messages on the serial console),
    # and the stand-in's ERROR lines that carry the same words
    ("No driver found", "no-install-source"),
    ("kickgen-standin: ERROR: No driver found: the cdrom install method needs an optical drive and there is none",
     "no-install-source"),
    ("  Disc Not Found  ", "no-install-source"),
    ("kickgen-standin: ERROR: Disc Not Found: no CentOS disc in the optical drive(s) /dev/sr0",
     "no-install-source"),
    ("The provided network interface eth0 does not exist", "network-device-missing"),
    ("kickgen-standin-efi: ERROR: the two BOOTX64.conf copies differ", "boot-menu-refused"),
    ("kickgen-standin-efi: ERROR: cannot read the kernel", "boot-file-missing"),
    ("kickgen-standin-efi: ERROR: cannot read the initrd", "boot-file-missing"),
    # a network ks= that does not download (404, no lease): the loader's own words (kickstart.c ~323-362)
    ("kickgen-standin: ERROR: Error downloading kickstart file: Unable to download the kickstart file.  "
     "Please modify the kickstart parameter below or press Cancel to proceed as an interactive installation. "
     "(ks=http://10.0.2.2:8123/hosts/a/ks.cfg: HTTP 404)", "kickstart-not-found"),
    ("No way to determine which NIC to use, and cannot prompt in cmdline", "network-device-ask"),
    ("You have multiple network devices on this system. Which would you like to install through?",
     "network-device-ask"),
    ("kickgen-standin: ERROR: The provided network interface 52:54:00:12:34:56 does not exist (kickstart: ...)",
     "network-device-missing"),
    # the real EL6 loader and anaconda, as they appear on a serial console
    ("  Cannot find kickstart file on CDROM.  ", "kickstart-not-found"),
    ("Error opening kickstart file /tmp/ks.cfg: No such file or directory", "kickstart-not-found"),
    ("The following error was found while parsing the kickstart configuration file:", "kickstart-invalid"),
    ("There was an error running the kickstart script at line 42.  You may examine the output", "post-failed"),
    ("You have specified that the package 'docker-io' should be installed.  This package does not exist.",
     "package-missing"),
    ("Traceback (most recent call last):", "installer-crash"),
    ("[   12.000000] Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)",
     "kernel-panic"),
    ("No bootable device.", "no-boot-device"),
    ("BdsDxe: No bootable option or device was found.", "no-boot-device"),
    ("\x1b[01;01HUEFI Interactive Shell v2.2", "no-boot-device"),   # OVMF's fallback: nothing booted
])
def test_known_failure_lines_are_recognised(line, kind):
    found = match_failure(line)
    assert found is not None and found.kind == kind
    assert found.line == line.strip()


def test_installer_errors_end_only_the_install_phase():
    """While the installed system boots, an installer-style error line is noted, not fatal;
    a kernel panic or a firmware with nothing to boot ends either phase."""
    line = "kickgen-standin: ERROR: cannot mount /boot/efi"
    assert match_failure(line, "install").fatal
    assert not match_failure(line, "boot").fatal
    assert match_failure("Kernel panic - not syncing: Attempted to kill init!", "boot").fatal
    assert match_failure("No bootable device.", "boot").fatal


@pytest.mark.parametrize("line", [
    "kickgen-standin: running %post (1 of 6)",
    "kickgen-standin: install complete: poweroff",
    "Running anaconda 13.21.215, the CentOS system installer - please wait.",
    "kickgen: docker: Traceback-free run",   # 'Traceback' only counts at the start of a line
    # near misses of the install-source and network patterns
    "e1000: No driver foundation needed",
    "Disc Not Foundry",
    "The provided network interface eth0 exists",
    "kickgen-standin: install source: /dev/sr0 (cdrom, label CentOS_6.5_Final)",
    "kickgen-standin-efi: reading (efiboot)/EFI/BOOT/BOOTX64.conf (root cd0)",
])
def test_ordinary_lines_are_not_failures(line):
    assert match_failure(line) is None


# --- console: the report line --------------------------------------------------------------

def test_report_line_parses_with_extra_keys_and_noise_before_the_marker():
    line = "[  9.1] rc.local: KICKGEN-REPORT v1 " + json.dumps({**GOOD_REPORT, "extra": 1})
    report = parse_report(find_report(line))
    assert report.docker_running and report.storage_driver == "vfs"
    assert report.raw["extra"] == 1


def test_not_a_report_line():
    assert find_report("KICKGEN-REPORT v2 {}") is None


@pytest.mark.parametrize("payload, message", [
    ('{"profile": "x"', "report line is not valid JSON"),
    ("[1, 2]", "report line holds a JSON list, not an object"),
    (json.dumps({k: v for k, v in GOOD_REPORT.items() if k != "aufs"}), "missing 'aufs'"),
    (json.dumps({**GOOD_REPORT, "docker_status_rc": "0"}), "'docker_status_rc' is str, expected int"),
    (json.dumps({**GOOD_REPORT, "docker_status_rc": True}), "'docker_status_rc' is bool, expected int"),
])
def test_bad_report_lines_are_named(payload, message):
    with pytest.raises(HarnessError, match=message.replace("(", r"\(").replace(")", r"\)")) as err:
        parse_report(payload, source="boot-serial.log")
    assert err.value.message.startswith("boot-serial.log: ")


def test_serial_tail_returns_complete_lines_only(tmp_path):
    log = tmp_path / "serial.log"
    tail = SerialTail(log)
    assert tail.read_new() == []                     # no file yet
    log.write_bytes(b"one\r\ntw")
    assert tail.read_new() == ["one"]
    with log.open("ab") as out:
        out.write(b"o\x1b[0mthree\n")
    assert tail.read_new() == ["twothree"]           # joined, escapes dropped
    assert tail.last_line == "twothree"
    with log.open("ab") as out:
        out.write(b"\x1b[11;01HPress ESC in 2 seconds\x1b[11;01HPress ESC in 1 seconds\n")
    assert tail.read_new() == ["", "Press ESC in 2 seconds", "Press ESC in 1 seconds"]
    with log.open("ab") as out:
        out.write(b"partial")
    assert tail.flush() == ["partial"]


# --- assertions ----------------------------------------------------------------------------

def test_expectations_of_the_standin_profile_hold_for_a_good_report():
    profile = load_profile("standin-docker")
    checks = check_expectations(profile.expect, parse_report(json.dumps(GOOD_REPORT)),
                                profile_name="standin-docker", ks_sha256="ab" * 32)
    assert [c.name for c in checks] == ["profile", "ks_sha256", "kernel_release", "aufs",
                                        "docker_running", "storage_driver", "default_entry"]
    assert all(c.passed for c in checks), [c.describe() for c in checks]


def test_failed_assertions_name_expected_and_actual():
    profile = load_profile("centos65-docker")     # the real expectations: aufs kernel, aufs driver
    bad = parse_report(json.dumps({**GOOD_REPORT, "docker_status_rc": 3, "docker_info": ""}))
    failed = {c.name: c.describe() for c in check_expectations(profile.expect, bad, profile_name="other")
              if not c.passed}
    assert failed["profile"] == "profile: FAILED: expected 'other', got 'standin-docker'"
    assert failed["docker_running"] == ("docker_running: FAILED: expected docker running, "
                                        "got docker not running (service docker status rc=3)")
    assert failed["aufs"] == "aufs: FAILED: expected aufs in /proc/filesystems, got no aufs"
    assert "got no 'Storage Driver:' in docker info" in failed["storage_driver"]
    assert "kernel_release" in failed


def test_unset_expectations_are_not_checked():
    profile = load_profile("standin-docker", ["expect.aufs=null", "expect.storage_driver=null"])
    names = [c.name for c in check_expectations(profile.expect, parse_report(json.dumps(GOOD_REPORT)),
                                                profile_name="standin-docker")]
    assert "aufs" not in names and "storage_driver" not in names and "docker_running" in names


def test_junit_counts_failures_and_skips():
    text = junit_xml([("suite", [JUnitCase("c", "install", 1.5),
                                 JUnitCase("c", "boot", 0.0, skipped="install failed"),
                                 JUnitCase("c", "expect.docker_running", 0.0, failure="docker not running",
                                           details="log <line> & more")])])
    suite = ET.fromstring(text).find("testsuite")
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("3", "1", "1")
    failure = suite.find("testcase[@name='expect.docker_running']/failure")
    assert failure.get("message") == "docker not running" and failure.text == "log <line> & more"


# --- domain XML: golden files --------------------------------------------------------------

def _spec(**changes) -> DomainSpec:
    values = dict(name="kickgen-standin-docker-bios-cd-00000000", uuid="00000000-0000-4000-8000-000000000000",
                  profile="standin-docker", phase="install", domain_type="qemu", firmware="bios",
                  medium="cd", iso="/srv/iso/standin & docker.iso", pool="kickgen",
                  volume="kickgen-standin-docker-bios-cd-00000000-disk.qcow2",
                  serial_log="/srv/artifacts/install-serial.log")
    values.update(changes)
    return DomainSpec(**values)


@pytest.mark.parametrize("case, spec", [
    ("install-bios-cd", _spec()),
    ("install-uefi-usb-network", _spec(firmware="uefi", medium="usb", network="default")),
    ("boot-uefi", _spec(phase="boot", firmware="uefi", serial_log="/srv/artifacts/boot-serial.log")),
    ("install-bios-usb-kept-writable-extra", _spec(medium="usb", keep_medium=True, medium_readonly=False,
                                                    extra_volumes=("x-extra1.qcow2", "x-extra2.qcow2"))),
    ("boot-bios-cd-kept-ejected", _spec(phase="boot", keep_medium=True, medium_ejected=True,
                                         serial_log="/srv/artifacts/boot-serial.log")),
])
def test_domain_xml_matches_golden(case, spec):
    """Regenerate with KICKGEN_REGEN_GOLDEN=1 after an intended change, then review the diff."""
    xml = render_domain_xml(spec)
    golden = GOLDEN / f"{case}.xml"
    if os.environ.get("KICKGEN_REGEN_GOLDEN") == "1":
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(xml)
    assert golden.is_file(), f"no golden file {golden}: run with KICKGEN_REGEN_GOLDEN=1"
    assert xml == golden.read_text()


def test_domain_xml_has_what_the_runs_rely_on():
    root = ET.fromstring(render_domain_xml(_spec(firmware="uefi")))
    assert root.get("type") == "qemu"
    assert root.find("features/acpi") is not None                 # else poweroff never ends the domain
    assert root.findtext("on_reboot") == "destroy"                 # a reboot ends the install phase
    assert root.find("devices/serial/source").get("path") == "/srv/artifacts/install-serial.log"
    assert root.find("devices/graphics").get("listen") == "127.0.0.1"
    assert root.find("devices/disk[@device='cdrom']/source").get("file") == "/srv/iso/standin & docker.iso"
    assert root.find("os/nvram").text.endswith("kickgen-standin-docker-bios-cd-00000000_VARS.fd")
    nic = root.find("devices/interface")                           # user-mode only unless asked:
    assert nic.get("type") == "user" and nic.find("model").get("type") == "e1000"  # a NIC, no traffic out
    boot = ET.fromstring(render_domain_xml(_spec(phase="boot")))
    assert boot.find("devices/disk[@device='cdrom']") is None      # the medium is gone after install


def test_kept_medium_stays_first_for_the_first_boot_and_an_ejected_cd_is_out():
    kept = ET.fromstring(render_domain_xml(_spec(phase="boot", keep_medium=True)))
    cd = kept.find("devices/disk[@device='cdrom']")
    assert cd.find("boot").get("order") == "1" and cd.find("source") is not None
    assert kept.find("devices/disk[@device='disk']/boot").get("order") == "2"
    ejected = ET.fromstring(render_domain_xml(_spec(phase="boot", keep_medium=True, medium_ejected=True)))
    drive = ejected.find("devices/disk[@device='cdrom']")
    assert drive.find("source") is None and drive.find("target").get("tray") == "open"
    plain = ET.fromstring(render_domain_xml(_spec(phase="boot")))
    assert plain.find("devices/disk[@device='cdrom']") is None
    assert plain.find("devices/disk/boot").get("order") == "1"
    stick = ET.fromstring(render_domain_xml(_spec(medium="usb", medium_readonly=False)))
    assert stick.find("devices/disk/target[@bus='usb']/../readonly") is None
    extra = ET.fromstring(render_domain_xml(_spec(extra_volumes=("a.qcow2",))))
    disk = extra.find("devices/disk/source[@volume='a.qcow2']/..")
    assert disk.find("target").get("dev") == "vdb" and disk.find("boot") is None   # never booted


# --- CLI: usage and environment errors (exit 2, one line) ----------------------------------

def test_boot_test_of_a_missing_iso_is_a_usage_error(tmp_path, capsys):
    assert main(["boot-test", str(tmp_path / "nope.iso"), "--profile", "standin-docker", "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"kickgen: error: {tmp_path / 'nope.iso'}: no such ISO file"]


def test_boot_test_without_libvirtd_is_an_environment_error(tmp_path, capsys):
    iso = tmp_path / "x.iso"
    iso.write_bytes(b"\0" * 2048)
    socket = tmp_path / "no-libvirtd.sock"
    code = main(["boot-test", str(iso), "--profile", "standin-docker", "--quiet",
                 "--connect", f"qemu:///system?socket={socket}", "--artifacts", str(tmp_path / "a")])
    err = capsys.readouterr().err
    assert code == 2
    assert f"kickgen: error: cannot connect to libvirt at qemu:///system?socket={socket}" in err
    assert "kickgen: hint: start libvirtd" in err


def test_unreachable_remote_host_is_an_environment_error(tmp_path, capsys):
    iso = tmp_path / "x.iso"
    iso.write_bytes(b"\0" * 2048)
    assert main(["boot-test", str(iso), "--profile", "standin-docker", "--quiet",
                 "--connect", "qemu+tcp://127.0.0.1:1/system", "--artifacts", str(tmp_path / "a")]) == 2
    assert "kickgen: error: cannot connect to libvirt at qemu+tcp://127.0.0.1:1/system: " in capsys.readouterr().err


def test_enabled_repos_must_check_signatures_or_be_allowed_by_name():
    profile = load_profile("standin-docker")
    repos = [{"id": "kickgen-os", "baseurl": "http://m/os/", "mirrorlist": "", "gpgcheck": True},
             {"id": "kickgen-epel", "baseurl": "http://m/epel/", "mirrorlist": "", "gpgcheck": True}]
    good = check_expectations(profile.expect, parse_report(json.dumps({**GOOD_REPORT, "repos": repos})),
                              profile_name="standin-docker")
    assert [c for c in good if c.name == "repos_trusted"][0].passed
    bad_repos = repos + [{"id": "kickgen-hop5", "baseurl": "http://h/", "mirrorlist": "", "gpgcheck": False},
                         {"id": "base", "baseurl": "", "mirrorlist": "http://mirrorlist.centos.org/",
                          "gpgcheck": True}]
    bad = parse_report(json.dumps({**GOOD_REPORT, "repos": bad_repos}))
    check = [c for c in check_expectations(profile.expect, bad, profile_name="standin-docker")
             if c.name == "repos_trusted"][0]
    assert not check.passed and check.actual == "unsigned: kickgen-hop5; mirrorlist: base"
    allowed = [c for c in check_expectations(profile.expect, bad, profile_name="standin-docker",
                                             allow_unsigned=("kickgen-hop5",)) if c.name == "repos_trusted"][0]
    assert allowed.actual == "mirrorlist: base"
    old = [c.name for c in check_expectations(profile.expect, parse_report(json.dumps(GOOD_REPORT)),
                                              profile_name="standin-docker")]
    assert "repos_trusted" not in old      # a report without the list (older media) is not judged on it
