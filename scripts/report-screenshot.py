"""The README's picture of `kickgen report`: a real run of the example matrix plus 30 synthetic
nights before it, rendered and photographed by headless Chromium.

    .venv/bin/python scripts/report-screenshot.py --run            # runs vm/matrix-example.yaml first
    .venv/bin/python scripts/report-screenshot.py --artifacts DIR  # an example-matrix run already made

--run builds the stand-in DVD where the example matrix expects it (build/standin/, `kickgen
standin`), runs `kickgen matrix vm/matrix-example.yaml` (minutes: six cases under libvirt) into
a temporary folder, then: its run file is imported into a fresh results database, 30 nights of
made-up history are added before it (kickgen.results.synthetic, with the run's cases, hosts,
inputs and expect_fail), the report is written, and Chromium (tests/chromium_cdp.py) saves the
whole page as a PNG (default docs/images/report-example.png). Fails if the page logs an error.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from chromium_cdp import Chromium  # noqa: E402
from kickgen.report import write_report  # noqa: E402
from kickgen.results import import_results, read_runs  # noqa: E402
from kickgen.results.synthetic import add_runs, synthetic_runs  # noqa: E402

KICKGEN = Path(sys.executable).parent / "kickgen"
STANDIN = ROOT / "build" / "standin" / "CentOS-6.5-standin-dvd.iso"   # the example matrix's iso:


def run_example(folder: Path) -> Path:
    if not STANDIN.exists():
        subprocess.run([str(KICKGEN), "standin", "-o", str(STANDIN), "--quiet"], check=True)
    artifacts = folder / "matrix"
    done = subprocess.run([str(KICKGEN), "matrix", str(ROOT / "vm" / "matrix-example.yaml"), "--artifacts",
                           str(artifacts), "--db", str(folder / "run.sqlite"), "--quiet"], cwd=ROOT)
    print(f"kickgen matrix exited {done.returncode}", file=sys.stderr)
    return artifacts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--run", action="store_true", help="run the example matrix first (minutes)")
    source.add_argument("--artifacts", type=Path, help="the artefact folder of an example-matrix run")
    parser.add_argument("-o", "--output", type=Path, default=ROOT / "docs" / "images" / "report-example.png")
    parser.add_argument("--width", type=int, default=1000, help="the browser window's width (CSS pixels)")
    parser.add_argument("--scale", type=float, default=0.75, help="the picture's scale (a smaller file)")
    parser.add_argument("--keep", type=Path, help="write the database and the page here and keep them")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kickgen-report-shot-") as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        artifacts = run_example(work) if args.run else args.artifacts
        db = work / "results.sqlite"
        db.unlink(missing_ok=True)
        import_results(db, [artifacts])
        runs = read_runs(db)
        if not runs:
            print(f"no kickgen-run.json under {artifacts}", file=sys.stderr)
            return 1
        add_runs(db, synthetic_runs([], nights=30, like=runs[-1]))
        page_path = write_report(db, work / "site" / "report.html", runs=31,
                                 title="kickgen boot tests: vm/matrix-example.yaml").path
        with Chromium() as browser:
            page = browser.open_page(width=args.width, height=900)
            page.navigate(page_path.as_uri())
            png = page.screenshot(scale=args.scale)
            if page.errors:
                print("the page logged errors: " + "; ".join(page.errors), file=sys.stderr)
                return 1
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_bytes(png)
        print(f"wrote {args.output} ({len(png) // 1024} KiB) from {page_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
