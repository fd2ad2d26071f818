"""Boot menu edits (kickgen.media.bootcfg): golden files plus the rules one by one.

Regenerate the golden outputs with KICKGEN_REGEN_GOLDEN=1 (then review the diff).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kickgen.core.errors import MediaError, UsageError
from kickgen.media import bootcfg
from kickgen.media.bootcfg import BootEdit

GOLDEN = Path(__file__).parent / "golden" / "bootcfg"
INPUTS = GOLDEN / "inputs"
ARGS = ("text", "console=tty0", "console=ttyS0,115200n8")


def assert_golden(path: Path, text: str) -> None:
    if os.environ.get("KICKGEN_REGEN_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    assert path.exists(), f"no golden file {path}; run with KICKGEN_REGEN_GOLDEN=1"
    assert text == path.read_text(), f"{path.name} differs from the golden file"


def edit(default: str = "cd", **kw) -> BootEdit:
    return BootEdit(label=kw.get("label", "kickstart"), args=kw.get("args", ARGS),
                    volume_id=kw.get("volume_id", "CentOS_6.5_Final"),
                    timeout_s=kw.get("timeout_s", 5), default=default)


@pytest.mark.parametrize("name", ["centos65-isolinux.cfg", "nomenu-isolinux.cfg"])
@pytest.mark.parametrize("default", ["cd", "usb"])
def test_isolinux_golden(name: str, default: str) -> None:
    text = (INPUTS / name).read_text()
    assert_golden(GOLDEN / f"{name}.{default}", bootcfg.edit_isolinux(text, edit(default)))


@pytest.mark.parametrize("name", ["centos65-BOOTX64.conf", "spelled-BOOTX64.conf"])
@pytest.mark.parametrize("default", ["cd", "usb"])
def test_grub_golden(name: str, default: str) -> None:
    text = (INPUTS / name).read_text()
    assert_golden(GOLDEN / f"{name}.{default}", bootcfg.edit_grub_legacy(text, edit(default)))


def _label_blocks(text: str) -> dict[str, str]:
    blocks: dict[str, str] = {}
    current = None
    for line in text.splitlines(keepends=True):
        if line.startswith("label "):
            current = line.split()[1]
            blocks[current] = ""
        if current:
            blocks[current] += line
    return blocks


def test_isolinux_other_entries_unchanged_except_moved_menu_default() -> None:
    text = (INPUTS / "centos65-isolinux.cfg").read_text()
    before, after = _label_blocks(text), _label_blocks(bootcfg.edit_isolinux(text, edit()))
    assert before["linux"].replace("  menu default\n", "") == after["linux"]
    for name in ("vesa", "rescue", "local", "memtest86"):
        assert before[name] == after[name]


def test_isolinux_default_entry_and_ks_arguments() -> None:
    text = (INPUTS / "centos65-isolinux.cfg").read_text()
    entries = bootcfg.isolinux_entries(bootcfg.edit_isolinux(text, edit()))
    by_name = {e.name: e for e in entries}
    assert [e.name for e in entries if e.default] == ["kickstart"]
    assert by_name["kickstart"].args == ("initrd=initrd.img", "ks=cdrom:/ks.cfg", *ARGS)
    assert by_name["kickstart-usb"].ks == "ks=hd:LABEL=CentOS_6.5_Final:/ks.cfg"
    assert by_name["linux"].ks is None


def test_isolinux_usb_default_and_timeout_in_tenths() -> None:
    text = (INPUTS / "centos65-isolinux.cfg").read_text()
    out = bootcfg.edit_isolinux(text, edit("usb", timeout_s=7))
    assert [e.name for e in bootcfg.isolinux_entries(out) if e.default] == ["kickstart-usb"]
    assert "\ntimeout 70\n" in out and "timeout 600" not in out


def test_isolinux_without_menu_sets_default_label_and_drops_old_ks() -> None:
    text = (INPUTS / "nomenu-isolinux.cfg").read_text()
    out = bootcfg.edit_isolinux(text, edit())
    assert out.startswith("default kickstart\n")
    assert "menu default" not in out
    entry = next(e for e in bootcfg.isolinux_entries(out) if e.name == "kickstart")
    assert [a for a in entry.args if a.startswith("ks=")] == ["ks=cdrom:/ks.cfg"]
    assert "ip=dhcp" in entry.args
    # the old entry keeps its own ks= untouched
    assert "append initrd=initrd.img ks=nfs:server:/old.cfg ip=dhcp\n" in out


def test_isolinux_keeps_crlf_line_ends() -> None:
    text = (INPUTS / "centos65-isolinux.cfg").read_text().replace("\n", "\r\n")
    out = bootcfg.edit_isolinux(text, edit())
    assert "\n" not in out.replace("\r\n", "")


def test_isolinux_zero_timeout_does_not_mean_wait_for_ever() -> None:
    text = (INPUTS / "centos65-isolinux.cfg").read_text()
    assert "\ntimeout 1\n" in bootcfg.edit_isolinux(text, edit(timeout_s=0))


def test_grub_other_entries_byte_for_byte() -> None:
    text = (INPUTS / "centos65-BOOTX64.conf").read_text()
    out = bootcfg.edit_grub_legacy(text, edit())
    tail = text[text.index("title CentOS 6.5"):]
    assert out.endswith(tail)
    assert "default=0\n" in out and "timeout 5\n" in out and "hiddenmenu\n" in out


def test_grub_keeps_spelling_and_template_args() -> None:
    text = (INPUTS / "spelled-BOOTX64.conf").read_text()
    out = bootcfg.edit_grub_legacy(text, edit("usb", timeout_s=3))
    assert "default 1\n" in out and "timeout=3\n" in out
    entries = bootcfg.grub_legacy_entries(out)
    default = next(e for e in entries if e.default)
    # the template is the old default entry (default 1 = "second"): its ks= is replaced
    assert default.args == ("xdriver=vesa", "ks=hd:LABEL=CentOS_6.5_Final:/ks.cfg",
                            "repo=hd:LABEL=CentOS_6.5_Final:/", *ARGS)


def test_refuses_an_already_edited_config() -> None:
    text = bootcfg.edit_isolinux((INPUTS / "centos65-isolinux.cfg").read_text(), edit())
    with pytest.raises(MediaError, match="already has an entry labelled 'kickstart'"):
        bootcfg.edit_isolinux(text, edit())


def test_refuses_config_without_kernel_entry() -> None:
    with pytest.raises(MediaError, match=r"isolinux.cfg: no boot entry with a kernel line"):
        bootcfg.edit_isolinux("default vesamenu.c32\nlabel local\n  localboot 0xffff\n", edit())
    with pytest.raises(MediaError, match=r"BOOTX64.conf: no 'title' entry"):
        bootcfg.edit_grub_legacy("default=0\ntimeout 5\n", edit())


def test_with_source_removes_earlier_source_args_and_duplicates() -> None:
    old = ["a", "ks=old", "text", "KS", "Repo=nfs:x:/y", "method=cdrom:", "askmethod"]
    assert bootcfg.with_source(old, ("ks=new", "repo=hd:X:/"), ("text", "b")) == [
        "a", "text", "ks=new", "repo=hd:X:/", "b"]


EDITORS = {"isolinux.cfg": (bootcfg.edit_isolinux, bootcfg.isolinux_entries),
           "BOOTX64.conf": (bootcfg.edit_grub_legacy, bootcfg.grub_legacy_entries)}
INPUT_NAMES = ["centos65-isolinux.cfg", "nomenu-isolinux.cfg", "centos65-BOOTX64.conf", "spelled-BOOTX64.conf"]


def _edited_entries(name: str, text: str, default: str) -> dict[str, bootcfg.BootEntry]:
    edit_fn, entries_fn = EDITORS[name.split("-", 1)[1]]
    entries = entries_fn(edit_fn(text, edit(default)))
    # isolinux names entries by label, grub by title: key both by what they are
    return {("usb" if e.name.endswith(("-usb", "(USB stick)")) else
             "cd" if e.name == "kickstart" or e.name.endswith("(CD/DVD)") else e.name): e for e in entries}


@pytest.mark.parametrize("name", INPUT_NAMES)
@pytest.mark.parametrize("default", ["cd", "usb"])
def test_usb_entry_names_the_stick_as_install_source(name: str, default: str) -> None:
    """EL6's loader searches only optical drives for the kickstart's `cdrom`; a stick is a
    disk, so the USB entry needs repo=hd:LABEL=<volume id>:/ (exactly one) on its kernel line."""
    by_kind = _edited_entries(name, (INPUTS / name).read_text(), default)
    usb, cd = by_kind["usb"], by_kind["cd"]
    assert [a for a in usb.args if bootcfg.is_source_arg(a)] == [
        "ks=hd:LABEL=CentOS_6.5_Final:/ks.cfg", "repo=hd:LABEL=CentOS_6.5_Final:/"]
    assert usb.repo == "repo=hd:LABEL=CentOS_6.5_Final:/"
    # the CD entry installs from the kickstart's `cdrom`: no repo=/method= overrides it
    assert [a for a in cd.args if bootcfg.is_source_arg(a)] == ["ks=cdrom:/ks.cfg"] and cd.repo is None


@pytest.mark.parametrize("name", INPUT_NAMES)
def test_template_source_args_do_not_reach_the_new_entries(name: str) -> None:
    """A default entry that carried its own repo=/method=/askmethod must not leak them: a second
    repo= would win over ours (the loader keeps the last one) and askmethod drops repo=."""
    text = (INPUTS / name).read_text()
    if name.endswith("isolinux.cfg"):
        text = text.replace("append initrd=initrd.img", "append initrd=initrd.img method=nfs:old:/tree askmethod")
    else:
        text = text.replace("\tkernel /images/pxeboot/vmlinuz", "\tkernel /images/pxeboot/vmlinuz REPO=http://old/", 1)
        text = text.replace("\tkernel /images/pxeboot/vmlinuz xdriver=vesa",
                            "\tkernel /images/pxeboot/vmlinuz xdriver=vesa REPO=http://old/", 1)
    assert "method=nfs:old:/tree" in text or "REPO=http://old/" in text
    by_kind = _edited_entries(name, text, "cd")
    for kind in ("cd", "usb"):
        leaked = [a for a in by_kind[kind].args if "old" in a or a == "askmethod"]
        assert leaked == [], f"{kind} entry kept {leaked}"
    assert by_kind["usb"].repo == "repo=hd:LABEL=CentOS_6.5_Final:/"


@pytest.mark.parametrize("arg", ["repo=hd:sdb1:/", "method=cdrom:", "ks=cdrom:/x.cfg", "KS", "askmethod"])
def test_boot_args_may_not_choose_the_source(arg: str) -> None:
    with pytest.raises(UsageError, match=f"boot argument '{arg}' chooses the kickstart or install source"):
        edit(args=("text", arg))
