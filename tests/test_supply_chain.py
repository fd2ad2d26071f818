"""Supply chain of the installed system (issue 13): only signed or pinned packages are installed.

- The profile: `pins` (file name + sha256), and the rules around them.
- The kickstart: hop5's unsigned RPMs and epel-release are downloaded by name and installed only
  when their sha256 is the pin; every signed repo's key is imported before the first install from
  it; a repo of one step is enabled for that step only; no yum command selects repos by wildcard.
- The stand-in's yum, rpm and curl (chrooted into a stand-in root, as in
  tests/test_standin_installer.py) enforce signatures and serve fixed bytes, so the kickstart's
  checks are real: a wrong pin or an unsigned package stops the install.
- `kickgen pin` (folders and a real HTTP server on 127.0.0.1), and the pins held against the
  RPMs an offline profile embeds.
- A boot test (marker vm): a mismatched pin makes the install fail with the one clear line.
"""

from __future__ import annotations

import fnmatch
import functools
import hashlib
import http.server
import re
import shlex
import shutil
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from kickgen.core.errors import MediaError, ProfileError
from kickgen.kickstart.render import render_kickstart
from kickgen.kickstart.validate import check_kickstart
from kickgen.offline import embedded_repos_for
from kickgen.profile import load_profile
from kickgen.profile.pins import pinned_downloads
from ks_helpers import split_kickstart
from paths import PROJECT_ROOT
from test_standin_installer import sh, standin_root  # noqa: F401 - standin_root is a fixture

KICKGEN = Path(sys.executable).parent / "kickgen"
SHIPPED = ("el6-base", "centos65-docker", "centos65-docker-offline", "standin-docker")
KERNEL_RPM = "kernel-ml-aufs-3.10.5-3.el6.x86_64.rpm"
EPEL_RPM = "epel-release-6-8.noarch.rpm"
WRONG = "0" * 64


