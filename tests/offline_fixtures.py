"""Small real RPMs built with rpmbuild, a base repodata fixture, and the mission kickstart.

Imported by the tests/test_offline*.py modules (pytest collects fixtures imported into a test
module). The RPMs imitate the mission's packages: names, versions and requires as on EL6, with
a one-line file each. The base repository is metadata only, written with kickgen's writer.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

from kickgen.offline.repodata import write_repodata
from kickgen.offline.rpm import Capability, PackageFile, RpmPackage


@dataclass(frozen=True)
class Spec:
    name: str
    version: str
    release: str
    arch: str = "x86_64"
    requires: tuple[str, ...] = ()
    provides: tuple[str, ...] = ()
    files: tuple[str, ...] = ()
    epoch: int | None = None


# Embedded repos of the mission, as a user gathers them (see docs/offline.md).
MISSION_SPECS: dict[str, tuple[Spec, ...]] = {
    "aufs-kernel": (
        Spec("kernel-ml-aufs", "3.10.5", "3.el6",
             requires=("grubby >= 7.0.4-1", "dracut >= 004-303", "/bin/sh"),
             provides=("kernel = 3.10.5-3.el6",), files=("/boot/vmlinuz-3.10.5-3.el6.x86_64",)),
    ),
    "epel": (
        Spec("docker-io", "1.7.1", "2.el6",
             requires=("lxc", "libcgroup", "bridge-utils", "xz", "iptables", "tar", "/bin/sh",
                       "device-mapper-libs >= 1.02.90-1"),
             provides=("docker = 1.7.1-2.el6",), files=("/usr/bin/docker", "/etc/rc.d/init.d/docker")),
        Spec("lxc", "1.0.8", "1.el6", requires=("lxc-libs = 1.0.8-1.el6", "lua-lxc"),
             files=("/usr/bin/lxc-start",)),
        Spec("lxc-libs", "1.0.8", "1.el6", files=("/usr/lib64/liblxc.so.1",)),
        Spec("lua-lxc", "1.0.8", "1.el6", requires=("lua", "lxc-libs = 1.0.8-1.el6"),
             files=("/usr/lib64/lua/5.1/lxc/core.so",)),
        Spec("epel-release", "6", "8", arch="noarch", files=("/etc/yum.repos.d/epel.repo",)),
    ),
    "updates": (
        Spec("libcgroup", "0.40.rc1", "15.el6_6", requires=("/sbin/chkconfig",),
             files=("/lib64/libcgroup.so.1",)),
        Spec("device-mapper-libs", "1.02.90", "2.el6_6.1",
             files=("/lib64/libdevmapper.so.1.02",)),
        Spec("device-mapper", "1.02.90", "2.el6_6.1",
             requires=("device-mapper-libs = 1.02.90-2.el6_6.1",), files=("/sbin/dmsetup",)),
        Spec("device-mapper-event-libs", "1.02.90", "2.el6_6.1",
             files=("/lib64/libdevmapper-event.so.1.02",)),
        Spec("device-mapper-event", "1.02.90", "2.el6_6.1",
             requires=("device-mapper = 1.02.90-2.el6_6.1",
                       "device-mapper-event-libs = 1.02.90-2.el6_6.1"),
             files=("/sbin/dmeventd",)),
    ),
}

MISSION_KICKSTART = textwrap.dedent("""\
    install
    cdrom
    repo --name=aufs-kernel --baseurl=file:///mnt/source/kickgen/aufs-kernel
    repo --name=epel --baseurl=file:///mnt/source/kickgen/epel
    repo --name=updates --baseurl=file:///mnt/source/kickgen/updates
    lang en_US.UTF-8
    keyboard us
    rootpw --iscrypted $6$abcdefgh$0123456789
    timezone --utc UTC
    bootloader --location=mbr
    zerombr
    clearpart --all --initlabel
    autopart
    poweroff

    %packages --nobase
    @core
    %end

    %post --nochroot
    mkdir -p /mnt/sysimage/mnt/kickgen
    cp -r /mnt/source/kickgen/. /mnt/sysimage/mnt/kickgen/
    %end

    %post --log=/root/kickgen-post.log
    cat > /etc/yum.repos.d/kickgen-media.repo <<'EOF'
    [kickgen-epel]
    baseurl=file:///mnt/kickgen/epel
    # yum install not-a-package (a heredoc is data)
    EOF
    yum -y --disablerepo='*' --enablerepo='kickgen-*' install kernel-ml-aufs \\
        docker-io epel-release >> /root/yum.log 2>&1 || exit 1
    yum -y update device-mapper-libs device-mapper-event-libs
    chkconfig docker on
    %end
    """)


def _base_package(name: str, version: str, release: str, *, arch: str = "x86_64",
                  requires: tuple[Capability, ...] = (), provides: tuple[Capability, ...] = (),
                  files: tuple[str, ...] = ()) -> RpmPackage:
    return RpmPackage(
        name=name, epoch="0", version=version, release=release, arch=arch,
        sha256=hashlib.sha256(f"{name}-{version}-{release}.{arch}".encode()).hexdigest(),
        location=f"Packages/{name}-{version}-{release}.{arch}.rpm", summary=f"base {name}",
        time_build=1385726532, time_file=1385726532, size_package=1000,
        provides=(Capability(name, "EQ", "0", version, release), *provides), requires=requires,
        files=tuple(PackageFile(f) for f in files))


def base_packages() -> list[RpmPackage]:
    """A few packages of CentOS 6.5's DVD repository, with their EL6 versions."""
    dm = "1.02.79"
    return [
        _base_package("bash", "4.1.2", "15.el6_4", files=("/bin/bash", "/bin/sh")),
        _base_package("glibc", "2.12", "1.132.el6", provides=(Capability("libc.so.6()(64bit)"),)),
        _base_package("glibc", "2.12", "1.132.el6", arch="i686",
                      provides=(Capability("libc.so.6"),)),
        _base_package("chkconfig", "1.3.49.3", "2.el6_4.1", files=("/sbin/chkconfig",)),
        _base_package("grubby", "7.0.15", "5.el6"),
        _base_package("dracut", "004", "335.el6", arch="noarch"),
        _base_package("lua", "5.1.4", "4.1.el6", files=("/usr/bin/lua", "/usr/lib64/liblua-5.1.so")),
        _base_package("bridge-utils", "1.2", "10.el6"),
        _base_package("xz", "4.999.9", "0.3.beta.20091007git.el6"),
        _base_package("iptables", "1.4.7", "11.el6"),
        _base_package("tar", "1.23", "11.el6"),
        _base_package("kernel", "2.6.32", "431.el6", requires=(Capability("grubby"),)),
        _base_package("device-mapper-libs", dm, "8.el6"),
        _base_package("device-mapper", dm, "8.el6",
                      requires=(Capability("device-mapper-libs", "EQ", "0", dm, "8.el6"),)),
        _base_package("device-mapper-event-libs", dm, "8.el6"),
        _base_package("device-mapper-event", dm, "8.el6",
                      requires=(Capability("device-mapper", "EQ", "0", dm, "8.el6"),
                                Capability("device-mapper-event-libs", "EQ", "0", dm, "8.el6"))),
        _base_package("lvm2", "2.02.100", "8.el6",
                      requires=(Capability("device-mapper", "GE", "0", dm),
                                Capability("device-mapper-event", "GE", "0", dm),
                                Capability("/bin/sh"))),
        _base_package("yum", "3.2.29", "40.el6.centos", arch="noarch"),
        # what anaconda forces into every install (kickgen.offline.requests.INSTALLER_FORCED)
        _base_package("grub", "0.97", "83.el6", requires=(Capability("/bin/sh"),)),
        _base_package("e2fsprogs", "1.41.12", "18.el6"),
        _base_package("dosfstools", "3.0.9", "4.el6"),
        _base_package("authconfig", "6.1.12", "13.el6"),
        _base_package("system-config-firewall-base", "1.2.27", "5.el6", arch="noarch",
                      requires=(Capability("iptables"),)),
    ]


