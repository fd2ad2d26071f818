"""`kickgen report`: the results database -> one static HTML file and an images folder beside it.

    write_report(Path("kickgen-artifacts/results.sqlite"), Path("report.html"), runs=30)

The page needs no network and no JavaScript (its Content-Security-Policy allows neither): CSS
and the SVG plots are inline, the failing cases' last screens are copied into
`<name>-images/` next to it, and every link to an artefact is relative to the page, so it opens
from a file or from any web server that serves the folder. Every string from the database (and
so from other machines' logs) is escaped by Jinja2's autoescape; a screenshot is copied only
when it is a PNG file of the name the harness gives it.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import jinja2
from markupsafe import Markup

from kickgen import __version__
from kickgen.core.atomic import write_text
from kickgen.core.errors import InternalError, UsageError
from kickgen.core.outputs import check_output, write_problem
from kickgen.core.resources import package_dir
from kickgen.report.style import EXPLAIN, PAGE, STATES, css
from kickgen.report.view import (
    AttemptView,
    CaseView,
    Image,
    Link,
    ReportView,
    printable,
    report_view,
    short_time,
)
from kickgen.results.db import read_history

IMAGES_MARKER = ".kickgen-report-images"     # a folder kickgen may replace
SCREENSHOT_NAME = re.compile(r"^[A-Za-z0-9_-]{1,40}-screenshot\.png$")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
MAX_SCREENSHOT_BYTES = 32 << 20
MAX_LINKS = 60                               # files listed per attempt folder
# a folder kickgen wrote for a case attempt holds one of these (others are not listed)
ARTIFACT_SIGNS = ("verdict.txt", "report.json", "install-serial.log")
RUN_FILES = ("summary.txt", "junit.xml", "kickgen-run.json")


@dataclass(frozen=True)
class ReportResult:
    path: Path
    images: Path | None          # the images folder (None: no screenshot to show)
    cases: int
    failing: int                 # cases shown as FAIL, ERROR or UNEXPECTED PASS
    seconds: float


def images_dir_for(output: Path) -> Path:
    return output.parent / f"{output.stem}-images"


def href(target: Path, page_dir: Path) -> str:
    """TARGET as a relative URL from the page's folder (each segment percent-encoded)."""
    rel = os.path.relpath(target, page_dir).replace(os.sep, "/")
    quoted = quote(rel, safe="/")
    return quoted if quoted.startswith("../") else f"./{quoted}"


def _is_ours(folder: Path) -> bool:
    return any((folder / name).is_file() for name in ARTIFACT_SIGNS)


def _links(folder: Path, page_dir: Path) -> list[Link]:
    links = []
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError:
        return []
    for entry in entries:
        if entry.name.startswith(".") or not entry.is_file(follow_symlinks=False):
            continue
        links.append(Link(entry.name, href(Path(entry.path), page_dir)))
        if len(links) >= MAX_LINKS:
            break
    return links


def _screenshot(case: CaseView) -> Path | None:
    failure = case.failure
    if failure is None or not failure.screenshot or not failure.artifacts:
        return None
    if not SCREENSHOT_NAME.match(failure.screenshot):
        return None
    path = Path(failure.artifacts) / failure.screenshot
    try:
        st = os.lstat(path)
        if not (st.st_mode & 0o170000 == 0o100000) or st.st_size > MAX_SCREENSHOT_BYTES:
            return None
        with open(path, "rb") as stream:
            if stream.read(8) != PNG_MAGIC:
                return None
    except OSError:
        return None
    return path


def _fill_files(view: ReportView, output: Path, images: Path) -> list[Image]:
    """Attempt links and screenshots of the cases with a section; the images to copy."""
    page_dir = output.parent
    copies = []
    for case in view.sections:
        shown = case.shown
        if shown is None:
            continue
        for attempt in shown.attempts:
            folder = Path(attempt.artifacts) if attempt.artifacts else None
            here = folder is not None and folder.is_dir() and _is_ours(folder)
            case.attempts.append(AttemptView(attempt.attempt, attempt.outcome, attempt.verdict,
                                             str(folder) if folder else "",
                                             _links(folder, page_dir) if here and folder else [], not here))
        source = _screenshot(case)
        if source is not None:
            assert case.failure is not None
            phase = source.name.removesuffix("-screenshot.png")
            name = f"{case.anchor}.png"
            case.image = Image(href(images / name, page_dir),
                               f"The screen of {case.label} when its {phase} phase failed "
                               f"(attempt {case.failure.attempt}, run of {short_time(shown.run.started)})",
                               str(source), name)
            copies.append(case.image)
    return copies


