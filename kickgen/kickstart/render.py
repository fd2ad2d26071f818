"""Profile -> EL6 kickstart text, with Jinja2 (StrictUndefined). No I/O but reading templates.

Public entry point: `render_kickstart(profile, *, salt=None, media_label=None) -> Kickstart`.

Values reach the kickstart through filters that refuse anything able to break out of its
place (`ksword`, `kscomment`, `ksbody`) or quote it for the shell (`sh`). The profile
loader already refused such values with their key path; the filters are the second line.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import jinja2

from kickgen.core.el6 import (
    CRYPT_SHA512,
    DEFAULT_VOLUME_ID,
    INSTALLED_ROOT,
    INSTALLER_KS,
    ISO_ROOT,
    KEPT_KS,
    KICKGEN_POST_SCRIPTS,
    KICKGEN_PRE_SCRIPTS,
    KS_PATH,
    MEDIA_BIND,
    MEDIA_MOUNT,
    MEDIA_OWN_MOUNT,
    STORAGE_INCLUDE,
    SYSIMAGE,
    VOLUME_ID,
    VOLUME_ID_TEXT,
    YUM_REPOS_DIR,
    OfflineRepo,
)
from kickgen.core.errors import TemplateError
from kickgen.core.resources import package_dir
from kickgen.kickstart.password import root_password_hash, salt_from_public_text
from kickgen.profile import Profile, RootPassword

MAIN_TEMPLATE = "el6/ks.cfg.j2"
TEMPLATES_DIR = package_dir("kickgen.kickstart", "templates")


@dataclass(frozen=True)
class Kickstart:
    text: str
    profile_name: str
    sha256: str


class UnsafeValue(ValueError):
    """A value a filter refuses to put into the kickstart."""


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_KS_WORD = re.compile(r"[^\s\"'#\\`$;&|<>(){}\x00-\x1f\x7f]+")


def _shell_quote(value: object) -> str:
    text = str(value)
    if _CONTROL.search(text):
        raise UnsafeValue(f"refusing a shell value with a control character or newline: {text!r}")
    return shlex.quote(text)


def _shell_single_quoted(value: object) -> str:
    """Always in single quotes (the layout of kickgen's own printf lines), safe like `sh`."""
    text = str(value)
    if _CONTROL.search(text):
        raise UnsafeValue(f"refusing a shell value with a control character or newline: {text!r}")
    return "'" + text.replace("'", "'\"'\"'") + "'"


_SH_PATH = re.compile(r"/[A-Za-z0-9_./+-]*")


def _shell_path(value: object) -> str:
    """An absolute path that needs no quoting anywhere in a shell line (even inside "...")."""
    text = str(value)
    if not _SH_PATH.fullmatch(text):
        raise UnsafeValue(f"refusing {text!r} as a path in a shell line (letters, digits, _ . / + - only)")
    return text


def _kickgen_script(kind: str, name: str) -> str:
    """The name of one of kickgen's own scripts, which must be listed in kickgen.core.el6 (the
    profile loader refuses those names for the profile's scripts: the two lists are one)."""
    listed = {"pre": KICKGEN_PRE_SCRIPTS, "post": KICKGEN_POST_SCRIPTS}[kind]
    if name not in listed:
        raise UnsafeValue(f"kickgen's %{kind} script {name!r} is not in kickgen.core.el6."
                          f"KICKGEN_{kind.upper()}_SCRIPTS (a profile script could take its name)")
    return name


def _ks_word(value: object) -> str:
    text = str(value)
    if text == "" or text.startswith("%") or not _KS_WORD.fullmatch(text):
        raise UnsafeValue(f"refusing {text!r} as a kickstart word (spaces, quotes, #, $, "
                          "shell characters or a leading % are not allowed)")
    return text




def _ks_crypt(value: object) -> str:
    text = str(value)
    if not CRYPT_SHA512.fullmatch(text):
        raise UnsafeValue("refusing a root password hash that is not SHA-512 crypt (value not shown)")
    return text


def _ks_comment(value: object) -> str:
    text = str(value)
    if _CONTROL.search(text):
        raise UnsafeValue(f"refusing a comment with a control character or newline: {text!r}")
    return text


def _ks_body(value: object) -> str:
    text = str(value).rstrip("\n")
    for number, line in enumerate(text.splitlines(), 1):
        if line.lstrip().startswith("%"):
            raise UnsafeValue(f"script line {number} starts with '%', which would end the section")
    if re.search(r"[\x00-\x08\x0b-\x1f\x7f]", text):
        raise UnsafeValue("refusing a script with control characters other than tab and newline")
    return text


def _environment(templates_dir: Path) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir)),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(sh=_shell_quote, shq=_shell_single_quoted, shpath=_shell_path, ksword=_ks_word,
                       kscomment=_ks_comment, ksbody=_ks_body, kscrypt=_ks_crypt)
    env.globals.update(kickgen_script=_kickgen_script)
    return env


