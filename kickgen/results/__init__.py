"""The results database: every matrix run, one row per case attempt, merged across machines.

Public entry points: `record_run(db, RunRecord)` (kickgen matrix), `import_results(db, paths)`
(kickgen results import), `read_history(db, last)` (kickgen report), `default_db_path()`.
Modules: `model` (the records, the status words, the run file's format), `db` (SQLite),
`excerpt` (serial-log lines around a failure), `synthetic` (made-up history for benchmarks,
tests and the README's screenshot).
"""

from kickgen.results.db import (
    CaseRun,
    History,
    ImportSummary,
    default_db_path,
    import_results,
    read_history,
    read_runs,
    record_run,
    run_file_data,
)
from kickgen.results.model import RUN_FILE, CaseRecord, Excerpt, RunRecord, case_status

__all__ = ["RUN_FILE", "CaseRecord", "CaseRun", "Excerpt", "History", "ImportSummary", "RunRecord", "case_status",
           "default_db_path", "import_results", "read_history", "read_runs", "record_run", "run_file_data"]
