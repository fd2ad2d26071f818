"""`kickgen matrix`: the matrix file's checks (each error names file:line:col and the key),
expect_fail, --shard, the statuses from retries (fake boot tests), the summary by label, and one
real run of three cases over two URIs with the fake media of the harness tests (--retries, the
results database, the run file, --report)."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import sys
import textwrap
import time
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import pytest

from harness_fakes import fake_installer_iso, fake_system_iso
from kickgen.cli import main
from kickgen.core.errors import HarnessError, UsageError
from kickgen.results import case_status
from kickgen.vm import host as vmhost
from kickgen.vm.harness import BootTestResult, PhaseResult
from kickgen.vm.matrix import (
    ERROR,
    EXPECTED_FAIL,
    FAIL,
    FLAKY,
    PASS,
    UNEXPECTED_PASS,
    Case,
    CaseOutcome,
    MatrixOutcome,
    MatrixPlan,
    ProfileEntry,
    load_matrix,
    parse_shard,
    run_case,
    shard_cases,
    shard_plan,
    summary_table,
)
from kickgen.vm.verdict import Assertion
from paths import PROJECT_ROOT
from paths import TEST_WORK as BUILD_DIR

# vm/matrix-example.yaml's six cases over three shards (sha256 of each label, dealt out in turn)
EXAMPLE_SPLIT = [["standin-docker/uefi/cd", "standin-docker-no-service/bios/cd"],
                 ["standin-docker/uefi/usb", "standin-docker-no-service/bios/usb"],
                 ["standin-docker/bios/cd", "standin-docker/bios/usb"]]


def _write(tmp_path, text: str):
    path = tmp_path / "matrix.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def test_example_matrix_loads():
    plan = load_matrix(PROJECT_ROOT / "vm" / "matrix-example.yaml")
    ids = [case.id for case in plan.cases]
    assert len(ids) == 6                 # 2x2 for the profile, 2 for the variant (uefi excluded)
    assert "standin-docker/uefi/usb" in ids and "standin-docker-no-service/uefi/cd" not in ids
    assert plan.hosts[0].uri == "qemu:///system" and plan.hosts[0].parallel == 2
    assert (plan.extra_disks, plan.keep_medium, plan.writable_medium) == (1, True, True)


def test_connect_and_parallel_override_the_hosts(tmp_path):
    path = _write(tmp_path, """
        iso: base.iso
        profiles: [standin-docker]
        hosts: [{uri: "qemu:///system", parallel: 3}]
    """)
    plan = load_matrix(path, connect=["qemu+ssh://a/system", "qemu+ssh://b/system"], parallel=2)
    assert [(h.uri, h.parallel) for h in plan.hosts] == [("qemu+ssh://a/system", 2), ("qemu+ssh://b/system", 2)]
    assert [c.id for c in plan.cases] == ["standin-docker/bios/cd"]   # defaults: bios, cd


@pytest.mark.parametrize("text, where, message", [
    ("profiles: [standin-docker]\n", "", "iso: is missing"),
    ("iso: a.iso\nprofiles: []\n", ":2:11", "profiles: lists no profile"),
    ("iso: a.iso\nprofiles: [x]\nfirmware: [bios, bois]\n", ":3:18", "firmware: 'bois' is not one of bios, uefi"),
    ("iso: a.iso\nprofiles: [x]\nmedium: floppy\n", ":3:9", "medium: 'floppy' is not one of cd, usb"),
    ("iso: a.iso\nprofiles: [x]\nhost: []\n", ":3:7", "unknown key 'host' (known: exclude,"),
    ("iso: a.iso\nprofiles: [{name: x, set: nope}]\n", ":2:27", "profiles[0].set: expected a list of key.path=value"),
    ("iso: a.iso\nprofiles: [x]\nhosts: [{uri: 'qemu:///system', parallel: 0}]\n", ":3:43",
     "hosts[0].parallel: expected a whole number >= 1, got 0"),
    ("iso: a.iso\nprofiles: [x]\nexclude: [{firmware: bios}]\n", ":3:10", "exclude: leaves no case to run"),
    ("iso: a.iso\nprofiles: [x\n", ":3:1", "not valid YAML"),
    ("iso: a.iso\nprofiles: [x]\nextra_disks: 4\n", ":3:14", "extra_disks: expected a whole number from 0 to 3, got 4"),
    ("iso: a.iso\nprofiles: [x]\nextra_disks: true\n", ":3:14", "extra_disks: expected a whole number from 0 to 3"),
    ("iso: a.iso\nprofiles: [x]\nkeep_medium: yes please\n", ":3:14", "keep_medium: expected true or false"),
    ("iso: a.iso\nprofiles: [x]\nwritable_medium: 1\n", ":3:18", "writable_medium: expected true or false, got 1"),
    # expect_fail: the reason, one line of text
    ("iso: a.iso\nprofiles:\n  - name: x\n    expect_fail: 3\n", ":4:18", "profiles[0].expect_fail: expected the reason"),
    ("iso: a.iso\nprofiles:\n  - name: x\n    expect_fail: ''\n", ":4:18", "profiles[0].expect_fail: expected the reason"),
    ("iso: a.iso\nprofiles:\n  - name: x\n    expect_fail: true\n", ":4:18", "got True"),
    ("iso: a.iso\nprofiles:\n  - name: x\n    expect_fail: \"a\\nb\"\n", ":4:18", "as one line of text"),
    (f"iso: a.iso\nprofiles:\n  - name: x\n    expect_fail: {'y' * 501}\n", ":4:18", "at most 500 characters"),
    ("iso: a.iso\nprofiles: [{name: y, expect: 1}]\n", ":2:30", "profiles[0]: unknown key 'expect'"),
    # labels name cases, their folders and their rows in the results database: unique, no '/'
    ("iso: a.iso\nprofiles: [x, {name: y, label: x}]\n", ":2:15", "profiles[1]: the label 'x' is already that of profiles[0]"),
    ("iso: a.iso\nprofiles: [{name: y, label: a/b}]\n", ":2:29", "profiles[0].label: 'a/b' may not hold '/'"),
])
def test_bad_matrix_files_are_named(tmp_path, text, where, message):
    path = _write(tmp_path, text)
    with pytest.raises(UsageError) as err:
        load_matrix(path)
    assert err.value.message.startswith(f"{path}{where}: "), err.value.message
    assert message in err.value.message
    assert "\n" not in err.value.message


def test_expect_fail_is_read_per_profile_entry(tmp_path):
    plan = load_matrix(_write(tmp_path, """
        iso: base.iso
        profiles:
          - standin-docker
          - {name: standin-docker, label: no-service, expect_fail: "  docker is off  "}
        medium: [cd, usb]
    """))
    reasons = {case.id: case.entry.expect_fail for case in plan.cases}
    assert reasons == {"standin-docker/bios/cd": None, "standin-docker/bios/usb": None,
                       "no-service/bios/cd": "docker is off", "no-service/bios/usb": "docker is off"}


def test_the_example_matrix_expects_its_no_service_case_to_fail():
    plan = load_matrix(PROJECT_ROOT / "vm" / "matrix-example.yaml")
    for case in plan.cases:
        assert bool(case.entry.expect_fail) == (case.entry.label == "standin-docker-no-service"), case.id


# --- --shard K/N ---------------------------------------------------------------------------------

def _plan_of(tmp_path, profiles: int, name: str = "matrix.yaml"):
    labels = ", ".join(f"{{name: standin-docker, label: p{n:02d}}}" for n in range(profiles))
    path = tmp_path / name
    path.write_text(f"iso: base.iso\nprofiles: [{labels}]\nfirmware: [bios, uefi]\nmedium: [cd, usb]\n")
    return load_matrix(path)


@pytest.mark.parametrize("profiles", [1, 2, 5, 13])
def test_three_shards_run_every_case_exactly_once_and_evenly(tmp_path, profiles):
    plan = _plan_of(tmp_path, profiles)
    shards = [shard_cases(plan.cases, k, 3) for k in (1, 2, 3)]
    ids = [case.id for shard in shards for case in shard]
    assert sorted(ids) == sorted(case.id for case in plan.cases)           # every case ...
    assert len(ids) == len(set(ids))                                      # ... exactly once
    sizes = [len(shard) for shard in shards]
    assert max(sizes) - min(sizes) <= 1, sizes
    for shard in shards:                                                  # file order kept within a shard
        assert list(shard) == [case for case in plan.cases if case in shard]


def test_the_split_depends_on_the_labels_only(tmp_path):
    """Not on the order of the file, nor on the process (sha256, not Python's salted hash())."""
    plan = _plan_of(tmp_path, 5)
    reordered = list(reversed(plan.cases))
    for k in (1, 2, 3):
        assert {c.id for c in shard_cases(plan.cases, k, 3)} == {c.id for c in shard_cases(reordered, k, 3)}
    # the same split in another interpreter, whatever its PYTHONHASHSEED
    code = ("import sys; sys.path.insert(0, 'tests'); from pathlib import Path; from kickgen.vm.matrix import "
            f"load_matrix, shard_cases; plan = load_matrix(Path({str(tmp_path / 'matrix.yaml')!r})); "
            "print(' '.join(c.id for c in shard_cases(plan.cases, 2, 3)))")
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env={**os.environ, "PYTHONHASHSEED": "12345"}, cwd=PROJECT_ROOT)
    assert other.stdout.split() == [c.id for c in shard_cases(plan.cases, 2, 3)]


