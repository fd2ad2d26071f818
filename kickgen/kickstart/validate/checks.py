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
from kickgen.kickstart.validate.grammar import Grammar, command_spec, release_key
from kickgen.kickstart.validate.source import Command, Kickstart, Line, Section, option

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
# A path before a command word (/usr/bin/) never crosses a character a command may start after: each
# character is then scanned from one start only, and a long line takes linear time, not quadratic.
_EL7_TOOL = re.compile(r"(?:^|[\s;&|(`]|\$\()(?:[^\s;&|(`]*/)?(" + "|".join(map(re.escape, EL7_TOOLS))
                       + r")(?=$|[\s;&|)`])")
_INST_ARG = re.compile(r"(?:^|[\s\"'=,])(inst\.[A-Za-z_][\w.-]*)")
_ANY_CRYPT = re.compile(r"\$(1|2[abxy]?|5|6)\$[^\s:]+|[./0-9A-Za-z]{13}")
_DOWNLOAD_URL = re.compile(r"(https?|ftp)://")
_DOWNLOADERS = {"wget", "curl"}
_REPO_SECTION = re.compile(r"(?:^|(?<=[\s'\"]))\[([A-Za-z0-9_.:-]+)\](?=$|[\s'\"])", re.M)
_REPO_URL = re.compile(r"\b(baseurl|mirrorlist)=([^\s'\"]+)")
_LOCAL_URL = ("file:",)


# r1.74.14 (6.5) made autopart with part an error; before, the later one silently won
AUTOPART_WITH_PART_REFUSED_FROM = (6, 5)


def check_kickstart_rules(ks: Kickstart, grammar: Grammar) -> list[Finding]:
    found: list[Finding] = []
    found += _duplicates(ks.commands, release_key(grammar.release) >= AUTOPART_WITH_PART_REFUSED_FROM)
    found += _swallowed(ks.sections)
    found += _missing_answers(ks)
    found += _root_password(ks.commands)
    found += _bootloader_password(ks.commands)
    found += _network(ks)
    found += _el7(ks)
    found += _other_passwords(ks)
    found += _disks(ks, release_key(grammar.release))
    found += _packages(ks)
    found += _script_habits(ks)
    return found


def _f(at: Line, severity: Severity, rule: str, message: str) -> Finding:
    return Finding(severity, at.file, at.number, rule, message)


def _named(commands: Iterable[Command], *names: str) -> list[Command]:
    return [c for c in commands if c.name in names]


# --- duplicates ------------------------------------------------------------------------------------

def _where(earlier: Command, later: Command) -> str:
    """Where EARLIER is, said from LATER's line: 'line 7', or 'disks.ks:7' in another file."""
    if earlier.at.file == later.at.file:
        return f"line {earlier.at.number}"
    return f"{earlier.at.file}:{earlier.at.number}"


def _duplicates(commands: list[Command], autopart_with_part_refused: bool) -> list[Finding]:
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
                            f"'{cmd.name}' is given again (first at {_where(earlier, cmd)}): this one wins"))
        else:
            found.append(_f(cmd.at, Severity.WARNING, "conflicting-commands",
                            f"'{cmd.name}' and '{earlier.name}' ({_where(earlier, cmd)}) set the "
                            "same thing: this one wins"))
    # EL6's parser refuses the pair, at whichever comes second (r1.74 autopart.py, partition.py)
    auto = _named(commands, "autopart")
    manual = _named(commands, "part", "partition")
    if auto and manual:
        earlier, later = sorted((auto[0], manual[0]), key=commands.index)    # in reading order
        if autopart_with_part_refused:
            found.append(_f(later.at, Severity.ERROR, "autopart-with-part",
                            f"'{later.name}' and '{earlier.name}' ({_where(earlier, later)}) cannot be used "
                            "together: EL6's parser refuses the kickstart"))
        else:
            found.append(_f(later.at, Severity.WARNING, "conflicting-commands",
                            f"'{later.name}' and '{earlier.name}' ({_where(earlier, later)}) both lay out the "
                            "disks (refused from 6.5)"))
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
    local_repos = _LocalRepos(_local_repo_ids(ks.commands, ks.sections))
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


