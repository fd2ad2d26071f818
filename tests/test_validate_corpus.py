"""kickgen's verdicts on real-world EL6 kickstarts agree with EL6's own.

tests/data/el6-corpus/ holds short rewrites of public EL6 kickstarts (packer, veewee, cloud
images, hardening guides, PXE setups; corpus.yaml names each source and its licence). For each,
corpus.yaml records what EL6's parser said, read off pykickstart r1.74.* itself under Python 2.7
(every refused line, per release where it differs), and the defects found by reading the file.
The tests check that kickgen's errors are exactly EL6's refusals, release by release, and that
every recorded defect is named on its line (those kickgen does not detect say why).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from kickgen.kickstart.validate import Options, Severity, check_file
from kickgen.kickstart.validate.grammar import releases
from kickgen.kickstart.validate.rules import check_rule_ids
from paths import PROJECT_ROOT

CORPUS = PROJECT_ROOT / "tests" / "data" / "el6-corpus"
CASES = yaml.safe_load((CORPUS / "corpus.yaml").read_text())["cases"]
# kickgen's errors that are not parser refusals: the installer would stop and ask
NOT_PARSER = {"missing-answer"}


def _key(case: dict, entry: dict) -> tuple[str, int]:
    return Path(entry.get("file") or case["file"]).name, entry["line"]


def el6_refusals(case: dict, release: str) -> set[tuple[str, int]]:
    """What EL6's installer refuses: its parser's refusals for RELEASE, less what anaconda's own
    command classes accept (zerombr yes) and what a %pre supplies (generated includes)."""
    others = case.get("el6_other_releases") or {}
    verdict = others.get(release) or case["el6"]
    refused = {_key(case, r) for r in verdict["refused_lines"]}
    if case.get("el6_anaconda") is not None:
        parser_only = {_key(case, r) for r in case["el6"]["refused_lines"]} - \
            {_key(case, r) for r in case["el6_anaconda"]["refused_lines"]}
        refused -= parser_only
    refused -= {_key(case, r) for r in case.get("installer_accepts", [])}
    return refused


def kickgen_errors(case: dict, release: str) -> set[tuple[str, int]]:
    report = check_file(CORPUS / case["file"], Options(release=release, disabled=check_rule_ids(["shellcheck"])))
    return {(Path(f.file).name, f.line) for f in report.findings
            if f.severity == Severity.ERROR and f.rule not in NOT_PARSER}


def test_corpus_is_big_and_varied():
    real = [c for c in CASES if not c["name"].startswith("synthetic-")]
    assert len(real) >= 25
    assert len({c["project"] for c in real}) >= 10
    assert len({c["shape"].split("/")[0].split(" ")[0] for c in real}) >= 6
    assert sum(1 for c in real if c["el6"]["refused_lines"]) >= 5
    for case in CASES:
        assert (CORPUS / case["file"]).is_file(), case["file"]


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_errors_exactly_where_el6_refuses(case):
    for release in releases():
        assert kickgen_errors(case, release) == el6_refusals(case, release), release


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_every_defect_is_named(case):
    reports: dict[str, list] = {}
    missed = []
    for defect in case.get("defects", []):
        if defect.get("detected") is False:
            assert defect.get("why_not"), defect
            continue
        release = defect.get("release", "6.5")
        if release not in reports:
            reports[release] = check_file(CORPUS / case["file"], Options(release=release)).findings
        worst = Severity.NOTE if defect.get("severity") == "note" else Severity.WARNING
        named = [f for f in reports[release] if f.severity <= worst]
        if defect["line"] is not None:
            named = [f for f in named if (Path(f.file).name, f.line) == _key(case, defect)]
        if not named:
            missed.append(defect)
    assert missed == []


def test_defects_kickgen_does_not_name_are_few():
    defects = [d for c in CASES for d in c.get("defects", [])]
    undetected = [d for d in defects if d.get("detected") is False]
    assert len(defects) >= 100 and len(undetected) <= len(defects) // 10
