"""The nightly report: the results database -> one static HTML page (plus its images folder).

Public entry point: `write_report(db, output, runs=30) -> ReportResult` (kickgen report,
kickgen matrix --report). Modules: `view` (what each case shows: its state, flaky or failing,
its failure streak and what changed), `svg` (the history strip and time plot), `style` (colours
and words, contrast-checked), `write` (files: images, links, the Jinja2 template in templates/).
"""

from kickgen.report.write import ReportResult, write_report

__all__ = ["ReportResult", "write_report"]
