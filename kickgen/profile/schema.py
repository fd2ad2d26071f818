"""The profile schema: value kinds and the frozen dataclass tree a profile loads into.

This is the single source of truth: the loader (`kickgen.profile.loader`), the conversion
(`kickgen.profile.convert`), `kickgen show` and the key reference in docs/profile.md
(`kickgen.profile.reference`) are all derived from it. Each field's metadata says what it
means, which string kind it takes and an example value.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from kickgen.core.el6 import BOOT_ARGS, BOOT_DEFAULT, BOOT_LABEL, BOOT_TIMEOUT, CRYPT_SHA512, VOLUME_ID, VOLUME_ID_TEXT

# --- value kinds: what a string may contain, so it cannot break out of its line -----------

# Each kind is (regex, human description). Values are checked when loaded; templates quote
# shell values again on top (defence in depth).
# Characters no text field takes: controls (C0, DEL, C1 with U+0085 NEL), the Unicode line and
# paragraph separators (Python's splitlines and some editors break lines there, EL6 does not:
# the two would disagree on where a line ends), bidirectional embeddings, overrides and isolates
# (they make text read differently from what it does), and lone surrogates (not encodable).
_NOT_TEXT = r"\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff"
_NOT_SCRIPT = _NOT_TEXT.replace(r"\x00-\x1f", r"\x00-\x08\x0b-\x1f")    # a script has tabs and \n
# an RFC 1123 host name as EL6 takes it: dot-separated labels of 1 to 63 letters, digits and '-',
# not starting or ending with '-'; at most 64 characters in all (EL6's kernel: HOST_NAME_MAX, and
# sethostname refuses a longer one though RFC 1123 allows 255)
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
KINDS: dict[str, tuple[re.Pattern[str], str]] = {
    # one line of free text (comments, descriptions): no control or line-breaking characters at all
    "text": (re.compile(f"[^{_NOT_TEXT}]*"), "one line of text without control or line-separator characters"),
    # a kickstart/shell word: no spaces, quotes, `#`, `$`, `;`, `&`, `|`, backslash, ...
    "word": (re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.:/@+,=-]*"),
             "a single word of letters, digits and _ . : / @ + , = -"),
    "name": (re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*"), "a name of letters, digits and _ . -"),
    "package": (re.compile(r"-?@?[A-Za-z0-9_][A-Za-z0-9_.+*-]*"),
                "a package or @group name (optionally prefixed with - to exclude)"),
    "url": (re.compile(r"(https?|ftp|nfs|file)://[A-Za-z0-9._~:/?\[\]@!&()*+,;=%-]+"),
            "an http://, https://, ftp://, nfs:// or file:// URL without spaces, quotes, $ or #"),
    "abspath": (re.compile(r"/[A-Za-z0-9_.+/-]*"), "an absolute path of letters, digits and _ . + - /"),
    "relpath": (re.compile(r"[A-Za-z0-9_./+-][A-Za-z0-9_./+ -]*"), "a file path"),
    "regex": (re.compile(f"[^{_NOT_TEXT}]*"), "a regular expression on one line (no control characters)"),
    "bootarg": (re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.:/@+,=-]*"),
                "one kernel argument (no spaces or quotes)"),
    "crypt": (CRYPT_SHA512,
              "a SHA-512 crypt hash ($6$salt$...)"),
    "script": (re.compile(f"[^{_NOT_SCRIPT}]*"),
               "a script: lines ended by \\n, tabs, no other control or line-separator characters"),
    "timezone": (re.compile(r"[A-Za-z0-9_][A-Za-z0-9_+/-]*"), "a time zone name like Europe/Berlin"),
    # a NIC name (at most 15 characters, the kernel's IFNAMSIZ) or a MAC address
    "netdev": (re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,14}|([0-9A-Fa-f]{2}:){5}[0-9A-Fa-f]{2}"),
               "a NIC name like em1 (at most 15 letters, digits and _ . -) or a MAC address "
               "like 52:54:00:12:34:56"),
    "volid": (VOLUME_ID, VOLUME_ID_TEXT),
    "hostname": (re.compile(rf"(?=.{{1,64}}\Z){_LABEL}(?:\.{_LABEL})*"),
                 "a host name: labels of 1 to 63 letters, digits and -, not starting or ending with -, "
                 "joined by dots; at most 64 characters (RFC 1123 as EL6's kernel takes it)"),
    # pins (supply chain): an RPM's file name as a mirror serves it, and its sha256
    "rpmfile": (re.compile(r"[A-Za-z0-9_+][A-Za-z0-9_.+-]*\.rpm"),
                "an RPM file name (letters, digits and _ . + -, ending in .rpm; no folder)"),
    "sha256": (re.compile(r"[0-9a-f]{64}"), "a sha256 in hex (64 digits 0-9 a-f)"),
}


def key(default: Any = dataclasses.MISSING, doc: str = "", *, kind: str | None = None,
        example: str | None = None, secret: bool = False) -> Any:
    """A schema field: its default, what it means, which string kind, an example value."""
    meta = {"doc": doc, "kind": kind, "example": example, "secret": secret}
    if isinstance(default, (list, dict)):
        raise TypeError("use a tuple for list defaults")
    return field(default=default, metadata=meta)


# --- the schema ---------------------------------------------------------------------------

@dataclass(frozen=True)
class RootPassword:
    """Exactly one of `hash`, `env`, `file`. Plaintext is read at render time, never stored."""
    hash: str | None = key(None, "a SHA-512 crypt hash, used as is", kind="crypt", secret=True,
                           example='"$6$salt$..."')
    env: str | None = key(None, "name of an environment variable holding the plaintext password",
                          kind="name", example="KICKGEN_ROOTPW")
    file: Path | None = key(None, "file holding the plaintext password (first line), relative "
                            "to the profile file", kind="relpath", example="secrets/rootpw")
    # Where the value was set (file:line:col or --set ...), for errors raised at render time.
    where: str = field(default="", compare=False, metadata={"internal": True})


@dataclass(frozen=True)
class Firewall:
    enabled: bool = key(True, "firewall on (`firewall --enabled`) or off (`--disabled`)")
    services: tuple[str, ...] = key(("ssh",), "services let through (`--service=`)", kind="word",
                                    example="[ssh, http]")


@dataclass(frozen=True)
class System:
    rootpw: RootPassword = key(doc="root password: `{hash: ...}`, `{env: VAR}` or `{file: PATH}`; "
                               "a plaintext string is refused", example="{env: KICKGEN_ROOTPW}")
    lang: str = key("en_US.UTF-8", "installer and system language (`lang`)", kind="word",
                    example="de_DE.UTF-8")
    keyboard: str = key("us", "keyboard layout (`keyboard`)", kind="word", example="de")
    timezone: str = key("UTC", "time zone (`timezone`)", kind="timezone", example="Europe/Berlin")
    utc: bool = key(True, "hardware clock in UTC (`timezone --utc`)")
    selinux: Literal["enforcing", "permissive", "disabled"] = key(
        "enforcing", "SELinux mode (`selinux --MODE`)", example="permissive")
    firewall: Firewall = key(Firewall(), "firewall settings")
    firstboot: bool = key(False, "run the firstboot agent (`firstboot --enable|--disable`)")
    text: bool = key(True, "text-mode installer (`text`)")
    finish: Literal["reboot", "poweroff", "halt"] = key(
        "reboot", "what the installer does when done. `reboot` with `boot.default: usb` is "
        "refused: nothing ejects a stick, the machine would boot it again and its default entry "
        "installs again", example="poweroff")
    eject: bool = key(True, "eject the CD/DVD when done (`reboot --eject`): 13.21 ejects only "
                      "with `--eject`, and a DVD left in a CD-first machine boots the unattended "
                      "install again (a reinstall loop); false only where the firmware boots the "
                      "disk first")


@dataclass(frozen=True)
class Install:
    source: Literal["cdrom", "url"] = key(
        "cdrom", "install source: the media (`cdrom`) or a tree over the network (`url --url=`: "
        "`install.url`, else `mirrors.centos_os`)",
        example="url")
    updates_repo: bool = key(False, "also give the installer `mirrors.centos_updates` as a `repo` "
                             "(needs the network)")
    url: str | None = key(None, "the install tree of `install.source: url` (`url --url=`); null = "
                          "`mirrors.centos_os`. `kickgen netboot` sets it per host to "
                          "SERVER/hosts/<name>/tree/ (the tree it serves; mirrors.centos_os stays the "
                          "installed system's yum repo)", kind="url",
                          example="http://10.0.2.2:8123/hosts/web1/tree/")


@dataclass(frozen=True)
class Mirrors:
    centos_os: str = key("http://vault.centos.org/6.5/os/x86_64/",
                         "CentOS 6.5 base tree (the vault keeps it)", kind="url",
                         example="http://mirror.local/centos/6.5/os/x86_64/")
    centos_updates: str = key("http://vault.centos.org/6.5/updates/x86_64/",
                              "CentOS 6.5 updates tree", kind="url",
                              example="http://mirror.local/centos/6.5/updates/x86_64/")


@dataclass(frozen=True)
class Network:
    device: str | None = key(
        None, "NIC of the `network` line (`--device=`): null leaves `--device` out, so EL6 uses "
        "the NIC the loader chose (the boot menu's `ksdevice=link`: the first with a cable), "
        "whatever the naming (eth0, em1, p1p1); a name pins one (13.21 aborts the install when it "
        "does not exist) and a MAC address pins the NIC with that address",
        kind="netdev", example="52:54:00:12:34:56")
    bootproto: Literal["dhcp", "static"] = key("dhcp", "address configuration", example="static")
    ip: str | None = key(None, "static address (bootproto static)", kind="word", example="192.0.2.10")
    netmask: str | None = key(None, "static netmask", kind="word", example="255.255.255.0")
    gateway: str | None = key(None, "static gateway", kind="word", example="192.0.2.1")
    nameservers: tuple[str, ...] = key((), "static name servers", kind="word", example="[192.0.2.53]")
    hostname: str | None = key(None, "host name (`--hostname=`)", kind="hostname", example="docker1")
    onboot: bool = key(True, "bring the device up at boot (`--onboot=yes|no`)")
    activate: bool = key(True, "bring the device up during the install (`--activate`); repos "
                         "and `%post` downloads need it")
    ipv6: bool = key(True, "IPv6 (`--noipv6` when false)")


@dataclass(frozen=True)
class Bootloader:
    location: Literal["mbr", "partition", "none"] = key("mbr", "where the boot loader goes")
    append: tuple[str, ...] = key(("console=tty0", "console=ttyS0,115200n8"),
                                  "kernel arguments of the installed system (`--append=`)",
                                  kind="bootarg", example="[console=ttyS0,115200n8, crashkernel=auto]")
    timeout: int | None = key(None, "grub menu timeout in seconds (`--timeout=`)", example="5")


@dataclass(frozen=True)
class Storage:
    zerombr: bool = key(True, "initialise unreadable partition tables without asking (`zerombr`)")
    clearpart: Literal["all", "linux", "none"] = key(
        "all", "which partitions to remove (`clearpart --all --initlabel`)", example="linux")
    initlabel: bool = key(True, "initialise disk labels (`--initlabel`)")
    drives: tuple[str, ...] = key(
        (), "the disks the install may touch (`ignoredisk --only-use=`, `clearpart --drives=`, "
        "boot loader on the first). [] = one disk chosen at install time by kickgen's `%pre` "
        "(`kickgen-disks`): the first disk in /sys/block (sd*, vd*, hd*, xvd*) that is not "
        "removable, not on USB, not the install media (by its volume ID) and not empty; every "
        "other disk is left alone (EL6's autopart would otherwise spread LVM over all of them). "
        "No such disk: the install stops with a FAILED line", kind="word", example="[sda, sdb]")
    autopart: bool = key(True, "automatic partitioning (`autopart`); the only layout supported")
    bootloader: Bootloader = key(Bootloader(), "boot loader settings")


@dataclass(frozen=True)
class Packages:
    nobase: bool = key(False, "leave out @base (`%packages --nobase`)")
    names: tuple[str, ...] = key(("@core",), "packages and @groups; `-name` excludes",
                                 kind="package", example="['@core', openssh-server, -postfix]")


@dataclass(frozen=True)
class Post:
    erroronfail: bool = key(True, "kickgen's own `%post` scripts abort the install when a key "
                            "step fails (`%post --erroronfail`)")


@dataclass(frozen=True)
class AufsKernel:
    enabled: bool = key(False, "install the aufs kernel and make it the boot default")
    repo_url: str = key("http://www.hop5.in/yum/el6/",
                        "folder holding the kernel RPMs (hop5 is gone: point this at a mirror). "
                        "They are unsigned: the `%post` downloads each as repo_url + file name and "
                        "installs it only when its sha256 is the one `pins` holds",
                        kind="url", example="http://mirror.local/hop5/el6/")
    package: str = key("kernel-ml-aufs", "kernel package name", kind="name")
    version: str | None = key("3.10.5-3.el6", "version-release to install; null = newest (offline "
                              "only: online, each RPM is pinned by its file name)",
                              kind="word", example="3.10.5-3.el6")
    devel: bool = key(False, "also install `<package>-devel`")
    make_default: bool = key(True, "make it the grub default (grubby, `default=`, "
                             "`DEFAULTKERNEL=` in /etc/sysconfig/kernel)")


@dataclass(frozen=True)
class Epel:
    enabled: bool = key(False, "install the EPEL 6 release package and an EPEL repo")
    release_rpm_url: str = key(
        "http://archives.fedoraproject.org/pub/archive/epel/6/x86_64/epel-release-6-8.noarch.rpm",
        "URL of epel-release-6-8.noarch.rpm; the `%post` installs it only when its sha256 is the one "
        "`pins` holds for that file name, then imports the EPEL 6 key it carries", kind="url",
        example="http://mirror.local/epel/6/x86_64/epel-release-6-8.noarch.rpm")
    baseurl: str = key("http://archives.fedoraproject.org/pub/archive/epel/6/x86_64/",
                       "EPEL 6 tree used by yum in `%post` (the release package's mirrorlist "
                       "is dead)", kind="url", example="http://mirror.local/epel/6/x86_64/")


@dataclass(frozen=True)
class Docker:
    enabled: bool = key(False, "install Docker (`docker-io` from EPEL; needs `epel.enabled`)")
    package: str = key("docker-io", "Docker package name", kind="name")
    update_packages: tuple[str, ...] = key(
        ("device-mapper-libs", "device-mapper-event-libs"),
        "packages updated first (6.5's device-mapper-libs lacks a symbol docker-io needs)",
        kind="name", example="[device-mapper-libs, device-mapper-event-libs]")
    update_repo_url: str = key("http://vault.centos.org/6.6/os/x86_64/",
                               "tree holding device-mapper >= 1.02.90 (CentOS 6.6+)", kind="url",
                               example="http://mirror.local/centos/6.6/os/x86_64/")
    enable_service: bool = key(True, "`chkconfig docker on` so the daemon starts at boot")


@dataclass(frozen=True)
class Script:
    name: str = key(doc="script name; its log is /root/ks-post-NAME.log (`%pre`: /tmp/ks-pre-NAME.log)",
                    kind="name", example="site-setup")
    body: str = key(doc="the script text (no line may start with `%`)", kind="script",
                    example='"echo hello"')
    interpreter: str | None = key(None, "interpreter (`--interpreter=`); null = /bin/sh",
                                  kind="abspath", example="/bin/bash")
    erroronfail: bool = key(False, "a non-zero exit aborts the install (`--erroronfail`)")
    nochroot: bool = key(False, "`%post` only: run outside the new system (`--nochroot`)")


@dataclass(frozen=True)
class Scripts:
    pre: tuple[Script, ...] = key((), "extra `%pre` scripts", example="[{name: probe, body: 'true'}]")
    post: tuple[Script, ...] = key((), "extra `%post` scripts, run after kickgen's own",
                                   example="[{name: site, body: 'echo hi', erroronfail: true}]")


@dataclass(frozen=True)
class Boot:
    args: tuple[str, ...] = key(BOOT_ARGS,
                                "installer kernel arguments added beside `ks=`; `ksdevice=link`: "
                                "with several NICs the EL6 loader would otherwise stop and ask "
                                "which one to use", kind="bootarg",
                                example="[text, console=ttyS0,115200n8, noipv6]")
    timeout: int = key(BOOT_TIMEOUT, "boot menu timeout in seconds", example="10")
    label: str = key(BOOT_LABEL, "label of the added boot entries", kind="name", example="ks")
    default: Literal["cd", "usb"] = key(   # the choices are el6.BOOT_ENTRIES (a test checks)
        BOOT_DEFAULT, "which added entry is the menu default; `usb` needs `system.finish: poweroff` (or "
        "halt): a stick stays in after a reboot", example="usb")


@dataclass(frozen=True)
class MediaFile:
    src: Path = key(doc="file to add, relative to the profile file and inside its folder (symbolic "
                    "links followed; `kickgen iso --allow-path DIR` allows DIR too)", kind="relpath",
                    example="files/site.rpm")
    dest: str = key(doc="absolute path on the ISO", kind="abspath", example="/extra/site.rpm")
    # Where the entry was set (file:line:col or --set ...) and the folder its src is relative to
    # (which it must stay inside: kickgen.profile.loader.check_media_sources).
    where: str = field(default="", compare=False, metadata={"internal": True})
    folder: Path | None = field(default=None, compare=False, metadata={"internal": True})


class FrozenMapping(Mapping):
    """A read-only, hashable mapping, so that frozen dataclasses can hold one."""

    __slots__ = ("_items",)
    _items: dict[Any, Any]

    def __init__(self, items: Mapping | Sequence[tuple[Any, Any]] = ()) -> None:
        object.__setattr__(self, "_items", dict(items))

    def __getitem__(self, name: Any) -> Any:
        return self._items[name]

    def __iter__(self) -> Iterator[Any]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __hash__(self) -> int:
        return hash(tuple(self._items.items()))

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("FrozenMapping is read-only")

    def __repr__(self) -> str:
        return f"FrozenMapping({self._items!r})"


# An embedded repo's name becomes a folder on the ISO (/kickgen/NAME), a kickstart
# `repo --name=` and the yum repo id kickgen-NAME. `base` is the media's own repository
# (check-offline's name for it) and `media` would clash with kickgen-media (the install
# media during %post); `repodata` would clash with yum's metadata folder.

@dataclass(frozen=True)
class Media:
    volume_id: str | None = key(None, "volume ID of the remastered ISO; null = keep the base "
                                "image's", kind="volid", example="CentOS_6.5_Final")
    add: tuple[MediaFile, ...] = key((), "extra files put on the ISO",
                                     example="[{src: files/a.rpm, dest: /extra/a.rpm}]")
    embed: Mapping[str, tuple[Path, ...]] = key(
        FrozenMapping(), "RPMs carried on the ISO: repo name -> folder or .rpm file (or a list "
        "of them), relative to the profile file (`--set` and shipped profiles: to the current "
        "folder); they need not exist to render, only to build or check (see Offline media)",
        kind="relpath",
        example="{aufs-kernel: rpms/hop5, epel: [rpms/epel6]}")
    offline: bool = key(False, "install with no network: the kickstart uses only the install "
                        "media and the `media.embed` repos (network repos are dropped)")
    installer_repos: tuple[str, ...] = key(
        (), "offline: `media.embed` repos handed to the installer itself (`repo "
        "--name=kickgen-<name>`), so `%packages` may take packages from them; by default the "
        "installer installs from the media only and `%post` yum installs the embedded packages",
        kind="name", example="[updates]")


@dataclass(frozen=True)
class Vm:
    disk_gb: int = key(8, "boot-test disk size (GiB)", example="16")
    memory_mb: int = key(1024, "boot-test memory (MiB)", example="2048")
    vcpus: int = key(1, "boot-test virtual CPUs", example="2")
    timeout_install: int = key(3600, "seconds allowed for the install", example="1800")
    timeout_boot: int = key(900, "seconds allowed for the first boot to report", example="600")
    stall_seconds: int = key(600, "seconds without console or disk progress that count as a hang",
                             example="300")


@dataclass(frozen=True)
class Expect:
    kernel_release: str | None = key(None, "regex the running kernel release must match",
                                     kind="regex", example=r"'^3\.10\.5-3\.el6\.x86_64$'")
    aufs: bool | None = key(None, "aufs must (true) or must not (false) be in /proc/filesystems")
    docker_running: bool | None = key(None, "`service docker status` must succeed (true) or fail")
    storage_driver: str | None = key(None, "`docker info` must say `Storage Driver: <this>`",
                                     kind="name", example="aufs")
    default_entry: str | None = key(None, "regex the default grub entry title must match",
                                    kind="regex", example=r"'3\.10\.5-3\.el6'")


@dataclass(frozen=True)
class Repos:
    allow_unsigned: tuple[str, ...] = key(
        (), "repo ids that may stay enabled on the installed system with `gpgcheck=0`; every "
        "other unsigned repo is disabled by the last kickgen `%post` (`repos-final`)",
        kind="name", example="[kickgen-aufs-kernel]")


@dataclass(frozen=True)
class Pin:
    file: str = key(doc="RPM file name, as the mirror serves it", kind="rpmfile",
                    example="kernel-ml-aufs-3.10.5-3.el6.x86_64.rpm")
    sha256: str = key(doc="its sha256 (`sha256sum FILE`, or `kickgen pin`)", kind="sha256",
                      example="9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08")


@dataclass(frozen=True)
class Report:
    enabled: bool = key(True, "install the first-boot report init script")
    poweroff: bool = key(False, "power off after the report on the first boot (for tests)")
    docker_wait: int = key(60, "seconds to wait for `docker info` to answer when the service runs",
                           example="120")
    url: str | None = key(None, "also POST the report line to this URL at every boot (text/plain, "
                          "curl, else wget; 30 s per try, 3 retries; a failed upload never stops the "
                          "boot); null = the serial console and /root/kickgen-report.txt only. "
                          "`kickgen netboot` sets it per host to SERVER/hosts/<name>/report", kind="url",
                          example="http://10.0.2.2:8123/hosts/web1/report")


@dataclass(frozen=True)
class Profile:
    name: str
    source: Path
    system: System = key(doc="the installed system")
    description: str = key("", "one line saying what the profile is for", kind="text",
                           example="CentOS 6.5 with Docker")
    install: Install = key(Install(), "install source")
    mirrors: Mirrors = key(Mirrors(), "CentOS trees (every URL is a profile value)")
    network: Network = key(Network(), "the `network` line")
    storage: Storage = key(Storage(), "disks and boot loader")
    packages: Packages = key(Packages(), "the `%packages` section")
    post: Post = key(Post(), "kickgen's own `%post` scripts")
    aufs_kernel: AufsKernel = key(AufsKernel(), "the aufs kernel (3.10 kernel-ml-aufs from hop5)")
    epel: Epel = key(Epel(), "EPEL 6")
    docker: Docker = key(Docker(), "Docker (docker-io)")
    scripts: Scripts = key(Scripts(), "your own `%pre`/`%post` scripts")
    repos: Repos = key(Repos(), "yum repositories left enabled on the installed system")
    pins: tuple[Pin, ...] = key(
        (), "sha256 of each RPM kickgen's `%post` downloads: the aufs kernel (and `-devel`; hop5's "
        "RPMs carry no signature) and epel-release. A file whose sha256 differs, or that has no "
        "pin, stops the install with a FAILED line; embedded RPMs (`media.embed`) of a pinned name "
        "must match too. Fill them with `kickgen pin PROFILE --from MIRROR`",
        example="[{file: epel-release-6-8.noarch.rpm, sha256: 'e5ed9ecf...'}]")
    report: Report = key(Report(), "the first-boot report line")
    boot: Boot = key(Boot(), "installer boot entries (used by the remaster)")
    media: Media = key(Media(), "the remastered ISO")
    vm: Vm = key(Vm(), "the boot test's VM")
    expect: Expect = key(Expect(), "what the boot test asserts (null = not checked)")
    # The profile file and its `extends:` parents (outputs must never be one of them).
    files: tuple[Path, ...] = field(default=(), compare=False, metadata={"internal": True})


# Keys of Profile that are not read from YAML.
DERIVED_FIELDS = {"name", "source"}


def join_key(path: str, k: str) -> str:
    """`media` + `embed` -> `media.embed` (the key paths errors and the reference use)."""
    return f"{path}.{k}" if path else k

