"""Judging a boot test: assertions from `profile.expect`, the verdict line, JUnit XML.

Each assertion carries the expected and the actual value so a failure reads on its own,
e.g. `docker_running: expected docker running, got docker not running (service docker status rc=3)`.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass

from kickgen.vm.console import BootReport


@dataclass(frozen=True)
class Assertion:
    name: str
    expected: str
    actual: str
    passed: bool

    def describe(self) -> str:
        mark = "ok" if self.passed else "FAILED"
        return f"{self.name}: {mark}: expected {self.expected}, got {self.actual}"


def check_expectations(expect, report: BootReport, *, profile_name: str,
                       ks_sha256: str | None = None,
                       allow_unsigned: tuple[str, ...] = ()) -> tuple[Assertion, ...]:
    """One Assertion per expectation that is set (None = not checked), plus the report's identity
    and, when the report lists the enabled yum repos, that the installed system trusts none it
    should not (`allow_unsigned`: repo ids the profile lets stay enabled without gpgcheck)."""
    checks = [Assertion("profile", repr(profile_name), repr(report.profile), report.profile == profile_name)]
    repos = report.raw.get("repos")
    if isinstance(repos, list):
        checks.append(_repos_trusted(repos, allow_unsigned))
    if ks_sha256 is not None:
        checks.append(Assertion("ks_sha256", ks_sha256, report.ks_sha256 or "(empty)",
                                report.ks_sha256 == ks_sha256))
    if expect.kernel_release is not None:
        checks.append(Assertion("kernel_release", f"a release matching /{expect.kernel_release}/",
                                repr(report.kernel_release),
                                re.search(expect.kernel_release, report.kernel_release) is not None))
    if expect.aufs is not None:
        def aufs_text(present: bool) -> str:
            return "aufs in /proc/filesystems" if present else "no aufs"
        checks.append(Assertion("aufs", aufs_text(expect.aufs), aufs_text(report.aufs),
                                report.aufs == expect.aufs))
    if expect.docker_running is not None:
        def docker_text(running: bool) -> str:
            return "docker running" if running else "docker not running"
        checks.append(Assertion("docker_running", docker_text(expect.docker_running),
                                f"{docker_text(report.docker_running)} "
                                f"(service docker status rc={report.docker_status_rc})",
                                report.docker_running == expect.docker_running))
    if expect.storage_driver is not None:
        actual = report.storage_driver
        checks.append(Assertion("storage_driver", f"Storage Driver: {expect.storage_driver}",
                                f"Storage Driver: {actual}" if actual else "no 'Storage Driver:' in docker info",
                                actual == expect.storage_driver))
    if expect.default_entry is not None:
        checks.append(Assertion("default_entry", f"a default grub entry matching /{expect.default_entry}/",
                                repr(report.default_entry_title),
                                re.search(expect.default_entry, report.default_entry_title) is not None))
    return tuple(checks)


def _repos_trusted(repos: list, allow_unsigned: tuple[str, ...]) -> Assertion:
    """Every enabled repo checks package signatures (or is allowed by name) and none is a
    mirrorlist (the stock EL6 mirrorlists are dead: the first `yum` would fail)."""
    unsigned, mirrorlists = [], []
    for repo in repos:
        repo_id = str(repo.get("id", "?")) if isinstance(repo, dict) else "?"
        gpgcheck = repo.get("gpgcheck") if isinstance(repo, dict) else None
        if gpgcheck not in (True, 1, "1", "yes", "true", "True") and repo_id not in allow_unsigned:
            unsigned.append(repo_id)
        if isinstance(repo, dict) and repo.get("mirrorlist"):
            mirrorlists.append(repo_id)
    problems = ([f"unsigned: {', '.join(unsigned)}"] if unsigned else []) + \
               ([f"mirrorlist: {', '.join(mirrorlists)}"] if mirrorlists else [])
    actual = "; ".join(problems) or f"{len(repos)} enabled, all signed or allowed"
    return Assertion("repos_trusted", "every enabled repo with gpgcheck=1 (or in repos.allow_unsigned) "
                     "and no mirrorlist", actual, not problems)


# --- JUnit ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class JUnitCase:
    classname: str
    name: str
    seconds: float
    failure: str | None = None      # one line; None = passed
    details: str = ""               # log lines etc. for the failure body
    skipped: str | None = None


def junit_xml(suites: Sequence[tuple[str, Sequence[JUnitCase]]]) -> str:
    """A <testsuites> document, one <testsuite> per (name, cases)."""
    root = ET.Element("testsuites")
    for suite_name, cases in suites:
        suite = ET.SubElement(root, "testsuite", name=suite_name, tests=str(len(cases)),
                              failures=str(sum(1 for c in cases if c.failure)),
                              skipped=str(sum(1 for c in cases if c.skipped)),
                              time=f"{sum(c.seconds for c in cases):.1f}")
        for case in cases:
            element = ET.SubElement(suite, "testcase", classname=case.classname, name=case.name,
                                    time=f"{case.seconds:.1f}")
            if case.failure:
                failure = ET.SubElement(element, "failure", message=case.failure)
                failure.text = case.details or case.failure
            elif case.skipped:
                ET.SubElement(element, "skipped", message=case.skipped)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
