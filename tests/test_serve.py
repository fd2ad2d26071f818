"""kickgen serve and kickgen status, against the real server on 127.0.0.1 with real clients
(urllib and raw sockets): range reads byte for byte, HEAD and conditional requests, 416, the
traversal table, methods, kickstarts, reports (verdicts, 400, 404, 413 without reading the
body, 100-continue), a slow reader and a slowloris client next to a fast one, header limits,
state across a restart, and the two commands' output and exit codes.

The netboot trees are made here by hand, exactly as the contract of issue 14 says
(kickgen-netboot.json, http/hosts/<h>/ks.cfg, the base ISO by absolute path, or http/tree).

    .venv/bin/python -m pytest tests/test_serve.py -q          # about 15 s
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from kickgen.core.errors import KickgenError, MediaError, UsageError
from kickgen.serve import Limits, host_states, start_server
from kickgen.serve.manifest import load_tree
from kickgen.serve.status import exit_code, status_text

KICKGEN = Path(sys.executable).parent / "kickgen"
VOLUME_ID = "KGSERVE_TEST"
BIG = 24 << 20                      # images/install.img: more than the socket buffers hold
ODD_NAME = "a b+ü%.rpm"
FAST = Limits(head_timeout=1.0, idle_timeout=1.0, send_chunk=256 << 10)
EXPECT = {"kernel_release": r"^3\.10\.5-3\.el6", "aufs": True, "docker_running": True,
          "storage_driver": "aufs", "default_entry": None}


# --- the base ISO and netboot trees ------------------------------------------------------------

@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    """The files the test ISO is made of (and the extracted tree is a copy of)."""
    root = tmp_path_factory.mktemp("iso-src") / "src"
    (root / "images" / "pxeboot").mkdir(parents=True)
    (root / "Packages").mkdir()
    (root / ".treeinfo").write_text("[general]\nfamily = CentOS\nversion = 6.5\n")
    (root / "images" / "install.img").write_bytes(os.urandom(BIG))
    (root / "images" / "pxeboot" / "vmlinuz").write_bytes(os.urandom(300_001))
    (root / "Packages" / ODD_NAME).write_bytes(b"odd name\n")
    (root / "empty.txt").write_bytes(b"")
    os.symlink("../.treeinfo", root / "images" / "link")             # inside the image: followed
    os.symlink("../../../etc/passwd", root / "images" / "out")        # climbs out: refused
    os.symlink("/etc/passwd", root / "images" / "abs")                # absolute: refused
    return root


@pytest.fixture(scope="module")
def base_iso(source, tmp_path_factory) -> Path:
    iso = tmp_path_factory.mktemp("iso") / "base.iso"
    subprocess.run(["xorriso", "-as", "mkisofs", "-quiet", "-R", "-J", "-V", VOLUME_ID, "-o", str(iso),
                    str(source)], check=True, capture_output=True)
    return iso


def report_line(host_ks: bytes, **changes) -> str:
    data = {"profile": "standin-docker", "ks_sha256": hashlib.sha256(host_ks).hexdigest(),
            "kernel_release": "3.10.5-3.el6.x86_64", "aufs": True, "docker_status_rc": 0,
            "docker_info": "Containers: 0\nStorage Driver: aufs\n", "default_entry_title": "CentOS (3.10.5)",
            "first_boot": True, "repos": [{"id": "base", "gpgcheck": True, "mirrorlist": ""}]}
    data.update(changes)
    return "KICKGEN-REPORT v1 " + json.dumps(data, separators=(",", ":"))


def make_tree(root: Path, iso: Path, *, hosts=("web1", "db1"), tree: str = "iso", source: Path | None = None,
              edit=None) -> Path:
    """A netboot tree as `kickgen netboot` writes it (the parts kickgen serve reads)."""
    root.mkdir(parents=True, exist_ok=True)
    entries = []
    for i, name in enumerate(hosts):
        ks = root / "http" / "hosts" / name / "ks.cfg"
        ks.parent.mkdir(parents=True, exist_ok=True)
        ks.write_text(f"# kickstart of {name}\nurl --url=http://10.0.2.2:8123/hosts/{name}/tree/\n")
        entries.append({"name": name, "mac": f"52:54:00:00:00:{i + 1:02x}", "profile": "standin-docker",
                        "address": None, "kickstart": f"http/hosts/{name}/ks.cfg",
                        "kickstart_sha256": hashlib.sha256(ks.read_bytes()).hexdigest(),
                        "kernel_args": f"ks=http://10.0.2.2:8123/hosts/{name}/ks.cfg ksdevice=bootif",
                        "pxelinux_config": f"tftp/pxelinux.cfg/01-52-54-00-00-00-{i + 1:02x}",
                        "efi_config": None, "expect": dict(EXPECT), "allow_unsigned": []})
    if tree == "extracted":
        assert source is not None
        subprocess.run(["cp", "-a", f"{source}/.", str(root / "http" / "tree")], check=True)
    manifest = {"kickgen": "0.1.0", "server_url": "http://10.0.2.2:8123",
                "base_iso": {"path": str(iso), "sha256": "0" * 64, "volume_id": VOLUME_ID},
                "inventory": {"path": "/nowhere/hosts.yaml", "sha256": "0" * 64}, "tree": tree,
                "hosts": entries, "files": []}
    if edit:
        edit(manifest)
    (root / "kickgen-netboot.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return root


@pytest.fixture
def tree_dir(tmp_path, base_iso) -> Path:
    return make_tree(tmp_path / "netboot", base_iso)


@pytest.fixture
def server(tree_dir):
    with start_server(tree_dir, limits=FAST) as running:
        yield running


# --- clients ---------------------------------------------------------------------------------

def get(url: str, headers: dict | None = None, method: str = "GET", data: bytes | None = None):
    """(status, headers, body) of one request with urllib; error statuses too."""
    request = urllib.request.Request(url, headers=headers or {}, method=method, data=data)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read()


def raw(port: int, data: bytes, *, timeout: float = 5.0) -> tuple[int, bytes, bytes]:
    """Send DATA as is, read to the end: (status, head, body)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        chunks = []
        while True:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    reply = b"".join(chunks)
    head, _, body = reply.partition(b"\r\n\r\n")
    match = re.match(rb"HTTP/1\.[01] (\d{3})", head)
    assert match, reply[:200]
    return int(match.group(1)), head, body


