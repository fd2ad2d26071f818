"""The host inventory (`hosts.yaml`): which machine gets which profile, read like a profile.

Public entry point: `load_inventory(path) -> Inventory`. The file is read with the profile
machinery (kickgen.profile.yamlsource: the same limits, file:line:col on every problem, every
problem reported together) and checked whole before anything is built:

    defaults:                       # optional; what every host has unless it says otherwise
      profile: standin-docker       #   the profile of hosts without one
      set: {vm.vcpus: 2}            #   overrides every host gets (a host's own come after)
      network: {prefix: 24, gateway: 10.0.2.2, dns: [10.0.2.3]}   # for hosts with an address
      drives: [vda]
    hosts:
      - name: web1                  # host name (RFC 1123, at most 64 characters)
        mac: 52:54:00:12:34:56      # the NIC it PXE-boots from (aa-bb-.., aabb.ccdd.eeff, too)
        profile: ./site.yaml        # a name on the profile search path, or a path from here
        set: {system.timezone: Europe/Berlin}   # --set overrides: {key.path: value} or ["k=v"]
        network: {address: 10.0.2.21}            # or `dhcp` (the default)
        drives: [vda]               # storage.drives

Duplicate MACs (whatever their spelling), host names (case ignored) and addresses are errors
naming both lines. A host's profile is loaded with its overrides by `Host.profile_overrides`
(kickgen.netboot.kickstarts does it); keys the inventory sets itself (the network line, the
drives, the install source, the report URL) cannot be given in `set:`.
"""

from __future__ import annotations

import difflib
import hashlib
import ipaddress
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from kickgen.core.errors import ProfileError
from kickgen.netboot.layout import report_url, tree_url
from kickgen.profile import Profile, load_profile
from kickgen.profile.loader import KEY_PART
from kickgen.profile.schema import KINDS, FrozenMapping
from kickgen.profile.search import describe_search, find_profile, is_path_ref
from kickgen.profile.yamlsource import (
    MAX_PROFILE_BYTES,
    UNREADABLE,
    Mark,
    Node,
    Problems,
    compose,
    display_path,
    kind_of,
    node_from_yaml,
    yaml_error_mark,
    yaml_error_text,
)

HOSTNAME = KINDS["hostname"][0]
TOP_KEYS = ("defaults", "hosts")
HOST_KEYS = ("name", "mac", "profile", "set", "network", "drives")
DEFAULT_KEYS = ("profile", "set", "network", "drives")
NETWORK_KEYS = ("address", "prefix", "gateway", "dns")

# The profile keys the inventory sets itself from a host's fields (kickgen.netboot.kickstarts):
# a `set:` of one of them (or of a key inside one) would be overwritten, so it is refused.
OWNED_KEYS: dict[tuple[str, ...], str] = {
    ("network", "device"): "the boot line's ksdevice= chooses the NIC (the host's mac)",
    ("network", "bootproto"): "the host's network: says dhcp or static",
    ("network", "ip"): "give network: {address: ...}",
    ("network", "netmask"): "give network: {prefix: ...}",
    ("network", "gateway"): "give network: {gateway: ...}",
    ("network", "nameservers"): "give network: {dns: [...]}",
    ("network", "hostname"): "the host's name is its host name",
    ("storage", "drives"): "give drives: [...]",
    ("install", "source"): "netboot installs from the tree it serves",
    ("install", "url"): "netboot points it at the tree it serves",
    ("report", "url"): "netboot points it at the server's report endpoint",
}

_MAC_PAIRS = re.compile(r"([0-9A-Fa-f]{2})([:-])([0-9A-Fa-f]{2})(?:\2([0-9A-Fa-f]{2})){4}")
_MAC_CISCO = re.compile(r"[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}")
_MAC_BARE = re.compile(r"[0-9A-Fa-f]{12}")
MAC_FORMS = "six hex pairs joined by : or - (52:54:00:12:34:56), aabb.ccdd.eeff or 12 hex digits"


@dataclass(frozen=True)
class Override:
    """One profile override from the inventory: key path, where the key was written, its value."""

    parts: tuple[str, ...]
    mark: Mark
    value: Node = field(compare=False)

    @property
    def path(self) -> str:
        return ".".join(self.parts)


