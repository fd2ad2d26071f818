"""Offline media: RPM folders embedded in the ISO, their yum metadata, and the proof, before
building, that the base media plus the embedded repos close the kickstart's package set.

Public entry points: `embedded_repos_for(profile) -> EmbeddedRepos | None` (what the remaster
adds) and `check_offline(kickstart or profile, base_iso, embed) -> OfflineCheck`. Modules:
`rpm` (RPM headers), `repodata` (yum metadata, written with createrepo_c), `embed` (the
embedded repos planned for the ISO), `requests` (what a kickstart installs), `closure`
(repoclosure-style resolution), `check` (the whole check).
"""

from kickgen.offline.check import OfflineCheck, check_offline
from kickgen.offline.closure import ClosureReport, Missing
from kickgen.offline.embed import EmbeddedRepos, embedded_repos_for

__all__ = ["ClosureReport", "EmbeddedRepos", "Missing", "OfflineCheck", "check_offline",
           "embedded_repos_for"]
