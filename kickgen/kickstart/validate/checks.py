"""Checks on the kickstart as a whole: what an unattended EL6 install needs, and known defects.

Where anaconda 13.21.215 stops for a person (`kickstart.py` setSteps ~1632-1740: a step is
skipped only when its command was seen): no rootpw (accounts), lang, keyboard, timezone,
bootloader, partitioning or %packages. An %include that kickgen cannot read may supply any of
them, so with one these are not raised.
"""

from __future__ import annotations

import fnmatch
import re
import shlex
from collections.abc import Iterable

from kickgen.core.el6 import CRYPT_SHA512
from kickgen.kickstart.validate.findings import Finding, Severity
from kickgen.kickstart.validate.grammar import Grammar, command_spec
from kickgen.kickstart.validate.source import Command, Kickstart, Line, Section

FINISHING = ("reboot", "poweroff", "halt", "shutdown")
INSTALL_METHODS = ("cdrom", "url", "nfs", "harddrive")
NETWORK_METHODS = ("url", "nfs")          # the loader brings the network up to reach them
PARTITIONING = ("autopart", "part", "partition", "raid", "logvol", "volgroup")
# command -> the installer screen that waits when it is missing
ANSWERS = {"rootpw": "root password", "lang": "language", "keyboard": "keyboard",
           "timezone": "time zone", "bootloader": "boot loader"}
# Tools an EL6 system does not have (systemd, firewalld, dnf arrived with EL7).
EL7_TOOLS = ("systemctl", "journalctl", "hostnamectl", "timedatectl", "localectl", "loginctl",
             "firewall-cmd", "dnf", "nmtui")
_EL7_TOOL = re.compile(r"(?:^|[\s;&|(`]|\$\()(?:\S*/)?(" + "|".join(map(re.escape, EL7_TOOLS)) + r")(?=$|[\s;&|)`])")
_INST_ARG = re.compile(r"(?:^|[\s\"'=,])(inst\.[A-Za-z_][\w.-]*)")
_ANY_CRYPT = re.compile(r"\$(1|2[abxy]?|5|6)\$[^\s:]+|[./0-9A-Za-z]{13}")
_DOWNLOAD_URL = re.compile(r"(https?|ftp)://")
_DOWNLOADERS = {"wget", "curl"}
_REPO_SECTION = re.compile(r"(?:^|(?<=[\s'\"]))\[([A-Za-z0-9_.:-]+)\](?=$|[\s'\"])", re.M)
_REPO_URL = re.compile(r"\b(baseurl|mirrorlist)=([^\s'\"]+)")
_LOCAL_URL = ("file:",)


def check_kickstart_rules(ks: Kickstart, grammar: Grammar) -> list[Finding]:
    found: list[Finding] = []
    found += _duplicates(ks.commands)
    found += _swallowed(ks.sections)
    found += _missing_answers(ks)
    found += _root_password(ks.commands)
    found += _bootloader_password(ks.commands)
    found += _network(ks)
    found += _el7(ks)
    return found


def _f(at: Line, severity: Severity, rule: str, message: str) -> Finding:
    return Finding(severity, at.file, at.number, rule, message)


def _named(commands: Iterable[Command], *names: str) -> list[Command]:
    return [c for c in commands if c.name in names]


def option(words: Iterable[str], name: str) -> str | None:
    words = list(words)
    for index, word in enumerate(words):
        if word.startswith(name + "="):
            return word.split("=", 1)[1]
        if word == name and index + 1 < len(words):
            return words[index + 1]
    return None


# --- duplicates ------------------------------------------------------------------------------------

def _duplicates(commands: list[Command]) -> list[Finding]:
    found = []
    first_of: dict[str, Command] = {}
    for cmd in commands:
        spec = command_spec(cmd.name)
        if spec is None or spec.multiple:
            continue
        earlier = first_of.get(spec.cls)
        if earlier is None:
            first_of[spec.cls] = cmd
        elif earlier.name == cmd.name:
            found.append(_f(cmd.at, Severity.WARNING, "duplicate-command",
                            f"'{cmd.name}' is given again (first at line {earlier.at.number}): "
                            "this one wins"))
        else:
            found.append(_f(cmd.at, Severity.WARNING, "conflicting-commands",
                            f"'{cmd.name}' and '{earlier.name}' (line {earlier.at.number}) set the "
                            "same thing: this one wins"))
    # EL6's parser refuses the pair, at whichever comes second (r1.74 autopart.py, partition.py)
    auto = _named(commands, "autopart")
    manual = _named(commands, "part", "partition")
    if auto and manual:
        later, earlier = (auto[0], manual[0]) if auto[0].at.number > manual[0].at.number else (manual[0], auto[0])
        if auto[0].at.file != manual[0].at.file:
            later, earlier = auto[0], manual[0]
        found.append(_f(later.at, Severity.ERROR, "autopart-with-part",
                        f"'{later.name}' and '{earlier.name}' (line {earlier.at.number}) cannot be used "
                        "together: EL6's parser refuses the kickstart"))
    return found


