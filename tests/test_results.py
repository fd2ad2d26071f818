"""The results database: runs recorded and read back, artefact folders stored relative to the
database, runs merged from other machines' artefact folders, run files and databases (twice
adds nothing), refusals of what kickgen did not write, the history window, the status words,
and the serial-log lines kept around a failure."""

from __future__ import annotations

import json
import shutil
import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest

from kickgen.cli import main
from kickgen.core.errors import UsageError
from kickgen.results import (
    RUN_FILE,
    CaseRecord,
    Excerpt,
    RunRecord,
    case_status,
    import_results,
    read_history,
    read_runs,
    record_run,
    run_file_data,
)
from kickgen.results.db import SCHEMA_VERSION, connect
from kickgen.results.excerpt import MAX_LINE_CHARS, READ_LIMIT, lines_around
from kickgen.results.model import ERROR, EXPECTED_FAIL, FAIL, FLAKY, PASS, UNEXPECTED_PASS
from kickgen.results.synthetic import add_runs, synthetic_labels, synthetic_runs


def _case(folder: Path, label: str = "online/bios/cd", attempt: int = 1, **changes) -> CaseRecord:
    record = CaseRecord(
        label=label, attempt=attempt, profile="standin-docker", firmware="bios", medium="cd", host="qemu:///system",
        accel="TCG", outcome="fail", status="fail", verdict=f"FAIL {label} TCG: docker_running: FAILED",
        failed=("docker_running: FAILED: expected docker running, got docker not running",),
        install_outcome="ok", install_seconds=61.5, boot_outcome="ok", boot_seconds=19.0, kickgen_version="0.1.0",
        iso_sha256="a" * 64, ks_sha256="b" * 64, artifacts=str(folder / label.replace("/", "-")),
        expect_fail=None, screenshot="boot-screenshot.png",
        excerpt=Excerpt("boot-serial.log", 40, ("Starting docker: [FAILED]", "KICKGEN-REPORT v1 {}"), 1), seconds=90.0)
    return replace(record, **changes)


def _run(folder: Path, run_id: str = "1" * 32, started: str = "2024-05-01T02:00:00Z", cases=None) -> RunRecord:
    cases = cases if cases is not None else (_case(folder),)
    return RunRecord(run_id=run_id, started=started, machine="nightly-1", matrix="matrix.yaml", kickgen_version="0.1.0",
                     artifacts=str(folder), passed=False, seconds=95.0, shard="1/3", retries=1, cases=tuple(cases))


def _write_run_file(run: RunRecord) -> Path:
    folder = Path(run.artifacts)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / RUN_FILE
    path.write_text(json.dumps(run_file_data(run, folder)))
    return path


# --- record and read back ------------------------------------------------------------------------

def test_a_run_reads_back_as_it_was_recorded(tmp_path):
    db = tmp_path / "kickgen-artifacts" / "results.sqlite"
    run = _run(tmp_path / "kickgen-artifacts" / "matrix" / "20240501-020000")
    record_run(db, run)
    assert read_runs(db) == [run]


def test_artefact_folders_are_stored_relative_to_the_database_when_inside_it(tmp_path):
    db = tmp_path / "a" / "results.sqlite"
    inside = _run(tmp_path / "a" / "matrix" / "1")
    outside = _run(tmp_path / "elsewhere", run_id="2" * 32)
    record_run(db, inside)
    record_run(db, outside)
    conn = sqlite3.connect(db)
    stored = dict(conn.execute("SELECT run_id, artifacts FROM cases").fetchall())
    conn.close()
    assert stored["1" * 32] == "matrix/1/online-bios-cd"
    assert stored["2" * 32] == str(tmp_path / "elsewhere" / "online-bios-cd")
    # the database moved together with its artefacts still finds them
    shutil.move(tmp_path / "a", tmp_path / "b")
    moved = {r.run_id: r for r in read_runs(tmp_path / "b" / "results.sqlite")}
    assert moved["1" * 32].cases[0].artifacts == str(tmp_path / "b" / "matrix" / "1" / "online-bios-cd")
    assert moved["1" * 32].artifacts == str(tmp_path / "b" / "matrix" / "1")


def test_the_run_file_keeps_the_artefact_folders_relative_to_the_run(tmp_path):
    run = _run(tmp_path / "run")
    data = json.loads(json.dumps(run_file_data(run, tmp_path / "run")))
    assert data["format"] == "kickgen-run v1" and data["artifacts"] == "."
    assert data["cases"][0]["artifacts"] == "online-bios-cd"
    assert data["cases"][0]["excerpt"] == {"log": "boot-serial.log", "first": 40, "mark": 1,
                                           "lines": ["Starting docker: [FAILED]", "KICKGEN-REPORT v1 {}"]}


