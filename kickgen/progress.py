"""The live progress line of boot tests (rich): run, phase, elapsed time, last console line.

On a terminal it redraws in place; elsewhere (CI logs) it prints one line per phase change.
"""

from __future__ import annotations

import threading
import time

from rich.console import Console
from rich.live import Live
from rich.table import Table
from rich.text import Text

from kickgen.vm.harness import Progress


class LiveProgress:
    """Context manager; pass `.update` as the `progress` callback (thread-safe, one row per run)."""

    def __init__(self, console: Console | None = None):
        self.console = console or Console(stderr=True)
        self._rows: dict[str, Progress] = {}
        self._phases: dict[str, str] = {}
        self._lock = threading.Lock()
        self._live: Live | None = None

    def __enter__(self) -> LiveProgress:
        if self.console.is_terminal:
            self._live = Live(self._table(), console=self.console, refresh_per_second=2, transient=True)
            self._live.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        if self._live is not None:
            self._live.__exit__(*exc)

    def update(self, progress: Progress) -> None:
        with self._lock:
            self._rows[progress.run] = progress
            changed = self._phases.get(progress.run) != progress.phase
            self._phases[progress.run] = progress.phase
            if self._live is not None:
                self._live.update(self._table())
            elif changed:
                self.console.print(f"{time.strftime('%H:%M:%S')} {progress.run}: {progress.phase} phase "
                                   f"({progress.accel})", highlight=False)

    def _table(self) -> Table:
        table = Table(box=None, show_header=False, pad_edge=False)
        for column in ("run", "phase", "elapsed", "console"):
            table.add_column(column, no_wrap=True, overflow="ellipsis", max_width=None if column != "console" else 80)
        for row in self._rows.values():
            minutes, seconds = divmod(int(row.elapsed), 60)
            table.add_row(row.run, Text(f"{row.phase} ({row.accel})", style="bold"),
                          f"{minutes:02d}:{seconds:02d}", Text(row.last_line[-80:], style="dim"))
        return table
