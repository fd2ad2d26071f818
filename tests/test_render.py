"""Rendering: golden kickstarts, pykickstart/ksvalidator acceptance, template errors, injection."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import subprocess
import sys
import typing
from pathlib import Path

import pytest

from kickgen.core.errors import ProfileError, TemplateError
from kickgen.kickstart.render import TEMPLATES_DIR, Kickstart, render_kickstart
from kickgen.profile import Profile, load_profile
from ks_helpers import problems as check_kickstart
from ks_helpers import split_kickstart as _split
from paths import PROJECT_ROOT

GOLDEN = Path(__file__).parent / "golden" / "kickstart"
SALT = "kickgenGolden"
SHIPPED = ["el6-base", "centos65-docker", "standin-docker", "centos65-docker-offline"]
KSVALIDATOR = Path(sys.executable).parent / "ksvalidator"


def render(name: str, overrides=(), **kw) -> Kickstart:
    return render_kickstart(load_profile(name, overrides), salt=SALT, **kw)


# --- golden files -------------------------------------------------------------------------------

@pytest.mark.parametrize("name", SHIPPED)
def test_golden_kickstart(name):
    """Regenerate with KICKGEN_REGEN_GOLDEN=1 after an intended change, then review the diff."""
    text = render(name).text
    golden = GOLDEN / f"{name}.ks"
    if os.environ.get("KICKGEN_REGEN_GOLDEN") == "1":
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(text)
    assert golden.is_file(), f"no golden file {golden}: run with KICKGEN_REGEN_GOLDEN=1"
    assert text == golden.read_text(), f"{name}: rendered kickstart differs from {golden}"


def test_render_is_reproducible_with_a_fixed_salt(monkeypatch, tmp_path):
    path = tmp_path / "pw.yaml"
    path.write_text("extends: el6-base\nsystem:\n  rootpw: {env: KICKGEN_TEST_PW}\n")
    monkeypatch.setenv("KICKGEN_TEST_PW", "plain-Secret-42")
    one, two = render(path), render(path)
    assert one == two
    assert "plain-Secret-42" not in one.text
    assert "rootpw --iscrypted $6$kickgenGolden$" in one.text
    # without a salt every render gets a fresh one
    a = render_kickstart(load_profile(path))
    b = render_kickstart(load_profile(path))
    assert a.text != b.text and "plain-Secret-42" not in a.text


@pytest.mark.parametrize("name", SHIPPED)
def test_sha256_and_name(name):
    ks = render(name)
    assert ks.profile_name == name
    assert ks.sha256 == hashlib.sha256(ks.text.encode()).hexdigest()


# --- every rendered kickstart passes pykickstart RHEL6 and ksvalidator ------------------------

@pytest.mark.parametrize("name", SHIPPED)
def test_rendered_kickstart_is_valid(name, tmp_path):
    text = render(name).text
    assert check_kickstart(text) == []
    path = tmp_path / f"{name}.ks"
    path.write_text(text)
    result = subprocess.run([str(KSVALIDATOR), "-v", "RHEL6", str(path)],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_cli_render_output_passes_ksvalidator(tmp_path):
    out = tmp_path / "ks.cfg"
    kickgen = Path(sys.executable).parent / "kickgen"
    subprocess.run([str(kickgen), "render", "profiles/centos65-docker.yaml", "-o", str(out)],
                   cwd=PROJECT_ROOT, check=True, capture_output=True)
    result = subprocess.run([str(KSVALIDATOR), "-v", "RHEL6", str(out)], capture_output=True,
                            text=True, check=False)
    assert result.returncode == 0, result.stdout


# --- the kickstart says what the mission needs ------------------------------------------------

def test_base_kickstart_is_unattended():
    text = render("el6-base").text
    for line in ("install", "cdrom", "lang en_US.UTF-8", "keyboard us", "timezone --utc UTC",
                 "zerombr", "clearpart --all --initlabel --drives=$kg_disk", "autopart",
                 "firstboot --disable", "selinux --enforcing", "firewall --enabled --service=ssh",
                 "reboot --eject", "%include /tmp/kickgen-storage.ks",
                 'bootloader --location=mbr --append="console=tty0 console=ttyS0,115200n8" '
                 "--driveorder=$kg_disk",
                 "network --bootproto=dhcp --onboot=yes --activate"):
        assert line in text.splitlines(), line
    assert "rootpw --iscrypted $6$" in text
    # no mission parts in the base
    assert not any(part in text for part in ("kernel-ml-aufs", "epel-release", "docker-io", "hop5"))


def test_mission_post_scripts():
    text = render("centos65-docker").text
    _, sections, _ = _split(text)
    headers = [(s.name, s.args) for s in sections]
    assert headers[:8] == [
        ("%packages", ()),
        ("%pre", ("--log=/tmp/ks-pre-kickgen-disks.log", "--erroronfail")),
        ("%post", ("--nochroot", "--log=/mnt/sysimage/root/ks-post-copy-ks.log", "--erroronfail")),
        ("%post", ("--log=/root/ks-post-repos.log", "--erroronfail")),
        ("%post", ("--log=/root/ks-post-aufs-kernel.log", "--erroronfail")),
        ("%post", ("--log=/root/ks-post-epel.log", "--erroronfail")),
        ("%post", ("--log=/root/ks-post-docker.log", "--erroronfail")),
        ("%post", ("--log=/root/ks-post-report.log", "--erroronfail")),
    ]
    body = {s.args[-2].split("ks-post-")[1].removesuffix(".log"): s.body for s in sections[2:]}
    assert "cp /tmp/ks.cfg /mnt/sysimage/root/kickgen-ks.cfg" in body["copy-ks"]
    kernel = body["aufs-kernel"]
    # hop5 is no yum repo any more: each unsigned RPM is fetched by name and checked against its pin
    assert "kg_fetch http://www.hop5.in/yum/el6/kernel-ml-aufs-3.10.5-3.el6.x86_64.rpm " in kernel
    assert "hop5.repo" not in text and "kickgen-hop5" not in text
    assert "localinstall" in kernel and "kg_spec=kernel-ml-aufs-3.10.5-3.el6" in kernel
    assert 'grubby --set-default="$kg_kernel"' in kernel
    assert "s/^default=.*/default=$kg_index/" in kernel
    assert "DEFAULTKERNEL=$kg_pkg" in kernel
    assert "kg_fetch http://archives.fedoraproject.org/pub/archive/epel/6/x86_64/" \
           "epel-release-6-8.noarch.rpm " in body["epel"]
    assert 'rpm -Uvh "$kg_dir"/epel-release-6-8.noarch.rpm' in body["epel"]
    docker = body["docker"]
    assert "update device-mapper-libs device-mapper-event-libs" in docker
    assert 'install "$kg_pkg"' in docker and "kg_pkg=docker-io" in docker
    assert "chkconfig docker on" in docker
    assert "# chkconfig: 345 99 01" in body["report"]
    # a failing step goes to the serial console
    assert "kg_console=/dev/ttyS0" in kernel and "FAILED: $*" in kernel


def test_docker_service_switch_and_erroronfail_switch():
    text = render("centos65-docker", ["docker.enable_service=false", "post.erroronfail=false"]).text
    assert "chkconfig docker on" not in text
    assert "docker is NOT enabled at boot" in text
    _, sections, _ = _split(text)
    # the %pre that picks the target disk always stops the install: without it there is none
    assert [s.args for s in sections if "--erroronfail" in s.args] == [
        ("--log=/tmp/ks-pre-kickgen-disks.log", "--erroronfail")]
    assert check_kickstart(text) == []


def test_every_url_comes_from_the_profile():
    text = render("centos65-docker", [
        "mirrors.centos_os=http://m.local/os/", "mirrors.centos_updates=http://m.local/up/",
        "aufs_kernel.repo_url=http://m.local/hop5/", "epel.release_rpm_url=http://m.local/e.rpm",
        "epel.baseurl=http://m.local/epel/", "docker.update_repo_url=http://m.local/66/",
        "install.source=url", "install.updates_repo=true"]).text
    for url in ("http://m.local/os/", "http://m.local/up/", "http://m.local/hop5/",
                "http://m.local/e.rpm", "http://m.local/epel/", "http://m.local/66/"):
        assert url in text
    assert "url --url=http://m.local/os/" in text.splitlines()
    assert "repo --name=updates --baseurl=http://m.local/up/" in text.splitlines()
    for host in ("vault.centos.org", "www.hop5.in", "fedoraproject.org"):
        assert host not in text
    assert check_kickstart(text) == []


def test_user_scripts(tmp_path):
    path = tmp_path / "fail.yaml"
    path.write_text(
        "extends: standin-docker\n"
        "scripts:\n"
        "  pre:\n"
        "    - {name: probe, body: 'echo probing'}\n"
        "  post:\n"
        "    - name: must-fail\n"
        "      erroronfail: true\n"
        "      body: |\n"
        "        echo failing on purpose\n"
        "        exit 3\n"
        "    - {name: outside, nochroot: true, body: 'ls /mnt/sysimage', interpreter: /bin/bash}\n")
    text = render(path).text
    lines = text.splitlines()
    assert "%pre --log=/tmp/ks-pre-probe.log" in lines
    at = lines.index("%post --log=/root/ks-post-must-fail.log --erroronfail")
    assert lines[at + 1:at + 4] == ["echo failing on purpose", "exit 3", "%end"]
    assert "%post --nochroot --log=/mnt/sysimage/root/ks-post-outside.log --interpreter=/bin/bash" in lines
    assert check_kickstart(text) == []


# --- template errors name template and line ---------------------------------------------------

def _copy_templates(tmp_path: Path) -> Path:
    dest = tmp_path / "templates"
    shutil.copytree(TEMPLATES_DIR, dest)
    return dest


def test_undefined_template_variable_names_template_and_line(tmp_path):
    templates = _copy_templates(tmp_path)
    snippet = templates / "el6" / "network.j2"
    lines = snippet.read_text().splitlines(keepends=True)
    after = next(i for i, line in enumerate(lines) if line.startswith("{% set n = p.network %}"))
    lines.insert(after + 1, "# {{ p.network.no_such_key }}\n")
    snippet.write_text("".join(lines))
    with pytest.raises(TemplateError) as info:
        render("el6-base", templates_dir=templates)
    assert info.value.message.startswith(f"el6/network.j2:{after + 2}: undefined template variable: ")
    assert "no_such_key" in info.value.message


def test_undefined_top_level_variable(tmp_path):
    templates = _copy_templates(tmp_path)
    main = templates / "el6" / "ks.cfg.j2"
    main.write_text(main.read_text().replace("skipx\n", "skipx\n{{ nonexistent }}\n"))
    with pytest.raises(TemplateError, match=r"^el6/ks\.cfg\.j2:\d+: undefined template variable: "
                                            r"'nonexistent' is undefined"):
        render("el6-base", templates_dir=templates)


def test_template_syntax_error(tmp_path):
    templates = _copy_templates(tmp_path)
    (templates / "el6" / "storage.j2").write_text("zerombr\n{% if %}\n")
    with pytest.raises(TemplateError, match=r"^el6/storage\.j2:2: template syntax error"):
        render("el6-base", templates_dir=templates)


# --- injection: bad apples through every field that reaches a template --------------------------

APPLES = ["a\nb", "%end", "a\n%post", 'a"b', "a'b", "$(reboot)", "`reboot`", "a;reboot", "a b",
          "a#b", "a\\b", "a&&b", "a|b", "x\r"]


def _string_fields(cls=Profile, prefix=""):
    """(key path, how to set it) for every string field, lists and script lists included."""
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        if f.name in ("name", "source") and cls is Profile or f.metadata.get("internal"):
            continue
        tp = hints[f.name]
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        inner = args[0] if typing.get_origin(tp) in (typing.Union, type(int | None)) else tp
        path = f"{prefix}{f.name}"
        if dataclasses.is_dataclass(inner):
            yield from _string_fields(inner, f"{path}.")
        elif typing.get_origin(inner) is tuple:
            item = typing.get_args(inner)[0]
            if dataclasses.is_dataclass(item):
                for sub in dataclasses.fields(item):
                    if typing.get_type_hints(item)[sub.name] in (str, Path, str | None):
                        yield f"{path}[].{sub.name}", (path, item, sub.name)
            elif item is str:
                yield path, "list"
        elif inner in (str, Path):
            yield path, "scalar"


STRING_FIELDS = dict(_string_fields())
# Fields that never reach a template (read by other stages or at render time only).
NOT_TEMPLATED = {"system.rootpw.hash", "system.rootpw.env", "system.rootpw.file", "boot.args",
                 "boot.label", "media.volume_id", "media.add[].src", "media.add[].dest",
                 "expect.kernel_release", "expect.storage_driver", "expect.default_entry"}


# Free text: only newlines, control characters and (in scripts) a leading % are refused.
FREE_TEXT = {"description", "scripts.post[].body", "scripts.pre[].body", "expect.kernel_release",
             "expect.default_entry"}


def _override(key: str, how, apple: str) -> tuple[str, str]:
    """The --set text putting `apple` into `key`, and the key path the error must name."""
    if how == "scalar":
        return f"{key}={json.dumps(apple)}", key
    if how == "list":
        return f"{key}=[{json.dumps(apple)}]", f"{key}[0]"
    path, item, name = how
    if item.__name__ == "Script":
        value = {"name": "s1", "body": "true", name: apple}
    else:
        value = {"src": "a", "dest": "/a", name: apple}
    return f"{path}={json.dumps([value])}", f"{path}[0].{name}"


def _structure(text: str):
    commands, sections, problems = _split(text)
    return [c.words[0] for c in commands], [s.name for s in sections], problems


def test_every_string_field_is_covered():
    assert len(STRING_FIELDS) >= 40
    assert {"network.device", "system.timezone", "aufs_kernel.repo_url", "scripts.post[].body",
            "scripts.pre[].interpreter", "packages.names", "description"} <= set(STRING_FIELDS)


@pytest.mark.parametrize("key", sorted(STRING_FIELDS))
def test_bad_apples_are_refused_or_quoted(key, monkeypatch):
    monkeypatch.setenv("KICKGEN_TEST_PW", "pw")
    base = ["scripts.pre=[]", "scripts.post=[]"]
    baseline = _structure(render("centos65-docker").text)
    refused = 0
    for apple in APPLES:
        setting, path = _override(key, STRING_FIELDS[key], apple)
        try:
            profile = load_profile("centos65-docker", base + [setting])
        except ProfileError as exc:
            refused += 1
            first = exc.message.splitlines()[0]
            assert first.startswith(f"--set {setting.split('=')[0]}"), first
            assert path in exc.message or first.startswith(f"--set {path}:"), exc.message
            continue
        if key in NOT_TEMPLATED:
            continue
        try:
            text = render_kickstart(profile, salt=SALT).text
        except TemplateError as exc:  # the filters' second line of defence
            refused += 1
            assert exc.message.startswith("el6/")
            continue
        problems_found = check_kickstart(text)
        if key.endswith("].body") and problems_found:
            # a script body is shell by design: broken shell is caught by shellcheck
            assert all(" [SC" in line for line in problems_found), problems_found
            refused += 1
        else:
            assert problems_found == [], (key, apple)
        commands, sections, problems = _structure(text)
        expected = baseline[1]
        if key.startswith("scripts."):   # a profile %pre/%post adds sections of its own
            expected = [s for s in expected if s != "%pre"]
            sections = [s for s in sections if s != "%pre"][:len(expected)]
        assert (commands, problems) == (baseline[0], baseline[2]), (key, apple)
        assert sections[:len(expected)] == expected, (key, apple)
    if key not in FREE_TEXT:
        assert refused >= len(APPLES) - 2, key
    else:
        assert refused >= 3, key  # newline / % at line start / CR


def test_shell_values_are_quoted():
    url = "http://m.local/a;b&c(d)*"
    text = render("centos65-docker", [f"aufs_kernel.repo_url={url}", f"epel.baseurl={url}",
                                      f"epel.release_rpm_url={url}/e.rpm"]).text
    assert f"'baseurl={url}'" in text
    assert f"kg_fetch '{url}/kernel-ml-aufs-3.10.5-3.el6.x86_64.rpm' " in text
    assert f"kg_fetch '{url}/e.rpm' " in text
    assert check_kickstart(text) == []


def test_filters_refuse_values_that_bypass_the_loader():
    """A Profile built in code skips the loader's checks: the templates still refuse."""
    p = load_profile("centos65-docker")
    cases = [
        (dataclasses.replace(p, network=dataclasses.replace(p.network, device="eth0\n%post")),
         "el6/network.j2:"),
        (dataclasses.replace(p, system=dataclasses.replace(p.system, timezone="UTC #x")),
         "el6/ks.cfg.j2:"),
        (dataclasses.replace(p, aufs_kernel=dataclasses.replace(p.aufs_kernel, repo_url="http://x\nreboot")),
         "el6/aufs-kernel.j2:"),
        (dataclasses.replace(p, description="two\nlines"), "el6/ks.cfg.j2:"),
        (dataclasses.replace(p, packages=dataclasses.replace(p.packages, names=("%end",))),
         "el6/ks.cfg.j2:"),
        (dataclasses.replace(p, system=dataclasses.replace(
            p.system, rootpw=dataclasses.replace(p.system.rootpw, hash="plaintext"))),
         "el6/ks.cfg.j2:"),
    ]
    for profile, where in cases:
        with pytest.raises(TemplateError) as info:
            render_kickstart(profile, salt=SALT)
        assert info.value.message.startswith(where), info.value.message
    with pytest.raises(TemplateError) as info:
        render_kickstart(cases[-1][0], salt=SALT)
    assert "plaintext" not in info.value.message