def raw_get(port: int, target: str, method: str = "GET") -> tuple[int, bytes, bytes]:
    return raw(port, f"{method} {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode("latin-1"))


def iso_file(iso: Path, path: str) -> bytes:
    """The file as pycdlib extracts it (kickgen.media.iso reads through pycdlib)."""
    from kickgen.media.iso import IsoImage

    with IsoImage(iso) as image:
        return image.read(path)


# --- the tree out of the ISO -------------------------------------------------------------------

def test_whole_files_and_ranges_are_the_bytes_pycdlib_and_the_source_hold(server, base_iso, source):
    data = (source / "images" / "install.img").read_bytes()
    assert iso_file(base_iso, "/images/install.img") == data
    status, headers, body = get(f"{server.url}/tree/images/install.img")
    assert status == 200 and body == data and headers["Content-Length"] == str(BIG)
    assert headers["Accept-Ranges"] == "bytes" and headers["ETag"] and headers["Last-Modified"]
    for spec, start, end in [("0-0", 0, 0), ("0-99", 0, 99), ("1000-", 1000, BIG - 1),
                             (f"{BIG // 2}-{BIG // 2 + (5 << 20)}", BIG // 2, BIG // 2 + (5 << 20)),
                             (f"{BIG - 10}-{BIG + 500}", BIG - 10, BIG - 1), ("-4096", BIG - 4096, BIG - 1),
                             (f"-{BIG * 2}", 0, BIG - 1)]:
        status, headers, body = get(f"{server.url}/hosts/web1/tree/images/install.img",
                                    {"Range": f"bytes={spec}"})
        assert status == 206, spec
        assert headers["Content-Range"] == f"bytes {start}-{end}/{BIG}", spec
        assert body == data[start:end + 1], spec
    kernel = iso_file(base_iso, "/images/pxeboot/vmlinuz")
    assert get(f"{server.url}/tree/images/pxeboot/vmlinuz")[2] == kernel == \
        (source / "images" / "pxeboot" / "vmlinuz").read_bytes()


def test_names_are_the_mounted_images_and_links_stay_inside(server):
    quoted = urllib.request.quote(ODD_NAME)
    assert get(f"{server.url}/tree/Packages/{quoted}")[2] == b"odd name\n"
    assert get(f"{server.url}/tree/images/link")[2].startswith(b"[general]")     # ../.treeinfo
    assert get(f"{server.url}/tree/empty.txt")[:1] == (200,)
    status, _, listing = get(f"{server.url}/tree/images/")
    assert status == 200 and b'href="install.img"' in listing and b'href="pxeboot/"' in listing
    assert get(f"{server.url}/tree/images")[0] == 200                            # redirected to images/
    assert get(f"{server.url}/tree/IMAGES/INSTALL.IMG;1")[0] == 404               # not the ISO 9660 name


def test_head_sends_the_headers_and_no_body(server):
    status, head, body = raw_get(server.port, "/tree/images/install.img", "HEAD")
    assert status == 200 and f"Content-Length: {BIG}".encode() in head and body == b""
    status, head, body = raw(server.port, b"HEAD /tree/images/install.img HTTP/1.1\r\nHost: x\r\n"
                                          b"Range: bytes=0-9\r\nConnection: close\r\n\r\n")
    assert status == 200 and body == b""                                          # Range is for GET


def test_conditional_requests(server):
    _, headers, _ = get(f"{server.url}/tree/.treeinfo")
    etag, modified = headers["ETag"], headers["Last-Modified"]
    assert get(f"{server.url}/tree/.treeinfo", {"If-None-Match": etag})[0] == 304
    assert get(f"{server.url}/tree/.treeinfo", {"If-None-Match": '"other"'})[0] == 200
    assert get(f"{server.url}/tree/.treeinfo", {"If-Modified-Since": modified})[0] == 304
    ranged = {"Range": "bytes=0-4"}
    assert get(f"{server.url}/tree/.treeinfo", {**ranged, "If-Range": etag})[:1] == (206,)
    status, _, body = get(f"{server.url}/tree/.treeinfo", {**ranged, "If-Range": '"changed"'})
    assert status == 200 and body.startswith(b"[general]\nfamily")                 # the whole file


@pytest.mark.parametrize("spec, status", [
    (f"bytes={BIG}-", 416), (f"bytes={BIG + 5}-{BIG + 9}", 416), ("bytes=-0", 416),
    ("bytes=5-2", 200), ("bytes=0-1,5-9", 200), ("items=0-9", 200), ("bytes=x-", 200),
    ("bytes=" + "9" * 5000 + "-", 200),
])
def test_unsatisfiable_ranges_are_416_and_bad_ones_are_ignored(server, spec, status):
    got, headers, body = get(f"{server.url}/tree/images/install.img", {"Range": spec})
    assert got == status, spec
    if status == 416:
        assert headers["Content-Range"] == f"bytes */{BIG}"
    else:
        assert len(body) == BIG


def test_a_range_of_an_empty_file_is_416(server):
    status, headers, _ = get(f"{server.url}/tree/empty.txt", {"Range": "bytes=0-"})
    assert status == 416 and headers["Content-Range"] == "bytes */0"


@pytest.mark.parametrize("start, length, expected", [
    (0, 10, [(1000, 10)]), (95, 10, [(1095, 5), (5000, 5)]), (100, 50, [(5000, 50)]),
    (0, 350, [(1000, 100), (5000, 200), (9000, 50)]), (299, 100, [(5199, 1), (9000, 50)]), (349, 1, [(9049, 1)]),
])
def test_a_range_maps_onto_a_multi_extent_files_extents(start, length, expected):
    from kickgen.serve.tree import slice_extents

    assert slice_extents(((1000, 100), (5000, 200), (9000, 50)), start, length) == expected


def test_sendfile_sends_several_extents_in_order_in_small_steps(tmp_path):
    """What a file over 4 GiB (several ISO 9660 extents) takes: the parts one after the other."""
    import asyncio

    from kickgen.serve.server import _Sendfile

    data = os.urandom(1 << 20)
    (tmp_path / "f").write_bytes(data)
    parts = [(100, 1000), (500_000, 300_000), (5, 7), (1_000_000, 48_576)]
    ours, theirs = socket.socketpair()
    ours.setblocking(False)
    received = bytearray()

    def reader() -> None:
        while chunk := theirs.recv(65536):
            received.extend(chunk)

    thread = threading.Thread(target=reader)
    thread.start()

    async def send() -> int:
        with open(tmp_path / "f", "rb") as f:
            sender = _Sendfile(ours.fileno(), f.fileno(), parts, Limits(send_chunk=4096))
            await sender.run()
            return sender.sent

    try:
        sent = asyncio.run(send())
    finally:
        ours.close()
        thread.join()
        theirs.close()
    assert sent == len(received) == 349_583
    assert bytes(received) == b"".join(data[o:o + n] for o, n in parts)


# --- nothing outside the tree ------------------------------------------------------------------

TRAVERSAL = [
    ("/tree/../kickgen-netboot.json", 400),
    ("/tree/%2e%2e/kickgen-netboot.json", 400),
    ("/tree/%2E%2e/%2e%2E/etc/passwd", 400),
    ("/tree/..%2fkickgen-netboot.json", 400),
    ("/tree/images%2F..%2F..%2Fkickgen-netboot.json", 400),
    ("/tree/%2fetc%2fpasswd", 400),
    ("/tree/./.treeinfo", 400),
    ("/tree/.treeinfo%00.txt", 400),
    ("/tree/%00", 400),
    ("/tree/a%zz", 400),
    ("/tree/a%2", 400),
    ("/hosts/web1/tree/../../../kickgen-netboot.json", 400),
    ("/hosts/web1/..%2f..%2fkickgen-netboot.json", 400),
    ("/hosts/../kickgen-netboot.json", 400),
    ("/hosts/%2e%2e/ks.cfg", 400),
    ("http://127.0.0.1/etc/passwd", 400),                      # absolute-form
    ("*", 400),
    ("/etc/passwd", 404),
    ("//etc/passwd", 404),
    ("/kickgen-netboot.json", 404),
    ("/kickgen-serve.sqlite", 404),
    ("/http/hosts/web1/ks.cfg", 404),
    ("/tree/..\\kickgen-netboot.json", 404),
    ("/tree/images/out", 404),                                  # Rock Ridge link climbing out
    ("/tree/images/abs", 404),                                  # absolute link
    ("/tree/images/abs/", 404),
    ("/hosts/nobody/ks.cfg", 404),
    ("/hosts/nobody/tree/.treeinfo", 404),
    ("/tree/.treeinfo", 200),                                   # the control: the table can pass
    ("/tree//images///link", 200),
]


@pytest.mark.parametrize("target, status", TRAVERSAL)
def test_a_request_outside_the_tree_is_refused(server, target, status):
    got, _, body = raw_get(server.port, target)
    assert got == status, (target, body[:200])
    assert b'"hosts"' not in body and b"root:" not in body


@pytest.fixture
def extracted(tmp_path, base_iso, source):
    root = make_tree(tmp_path / "netboot-x", base_iso, tree="extracted", source=source)
    secret = tmp_path / "secret.txt"
    secret.write_text("secret\n")
    tree = root / "http" / "tree"
    os.symlink(secret, tree / "escape")
    os.symlink("../../kickgen-netboot.json", tree / "manifest-link")
    os.symlink(".treeinfo", tree / "inner-link")
    os.mkfifo(tree / "fifo")
    with start_server(root, limits=FAST) as running:
        yield running


@pytest.mark.parametrize("target, status", [
    ("/tree/escape", 404), ("/tree/manifest-link", 404), ("/tree/fifo", 404), ("/tree/images/out", 404),
    ("/tree/images/abs", 404), ("/tree/../secret.txt", 400), ("/tree/%2e%2e/kickgen-netboot.json", 400),
    ("/tree/inner-link", 200), ("/tree/images/link", 200), ("/hosts/db1/tree/.treeinfo", 200),
])
def test_the_extracted_tree_keeps_links_inside_it(extracted, target, status):
    got, _, body = raw_get(extracted.port, target)
    assert got == status, (target, body[:200])
    assert b"secret" not in body and b'"hosts"' not in body


def test_the_extracted_tree_serves_the_same_bytes(extracted, source):
    data = (source / "images" / "install.img").read_bytes()
    status, headers, body = get(f"{extracted.url}/tree/images/install.img", {"Range": "bytes=100-200099"})
    assert status == 206 and body == data[100:200100]
    assert get(f"{extracted.url}/tree/images/install.img")[2] == data


@pytest.mark.parametrize("method, target, allow", [
    ("POST", "/tree/.treeinfo", "GET, HEAD"), ("PUT", "/hosts/web1/ks.cfg", "GET, HEAD"),
    ("DELETE", "/hosts/web1/tree/.treeinfo", "GET, HEAD"), ("GET", "/hosts/web1/report", "POST"),
])
def test_the_tree_is_read_only(server, method, target, allow):
    status, head, _ = raw(server.port, f"{method} {target} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n"
                                       "Connection: close\r\n\r\n".encode())
    assert status == 405 and f"Allow: {allow}".encode() in head


# --- kickstarts and reports --------------------------------------------------------------------

def test_each_host_gets_its_kickstart(server, tree_dir):
    for name in ("web1", "db1"):
        status, headers, body = get(f"{server.url}/hosts/{name}/ks.cfg")
        assert status == 200 and body == (tree_dir / "http" / "hosts" / name / "ks.cfg").read_bytes()
        assert headers["Content-Type"].startswith("text/plain")
    assert get(f"{server.url}/hosts/web2/ks.cfg")[0] == 404


def post_report(url: str, body: bytes | str, host: str = "web1"):
    data = body.encode() if isinstance(body, str) else body
    return get(f"{url}/hosts/{host}/report", {"Content-Type": "text/plain"}, "POST", data)


def test_a_report_is_judged_against_the_hosts_expect(server, tree_dir):
    ks = (tree_dir / "http" / "hosts" / "web1" / "ks.cfg").read_bytes()
    status, _, body = post_report(server.url, report_line(ks) + "\n")
    assert status == 200 and body.decode().startswith("kickgen: report of web1: passed")
    ks_db = (tree_dir / "http" / "hosts" / "db1" / "ks.cfg").read_bytes()
    status, _, body = post_report(server.url, "boot noise\n" + report_line(ks_db, aufs=False, docker_status_rc=3),
                                  host="db1")
    assert status == 200
    lines = body.decode().splitlines()
    assert lines[0] == "kickgen: report of db1: failed"
    assert "aufs: FAILED: expected aufs in /proc/filesystems, got no aufs" in lines
    assert any(line.startswith("docker_running: FAILED") for line in lines)
    states = {s.name: s for s in host_states(tree_dir)}
    assert states["web1"].state == "reported" and states["web1"].verdict == "passed" and states["web1"].passed
    assert states["db1"].verdict == "failed" and len(states["db1"].failed) == 2
    assert states["db1"].report.startswith("KICKGEN-REPORT v1 {")


def test_a_report_with_another_kickstarts_sha_fails(server, tree_dir):
    status, _, body = post_report(server.url, report_line(b"some other kickstart"))
    assert status == 200 and "ks_sha256: FAILED" in body.decode()


@pytest.mark.parametrize("body, message", [
    ("hello\n", "no 'KICKGEN-REPORT v1"),
    ("KICKGEN-REPORT v1 {not json\n", "not valid JSON"),
    ('KICKGEN-REPORT v1 {"profile": "x"}\n', "missing 'ks_sha256'"),
    ('KICKGEN-REPORT v1 [1, 2]\n', "not an object"),
    (b"KICKGEN-REPORT v1 {\xff\xfe}\n", "not UTF-8"),
    ("", "no 'KICKGEN-REPORT v1"),
])
def test_a_body_that_is_not_a_report_is_400(server, tree_dir, body, message):
    status, _, reply = post_report(server.url, body)
    assert status == 400 and message in reply.decode(), reply
    assert host_states(tree_dir)[0].state == "not seen"


def test_a_report_for_an_unknown_host_is_404(server):
    assert post_report(server.url, report_line(b""), host="nobody")[0] == 404


def test_a_report_of_exactly_the_limit_is_read_and_one_byte_more_is_413(server, tree_dir):
    ks = (tree_dir / "http" / "hosts" / "web1" / "ks.cfg").read_bytes()
    line = report_line(ks) + "\n"
    fits = line + "#" * (FAST.report_max - len(line))
    assert len(fits) == 64 * 1024
    assert post_report(server.url, fits)[0] == 200
    assert post_report(server.url, fits + "#")[0] == 413


def test_an_oversized_upload_is_refused_before_its_body_is_read(server, tree_dir):
    """413 on the Content-Length alone: the client never sends the body, the answer still comes."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(b"POST /hosts/web1/report HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n\r\n")
        reply = sock.recv(4096)
        assert reply.startswith(b"HTTP/1.1 413 ")
        assert b"Connection: close" in reply
    # chunked, no length: read up to the limit, then refused
    chunk = b"#" * 8192
    body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(20)) + b"0\r\n\r\n"
    status, _, _ = raw(server.port, b"POST /hosts/web1/report HTTP/1.1\r\nHost: x\r\n"
                                    b"Transfer-Encoding: chunked\r\n\r\n" + body)
    assert status == 413
    assert host_states(tree_dir)[0].state == "not seen"


def test_expect_100_continue_is_answered(server, tree_dir):
    """EL6's curl sends `Expect: 100-continue` with a body over 1 KiB and waits for the 100."""
    ks = (tree_dir / "http" / "hosts" / "web1" / "ks.cfg").read_bytes()
    body = (report_line(ks) + "\n").encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(b"POST /hosts/web1/report HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                     b"Connection: close\r\nContent-Length: %d\r\n\r\n" % len(body))
        assert sock.recv(4096).startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
        sock.sendall(body)
        reply = b""
        while chunk := sock.recv(4096):
            reply += chunk
    assert reply.startswith(b"HTTP/1.1 200 ") and b"passed" in reply


# --- slow clients, limits ---------------------------------------------------------------------

def test_a_reader_that_never_reads_blocks_nobody_and_is_dropped(server, source):
    slow = socket.socket()
    slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    slow.connect(("127.0.0.1", server.port))
    slow.sendall(b"GET /tree/images/install.img HTTP/1.1\r\nHost: x\r\n\r\n")
    time.sleep(0.2)                      # the server has filled the socket buffers by now
    started = time.monotonic()
    for _ in range(3):                   # the others are served at once
        status, _, body = get(f"{server.url}/hosts/web1/tree/images/install.img", {"Range": "bytes=0-1048575"})
        assert status == 206 and len(body) == 1 << 20
        assert get(f"{server.url}/hosts/web1/ks.cfg")[0] == 200
    assert time.monotonic() - started < 1.0
    # after idle_timeout without progress the server drops it: it never gets the whole file
    time.sleep(FAST.idle_timeout + 0.5)
    slow.settimeout(5)
    got = 0
    try:
        while chunk := slow.recv(1 << 20):
            got += len(chunk)
    except (ConnectionResetError, TimeoutError):
        pass
    slow.close()
    assert 0 < got < BIG


def test_a_slowloris_header_blocks_nobody_and_is_closed(server):
    loris = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    loris.sendall(b"GET /tree/.treeinfo HTTP/1.1\r\nHost: x\r\n")
    stop = threading.Event()
    closed_after: list[float] = []

    def trickle() -> None:
        started = time.monotonic()
        try:
            while not stop.is_set():
                loris.sendall(b"X-Slow: 1\r\n")          # a header line now and then, never the end
                time.sleep(0.2)
        except OSError:
            closed_after.append(time.monotonic() - started)

    thread = threading.Thread(target=trickle)
    thread.start()
    try:
        for _ in range(3):
            assert get(f"{server.url}/tree/.treeinfo")[0] == 200
        thread.join(FAST.head_timeout * 4)
    finally:
        stop.set()
        thread.join()
        loris.close()
    assert closed_after and closed_after[0] < FAST.head_timeout * 1.8, closed_after


def test_an_idle_connection_is_closed(server):
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        started = time.monotonic()
        assert sock.recv(10) == b""
        assert FAST.head_timeout * 0.9 < time.monotonic() - started < FAST.head_timeout * 1.8


@pytest.mark.parametrize("request_bytes", [
    b"GET /tree/" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /tree/.treeinfo HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 9000 + b"\r\n\r\n",
    b"GET /tree/.treeinfo HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-%d: 1\r\n" % i for i in range(100)) + b"\r\n",
    b"GET /tree/.treeinfo HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n",
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 64 + b"\r\n\r\n",
])
def test_oversized_or_broken_request_heads_are_refused(server, request_bytes):
    status, _, _ = raw(server.port, request_bytes)
    assert status in (400, 413, 414, 431)
    assert get(f"{server.url}/tree/.treeinfo")[0] == 200


# --- state: events, restart, status ----------------------------------------------------------

def test_states_follow_the_install_and_survive_a_restart(tree_dir):
    with start_server(tree_dir, limits=FAST) as first:
        assert [s.state for s in host_states(tree_dir)] == ["not seen", "not seen"]
        get(f"{first.url}/tree/.treeinfo")                              # not attributed
        assert [s.state for s in host_states(tree_dir)] == ["not seen", "not seen"]
        get(f"{first.url}/hosts/web1/ks.cfg")
        assert [s.state for s in host_states(tree_dir)] == ["kickstart fetched", "not seen"]
        for _ in range(3):
            get(f"{first.url}/hosts/web1/tree/.treeinfo")
        get(f"{first.url}/hosts/db1/ks.cfg")
        before = host_states(tree_dir)
    assert [s.state for s in before] == ["installing", "kickstart fetched"]
    assert before[0].kickstart_at <= before[0].installing_at
    assert host_states(tree_dir) == before                                # stopped: unchanged
    with start_server(tree_dir, limits=FAST) as second:
        assert host_states(tree_dir) == before                            # started again: unchanged
        get(f"{second.url}/hosts/web1/tree/images/link")                  # still installing: no new event
        ks = (tree_dir / "http" / "hosts" / "web1" / "ks.cfg").read_bytes()
        assert post_report(second.url, report_line(ks))[0] == 200
        get(f"{second.url}/hosts/web1/tree/.treeinfo")                    # the installed system: no change
        after = host_states(tree_dir)
    assert after[0].state == "reported" and after[0].installing_at == before[0].installing_at
    with sqlite3.connect(tree_dir / "kickgen-serve.sqlite") as db:
        kinds = [k for (k,) in db.execute("SELECT kind FROM events WHERE host = 'web1' ORDER BY id")]
    assert kinds == ["kickstart", "installing", "report"]
    with start_server(tree_dir, limits=FAST) as third:                    # a new install starts over
        get(f"{third.url}/hosts/web1/ks.cfg")
        again = host_states(tree_dir)[0]
    assert again.state == "kickstart fetched" and again.verdict is None and again.installing_at is None


def test_a_tree_made_again_with_another_kickstart_starts_the_host_over(tree_dir, base_iso):
    with start_server(tree_dir, limits=FAST) as running:
        get(f"{running.url}/hosts/web1/ks.cfg")
    assert host_states(tree_dir)[0].state == "kickstart fetched"
    make_tree(tree_dir, base_iso, edit=lambda m: m["hosts"][0].update(kickstart_sha256="f" * 64))
    assert host_states(tree_dir)[0].state == "not seen"


def status(*args: str) -> subprocess.CompletedProcess:
    """`kickgen status ARGS`, run in this process (kickgen.cli.main) for speed."""
    from kickgen.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["status", *args])
    return subprocess.CompletedProcess(["kickgen", "status", *args], code, out.getvalue(), err.getvalue())


def test_status_shows_every_host_and_exits_0_only_when_all_passed(server, tree_dir):
    result = status(str(tree_dir))
    assert result.returncode == 1
    rows = result.stdout.splitlines()
    assert re.match(r"HOST +MAC +PROFILE +STATE +VERDICT +SINCE$", rows[0])
    assert re.match(r"web1 +52:54:00:00:00:01 +standin-docker +not seen +- +-$", rows[1])
    assert rows[-1] == "2 hosts: 0 passed, 0 failed, 2 not reported"
    for name in ("web1", "db1"):
        ks = (tree_dir / "http" / "hosts" / name / "ks.cfg").read_bytes()
        get(f"{server.url}/hosts/{name}/ks.cfg")
        assert post_report(server.url, report_line(ks), host=name)[0] == 200
    result = status(str(tree_dir))
    assert result.returncode == 0, result.stdout
    assert re.search(r"^db1 +52:54:00:00:00:02 +standin-docker +reported +passed +\d{4}-\d\d-\d\dT", result.stdout, re.M)
    assert result.stdout.splitlines()[-1] == "2 hosts: 2 passed, 0 failed, 0 not reported"
    data = json.loads(status(str(tree_dir), "--format", "json").stdout)
    assert data["all_passed"] is True and [h["name"] for h in data["hosts"]] == ["web1", "db1"]
    ks = (tree_dir / "http" / "hosts" / "db1" / "ks.cfg").read_bytes()
    post_report(server.url, report_line(ks, storage_driver="x", docker_info="Storage Driver: devicemapper"), "db1")
    result = status(str(tree_dir))
    assert result.returncode == 1
    assert "    storage_driver: FAILED: expected Storage Driver: aufs, got Storage Driver: devicemapper" in \
        result.stdout.splitlines()
    assert exit_code([]) == 1                                              # no hosts: nothing passed


def test_status_of_something_that_is_no_netboot_tree_is_one_line(tmp_path, base_iso):
    result = subprocess.run([str(KICKGEN), "status", str(tmp_path)], capture_output=True, text=True)
    assert result.returncode == 2 and result.stderr.startswith(f"kickgen: error: {tmp_path}: not a netboot tree")
    assert "Traceback" not in result.stderr
    make_tree(tmp_path / "t", base_iso)
    (tmp_path / "t" / "kickgen-serve.sqlite").write_bytes(b"not a database" * 100)
    result = status(str(tmp_path / "t"))
    assert result.returncode == 1 and "not a usable kickgen state database" in result.stderr
    assert len(result.stderr.splitlines()) == 2 and "Traceback" not in result.stderr   # error + hint


def test_status_text_lists_failed_assertions_under_their_host(tree_dir):
    text = status_text(host_states(tree_dir))
    assert text.endswith("2 hosts: 0 passed, 0 failed, 2 not reported\n")


# --- the manifest ----------------------------------------------------------------------------

def _without_iso(manifest):
    manifest["base_iso"]["path"] = "/nowhere/base.iso"


@pytest.mark.parametrize("edit, error, message", [
    (lambda m: m.pop("tree"), KickgenError, "kickgen-netboot.json: tree: missing"),
    (lambda m: m.update(tree="nfs"), KickgenError, 'tree: expected "iso" or "extracted"'),
    (lambda m: m["hosts"][1].update(name="db_1"), KickgenError, "hosts[1].name: 'db_1' is not a host name"),
    (lambda m: m["hosts"][1].update(name="web1"), KickgenError, "hosts[1].name: 'web1' appears twice"),
    (lambda m: m["hosts"][0].update(kickstart="../../etc/passwd"), KickgenError,
     "hosts[0].kickstart: '../../etc/passwd' is not a file inside"),
    (lambda m: m["hosts"][0].update(kickstart="/etc/passwd"), KickgenError, "is not a file inside"),
    (lambda m: m["hosts"][0]["expect"].update(docker=True), KickgenError, "hosts[0].expect.docker: not an expect"),
    (lambda m: m["hosts"][0]["expect"].update(aufs="yes"), KickgenError, "hosts[0].expect.aufs: expected bool"),
    (lambda m: m["hosts"][0].update(mac=5), KickgenError, "hosts[0].mac: expected str, got int"),
    (_without_iso, MediaError, "/nowhere/base.iso: cannot open the base ISO"),
    (lambda m: m["base_iso"].update(volume_id="OTHER"), MediaError, "volume ID 'KGSERVE_TEST', but the manifest"),
    (lambda m: m.update(tree="extracted"), KickgenError, 'tree: "extracted", but'),
])
def test_a_bad_manifest_is_one_line_naming_the_field(tmp_path, base_iso, edit, error, message):
    root = make_tree(tmp_path / "t", base_iso, edit=edit)
    with pytest.raises(error) as caught:
        start_server(root)
    assert message in caught.value.message and "\n" not in caught.value.message
    assert not (root / "kickgen-serve.sqlite").exists()


def test_a_manifest_that_is_not_json_names_line_and_column(tmp_path, base_iso):
    root = make_tree(tmp_path / "t", base_iso)
    (root / "kickgen-netboot.json").write_text('{\n  "tree": "iso",\n  oops\n}\n')
    with pytest.raises(KickgenError, match=r"kickgen-netboot\.json:3:3: not valid JSON"):
        load_tree(root)
    with pytest.raises(UsageError, match="not a netboot tree"):
        load_tree(tmp_path)


def test_a_base_iso_that_is_not_an_iso_is_refused(tmp_path, base_iso):
    fake = tmp_path / "fake.iso"
    fake.write_bytes(b"\0" * 40000)
    root = make_tree(tmp_path / "t", base_iso, edit=lambda m: m["base_iso"].update(path=str(fake)))
    with pytest.raises(MediaError, match="not an ISO 9660 image"):
        start_server(root)


@pytest.mark.parametrize("workers", [1, 2])
def test_a_taken_port_is_one_clear_error(tree_dir, server, workers):
    """Also for a second server whose loops would share the port (SO_REUSEPORT) with the first's."""
    assert server.workers == 2
    with pytest.raises(KickgenError, match=rf"cannot listen on 127\.0\.0\.1:{server.port}: Address already in use"):
        start_server(tree_dir, port=server.port, workers=workers)


# --- the command ------------------------------------------------------------------------------

def test_kickgen_serve_prints_its_url_logs_requests_and_stops_on_ctrl_c(tree_dir):
    # SIGINT as a terminal gives it, whatever this process inherited (a background job ignores it)
    proc = subprocess.Popen([str(KICKGEN), "serve", str(tree_dir), "--listen", "127.0.0.1:0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        first = proc.stdout.readline()
        match = re.match(r"kickgen: serving (\S+) at (http://127\.0\.0\.1:(\d+)) \(2 hosts; install tree: ", first)
        assert match, first
        url = match.group(2)
        assert get(f"{url}/hosts/web1/ks.cfg")[0] == 200
        assert re.match(r'127\.0\.0\.1 "GET /hosts/web1/ks\.cfg" 200 \d+ [\d.]+s$', proc.stdout.readline().strip())
        assert raw(int(match.group(3)), b"GET /x HTTP/1.1\r\nBad Header\r\n\r\n")[0] == 400
        assert re.match(r'127\.0\.0\.1 "\S+ /\S*" 400 \d+ ', proc.stdout.readline())   # a line, no traceback
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert "kickgen: server stopped" in err and "Traceback" not in err
    assert all(line.startswith("kickgen: ") for line in err.splitlines()), err
    assert "the kickstarts name http://10.0.2.2:8123 (port 8123), but this server listens on port" in err
    assert host_states(tree_dir)[0].state == "kickstart fetched"


@pytest.mark.parametrize("listen", ["8123", "localhost", "127.0.0.1:99999", ":8123", "[::1]"])
def test_a_bad_listen_address_is_a_usage_error(tree_dir, listen):
    from kickgen.cli import main

    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main(["serve", str(tree_dir), "--listen", listen])
    assert code == 2 and err.getvalue().startswith(f"kickgen: error: --listen {listen}: expected HOST:PORT")