def test_the_example_matrix_split_is_pinned():
    """The split is part of the interface (CI jobs on different kickgen installs must agree)."""
    plan = load_matrix(PROJECT_ROOT / "vm" / "matrix-example.yaml")
    split = [[c.id for c in shard_cases(plan.cases, k, 3)] for k in (1, 2, 3)]
    assert split == EXAMPLE_SPLIT


def test_adding_a_case_keeps_a_partition_but_may_move_others(tmp_path):
    """What the scheme does not promise: balance (sizes within one) and stability under additions
    cannot both hold (docs/boot-tests.md); kickgen keeps balance. After an addition the shards
    still cover every case once."""
    before = _plan_of(tmp_path, 4, "a.yaml")
    after = _plan_of(tmp_path, 5, "b.yaml")
    ids = sorted(c.id for k in (1, 2, 3) for c in shard_cases(after.cases, k, 3))
    assert ids == sorted(c.id for c in after.cases)
    assert len(shard_cases(before.cases, 1, 3)) in (5, 6)


@pytest.mark.parametrize("text, message", [
    ("2", "--shard 2: expected K/N"), ("0/3", "--shard 0/3: expected 1 <= K <= N"),
    ("4/3", "--shard 4/3: expected 1 <= K <= N"), ("1/0", "--shard 1/0: expected 1 <= K <= N"),
    ("a/b", "--shard a/b: expected K/N"), ("1/2/3", "--shard 1/2/3: expected K/N"), ("", "--shard : expected K/N"),
])
def test_bad_shards_are_named(text, message):
    with pytest.raises(UsageError) as err:
        parse_shard(text)
    assert err.value.message.startswith(message)