def test_every_option_renders_a_valid_kickstart():
    text = render("centos65-docker", [
        "network.bootproto=static", "network.ip=192.0.2.10", "network.netmask=255.255.255.0",
        "network.gateway=192.0.2.1", "network.nameservers=[192.0.2.53, 192.0.2.54]",
        "network.hostname=docker1", "network.ipv6=false", "storage.drives=[sda]",
        "storage.bootloader.timeout=3", "system.firewall.enabled=false", "system.selinux=permissive",
        "system.finish=poweroff", "system.eject=true", "packages.nobase=true", "aufs_kernel.devel=true",
        "system.text=false", "system.firstboot=true", "storage.clearpart=linux",
        "storage.initlabel=false", "report.enabled=false"]).text
    lines = text.splitlines()
    for line in ("network --bootproto=static --onboot=yes --ip=192.0.2.10 "
                 "--netmask=255.255.255.0 --gateway=192.0.2.1 --nameserver=192.0.2.53,192.0.2.54 "
                 "--hostname=docker1 --noipv6 --activate",
                 "firewall --disabled", "selinux --permissive", "firstboot --enable",
                 'bootloader --location=mbr --append="console=tty0 console=ttyS0,115200n8" --timeout=3 '
                 "--driveorder=sda",
                 "ignoredisk --only-use=sda", "clearpart --linux --drives=sda", "poweroff --eject",
                 "%packages --nobase", "kg_spec=kernel-ml-aufs-3.10.5-3.el6"):
        assert line in lines, line
    assert "text" not in lines and "kickgen-report" not in text
    assert "kernel-ml-aufs-devel" in text
    assert check_kickstart(text) == []


