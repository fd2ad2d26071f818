"""The stand-in installer's network install (issue 14): ks=http://, the install tree over HTTP,
ksdevice=/BOOTIF=, DHCP or ip= in the loader, as anaconda 13.21.215 does them; the installed
system's network service and curl/wget on the real network; the EFI loader booted over PXE
reading its config files as EL6's grub.efi does (kickgen/standin/data/README.md, "Network install").

Fast tests run the loader's shell library (initrd/standin/lib/net.sh) under busybox sh with a
fake /sys/class/net and stub `ip`/`udhcpc`, and the installed system's commands chrooted into a
stand-in root, against a real nginx on 127.0.0.1. VM tests boot the stand-in kernel and initrd
(BIOS, direct kernel boot) and BOOTX64.efi (OVMF, PXE from QEMU's TFTP) on user-mode networking,
where the host's nginx is 10.0.2.2.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from kickgen.core.resources import package_dir
from qemu_boot import boot, user_nics
from test_standin_installer import BUSYBOX, DASH, KS_ANSWERS, make_standin_root, sh, standin_root  # noqa: F401 - standin_root is a fixture

STANDIN = package_dir("kickgen.standin", "data")
LIB = STANDIN / "initrd" / "standin" / "lib"
NGINX = Path("/usr/sbin/nginx")
MAC = "52:54:00:4b:47:0a"          # letters in it: 13.21 compares MAC addresses in upper case
OTHER_MAC = "52:54:00:4b:47:0b"


# --- a real HTTP server: nginx with its own configuration ---------------------------------------

@dataclass
class Nginx:
    port: int
    root: Path
    log: Path
    proc: subprocess.Popen

    @property
    def guest_url(self) -> str:
        """The server as a QEMU user-mode guest reaches it."""
        return f"http://10.0.2.2:{self.port}"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def requests(self) -> list[str]:
        """Access log lines: METHOD RAW-URI STATUS ua=[...] arch=[...] release=[...] ct=[...] body=[...]."""
        return self.log.read_text().splitlines() if self.log.exists() else []


NGINX_CONF = """\
{user}worker_processes 1;
error_log {d}/error.log;
pid {d}/nginx.pid;
events {{ worker_connections 64; }}
http {{
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    log_format kg escape=json '$request_method $request_uri $status ua=[$http_user_agent] '
                              'arch=[$http_x_anaconda_architecture] release=[$http_x_anaconda_system_release] '
                              'ct=[$content_type] body=[$request_body]';
    server {{
        listen unix:{d}/sink.sock;
        access_log off;
        return 200 "ok\\n";
    }}
    server {{
        listen 127.0.0.1:{port};
        root {root};
        access_log {d}/access.log kg;
        # the report endpoint of the contract: the body has to be read to be logged
        location ~ ^/hosts/[^/]+/report$ {{
            client_max_body_size 64k;
            proxy_pass http://unix:{d}/sink.sock;
        }}
        location = /busy {{
            return 503;
        }}
    }}
}}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def nginx(tmp_path: Path) -> Iterator[Nginx]:
    """nginx from Debian on 127.0.0.1:<free port>, serving tmp_path/www (symlinks followed)."""
    if not NGINX.is_file():
        pytest.skip("nginx is not installed (make setup: debian-packages.txt)")
    d = tmp_path / "nginx"
    root = tmp_path / "www"
    d.mkdir()
    root.mkdir()
    port = free_port()
    user = "user root;\n" if os.geteuid() == 0 else ""   # workers must read the pytest tmp dirs
    (d / "nginx.conf").write_text(NGINX_CONF.format(user=user, d=d, root=root, port=port))
    proc = subprocess.Popen([str(NGINX), "-p", str(d), "-c", str(d / "nginx.conf"), "-g", "daemon off;"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                err = proc.stderr.read().decode() if proc.stderr else ""
                pytest.fail(f"nginx did not start: {err}{(d / 'error.log').read_text() if (d / 'error.log').exists() else ''}")
            time.sleep(0.1)
    try:
        yield Nginx(port, root, d / "access.log", proc)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# --- the loader's network library under busybox sh ----------------------------------------------

@dataclass
class Loader:
    """A shell around initrd/standin/lib/net.sh: fake interfaces, stub commands, a command line."""
    dir: Path

    def nic(self, name: str, mac: str, link: bool = True) -> None:
        d = self.dir / "sys" / name
        d.mkdir(parents=True, exist_ok=True)
        (d / "address").write_text(mac + "\n")
        (d / "carrier").write_text("1\n" if link else "0\n")

    def run(self, cmdline: str, script: str, *, own_netns: bool = True) -> subprocess.CompletedProcess:
        """SCRIPT after net.sh is sourced, `ip` and `udhcpc` being stubs. own_netns: in a network
        namespace of its own (unshare -n), so that nothing here can touch the host's interfaces
        even if a stub were bypassed; off only for the HTTP test, which needs the host's nginx."""
        (self.dir / "cmdline").write_text(cmdline + "\n")
        prelude = f"""
LIB={LIB}
. "$LIB/common.sh"
LOG={self.dir}/log
CMDLINE_FILE={self.dir}/cmdline
SYS_NET={self.dir}/sys
NET_STATE={self.dir}/state
NETSCRIPTS={self.dir}/network-scripts
RESOLV_CONF={self.dir}/resolv.conf
mkdir -p "$NET_STATE" "$SYS_NET"
say() {{ echo "kickgen-standin: $*"; }}
wait_at_prompt() {{ echo "kickgen-standin: waiting at prompt (as the EL6 installer would)"; exit 3; }}
. "$LIB/net.sh"
# Stubs as shell functions: busybox sh runs its own applets before anything on $PATH.
ip() {{ echo "ip $*" >>"$NET_STATE/ip.log"; }}
udhcpc() {{
	while [ $# -gt 0 ]; do case "$1" in -i) i=$2; shift ;; -V) v=$2; shift ;; esac; shift; done
	echo "udhcpc -i $i -V $v" >>"$NET_STATE/ip.log"
	printf 'ip=10.0.2.15\\nmask=24\\nrouter=10.0.2.2\\ndns=10.0.2.3\\nsiaddr=10.0.2.2\\nsname=\\nboot_file=pxelinux.0\\n' \\
		>"$NET_STATE/lease-$i"
}}
"""
        cmd = [str(BUSYBOX), "sh", "-c", prelude + script]
        if own_netns:
            cmd = ["unshare", "--net", *cmd]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=60, cwd=self.dir)


@pytest.fixture
def loader(tmp_path: Path) -> Loader:
    if not BUSYBOX.is_file():
        pytest.skip("busybox missing (make setup)")
    if os.geteuid() != 0 or not shutil.which("unshare"):
        pytest.skip("the loader's network code runs in a network namespace of its own: needs root (CI runs as root)")
    return Loader(tmp_path)


def test_the_loader_picks_its_interface_as_13_21_does(loader: Loader) -> None:
    loader.nic("eth0", "52:54:00:4b:47:01")
    loader.nic("eth1", "52:54:00:4b:47:02")
    cases = [
        ("ksdevice=bootif BOOTIF=01-52-54-00-4b-47-02", "eth1 0"),   # BOOTIF's MAC (pxelinux IPAPPEND 2)
        ("ksdevice=52:54:00:4B:47:01", "eth0 0"),                     # a MAC, any case
        ("ksdevice=eth1", "eth1 0"),                                  # a name
        ("ksdevice=bootif", " 2"),                                    # no BOOTIF: matches nothing, two NICs: it asks
        ("ksdevice=52:54:00:00:00:99", " 2"),                         # unknown MAC: it asks
        ("", " 2"),                                                   # no ksdevice and two NICs: it asks
    ]
    for cmdline, expected in cases:
        result = loader.run(cmdline, 'nic=$(choose_install_nic "$(cmdline_arg ksdevice)"); echo "$nic $?"')
        assert result.stdout == expected + "\n", (cmdline, result.stdout, result.stderr)
    # ksdevice=link: the first interface with link (eth0 has none)
    loader.nic("eth0", "52:54:00:4b:47:01", link=False)
    result = loader.run("ksdevice=link linksleep=1", 'choose_install_nic link; echo "rc=$?"')
    assert result.stdout.split() == ["eth1", "rc=0"], result.stderr


def test_with_one_interface_13_21_uses_it_whatever_ksdevice_says(loader: Loader) -> None:
    # net.c:2150-2155: nothing matched and only one device -> that device, no question.
    loader.nic("eth0", "52:54:00:4b:47:01")
    for cmdline in ("ksdevice=bootif", "ksdevice=52:54:00:00:00:99", "ksdevice=eth7 linksleep=1", ""):
        result = loader.run(cmdline, 'choose_install_nic "$(cmdline_arg ksdevice)"; echo "rc=$?"')
        assert result.stdout.split() == ["eth0", "rc=0"], (cmdline, result.stdout, result.stderr)


def test_bootif_without_BOOTIF_on_two_interfaces_stops_at_networking_device(loader: Loader) -> None:
    loader.nic("eth0", "52:54:00:4b:47:01")
    loader.nic("eth1", "52:54:00:4b:47:02")
    result = loader.run("ks=http://10.0.2.2/ks.cfg ksdevice=bootif", "loader_network_up; echo not-reached")
    assert result.returncode == 3, result.stdout + result.stderr
    assert ("kickgen-standin: ERROR: Networking Device: You have multiple network devices on this system. "
            "Which would you like to install through? (ksdevice=bootif matches none of them; interfaces: "
            "eth0 (52:54:00:4b:47:01), eth1 (52:54:00:4b:47:02); the EL6 loader asks and waits)") in result.stdout
    assert "not-reached" not in result.stdout


def test_unknown_mac_in_ksdevice_on_two_interfaces_stops_at_networking_device(loader: Loader) -> None:
    loader.nic("eth0", "52:54:00:4b:47:01")
    loader.nic("eth1", "52:54:00:4b:47:02")
    result = loader.run("ksdevice=52:54:00:00:00:99", "loader_network_up; echo not-reached")
    assert result.returncode == 3
    assert "ERROR: Networking Device: You have multiple network devices on this system." in result.stdout
    assert "(ksdevice=52:54:00:00:00:99 matches none of them;" in result.stdout


def test_boot_arguments_configure_dhcp_or_a_static_address(loader: Loader) -> None:
    loader.nic("eth0", "52:54:00:4b:47:01")
    dhcp = loader.run("ksdevice=eth0", "loader_network_up && echo dev=$NET_DEV; cat $NETSCRIPTS/ifcfg-eth0")
    assert "kickgen-standin: network: eth0 (52:54:00:4b:47:01) up by DHCP: 10.0.2.15/24, gateway 10.0.2.2, DNS 10.0.2.3" \
        in dhcp.stdout, dhcp.stderr
    assert "dev=eth0" in dhcp.stdout
    assert re.search(r"DEVICE=eth0\nHWADDR=52:54:00:4B:47:01\nUUID=\S*\nONBOOT=yes\nTYPE=Ethernet\nBOOTPROTO=dhcp\n",
                     dhcp.stdout), dhcp.stdout
    vendor = (loader.dir / "state" / "ip.log").read_text()
    assert f"udhcpc -i eth0 -V anaconda-Linux {os.uname().release} {os.uname().machine}" in vendor
    static = loader.run("ip=10.0.2.50 netmask=255.255.255.0 gateway=10.0.2.2 dns=10.0.2.3,10.0.2.4 hostname=a.example",
                        "loader_network_up; cat $NETSCRIPTS/ifcfg-eth0 $RESOLV_CONF")
    assert "network: eth0 (52:54:00:4b:47:01) up, static 10.0.2.50/24, gateway 10.0.2.2, DNS 10.0.2.3,10.0.2.4" \
        in static.stdout, static.stderr
    assert ("BOOTPROTO=static\nIPADDR=10.0.2.50\nNETMASK=255.255.255.0\nGATEWAY=10.0.2.2\nDNS1=10.0.2.3\n"
            "DNS2=10.0.2.4\nHOSTNAME=a.example\nnameserver 10.0.2.3\nnameserver 10.0.2.4\n") in static.stdout
    # pxelinux IPAPPEND 1: ip=client:server:gateway:netmask
    pxe = loader.run("ip=10.0.2.51:10.0.2.2:10.0.2.1:255.255.0.0",
                     'read_boot_ip_args; echo "$BOOT_IP $BOOT_GW $BOOT_MASK"; mask_bits 255.255.0.0; bits_mask 20')
    assert pxe.stdout.split("\n")[:3] == ["10.0.2.51 10.0.2.1 255.255.0.0", "16", "255.255.240.0"]
    bad = loader.run("ip=10.0.2.300", "loader_network_up; echo \"rc=$? $NET_FAILED\"")
    assert "rc=1 ip=10.0.2.300 is not an IPv4 address" in bad.stdout


def test_no_interface_at_all_fails_the_download_not_the_loader(loader: Loader) -> None:
    result = loader.run("ks=http://10.0.2.2/ks.cfg", "loader_network_up; echo \"rc=$? $NET_FAILED\"")
    assert "rc=1 no network device" in result.stdout


def test_http_get_sends_anacondas_headers_and_reports_http_errors(loader: Loader, nginx: Nginx) -> None:
    loader.nic("eth0", "52:54:00:4b:47:01")
    (nginx.root / "ks.cfg").write_text("lang C\n")
    result = loader.run("kssendmac", own_netns=False, script=f"""
http_get {nginx.url}/ks.cfg {loader.dir}/ks.cfg && cat {loader.dir}/ks.cfg
http_get {nginx.url}/missing.cfg {loader.dir}/m.cfg; echo "rc=$? $HTTP_ERROR"; [ -e {loader.dir}/m.cfg ] || echo gone
http_get http://127.0.0.1:{free_port()}/x {loader.dir}/x; echo "rc=$? $HTTP_ERROR"
""")
    assert result.stdout.splitlines() == [
        "lang C",
        "rc=1 server returned error: HTTP/1.1 404 Not Found",
        "gone",
        "rc=1 can't connect to remote host (127.0.0.1): Connection refused"], result.stderr
    first = nginx.requests()[0]
    assert first.startswith("GET /ks.cfg 200 ua=[anaconda/13.21.215] arch=[x86_64] release=[CentOS]"), first


def test_stage_2_lays_the_kickstart_network_lines_over_the_loaders_ifcfg(loader: Loader) -> None:
    # The loader's files (disabled for every interface, enabled for the one it brought up), then
    # each network line over its interface's file, NM_CONTROLLED=yes everywhere, as 13.21 writes them.
    loader.nic("eth0", "52:54:00:4b:47:01")
    loader.nic("eth1", "52:54:00:4b:47:02")
    ks = loader.dir / "ks"
    ks.mkdir()
    line = "network\t--device=eth0\t--bootproto=static\t--ip=10.0.2.60\t--netmask=255.255.255.0\t" \
           "--gateway=10.0.2.2\t--nameserver=10.0.2.3,10.0.2.4\t--noipv6"
    (ks / "commands").write_text(line + "\n")
    (ks / "network").write_text("eth0\t" + line + "\n")
    root = loader.dir / "root"
    result = loader.run("ksdevice=eth0", f"""
. "$LIB/installer.sh"
KS={ks}; R={root}; mkdir -p $R/etc $R/root
write_disabled_ifcfg
configure_nic eth0 dhcp "" "" "" "" "" >/dev/null
write_network_config
cd $R/etc/sysconfig/network-scripts && for f in ifcfg-*; do echo "== $f"; grep -v ^UUID= $f; done
""")
    assert result.returncode == 0, result.stderr
    assert result.stdout == """\
== ifcfg-eth0
DEVICE=eth0
HWADDR=52:54:00:4B:47:01
ONBOOT=yes
TYPE=Ethernet
BOOTPROTO=static
IPADDR=10.0.2.60
NETMASK=255.255.255.0
IPV6INIT=no
DNS1=10.0.2.3
DNS2=10.0.2.4
GATEWAY=10.0.2.2
NM_CONTROLLED=yes
== ifcfg-eth1
DEVICE=eth1
HWADDR=52:54:00:4B:47:02
TYPE=Ethernet
ONBOOT=no
NM_CONTROLLED=yes
BOOTPROTO=dhcp
"""


# --- the installed system: network service, ifup, curl and wget on the real network -------------

def test_network_service_is_an_el6_service(standin_root: Path) -> None:
    result = sh(standin_root, "chkconfig --add network && chkconfig --list network; "
                              "ifup eth9; echo rc=$?; "
                              "printf 'DEVICE=eth9\\nONBOOT=yes\\nBOOTPROTO=dhcp\\n' > /etc/sysconfig/network-scripts/ifcfg-eth9; "
                              "ifup eth9; echo rc=$?; service network status")
    assert result.stdout.splitlines()[0] == "network        \t0:off\t1:off\t2:on\t3:on\t4:on\t5:on\t6:off"
    assert "/sbin/ifup: configuration for eth9 not found.\nUsage: ifup <device name>\n" in result.stderr
    assert "Device eth9 does not seem to be present, delaying initialization." in result.stderr
    assert result.stdout.splitlines()[1:4] == ["rc=1", "rc=1", "Configured devices:"]
    assert result.stdout.splitlines()[4] == "lo eth9 "


def test_curl_posts_the_report_to_a_real_server_and_keeps_the_catalogue(standin_root: Path, nginx: Nginx) -> None:
    (standin_root / "root").mkdir(exist_ok=True)
    (standin_root / "root/kickgen-report.txt").write_text('KICKGEN-REPORT {"host": "a"}\n')
    (nginx.root / "tree.txt").write_text("from the tree\n")
    # RPMs on the real server are not fetched: a catalogue package's file name is still the
    # catalogue's bytes (pins hold), any other .rpm is "not found", as before
    (nginx.root / "epel-release-6-8.noarch.rpm").write_text("not the catalogue's bytes\n")
    (nginx.root / "other-1-1.noarch.rpm").write_text("a real file\n")
    url = nginx.url
    result = sh(standin_root, f"""
curl -fsS --max-time 30 --retry 3 -H 'Content-Type: text/plain' --data-binary @/root/kickgen-report.txt {url}/hosts/a/report; echo "rc=$?"
wget -q -T 30 -t 3 --header='Content-Type: text/plain' --post-file=/root/kickgen-report.txt -O /dev/null {url}/hosts/a/report; echo "wget rc=$?"
curl -fsS {url}/tree.txt; echo "rc=$?"
curl -fsS {url}/missing; echo "rc=$?"
curl -s {url}/missing; echo "rc=$?"
curl -fsS http://127.0.0.1:{free_port()}/x; echo "rc=$?"
curl -fsS {url}/epel-release-6-8.noarch.rpm; echo "rc=$?"
curl -fsS {url}/other-1-1.noarch.rpm; echo "rc=$?"
curl -fsS https://example.invalid/whatever; echo "rc=$?"
""")
    assert result.stdout.splitlines() == [
        "ok", "rc=0", "wget rc=0", "from the tree", "rc=0", "rc=22", "rc=0", "rc=7",
        "kickgen stand-in rpm: epel-release-6-8.noarch", "rc=0", "rc=22", "rc=22"], result.stderr
    assert result.stderr.splitlines() == [
        "curl: (22) The requested URL returned error: 404",
        "curl: (7) couldn't connect to host",
        "curl: (22) The requested URL returned error: 404",
        "curl: (22) The requested URL returned error: 404"]
    posts = [r for r in nginx.requests() if r.startswith("POST")]
    assert posts == [
        'POST /hosts/a/report 200 ua=[curl/7.19.7 (x86_64-redhat-linux-gnu) libcurl/7.19.7 NSS/3.14.0.0 zlib/1.2.3 '
        'libidn/1.18 libssh2/1.4.2] arch=[] release=[] ct=[text/plain] body=[KICKGEN-REPORT {\\"host\\": \\"a\\"}\\n]',
        'POST /hosts/a/report 200 ua=[Wget/1.12 (linux-gnu)] arch=[] release=[] ct=[text/plain] '
        'body=[KICKGEN-REPORT {\\"host\\": \\"a\\"}\\n]']
    assert not [r for r in nginx.requests() if ".rpm" in r]


def test_curl_retries_a_5xx_answer_but_not_a_refused_upload(standin_root: Path, nginx: Nginx) -> None:
    # curl 7.19.7 --retry: a timeout or an HTTP 5xx is transient; an oversized report refused
    # by the server (413) is not; -X other than GET/POST is not something the stand-in does.
    (standin_root / "root").mkdir(exist_ok=True)
    (standin_root / "root/big.txt").write_text("x" * 70000)
    result = sh(standin_root, f"""
curl -fsS --retry 2 --retry-delay 0 {nginx.url}/busy; echo "rc=$?"
curl -fsS --retry 2 --retry-delay 0 --data-binary @/root/big.txt {nginx.url}/hosts/a/report; echo "rc=$?"
curl -fsS -X PUT {nginx.url}/x; echo "rc=$?"
""")
    assert result.stdout.splitlines() == ["rc=22", "rc=22", "rc=2"], result.stderr
    assert result.stderr.splitlines() == [
        "curl: (22) The requested URL returned error: 503",
        "curl: (22) The requested URL returned error: 413",
        "curl: (stand-in) -X PUT is not supported by the stand-in curl"]
    assert [" ".join(r.split()[:3]) for r in nginx.requests()] == [
        "GET /busy 503", "GET /busy 503", "GET /busy 503", "POST /hosts/a/report 413"]


# --- VM tests ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def standin_tree(standin_minimal: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The stand-in minimal media as an extracted install tree (what `kickgen netboot --extract-tree` serves)."""
    tree = tmp_path_factory.mktemp("standin-tree") / "tree"
    subprocess.run(["xorriso", "-osirrox", "on", "-indev", str(standin_minimal), "-extract", "/", str(tree)],
                   check=True, capture_output=True)
    subprocess.run(["chmod", "-R", "u+w", str(tree)], check=True)
    return tree


def blank_disk(path: Path, mib: int) -> Path:
    with open(path, "wb") as f:
        f.truncate(mib * 1024**2)
    return path


def kickstart(server: str, host: str) -> str:
    return KS_ANSWERS + f"""\
url --url={server}/hosts/{host}/tree/
network --device=bootif --bootproto=static --ip=10.0.2.60 --netmask=255.255.255.0 --gateway=10.0.2.2 --nameserver=10.0.2.3 --hostname={host}.example
poweroff

%packages --nobase
@core
%end

%post
cat >> /etc/rc.d/rc.local <<'EOS'
echo "KICKGEN-REPORT host=$(hostname)" > /root/kickgen-report.txt
curl -fsS --max-time 30 --retry 3 -H 'Content-Type: text/plain' --data-binary @/root/kickgen-report.txt {server}/hosts/{host}/report >/dev/null
echo "KGTEST upload rc=$? network=$(chkconfig network; echo $?) $(grep -v ^UUID= /etc/sysconfig/network-scripts/ifcfg-eth0 | tr '\\n' ' ')" > /dev/ttyS0
poweroff
EOS
%end
"""


@pytest.mark.vm
@pytest.mark.timeout(900)
def test_network_install_over_http_and_the_installed_system_reports(standin_tree: Path, nginx: Nginx,
                                                                    tmp_path: Path) -> None:
    host = nginx.root / "hosts" / "a"
    host.mkdir(parents=True)
    (host / "tree").symlink_to(standin_tree)
    (host / "ks.cfg").write_text(kickstart(nginx.guest_url, "a"))
    disk = blank_disk(tmp_path / "disk.img", 4096)
    bootif = "01-" + MAC.replace(":", "-")
    direct = ["-kernel", str(standin_tree / "isolinux/vmlinuz"), "-initrd", str(standin_tree / "isolinux/initrd.img"),
              "-append", f"ks={nginx.guest_url}/hosts/a/ks.cfg ksdevice=bootif BOOTIF={bootif} console=ttyS0,115200n8"]
    install = boot(disks=[disk], serial_log=tmp_path / "install.log", nic=False, memory_mb=1024, timeout=600,
                   expect=r"kickgen-standin: (install complete|waiting at prompt)",
                   extra_args=user_nics([MAC]) + direct)
    assert install.match == "kickgen-standin: install complete", install.tail()
    text = install.text
    for line in (f"kickgen-standin: network: installing through eth0 (ksdevice=bootif, BOOTIF={bootif})",
                 f"kickgen-standin: network: eth0 ({MAC}) up by DHCP: 10.0.2.15/24, gateway 10.0.2.2, DNS 10.0.2.3",
                 f"kickgen-standin: kickstart read from {nginx.guest_url}/hosts/a/ks.cfg",
                 f"kickgen-standin: network: eth0 ({MAC}) up, static 10.0.2.60/24, gateway 10.0.2.2, DNS 10.0.2.3",
                 f"kickgen-standin: install source: {nginx.guest_url}/hosts/a/tree/ (url, from the kickstart); "
                 f"stage 2: {nginx.guest_url}/hosts/a/tree//images/install.img"):
        assert line in text, text[-3000:]
    assert "ERROR" not in text
    # What 13.21 fetches, in its order (the loader, then stage 2 and yum), as the server saw it.
    seen = [" ".join(r.split()[:3]) for r in nginx.requests()]
    assert seen == [
        "GET /hosts/a/ks.cfg 200",
        "GET /hosts/a/tree//images/updates.img 404",
        "GET /hosts/a/tree//images/product.img 404",
        "GET /hosts/a/tree//images/install.img 200",
        "GET /hosts/a/tree//.treeinfo 200",
        "GET /hosts/a/tree//.treeinfo 200",
        "GET /hosts/a/tree/repodata/repomd.xml 200",
        "GET /hosts/a/tree/repodata/primary.xml.gz 200",
        "GET /hosts/a/tree/repodata/comps.xml 200",
        "GET /hosts/a/tree/images/pxeboot/vmlinuz 200",
        "GET /hosts/a/tree/images/pxeboot/initrd.img 200"], nginx.requests()
    assert "ua=[anaconda/13.21.215] arch=[x86_64] release=[CentOS]" in nginx.requests()[0]

    first_boot = boot(disks=[disk], boot_from="disk", serial_log=tmp_path / "boot.log", nic=False, memory_mb=1024,
                      timeout=300, extra_args=user_nics([MAC]))
    assert first_boot.exited, first_boot.tail()
    assert "kickgen-standin: network: eth0 up, static 10.0.2.60/24, gateway 10.0.2.2" in first_boot.text
    report = re.search(r"KGTEST upload rc=(\d+) network=(\d+) (.*)", first_boot.text)
    assert report, first_boot.tail()
    assert report.group(1) == "0" and report.group(2) == "0"
    assert report.group(3).split() == [
        "DEVICE=eth0", "HWADDR=52:54:00:4B:47:0A", "ONBOOT=yes", "TYPE=Ethernet", "BOOTPROTO=static",
        "IPADDR=10.0.2.60", "NETMASK=255.255.255.0", "GATEWAY=10.0.2.2", "DNS1=10.0.2.3", "HOSTNAME=a.example",
        "IPV6INIT=yes", "NM_CONTROLLED=yes"]
    posts = [r for r in nginx.requests() if r.startswith("POST")]
    assert posts == ["POST /hosts/a/report 200 ua=[curl/7.19.7 (x86_64-redhat-linux-gnu) libcurl/7.19.7 NSS/3.14.0.0 "
                     "zlib/1.2.3 libidn/1.18 libssh2/1.4.2] arch=[] release=[] ct=[text/plain] "
                     "body=[KICKGEN-REPORT host=a.example\\n]"]


def efi_binary(standin_dvd: Path, work: Path) -> Path:
    """EFI/BOOT/BOOTX64.efi of the stand-in DVD (it lives inside images/efiboot.img)."""
    img = work / "efiboot.img"
    subprocess.run(["xorriso", "-osirrox", "on", "-indev", str(standin_dvd), "-extract", "/images/efiboot.img",
                    str(img)], check=True, capture_output=True)
    img.chmod(0o644)
    out = work / "BOOTX64.efi"
    subprocess.run(["mcopy", "-i", str(img), "::EFI/BOOT/BOOTX64.efi", str(out)], check=True, capture_output=True,
                   env={**os.environ, "MTOOLS_SKIP_CHECK": "1"})
    return out


@pytest.mark.vm
@pytest.mark.timeout(600)
def test_uefi_pxe_reads_el6_config_names_and_a_404_kickstart_stops_at_the_el6_error(
        standin_dvd: Path, standin_tree: Path, nginx: Nginx, tmp_path: Path) -> None:
    # OVMF PXE-boots BOOTX64.efi from QEMU's TFTP. As EL6's grub.efi it must take the per-host file
    # "01-" + the MAC in UPPER case (before the client-IP-in-hex and efidefault files, and not the
    # lower-case name), read kernel/initrd paths relative to its own directory (they exist only
    # under EFI/BOOT/ here) and append BOOTIF= for `macappend`. The kickstart URL answers 404:
    # the installer stops at 13.21's "Error downloading kickstart file".
    tftp = tmp_path / "tftp"
    boot_dir = tftp / "EFI" / "BOOT"
    (boot_dir / "images" / "pxeboot").mkdir(parents=True)
    shutil.copy(efi_binary(standin_dvd, tmp_path), boot_dir / "BOOTX64.efi")
    for f in ("vmlinuz", "initrd.img"):
        shutil.copy(standin_tree / "images/pxeboot" / f, boot_dir / "images/pxeboot" / f)
    ks_url = f"{nginx.guest_url}/hosts/missing/ks.cfg"
    (boot_dir / ("01-" + OTHER_MAC.replace(":", "-").upper())).write_text(
        "default=0\ntimeout=0\nmacappend\ntitle Install missing (kickgen)\n\troot (nd)\n"
        f"\tkernel /images/pxeboot/vmlinuz ks={ks_url} ksdevice=bootif console=ttyS0,115200n8\n"
        "\tinitrd /images/pxeboot/initrd.img\n")
    for decoy in ("01-" + OTHER_MAC.replace(":", "-"), "0A00020F", "efidefault"):   # must not be read
        (boot_dir / decoy).write_text(f"default=0\ntimeout=0\ntitle decoy\n\tkernel /decoy-{decoy}\n")
    result = boot(disks=[blank_disk(tmp_path / "disk.img", 64)], firmware="uefi", serial_log=tmp_path / "pxe.log",
                  nic=False, memory_mb=1024, timeout=400, expect=r"kickgen-standin: waiting at prompt",
                  extra_args=user_nics([OTHER_MAC], tftp=tftp, bootfile="EFI/BOOT/BOOTX64.efi", boot_from_nic=True))
    assert result.matched, result.tail()
    text = result.text
    bootif = "01-" + OTHER_MAC.replace(":", "-").upper()
    for line in (f"kickgen-standin-efi: netboot config (tftp,10.0.2.2)/EFI/BOOT/{bootif}",
                 "kickgen-standin-efi: kernel (tftp,10.0.2.2)/EFI/BOOT/images/pxeboot/vmlinuz",
                 f"kickgen-standin: installer starting (ks={ks_url})",
                 f"kickgen-standin: network: installing through eth0 (ksdevice=bootif, BOOTIF={bootif})",
                 "kickgen-standin: ERROR: Error downloading kickstart file: Unable to download the kickstart file.  "
                 "Please modify the kickstart parameter below or press Cancel to proceed as an interactive "
                 f"installation. (ks={ks_url}: server returned error: HTTP/1.1 404 Not Found)"):
        assert line in text, text[-3000:]
    assert "decoy" not in text
    assert [" ".join(r.split()[:3]) for r in nginx.requests()] == ["GET /hosts/missing/ks.cfg 404"]
