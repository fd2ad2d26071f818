"""Hostile and careless inputs get one clear line and exit 1 or 2, within seconds and bounded memory.

The cases of issue 13 ("Tracebacks and unbounded work") for profiles (YAML alias bombs, empty
sections, null list items, line and control characters, host names), for the validator (huge
and pathological kickstarts) and for the boot-menu editor. Cases that used to run away are run
as `kickgen` in a child process with a memory limit and a timeout, so a regression fails the
test instead of exhausting the machine.
"""

from __future__ import annotations

import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kickgen.core.errors import KickgenError, ProfileError
from kickgen.kickstart.validate import Options, check_kickstart
from kickgen.kickstart.validate.source import MAX_KICKSTART_CHARS, MAX_KICKSTART_LINES, MAX_SCRIPT_LINES
from kickgen.media import bootcfg
from kickgen.profile import load_profile
from kickgen.profile.yamlsource import (
    MAX_DEPTH,
    MAX_LIST_ITEMS,
    MAX_NODES,
    MAX_PROFILE_BYTES,
    MAX_STRING_CHARS,
    MAX_TEXT_CHARS,
)
from paths import PROJECT_ROOT

KICKGEN = Path(sys.executable).parent / "kickgen"
HASH = "$6$abcdefgh$" + "A" * 86
BASE = f'description: test\nsystem:\n  rootpw: {{hash: "{HASH}"}}\n'
MEMORY_LIMIT = 1 << 30          # address space of the child kickgen: 1 GiB


def run(*args: str | Path, timeout: float = 30) -> subprocess.CompletedProcess:
    """kickgen ARGS with at most MEMORY_LIMIT of memory, failing the test after TIMEOUT seconds.
    Run from the checkout, so that files under the test's tmp_path are named by absolute paths."""
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))

    try:
        return subprocess.run([str(KICKGEN), *map(str, args)], cwd=PROJECT_ROOT, capture_output=True, text=True,
                              timeout=timeout, preexec_fn=limit, check=False)
    except subprocess.TimeoutExpired:
        pytest.fail(f"kickgen {' '.join(map(str, args))} ran for more than {timeout} s")


def one_error_line(result: subprocess.CompletedProcess, exit_code: int = 1) -> str:
    """The single `kickgen: error: ...` line of RESULT (no traceback, nothing else)."""
    assert result.returncode == exit_code, result.stderr[-2000:]
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("kickgen: error: "), result.stderr[-2000:]
    return lines[0].removeprefix("kickgen: error: ")


def profile(folder: Path, extra: str, name: str = "p.yaml") -> Path:
    path = folder / name
    path.write_text(BASE + extra, encoding="utf-8")
    return path


def place(path: Path, marker: str) -> str:
    """`FILE:LINE:COL` of the first MARKER in PATH (1-based, as kickgen reports it)."""
    text = path.read_text(encoding="utf-8")
    index = text.index(marker)
    line = text.count("\n", 0, index) + 1
    return f"{path}:{line}:{index - (text.rfind(chr(10), 0, index) + 1) + 1}"


def error_of(ref, overrides=()) -> str:
    with pytest.raises(ProfileError) as info:
        load_profile(ref, overrides)
    return info.value.message


# --- YAML aliases, nesting and sizes -------------------------------------------------------------

