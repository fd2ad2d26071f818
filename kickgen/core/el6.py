"""The rules every stage shares about EL6 and about the media kickgen makes: one place each.

Where the kickstart goes on the media, where EL6's installer mounts the media, where
embedded repositories live on it and in the new system, which names are reserved, what a
volume ID may contain, which kernel arguments choose the install source, what a SHA-512
crypt hash looks like. Plain constants and pure functions: no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# --- on the media -------------------------------------------------------------------------------
KS_PATH = "/ks.cfg"                    # the kickstart at the image root
ISO_ROOT = "/kickgen"                  # embedded repos: /kickgen/<repo>/ with repodata/
# The volume ID of CentOS 6.5's DVD (a kickstart rendered without a base image assumes it).
DEFAULT_VOLUME_ID = "CentOS_6.5_Final"
# A volume ID usable in `LABEL=` on a kernel command line: the loader splits `hd:LABEL=x:/path`
# at colons and the kernel splits its command line at blanks. The one rule for the profile's
# media.volume_id, the remaster and the kickstart's media label.
VOLUME_ID = re.compile(r"[A-Za-z0-9_.+-]{1,32}")
VOLUME_ID_TEXT = "a volume ID of at most 32 letters, digits and _ . + - (no spaces or colons)"


def volume_id_problem(volume_id: str) -> str | None:
    """What makes VOLUME_ID refuse `volume_id` (None when it is usable), in a few words."""
    if VOLUME_ID.fullmatch(volume_id):
        return None
    return ("is empty" if not volume_id else
            "is longer than 32 characters" if len(volume_id) > 32 else
            "contains a space" if " " in volume_id else
            "contains a colon" if ":" in volume_id else
            "has characters other than A-Z a-z 0-9 _ . - +")


# --- in the installer and in the new system ------------------------------------------------------
MEDIA_MOUNT = "/mnt/source"            # where the EL6 installer mounts the install media
SYSIMAGE = "/mnt/sysimage"             # where the installer mounts the new system (%post --nochroot)
INSTALLER_KS = "/tmp/ks.cfg"           # the kickstart as the installer read it (anaconda's copy)
KEPT_KS = "/root/kickgen-ks.cfg"       # that copy, kept in the new system for the first-boot report
YUM_REPOS_DIR = "/etc/yum.repos.d"     # yum's repo files, in the new system
# In the new system: %post --nochroot copies ISO_ROOT here, and bind-mounts the install media
# at MEDIA_BIND for the chroot %post scripts (released again by the last %post).
INSTALLED_ROOT = "/mnt/kickgen"
MEDIA_BIND = "/mnt/kickgen-media"
# Where the media %post mounts the install media itself (read-only, found by its label) when the
# installer has unmounted /mnt/source: it does so before %post for an hd: (USB stick) install.
MEDIA_OWN_MOUNT = "/mnt/kickgen-source"
# The storage lines kickgen's %pre writes when it picks the target disk at install time.
STORAGE_INCLUDE = "/tmp/kickgen-storage.ks"

# --- repository names ---------------------------------------------------------------------------
REPO_ID_PREFIX = "kickgen-"
REPO_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
BASE_REPO = "base"                     # the install media's own repository
# Not usable as embedded repo names: the media's own repo, kickgen's media %post, and the
# metadata folder name itself.
RESERVED_REPO_NAMES = (BASE_REPO, "media", "repodata")

# --- kickgen's own scripts in the kickstart ------------------------------------------------------
# The names of the %pre/%post scripts kickgen writes (their logs are ks-pre-<name>.log and
# ks-post-<name>.log): a profile's scripts.pre/scripts.post may not take them. The templates
# can only open a script under a name listed here (render.py checks), so the two cannot drift.
KICKGEN_PRE_SCRIPTS = ("kickgen-disks",)
KICKGEN_POST_SCRIPTS = ("copy-ks", "media", "repos", "aufs-kernel", "epel", "docker", "report",
                        "repos-final", "media-release")

# --- the boot entries the remaster adds -----------------------------------------------------------
# Defaults of the profile's boot.* keys and of a RemasterRequest. `ksdevice=link`: with several
# NICs the EL6 loader would otherwise stop and ask which one to use.
BOOT_LABEL = "kickstart"               # the CD entry's label; the USB entry is <label>-usb
BOOT_ARGS = ("text", "console=tty0", "console=ttyS0,115200n8", "ksdevice=link")
BOOT_TIMEOUT = 5                       # menu timeout, seconds
BOOT_ENTRIES = ("cd", "usb")           # which added entry can be the menu default
BOOT_DEFAULT = "cd"

# --- the boot line ------------------------------------------------------------------------------
# Arguments with which the EL6 loader picks the kickstart or the install source (it matches
# them case-insensitively, loader/loader.c ~1074-1093; `askmethod` discards repo=, ~1388-1394).
SOURCE_ARG_PREFIXES = ("ks=", "repo=", "method=")
SOURCE_ARG_WORDS = ("ks", "askmethod")


def is_source_arg(arg: str) -> bool:
    """Whether a kernel argument chooses the kickstart or the install source."""
    low = arg.lower()
    return low in SOURCE_ARG_WORDS or low.startswith(SOURCE_ARG_PREFIXES)


# --- passwords ----------------------------------------------------------------------------------
# SHA-512 crypt as glibc writes it (`$6$[rounds=N$]salt$hash`), the only hash kickgen accepts
# for `rootpw --iscrypted`.
CRYPT_SHA512 = re.compile(r"\$6\$(rounds=[0-9]+\$)?[./A-Za-z0-9]{1,16}\$[./A-Za-z0-9]{86}")
CRYPT_SALT = re.compile(r"[./A-Za-z0-9]{1,16}")


@dataclass(frozen=True)
class OfflineRepo:
    """Where one embedded repo is seen: on the media during the install, in the new system."""

    name: str
    installer: bool = False     # handed to the installer too (media.installer_repos)

    @property
    def media_url(self) -> str:
        return f"file://{MEDIA_MOUNT}{ISO_ROOT}/{self.name}"

    @property
    def installed_url(self) -> str:
        return f"file://{INSTALLED_ROOT}/{self.name}"

    @property
    def repo_id(self) -> str:
        return f"{REPO_ID_PREFIX}{self.name}"
