"""Property-based tests (hypothesis): whatever the input, kickgen gives a result or one of its own
errors (a KickgenError), never another exception, within a time and memory bound.

Fuzzed: the profile loader (whole files, and `--set` values), the boot-menu editors, and the
kickstart validator (any text, and real EL6 kickstarts from tests/data/el6-corpus/ with lines
mutated). Each example has a deadline; the address space of the test process is capped while
the examples run (a runaway allocation ends in MemoryError, which fails the test). Sized so that
the file runs in well under a minute on two cores, as part of `make test`; a failing example is
printed with the way to reproduce it. KICKGEN_FUZZ_SCALE=N runs N times as many examples (a longer
hunt, by hand).
"""

from __future__ import annotations

import copy
import dataclasses
import os
import resource
import typing
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import hypothesis.configuration
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kickgen.core.errors import KickgenError
from kickgen.kickstart import render_kickstart
from kickgen.kickstart.validate import Options, check_kickstart
from kickgen.media import bootcfg
from kickgen.profile import Profile, load_profile, profile_to_data
from paths import PROJECT_ROOT, TEST_WORK

# hypothesis keeps its own files (character tables) in the test cache, not in the checkout
hypothesis.configuration.set_hypothesis_home_dir(TEST_WORK / "hypothesis")

CORPUS = PROJECT_ROOT / "tests" / "data" / "el6-corpus"
HASH = "$6$abcdefgh$" + "A" * 86
MEMORY_HEADROOM = 1 << 30        # address space the examples may add to the test process
SCALE = int(os.environ.get("KICKGEN_FUZZ_SCALE", "1"))


def fuzz(examples: int, deadline_s: float = 5.0) -> settings:
    """The settings of one fuzz test: EXAMPLES runs, each within DEADLINE_S seconds (generous:
    the machine may be busy; what it catches is work that grows without bound)."""
    return settings(max_examples=examples * SCALE, deadline=timedelta(seconds=deadline_s), database=None,
                    print_blob=True, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                                            HealthCheck.function_scoped_fixture])


@pytest.fixture(autouse=True)
def bounded_memory() -> Iterator[None]:
    """Cap the address space while a fuzz test runs: its current size plus MEMORY_HEADROOM."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    with open("/proc/self/statm") as f:
        size = int(f.read().split()[0]) * resource.getpagesize()
    cap = size + MEMORY_HEADROOM
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


# --- strategies ------------------------------------------------------------------------------------------

# Text with what breaks parsers: YAML and shell syntax, line and control characters, non-ASCII.
SPECIAL = ["\n", "\r", "\t", "\x00", "\x1b", "\x85", "\u2028", "\u2029", "\u202e", "\ufeff", "\ud800",
           " ", "#", "%", "'", '"', "\\", "$", "&", "*", "!", "|", ">", "<", ";", "`", "(", ")", "[", "]", "{",
           "}", ":", ",", "-", "=", "+", "~", "/", ".", "@", "?", "é", "\U0001f600"]
chars = st.one_of(st.sampled_from(SPECIAL), st.characters(codec="utf-8"), st.characters(max_codepoint=127))
texts = st.text(chars, max_size=40)
short_texts = st.text(chars, max_size=12)


def schema_keys(cls: type) -> dict[str, type]:
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)
            if f.name not in ("name", "source") and not f.metadata.get("internal")}


scalars = st.one_of(st.none(), st.booleans(), st.integers(-2, 10 ** 6), st.floats(allow_nan=True), texts,
                    st.sampled_from(["dhcp", "static", "cd", "usb", "reboot", "poweroff", "enforcing", "cdrom",
                                     "url", "all", "mbr", "em1", "192.0.2.1", "@core", "/bin/bash", "a.rpm",
                                     "docker1", HASH, "../../no/such/file", "/no/such/file", "x" * 300]))
# parents: none of them a host file (an error message could quote what it read)
parents = st.one_of(texts, st.sampled_from(["el6-base", "centos65-docker", "fuzz", "fuzz.yaml", "../fuzz.yaml",
                                            "no-such-profile", "x" * 300, "~nosuchuser/x.yaml"]))
anything = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                         st.dictionaries(short_texts, inner, max_size=4)),
                        max_leaves=12)


def value_for(tp: typing.Any, depth: int) -> st.SearchStrategy:
    """Mostly values of the field's own shape (so conversion goes deep), sometimes anything."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, type(int | None)):
        inner = [a for a in typing.get_args(tp) if a is not type(None)][0]
        return st.one_of(st.none(), value_for(inner, depth))
    if dataclasses.is_dataclass(tp) and depth < 4:
        return st.one_of(section(tp, depth + 1), anything)
    if origin is tuple:
        return st.one_of(st.lists(value_for(typing.get_args(tp)[0], depth + 1), max_size=3), anything)
    return st.one_of(scalars, anything)


