"""Embedded repos planned for the ISO, base repodata read from an ISO, and `kickgen check-offline`."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

from kickgen.core.errors import MediaError, ProfileError
from kickgen.offline.check import check_offline, read_iso_repodata
from kickgen.offline.embed import collect_embedded
from kickgen.offline.repodata import read_repodata_dir
from offline_fixtures import MISSION_KICKSTART, Spec, build_rpm


def _embed(folders):
    return {name: [path] for name, path in folders.items()}


def test_plan_puts_rpms_and_repodata_under_kickgen(mission_rpms, tmp_path):
    before = {p: p.read_bytes() for folder in mission_rpms.values() for p in folder.iterdir()}
    embedded = collect_embedded(_embed(mission_rpms))
    paths = [f.iso_path for f in embedded.files]
    assert "/kickgen/epel/docker-io-1.7.1-2.el6.x86_64.rpm" in paths
    assert "/kickgen/epel/repodata/repomd.xml" in paths
    assert "/kickgen/epel/repodata/primary.xml.gz" in paths
    assert max(len(part) for p in paths for part in p.split("/")) <= 64  # Joliet's limit
    assert all(p.startswith(("/kickgen/aufs-kernel/", "/kickgen/epel/", "/kickgen/updates/"))
               for p in paths)
    rpm_files = [f for f in embedded.files if f.iso_path.endswith(".rpm")]
    assert len(rpm_files) == 11 and all(isinstance(f.src, Path) for f in rpm_files)
    assert {p: p.read_bytes() for p in before} == before  # inputs untouched
    assert [r.baseurl for r in embedded.repos] == [
        "file:///mnt/source/kickgen/aufs-kernel", "file:///mnt/source/kickgen/epel",
        "file:///mnt/source/kickgen/updates"]

    entry = next(m for m in embedded.manifest if m.name == "docker-io")
    rpm = mission_rpms["epel"] / "docker-io-1.7.1-2.el6.x86_64.rpm"
    assert entry.as_dict() == {
        "repo": "epel", "name": "docker-io", "version": "1.7.1-2.el6", "arch": "x86_64",
        "sha256": hashlib.sha256(rpm.read_bytes()).hexdigest(), "size": rpm.stat().st_size,
        "path": "/kickgen/epel/docker-io-1.7.1-2.el6.x86_64.rpm"}
    assert embedded.size_added >= sum(p.stat().st_size for p in before)


def test_planned_repo_on_an_iso_is_readable_as_yum_repo(mission_rpms, tmp_path):
    embedded = collect_embedded(_embed(mission_rpms))
    graft = [f"{iso}={host}" for host, iso in embedded.materialize(tmp_path / "gen")]
    iso = tmp_path / "embedded.iso"
    subprocess.run(["xorriso", "-as", "mkisofs", "-quiet", "-R", "-J", "-o", str(iso),
                    "-graft-points", *graft], check=True, capture_output=True)
    for repo in embedded.repos:
        read = read_iso_repodata(iso, subdir=repo.iso_dir)
        assert read.packages == repo.metadata.packages
    # the same repo read from the materialized folder tree
    assert read_repodata_dir(tmp_path / "gen" / "kickgen" / "epel").packages == \
        embedded.repos[1].metadata.packages


def test_base_repodata_read_from_iso(base_iso, base_repo):
    from_iso = read_iso_repodata(base_iso)
    assert from_iso.packages == read_repodata_dir(base_repo).packages
    assert [g.id for g in from_iso.groups] == ["core", "base"]


def test_iso_without_repodata_is_named(tmp_path):
    (tmp_path / "root").mkdir()
    (tmp_path / "root" / "README").write_text("no repo here\n")
    iso = tmp_path / "empty.iso"
    subprocess.run(["xorriso", "-as", "mkisofs", "-quiet", "-R", "-J", "-o", str(iso),
                    str(tmp_path / "root")], check=True, capture_output=True)
    with pytest.raises(MediaError, match=r"/empty\.iso: no repodata/repomd\.xml"):
        read_iso_repodata(iso)


def test_unreadable_rpm_in_a_folder_is_named(mission_copy):
    (mission_copy["epel"] / "lxc-1.0.8-1.el6.x86_64.rpm").write_bytes(b"\xed\xab\xee\xdb" + b"\0" * 200)
    with pytest.raises(MediaError, match=r"epel/lxc-1\.0\.8-1\.el6\.x86_64\.rpm: unreadable RPM"):
        collect_embedded(_embed(mission_copy))


@pytest.mark.parametrize(("name", "make", "message"), [
    ("bad/name", lambda d: d, r"media\.embed\.bad/name: a repo name is letters"),
    # the names kickgen.core.el6 reserves, with the profile's wording
    ("repodata", lambda d: d, r"media\.embed\.repodata: 'repodata' is reserved \(used by kickgen\); "
                              r"choose another repo name"),
    ("media", lambda d: d, r"media\.embed\.media: 'media' is reserved \(used by kickgen\)"),
    ("base", lambda d: d, r"media\.embed\.base: 'base' is reserved \(the install media's own "
                          r"repository\)"),
    ("epel", lambda d: d / "absent", r"media\.embed\.epel: .*/absent does not exist"),
    ("epel", lambda d: d / "empty", r"media\.embed\.epel: no binary \.rpm files in .*/empty"),
    ("epel", lambda d: d / "notes.txt", r"media\.embed\.epel: .*/notes\.txt is not an \.rpm file"),
])
def test_bad_embed_entries(tmp_path, name, make, message):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "x.src.rpm").write_text("source packages are not carried")
    (tmp_path / "notes.txt").write_text("hi")
    with pytest.raises(ProfileError, match=message):
        collect_embedded({name: [make(tmp_path)]})


def test_two_different_files_with_one_name(mission_rpms, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    (other / "lxc-1.0.8-1.el6.x86_64.rpm").write_bytes(
        (mission_rpms["epel"] / "lxc-libs-1.0.8-1.el6.x86_64.rpm").read_bytes())
    with pytest.raises(ProfileError, match=r"two different files named lxc-1\.0\.8-1\.el6\.x86_64\.rpm"):
        collect_embedded({"epel": [mission_rpms["epel"], other]})
    # the same file listed twice is fine
    twice = collect_embedded({"epel": [mission_rpms["epel"],
                                       mission_rpms["epel"] / "lxc-1.0.8-1.el6.x86_64.rpm"]})
    assert len(twice.repos[0].rpms) == 5


def _kickgen(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kickgen", *args], capture_output=True, text=True)


def test_cli_check_offline_complete(base_iso, mission_rpms, tmp_path):
    ks = tmp_path / "mission.cfg"
    ks.write_text(MISSION_KICKSTART)
    result = _kickgen("check-offline", "--ks", str(ks), "--base", str(base_iso),
                      *[f"--embed={name}={path}" for name, path in mission_rpms.items()])
    assert result.returncode == 0, result.stderr
    assert "repo epel: 5 packages" in result.stdout
    assert "embedded: 11 RPMs" in result.stdout
    assert result.stdout.rstrip().endswith("offline set complete")


def test_cli_check_offline_names_the_missing_package(base_iso, mission_copy, tmp_path):
    (mission_copy["epel"] / "lua-lxc-1.0.8-1.el6.x86_64.rpm").unlink()
    ks = tmp_path / "mission.cfg"
    ks.write_text(MISSION_KICKSTART)
    result = _kickgen("check-offline", "--ks", str(ks), "--base", str(base_iso),
                      *[f"--embed={name}={path}" for name, path in mission_copy.items()])
    assert result.returncode == 1
    assert "MISSING: lua-lxc (needed by lxc-1.0.8-1.el6.x86_64 from repo 'epel')" in result.stdout
    assert result.stderr.splitlines()[0] == (
        "kickgen: error: offline package set incomplete: 1 missing capability, first: lua-lxc "
        "(needed by lxc-1.0.8-1.el6.x86_64 from repo 'epel')")
    assert "offline set complete" not in result.stdout


def test_cli_check_offline_usage_errors(base_iso, tmp_path):
    ks = tmp_path / "mission.cfg"
    ks.write_text(MISSION_KICKSTART)
    result = _kickgen("check-offline", "--ks", str(ks), "--base", str(base_iso))
    assert result.returncode == 2
    assert "nothing to check" in result.stderr
    result = _kickgen("check-offline", "--ks", str(ks), "--base", str(base_iso),
                      "--embed", "no-equals-sign")
    assert result.returncode == 2
    assert "--embed no-equals-sign: expected REPO=PATH" in result.stderr


@pytest.mark.parametrize(("required", "missing"), [
    ("/usr/lib64/liblua-5.1.so", []),   # only in the base's filelists.xml, not in primary
    ("/usr/lib64/libabsent.so", ["/usr/lib64/libabsent.so (needed by site-tools-1.0-1.x86_64 "
                                 "from repo 'site')"]),
])
def test_file_requires_use_the_base_file_lists(base_iso, tmp_path, required, missing):
    site = tmp_path / "site"
    site.mkdir()
    build_rpm(Spec("site-tools", "1.0", "1", requires=(required, "/bin/sh"),
                   files=("/usr/bin/site-tools",)), site, tmp_path)
    text = ("install\ncdrom\nlang en_US.UTF-8\nkeyboard us\nrootpw --iscrypted $6$x$y\n"
            "timezone UTC\nbootloader --location=mbr\nautopart\npoweroff\n"
            "%packages --nobase\n@core\n%end\n%post\nyum -y install site-tools\n%end\n")
    primary_only = read_iso_repodata(base_iso, filelists=False)
    lua = next(p for p in primary_only.packages if p.name == "lua")
    assert [f.path for f in lua.files] == ["/usr/bin/lua"]  # primary keeps */bin/* only
    result = check_offline(text, base_iso, {"site": [site]})
    assert [str(m) for m in result.report.missing] == missing
    assert result.repos == (("base", 23), ("site", 1))