MACROS_TEMPLATE = "el6/macros.j2"


def _template_position(tb: TracebackType | None, templates_dir: Path) -> str:
    """The innermost template file:line in a traceback (Jinja maps frames to template lines).
    A value that fails inside a shared macro is named where the macro was called, then in the
    macro: `el6/docker.j2:12 (el6/macros.j2:29)`."""
    frames = []
    root = str(templates_dir.resolve())
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename.startswith(root):
            frames.append(f"{Path(filename).relative_to(root).as_posix()}:{tb.tb_lineno}")
        tb = tb.tb_next
    if not frames:
        return "<template>"
    callers = [f for f in frames if not f.startswith(MACROS_TEMPLATE + ":")]
    if callers and callers[-1] != frames[-1]:
        return f"{callers[-1]} ({frames[-1]})"
    return frames[-1]


# Where the kickstart finds things, on the media, in the installer and in the new system
# (kickgen.core.el6 is the one place that says so; templates hard-code none of them).
_PATHS = {"ks": KS_PATH, "media": MEDIA_MOUNT, "iso_root": ISO_ROOT, "installed_root": INSTALLED_ROOT,
          "media_bind": MEDIA_BIND, "own_mount": MEDIA_OWN_MOUNT, "sysimage": SYSIMAGE,
          "installer_ks": INSTALLER_KS, "kept_ks": KEPT_KS, "yum_repos": YUM_REPOS_DIR,
          "storage_include": STORAGE_INCLUDE}


def offline_repos(profile: Profile) -> tuple[OfflineRepo, ...]:
    """The embedded repos the kickstart of an offline PROFILE uses, in name order (as on the
    ISO). Empty for an online profile. Reads no file: the folders need not exist to render."""
    if not profile.media.offline:
        return ()
    return tuple(OfflineRepo(name, name in profile.media.installer_repos)
                 for name in sorted(profile.media.embed))


def render_kickstart(profile: Profile, *, salt: str | None = None, media_label: str | None = None,
                     templates_dir: Path | None = None) -> Kickstart:
    """Render the profile's kickstart. `salt` fixes the password salt (reproducible output).

    `media_label` is the volume ID of the media the kickstart goes on (the %pre that picks the
    target disk skips the disk carrying it); None = `media.volume_id`, else CentOS 6.5's."""
    label = media_label or profile.media.volume_id or DEFAULT_VOLUME_ID
    if not VOLUME_ID.fullmatch(label):
        raise TemplateError(f"media label {label!r}: expected {VOLUME_ID_TEXT}")
    root_hash = root_password_hash(profile.system.rootpw, salt=salt)
    templates_dir = templates_dir or TEMPLATES_DIR
    env = _environment(templates_dir)
    try:
        template = env.get_template(MAIN_TEMPLATE)
        text = template.render(p=profile, root_hash=root_hash,
                               offline_repos=offline_repos(profile), paths=_PATHS,
                               media_label=label, storage_include=STORAGE_INCLUDE)
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(f"{exc.name or exc.filename}:{exc.lineno}: template syntax error: "
                            f"{exc.message}") from None
    except jinja2.TemplateNotFound as exc:
        raise TemplateError(f"template not found: {exc.name}",
                            hint=f"templates are read from {templates_dir}") from None
    except jinja2.UndefinedError as exc:
        where = _template_position(exc.__traceback__, templates_dir)
        raise TemplateError(f"{where}: undefined template variable: {exc.message}") from None
    except UnsafeValue as exc:
        where = _template_position(exc.__traceback__, templates_dir)
        raise TemplateError(f"{where}: {exc}", hint="fix the profile value used there") from None
    return Kickstart(text=text, profile_name=profile.name,
                     sha256=hashlib.sha256(text.encode("utf-8")).hexdigest())


# A well-formed `$6$` value that is nobody's hash: it stands in for the password when the
# kickstart is rendered to derive the salt.
PLACEHOLDER_HASH = "$6$" + "." * 16 + "$" + "." * 86


def reproducible_salt(profile: Profile, *, media_label: str | None = None,
                      templates_dir: Path | None = None) -> str:
    """The password salt of reproducible output (`kickgen render`, `kickgen iso`).

    Derived from the kickstart rendered with a placeholder instead of the password hash: it
    follows every other setting, the profile's name and the media label, but neither where the
    profile file lives (no paths reach the kickstart) nor the password (a salt derived from the
    plaintext would let guesses be tested without the 5000 rounds)."""
    public = dataclasses.replace(profile, system=dataclasses.replace(
        profile.system, rootpw=RootPassword(hash=PLACEHOLDER_HASH)))
    text = render_kickstart(public, media_label=media_label, templates_dir=templates_dir).text
    return salt_from_public_text(text)