def _environment() -> jinja2.Environment:
    templates = package_dir("kickgen.report", "templates")
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(templates)), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["printable"] = printable
    env.finalize = _shown
    return env


def _shown(value):
    """Every {{ value }}: a string from the database with control characters (a log's colour
    codes, a hostile label's escape sequences) shown as escapes; then autoescape."""
    if isinstance(value, str) and not isinstance(value, Markup) and value != "\n":
        return printable(value)
    return value


def render_html(view: ReportView, run_links: list[tuple[str, list[Link]]]) -> str:
    try:
        template = _environment().get_template("report.html.j2")
        return template.render(view=view, states=STATES, explain=EXPLAIN, page=PAGE, status_css=css(),
                               run_links=run_links)
    except jinja2.TemplateError as exc:
        raise InternalError(f"the report template failed: {exc}") from None


def _replace_images(images: Path, copies: list[Image]) -> Path | None:
    """The images folder made anew beside the page (in a temp folder, then renamed into place);
    an old one is replaced only when kickgen made it (its marker file)."""
    old_ours = images.is_dir() and not images.is_symlink() and (images / IMAGES_MARKER).is_file()
    if images.exists() or images.is_symlink():
        if not old_ours:
            raise UsageError(f"{images} exists and is not a kickgen report images folder; "
                             "kickgen does not replace it", hint="give -o another name, or move that folder")
    if not copies:
        if old_ours:
            shutil.rmtree(images)
        return None
    try:
        staging = Path(tempfile.mkdtemp(prefix=f".{images.name}.", dir=images.parent))
    except OSError as exc:
        raise write_problem(images, exc) from None
    try:
        (staging / IMAGES_MARKER).write_text("made by kickgen report; replaced by the next report\n")
        for image in copies:
            shutil.copyfile(image.source, staging / image.name)
        os.chmod(staging, 0o755)
        if old_ours:
            retired = Path(tempfile.mkdtemp(prefix=f".{images.name}.old.", dir=images.parent))
            os.replace(images, retired / images.name)
            os.replace(staging, images)
            shutil.rmtree(retired, ignore_errors=True)
        else:
            os.replace(staging, images)
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise write_problem(images, exc) from None
    return images


def write_report(db: Path, output: Path, *, runs: int = 30, title: str = "") -> ReportResult:
    """Write the report of DB's last RUNS runs to OUTPUT (and OUTPUT's images folder)."""
    began = time.monotonic()
    if runs < 1:
        raise UsageError(f"--runs {runs}: expected a whole number >= 1")
    checked = check_output(output, label="-o", inputs=[("the results database", db)], command="report")
    assert checked is not None
    output = checked.absolute()
    history = read_history(db, runs)
    if not history.runs:
        raise UsageError(f"{db}: the results database holds no run yet",
                         hint="kickgen matrix records each run; kickgen results import merges others'")
    view = report_view(history, generated=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                       kickgen_version=__version__, title=title)
    images = images_dir_for(output)
    copies = _fill_files(view, output, images)
    view.images_dir = images.name
    run_links = []
    for run in view.newest:
        folder = Path(run.artifacts)
        found = [Link(name, href(folder / name, output.parent)) for name in RUN_FILES if (folder / name).is_file()]
        if found:
            run_links.append((run.run_id, found))
    html = render_html(view, run_links)
    output.parent.mkdir(parents=True, exist_ok=True)
    made = _replace_images(images, copies)
    write_text(output, html)
    failing = sum(1 for c in view.cases if c.state in ("fail", "error", "unexpected-pass"))
    return ReportResult(output, made, len(view.cases), failing, time.monotonic() - began)