# --- issue 10: NIC naming, target drives, no reinstall loop ------------------------------------

def _command_lines(text: str) -> list[str]:
    """The lines the installer reads as commands (outside %pre/%post/%packages sections)."""
    commands, _, _ = _split(text)
    return [c.text for c in commands]


@pytest.mark.parametrize("name", SHIPPED)
def test_network_line_names_no_nic(name):
    """--device=eth0 aborts where biosdevname names the NIC em1: no --device at all, so 13.21
    uses the ksdevice=link NIC (the shipped boot args carry it)."""
    network = [line for line in _command_lines(render(name).text) if line.startswith("network")]
    assert len(network) == 1 and "--device" not in network[0], network
    assert "ksdevice=link" in load_profile(name).boot.args


@pytest.mark.parametrize("device", ["em1", "52:54:00:12:34:56"])
def test_network_device_pinned(device):
    text = render("el6-base", [f"network.device='{device}'"]).text
    assert f"network --device={device} --bootproto=dhcp --onboot=yes --activate" in text.splitlines()
    assert check_kickstart(text) == []


@pytest.mark.parametrize("name", SHIPPED)
def test_reboot_ejects_the_cd(name):
    """`reboot` alone leaves the DVD in a CD-first machine, whose default entry installs again."""
    def finishing(text: str) -> list[str]:
        return [line for line in _command_lines(text) if line.split()[0] in ("reboot", "poweroff", "halt")]

    assert finishing(render(name).text) == [f"{load_profile(name).system.finish} --eject"]
    assert finishing(render(name, ["system.eject=false"]).text) == [load_profile(name).system.finish]