def section(cls: type, depth: int = 0) -> st.SearchStrategy:
    keys = schema_keys(cls)
    return st.fixed_dictionaries({}, optional={**{k: value_for(tp, depth) for k, tp in keys.items()},
                                               "extends": parents, "x_unknown": anything, "<<": anything})


def profile_dicts() -> st.SearchStrategy:
    """A profile as data: most keys of the schema, each of its kind or not, with a root password
    more often than not (so that the later checks run)."""
    rootpw = st.one_of(st.just({"hash": HASH}), st.just({"env": "KICKGEN_FUZZ_PW"}), anything)
    return st.tuples(section(Profile), rootpw, st.booleans()).map(
        lambda t: {**t[0], "system": {**(t[0].get("system") if isinstance(t[0].get("system"), dict) else {}),
                                      "rootpw": t[1]}} if t[2] else t[0])


# YAML text made of YAML's own tokens: anchors, aliases, tags, flow and block collections, keys of
# the schema, so that the composer, the alias expansion and the limits are exercised.
YAML_TOKENS = ["a", "system", "rootpw", "network", "packages", "names", "scripts", "post", "body", "media", "add",
               "description", "extends", "vm", "boot", "hash", "env", ":", ": ", "- ", "\n", "\n  ", "\n    ",
               "[", "]", "{", "}", ", ", "&a ", "*a", "&b ", "*b", "!!str ", "!!int ", "!!binary ", "!!python/tuple ",
               "!!set ", "!!timestamp ", "<<: ", "? ", "|", ">", "'", '"', "#", "---\n", "...\n", "~", "null",
               "2001-13-45", "0x", "1e999", "%YAML 1.1\n", "!x ", "\t", "\\", "\u2028", "\x85", "é"]
yaml_texts = st.lists(st.one_of(st.sampled_from(YAML_TOKENS), short_texts), max_size=60).map("".join)


# --- the profile loader ---------------------------------------------------------------------------------

def load(folder: Path, text: str, overrides: list[str] = ()) -> None:
    path = folder / "fuzz.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        load_profile(path, overrides)
    except KickgenError as exc:
        assert exc.message, "an error without a message"
        for line in exc.message.splitlines():
            assert line.isprintable(), f"a raw control character reaches the terminal: {line!r}"


@fuzz(200)
@given(data=profile_dicts())
def test_profile_from_data(folder, data):
    load(folder, yaml.safe_dump(data, allow_unicode=True))


@fuzz(150)
@given(text=yaml_texts)
def test_profile_from_yaml_tokens(folder, text):
    load(folder, f"system:\n  rootpw: {{hash: '{HASH}'}}\n" + text)


@fuzz(100)
@given(text=st.text(chars, max_size=300))
def test_profile_from_any_text(folder, text):
    load(folder, text)


def leaf_keys(cls: type = Profile, prefix: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], typing.Any]]:
    """(key path, type) of every value of the schema that is not a section."""
    out = []
    for name, tp in schema_keys(cls).items():
        inner = [a for a in typing.get_args(tp) if a is not type(None)] or [tp]
        if dataclasses.is_dataclass(inner[0]):
            out += leaf_keys(inner[0], (*prefix, name))
        else:
            out.append(((*prefix, name), tp))
    return out


LEAF_KEYS = leaf_keys()


@st.composite
def shipped_profiles_changed(draw) -> dict:
    """A shipped profile with one to three values changed: most load, so that the rules across
    keys and the kickstart templates see near-valid profiles."""
    data = copy.deepcopy(draw(st.sampled_from(SHIPPED_DATA)))
    for _ in range(draw(st.integers(1, 3))):
        path, tp = draw(st.sampled_from(LEAF_KEYS))
        node = data
        for key in path[:-1]:
            if not isinstance(node.get(key), dict):     # an earlier change made it something else
                node[key] = {}
            node = node[key]
        node[path[-1]] = draw(value_for(tp, 0))
    return data


SHIPPED_DATA = [{**profile_to_data(load_profile(name)), "system": {**profile_to_data(load_profile(name))["system"],
                                                                  "rootpw": {"hash": HASH}}}
                for name in ("el6-base", "centos65-docker", "centos65-docker-offline")]