# shlex takes quadratic time on a long word: longer script lines are split at blanks (the checks
# that split script lines are heuristics)
_SHLEX_LINE_CHARS = 4096


def _split(line: str) -> list[str]:
    if len(line) > _SHLEX_LINE_CHARS:
        return line.split()
    try:
        return shlex.split(line, comments=True)
    except ValueError:
        return line.split()


def _needs_network(line: str, local_repos: _LocalRepos) -> bool:
    if _DOWNLOAD_URL.search(line):
        return True
    words = _split(line)
    commands = [word.rsplit("/", 1)[-1] for word in words]
    if any(command in _DOWNLOADERS for command in commands):
        return True
    yums = [index for index, command in enumerate(commands) if command == "yum"]
    # each yum's options run to the next yum (a second command on the line)
    ends = [*yums[1:], len(words)] if yums else []
    return any(not _yum_is_local(words[start + 1:end], local_repos) for start, end in zip(yums, ends, strict=True))


class _LocalRepos:
    """Which yum repo ids are local (file:// only), and whether --enablerepo patterns match only those."""

    # fnmatch calls allowed for one kickstart (patterns times repo ids can be made huge); past
    # it, a wildcard pattern counts as not shown to be local (the network is needed)
    BUDGET = 200_000

    def __init__(self, repos: dict[str, bool]) -> None:
        self.repos = repos
        self.known: dict[str, bool] = {}
        self.budget = self.BUDGET

    def only_local(self, pattern: str) -> bool:
        if not any(c in pattern for c in "*?["):
            return self.repos.get(pattern, False)
        if pattern not in self.known:
            self.budget -= len(self.repos)
            matched = [local for repo, local in self.repos.items() if fnmatch.fnmatchcase(repo, pattern)] \
                if self.budget >= 0 else []
            self.known[pattern] = bool(matched) and all(matched)
        return self.known[pattern]


def _yum_is_local(args: list[str], local_repos: _LocalRepos) -> bool:
    """yum --disablerepo='*' with only --enablerepo= patterns that match local repos."""
    disabled: list[str] = []
    enabled: list[str] = []
    for index, arg in enumerate(args):
        for name, into in (("--disablerepo", disabled), ("--enablerepo", enabled)):
            if arg.startswith(name + "="):
                into += arg.split("=", 1)[1].split(",")
            elif arg == name and index + 1 < len(args):
                into += args[index + 1].split(",")
    return "*" in disabled and all(local_repos.only_local(pattern) for pattern in enabled)


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


# --- other passwords ---------------------------------------------------------------------------------

# echo/printf piped into passwd --stdin or chpasswd: from the start of each command of the pipeline,
# its first echo only (atomic), so that a long line is scanned once (see _RUNTIME below)
_ECHO_PIPED = r"(?:^|\|)(?>[^|]*?\b(?:echo|printf)\b)[^|]*\|\s*(?:[^\s|]*/)?"
_PASSWD_STDIN = re.compile(_ECHO_PIPED + r"passwd\b[^|;&]*--stdin")
_CHPASSWD = re.compile(_ECHO_PIPED + r"chpasswd\b(?![^|;&]*\s-e\b)")
_WEAK_AUTH = re.compile(r"(^|\s)(--enablemd5|--passalgo[= ](md5|descrypt))(\s|$)")
_MD5_CRYPT = re.compile(r"\$1\$[^$]{1,8}\$[./0-9A-Za-z]{22}")