def test_a_shard_with_no_case_is_refused(tmp_path):
    plan = load_matrix(_write(tmp_path, "iso: base.iso\nprofiles: [standin-docker]\nmedium: [cd, usb]\n"))
    assert len(shard_plan(plan, 2, 2).cases) == 1
    with pytest.raises(UsageError) as err:
        shard_plan(plan, 3, 3)
    assert "--shard 3/3: no case falls in this shard" in err.value.message


def test_matrix_cli_refuses_bad_shard_and_retries(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)              # were a run to start, its artefacts land here
    path = _write(tmp_path, "iso: base.iso\nprofiles: [standin-docker]\n")
    assert main(["matrix", str(path), "--shard", "3/2"]) == 2
    assert "kickgen: error: --shard 3/2: expected 1 <= K <= N" in capsys.readouterr().err
    assert main(["matrix", str(path), "--retries", "-1"]) == 2
    assert "kickgen: error: --retries -1: expected a whole number from 0 to 5" in capsys.readouterr().err
    assert main(["matrix", str(path), "--retries", "6"]) == 2
    capsys.readouterr()
    # where the run would be recorded and reported is checked before any work
    assert main(["matrix", str(path), "--db", str(tmp_path)]) == 2
    assert f"--db {tmp_path} is a directory" in capsys.readouterr().err
    assert main(["matrix", str(path), "--report", str(tmp_path)]) == 2
    assert f"--report {tmp_path} is a directory" in capsys.readouterr().err
    db = tmp_path / "r.sqlite"
    assert main(["matrix", str(path), "--db", str(db), "--report", str(db)]) == 2
    assert f"--report {db} is the results database (--db)" in capsys.readouterr().err
    assert not (tmp_path / "kickgen-artifacts").exists() and not db.exists()    # refused before any work