@dataclass(frozen=True)
class Static:
    """A fixed IPv4 configuration (the installer's ip=/netmask=/gateway=/dns=, `network --bootproto=static`)."""

    address: str
    prefix: int
    gateway: str | None = None
    dns: tuple[str, ...] = ()

    @property
    def netmask(self) -> str:
        return str(ipaddress.IPv4Network(f"0.0.0.0/{self.prefix}").netmask)


@dataclass(frozen=True)
class Host:
    index: int
    name: str
    mac: str                          # lower case, colons: 52:54:00:12:34:56
    profile_ref: str                  # as written (or from defaults.profile)
    profile_path: Path                # the profile file it names
    static: Static | None             # None: DHCP
    drives: tuple[str, ...] | None    # None: the profile's storage.drives
    where: Mark                       # the host's entry
    # where each of its fields was written (name, mac, profile, network, address, drives): in
    # the host's entry or in defaults:; the entry itself where a field was not written at all
    marks: FrozenMapping = field(default=FrozenMapping(), compare=False)
    overrides: tuple[Override, ...] = ()   # defaults.set, then the host's set:

    def mark(self, key: str) -> Mark:
        return self.marks.get(key, self.where)

    @property
    def label(self) -> str:
        """How messages name the host: `hosts[1] (web2)`."""
        return f"hosts[{self.index}] ({self.name})"

    @property
    def address(self) -> str | None:
        return self.static.address if self.static else None


@dataclass(frozen=True)
class Inventory:
    path: Path                        # absolute
    sha256: str
    hosts: tuple[Host, ...]

    def host(self, name: str) -> Host | None:
        return next((h for h in self.hosts if h.name.lower() == name.lower()), None)

    @property
    def profile_files(self) -> tuple[Path, ...]:
        return tuple(dict.fromkeys(h.profile_path for h in self.hosts))


# --- reading -----------------------------------------------------------------------------------

def load_inventory(path: str | os.PathLike) -> Inventory:
    """Read and check the inventory at PATH, each host's profile loaded with its overrides;
    ProfileError listing every problem (file:line:col: key: message, one line each)."""
    path = Path(path).absolute()
    problems = Problems()
    root, raw, data = _read(path, problems)
    problems.raise_if_any()
    assert root is not None
    hosts = _Reader(path, raw, problems).inventory(root)
    lines = problems.lines          # then the profiles of the hosts that read well
    for host in hosts:
        try:
            profile = host_profile(host)
        except ProfileError as exc:
            lines += exc.message.splitlines()
            continue
        if profile.media.offline:
            lines.append(f"{host.mark('profile').text()}: {host.label}: profile {profile.name} is an offline "
                         "profile (media.offline): it installs from the media `kickgen iso` makes, with its "
                         "embedded repos; a network install has neither: give an online profile")
    if lines:
        raise ProfileError("\n".join(dict.fromkeys(lines)))
    return Inventory(path, hashlib.sha256(data).hexdigest(), tuple(hosts))


def _host_lines(host: Host, lines: list[str]) -> list[str]:
    """A host's profile problems, each naming the host: at a line of the inventory (an override)
    the host's label follows the place; a problem the profile has without the host's overrides
    stays as it is (said once for all its hosts); any other one (a rule across keys the
    overrides broke, reported at the profile's key) says which host."""
    own = set(_plain_problems(host.profile_path))
    here = re.compile(re.escape(display_path(host.where.file)) + r":[0-9]+:[0-9]+: ")
    out = []
    for line in lines:
        if (m := here.match(line)) is not None:
            out.append(f"{m.group(0)}{host.label}: {line[m.end():]}")
        elif line in own:
            out.append(line)
        else:
            out.append(f"{line} (for {host.label}, {host.where.text()}, with the inventory's overrides)")
    return out


def _plain_problems(path: Path) -> list[str]:
    try:
        load_profile(path)
    except ProfileError as exc:
        return exc.message.splitlines()
    return []