@fuzz(80, deadline_s=20)
@given(data=shipped_profiles_changed())
def test_changed_shipped_profile_loads_and_renders(folder, data):
    """What loads renders: the kickstart or one of kickgen's errors (rendering validates it)."""
    path = folder / "fuzz.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8", errors="surrogatepass")
    try:
        render_kickstart(load_profile(path))
    except KickgenError as exc:
        assert all(line.isprintable() for line in exc.message.splitlines()), exc.message


# --- --set parsing -------------------------------------------------------------------------------------------

def key_paths(cls: type = Profile, prefix: str = "") -> list[str]:
    out = []
    for name, tp in schema_keys(cls).items():
        path = f"{prefix}{name}"
        out.append(path)
        inner = [a for a in typing.get_args(tp) if a is not type(None)] or [tp]
        if dataclasses.is_dataclass(inner[0]):
            out += key_paths(inner[0], path + ".")
    return out


KEY_PATHS = key_paths()
set_values = st.one_of(yaml_texts, texts, anything.map(lambda v: yaml.safe_dump(v, default_flow_style=True,
                                                                                  width=10 ** 6).strip()))
set_options = st.one_of(
    st.tuples(st.sampled_from(KEY_PATHS), st.sampled_from(["", "+", "x", ".x", "+.x"]), set_values).map(
        lambda t: f"{t[0]}{t[1]}={t[2]}"),
    texts,
)


@fuzz(250)
@given(overrides=st.lists(set_options, max_size=4))
def test_set_options(folder, overrides):
    load(folder, f"description: fuzz\nsystem:\n  rootpw: {{hash: '{HASH}'}}\n", overrides)


# --- the boot-menu editors ------------------------------------------------------------------------------

ISOLINUX_LINES = ["default vesamenu.c32", "default linux", "default menu.c32", "ui vesamenu.c32", "timeout 600",
                  "prompt 1", "label linux", "label rescue", "label ks", "label ks-usb", "LABEL Linux",
                  "  menu label ^Install", "  menu default", "  MENU DEFAULT", "  kernel vmlinuz", "  linux vmlinuz",
                  "  kernel", "  append initrd=initrd.img ks=cdrom:/x.cfg", "  append", "  initrd initrd.img",
                  "# comment", "", "  menu separator", "label", "default", "timeout x"]
GRUB_LINES = ["default=0", "default 1", "default=9", "default=x", "timeout 5", "timeout=5", "splashimage=/x",
              "hiddenmenu", "title CentOS", "title", "title=CentOS", "TITLE Kickstart install: ks (CD/DVD)",
              "\tkernel /images/pxeboot/vmlinuz", "\tkernel", "\tkernel /vmlinuz ks=hd:x repo=y", "\tinitrd /i.img",
              "# comment", "", "\troot (cd)"]
endings = st.sampled_from(["\n", "\r\n", "\r", "", "\u2028", "\x85", "\x0b"])


def config_texts(lines: list[str]) -> st.SearchStrategy:
    line = st.one_of(st.sampled_from(lines), st.sampled_from(lines).flatmap(lambda ln: texts.map(lambda t: ln + t)),
                     texts)
    return st.lists(st.tuples(line, endings), max_size=25).map(lambda items: "".join(a + b for a, b in items))


edits = st.builds(bootcfg.BootEdit, label=st.one_of(st.sampled_from(["ks", "kickstart", "linux"]), short_texts),
                  args=st.lists(st.one_of(st.sampled_from(["text", "ks=x", "repo=y", "askmethod", "console=ttyS0"]),
                                          short_texts), max_size=3).map(tuple),
                  volume_id=st.one_of(st.just("CentOS_6.5_Final"), short_texts), timeout_s=st.integers(-5, 10 ** 6),
                  default=st.sampled_from(["cd", "usb"]))


def edit_or_none(make_edit):
    try:
        return make_edit()
    except KickgenError:            # BootEdit refuses arguments that choose the source
        return None


@fuzz(300, deadline_s=2)
@given(text=config_texts(ISOLINUX_LINES), data=st.data())
def test_isolinux_editor(text, data):
    before = bootcfg.isolinux_entries(text)
    edit = edit_or_none(lambda: data.draw(edits))
    if edit is None:
        return
    try:
        out = bootcfg.edit_isolinux(text, edit)
    except KickgenError:
        return
    after = bootcfg.isolinux_entries(out)
    # the two new entries first, then the old ones as they were listed
    assert [e.name for e in after] == [edit.label, edit.usb_label] + [e.name for e in before]
    assert [e for e in after if e.default] == [after[0] if edit.default == "cd" else after[1]]


