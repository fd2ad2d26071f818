"""Yum metadata: written from real RPMs, read back by us and by createrepo_c, gzip, stable bytes."""

from __future__ import annotations

import gzip
import hashlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kickgen.core.errors import MediaError
from kickgen.offline.repodata import read_repodata_dir, render_repodata, write_repodata
from kickgen.offline.rpm import read_rpm
from offline_fixtures import BASE_COMPS, base_packages

REPOMD_RECORD = re.compile(r'<data type="(\w+)">\s*<checksum type="sha256">(\w+)</checksum>\s*'
                           r'(?:<open-checksum type="sha256">(\w+)</open-checksum>\s*)?'
                           r'<location href="([^"]+)"/>')
CREATEREPO_C = Path(sys.executable).parent / "createrepo_c"


def _packages(folder: Path):
    return [read_rpm(path) for path in sorted(folder.glob("*.rpm"))]


def _essentials(package):
    return (package.nevra, package.sha256, package.location, package.provides, package.requires,
            package.files, package.header_start, package.header_end, package.size_package)


@pytest.fixture()
def epel_repo(mission_rpms, tmp_path) -> Path:
    repo = tmp_path / "epel"
    shutil.copytree(mission_rpms["epel"], repo)
    write_repodata(repo, _packages(repo))
    return repo


def test_written_metadata_reads_back_equal(epel_repo):
    written = sorted(_packages(epel_repo), key=lambda p: p.name)
    read = sorted(read_repodata_dir(epel_repo).packages, key=lambda p: p.name)
    assert read == written
    assert {p.name for p in read} == {"docker-io", "lxc", "lxc-libs", "lua-lxc", "epel-release"}


def test_gzip_compressed_and_checksums_match_repomd(epel_repo):
    repomd = (epel_repo / "repodata" / "repomd.xml").read_text()
    records = REPOMD_RECORD.findall(repomd)
    assert sorted(kind for kind, *_ in records) == ["filelists", "other", "primary"]
    for kind, checksum, open_checksum, href in records:
        data = (epel_repo / href).read_bytes()
        assert href.endswith(f"-{kind}.xml.gz")
        assert data[:2] == b"\x1f\x8b", f"{href} is not gzip"
        assert not data.startswith(b"\x28\xb5\x2f\xfd"), f"{href} is zstd"
        assert hashlib.sha256(data).hexdigest() == checksum
        assert hashlib.sha256(gzip.decompress(data)).hexdigest() == open_checksum
    assert sorted(os.listdir(epel_repo / "repodata")) == sorted(
        ["repomd.xml"] + [Path(href).name for *_, href in records])


def test_createrepo_c_parses_our_metadata(epel_repo):
    import createrepo_c as cr

    primary = next((epel_repo / "repodata").glob("*-primary.xml.gz"))
    seen = {}

    def on_package(pkg):
        seen[pkg.name] = pkg
        return True

    cr.xml_parse_primary(str(primary), pkgcb=on_package, do_files=True)
    assert set(seen) == {"docker-io", "lxc", "lxc-libs", "lua-lxc", "epel-release"}
    docker = seen["docker-io"]
    assert (docker.version, docker.release, docker.arch) == ("1.7.1", "2.el6", "x86_64")
    assert ("device-mapper-libs", "GE", "0", "1.02.90", "1", False) in docker.requires
    assert docker.location_href == "docker-io-1.7.1-2.el6.x86_64.rpm"
    repomd = cr.Repomd(str(epel_repo / "repodata" / "repomd.xml"))
    assert {r.type for r in repomd.records} == {"primary", "filelists", "other"}


def test_we_read_createrepo_c_gzip_metadata_alike(mission_rpms, tmp_path):
    repo = tmp_path / "by-createrepo"
    shutil.copytree(mission_rpms["epel"], repo)
    subprocess.run([str(CREATEREPO_C), "-q", "--general-compress-type=gz", str(repo)], check=True)
    theirs = sorted(map(_essentials, read_repodata_dir(repo).packages))
    ours = sorted(map(_essentials, _packages(repo)))
    assert theirs == ours