def host_overrides(host: Host, server_url: str | None = None) -> list[tuple[tuple[str, ...], Mark, Node]]:
    """The located profile overrides that make HOST's profile its own: its `set:` (defaults'
    first), then what the inventory says of it (the network line, the drives) and, given the
    server URL, where it installs from and reports to. Each is marked where the inventory says
    it, so a profile problem it causes names that line."""
    out = [(o.parts, o.mark, o.value) for o in host.overrides]

    def put(key: str, value: Any, mark: Mark) -> None:
        if isinstance(value, tuple):
            value = [Node(item, mark) for item in value]
        out.append((tuple(key.split(".")), mark, Node(value, mark)))

    net = host.mark("network")
    static = host.static
    # no --device: the boot line's ksdevice= (bootif, or the MAC) names the NIC, which both the
    # loader and stage 2 use for a network line without one (kickstart.py:644-656, network.py:346-362)
    put("network.device", None, net)
    put("network.bootproto", "static" if static else "dhcp", net)
    put("network.ip", static.address if static else None, host.mark("address"))
    put("network.netmask", static.netmask if static else None, net)
    put("network.gateway", static.gateway if static else None, net)
    put("network.nameservers", static.dns if static else (), net)
    put("network.hostname", host.name, host.mark("name"))
    if host.drives is not None:
        put("storage.drives", host.drives, host.mark("drives"))
    if server_url is not None:
        put("install.source", "url", host.where)
        put("install.url", tree_url(server_url, host.name), host.where)
        put("report.url", report_url(server_url, host.name), host.where)
    return out


def host_profile(host: Host, server_url: str | None = None) -> Profile:
    """HOST's profile with its overrides (`host_overrides`); a ProfileError's lines name the host."""
    try:
        return load_profile(host.profile_path, located=host_overrides(host, server_url))
    except ProfileError as exc:
        raise ProfileError("\n".join(_host_lines(host, exc.message.splitlines())), hint=exc.hint) from None


def _read(path: Path, problems: Problems) -> tuple[Node | None, dict[tuple[int, int], str], bytes]:
    """The located tree, the source text of every scalar by (line, column), and the file's bytes."""
    start = Mark(path, 1, 1)
    try:
        with path.open("rb") as f:
            data = f.read(MAX_PROFILE_BYTES + 1)
    except OSError as exc:
        problems.add(start, "", f"cannot read the inventory: {exc.strerror or exc}")
        return None, {}, b""
    if len(data) > MAX_PROFILE_BYTES:
        problems.add(start, "", f"the file is larger than {MAX_PROFILE_BYTES} bytes (1 MiB), the limit for "
                     "a YAML file kickgen reads")
        return None, {}, data
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        problems.add(start, "", f"not UTF-8 text (byte {exc.start})")
        return None, {}, data
    try:
        composed = compose(text)
    except yaml.YAMLError as exc:
        problems.add(yaml_error_mark(exc, text, path) or start, "", yaml_error_text(exc))
        return None, {}, data
    if composed is None:
        problems.add(start, "hosts", "the inventory is empty: list the hosts under hosts:")
        return None, {}, data
    node = node_from_yaml(composed, path, problems)
    if node is None:
        return None, {}, data
    if not isinstance(node.value, dict):
        problems.add(node.mark, "", f"an inventory is a mapping with hosts:, got {kind_of(node.value)}")
        return None, {}, data
    return node, _scalar_texts(composed), data


def _scalar_texts(root: yaml.Node) -> dict[tuple[int, int], str]:
    """Each plain scalar's text as written, by (line, column): YAML 1.1 reads an unquoted
    52:54:00:12:34:56 as a base-60 number, and the MAC is taken back from here."""
    found: dict[tuple[int, int], str] = {}
    seen: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.ScalarNode):
            found[(node.start_mark.line + 1, node.start_mark.column + 1)] = str(node.value)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
        elif isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                stack.extend((k, v))
    return found


@dataclass
class _Defaults:
    profile: tuple[str, Mark] | None = None
    overrides: tuple[Override, ...] = ()
    network: dict[str, tuple[Any, Mark]] = field(default_factory=dict)   # prefix/gateway/dns
    drives: tuple[tuple[str, ...], Mark] | None = None


