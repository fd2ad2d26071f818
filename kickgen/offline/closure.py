"""Dependency closure as repoclosure (and yum) resolve it: `check_closure(requests, repos)`
lists each missing capability with the package that needs it.

Every requested name/group/`yum install` target must exist and every `requires` of every
package pulled in must be met by a package yum would install (the newest of its name.arch).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass

from kickgen.core.errors import ValidationError
from kickgen.offline.repodata import CompsGroup, RepoMetadata
from kickgen.offline.requests import Requests
from kickgen.offline.rpm import Capability, RpmPackage, compare_evr, satisfies

# yum prefers these for a name without an arch on an x86_64 system (multilib: i686 is extra).
ARCH_ORDER = ("x86_64", "noarch", "i686", "i586", "i486", "i386")


@dataclass(frozen=True)
class Missing:
    capability: str
    needed_by: str           # a package NEVRA, or where the kickstart asks for it
    repo: str | None = None  # the repo of the package that needs it
    note: str = ""

    def __str__(self) -> str:
        where = f" from repo '{self.repo}'" if self.repo else ""
        note = f"; {self.note}" if self.note else ""
        return f"{self.capability} (needed by {self.needed_by}{where}{note})"


@dataclass(frozen=True)
class ClosureReport:
    selected: tuple[tuple[str, str], ...]     # (NEVRA, repo), sorted
    missing: tuple[Missing, ...]
    notes: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.missing

    def require_complete(self) -> None:
        """Raise ValidationError listing every missing capability, if any."""
        if self.missing:
            count = len(self.missing)
            raise ValidationError(
                f"offline package set incomplete: {count} missing "
                f"capabilit{'y' if count == 1 else 'ies'}, first: {self.missing[0]}",
                problems=[str(m) for m in self.missing],
                hint="add the RPMs that provide them to media.embed "
                     "(kickgen check-offline lists them all)")


@dataclass(frozen=True)
class _Entry:
    repo: str
    package: RpmPackage
    order: int                # repo order, then position: ties go to the first listed


class _Index:
    """All packages of all repos, with provides and file lookups, and yum's 'newest wins'."""

    def __init__(self, repos: Mapping[str, RepoMetadata]):
        self.entries: list[_Entry] = []
        self.by_name: dict[str, list[_Entry]] = {}
        self.by_provide: dict[str, list[tuple[_Entry, Capability]]] = {}
        self.by_file: dict[str, list[_Entry]] = {}
        self.groups: dict[str, tuple[str, CompsGroup]] = {}
        for repo, metadata in repos.items():
            for package in metadata.packages:
                if package.arch == "src":
                    continue
                entry = _Entry(repo, package, len(self.entries))
                self.entries.append(entry)
                self.by_name.setdefault(package.name, []).append(entry)
                own = Capability(package.name, "EQ", package.epoch, package.version,
                                 package.release)
                for cap in (own, *package.provides):
                    self.by_provide.setdefault(cap.name, []).append((entry, cap))
                for item in package.files:
                    self.by_file.setdefault(item.path, []).append(entry)
            for group in metadata.groups:
                for key in (group.id.lower(), group.name.lower()):
                    self.groups.setdefault(key, (repo, group))
        # yum installs the newest EVR of each name.arch across all enabled repos
        self.newest: dict[tuple[str, str], _Entry] = {}
        for entry in self.entries:
            name_arch = (entry.package.name, entry.package.arch)
            best = self.newest.get(name_arch)
            if best is None or compare_evr(entry.package.evr, best.package.evr) > 0:
                self.newest[name_arch] = entry

    def is_newest(self, entry: _Entry) -> bool:
        return self.newest[(entry.package.name, entry.package.arch)] is entry

    def providers(self, require: Capability) -> list[_Entry]:
        found = [entry for entry, cap in self.by_provide.get(require.name, ())
                 if satisfies(cap, require)]
        if require.is_file:
            found += self.by_file.get(require.name, ())
        unique = {entry.order: entry for entry in found}
        return [unique[key] for key in sorted(unique)]

    def match_target(self, target: str) -> list[_Entry]:
        """yum's matching of an install argument: name, name.arch, name-ver[-rel][.arch],
        globs of those, then provides and file paths."""
        if any(c in target for c in "*?["):
            found = [e for e in self.entries if any(fnmatch.fnmatchcase(form, target)
                                                   for form in _target_forms(e.package))]
        else:
            found = list(self.by_name.get(target, ()))
            if not found:  # name.arch, name-version, name-version-release[.arch], epoch:...
                names = {target.split(":", 1)[-1].rsplit(sep, cut)[0]
                         for sep, cut in ((".", 1), ("-", 1), ("-", 2))}
                found = [e for name in sorted(names) for e in self.by_name.get(name, ())
                         if target in _target_forms(e.package)]
        if not found:
            found = self.providers(Capability(target))
        return found


def _target_forms(p: RpmPackage) -> tuple[str, ...]:
    return (p.name, f"{p.name}.{p.arch}", f"{p.name}-{p.version}",
            f"{p.name}-{p.version}-{p.release}", f"{p.name}-{p.version}-{p.release}.{p.arch}",
            f"{p.epoch}:{p.name}-{p.version}-{p.release}.{p.arch}")


