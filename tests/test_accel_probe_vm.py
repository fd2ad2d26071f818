"""The KVM probe (kickgen/vm/host.py) judges KVM, not the file permissions of kickgen's cache."""

from __future__ import annotations

import pytest

from kickgen.vm import host as vmhost

pytestmark = pytest.mark.vm


def test_the_probe_reads_its_iso_whatever_the_cache_folder_permissions(tmp_path, monkeypatch):
    # A cache under a folder libvirt's qemu user cannot enter (root's 0700 home in CI): before,
    # the probe guest never started ("Permission denied") and the probe blamed KVM for it.
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    monkeypatch.setenv("KICKGEN_CACHE_DIR", str(private / "cache"))
    monkeypatch.setattr(vmhost, "_accel_cache", {})
    conn = vmhost.connect(vmhost.DEFAULT_URI)
    try:
        accel = vmhost.choose_accel(conn, vmhost.DEFAULT_URI, "auto")
        assert vmhost.leftovers(conn, prefix=f"{vmhost.NAME_PREFIX}kvm-probe") == []
    finally:
        conn.close()
    assert "did not start" not in accel.reason, accel.reason
    assert "Permission denied" not in accel.reason, accel.reason
