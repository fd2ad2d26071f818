"""`kickgen netboot` (kickgen.netboot): the tree read back byte by byte, the boot configs, the
kickstarts validated again, the manifest against the files, two builds byte-identical, the
dnsmasq and nginx snippets checked by the real tools (and nginx serving the URL layout), the
output rules (whole or nothing, the ISO only read), and the report upload of the first-boot
script against a real HTTP listener.

The ISOs are the suite's tiny pungi-like image (BIOS + UEFI, the grub EFI binary only inside
images/efiboot.img) and two variants made here with xorriso (no EFI; the EFI binary on the ISO).
"""

from __future__ import annotations

import hashlib
import http.server
import json
import os
import shutil
import socket
import stat
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from kickgen.core.atomic import json_text
from kickgen.core.errors import MediaError, ProfileError, UsageError, ValidationError
from kickgen.kickstart.render import render_kickstart
from kickgen.kickstart.validate import check_kickstart
from kickgen.media.iso import IsoImage
from kickgen.netboot import build_netboot, load_inventory
from kickgen.netboot.layout import PXELINUX_SOURCES, check_server_url, efi_config_name, efi_config_path
from kickgen.profile import load_profile
from paths import PROJECT_ROOT
from remaster_fixtures import isoinfo_extract, make_tree, run, xorriso_plain

EXAMPLE = PROJECT_ROOT / "docs" / "examples" / "hosts.yaml"
SERVER = "http://10.0.2.2:8123"
KICKGEN = Path(sys.executable).parent / "kickgen"
FAKE_EFI = b"MZ not really an EFI binary\n"          # what remaster_fixtures.make_tree puts in efiboot.img


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def listing(root: Path) -> dict[str, tuple]:
    """Every entry below ROOT: (kind, mode, mtime, bytes or link target)."""
    out = {}
    for path in sorted(root.rglob("*")):
        st = path.lstat()
        rel = path.relative_to(root).as_posix()
        if stat.S_ISLNK(st.st_mode):
            out[rel] = ("link", os.readlink(path), st.st_mtime)
        elif stat.S_ISDIR(st.st_mode):
            out[rel] = ("dir", stat.S_IMODE(st.st_mode), st.st_mtime)
        else:
            out[rel] = ("file", stat.S_IMODE(st.st_mode), st.st_mtime, path.read_bytes())
    return out


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if "kickgen" in p.name)


@pytest.fixture(scope="module")
def no_epoch():
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("SOURCE_DATE_EPOCH", raising=False)
        yield


@pytest.fixture(scope="module")
def tree(tiny_hybrid, tmp_path_factory, no_epoch):
    """The example inventory's tree from the tiny hybrid ISO (BIOS + UEFI), and what it said."""
    before = sha256(tiny_hybrid)
    out = tmp_path_factory.mktemp("netboot") / "tree"
    said: list[str] = []
    result = build_netboot(EXAMPLE, tiny_hybrid, out, SERVER, progress=said.append)
    assert sha256(tiny_hybrid) == before            # the ISO is only read
    return result, said


@pytest.fixture(scope="module")
def manifest(tree) -> dict:
    return json.loads(tree[0].manifest.read_text())


# --- the tree, read back ---------------------------------------------------------------------------

def test_the_tree_has_the_layout(tree):
    result, said = tree
    root = result.path
    found = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() or p.is_symlink()}
    assert found == {
        "kickgen-netboot.json", "servers/dnsmasq.conf", "servers/nginx.conf",
        "http/hosts/docker1/ks.cfg", "http/hosts/base1/ks.cfg",
        "tftp/pxelinux.0", "tftp/ldlinux.c32", "tftp/menu.c32", "tftp/libutil.c32", "tftp/libcom32.c32",
        "tftp/pxelinux.cfg/default", "tftp/pxelinux.cfg/01-52-54-00-4b-47-01", "tftp/pxelinux.cfg/01-52-54-00-4b-47-02",
        "tftp/images/pxeboot/vmlinuz", "tftp/images/pxeboot/initrd.img",
        "tftp/EFI/BOOT/BOOTX64.efi", "tftp/EFI/BOOT/efidefault", "tftp/EFI/BOOT/01-52-54-00-4B-47-01",
        "tftp/EFI/BOOT/01-52-54-00-4B-47-02", "tftp/EFI/BOOT/images"}
    assert os.readlink(root / "tftp/EFI/BOOT/images") == "../../images"
    assert (root / "tftp/EFI/BOOT/images/pxeboot/vmlinuz").read_bytes() == (root / "tftp/images/pxeboot/vmlinuz").read_bytes()
    assert (result.tree, result.efi, result.server_url) == ("iso", True, SERVER)
    assert [h.name for h in result.hosts] == ["docker1", "base1"]
    assert said[0].startswith("inventory ") and "grub EFI binary from /images/efiboot.img:EFI/BOOT/BOOTX64.efi" in said