def _other_passwords(ks: Kickstart) -> list[Finding]:
    found = []
    for cmd in _named(ks.commands, "user", "sshpw"):
        values = _positionals(cmd)
        password = option(cmd.words, "--password") if cmd.name == "user" else (values[0] if values else None)
        if password and "--iscrypted" not in cmd.words:
            found.append(_f(cmd.at, Severity.WARNING, "plaintext-password",
                            f"'{cmd.name}' carries a clear-text password: use --iscrypted with a SHA-512 hash"))
    for cmd in _named(ks.commands, "auth", "authconfig"):
        if _WEAK_AUTH.search(" ".join(cmd.words)):
            found.append(_f(cmd.at, Severity.WARNING, "weak-password-hashing",
                            "the installed system will hash passwords with MD5: use --passalgo=sha512"))
    for cmd in _named(ks.commands, "bootloader"):
        md5pass = option(cmd.words, "--md5pass")
        password = option(cmd.words, "--password")
        if md5pass is not None and not _MD5_CRYPT.fullmatch(md5pass):
            found.append(_f(cmd.at, Severity.WARNING, "bootloader-not-hash",
                            "bootloader --md5pass= is not an MD5 crypt hash (grub-md5-crypt): nobody can "
                            "enter the boot loader's password"))
        elif password is not None and "--iscrypted" in cmd.words and not _ANY_CRYPT.fullmatch(password):
            found.append(_f(cmd.at, Severity.WARNING, "bootloader-not-hash",
                            "bootloader --iscrypted --password= is not a crypt hash (grub-crypt)"))
    for section, line in _script_lines(ks, heredocs=True):
        if _PASSWD_STDIN.search(line.text) or _CHPASSWD.search(line.text):
            found.append(_f(line, Severity.WARNING, "plaintext-password",
                            f"{section.name} (line {section.header.number}) sets a password from clear "
                            "text: use usermod -p with a hash, or user --iscrypted"))
    return found


# --- disks -------------------------------------------------------------------------------------------

# r1.74.1 to r1.74.12 (6.0-6.4) crash on a logical volume name used twice (AttributeError in the
# duplicate check); r1.74.14 warns
LOGVOL_DUPLICATE_CRASHES_UNTIL = (6, 4)


def _disks(ks: Kickstart, release: tuple[int, ...]) -> list[Finding]:
    found = []
    names = {c.name for c in ks.commands}
    initlabel = any("--initlabel" in c.words for c in _named(ks.commands, "clearpart"))
    if names & set(PARTITIONING) and "zerombr" not in names and not initlabel and not ks.unresolved_includes:
        at = (_named(ks.commands, "clearpart") or _named(ks.commands, *PARTITIONING))[0].at
        found.append(_f(at, Severity.WARNING, "disk-initialization",
                        "no zerombr and no clearpart --initlabel: on a new (blank) disk the installer "
                        "asks before it initialises the disk"))
    seen: dict[tuple[str, str], Command] = {}
    for cmd in ks.commands:
        if cmd.name == "logvol":
            key = (f"logical volume {option(cmd.words, '--name')} in {option(cmd.words, '--vgname')}", "")
        elif cmd.name in ("part", "partition", "raid") and _positionals(cmd) and \
                _positionals(cmd)[0].startswith("/"):
            key = (f"mount point {_positionals(cmd)[0]}", "")
        elif cmd.name == "network" and option(cmd.words, "--device"):
            key = (f"network device {option(cmd.words, '--device')}", "")
        else:
            continue
        if key in seen and cmd.name == "logvol" and release <= LOGVOL_DUPLICATE_CRASHES_UNTIL:
            found.append(_f(cmd.at, Severity.ERROR, "duplicate-logvol",
                            f"{key[0]} is defined again (first at {_where(seen[key], cmd)}): this "
                            "release's parser crashes on it (fixed in 6.5)"))
        elif key in seen:
            found.append(_f(cmd.at, Severity.WARNING, "duplicate-command",
                            f"{key[0]} is defined again (first at {_where(seen[key], cmd)})"))
        else:
            seen[key] = cmd
    return found


# --- packages ----------------------------------------------------------------------------------------

