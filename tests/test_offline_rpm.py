"""RPM headers read from real RPMs built with rpmbuild, checked against rpm's own answers."""

from __future__ import annotations

import hashlib
import subprocess

import pytest

from kickgen.core.errors import MediaError
from kickgen.offline.rpm import Capability, compare_evr, read_rpm, rpmvercmp, satisfies
from offline_fixtures import Spec, build_rpm


def _rpm_query(path, fmt: str) -> str:
    return subprocess.run(["rpm", "-qp", "--nosignature", "--qf", fmt, str(path)],
                          check=True, capture_output=True, text=True).stdout


def test_header_matches_rpm_query(mission_rpms):
    path = mission_rpms["epel"] / "docker-io-1.7.1-2.el6.x86_64.rpm"
    package = read_rpm(path)
    assert (package.name, package.epoch, package.version, package.release, package.arch) == \
        ("docker-io", "0", "1.7.1", "2.el6", "x86_64")
    assert package.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert package.location == path.name
    # requires as rpm itself lists them, without rpmlib() features
    expected = {line for line in _rpm_query(path, "[%{REQUIRENEVRS}\\n]").splitlines()
                if not line.startswith("rpmlib(")}
    assert {str(r) for r in package.requires} == expected
    assert Capability("device-mapper-libs", "GE", "0", "1.02.90", "1") in package.requires
    assert {str(p) for p in package.provides} == set(
        _rpm_query(path, "[%{PROVIDENEVRS}\\n]").splitlines())
    assert [f.path for f in package.files] == sorted(_rpm_query(path, "[%{FILENAMES}\\n]").split())
    assert package.header_start < package.header_end < package.size_package


def test_epoch_is_read(tmp_path):
    path = build_rpm(Spec("epoched", "1.0", "1", epoch=2, files=("/usr/bin/epoched",)),
                     tmp_path, tmp_path)
    package = read_rpm(path)
    assert package.epoch == "2"
    assert package.nevra == "epoched-2:1.0-1.x86_64"
    assert package.full_version == "2:1.0-1"


def test_rpm_file_is_not_modified(mission_rpms):
    path = mission_rpms["updates"] / "libcgroup-0.40.rc1-15.el6_6.x86_64.rpm"
    before = (path.read_bytes(), path.stat().st_mtime_ns)
    read_rpm(path)
    assert (path.read_bytes(), path.stat().st_mtime_ns) == before


def test_garbage_file_is_named(tmp_path):
    bad = tmp_path / "lxc-1.0.8-1.el6.x86_64.rpm"
    bad.write_text("<html>404 Not Found</html>\n")
    with pytest.raises(MediaError, match=r"lxc-1\.0\.8-1\.el6\.x86_64\.rpm: not an RPM file"):
        read_rpm(bad)


@pytest.mark.parametrize("keep", [50, 100, 200, 600, 5000, -100])
def test_truncated_rpm_is_named(mission_rpms, tmp_path, keep):
    good = mission_rpms["epel"] / "lxc-1.0.8-1.el6.x86_64.rpm"
    cut = tmp_path / good.name
    cut.write_bytes(good.read_bytes()[:keep])
    with pytest.raises(MediaError, match=rf"/{cut.name}: (unreadable|damaged) RPM"):
        read_rpm(cut)


def test_damaged_payload_fails_the_md5_digest(mission_rpms, tmp_path):
    good = mission_rpms["epel"] / "lxc-1.0.8-1.el6.x86_64.rpm"
    damaged = tmp_path / good.name
    data = bytearray(good.read_bytes())
    data[-10] ^= 0xFF
    damaged.write_bytes(bytes(data))
    with pytest.raises(MediaError, match=rf"{damaged.name}: damaged RPM: header\+payload MD5"):
        read_rpm(damaged)
    # rpm agrees the file is bad
    assert subprocess.run(["rpm", "-K", "--nosignature", str(damaged)],
                          capture_output=True).returncode != 0


def test_missing_file_is_named(tmp_path):
    with pytest.raises(MediaError, match=r"absent\.rpm: cannot read RPM"):
        read_rpm(tmp_path / "absent.rpm")


@pytest.mark.parametrize(("a", "b", "expected"), [
    ("1.0", "1.0", 0), ("1.02.90", "1.02.79", 1), ("1.0", "1.0a", -1), ("2.el6", "2.el6_5", -1),
    ("10", "9", 1), ("1.0~rc1", "1.0", -1), ("0.40.rc1", "0.40", 1), ("a", "1", -1),
    ("001", "1", 0), ("1.0^git1", "1.0", 1), ("3.10.5", "3.10.10", -1),
])
def test_rpmvercmp(a, b, expected):
    assert rpmvercmp(a, b) == expected
    assert rpmvercmp(b, a) == -expected


def test_rpmvercmp_agrees_with_rpm():
    pairs = [("1.02.90", "1.02.79"), ("2.el6", "2.el6_5"), ("1.0~rc1", "1.0"), ("0.40.rc1", "0.40"),
             ("a", "1"), ("001", "1"), ("4.999.9", "5.1.2"), ("1.2.3b", "1.2.3"), ("el6", "el6.1")]
    script = " ".join(f'print(rpm.vercmp("{a}", "{b}"), " ")' for a, b in pairs)
    out = subprocess.run(["rpm", "--eval", f"%{{lua: {script}}}"], check=True,
                         capture_output=True, text=True).stdout.split()
    assert [rpmvercmp(a, b) for a, b in pairs] == [int(x) for x in out]


def test_compare_evr_epoch_and_missing_release():
    assert compare_evr(("1", "1.0", "1"), ("0", "9.9", "9")) == 1
    assert compare_evr((None, "1.0", None), ("0", "1.0", "5.el6")) == 0
    assert compare_evr(("0", "1.0", "1"), ("0", "1.0", "2")) == -1


@pytest.mark.parametrize(("provide", "require", "ok"), [
    (Capability("lxc", "EQ", "0", "1.0.8", "1.el6"), Capability("lxc", "GE", "0", "1.0"), True),
    (Capability("lxc", "EQ", "0", "0.9.0", "1.el6"), Capability("lxc", "GE", "0", "1.0"), False),
    (Capability("lxc"), Capability("lxc", "GE", "0", "1.0"), True),
    (Capability("dm", "EQ", "0", "1.02.79", "8.el6"), Capability("dm", "EQ", "0", "1.02.90", "2.el6"), False),
    (Capability("dm", "EQ", "0", "1.02.90", "2.el6"), Capability("dm", "GE", "0", "1.02.90", "1"), True),
    (Capability("dm", "EQ", "0", "1.02.90", "2.el6"), Capability("dm", "LT", "0", "1.02.90"), False),
    (Capability("dm", "EQ", "0", "1.02.90", "2.el6"), Capability("dm", "LE", "0", "1.02.90"), True),
    (Capability("x", "GE", "0", "2"), Capability("x", "LT", "0", "3"), True),
    (Capability("y", "EQ", "0", "1"), Capability("x"), False),
])
def test_satisfies(provide, require, ok):
    assert satisfies(provide, require) is ok
