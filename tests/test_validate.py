"""Validation (pykickstart RHEL6, shellcheck, our EL6 rules) and the CLI's exit codes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from kickgen.core.errors import ValidationError
from kickgen.kickstart.render import render_kickstart
from kickgen.kickstart.validate import check_kickstart, validate_kickstart
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
network --device=eth0 --bootproto=dhcp --activate
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


def problems(text: str) -> list[str]:
    return check_kickstart(text, "ks.cfg")


def test_good_kickstart_passes():
    assert problems(GOOD) == []
    validate_kickstart(GOOD, "ks.cfg")


def test_missing_activate_names_the_line_needing_network():
    text = GOOD.replace(" --activate", "")
    assert problems(text) == ["ks.cfg:19: EL6 rule: %post (line 18) needs the network during the "
                              "install, but no 'network ... --activate' line brings it up"]


def test_missing_activate_for_a_repo_line():
    text = GOOD.replace(" --activate", "").replace("reboot\n", "repo --name=x --baseurl=http://m/x/\nreboot\n")
    assert problems(text)[0] == ("ks.cfg:12: EL6 rule: 'repo' needs the network during the install, "
                                 "but no 'network ... --activate' line brings it up")


def test_no_network_needed_no_activate_needed():
    text = GOOD.replace(" --activate", "").replace("yum -y install tmux", "echo offline")
    assert problems(text) == []


OFFLINE_POST = """\
printf '%s\\n' '[kickgen-epel]' 'name=x' 'baseurl=file:///mnt/kickgen/epel' 'enabled=1' \\
    >/etc/yum.repos.d/kickgen-epel.repo