# --- sections that swallow what follows --------------------------------------------------------------

def _swallowed(sections: list[Section]) -> list[Finding]:
    """A section without %end runs to the next header or the end of the file: the commands in
    between become package names or script lines (r1.74.14: a `reboot` after an open %packages
    is a package, and the install never reboots)."""
    found = []
    for section in sections:
        if section.closed or section.name not in ("%packages", "%pre", "%post", "%traceback"):
            continue
        for line in section.body:
            words = _split(line.text)
            if not words or command_spec(words[0]) is None:
                continue
            spec = command_spec(words[0])
            assert spec is not None
            in_packages = section.name == "%packages"
            looks_like_command = words[0] in FINISHING or any(w.split("=", 1)[0] in spec.options for w in words[1:])
            if in_packages or looks_like_command:
                what = "a package name" if in_packages else "a line of the script"
                found.append(_f(line, Severity.WARNING, "section-without-end",
                                f"'{words[0]}' is read as {what}: {section.name} (line "
                                f"{section.header.number}) has no %end before it"))
    return found


# --- what the installer would ask for --------------------------------------------------------------

def _missing_answers(ks: Kickstart) -> list[Finding]:
    names = {c.name for c in ks.commands}
    found: list[Finding] = []
    at = ks.last or Line(ks.files[0] if ks.files else "<kickstart>", 1, "")
    if not names & set(INSTALL_METHODS) and not ks.unresolved_includes:
        found.append(_f(at, Severity.WARNING, "missing-install-method",
                        "no install source (cdrom, url, nfs or harddrive): the boot line must give "
                        "one with repo= or method=, or the installer asks"))
    if not names & set(FINISHING):
        found.append(_f(at, Severity.WARNING, "no-finishing-command",
                        "no reboot, poweroff or halt: the installer waits for a key press at the end"))
    if ks.unresolved_includes or names & {"upgrade", "interactive"}:
        return found        # an include may supply them; an upgrade or interactive install asks anyway
    missing = [screen for command, screen in ANSWERS.items() if command not in names]
    if not names & set(PARTITIONING):
        missing.append("partitioning (autopart or part)")
    if not any(s.name == "%packages" for s in ks.sections):
        missing.append("package selection (%packages)")
    if missing:
        found.append(_f(at, Severity.ERROR, "missing-answer",
                        f"the unattended install would stop and ask for: {', '.join(missing)}"))
    return found


# --- passwords -------------------------------------------------------------------------------------

def _positionals(cmd: Command) -> list[str]:
    return [w for w in cmd.words[1:] if not w.startswith("-")]


def _root_password(commands: list[Command]) -> list[Finding]:
    found = []
    for cmd in _named(commands, "rootpw"):
        values = _positionals(cmd)
        value = values[0] if values else ""
        if "--lock" in cmd.words and not value:
            continue
        if "--iscrypted" not in cmd.words:
            if value:
                found.append(_f(cmd.at, Severity.WARNING, "rootpw-plaintext",
                                "the root password is in clear text: use rootpw --iscrypted with a "
                                "SHA-512 hash (kickgen's profiles do)"))
        elif CRYPT_SHA512.fullmatch(value):
            continue
        elif _ANY_CRYPT.fullmatch(value):
            found.append(_f(cmd.at, Severity.WARNING, "rootpw-weak-hash",
                            "the root password hash is MD5 or DES crypt: use SHA-512 ($6$)"))
        elif value:
            found.append(_f(cmd.at, Severity.WARNING, "rootpw-not-hash",
                            "rootpw --iscrypted is followed by something that is not a crypt hash: "
                            "the installed system takes it as the hash, and no password matches it"))
    return found


def _bootloader_password(commands: list[Command]) -> list[Finding]:
    found = []
    for cmd in _named(commands, "bootloader"):
        password = option(cmd.words, "--password")
        if password is None or "--iscrypted" in cmd.words:
            continue
        if _ANY_CRYPT.fullmatch(password):
            found.append(_f(cmd.at, Severity.WARNING, "bootloader-hash-as-password",
                            "bootloader --password= is given a crypt hash: grub takes the hash "
                            "itself as the clear-text password (EL6 takes a hash with --md5pass=)"))
        else:
            found.append(_f(cmd.at, Severity.WARNING, "bootloader-plaintext-password",
                            "the boot loader password is in clear text: use --md5pass= with a "
                            "grub-md5-crypt hash"))
    return found


# --- the network during the install ----------------------------------------------------------------