# --- expected failures, retries, flaky: the statuses of a case ------------------------------------

def _result(passed: bool, *, profile: str = "standin-docker", failure: str = "docker_running") -> BootTestResult:
    phases = (PhaseResult("install", "ok", "the installer powered off", 30.0, Path("install-serial.log")),
              PhaseResult("boot", "ok", "the installed system wrote its report", 12.0, Path("boot-serial.log")))
    checks = (Assertion("profile", "'x'", "'x'", True),
              Assertion(failure, "docker running", "docker running" if passed else "docker not running", passed))
    where = f"{profile} bios/cd TCG"
    verdict = (f"PASS {where}: 2 assertions held (install 30s, boot 12s)" if passed else
               f"FAIL {where}: {checks[1].describe()} (install 30s, boot 12s)")
    return BootTestResult(name="kickgen-x", profile=profile, firmware="bios", medium="cd", connect="qemu:///system",
                          accel="TCG", accel_reason="TCG: test", phases=phases, report=None, assertions=checks,
                          passed=passed, verdict=verdict, artifacts=Path("/nowhere"), volumes=(), kept=False,
                          seconds=42.0)


def _case(label: str = "no-service", expect_fail: str | None = None) -> Case:
    return Case(ProfileEntry("standin-docker", label=label, expect_fail=expect_fail), "bios", "cd")


def _runner(*results):
    """A fake boot test: each call gives the next of RESULTS (an exception is raised)."""
    calls = []

    def once(attempt: int):
        calls.append(attempt)
        item = results[len(calls) - 1]
        if isinstance(item, Exception):
            raise item
        return item
    return once, calls


@pytest.mark.parametrize("results, retries, expect_fail, status, attempts", [
    ((True,), 2, None, PASS, [1]),
    ((False, False, False), 2, None, FAIL, [1, 2, 3]),
    ((False, True), 2, None, FLAKY, [1, 2]),                      # a pass after a fail
    ((False,), 0, None, FAIL, [1]),                                # no retries: one attempt
    ((HarnessError("libvirt went away"), True), 1, None, FLAKY, [1, 2]),
    ((HarnessError("libvirt went away"),) * 2, 1, None, ERROR, [1, 2]),
    ((ValueError("bug"),), 0, None, ERROR, [1]),                   # any exception: that case's error only
    ((False,), 3, "docker is off", EXPECTED_FAIL, [1]),           # expected to fail: runs once
    ((True,), 3, "docker is off", UNEXPECTED_PASS, [1]),
])
def test_the_status_of_a_case_from_its_attempts(results, retries, expect_fail, status, attempts):
    items = [_result(r) if isinstance(r, bool) else r for r in results]
    once, calls = _runner(*items)
    outcome = run_case(_case(expect_fail=expect_fail), "qemu:///system", once, retries)
    assert outcome.status == status
    assert calls == attempts and [a.number for a in outcome.attempts] == attempts
    assert outcome.passed == (status in (PASS, FLAKY, EXPECTED_FAIL))
    assert outcome.status == case_status([a.outcome for a in outcome.attempts], expect_fail)   # one vocabulary