def kickgen(*args: str, cwd: Path = PROJECT_ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([str(KICKGEN), *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def pins_override(**pins: str) -> str:
    """--set pins=[...] for FILE=SHA256 pairs (keyword names with _ for . and -)."""
    items = ", ".join(f"{{file: {file}, sha256: '{sha}'}}" for file, sha in pins.items())
    return f"pins=[{items}]"


def post_bodies(text: str) -> dict[str, str]:
    _, sections, _ = split_kickstart(text)
    bodies = {}
    for section in sections:
        log = next((a for a in section.args if a.startswith("--log=")), None)
        if section.name == "%post" and log:
            bodies[log.rsplit("ks-post-", 1)[1].removesuffix(".log")] = section.body
    return bodies


def yum_commands(text: str) -> list[list[str]]:
    return [shlex.split(line.split("yum", 1)[1]) for line in text.splitlines()
            if re.search(r"(^|\s)yum -y ", line) and not line.lstrip().startswith("#")]


# --- the profile ------------------------------------------------------------------------------

@pytest.mark.parametrize("override,message", [
    (pins_override(**{KERNEL_RPM: "abc"}), "pins[0].sha256: expected a sha256 in hex (64 digits 0-9 a-f), got 'abc'"),
    (pins_override(**{KERNEL_RPM: WRONG.upper().replace("0", "A")}), "pins[0].sha256: expected a sha256 in hex"),
    (pins_override(**{"../x.rpm": WRONG}), "pins[0].file: expected an RPM file name"),
    (pins_override(**{"kernel.tar": WRONG}), "pins[0].file: expected an RPM file name"),
    (f"pins=[{{file: {KERNEL_RPM}, sha256: '{WRONG}'}}, {{file: {KERNEL_RPM}, sha256: '{'1' * 64}'}}]",
     f"pins: one pin per file: {KERNEL_RPM} pinned more than once"),
    ("aufs_kernel.version=", "aufs_kernel.version: null (the newest) cannot be pinned"),
    ("epel.release_rpm_url=http://m.local/epel/", "epel.release_rpm_url: must end in the .rpm file's name"),
])
def test_pin_values_and_rules_are_checked(override, message):
    with pytest.raises(ProfileError) as info:
        load_profile("centos65-docker", [override])
    assert message in info.value.message, info.value.message


def test_offline_profiles_may_leave_the_kernel_version_open():
    # offline, the kernel comes from the embedded repo: no download, nothing to name
    assert load_profile("centos65-docker-offline", ["aufs_kernel.version="]).aufs_kernel.version is None


def test_shipped_profiles_render_strictly_valid_kickstarts():
    for name in SHIPPED:
        text = render_kickstart(load_profile(name), salt="x").text
        assert check_kickstart(text, f"<{name}>").fails(strict=True) is False, name


# --- the kickstart ----------------------------------------------------------------------------

def test_unsigned_rpms_are_fetched_by_name_and_checked_against_their_pins():
    profile = load_profile("standin-docker", ["aufs_kernel.devel=true"])
    text = render_kickstart(profile, salt="x").text
    fetched = re.findall(r"^\s*kg_fetch (\S+) \"\$kg_dir\"/(\S+) (\S+)$", text, re.M)
    pins = {p.file: p.sha256 for p in profile.pins}
    # exactly what kickgen.profile.pins says (kickgen pin fills the same list)
    assert [(url, file) for url, file, _ in fetched] == [(d.url, d.file) for d in pinned_downloads(profile)]
    assert [file for _, file, _ in fetched] == [KERNEL_RPM, "kernel-ml-aufs-devel-3.10.5-3.el6.x86_64.rpm",
                                                EPEL_RPM]
    assert all(sha == pins[file] for _, file, sha in fetched)
    # no yum repo for hop5 at all: nothing else can come from there
    assert "hop5.repo" not in text and "kickgen-hop5" not in text and "'gpgcheck=0'" not in text
    kernel = post_bodies(text)["aufs-kernel"]
    assert kernel.index("kg_fetch http") < kernel.index("localinstall")
    epel = post_bodies(text)["epel"]
    assert epel.index("kg_fetch http") < epel.index('rpm -Uvh "$kg_dir"/epel-release-6-8.noarch.rpm')


def test_a_missing_pin_renders_a_step_that_stops_before_downloading():
    text = render_kickstart(load_profile("centos65-docker"), salt="x").text
    assert f'"$kg_dir"/{KERNEL_RPM} \'\'' in text          # no pin: an empty one
    assert ('[ -n "$3" ] || kg_fail "no sha256 pin for ${2##*/} in the profile (pins): nothing is installed '
            'unverified; fill the pins from your mirror with: kickgen pin $kg_profile --from MIRROR"') in text


def test_every_signed_repo_key_is_imported_before_the_first_install_from_it():
    text = render_kickstart(load_profile("standin-docker"), salt="x").text
    centos = text.index("rpm --import /etc/pki/rpm-gpg/RPM-GPG-KEY-CentOS-6")
    first_yum = min(m.start() for m in re.finditer(r"yum -y ", text))
    assert centos < first_yum
    epel = text.index("rpm --import /etc/pki/rpm-gpg/RPM-GPG-KEY-EPEL-6")
    assert epel < text.index("--enablerepo=kickgen-epel")
    assert "rpm -q gpg-pubkey-c105b9de" in text and "rpm -q gpg-pubkey-0608b895" in text
    for repo_id in ("kickgen-os", "kickgen-updates", "kickgen-epel", "kickgen.step.devmapper"):
        block = re.search(rf"'\[{re.escape(repo_id)}\]'.*?>/etc/yum\.repos\.d/", text, re.S).group(0)
        assert "'gpgcheck=1'" in block and "gpgkey=file:///etc/pki/rpm-gpg/RPM-GPG-KEY-" in block, repo_id


def test_a_step_repo_is_enabled_for_its_step_only_and_no_command_uses_a_wildcard():
    text = render_kickstart(load_profile("standin-docker"), salt="x").text
    step = "kickgen.step.devmapper"
    assert re.search(rf"'\[{re.escape(step)}\]'.*'enabled=0'", text, re.S)
    assert not fnmatch.fnmatchcase(step, "kickgen-*")
    commands = yum_commands(text)
    assert len(commands) == 3
    for argv in commands:
        assert argv[1] == "--disablerepo=*"
        enabled = [a.split("=", 1)[1] for a in argv if a.startswith("--enablerepo=")]
        assert enabled and not any(set(e) & set("*?[") for e in enabled), argv
        assert (step in enabled) == ("update" in argv), argv
    # the installed system keeps the profile's signed repos only
    final = post_bodies(text)["repos-final"]
    assert "kg_keep=' kickgen-os kickgen-updates kickgen-epel '" in final


# --- the stand-in's yum, rpm and curl (chroot) --------------------------------------------------

@pytest.fixture
def chroot_root(standin_root: Path) -> Path:
    """The installed stand-in system, as tests/test_standin_installer.py lays it out."""
    return standin_root


def _run_steps(root: Path, text: str, steps=("repos", "aufs-kernel", "epel", "docker", "repos-final")):
    """Run kickgen's chroot %post scripts as the stand-in installer does; the first failure stops."""
    bodies = post_bodies(text)
    results = {}
    for name in steps:
        (root / "tmp" / "post.sh").write_text(bodies[name])
        results[name] = sh(root, "/bin/sh /tmp/post.sh")
        if results[name].returncode != 0:
            break
    return results


def test_the_mission_steps_install_on_the_standin(chroot_root):
    text = render_kickstart(load_profile("standin-docker"), salt="x").text
    results = _run_steps(chroot_root, text)
    assert all(r.returncode == 0 for r in results.values()), {k: r.stdout[-1500:] for k, r in results.items()}
    assert f"kickgen: aufs-kernel: sha256 ok: {KERNEL_RPM} (09a7fc62" in results["aufs-kernel"].stdout
    assert f"kickgen: epel: sha256 ok: {EPEL_RPM} (d54904e9" in results["epel"].stdout
    query = sh(chroot_root, "rpm -q kernel-ml-aufs epel-release docker-io device-mapper-libs gpg-pubkey-c105b9de "
                             "gpg-pubkey-0608b895")
    assert query.returncode == 0, query.stdout
    # docker-io came from the EPEL repo, its dependencies from CentOS's, each signed by its key
    docker = results["docker"].stdout
    assert re.search(r"^ docker-io +x86_64 +1\.7\.1-2\.el6 +kickgen-epel$", docker, re.M), docker
    assert re.search(r"^ bridge-utils +x86_64 +\S+ +kickgen-os$", docker, re.M), docker
    assert re.search(r"^ device-mapper-libs +x86_64 +\S+ +kickgen-os$", docker, re.M), docker
    assert "Importing GPG key" not in docker          # both keys were imported by the kickstart first
    assert not list((chroot_root / "tmp").glob("kickgen-pinned.*"))


def test_the_offline_mission_steps_install_with_the_media_repo_signed(chroot_root, mission_rpms):
    """Offline: the embedded repos are gpgcheck=0 (bound by their repodata), the install media's
    repo (kickgen-media) is gpgcheck=1: its packages need the CentOS key the repos step imports."""
    from test_offline_standin import lay_out_offline_repos

    lay_out_offline_repos(chroot_root, mission_rpms)
    for f in (chroot_root / "etc/yum.repos.d").glob("kickgen-*.repo"):
        f.unlink()                                  # the kickstart writes its own
    text = render_kickstart(load_profile("centos65-docker-offline"), salt="x").text
    results = _run_steps(chroot_root, text)
    assert all(r.returncode == 0 for r in results.values()), {k: r.stdout[-1500:] for k, r in results.items()}
    media = (chroot_root / "etc/yum.repos.d/kickgen-media.repo").read_text()
    assert "gpgcheck=1\n" in media and "enabled=0\n" in media
    docker = results["docker"].stdout
    assert re.search(r"^ bridge-utils +x86_64 +1\.2-10\.el6 +kickgen-media$", docker, re.M), docker
    assert "Importing GPG key" not in docker
    # without the CentOS key, the media's signed packages are refused
    assert sh(chroot_root, "rpm -e bridge-utils xz && rm -rf /var/lib/rpm/standin-keys").returncode == 0
    again = sh(chroot_root, "yum -y --disablerepo='*' --enablerepo=kickgen-media install bridge-utils")
    assert again.returncode == 0 and "Importing GPG key 0xC105B9DE:" in again.stdout   # from its gpgkey=
    assert sh(chroot_root, "rpm -e bridge-utils && rm -rf /var/lib/rpm/standin-keys "
                           "/etc/pki/rpm-gpg/RPM-GPG-KEY-CentOS-6").returncode == 0
    refused = sh(chroot_root, "yum -y --disablerepo='*' --enablerepo=kickgen-media install bridge-utils")
    assert refused.returncode == 1 and refused.stderr == (
        "\n\nGPG key retrieval failed: [Errno 14] Could not open/read file:///etc/pki/rpm-gpg/RPM-GPG-KEY-CentOS-6\n")


@pytest.mark.parametrize("step,file", [("aufs-kernel", KERNEL_RPM), ("epel", EPEL_RPM)])
def test_a_wrong_pin_stops_the_step_with_one_clear_line(chroot_root, step, file):
    pins = {KERNEL_RPM: "09a7fc6264325ab345898e17dd1c378fe9b39a6312d2fe75f2e7cd1fd3594fb5",
            EPEL_RPM: "d54904e9eaf7898bee0392f8e68c0a2cbd29d2b5a90a7599bb12379245d30d96"}
    actual = pins[file]
    pins[file] = WRONG
    text = render_kickstart(load_profile("standin-docker", [pins_override(**pins)]), salt="x").text
    results = _run_steps(chroot_root, text)
    assert results[step].returncode == 1
    url = next(d.url for d in pinned_downloads(load_profile("standin-docker")) if d.file == file)
    line = (f"kickgen: {step}: FAILED: sha256 mismatch for {file} from {url}: got {actual}, "
            f"the profile pins {WRONG}; not installed")
    assert line in results[step].stdout.splitlines()                                # the --log file
    assert line in (chroot_root / "dev/console").read_text().splitlines()          # the console
    name = file.split("-3.10")[0] if step == "aufs-kernel" else "epel-release"
    assert sh(chroot_root, f"rpm -q {name}").returncode == 1                       # nothing installed
    if step == "epel":
        assert sh(chroot_root, "rpm -q gpg-pubkey-0608b895").returncode == 1       # nor its key trusted


def test_a_missing_pin_stops_the_step_before_any_download(chroot_root):
    text = render_kickstart(load_profile("standin-docker", ["pins=[]"]), salt="x").text
    results = _run_steps(chroot_root, text)
    assert results["aufs-kernel"].returncode == 1
    assert (f"kickgen: aufs-kernel: FAILED: no sha256 pin for {KERNEL_RPM} in the profile (pins): nothing is "
            "installed unverified; fill the pins from your mirror with: kickgen pin standin-docker --from MIRROR"
            ) in results["aufs-kernel"].stdout
    assert "step: download" not in results["aufs-kernel"].stdout
    assert not any(any(p.iterdir()) for p in (chroot_root / "tmp").glob("kickgen-pinned.*"))


def test_standin_curl_serves_the_pinned_bytes_and_nothing_else(chroot_root):
    pins = {p.file: p.sha256 for p in load_profile("standin-docker").pins}
    for file, sha in pins.items():
        got = sh(chroot_root, f"curl -fsSL -o /tmp/x.rpm http://mirror.example/el6/{file} && sha256sum /tmp/x.rpm")
        assert got.returncode == 0 and got.stdout.split()[0] == sha, (file, got.stdout, got.stderr)
    missing = sh(chroot_root, "curl -fsS -o /tmp/y.rpm http://mirror.example/kernel-ml-aufs-3.10.6-1.el6.x86_64.rpm")
    assert (missing.returncode, missing.stderr) == (22, "curl: (22) The requested URL returned error: 404\n")
    quiet = sh(chroot_root, "curl -fs -o /tmp/y.rpm http://mirror.example/nothing.rpm")
    assert (quiet.returncode, quiet.stderr) == (22, "")


def _repo(root: Path, repo_id: str, *, gpgcheck: int | None, gpgkey: str | None = None,
          url: str = "http://mirror.example/x/", enabled: int = 1) -> None:
    lines = [f"[{repo_id}]", f"name={repo_id}", f"baseurl={url}", f"enabled={enabled}"]
    if gpgcheck is not None:
        lines.append(f"gpgcheck={gpgcheck}")
    if gpgkey:
        lines.append(f"gpgkey={gpgkey}")
    (root / "etc/yum.repos.d" / f"{repo_id}.repo").write_text("\n".join(lines) + "\n")


CENTOS_KEY = "file:///etc/pki/rpm-gpg/RPM-GPG-KEY-CentOS-6"
ONLY = "yum -y --disablerepo='*' --enablerepo=t"


@pytest.mark.parametrize("gpgcheck,gpgkey,command,rc,out,err", [
    # unsigned package, repo checks signatures: refused before anything is installed
    (1, None, f"{ONLY} install kernel-ml-aufs", 1, "", "\n\nPackage kernel-ml-aufs-3.10.5-3.el6.x86_64.rpm is not signed\n"),
    (1, CENTOS_KEY, f"{ONLY} install kernel-ml-aufs", 1, "", "\n\nPackage kernel-ml-aufs-3.10.5-3.el6.x86_64.rpm is not signed\n"),
    # no gpgcheck= line: [main]'s (gpgcheck=1 in the stand-in's yum.conf, as in CentOS's)
    (None, None, f"{ONLY} install kernel-ml-aufs", 1, "", "\n\nPackage kernel-ml-aufs-3.10.5-3.el6.x86_64.rpm is not signed\n"),
    # the repo does not check, or the command says not to
    (0, None, f"{ONLY} install kernel-ml-aufs", 0, "Complete!", ""),
    (1, None, f"{ONLY} --nogpgcheck install kernel-ml-aufs", 0, "Complete!", ""),
    # signed, key not trusted and no gpgkey to import it from
    (1, None, f"{ONLY} install xz", 1, "key ID c105b9de: NOKEY",
     "\n\nPublic key for xz-4.999.9-0.5.beta.20091007git.el6.x86_64.rpm is not installed\n"),
    # signed, the repo's key imported with -y (yum prints what it imports), then installed
    (1, CENTOS_KEY, f"{ONLY} install xz", 0, "Importing GPG key 0xC105B9DE:\n Userid : CentOS-6 Key", ""),
    # ... but not without -y (no terminal to ask)
    (1, CENTOS_KEY, "echo y | yum --disablerepo='*' --enablerepo=t install xz", 1, "Is this ok [y/N]: ",
     "\n\nRefusing to automatically import keys when running unattended.\nUse \"-y\" to override.\n"),
    # the wrong key, or a key file that is not there
    (1, CENTOS_KEY, f"{ONLY} install docker-io", 1, "Import of key(s) didn't help, wrong key(s)?",
     "\n\nPublic key for docker-io-1.7.1-2.el6.x86_64.rpm is not installed\n"),
    (1, "file:///etc/pki/rpm-gpg/RPM-GPG-KEY-nothing", f"{ONLY} install xz", 1, "",
     "\n\nGPG key retrieval failed: [Errno 14] Could not open/read file:///etc/pki/rpm-gpg/RPM-GPG-KEY-nothing\n"),
    # a network key URL: the stand-in has no network
    (1, "http://keys.example/KEY", f"{ONLY} install xz", 1, "",
     "\n\nGPG key retrieval failed: [Errno 14] Could not open/read http://keys.example/KEY\n"),
    # an --enablerepo that names no repo
    (1, None, "yum -y --disablerepo='*' --enablerepo=nosuch install xz", 1, "",
     "Error getting repository data for nosuch, repository not found\n"),
])
def test_standin_yum_enforces_signatures(chroot_root, gpgcheck, gpgkey, command, rc, out, err):
    _repo(chroot_root, "t", gpgcheck=gpgcheck, gpgkey=gpgkey)
    result = sh(chroot_root, command)
    assert result.returncode == rc, (result.stdout[-800:], result.stderr)
    assert out in result.stdout
    assert result.stderr == err if rc else "Error" not in result.stderr
    name = command.rsplit(" ", 1)[1]
    assert (sh(chroot_root, f"rpm -q {name}").returncode == 0) == (rc == 0)


def test_standin_yum_local_packages_follow_localpkg_gpgcheck(chroot_root):
    _repo(chroot_root, "t", gpgcheck=1, gpgkey=CENTOS_KEY)
    sh(chroot_root, f"curl -fsS -o /tmp/{KERNEL_RPM} http://m.example/{KERNEL_RPM}")
    local = f"yum -y --disablerepo='*' --enablerepo=t localinstall /tmp/{KERNEL_RPM}"
    yum_conf = chroot_root / "etc/yum.conf"
    yum_conf.write_text(yum_conf.read_text().replace("gpgcheck=1\n", "gpgcheck=1\nlocalpkg_gpgcheck=1\n"))
    refused = sh(chroot_root, local)
    assert (refused.returncode, refused.stderr) == (1, f"\n\nPackage {KERNEL_RPM} is not signed\n")
    yum_conf.write_text(yum_conf.read_text().replace("localpkg_gpgcheck=1\n", ""))   # yum's default: 0
    assert sh(chroot_root, local).returncode == 0
    assert sh(chroot_root, "rpm -q kernel-ml-aufs").stdout == "kernel-ml-aufs-3.10.5-3.el6.x86_64\n"


def test_standin_rpm_import_trusts_keys_as_gpg_pubkey_packages(chroot_root):
    assert sh(chroot_root, "rpm -q gpg-pubkey").stdout == "package gpg-pubkey is not installed\n"
    missing = sh(chroot_root, "rpm --import /etc/pki/rpm-gpg/RPM-GPG-KEY-nothing")
    assert (missing.returncode, missing.stderr) == (1, "error: /etc/pki/rpm-gpg/RPM-GPG-KEY-nothing: import read failed(2).\n")
    not_key = sh(chroot_root, "rpm --import /etc/hosts")
    assert (not_key.returncode, not_key.stderr) == (1, "error: /etc/hosts: import read failed(-1).\n")
    ok = sh(chroot_root, "rpm --import /etc/pki/rpm-gpg/RPM-GPG-KEY-CentOS-6 && rpm -q gpg-pubkey-c105b9de && "
                          "rpm -qa 'gpg-pubkey*'")
    assert ok.returncode == 0, ok.stderr
    lines = ok.stdout.splitlines()
    assert len(lines) == 2 and lines[0] == lines[1] and re.fullmatch(r"gpg-pubkey-c105b9de-[0-9a-f]{8}", lines[0])
    assert sh(chroot_root, "rpm -q gpg-pubkey-0608b895").returncode == 1


# --- kickgen pin -------------------------------------------------------------------------------

@pytest.fixture
def rpm_folder(mission_rpms, tmp_path) -> Path:
    """A mirror folder: the kernel at the top, epel-release one level down (as in Packages/)."""
    folder = tmp_path / "mirror"
    (folder / "Packages").mkdir(parents=True)
    shutil.copy(mission_rpms["aufs-kernel"] / KERNEL_RPM, folder / KERNEL_RPM)
    shutil.copy(mission_rpms["epel"] / EPEL_RPM, folder / "Packages" / EPEL_RPM)
    return folder


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class _Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:   # quiet test output
        pass


@pytest.fixture
def http_mirror(rpm_folder):
    """A real HTTP server on 127.0.0.1 serving rpm_folder; yields its base URL."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                             functools.partial(_Handler, directory=str(rpm_folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def test_pin_prints_the_pins_of_a_folder(rpm_folder):
    result = kickgen("pin", "centos65-docker", "--from", str(rpm_folder))
    assert result.returncode == 0, result.stderr
    kernel, epel = _sha(rpm_folder / KERNEL_RPM), _sha(rpm_folder / "Packages" / EPEL_RPM)
    assert result.stdout == (
        "pins:\n"
        f"  - file: {KERNEL_RPM}            # aufs_kernel, from {rpm_folder / KERNEL_RPM}\n"
        f"    sha256: '{kernel}'\n"
        f"  - file: {EPEL_RPM}            # epel.release_rpm_url, from {rpm_folder / 'Packages' / EPEL_RPM}\n"
        f"    sha256: '{epel}'\n")
    assert f"kickgen: pinned {KERNEL_RPM} (sha256 {kernel}) from {rpm_folder / KERNEL_RPM}" in result.stderr
    whole = kickgen("pin", "centos65-docker", "--from", str(rpm_folder), "-o", "-", "-q")
    assert whole.returncode == 0 and whole.stderr == ""
    assert "\nextends: centos65-docker\npins:\n" in whole.stdout and whole.stdout.endswith(result.stdout[5:])


def test_pin_from_a_mirror_writes_a_profile_that_installs_only_those_bytes(http_mirror, rpm_folder, tmp_path):
    out = tmp_path / "site.yaml"
    result = kickgen("pin", "centos65-docker", "--from", http_mirror, "--from", http_mirror + "Packages",
                     "-o", str(out), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    text = out.read_text()
    assert "\nextends: centos65-docker\n" in text and f"from {http_mirror}{KERNEL_RPM}" in text
    profile = load_profile(str(out))
    assert {p.file: p.sha256 for p in profile.pins} == {
        KERNEL_RPM: _sha(rpm_folder / KERNEL_RPM), EPEL_RPM: _sha(rpm_folder / "Packages" / EPEL_RPM)}
    ks = render_kickstart(profile, salt="x").text
    assert f'"$kg_dir"/{KERNEL_RPM} {_sha(rpm_folder / KERNEL_RPM)}' in ks
    # pinning again from the same bytes: the same pins
    again = kickgen("pin", str(out), "--from", str(rpm_folder))
    assert again.returncode == 0 and _sha(rpm_folder / KERNEL_RPM) in again.stdout


def test_pin_refuses_a_changed_file_and_wrong_or_missing_files(rpm_folder, tmp_path, mission_rpms):
    out = tmp_path / "site.yaml"
    assert kickgen("pin", "centos65-docker", "--from", str(rpm_folder), "-o", str(out)).returncode == 0
    before = out.read_text()
    # the mirror's kernel changed since it was pinned: refused, nothing written
    shutil.copy(mission_rpms["updates"] / "libcgroup-0.40.rc1-15.el6_6.x86_64.rpm", rpm_folder / KERNEL_RPM)
    changed = kickgen("pin", str(out), "--from", str(rpm_folder), "-o", str(tmp_path / "new.yaml"))
    assert changed.returncode == 1
    assert changed.stderr.splitlines()[0] == (
        f"kickgen: error: {rpm_folder / KERNEL_RPM}: the RPM inside is libcgroup-0.40.rc1-15.el6_6.x86_64.rpm, "
        f"not {KERNEL_RPM}")
    # a file that is no RPM (an error page saved under the name)
    (rpm_folder / KERNEL_RPM).write_text("<html>404</html>\n")
    page = kickgen("pin", "centos65-docker", "--from", str(rpm_folder))
    assert page.returncode == 1 and "not an RPM file" in page.stderr.splitlines()[0]
    (rpm_folder / KERNEL_RPM).unlink()
    gone = kickgen("pin", "centos65-docker", "--from", str(rpm_folder))
    assert gone.returncode == 1
    assert gone.stderr.splitlines()[0] == (f"kickgen: error: {KERNEL_RPM} (aufs_kernel) not found: tried "
                                           f"{rpm_folder}/**/{KERNEL_RPM}")
    assert out.read_text() == before and not (tmp_path / "new.yaml").exists()


def test_pin_never_replaces_a_pin_with_different_bytes(rpm_folder, tmp_path):
    profile = tmp_path / "p.yaml"
    profile.write_text(f"extends: centos65-docker\npins:\n  - file: {KERNEL_RPM}\n    sha256: '{WRONG}'\n")
    result = kickgen("pin", str(profile), "--from", str(rpm_folder))
    assert result.returncode == 1
    assert result.stderr.splitlines()[0] == (
        f"kickgen: error: {KERNEL_RPM} from {rpm_folder / KERNEL_RPM} has sha256 {_sha(rpm_folder / KERNEL_RPM)}, "
        f"but profile p pins {WRONG}: the file changed")


def test_pin_output_and_source_problems(rpm_folder, tmp_path):
    profile = tmp_path / "p.yaml"
    profile.write_text("extends: centos65-docker\n")
    onto_input = kickgen("pin", str(profile), "--from", str(rpm_folder), "-o", str(profile))
    assert onto_input.returncode == 2 and "kickgen: error: -o " in onto_input.stderr
    assert profile.read_text() == "extends: centos65-docker\n"
    nowhere = kickgen("pin", "centos65-docker", "--from", str(tmp_path / "nothing"))
    assert (nowhere.returncode, nowhere.stderr.splitlines()[0]) == (
        2, f"kickgen: error: --from {tmp_path / 'nothing'}: no such folder")
    scheme = kickgen("pin", "centos65-docker", "--from", "gopher://x/")
    assert scheme.returncode == 2 and "only http://, https://, ftp:// and file:// URLs" in scheme.stderr
    none = kickgen("pin", "el6-base")
    assert none.returncode == 2 and "downloads nothing that is pinned" in none.stderr
    with socket.socket() as s:                   # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    refused = kickgen("pin", "centos65-docker", "--from", f"http://127.0.0.1:{port}/")
    assert refused.returncode == 2
    assert refused.stderr.startswith(f"kickgen: error: http://127.0.0.1:{port}/{KERNEL_RPM}: cannot fetch: ")
    assert len(refused.stderr.splitlines()) == 2      # the error and its hint, no traceback


def test_pin_reads_an_offline_profiles_embedded_folders(mission_rpms, tmp_path):
    profile = tmp_path / "off.yaml"
    profile.write_text("extends: centos65-docker-offline\nmedia:\n  embed:\n"
                       + "".join(f"    {repo}: {folder}\n" for repo, folder in mission_rpms.items()))
    result = kickgen("pin", str(profile))
    assert result.returncode == 0, result.stderr
    assert f"sha256: '{_sha(mission_rpms['aufs-kernel'] / KERNEL_RPM)}'" in result.stdout
    assert f"sha256: '{_sha(mission_rpms['epel'] / EPEL_RPM)}'" in result.stdout


def test_embedded_rpms_of_a_pinned_name_must_match_the_pin(mission_rpms, tmp_path):
    embed = "media.embed={" + ", ".join(f"{r}: {f}" for r, f in mission_rpms.items()) + "}"
    good = load_profile("centos65-docker-offline",
                        [embed, pins_override(**{KERNEL_RPM: _sha(mission_rpms["aufs-kernel"] / KERNEL_RPM)})])
    assert embedded_repos_for(good) is not None
    bad = load_profile("centos65-docker-offline", [embed, pins_override(**{EPEL_RPM: WRONG})])
    with pytest.raises(MediaError) as info:
        embedded_repos_for(bad)
    assert info.value.message == (
        f"media.embed.epel: {mission_rpms['epel'] / EPEL_RPM} has sha256 {_sha(mission_rpms['epel'] / EPEL_RPM)}, "
        f"but the profile pins {WRONG} for {EPEL_RPM} (pins)")


# --- boot test --------------------------------------------------------------------------------

@pytest.mark.vm
@pytest.mark.timeout(900)
def test_a_mismatched_pin_fails_the_install_with_the_clear_line(standin_dvd, tmp_path):
    from kickgen.pipeline import build_media
    from kickgen.vm.harness import boot_test
    from libvirt_checks import assert_nothing_left

    # every other pin kept: kickgen iso builds no media with a missing pin
    pins = {pin.file: pin.sha256 for pin in load_profile("standin-docker").pins} | {KERNEL_RPM: WRONG}
    profile = load_profile("standin-docker", [pins_override(**pins)])
    made = build_media(profile, standin_dvd, tmp_path / "wrong-pin.iso")
    result = boot_test(made.output, profile, timeout_install=600, stall_seconds=180, artifacts=tmp_path / "run")
    install = result.phases[0]
    assert install.outcome == "failed", result.verdict
    assert install.reason.startswith("a %post --erroronfail script failed: "), install.reason
    line = (f"kickgen: aufs-kernel: FAILED: sha256 mismatch for {KERNEL_RPM} from http://www.hop5.in/yum/el6/"
            f"{KERNEL_RPM}: got 09a7fc6264325ab345898e17dd1c378fe9b39a6312d2fe75f2e7cd1fd3594fb5, the profile "
            f"pins {WRONG}; not installed")
    assert any(excerpt.endswith(line) for excerpt in install.excerpt), install.excerpt    # in the report
    assert line in Path(install.serial_log).read_text(errors="replace")                 # on the console
    assert result.phases[1].outcome == "not-run"
    assert result.exit_code == 1
    assert_nothing_left(result)


def test_media_that_would_stop_at_an_unpinned_download_is_not_built(tiny_hybrid, tmp_path):
    """The shipped online mission has no pins (only the user's mirror can say what its bytes
    are): `kickgen iso` refuses it before any work, naming the files and the command that pins them."""
    out = tmp_path / "mission.iso"
    result = subprocess.run([str(KICKGEN), "iso", "centos65-docker", "--base", str(tiny_hybrid), "-o", str(out)],
                            capture_output=True, text=True)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    first, hint = result.stderr.splitlines()[:2]
    assert "pins: no sha256 pin for kernel-ml-aufs-" in first and "epel-release-6-8.noarch.rpm" in first
    assert "kickgen pin centos65-docker --from MIRROR" in hint
    assert list(tmp_path.iterdir()) == []
    # a --ks kickstart is the user's own: its downloads are not kickgen's to pin
    ks = tmp_path / "ks.cfg"
    ks.write_text(render_kickstart(load_profile("centos65-docker"), salt="x").text)
    result = subprocess.run([str(KICKGEN), "iso", "centos65-docker", "--base", str(tiny_hybrid), "-o", str(out),
                             "--ks", str(ks), "-q"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