def _network(ks: Kickstart) -> list[Finding]:
    names = {c.name for c in ks.commands}
    activated = any("--activate" in c.words for c in _named(ks.commands, "network"))
    if activated or names & set(NETWORK_METHODS):
        return []
    local_repos = _local_repo_ids(ks.commands, ks.sections)
    for cmd in _named(ks.commands, "repo"):
        if not _is_local(cmd):
            return [_f(cmd.at, Severity.WARNING, "network-not-activated",
                       "this repo needs the network during the install, but no 'network ... "
                       "--activate' line brings it up")]
    for section in ks.sections:
        if section.name not in ("%pre", "%post"):
            continue
        for line in section.body:
            if not line.text.lstrip().startswith("#") and _needs_network(line.text, local_repos):
                return [_f(line, Severity.WARNING, "network-not-activated",
                           f"{section.name} (line {section.header.number}) needs the network here, "
                           "but no 'network ... --activate' line brings it up")]
    return []


def _is_local(cmd: Command) -> bool:
    """`repo --baseurl=file://...` (no mirrorlist) or `url --url=file://...`: no network."""
    if option(cmd.words, "--mirrorlist") is not None:
        return False
    url = option(cmd.words, "--baseurl" if cmd.name == "repo" else "--url")
    return url is not None and url.startswith(_LOCAL_URL)


def _local_repo_ids(commands: list[Command], sections: list[Section]) -> dict[str, bool]:
    """Repo id -> only local (file://) URLs, for `repo` commands and `[id]` repo files a script writes."""
    repos: dict[str, bool] = {}
    for cmd in _named(commands, "repo"):
        name = option(cmd.words, "--name")
        if name:
            repos[name] = _is_local(cmd)
    for section in sections:
        if section.name not in ("%pre", "%post"):
            continue
        body = "\n".join(line.text for line in section.body)
        headers = list(_REPO_SECTION.finditer(body))
        for index, header in enumerate(headers):
            end = headers[index + 1].start() if index + 1 < len(headers) else len(body)
            urls = _REPO_URL.findall(body, header.end(), end)
            if urls:
                local = all(kind == "baseurl" and url.startswith(_LOCAL_URL) for kind, url in urls)
                repos[header.group(1)] = repos.get(header.group(1), True) and local
    return repos


def _split(line: str) -> list[str]:
    try:
        return shlex.split(line, comments=True)
    except ValueError:
        return line.split()


def _needs_network(line: str, local_repos: dict[str, bool]) -> bool:
    if _DOWNLOAD_URL.search(line):
        return True
    words = _split(line)
    for index, word in enumerate(words):
        command = word.rsplit("/", 1)[-1]
        if command in _DOWNLOADERS:
            return True
        if command == "yum" and not _yum_is_local(words[index + 1:], local_repos):
            return True
    return False


def _yum_is_local(args: list[str], local_repos: dict[str, bool]) -> bool:
    """yum --disablerepo='*' with only --enablerepo= patterns that match local repos."""
    disabled: list[str] = []
    enabled: list[str] = []
    for index, arg in enumerate(args):
        for name, into in (("--disablerepo", disabled), ("--enablerepo", enabled)):
            if arg.startswith(name + "="):
                into += arg.split("=", 1)[1].split(",")
            elif arg == name and index + 1 < len(args):
                into += args[index + 1].split(",")
    if "*" not in disabled:
        return False
    for pattern in enabled:
        matched = [repo for repo in local_repos if fnmatch.fnmatchcase(repo, pattern)]
        if not matched or not all(local_repos[repo] for repo in matched):
            return False
    return True


# --- EL7 habits ------------------------------------------------------------------------------------

def _el7(ks: Kickstart) -> list[Finding]:
    found = []
    for cmd in ks.commands:
        for match in _INST_ARG.finditer(" ".join(cmd.words[1:])):
            found.append(_f(cmd.at, Severity.WARNING, "el7-argument",
                            f"'{match.group(1)}' is an EL7+ boot argument; EL6 reads "
                            f"'{match.group(1)[5:]}' (no 'inst.' prefix)"))
    for section in ks.sections:
        if section.name not in ("%pre", "%post", "%traceback"):
            continue
        interpreter = option(section.args, "--interpreter") or "/bin/sh"
        if "python" in interpreter.rsplit("/", 1)[-1]:
            continue
        for line in section.body:
            if line.text.lstrip().startswith("#"):
                continue
            tool_match = _EL7_TOOL.search(line.text)
            if tool_match:
                tool = tool_match.group(1)
                instead = {"systemctl": "chkconfig/service", "dnf": "yum", "firewall-cmd": "lokkit/iptables",
                           "journalctl": "/var/log files", "hostnamectl": "/etc/sysconfig/network"}.get(tool)
                found.append(_f(line, Severity.WARNING, "el7-command",
                                f"'{tool}' does not exist on EL6" + (f" (use {instead})" if instead else "")))
    return found
