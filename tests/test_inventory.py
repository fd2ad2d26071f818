"""The host inventory (kickgen.netboot.inventory): hosts.yaml read with the profile machinery,
every rule with its negative test, each problem one line naming file:line:col and the key."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from kickgen.core.errors import ProfileError
from kickgen.netboot.inventory import host_overrides, host_profile, load_inventory, normal_mac
from kickgen.profile import load_profile
from kickgen.profile.yamlsource import MAX_PROFILE_BYTES
from paths import PROJECT_ROOT

EXAMPLE = PROJECT_ROOT / "docs" / "examples" / "hosts.yaml"
SERVER = "http://10.0.2.2:8123"


def write(folder: Path, text: str, name: str = "hosts.yaml") -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


def problems(path: Path) -> list[str]:
    """The lines load_inventory refuses PATH with (the path shown as it is in the messages)."""
    with pytest.raises(ProfileError) as caught:
        load_inventory(path)
    return [line.replace(str(path), "hosts.yaml") for line in caught.value.message.splitlines()]


def one(path: Path) -> str:
    lines = problems(path)
    assert len(lines) == 1, lines
    return lines[0]


# --- a good inventory ----------------------------------------------------------------------------

def test_the_example_inventory_loads():
    inventory = load_inventory(EXAMPLE)
    assert [(h.name, h.mac, h.profile_ref, h.address, h.drives) for h in inventory.hosts] == [
        ("docker1", "52:54:00:4b:47:01", "standin-docker", "10.0.2.21", ("vda",)),
        ("base1", "52:54:00:4b:47:02", "el6-base", None, ("vda",))]
    docker1 = inventory.hosts[0]
    assert (docker1.static.prefix, docker1.static.netmask, docker1.static.gateway, docker1.static.dns) == (
        24, "255.255.255.0", "10.0.2.2", ("10.0.2.3",))
    assert inventory.path == EXAMPLE and len(inventory.sha256) == 64
    assert inventory.host("DOCKER1") is docker1


def test_a_host_profile_carries_the_inventory(tmp_path):
    inventory = load_inventory(EXAMPLE)
    docker1, base1 = (host_profile(h, SERVER) for h in inventory.hosts)
    net = docker1.network
    assert (net.device, net.bootproto, net.ip, net.netmask, net.gateway, net.nameservers, net.hostname) == (
        None, "static", "10.0.2.21", "255.255.255.0", "10.0.2.2", ("10.0.2.3",), "docker1")
    assert docker1.storage.drives == ("vda",)
    assert (docker1.install.source, docker1.install.url) == ("url", f"{SERVER}/hosts/docker1/tree/")
    assert docker1.report.url == f"{SERVER}/hosts/docker1/report"
    assert docker1.system.timezone == "Europe/Berlin"                 # its set:
    assert docker1.mirrors == load_profile("standin-docker").mirrors   # the installed system's repos stay
    assert (base1.network.bootproto, base1.network.ip, base1.network.hostname) == ("dhcp", None, "base1")
    assert base1.report.poweroff is True                               # set: in --set's spelling
    # without a server URL: the install source and report URL stay the profile's
    plain = host_profile(inventory.hosts[0])
    assert (plain.install.source, plain.install.url, plain.report.url) == ("cdrom", None, None)
    assert ("install", "url") not in [parts for parts, _, _ in host_overrides(inventory.hosts[0])]


@pytest.mark.parametrize("text, expected", [
    ("52:54:00:12:34:56", "52:54:00:12:34:56"), ("52-54-00-AB-CD-EF", "52:54:00:ab:cd:ef"),
    ("5254.00ab.cdef", "52:54:00:ab:cd:ef"), ("525400ABCDEF", "52:54:00:ab:cd:ef"),
    ("52:54-00:12:34:56", None), ("52:54:00:12:34", None), ("52:54:00:12:34:5g", None), ("", None)])
def test_mac_spellings(text, expected):
    assert normal_mac(text) == expected


def test_an_unquoted_all_digit_mac_is_read_as_written(tmp_path):
    """YAML 1.1 reads 52:54:00:12:34:56 as a base-60 integer; the text is taken back."""
    path = write(tmp_path, """
        hosts:
          - {name: a, mac: 52:54:00:12:34:56, profile: el6-base}
          - {name: b, mac: 10:20:30:40:50:00, profile: el6-base}
    """)
    assert [h.mac for h in load_inventory(path).hosts] == ["52:54:00:12:34:56", "10:20:30:40:50:00"]


def test_defaults_apply_and_a_host_overrides_them(tmp_path):
    path = write(tmp_path, """
        defaults:
          profile: el6-base
          set: {vm.vcpus: 2, system.timezone: UTC}
          network: {prefix: 16, gateway: 10.1.0.1, dns: 10.1.0.53}
          drives: sda
        hosts:
          - name: a
            mac: "52:54:00:00:00:0a"
            set: {system.timezone: Europe/Berlin}
            network: {address: 10.1.2.3}
          - name: b
            mac: "52:54:00:00:00:0b"
            profile: standin-docker
            network: {address: 10.1.2.4/24, gateway: 10.1.2.1}
            drives: [vdb, vdc]
    """)
    a, b = load_inventory(path).hosts
    assert (a.profile_ref, a.static.prefix, a.static.gateway, a.static.dns, a.drives) == (
        "el6-base", 16, "10.1.0.1", ("10.1.0.53",), ("sda",))
    assert (b.profile_ref, b.static.prefix, b.static.gateway, b.drives) == ("standin-docker", 24, "10.1.2.1",
                                                                            ("vdb", "vdc"))
    profile = host_profile(a)
    assert (profile.vm.vcpus, profile.system.timezone) == (2, "Europe/Berlin")   # defaults first, the host after


def test_a_profile_path_is_relative_to_the_inventory_and_a_name_is_found_beside_it(tmp_path, monkeypatch):
    site = tmp_path / "site"
    site.mkdir()
    (site / "mine.yaml").write_text("extends: el6-base\ndescription: beside the inventory\n")
    (site / "sub").mkdir()
    (site / "sub" / "other.yaml").write_text("extends: el6-base\n")
    path = write(site, """
        hosts:
          - {name: a, mac: "52:54:00:00:00:0a", profile: mine}
          - {name: b, mac: "52:54:00:00:00:0b", profile: sub/other.yaml}
    """)
    monkeypatch.chdir(tmp_path)             # not the inventory's folder
    a, b = load_inventory(path).hosts
    assert (a.profile_path, b.profile_path) == (site / "mine.yaml", site / "sub" / "other.yaml")
    assert host_profile(a).description == "beside the inventory"


# --- the rules, each refused in one line naming where ---------------------------------------------

def test_a_duplicate_mac_names_both_lines_whatever_its_spelling(tmp_path):
    path = write(tmp_path, """
        defaults: {profile: el6-base}
        hosts:
          - name: a
            mac: aa:bb:cc:dd:ee:f0
          - name: b
            mac: 00:11:22:33:44:55
          - name: c
            mac: AA-BB-CC-DD-EE-F0
    """)
    assert one(path) == ("hosts.yaml:8:10: hosts[2].mac: aa:bb:cc:dd:ee:f0 is also the MAC of hosts[0] "
                         "(hosts.yaml:4:10)")


def test_a_duplicate_host_name_names_both_lines_case_ignored(tmp_path):
    path = write(tmp_path, """
        defaults: {profile: el6-base}
        hosts:
          - {name: web1, mac: "52:54:00:00:00:01"}
          - {name: WEB1, mac: "52:54:00:00:00:02"}
    """)
    assert one(path) == "hosts.yaml:4:12: hosts[1].name: WEB1 is also the name of hosts[0] (hosts.yaml:3:12)"


def test_a_duplicate_address_names_both_lines(tmp_path):
    path = write(tmp_path, """
        defaults: {profile: el6-base, network: {prefix: 24}}
        hosts:
          - {name: a, mac: "52:54:00:00:00:01", network: {address: 10.0.2.21}}
          - {name: b, mac: "52:54:00:00:00:02", network: {address: 10.0.2.21/24}}
    """)
    assert one(path) == ("hosts.yaml:4:60: hosts[1].network.address: 10.0.2.21 is also the address of hosts[0] "
                         "(hosts.yaml:3:60)")


def test_duplicates_are_found_among_hosts_with_other_problems_too(tmp_path):
    path = write(tmp_path, """
        hosts:
          - {name: a, mac: "52:54:00:00:00:01", profile: nope}
          - {name: a, mac: "52:54:00:00:00:01", profile: el6-base}
    """)
    lines = problems(path)
    assert any("hosts[1].name: a is also the name of hosts[0]" in line for line in lines)
    assert any("hosts[1].mac: 52:54:00:00:00:01 is also the MAC of hosts[0]" in line for line in lines)


def test_an_unknown_profile_names_where_it_looked(tmp_path):
    path = write(tmp_path, """
        hosts:
          - {name: a, mac: "52:54:00:00:00:01", profile: no-such-profile}
          - {name: b, mac: "52:54:00:00:00:02", profile: ./missing.yaml}
    """)
    first, second = problems(path)
    assert first.startswith(f"hosts.yaml:2:50: hosts[0].profile: no profile 'no-such-profile' (looked in "
                            f"{tmp_path} (beside the inventory), ")
    assert "(shipped)" in first
    assert second == "hosts.yaml:3:50: hosts[1].profile: no profile './missing.yaml' (no such file)"


def test_a_missing_profile_without_a_default(tmp_path):
    path = write(tmp_path, """
        hosts:
          - {name: a, mac: "52:54:00:00:00:01"}
    """)
    assert one(path) == "hosts.yaml:2:5: hosts[0].profile: required key is missing (or give defaults.profile)"


@pytest.mark.parametrize("mac, message", [
    ("52:54:00:12:34", "'52:54:00:12:34' is not a MAC address: expected six hex pairs"),
    ("zz:54:00:12:34:56", "'zz:54:00:12:34:56' is not a MAC address"),
    ("01:00:5e:00:00:01", "01:00:5e:00:00:01 is a multicast address (the first byte is odd): no NIC has it"),
    ("ff:ff:ff:ff:ff:ff", "ff:ff:ff:ff:ff:ff is a multicast address"),
    ("00:00:00:00:00:00", "00:00:00:00:00:00 is no NIC's address"),
    ("true", "expected a string, got a boolean (quote it)"),
])
def test_a_bad_mac(tmp_path, mac, message):
    path = write(tmp_path, f"""
        hosts:
          - name: a
            mac: {mac}
            profile: el6-base
    """)
    line = one(path)
    assert line.startswith("hosts.yaml:3:10: hosts[0].mac: ") and message in line, line


@pytest.mark.parametrize("name, message", [
    ("-web", "'-web' is not a host name: expected a host name: labels of 1 to 63"),
    ("web_1", "'web_1' is not a host name"),
    ("a..b", "'a..b' is not a host name"),
    ("x" * 65, "is not a host name"),
    ("12", "expected a string, got an integer (quote it)"),
])
def test_a_bad_host_name(tmp_path, name, message):
    path = write(tmp_path, f"""
        hosts:
          - name: {name}
            mac: "52:54:00:00:00:01"
            profile: el6-base
    """)
    line = one(path)
    assert line.startswith("hosts.yaml:2:11: hosts[0].name: ") and message in line, line


@pytest.mark.parametrize("network, where, message", [
    ("{address: 10.0.2.300, prefix: 24}", "3:24: hosts[0].network.address", "'10.0.2.300' is not an IPv4 address"),
    ("{address: 127.0.0.5, prefix: 8}", "3:24: hosts[0].network.address", "127.0.0.5 is not a host's address"),
    ("{address: 10.0.2.0, prefix: 24}", "3:24: hosts[0].network.address", "10.0.2.0 is the network address of 10.0.2.0/24"),
    ("{address: 10.0.2.255/24}", "3:24: hosts[0].network.address", "10.0.2.255 is the broadcast address"),
    ("{address: 10.0.2.21, prefix: 33}", "3:43: hosts[0].network.prefix", "a prefix is 1 to 32 bits, got 33"),
    ("{address: 10.0.2.21, prefix: 0}", "3:43: hosts[0].network.prefix", "a prefix is 1 to 32 bits, got 0"),
    ("{address: 10.0.2.21, prefix: wide}", "3:43: hosts[0].network.prefix", "expected a number of bits"),
    ("{address: 10.0.2.21/x}", "3:24: hosts[0].network.address", "'x' is not a prefix length"),
    ("{address: 10.0.2.21/24, prefix: 24}", "3:46: hosts[0].network.prefix", "the address already gives the prefix"),
    ("{address: 10.0.2.21}", "3:14: hosts[0].network.prefix", "required with an address"),
    ("{prefix: 24}", "3:14: hosts[0].network.address", "required for a static configuration"),
    ("{address: 10.0.2.21/24, gateway: 10.0.3.1}", "3:47: hosts[0].network.gateway",
     "10.0.3.1 is not in 10.0.2.0/24 (the host's network): the host could not reach it"),
    ("{address: 10.0.2.21/24, gateway: 10.0.2.21}", "3:47: hosts[0].network.gateway", "10.0.2.21 is the host's own address"),
    ("{address: 10.0.2.21/24, dns: [10.0.2.3, dns.example]}", "3:54: hosts[0].network.dns[1]",
     "'dns.example' is not an IPv4 address"),
    ("{address: 10.0.2.21/24, dns: {a: 1}}", "3:43: hosts[0].network.dns", "expected a list of addresses, got a mapping"),
    ("static", "3:14: hosts[0].network", "expected dhcp or {address: ..., prefix: ...}, got 'static'"),
    ("{address: 10.0.2.21/24, mask: 24}", "3:38: hosts[0].network.mask", "unknown key (known: address, prefix"),
])
def test_a_bad_network(tmp_path, network, where, message):
    path = write(tmp_path, f"""
        hosts:
          - name: a
            network: {network}
            mac: "52:54:00:00:00:01"
            profile: el6-base
    """)
    line = one(path)
    assert line.startswith(f"hosts.yaml:{where}: ") and message in line, line


def test_a_defaults_network_problem_is_named_there(tmp_path):
    path = write(tmp_path, """
        defaults:
          profile: el6-base
          network: {prefix: 24, gateway: 192.168.9.1, address: 10.0.2.9}
        hosts:
          - {name: a, mac: "52:54:00:00:00:01", network: {address: 10.0.2.21}}
    """)
    assert problems(path) == [
        "hosts.yaml:3:34: defaults.network.gateway: 192.168.9.1 is not in 10.0.2.0/24 (the host's network): "
        "the host could not reach it",
        "hosts.yaml:3:47: defaults.network.address: an address belongs to one host: give it there"]


@pytest.mark.parametrize("text, expected", [
    ("hosts:\n  - {name: a, mac: '52:54:00:00:00:01', profile: el6-base, drivs: [sda]}\n",
     "hosts.yaml:2:60: hosts[0].drivs: unknown key (did you mean 'drives'?)"),
    ("host:\n  - {name: a}\n", None),
    ("defaults: {profil: el6-base}\nhosts:\n  - {name: a, mac: '52:54:00:00:00:01', profile: el6-base}\n",
     "hosts.yaml:1:12: defaults.profil: unknown key (did you mean 'profile'?)"),
])
def test_unknown_keys_with_a_did_you_mean(tmp_path, text, expected):
    path = write(tmp_path, text)
    lines = problems(path)
    if expected is None:        # `host:` for `hosts:`: both said
        assert lines == ["hosts.yaml:1:1: host: unknown key (did you mean 'hosts'?)",
                         "hosts.yaml:1:1: hosts: required key is missing: list the hosts"]
    else:
        assert lines == [expected]


@pytest.mark.parametrize("text, expected", [
    ("", "hosts.yaml:1:1: hosts: the inventory is empty: list the hosts under hosts:"),
    ("- a\n", "hosts.yaml:1:1: an inventory is a mapping with hosts:, got a list"),
    ("hosts: []\n", "hosts.yaml:1:8: hosts: expected a list of hosts, got an empty list"),
    ("hosts: web1\n", "hosts.yaml:1:8: hosts: expected a list of hosts, got a string"),
    ("hosts:\n  - web1\n", "hosts.yaml:2:5: hosts[0]: expected a mapping, got a string"),
    ("hosts:\n  - {profile: el6-base}\n", "hosts.yaml:2:5: hosts[0].mac: required key is missing"),
    ("hosts:\n  - {name: a, mac: [1]\n", "hosts.yaml:3:1: YAML syntax error: expected ',' or '}', but got '<stream end>'"),
    ("hosts:\n  - &a {name: a, <<: *a}\n", "hosts.yaml:2:18: YAML merge keys (<<) are not supported: use extends:"),
])
def test_a_badly_shaped_inventory(tmp_path, text, expected):
    path = write(tmp_path, text)
    assert expected in problems(path), problems(path)


def test_an_unreadable_or_oversized_inventory(tmp_path):
    missing = tmp_path / "none.yaml"
    assert one(missing) == f"{missing}:1:1: cannot read the inventory: No such file or directory".replace(
        str(missing), "hosts.yaml")
    big = tmp_path / "hosts.yaml"
    big.write_text("#" * (MAX_PROFILE_BYTES + 1))
    assert "larger than 1048576 bytes" in one(big)
    big.write_bytes(b"hosts: \xff\n")
    assert one(big) == "hosts.yaml:1:1: not UTF-8 text (byte 7)"


# --- set: overrides -------------------------------------------------------------------------------

def test_set_problems_name_the_inventory_line_and_the_host(tmp_path):
    path = write(tmp_path, """
        hosts:
          - name: web1
            mac: "52:54:00:00:00:01"
            profile: el6-base
            set:
              vm.vcpu: 2
              system.timezone: 5
          - name: web2
            mac: "52:54:00:00:00:02"
            profile: el6-base
            set: ["vm.vcpus=many", "nonsense", "bad key=1"]
    """)
    assert problems(path) == [
        "hosts.yaml:11:28: hosts[1].set[1]: expected key.path=value, e.g. vm.vcpus=2",
        "hosts.yaml:11:40: hosts[1].set: 'bad key' is not a key path like system.timezone",
        "hosts.yaml:6:7: hosts[0] (web1): vm.vcpu: unknown key (did you mean 'vcpus'?)",
        "hosts.yaml:7:24: hosts[0] (web1): system.timezone: expected a string, got an integer (quote it)",
        "hosts.yaml:11:11: hosts[1] (web2): vm.vcpus: expected an integer, got a string"]


@pytest.mark.parametrize("key", ["network.hostname", "network.ip", "network.device", "storage.drives",
                                 "install.source", "install.url", "report.url"])
def test_set_refuses_the_keys_the_inventory_sets(tmp_path, key):
    path = write(tmp_path, f"""
        hosts:
          - name: web1
            mac: "52:54:00:00:00:01"
            profile: el6-base
            set: {{{key}: x}}
    """)
    line = one(path)
    assert line.startswith(f"hosts.yaml:5:11: hosts[0].set.{key}: set by the inventory itself, not in set: "
                           f"({key}: "), line


def test_set_refuses_an_owned_key_inside_a_mapping_too(tmp_path):
    path = write(tmp_path, """
        hosts:
          - name: web1
            mac: "52:54:00:00:00:01"
            profile: el6-base
            set: {network: {onboot: false, hostname: other}, "network.onboot": false}
    """)
    assert one(path).startswith("hosts.yaml:5:11: hosts[0].set.network: set by the inventory itself, not in set: "
                                "(network.hostname: ")


def test_set_may_change_the_network_keys_the_inventory_leaves(tmp_path):
    path = write(tmp_path, """
        hosts:
          - {name: web1, mac: "52:54:00:00:00:01", profile: el6-base, set: {network.ipv6: false}}
    """)
    assert host_profile(load_inventory(path).hosts[0]).network.ipv6 is False


def test_a_rule_across_profile_keys_names_the_host(tmp_path):
    """docker without EPEL: the rule names the profile's key to change, and the host whose
    overrides broke it."""
    path = write(tmp_path, """
        hosts:
          - {name: web1, mac: "52:54:00:00:00:01", profile: standin-docker, set: {epel.enabled: false}}
    """)
    assert one(path).endswith("centos65-docker.yaml:39:12: docker.enabled: docker-io comes from EPEL: set "
                              "epel.enabled: true (for hosts[0] (web1), hosts.yaml:2:5, with the inventory's "
                              "overrides)")


def test_an_offline_profile_is_refused(tmp_path):
    path = write(tmp_path, """
        hosts:
          - {name: web1, mac: "52:54:00:00:00:01", profile: centos65-docker-offline}
    """)
    assert one(path) == ("hosts.yaml:2:53: hosts[0] (web1): profile centos65-docker-offline is an offline profile "
                         "(media.offline): it installs from the media `kickgen iso` makes, with its embedded "
                         "repos; a network install has neither: give an online profile")


def test_a_broken_profile_is_named_once_for_all_its_hosts(tmp_path):
    (tmp_path / "broken.yaml").write_text("extends: el6-base\nvm: {vcpus: many}\n")
    path = write(tmp_path, """
        defaults: {profile: broken}
        hosts:
          - {name: a, mac: "52:54:00:00:00:01"}
          - {name: b, mac: "52:54:00:00:00:02"}
    """)
    assert problems(path) == [f"{tmp_path / 'broken.yaml'}:2:13: vm.vcpus: expected an integer, got a string"]