@fuzz(300, deadline_s=2)
@given(text=config_texts(GRUB_LINES), data=st.data())
def test_grub_legacy_editor(text, data):
    before = bootcfg.grub_legacy_entries(text)
    edit = edit_or_none(lambda: data.draw(edits))
    if edit is None:
        return
    try:
        out = bootcfg.edit_grub_legacy(text, edit)
    except KickgenError:
        return
    after = bootcfg.grub_legacy_entries(out)
    assert [e.name for e in after[2:]] == [e.name for e in before]
    assert after[0 if edit.default == "cd" else 1].default


# --- the kickstart validator -------------------------------------------------------------------------------

NO_SHELLCHECK = Options(disabled=frozenset({"shellcheck"}))
KS_LINES = ["install", "cdrom", "url --url=http://x/", "lang en_US.UTF-8", "keyboard us", "timezone --utc UTC",
            f"rootpw --iscrypted {HASH}", "rootpw secret", "network --bootproto=dhcp --activate",
            "network --device=eth0 --bootproto=static --ip=1.2.3.4", "bootloader --location=mbr --append=\"a b\"",
            "zerombr", "clearpart --all --initlabel", "autopart", "part / --size=1024", "logvol / --name=a --vgname=b",
            "repo --name=a --baseurl=file:///x", "reboot", "poweroff", "%packages", "%packages --nobase", "@core",
            "-postfix", "git, vim", "%end", "%pre", "%post", "%post --nochroot", "%post --interpreter /usr/bin/python",
            "%post --log=/root/x.log", "%traceback", "%include /tmp/x", "%include ks.cfg", "%include /etc/shadow",
            "%include http://x/y", "%ksappend x", "%addon x", "echo > /tmp/x", "curl -k https://x | sh",
            "yum --disablerepo='*' --enablerepo=a install x", "service network restart", "print 'x'", "x = {1, 2}",
            "cat <<EOF", "EOF", "systemctl enable x", "echo x | passwd --stdin root", "sed -i s/a/b/ /etc/x",
            "firewall --disabled --port=22", "--", "#", "a \"b", "'", "%"]
ks_line = st.one_of(st.sampled_from(KS_LINES), st.sampled_from(KS_LINES).flatmap(lambda ln: texts.map(lambda t: ln + t)),
                    texts)
ks_texts = st.lists(ks_line, max_size=40).map("\n".join)


def validate(text: str, options: Options = NO_SHELLCHECK, path: Path | None = None) -> None:
    try:
        report = check_kickstart(text, "fuzz.ks", options, path=path)
    except KickgenError:
        return
    for line in report.lines():
        assert line.isprintable(), f"a raw control character reaches the terminal: {line!r}"
    report.summary()


@fuzz(200)
@given(text=ks_texts, release=st.sampled_from(["6.0", "6.4", "6.5", "6.8", "6.10"]))
def test_validator_on_kickstart_lines(text, release):
    validate(text, Options(release=release, disabled=NO_SHELLCHECK.disabled))


@fuzz(100)
@given(text=st.text(chars, max_size=400))
def test_validator_on_any_text(text):
    validate(text)


CORPUS_FILES = sorted(CORPUS.glob("*.ks"))


@st.composite
def mutated_corpus(draw) -> tuple[str, Path]:
    """A real EL6 kickstart with a few lines deleted, duplicated, swapped, cut or replaced."""
    path = draw(st.sampled_from(CORPUS_FILES))
    lines = path.read_text().split("\n")
    for _ in range(draw(st.integers(1, 6))):
        if not lines:
            break
        at = draw(st.integers(0, len(lines) - 1))
        kind = draw(st.sampled_from(["delete", "duplicate", "swap", "cut", "replace", "insert", "append"]))
        if kind == "delete":
            del lines[at]
        elif kind == "duplicate":
            lines.insert(at, lines[at])
        elif kind == "swap":
            other = draw(st.integers(0, len(lines) - 1))
            lines[at], lines[other] = lines[other], lines[at]
        elif kind == "cut":
            lines[at] = lines[at][:draw(st.integers(0, len(lines[at])))]
        elif kind == "replace":
            lines[at] = draw(ks_line)
        elif kind == "insert":
            lines.insert(at, draw(ks_line))
        else:
            lines[at] += draw(texts)
    return "\n".join(lines), path


@fuzz(150)
@given(case=mutated_corpus())
def test_validator_on_mutated_corpus(case):
    text, path = case
    validate(text, path=path)


@fuzz(20, deadline_s=20)
@given(case=mutated_corpus())
def test_validator_with_shellcheck_on_mutated_corpus(case):
    text, path = case
    validate(text, Options(), path=path)