BILLION_LAUGHS = """\
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""


def test_alias_bomb_is_refused_quickly(tmp_path):
    path = profile(tmp_path, BILLION_LAUGHS)
    start = time.monotonic()
    line = one_error_line(run("render", path, "-o", tmp_path / "ks.cfg"))
    assert time.monotonic() - start < 15
    assert line.startswith(f"{path}:") and f"more than {MAX_NODES} values" in line and "alias" in line
    assert not (tmp_path / "ks.cfg").exists()


def test_alias_bomb_of_long_strings_is_refused(tmp_path):
    # few values, but each alias repeats a long string: the text, expanded, is bounded too
    long = "x" * 60000
    path = profile(tmp_path, f"a: &a '{long}'\nb: [{', '.join(['*a'] * 200)}]\n")
    msg = error_of(path)
    assert f"more than {MAX_TEXT_CHARS} characters of text" in msg and "alias" in msg


@pytest.mark.parametrize("text", ["x: &x [*x]\n", "x: &x\n  - *x\n", "x: &x {y: *x}\n", "x: &x [[[*x]]]\n"])
def test_recursive_alias_is_one_line(tmp_path, text):
    path = profile(tmp_path, text)
    result = run("render", path, "-o", tmp_path / "ks.cfg")
    line = one_error_line(result)
    assert len(result.stderr) < 500
    assert line.startswith(f"{path}:") and "recursive alias" in line


def test_deep_nesting_is_one_line(tmp_path):
    path = profile(tmp_path, "x: " + "[" * 5000 + "]" * 5000 + "\n")
    line = one_error_line(run("render", path, "-o", tmp_path / "ks.cfg"))
    assert line.startswith(f"{path}:4:") and f"more than {MAX_DEPTH} levels" in line


def test_deep_nesting_in_a_set_value_is_one_line(tmp_path):
    msg = error_of("el6-base", ["description=" + "[" * 5000 + "]" * 5000])
    assert msg.startswith("--set description:") and f"more than {MAX_DEPTH} levels" in msg


def test_alias_bomb_in_a_set_value_is_refused():
    bomb = "[" + ",".join(["&a [1,1,1,1,1,1,1,1,1,1]"] + ["*a"] * 3000) + "]"
    assert f"more than {MAX_NODES} values" in error_of("el6-base", [f"packages.names={bomb}"])


def test_profile_file_size_is_bounded(tmp_path):
    path = tmp_path / "big.yaml"
    with path.open("w") as f:
        f.write(BASE + "packages:\n  names:\n")
        for i in range(1_700_000):              # the 1.7 million names
            f.write(f"  - pkg{i}\n")
    start = time.monotonic()
    line = one_error_line(run("render", path, "-o", tmp_path / "ks.cfg"))
    assert time.monotonic() - start < 10
    assert line == f"{path}:1:1: the file is larger than {MAX_PROFILE_BYTES} bytes (1 MiB), the limit for a profile"


def test_33k_package_names_are_refused_quickly(tmp_path):
    names = "".join(f"  - pkg{i}\n" for i in range(33_000))
    path = profile(tmp_path, "packages:\n  names:\n" + names)
    start = time.monotonic()
    msg = error_of(path)
    assert time.monotonic() - start < 10
    assert f"more than {MAX_NODES} values" in msg


def test_long_list_is_refused_naming_the_key(tmp_path):
    names = "".join(f"  - pkg{i}\n" for i in range(MAX_LIST_ITEMS + 1))
    path = profile(tmp_path, "packages:\n  names:\n" + names)
    assert error_of(path) == (f"{place(path, '- pkg0')}: packages.names: a list of {MAX_LIST_ITEMS + 1} items; "
                              f"at most {MAX_LIST_ITEMS}")


def test_lists_joined_by_extends_are_bounded_too(tmp_path):
    half = MAX_LIST_ITEMS // 2 + 1
    parent = profile(tmp_path, "packages:\n  names:\n" + "".join(f"  - a{i}\n" for i in range(half)),
                     name="parent.yaml")
    child = tmp_path / "child.yaml"
    child.write_text("extends: parent\npackages:\n  names+:\n" + "".join(f"  - b{i}\n" for i in range(half)))
    assert f"packages.names: a list of {2 * half} items; at most {MAX_LIST_ITEMS}" in error_of(child)
    assert parent.exists()


def test_long_string_is_refused_naming_the_key(tmp_path):
    path = profile(tmp_path, f"scripts:\n  post:\n    - {{name: x, body: '{'y' * (MAX_STRING_CHARS + 1)}'}}\n")
    where = place(path, "'yyy")
    assert error_of(path) == (f"{where}: scripts.post[0].body: a string of {MAX_STRING_CHARS + 1} "
                              f"characters; at most {MAX_STRING_CHARS}")


def test_yaml_reader_error_is_one_line_with_its_place(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text(BASE + 'description: "a\x9bb"\n', encoding="utf-8")
    assert error_of(path) == (f"{place(path, chr(0x9b))}: YAML syntax error: special characters are not "
                              "allowed: '\\x9b'")


# --- empty sections and null values --------------------------------------------------------------

def test_empty_section_means_its_defaults(tmp_path):
    path = profile(tmp_path, "network:\n#  bootproto: static\n#  ip: 192.0.2.1\nvm:\n")
    p = load_profile(path)
    assert p.network.bootproto == "dhcp" and p.vm.disk_gb == 8


def test_empty_section_in_a_child_keeps_the_parents(tmp_path):
    profile(tmp_path, "network:\n  hostname: box1\n", name="parent.yaml")
    child = tmp_path / "child.yaml"
    child.write_text("extends: parent\nnetwork:\n#  hostname: box2\n")
    assert load_profile(child).network.hostname == "box1"


def test_empty_section_cli(tmp_path):
    path = profile(tmp_path, "network:\n")
    result = run("render", path, "-o", tmp_path / "ks.cfg")
    assert result.returncode == 0, result.stderr


def test_set_section_to_nothing_is_one_error():
    assert error_of("el6-base", ["system="]) == "--set system: system.rootpw: required key is missing"


def test_set_section_to_nothing_cli(tmp_path):
    line = one_error_line(run("render", "el6-base", "--set", "system=", "-o", tmp_path / "ks.cfg"))
    assert line == "--set system: system.rootpw: required key is missing"


@pytest.mark.parametrize("extra,marker,key", [
    ("scripts: {post: [~]}\n", "~", "scripts.post[0]"),
    ("scripts: {pre: [null, {name: a, body: b}]}\n", "null", "scripts.pre[0]"),
    ("media: {add: [~]}\n", "~", "media.add[0]"),
    ("packages: {names: [~]}\n", "~", "packages.names[0]"),
    ("vm: {vcpus: ~}\n", "~", "vm.vcpus"),
    ("boot: {default: ~}\n", "~", "boot.default"),
])
def test_null_where_a_value_is_needed_is_one_error(tmp_path, extra, marker, key):
    path = profile(tmp_path, extra)
    assert error_of(path) == f"{place(path, marker)}: {key}: a value is required, got null" + {
        "scripts.post[0]": " (expected a mapping)", "scripts.pre[0]": " (expected a mapping)",
        "media.add[0]": " (expected a mapping)", "packages.names[0]": " (expected a string)",
        "vm.vcpus": " (expected an integer)", "boot.default": " (expected one of cd, usb)"}[key]


def test_null_script_cli(tmp_path):
    path = profile(tmp_path, "scripts: {post: [~]}\n")
    line = one_error_line(run("render", path, "-o", tmp_path / "ks.cfg"))
    assert line.startswith(f"{place(path, '~')}: scripts.post[0]: a value is required, got null")


# --- line and control characters in text fields ------------------------------------------------------

@pytest.mark.parametrize("char", ["\u2028", "\u2029", "\x85", "\x1b", "\x7f", "\x9b", "\u202e", "\u2066",
                                  "\ud800", "\x0b", "\x0c", "\r"])
@pytest.mark.parametrize("key,yaml_key", [
    ("description", "description"),
    ("expect.kernel_release", "expect: {kernel_release"),
    ("scripts.post[0].body", "scripts: {post: [{name: x, body"),
])
def test_line_and_control_characters_are_refused(tmp_path, char, key, yaml_key):
    escaped = char.encode("unicode_escape", "backslashreplace").decode("ascii")
    closing = {"description": "", "expect.kernel_release": "}", "scripts.post[0].body": "}]}"}[key]
    path = tmp_path / "p.yaml"
    text = BASE.replace("description: test\n", "") + f'{yaml_key}: "a{escaped}b"{closing}\n'
    path.write_text(text)
    msg = error_of(path)
    assert f": {key}: " in msg and "\n" not in msg, msg
    assert char not in msg


def test_control_characters_in_keys_are_not_echoed(tmp_path):
    path = profile(tmp_path, '"\\e]0;pwned\\a\\u2028x": 1\n')
    msg = error_of(path)
    assert "unknown key" in msg
    assert msg.isprintable(), repr(msg)


def test_tab_and_newline_stay_allowed_in_scripts(tmp_path):
    path = profile(tmp_path, 'scripts: {post: [{name: x, body: "a\\tb\\nc"}]}\n')
    assert load_profile(path).scripts.post[0].body == "a\tb\nc"


# --- host names: RFC 1123 as EL6 applies it ------------------------------------------------------------

@pytest.mark.parametrize("name", ["docker1", "a", "host.example.com", "1.2.3.4", "3com", "x-1.y-2",
                                  "a" * 63, "a" * 62 + ".b", ".".join(["a" * 31, "b" * 32])])
def test_hostname_accepted(tmp_path, name):
    path = profile(tmp_path, f"network: {{hostname: '{name}'}}\n")
    assert load_profile(path).network.hostname == name


@pytest.mark.parametrize("name", ["-bad", "bad-", "a_b", "a..b", "a.b.", ".a", "x:y", "a/b", "a b",
                                  "a" * 64, "b." + "a" * 64, "a" * 63 + ".bc",   # 66: over EL6's 64
                                  ".".join(["a" * 63] * 4 + ["b"]), "caf\u00e9", "a-.b"])
def test_hostname_refused(tmp_path, name):
    path = profile(tmp_path, f"network: {{hostname: '{name}'}}\n")
    msg = error_of(path)
    assert msg.startswith(f"{place(path, chr(39) + name)}: network.hostname: expected a host name"), msg


# --- the validator: bounded work --------------------------------------------------------------------------

HEAD = ("lang en_US.UTF-8\nkeyboard us\ntimezone UTC\nrootpw --iscrypted " + HASH +
        "\nbootloader --location=mbr\nzerombr\nautopart\ncdrom\nreboot\nnetwork --activate\n")


def test_huge_packages_list_is_refused_quickly(tmp_path):
    path = tmp_path / "ks.cfg"
    with path.open("w") as f:
        f.write(HEAD + "%packages\n")
        for i in range(1_700_000):
            f.write(f"pkg{i}\n")
        f.write("%end\n")
    start = time.monotonic()
    line = one_error_line(run("validate", "--ks", path))
    assert time.monotonic() - start < 10
    assert line.startswith(f"{path}: ") and f"at most {MAX_KICKSTART_CHARS}" in line


def test_too_many_lines_are_refused():
    text = HEAD + "%packages\n" + "a\n" * MAX_KICKSTART_LINES + "%end\n"
    with pytest.raises(KickgenError, match=f"at most {MAX_KICKSTART_LINES} lines"):
        check_kickstart(text, "ks.cfg")


def test_included_files_count_towards_the_limit(tmp_path):
    (tmp_path / "part.ks").write_text("%packages\n" + "a\n" * (MAX_KICKSTART_LINES // 2 + 10) + "%end\n")
    text = HEAD + "%include part.ks\n%include part.ks\n"
    (tmp_path / "ks.cfg").write_text(text)
    with pytest.raises(KickgenError, match=f"at most {MAX_KICKSTART_LINES} lines"):
        check_kickstart(text, "ks.cfg", path=tmp_path / "ks.cfg")


@pytest.mark.parametrize("body", [
    "curl " * 20000,                       # one download word after another, no URL
    "wget " * 20000,
    "echo " * 20000,                       # passwd --stdin / chpasswd patterns
    "sed -i" + " x" * 20000,               # a --nochroot write pattern
    "service " * 20000,
    "a" * 500000,
])
def test_long_script_lines_take_linear_time(body):
    text = HEAD + "%post --nochroot\n" + body + "\n%end\n%post\n" + body + "\n%end\n"
    start = time.monotonic()
    check_kickstart(text, "ks.cfg", Options(disabled=frozenset({"shellcheck"})))
    assert time.monotonic() - start < 5


def test_long_scripts_are_not_given_to_shellcheck():
    body = "x=1; echo $x; y=$(cat $x)\n" * (MAX_SCRIPT_LINES + 1)
    start = time.monotonic()
    report = check_kickstart(HEAD + "%post\n" + body + "%end\n", "ks.cfg")
    assert time.monotonic() - start < 10
    notes = [f for f in report.findings if f.rule == "script-too-long"]
    assert len(notes) == 1 and notes[0].line == 11
    assert not any(f.rule.startswith("SC") for f in report.findings)


# --- boot menus: only \n (and \r) end a line, as for the boot loaders --------------------------------------

ISOLINUX = """\
default vesamenu.c32
timeout 600
label linux
  menu label ^Install
  menu default
  kernel vmlinuz
  append initrd=initrd.img