cat >/etc/yum.repos.d/kickgen-dm.repo <<'REPO'
[kickgen-dm]
baseurl=file:///mnt/kickgen/dm
REPO
"""


def _offline(post: str, *, repo: str = "") -> str:
    text = GOOD.replace(" --activate", "").replace("yum -y install tmux", OFFLINE_POST + post)
    return text.replace("reboot\n", repo + "reboot\n") if repo else text


@pytest.mark.parametrize("post,repo", [
    ("yum -y --disablerepo='*' --enablerepo='kickgen-*' install docker-io", ""),
    ('kg_run "install" yum -y --disablerepo=* --enablerepo=kickgen-epel,kickgen-dm install x', ""),
    ("yum -y --disablerepo '*' --enablerepo kickgen-epel install x", ""),
    ("yum -y --disablerepo='*' localinstall /tmp/x.rpm", ""),
    ("echo see /etc/yum.repos.d/kickgen-epel.repo", ""),           # a mention is not a yum run
    ("true", "repo --name=epel --baseurl=file:///mnt/source/kickgen/epel\n"),
    ("yum -y --disablerepo='*' --enablerepo=media install x",
     "repo --name=media --baseurl=file:///mnt/source/\n"),
])
def test_local_repos_and_yum_need_no_network(post, repo):
    assert problems(_offline(post, repo=repo)) == []


@pytest.mark.parametrize("post,repo", [
    ("yum -y install docker-io", ""),                                        # default repos
    ("yum -y --enablerepo='kickgen-*' install docker-io", ""),                # others stay on
    ("yum -y --disablerepo='*' --enablerepo=epel install docker-io", ""),    # not defined here
    ("printf '%s\\n' '[kickgen-net]' 'baseurl=http://m/x/' >/etc/yum.repos.d/n.repo\n"
     "yum -y --disablerepo='*' --enablerepo='kickgen-*' install x", ""),     # a network repo too
    ("printf '%s\\n' '[kickgen-ml]' 'mirrorlist=file:///m' >/etc/yum.repos.d/n.repo\n"
     "yum -y --disablerepo='*' --enablerepo='kickgen-ml' install x", ""),
    ("curl -o /tmp/x file:///x", ""),
    ("true", "repo --name=epel --baseurl=http://m/epel/\n"),
    ("true", "repo --name=epel --mirrorlist=file:///m\n"),
])
def test_network_still_needed(post, repo):
    found = problems(_offline(post, repo=repo))
    assert len(found) == 1 and found[0].endswith(
        "needs the network during the install, but no 'network ... --activate' line brings it up"), found


def test_offline_profile_needs_no_activate():
    ks = render_kickstart(load_profile("centos65-docker-offline"), salt="x")
    assert "--activate" not in ks.text
    assert check_kickstart(ks.text) == []
    # the same profile online (network repos) without --activate is refused
    online = render_kickstart(load_profile("centos65-docker-offline", ["media.offline=false"]),
                              salt="x")
    assert len(check_kickstart(online.text)) == 1


def test_inst_prefix_refused():
    text = GOOD.replace('--append="console=ttyS0,115200n8"', '--append="inst.text console=ttyS0"')
    assert problems(text) == ["ks.cfg:8: EL6 rule: 'inst.text' is an EL7+ argument; EL6 has no "
                              "'inst.' prefix (use the plain name)"]


def test_finishing_command_required():
    text = GOOD.replace("reboot\n", "")
    assert problems(text) == ["ks.cfg:19: EL6 rule: no finishing command (reboot, poweroff or "
                              "halt): the installer would wait at the end"]


def test_rootpw_must_be_iscrypted():
    text = GOOD.replace(f"rootpw --iscrypted {HASH}", "rootpw --plaintext hunter2")
    assert problems(text) == ["ks.cfg:6: EL6 rule: rootpw without --iscrypted puts a plaintext "
                              "password on the media"]
    text = GOOD.replace(f"rootpw --iscrypted {HASH}", "rootpw --iscrypted $1$abc$def")
    assert problems(text) == ["ks.cfg:6: EL6 rule: rootpw --iscrypted needs a SHA-512 crypt hash ($6$...)"]
    text = GOOD.replace(f"rootpw --iscrypted {HASH}\n", "")
    assert "ks.cfg:1: EL6 rule: no rootpw line: the installer would stop and ask" in problems(text)


def test_section_without_end():
    text = GOOD.replace("@core\n%end\n", "@core\n")
    found = problems(text)
    assert found == ["ks.cfg:14: %packages (line 14) is not closed with %end before line 17",
                     "ks.cfg:17: pykickstart RHEL6: Section %packages does not end with %end."]
    text = GOOD.removesuffix("%end\n")
    assert "ks.cfg:18: %post (line 18) is not closed with %end (end of file)" in problems(text)


def test_pykickstart_error_names_line():
    text = GOOD.replace("zerombr\n", "zerombr\nfrobnicate --now\n")
    assert problems(text) == ["ks.cfg:10: pykickstart RHEL6: Unknown command: frobnicate"]


def test_pykickstart_rejects_el7_only_syntax():
    text = GOOD.replace("autopart\n", "autopart --type=lvm\n")
    found = problems(text)
    assert len(found) == 1 and found[0].startswith("ks.cfg:11: pykickstart RHEL6: ")


INCLUDE_PRE = """
%pre --log=/tmp/ks-pre-disks.log
echo "ignoredisk --only-use=sda" >/tmp/kickgen-storage.ks
%end
"""


def test_include_of_a_file_a_pre_writes_is_accepted():
    """pykickstart must not open /tmp/kickgen-storage.ks on the host (it exists only in the
    installer, after %pre): the include is accepted, and ksvalidator agrees."""
    text = GOOD.replace("clearpart --all --initlabel\n", "%include /tmp/kickgen-storage.ks\n") + INCLUDE_PRE
    assert problems(text) == []


@pytest.mark.parametrize("path", ["/tmp/other.ks", "/mnt/source/storage.ks", "storage.ks"])
def test_include_no_pre_writes_is_refused(path):
    text = GOOD.replace("clearpart --all --initlabel\n", f"%include {path}\n") + INCLUDE_PRE
    assert problems(text) == [f"ks.cfg:10: EL6 rule: %include {path}: only a file a %pre writes "
                              "under /tmp can be included (kickgen cannot check any other, and the "
                              "installer stops when it is missing)"]


def test_include_without_its_pre_is_refused():
    text = GOOD.replace("clearpart --all --initlabel\n", "%include /tmp/kickgen-storage.ks\n")
    assert problems(text)[0].startswith("ks.cfg:10: EL6 rule: %include /tmp/kickgen-storage.ks: ")


def test_rendered_include_passes_ksvalidator(tmp_path):
    ksvalidator = Path(sys.executable).parent / "ksvalidator"
    path = tmp_path / "ks.cfg"
    path.write_text(render_kickstart(load_profile("el6-base")).text)
    assert "%include /tmp/kickgen-storage.ks" in path.read_text().splitlines()
    result = subprocess.run([str(ksvalidator), "-v", "RHEL6", str(path)], capture_output=True,
                            text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_shellcheck_problem_maps_to_kickstart_line():
    text = GOOD.replace("yum -y install tmux", 'yum -y install tmux\nif [ $x = 1 ]; then echo "a; fi')
    found = problems(text)
    assert found and all(p.startswith("ks.cfg:20: shellcheck") or p.startswith("ks.cfg:21: shellcheck")
                         for p in found), found
    assert any("(line 18)" in p for p in found)


def test_non_shell_interpreter_not_shellchecked():
    text = GOOD.replace("%post --log=/root/ks-post-x.log\nyum -y install tmux",
                        "%post --interpreter=/usr/bin/python\nprint('yum')  ;; fi }")
    assert problems(text) == []


def test_validation_error_lists_every_problem():
    text = GOOD.replace(" --activate", "").replace("reboot\n", "")
    with pytest.raises(ValidationError) as info:
        validate_kickstart(text, "ks.cfg")
    assert info.value.problems == info.value.message.splitlines()
    assert len(info.value.problems) == 2


def test_rendered_profile_without_activate_fails_validation():
    ks = render_kickstart(load_profile("centos65-docker", ["network.activate=false"]), salt="x")
    found = check_kickstart(ks.text, "<centos65-docker.ks>")
    assert len(found) == 1
    line = int(found[0].split(":")[1])
    assert found[0].endswith("needs the network during the install, but no 'network ... "
                             "--activate' line brings it up")
    assert ks.text.splitlines()[line - 1]  # names a real line of the kickstart


# --- CLI: exit codes 0 / 1 / 2, one line per error ----------------------------------------------

def kickgen(*args: str, cwd: Path = PROJECT_ROOT, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([str(KICKGEN), *args], cwd=cwd, capture_output=True, text=True,
                          check=False, **kw)


def test_cli_render_to_stdout_and_file(tmp_path):
    result = kickgen("render", "centos65-docker")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("# Kickstart for CentOS 6.5")
    out = tmp_path / "ks.cfg"
    result = kickgen("render", "profiles/centos65-docker.yaml", "-o", str(out))
    assert result.returncode == 0 and out.read_text().startswith("# Kickstart")
    assert list(tmp_path.iterdir()) == [out]  # no temp file left behind


def test_cli_render_failure_leaves_no_output(tmp_path):
    out = tmp_path / "ks.cfg"
    result = kickgen("render", "centos65-docker", "--set", "network.activate=false", "-o", str(out))
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert lines[0].startswith("kickgen: error: <centos65-docker.ks>:")
    assert "--activate" in lines[0] and "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []
    # --no-validate writes it anyway, so the user can read the named line
    result = kickgen("render", "centos65-docker", "--set", "network.activate=false",
                     "--no-validate", "-o", str(out))
    assert result.returncode == 0 and out.is_file()


def test_cli_profile_errors_exit_1_one_line_each(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("extends: el6-base\nsystem:\n  timezone: [a]\nvm:\n  vcpus: x\n")
    result = kickgen("render", str(bad))
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"kickgen: error: {bad}:3:13: system.timezone: expected a string, got a list",
        f"kickgen: error: {bad}:5:10: vm.vcpus: expected an integer, got a string",
    ]
    assert result.stdout == ""


def test_cli_usage_errors_exit_2():
    assert kickgen("render").returncode == 2
    assert kickgen("render", "el6-base", "--bogus").returncode == 2
    result = kickgen("render", "no-such-profile")
    assert result.returncode == 2 and "no profile 'no-such-profile'" in result.stderr
    result = kickgen("render", "el6-base", "--set", "novalue")
    assert result.returncode == 2 and "expected key.path=value" in result.stderr


def test_cli_validate_profile_and_file(tmp_path):
    assert kickgen("validate", "centos65-docker").returncode == 0
    good = tmp_path / "good.ks"
    good.write_text(GOOD)
    result = kickgen("validate", str(good))
    assert result.returncode == 0 and "kickstart is valid" in result.stdout
    bad = tmp_path / "bad.ks"
    bad.write_text(GOOD.replace("reboot\n", ""))
    result = kickgen("validate", str(bad))
    assert result.returncode == 1
    assert result.stderr.splitlines()[0] == (f"kickgen: error: {bad}:19: EL6 rule: no finishing "
                                             "command (reboot, poweroff or halt): the installer "
                                             "would wait at the end")
    assert kickgen("validate", str(tmp_path / "missing.ks")).returncode == 2


def test_cli_profiles_and_show():
    result = kickgen("profiles")
    assert result.returncode == 0
    names = [line.split()[0] for line in result.stdout.splitlines()]
    assert names == ["centos65-docker", "centos65-docker-offline", "el6-base", "standin-docker"]
    result = kickgen("show", "standin-docker", "--set", "vm.vcpus=2")
    assert result.returncode == 0
    data = yaml.safe_load(result.stdout)
    assert data["vm"]["vcpus"] == 2 and data["expect"]["storage_driver"] == "vfs"
    assert data["docker"]["enable_service"] is True  # inherited from centos65-docker


def test_cli_never_prints_plaintext_password(tmp_path):
    profile = tmp_path / "pw.yaml"
    profile.write_text("extends: el6-base\nsystem:\n  rootpw: {env: KICKGEN_TEST_PW}\n")
    env = {"PATH": "/usr/bin:/bin", "KICKGEN_TEST_PW": "Very-Secret-9"}
    for args in (["render", str(profile)], ["show", str(profile)], ["validate", str(profile)],
                 ["render", str(profile), "--set", "system.rootpw=Very-Secret-9"]):
        result = kickgen(*args, env=env)
        assert "Very-Secret-9" not in result.stdout + result.stderr, args
