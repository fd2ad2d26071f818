"""How long `kickgen report` takes on a big history: 1,000 cases x 30 nights (goal: under 2 s).

    .venv/bin/python bench/report_bench.py [--cases 1000] [--nights 30] [--repeat 5] [--keep DIR]

Synthesises the history (kickgen.results.synthetic: every case every night, a few regressions,
flaky cases, expected failures and errors) into a fresh results database, then times
`write_report` (the whole command: one query for the runs, one for the case rows, the view,
the SVG pictures, the Jinja2 template, the atomic write) and its parts, best of --repeat, and
prints the page's size. `kickgen report` itself adds the interpreter's start and imports
(timed once, as a subprocess).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kickgen.report import write_report  # noqa: E402
from kickgen.report.view import report_view  # noqa: E402
from kickgen.report.write import render_html  # noqa: E402
from kickgen.results import read_history  # noqa: E402
from kickgen.results.synthetic import add_runs, synthetic_labels, synthetic_runs  # noqa: E402


def best(label: str, repeat: int, action):
    times = []
    result = None
    for _ in range(repeat):
        start = time.perf_counter()
        result = action()
        times.append(time.perf_counter() - start)
    print(f"{label:<58} best {min(times):7.3f} s   median {sorted(times)[len(times) // 2]:7.3f} s")
    return result, min(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--nights", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--keep", type=Path, help="write the database and the report here and keep them")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kickgen-bench-") as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        db = folder / "results.sqlite"
        db.unlink(missing_ok=True)
        start = time.perf_counter()
        add_runs(db, synthetic_runs(synthetic_labels(args.cases), nights=args.nights))
        rows = args.cases * args.nights
        print(f"history: {args.cases} cases x {args.nights} nights = {rows} case rows, database "
              f"{db.stat().st_size / 2**20:.1f} MiB (synthesised in {time.perf_counter() - start:.1f} s, not timed)")
        output = folder / "report.html"
        history, _ = best("read_history (2 queries)", args.repeat, lambda: read_history(db, args.nights))
        view, _ = best("report_view (states, streaks, SVG strips and plots)", args.repeat,
                       lambda: report_view(history, generated="bench", kickgen_version="bench"))
        best("render_html (Jinja2, autoescape)", args.repeat, lambda: render_html(view, []))
        result, whole = best("write_report (all of it, page written atomically)", args.repeat,
                             lambda: write_report(db, output, runs=args.nights))
        print(f"page: {output.stat().st_size / 2**20:.1f} MiB, {result.cases} cases, {result.failing} failing")
        start = time.perf_counter()
        subprocess.run([str(Path(sys.executable).parent / "kickgen"), "report", "--db", str(db), "-o", str(output),
                        "--runs", str(args.nights), "--quiet"], check=True)
        command = time.perf_counter() - start
        print(f"{'kickgen report (the command, once, interpreter start included)':<58} {command:12.3f} s")
        goal = "met" if whole < 2.0 else "MISSED"
        print(f"goal: write_report under 2 s for {args.cases} x {args.nights}: {goal} ({whole:.2f} s)")
        return 0 if whole < 2.0 else 1


if __name__ == "__main__":
    sys.exit(main())
