"""Root password hashes and the reproducible salt.

Hashes are checked against implementations independent of the library that made them:
`openssl passwd -6` and glibc's own crypt(3) (libcrypt, through ctypes). The salt must make
kickstarts and ISOs depend on the profile's content only (not on where its file lives) and
never on the plaintext password.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kickgen.core.el6 import CRYPT_SHA512, KS_PATH
from kickgen.kickstart import render_kickstart, reproducible_salt
from kickgen.kickstart.password import SALT_ALPHABET, hash_plaintext, root_password_hash, salt_from_public_text
from kickgen.pipeline import build_media, kickstart_for
from kickgen.profile import load_profile
from remaster_fixtures import isoinfo_extract, tiny_hybrid  # noqa: F401 (fixture)

KICKGEN = Path(sys.executable).parent / "kickgen"
PASSWORDS = ["s3cret", "correct horse battery staple", "ünïcødé-paß", "x", "a" * 200, "$6$;'\"\\"]
SALTS = ["saltsalt", "abc", "./09AZaz", "0123456789abcdef"]


def openssl_sha512_crypt(password: str, salt: str) -> str:
    """`openssl passwd -6` (5000 rounds, no rounds= field): another implementation entirely."""
    assert shutil.which("openssl"), "openssl is needed to cross-check the hashes (debian-packages.txt)"
    proc = subprocess.run(["openssl", "passwd", "-6", "-salt", salt, "-stdin"], input=password.encode(),
                          capture_output=True, check=True)
    return proc.stdout.decode().strip()


def glibc_crypt(password: str, setting: str) -> str:
    """crypt(3) from libcrypt, the library EL6's own login checks hashes with."""
    name = ctypes.util.find_library("crypt")
    if name is None:
        pytest.skip("no libcrypt on this machine (openssl cross-check still runs)")
    lib = ctypes.CDLL(name)
    lib.crypt.restype = ctypes.c_char_p
    lib.crypt.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
    return lib.crypt(password.encode(), setting.encode()).decode()


def salt_of(crypt_hash: str) -> str:
    return crypt_hash.split("$")[2]


# --- the hash itself, against independent implementations ------------------------------------

@pytest.mark.parametrize("password", PASSWORDS)
@pytest.mark.parametrize("salt", SALTS)
def test_hash_equals_openssl(password, salt):
    ours = hash_plaintext(password, salt=salt)
    assert CRYPT_SHA512.fullmatch(ours) and ours.startswith(f"$6${salt}$")
    assert ours == openssl_sha512_crypt(password, salt)


@pytest.mark.parametrize("password", PASSWORDS[:3])
def test_random_salt_hash_equals_openssl_and_glibc(password):
    ours = hash_plaintext(password)
    salt = salt_of(ours)
    assert len(salt) == 16 and all(c in SALT_ALPHABET for c in salt)
    assert ours == openssl_sha512_crypt(password, salt)
    assert ours == glibc_crypt(password, ours)            # glibc re-hashes with the salt in `ours`


def test_other_password_or_salt_gives_another_hash():
    ours = hash_plaintext("s3cret", salt="saltsalt")
    assert ours != openssl_sha512_crypt("s3creT", "saltsalt")
    assert ours != openssl_sha512_crypt("s3cret", "saltsalu")
    assert glibc_crypt("s3creT", ours) != ours
    assert hash_plaintext("s3cret") != hash_plaintext("s3cret")   # random salts differ


@pytest.mark.parametrize("salt", ["", "has space", "semi;colon", "x" * 17, "dollar$"])
def test_bad_salt_refused(salt):
    with pytest.raises(ValueError, match="salt must be 1-16 characters"):
        hash_plaintext("pw", salt=salt)


def test_no_crypt_module_and_no_deprecation_warning():
    """Python 3.13 removed `crypt`; passlib 1.7 imported it (with a DeprecationWarning)."""
    code = ("import sys; from kickgen.kickstart.password import hash_plaintext; "
            "hash_plaintext('pw'); hash_plaintext('pw', salt='abc'); "
            "assert 'crypt' not in sys.modules and '_crypt' not in sys.modules, 'crypt imported'")
    proc = subprocess.run([sys.executable, "-W", "error::DeprecationWarning", "-c", code],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


# --- the profile's reference: {env: VAR} or {file: PATH} --------------------------------------

HASH = "$6$abcdefgh$" + "A" * 86


def test_rootpw_from_env_is_hashed(tmp_path, monkeypatch):
    path = tmp_path / "x.yaml"
    path.write_text("system:\n  rootpw: {env: KICKGEN_TEST_PW}\n")
    monkeypatch.setenv("KICKGEN_TEST_PW", "s3cret")
    pw = load_profile(path).system.rootpw
    assert "s3cret" not in repr(pw)
    fixed = root_password_hash(pw, salt="saltsalt")
    assert fixed == openssl_sha512_crypt("s3cret", "saltsalt")
    assert fixed == root_password_hash(pw, salt="saltsalt")          # reproducible
    one, two = root_password_hash(pw), root_password_hash(pw)        # random salt
    assert one != two and glibc_crypt("s3cret", one) == one
    monkeypatch.setenv("KICKGEN_TEST_PW", "s3creT")                   # negative
    assert root_password_hash(pw, salt="saltsalt") != fixed


def test_rootpw_from_file_relative_to_profile(tmp_path):
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "pw").write_text("filepass\nignored second line\n")
    path = tmp_path / "x.yaml"
    path.write_text("system:\n  rootpw: {file: secrets/pw}\n")
    pw = load_profile(path).system.rootpw
    assert pw.file == tmp_path / "secrets" / "pw"
    assert root_password_hash(pw, salt="abc") == openssl_sha512_crypt("filepass", "abc")