BASE_COMPS = b"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE comps PUBLIC "-//CentOS//DTD Comps info//EN" "comps.dtd">
<comps>
  <group>
    <id>core</id>
    <name>Core</name>
    <name xml:lang="de">Kern</name>
    <default>true</default>
    <uservisible>false</uservisible>
    <packagelist>
      <packagereq type="mandatory">bash</packagereq>
      <packagereq type="mandatory">glibc</packagereq>
      <packagereq type="mandatory">lvm2</packagereq>
      <packagereq type="mandatory">yum</packagereq>
      <packagereq type="default">kernel</packagereq>
      <packagereq type="optional">tar</packagereq>
      <packagereq type="conditional" requires="lvm2">dracut</packagereq>
    </packagelist>
  </group>
  <group>
    <id>base</id>
    <name>Base</name>
    <packagelist>
      <packagereq type="mandatory">tar</packagereq>
      <packagereq type="default">not-on-this-media</packagereq>
    </packagelist>
  </group>
</comps>
"""


def build_rpm(spec: Spec, out_dir: Path, work: Path) -> Path:
    """Build SPEC with rpmbuild (gzip payload, as EL6's rpm reads) into OUT_DIR."""
    if shutil.which("rpmbuild") is None:
        pytest.fail("rpmbuild not found: install the Debian package 'rpm' (make setup)")
    lines = [f"Name: {spec.name}", f"Version: {spec.version}", f"Release: {spec.release}",
             "Summary: kickgen test package", "License: MIT", f"BuildArch: {spec.arch}"]
    if spec.epoch is not None:
        lines.append(f"Epoch: {spec.epoch}")
    lines += [f"Requires: {r}" for r in spec.requires]
    lines += [f"Provides: {p}" for p in spec.provides]
    install = "\n".join(f"mkdir -p %{{buildroot}}$(dirname {f})\necho {spec.name} > %{{buildroot}}{f}"
                        for f in spec.files)
    lines += ["%description", "kickgen test package", "%install", install, "%files",
              *spec.files, ""]
    spec_file = work / f"{spec.name}.spec"
    spec_file.write_text("\n".join(lines))
    top = work / "top"
    subprocess.run(
        ["rpmbuild", "-bb", "--quiet", "--define", f"_topdir {top}",
         "--define", f"_rpmdir {out_dir}",
         "--define", "_build_name_fmt %%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm",
         "--define", "_binary_payload w9.gzdio", "--define", "__os_install_post %{nil}",
         "--define", "_build_id_links none", "--define", "_buildhost kickgen-test",
         "--define", "use_source_date_epoch_as_buildtime 1", str(spec_file)],
        check=True, capture_output=True, text=True, env={"PATH": "/usr/bin:/bin",
                                                          "SOURCE_DATE_EPOCH": "1438300800",
                                                          "HOME": str(work)})
    return out_dir / f"{spec.name}-{spec.version}-{spec.release}.{spec.arch}.rpm"


@pytest.fixture(scope="session")
def mission_rpms(tmp_path_factory) -> dict[str, Path]:
    """Repo name -> folder of real RPMs (built once per session; tests copy before changing)."""
    root = tmp_path_factory.mktemp("mission-rpms")
    work = tmp_path_factory.mktemp("rpmbuild")
    folders = {}
    for repo, specs in MISSION_SPECS.items():
        folder = root / repo
        folder.mkdir()
        for spec in specs:
            build_rpm(spec, folder, work)
        folders[repo] = folder
    return folders


@pytest.fixture()
def mission_copy(mission_rpms, tmp_path) -> dict[str, Path]:
    """A private copy of the mission folders that a test may change."""
    copies = {}
    for repo, folder in mission_rpms.items():
        copies[repo] = tmp_path / "rpms" / repo
        shutil.copytree(folder, copies[repo])
    return copies


@pytest.fixture(scope="session")
def base_repo(tmp_path_factory) -> Path:
    """Folder holding repodata/ for base_packages() and BASE_COMPS (no RPM files)."""
    root = tmp_path_factory.mktemp("base-repo")
    write_repodata(root, base_packages(), comps=BASE_COMPS)
    return root


def make_base_iso(repo: Path, iso: Path) -> Path:
    """ISO (Rock Ridge + Joliet, like CentOS media) of the repository folder REPO."""
    if shutil.which("xorriso") is None:
        pytest.fail("xorriso not found (make setup)")
    (repo / ".discinfo").write_text("1385726532.68\n6.5\nx86_64\n1\n")
    subprocess.run(["xorriso", "-as", "mkisofs", "-quiet", "-R", "-J", "-V", "CentOS_6.5_Final",
                    "-o", str(iso), str(repo)], check=True, capture_output=True)
    return iso


@pytest.fixture(scope="session")
def base_iso(base_repo, tmp_path_factory) -> Path:
    """A small ISO with the base repodata at its root."""
    return make_base_iso(base_repo, tmp_path_factory.mktemp("base-iso") / "base.iso")
