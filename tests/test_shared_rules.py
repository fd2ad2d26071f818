"""One rule, one place: the rules several stages share live in kickgen.core (el6, reproducible,
hostkernel, atomic) and in kickgen.media (hybrid's partition parser, layout), and nowhere else.

Each rule has a test that it holds and a test that breaking it is noticed.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import subprocess
import typing
from pathlib import Path

import pytest

from kickgen.core import el6
from kickgen.core.atomic import output_fd
from kickgen.core.errors import EnvironmentProblem, ProfileError, TemplateError, UsageError
from kickgen.core.hostkernel import newest_kernel, newest_release, version_key
from kickgen.core.reproducible import source_date_epoch
from kickgen.kickstart.render import TEMPLATES_DIR, render_kickstart
from kickgen.media.remaster import RemasterRequest, remaster
from kickgen.profile import Profile, load_profile

PACKAGE = Path(el6.__file__).resolve().parents[1]
TEMPLATES = TEMPLATES_DIR / "el6"


def _sources() -> dict[Path, str]:
    return {p: p.read_text() for p in sorted(PACKAGE.rglob("*.py")) if "__pycache__" not in p.parts}


# --- the newest kernel ------------------------------------------------------------------------

def test_newest_kernel_sorts_versions_not_strings() -> None:
    assert sorted(["6.1.0-9-amd64", "6.1.0-10-amd64"])[-1] == "6.1.0-9-amd64"   # the old mistake
    assert newest_release(["6.1.0-9-amd64", "6.1.0-10-amd64"]) == "6.1.0-10-amd64"
    assert newest_release(["6.1.0-10-amd64", "6.1.0-9-amd64"]) == "6.1.0-10-amd64"
    assert version_key("6.1.0-10-amd64") > version_key("6.1.0-9-amd64")
    assert version_key("6.10.0-1-amd64") > version_key("6.9.0-30-amd64")
    assert version_key("6.1.0-10-amd64") > version_key("6.1.0-rc1-amd64")   # a number beats letters


def _kernel(boot: Path, modules: Path, release: str, with_modules: bool = True) -> None:
    (boot / f"vmlinuz-{release}").write_bytes(b"kernel")
    if with_modules:
        (modules / release).mkdir(parents=True)
        (modules / release / "modules.dep").write_text("")


def test_newest_kernel_with_modules_is_chosen(tmp_path) -> None:
    boot, modules = tmp_path / "boot", tmp_path / "modules"
    boot.mkdir()
    modules.mkdir()
    _kernel(boot, modules, "6.1.0-9-amd64")
    _kernel(boot, modules, "6.1.0-10-amd64")
    _kernel(boot, modules, "6.1.0-11-amd64", with_modules=False)   # not bootable into our initrd
    kernel = newest_kernel(boot, modules)
    assert (kernel.release, kernel.path) == ("6.1.0-10-amd64", boot / "vmlinuz-6.1.0-10-amd64")


def test_no_kernel_is_one_clear_error(tmp_path) -> None:
    (tmp_path / "boot").mkdir()
    with pytest.raises(EnvironmentProblem, match=r"no kernel with modules found"):
        newest_kernel(tmp_path / "boot", tmp_path / "modules")


def test_kernel_choice_lives_in_one_place() -> None:
    """No other module globs /boot/vmlinuz-* itself."""
    owners = [p.relative_to(PACKAGE).as_posix() for p, text in _sources().items() if "vmlinuz-*" in text]
    assert owners == ["core/hostkernel.py"]


# --- SOURCE_DATE_EPOCH --------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["yesterday", "-1", "+5", " 12", "12 ", "1.5", "1e9", "0x10",
                                   "\u0661\u0662", "\u00b2"])
def test_bad_source_date_epoch_is_refused(value) -> None:
    with pytest.raises(UsageError, match=r"SOURCE_DATE_EPOCH=.* is not a number of seconds"):
        source_date_epoch(7, {"SOURCE_DATE_EPOCH": value})


@pytest.mark.parametrize("env, expected", [({}, 7), ({"SOURCE_DATE_EPOCH": ""}, 7),
                                           ({"SOURCE_DATE_EPOCH": "0"}, 0),
                                           ({"SOURCE_DATE_EPOCH": "1385726532"}, 1385726532)])
def test_source_date_epoch_values(env, expected) -> None:
    assert source_date_epoch(7, env) == expected


def test_source_date_epoch_is_read_in_one_place() -> None:
    reads = re.compile(r"environ(\.get\(|\[)\s*[\"']SOURCE_DATE_EPOCH|getenv\(\s*[\"']SOURCE_DATE_EPOCH")
    readers = [p.relative_to(PACKAGE).as_posix() for p, text in _sources().items() if reads.search(text)]
    assert readers == []      # core/reproducible.py reads it through a VARIABLE constant
    assert "VARIABLE = \"SOURCE_DATE_EPOCH\"" in (PACKAGE / "core" / "reproducible.py").read_text()


def test_remaster_refuses_a_bad_source_date_epoch(tiny_plain, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "yesterday")
    base = tiny_plain
    with pytest.raises(UsageError, match=r"SOURCE_DATE_EPOCH='yesterday' is not a number"):
        remaster(RemasterRequest(base=base, output=tmp_path / "out.iso", kickstart=b"x", profile_name="t"))
    assert not (tmp_path / "out.iso").exists()


# --- boot defaults ------------------------------------------------------------------------------

def test_boot_defaults_are_the_same_everywhere() -> None:
    boot = Profile.__dataclass_fields__["boot"].default
    request = {f.name: f.default for f in dataclasses.fields(RemasterRequest)}
    expected = (el6.BOOT_LABEL, el6.BOOT_ARGS, el6.BOOT_TIMEOUT, el6.BOOT_DEFAULT)
    assert (boot.label, boot.args, boot.timeout, boot.default) == expected
    assert (request["boot_label"], request["boot_args"], request["boot_timeout"],
            request["boot_default"]) == expected
    choices = typing.get_args(typing.get_type_hints(type(boot))["default"])
    assert choices == el6.BOOT_ENTRIES and el6.BOOT_DEFAULT in choices


def test_remaster_refuses_an_unknown_boot_default(tiny_plain, tmp_path) -> None:
    base = tiny_plain
    with pytest.raises(UsageError, match=r"boot default must be one of 'cd', 'usb', not 'floppy'"):
        remaster(RemasterRequest(base=base, output=tmp_path / "out.iso", kickstart=b"x", profile_name="t",
                                 boot_default="floppy"))


# --- volume ID ----------------------------------------------------------------------------------

@pytest.mark.parametrize("volume_id, problem", [
    ("", "is empty"), ("A" * 33, "is longer than 32 characters"), ("MY DISC", "contains a space"),
    ("A:B", "contains a colon"), ("A/B", "has characters other than")])
def test_volume_id_problems(volume_id, problem) -> None:
    assert (el6.volume_id_problem(volume_id) or "").startswith(problem)


def test_volume_id_rule_is_the_same_for_profile_and_media() -> None:
    """'+' is allowed by the one rule: the profile takes it, the remaster and the docs too."""
    assert el6.volume_id_problem("KS+MEDIA_6.5-1") is None
    assert load_profile("el6-base", ["media.volume_id=KS+MEDIA_6.5-1"]).media.volume_id == "KS+MEDIA_6.5-1"
    with pytest.raises(ProfileError, match=r"media\.volume_id"):
        load_profile("el6-base", ["media.volume_id=A:B"])
    copies = [p.relative_to(PACKAGE).as_posix() for p, text in _sources().items()
              if "{1,32}" in text or "{86}" in text]
    assert copies == ["core/el6.py"]


# --- kickgen's own script names -----------------------------------------------------------------

def _template_script_names(kind: str) -> set[str]:
    """The names templates open their scripts under: `post_script("x")` or `kickgen_script(kind, "x")`."""
    found: set[str] = set()
    for path in TEMPLATES.glob("*.j2"):
        text = re.sub(r"\{#.*?#\}", "", path.read_text(), flags=re.S)
        if kind == "post":
            found |= set(re.findall(r'post_script\("([^"]+)"', text))
        found |= set(re.findall(rf'kickgen_script\("{kind}", "([^"]+)"\)', text))
    return found


def test_reserved_script_names_are_the_ones_the_templates_use() -> None:
    assert _template_script_names("post") == set(el6.KICKGEN_POST_SCRIPTS)
    assert _template_script_names("pre") == set(el6.KICKGEN_PRE_SCRIPTS)


@pytest.mark.parametrize("name", el6.KICKGEN_POST_SCRIPTS)
def test_profile_may_not_take_a_kickgen_post_name(name) -> None:
    with pytest.raises(ProfileError, match=rf"script name '{name}' is used by kickgen itself"):
        load_profile("el6-base", [f"scripts.post=[{{name: {name}, body: 'true'}}]"])


def test_profile_may_not_take_a_kickgen_pre_name() -> None:
    name = el6.KICKGEN_PRE_SCRIPTS[0]
    with pytest.raises(ProfileError, match=rf"script name '{name}' is used by kickgen itself"):
        load_profile("el6-base", [f"scripts.pre=[{{name: {name}, body: 'true'}}]"])
    assert load_profile("el6-base", ["scripts.post=[{name: site, body: 'true'}]"]).scripts.post


def test_template_cannot_open_an_unlisted_script(tmp_path) -> None:
    templates = tmp_path / "templates"
    shutil.copytree(TEMPLATES_DIR, templates)
    report = templates / "el6" / "report.j2"
    report.write_text(report.read_text().replace('post_script("report")', 'post_script("sneaky")'))
    with pytest.raises(TemplateError, match=r"'sneaky' is not in kickgen\.core\.el6\.KICKGEN_POST_SCRIPTS"):
        render_kickstart(load_profile("el6-base"), salt="abcdefgh", templates_dir=templates)


# --- on-media and installer paths ---------------------------------------------------------------

PATH_RULES = [el6.MEDIA_MOUNT, el6.SYSIMAGE, el6.INSTALLER_KS, el6.KEPT_KS, el6.INSTALLED_ROOT,
              el6.STORAGE_INCLUDE, el6.YUM_REPOS_DIR]


@pytest.mark.parametrize("template", sorted(p.name for p in TEMPLATES.glob("*.j2")))
def test_templates_take_paths_from_el6(template) -> None:
    """Outside comments (Jinja's and the shell's), no template spells an el6 path itself."""
    text = re.sub(r"\{#.*?#\}", "", (TEMPLATES / template).read_text(), flags=re.S)
    code = [ln for ln in text.splitlines() if not ln.lstrip().startswith("#")]
    spelled = [(value, ln.strip()) for ln in code for value in PATH_RULES if value in ln]
    assert spelled == []


def test_the_paths_reach_the_kickstart() -> None:
    text = render_kickstart(load_profile("centos65-docker-offline"), salt="abcdefgh").text
    assert f"kg_media={el6.MEDIA_MOUNT}\n" in text
    assert f"kg_need={el6.ISO_ROOT.lstrip('/')}\n" in text
    assert f"cp {el6.INSTALLER_KS} {el6.SYSIMAGE}{el6.KEPT_KS}\n" in text
    assert f"KG_KS={el6.KEPT_KS}\n" in text
    assert f"--log={el6.SYSIMAGE}/root/ks-post-media.log" in text


# --- the yum repo file macro ----------------------------------------------------------------------

def _repo_files(text: str, folder: Path) -> dict[str, str]:
    """Run every repo-file printf of a kickstart in sh, with the repo folder moved to `folder`."""
    lines, blocks, i = text.splitlines(), [], 0
    while i < len(lines):
        if lines[i].lstrip().startswith("printf '%s\\n' \\"):
            j = next(k for k in range(i, len(lines)) if "|| kg_fail" in lines[k])
            if el6.YUM_REPOS_DIR in lines[j]:
                blocks.append("\n".join(lines[i:j + 1]))
            i = j + 1
        else:
            i += 1
    script = "kg_fail() { echo \"FAIL $*\"; exit 1; }\n" + "\n".join(
        b.replace(el6.YUM_REPOS_DIR + "/", f"{folder}/") for b in blocks)
    subprocess.run(["sh", "-e", "-c", script], check=True)
    return {p.name: p.read_text() for p in sorted(folder.iterdir())}


def test_repo_files_come_out_as_yum_reads_them(tmp_path) -> None:
    (tmp_path / "on").mkdir()
    online = _repo_files(render_kickstart(load_profile("centos65-docker"), salt="abcdefgh").text,
                         tmp_path / "on")
    # no hop5 repo: its unsigned kernel RPMs are fetched by name and checked against their pins
    assert sorted(online) == ["kickgen-epel.repo", "kickgen.repo", "kickgen.step.devmapper.repo"]
    assert online["kickgen.step.devmapper.repo"] == (
        "[kickgen.step.devmapper]\nname=device-mapper >= 1.02.90 (kickgen: the docker step only)\n"
        "baseurl=http://vault.centos.org/6.6/os/x86_64/\ngpgcheck=1\n"
        "gpgkey=file:///etc/pki/rpm-gpg/RPM-GPG-KEY-CentOS-6\nenabled=0\n")
    assert online["kickgen.repo"].count("\n\n[kickgen-updates]\n") == 1
    assert online["kickgen.repo"].count("gpgcheck=1\n") == 2 and "gpgcheck=0" not in "".join(online.values())
    assert "gpgkey=file:///etc/pki/rpm-gpg/RPM-GPG-KEY-EPEL-6\n" in online["kickgen-epel.repo"]
    (tmp_path / "off").mkdir()
    offline = _repo_files(render_kickstart(load_profile("centos65-docker-offline"), salt="abcdefgh").text,
                          tmp_path / "off")
    assert offline["kickgen-media.repo"] == (
        "[kickgen-media]\nname=CentOS 6.5 install media (kickgen, during the install only)\n"
        f"baseurl=file://{el6.MEDIA_BIND}\ngpgcheck=1\ngpgkey=file:///etc/pki/rpm-gpg/RPM-GPG-KEY-CentOS-6\n"
        "enabled=0\n")
    assert f"baseurl=file://{el6.INSTALLED_ROOT}/epel\n" in offline["kickgen-epel.repo"]


def test_repo_file_refuses_a_name_that_needs_quoting(tmp_path) -> None:
    templates = tmp_path / "templates"
    shutil.copytree(TEMPLATES_DIR, templates)
    epel = templates / "el6" / "epel.j2"
    epel.write_text(epel.read_text().replace('repo_file("kickgen-epel.repo"', 'repo_file("kickgen epel.repo"'))
    with pytest.raises(TemplateError, match=r"refusing '/etc/yum.repos.d/kickgen epel.repo' as a path"):
        render_kickstart(load_profile("centos65-docker"), salt="abcdefgh", templates_dir=templates)


# --- atomic output ------------------------------------------------------------------------------

def test_output_fd_publishes_whole_or_not_at_all(tmp_path) -> None:
    out = tmp_path / "out.bin"
    with output_fd(out) as fd:
        os.write(fd, b"whole")
        assert not out.exists()
    assert out.read_bytes() == b"whole" and (out.stat().st_mode & 0o777) == 0o644
    with pytest.raises(KeyboardInterrupt):
        with output_fd(tmp_path / "cut.bin") as fd:
            os.write(fd, b"half")
            raise KeyboardInterrupt
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.bin"]


def test_media_and_standin_write_through_core_atomic() -> None:
    """In kickgen/media, kickgen/kickstart and kickgen/vm/probeiso.py no file is written or
    renamed into place except through kickgen.core.atomic (scratch files in temp folders aside)."""
    writes = re.compile(r"\.write_(bytes|text)\(|os\.replace\(|open\([^)]*[\"'][wa]b?[\"']|mkstemp\(")
    offenders = []
    for path, text in _sources().items():
        rel = path.relative_to(PACKAGE).as_posix()
        if rel.startswith(("media/", "kickstart/", "core/el6")) or rel == "vm/probeiso.py":
            offenders += [f"{rel}:{n}" for n, ln in enumerate(text.splitlines(), 1)
                          if writes.search(ln) and "tree /" not in ln and "root /" not in ln]
    assert offenders == []


# --- pycdlib: the pinned range and the internals iso.py uses --------------------------------------

def test_pyproject_pins_the_pycdlib_range_iso_uses() -> None:
    from kickgen.media.iso import PYCDLIB_RANGE
    pyproject = (PACKAGE.parent / "pyproject.toml").read_text()
    assert re.search(rf'^\s*"pycdlib{re.escape(PYCDLIB_RANGE)}",', pyproject, re.M)
    from importlib.metadata import version

    from packaging.specifiers import SpecifierSet
    assert version("pycdlib") in SpecifierSet(PYCDLIB_RANGE)


def test_pycdlib_without_the_internals_is_one_clear_error(tiny_plain) -> None:
    from kickgen.media.iso import IsoImage, check_pycdlib
    with IsoImage(tiny_plain) as image:
        check_pycdlib(image._iso)                        # the installed pycdlib has them all
        del image._iso.inodes                            # as a pycdlib that renamed it would be
        with pytest.raises(EnvironmentProblem, match=r"pycdlib \S+ lacks PyCdlib\.inodes, which "
                                                     r"kickgen's ISO writer uses") as caught:
            check_pycdlib(image._iso)
        image._iso.inodes = []
    assert "pycdlib>=" in (caught.value.hint or "")


# --- MBR/GPT: one parser ------------------------------------------------------------------------

def test_partition_parser_reads_what_it_is_given() -> None:
    from kickgen.media import hybrid
    area = bytearray(hybrid.SYSTEM_AREA)
    assert hybrid.partitions(bytes(area)) == []                       # no 0x55AA: not hybrid
    area[510:512] = b"\x55\xaa"
    assert hybrid.partitions(bytes(area)) == []                       # an MBR without partitions
    import struct
    struct.pack_into("<4xB3xII", area, 446 + 16, 0xEF, 176, 4096)     # entry 2: EFI system
    assert hybrid.partitions(bytes(area)) == [hybrid.Partition("MBR", 2, "0xef", 176, 4096)]
    # a GPT whose entries claim less than 128 bytes each is not read (and the remaster refuses it)
    header = struct.pack("<8sIIIIQQQQ16sQIII", b"EFI PART", 0x10000, 92, 0, 0, 1, 100, 34, 90,
                         bytes(16), 2, 4, 64, 0)
    area[512:512 + len(header)] = header
    area[1024:1024 + 16] = b"\x01" * 16
    assert [p.table for p in hybrid.partitions(bytes(area))] == ["MBR"]


def test_partition_parsing_lives_in_hybrid() -> None:
    """Only media/hybrid.py unpacks partition entries (inspect reports hybrid.partitions)."""
    unpackers = [p.relative_to(PACKAGE).as_posix() for p, text in _sources().items()
                 if re.search(r"446\s*\+\s*16|\"<QQ\"|EFI PART", text)]
    assert unpackers == ["media/hybrid.py"]


# --- boot-layout discovery: one function ------------------------------------------------------------

def test_inspect_and_remaster_see_the_same_boot_layout(standin_dvd, tmp_path) -> None:
    from kickgen.media import inspect_image
    result = remaster(RemasterRequest(base=standin_dvd, output=tmp_path / "o.iso", kickstart=b"#",
                                      profile_name="t"))
    before = {m.config for m in inspect_image(standin_dvd).entries}
    after = {m.config for m in inspect_image(result.output).entries}
    assert before == after == set(result.configs)
    assert after == {"isolinux/isolinux.cfg", "EFI/BOOT/BOOTX64.conf",
                     "images/efiboot.img:EFI/BOOT/BOOTX64.conf"}


def test_layout_discovery_lives_in_layout() -> None:
    """No module looks for the menus itself (the old copies: `parent / "isolinux.cfg"`,
    `image.exists("/EFI/BOOT/BOOTX64.conf")`); media/layout.py names them once, as constants."""
    finders = [p.relative_to(PACKAGE).as_posix() for p, text in _sources().items()
               if not p.is_relative_to(PACKAGE / "standin")     # builds the layout, finds nothing
               and re.search(r"/\s*[\"']isolinux\.cfg[\"']|exists\(\s*f?[\"']/?EFI/BOOT|"
                            r"endswith\([\"']isolinux\.cfg", text)]
    assert finders == []
    from kickgen.media import layout
    assert (layout.ISOLINUX_CFG, layout.EFI_CONF) == ("isolinux.cfg", "EFI/BOOT/BOOTX64.conf")


def test_atomic_write_bytes_replaces_whole(tmp_path) -> None:
    from kickgen.core.atomic import write_bytes
    out = write_bytes(tmp_path / "a" / "x.bin", b"one")
    write_bytes(out, b"two")
    assert out.read_bytes() == b"two" and sorted(p.name for p in out.parent.iterdir()) == ["x.bin"]
    with pytest.raises(UsageError, match=r"cannot write .*x\.bin/y: "):
        write_bytes(out / "y", b"under a file")