def test_zstd_metadata_is_refused_with_a_hint(mission_rpms, tmp_path):
    repo = tmp_path / "zstd"
    shutil.copytree(mission_rpms["epel"], repo)
    subprocess.run([str(CREATEREPO_C), "-q", str(repo)], check=True)  # 1.x default: zstd
    with pytest.raises(MediaError, match=r"primary\.xml\.zst: zstd-compressed metadata, which "
                                         r"EL6 yum cannot read") as caught:
        read_repodata_dir(repo)
    assert "gz" in caught.value.hint


def test_same_rpms_give_the_same_bytes(mission_rpms, tmp_path):
    first = render_repodata(_packages(mission_rpms["updates"]))
    copy = tmp_path / "updates"
    shutil.copytree(mission_rpms["updates"], copy)
    for index, path in enumerate(sorted(copy.glob("*.rpm"))):
        os.utime(path, (1_000_000 + index, 2_000_000 + index))  # other mtimes, other order
    second = render_repodata(reversed(_packages(copy)))
    assert first == second
    write_repodata(tmp_path / "updates", _packages(copy))
    written = {f"repodata/{p.name}": p.read_bytes() for p in (copy / "repodata").iterdir()}
    assert written == dict(first)


def test_plain_names(mission_rpms, tmp_path):
    files = dict(render_repodata(_packages(mission_rpms["epel"]), comps=BASE_COMPS,
                                 unique_names=False))
    assert sorted(files) == ["repodata/comps.xml", "repodata/comps.xml.gz",
                             "repodata/filelists.xml.gz", "repodata/other.xml.gz",
                             "repodata/primary.xml.gz", "repodata/repomd.xml"]
    assert '<location href="repodata/primary.xml.gz"/>' in files["repodata/repomd.xml"].decode()
    for rel, data in files.items():
        (tmp_path / rel).parent.mkdir(exist_ok=True)
        (tmp_path / rel).write_bytes(data)
    assert {p.name for p in read_repodata_dir(tmp_path).packages} == {
        "docker-io", "lxc", "lxc-libs", "lua-lxc", "epel-release"}


def test_rewriting_replaces_old_metadata(epel_repo):
    (epel_repo / "lxc-libs-1.0.8-1.el6.x86_64.rpm").unlink()
    write_repodata(epel_repo, _packages(epel_repo))
    names = {p.name for p in read_repodata_dir(epel_repo).packages}
    assert "lxc-libs" not in names and "lxc" in names
    assert len(list((epel_repo / "repodata").iterdir())) == 4
    assert not [p for p in epel_repo.iterdir() if p.name.startswith(".repodata")]


def test_comps_groups_read_back(tmp_path):
    write_repodata(tmp_path, base_packages(), comps=BASE_COMPS)
    repomd = (tmp_path / "repodata" / "repomd.xml").read_text()
    assert '<data type="group">' in repomd and '<data type="group_gz">' in repomd
    metadata = read_repodata_dir(tmp_path)
    groups = {g.id: g for g in metadata.groups}
    assert groups["core"].name == "Core"
    assert groups["core"].mandatory == ("bash", "glibc", "lvm2", "yum")
    assert groups["core"].default == ("kernel",)
    assert groups["core"].optional == ("tar",)
    assert groups["core"].conditional == (("dracut", "lvm2"),)
    assert len(metadata.packages) == len(base_packages())


def test_damaged_metadata_is_detected(epel_repo):
    primary = next((epel_repo / "repodata").glob("*-primary.xml.gz"))
    primary.write_bytes(gzip.compress(b"<metadata/>", mtime=0))
    with pytest.raises(MediaError, match=rf"{primary.name}: sha256 checksum differs from "
                                         r"repodata/repomd\.xml"):
        read_repodata_dir(epel_repo)


def test_folder_without_repodata_is_named(tmp_path):
    with pytest.raises(MediaError, match=rf"{tmp_path}: no repodata/repomd\.xml"):
        read_repodata_dir(tmp_path)


def test_timestamp_is_the_callers_epoch(mission_rpms):
    packages = _packages(mission_rpms["epel"])
    repomd = dict(render_repodata(packages, comps=BASE_COMPS, timestamp=1234567890))[
        "repodata/repomd.xml"].decode()
    assert "<revision>1234567890</revision>" in repomd
    assert re.findall(r"<timestamp>(\d+)</timestamp>", repomd) == ["1234567890"] * 5
    newest = max(p.time_build for p in packages)   # the default: the newest build time
    assert f"<revision>{newest}</revision>" in dict(render_repodata(packages))[
        "repodata/repomd.xml"].decode()