# --- import ------------------------------------------------------------------------------------------

def test_importing_the_same_artefacts_twice_adds_nothing(tmp_path):
    for n in range(3):                                       # three CI shards, each its artefacts folder
        _write_run_file(_run(tmp_path / f"shard-{n + 1}" / "matrix" / "x", run_id=f"{n + 1}" * 32,
                             cases=[_case(tmp_path / f"shard-{n + 1}" / "matrix" / "x", f"p{n}/bios/cd")]))
    db = tmp_path / "merged.sqlite"
    first = import_results(db, [tmp_path / f"shard-{n}" for n in (1, 2, 3)])
    assert (first.runs_added, first.cases_added, len(first.sources)) == (3, 3, 3)
    again = import_results(db, [tmp_path / f"shard-{n}" for n in (1, 2, 3)] + [tmp_path / "shard-1" / "matrix" / "x" / RUN_FILE])
    assert (again.runs_seen, again.runs_added, again.cases_added) == (3, 0, 0)
    assert len(read_runs(db)) == 3
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT count(*) FROM cases").fetchone()[0] == 3
    conn.close()


def test_an_imported_run_file_points_at_where_its_artefacts_are_now(tmp_path):
    run = _run(tmp_path / "machine-b" / "nightly")
    _write_run_file(run)
    shutil.move(tmp_path / "machine-b", tmp_path / "downloaded")     # CI: the artefacts arrive elsewhere
    db = tmp_path / "results.sqlite"
    import_results(db, [tmp_path / "downloaded"])
    (imported,) = read_runs(db)
    assert imported.cases[0].artifacts == str(tmp_path / "downloaded" / "nightly" / "online-bios-cd")
    assert replace(imported, artifacts=run.artifacts, cases=run.cases) == run


def test_a_database_imports_with_its_paths_rebased(tmp_path):
    other = tmp_path / "other" / "results.sqlite"
    record_run(other, _run(tmp_path / "other" / "matrix" / "1"))
    record_run(other, _run(tmp_path / "other" / "matrix" / "2", run_id="2" * 32, started="2024-05-02T02:00:00Z"))
    db = tmp_path / "main" / "results.sqlite"
    summary = import_results(db, [other])
    assert (summary.runs_added, summary.cases_added) == (2, 2)
    runs = read_runs(db)
    assert [r.run_id for r in runs] == ["1" * 32, "2" * 32]
    assert runs[0].cases[0].artifacts == str(tmp_path / "other" / "matrix" / "1" / "online-bios-cd")
    # a folder holding both the database and the run files of the same runs: still once each
    _write_run_file(_run(tmp_path / "other" / "matrix" / "1"))
    db2 = tmp_path / "main2.sqlite"
    both = import_results(db2, [tmp_path / "other"])
    assert (both.runs_seen, both.runs_added, len(both.sources)) == (2, 2, 2)
    assert import_results(db2, [tmp_path / "other"]).runs_added == 0


def test_other_programs_databases_in_a_folder_are_passed_over(tmp_path):
    _write_run_file(_run(tmp_path / "netboot" / "run"))
    foreign = tmp_path / "netboot" / "kickgen-serve.sqlite"
    conn = sqlite3.connect(foreign)
    conn.execute("CREATE TABLE hosts (name)")
    conn.commit()
    conn.close()
    summary = import_results(tmp_path / "results.sqlite", [tmp_path / "netboot"])
    assert (summary.runs_added, [p.name for p in summary.sources]) == (1, [RUN_FILE])
    with pytest.raises(UsageError, match="kickgen-serve.sqlite: not a kickgen results database"):
        import_results(tmp_path / "results.sqlite", [foreign])       # named itself: refused


def test_the_target_database_inside_an_imported_folder_is_left_out(tmp_path):
    db = tmp_path / "kickgen-artifacts" / "results.sqlite"
    record_run(db, _run(tmp_path / "kickgen-artifacts" / "matrix" / "1"))
    summary = import_results(db, [tmp_path / "kickgen-artifacts"])
    assert (summary.sources, summary.runs_added) == ([], 0)


