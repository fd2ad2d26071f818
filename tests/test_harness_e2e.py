"""The whole pipeline on real libvirt runs (TCG): stand-in DVD -> render -> remaster -> boot test.

The cases that must fail, and how (the passing cases, online and offline mission on BIOS and
UEFI, CD and USB, are the full matrix in tests/test_matrix_standin.py). Full runs take minutes
under TCG, so there are few of them, and they get short timeouts.
"""

from __future__ import annotations

import subprocess

import pytest

from kickgen.kickstart.render import render_kickstart
from kickgen.pipeline import build_media
from kickgen.profile import load_profile
from kickgen.vm.harness import boot_test
from libvirt_checks import assert_nothing_left, is_png
from paths import TEST_WORK as BUILD_DIR

pytestmark = pytest.mark.vm
MEDIA = BUILD_DIR / "harness-e2e"
FAILING_POST = ('scripts.post=[{name: e2e-fail, erroronfail: true, '
                'body: "echo \'kickgen-e2e: this script fails on purpose\'; exit 3"}]')


def _remastered(standin_dvd, name: str, *overrides: str):
    profile = load_profile("standin-docker", overrides)
    MEDIA.mkdir(parents=True, exist_ok=True)
    made = build_media(profile, standin_dvd, MEDIA / f"{name}.iso")
    return profile, made


@pytest.fixture(scope="session")
def demo_media(standin_dvd):
    return _remastered(standin_dvd, "standin-docker")


@pytest.mark.timeout(1500)
def test_forgetting_chkconfig_docker_on_fails_with_docker_not_running(standin_dvd, tmp_path):
    profile, made = _remastered(standin_dvd, "no-docker-service", "docker.enable_service=false")
    assert "chkconfig docker on" not in render_kickstart(profile).text
    result = boot_test(made.output, profile, artifacts=tmp_path)
    assert not result.passed
    assert [p.outcome for p in result.phases] == ["ok", "ok"], result.verdict
    assert "docker_running: FAILED: expected docker running, got docker not running" in result.verdict
    assert_nothing_left(result)


@pytest.mark.timeout(900)
def test_ks_pointing_at_a_missing_file_is_caught_with_a_screenshot(demo_media, tmp_path):
    """The remastered ISO with /ks.cfg taken out again (xorriso keeps the boot records): its
    boot entry's ks=cdrom:/ks.cfg names a file that is not there."""
    profile, made = demo_media
    broken = tmp_path / "no-ks.iso"
    subprocess.run(["xorriso", "-indev", str(made.output), "-outdev", str(broken), "-boot_image", "any",
                    "replay", "-rm", "/ks.cfg", "--"], check=True, capture_output=True)
    result = boot_test(broken, profile, timeout_install=420, stall_seconds=180, artifacts=tmp_path / "run")
    install = result.phases[0]
    # the stand-in prints the error line and waits at its prompt: the line ends the phase, not
    # the stall detector or the timeout (those are tested on their own in test_harness_vm.py)
    assert install.outcome == "failed", result.verdict
    assert install.reason == ("the installer did not find the kickstart: "
                              "kickgen-standin: ERROR: kickstart file not found: ks=cdrom:/ks.cfg")
    assert result.phases[1].outcome == "not-run"
    assert is_png(install.screenshot)
    assert result.exit_code == 1
    assert_nothing_left(result)


@pytest.mark.timeout(900)
def test_post_erroronfail_failure_is_an_install_failure_with_the_log_lines(standin_dvd, tmp_path):
    profile, made = _remastered(standin_dvd, "post-fails", FAILING_POST)
    result = boot_test(made.output, profile, timeout_install=600, stall_seconds=180, artifacts=tmp_path)
    install = result.phases[0]
    assert install.outcome == "failed", result.verdict
    assert install.reason.startswith("a %post --erroronfail script failed: ")
    assert "exit code 3" in install.reason
    assert any("kickgen-e2e: this script fails on purpose" in line for line in install.excerpt), install.excerpt
    assert result.phases[1].outcome == "not-run"
    assert_nothing_left(result)
