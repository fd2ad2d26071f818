"""Profiles: loading, extends/merge, --set overrides, and every error names file:line:col."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from kickgen.core.errors import ProfileError, UsageError
from kickgen.kickstart.password import root_password_hash
from kickgen.profile import MediaFile, Profile, list_profiles, load_profile, profile_to_data, reference_markdown
from kickgen.profile.loader import list_profile_names
from kickgen.profile.reference import profile_reference
from kickgen.profile.search import shipped_dir
from paths import PROJECT_ROOT

PROFILES_DIR = shipped_dir()

HASH = "$6$abcdefgh$" + "A" * 86
SHIPPED = ["centos65-docker", "centos65-docker-offline", "el6-base", "standin-docker"]


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text)
    return path


def base(extra: str = "", rootpw: str = f'{{hash: "{HASH}"}}') -> str:
    return f"description: test\nsystem:\n  rootpw: {rootpw}\n{extra}"


def error_of(ref, overrides=()) -> str:
    with pytest.raises(ProfileError) as info:
        load_profile(ref, overrides)
    return info.value.message


# --- shipped profiles -------------------------------------------------------------------------

def test_shipped_profiles_are_listed():
    assert list_profile_names() == SHIPPED


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_profile_loads_by_name_and_by_path(name):
    by_name = load_profile(name)
    by_path = load_profile(PROFILES_DIR / f"{name}.yaml")
    assert by_name == by_path
    assert by_name.name == name
    assert by_name.source == (PROFILES_DIR / f"{name}.yaml").resolve()
    assert by_name.description


def test_mission_profile_contract_fields():
    p = load_profile("centos65-docker")
    assert p.aufs_kernel.enabled and p.epel.enabled and p.docker.enabled
    assert p.docker.enable_service
    assert p.boot.args == ("text", "console=tty0", "console=ttyS0,115200n8", "ksdevice=link")
    assert (p.boot.timeout, p.boot.label, p.boot.default) == (5, "kickstart", "cd")
    assert p.media.volume_id is None and p.media.add == ()
    assert (p.vm.disk_gb, p.vm.memory_mb, p.vm.vcpus) == (8, 1024, 1)
    assert p.expect.aufs is True and p.expect.storage_driver == "aufs"
    assert re.search(p.expect.kernel_release, "3.10.5-3.el6.x86_64")
    assert re.search(p.expect.default_entry, "CentOS (3.10.5-3.el6.x86_64)")
    assert p.report.enabled
    # every URL is a profile value
    assert p.mirrors.centos_os == "http://vault.centos.org/6.5/os/x86_64/"
    assert p.aufs_kernel.repo_url == "http://www.hop5.in/yum/el6/"
    assert p.epel.release_rpm_url.endswith("/pub/archive/epel/6/x86_64/epel-release-6-8.noarch.rpm")


def test_standin_profile_expects_standin_facts():
    p = load_profile("standin-docker")
    assert p.expect.aufs is False
    assert p.expect.storage_driver == "vfs"
    assert p.expect.docker_running is True
    assert re.search(p.expect.kernel_release, "6.1.0-56-amd64")
    assert not re.search(p.expect.kernel_release, "3.10.5-3.el6.x86_64")
    assert p.report.poweroff is True
    # the same kickstart settings as the mission
    mission = load_profile("centos65-docker")
    assert (p.system, p.aufs_kernel, p.docker, p.epel) == (mission.system, mission.aufs_kernel,
                                                          mission.docker, mission.epel)


def test_el6_base_is_unattended_without_mission_parts():
    p = load_profile("el6-base")
    assert not (p.aufs_kernel.enabled or p.epel.enabled or p.docker.enabled)
    assert p.network.activate and p.storage.zerombr and p.storage.clearpart == "all"
    assert p.system.finish == "reboot"     # the schema allows only finishing commands: check which
    assert "console=ttyS0,115200n8" in p.storage.bootloader.append


def test_defaults_fit_real_hardware():
    """Issue 10: no NIC name (biosdevname says em1), the CD ejected on reboot, the target disk
    chosen at install time (storage.drives empty) — in the schema and in the shipped base."""
    for p in (Profile(name="x", source=Path("x"), system=load_profile("el6-base").system),
              load_profile("el6-base"), load_profile("centos65-docker-offline")):
        assert p.network.device is None
        assert p.system.eject is True
        assert p.storage.drives == ()
        assert "ksdevice=link" in p.boot.args


@pytest.mark.parametrize("value", ["em1", "p1p1", "eth0", "52:54:00:12:34:56", "52:54:00:AB:cd:EF"])
def test_network_device_takes_a_name_or_a_mac(value):
    assert load_profile("el6-base", [f"network.device='{value}'"]).network.device == value


def test_unquoted_mac_is_a_yaml_number():
    # YAML 1.1 reads 52:54:00:12:34:56 as a base-60 integer: the message says to quote it.
    assert error_of("el6-base", ["network.device=52:54:00:12:34:56"]) == (
        "--set network.device: expected a string, got an integer (quote it)")


@pytest.mark.parametrize("value", ["52:54:00:12:34", "52:54:00:12:34:5g", "a-very-long-nic-name0",
                                   "em1;reboot"])
def test_network_device_not_a_name_or_mac_refused(value):
    assert error_of("el6-base", [f"network.device='{value}'"]) == (
        "--set network.device: expected a NIC name like em1 (at most 15 letters, digits and _ . -) "
        f"or a MAC address like 52:54:00:12:34:56, got {value!r}")


@pytest.mark.parametrize("value", ["link", "bootif", "LINK"])
def test_network_device_link_refused(tmp_path, value):
    path = write(tmp_path, "x.yaml", base(f"network:\n  device: {value}\n"))
    assert error_of(path) == (
        f"{path}:5:11: network.device: {value!r} is not a NIC for EL6's installer "
        f"(--device={value} aborts the install); leave network.device null: the boot menu's "
        "ksdevice=link already picks the first NIC with a link")


def test_usb_default_with_reboot_refused(tmp_path):
    """A stick is never ejected: reboot with the USB entry as default installs again."""
    path = write(tmp_path, "x.yaml", base("boot:\n  default: usb\n"))
    message = ("a USB stick cannot be ejected: with system.finish: reboot the machine would start "
               "the install again; use system.finish: poweroff, or boot.default: cd and the "
               "firmware's one-time boot menu")
    assert error_of(path) == f"{path}:5:12: boot.default: {message}"
    assert error_of("el6-base", ["boot.default=usb"]) == f"--set boot.default: {message}"
    for finish in ("poweroff", "halt"):
        p = load_profile("el6-base", ["boot.default=usb", f"system.finish={finish}"])
        assert (p.boot.default, p.system.finish) == ("usb", finish)


def test_storage_drives_pin_disks():
    assert load_profile("el6-base", ["storage.drives=[sda, sdb]"]).storage.drives == ("sda", "sdb")


def test_pre_script_name_of_kickgen_refused(tmp_path):
    path = write(tmp_path, "x.yaml", base("scripts:\n  pre:\n    - {name: kickgen-disks, body: 'true'}\n"))
    assert error_of(path) == (f"{path}:6:5: scripts.pre: script name 'kickgen-disks' is used by "
                              "kickgen itself")


def test_profile_is_frozen():
    p = load_profile("el6-base")
    with pytest.raises(AttributeError):
        p.name = "x"  # type: ignore[misc]


# --- extends and merging ------------------------------------------------------------------------

def test_maps_merge_key_by_key_lists_replace(tmp_path):
    write(tmp_path, "parent.yaml", base("network:\n  device: em1\n  hostname: a\n"
                                         "packages:\n  names: ['@core', vim]\n"))
    child = write(tmp_path, "child.yaml", "extends: parent\nnetwork:\n  hostname: b\n"
                                          "packages:\n  names: [tmux]\n")
    p = load_profile(child)
    assert p.network.device == "em1"           # kept from the parent
    assert p.network.hostname == "b"           # replaced by the child
    assert p.packages.names == ("tmux",)       # lists replace
    assert p.description == "test"


def test_append_form_extends_parent_list(tmp_path):
    write(tmp_path, "parent.yaml", base("packages:\n  names: ['@core', vim]\n"))
    child = write(tmp_path, "child.yaml", "extends: parent\npackages:\n  names+: [tmux]\n")
    assert load_profile(child).packages.names == ("@core", "vim", "tmux")
    assert load_profile(child, ["packages.names+=[git]"]).packages.names == (
        "@core", "vim", "tmux", "git")


def test_extends_relative_path_and_chain(tmp_path):
    (tmp_path / "sub").mkdir()
    write(tmp_path, "root.yaml", base("vm:\n  vcpus: 2\n"))
    write(tmp_path / "sub", "mid.yaml", "extends: ../root.yaml\nvm:\n  memory_mb: 2048\n")
    leaf = write(tmp_path, "leaf.yaml", "extends: sub/mid.yaml\nvm:\n  disk_gb: 20\n")
    p = load_profile(leaf)
    assert (p.vm.vcpus, p.vm.memory_mb, p.vm.disk_gb) == (2, 2048, 20)


def test_extends_shipped_profile_by_name(tmp_path):
    leaf = write(tmp_path, "mine.yaml", "extends: centos65-docker\ndocker:\n  enable_service: false\n")
    p = load_profile(leaf)
    assert p.docker.enabled and not p.docker.enable_service
    assert p.name == "mine"


def test_set_overrides_any_value():
    p = load_profile("centos65-docker", ["mirrors.centos_os=http://mirror.local/c/6.5/os/",
                                         "vm.memory_mb=2048", "expect.aufs=", "boot.args=[text]",
                                         "report.poweroff=true"])
    assert p.mirrors.centos_os == "http://mirror.local/c/6.5/os/"
    assert p.vm.memory_mb == 2048
    assert p.expect.aufs is None
    assert p.boot.args == ("text",)
    assert p.report.poweroff is True


def test_show_data_round_trips(tmp_path):
    import yaml
    p = load_profile("standin-docker")
    data = profile_to_data(p)
    assert list(data)[0] == "description"
    # the shown YAML is itself a loadable profile equal to the merged one
    shown = write(tmp_path, "standin-docker.yaml", yaml.safe_dump(data))
    again = load_profile(shown)
    assert profile_to_data(again) == data


# --- errors: every message names file:line:col and the key path ----------------------------

@pytest.mark.parametrize("text,where,what", [
    ("system:\n  rootpw: {hash: x\n  lang: [\n", "3:7", "expected ',' or '}', but got ':'"),
    ("description: x\nsystem:\n\trootpw: 1\n", "3:1", "found character '\\t' that cannot start any token"),
    ("a: b: c\n", "1:5", "mapping values are not allowed here"),
])
def test_bad_yaml_syntax(tmp_path, text, where, what):
    path = write(tmp_path, "bad.yaml", text)
    assert error_of(path) == f"{path}:{where}: YAML syntax error: {what}"


def test_unknown_key_with_suggestion(tmp_path):
    path = write(tmp_path, "x.yaml", base("network:\n  devcie: eth1\n"))
    assert error_of(path) == (f"{path}:5:3: network.devcie: unknown key (did you mean 'device'?)")


def test_wrong_type_matches_issue_example(tmp_path):
    path = tmp_path / "x.yaml"
    path.write_text(f"system:\n  rootpw: {{hash: '{HASH}'}}\n\n\n\n\n\n\n\n\n\n"
                    "  timezone:\n    - UTC\n")
    assert error_of(path) == f"{path}:13:5: system.timezone: expected a string, got a list"


def test_missing_required_value(tmp_path):
    path = write(tmp_path, "x.yaml", "description: no root password\nsystem:\n  lang: C\n")
    assert error_of(path) == f"{path}:3:3: system.rootpw: required key is missing"


def test_all_problems_reported_together(tmp_path):
    path = write(tmp_path, "x.yaml", base("vm:\n  vcpus: two\n  disk_gb: true\nboot:\n  default: dvd\n"
                                          "nonsense: 1\n"))
    lines = error_of(path).splitlines()
    assert lines == [
        f"{path}:5:10: vm.vcpus: expected an integer, got a string",
        f"{path}:6:12: vm.disk_gb: expected an integer, got a boolean",
        f"{path}:8:12: boot.default: expected one of cd, usb, got 'dvd'",
        f"{path}:9:1: nonsense: unknown key",
    ]


def test_number_where_string_expected_says_quote_it(tmp_path):
    path = write(tmp_path, "x.yaml", base("aufs_kernel:\n  version: 3.10\n"))
    assert error_of(path) == (f"{path}:5:12: aufs_kernel.version: expected a string, "
                              "got a number (quote it)")


def test_extends_cycle(tmp_path):
    a = write(tmp_path, "a.yaml", "extends: b\n" + base())
    write(tmp_path, "b.yaml", "description: b\nextends: a.yaml\n")
    msg = error_of(a)
    assert msg == (f"{tmp_path}/b.yaml:2:10: extends: extends cycle: "
                   f"{tmp_path}/a.yaml -> {tmp_path}/b.yaml -> {tmp_path}/a.yaml")


def test_extends_self(tmp_path):
    a = write(tmp_path, "a.yaml", base("extends: a\n"))
    assert "extends cycle" in error_of(a) and error_of(a).startswith(f"{a}:4:10: extends:")


def test_missing_parent(tmp_path):
    path = write(tmp_path, "x.yaml", "# comment\nextends: no-such-parent\n" + base())
    msg = error_of(path)
    assert msg.startswith(f"{path}:2:10: extends: parent profile 'no-such-parent' not found")


def test_error_in_parent_names_parent_file(tmp_path):
    write(tmp_path, "parent.yaml", base().replace("system:\n", "system:\n  selinux: maybe\n"))
    child = write(tmp_path, "child.yaml", "extends: parent\nvm: {vcpus: 2}\n")
    assert error_of(child) == (f"{tmp_path}/parent.yaml:3:12: system.selinux: expected one of "
                               "enforcing, permissive, disabled, got 'maybe'")


def test_bad_set_override_names_the_option():
    msg = error_of("el6-base", ["system.timezone=[a, b]", "vm.vcpus=many", "network.nope=1"])
    assert msg.splitlines() == [
        "--set system.timezone: expected a string, got a list",
        "--set vm.vcpus: expected an integer, got a string",
        "--set network.nope: unknown key",
    ]


def test_set_without_equals_is_a_usage_error():
    with pytest.raises(UsageError, match="expected key.path=value"):
        load_profile("el6-base", ["system.timezone"])


def test_unknown_profile_is_a_usage_error():
    with pytest.raises(UsageError, match="no profile 'nope'"):
        load_profile("nope")


def test_yaml_merge_keys_and_duplicates_refused(tmp_path):
    path = write(tmp_path, "x.yaml", base("vm: &v\n  vcpus: 1\nboot:\n  <<: *v\nvm:\n  vcpus: 2\n"))
    lines = error_of(path).splitlines()
    assert f"{path}:7:3: YAML merge keys (<<) are not supported: use extends:" in lines
    assert f"{path}:8:1: vm: duplicate key" in lines


def test_inst_boot_argument_refused(tmp_path):
    path = write(tmp_path, "x.yaml", base("boot:\n  args: [text, inst.ks=cdrom:/ks.cfg]\n"))
    assert error_of(path).startswith(f"{path}:5:9: boot.args: 'inst.ks=cdrom:/ks.cfg': EL6 has no "
                                     "'inst.' boot arguments")


@pytest.mark.parametrize("arg", ["ks=cdrom:/x.cfg", "repo=hd:sdb1:/", "Method=cdrom", "askmethod", "ks"])
def test_boot_arguments_that_pick_the_kickstart_or_source_are_refused(tmp_path, arg):
    path = write(tmp_path, "x.yaml", base(f"boot:\n  args: [text, {arg}]\n"))
    assert error_of(path) == (f"{path}:5:9: boot.args: {arg!r}: kickgen sets the kickstart and the "
                              "install source of its boot entries (ks=, and repo= on the USB entry); "
                              "do not set ks, repo=, method= or askmethod here")


def test_docker_needs_epel(tmp_path):
    path = write(tmp_path, "x.yaml", base("docker:\n  enabled: true\n"))
    assert error_of(path) == (f"{path}:5:12: docker.enabled: docker-io comes from EPEL: "
                              "set epel.enabled: true")


def test_script_body_with_section_marker_refused(tmp_path):
    path = write(tmp_path, "x.yaml", base("scripts:\n  post:\n    - name: evil\n"
                                          "      body: |\n        echo a\n        %end\n        reboot\n"))
    assert error_of(path) == (f"{path}:7:13: scripts.post[0].body: line 2 of the script starts "
                              "with '%', which would end the kickstart section")


# --- passwords -------------------------------------------------------------------------------

def test_literal_plaintext_password_refused_and_not_echoed(tmp_path):
    path = write(tmp_path, "x.yaml", "description: x\nsystem:\n  rootpw: Hunter2secret\n")
    msg = error_of(path)
    assert msg == (f"{path}:3:11: system.rootpw: a plaintext password in a profile is refused; "
                   "use {hash: '$6$...'}, {env: VAR} or {file: PATH}")
    assert "Hunter2secret" not in msg


def test_plaintext_in_hash_field_not_echoed(tmp_path):
    path = write(tmp_path, "x.yaml", "system:\n  rootpw: {hash: Hunter2secret}\n")
    msg = error_of(path)
    assert "Hunter2secret" not in msg
    assert msg == (f"{path}:2:18: system.rootpw.hash: expected a SHA-512 crypt hash "
                   "($6$salt$...) (value not shown)")


def test_plaintext_via_set_refused():
    msg = error_of("el6-base", ["system.rootpw=Hunter2secret"])
    assert "Hunter2secret" not in msg and "plaintext password in a profile is refused" in msg


def test_rootpw_needs_exactly_one_source(tmp_path):
    path = write(tmp_path, "x.yaml", f"system:\n  rootpw: {{env: A, hash: '{HASH}'}}\n")
    assert error_of(path) == f"{path}:2:11: system.rootpw: give exactly one of hash, env, file"


def test_rootpw_env_missing_names_location(tmp_path, monkeypatch):
    path = write(tmp_path, "x.yaml", base(rootpw="{env: KICKGEN_UNSET_PW}"))
    monkeypatch.delenv("KICKGEN_UNSET_PW", raising=False)
    with pytest.raises(ProfileError) as info:
        root_password_hash(load_profile(path).system.rootpw)
    assert info.value.message == (f"{path}:3:11: system.rootpw.env: environment variable "
                                  "KICKGEN_UNSET_PW is not set or empty")


def test_rootpw_file_missing(tmp_path):
    path = write(tmp_path, "x.yaml", base(rootpw="{file: nothere}"))
    with pytest.raises(ProfileError, match=r"x.yaml:3:11: system.rootpw.file: cannot read .*nothere"):
        root_password_hash(load_profile(path).system.rootpw)


# --- media paths are relative to the profile file ---------------------------------------------

def test_media_add_paths(tmp_path):
    path = write(tmp_path, "x.yaml", base("media:\n  volume_id: MY_DVD\n"
                                          "  add: [{src: files/a.rpm, dest: /extra/a.rpm}]\n"))
    p = load_profile(path)
    assert p.media.volume_id == "MY_DVD"
    assert p.media.add == (MediaFile(src=tmp_path / "files" / "a.rpm", dest="/extra/a.rpm"),)


# --- media.embed / media.offline ------------------------------------------------------------

def test_embed_paths_relative_to_the_file_that_set_them(tmp_path):
    (tmp_path / "sub").mkdir()
    write(tmp_path, "parent.yaml", base("media:\n  embed:\n    epel: rpms/epel6\n"))
    child = write(tmp_path / "sub", "child.yaml",
                  "extends: ../parent.yaml\nmedia:\n  embed:\n    aufs-kernel: [hop5, k.rpm]\n")
    p = load_profile(child)
    assert dict(p.media.embed) == {
        "epel": (tmp_path / "rpms" / "epel6",),                 # a single path is a list of one
        "aufs-kernel": (tmp_path / "sub" / "hop5", tmp_path / "sub" / "k.rpm"),
    }
    assert p.media.offline is False
    assert not (tmp_path / "rpms").exists()                     # loading does not need them
    assert hash(p) == hash(load_profile(child))                 # still a frozen, hashable value
    with pytest.raises(TypeError):
        p.media.embed["x"] = ()                                 # read-only


def test_embed_set_paths_relative_to_the_current_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    p = load_profile("centos65-docker", ["media.embed={updates: [rpms/u, /abs/x.rpm]}"])
    assert dict(p.media.embed) == {"updates": (tmp_path / "rpms" / "u", Path("/abs/x.rpm"))}


def test_shipped_offline_profile(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    p = load_profile("centos65-docker-offline")
    rpms = tmp_path / "rpms"
    assert p.media.offline is True and p.network.activate is False
    assert dict(p.media.embed) == {"aufs-kernel": (rpms / "hop5",), "epel": (rpms / "epel6",),
                                   "updates": (rpms / "updates",)}
    assert p.aufs_kernel.enabled and p.docker.enabled and p.expect.storage_driver == "aufs"
    data = profile_to_data(p)
    assert data["media"]["embed"]["epel"] == [str(rpms / "epel6")]


# --- relative paths in a shipped profile: the current folder, never the installed package ------

def embed_paths(profile: Profile) -> set[Path]:
    return {path for paths in profile.media.embed.values() for path in paths}


def test_shipped_profile_paths_resolve_against_the_current_folder(tmp_path, monkeypatch):
    for folder in (tmp_path / "one", tmp_path / "two"):
        folder.mkdir()
        monkeypatch.chdir(folder)
        by_name = load_profile("centos65-docker-offline")
        assert embed_paths(by_name) == {folder / "rpms" / r for r in ("hop5", "epel6", "updates")}
        # given by path it is the same shipped file, with the same rule
        assert load_profile(PROFILES_DIR / "centos65-docker-offline.yaml") == by_name
        # negative: nothing resolves inside the package, where no user file can be
        assert not any(PROFILES_DIR.resolve() in path.parents for path in embed_paths(by_name))


def test_copied_profile_paths_resolve_beside_the_copy(tmp_path, monkeypatch):
    (tmp_path / "site").mkdir()
    copy = tmp_path / "site" / "offline.yaml"
    copy.write_text((PROFILES_DIR / "centos65-docker-offline.yaml").read_text())
    monkeypatch.chdir(tmp_path)
    assert embed_paths(load_profile(copy)) == {tmp_path / "site" / "rpms" / r
                                               for r in ("hop5", "epel6", "updates")}


def test_extending_a_shipped_profile_mixes_the_two_rules(tmp_path, monkeypatch):
    """The child's own paths resolve beside the child; those it inherits from the shipped
    profile resolve against the current folder (as the shipped profile's comment says)."""
    (tmp_path / "site").mkdir()
    child = write(tmp_path / "site", "mine.yaml", "extends: centos65-docker-offline\n"
                  "media:\n  embed:\n    extra: local-rpms\n")
    monkeypatch.chdir(tmp_path)
    embed = dict(load_profile(child).media.embed)
    assert embed["extra"] == (tmp_path / "site" / "local-rpms",)
    assert embed["epel"] == (tmp_path / "rpms" / "epel6",)


def test_the_shipped_profile_says_where_its_paths_resolve():
    text = (PROFILES_DIR / "centos65-docker-offline.yaml").read_text()
    assert "taken from the CURRENT folder" in text


# --- the search path: current folder, $KICKGEN_PROFILE_PATH, shipped; extends beside first -----

@pytest.fixture
def search_dirs(tmp_path, monkeypatch):
    """cwd, two $KICKGEN_PROFILE_PATH folders, all empty; the shipped profiles stay last."""
    cwd, env1, env2 = (tmp_path / "cwd", tmp_path / "env1", tmp_path / "env2")
    for folder in (cwd, env1, env2):
        folder.mkdir()
    monkeypatch.chdir(cwd)
    monkeypatch.setenv("KICKGEN_PROFILE_PATH", os.pathsep.join([str(env1), str(env2)]))
    return cwd, env1, env2


def described(folder: Path, text: str, name: str = "el6-base") -> Path:
    return write(folder, f"{name}.yaml", base().replace("description: test", f"description: {text}"))


def origin_of(name: str) -> tuple[str, Path]:
    found = {f.name: f for f in list_profiles()}[name]
    return found.origin, found.path


def test_search_order_cwd_then_env_then_shipped(search_dirs):
    cwd, env1, env2 = search_dirs
    assert origin_of("el6-base") == ("shipped", (PROFILES_DIR / "el6-base.yaml").resolve())
    described(env2, "from env2")
    assert load_profile("el6-base").description == "from env2"
    assert origin_of("el6-base") == ("$KICKGEN_PROFILE_PATH", env2 / "el6-base.yaml")
    described(env1, "from env1")                       # the path's folders in order
    assert load_profile("el6-base").description == "from env1"
    described(cwd, "from cwd")
    assert load_profile("el6-base").description == "from cwd"
    assert origin_of("el6-base") == ("current folder", cwd / "el6-base.yaml")
    # every name once, each with the origin its name resolves to
    described(env2, "only here", name="site")
    assert [(f.name, f.origin) for f in list_profiles()] == [
        ("centos65-docker", "shipped"), ("centos65-docker-offline", "shipped"),
        ("el6-base", "current folder"), ("site", "$KICKGEN_PROFILE_PATH"), ("standin-docker", "shipped")]


def test_extends_looks_beside_the_file_first(search_dirs, tmp_path):
    cwd, env1, _ = search_dirs
    described(cwd, "from cwd")
    described(env1, "from env1")
    (tmp_path / "site").mkdir()
    child = write(tmp_path / "site", "child.yaml", "extends: el6-base\nvm: {vcpus: 2}\n")
    assert load_profile(child).description == "from cwd"       # not beside: the search path
    described(tmp_path / "site", "beside the child")
    assert load_profile(child).description == "beside the child"
    # a shipped profile's own `extends: el6-base` looks beside it (in the package) first
    shipped_hash = load_profile(PROFILES_DIR / "el6-base.yaml").system.rootpw.hash
    assert load_profile("el6-base").system.rootpw.hash == HASH != shipped_hash
    assert load_profile("centos65-docker").system.rootpw.hash == shipped_hash


def test_unknown_profile_names_the_search_path_on_one_line(search_dirs):
    cwd, env1, env2 = search_dirs
    with pytest.raises(UsageError) as info:
        load_profile("nope")
    assert info.value.message == (
        f"no profile 'nope' (looked in {cwd} (current folder), {env1} ($KICKGEN_PROFILE_PATH), "
        f"{env2} ($KICKGEN_PROFILE_PATH), {PROFILES_DIR} (shipped))")
    assert "el6-base" in info.value.hint
    with pytest.raises(UsageError) as info:
        load_profile("x/nope.yaml")
    assert info.value.message == "no profile 'x/nope.yaml' (no such file)"


@pytest.mark.parametrize("embed,where,message", [
    ("    base: rpms/base\n", "7:5", "media.embed.base: 'base' is reserved (the install media's "
     "own repository); choose another repo name"),
    ("    media: rpms/m\n", "7:5", "media.embed.media: 'media' is reserved (used by kickgen); "
     "choose another repo name"),
    ("    'my repo': rpms/x\n", "7:5", "media.embed.my repo: a repo name is letters, digits and "
     "_ . - (it becomes a folder on the ISO and a yum repo id)"),
    ("    -x: rpms/x\n", "7:5", "media.embed.-x: a repo name is letters"),
    ("    epel: []\n", "7:11", "media.embed.epel: list at least one folder or .rpm file"),
    ("    epel: 3\n", "7:11", "media.embed.epel: expected a folder or .rpm file (or a list of "
     "them), got an integer"),
    ("    epel: [rpms/a, {x: 1}]\n", "7:20", "media.embed.epel[1]: expected a string, got a mapping"),
    ("    epel: 'a;b'\n", "7:11", "media.embed.epel[0]: expected a file path, got 'a;b'"),
])
def test_bad_embed_entries_name_file_line_and_key(tmp_path, embed, where, message):
    path = write(tmp_path, "x.yaml", base("media:\n  offline: false\n  embed:\n" + embed))
    msg = error_of(path)
    assert msg.startswith(f"{path}:{where}: {message}"), msg


def test_embed_must_be_a_mapping(tmp_path):
    path = write(tmp_path, "x.yaml", base("media:\n  embed: [rpms/x]\n"))
    assert error_of(path) == f"{path}:5:10: media.embed: expected a mapping of repo names, got a list"
    assert error_of("el6-base", ["media.embed={base: x, ok: y}"]) == (
        "--set media.embed: media.embed.base: 'base' is reserved (the install media's own "
        "repository); choose another repo name")


def test_offline_rules(tmp_path):
    path = write(tmp_path, "x.yaml", "extends: centos65-docker\nmedia:\n  offline: true\n")
    assert error_of(path) == (f"{path}:3:12: media.offline: aufs_kernel.enabled, epel.enabled, "
                              "docker.enabled need packages that are not on the CentOS media: "
                              "list them in media.embed")
    lines = error_of("centos65-docker-offline", ["install.source=url", "install.updates_repo=true"])
    assert lines.splitlines() == [
        "--set install.source: media.offline is true: the install source must be cdrom",
        "--set install.updates_repo: media.offline is true: a network updates repo cannot be used "
        "(embed the updates instead)",
    ]
    # the base install needs nothing beyond the media: offline without embed is fine there
    assert load_profile("el6-base", ["media.offline=true"]).media.embed == {}


def test_volume_id_with_space_refused(tmp_path):
    path = write(tmp_path, "x.yaml", base("media:\n  volume_id: CentOS 6.5\n"))
    assert error_of(path).startswith(f"{path}:5:14: media.volume_id: expected a volume ID")


# --- docs/profile.md documents every key -------------------------------------------------------

def test_docs_key_reference_matches_the_schema():
    page = (PROJECT_ROOT / "docs" / "profile.md").read_text()
    assert reference_markdown() in page, (
        "docs/profile.md's key table is out of date: run .venv/bin/python docs/update.py")


def test_reference_covers_every_contract_key():
    keys = {row[0] for row in profile_reference()}
    for k in ("boot.args", "boot.timeout", "boot.label", "boot.default", "media.volume_id",
              "media.add[].src", "media.add[].dest", "vm.disk_gb", "vm.memory_mb", "vm.vcpus",
              "vm.timeout_install", "vm.timeout_boot", "vm.stall_seconds", "expect.kernel_release",
              "expect.aufs", "expect.docker_running", "expect.storage_driver",
              "expect.default_entry", "report.enabled", "report.poweroff", "docker.enable_service",
              "scripts.post[].erroronfail", "scripts.post[].nochroot"):
        assert k in keys
    assert isinstance(Profile.__dataclass_fields__["boot"].default.args, tuple)
    assert PROFILES_DIR.parts[-2:] == ("profile", "shipped")