@pytest.mark.parametrize("change, message", [
    (lambda d: d.update(format="something else"), "not a kickgen run file (no \"format\": \"kickgen-run v1\")"),
    (lambda d: d["cases"][0].update(status="broken"), "cases[0].status: 'broken' is not one of pass, fail"),
    (lambda d: d["cases"][0].update(outcome=None), "cases[0].outcome: expected a string"),
    (lambda d: d["cases"][0].update(attempt=0), "cases[0].attempt: expected a whole number >= 1, got 0"),
    (lambda d: d["cases"][0].update(install_seconds="fast"), "cases[0].install_seconds: expected a number"),
    (lambda d: d["cases"][0].update(failed="no list"), "cases[0].failed: expected a list of strings"),
    (lambda d: d.update(cases={}), "cases: expected a list"),
    (lambda d: d.update(passed="yes"), "passed: expected true or false"),
    (lambda d: d.update(retries=-1), "retries: expected a whole number >= 0, got -1"),
    (lambda d: d.update(started="yesterday"), "started: 'yesterday' is not a UTC time like 2024-05-01T02:00:00Z"),
])
def test_a_run_file_kickgen_did_not_write_is_refused_naming_the_field(tmp_path, change, message):
    good = _write_run_file(_run(tmp_path / "good", run_id="9" * 32))
    path = _write_run_file(_run(tmp_path / "bad"))
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))
    db = tmp_path / "results.sqlite"
    with pytest.raises(UsageError) as err:
        import_results(db, [good, path])
    assert err.value.message == f"{path}: not a kickgen run file: {message}" or \
        err.value.message.startswith(f"{path}: not a kickgen run file: {message}"), err.value.message
    assert not db.exists() or read_runs(db) == []                          # nothing imported, not even the good one


def test_other_files_are_refused_in_one_line(tmp_path):
    db = tmp_path / "results.sqlite"
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(UsageError, match="notes.txt: neither a kickgen run file"):
        import_results(db, [tmp_path / "notes.txt"])
    with pytest.raises(UsageError, match="nowhere: no such file or folder"):
        import_results(db, [tmp_path / "nowhere"])
    bad_json = tmp_path / "x" / RUN_FILE
    bad_json.parent.mkdir()
    bad_json.write_text("{not json")
    with pytest.raises(UsageError, match=f"{bad_json}: not a kickgen run file: Expecting property name"):
        import_results(db, [tmp_path / "x"])


# --- opening: what is not a kickgen results database ---------------------------------------------

def test_files_that_are_not_results_databases_are_refused(tmp_path):
    text = tmp_path / "text.sqlite"
    text.write_text("just text, long enough to be read as a header")
    with pytest.raises(UsageError, match="text.sqlite: not a kickgen results database \\(not an SQLite file\\)"):
        connect(text)
    foreign = tmp_path / "foreign.sqlite"
    conn = sqlite3.connect(foreign)
    conn.execute("CREATE TABLE t (x)")
    conn.close()
    with pytest.raises(UsageError, match="an SQLite file of something else"):
        record_run(foreign, _run(tmp_path))
    newer = tmp_path / "newer.sqlite"
    record_run(newer, _run(tmp_path))
    conn = sqlite3.connect(newer)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(UsageError, match=f"written by a newer kickgen \\(results schema {SCHEMA_VERSION + 1}"):
        read_runs(newer)
    with pytest.raises(UsageError, match="missing.sqlite: no results database there"):
        read_history(tmp_path / "missing.sqlite")
    link = tmp_path / "link.sqlite"
    link.symlink_to(newer)
    with pytest.raises(UsageError, match="is a symbolic link"):
        record_run(link, _run(tmp_path))


# --- the history window -------------------------------------------------------------------------------

def test_the_history_holds_each_case_of_the_last_runs_with_its_own_last_runs(tmp_path):
    db = tmp_path / "results.sqlite"
    labels = synthetic_labels(8)
    runs = synthetic_runs(labels, nights=12)
    # a case dropped from the matrix after night 3, one added on night 10
    runs = [replace(r, cases=tuple(c for c in r.cases if (c.label != labels[0] or n < 3)
                                   and (c.label != labels[1] or n >= 10))) for n, r in enumerate(runs)]
    add_runs(db, runs)
    history = read_history(db, last=5)
    assert [r.run_id for r in history.runs] == [r.run_id for r in reversed(runs[-5:])]
    assert history.total_runs == 12
    assert labels[0] not in history.cases                          # not seen in the last 5 runs
    assert len(history.cases[labels[1]]) == 2                      # only 2 runs old
    assert all(len(history.cases[label]) == 5 for label in labels[2:])
    started = [case_run.run.started for case_run in history.cases[labels[2]]]
    assert started == sorted(started) and started[-1] == runs[-1].started           # oldest first
    longer = read_history(db, last=30)
    assert len(longer.cases[labels[0]]) == 3 and len(longer.cases[labels[2]]) == 12


