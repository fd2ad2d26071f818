"""The EL6 validator: every rule fires on its case and stays quiet on EL6 constructs that are fine.

What EL6's parser does was read off pykickstart r1.74.14 run under Python 2.7 (the tags and the
method are in docs/kickgen-validate.md); the cases below restate it in a few lines each.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from kickgen.core.errors import UsageError, ValidationError
from kickgen.kickstart.render import render_kickstart
from kickgen.kickstart.validate import RULES, Options, Severity, check_file, check_kickstart, validate_kickstart
from kickgen.kickstart.validate.grammar import releases, releases_markdown
from kickgen.kickstart.validate.rules import check_rule_ids, rules_markdown
from kickgen.profile import load_profile
from paths import PROJECT_ROOT

KICKGEN = Path(sys.executable).parent / "kickgen"
HASH = "$6$abcdefgh$" + "A" * 86

GOOD = f"""\
install
cdrom
lang en_US.UTF-8
keyboard us
timezone --utc UTC
rootpw --iscrypted {HASH}
network --bootproto=dhcp --activate
bootloader --location=mbr --append="console=ttyS0,115200n8"
zerombr
clearpart --all --initlabel
autopart
reboot

%packages
@core
%end

%post --log=/root/ks-post-x.log
yum -y install tmux
%end
"""


def findings(text: str, release: str = "6.5", **options) -> list[str]:
    return check_kickstart(text, "ks.cfg", Options(release=release, **options)).lines()


def rules_of(text: str, release: str = "6.5", **options) -> dict[str, list[int]]:
    """rule -> lines where it fired."""
    out: dict[str, list[int]] = {}
    for f in check_kickstart(text, "ks.cfg", Options(release=release, **options)).findings:
        out.setdefault(f.rule, []).append(f.line)
    return out


def test_good_kickstart_has_no_findings():
    assert findings(GOOD) == []
    report = validate_kickstart(GOOD, "ks.cfg", strict=True)
    assert report.findings == [] and report.summary() == "0 errors, 0 warnings, 0 notes"


# --- every rule: a case that triggers it -------------------------------------------------------------
# (rule, how GOOD is changed, the line it must be reported on)

def _sub(old: str, new: str):
    def change(text: str) -> str:
        assert old in text, old
        return text.replace(old, new, 1)
    return change


def _append(extra: str):
    return lambda text: text + extra


TRIGGERS = [
    ("unknown-command", _sub("reboot\n", "eula --agreed\nreboot\n"), 12),
    ("unknown-option", _sub("autopart\n", "autopart --type=lvm\n"), 11),
    ("too-new", _sub("%packages\n", "%packages --nocore\n"), 14),
    ("option-value", _sub("autopart\n", "part / --size=big\n"), 11),
    ("required-option", _sub("autopart\n", "part pv.01 --size=1\nvolgroup vg pv.01\nlogvol / --size=1024 --name=root\n"), 13),
    ("argument-count", _sub("zerombr\n", "zerombr\nlang\n"), 10),
    ("autopart-with-part", _sub("autopart\n", "autopart\npart /home --size=100\n"), 12),
    ("unknown-section", _append("%addon com_redhat_kdump --disable\n%end\n"), 21),
    ("stray-end", _sub("reboot\n", "reboot\n%end\n"), 13),
    ("unclosed-quote", _sub('console=ttyS0,115200n8"', 'console=ttyS0 #serial"'), 8),
    ("include-missing", _sub("autopart\n", "%include /mnt/source/disks.ks\n"), 11),
    ("missing-answer", _sub(f"rootpw --iscrypted {HASH}\n", ""), 19),
    ("rootpw-plaintext", _sub(f"rootpw --iscrypted {HASH}", "rootpw hunter2"), 6),
    ("rootpw-weak-hash", _sub(f"rootpw --iscrypted {HASH}", "rootpw --iscrypted $1$salt$qJH7.N4xYta3aEG/dfqo/0"), 6),
    ("rootpw-not-hash", _sub(f"rootpw --iscrypted {HASH}", "rootpw --iscrypted hunter2"), 6),
    ("bootloader-plaintext-password", _sub("--location=mbr", "--location=mbr --password=hunter2"), 8),
    ("bootloader-hash-as-password", _sub("--location=mbr", f"--location=mbr --password={HASH}"), 8),
    ("duplicate-command", _sub("reboot\n", "reboot\ntimezone Europe/Paris\n"), 13),
    ("conflicting-commands", _sub("reboot\n", "auth --useshadow\nauthconfig --enableshadow\nreboot\n"), 13),
    ("el7-command", _sub("yum -y install tmux", "systemctl enable docker"), 19),
    ("el7-argument", _sub('console=ttyS0,115200n8"', 'inst.text console=ttyS0"'), 8),
    ("network-not-activated", _sub(" --activate", ""), 19),
    ("missing-install-method", _sub("cdrom\n", ""), 19),
    ("no-finishing-command", _sub("reboot\n", ""), 19),
    ("section-without-end", _sub("@core\n%end\n", "@core\n"), 14),
    ("deprecated", _sub("reboot\n", "reboot\nmonitor --noprobe\n"), 13),
    ("comment-cuts-line", _sub(f"rootpw --iscrypted {HASH}", "rootpw --plaintext ab#cd"), 6),
    # r1.74.14 reads iscsi --port as a string; pykickstart 3 wants a number
    ("pykickstart3-refuses", _sub("reboot\n", "reboot\niscsi --ipaddr=127.0.0.1 --port=iscsi\n"), 13),
    ("python-syntax", _append("%post --interpreter /usr/bin/python\nx = {1, 2}\n%end\n"), 22),
    ("shellcheck", _sub("yum -y install tmux", "rm -rf $dir/"), 19),
    ("include-generated", _sub("autopart\n", "%include /tmp/disks.ks\n") and
     (lambda t: t.replace("autopart\n", "%include /tmp/disks.ks\n") + "%pre\necho autopart >/tmp/disks.ks\n%end\n"), 11),
    ("option-abbreviated", _sub("--bootproto=dhcp", "--boot=dhcp"), 7),
    ("plaintext-password", _sub("yum -y install tmux", "echo 'secret' | passwd --stdin admin"), 19),
    ("weak-password-hashing", _sub("reboot\n", "reboot\nauthconfig --enableshadow --enablemd5\n"), 13),
    ("bootloader-not-hash", _sub("--location=mbr", "--location=mbr --md5pass=CHANGEME"), 8),
    ("disk-initialization", _sub("zerombr\nclearpart --all --initlabel\n", "clearpart --all\n"), 9),
    ("package-name", _sub("@core\n", "@core\ngit, vim\n"), 16),
    ("install-root-path", _sub("yum -y install tmux", "service network restart"), 19),
    ("unverified-download", _sub("yum -y install tmux", "curl -k https://example.com/x.sh -o /tmp/x.sh"), 19),
    ("line-endings", lambda text: text.replace("\n", "\r\n"), 1),
    ("conflicting-options", _sub("clearpart --all --initlabel", "clearpart --linux --all --initlabel"), 10),
    ("script-too-long", _append("%post\n" + "true\n" * 2001 + "%end\n"), 21),
]


# rules whose case needs files of its own: the test named
COVERED_ELSEWHERE = {"include-loop": "test_include_loop_is_refused",
                     "duplicate-logvol": "test_duplicate_logvol_by_release"}


def test_every_rule_has_a_case():
    assert sorted([rule for rule, _, _ in TRIGGERS] + list(COVERED_ELSEWHERE)) == sorted(RULES)
    assert all(name in globals() for name in COVERED_ELSEWHERE.values())


@pytest.mark.parametrize("rule,change,line", TRIGGERS, ids=[t[0] for t in TRIGGERS])
def test_rule_fires_on_its_line(rule, change, line):
    text = change(GOOD)
    found = rules_of(text)
    if rule == "shellcheck":
        assert any(r.startswith("SC") and line in lines for r, lines in found.items()), found
        return
    assert rule in found, found
    assert line in found[rule], (found, text.splitlines()[line - 1])
    report = check_kickstart(text, "ks.cfg")
    severities = {f.severity for f in report.findings if f.rule == rule}
    assert severities == {RULES[rule].severity}


@pytest.mark.parametrize("rule,change,line", TRIGGERS, ids=[t[0] for t in TRIGGERS])
def test_rule_can_be_disabled(rule, change, line):
    text = change(GOOD)
    disabled = check_rule_ids(["shellcheck" if rule == "shellcheck" else rule])
    found = rules_of(text, disabled=disabled)
    assert rule not in found
    if rule == "shellcheck":
        assert not any(r.startswith("SC") for r in found)


def test_unknown_rule_to_disable_is_a_usage_error():
    with pytest.raises(UsageError, match="no-such-rule"):
        check_rule_ids(["no-such-rule"])
    assert check_rule_ids(["SC2086"]) == frozenset({"SC2086"})


# --- output ------------------------------------------------------------------------------------------

def test_findings_sorted_by_severity_then_line_never_line_0():
    text = GOOD.replace("reboot\n", "") .replace(f"rootpw --iscrypted {HASH}", "rootpw hunter2")
    text = text.replace("zerombr\n", "zerombr\nfrobnicate --now\n")
    report = check_kickstart(text, "ks.cfg")
    keys = [(f.severity, f.line) for f in report.findings]
    assert keys == sorted(keys)
    assert all(f.line >= 1 for f in report.findings)
    assert report.lines()[0] == "ks.cfg:10: error: EL6 has no 'frobnicate' command [unknown-command]"
    assert "ks.cfg:6: warning: " in "\n".join(report.lines())
    assert report.summary() == "1 error, 2 warnings, 0 notes"


def test_every_problem_is_reported_not_only_the_first():
    text = GOOD.replace("zerombr\n", "zerombr\nfrobnicate\nlang\nkeyboard\n")
    lines = [f.line for f in check_kickstart(text, "ks.cfg").findings if f.severity == Severity.ERROR]
    assert lines == [10, 11, 12]


# --- EL6 accuracy: what EL6 accepts is not refused ---------------------------------------------------

@pytest.mark.parametrize("change", [
    _sub("@core\n%end\n", "@core\n"),                                   # no %end: deprecated, accepted
    _sub(f"rootpw --iscrypted {HASH}", "rootpw --plaintext hunter2"),   # plaintext: a warning
    _sub("reboot\n", ""),                                               # no finishing command
    _sub(" --activate", ""),                                            # %post yum without network
    _sub("reboot\n", "reboot\nauth --enableshadow --passalgo=sha512\n"),  # auth takes any words
    _sub("reboot\n", "reboot\nkey --skip\nfirewall --disabled\nselinux --permissive\n"),
    _sub("%packages\n", "%packages --nobase --ignoremissing --excludedocs\n"),
    _sub("reboot\n", "reboot\nraid / --useexisting --device=md0\n"),
    _sub("yum -y install tmux", "[[ -n $HOME ]] && echo \"$HOME\"\nread -r -a arr <<< \"a b\"\necho \"${arr[0]}\""),
    _sub("%post --log=/root/ks-post-x.log\nyum -y install tmux",
         "%post --interpreter /usr/bin/python\nprint 'hello'\nimport os"),
    _sub("network --bootproto=dhcp --activate", "network --boot=dhcp --activ"),  # optparse prefixes
])
def test_el6_accepts(change):
    report = check_kickstart(change(GOOD), "ks.cfg")
    assert report.errors == [], report.lines()
    assert not report.fails(strict=False)


def test_only_a_newline_ends_a_line():
    """EL6 reads lines with readline: a U+2028 or form feed inside a line does not start a new one."""
    text = GOOD.replace("reboot\n", "reboot\u2028halt\x0c\n")
    report = check_kickstart(text, "ks.cfg")
    assert [(f.line, f.rule) for f in report.findings if f.severity == Severity.ERROR] == [(12, "unknown-command")]
    # and the line reaches the terminal escaped
    assert report.lines()[0] == "ks.cfg:12: error: EL6 has no 'reboot\\u2028halt' command [unknown-command]"


def test_hash_in_a_command_line_by_release():
    """6.0-6.8 cut the line at its first '#', quotes or not; 6.9's parser keeps a quoted '#'."""
    text = GOOD.replace('console=ttyS0,115200n8"', 'console=ttyS0 #serial"')
    assert "unclosed-quote" in rules_of(text, release="6.8")
    assert rules_of(text, release="6.9") == {}
    word = GOOD.replace(f"rootpw --iscrypted {HASH}", "rootpw --plaintext ab#cd")
    assert "comment-cuts-line" in rules_of(word, release="6.5")


