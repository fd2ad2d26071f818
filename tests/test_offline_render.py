"""Offline profiles rendered: repos on the media only, the media copy before the chroot scripts,
and the rendered kickstart's requests closed by the embedded RPMs (fixtures built by rpmbuild)."""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
from pathlib import Path

import pytest

from kickgen.core.errors import ProfileError, TemplateError, ValidationError
from kickgen.kickstart.render import offline_repos, render_kickstart
from kickgen.offline import check_offline, embedded_repos_for
from kickgen.offline.repodata import write_repodata
from kickgen.offline.requests import requested_packages
from kickgen.profile import FrozenMapping, load_profile
from kickgen.profile.search import shipped_dir
from ks_helpers import problems as check_kickstart
from ks_helpers import split_kickstart as _split
from offline_fixtures import BASE_COMPS, base_packages, make_base_iso

PROFILES_DIR = shipped_dir()

OFFLINE = "centos65-docker-offline"
REPOS = ("aufs-kernel", "epel", "updates")
KSVALIDATOR = Path(sys.executable).parent / "ksvalidator"


def render(name: str = OFFLINE, overrides=()) -> str:
    return render_kickstart(load_profile(name, overrides), salt="kickgenGolden").text


def _embed_set(folders: dict[str, Path]) -> str:
    return "media.embed={" + ", ".join(f"{k}: [{v}]" for k, v in folders.items()) + "}"


@pytest.fixture(scope="module")
def text() -> str:
    return render()


# --- what the offline kickstart says ---------------------------------------------------------

def test_installer_gets_no_embedded_repo_by_default(text):
    """The embedded repos would join the installer's transaction (newest wins, a dependency
    problem opens a window, a clashing id is dropped silently): by default the installer
    installs %packages from the media only; %post yum takes the embedded packages."""
    lines = text.splitlines()
    assert [line for line in lines if line.startswith("repo ")] == []
    assert "cdrom" in lines and not any(line.startswith("url ") for line in lines)


def test_installer_repos_are_handed_over_under_ids_that_cannot_clash():
    lines = render(OFFLINE, ["media.installer_repos=[updates, epel]"]).splitlines()
    assert [line for line in lines if line.startswith("repo ")] == [
        "repo --name=kickgen-epel --baseurl=file:///mnt/source/kickgen/epel",
        "repo --name=kickgen-updates --baseurl=file:///mnt/source/kickgen/updates"]


@pytest.mark.parametrize("overrides,message", [
    (["media.installer_repos=[epel6]"],
     "--set media.installer_repos: 'epel6' is not a media.embed repo (embedded: aufs-kernel, epel, "
     "updates)"),
    (["media.offline=false", "network.activate=true", "media.installer_repos=[epel]"],
     "--set media.installer_repos: only used with media.offline: true (online, the kickstart does "
     "not use the embedded repos)"),
])
def test_installer_repos_must_be_embedded_offline_repos(overrides, message):
    with pytest.raises(ProfileError) as info:
        load_profile(OFFLINE, overrides)
    assert info.value.message == message


def test_no_network_url_or_network_repo(text):
    assert not re.search(r"(https?|ftp|nfs)://", text), re.search(r"\S*(https?|ftp|nfs)://\S*", text)
    for gone in ("hop5.repo", "kickgen-devmapper", "kickgen-os", "rpm -Uvh", "vault.centos.org",
                 "network --device=eth0 --bootproto=dhcp --onboot=yes --activate"):
        assert gone not in text, gone
    # online, the same profile keeps its network repos
    online = render(OFFLINE, ["media.offline=false", "network.activate=true"])
    assert "repo --name=" not in online and "http://www.hop5.in/yum/el6/" in online


def test_media_copy_precedes_every_chroot_script(text):
    _, sections, _ = _split(text)
    posts = [(s.args, s.body) for s in sections if s.name == "%post"]
    logs = [next(a for a in args if a.startswith("--log=")).rsplit("ks-post-", 1)[1][:-4]
            for args, _ in posts]
    assert logs == ["copy-ks", "media", "repos", "aufs-kernel", "epel", "docker", "report",
                    "repos-final", "media-release"]
    nochroot = [log for log, (args, _) in zip(logs, posts, strict=True) if "--nochroot" in args]
    assert nochroot == ["copy-ks", "media", "media-release"]
    first_chroot = next(i for i, (args, _) in enumerate(posts) if "--nochroot" not in args)
    media = logs.index("media")
    assert media < first_chroot
    assert "--erroronfail" in posts[media][0]
    body = posts[media][1]
    assert 'cp -R "$kg_src/." "$kg_dst/"' in body
    assert "kg_media=/mnt/source\n" in body and "kg_need=kickgen\n" in body
    assert "kg_src=$kg_media/kickgen\n" in body and "kg_dst=/mnt/sysimage/mnt/kickgen\n" in body
    # an hd: install has unmounted /mnt/source: the media is found by label, mounted read-only
    assert "kg_own=/mnt/kickgen-source\n" in body and "    kg_label=$(kg_boot_label CentOS_6.5_Final)\n" in body
    assert 'mount -t iso9660 -o ro "$kg_dev" "$kg_own"' in body
    assert "for kg_repo in aufs-kernel epel updates; do" in body
    assert 'mount -o bind "$kg_media" "$kg_bind"' in body
    release = posts[-1][1]
    assert 'umount "$kg_bind"' in release and "kickgen-media.repo" in release
    assert 'umount "$kg_own"' in release