def test_boot_files_are_the_hosts_and_the_isos(tree, tiny_hybrid):
    root = tree[0].path / "tftp"
    for name, source in PXELINUX_SOURCES.items():
        assert (root / name).read_bytes() == Path(source).read_bytes(), name
    for rel in ("images/pxeboot/vmlinuz", "images/pxeboot/initrd.img"):
        assert (root / rel).read_bytes() == isoinfo_extract(tiny_hybrid, f"/{rel}", "rr")
    assert (root / "EFI/BOOT/BOOTX64.efi").read_bytes() == FAKE_EFI


def test_every_file_and_folder_has_the_isos_date(tree, tiny_hybrid):
    root = tree[0].path
    with IsoImage(tiny_hybrid) as image:
        created = image.creation_epoch
    assert {p.lstat().st_mtime for p in [root, *root.rglob("*")]} == {created}


def test_the_kickstarts_are_the_hosts_and_validate(tree):
    root = tree[0].path
    docker1 = (root / "http/hosts/docker1/ks.cfg").read_text()
    base1 = (root / "http/hosts/base1/ks.cfg").read_text()
    assert stat.S_IMODE((root / "http/hosts/docker1/ks.cfg").stat().st_mode) == 0o600   # the root password hash
    lines = docker1.splitlines()
    assert "url --url=http://10.0.2.2:8123/hosts/docker1/tree/" in lines
    assert ("network --bootproto=static --onboot=yes --ip=10.0.2.21 --netmask=255.255.255.0 --gateway=10.0.2.2 "
            "--nameserver=10.0.2.3 --hostname=docker1 --activate") in lines
    assert "ignoredisk --only-use=vda" in lines and "cdrom" not in lines
    assert "KG_REPORT_URL=http://10.0.2.2:8123/hosts/docker1/report" in lines
    assert "timezone --utc Europe/Berlin" in lines                  # its set:
    assert "network --bootproto=dhcp --onboot=yes --hostname=base1 --activate" in base1.splitlines()
    assert "url --url=http://10.0.2.2:8123/hosts/base1/tree/" in base1.splitlines()
    for text in (docker1, base1):
        report = check_kickstart(text, "ks.cfg")
        assert not report.fails(True), [str(f) for f in report.findings]
    # the same text kickgen render gives for the profile with the same values
    inventory = load_inventory(EXAMPLE)
    from kickgen.kickstart.render import reproducible_salt
    from kickgen.netboot.inventory import host_profile
    profile = host_profile(inventory.hosts[0], SERVER)
    assert render_kickstart(profile, salt=reproducible_salt(profile, media_label="CentOS_6.5_Final"),
                            media_label="CentOS_6.5_Final").text == docker1


def test_the_pxelinux_menu_boots_the_local_disk_by_default(tree):
    text = (tree[0].path / "tftp/pxelinux.cfg/default").read_text()
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]
    assert lines[:6] == ["UI menu.c32", "PROMPT 0", "TIMEOUT 100", "MENU TITLE kickgen netboot (http://10.0.2.2:8123)",
                         "DEFAULT local", "LABEL local"]
    local = lines[lines.index("LABEL local"):lines.index("LABEL install-docker1")]
    assert local == ["LABEL local", "MENU LABEL Boot from the local disk", "MENU DEFAULT", "LOCALBOOT 0"]
    assert text.count("MENU DEFAULT") == 1
    assert "LABEL install-docker1" in lines and "LABEL install-base1" in lines


def test_a_hosts_pxelinux_file_installs_it_at_once(tree, manifest):
    text = (tree[0].path / "tftp/pxelinux.cfg/01-52-54-00-4b-47-01").read_text()
    args = ("text console=tty0 console=ttyS0,115200n8 ks=http://10.0.2.2:8123/hosts/docker1/ks.cfg ip=10.0.2.21 "
            "netmask=255.255.255.0 gateway=10.0.2.2 dns=10.0.2.3")
    assert [line for line in text.splitlines() if not line.startswith("#")] == [
        "DEFAULT install", "PROMPT 0", "", "LABEL install",
        "  MENU LABEL Install docker1 (kickgen profile standin-docker, MAC 52:54:00:4b:47:01)",
        "  KERNEL images/pxeboot/vmlinuz", "  INITRD images/pxeboot/initrd.img",
        f"  APPEND {args} ksdevice=bootif", "  IPAPPEND 2"]
    assert manifest["hosts"][0]["kernel_args"] == f"{args} ksdevice=bootif"
    assert "ksdevice=link" not in text                          # the profile's boot.args lose their ksdevice=
    base1 = (tree[0].path / "tftp/pxelinux.cfg/01-52-54-00-4b-47-02").read_text()
    assert "APPEND text console=tty0 console=ttyS0,115200n8 ks=http://10.0.2.2:8123/hosts/base1/ks.cfg " \
           "ksdevice=bootif\n" in base1 and "ip=" not in base1


