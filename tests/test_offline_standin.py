"""Offline (air-gapped) media on the stand-in: the stand-in yum honours repositories, the stand-in
media carries real repodata, and the offline mission profile installs from the embedded repos.

Fast tests chroot into a stand-in root (as tests/test_standin_installer.py does) with the
embedded repos laid out where the offline kickstart puts them (/mnt/kickgen/<repo>, the media at
/mnt/kickgen-media) and the kickstart's repo files. The media tests remaster the stand-in media with
`kickgen iso` (embedding the rpmbuild fixture RPMs); the install under qemu is a case of the
full matrix (tests/test_matrix_standin.py). The negative test removes one RPM: `kickgen iso` stops
before writing anything.
"""

from __future__ import annotations

import dataclasses
import posixpath
import re
import shutil
import subprocess
from pathlib import Path

from kickgen.core.el6 import INSTALLED_ROOT, ISO_ROOT, MEDIA_BIND, REPO_ID_PREFIX, OfflineRepo
from kickgen.offline.check import check_offline, read_iso_repodata
from kickgen.offline.embed import collect_embedded
from kickgen.offline.requests import INSTALLER_FORCED
from kickgen.profile import load_profile
from kickgen.standin.builder import base_repodata
from test_standin_installer import sh, standin_root  # noqa: F401 (fixture)

KICKGEN = Path(__file__).resolve().parents[1] / ".venv" / "bin" / "kickgen"
YUM = "yum -y --disablerepo='*' --enablerepo='kickgen-*'"   # as the offline kickstart calls it


def _repo_file(root: Path, repo_id: str, url: str, enabled: int = 1) -> None:
    (root / "etc/yum.repos.d" / f"{repo_id}.repo").write_text(
        f"[{repo_id}]\nname={repo_id} (test)\nbaseurl={url}\ngpgcheck=0\nenabled={enabled}\n")


def lay_out_offline_repos(root: Path, folders: dict[str, Path]) -> None:
    """What the offline kickstart's %post leaves in the new system: the embedded repos copied to
    /mnt/kickgen/<repo>, the install media at /mnt/kickgen-media, and its repo files."""
    embedded = collect_embedded({repo: [folder] for repo, folder in folders.items()})
    for item in embedded.files:
        target = root / INSTALLED_ROOT.lstrip("/") / posixpath.relpath(item.iso_path, ISO_ROOT)
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(item.src, Path):
            shutil.copyfile(item.src, target)
        else:
            target.write_bytes(item.src)
    for repo in folders:
        _repo_file(root, OfflineRepo(repo).repo_id, OfflineRepo(repo).installed_url)
    media = root / MEDIA_BIND.lstrip("/")
    for rel, data in base_repodata():
        (media / rel).parent.mkdir(parents=True, exist_ok=True)
        (media / rel).write_bytes(data)
    _repo_file(root, f"{REPO_ID_PREFIX}media", f"file://{MEDIA_BIND}", enabled=0)


# --- the stand-in yum and repositories (chroot) -------------------------------------------------

def test_yum_installs_from_the_embedded_repos_as_the_kickstart_asks(standin_root, mission_rpms) -> None:
    lay_out_offline_repos(standin_root, mission_rpms)
    result = sh(standin_root,
                f"{YUM} install kernel-ml-aufs-3.10.5-3.el6 && "
                f"{YUM} update device-mapper-libs device-mapper-event-libs && "
                f"{YUM} install docker-io && "
                "rpm -q kernel-ml-aufs device-mapper-libs docker-io lxc lua-lxc libcgroup bridge-utils")
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr
    # Recorded under the versions the embedded metadata lists (not the catalogue's)
    assert result.stdout.splitlines()[-7:] == [
        "kernel-ml-aufs-3.10.5-3.el6.x86_64", "device-mapper-libs-1.02.90-2.el6_6.1.x86_64",
        "docker-io-1.7.1-2.el6.x86_64", "lxc-1.0.8-1.el6.x86_64", "lua-lxc-1.0.8-1.el6.x86_64",
        "libcgroup-0.40.rc1-15.el6_6.x86_64", "bridge-utils-1.2-10.el6.x86_64"]
    # bridge-utils is on the install media (enabled=0, but --enablerepo='kickgen-*' matches it)
    assert re.search(r"^ bridge-utils +x86_64 +1\.2-10\.el6 +kickgen-media$", result.stdout, re.M)
    assert re.search(r"^ docker-io +x86_64 +1\.7\.1-2\.el6 +kickgen-epel$", result.stdout, re.M)
    # content still comes from the catalogue: the stand-in docker and its init script
    assert (standin_root / "etc/rc.d/init.d/docker").is_file()


