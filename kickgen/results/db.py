"""The results database: SQLite (stdlib), one row per run and one per attempt of each case.

    record_run(db_path, run)                    # kickgen matrix, after each run
    import_results(db_path, [folder, db, ...])  # kickgen results import: other machines' runs
    read_history(db_path, last=30)              # kickgen report

Default path: ./kickgen-artifacts/results.sqlite. Artefact folders are stored relative to the
database's folder when they lie inside it (so a database copied together with its artefacts
keeps working, on another machine too), else absolute. Every run has a unique id (a uuid4),
and (run, case label, attempt) is the key of a case row: importing a run twice adds nothing.

Tables (`kickgen results` and docs/kickgen-results.md describe the columns):
  runs(run_id, started, machine, matrix, shard, retries, kickgen_version, seconds, artifacts, passed)
  cases(run_id, label, attempt, profile, firmware, medium, host, accel, outcome, status, verdict,
        failed, install_outcome, install_seconds, boot_outcome, boot_seconds, kickgen_version,
        iso_sha256, ks_sha256, artifacts, expect_fail, screenshot, excerpt, seconds)
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from kickgen.core.errors import EnvironmentProblem, UsageError
from kickgen.core.outputs import refuse_non_regular
from kickgen.core.resources import artifacts_dir
from kickgen.results.model import (
    RUN_FILE,
    CaseRecord,
    RecordError,
    RunRecord,
    case_from_data,
    excerpt_from_json,
    excerpt_to_json,
    run_from_data,
)

DB_NAME = "results.sqlite"
APPLICATION_ID = 0x4B47_5231           # "KGR1": a kickgen results database
SCHEMA_VERSION = 1
SQLITE_MAGIC = b"SQLite format 3\x00"
DB_SUFFIXES = (".sqlite", ".sqlite3", ".db")
MAX_RUN_FILE_BYTES = 64 << 20
STARTED = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?Z$")

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    started TEXT NOT NULL,
    machine TEXT NOT NULL,
    matrix TEXT NOT NULL,
    shard TEXT,
    retries INTEGER NOT NULL DEFAULT 0,
    kickgen_version TEXT NOT NULL,
    seconds REAL NOT NULL DEFAULT 0,
    artifacts TEXT NOT NULL,
    passed INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_started ON runs(started);
CREATE TABLE IF NOT EXISTS cases (
    run_id TEXT NOT NULL REFERENCES runs(run_id),
    label TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    profile TEXT NOT NULL,
    firmware TEXT NOT NULL,
    medium TEXT NOT NULL,
    host TEXT NOT NULL,
    accel TEXT NOT NULL,
    outcome TEXT NOT NULL,
    status TEXT NOT NULL,
    verdict TEXT NOT NULL,
    failed TEXT NOT NULL,
    install_outcome TEXT NOT NULL,
    install_seconds REAL,
    boot_outcome TEXT NOT NULL,
    boot_seconds REAL,
    kickgen_version TEXT NOT NULL,
    iso_sha256 TEXT,
    ks_sha256 TEXT,
    artifacts TEXT NOT NULL,
    expect_fail TEXT,
    screenshot TEXT,
    excerpt TEXT,
    seconds REAL NOT NULL DEFAULT 0,
    PRIMARY KEY (run_id, label, attempt)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS cases_label ON cases(label, run_id);
"""
RUN_COLUMNS = ("run_id", "started", "machine", "matrix", "shard", "retries", "kickgen_version", "seconds",
               "artifacts", "passed")
CASE_COLUMNS = ("run_id", "label", "attempt", "profile", "firmware", "medium", "host", "accel", "outcome",
                "status", "verdict", "failed", "install_outcome", "install_seconds", "boot_outcome",
                "boot_seconds", "kickgen_version", "iso_sha256", "ks_sha256", "artifacts", "expect_fail",
                "screenshot", "excerpt", "seconds")


def default_db_path() -> Path:
    """./kickgen-artifacts/results.sqlite (the same file every night, whatever --artifacts says)."""
    return artifacts_dir(None, DB_NAME)


# --- paths stored relative to the database --------------------------------------------------------

