"""Small inline SVG pictures of one case's history: a strip of results and a plot of install and
boot time. Built as strings (a thousand cases render in milliseconds); every text that comes
from the database goes through `escape`. Each picture is `role="img"` with an aria-label that
says what it shows in words, and scales down with the page (viewBox, width 100% up to its size).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

from kickgen.report.style import PLOT, STATES

CELL = 14           # px per run
HEIGHT = 18
PLOT_HEIGHT = 44


@dataclass(frozen=True)
class Point:
    """One run of a case, as the pictures need it."""

    state: str                   # a key of STATES
    when: str                    # shown in the cell's tooltip
    install: float | None
    boot: float | None


def strip(points: Sequence[Point], label: str) -> Markup:
    """One cell per run, oldest first: its colour and its letter (P F E ~ X U -). Drawn as one
    path and one text per result (the text's x list places each letter): small for 30 runs."""
    width = max(CELL * len(points), CELL)
    cells: dict[str, list[int]] = {}
    for n, p in enumerate(points):
        cells.setdefault(p.state, []).append(n * CELL)
    summary = ", ".join(f"{len(xs)} {STATES[s][0].lower()}" for s, xs in cells.items())
    span = f"{points[0].when} to {points[-1].when}" if points else "no runs"
    parts = [f'<svg class="strip" role="img" viewBox="0 0 {width} {HEIGHT}" width="{width}" height="{HEIGHT}" '
             f'aria-label="{escape(label)}: results of the last {len(points)} runs, oldest first: '
             f'{escape(summary)}"><title>{escape(span)}</title>']
    for state, xs in cells.items():
        word, mark, bg, fg = STATES[state]
        path = "".join(f"M{x} 0h{CELL - 2}v{HEIGHT}h-{CELL - 2}z" for x in xs)
        centres = " ".join(f"{x + (CELL - 2) / 2:g}" for x in xs)
        parts.append(f'<path d="{path}" fill="{bg}"/><text x="{centres}" y="13" text-anchor="middle" '
                     f'font-size="11" font-family="sans-serif" fill="{fg}">{escape(mark * len(xs))}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def plot(points: Sequence[Point], label: str) -> Markup:
    """Install time (solid line) and boot time (dashed), oldest first, on one scale from 0."""
    values = [v for p in points for v in (p.install, p.boot) if v is not None]
    width = max(CELL * len(points), CELL)
    if not values:
        return Markup(f'<svg class="plot" role="img" viewBox="0 0 {width} {PLOT_HEIGHT}" width="{width}" '
                      f'height="{PLOT_HEIGHT}" aria-label="{escape(label)}: no install or boot times"></svg>')
    top = max(values) or 1.0
    inner = PLOT_HEIGHT - 12

    def line(attr: str) -> list[str]:
        """Polylines of the runs that have the time (a gap where a run has none)."""
        runs: list[list[str]] = [[]]
        for n, p in enumerate(points):
            value = getattr(p, attr)
            if value is None:
                runs.append([])
                continue
            y = 2 + inner * (1 - value / top)
            runs[-1].append(f"{n * CELL + (CELL - 2) / 2:g},{y:.1f}")
        return [" ".join(r) for r in runs if r]

    installs = [p.install for p in points if p.install is not None]
    boots = [p.boot for p in points if p.boot is not None]
    described = []
    if installs:
        described.append(f"install {min(installs):.0f} to {max(installs):.0f} s")
    if boots:
        described.append(f"boot {min(boots):.0f} to {max(boots):.0f} s")
    parts = [f'<svg class="plot" role="img" viewBox="0 0 {width} {PLOT_HEIGHT}" width="{width}" '
             f'height="{PLOT_HEIGHT}" aria-label="{escape(label)}: {"; ".join(described)} '
             f'over the last {len(points)} runs, oldest first">',
             f'<line x1="0" y1="{2 + inner}" x2="{width}" y2="{2 + inner}" stroke="{PLOT["axis"]}" '
             f'stroke-width="1"/>']
    for coords in line("install"):
        if " " not in coords:
            x, y = coords.split(",")
            parts.append(f'<circle cx="{x}" cy="{y}" r="2" fill="{PLOT["install"]}"/>')
        parts.append(f'<polyline points="{coords}" fill="none" stroke="{PLOT["install"]}" stroke-width="2"/>')
    for coords in line("boot"):
        if " " not in coords:
            x, y = coords.split(",")
            parts.append(f'<circle cx="{x}" cy="{y}" r="2" fill="{PLOT["boot"]}"/>')
        parts.append(f'<polyline points="{coords}" fill="none" stroke="{PLOT["boot"]}" stroke-width="2" '
                     f'stroke-dasharray="4 2"/>')
    parts.append(f'<text x="{width - 1}" y="{PLOT_HEIGHT - 1}" text-anchor="end" font-size="9" '
                 f'font-family="sans-serif" fill="{PLOT["axis"]}">max {top:.0f} s</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