def test_yum_refuses_what_no_enabled_repo_lists(standin_root, mission_copy) -> None:
    (mission_copy["epel"] / "lxc-1.0.8-1.el6.x86_64.rpm").unlink()
    lay_out_offline_repos(standin_root, mission_copy)
    missing = sh(standin_root, f"{YUM} install lxc")
    assert missing.returncode == 1
    assert "No package lxc available." in missing.stdout and "Error: Nothing to do" in missing.stderr
    broken = sh(standin_root, f"{YUM} install docker-io")
    assert broken.returncode == 1
    assert broken.stderr.splitlines()[:2] == ["Error: Package: docker-io-1.7.1-2.el6.x86_64 (kickgen-epel)",
                                              "           Requires: lxc"]
    assert sh(standin_root, "rpm -q docker-io").returncode == 1
    version = sh(standin_root, f"{YUM} install kernel-ml-aufs-3.10.6")
    assert version.returncode == 1 and "No package kernel-ml-aufs-3.10.6 available." in version.stdout
    # only the embedded kernel repo enabled: epel's packages are not offered
    only_kernel = sh(standin_root, "yum -y --disablerepo='*' --enablerepo=kickgen-aufs-kernel install docker-io")
    assert only_kernel.returncode == 1 and "No package docker-io available." in only_kernel.stdout


def test_yum_repository_errors_and_the_network_stand_in(standin_root, mission_rpms) -> None:
    lay_out_offline_repos(standin_root, mission_rpms)
    none = sh(standin_root, "yum -y --disablerepo='*' install xz")
    assert none.returncode == 1 and none.stderr.splitlines()[0] == "There are no enabled repos."
    _repo_file(standin_root, "kickgen-broken", "file:///mnt/nowhere")
    broken = sh(standin_root, f"{YUM} install xz")
    assert broken.returncode == 1
    assert ("Error: Cannot retrieve repository metadata (repomd.xml) for repository: kickgen-broken. "
            "Please verify its path and try again") in broken.stderr
    # later options win: enable all, then disable the broken one again
    ok = sh(standin_root, "yum -y --disablerepo='*' --enablerepo='kickgen-*' --disablerepo=kickgen-broken "
                          "install xz && rpm -q xz")
    assert ok.returncode == 0, ok.stderr
    # CentOS-Base.repo (mirrorlist: the network) is answered by the stand-in catalogue (its
    # CentOS-signed packages: the repo's key is imported with -y)
    network = sh(standin_root, "yum -y --disablerepo='kickgen-*' install bridge-utils && rpm -q bridge-utils")
    assert network.returncode == 0, network.stderr
    assert network.stdout.splitlines()[-1] == "bridge-utils-1.2-10.el6.x86_64"
    repolist = sh(standin_root, "yum --disablerepo='*' --enablerepo='kickgen-*' --disablerepo=kickgen-broken repolist")
    assert re.search(r"^kickgen-epel +file:///mnt/kickgen/epel +5$", repolist.stdout, re.M), repolist.stdout
    # metadata that no longer matches repomd.xml is refused, as yum checks the checksums
    primary = standin_root / "mnt/kickgen/updates/repodata/primary.xml.gz"
    primary.write_bytes((standin_root / "mnt/kickgen/epel/repodata/primary.xml.gz").read_bytes())
    stale = sh(standin_root, "yum -y --disablerepo='*' --enablerepo=kickgen-updates install libcgroup")
    assert stale.returncode == 1
    assert stale.stderr.splitlines()[-1] == ("Error: failure: repodata/primary.xml.gz from kickgen-updates: "
                                             "[Errno 256] No more mirrors to try.")