def stored_path(path: str | os.PathLike, base: Path) -> str:
    """PATH as kept in a database or run file in folder BASE: relative (posix) when inside it."""
    absolute = Path(os.path.abspath(path))
    try:
        return absolute.relative_to(Path(os.path.abspath(base))).as_posix() or "."
    except ValueError:
        return str(absolute)


def resolved_path(stored: str, base: Path) -> Path:
    """A stored path back to a real one (a relative one lies under BASE)."""
    path = Path(stored)
    return path if path.is_absolute() else Path(os.path.abspath(base / path))


# --- opening ------------------------------------------------------------------------------------

def _is_sqlite(path: Path) -> bool:
    try:
        with open(path, "rb") as stream:
            return stream.read(16) == SQLITE_MAGIC
    except OSError:
        return False


def _is_results_db(path: Path) -> bool:
    """An SQLite file whose header carries kickgen's application id (offset 68, big-endian)."""
    try:
        with open(path, "rb") as stream:
            header = stream.read(72)
    except OSError:
        return False
    return header[:16] == SQLITE_MAGIC and int.from_bytes(header[68:72], "big") == APPLICATION_ID


def connect(path: Path, *, create: bool = False) -> sqlite3.Connection:
    """Open the results database at PATH (made when CREATE and absent). A file that is not a
    kickgen results database, or a newer one, is refused in one line."""
    path = Path(path)
    exists = path.exists()
    if not exists and not create:
        raise UsageError(f"{path}: no results database there",
                         hint="kickgen matrix records every run into ./kickgen-artifacts/results.sqlite "
                              "(or --db PATH); kickgen results import ARTIFACTS... fills one from artefacts")
    if exists:
        refuse_non_regular(path, "results database")
        if path.stat().st_size and not _is_sqlite(path):
            raise UsageError(f"{path}: not a kickgen results database (not an SQLite file)")
    else:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise EnvironmentProblem(f"cannot create {path.parent}: {exc.strerror or exc}") from None
    try:
        conn = sqlite3.connect(path, timeout=60)
        conn.execute("PRAGMA foreign_keys = ON")
        app, version = conn.execute("PRAGMA application_id").fetchone()[0], \
            conn.execute("PRAGMA user_version").fetchone()[0]
        tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        raise UsageError(f"{path}: not a kickgen results database ({exc})") from None
    if tables and app != APPLICATION_ID:
        conn.close()
        raise UsageError(f"{path}: not a kickgen results database (an SQLite file of something else)")
    if version > SCHEMA_VERSION:
        conn.close()
        raise UsageError(f"{path}: written by a newer kickgen (results schema {version}; this one reads "
                         f"{SCHEMA_VERSION})")
    if not tables:
        if not create:
            conn.close()
            raise UsageError(f"{path}: an empty file, not a kickgen results database")
        try:
            with conn:
                conn.executescript(SCHEMA)
                conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        except sqlite3.OperationalError as exc:
            conn.close()
            raise EnvironmentProblem(f"cannot write {path}: {exc}") from None
    return conn


# --- writing --------------------------------------------------------------------------------------

def _run_row(run: RunRecord, base: Path) -> tuple:
    return (run.run_id, run.started, run.machine, run.matrix, run.shard, run.retries, run.kickgen_version,
            run.seconds, stored_path(run.artifacts, base), int(run.passed))


def _case_row(run_id: str, case: CaseRecord, base: Path) -> tuple:
    return (run_id, case.label, case.attempt, case.profile, case.firmware, case.medium, case.host, case.accel,
            case.outcome, case.status, case.verdict, json.dumps(list(case.failed)), case.install_outcome,
            case.install_seconds, case.boot_outcome, case.boot_seconds, case.kickgen_version, case.iso_sha256,
            case.ks_sha256, stored_path(case.artifacts, base) if case.artifacts else "", case.expect_fail,
            case.screenshot, excerpt_to_json(case.excerpt), case.seconds)