def test_post_repo_files_and_yum_runs(text):
    _, sections, _ = _split(text)
    repos = next(s.body for s in sections if "--log=/root/ks-post-repos.log" in s.args)
    for r in REPOS:
        assert (f"    '[kickgen-{r}]' 'name={r} (carried on the kickgen media)' "
                f"baseurl=file:///mnt/kickgen/{r} \\\n    'gpgcheck=0' 'enabled=1' \\\n"
                f"    >/etc/yum.repos.d/kickgen-{r}.repo ") in repos
    assert "'[kickgen-media]'" in repos and "'enabled=0'" in repos
    yum_lines = [line for line in text.splitlines() if re.search(r"\byum -y\b", line)]
    assert len(yum_lines) == 4
    for line in yum_lines:
        assert "yum -y --disablerepo='*' --enablerepo='kickgen-*' " in line, line
    assert any(line.endswith("install epel-release") for line in yum_lines)


def test_offline_kickstart_passes_pykickstart_shellcheck_and_ksvalidator(text, tmp_path):
    assert check_kickstart(text) == []          # pykickstart RHEL6, EL6 rules, shellcheck
    path = tmp_path / "offline.ks"
    path.write_text(text)
    result = subprocess.run([str(KSVALIDATOR), "-v", "RHEL6", str(path)], capture_output=True,
                            text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_offline_without_embedded_repos_still_binds_the_media():
    text = render("el6-base", ["media.offline=true"])
    assert "repo --name=" not in text and "/mnt/source/kickgen" not in text
    assert 'mount -o bind "$kg_media" "$kg_bind"' in text
    assert check_kickstart(text) == []


def test_rendering_does_not_read_the_rpm_folders(tmp_path):
    copy = tmp_path / f"{OFFLINE}.yaml"       # beside it: no rpms/ folder at all
    copy.write_text((PROFILES_DIR / f"{OFFLINE}.yaml").read_text())
    p = load_profile(copy)
    assert not (tmp_path / "rpms").exists()
    assert [r.name for r in offline_repos(p)] == list(REPOS)
    assert render_kickstart(p, salt="kickgenGolden").text == render()   # as the shipped one
    with pytest.raises(ProfileError) as info:
        embedded_repos_for(p)
    assert info.value.message == f"media.embed.aufs-kernel: {tmp_path}/rpms/hop5 does not exist"
    assert info.value.hint == "paths are relative to the profile's folder"


def test_repo_names_that_bypass_the_loader_are_refused_by_the_templates():
    p = load_profile(OFFLINE)
    bad = dataclasses.replace(p, media=dataclasses.replace(
        p.media, embed=FrozenMapping({"x;reboot": (Path("a"),)}), installer_repos=("x;reboot",)))
    with pytest.raises(TemplateError) as info:
        render_kickstart(bad, salt="x")
    assert info.value.message.startswith("el6/repos.j2:")


# --- the rendered kickstart against real RPMs ----------------------------------------------------

def test_embedded_repos_for(mission_rpms):
    assert embedded_repos_for(load_profile("centos65-docker")) is None
    profile = load_profile(OFFLINE, [_embed_set(mission_rpms)])
    embedded = embedded_repos_for(profile)
    assert [repo.name for repo in embedded.repos] == list(REPOS)
    # the remaster puts them where the kickstart looks for them
    text = render_kickstart(profile, salt="x").text
    for repo in embedded.repos:
        assert f"repo --name=kickgen-{repo.name} --baseurl={repo.baseurl}" not in text.splitlines()
        assert any(f.iso_path == f"/kickgen/{repo.name}/repodata/repomd.xml" for f in embedded.files)


def test_rendered_offline_kickstart_requests():
    requests = requested_packages(render())
    targets = [r.target for r in requests.items if r.kind == "package"]
    assert targets == ["kernel-ml-aufs-3.10.5-3.el6", "epel-release", "device-mapper-libs",
                       "device-mapper-event-libs", "docker-io"]
    assert not [r for r in requests.items if r.kind in ("url", "unresolved")]


def test_closure_of_the_rendered_kickstart_is_complete(base_iso, mission_rpms):
    profile = load_profile(OFFLINE, [_embed_set(mission_rpms)])
    result = check_offline(profile, base_iso)
    assert result.report.ok, result.report.missing
    selected = dict(result.report.selected)
    assert selected["kernel-ml-aufs-3.10.5-3.el6.x86_64"] == "aufs-kernel"
    assert selected["docker-io-1.7.1-2.el6.x86_64"] == "epel"
    assert selected["device-mapper-libs-1.02.90-2.el6_6.1.x86_64"] == "updates"
    assert selected["bridge-utils-1.2-10.el6.x86_64"] == "base"   # from the media: bind mount
    result.report.require_complete()


def test_closure_names_a_removed_package(base_iso, mission_copy):
    (mission_copy["epel"] / "lua-lxc-1.0.8-1.el6.x86_64.rpm").unlink()
    profile = load_profile(OFFLINE, [_embed_set(mission_copy)])
    result = check_offline(profile, base_iso)
    assert [str(m) for m in result.report.missing] == [
        "lua-lxc (needed by lxc-1.0.8-1.el6.x86_64 from repo 'epel')"]
    with pytest.raises(ValidationError, match=r"first: lua-lxc \(needed by lxc-1\.0\.8"):
        result.report.require_complete()


def test_check_offline_from_a_profile_adds_extra_paths(base_iso, mission_copy, mission_rpms):
    lua = "lua-lxc-1.0.8-1.el6.x86_64.rpm"
    (mission_copy["epel"] / lua).unlink()
    profile = load_profile(OFFLINE, [_embed_set(mission_copy)])
    assert not check_offline(profile, base_iso).report.ok
    extra = check_offline(profile, base_iso, {"epel": [mission_rpms["epel"] / lua]})
    assert extra.report.ok, extra.report.missing
    assert ("epel", 5) in extra.repos
    with pytest.raises(ProfileError, match="nothing is embedded"):
        check_offline(load_profile("centos65-docker"), base_iso)


def test_cli_check_offline_with_the_offline_profile(base_iso, mission_copy, tmp_path):
    kickgen = Path(sys.executable).parent / "kickgen"
    args = [str(kickgen), "check-offline", OFFLINE, "--base", str(base_iso),
            "--set", _embed_set(mission_copy)]
    result = subprocess.run(args, capture_output=True, text=True, check=False, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines()[-1] == "offline set complete"
    (mission_copy["updates"] / "libcgroup-0.40.rc1-15.el6_6.x86_64.rpm").unlink()
    result = subprocess.run(args, capture_output=True, text=True, check=False, cwd=tmp_path)
    assert result.returncode == 1
    assert "MISSING: libcgroup (needed by docker-io-1.7.1-2.el6.x86_64 from repo 'epel')" \
        in result.stdout


# --- what the installer itself installs ----------------------------------------------------------

def test_check_models_the_packages_the_installer_forces_in(mission_rpms, tmp_path):
    """anaconda adds kernel, grub, lvm2, e2fsprogs, dosfstools, authconfig, chkconfig and
    system-config-firewall-base to every install, from the base media (and installer repos)."""
    repo = tmp_path / "base"
    repo.mkdir()
    write_repodata(repo, [p for p in base_packages() if p.name != "system-config-firewall-base"],
                   comps=BASE_COMPS)
    iso = make_base_iso(repo, tmp_path / "base.iso")
    result = check_offline(load_profile(OFFLINE, [_embed_set(mission_rpms)]), iso)
    assert [str(m) for m in result.report.missing] == [
        "system-config-firewall-base (needed by the installer: selectAnacondaNeeds, "
        "yuminstall.py:1592-1594; no package or provide of that name in the base media and "
        "media.installer_repos (all the installer sees))"]
    assert result.installer_repos == ()


def test_packages_from_embedded_repos_need_installer_repos(base_iso, mission_rpms):
    """%packages is resolved over the base media and media.installer_repos only; %post yum
    over every embedded repo."""
    args = [_embed_set(mission_rpms), "packages.names=['@core', lxc]"]
    result = check_offline(load_profile(OFFLINE, args), base_iso)
    assert [str(m) for m in result.report.missing] == [
        "lxc (needed by %packages; no package or provide of that name in the base media and "
        "media.installer_repos (all the installer sees))"]
    handed = check_offline(load_profile(OFFLINE, args + ["media.installer_repos=[epel]"]), base_iso)
    assert handed.report.ok, handed.report.missing
    assert handed.installer_repos == ("epel",)
    assert ("lxc-1.0.8-1.el6.x86_64", "epel") in handed.installer_report.selected
    # the installer's transaction: the forced packages from the media
    assert ("system-config-firewall-base-1.2.27-5.el6.noarch", "base") in handed.installer_report.selected
