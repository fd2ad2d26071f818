"""Rules across keys (a static address needs a netmask, docker needs EPEL, ...), checked
after conversion and reported at the key that has to change."""

from __future__ import annotations

import re

from kickgen.core.el6 import KICKGEN_POST_SCRIPTS, KICKGEN_PRE_SCRIPTS, is_source_arg
from kickgen.profile.schema import KINDS, Profile
from kickgen.profile.yamlsource import Mark, Node, Problems


def check_profile(root: Node, profile: Profile, problems: Problems) -> None:
    """Rules across keys, reported at the key that has to change."""
    def mark_of(*keys: str) -> Mark:
        node = root
        for k in keys:
            if not isinstance(node.value, dict) or k not in node.value:
                return node.mark
            node = node.value[k][1]
        return node.mark

    if profile.system.rootpw is not None and isinstance(root.value.get("system"), tuple):
        sys_node = root.value["system"][1]
        if isinstance(sys_node.value, dict) and "rootpw" in sys_node.value:
            pw_node = sys_node.value["rootpw"][1]
            if isinstance(pw_node.value, str):
                # Replaces the generic type message: never echo the value.
                problems.drop("system.rootpw:")
                problems.add(pw_node.mark, "system.rootpw",
                             "a plaintext password in a profile is refused; use {hash: '$6$...'}, "
                             "{env: VAR} or {file: PATH}")
    net = profile.network
    if net.bootproto == "static" and (not net.ip or not net.netmask):
        problems.add(mark_of("network", "bootproto"), "network.bootproto",
                     "static needs network.ip and network.netmask")
    if net.device is not None and net.device.lower() in ("link", "bootif"):
        # anaconda 13.21 kickstart.py:657-719: --device must name an existing NIC or a MAC
        # ("link" is neither: "does not exist", abort); bootif needs BOOTIF=, which only PXE passes.
        problems.add(mark_of("network", "device"), "network.device",
                     f"{net.device!r} is not a NIC for EL6's installer (--device={net.device} "
                     "aborts the install); leave network.device null: the boot menu's "
                     "ksdevice=link already picks the first NIC with a link")
    if profile.boot.default == "usb" and profile.system.finish == "reboot":
        problems.add(mark_of("boot", "default"), "boot.default",
                     "a USB stick cannot be ejected: with system.finish: reboot the machine would "
                     "start the install again; use system.finish: poweroff, or boot.default: cd "
                     "and the firmware's one-time boot menu")
    if profile.docker.enabled and not profile.epel.enabled:
        problems.add(mark_of("docker", "enabled"), "docker.enabled",
                     "docker-io comes from EPEL: set epel.enabled: true")
    media = profile.media
    if media.offline:
        needs = [k for k in ("aufs_kernel", "epel", "docker") if getattr(profile, k).enabled]
        if needs and not media.embed:
            problems.add(mark_of("media", "offline"), "media.offline",
                         f"{', '.join(k + '.enabled' for k in needs)} need packages that are not "
                         "on the CentOS media: list them in media.embed")
        if profile.install.source != "cdrom":
            problems.add(mark_of("install", "source"), "install.source",
                         "media.offline is true: the install source must be cdrom")
        if profile.install.updates_repo:
            problems.add(mark_of("install", "updates_repo"), "install.updates_repo",
                         "media.offline is true: a network updates repo cannot be used "
                         "(embed the updates instead)")
    for name in media.installer_repos:
        if name not in media.embed:
            problems.add(mark_of("media", "installer_repos"), "media.installer_repos",
                         f"{name!r} is not a media.embed repo"
                         + (f" (embedded: {', '.join(sorted(media.embed))})" if media.embed else ""))
    if media.installer_repos and not media.offline:
        problems.add(mark_of("media", "installer_repos"), "media.installer_repos",
                     "only used with media.offline: true (online, the kickstart does not use "
                     "the embedded repos)")
    if not profile.storage.autopart:
        problems.add(mark_of("storage", "autopart"), "storage.autopart",
                     "only autopart is supported (explicit partitions are not)")
    for i, arg in enumerate(profile.boot.args + profile.storage.bootloader.append):
        if arg.startswith("inst."):
            where = ("boot", "args") if i < len(profile.boot.args) else ("storage", "bootloader", "append")
            problems.add(mark_of(*where), ".".join(where),
                         f"{arg!r}: EL6 has no 'inst.' boot arguments (that is EL7+); "
                         "use the plain name, e.g. ks=")
        if i < len(profile.boot.args) and is_source_arg(arg):
            problems.add(mark_of("boot", "args"), "boot.args",
                         f"{arg!r}: kickgen sets the kickstart and the install source of its boot "
                         "entries (ks=, and repo= on the USB entry); do not set ks, repo=, "
                         "method= or askmethod here")
    for group in ("pre", "post"):
        names = [s.name for s in getattr(profile.scripts, group)]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            problems.add(mark_of("scripts", group), f"scripts.{group}",
                         f"script names must be unique: {', '.join(dupes)}")
    for s in profile.scripts.post:
        if s.name in KICKGEN_POST_SCRIPTS:
            problems.add(mark_of("scripts", "post"), "scripts.post",
                         f"script name {s.name!r} is used by kickgen itself")
    for s in profile.scripts.pre:
        if s.name in KICKGEN_PRE_SCRIPTS:
            problems.add(mark_of("scripts", "pre"), "scripts.pre",
                         f"script name {s.name!r} is used by kickgen itself")
        if s.nochroot:
            problems.add(mark_of("scripts", "pre"), "scripts.pre", f"{s.name}: %pre has no nochroot")
    for k in ("kernel_release", "default_entry"):
        pattern = getattr(profile.expect, k)
        if pattern is not None:
            try:
                re.compile(pattern)
            except re.error as exc:
                problems.add(mark_of("expect", k), f"expect.{k}", f"not a valid regex: {exc}")
    check_pins(profile, problems, mark_of)


def check_pins(profile: Profile, problems: Problems, mark_of) -> None:
    """The supply-chain keys: one pin per file; every file the online %post downloads can be
    named (a pin's key is the file name)."""
    from kickgen.profile.pins import url_file_name

    files = [pin.file for pin in profile.pins]
    dupes = sorted({f for f in files if files.count(f) > 1})
    if dupes:
        problems.add(mark_of("pins"), "pins", f"one pin per file: {', '.join(dupes)} pinned more than once")
    if profile.media.offline:
        return
    kernel = profile.aufs_kernel
    if kernel.enabled and not kernel.version:
        problems.add(mark_of("aufs_kernel", "version"), "aufs_kernel.version",
                     "null (the newest) cannot be pinned: the %post installs hop5's unsigned RPMs only "
                     "when their sha256 is in pins, which names each file; give the version-release, "
                     "e.g. 3.10.5-3.el6")
    if profile.epel.enabled:
        name = url_file_name(profile.epel.release_rpm_url)
        if not KINDS["rpmfile"][0].fullmatch(name):
            problems.add(mark_of("epel", "release_rpm_url"), "epel.release_rpm_url",
                         f"must end in the .rpm file's name (its pin is found by that name), got {name!r}")