def _outcome(*outcomes: CaseOutcome, shard=None) -> MatrixOutcome:
    plan = MatrixPlan(Path("m.yaml"), None, tuple(o.case for o in outcomes), (), shard=shard)
    return MatrixOutcome(plan, outcomes, Path("junit.xml"), Path("."), 61.0)


def test_the_summary_names_each_case_by_its_label():
    """The no-service case used to be printed with its profile's name (standin-docker)."""
    once, _ = _runner(_result(False))
    failing = run_case(_case("standin-docker-no-service"), "qemu:///system", once)
    once, _ = _runner(_result(False), _result(True))
    flaky = run_case(_case("online"), "qemu:///system", once, 1)
    once, _ = _runner(_result(False))
    expected = run_case(_case("no-docker", "docker.enable_service=false"), "qemu:///system", once)
    once, _ = _runner(_result(True))
    unexpected = run_case(_case("should-fail", "it cannot work"), "qemu:///system", once)
    error = CaseOutcome(_case("no-such"), "qemu:///system", None, "no-such: no such profile")
    outcome = _outcome(failing, flaky, expected, unexpected, error)
    table = summary_table(outcome).splitlines()
    results = {line.split()[0]: line.split("  ")[-1].strip() for line in table[2:7]}
    assert results == {"standin-docker-no-service/bios/cd": "FAIL", "online/bios/cd": "FLAKY (2 attempts)",
                       "no-docker/bios/cd": "EXPECTED-FAIL", "should-fail/bios/cd": "UNEXPECTED-PASS",
                       "no-such/bios/cd": "ERROR"}
    verdicts = table[7:]
    assert verdicts[0] == ("  FAIL standin-docker-no-service/bios/cd TCG: docker_running: FAILED: expected docker "
                           "running, got docker not running (install 30s, boot 12s)")
    assert verdicts[1].startswith("  FLAKY online/bios/cd: attempt 1: FAIL online/bios/cd TCG: docker_running: FAILED")
    assert "; attempt 2: PASS online/bios/cd TCG: 2 assertions held" in verdicts[1]
    assert verdicts[2].startswith("  EXPECTED-FAIL FAIL no-docker/bios/cd TCG: ")
    assert verdicts[2].endswith("(expected: docker.enable_service=false)")
    assert verdicts[3].endswith("(expected to fail: it cannot work)")
    assert verdicts[4] == "  ERROR no-such/bios/cd: no-such: no such profile"
    assert not any(" standin-docker bios/cd" in line for line in table)     # never the profile's name
    assert outcome.verdict == ("FAIL matrix m.yaml: 1/5 cases passed, 1 flaky, 1 failed as expected, "
                               "1 passed unexpectedly (61s)")


def test_a_run_that_could_not_be_recorded_exits_2():
    once, _ = _runner(_result(True))
    outcome = _outcome(run_case(_case("online"), "qemu:///system", once))
    assert outcome.exit_code == 0
    assert replace(outcome, record_problems=("cannot write r.sqlite: disk full",)).exit_code == 2


def test_expected_failures_and_flaky_passes_leave_the_run_green():
    once, _ = _runner(_result(False))
    expected = run_case(_case("no-docker", "docker off"), "qemu:///system", once)
    once, _ = _runner(_result(False), _result(True))
    flaky = run_case(_case("online"), "qemu:///system", once, 1)
    outcome = _outcome(expected, flaky, shard=(2, 3))
    assert outcome.passed and outcome.exit_code == 0
    assert outcome.verdict == "PASS matrix m.yaml: 1/2 cases passed, 1 flaky, 1 failed as expected (61s, shard 2/3)"


def test_matrix_cli_usage_error_exits_2(tmp_path, capsys):
    assert main(["matrix", str(tmp_path / "none.yaml")]) == 2
    assert f"kickgen: error: {tmp_path / 'none.yaml'}: no such matrix file" in capsys.readouterr().err