def _insert(conn: sqlite3.Connection, runs: Iterable[RunRecord], base: Path) -> tuple[int, int]:
    """INSERT OR IGNORE every run and case row; (runs added, case rows added)."""
    runs_added = cases_added = 0
    run_sql = f"INSERT OR IGNORE INTO runs ({', '.join(RUN_COLUMNS)}) VALUES ({', '.join('?' * len(RUN_COLUMNS))})"
    case_sql = (f"INSERT OR IGNORE INTO cases ({', '.join(CASE_COLUMNS)}) "
                f"VALUES ({', '.join('?' * len(CASE_COLUMNS))})")
    for run in runs:
        runs_added += conn.execute(run_sql, _run_row(run, base)).rowcount
        before = conn.total_changes
        conn.executemany(case_sql, [_case_row(run.run_id, case, base) for case in run.cases])
        cases_added += conn.total_changes - before
    return runs_added, cases_added


def record_run(db: Path, run: RunRecord) -> Path:
    """Add RUN (and its case rows) to the database at DB, made when absent."""
    conn = connect(db, create=True)
    try:
        with conn:
            _insert(conn, [run], Path(db).parent)
    except sqlite3.OperationalError as exc:
        raise EnvironmentProblem(f"cannot write {db}: {exc}") from None
    finally:
        conn.close()
    return Path(db)


def run_file_data(run: RunRecord, folder: Path) -> dict:
    """The run file's data: RUN with its artefact folders relative to FOLDER (the run's own)."""
    from kickgen.results.model import RUN_FILE_FORMAT, run_to_data

    moved = replace(run, artifacts=".", cases=tuple(
        replace(c, artifacts=stored_path(c.artifacts, folder) if c.artifacts else "") for c in run.cases))
    return {"format": RUN_FILE_FORMAT, **run_to_data(moved)}


# --- reading runs back ------------------------------------------------------------------------------

def _case_from_row(row: sqlite3.Row, base: Path) -> CaseRecord:
    try:
        failed = json.loads(row["failed"] or "[]")
    except ValueError:
        failed = [str(row["failed"])]
    data = {key: row[key] for key in row.keys() if key in CASE_COLUMNS}
    data["failed"] = failed if isinstance(failed, list) else [str(failed)]
    data["excerpt"] = None
    record = case_from_data(data)
    return replace(record, artifacts=str(resolved_path(record.artifacts, base)) if record.artifacts else "",
                   excerpt=excerpt_from_json(row["excerpt"]))


def _run_from_row(row: sqlite3.Row, base: Path, cases: Sequence[CaseRecord] = ()) -> RunRecord:
    started = str(row["started"])
    if not STARTED.match(started):
        raise RecordError(f"started: {started!r} is not a UTC time like 2024-05-01T02:00:00Z")
    return RunRecord(run_id=str(row["run_id"]), started=started, machine=str(row["machine"]),
                     matrix=str(row["matrix"]), kickgen_version=str(row["kickgen_version"]),
                     artifacts=str(resolved_path(str(row["artifacts"]), base)), passed=bool(row["passed"]),
                     seconds=float(row["seconds"] or 0), shard=row["shard"], retries=int(row["retries"] or 0),
                     cases=tuple(cases))


def read_runs(db: Path) -> list[RunRecord]:
    """Every run in DB with its case rows, oldest first (an import source; `kickgen results list`)."""
    conn = connect(db)
    conn.row_factory = sqlite3.Row
    base = Path(db).parent
    try:
        cases: dict[str, list[CaseRecord]] = {}
        for row in conn.execute("SELECT * FROM cases ORDER BY run_id, label, attempt"):
            cases.setdefault(row["run_id"], []).append(_case_from_row(row, base))
        return [_run_from_row(row, base, cases.get(row["run_id"], ()))
                for row in conn.execute("SELECT * FROM runs ORDER BY started, run_id")]
    except (sqlite3.DatabaseError, RecordError, IndexError) as exc:
        raise UsageError(f"{db}: not a readable kickgen results database: {exc}") from None
    finally:
        conn.close()


