"""How long `kickgen validate` takes on real-world EL6 kickstarts: prints the figures.

    .venv/bin/python scripts/bench-validate.py [--runs N] [KICKSTART...]

Default set: tests/data/el6-corpus/*.ks. Two figures per file, and their medians:
- in process: `check_file()` once the modules are loaded (what `kickgen iso --ks` and a
  long-running caller pay), the median of N runs;
- command: `kickgen validate --ks FILE` as a new process (interpreter start and imports included),
  the median of N runs.
The target (issue 12) is a median under 0.15 s for a typical kickstart.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "data" / "el6-corpus"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="*", type=Path)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    files = args.files or sorted(CORPUS.glob("*.ks"))
    if not files:
        print(f"no kickstarts given and none in {CORPUS}", file=sys.stderr)
        return 2

    started = time.perf_counter()
    from kickgen.kickstart.validate import check_file
    imported = time.perf_counter() - started
    check_file(files[0])                      # first call: grammar table, pykickstart, shellcheck warm

    kickgen = Path(sys.executable).parent / "kickgen"
    rows = []
    for path in files:
        inner = []
        for _ in range(args.runs):
            t = time.perf_counter()
            report = check_file(path)
            inner.append(time.perf_counter() - t)
        outer = []
        for _ in range(args.runs):
            t = time.perf_counter()
            subprocess.run([str(kickgen), "validate", "--ks", str(path), "-q"], capture_output=True, check=False)
            outer.append(time.perf_counter() - t)
        lines = len(path.read_text(errors="replace").splitlines())
        rows.append((path.name, lines, len(report.findings), statistics.median(inner), statistics.median(outer)))

    width = max(len(r[0]) for r in rows)
    print(f"{'kickstart':<{width}}  lines  findings  in-process  command")
    for name, lines, findings, inner_s, outer_s in rows:
        print(f"{name:<{width}}  {lines:>5}  {findings:>8}  {inner_s * 1000:>8.1f}ms  {outer_s * 1000:>5.0f}ms")
    inner_median = statistics.median(r[3] for r in rows)
    outer_median = statistics.median(r[4] for r in rows)
    print(f"\n{len(rows)} kickstarts, {args.runs} runs each")
    print(f"median in-process: {inner_median * 1000:.1f} ms (max {max(r[3] for r in rows) * 1000:.1f} ms)")
    print(f"median command:    {outer_median * 1000:.0f} ms (max {max(r[4] for r in rows) * 1000:.0f} ms)")
    print(f"module import:     {imported * 1000:.0f} ms (once per process)")
    print(f"target 150 ms (in-process median): {'met' if inner_median < 0.15 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