def test_grub_efi_configs(tree, manifest):
    root = tree[0].path / "tftp/EFI/BOOT"
    menu = (root / "efidefault").read_text().splitlines()
    body = [line for line in menu if not line.startswith("#")]
    assert body[:4] == ["default=0", "timeout=10", "title Boot from the local disk (back to the firmware's next boot "
                        "option)", "\tquit"]
    assert body.count("\tquit") == 1 and "title Install base1 (kickgen profile el6-base, MAC 52:54:00:4b:47:02)" in body
    host = (root / "01-52-54-00-4B-47-01").read_text().splitlines()
    assert [line for line in host if not line.startswith("#")] == [
        "default=0", "timeout=0", "title Install docker1 (kickgen profile standin-docker, MAC 52:54:00:4b:47:01)",
        "\troot (nd)",
        "\tkernel /images/pxeboot/vmlinuz text console=tty0 console=ttyS0,115200n8 "
        "ks=http://10.0.2.2:8123/hosts/docker1/ks.cfg ip=10.0.2.21 netmask=255.255.255.0 gateway=10.0.2.2 "
        "dns=10.0.2.3 ksdevice=52:54:00:4b:47:01",
        "\tinitrd /images/pxeboot/initrd.img"]
    assert [h["efi_config"] for h in manifest["hosts"]] == ["tftp/EFI/BOOT/01-52-54-00-4B-47-01",
                                                            "tftp/EFI/BOOT/01-52-54-00-4B-47-02"]
    base1 = (root / "01-52-54-00-4B-47-02").read_text()
    assert "ks=http://10.0.2.2:8123/hosts/base1/ks.cfg ksdevice=52:54:00:4b:47:02\n" in base1 and "ip=" not in base1


@pytest.mark.parametrize("mac, name", [("52:54:00:4b:47:0a", "01-52-54-00-4B-47-0A"), (None, "efidefault")])
def test_the_grub_efi_config_naming(mac, name):
    """grub-0.97-83.el6: 01- and the MAC in upper-case hex with dashes, else efidefault."""
    assert efi_config_name(mac) == name and efi_config_path(mac) == f"EFI/BOOT/{name}"


def test_the_manifest_lists_every_file(tree, manifest, tiny_hybrid):
    result = tree[0]
    text = result.manifest.read_text()
    assert text == json_text(json.loads(text))                      # sorted keys, the house format
    assert manifest["base_iso"] == {"path": str(tiny_hybrid), "sha256": sha256(tiny_hybrid),
                                    "volume_id": "CentOS_6.5_Final"}
    assert manifest["inventory"] == {"path": str(EXAMPLE), "sha256": sha256(EXAMPLE)}
    assert (manifest["server_url"], manifest["tree"]) == (SERVER, "iso")
    assert manifest["efi"] == {"binary": "tftp/EFI/BOOT/BOOTX64.efi", "source": "/images/efiboot.img:EFI/BOOT/BOOTX64.efi"}
    files = {p.relative_to(result.path).as_posix(): p for p in result.path.rglob("*")
             if p.is_file() and not p.is_symlink() and p.name != "kickgen-netboot.json"}
    assert [f["path"] for f in manifest["files"]] == sorted(files)
    for entry in manifest["files"]:
        path = files[entry["path"]]
        assert (entry["size"], entry["sha256"]) == (path.stat().st_size, sha256(path)), entry["path"]
    assert manifest["links"] == [{"path": "tftp/EFI/BOOT/images", "target": "../../images"}]
    docker1 = manifest["hosts"][0]
    assert {k: docker1[k] for k in ("name", "mac", "profile", "address", "kickstart", "pxelinux_config")} == {
        "name": "docker1", "mac": "52:54:00:4b:47:01", "profile": "standin-docker", "address": "10.0.2.21",
        "kickstart": "http/hosts/docker1/ks.cfg", "pxelinux_config": "tftp/pxelinux.cfg/01-52-54-00-4b-47-01"}
    assert docker1["kickstart_sha256"] == sha256(result.path / "http/hosts/docker1/ks.cfg")
    assert docker1["expect"] == {"kernel_release": r"^[0-9]+\.[0-9]+\.[0-9]+-[0-9]+-amd64$", "aufs": False,
                                 "docker_running": True, "storage_driver": "vfs", "default_entry": r"3\.10\.5-3\.el6"}
    assert docker1["allow_unsigned"] == [] and docker1["efi_kernel_args"].endswith(" ksdevice=52:54:00:4b:47:01")
    assert manifest["hosts"][1]["address"] is None
    assert (result.files, result.size) == (len(files) + 1, sum(p.stat().st_size for p in files.values())
                                           + result.manifest.stat().st_size)