def read_run_file(path: Path) -> RunRecord:
    """A run file (kickgen-run.json), its artefact folders made absolute beside it."""
    try:
        if path.stat().st_size > MAX_RUN_FILE_BYTES:
            raise UsageError(f"{path}: larger than {MAX_RUN_FILE_BYTES >> 20} MiB; not a kickgen run file")
        data = json.loads(path.read_text(encoding="utf-8"))
        run = run_from_data(data)
        if not STARTED.match(run.started):
            raise RecordError(f"started: {run.started!r} is not a UTC time like 2024-05-01T02:00:00Z")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read: {getattr(exc, 'strerror', None) or exc}") from None
    except ValueError as exc:       # RecordError and json's errors
        raise UsageError(f"{path}: not a kickgen run file: {exc}") from None
    folder = path.parent
    return replace(run, artifacts=str(folder.resolve()), cases=tuple(
        replace(c, artifacts=str(resolved_path(c.artifacts, folder.resolve())) if c.artifacts else "")
        for c in run.cases))


# --- import -------------------------------------------------------------------------------------------

@dataclass
class ImportSummary:
    sources: list[Path] = field(default_factory=list)   # the run files and databases read
    runs_seen: int = 0
    runs_added: int = 0
    cases_added: int = 0


def _sources_in(path: Path, target: Path) -> list[Path]:
    """Run files and databases at PATH (a file, or a folder searched through), the target left out."""
    if not path.exists():
        raise UsageError(f"{path}: no such file or folder")
    if path.is_file():
        return [path]
    found = []
    for folder, dirs, files in os.walk(path):
        dirs.sort()
        for name in sorted(files):
            if name == RUN_FILE or name.endswith(DB_SUFFIXES):
                found.append(Path(folder) / name)
    # a folder may hold other programs' databases (kickgen serve's state, say): only ours count
    return [p for p in found if (p.name == RUN_FILE or _is_results_db(p))
            and not (target.exists() and os.path.samefile(p, target))]


def import_results(db: Path, sources: Sequence[Path]) -> ImportSummary:
    """Merge the runs found in SOURCES (artefact folders, run files, databases) into DB.
    Everything is read and checked first, then written in one transaction; a run already in DB
    (same run id) is left as it is."""
    db = Path(db)
    summary = ImportSummary()
    runs: list[RunRecord] = []
    for source in sources:
        for path in _sources_in(Path(source), db):
            if path.name == RUN_FILE:
                runs.append(read_run_file(path))
            elif _is_sqlite(path):
                runs.extend(read_runs(path))
            elif path.is_file() and Path(source) == path:
                raise UsageError(f"{path}: neither a kickgen run file ({RUN_FILE}) nor a results database")
            else:
                continue
            summary.sources.append(path)
    # run files first: their artefact folders are where the files are now
    summary.runs_seen = len({run.run_id for run in runs})
    conn = connect(db, create=True)
    try:
        with conn:
            summary.runs_added, summary.cases_added = _insert(conn, runs, db.parent)
    except sqlite3.OperationalError as exc:
        raise EnvironmentProblem(f"cannot write {db}: {exc}") from None
    finally:
        conn.close()
    return summary


# --- history for the report -----------------------------------------------------------------------------

@dataclass(frozen=True)
class CaseRun:
    """A case in one run: its attempts (the last one decides)."""

    run: RunRecord                 # without its cases
    attempts: tuple[CaseRecord, ...]

    @property
    def last(self) -> CaseRecord:
        return self.attempts[-1]

    @property
    def status(self) -> str:
        return self.last.status


@dataclass(frozen=True)
class History:
    db: Path
    runs: tuple[RunRecord, ...]                  # the last N runs, newest first (without cases)
    cases: dict[str, tuple[CaseRun, ...]]        # label -> its last N runs, oldest first
    total_runs: int = 0


_RUN_ALIASES = ", ".join(f"r.{c} AS run_{c}" for c in RUN_COLUMNS)
# The window function ranks only (label, run) keys of first attempts (a covering index); the
# rows themselves are then fetched by primary key.
HISTORY_SQL = f"""
WITH recent AS (SELECT run_id FROM runs ORDER BY started DESC, run_id DESC LIMIT :last),
     shown AS (SELECT DISTINCT label FROM cases WHERE run_id IN recent),
     keys AS (SELECT label, run_id, started FROM (
        SELECT c.label, c.run_id, r.started,
               row_number() OVER (PARTITION BY c.label ORDER BY r.started DESC, c.run_id DESC) AS k
        FROM cases c JOIN runs r ON r.run_id = c.run_id
        WHERE c.attempt = 1 AND c.label IN shown) WHERE k <= :last)
SELECT {", ".join("c." + c for c in CASE_COLUMNS)}, {_RUN_ALIASES} FROM keys
JOIN cases c ON c.run_id = keys.run_id AND c.label = keys.label
JOIN runs r ON r.run_id = keys.run_id
ORDER BY keys.label, keys.started, keys.run_id, c.attempt
"""