def _arch_rank(arch: str, wanted: str | None = None) -> int:
    if wanted and arch in (wanted, "noarch"):
        return -1
    return ARCH_ORDER.index(arch) if arch in ARCH_ORDER else len(ARCH_ORDER)


def check_closure(requests: Requests, repos: Mapping[str, RepoMetadata]) -> ClosureReport:
    """Resolve REQUESTS over REPOS (name -> metadata, in priority order) like repoclosure.

    Every requested name/group/`yum install` target must exist and every `requires` of every
    package pulled in must be met by a package that yum would install (the newest of its
    name.arch). rpmlib() requires are ignored; conflicts/obsoletes are not checked.
    """
    index = _Index(repos)
    selected: dict[tuple[str, str], _Entry] = {}
    queue: list[_Entry] = []
    missing: list[Missing] = []
    notes: list[str] = []

    def excluded(name: str) -> bool:
        return any(fnmatch.fnmatchcase(name, pattern) for pattern in requests.excluded)

    def select(entry: _Entry) -> None:
        key = (entry.package.name, entry.package.arch)
        if key not in selected:
            selected[key] = entry
            queue.append(entry)

    def select_name(name: str, *, from_group: bool) -> bool:
        """Install the best arch of the newest version of NAME (or what it provides)."""
        candidates = [e for e in index.match_target(name)
                      if not (from_group and excluded(e.package.name))]
        if not candidates:
            return False
        pinned = any(_pinned(name, e.package) for e in candidates)
        by_name: dict[str, list[_Entry]] = {}
        for entry in candidates:
            by_name.setdefault(entry.package.name, []).append(entry)
        for entries in by_name.values():
            usable = entries if pinned else [e for e in entries if index.is_newest(e)] or entries
            best_arch = min(_arch_rank(e.package.arch) for e in usable)
            for entry in usable:
                if _arch_rank(entry.package.arch) == best_arch:
                    select(entry)
                    break
        return True

    for request in requests.items:
        if request.kind == "url":
            missing.append(Missing(request.target, request.origin,
                                   note="a download needs the network: embed the RPM instead"))
        elif request.kind == "unresolved":
            notes.append(f"not checked: '{request.target}' ({request.origin}) is a shell expansion")
        elif request.kind == "group":
            found = index.groups.get(request.target.lower())
            if found is None:
                if request.implicit:
                    notes.append(f"group @{request.target} is in no repository's comps "
                                 f"({request.origin}); not checked")
                else:
                    missing.append(Missing(f"@{request.target}", request.origin,
                                           note="no repository's comps file has this group"))
                continue
            _, group = found
            members = group.mandatory + group.default
            if request.all_members:
                members += group.optional
            absent = [name for name in members
                      if not excluded(name) and not select_name(name, from_group=True)]
            if absent:
                # yum and anaconda skip group members that no repository has
                notes.append(f"@{group.id}: {len(absent)} member(s) in no repository, skipped as "
                             f"yum does: {', '.join(absent[:8])}{' ...' if len(absent) > 8 else ''}")
        elif not select_name(request.target, from_group=False):
            missing.append(Missing(request.target, request.origin,
                                   note="no package or provide of that name in any repository"))

    while queue:
        entry = queue.pop(0)
        for require in entry.package.requires:
            if require.is_rpmlib or _met_by_selected(index, selected, require):
                continue
            providers = index.providers(require)
            installable = [p for p in providers if index.is_newest(p)
                           or selected.get((p.package.name, p.package.arch)) is p]
            if installable:
                select(min(installable, key=lambda p: _provider_rank(p, require, entry)))
                continue
            note = ""
            if providers:
                shadow = providers[0].package
                newest = index.newest[(shadow.name, shadow.arch)].package
                note = (f"{shadow.nevra} would, but yum installs the newest "
                        f"{newest.nevra} instead")
            missing.append(Missing(str(require), entry.package.nevra, entry.repo, note))

    chosen = tuple(sorted((e.package.nevra, e.repo) for e in selected.values()))
    return ClosureReport(chosen, tuple(dict.fromkeys(missing)), tuple(notes))


def _pinned(target: str, package: RpmPackage) -> bool:
    """Does TARGET name a version (e.g. docker-io-1.7.1-2.el6), not just the name?"""
    return target not in (package.name, f"{package.name}.{package.arch}") and any(
        fnmatch.fnmatchcase(form, target) for form in _target_forms(package)[2:])


def _met_by_selected(index: _Index, selected: Mapping[tuple[str, str], _Entry],
                     require: Capability) -> bool:
    return any(selected.get((p.package.name, p.package.arch)) is p
               for p in index.providers(require))


def _provider_rank(entry: _Entry, require: Capability, needed_by: _Entry) -> tuple:
    """yum's preferences among providers: the capability's own name, the same arch,
    the shortest name, then the first repo."""
    package = entry.package
    return (package.name != require.name, _arch_rank(package.arch, needed_by.package.arch),
            len(package.name), entry.order)
