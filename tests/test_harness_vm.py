"""The harness on real libvirt runs (TCG) with tiny fake media (tests/harness_fakes.py): each
boot takes seconds, so every outcome of a phase is exercised, and cleanup is checked each time."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

import pytest

from harness_fakes import fake_installer_iso, fake_system_iso
from kickgen.profile import load_profile
from kickgen.vm import host as vmhost
from kickgen.vm.harness import boot_test
from libvirt_checks import assert_nothing_left, is_png
from paths import TEST_WORK as BUILD_DIR

pytestmark = pytest.mark.vm
SMALL = ["vm.disk_gb=1", "vm.memory_mb=512", "vm.timeout_install=180", "vm.timeout_boot=180",
         "vm.stall_seconds=90"]


@pytest.fixture(scope="session")
def fakes():
    out = BUILD_DIR / "harness-fakes"
    good = fake_system_iso(out, profile="standin-docker")
    no_docker = fake_system_iso(out, profile="standin-docker", docker_rc=3)
    media = {name: fake_installer_iso(out, name, good)
             for name in ("ok", "no-kickstart", "post-fails", "silent", "reboot-no-eject", "writes-extra-disk",
                          "writes-the-stick")}
    media["docker-off"] = fake_installer_iso(out, "ok", no_docker)
    return media


def _profile(*extra):
    return load_profile("standin-docker", [*SMALL, *extra])


@pytest.mark.timeout(300)
def test_install_then_boot_passes_and_writes_the_artifacts(fakes, tmp_path):
    result = boot_test(fakes["ok"], _profile(), artifacts=tmp_path)
    assert result.passed, result.verdict
    assert result.exit_code == 0
    assert [(p.phase, p.outcome) for p in result.phases] == [("install", "ok"), ("boot", "ok")]
    assert result.accel == "TCG" and "TCG" in result.accel_reason
    for name in ("install-serial.log", "boot-serial.log", "install-domain.xml", "boot-domain.xml",
                 "report.json", "junit.xml", "verdict.txt"):
        assert (tmp_path / name).is_file(), name
    assert (tmp_path / "verdict.txt").read_text().startswith("PASS standin-docker bios/cd TCG: 6 assertions held")
    assert "KICKGEN-REPORT v1" in (tmp_path / "boot-serial.log").read_text()
    assert ET.parse(tmp_path / "junit.xml").getroot().find("testsuite").get("failures") == "0"
    assert_nothing_left(result)


@pytest.mark.timeout(300)
def test_kept_medium_that_boots_the_installer_again_is_a_reinstall_loop(fakes, tmp_path):
    result = boot_test(fakes["reboot-no-eject"], _profile(), artifacts=tmp_path, keep_medium=True)
    assert not result.passed
    install, boot = result.phases
    assert (install.phase, install.outcome) == ("install", "ok")
    assert (boot.phase, boot.outcome) == ("boot", "failed")
    assert boot.reason.startswith("reinstall loop: the installer started again at the first boot")
    assert "kickgen-standin: installer starting" in (tmp_path / "boot-serial.log").read_text()
    boot_domain = ET.parse(tmp_path / "boot-domain.xml").getroot()      # the disc is still in
    assert boot_domain.find("devices/disk[@device='cdrom']/source") is not None
    assert_nothing_left(result)


@pytest.mark.timeout(300)
def test_extra_disks_the_install_writes_to_fail_and_untouched_ones_pass(fakes, tmp_path):
    clean = boot_test(fakes["ok"], _profile(), artifacts=tmp_path / "clean", extra_disks=2)
    assert clean.passed, clean.verdict
    checks = {a.name: a for a in clean.assertions if a.name.startswith("untouched:")}
    assert sorted(checks) == ["untouched:vdb", "untouched:vdc"]
    assert all(a.passed and a.actual.endswith(" bytes allocated") for a in checks.values())
    domain = ET.parse(tmp_path / "clean" / "install-domain.xml").getroot()
    assert [t.get("dev") for t in domain.findall("devices/disk/target[@bus='virtio']")] == ["vdb", "vdc"]
    assert_nothing_left(clean)

    dirty = boot_test(fakes["writes-extra-disk"], _profile(), artifacts=tmp_path / "dirty", extra_disks=1)
    assert not dirty.passed
    failed = [a for a in dirty.assertions if not a.passed]
    assert [a.name for a in failed] == ["untouched:vdb"]
    assert "untouched:vdb: FAILED: expected extra disk vdb left blank" in dirty.verdict
    assert_nothing_left(dirty)


@pytest.mark.timeout(300)
def test_writable_medium_is_a_copy_and_must_come_out_unchanged(fakes, tmp_path):
    before = fakes["ok"].read_bytes()
    result = boot_test(fakes["ok"], _profile(), artifacts=tmp_path, medium="usb", writable_medium=True)
    assert result.passed, result.verdict
    names = {a.name: a for a in result.assertions}
    assert names["untouched:sdb"].passed
    assert names["untouched:sdb"].expected.startswith("install medium sdb unchanged (sha256 ")
    domain = ET.parse(tmp_path / "install-domain.xml").getroot()
    stick = domain.find("devices/disk/target[@bus='usb']/..")
    assert stick.find("readonly") is None and stick.find("source").get("volume")   # a pool copy
    assert fakes["ok"].read_bytes() == before
    assert_nothing_left(result)

    stick = fakes["writes-the-stick"]
    before = stick.read_bytes()
    written = boot_test(stick, _profile(), artifacts=tmp_path / "written", medium="usb", writable_medium=True)
    assert not written.passed
    assert [a.name for a in written.assertions if not a.passed] == ["untouched:sdb"]
    assert stick.read_bytes() == before          # the user's ISO itself is never attached writable
    assert_nothing_left(written)


@pytest.mark.timeout(300)
def test_docker_not_running_fails_the_assertion(fakes, tmp_path):
    result = boot_test(fakes["docker-off"], _profile(), artifacts=tmp_path)
    assert not result.passed and result.exit_code == 1
    failed = [a.describe() for a in result.assertions if not a.passed]
    assert ("docker_running: FAILED: expected docker running, got docker not running "
            "(service docker status rc=3)") in failed
    assert "docker not running" in result.verdict
    assert_nothing_left(result)


@pytest.mark.timeout(300)
def test_missing_kickstart_stops_the_install_at_once_with_a_screenshot(fakes, tmp_path):
    result = boot_test(fakes["no-kickstart"], _profile(), artifacts=tmp_path)
    install, boot = result.phases
    assert (install.outcome, boot.outcome) == ("failed", "not-run")
    assert install.reason == ("the installer did not find the kickstart: kickgen-standin: ERROR: "
                              "kickstart file not found: ks=cdrom:/missing.cfg")
    assert install.seconds < 170        # stopped on the line, not by the timeout
    assert is_png(install.screenshot)
    assert result.verdict.startswith("FAIL standin-docker bios/cd TCG: install failed: ")
    assert_nothing_left(result)


@pytest.mark.timeout(300)
def test_post_erroronfail_is_an_install_failure_quoting_the_log(fakes, tmp_path):
    # the ISO in a private folder (pytest's tmp_path is 0700): qemu cannot read it in place, so
    # the harness uploads it into the pool instead of changing the file's owner
    private_iso = tmp_path / "private" / "post-fails.iso"
    private_iso.parent.mkdir(mode=0o700)
    shutil.copy(fakes["post-fails"], private_iso)
    result = boot_test(private_iso, _profile(), artifacts=tmp_path)
    assert result.volumes[-1] == f"{result.name}-media.iso"
    assert private_iso.stat().st_uid == 0
    install = result.phases[0]
    assert install.outcome == "failed"
    assert install.reason.startswith("a %post --erroronfail script failed: ")
    assert "+ false   # the script's own output" in install.excerpt
    assert "kickgen-standin: waiting at prompt (as the EL6 installer would)" in install.excerpt
    junit = (tmp_path / "junit.xml").read_text()
    assert "exit code 3 (--erroronfail)" in junit and "+ false" in junit
    assert_nothing_left(result)


@pytest.mark.timeout(300)
def test_stall_detector_fires_before_the_timeout_and_says_so(fakes, tmp_path):
    result = boot_test(fakes["silent"], _profile(), stall_seconds=15, timeout_install=240, artifacts=tmp_path)
    install = result.phases[0]
    assert install.outcome == "stall"
    assert install.reason.startswith("stall: no serial output and no disk writes for 15s (vm.stall_seconds)")
    assert is_png(install.screenshot)
    assert_nothing_left(result)


@pytest.mark.timeout(300)
def test_absolute_timeout_fires_and_says_so(fakes, tmp_path):
    result = boot_test(fakes["silent"], _profile(), stall_seconds=600, timeout_install=25, artifacts=tmp_path)
    install = result.phases[0]
    assert install.outcome == "timeout"
    assert install.reason.startswith("absolute timeout: 25s passed (--timeout-install)")
    assert is_png(install.screenshot)
    assert_nothing_left(result)


@pytest.mark.timeout(300)
def test_keep_leaves_the_domain_and_disk(fakes, tmp_path):
    result = boot_test(fakes["no-kickstart"], _profile(), artifacts=tmp_path, keep=True)
    conn = vmhost.connect(vmhost.DEFAULT_URI)
    try:
        # the disk, and the ISO's pool copy when qemu cannot read the user's file where it is
        assert f"{result.name}-disk.qcow2" in result.volumes
        assert sorted(vmhost.leftovers(conn, prefix=result.name)) == sorted(
            [f"domain {result.name}", *(f"volume {v}" for v in result.volumes)])
        assert vmhost.cleanup(conn, result.name, list(result.volumes)) == []
        assert vmhost.leftovers(conn, prefix=result.name) == []
    finally:
        conn.close()


@pytest.mark.timeout(300)
def test_ctrl_c_cleans_up(fakes, tmp_path):
    """SIGINT in the middle of the install phase: exit 130, domain and volume gone."""
    cli = [sys.executable, "-m", "kickgen", "boot-test", str(fakes["silent"]), "--profile", "standin-docker",
           "--quiet", "--artifacts", str(tmp_path), *(x for s in SMALL for x in ("--set", s))]
    # SIGINT at its default in the child even when the test runner was started as a background
    # job (which ignores SIGINT, and kickgen rightly keeps an inherited "ignore")
    proc = subprocess.Popen(cli, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    domain_xml = tmp_path / "install-domain.xml"
    deadline = time.monotonic() + 120
    while not domain_xml.exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.5)
    assert domain_xml.exists(), proc.communicate()
    time.sleep(3)                                       # the domain is defined and running now
    name = ET.parse(domain_xml).getroot().findtext("name")
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "kickgen: interrupted" in err
    conn = vmhost.connect(vmhost.DEFAULT_URI)
    try:
        assert vmhost.leftovers(conn, prefix=name) == []
    finally:
        conn.close()


@pytest.mark.timeout(300)
def test_remote_driver_uploads_the_iso_and_streams_the_console(fakes, tmp_path):
    """qemu+unix:// goes through libvirt's remote driver, as qemu+ssh:// to another machine does:
    no shared files, so the ISO is uploaded as a volume and the console read as a stream."""
    result = boot_test(fakes["ok"], _profile(), connect="qemu+unix:///system", accel="tcg", artifacts=tmp_path)
    assert result.passed, result.verdict
    assert result.volumes == (f"{result.name}-disk.qcow2", f"{result.name}-media.iso")
    install_xml = (tmp_path / "install-domain.xml").read_text()
    assert f"volume='{result.name}-media.iso'" in install_xml and "<serial type='pty'>" in install_xml
    assert "kickgen-standin: install complete: poweroff" in (tmp_path / "install-serial.log").read_text()
    assert "KICKGEN-REPORT v1" in (tmp_path / "boot-serial.log").read_text()
    assert_nothing_left(result)


@pytest.mark.timeout(300)
def test_remote_driver_run_stopped_by_kickgen_ends_cleanly(fakes, tmp_path):
    """The guest waits forever at the prompt: kickgen destroys it while the console stream is
    still open (a blocking read on the command connection would hang here)."""
    result = boot_test(fakes["no-kickstart"], _profile(), connect="qemu+unix:///system", artifacts=tmp_path)
    assert result.phases[0].outcome == "failed"
    assert "kickstart file not found" in result.phases[0].reason
    assert "kickgen-standin: waiting at prompt" in (tmp_path / "install-serial.log").read_text()
    assert_nothing_left(result)
