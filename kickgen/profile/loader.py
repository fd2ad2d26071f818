"""Profiles: YAML files (with `extends:`) loaded into a frozen dataclass tree.

Public entry point: `load_profile(ref, overrides) -> Profile`. Every problem found is
collected and reported together, one line each, as `file:line:col: key.path: message`
(or `--set key.path: message` for a command-line override).

The schema below is the single source of truth: the loader, `kickgen show` and the
README's key reference (`profile_reference()`) are all derived from it.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import re
import types
import typing
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from kickgen.profile.search import describe_search, find_profile, list_profiles
from kickgen.core.el6 import (CRYPT_SHA512, REPO_NAME, RESERVED_REPO_NAMES, VOLUME_ID, VOLUME_ID_TEXT,
                              is_source_arg)
from kickgen.core.errors import ProfileError, UsageError

# --- value kinds: what a string may contain, so it cannot break out of its line -----------

# Each kind is (regex, human description). Values are checked when loaded; templates quote
# shell values again on top (defence in depth).
KINDS: dict[str, tuple[re.Pattern[str], str]] = {
    # one line of free text (comments, descriptions): no control characters at all
    "text": (re.compile(r"[^\x00-\x1f\x7f]*"), "one line of text without control characters"),
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
    "regex": (re.compile(r"[^\x00-\x1f\x7f]*"), "a regular expression on one line"),
    "bootarg": (re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.:/@+,=-]*"),
                "one kernel argument (no spaces or quotes)"),
    "crypt": (CRYPT_SHA512,
              "a SHA-512 crypt hash ($6$salt$...)"),
    "script": (re.compile(r"[^\x00-\x08\x0b-\x1f\x7f]*", re.S), "a script"),
    "timezone": (re.compile(r"[A-Za-z0-9_][A-Za-z0-9_+/-]*"), "a time zone name like Europe/Berlin"),
    # a NIC name (at most 15 characters, the kernel's IFNAMSIZ) or a MAC address
    "netdev": (re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,14}|([0-9A-Fa-f]{2}:){5}[0-9A-Fa-f]{2}"),
               "a NIC name like em1 (at most 15 letters, digits and _ . -) or a MAC address "
               "like 52:54:00:12:34:56"),
    "volid": (VOLUME_ID, VOLUME_ID_TEXT),
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
        "cdrom", "install source: the media (`cdrom`) or `mirrors.centos_os` (`url --url=`)",
        example="url")
    updates_repo: bool = key(False, "also give the installer `mirrors.centos_updates` as a `repo` "
                             "(needs the network)")


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
    hostname: str | None = key(None, "host name (`--hostname=`)", kind="word", example="docker1")
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
                        "yum repo holding the kernel (hop5 is gone: point this at a mirror)",
                        kind="url", example="http://mirror.local/hop5/el6/")
    package: str = key("kernel-ml-aufs", "kernel package name", kind="name")
    version: str | None = key("3.10.5-3.el6", "version-release to install; null = newest",
                              kind="word", example="3.10.5-3.el6")
    devel: bool = key(False, "also install `<package>-devel`")
    make_default: bool = key(True, "make it the grub default (grubby, `default=`, "
                             "`DEFAULTKERNEL=` in /etc/sysconfig/kernel)")


@dataclass(frozen=True)
class Epel:
    enabled: bool = key(False, "install the EPEL 6 release package and an EPEL repo")
    release_rpm_url: str = key(
        "http://archives.fedoraproject.org/pub/archive/epel/6/x86_64/epel-release-6-8.noarch.rpm",
        "URL of epel-release-6-8.noarch.rpm", kind="url",
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
    args: tuple[str, ...] = key(("text", "console=tty0", "console=ttyS0,115200n8", "ksdevice=link"),
                                "installer kernel arguments added beside `ks=`; `ksdevice=link`: "
                                "with several NICs the EL6 loader would otherwise stop and ask "
                                "which one to use", kind="bootarg",
                                example="[text, console=ttyS0,115200n8, noipv6]")
    timeout: int = key(5, "boot menu timeout in seconds", example="10")
    label: str = key("kickstart", "label of the added boot entries", kind="name", example="ks")
    default: Literal["cd", "usb"] = key(
        "cd", "which added entry is the menu default; `usb` needs `system.finish: poweroff` (or "
        "halt): a stick stays in after a reboot", example="usb")


@dataclass(frozen=True)
class MediaFile:
    src: Path = key(doc="file to add, relative to the profile file", kind="relpath",
                    example="files/site.rpm")
    dest: str = key(doc="absolute path on the ISO", kind="abspath", example="/extra/site.rpm")


class FrozenMapping(Mapping):
    """A read-only, hashable mapping, so that frozen dataclasses can hold one."""

    __slots__ = ("_items",)

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
        "of them), relative to the profile file (`--set`: to the current folder); they need not "
        "exist to render, only to build or check (see Offline media)", kind="relpath",
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
        kind="name", example="[kickgen-hop5]")


@dataclass(frozen=True)
class Report:
    enabled: bool = key(True, "install the first-boot report init script")
    poweroff: bool = key(False, "power off after the report on the first boot (for tests)")
    docker_wait: int = key(60, "seconds to wait for `docker info` to answer when the service runs",
                           example="120")


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
    report: Report = key(Report(), "the first-boot report line")
    boot: Boot = key(Boot(), "installer boot entries (used by the remaster)")
    media: Media = key(Media(), "the remastered ISO")
    vm: Vm = key(Vm(), "the boot test's VM")
    expect: Expect = key(Expect(), "what the boot test asserts (null = not checked)")


# Keys of Profile that are not read from YAML.
_DERIVED = {"name", "source"}


# --- located YAML values --------------------------------------------------------------------

@dataclass(frozen=True)
class Mark:
    """Where a value came from: a file position, or a `--set key.path` override."""
    file: Path | None
    line: int = 0
    column: int = 0
    override: str | None = None

    def text(self) -> str:
        if self.override is not None:
            return f"--set {self.override}"
        return f"{_display(self.file)}:{self.line}:{self.column}"

    @property
    def base_dir(self) -> Path:
        return self.file.parent if self.file is not None else Path.cwd()


@dataclass
class Node:
    """A YAML value with its position. Maps hold (key mark, value) pairs."""
    value: Any  # dict[str, tuple[Mark, Node]] | list[Node] | scalar
    mark: Mark


class _Problems:
    """Every problem found, reported together (file order first, then `--set` overrides)."""

    def __init__(self) -> None:
        self.entries: list[tuple[tuple, str]] = []

    @property
    def lines(self) -> list[str]:
        return [text for _, text in sorted(self.entries, key=lambda e: e[0])]

    def add(self, mark: Mark, path: str, message: str) -> None:
        where = mark.text()
        if mark.override is not None and path == mark.override:
            text = f"{where}: {message}"
        elif path:
            text = f"{where}: {path}: {message}"
        else:
            text = f"{where}: {message}"
        order = (mark.override is not None, str(mark.file), mark.line, mark.column,
                 len(self.entries))
        self.entries.append((order, text))

    def drop(self, fragment: str) -> None:
        self.entries = [e for e in self.entries if fragment not in e[1]]

    def extend(self, other: "_Problems") -> None:
        self.entries.extend(other.entries)

    def raise_if_any(self, hint: str | None = None) -> None:
        if self.entries:
            raise ProfileError("\n".join(self.lines), hint=hint)


def _display(path: Path | None) -> str:
    """Relative to the current folder when below it (as users type it), else absolute."""
    if path is None:
        return "<none>"
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return str(path)
    return str(path) if rel.startswith("..") else rel


def _mark(file: Path | None, ymark: yaml.Mark) -> Mark:
    return Mark(file, ymark.line + 1, ymark.column + 1)


_CONSTRUCTOR = yaml.constructor.SafeConstructor()


def _from_yaml(node: yaml.Node, file: Path | None, problems: _Problems,
               override: str | None = None, index: int = 0) -> Node:
    # An override's mark keeps its place among the --set options (line) for error order.
    mark = (Mark(None, index, override=override) if override is not None
            else _mark(file, node.start_mark))
    if isinstance(node, yaml.MappingNode):
        items: dict[str, tuple[Mark, Node]] = {}
        for knode, vnode in node.value:
            kmark = (Mark(None, index, override=override) if override is not None
                     else _mark(file, knode.start_mark))
            if knode.tag == "tag:yaml.org,2002:merge":
                problems.add(kmark, "", "YAML merge keys (<<) are not supported: use extends:")
                continue
            if not isinstance(knode, yaml.ScalarNode):
                problems.add(kmark, "", "a key must be a plain word")
                continue
            k = str(knode.value)
            if k in items:
                problems.add(kmark, k, "duplicate key")
                continue
            items[k] = (kmark, _from_yaml(vnode, file, problems, override, index))
        return Node(items, mark)
    if isinstance(node, yaml.SequenceNode):
        return Node([_from_yaml(n, file, problems, override, index) for n in node.value], mark)
    try:
        return Node(_CONSTRUCTOR.construct_object(node, deep=True), mark)
    except yaml.YAMLError as exc:
        problems.add(mark, "", f"bad YAML value: {getattr(exc, 'problem', exc)}")
        return Node(None, mark)


# --- loading files, extends and merging ------------------------------------------------------

def resolve_profile_ref(ref: str | os.PathLike, relative_to: Path | None = None) -> Path | None:
    """A profile name (`centos65-docker`) or a path (`x/y.yaml`) -> existing file or None."""
    return find_profile(ref, beside=relative_to)


def _read_file(path: Path, problems: _Problems) -> Node | None:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        problems.add(Mark(path, 1, 1), "", f"cannot read profile: {exc}")
        return None
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        ymark = exc.problem_mark or exc.context_mark
        mark = _mark(path, ymark) if ymark else Mark(path, 1, 1)
        what = exc.problem or exc.context or "syntax error"
        problems.add(mark, "", f"YAML syntax error: {what}")
        return None
    except yaml.YAMLError as exc:
        problems.add(Mark(path, 1, 1), "", f"YAML error: {exc}")
        return None
    if root is None:
        return Node({}, Mark(path, 1, 1))
    node = _from_yaml(root, path, problems)
    if not isinstance(node.value, dict):
        problems.add(node.mark, "", f"a profile must be a mapping of keys, got {_kind_of(node.value)}")
        return None
    return node


def _load_chain(path: Path, problems: _Problems, stack: tuple[Path, ...] = ()) -> Node | None:
    """Read `path` and its `extends:` ancestors; return the merged tree (parent first)."""
    node = _read_file(path, problems)
    if node is None:
        return None
    extends = node.value.pop("extends", None)
    if extends is None:
        return _strip_append_keys(node)
    kmark, enode = extends
    if not isinstance(enode.value, str) or not enode.value:
        problems.add(enode.mark, "extends", f"expected a profile name or path, got {_kind_of(enode.value)}")
        return None
    parent_path = resolve_profile_ref(enode.value, relative_to=path.parent)
    if parent_path is None:
        problems.add(enode.mark, "extends",
                     f"parent profile {enode.value!r} not found (looked in "
                     f"{describe_search(path.parent)})")
        return None
    chain = stack + (path,)
    if parent_path in chain:
        cycle = " -> ".join(_display(p) for p in chain[chain.index(parent_path):] + (parent_path,))
        problems.add(enode.mark, "extends", f"extends cycle: {cycle}")
        return None
    parent = _load_chain(parent_path, problems, chain)
    if parent is None:
        return None
    return _merge(parent, node)


# Maps a child replaces as a whole: one-of choices, where a merge would mix two answers.
WHOLE_MAPS = {("system", "rootpw")}


def _merge(parent: Node, child: Node, path: tuple[str, ...] = ()) -> Node:
    """Maps merge key by key; lists and scalars replace; `key+: [...]` appends to the parent's list."""
    if not (isinstance(parent.value, dict) and isinstance(child.value, dict)) or path in WHOLE_MAPS:
        return _strip_append_keys(child)
    merged = dict(parent.value)
    for k, (kmark, cnode) in child.value.items():
        if k.endswith("+") and len(k) > 1:
            base = k[:-1]
            old = merged.get(base)
            if old is not None and isinstance(old[1].value, list) and isinstance(cnode.value, list):
                merged[base] = (kmark, Node(old[1].value + cnode.value, cnode.mark))
            else:
                merged[base] = (kmark, _strip_append_keys(cnode))
        elif k in merged:
            merged[k] = (kmark, _merge(merged[k][1], cnode, path + (k,)))
        else:
            merged[k] = (kmark, _strip_append_keys(cnode))
    return Node(merged, child.mark)


