"""Checks shared by the libvirt tests."""

from kickgen.vm import host as vmhost


def assert_nothing_left(result) -> None:
    """No domain, NVRAM or volume of this run is left in libvirt."""
    conn = vmhost.connect(vmhost.DEFAULT_URI)
    try:
        assert vmhost.leftovers(conn, prefix=result.name) == []
    finally:
        conn.close()


def is_png(path) -> bool:
    return path is not None and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