def test_two_builds_are_byte_identical(tree, tiny_hybrid, no_epoch):
    """The same inputs and DIR give the same bytes, modes, links and dates."""
    first = tree[0].path
    moved = first.with_name("first")
    os.rename(first, moved)
    try:
        build_netboot(EXAMPLE, tiny_hybrid, first, SERVER)
        assert listing(first) == listing(moved)
    finally:
        shutil.rmtree(first, ignore_errors=True)
        os.rename(moved, first)


def test_source_date_epoch_dates_the_tree(tiny_hybrid, tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1500000000")
    out = tmp_path / "tree"
    build_netboot(EXAMPLE, tiny_hybrid, out, SERVER)
    assert {p.lstat().st_mtime for p in [out, *out.rglob("*")]} == {1500000000}


# --- the server snippets, checked by the real tools --------------------------------------------------

def dnsmasq_test(conf: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["dnsmasq", "--test", f"--conf-file={conf}"], capture_output=True, text=True)


def test_the_dnsmasq_snippet_passes_dnsmasq_test_and_a_broken_one_fails(tree, tmp_path):
    conf = tree[0].path / "servers/dnsmasq.conf"
    text = conf.read_text()
    result = dnsmasq_test(conf)
    assert result.returncode == 0 and "syntax check OK" in result.stderr, result.stderr
    lines = text.splitlines()
    assert f"tftp-root={tree[0].path}/tftp" in lines
    assert lines[lines.index("enable-tftp"):][2:] == [
        "# the boot loader by client architecture (DHCP option 93)",
        "dhcp-match=set:kickgen-bios,option:client-arch,0", "dhcp-boot=tag:kickgen-bios,pxelinux.0",
        "dhcp-match=set:kickgen-efi-x64,option:client-arch,7", "dhcp-match=set:kickgen-efi-x64,option:client-arch,9",
        "dhcp-boot=tag:kickgen-efi-x64,EFI/BOOT/BOOTX64.efi",
        "# the inventory's hosts: a tag each (kickgen-<name>), the fixed address where it gives one",
        "dhcp-host=52:54:00:4b:47:01,set:kickgen-docker1,10.0.2.21,docker1",
        "dhcp-host=52:54:00:4b:47:02,set:kickgen-base1,base1"]
    for broken in (text.replace("52:54:00:4b:47:01", "52:54:00:4b:47:zz"), text + "dhcp-mtch=set:x,option:client-arch,0\n",
                   text.replace("option:client-arch", "option:no-such-option")):
        bad = tmp_path / "dnsmasq.conf"
        bad.write_text(broken)
        assert dnsmasq_test(bad).returncode != 0, broken


def nginx_wrapper(folder: Path, snippet: Path, *, user_root: bool = False) -> Path:
    """A minimal nginx.conf around SNIPPET, everything nginx writes kept in FOLDER."""
    wrapper = folder / "nginx-wrapper.conf"
    temp = "\n".join(f"    {d}_temp_path {folder}/{d};" for d in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    wrapper.write_text(f"{'user root;' if user_root else ''}\npid {folder}/nginx.pid;\n"
                       f"error_log {folder}/error.log;\nevents {{}}\n"
                       f"http {{\n    access_log off;\n{temp}\n    include \"{snippet}\";\n}}\n")
    return wrapper


def nginx_test(folder: Path, snippet: Path) -> subprocess.CompletedProcess:
    wrapper = nginx_wrapper(folder, snippet)
    return subprocess.run(["nginx", "-t", "-q", "-c", str(wrapper), "-p", str(folder), "-e", str(folder / "error.log")],
                          capture_output=True, text=True)


def test_the_nginx_snippet_passes_nginx_t_and_a_broken_one_fails(tree, tmp_path):
    snippet = tree[0].path / "servers/nginx.conf"
    result = nginx_test(tmp_path, snippet)
    assert result.returncode == 0, result.stderr
    text = snippet.read_text()
    assert "    listen 8123;" in text.splitlines() and "mount -o loop,ro ISO DIR/http/tree" in text
    for broken in (text.rstrip().removesuffix("}"), text.replace("alias", "alias_nope", 1),
                   text.replace("listen 8123;", "listen 8123")):
        bad = tmp_path / "broken.conf"
        bad.write_text(broken)
        assert nginx_test(tmp_path, bad).returncode != 0, broken


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fetch(url: str, data: bytes | None = None) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=data), timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, b""


@pytest.fixture(scope="module")
def extracted(tiny_hybrid, tmp_path_factory, no_epoch):
    """A tree with --extract-tree, for a server on a free loopback port."""
    port = free_port()
    out = tmp_path_factory.mktemp("extracted") / "tree"
    return build_netboot(EXAMPLE, tiny_hybrid, out, f"http://127.0.0.1:{port}/pxe", extract_tree=True), port


def test_extract_tree_copies_the_isos_tree(extracted, tiny_hybrid, tmp_path, no_epoch):
    result, _ = extracted
    assert result.tree == "extracted"
    reference = tmp_path / "xorriso"
    run("xorriso", "-osirrox", "on", "-indev", tiny_hybrid, "-extract", "/", reference)
    want = {p.relative_to(reference).as_posix(): p for p in reference.rglob("*")}
    got = {p.relative_to(result.path / "http/tree").as_posix(): p for p in (result.path / "http/tree").rglob("*")}
    assert sorted(got) == sorted(want)
    for rel, path in want.items():
        if path.is_file():
            assert got[rel].read_bytes() == path.read_bytes(), rel
    manifest = json.loads(result.manifest.read_text())
    assert manifest["tree"] == "extracted"
    assert {f["path"] for f in manifest["files"]} >= {f"http/tree/{rel}" for rel, p in want.items() if p.is_file()}
    # and reproducibly: a second build gives the same bytes, modes and dates
    moved = result.path.with_name("first")
    os.rename(result.path, moved)
    try:
        build_netboot(EXAMPLE, tiny_hybrid, result.path, result.server_url, extract_tree=True)
        assert listing(result.path) == listing(moved)
    finally:
        shutil.rmtree(result.path, ignore_errors=True)
        os.rename(moved, result.path)


def test_nginx_serves_the_url_layout(extracted, tmp_path):
    """The snippet in a real nginx on a loopback port: kickstarts, the tree per host and shared,
    the report endpoint left to kickgen serve, nothing outside the tree."""
    result, port = extracted
    wrapper = nginx_wrapper(tmp_path, result.path / "servers/nginx.conf", user_root=True)
    proc = subprocess.Popen(["nginx", "-c", str(wrapper), "-p", str(tmp_path), "-e", str(tmp_path / "error.log"),
                             "-g", "daemon off;"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        base = f"http://127.0.0.1:{port}/pxe"
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read() if proc.stderr else ""
                time.sleep(0.05)
        root = result.path
        assert fetch(f"{base}/hosts/docker1/ks.cfg") == (200, (root / "http/hosts/docker1/ks.cfg").read_bytes())
        discinfo = (root / "http/tree/.discinfo").read_bytes()
        assert fetch(f"{base}/hosts/docker1/tree/.discinfo") == (200, discinfo)
        assert fetch(f"{base}/tree/.discinfo") == (200, discinfo)
        assert fetch(f"{base}/hosts/base1/tree/images/pxeboot/vmlinuz") == (
            200, (root / "http/tree/images/pxeboot/vmlinuz").read_bytes())
        assert fetch(f"{base}/hosts/docker1/report", data=b"KICKGEN-REPORT v1 {}")[0] == 501
        assert fetch(f"{base}/hosts/docker1/tree/../../../servers/nginx.conf")[0] == 404
        assert fetch(f"{base}/hosts/nobody/ks.cfg")[0] == 404
    finally:
        proc.terminate()
        proc.wait(timeout=10)


# --- other ISOs ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def other_isos(tmp_path_factory) -> dict[str, Path]:
    """Without EFI (BIOS only), and with the grub EFI binary on the ISO itself (upper-case name)."""
    folder = tmp_path_factory.mktemp("isos")
    bios = make_tree(folder / "tree-bios", efi=False)
    on_iso = make_tree(folder / "tree-efi")
    (on_iso / "EFI" / "BOOT" / "BOOTX64.EFI").write_bytes(b"MZ the binary on the ISO\n")
    return {"bios": xorriso_plain(bios, folder / "bios.iso"), "efi-on-iso": xorriso_plain(on_iso, folder / "efi.iso")}


def test_media_without_efi_get_bios_pxe_only(other_isos, tmp_path):
    said: list[str] = []
    result = build_netboot(EXAMPLE, other_isos["bios"], tmp_path / "tree", SERVER, progress=said.append)
    manifest = json.loads(result.manifest.read_text())
    assert not result.efi and manifest["efi"] is None and not (result.path / "tftp/EFI").exists()
    assert [h["efi_config"] for h in manifest["hosts"]] == [None, None]
    assert [h["efi_kernel_args"] for h in manifest["hosts"]] == [None, None]
    dnsmasq = (result.path / "servers/dnsmasq.conf").read_text()
    assert "# (no UEFI boot: the base ISO has no grub EFI binary)" in dnsmasq.splitlines()
    assert "efi-x64" not in dnsmasq and "BOOTX64" not in dnsmasq
    assert dnsmasq_test(result.path / "servers/dnsmasq.conf").returncode == 0
    assert any("BIOS PXE only" in line for line in said)


def test_the_efi_binary_on_the_iso_is_taken_first(other_isos, tmp_path):
    result = build_netboot(EXAMPLE, other_isos["efi-on-iso"], tmp_path / "tree", SERVER)
    assert (result.path / "tftp/EFI/BOOT/BOOTX64.efi").read_bytes() == b"MZ the binary on the ISO\n"
    assert json.loads(result.manifest.read_text())["efi"]["source"] == "/EFI/BOOT/BOOTX64.EFI"


# --- refusals: nothing written, nothing left --------------------------------------------------------

def inventory(folder: Path, extra: str = "", profile: str = "el6-base") -> Path:
    path = folder / "hosts.yaml"
    path.write_text(f"hosts:\n  - name: web1\n    mac: '52:54:00:00:00:01'\n    profile: {profile}\n{extra}")
    return path


def test_hosts_whose_kickstarts_fail_validation_refuse_the_tree(tiny_hybrid, tmp_path):
    bad = "    set: {scripts.post: [{name: site, body: 'cd /tmp; ls'}]}\n"
    hosts = inventory(tmp_path, f"{bad}  - {{name: ok, mac: '52:54:00:00:00:02', profile: el6-base}}\n"
                                f"  - name: web3\n    mac: '52:54:00:00:00:03'\n    profile: el6-base\n{bad}")
    with pytest.raises(ValidationError) as caught:
        build_netboot(hosts, tiny_hybrid, tmp_path / "out", SERVER)
    lines = caught.value.message.splitlines()
    assert [line.split(": its kickstart")[0] for line in lines] == [f"{hosts}:2:5: hosts[0] (web1)",
                                                                     f"{hosts}:7:5: hosts[2] (web3)"], lines
    for line, name in zip(lines, ("web1", "web3"), strict=True):
        assert line.startswith(f"{hosts}:") and f"(profile el6-base) fails validation: http/hosts/{name}/ks.cfg:" \
            in line and "warning: %post" in line and line.endswith("[SC2164]"), line
    assert leftovers(tmp_path) == [] and not (tmp_path / "out").exists()


def test_a_profile_with_missing_pins_is_refused_as_kickgen_iso_refuses_it(tiny_hybrid, tmp_path):
    hosts = inventory(tmp_path, profile="centos65-docker")
    with pytest.raises(ProfileError) as caught:
        build_netboot(hosts, tiny_hybrid, tmp_path / "out", SERVER)
    assert caught.value.message == (
        f"{hosts}:4:14: hosts[0] (web1): profile centos65-docker has no sha256 pin for "
        "kernel-ml-aufs-3.10.5-3.el6.x86_64.rpm, epel-release-6-8.noarch.rpm: the install would stop before "
        "installing it")
    assert "kickgen pin" in caught.value.hint
    assert leftovers(tmp_path) == [] and not (tmp_path / "out").exists()


def test_an_interrupted_build_leaves_nothing(tiny_hybrid, tmp_path):
    def interrupt(line: str) -> None:
        if line.startswith("installer kernel"):      # in the middle of writing the tree
            raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        build_netboot(EXAMPLE, tiny_hybrid, tmp_path / "out", SERVER, progress=interrupt)
    assert os.listdir(tmp_path) == []


def test_not_an_iso_is_refused_and_leaves_nothing(tmp_path):
    fake = tmp_path / "fake.iso"
    fake.write_bytes(b"\0" * 65536)
    with pytest.raises(MediaError):
        build_netboot(EXAMPLE, fake, tmp_path / "out", SERVER)
    with pytest.raises(MediaError, match="no such ISO file"):
        build_netboot(EXAMPLE, tmp_path / "none.iso", tmp_path / "out", SERVER)
    assert sorted(os.listdir(tmp_path)) == ["fake.iso"]


@pytest.mark.parametrize("url, message", [
    ("https://10.0.2.2:8123", "expected http://HOST[:PORT][/PATH]"), ("10.0.2.2:8123", "expected http://"),
    ("http://10.0.2.2:8123/?x=1", "expected http://"), ("http://user@host/", "expected http://"),
    ("http://host:99999", "port 99999 is not 1 to 65535"), ("http://a b/", "expected http://")])
def test_a_bad_server_url_is_refused(url, message):
    with pytest.raises(UsageError, match=message.replace("[", r"\[").replace("]", r"\]").replace("?", r"\?")):
        check_server_url(url)


def test_a_server_url_loses_its_trailing_slash():
    assert check_server_url("http://10.0.2.2:8123/") == "http://10.0.2.2:8123"
    assert check_server_url("http://pxe.example/kickgen/") == "http://pxe.example/kickgen"


def test_output_rules(tiny_hybrid, tmp_path):
    folder = tmp_path / "plain"
    folder.mkdir()
    with pytest.raises(UsageError, match="the folder exists and is not a netboot tree"):
        build_netboot(EXAMPLE, tiny_hybrid, folder, SERVER)
    a_file = tmp_path / "file"
    a_file.write_text("x")
    with pytest.raises(UsageError, match="is a file; kickgen netboot writes a folder"):
        build_netboot(EXAMPLE, tiny_hybrid, a_file, SERVER)
    link = tmp_path / "link"
    link.symlink_to(folder)
    with pytest.raises(UsageError, match="is a symbolic link"):
        build_netboot(EXAMPLE, tiny_hybrid, link, SERVER)
    with pytest.raises(UsageError, match="a character they would read otherwise"):
        build_netboot(EXAMPLE, tiny_hybrid, tmp_path / "a#b", SERVER)
    assert sorted(os.listdir(tmp_path)) == ["file", "link", "plain"] and os.listdir(folder) == []


def test_an_existing_tree_is_replaced_and_kickgen_serves_state_stays(tiny_hybrid, tmp_path):
    out = tmp_path / "tree"
    build_netboot(EXAMPLE, tiny_hybrid, out, SERVER, extract_tree=True)
    (out / "kickgen-serve.sqlite").write_bytes(b"state")
    result = build_netboot(EXAMPLE, tiny_hybrid, out, "http://192.168.50.1")
    assert (out / "kickgen-serve.sqlite").read_bytes() == b"state"
    assert not (out / "http/tree").exists() and result.tree == "iso"        # the old tree's entries are gone
    assert "ks=http://192.168.50.1/hosts/docker1/ks.cfg" in (out / "tftp/pxelinux.cfg/default").read_text()
    assert leftovers(tmp_path) == []
    # an input inside the tree would be replaced with it: refused
    inside = out / "hosts.yaml"
    shutil.copy(EXAMPLE, inside)
    with pytest.raises(UsageError, match="the inventory .* is inside it"):
        build_netboot(inside, tiny_hybrid, out, SERVER)


# --- the command line --------------------------------------------------------------------------------

def kickgen(*args: str, cwd: Path = PROJECT_ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([str(KICKGEN), *args], cwd=cwd, capture_output=True, text=True)


def test_the_command_line(tiny_hybrid, tmp_path):
    out = tmp_path / "tree"
    loud = kickgen("netboot", str(EXAMPLE), "--base", str(tiny_hybrid), "-o", str(out))
    assert loud.returncode == 0, loud.stderr
    assert all(line.startswith("kickgen: netboot: ") for line in loud.stderr.splitlines()) and loud.stderr
    assert loud.stdout.startswith(f"wrote {out} (") and "hosts: docker1 (10.0.2.21), base1 (dhcp)" in loud.stdout
    quiet = kickgen("netboot", str(EXAMPLE), "--base", str(tiny_hybrid), "-o", str(out), "-q",
                    "--server-url", "http://192.168.50.1:8123")
    assert (quiet.returncode, quiet.stdout, quiet.stderr) == (0, "", "")
    bad = tmp_path / "bad.yaml"
    bad.write_text("hosts:\n  - {name: a, mac: 'nope', profile: el6-base}\n  - {name: a, mac: '52:54:00:00:00:01'}\n")
    refused = kickgen("netboot", str(bad), "--base", str(tiny_hybrid), "-o", str(tmp_path / "x"))
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert refused.stderr.splitlines() == [
        f"kickgen: error: {bad}:2:20: hosts[0].mac: 'nope' is not a MAC address: expected six hex pairs joined by : "
        "or - (52:54:00:12:34:56), aabb.ccdd.eeff or 12 hex digits",
        f"kickgen: error: {bad}:3:5: hosts[1].profile: required key is missing (or give defaults.profile)",
        f"kickgen: error: {bad}:3:12: hosts[1].name: a is also the name of hosts[0] ({bad}:2:12)"]
    usage = kickgen("netboot", str(EXAMPLE), "--base", str(tiny_hybrid), "-o", str(tmp_path / "y"),
                    "--server-url", "ftp://x")
    assert usage.returncode == 2 and usage.stderr.startswith("kickgen: error: --server-url 'ftp://x': ")


# --- the report upload of the first-boot script -------------------------------------------------------

class _Reports(http.server.BaseHTTPRequestHandler):
    received: list[tuple[str, str, bytes]] = []

    def do_POST(self) -> None:  # noqa: N802 (the stdlib's name)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.received.append((self.path, self.headers.get("Content-Type", ""), body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def listener():
    """A plain HTTP listener on loopback that records POSTs (the test's side of the upload)."""
    _Reports.received = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Reports)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], _Reports.received
    server.shutdown()
    server.server_close()


def upload_script(tmp_path: Path, url: str, *, poweroff: bool) -> Path:
    """The upload part of the rendered init script, pointed at files in TMP_PATH."""
    profile = load_profile("el6-base", [f"report.url={url}"])
    text = render_kickstart(profile, salt="kickgentest").text
    lines = text.splitlines()
    start = lines.index("kg_upload() {")
    end = next(i for i in range(start, len(lines)) if lines[i] == "fi" and lines[i - 1].startswith("    kg_send "))
    body = "\n".join(lines[start:end + 1]).replace("/root/kickgen-report.txt", str(tmp_path / "report.txt"))
    (tmp_path / "report.txt").write_text('KICKGEN-REPORT v1 {"profile":"el6-base"}\n')
    script = tmp_path / "upload.sh"
    script.write_text(f"KG_REPORT_URL='{url}'\nkg_out='{tmp_path / 'console'}'\n"
                      f"KG_POWEROFF={1 if poweroff else 0}\nkg_first=true\n{body}\n")
    return script


def test_the_report_is_posted_with_curl(listener, tmp_path):
    port, received = listener
    url = f"http://127.0.0.1:{port}/hosts/web1/report"
    run("sh", upload_script(tmp_path, url, poweroff=True))
    assert received == [("/hosts/web1/report", "text/plain", b'KICKGEN-REPORT v1 {"profile":"el6-base"}\n')]
    assert (tmp_path / "console").read_text() == f"kickgen-report: report sent to {url}\n"


def test_without_curl_the_report_is_posted_with_wget_in_the_background(listener, tmp_path):
    port, received = listener
    url = f"http://127.0.0.1:{port}/hosts/web2/report"
    tools = tmp_path / "bin"
    tools.mkdir()
    (tools / "wget").symlink_to(shutil.which("wget"))
    started = time.monotonic()
    subprocess.run(["/bin/sh", str(upload_script(tmp_path, url, poweroff=False))], check=True,
                   env={"PATH": str(tools)})
    assert time.monotonic() - started < 2                      # the boot goes on at once
    deadline = time.monotonic() + 10
    while not received and time.monotonic() < deadline:
        time.sleep(0.05)
    assert received == [("/hosts/web2/report", "text/plain", b'KICKGEN-REPORT v1 {"profile":"el6-base"}\n')]


def test_a_failed_upload_never_stops_the_boot(tmp_path):
    url = f"http://127.0.0.1:{free_port()}/hosts/web1/report"       # nothing listens there
    started = time.monotonic()
    result = subprocess.run(["sh", str(upload_script(tmp_path, url, poweroff=True))], capture_output=True)
    assert result.returncode == 0 and time.monotonic() - started < 20
    assert (tmp_path / "console").read_text() == (f"kickgen-report: could not send the report to {url} "
                                                  "(the line above stands)\n")


def test_no_report_url_no_upload():
    text = render_kickstart(load_profile("el6-base"), salt="kickgentest").text
    assert "KG_REPORT_URL" not in text and "kg_upload" not in text