@pytest.mark.parametrize("release,ok", [("6.5", False), ("6.6", True), ("6.10", True), ("6.3", False)])
def test_packages_nocore_by_release(release, ok):
    text = GOOD.replace("%packages\n", "%packages --nocore\n")
    found = check_kickstart(text, "ks.cfg", Options(release=release)).lines()
    if ok:
        assert found == []
    else:
        assert found == [f"ks.cfg:14: error: option %packages --nocore is accepted from RHEL/CentOS 6.6 "
                         f"(pykickstart r1.74.16-1); the target is {release} (--release) [too-new]"]


def test_network_activate_arrived_in_6_1():
    assert "too-new" in rules_of(GOOD, release="6.0")
    assert rules_of(GOOD, release="6.1") == {}


def test_every_release_is_known():
    assert releases() == ["6.0", "6.1", "6.2", "6.3", "6.4", "6.5", "6.6", "6.7", "6.8", "6.9", "6.10"]
    with pytest.raises(UsageError, match="6.0, 6.1"):
        Options  # noqa: B018 - the release is checked when the grammar is built
        check_kickstart(GOOD, "ks.cfg", Options(release="7.0"))


def test_swallowed_commands_after_an_open_packages_section():
    text = GOOD.replace("reboot\n", "").replace("@core\n%end\n", "@core\nreboot\n\n")
    found = rules_of(text)
    assert found["section-without-end"] == [13, 15]      # the header, and the swallowed reboot
    assert "no-finishing-command" in found