def test_the_attempts_of_a_case_stay_together_in_order(tmp_path):
    db = tmp_path / "results.sqlite"
    cases = [_case(tmp_path, attempt=2, outcome="pass", status="flaky", screenshot=None, excerpt=None),
             _case(tmp_path, attempt=1, status="flaky")]
    record_run(db, _run(tmp_path, cases=cases))
    (case_run,) = read_history(db).cases["online/bios/cd"]
    assert [a.attempt for a in case_run.attempts] == [1, 2]
    assert case_run.status == "flaky" and case_run.last.outcome == "pass"
    assert case_run.attempts[0].excerpt == cases[1].excerpt


# --- the words ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("outcomes, expect_fail, status", [
    (["pass"], None, PASS), (["fail"], None, FAIL), (["error"], None, ERROR),
    (["fail", "pass"], None, FLAKY), (["error", "pass"], None, FLAKY), (["fail", "fail"], None, FAIL),
    (["fail"], "reason", EXPECTED_FAIL), (["pass"], "reason", UNEXPECTED_PASS), (["error"], "reason", ERROR),
])
def test_case_status(outcomes, expect_fail, status):
    assert case_status(outcomes, expect_fail) == status


# --- the serial-log lines around a failure ----------------------------------------------------------------

def test_the_lines_around_the_line_a_reason_quotes(tmp_path):
    log = tmp_path / "install-serial.log"
    lines = [f"line {n}" for n in range(1, 41)]
    lines[29] = "kickgen-standin: ERROR: %post script failed with exit code 3 (--erroronfail): install aborted"
    log.write_text("\r\n".join(lines) + "\r\n")
    found = lines_around(log, "a %post --erroronfail script failed: " + lines[29])
    assert found is not None and found.log == "install-serial.log"
    assert found.first == 30 - 12 and found.lines[found.mark] == lines[29]
    assert found.lines[0] == "line 18" and found.lines[-1] == "line 36" and len(found.lines) == 19
    tail = lines_around(log, "absolute timeout: 1800s passed")
    assert tail is not None and tail.mark == -1 and tail.lines[-1] == "line 40" and len(tail.lines) == 20
    report = lines_around(log, marker="line 3")                          # the last line holding it
    assert report is not None and report.lines[report.mark] == "line 39"
    assert lines_around(tmp_path / "none.log", "x") is None


def test_long_lines_are_cut_and_a_huge_log_is_read_from_its_end(tmp_path):
    log = tmp_path / "boot-serial.log"
    with log.open("w") as out:
        out.write("x" * (READ_LIMIT + 10) + "\n")
        out.write("KICKGEN-REPORT v1 " + "y" * 5000 + "\n")
    found = lines_around(log, marker="KICKGEN-REPORT v1 ")
    assert found is not None and found.first == 0               # line numbers unknown past the skipped part
    assert found.lines[found.mark].endswith(" [...]") and len(found.lines[found.mark]) == MAX_LINE_CHARS + 6


# --- the command -----------------------------------------------------------------------------------------

def test_results_import_and_list_from_the_command_line(tmp_path, capsys):
    _write_run_file(_run(tmp_path / "a"))
    db = tmp_path / "db.sqlite"
    assert main(["results", "import", str(tmp_path / "a"), "--db", str(db)]) == 0
    assert capsys.readouterr().out == f"imported 1 run (1 case rows) into {db} from 1 file; 0 already there\n"
    assert main(["results", "list", "--db", str(db)]) == 0
    assert capsys.readouterr().out.split() == ["2024-05-01T02:00:00Z", "1" * 12, "FAIL", "nightly-1", "matrix.yaml",
                                               "shard", "1/3", "1", "fail"]
    assert main(["results", "import", "--db", str(db)]) == 2
    assert "results import needs ARTIFACTS" in capsys.readouterr().err
    assert main(["results", "list", str(tmp_path), "--db", str(db)]) == 2
    assert main(["results", "list", "--runs", "0", "--db", str(db)]) == 2
    assert "--runs 0: expected a whole number >= 1" in capsys.readouterr().err
    assert main(["results", "list", "--db", str(tmp_path / "none.sqlite")]) == 2
    assert "none.sqlite: no results database there" in capsys.readouterr().err
