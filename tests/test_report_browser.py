"""The report in a real browser (Debian's chromium, headless, driven over the DevTools protocol
by tests/chromium_cdp.py): a synthetic 30-night history of a dozen cases, one failing with a
real PNG screen and a hostile label. The failing case's screen is loaded, its text is on the
page, nothing is logged as an error (no failed load, no Content-Security-Policy refusal, no
script), and on a phone-sized screen the page needs no sideways scrolling.

The same check on a report from a real matrix run: tests/test_matrix_standin.py."""

from __future__ import annotations

import struct
from dataclasses import replace
from pathlib import Path

import pytest

from chromium_cdp import Chromium
from kickgen.report import write_report
from kickgen.results import Excerpt
from kickgen.results.synthetic import add_runs, synthetic_labels, synthetic_runs
from test_report import png

pytestmark = pytest.mark.browser
FAILING = "profile-001/uefi/usb<b>"


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def check_page(page, *, label: str, texts: list[str]) -> None:
    """What every browser test asserts on a rendered report."""
    images = page.evaluate("[...document.images].map(i => ({src: i.src, alt: i.alt, w: i.naturalWidth, "
                           "done: i.complete}))")
    shown = [i for i in images if i["alt"].startswith(f"The screen of {label} ")]
    assert shown and shown[0]["done"] and shown[0]["w"] > 0, images       # the screen is loaded and shown
    body = page.evaluate("document.body.innerText")
    for text in texts:
        assert text in body, text
    assert page.evaluate("document.scripts.length") == 0
    assert page.errors == []


def report_with_history(root: Path) -> Path:
    """30 nights of 12 synthetic cases; on the last one FAILING failed with a screen and a log."""
    runs = synthetic_runs(synthetic_labels(11) + [FAILING], nights=30)
    folder = root / "artifacts" / "failing"
    folder.mkdir(parents=True)
    (folder / "verdict.txt").write_text("FAIL\n")
    (folder / "install-serial.log").write_text("kickgen-standin: ERROR: kickstart file not found\n")
    (folder / "install-screenshot.png").write_bytes(png(640, 400))
    last = runs[-1]
    cases = [replace(c, status="fail", outcome="fail", iso_sha256="f" * 64, artifacts=str(folder),
                     screenshot="install-screenshot.png", install_outcome="failed", boot_outcome="not-run",
                     boot_seconds=None, verdict=f"FAIL {FAILING}: install failed: kickstart not found",
                     failed=("install: failed: the installer did not find the kickstart",),
                     excerpt=Excerpt("install-serial.log", 1, ("kickgen-standin: ERROR: kickstart file not found",), 0))
             if c.label == FAILING else c for c in last.cases]
    runs[-1] = replace(last, cases=tuple(cases), passed=False)
    db = root / "results.sqlite"
    add_runs(db, runs)
    return write_report(db, root / "site" / "report.html").path


def test_the_report_in_chromium(tmp_path):
    page_path = report_with_history(tmp_path)
    with Chromium() as browser:
        page = browser.open_page(width=1280, height=900)
        page.navigate(page_path.as_uri())
        check_page(page, label=FAILING, texts=[FAILING, "install: failed: the installer did not find the kickstart",
                                               "kickgen-standin: ERROR: kickstart file not found", "Failing since"])
        shot = page.screenshot()
        (tmp_path / "report.png").write_bytes(shot)
        width, height = png_size(shot)
        assert width == 1280 and height > 2000                        # the whole page
        assert not any(e["method"] == "Page.javascriptDialogOpening" for e in browser.events)

        phone = browser.open_page(width=375, height=812, scale=2, mobile=True)
        phone.navigate(page_path.as_uri())
        assert phone.evaluate("document.documentElement.scrollWidth") <= 375    # no sideways scrolling
        font = phone.evaluate("parseFloat(getComputedStyle(document.querySelector('main p, main td')).fontSize)")
        assert font >= 12
        assert phone.evaluate("[...document.images].every(i => i.getBoundingClientRect().width <= 375)")
        assert phone.errors == []


def test_the_browser_check_can_fail(tmp_path):
    """A page whose image is missing is caught: naturalWidth 0 and a failed load in the log."""
    page_path = report_with_history(tmp_path)
    for image in (page_path.parent / "report-images").glob("*.png"):
        image.unlink()
    with Chromium() as browser:
        page = browser.open_page()
        page.navigate(page_path.as_uri())
        with pytest.raises(AssertionError):
            check_page(page, label=FAILING, texts=[FAILING])
        assert page.errors, "a missing image is logged"
