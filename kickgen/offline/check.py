"""The whole offline check: the kickstart's requests closed over the base media's repodata
plus the embedded repos, before any ISO is written.

`check_offline(kickstart or profile, base_iso, embed)` -> `OfflineCheck`, in stage order:
`collect_embedded` (kickgen.offline.embed), `requested_packages` (kickgen.offline.requests),
`read_iso_repodata` (below: the base media, read-only), `check_closure`
(kickgen.offline.closure), once for the installer's transaction and once with `%post`'s yum.
"""

from __future__ import annotations

import dataclasses
import posixpath
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from kickgen.core.el6 import BASE_REPO, OfflineRepo
from kickgen.core.errors import ProfileError
from kickgen.offline.closure import ClosureReport, Missing, check_closure
from kickgen.offline.embed import EmbeddedRepos, collect_embedded
from kickgen.offline.repodata import RepoMetadata, read_repodata
from kickgen.offline.requests import Requests, installer_forced_requests, requested_packages

if TYPE_CHECKING:
    from kickgen.profile import Profile


def read_iso_repodata(iso_path: Path, *, subdir: str = "", filelists: bool = True) -> RepoMetadata:
    """Read the yum repository at SUBDIR ('' = the root) of the ISO at ISO_PATH, read-only."""
    from kickgen.media.iso import IsoImage  # the one module that speaks pycdlib

    with IsoImage(Path(iso_path)) as image:
        def read(rel: str) -> bytes:
            path = "/" + posixpath.normpath(posixpath.join(subdir, rel)).lstrip("/")
            if not image.exists(path):
                raise FileNotFoundError(path)
            return image.read(path)

        source = f"{iso_path}:/{subdir.strip('/')}" if subdir.strip("/") else str(iso_path)
        return read_repodata(read, source=source, filelists=filelists)


# --- the whole check --------------------------------------------------------------------------


@dataclass(frozen=True)
class OfflineCheck:
    embedded: EmbeddedRepos
    base: RepoMetadata
    requests: Requests
    report: ClosureReport                    # both stages: every missing capability
    repos: tuple[tuple[str, int], ...] = field(default=())   # (repo, package count)
    installer_repos: tuple[str, ...] = ()    # embedded repos the installer's `repo` lines name
    installer_report: ClosureReport | None = None


def check_offline(kickstart: str | Profile, base_iso: Path,
                  embed: Mapping[str, Sequence[Path]] | None = None) -> OfflineCheck:
    """Collect EMBED, read BASE_ISO's repodata and check that the kickstart's requests close.

    KICKSTART is the kickstart text, or a Profile: then its kickstart is rendered and its
    `media.embed` is used, with EMBED's paths added to the repos of the same name.

    Two stages, as anaconda 13.21 installs: the installer's transaction (`%packages`, @core,
    @base, and what the installer forces in: INSTALLER_FORCED) resolved over the base media
    plus only the embedded repos the kickstart's `repo` lines name; then every request with the
    `%post` yum targets over the base media plus all embedded repos (yum in `%post`).
    """
    if isinstance(kickstart, str):
        kickstart_text = kickstart
        embed = dict(embed or {})
    else:
        from kickgen.kickstart.render import render_kickstart

        kickstart_text = render_kickstart(kickstart).text
        merged: dict[str, list[Path]] = {k: list(v) for k, v in kickstart.media.embed.items()}
        for repo, paths in (embed or {}).items():
            merged.setdefault(repo, []).extend(paths)
        embed = merged
    if not embed:
        raise ProfileError("media.embed: nothing is embedded, so there is nothing to check",
                           hint="list RPM folders in media.embed (or give --embed REPO=PATH)")
    embedded = collect_embedded(embed)   # refuses reserved names ('base' is the media's repo)
    requests = requested_packages(kickstart_text)
    by_url = {OfflineRepo(repo.name).media_url.rstrip("/"): repo.name for repo in embedded.repos}
    installer_names = tuple(dict.fromkeys(by_url[url.rstrip("/")] for url in requests.repo_urls
                                          if url.rstrip("/") in by_url))
    forced = installer_forced_requests()
    installer_requests = Requests(
        tuple(r for r in requests.items if r.stage == "installer") + forced, requests.excluded)
    all_requests = Requests(requests.items + forced, requests.excluded)

    def run(filelists: bool) -> tuple[RepoMetadata, ClosureReport, ClosureReport, dict]:
        base = read_iso_repodata(Path(base_iso), filelists=filelists)
        metadata = embedded.metadata()
        installer = check_closure(installer_requests, {
            BASE_REPO: base, **{name: metadata[name] for name in installer_names}})
        repos = {BASE_REPO: base, **metadata}
        return base, installer, check_closure(all_requests, repos), repos

    # primary.xml already lists */bin/* and /etc/* files; the base media's full file lists
    # (a million entries on a DVD, ~10 s to parse) are read only when a file require is unmet.
    base, installer, post, repos = run(filelists=False)
    if any(m.capability.startswith("/") for m in installer.missing + post.missing):
        base, installer, post, repos = run(filelists=True)
    counts = tuple((name, len(meta.packages)) for name, meta in repos.items())
    return OfflineCheck(embedded, base, requests, _merge_stages(installer, post), counts,
                        installer_names, installer)


def _merge_stages(installer: ClosureReport, post: ClosureReport) -> ClosureReport:
    """One report: the installer stage's missing capabilities first (each told as the
    installer's), then those of the %post stage not already listed."""
    seen_by_installer = "the base media and media.installer_repos"
    def told(m: Missing) -> Missing:
        if "in any repository" in m.note:
            return dataclasses.replace(m, note=m.note.replace(
                "in any repository", f"in {seen_by_installer} (all the installer sees)"))
        note = f"the installer sees only {seen_by_installer}"
        return dataclasses.replace(m, note=f"{m.note}; {note}" if m.note else note)
    missing = [told(m) for m in installer.missing]
    seen = {(m.capability, m.needed_by) for m in missing}
    missing += [m for m in post.missing if (m.capability, m.needed_by) not in seen]
    notes = tuple(dict.fromkeys(installer.notes + post.notes))
    return ClosureReport(post.selected, tuple(missing), notes)
