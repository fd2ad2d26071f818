"""`kickgen report`: what a page says about each case (flaky, failing since when and what changed,
expected failures), hostile strings from the database escaped, every link relative and to a
file that is there, no external URL and no script, the images folder (PNG screenshots only,
never a folder kickgen did not make), accessibility basics and colour contrast.

The page in a real browser: tests/test_report_browser.py."""

from __future__ import annotations

import html.parser
import re
import shutil
import struct
import zlib
from dataclasses import replace
from pathlib import Path
from urllib.parse import unquote

import pytest

from kickgen.cli import main
from kickgen.core.errors import UsageError
from kickgen.report import write_report
from kickgen.report.style import PAIRS, STATES, contrast
from kickgen.report.view import case_view, display_state, streak
from kickgen.report.write import IMAGES_MARKER, images_dir_for
from kickgen.results import CaseRecord, Excerpt, RunRecord, read_history
from kickgen.results.synthetic import add_runs

HOSTILE_LABEL = '<script>alert("label")</script>&amp;/bios/cd'
HOSTILE_LINE = '</pre><img src=x onerror=alert(1)><a href="javascript:alert(2)">x</a>'


def png(width: int = 64, height: int = 48, rgb: tuple[int, int, int] = (180, 30, 30)) -> bytes:
    """A real PNG (what virDomainScreenshot gives, in small)."""
    raw = b"".join(b"\0" + bytes(rgb) * width for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def _case(label: str, night: int, *, status: str = "pass", ks: str = "ks1", iso: str = "iso1", attempt: int = 1,
          outcome: str | None = None, folder: Path | None = None, **changes) -> CaseRecord:
    failed = status in ("fail", "error", "expected-fail") or outcome == "fail"
    return replace(CaseRecord(
        label=label, attempt=attempt, profile="standin-docker", firmware="bios", medium="cd", host="qemu:///system",
        accel="TCG", outcome=outcome or {"pass": "pass", "flaky": "pass", "unexpected-pass": "pass",
                                         "error": "error"}.get(status, "fail"),
        status=status, verdict=f"{'FAIL' if failed else 'PASS'} {label} TCG: night {night}",
        failed=("docker_running: FAILED: expected docker running, got docker not running",) if failed else (),
        install_outcome="ok", install_seconds=60.0 + night, boot_outcome="ok", boot_seconds=20.0,
        kickgen_version="0.1.0", iso_sha256=iso * 8, ks_sha256=ks * 8, artifacts=str(folder) if folder else "",
        seconds=85.0), **changes)


def _night(n: int, cases: list[CaseRecord], root: Path) -> RunRecord:
    return RunRecord(run_id=f"{n:032x}", started=f"2024-05-{n + 1:02d}T02:00:00Z", machine="nightly-1",
                     matrix="matrix.yaml", kickgen_version="0.1.0", artifacts=str(root / f"night-{n}"),
                     passed=all(c.status in ("pass", "flaky", "expected-fail") for c in cases), cases=tuple(cases))


NIGHTS = 10


@pytest.fixture(scope="module")
def history_db(tmp_path_factory) -> Path:
    """Ten nights of six told cases (one with a hostile label and log), the last night's failing
    attempts with real artefact folders."""
    root = tmp_path_factory.mktemp("report")
    runs = []
    for n in range(NIGHTS):
        last = n == NIGHTS - 1
        cases = [_case("stable/bios/cd", n)]
        # fails from night 7 on, when its kickstart changed
        cases.append(_case("regressed/bios/cd", n, status="fail" if n >= 7 else "pass", ks="ks2" if n >= 7 else "ks1"))
        # passes and fails on the same inputs; failed last
        cases.append(_case("wobbly/bios/cd", n, status="fail" if n % 2 else "pass"))
        cases.append(_case("expected/bios/cd", n, status="expected-fail", expect_fail="docker is off on purpose"))
        cases.append(_case("unexpected/bios/cd", n, status="unexpected-pass" if last else "expected-fail",
                           expect_fail="it should not boot"))
        if last:   # a retry that passed: two attempts, each with its folder
            for attempt, outcome in ((1, "fail"), (2, "pass")):
                folder = root / f"night-{n}" / "retried-bios-cd" / f"attempt-{attempt}"
                folder.mkdir(parents=True)
                (folder / "verdict.txt").write_text(f"{outcome}\n")
                cases.append(_case("retried/bios/cd", n, status="flaky", outcome=outcome, attempt=attempt,
                                   folder=folder))
            hostile = root / f"night-{n}" / "hostile"
            hostile.mkdir(parents=True)
            for name in ("verdict.txt", "install-serial.log", "javascript:alert(1).txt", "a b&c <x>.log"):
                (hostile / name).write_text("x\n")
            (hostile / "install-screenshot.png").write_bytes(png())
            cases.append(_case(HOSTILE_LABEL, n, status="fail", folder=hostile, screenshot="install-screenshot.png",
                               iso="iso2",    # new media: failing, not flaky
                               verdict=f'FAIL "><svg onload=alert(3)> {HOSTILE_LINE}',
                               failed=(HOSTILE_LINE, "\x1b[31mred\x1b[0m"),
                               excerpt=Excerpt("install-serial.log", 7, ("before", HOSTILE_LINE, "after"), 1)))
            regressed = root / f"night-{n}" / "regressed"
            regressed.mkdir()
            (regressed / "report.json").write_text("{}")
            (regressed / "boot-screenshot.png").write_bytes(png(rgb=(0, 0, 120)))
            cases[1] = replace(cases[1], artifacts=str(regressed), screenshot="boot-screenshot.png")
        else:
            cases.append(_case("retried/bios/cd", n))
            cases.append(_case(HOSTILE_LABEL, n))
        runs.append(_night(n, cases, root))
    db = root / "results.sqlite"
    add_runs(db, runs)
    return db


class Page(html.parser.HTMLParser):
    """The page as tags, attributes, ids and text (the standard library's HTML parser)."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text_parts: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text_parts.append(data)

    @property
    def text(self) -> str:
        return " ".join(" ".join(self.text_parts).split())

    def all(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for name, attrs in self.tags if name == tag]


@pytest.fixture(scope="module")
def report(history_db, tmp_path_factory):
    out = tmp_path_factory.mktemp("out") / "site" / "nightly.html"
    result = write_report(history_db, out, runs=30)
    return result, Page(out.read_text()), out.read_text()


def _section_text(raw: str, label: str) -> str:
    """The text of the <article> of the case LABEL (its h3 starts with the label)."""
    for article in raw.split("<article")[1:]:
        section = Page("<article" + article.split("</article>")[0])
        if next(t for t in section.text_parts if t.strip()).strip() == label:
            return section.text
    raise AssertionError(f"no section for {label}")


# --- what each case shows -------------------------------------------------------------------------

def test_the_grid_gives_every_case_its_latest_result_in_words(report):
    result, page, raw = report
    rows = {}
    for line in raw.split("<tr>")[1:]:
        cells = Page("<tr>" + line.split("</tr>")[0])
        if cells.all("th") and "scope" in cells.all("th")[0] and cells.all("span"):
            rows[cells.text_parts[0]] = cells.text_parts[1]
    assert rows == {"stable/bios/cd": "PASS", "regressed/bios/cd": "FAIL", "wobbly/bios/cd": "FLAKY",
                    "expected/bios/cd": "EXPECTED FAIL", "unexpected/bios/cd": "UNEXPECTED PASS",
                    "retried/bios/cd": "FLAKY", HOSTILE_LABEL: "FAIL"}
    assert result.cases == 7 and result.failing == 3       # regressed, hostile, unexpected (not the flaky ones)
    assert "69 s" in raw and "20 s" in raw                 # install and boot times of the last night


def test_a_regression_says_since_when_and_what_changed(report):
    _, _, raw = report
    text = _section_text(raw, "regressed/bios/cd")
    assert "Failing since 2024-05-08 02:00 UTC (3 runs in a row)." in text
    assert ("Changed from the run before (2024-05-07 02:00 UTC): kickstart ks1ks1ks1ks1 → ks2ks2ks2ks2."
            in text)
    assert "docker_running: FAILED: expected docker running, got docker not running" in text


def test_flaky_is_told_apart_from_failing(report):
    _, _, raw = report
    wobbly = _section_text(raw, "wobbly/bios/cd")
    assert "Failed in the latest run, but 5 of the 10 runs with the same inputs" in wobbly
    assert "Failing since" not in wobbly
    retried = _section_text(raw, "retried/bios/cd")
    assert "Failed, then passed on a retry in the same run." in retried
    assert "Attempt 1 (fail)" in retried and "Attempt 2 (pass)" in retried


def test_expected_failures_are_shown_as_such(report):
    _, _, raw = report
    expected = _section_text(raw, "expected/bios/cd")
    assert "Failed, as its expect_fail: says it should. Expected to fail: docker is off on purpose." in expected
    unexpected = _section_text(raw, "unexpected/bios/cd")
    assert "the run fails" in unexpected and "Expected to fail: it should not boot." in unexpected


def test_the_history_strip_and_plot_say_what_they_show(report):
    _, page, raw = report
    labels = [a["aria-label"] for a in page.all("svg")]
    assert any(label.startswith("wobbly/bios/cd: results of the last 10 runs, oldest first: 5 pass, 5 fail")
               for label in labels), labels
    assert any(label.startswith("stable/bios/cd: install 60 to 69 s; boot 20 to 20 s over the last 10 runs")
               for label in labels), labels
    assert all(a.get("role") == "img" for a in page.all("svg"))


@pytest.mark.parametrize("statuses, state", [
    (["pass", "pass", "fail"], "fail"),            # inputs changed at the failure (below)
    (["pass", "fail", "pass"], "flaky"),           # same inputs both ways, passed last
    (["fail", "fail"], "fail"),
    (["pass", "flaky"], "flaky"),
    (["expected-fail", "expected-fail"], "expected-fail"),
    (["pass", "error"], "flaky"),                   # an error on the same inputs as a pass
])
def test_display_state(tmp_path, statuses, state):
    runs = [_night(n, [_case("c/bios/cd", n, status=s, ks="new" if n == len(statuses) - 1 and statuses == [
        "pass", "pass", "fail"] else "old")], tmp_path) for n, s in enumerate(statuses)]
    db = tmp_path / "r.sqlite"
    add_runs(db, runs)
    case_runs = read_history(db).cases["c/bios/cd"]
    assert display_state(case_runs)[0] == state
    assert (case_view("c/bios/cd", case_runs).streak is not None) == (state == "fail")
    assert (streak(case_runs) is not None) == (statuses[-1] in ("fail", "error"))


# --- hostile strings, links, no network ------------------------------------------------------------

def test_hostile_strings_from_the_database_are_text(report):
    _, page, raw = report
    assert page.all("script") == [] and "<script>alert" not in raw
    assert not [(tag, name) for tag, attrs in page.tags for name in attrs if name.startswith("on")]
    assert HOSTILE_LABEL in page.text                          # shown as text, whole
    assert HOSTILE_LINE in page.text
    assert "\\x1b[31mred\\x1b[0m" in page.text                   # control characters shown escaped
    assert "\x1b" not in raw
    imgs = page.all("img")
    assert [i["src"] for i in imgs if i["src"] == "x"] == []


def test_every_link_is_relative_and_leads_to_a_file_or_a_section(report):
    result, page, raw = report
    ids = {attrs["id"] for _, attrs in page.tags if attrs.get("id")}
    targets = [attrs["href"] for attrs in page.all("a")] + [attrs["src"] for attrs in page.all("img")]
    assert targets
    for target in targets:
        assert target and "://" not in target and not target.startswith(("/", "javascript:", "data:")), target
        if target.startswith("#"):
            assert target[1:] in ids, target
        else:
            assert target.startswith(("./", "../")), target
            assert (result.path.parent / unquote(target)).is_file(), target
    hrefs = [a["href"] for a in page.all("a")]
    assert any(h.endswith("javascript%3Aalert%281%29.txt") for h in hrefs)     # a file name, quoted
    assert any(h.endswith("a%20b%26c%20%3Cx%3E.log") for h in hrefs)


def test_no_external_url_and_no_script_allowed(report):
    _, page, raw = report
    for _, attrs in page.tags:
        for value in attrs.values():
            assert "http:" not in (value or "") and "https:" not in (value or ""), attrs
    csp = [m for m in page.all("meta") if m.get("http-equiv") == "Content-Security-Policy"]
    assert csp and "default-src 'none'" in csp[0]["content"] and "script-src" not in csp[0]["content"]
    assert "@import" not in raw and "url(" not in raw


def test_the_failing_cases_screens_are_copied_beside_the_page(report):
    result, page, _ = report
    images = images_dir_for(result.path)
    assert result.images == images and (images / IMAGES_MARKER).is_file()
    copies = sorted(p.name for p in images.glob("*.png"))
    assert len(copies) == 2                                    # the hostile case's and the regression's
    for attrs in page.all("img"):
        assert attrs["alt"].startswith("The screen of ") and " phase failed" in attrs["alt"]
        assert (result.path.parent / unquote(attrs["src"])).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# --- accessibility and phones ------------------------------------------------------------------------

def test_headings_table_headers_viewport_and_language(report):
    _, page, raw = report
    assert raw.startswith("<!DOCTYPE html>") and page.all("html")[0]["lang"] == "en"
    assert any(m.get("name") == "viewport" and "width=device-width" in m["content"] for m in page.all("meta"))
    assert len(page.all("h1")) == 1 and len(page.all("h2")) == 4 and len(page.all("h3")) == 6
    assert all(th.get("scope") in ("col", "row") for th in page.all("th"))
    assert all(img.get("alt") for img in page.all("img"))
    style = raw.split("<style>")[1].split("</style>")[0]
    assert re.findall(r"(?<![-\w])width:\s*[\d.]+(?:px|rem|em)", style) == []      # no fixed widths


def test_every_colour_pair_has_a_contrast_of_at_least_4_5():
    assert all(contrast(fg, bg) >= 4.5 for fg, bg in PAIRS), [(fg, bg, round(contrast(fg, bg), 2))
                                                               for fg, bg in PAIRS if contrast(fg, bg) < 4.5]
    assert contrast("#777777", "#ffffff") < 4.5                   # the check can fail
    assert len({word for word, _, _, _ in STATES.values()}) == len(STATES)     # a word for each, not colour only
    assert len({mark for _, mark, _, _ in STATES.values()}) == len(STATES)


# --- files: the images folder, -o, the database ---------------------------------------------------------

def test_only_png_screenshots_of_the_harness_name_are_copied(history_db, tmp_path):
    runs = []
    folder = tmp_path / "case"
    folder.mkdir()
    (folder / "verdict.txt").write_text("x")
    (folder / "install-screenshot.png").write_text("not a png at all")
    (tmp_path / "secret.png").write_bytes(png())
    (folder / "boot-screenshot.png").symlink_to(tmp_path / "secret.png")
    for n, shot in enumerate(("install-screenshot.png", "../secret.png", "boot-screenshot.png")):
        runs.append(_night(n, [_case(f"c{n}/bios/cd", 0, status="fail", folder=folder, screenshot=shot)], tmp_path))
    db = tmp_path / "r.sqlite"
    add_runs(db, runs)
    result = write_report(db, tmp_path / "out" / "report.html")
    assert result.images is None and not images_dir_for(result.path).exists()
    assert "<img" not in result.path.read_text()


def test_the_images_folder_is_replaced_only_when_kickgen_made_it(history_db, tmp_path):
    out = tmp_path / "report.html"
    images = images_dir_for(out)
    images.mkdir()
    (images / "family-photo.png").write_bytes(b"mine")
    with pytest.raises(UsageError, match="report-images exists and is not a kickgen report images folder"):
        write_report(history_db, out)
    assert (images / "family-photo.png").read_bytes() == b"mine" and not out.exists()
    (images / "family-photo.png").unlink()
    images.rmdir()
    write_report(history_db, out)
    stale = images / "old.png"
    stale.write_bytes(b"old")
    write_report(history_db, out)
    assert not stale.exists() and len(list(images.glob("*.png"))) == 2
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []      # no temp folder left


def test_outputs_kickgen_must_not_write_are_refused(history_db, tmp_path, capsys):
    (tmp_path / "folder.html").mkdir()
    assert main(["report", "--db", str(history_db), "-o", str(tmp_path / "folder.html")]) == 2
    assert "is a directory" in capsys.readouterr().err
    assert main(["report", "--db", str(history_db), "-o", str(history_db)]) == 2
    assert "is the results database" in capsys.readouterr().err
    assert main(["report", "--db", str(history_db), "--runs", "0", "-o", str(tmp_path / "r.html")]) == 2
    assert "--runs 0: expected a whole number >= 1" in capsys.readouterr().err
    assert main(["report", "--db", str(tmp_path / "none.sqlite"), "-o", str(tmp_path / "r.html")]) == 2
    assert "none.sqlite: no results database there" in capsys.readouterr().err


def test_an_empty_database_has_no_report(tmp_path):
    from kickgen.results.db import connect

    connect(tmp_path / "empty.sqlite", create=True).close()
    with pytest.raises(UsageError, match="holds no run yet"):
        write_report(tmp_path / "empty.sqlite", tmp_path / "r.html")


def test_kickgen_report_writes_beside_the_default_database(history_db, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shutil.copytree(history_db.parent, tmp_path / "kickgen-artifacts")      # the database and its artefacts
    assert main(["report"]) == 0
    err = capsys.readouterr().err
    assert err.startswith(f"kickgen: wrote {tmp_path / 'kickgen-artifacts' / 'report.html'} and ")
    assert ": 7 cases, 3 failing" in err
