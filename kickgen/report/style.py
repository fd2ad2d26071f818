"""The report's colours and status words, in one place: the template's CSS and the SVG plots
read them, and tests/test_report.py checks every text/background pair for WCAG contrast >= 4.5:1.

Every status is told by its word (and a one-letter mark in the history strips), never by
colour alone; the marks and words are in the report's legend.
"""

from __future__ import annotations

# display state -> (word, one-letter mark, background, text colour)
STATES: dict[str, tuple[str, str, str, str]] = {
    "pass": ("PASS", "P", "#1a7f37", "#ffffff"),
    "fail": ("FAIL", "F", "#b42318", "#ffffff"),
    "error": ("ERROR", "E", "#6941c6", "#ffffff"),
    "flaky": ("FLAKY", "~", "#93370d", "#ffffff"),
    "expected-fail": ("EXPECTED FAIL", "X", "#475467", "#ffffff"),
    "unexpected-pass": ("UNEXPECTED PASS", "U", "#c01048", "#ffffff"),
    "none": ("NOT RUN", "-", "#eaecf0", "#344054"),
}
EXPLAIN = {
    "pass": "passed",
    "fail": "failed (every attempt)",
    "error": "could not run (media not built, unknown profile, libvirt unreachable)",
    "flaky": "passed and failed on the same inputs (kickgen version, ISO, kickstart): a retry passed, "
             "or another run with the same inputs had the other result",
    "expected-fail": "failed, as its expect_fail: says it should",
    "unexpected-pass": "passed, though its expect_fail: says it should fail: the run fails",
    "none": "not in that run",
}
PAGE = {"text": "#1d2939", "background": "#ffffff", "muted": "#475467", "link": "#1849a9",
        "code_background": "#f2f4f7", "mark_background": "#fef0c7", "border": "#98a2b3"}
# text/background pairs the page uses (the test checks each)
PAIRS = [(PAGE["text"], PAGE["background"]), (PAGE["muted"], PAGE["background"]),
         (PAGE["link"], PAGE["background"]), (PAGE["text"], PAGE["code_background"]),
         (PAGE["text"], PAGE["mark_background"])] + [(fg, bg) for _, _, bg, fg in STATES.values()]
PLOT = {"install": "#1849a9", "boot": "#93370d", "axis": "#475467"}


def relative_luminance(colour: str) -> float:
    channels = [int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    """WCAG 2 contrast ratio of two #rrggbb colours (1 to 21)."""
    la, lb = sorted((relative_luminance(a), relative_luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def css() -> str:
    """The status classes for the template's <style>."""
    rules = [f".st-{state}{{background:{bg};color:{fg}}}" for state, (_, _, bg, fg) in STATES.items()]
    return "\n".join(rules)
