"""Serial console watching: new lines from a growing log, known failure lines, the report line.

The patterns cover the real EL6 installer (anaconda 13.21 loader and python stages, the
kernel) and the stand-in installer's `kickgen-standin:` lines. A failure pattern stops a phase
at once, quoting the line.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from kickgen.core.errors import HarnessError

REPORT_MARKER = "KICKGEN-REPORT v1 "


@dataclass(frozen=True)
class KnownFailure:
    kind: str          # short name used in verdicts: kickstart-not-found, post-failed, ...
    what: str          # one-line explanation for the user
    pattern: re.Pattern[str]
    phases: tuple[str, ...]   # where the line ends the phase; elsewhere it is only noted


def _failure(kind: str, what: str, regex: str, phases: tuple[str, ...] = ("install",)) -> KnownFailure:
    return KnownFailure(kind, what, re.compile(regex), phases)


ANY_PHASE = ("install", "boot")


# Order matters: the first match names the failure.
KNOWN_FAILURES: tuple[KnownFailure, ...] = (
    # stand-in installer: specific errors first, then any other ERROR line
    _failure("kickstart-not-found", "the installer did not find the kickstart",
             r"kickgen-standin: ERROR: (?:kickstart file not found|Error downloading kickstart file)"),
    _failure("post-failed", "a %post --erroronfail script failed",
             r"kickgen-standin: ERROR: %post script failed"),
    # the EL6 loader's install-source and anaconda's network waits (the stand-in prints the
    # same words in its ERROR lines): a window that waits for a person, so fail at once
    _failure("no-install-source", "the installer found no device for its install method (cdrom on a USB stick?)",
             r"\bNo driver found\b"),
    _failure("no-install-source", "the installer found no install disc in the optical drives",
             r"\bDisc Not Found\b"),
    _failure("network-device-missing", "the kickstart's network --device names an interface this machine lacks",
             r"The provided network interface \S+ does not exist"),
    # the loader with several NICs and no ksdevice= (loader/net.c ~2157-2178): halts or asks
    _failure("network-device-ask", "the installer cannot tell which NIC to use (no ksdevice= on the boot line)",
             r"No way to determine which NIC to use|You have multiple network devices on this system"),
    _failure("installer-error", "the stand-in installer reported an error",
             r"kickgen-standin: ERROR: "),
    # the stand-in's UEFI loader: a kernel or initrd its (netboot) menu names is missing
    _failure("boot-file-missing", "the UEFI boot loader could not read the kernel or initrd its menu names",
             r"kickgen-standin-efi: ERROR: cannot read the (?:kernel|initrd)", ANY_PHASE),
    # the stand-in's UEFI loader: media whose two BOOTX64.conf copies differ do not boot
    _failure("boot-menu-refused", "the stand-in UEFI loader refused the media's boot menus",
             r"kickgen-standin-efi: ERROR: ", ANY_PHASE),
    # EL6 loader (C) and anaconda (python): kickstart missing or unreadable
    _failure("kickstart-not-found", "the installer did not find the kickstart",
             r"Cannot find kickstart file|Error opening kickstart file|"
             r"Unable to download the kickstart file|Failed to get kickstart file"),
    _failure("kickstart-invalid", "the installer rejected the kickstart",
             r"error was found while parsing the kickstart configuration|"
             r"Error processing kickstart file|Kickstart Error"),
    _failure("post-failed", "a %post --erroronfail script failed",
             r"error running the kickstart script at line"),
    _failure("package-missing", "a package named in %packages does not exist on the media",
             r"You have specified that the package '[^']*' should be installed|Missing Package"),
    _failure("installer-crash", "the installer crashed",
             r"An unhandled exception has occurred|^Traceback \(most recent call last\)"),
    _failure("kernel-panic", "the kernel panicked", r"Kernel panic - not syncing", ANY_PHASE),
    # firmware (SeaBIOS prints on the serial port with <bios useserial='yes'/>; OVMF does anyway)
    _failure("no-boot-device", "the firmware found nothing to boot",
             r"No bootable device\.|No bootable option or device was found|UEFI Interactive Shell v",
             ANY_PHASE),
)

# Lines worth showing as progress even when they scroll by fast.
PROGRESS = re.compile(
    r"kickgen-standin: |Running anaconda|Starting graphical installation|Installing |"
    r"Running post-installation scripts|Performing post-installation|Starting installer|"
    r"Welcome to|Starting docker|KICKGEN-REPORT|login:|reboot: ")


@dataclass(frozen=True)
class FailureMatch:
    kind: str
    what: str
    line: str
    fatal: bool        # ends the phase; else (e.g. an installer-style error line while the
                       # installed system boots) it is only noted


def match_failure(line: str, phase: str = "install") -> FailureMatch | None:
    """The first known failure LINE shows, or None."""
    for known in KNOWN_FAILURES:
        if known.pattern.search(line):
            return FailureMatch(known.kind, known.what, line.strip(), phase in known.phases)
    return None


@dataclass(frozen=True)
class BootReport:
    """The first-boot report of the installed system (one KICKGEN-REPORT v1 line)."""

    profile: str
    ks_sha256: str
    kernel_release: str
    aufs: bool
    docker_status_rc: int
    docker_info: str
    default_entry_title: str
    raw: dict

    @property
    def docker_running(self) -> bool:
        return self.docker_status_rc == 0

    @property
    def storage_driver(self) -> str | None:
        found = re.search(r"^\s*Storage Driver:\s*(\S+)", self.docker_info, re.MULTILINE)
        return found.group(1) if found else None


_REPORT_FIELDS: dict[str, type] = {
    "profile": str, "ks_sha256": str, "kernel_release": str, "aufs": bool,
    "docker_status_rc": int, "docker_info": str, "default_entry_title": str,
}


def find_report(line: str) -> str | None:
    """The JSON part of a report line, or None when LINE is not one."""
    at = line.find(REPORT_MARKER)
    if at < 0:
        return None
    return line[at + len(REPORT_MARKER):].strip()


def parse_report(payload: str, source: str = "<serial>") -> BootReport:
    """Parse the JSON after `KICKGEN-REPORT v1 `; every field checked for presence and type."""
    try:
        data = json.loads(payload)
    except json.JSONDecodeError as exc:
        column = exc.colno + len(REPORT_MARKER)
        raise HarnessError(f"{source}: report line is not valid JSON ({exc.msg} at column {column})",
                           hint="the first-boot script must print one compact JSON object") from None
    if not isinstance(data, dict):
        raise HarnessError(f"{source}: report line holds a JSON {type(data).__name__}, not an object")
    problems = []
    for key, kind in _REPORT_FIELDS.items():
        if key not in data:
            problems.append(f"missing '{key}'")
        # bool is an int in Python: keep the two apart
        elif not isinstance(data[key], kind) or (kind is int and isinstance(data[key], bool)):
            problems.append(f"'{key}' is {type(data[key]).__name__}, expected {kind.__name__}")
    if problems:
        raise HarnessError(f"{source}: bad report line: {'; '.join(problems)}")
    return BootReport(**{key: data[key] for key in _REPORT_FIELDS}, raw=data)


class SerialTail:
    """Complete new lines of a growing serial log, read a chunk at a time (never blocks)."""

    def __init__(self, path: Path):
        self.path = path
        self._offset = 0
        self._partial = ""
        self.last_line = ""
        self.lines_seen = 0

    def read_new(self) -> list[str]:
        try:
            with self.path.open("rb") as log:
                log.seek(self._offset)
                chunk = log.read()
        except FileNotFoundError:
            return []
        if not chunk:
            return []
        self._offset += len(chunk)
        text = self._partial + chunk.decode("utf-8", "replace").replace("\r", "")
        # firmware screens move the cursor instead of starting lines: treat a move as a new line
        text = _CURSOR_MOVE.sub("\n", text)
        *lines, self._partial = text.split("\n")
        lines = [_strip_escapes(line) for line in lines]
        shown = [line for line in lines if line.strip()]
        if shown:
            self.last_line = shown[-1].strip()
        self.lines_seen += len(lines)
        return lines

    def flush(self) -> list[str]:
        """The last unterminated line too (at the end of a phase)."""
        lines = self.read_new()
        if self._partial:
            lines.append(_strip_escapes(self._partial))
            self._partial = ""
        return lines


_CURSOR_MOVE = re.compile(r"\x1b\[\d+;\d+H")
_ESCAPES = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Z0-9]|[\x00-\x08\x0b-\x1f]")


def _strip_escapes(line: str) -> str:
    """Drop terminal escape sequences (anaconda's text UI draws with them)."""
    return _ESCAPES.sub("", line)


def tail_lines(path: Path, count: int = 20) -> list[str]:
    """The last COUNT non-empty lines of a log, for quoting in a failure message."""
    try:
        text = path.read_bytes().decode("utf-8", "replace").replace("\r", "")
    except FileNotFoundError:
        return []
    return [_strip_escapes(line) for line in text.split("\n") if line.strip()][-count:]