def _packages(ks: Kickstart) -> list[Finding]:
    """EL6 reads one package per line (r1.74 parser.py addPackages): 'git, vim' is one name."""
    found = []
    for section in ks.sections:
        if section.name != "%packages":
            continue
        for line in section.body:
            entry = line.text.split("#", 1)[0].strip()
            if entry.startswith("@"):
                entry = entry.split(" --", 1)[0]     # @group --nodefaults / --optional
            if "," in entry or (" " in entry.strip() and not entry.startswith("@")):
                found.append(_f(line, Severity.WARNING, "package-name",
                                f"'{entry}' is read as one package name: write one package per line"))
    for _section, line in _script_lines(ks):
        words = _split(line.text)
        if "yum" in words and "install" in words:
            for word in words[words.index("install") + 1:]:
                if word.endswith(","):
                    found.append(_f(line, Severity.WARNING, "package-name",
                                    f"'{word}' is not a package name (yum takes names separated by spaces)"))
    return found


# --- what scripts do in the wrong place ----------------------------------------------------------------

_HEREDOC = re.compile(r"<<-?\s*(['\"]?)([A-Za-z_][A-Za-z0-9_]*)\1")
# In a chroot %post these act on the running installer, not on the system being installed.
# The patterns below run on every script line, which may be very long: none may scan the same
# characters again from each of many starts (quadratic time). A path before a command word stops
# at the characters a command starts after; a pattern about one command of a pipeline or list
# starts at the command's beginning and takes its first curl/wget only (an atomic group).
_RUNTIME = re.compile(
    r"(?:^|[\s;&|(])(?:(?:[^\s;&|(]*/)?service\s+\S++\s+(?:start|stop|restart|reload|condrestart|save)\b"
    r"|/etc/(?:rc\.d/)?init\.d/[^\s;&|(]++\s+(?:start|stop|restart|reload)\b"
    r"|setenforce\b|echo\s+[01]\s*>\s*/selinux/enforce|(?:[^\s;&|(]*/)?iptables\s+-[FXPAID]\b|dhclient\b)")
# The same in a python script, through os.system/subprocess: the commands are in strings (from the
# call's opening quote to the line's last quote).
_PYTHON_SHELL = re.compile(r"(?:os\.system|os\.popen|subprocess\.\w+|commands\.getoutput)\(\s*[\"']")
# In a --nochroot %post these name the installer's own files; the new system is under /mnt/sysimage.
# Only where the script writes: a redirection, tee, sed -i, rm (a quoted message may name a path).
_SYSTEM_DIRS = r"/(etc|boot|root|usr|var|home|opt|srv)(?:/|\b)"
_SYSTEM_PATH = re.compile(r"(?:>>?\s*|\btee\s+(?:-a\s+)?|\brm\s+(?:-\w+\s+)*)" + _SYSTEM_DIRS)
_SED_IN_PLACE = re.compile(r"\bsed\s+-i\S*+\s")      # then a system path after a blank, anywhere on the line
_AFTER_BLANK = re.compile(r"\s" + _SYSTEM_DIRS)
_COMMAND_START = r"(?:^|[|;&])"
_INSECURE_TLS = re.compile(_COMMAND_START + r"(?:(?>[^|;&]*?(?:^|(?<=\s))curl\b)[^|;&]*\s(?:-k|--insecure)\b"
                           r"|(?>[^|;&]*?(?:^|(?<=\s))wget\b)[^|;&]*--no-check-certificate)")
_PIPE_TO_SHELL = re.compile(_COMMAND_START + r"(?>[^|;&]*?\b(?:curl|wget)\b)[^|;&]*\|\s*(?:sudo\s+)?"
                            r"(?:[^\s|;&]*/)?(?:ba)?sh\b")
_PLAIN_DOWNLOAD = re.compile(_COMMAND_START + r"(?>[^|;&]*?\b(?:curl|wget)\b)[^|;&]*\bhttp://")
_VERIFIED = re.compile(r"\b(sha256sum|sha512sum|sha1sum|md5sum|gpg|rpm\s+-K|rpm\s+--checksig)\b")


