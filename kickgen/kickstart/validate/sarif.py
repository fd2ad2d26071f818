"""A validation report as a SARIF 2.1.0 log, the format code-scanning pages read."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import quote

from kickgen.kickstart.validate.findings import Finding, Report, Rule, Severity

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
# Relative paths are resolved against this base; its value is the consumer's checkout (SARIF 3.14.14).
SOURCE_ROOT = "SRCROOT"
LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.NOTE: "note"}
SHELLCHECK_CODE = re.compile(r"SC\d+")
SHELLCHECK_WIKI = "https://www.shellcheck.net/wiki/"


def sarif_log(report: Report, rules: Mapping[str, Rule], tool_version: str) -> dict[str, Any]:
    """The SARIF log of REPORT: one run, every rule of RULES described, one result per finding."""
    descriptors = {rule.id: _descriptor(rule.id, rule.severity, rule.summary, rule.example)
                   for rule in rules.values()}
    # Rule ids found but not declared (shellcheck's own codes) get a descriptor of their own;
    # findings come most severe first, so the first finding of an id sets its level.
    for finding in report.findings:
        if finding.rule not in descriptors:
            descriptors[finding.rule] = _descriptor(finding.rule, finding.severity,
                                                    _undeclared_summary(finding.rule), "")
    rule_index = {rule_id: index for index, rule_id in enumerate(descriptors)}

    files = list(dict.fromkeys([*report.files, *(f.file for f in report.findings)]))
    file_index = {name: index for index, name in enumerate(files)}
    return {
        "$schema": SARIF_SCHEMA,
        "version": SARIF_VERSION,
        "runs": [{
            "tool": {"driver": {
                "name": "kickgen",
                "version": tool_version,
                "semanticVersion": tool_version,
                "rules": list(descriptors.values()),
            }},
            "artifacts": [{"location": artifact_location(name)} for name in files],
            "results": [_result(f, rule_index[f.rule], file_index[f.file]) for f in report.findings],
            "columnKind": "unicodeCodePoints",  # columns count characters, not UTF-16 units
            "properties": {"release": report.release},  # the EL6 release the kickstart was checked for
        }],
    }


def artifact_location(path: str) -> dict[str, str]:
    """A path as given, as a URI: absolute paths as file: URIs, relative ones under SRCROOT."""
    if PurePosixPath(path).is_absolute():
        return {"uri": "file://" + quote(path)}
    # quote() leaves only unreserved characters and '/': a ':' in the first segment is no scheme
    return {"uri": quote(path), "uriBaseId": SOURCE_ROOT}


def _descriptor(rule_id: str, severity: Severity, summary: str, example: str) -> dict[str, Any]:
    descriptor: dict[str, Any] = {
        "id": rule_id,
        "shortDescription": {"text": summary},
        "defaultConfiguration": {"level": LEVELS[severity]},
    }
    if example:
        descriptor["help"] = {
            "text": f"{summary}. For example:\n{example}",
            "markdown": f"{summary}. For example:\n\n```\n{example}\n```",
        }
    if SHELLCHECK_CODE.fullmatch(rule_id):
        descriptor["helpUri"] = SHELLCHECK_WIKI + rule_id
    return descriptor


def _undeclared_summary(rule_id: str) -> str:
    if SHELLCHECK_CODE.fullmatch(rule_id):
        return f"shellcheck {rule_id} in a %pre/%post shell script"
    return rule_id


def _result(finding: Finding, rule_index: int, file_index: int) -> dict[str, Any]:
    region: dict[str, int] = {"startLine": finding.line}
    if finding.column is not None:
        region["startColumn"] = finding.column
    return {
        "ruleId": finding.rule,
        "ruleIndex": rule_index,
        "level": LEVELS[finding.severity],
        "message": {"text": finding.message},
        "locations": [{"physicalLocation": {
            "artifactLocation": {**artifact_location(finding.file), "index": file_index},
            "region": region,
        }}],
    }
