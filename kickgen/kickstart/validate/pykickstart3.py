"""A second opinion: today's pykickstart with its RHEL6 handler, one command at a time.

It checks values EL6's grammar table cannot (a RAID level, a partition's sizes). Where it refuses
a line EL6's own parser accepted, kickgen follows EL6 and warns; EL6's refusals come from the
grammar table. Each command is parsed on its own, so every problem is found, on its own line.
"""

from __future__ import annotations

import re
import warnings

from kickgen.kickstart.validate.findings import Finding, Severity
from kickgen.kickstart.validate.source import Command

# pykickstart's own prefix repeats the line the finding already names
_PREFIX = re.compile(r"^The following problem occurred on line \d+ of the kickstart file: ?")
# Commands given to one handler: some of its commands look for duplicates in a list of all seen
# so far (quadratic; 40,000 repo lines took minutes), and a new handler costs ~13 ms
_COMMANDS_PER_HANDLER = 500


def check_with_pykickstart3(commands: list[Command]) -> list[Finding]:
    if not commands:
        return []
    from pykickstart.errors import KickstartError
    from pykickstart.handlers.rhel6 import RHEL6Handler

    found = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")     # deprecations: kickgen's grammar has EL6's own
        for index, cmd in enumerate(commands):
            if index % _COMMANDS_PER_HANDLER == 0:
                handler = RHEL6Handler()
            try:
                handler.dispatcher(list(cmd.words), cmd.at.number)
            except KickstartError as exc:
                message = _PREFIX.sub("", " ".join(str(getattr(exc, "value", None) or exc).split()))
                found.append(Finding(Severity.WARNING, cmd.at.file, cmd.at.number, "pykickstart3-refuses",
                                     f"today's pykickstart (RHEL6 handler) refuses '{cmd.name}': {message}; "
                                     "EL6's parser accepts it"))
            except Exception as exc:  # noqa: BLE001 - a crash in the second opinion is not the user's error
                found.append(Finding(Severity.NOTE, cmd.at.file, cmd.at.number, "pykickstart3-refuses",
                                     f"today's pykickstart could not read '{cmd.name}': {type(exc).__name__}"))
    return found