def _script_lines(ks: Kickstart, *, heredocs: bool = False):
    """(section, line) for each code line of the shell scripts; heredoc bodies only when asked."""
    for section in ks.sections:
        if section.name not in ("%pre", "%post", "%traceback"):
            continue
        interpreter = option(section.args, "--interpreter") or "/bin/sh"
        if "python" in interpreter.rsplit("/", 1)[-1] or "perl" in interpreter:
            continue
        until = None
        for line in section.body:
            text = line.text.strip()
            if until is not None:
                if text == until:
                    until = None
                elif heredocs:
                    yield section, line
                continue
            if not text or text.startswith("#"):
                continue
            yield section, line
            match = _HEREDOC.search(line.text)
            if match:
                until = match.group(2)


def _script_habits(ks: Kickstart) -> list[Finding]:
    found = []
    for section in ks.sections:
        if section.name != "%post":
            continue
        nochroot = "--nochroot" in section.args
        log = option(section.args, "--log")
        if log and nochroot and not log.startswith(("/mnt/sysimage/", "/tmp/")):
            found.append(_f(section.header, Severity.WARNING, "install-root-path",
                            f"--log={log} of a --nochroot script is written in the installer, and lost: "
                            "use /mnt/sysimage/..."))
        elif log and not nochroot and log.startswith("/mnt/sysimage"):
            found.append(_f(section.header, Severity.WARNING, "install-root-path",
                            f"--log={log}: anaconda puts a chroot script's log under /mnt/sysimage "
                            "already; give the path inside the new system"))
    for section in ks.sections:
        interpreter = option(section.args, "--interpreter") or ""
        if section.name != "%post" or "--nochroot" in section.args or "python" not in interpreter:
            continue
        for line in section.body:
            call = _PYTHON_SHELL.search(line.text)
            match = _RUNTIME.search(line.text[call.end():max(line.text.rfind('"'), line.text.rfind("'"))]) \
                if call else None
            if match:
                found.append(_f(line, Severity.WARNING, "install-root-path",
                                f"'{match.group(0).strip()}' acts on the running installer, not on the "
                                "installed system (use chkconfig, or the config files)"))
    for section, line in _script_lines(ks):
        nochroot = section.name == "%post" and "--nochroot" in section.args
        if section.name == "%post" and not nochroot:
            match = _RUNTIME.search(line.text)
            if match:
                found.append(_f(line, Severity.WARNING, "install-root-path",
                                f"'{match.group(0).strip()}' acts on the running installer, not on the "
                                "installed system (use chkconfig, or the config files)"))
        if nochroot:
            text = line.text.replace("/mnt/sysimage/", "/mnt/sysimage:")
            match = _SYSTEM_PATH.search(text)
            sed = None if match else _SED_IN_PLACE.search(text)
            if sed:
                match = _AFTER_BLANK.search(text, sed.end())
            if match:
                found.append(_f(line, Severity.WARNING, "install-root-path",
                                f"/{match.group(1)}/ in a --nochroot script is the installer's own; "
                                f"the installed system's is /mnt/sysimage/{match.group(1)}/"))
    verified = {id(section) for section, line in _script_lines(ks, heredocs=True) if _VERIFIED.search(line.text)}
    for section, line in _script_lines(ks, heredocs=True):
        problem = None
        if _INSECURE_TLS.search(line.text):
            problem = "downloads with TLS verification turned off"
        elif _PIPE_TO_SHELL.search(line.text):
            problem = "runs a downloaded script straight from the network"
        elif _PLAIN_DOWNLOAD.search(line.text) and id(section) not in verified:
            problem = "downloads over plain http and checks no checksum or signature"
        if problem:
            found.append(_f(line, Severity.WARNING, "unverified-download",
                            f"{section.name} (line {section.header.number}) {problem}: anything on the "
                            "network path can change what is installed"))
    return found
