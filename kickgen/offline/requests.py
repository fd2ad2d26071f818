"""What a kickstart installs: `%packages` names and `@groups` (with anaconda's implicit @core
and @base), what the installer forces in (INSTALLER_FORCED), and every `yum install` of `%post`.

`requested_packages(kickstart_text)` -> `Requests`; the `%post` scripts are read as sh (literal
variable assignments followed, runner functions such as the rendered `kg_run` looked through).
"""

from __future__ import annotations

import posixpath
import re
import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from kickgen.core.errors import ValidationError


@dataclass(frozen=True)
class Request:
    target: str        # package name/glob/provide, group id or name, URL
    kind: str          # "package", "group", "url", "unresolved"
    origin: str        # where the kickstart asks for it
    implicit: bool = False   # added by anaconda (@core, @base), not written in the kickstart
    all_members: bool = False  # @group --optional
    stage: str = "installer"   # "installer": the installer's transaction; "post": a %post yum run


@dataclass(frozen=True)
class Requests:
    items: tuple[Request, ...]
    excluded: tuple[str, ...] = ()     # %packages `-name` (globs allowed)
    repo_urls: tuple[str, ...] = ()    # baseurls of the kickstart's `repo` lines (the installer's)


# What anaconda 13.21.215 adds to every new install's transaction, whatever %packages says
# (yuminstall.py doPostSelection, 1605-1612). It skips one it cannot find with only a log line,
# which leaves an unbootable or half-configured system: check-offline reports it as missing.
INSTALLER_FORCED = (
    ("kernel", "selectBestKernel, yuminstall.py:1571-1578"),
    ("grub", "the x86 platform's package, platform.py:565-567"),
    ("e2fsprogs", "ext4 /boot and / of autopart, selectFSPackages, yuminstall.py:1580-1586"),
    ("lvm2", "autopart's LVM, selectFSPackages, yuminstall.py:1580-1586"),
    ("dosfstools", "the vfat /boot/efi of a UEFI install, selectFSPackages, yuminstall.py:1580-1586"),
    ("authconfig", "selectAnacondaNeeds, yuminstall.py:1592-1594"),
    ("chkconfig", "selectAnacondaNeeds, yuminstall.py:1592-1594"),
    ("system-config-firewall-base", "selectAnacondaNeeds, yuminstall.py:1592-1594"),
)


def installer_forced_requests() -> tuple[Request, ...]:
    return tuple(Request(name, "package", f"the installer: {why}", implicit=True)
                 for name, why in INSTALLER_FORCED)


def requested_packages(kickstart_text: str, source: str = "<kickstart>") -> Requests:
    """What the kickstart installs: %packages (with @core, and @base unless --nobase) and the
    targets of every `yum install|groupinstall|update NAMES` and `rpm -i URL` in %post."""
    from pykickstart.constants import GROUP_ALL, KS_SCRIPT_POST
    from pykickstart.errors import KickstartError
    from pykickstart.parser import KickstartParser
    from pykickstart.version import RHEL6, makeVersion

    handler = makeVersion(RHEL6)
    parser = KickstartParser(handler, followIncludes=False, missingIncludeIsFatal=False)
    try:
        parser.readKickstartFromString(kickstart_text)
    except KickstartError as exc:
        raise ValidationError(f"{source}: cannot be parsed as a RHEL6 kickstart: {exc}") from None
    items: list[Request] = [Request("core", "group", "anaconda always installs @core", implicit=True)]
    if handler.packages.addBase:
        items.append(Request("base", "group", "anaconda installs @base unless --nobase",
                             implicit=True))
    for group in handler.packages.groupList:
        items.append(Request(group.name, "group", "%packages",
                             all_members=group.include == GROUP_ALL))
    items += [Request(name, "package", "%packages") for name in handler.packages.packageList]
    for script in handler.scripts:
        if script.type != KS_SCRIPT_POST or posixpath.basename(script.interp) not in ("sh", "bash"):
            continue
        items += _post_requests(script.script, script.lineno + 1)
    urls = tuple(repo.baseurl for repo in handler.repo.repoList if repo.baseurl)
    return Requests(tuple(items), tuple(handler.packages.excludedList), urls)


# yum options that take a separate argument (yum 3.2.29's cli.py)
_YUM_OPTS_WITH_ARG = {"-c", "--config", "-d", "--debuglevel", "-e", "--errorlevel", "-R",
                      "--randomwait", "-x", "--exclude", "--installroot", "--enablerepo",
                      "--disablerepo", "--releasever", "--setopt", "--color", "--rpmverbosity",
                      "--disableplugin", "--enableplugin", "--disableexcludes", "--downloaddir"}
_COMMAND_PREFIXES = {"if", "then", "else", "elif", "do", "!", "time", "exec", "env", "nice",
                     "command", "{", "(", "sudo"}
_OPERATORS = re.compile(r"^[;&|()]+$")
_REDIRECT = re.compile(r"^[<>]+&?$|^&>+$")
_HEREDOC = re.compile(r"<<-?\s*(['\"]?)([A-Za-z_][A-Za-z0-9_]*)\1")