def _str(value) -> str:
    return value if isinstance(value, str) else ("" if value is None else str(value))


def _opt_str(value) -> str | None:
    return None if value is None else _str(value)


def _opt_float(value) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def _fast_case(row: tuple, base: Path) -> CaseRecord:
    """A history row (CASE_COLUMNS first) -> CaseRecord. Rows are read as they are (values
    coerced to their types); what an import brings in was checked by import_results."""
    (_run_id, label, attempt, profile, firmware, medium, host, accel, outcome, status, verdict, failed,
     install_outcome, install_seconds, boot_outcome, boot_seconds, kickgen_version, iso_sha256, ks_sha256,
     artifacts, expect_fail, screenshot, excerpt, seconds) = row[:len(CASE_COLUMNS)]
    failures: tuple[str, ...] = ()
    if failed and failed != "[]":
        try:
            loaded = json.loads(failed)
            failures = tuple(_str(x) for x in loaded) if isinstance(loaded, list) else (_str(loaded),)
        except (ValueError, TypeError):
            failures = (_str(failed),)
    folder = _str(artifacts)
    if folder and not folder.startswith("/"):
        folder = os.path.normpath(os.path.join(base, folder))
    # The TEXT columns hold text (SQLite's column affinity turns numbers into text on insert);
    # what the view computes with is checked: the label (a key), numbers, the JSON columns.
    return CaseRecord(_str(label), attempt if type(attempt) is int else 1, profile, firmware, medium, host, accel,
                      outcome, status, verdict, failures, install_outcome,
                      install_seconds if type(install_seconds) is float else _opt_float(install_seconds),
                      boot_outcome, boot_seconds if type(boot_seconds) is float else _opt_float(boot_seconds),
                      kickgen_version, iso_sha256, ks_sha256, folder, expect_fail, screenshot,
                      excerpt_from_json(excerpt) if isinstance(excerpt, str) else None,
                      float(seconds) if isinstance(seconds, int | float) else 0.0)


def read_history(db: Path, last: int = 30) -> History:
    """The cases seen in the last LAST runs, each with its own last LAST runs: one query for the
    runs, one for the case rows (the run columns joined in)."""
    conn = connect(db)
    base = Path(os.path.abspath(Path(db).parent))
    try:
        total = conn.execute("SELECT count(*) FROM runs").fetchone()[0]
        conn.row_factory = sqlite3.Row
        newest = tuple(_run_from_row(row, base) for row in conn.execute(
            "SELECT * FROM runs ORDER BY started DESC, run_id DESC LIMIT ?", (last,)))
        conn.row_factory = None
        runs: dict[str, RunRecord] = {run.run_id: run for run in newest}
        grouped: dict[str, list[CaseRun]] = {}
        current: tuple[str, str] | None = None
        attempts: list[CaseRecord] = []
        width = len(CASE_COLUMNS)
        for row in conn.execute(HISTORY_SQL, {"last": last}):
            key = (row[1], row[0])
            if key != current:
                if current is not None:
                    grouped.setdefault(current[0], []).append(CaseRun(runs[current[1]], tuple(attempts)))
                current, attempts = key, []
                if key[1] not in runs:
                    runs[key[1]] = _run_from_row(dict(zip(RUN_COLUMNS, row[width:], strict=True)),  # type: ignore[arg-type]
                                                 base)
            attempts.append(_fast_case(row, base))
        if current is not None:
            grouped.setdefault(current[0], []).append(CaseRun(runs[current[1]], tuple(attempts)))
    except (sqlite3.DatabaseError, RecordError, ValueError, TypeError) as exc:
        raise UsageError(f"{db}: not a readable kickgen results database: {exc}") from None
    finally:
        conn.close()
    return History(Path(db), newest, {label: tuple(found) for label, found in grouped.items()}, total)