def test_a_given_hash_is_returned_unchanged(tmp_path):
    path = tmp_path / "x.yaml"
    path.write_text(f"system:\n  rootpw: {{hash: '{HASH}'}}\n")
    assert root_password_hash(load_profile(path).system.rootpw, salt="abc") == HASH


# --- the reproducible salt -------------------------------------------------------------------

def site_profile(folder: Path, how: str, password: str = "pw-one", timezone: str = "UTC") -> Path:
    """The same site profile (password in a file beside it, an extra file for the ISO) in FOLDER,
    extending a parent copied beside it, or a shipped profile by name."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "rootpw.txt").write_text(password + "\n")
    (folder / "files").mkdir(exist_ok=True)
    (folder / "files" / "motd").write_text("welcome\n")
    site = ("system:\n  rootpw: {file: rootpw.txt}\n  timezone: " + timezone + "\n"
            "media:\n  add: [{src: files/motd, dest: /extra/motd}]\n")
    if how == "beside":
        (folder / "parent.yaml").write_text("extends: standin-docker\ndescription: parent\n"
                                            "vm: {vcpus: 2}\n")
        parent = "parent"
    else:
        parent = "standin-docker"
    path = folder / "site.yaml"
    path.write_text(f"extends: {parent}\n{site}")
    return path


@pytest.mark.parametrize("how", ["beside", "shipped"])
def test_same_profile_in_two_folders_gives_the_same_kickstart(tmp_path, how):
    one = load_profile(site_profile(tmp_path / "a", how))
    two = load_profile(site_profile(tmp_path / "elsewhere" / "b", how))
    assert one.source != two.source and one.system.rootpw.file != two.system.rootpw.file
    text = kickstart_for(one)
    assert text == kickstart_for(two)
    assert "rootpw --iscrypted $6$" in text and str(tmp_path) not in text
    # the password is really the file's: glibc checks it with the salt kickgen chose
    rootpw = next(line.split()[-1] for line in text.splitlines() if line.startswith("rootpw "))
    assert glibc_crypt("pw-one", rootpw) == rootpw
    assert salt_of(rootpw) == reproducible_salt(one)


def test_salt_does_not_depend_on_the_password(tmp_path):
    one = load_profile(site_profile(tmp_path / "a", "shipped", password="pw-one"))
    two = load_profile(site_profile(tmp_path / "b", "shipped", password="pw-two"))
    assert reproducible_salt(one) == reproducible_salt(two)
    hash_one = root_password_hash(one.system.rootpw, salt=reproducible_salt(one))
    hash_two = root_password_hash(two.system.rootpw, salt=reproducible_salt(two))
    assert hash_one != hash_two                              # negative: another password shows
    assert kickstart_for(one) != kickstart_for(two)


def test_salt_follows_every_non_secret_setting(tmp_path):
    utc = load_profile(site_profile(tmp_path / "a", "shipped"))
    berlin = load_profile(site_profile(tmp_path / "b", "shipped", timezone="Europe/Berlin"))
    assert reproducible_salt(utc) != reproducible_salt(berlin)
    assert reproducible_salt(utc) != reproducible_salt(utc, media_label="OTHER_LABEL")
    assert reproducible_salt(utc) == reproducible_salt(load_profile(utc.source))   # stable


def test_salt_is_16_crypt_characters_from_the_text():
    salt = salt_from_public_text("some kickstart")
    assert len(salt) == 16 and all(c in SALT_ALPHABET for c in salt)
    assert salt == salt_from_public_text("some kickstart")
    assert salt != salt_from_public_text("some kickstart ")


def test_a_given_hash_is_used_as_is(tmp_path):
    profile = load_profile("el6-base")
    text = render_kickstart(profile, salt=reproducible_salt(profile)).text
    assert f"rootpw --iscrypted {profile.system.rootpw.hash}\n" in text


def test_iso_is_byte_identical_wherever_the_profile_lives(tmp_path, tiny_hybrid):  # noqa: F811
    isos = []
    for folder in (tmp_path / "a", tmp_path / "deeper" / "b"):
        profile = load_profile(site_profile(folder, "beside"))
        isos.append(build_media(profile, tiny_hybrid, folder / "out.iso").output)
    assert isos[0].read_bytes() == isos[1].read_bytes()
    # `kickgen render` gives the kickstart the ISO carries (same salt, same media label)
    render = subprocess.run([str(KICKGEN), "render", str(tmp_path / "a" / "site.yaml")],
                            capture_output=True, text=True, env={**os.environ})
    assert render.returncode == 0, render.stderr
    assert isoinfo_extract(isos[0], KS_PATH, "rr").decode() == render.stdout
    # negative: another password gives another ISO
    other = load_profile(site_profile(tmp_path / "c", "beside", password="pw-two"))
    assert build_media(other, tiny_hybrid, tmp_path / "c.iso").output.read_bytes() != isos[0].read_bytes()