# note\u2028label evil\x85  kernel /evil
"""


def test_isolinux_line_separators_do_not_start_entries():
    assert [e.name for e in bootcfg.isolinux_entries(ISOLINUX)] == ["linux"]
    edit = bootcfg.BootEdit(label="ks", args=("text",), volume_id="V", timeout_s=5)
    out = bootcfg.edit_isolinux(ISOLINUX, edit)
    assert out.endswith("# note\u2028label evil\x85  kernel /evil\n")
    assert [e.name for e in bootcfg.isolinux_entries(out)] == ["ks", "ks-usb", "linux"]


def test_grub_line_separators_do_not_start_entries():
    text = "default=0\ntimeout 5\ntitle CentOS\n\tkernel /vmlinuz a\n\tinitrd /i.img\n#x\u2028title evil\n"
    assert [e.name for e in bootcfg.grub_legacy_entries(text)] == ["CentOS"]


# --- values PyYAML or pathlib raise on (found by the fuzz tests and by hand) ------------------------------

@pytest.mark.parametrize("value,message", [
    ("2001-13-45", "month must be in 1..12"),                 # a YAML date that is no date
    ("1" * 5000, "Exceeds the limit (4300 digits) for integer string conversion"),
    ("!!bool maybe", ""),
    ("!!int 0x", "invalid literal"),
    ("!!binary A", "failed to decode base64 data"),
])
def test_bad_yaml_scalar_is_one_error(tmp_path, value, message):
    path = profile(tmp_path, f"vm: {{vcpus: {value}}}\n")
    msg = error_of(path)
    assert msg.startswith(f"{place(path, value)}: vm.vcpus: bad YAML value") and message in msg, msg
    assert "\n" not in msg


def test_nul_in_a_path_is_one_error(tmp_path):
    path = profile(tmp_path, 'media: {add: [{src: "a\\0b", dest: /x}]}\n')
    where = place(path, '"a')
    assert error_of(path).startswith(f"{where}: media.add[0].src: expected a file path")


def test_symbolic_link_loop_is_one_error(tmp_path):
    (tmp_path / "loop").symlink_to("loop")
    path = tmp_path / "p.yaml"
    path.write_text("description: test\nsystem:\n  rootpw: {file: loop/pw}\n")
    assert error_of(path).startswith(f"{place(path, 'loop/pw')}: system.rootpw.file: cannot resolve the path: ")


@pytest.mark.parametrize("field,value", [("label", "ks\n  kernel /evil"), ("label", ""), ("args", ("a\nb",)),
                                         ("args", ("a b",)), ("volume_id", "CentOS 6.5"), ("volume_id", "x\ny")])
def test_boot_edit_refuses_what_would_break_a_menu_line(field, value):
    # A word with a blank or a line break would add menu directives of its own (found by the fuzz test).
    fields = {"label": "ks", "args": ("text",), "volume_id": "V", "timeout_s": 5, field: value}
    with pytest.raises(KickgenError, match="one word|volume ID"):
        bootcfg.BootEdit(**fields)


@pytest.mark.parametrize("value", ["!!timestamp x", '!!float ""', "!!bool maybe", "2001-13-45"])
def test_bad_yaml_scalar_in_a_set_value_is_one_error(value):
    assert error_of("el6-base", [f"vm.vcpus={value}"]).startswith("--set vm.vcpus: bad YAML value ")
    assert "\n" not in error_of("el6-base", [f"vm.vcpus={value}"])


def test_long_string_of_any_kind_is_one_error(tmp_path):
    path = profile(tmp_path, f"network: {{hostname: {'a' * (MAX_STRING_CHARS + 1)}}}\n")
    assert error_of(path) == (f"{place(path, 'aaa')}: network.hostname: a string of {MAX_STRING_CHARS + 1} "
                              f"characters; at most {MAX_STRING_CHARS}")