# --- the stand-in media's repodata and the completeness check ----------------------------------

def test_standin_media_repodata_is_read_by_kickgen(standin_minimal) -> None:
    base = read_iso_repodata(standin_minimal)
    names = {p.name: p.full_version for p in base.packages}
    # versions of the installed stand-in base system and of its catalogue
    assert names["device-mapper-libs"] == "1.02.79-8.el6"
    assert names["bridge-utils"] == "1.2-10.el6"
    assert "docker-io" not in names and "kernel-ml-aufs" not in names   # not on CentOS media
    # as on the real DVD: what the installer forces into every install
    assert [name for name, _ in INSTALLER_FORCED if name not in names] == []
    assert {g.id for g in base.groups} == {"core", "base"}


def _with_embed(profile, embed: dict[str, list[Path]]):
    """PROFILE with media.embed replaced (the folders of a test)."""
    return dataclasses.replace(profile, media=dataclasses.replace(
        profile.media, embed={repo: tuple(paths) for repo, paths in embed.items()}))


def test_check_offline_on_the_standin_media(standin_minimal, mission_copy) -> None:
    profile = load_profile("centos65-docker-offline")
    embed = {repo: [folder] for repo, folder in mission_copy.items()}
    good = check_offline(_with_embed(profile, embed), standin_minimal)
    assert good.report.ok, [str(m) for m in good.report.missing]
    assert ("docker-io-1.7.1-2.el6.x86_64", "epel") in good.report.selected
    assert ("bridge-utils-1.2-10.el6.x86_64", "base") in good.report.selected
    (mission_copy["epel"] / "lua-lxc-1.0.8-1.el6.x86_64.rpm").unlink()
    bad = check_offline(_with_embed(profile, embed), standin_minimal)
    assert [str(m) for m in bad.report.missing] == ["lua-lxc (needed by lxc-1.0.8-1.el6.x86_64 from repo 'epel')"]


# --- kickgen iso + install + first boot ---------------------------------------------------------

def offline_profile(folder: Path, embed: dict[str, Path]) -> Path:
    """The offline mission profile with the stand-in's expectations and the fixture RPMs."""
    lines = ["extends: centos65-docker-offline",
             "description: offline mission on the stand-in media (test)",
             "boot:", "  timeout: 1",
             "report:", "  poweroff: true",
             # the stand-in's expectations, as in profiles/standin-docker.yaml
             "expect:", "  kernel_release: '^[0-9]+\\.[0-9]+\\.[0-9]+-[0-9]+-amd64$'", "  aufs: false",
             "  docker_running: true", "  storage_driver: vfs", "  default_entry: '3\\.10\\.5-3\\.el6'",
             "media:", "  embed:"]
    lines += [f"    {repo}: {path}" for repo, path in sorted(embed.items())]
    path = folder / "offline-standin.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def kickgen(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(KICKGEN), *args], capture_output=True, text=True, timeout=600)


def test_kickgen_iso_stops_when_a_package_is_missing(standin_minimal, mission_copy, tmp_path) -> None:
    (mission_copy["epel"] / "lxc-libs-1.0.8-1.el6.x86_64.rpm").unlink()
    profile = offline_profile(tmp_path, mission_copy)
    out = tmp_path / "out" / "offline.iso"
    out.parent.mkdir()
    result = kickgen("iso", str(profile), "--base", str(standin_minimal), "-o", str(out), "--quiet")
    assert result.returncode == 1, result.stderr
    # lxc and lua-lxc both need it
    assert ("kickgen: error: offline package set incomplete: 2 missing capabilities, first: "
            "lxc-libs = 1.0.8-1.el6 (needed by lxc-1.0.8-1.el6.x86_64 from repo 'epel')") in result.stderr
    assert list(out.parent.iterdir()) == []          # no ISO, no manifest, no temp file


# The offline mission installing under qemu (BIOS/UEFI, CD/USB) is part of the full matrix on the
# stand-in: tests/test_matrix_standin.py.