def _strip_append_keys(node: Node) -> Node:
    """With no parent value to append to, `key+:` is just `key:`."""
    if not isinstance(node.value, dict):
        return node
    out: dict[str, tuple[Mark, Node]] = {}
    for k, (kmark, sub) in node.value.items():
        name = k[:-1] if k.endswith("+") and len(k) > 1 else k
        out[name] = (kmark, _strip_append_keys(sub))
    return Node(out, node.mark)


def _apply_override(root: Node, text: str, problems: _Problems, index: int = 0) -> None:
    """`key.path=value`: value is parsed as YAML (a scalar, or a flow list/map)."""
    if "=" not in text:
        raise UsageError(f"--set {text!r}: expected key.path=value",
                         hint="for example --set system.timezone=Europe/Berlin")
    path, raw = text.split("=", 1)
    path = path.strip()
    parts = path.split(".")
    if not path or any(not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*\+?", p) for p in parts):
        raise UsageError(f"--set {text!r}: {path!r} is not a key path like system.timezone")
    local = _Problems()
    try:
        ynode = yaml.compose(raw, Loader=yaml.SafeLoader) if raw.strip() else None
    except yaml.YAMLError as exc:
        problems.add(Mark(None, index, override=path), path,
                     f"value is not valid YAML: {getattr(exc, 'problem', None) or exc}")
        return
    if ynode is None:
        value = Node(None, Mark(None, index, override=path))
    else:
        value = _from_yaml(ynode, None, local, override=path, index=index)
    problems.extend(local)
    target = root
    for depth, part in enumerate(parts[:-1], 1):
        entry = target.value.get(part)
        if tuple(parts[:depth]) in WHOLE_MAPS:  # system.rootpw.env=X replaces the whole choice
            entry = None
        if entry is None or not isinstance(entry[1].value, dict):
            entry = (Mark(None, index, override=path), Node({}, Mark(None, index, override=path)))
            target.value[part] = entry
        target = entry[1]
    last = parts[-1]
    if last.endswith("+"):
        base = last[:-1]
        old = target.value.get(base)
        if old is not None and isinstance(old[1].value, list) and isinstance(value.value, list):
            value = Node(old[1].value + value.value, value.mark)
        last = base
    target.value[last] = (Mark(None, index, override=path), value)


# --- typed conversion ---------------------------------------------------------------------------

def _kind_of(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def _join(path: str, k: str) -> str:
    return f"{path}.{k}" if path else k


class _Converter:
    def __init__(self, problems: _Problems) -> None:
        self.problems = problems

    def convert(self, node: Node, tp: Any, path: str, meta: dict[str, Any]) -> Any:
        origin = typing.get_origin(tp)
        args = typing.get_args(tp)
        if origin in (typing.Union, types.UnionType):
            if node.value is None and type(None) in args:
                return None
            inner = [a for a in args if a is not type(None)]
            return self.convert(node, inner[0], path, meta)
        if node.value is None:
            self.problems.add(node.mark, path, f"a value is required, got null ({_describe(tp)})")
            return None
        if dataclasses.is_dataclass(tp):
            return self.dataclass(node, tp, path)
        if origin is Mapping:
            return self.mapping(node, args[1], path, meta)
        if origin is tuple:
            if not isinstance(node.value, list):
                self.problems.add(node.mark, path, f"expected a list, got {_kind_of(node.value)}")
                return ()
            return tuple(self.convert(item, args[0], f"{path}[{i}]", meta)
                         for i, item in enumerate(node.value))
        if origin is Literal:
            if not isinstance(node.value, str) or node.value not in args:
                choices = ", ".join(args)
                shown = "" if meta.get("secret") else f" {node.value!r}"
                self.problems.add(node.mark, path, f"expected one of {choices}, got{shown}")
                return args[0]
            return node.value
        if tp is bool:
            if not isinstance(node.value, bool):
                self.problems.add(node.mark, path, f"expected true or false, got {_kind_of(node.value)}")
                return False
            return node.value
        if tp is int:
            if not isinstance(node.value, int) or isinstance(node.value, bool):
                self.problems.add(node.mark, path, f"expected an integer, got {_kind_of(node.value)}")
                return 0
            if node.value < 0:
                self.problems.add(node.mark, path, "expected a number >= 0")
            return node.value
        if tp in (str, Path):
            if not isinstance(node.value, str):
                hint = " (quote it)" if isinstance(node.value, (int, float, bool)) else ""
                self.problems.add(node.mark, path,
                                  f"expected a string, got {_kind_of(node.value)}{hint}")
                return ""
            self.check_kind(node, path, meta)
            if tp is Path:
                return (node.mark.base_dir / node.value).resolve()
            return node.value
        raise TypeError(f"unsupported schema type {tp!r} at {path}")

    def mapping(self, node: Node, value_tp: Any, path: str, meta: dict[str, Any]) -> FrozenMapping:
        """`media.embed`: names -> a list of paths (a single path counts as a list of one)."""
        if not isinstance(node.value, dict):
            self.problems.add(node.mark, path, f"expected a mapping of repo names, got "
                              f"{_kind_of(node.value)}")
            return FrozenMapping()
        out: dict[str, Any] = {}
        for name, (kmark, sub) in node.value.items():
            where = _join(path, name)
            if not REPO_NAME.fullmatch(name):
                self.problems.add(kmark, where, "a repo name is letters, digits and _ . - "
                                  "(it becomes a folder on the ISO and a yum repo id)")
                continue
            if name in RESERVED_REPO_NAMES:
                self.problems.add(kmark, where, f"{name!r} is reserved ("
                                  + ("the install media's own repository" if name == "base"
                                     else "used by kickgen") + "); choose another repo name")
                continue
            if isinstance(sub.value, str):
                sub = Node([sub], sub.mark)
            if not isinstance(sub.value, list):
                self.problems.add(sub.mark, where, "expected a folder or .rpm file (or a list of "
                                  f"them), got {_kind_of(sub.value)}")
                continue
            if not sub.value:
                self.problems.add(sub.mark, where, "list at least one folder or .rpm file")
                continue
            out[name] = self.convert(sub, value_tp, where, meta)
        return FrozenMapping(out)

    def check_kind(self, node: Node, path: str, meta: dict[str, Any]) -> None:
        kind = meta.get("kind") or "text"
        value: str = node.value
        pattern, description = KINDS[kind]
        if kind == "script":
            bad = [i for i, line in enumerate(value.splitlines(), 1) if line.lstrip().startswith("%")]
            if bad:
                self.problems.add(node.mark, path,
                                  f"line {bad[0]} of the script starts with '%', which would end "
                                  "the kickstart section")
                return
        if not pattern.fullmatch(value):
            if meta.get("secret"):
                self.problems.add(node.mark, path, f"expected {description} (value not shown)")
            else:
                self.problems.add(node.mark, path, f"expected {description}, got {_quote(value)}")

    def dataclass(self, node: Node, cls: type, path: str) -> Any:
        if not isinstance(node.value, dict):
            self.problems.add(node.mark, path, f"expected a mapping, got {_kind_of(node.value)}")
            return _placeholder(cls)
        hints = typing.get_type_hints(cls)
        derived = _DERIVED if cls is Profile else set()
        fields = {f.name: f for f in dataclasses.fields(cls)
                  if f.name not in derived and not f.metadata.get("internal")}
        for k, (kmark, _) in node.value.items():
            if k not in fields:
                close = difflib.get_close_matches(k, fields, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                self.problems.add(kmark, _join(path, k), f"unknown key{hint}")
        values: dict[str, Any] = {}
        for name, f in fields.items():
            entry = node.value.get(name)
            if entry is not None:
                values[name] = self.convert(entry[1], hints[name], _join(path, name), dict(f.metadata))
            elif f.default is dataclasses.MISSING:
                self.problems.add(node.mark, _join(path, name), "required key is missing")
                values[name] = _placeholder(hints[name])
        if cls is Profile:
            return values  # name and source are added by load_profile
        if cls is RootPassword:
            values["where"] = node.mark.text()
        obj = cls(**values)
        if cls is RootPassword:
            self.check_rootpw(node, obj, path)
        return obj

    def check_rootpw(self, node: Node, pw: RootPassword, path: str) -> None:
        given = [n for n in ("hash", "env", "file") if getattr(pw, n) is not None]
        if len(given) != 1:
            self.problems.add(node.mark, path, "give exactly one of hash, env, file")


def _quote(value: str) -> str:
    shown = value if len(value) <= 60 else value[:57] + "..."
    return repr(shown)


def _describe(tp: Any) -> str:
    if dataclasses.is_dataclass(tp):
        return "expected a mapping"
    if typing.get_origin(tp) is tuple:
        return "expected a list"
    if tp is bool:
        return "expected true or false"
    if tp is int:
        return "expected an integer"
    return "expected a string"


def _placeholder(tp: Any) -> Any:
    """A stand-in value so conversion can go on collecting problems."""
    if dataclasses.is_dataclass(tp):
        values = {}
        hints = typing.get_type_hints(tp)
        for f in dataclasses.fields(tp):
            if f.default is dataclasses.MISSING:
                values[f.name] = _placeholder(hints[f.name])
        return tp(**values)
    if typing.get_origin(tp) is tuple:
        return ()
    if typing.get_origin(tp) is Mapping:
        return FrozenMapping()
    return {bool: False, int: 0, str: "", Path: Path(".")}.get(tp)


def _check_profile(root: Node, profile: Profile, problems: _Problems) -> None:
    """Rules across keys, reported at the key that has to change."""
    def mark_of(*keys: str) -> Mark:
        node = root
        for k in keys:
            if not isinstance(node.value, dict) or k not in node.value:
                return node.mark
            node = node.value[k][1]
        return node.mark

    if profile.system.rootpw is not None and isinstance(root.value.get("system"), tuple):
        sys_node = root.value["system"][1]
        if isinstance(sys_node.value, dict) and "rootpw" in sys_node.value:
            pw_node = sys_node.value["rootpw"][1]
            if isinstance(pw_node.value, str):
                # Replaces the generic type message: never echo the value.
                problems.drop("system.rootpw:")
                problems.add(pw_node.mark, "system.rootpw",
                             "a plaintext password in a profile is refused; use {hash: '$6$...'}, "
                             "{env: VAR} or {file: PATH}")
    net = profile.network
    if net.bootproto == "static" and (not net.ip or not net.netmask):
        problems.add(mark_of("network", "bootproto"), "network.bootproto",
                     "static needs network.ip and network.netmask")
    if net.device is not None and net.device.lower() in ("link", "bootif"):
        # anaconda 13.21 kickstart.py:657-719: --device must name an existing NIC or a MAC
        # ("link" is neither: "does not exist", abort); bootif needs BOOTIF=, which only PXE passes.
        problems.add(mark_of("network", "device"), "network.device",
                     f"{net.device!r} is not a NIC for EL6's installer (--device={net.device} "
                     "aborts the install); leave network.device null: the boot menu's "
                     "ksdevice=link already picks the first NIC with a link")
    if profile.boot.default == "usb" and profile.system.finish == "reboot":
        problems.add(mark_of("boot", "default"), "boot.default",
                     "a USB stick cannot be ejected: with system.finish: reboot the machine would "
                     "start the install again; use system.finish: poweroff, or boot.default: cd "
                     "and the firmware's one-time boot menu")
    if profile.docker.enabled and not profile.epel.enabled:
        problems.add(mark_of("docker", "enabled"), "docker.enabled",
                     "docker-io comes from EPEL: set epel.enabled: true")
    media = profile.media
    if media.offline:
        needs = [k for k in ("aufs_kernel", "epel", "docker") if getattr(profile, k).enabled]
        if needs and not media.embed:
            problems.add(mark_of("media", "offline"), "media.offline",
                         f"{', '.join(k + '.enabled' for k in needs)} need packages that are not "
                         "on the CentOS media: list them in media.embed")
        if profile.install.source != "cdrom":
            problems.add(mark_of("install", "source"), "install.source",
                         "media.offline is true: the install source must be cdrom")
        if profile.install.updates_repo:
            problems.add(mark_of("install", "updates_repo"), "install.updates_repo",
                         "media.offline is true: a network updates repo cannot be used "
                         "(embed the updates instead)")
    for name in media.installer_repos:
        if name not in media.embed:
            problems.add(mark_of("media", "installer_repos"), "media.installer_repos",
                         f"{name!r} is not a media.embed repo"
                         + (f" (embedded: {', '.join(sorted(media.embed))})" if media.embed else ""))
    if media.installer_repos and not media.offline:
        problems.add(mark_of("media", "installer_repos"), "media.installer_repos",
                     "only used with media.offline: true (online, the kickstart does not use "
                     "the embedded repos)")
    if not profile.storage.autopart:
        problems.add(mark_of("storage", "autopart"), "storage.autopart",
                     "only autopart is supported (explicit partitions are not)")
    for i, arg in enumerate(profile.boot.args + profile.storage.bootloader.append):
        if arg.startswith("inst."):
            where = ("boot", "args") if i < len(profile.boot.args) else ("storage", "bootloader", "append")
            problems.add(mark_of(*where), ".".join(where),
                         f"{arg!r}: EL6 has no 'inst.' boot arguments (that is EL7+); "
                         "use the plain name, e.g. ks=")
        if i < len(profile.boot.args) and is_source_arg(arg):
            problems.add(mark_of("boot", "args"), "boot.args",
                         f"{arg!r}: kickgen sets the kickstart and the install source of its boot "
                         "entries (ks=, and repo= on the USB entry); do not set ks, repo=, "
                         "method= or askmethod here")
    for group in ("pre", "post"):
        names = [s.name for s in getattr(profile.scripts, group)]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            problems.add(mark_of("scripts", group), f"scripts.{group}",
                         f"script names must be unique: {', '.join(dupes)}")
    reserved = {"copy-ks", "media", "media-release", "repos", "aufs-kernel", "epel", "docker",
                "report", "repos-final"}
    for s in profile.scripts.post:
        if s.name in reserved:
            problems.add(mark_of("scripts", "post"), "scripts.post",
                         f"script name {s.name!r} is used by kickgen itself")
    for s in profile.scripts.pre:
        if s.name == "kickgen-disks":
            problems.add(mark_of("scripts", "pre"), "scripts.pre",
                         "script name 'kickgen-disks' is used by kickgen itself")
        if s.nochroot:
            problems.add(mark_of("scripts", "pre"), "scripts.pre", f"{s.name}: %pre has no nochroot")
    for k in ("kernel_release", "default_entry"):
        pattern = getattr(profile.expect, k)
        if pattern is not None:
            try:
                re.compile(pattern)
            except re.error as exc:
                problems.add(mark_of("expect", k), f"expect.{k}", f"not a valid regex: {exc}")


# --- public entry point ---------------------------------------------------------------------------

def load_profile(ref: str | os.PathLike, overrides: Sequence[str] = ()) -> Profile:
    """Load a profile by name (in profiles/) or path, merge its parents, apply `--set` overrides."""
    path = resolve_profile_ref(ref)
    if path is None:
        raise UsageError(f"no profile {os.fspath(ref)!r}",
                         hint=f"give a path or one of: {', '.join(list_profile_names()) or 'none'}")
    problems = _Problems()
    if not KINDS["name"][0].fullmatch(path.stem):
        problems.add(Mark(path, 1, 1), "", f"profile file name {path.stem!r}: expected "
                     f"{KINDS['name'][1]} (the name goes into the kickstart)")
    root = _load_chain(path, problems)
    problems.raise_if_any()
    assert root is not None
    for index, text in enumerate(overrides):
        _apply_override(root, text, problems, index)
    converter = _Converter(problems)
    values = converter.dataclass(root, Profile, "")
    profile = Profile(name=path.stem, source=path, **values)
    _check_profile(root, profile, problems)
    problems.raise_if_any()
    return profile


def list_profile_names() -> list[str]:
    return [found.name for found in list_profiles()]


def profile_to_data(obj: Any) -> Any:
    """The merged profile as plain data (for `kickgen show`); paths as strings."""
    if dataclasses.is_dataclass(obj):
        skip = _DERIVED if isinstance(obj, Profile) else set()
        data = {f.name: profile_to_data(getattr(obj, f.name)) for f in dataclasses.fields(obj)
                if f.name not in skip and not f.metadata.get("internal")}
        if isinstance(obj, Profile):  # description first, as profiles are written
            data = {"description": data.pop("description"), **data}
        return data
    if isinstance(obj, tuple):
        return [profile_to_data(x) for x in obj]
    if isinstance(obj, Mapping):
        return {k: profile_to_data(v) for k, v in obj.items()}
    if isinstance(obj, Path):
        return str(obj)
    return obj


def profile_reference() -> list[tuple[str, str, str, str]]:
    """(key path, default, example, meaning) for every key, in schema order (README table)."""
    rows: list[tuple[str, str, str, str]] = []

    def walk(cls: type, prefix: str) -> None:
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            if (cls is Profile and f.name in _DERIVED) or f.metadata.get("internal"):
                continue
            path = _join(prefix, f.name)
            tp = hints[f.name]
            inner = tp
            if typing.get_origin(tp) is tuple and dataclasses.is_dataclass(typing.get_args(tp)[0]):
                inner = typing.get_args(tp)[0]
                rows.append((path, _show_default(f), f.metadata.get("example") or "", f.metadata["doc"]))
                walk(inner, f"{path}[]")
                continue
            if dataclasses.is_dataclass(tp):
                walk(tp, path)
                continue
            rows.append((path, _show_default(f), f.metadata.get("example") or "", f.metadata["doc"]))

    walk(Profile, "")
    return rows


def _show_default(f: dataclasses.Field) -> str:
    if f.default is dataclasses.MISSING:
        return "required"
    value = profile_to_data(f.default)
    return yaml.safe_dump(value, default_flow_style=True, width=1000).strip().removesuffix("...").strip()


def reference_markdown() -> str:
    lines = ["| key | default | example | meaning |", "|---|---|---|---|"]
    for path, default, example, doc in profile_reference():
        ex = f"`{example}`" if example else ""
        lines.append(f"| `{path}` | `{default}` | {ex} | {doc.replace('|', '/')} |")
    return "\n".join(lines)