@pytest.mark.vm
@pytest.mark.timeout(500)
def test_cases_spread_over_two_hosts_into_one_junit(tmp_path, capsys):
    """`kickgen matrix` over two libvirt URIs (the second through the remote driver), one worker
    each, with --retries 1: a case whose %post fails runs twice (both attempts kept) on one host
    while the good case runs on the other, the run is recorded in the results database and in its
    run file, and --report writes the page. (USB cases through the matrix: test_matrix_standin.py.)"""
    out = BUILD_DIR / "harness-fakes"
    system = fake_system_iso(out, profile="standin-docker")
    iso = fake_installer_iso(out, "ok", system)
    broken = fake_installer_iso(out, "post-fails", system)
    path = _write(tmp_path, f"""
        profiles:
          - name: standin-docker
            iso: {iso}
            set: [vm.disk_gb=1, vm.memory_mb=512, vm.stall_seconds=90]
          - name: standin-docker
            label: broken
            iso: {broken}
            set: [vm.disk_gb=1, vm.memory_mb=512, vm.stall_seconds=90]
          - name: no-such-profile
            iso: {iso}
        firmware: [bios]
        medium: [cd]
        hosts: [{{uri: "qemu:///system", parallel: 1}}, {{uri: "qemu+unix:///system", parallel: 1}}]
        timeout_install: 180
        timeout_boot: 180
    """)
    artifacts, db = tmp_path / "artifacts", tmp_path / "results.sqlite"
    code = main(["matrix", str(path), "--artifacts", str(artifacts), "--quiet", "--retries", "1",
                 "--db", str(db), "--report"])
    printed = capsys.readouterr().out
    assert code == 1                                   # one case failed twice, one could not run
    assert f"junit: {artifacts / 'junit.xml'}" in printed
    assert f"results: {db}" in printed and f"report: {artifacts / 'report.html'}" in printed
    assert "FAIL matrix matrix.yaml: 1/3 cases passed" in printed

    suites = ET.parse(artifacts / "junit.xml").getroot().findall("testsuite")
    assert [s.get("name").split(" on ")[0] for s in suites] == [
        "standin-docker/bios/cd", "broken/bios/cd", "no-such-profile/bios/cd"]
    assert [s.get("failures") for s in suites] == ["0", "1", "1"]
    assert "no-such-profile" in suites[2].find("testcase/failure").get("message")
    assert suites[1].find("testcase").get("classname") == "kickgen.broken.bios-cd"      # its label
    assert [c.get("name") for c in suites[1].findall("testcase") if c.get("name").startswith("attempt")] == [
        "attempt1.install"]                                 # the first attempt's failure, kept
    table = (artifacts / "summary.txt").read_text().splitlines()
    assert table[0].split() == ["case", "host", "accel", "install", "boot", "result"]
    rows = {line.split()[0]: line.split() for line in table[2:5]}
    assert rows["standin-docker/bios/cd"][-1] == "PASS"
    assert rows["broken/bios/cd"][-3:] == ["FAIL", "(2", "attempts)"]
    assert rows["no-such-profile/bios/cd"][-1] == "ERROR"
    assert {row[1] for row in rows.values()} <= {"qemu:///system", "qemu+unix:///system"}
    assert "\n".join(table[:5]) in printed            # the same table on stdout
    assert any(line.startswith("  FAIL broken/bios/cd TCG: install failed:") for line in table)

    # every attempt in its own folder (--retries), the failing one twice
    for n in (1, 2):
        report = json.loads((artifacts / "broken-bios-cd" / f"attempt-{n}" / "report.json").read_text())
        assert report["phases"][0]["outcome"] == "failed" and "%post" in report["phases"][0]["reason"]
    assert not (artifacts / "standin-docker-bios-cd" / "attempt-2").exists()

    # the results database: one run, a row per attempt, the case's status on each
    conn = sqlite3.connect(db)
    try:
        rows_db = conn.execute("SELECT label, attempt, outcome, status, host, iso_sha256, expect_fail, screenshot, "
                               "install_seconds FROM cases ORDER BY label, attempt").fetchall()
        runs = conn.execute("SELECT matrix, passed, retries, shard FROM runs").fetchall()
    finally:
        conn.close()
    assert runs == [("matrix.yaml", 0, 1, None)]
    by_key = {(r[0], r[1]): r for r in rows_db}
    assert set(by_key) == {("broken/bios/cd", 1), ("broken/bios/cd", 2), ("no-such-profile/bios/cd", 1),
                           ("standin-docker/bios/cd", 1)}
    assert by_key["broken/bios/cd", 1][2:4] == ("fail", "fail") and by_key["broken/bios/cd", 2][2:4] == ("fail", "fail")
    assert by_key["broken/bios/cd", 2][7] == "install-screenshot.png"
    assert by_key["no-such-profile/bios/cd", 1][2:4] == ("error", "error")
    assert by_key["standin-docker/bios/cd", 1][5] == hashlib.sha256(iso.read_bytes()).hexdigest()
    assert by_key["standin-docker/bios/cd", 1][8] > 0

    # the run file merges into another database once, however often it is imported
    other = tmp_path / "merged.sqlite"
    assert main(["results", "import", str(artifacts), "--db", str(other)]) == 0
    assert "imported 1 run (4 case rows)" in capsys.readouterr().out
    assert main(["results", "import", str(artifacts), str(artifacts / "kickgen-run.json"), "--db", str(other)]) == 0
    assert "imported 0 runs (0 case rows)" in capsys.readouterr().out

    # the page: the failing case's last screen copied beside it, links relative
    page = (artifacts / "report.html").read_text()
    assert "broken/bios/cd" in page and "FAIL" in page
    images = sorted((artifacts / "report-images").glob("*.png"))
    assert len(images) == 1 and images[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert 'href="./broken-bios-cd/attempt-1/install-serial.log"' in page
    assert 'href="./broken-bios-cd/attempt-2/install-serial.log"' in page

    conn = vmhost.connect(vmhost.DEFAULT_URI)
    try:
        name = json.loads((artifacts / "standin-docker-bios-cd" / "attempt-1" / "report.json").read_text())["name"]
        assert vmhost.leftovers(conn, prefix=name) == []
        for n in (1, 2):
            name = json.loads((artifacts / "broken-bios-cd" / f"attempt-{n}" / "report.json").read_text())["name"]
            assert vmhost.leftovers(conn, prefix=name) == []
    finally:
        conn.close()


def test_ctrl_c_during_a_matrix_waits_for_every_case_to_clean_up(tmp_path, monkeypatch):
    # Ctrl-C reaches the main thread only: each running case must unwind through its own
    # cleanup (boot_test's finally: domain, volumes) before run_matrix gives the interrupt back.
    import signal
    import threading

    import kickgen.pipeline as pipeline

    iso = tmp_path / "base.iso"
    iso.write_bytes(b"not read by the fake boot test")
    plan = load_matrix(_write(tmp_path, f"""
        profiles:
          - {{name: standin-docker, iso: {iso}}}
        firmware: [bios, uefi]
        hosts: [{{uri: "qemu:///system", parallel: 2}}]
    """))
    started, cleaned = threading.Semaphore(0), []

    def fake_boot_test(iso, profile, *, firmware, progress, **_):
        started.release()
        try:
            while True:                       # a case that would run for ever: only a cancel ends it
                progress(None)
                time.sleep(0.05)
        finally:
            time.sleep(0.3)                   # cleanup takes a while; the process must wait for it
            cleaned.append(firmware)

    monkeypatch.setattr(pipeline, "boot_test", fake_boot_test)

    def interrupt() -> None:
        started.acquire()
        started.acquire()
        os.kill(os.getpid(), signal.SIGINT)

    # Ctrl-C as a terminal gives it, whatever this process inherited (a background job ignores SIGINT)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        threading.Thread(target=interrupt, daemon=True).start()
        with pytest.raises(KeyboardInterrupt):
            pipeline.run_matrix(plan, artifacts=tmp_path / "artifacts", accel="tcg", progress=None)
    finally:
        signal.signal(signal.SIGINT, previous)
    assert sorted(cleaned) == ["bios", "uefi"]