class _Reader:
    def __init__(self, path: Path, raw: dict[tuple[int, int], str], problems: Problems) -> None:
        self.path = path
        self.raw = raw
        self.problems = problems
        # (what, key, value, host index, mark) of every name, MAC and address read, for the
        # duplicate check (also of hosts with other problems)
        self.unique: list[tuple[str, str, str, int, Mark]] = []

    def add(self, mark: Mark, where: str, message: str) -> None:
        self.problems.add(mark, where, message)

    # --- the whole file ------------------------------------------------------------------------

    def inventory(self, root: Node) -> list[Host]:
        self.unknown_keys(root, TOP_KEYS, "")
        defaults = _Defaults()
        entry = root.value.get("defaults")
        if entry is not None:
            defaults = self.defaults(entry[1])
        entry = root.value.get("hosts")
        if entry is None:
            self.add(root.mark, "hosts", "required key is missing: list the hosts")
            return []
        node = entry[1]
        if not isinstance(node.value, list) or not node.value:
            got = kind_of(node.value) if node.value != [] else "an empty list"
            self.add(node.mark, "hosts", f"expected a list of hosts, got {got}")
            return []
        hosts = [h for i, item in enumerate(node.value) if (h := self.host(i, item, defaults)) is not None]
        self.duplicates()
        return hosts

    def unknown_keys(self, node: Node, known: tuple[str, ...], path: str) -> None:
        for k, (kmark, _) in node.value.items():
            if k not in known:
                close = difflib.get_close_matches(k, known, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else f" (known: {', '.join(known)})"
                self.add(kmark, f"{path}.{k}" if path else k, f"unknown key{hint}")

    def mapping(self, node: Node, path: str) -> bool:
        if isinstance(node.value, dict):
            return True
        if node.value is not UNREADABLE:
            self.add(node.mark, path, f"expected a mapping, got {kind_of(node.value)}")
        return False

    def string(self, node: Node, path: str) -> str | None:
        if isinstance(node.value, str) and node.value:
            return node.value
        if node.value is UNREADABLE:
            return None
        hint = " (quote it)" if isinstance(node.value, (int, float, bool)) else ""
        got = kind_of(node.value) if node.value != "" else "an empty one"
        self.add(node.mark, path, f"expected a string, got {got}{hint}")
        return None

    # --- defaults --------------------------------------------------------------------------------

    def defaults(self, node: Node) -> _Defaults:
        out = _Defaults()
        if node.value is None or not self.mapping(node, "defaults"):
            return out
        self.unknown_keys(node, DEFAULT_KEYS, "defaults")
        for k, (_, sub) in node.value.items():
            where = f"defaults.{k}"
            if k == "profile":
                ref = self.string(sub, where)
                if ref is not None:
                    out.profile = (ref, sub.mark)
            elif k == "set":
                out.overrides = tuple(self.overrides(sub, where))
            elif k == "network":
                if self.mapping(sub, where):
                    for nk, (nkmark, nsub) in sub.value.items():
                        if nk == "address":
                            self.add(nkmark, f"{where}.address", "an address belongs to one host: give it there")
                        elif nk in NETWORK_KEYS:
                            out.network[nk] = (nsub, nsub.mark)
                        else:
                            self.unknown_keys(Node({nk: (nkmark, nsub)}, sub.mark), NETWORK_KEYS, where)
            elif k == "drives":
                drives = self.drives(sub, where)
                if drives is not None:
                    out.drives = (drives, sub.mark)
        return out

    # --- one host ------------------------------------------------------------------------------

    def host(self, index: int, node: Node, defaults: _Defaults) -> Host | None:
        at = f"hosts[{index}]"
        if not self.mapping(node, at):
            return None
        self.unknown_keys(node, HOST_KEYS, at)
        fields = node.value
        for required in ("name", "mac"):
            if required not in fields:
                self.add(node.mark, f"{at}.{required}", "required key is missing")
        name = mac = None
        marks = {k: fields[k][1].mark for k in HOST_KEYS if k in fields}
        if "name" in fields:
            name = self.hostname(fields["name"][1], f"{at}.name")
            if name is not None:
                self.unique.append(("name", "name", name, index, marks["name"]))
        if "mac" in fields:
            mac = self.mac(fields["mac"][1], f"{at}.mac")
            if mac is not None:
                self.unique.append(("MAC", "mac", mac, index, marks["mac"]))
        profile = self.profile(fields.get("profile"), defaults.profile, node.mark, at)
        overrides = defaults.overrides + tuple(self.overrides(fields["set"][1], f"{at}.set")
                                               if "set" in fields else ())
        static, network_ok = self.network(fields.get("network"), defaults.network, at)
        if static is not None and "network" in fields:
            marks["address"] = fields["network"][1].value["address"][1].mark
            self.unique.append(("address", "network.address", static.address, index, marks["address"]))
        drives: tuple[str, ...] | None = None
        if "drives" in fields:
            drives = self.drives(fields["drives"][1], f"{at}.drives")
            if drives is None:
                return None
        elif defaults.drives is not None:
            drives, marks["drives"] = defaults.drives
        if name is None or mac is None or profile is None or not network_ok:
            return None
        ref, path, marks["profile"] = profile
        return Host(index=index, name=name, mac=mac, profile_ref=ref, profile_path=path, static=static,
                    drives=drives, where=node.mark, marks=FrozenMapping(marks), overrides=overrides)

    def hostname(self, node: Node, where: str) -> str | None:
        text = self.string(node, where)
        if text is None:
            return None
        if not HOSTNAME.fullmatch(text):
            self.add(node.mark, where, f"{text[:70]!r} is not a host name: expected {KINDS['hostname'][1]}")
            return None
        return text

    def mac(self, node: Node, where: str) -> str | None:
        value = node.value
        if isinstance(value, int) and not isinstance(value, bool):
            # YAML 1.1 read 52:54:00:12:34:56 (all digits) as a base-60 number: take the text back
            value = self.raw.get((node.mark.line, node.mark.column), str(value))
        if not isinstance(value, str):
            self.string(node, where)
            return None
        mac = normal_mac(value)
        if mac is None:
            self.add(node.mark, where, f"{value[:40]!r} is not a MAC address: expected {MAC_FORMS}")
            return None
        first = int(mac[:2], 16)
        if first & 1:
            self.add(node.mark, where, f"{mac} is a multicast address (the first byte is odd): no NIC has it")
            return None
        if mac == "00:00:00:00:00:00":
            self.add(node.mark, where, f"{mac} is no NIC's address")
            return None
        return mac

    def profile(self, entry: tuple[Mark, Node] | None, default: tuple[str, Mark] | None, host_mark: Mark,
                at: str) -> tuple[str, Path, Mark] | None:
        if entry is None:
            if default is None:
                self.add(host_mark, f"{at}.profile", "required key is missing (or give defaults.profile)")
                return None
            ref, mark = default
            where = "defaults.profile"
        else:
            mark = entry[1].mark
            where = f"{at}.profile"
            given = self.string(entry[1], where)
            if given is None:
                return None
            ref = given
        found = find_profile(ref, beside=self.path.parent)
        if found is None:
            looked = "" if is_path_ref(ref) else (f" (looked in {self.path.parent} (beside the inventory), "
                                                  f"{describe_search()})")
            self.add(mark, where, f"no profile {ref!r}{looked or ' (no such file)'}")
            return None
        return ref, found, mark

    def overrides(self, node: Node, where: str) -> Iterator[Override]:
        """`set:` as {key.path: value} or as a list of "key.path=value" strings (--set's form)."""
        if isinstance(node.value, dict):
            items = [(k, kmark, sub) for k, (kmark, sub) in node.value.items()]
        elif isinstance(node.value, list):
            items = []
            for i, item in enumerate(node.value):
                text = self.string(item, f"{where}[{i}]")
                if text is None:
                    continue
                if "=" not in text:
                    self.add(item.mark, f"{where}[{i}]", "expected key.path=value, e.g. vm.vcpus=2")
                    continue
                key, raw = text.split("=", 1)
                value = self.parse_value(raw, item.mark, f"{where}[{i}]")
                if value is not None:
                    items.append((key.strip(), item.mark, value))
        else:
            if node.value is not None and node.value is not UNREADABLE:
                self.add(node.mark, where, f"expected a mapping of key.path: value, got {kind_of(node.value)}")
            return
        for key, kmark, value in items:
            parts = tuple(key.split("."))
            if not key or not all(KEY_PART.fullmatch(p) for p in parts):
                self.add(kmark, where, f"{key!r} is not a key path like system.timezone")
                continue
            owned = _owned(parts, value)
            if owned is not None:
                self.add(kmark, f"{where}.{key}", f"set by the inventory itself, not in set: "
                         f"({'.'.join(owned)}: {OWNED_KEYS[owned]})")
                continue
            yield Override(parts, kmark, value)

    def parse_value(self, raw: str, mark: Mark, where: str) -> Node | None:
        """A `--set`-style value: YAML, every part of it marked where the string is."""
        local = Problems()
        try:
            composed = compose(raw) if raw.strip() else None
        except yaml.YAMLError as exc:
            self.add(mark, where, f"value is not valid YAML: {yaml_error_text(exc)}")
            return None
        if composed is None:
            return Node(None, mark)
        value = node_from_yaml(composed, None, local, override=where)
        if local.entries or value is None:
            self.add(mark, where, "; ".join(text.split(": ", 2)[-1] for text in local.lines) or "bad value")
            return None
        return _remark(value, mark)

    def drives(self, node: Node, where: str) -> tuple[str, ...] | None:
        """Checked as storage.drives when the profile is loaded; here only its shape."""
        value = node.value
        if isinstance(value, str):
            return (value,)
        if not isinstance(value, list) or not value:
            if value is not UNREADABLE:
                self.add(node.mark, where, f"expected a list of disk names like [sda], got "
                         f"{kind_of(value) if value != [] else 'an empty list'}")
            return None
        names = [self.string(item, f"{where}[{i}]") for i, item in enumerate(value)]
        return None if any(n is None for n in names) else tuple(n for n in names if n is not None)

    # --- network -------------------------------------------------------------------------------

    def network(self, entry: tuple[Mark, Node] | None, defaults: dict[str, tuple[Any, Mark]],
                at: str) -> tuple[Static | None, bool]:
        """(the static configuration or None for DHCP, whether it was readable)."""
        if entry is None:
            return None, True
        node = entry[1]
        where = f"{at}.network"
        if isinstance(node.value, str):
            if node.value == "dhcp":
                return None, True
            self.add(node.mark, where, f"expected dhcp or {{address: ..., prefix: ...}}, got {node.value[:40]!r}")
            return None, False
        if not self.mapping(node, where):
            return None, False
        self.unknown_keys(node, NETWORK_KEYS, where)
        given = {k: (sub, sub.mark) for k, (_, sub) in node.value.items() if k in NETWORK_KEYS}
        if "address" not in given:
            self.add(node.mark, f"{where}.address", "required for a static configuration (or write network: dhcp)")
            return None, False
        values = {**defaults, **given}
        ok = True
        address_node = given["address"][0]
        text = self.string(address_node, f"{where}.address")
        if text is None:
            return None, False
        prefix: int | None = None
        if "/" in text:                   # 10.0.2.21/24
            text, _, bits = text.partition("/")
            if not bits.isdigit():
                self.add(address_node.mark, f"{where}.address", f"{bits!r} is not a prefix length")
                return None, False
            prefix = int(bits)
            if "prefix" in given:
                self.add(given["prefix"][1], f"{where}.prefix", "the address already gives the prefix (/N)")
                ok = False
        address = self.ipv4(text, address_node.mark, f"{where}.address")
        if prefix is None:
            if "prefix" not in values:
                self.add(node.mark, f"{where}.prefix", "required with an address (here, as address/N, or in "
                         "defaults.network)")
                return None, False
            pnode = values["prefix"][0]
            if isinstance(pnode.value, int) and not isinstance(pnode.value, bool):
                prefix = pnode.value
            else:
                self.add(pnode.mark, self.source(where, "prefix", given), f"expected a number of bits "
                         f"(1 to 32), got {kind_of(pnode.value)}")
                return None, False
        if not 1 <= prefix <= 32:
            mark = values["prefix"][1] if "prefix" in values and "/" not in address_node.value else address_node.mark
            self.add(mark, self.source(where, "prefix", given), f"a prefix is 1 to 32 bits, got {prefix}")
            return None, False
        if address is None:
            return None, False
        net = ipaddress.IPv4Network(f"{address}/{prefix}", strict=False)
        if prefix <= 30 and address in (net.network_address, net.broadcast_address):
            what = "network" if address == net.network_address else "broadcast"
            self.add(address_node.mark, f"{where}.address", f"{address} is the {what} address of {net}")
            ok = False
        gateway = None
        if "gateway" in values and values["gateway"][0].value is not None:
            gnode = values["gateway"][0]
            gwhere = self.source(where, "gateway", given)
            gtext = self.string(gnode, gwhere)
            gw = self.ipv4(gtext, gnode.mark, gwhere) if gtext is not None else None
            if gw is None:
                ok = False
            elif gw not in net:
                self.add(gnode.mark, gwhere, f"{gw} is not in {net} (the host's network): the host could not reach it")
                ok = False
            elif gw == address:
                self.add(gnode.mark, gwhere, f"{gw} is the host's own address")
                ok = False
            else:
                gateway = str(gw)
        dns: list[str] = []
        if "dns" in values and values["dns"][0].value is not None:
            dnode = values["dns"][0]
            dwhere = self.source(where, "dns", given)
            items = [dnode] if isinstance(dnode.value, str) else dnode.value if isinstance(dnode.value, list) else None
            if items is None:
                self.add(dnode.mark, dwhere, f"expected a list of addresses, got {kind_of(dnode.value)}")
                ok = False
            else:
                for i, item in enumerate(items):
                    iwhere = f"{dwhere}[{i}]" if isinstance(dnode.value, list) else dwhere
                    itext = self.string(item, iwhere)
                    found = self.ipv4(itext, item.mark, iwhere) if itext is not None else None
                    if found is None:
                        ok = False
                    else:
                        dns.append(str(found))
        if not ok:
            return None, False
        return Static(str(address), prefix, gateway, tuple(dns)), True

    @staticmethod
    def source(where: str, key: str, given: dict) -> str:
        """The key path a problem is named by: the host's, or defaults.network's."""
        return f"{where}.{key}" if key in given else f"defaults.network.{key}"

    def ipv4(self, text: str | None, mark: Mark, where: str) -> ipaddress.IPv4Address | None:
        if text is None:
            return None
        try:
            address = ipaddress.IPv4Address(text)
        except ValueError:
            self.add(mark, where, f"{text[:40]!r} is not an IPv4 address like 192.0.2.10")
            return None
        if address.is_loopback or address.is_multicast or address.is_unspecified or address.is_reserved:
            self.add(mark, where, f"{address} is not a host's address (loopback, multicast, unspecified or reserved)")
            return None
        return address

    # --- across hosts ----------------------------------------------------------------------------

    def duplicates(self) -> None:
        """Each MAC, host name (case ignored, as DNS does) and address once: the later one is
        named, with the line of the first."""
        first: dict[tuple[str, str], tuple[int, Mark]] = {}
        for what, key, value, index, mark in self.unique:
            seen = first.setdefault((what, value.lower()), (index, mark))
            if seen[0] != index:
                self.add(mark, f"hosts[{index}].{key}",
                         f"{value} is also the {what} of hosts[{seen[0]}] ({seen[1].text()})")


def normal_mac(text: str) -> str | None:
    """A MAC address in any usual spelling -> lower case with colons, or None."""
    text = text.strip()
    if _MAC_PAIRS.fullmatch(text):
        digits = re.sub("[:-]", "", text)
    elif _MAC_CISCO.fullmatch(text):
        digits = text.replace(".", "")
    elif _MAC_BARE.fullmatch(text):
        digits = text
    else:
        return None
    digits = digits.lower()
    return ":".join(digits[i:i + 2] for i in range(0, 12, 2))


def _owned(parts: tuple[str, ...], value: Node) -> tuple[str, ...] | None:
    """The inventory-owned key PARTS sets (itself, one below it, or one inside its mapping VALUE)."""
    for owned in OWNED_KEYS:
        if parts[:len(owned)] == owned:
            return owned
        if owned[:len(parts)] == parts and isinstance(value.value, dict):
            node: Node | None = value
            for part in owned[len(parts):]:
                entry = node.value.get(part) if node is not None and isinstance(node.value, dict) else None
                node = entry[1] if entry is not None else None
            if node is not None:
                return owned
    return None


def _remark(node: Node, mark: Mark) -> Node:
    """NODE with every part (keys too) marked MARK."""
    if isinstance(node.value, dict):
        return Node({k: (mark, _remark(v, mark)) for k, (_, v) in node.value.items()}, mark)
    if isinstance(node.value, list):
        return Node([_remark(v, mark) for v in node.value], mark)
    return Node(node.value, mark)