@pytest.mark.parametrize("line,release,refused", [
    # checks EL6's commands make between the options of one line (each probed with r1.74.14)
    ("ignoredisk --drives=sda --only-use=sda", "6.5", True),
    ("ignoredisk --only-use=sda", "6.5", False),
    ("driverdisk sda1 --source=http://127.0.0.1/dd.img", "6.5", True),
    ("repo --name=r --baseurl=http://127.0.0.1/os --mirrorlist=http://127.0.0.1/ml", "6.5", True),
    ("repo --name=r", "6.5", True),
    ("services", "6.5", True),
    ("services --disable=smartd", "6.5", False),     # an abbreviation EL6 accepts
    ("logging --port=514", "6.5", True),
    ("logging --host=127.0.0.1 --port=514", "6.5", False),
    ("raid / --device=md0 raid.01 raid.02", "6.3", True),
    ("raid / --device=md0 raid.01 raid.02", "6.2", False),
    ("raid / --useexisting --device=md0", "6.5", False),
    ("raid / --useexisting --device=md0 raid.01", "6.5", True),
    ("part / --size=08", "6.5", True),                 # optparse reads a leading 0 as octal
    ("part / --size=0x10", "6.5", False),
    ("network --device --bootproto=dhcp", "6.5", True),  # a value option given no value
    ("multipath --name=m --device=sda --rule=r", "6.5", True),   # anaconda: not supported
    ("zerombr yes", "6.5", False),                     # anaconda ignores it (ksvalidator refuses)
])
def test_el6_checks_within_one_line(line, release, refused):
    text = GOOD.replace("reboot\n", f"reboot\n{line}\n").replace("autopart\n", "")
    errors = [f for f in check_kickstart(text, "ks.cfg", Options(release=release)).findings
              if f.severity == Severity.ERROR and f.line == 12]
    assert bool(errors) == refused, errors