@pytest.mark.parametrize("name", SHIPPED)
def test_no_static_clearpart_without_drives(name):
    """clearpart --all + autopart with nothing limiting them clears every disk (a stick's free
    space too): the storage lines come from the %pre that picks one disk."""
    text = render(name).text
    commands = _command_lines(text)
    assert not [c for c in commands if c.split()[0] in ("clearpart", "ignoredisk", "bootloader")], commands
    lines = text.splitlines()
    assert lines.count("%include /tmp/kickgen-storage.ks") == 1
    assert lines.index("%include /tmp/kickgen-storage.ks") < lines.index("autopart")
    _, sections, _ = _split(text)
    pre = [s for s in sections if s.name == "%pre"]
    assert pre[0].args == ("--log=/tmp/ks-pre-kickgen-disks.log", "--erroronfail")
    assert "kg_out=/tmp/kickgen-storage.ks" in pre[0].body
    assert "ignoredisk --only-use=$kg_disk\n" in pre[0].body


def test_storage_options_reach_the_include():
    text = render("el6-base", ["storage.clearpart=linux", "storage.initlabel=false",
                               "storage.bootloader.timeout=3", "storage.bootloader.location=partition"]).text
    lines = text.splitlines()
    assert "clearpart --linux --drives=$kg_disk" in lines
    assert ('bootloader --location=partition --append="console=tty0 console=ttyS0,115200n8" '
            "--timeout=3 --driveorder=$kg_disk") in lines
    none = render("el6-base", ["storage.clearpart=none"]).text
    assert "clearpart" not in none and "ignoredisk --only-use=$kg_disk" in none.splitlines()
    assert "zerombr" not in _command_lines(render("el6-base", ["storage.zerombr=false"]).text)