def _post_requests(script: str, first_line: int) -> list[Request]:
    """Requests of one sh script. Literal `NAME=value` assignments are followed so that
    `yum install "$pkg"` resolves, and shell functions that run their arguments (`"$@"`, as
    the rendered kickstart's `kg_run "what" yum ...`) are looked through."""
    runners = set(_RUNNER_FUNCTION.findall(script))
    variables: dict[str, str] = {}
    requests: list[Request] = []
    for line_no, line in _logical_lines(script, first_line):
        lexer = shlex.shlex(line, posix=True, punctuation_chars=";&|<>()")
        lexer.whitespace_split = True
        lexer.commenters = "#"
        try:
            tokens = list(lexer)
        except ValueError:
            continue  # an unbalanced quote: not a line we can read, and not ours to judge
        command: list[str] = []
        for token in tokens + [";"]:
            if not _OPERATORS.match(token):
                command.append(token)
                continue
            if command and all(_ASSIGNMENT.match(word) for word in command):
                for word in command:
                    name, value = word.split("=", 1)
                    expanded = _expand(value, variables)
                    if expanded is None:
                        variables.pop(name, None)
                    else:
                        variables[name] = expanded
            else:
                requests += _command_requests(command, line_no, runners, variables)
            command = []
    return requests


_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")
# `name() {` whose body, up to the next line that is only `}`, runs "$@"
_RUNNER_FUNCTION = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*\(\)\s*\{(?:(?!^\s*\}\s*$).)*?\"\$@\"",
                              re.M | re.S)


def _expand(word: str, variables: Mapping[str, str]) -> str | None:
    """WORD with $NAME/${NAME} replaced; None if it holds anything else we cannot know."""
    missing = False

    def value(match: re.Match) -> str:
        nonlocal missing
        name = match.group(1) or match.group(2)
        if name not in variables:
            missing = True
            return ""
        return variables[name]

    expanded = _VARIABLE.sub(value, word)
    if missing or "$" in expanded or "`" in expanded:
        return None
    return expanded


def _logical_lines(script: str, first_line: int) -> Iterable[tuple[int, str]]:
    """Lines joined at trailing backslashes, heredoc bodies skipped (they are data)."""
    lines = script.splitlines()
    index = 0
    while index < len(lines):
        start = index
        text = lines[index]
        while text.endswith("\\") and index + 1 < len(lines):
            index += 1
            text = text[:-1] + " " + lines[index]
        index += 1
        heredoc = _HEREDOC.search(text)
        if heredoc:
            delimiter = heredoc.group(2)
            while index < len(lines) and lines[index].strip() != delimiter:
                index += 1
            index += 1
            text = text[:heredoc.start()]
        yield first_line + start, text


def _command_requests(words: list[str], line_no: int, runners: set[str],
                      variables: Mapping[str, str]) -> list[Request]:
    words = _drop_redirections(words)
    index = 0
    while index < len(words):
        word = words[index]
        if word in _COMMAND_PREFIXES or _ASSIGNMENT.match(word):
            index += 1
        elif word in ("chroot", "timeout"):
            index += 2
        elif word in runners:  # look through to the command it runs
            index = next((i for i in range(index + 1, len(words))
                          if posixpath.basename(words[i]) in ("yum", "rpm")), len(words))
        else:
            break
    if index >= len(words):
        return []
    program, args = posixpath.basename(words[index]), words[index + 1:]
    origin = f"%post line {line_no}: {' '.join(words[index:])}"
    if program == "yum":
        return _yum_requests(args, origin, variables)
    if program == "rpm" and any(re.match(r"^-[a-zA-Z]*[iUF]", a) for a in args):
        return [Request(a, "url", origin, stage="post") for a in args if "://" in a]
    return []


def _drop_redirections(words: list[str]) -> list[str]:
    out: list[str] = []
    skip = False
    for word in words:
        if skip:
            skip = False
        elif _REDIRECT.match(word):
            skip = True
            if out and out[-1].isdigit():
                out.pop()  # the fd number of `2>`
        else:
            out.append(word)
    return out


def _yum_requests(args: list[str], origin: str, variables: Mapping[str, str]) -> list[Request]:
    positional: list[str] = []
    skip = False
    for arg in args:
        if skip:
            skip = False
        elif arg.startswith("-"):
            skip = arg in _YUM_OPTS_WITH_ARG
        else:
            positional.append(arg)
    if not positional:
        return []
    verb, targets = positional[0], positional[1:]
    if verb == "group" and targets[:1] == ["install"]:
        verb, targets = "groupinstall", targets[1:]
    if verb not in ("install", "groupinstall", "localinstall", "update", "upgrade"):
        return []
    requests = []
    for raw in targets:
        target = _expand(raw, variables)
        if target is None:
            requests.append(Request(raw, "unresolved", origin, stage="post"))
        elif "://" in target:
            requests.append(Request(target, "url", origin, stage="post"))
        elif verb == "localinstall" or target.endswith(".rpm"):
            continue  # a local file: not something a repository has to provide
        elif verb == "groupinstall" or target.startswith("@"):
            requests.append(Request(target.removeprefix("@"), "group", origin, stage="post"))
        else:
            requests.append(Request(target, "package", origin, stage="post"))
    return requests