def test_duplicate_logvol_by_release():
    """6.0-6.4's parser crashes on a logical volume name used twice; 6.5's warns."""
    lv = "part pv.01 --size=1\nvolgroup vg pv.01\nlogvol / --vgname=vg --name=lv --size=1\n" \
         "logvol /home --vgname=vg --name=lv --size=1\n"
    text = GOOD.replace("autopart\n", lv)
    assert rules_of(text, release="6.4")["duplicate-logvol"] == [14]
    assert rules_of(text, release="6.5")["duplicate-command"] == [14]
    assert "duplicate-logvol" not in rules_of(text, release="6.5")


@pytest.mark.parametrize("line,fires", [
    ("echo done > /etc/motd", True),              # the installer's /etc
    ("sed -i s/a/b/ /boot/grub/grub.conf", True),
    ("echo done > /mnt/sysimage/etc/motd", False),
    ('kg_run "copy to /root/x" cp /tmp/ks.cfg /mnt/sysimage/root/x', False),   # a message, not a write
])
def test_nochroot_paths(line, fires):
    text = GOOD.replace("%post --log=/root/ks-post-x.log\nyum -y install tmux",
                        f"%post --nochroot --log=/mnt/sysimage/root/ks-post-x.log\n{line}")
    assert ("install-root-path" in rules_of(text)) == fires


