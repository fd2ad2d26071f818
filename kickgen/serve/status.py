"""`kickgen status`: the hosts' states as a table or JSON, and the exit code (0 only when every
inventory host reported and passed)."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence

from kickgen.serve.state import HostState


def _when(epoch: float | None) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch)) if epoch is not None else "-"


def status_text(states: Sequence[HostState]) -> str:
    """One row per host (NAME MAC PROFILE STATE VERDICT SINCE), each failed assertion indented
    below its host, then a summary line."""
    header = ("HOST", "MAC", "PROFILE", "STATE", "VERDICT", "SINCE")
    rows = [header]
    for st in states:
        since = st.reported_at or st.installing_at or st.kickstart_at
        rows.append((st.name, st.mac, st.profile, st.state, st.verdict or "-", _when(since)))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = []
    for i, row in enumerate(rows):
        lines.append("  ".join(cell.ljust(widths[j]) for j, cell in enumerate(row)).rstrip())
        if i:
            lines.extend(f"    {failure}" for failure in states[i - 1].failed)
    lines.append(summary(states))
    return "\n".join(lines) + "\n"


def summary(states: Sequence[HostState]) -> str:
    passed = sum(1 for s in states if s.passed)
    failed = sum(1 for s in states if s.verdict == "failed")
    waiting = len(states) - passed - failed
    hosts = "1 host" if len(states) == 1 else f"{len(states)} hosts"
    return f"{hosts}: {passed} passed, {failed} failed, {waiting} not reported"


def status_json(states: Sequence[HostState]) -> str:
    data = {"hosts": [st.as_json() for st in states],
            "passed": sum(1 for s in states if s.passed), "total": len(states),
            "all_passed": exit_code(states) == 0}
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def exit_code(states: Sequence[HostState]) -> int:
    return 0 if states and all(s.passed for s in states) else 1
