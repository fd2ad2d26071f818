"""The serial-log lines around a failure, kept in the results database (the log itself may be
on another machine when the report is written)."""

from __future__ import annotations

import os
from pathlib import Path

from kickgen.results.model import Excerpt

BEFORE = 12           # lines before the failure line
AFTER = 6             # and after it
TAIL = 20             # lines shown when no line can be pointed at
MAX_LINE_CHARS = 400  # a longer line is cut (the report line can be kilobytes)
READ_LIMIT = 4 << 20  # only the end of a larger log is read


def lines_around(log: Path, reason: str = "", marker: str | None = None) -> Excerpt | None:
    """The lines of LOG around its failure line: the last line that contains MARKER, else the
    last line that REASON ends with (a failure reason quotes the console line last: "what:
    line", "...; last console line: line"), else the last TAIL lines. None when LOG is absent."""
    try:
        size = os.path.getsize(log)
        with open(log, "rb") as stream:
            skipped = max(0, size - READ_LIMIT)
            stream.seek(skipped)
            data = stream.read(READ_LIMIT)
    except OSError:
        return None
    text = data.decode("utf-8", "replace")
    lines = [line.rstrip("\r") for line in text.split("\n")]
    if lines and lines[-1] == "":
        lines.pop()
    if skipped:              # the first line read is likely cut: drop it (line numbers unknown then)
        lines = lines[1:]
    reason = reason.strip()
    mark = -1
    for index in range(len(lines) - 1, -1, -1):
        line = lines[index].strip()
        if (marker and marker in line) or (not marker and len(line) >= 8 and reason.endswith(line)):
            mark = index
            break
    if mark < 0:
        start, end = max(0, len(lines) - TAIL), len(lines)
    else:
        start, end = max(0, mark - BEFORE), min(len(lines), mark + AFTER + 1)
    shown = tuple(_cut(line) for line in lines[start:end])
    first = 0 if skipped else start + 1          # 0: line numbers unknown
    return Excerpt(log.name, first, shown, mark - start if mark >= 0 else -1)


def _cut(line: str) -> str:
    return line if len(line) <= MAX_LINE_CHARS else line[:MAX_LINE_CHARS] + " [...]"