@pytest.mark.parametrize("line,fires", [
    ("curl -fsS https://example.com/install.sh | bash", True),
    ("wget -O /tmp/a http://example.com/a.tgz", True),
    ("wget -O /tmp/a http://example.com/a.tgz\necho 'abc  /tmp/a' | sha256sum -c", False),
    ("curl -fsSo /tmp/a https://example.com/a.tgz", False),
])
def test_unverified_downloads(line, fires):
    assert ("unverified-download" in rules_of(GOOD.replace("yum -y install tmux", line))) == fires


def test_chroot_service_calls_inside_a_heredoc_are_not_run_in_the_chroot():
    post = "cat > /etc/rc.d/rc.local <<'EOF'\nservice network restart\nEOF"
    assert "install-root-path" not in rules_of(GOOD.replace("yum -y install tmux", post))


# --- %include ----------------------------------------------------------------------------------------

def test_include_beside_the_kickstart_is_followed(tmp_path):
    (tmp_path / "disks.ks").write_text("zerombr\nclearpart --all\nautopart --bogus\n")
    ks = tmp_path / "ks.cfg"
    ks.write_text(GOOD.replace("zerombr\nclearpart --all --initlabel\nautopart\n", "%include disks.ks\n"))
    report = check_file(ks)
    included = str(tmp_path / "disks.ks")
    assert report.files == [str(ks), included]
    assert [(f.file, f.line, f.rule) for f in report.findings] == [(included, 3, "unknown-option")]


def test_include_dir_and_absolute_paths(tmp_path):
    inc = tmp_path / "site"
    inc.mkdir()
    (inc / "disks.ks").write_text("zerombr\nclearpart --all\nautopart\n")
    text = GOOD.replace("zerombr\nclearpart --all --initlabel\nautopart\n", "%include /tmp/site/disks.ks\n")
    assert rules_of(text)["include-missing"] == [9]
    assert rules_of(text, include_dirs=(inc,)) == {}