def test_pinned_drives_give_static_lines_and_no_pre():
    text = render("el6-base", ["storage.drives=[sda, sdb]"]).text
    commands = _command_lines(text)
    for line in ("ignoredisk --only-use=sda,sdb", "clearpart --all --initlabel --drives=sda,sdb",
                 'bootloader --location=mbr --append="console=tty0 console=ttyS0,115200n8" '
                 "--driveorder=sda"):
        assert line in commands, line
    assert "%include" not in text and "%pre" not in text and "kickgen-disks" not in text
    assert check_kickstart(text) == []


def test_media_label_reaches_the_pre_script():
    assert "kg_label=$(kg_boot_label CentOS_6.5_Final)" in render("el6-base").text.splitlines()
    assert "kg_label=$(kg_boot_label KG_MEDIA)" in render("el6-base", ["media.volume_id=KG_MEDIA"]).text.splitlines()
    given = render("el6-base", ["media.volume_id=KG_MEDIA"], media_label="BASE_ISO-1").text
    assert "kg_label=$(kg_boot_label BASE_ISO-1)" in given.splitlines()
    with pytest.raises(TemplateError, match=r"^media label 'a b': expected a volume ID"):
        render("el6-base", media_label="a b")


def test_static_network_needs_an_address():
    with pytest.raises(ProfileError, match=r"^--set network.bootproto: static "
                                           r"needs network.ip and network.netmask"):
        load_profile("el6-base", ["network.bootproto=static"])