def test_synthetic_packages_read_back_equal(tmp_path):
    """Packages without RPM files (the stand-in's base repo): every field, requires in order."""
    written = base_packages()
    write_repodata(tmp_path, written, comps=BASE_COMPS)
    key = lambda p: (p.name, p.arch)  # noqa: E731
    assert sorted(read_repodata_dir(tmp_path).packages, key=key) == sorted(written, key=key)
    event = next(p for p in read_repodata_dir(tmp_path).packages if p.name == "device-mapper-event")
    assert [r.name for r in event.requires] == ["device-mapper", "device-mapper-event-libs"]


def test_file_kinds_read_back(tmp_path):
    """Directories and %ghost files keep their type, in primary (/etc/) and in filelists."""
    import dataclasses

    from kickgen.offline.rpm import PackageFile

    files = (PackageFile("/etc/bash.d", "dir"), PackageFile("/var/log/bash.log", "ghost"),
             PackageFile("/bin/bash"))
    write_repodata(tmp_path, [dataclasses.replace(base_packages()[0], files=files)])
    assert read_repodata_dir(tmp_path).packages[0].files == tuple(sorted(files))
    primary_only = read_repodata_dir(tmp_path, filelists=False).packages[0].files
    assert primary_only == (PackageFile("/bin/bash"), PackageFile("/etc/bash.d", "dir"))

def test_control_characters_are_dropped(tmp_path):
    """XML 1.0 cannot carry them (createrepo_c refuses a package holding them): dropped."""
    import dataclasses

    package = dataclasses.replace(base_packages()[0], summary="bash\x01 shell\x1f",
                                  description="line\x0bone\ttab\nnext")
    write_repodata(tmp_path, [package])
    read = read_repodata_dir(tmp_path).packages[0]
    assert (read.summary, read.description) == ("bash shell", "lineone\ttab\nnext")


def _dnf(repo: Path, work: Path, *args: str) -> str:
    """dnf (libsolv + librepo: a reader independent of createrepo_c) on REPO alone."""
    if shutil.which("dnf") is None:
        pytest.fail("dnf not found: install the Debian package 'dnf' (make setup)")
    result = subprocess.run(
        ["dnf", "-q", "--setopt=reposdir=/dev/null", f"--setopt=cachedir={work / 'cache'}",
         f"--installroot={work / 'root'}", "--releasever=6", "--disableplugin=*",
         f"--repofrompath=kg,{repo.as_uri()}", "--repo=kg", *args],
        capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.parametrize("unique_names", [True, False])
def test_dnf_reads_our_metadata(mission_rpms, tmp_path, unique_names):
    repo = tmp_path / "epel"
    shutil.copytree(mission_rpms["epel"], repo)
    write_repodata(repo, _packages(repo), comps=BASE_COMPS, unique_names=unique_names)
    listed = _dnf(repo, tmp_path, "repoquery", "--qf", "%{name}-%{epoch}:%{evr}.%{arch} %{location}")
    assert sorted(listed.split("\n")[:-1]) == [
        "docker-io-0:1.7.1-2.el6.x86_64 docker-io-1.7.1-2.el6.x86_64.rpm",
        "epel-release-0:6-8.noarch epel-release-6-8.noarch.rpm",
        "lua-lxc-0:1.0.8-1.el6.x86_64 lua-lxc-1.0.8-1.el6.x86_64.rpm",
        "lxc-0:1.0.8-1.el6.x86_64 lxc-1.0.8-1.el6.x86_64.rpm",
        "lxc-libs-0:1.0.8-1.el6.x86_64 lxc-libs-1.0.8-1.el6.x86_64.rpm"]
    assert "device-mapper-libs >= 1.02.90-1" in _dnf(repo, tmp_path, "repoquery", "--requires",
                                                      "docker-io").splitlines()
    # a path only filelists.xml lists (primary keeps */bin/* and /etc/* only)
    assert _dnf(repo, tmp_path, "repoquery", "--qf", "%{name}", "--whatprovides",
                "/usr/lib64/liblxc.so.1").split() == ["lxc-libs"]
    core = _dnf(repo, tmp_path, "group", "info", "core")
    assert "Group: Core" in core and "dracut" in core