def test_include_never_reads_a_host_path_outside_the_given_folders(tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("rootpw --plaintext TopSecret\n")
    ks = tmp_path / "dir" / "ks.cfg"
    ks.parent.mkdir()
    ks.write_text(GOOD.replace("reboot\n", f"reboot\n%include {secret}\n%include ../secret\n"))
    report = check_file(ks)
    assert [f.rule for f in report.errors] == ["include-missing", "include-missing"]
    assert "TopSecret" not in "\n".join(report.lines())


def test_include_loop_is_refused(tmp_path):
    (tmp_path / "a.ks").write_text("%include b.ks\n")
    (tmp_path / "b.ks").write_text("%include a.ks\n")
    ks = tmp_path / "ks.cfg"
    ks.write_text(GOOD.replace("reboot\n", "reboot\n%include a.ks\n"))
    assert [f.rule for f in check_file(ks).errors] == ["include-loop"]


def test_generated_include_suppresses_what_it_may_supply():
    pre = "%pre\necho 'rootpw --iscrypted x' >/tmp/auth.ks\n%end\n"
    text = GOOD.replace(f"rootpw --iscrypted {HASH}\n", "%include /tmp/auth.ks\n") + pre
    assert rules_of(text) == {"include-generated": [6]}
    # without the %pre that writes it, the include is missing: an error
    text = GOOD.replace(f"rootpw --iscrypted {HASH}\n", "%include /tmp/auth.ks\n")
    assert rules_of(text)["include-missing"] == [6]


# --- scripts -----------------------------------------------------------------------------------------

def test_shellcheck_findings_keep_their_level_and_line():
    text = GOOD.replace("yum -y install tmux", 'yum -y install tmux\nif [ $x = 1 ]; then echo "a; fi')
    report = check_kickstart(text, "ks.cfg")
    assert report.findings and all(f.rule.startswith("SC") for f in report.findings)
    assert {f.line for f in report.findings} <= {20, 21}
    assert any(f.severity == Severity.WARNING for f in report.findings)


def test_one_shellcheck_run_per_kickstart(monkeypatch):
    import kickgen.kickstart.validate.scripts as scripts

    calls = []
    real = subprocess.run
    monkeypatch.setattr(scripts.subprocess, "run", lambda *a, **k: calls.append(a) or real(*a, **k))
    text = GOOD + "%pre\necho $a\n%end\n%post --nochroot\necho $b\n%end\n%traceback\necho $c\n%end\n"
    report = check_kickstart(text, "ks.cfg")
    assert len(calls) == 1
    assert sorted(f.line for f in report.findings if f.rule == "SC2154") == [22, 25, 28]


def test_scripts_for_other_interpreters_are_not_shellchecked():
    text = GOOD.replace("%post --log=/root/ks-post-x.log\nyum -y install tmux",
                        "%post --interpreter /usr/bin/perl\nprint 'x' ;; fi }")
    assert findings(text) == []


def test_python_script_checked_as_python_2_6():
    text = GOOD.replace("%post --log=/root/ks-post-x.log\nyum -y install tmux",
                        "%post --interpreter=/usr/bin/python\nimport os\nprint(f'{os.name}')")
    found = check_kickstart(text, "ks.cfg").findings
    assert [(f.line, f.rule) for f in found] == [(20, "python-syntax")]


# --- the network during the install (kept from kickgen's house rules) ---------------------------------

OFFLINE_POST = """\
printf '%s\\n' '[kickgen-epel]' 'name=x' 'baseurl=file:///mnt/kickgen/epel' 'enabled=1' \\
    >/etc/yum.repos.d/kickgen-epel.repo
"""


@pytest.mark.parametrize("post,needs", [
    ("yum -y --disablerepo='*' --enablerepo='kickgen-*' install docker-io", False),
    ("yum -y --disablerepo '*' --enablerepo kickgen-epel install x", False),
    ("echo see /etc/yum.repos.d/kickgen-epel.repo", False),
    ("yum -y install docker-io", True),
    ("yum -y --enablerepo='kickgen-*' install docker-io", True),
    ("yum -y --disablerepo='*' --enablerepo=epel install docker-io", True),
    ("curl -o /tmp/x file:///x", True),
])
def test_network_needed_by_post(post, needs):
    text = GOOD.replace(" --activate", "").replace("yum -y install tmux", OFFLINE_POST + post)
    assert ("network-not-activated" in rules_of(text)) == needs


def test_url_install_brings_the_network_up():
    text = GOOD.replace(" --activate", "").replace("cdrom\n", "url --url=http://mirror/centos/6.5/os/x86_64/\n")
    assert rules_of(text) == {}


def test_offline_profile_needs_no_activate():
    ks = render_kickstart(load_profile("centos65-docker-offline"), salt="x")
    assert "--activate" not in ks.text
    assert validate_kickstart(ks.text, strict=True).errors == []
    online = render_kickstart(load_profile("centos65-docker-offline", ["media.offline=false"]), salt="x")
    with pytest.raises(ValidationError, match="network-not-activated"):
        validate_kickstart(online.text, strict=True)


# --- strictness --------------------------------------------------------------------------------------

def test_strict_fails_on_warnings_default_does_not():
    text = GOOD.replace("reboot\n", "")
    assert validate_kickstart(text, "ks.cfg", strict=False).count(Severity.WARNING) == 1
    with pytest.raises(ValidationError) as info:
        validate_kickstart(text, "ks.cfg", strict=True)
    assert info.value.problems == ["ks.cfg:19: warning: no reboot, poweroff or halt: the installer waits "
                                   "for a key press at the end [no-finishing-command]"]


def test_shipped_profiles_have_no_warnings():
    for name in ("centos65-docker", "centos65-docker-offline", "el6-base", "standin-docker"):
        report = validate_kickstart(render_kickstart(load_profile(name), salt="x").text, name, strict=True)
        assert [f.rule for f in report.findings] == ["include-generated"], report.lines()


def test_docs_list_every_rule():
    page = (PROJECT_ROOT / "docs" / "kickgen-validate.md").read_text()
    assert rules_markdown() in page, "run .venv/bin/python docs/update.py"
    assert releases_markdown() in page, "run .venv/bin/python docs/update.py"
    for rule in RULES:
        assert f"`{rule}`" in page


# --- CLI ---------------------------------------------------------------------------------------------

def kickgen(*args: str, cwd: Path = PROJECT_ROOT, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([str(KICKGEN), *args], cwd=cwd, capture_output=True, text=True, check=False, **kw)


def test_cli_validate_exit_codes(tmp_path):
    good = tmp_path / "good.ks"
    good.write_text(GOOD)
    result = kickgen("validate", "--ks", str(good))
    assert result.returncode == 0 and result.stdout == f"{good}: 0 errors, 0 warnings, 0 notes (EL6.5)\n"
    warn = tmp_path / "warn.ks"
    warn.write_text(GOOD.replace("reboot\n", ""))
    result = kickgen("validate", "--ks", str(warn))
    assert result.returncode == 0
    assert result.stdout.splitlines() == [
        f"{warn}:19: warning: no reboot, poweroff or halt: the installer waits for a key press at the end "
        "[no-finishing-command]", f"{warn}: 0 errors, 1 warning, 0 notes (EL6.5)"]
    assert kickgen("validate", "--ks", str(warn), "--strict").returncode == 1
    assert kickgen("validate", "--ks", str(warn), "--disable", "no-finishing-command", "--strict").returncode == 0
    bad = tmp_path / "bad.ks"
    bad.write_text(GOOD.replace("%packages\n", "%packages --nocore\n"))
    assert kickgen("validate", "--ks", str(bad)).returncode == 1
    assert kickgen("validate", "--ks", str(bad), "--release", "6.6").returncode == 0
    result = kickgen("validate", "--ks", str(bad), "--release", "7.0")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    result = kickgen("validate", "--ks", str(bad), "--disable", "bogus")
    assert result.returncode == 2 and "--disable bogus: no such rule" in result.stderr
    assert kickgen("validate", "--ks", str(tmp_path / "missing.ks")).returncode == 2


def test_cli_validate_json(tmp_path):
    warn = tmp_path / "warn.ks"
    warn.write_text(GOOD.replace("reboot\n", ""))
    data = json.loads(kickgen("validate", "--ks", str(warn), "--format", "json").stdout)
    assert data["counts"] == {"error": 0, "warning": 1, "note": 0}
    assert data["findings"] == [{"file": str(warn), "line": 19, "column": None, "severity": "warning",
                                 "rule": "no-finishing-command",
                                 "message": "no reboot, poweroff or halt: the installer waits for a key press at the end"}]


def test_cli_validate_profile_is_strict(tmp_path):
    assert kickgen("validate", "centos65-docker").returncode == 0
    result = kickgen("validate", "centos65-docker", "--set", "network.activate=false")
    assert result.returncode == 1 and "[network-not-activated]" in result.stdout


def test_cli_list_rules():
    result = kickgen("validate", "--list-rules")
    assert result.returncode == 0
    assert [line.split()[0] for line in result.stdout.splitlines()] == list(RULES)


def test_cli_render_failure_leaves_no_output(tmp_path):
    out = tmp_path / "ks.cfg"
    result = kickgen("render", "centos65-docker", "--set", "network.activate=false", "-o", str(out))
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert lines[0].startswith("kickgen: error: <centos65-docker.ks>:")
    assert "[network-not-activated]" in lines[0] and "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []
    result = kickgen("render", "centos65-docker", "--set", "network.activate=false", "--no-validate", "-o", str(out))
    assert result.returncode == 0 and out.is_file()


def test_cli_render_to_stdout_and_file(tmp_path):
    result = kickgen("render", "centos65-docker")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("# Kickstart for CentOS 6.5")
    out = tmp_path / "ks.cfg"
    result = kickgen("render", "profiles/centos65-docker.yaml", "-o", str(out))
    assert result.returncode == 0 and out.read_text().startswith("# Kickstart")
    assert list(tmp_path.iterdir()) == [out]


def test_cli_never_prints_plaintext_password(tmp_path):
    profile = tmp_path / "pw.yaml"
    profile.write_text("extends: el6-base\nsystem:\n  rootpw: {env: KICKGEN_TEST_PW}\n")
    env = {"PATH": "/usr/bin:/bin", "KICKGEN_TEST_PW": "Very-Secret-9"}
    for args in (["render", str(profile)], ["show", str(profile)], ["validate", str(profile)],
                 ["render", str(profile), "--set", "system.rootpw=Very-Secret-9"]):
        result = kickgen(*args, env=env)
        assert "Very-Secret-9" not in result.stdout + result.stderr, args


def test_cli_output_into_a_closed_pipe_is_no_traceback(tmp_path):
    many = tmp_path / "many.ks"
    many.write_text(GOOD.replace("reboot\n", "reboot\n" + "frobnicate\n" * 2000))
    result = subprocess.run(f"'{KICKGEN}' validate --ks '{many}' | head -1", shell=True, capture_output=True,
                            text=True, check=False)
    assert result.stdout.count("\n") == 1 and "[unknown-command]" in result.stdout
    assert "Traceback" not in result.stderr and "BrokenPipe" not in result.stderr, result.stderr
