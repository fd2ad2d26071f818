"""`kickgen pin`: the sha256 pins of the RPMs a profile's `%post` downloads, read from files.

The files come from `--from` sources (a folder, searched by file name, or a mirror URL, the
file name appended), else from where the profile itself says: the URLs the online `%post`
fetches, or an offline profile's `media.embed` folders. Each file must be a readable RPM
(digests checked) whose header names what its file name says; its sha256 becomes the pin.
A pin the profile already holds is never replaced by a different one: the file changed.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from kickgen.core.errors import EnvironmentProblem, MediaError, UsageError
from kickgen.offline.rpm import read_rpm
from kickgen.profile import Profile
from kickgen.profile.pins import Download, folder_url, pin_of, pinned_files
from kickgen.profile.search import find_profile

URL_SCHEMES = ("http://", "https://", "ftp://", "file://")
FETCH_TIMEOUT = 60               # seconds per connection attempt
MAX_RPM_BYTES = 2 << 30          # no RPM of the mission comes near this: a bound on a bad server


@dataclass(frozen=True)
class PinnedFile:
    file: str
    sha256: str
    source: str          # where it was read (a path or URL)
    key: str             # the profile key that makes the %post download it


def pin_profile(profile: Profile, sources: Sequence[str] = ()) -> tuple[PinnedFile, ...]:
    """Read each file the profile pins from SOURCES (or the profile's own places) and return
    its pin. Raises MediaError for a file found nowhere, not an RPM, or not the package its
    name says; ProfileError-like UsageError for a pin that would change."""
    wanted = pinned_files(profile)
    if not wanted:
        raise UsageError(f"profile {profile.name} downloads nothing that is pinned "
                         "(aufs_kernel and epel are off, or aufs_kernel.version is null)")
    for source in sources:
        _check_source(source)
    pinned = []
    with tempfile.TemporaryDirectory(prefix="kickgen-pin-") as tmp:
        for download in wanted:
            path, origin = _find(download, list(sources) or _own_sources(profile, download), Path(tmp))
            sha256 = _check_rpm(path, download.file, origin)
            old = pin_of(profile, download.file)
            if old is not None and old != sha256:
                raise MediaError(f"{download.file} from {origin} has sha256 {sha256}, but profile "
                                 f"{profile.name} pins {old}: the file changed",
                                 hint="find out why before you trust it; to pin the new file, remove "
                                      "the old pin from the profile first")
            pinned.append(PinnedFile(download.file, sha256, origin, download.key))
    return tuple(pinned)


def pins_yaml(profile: Profile, pinned: Sequence[PinnedFile]) -> str:
    """The `pins:` list: the new pins, then the profile's pins of other files (kept: a child's
    list replaces its parent's)."""
    new = {p.file for p in pinned}
    lines = ["pins:"]
    for p in pinned:
        lines += [f"  - file: {p.file}            # {p.key}, from {p.source}", f"    sha256: '{p.sha256}'"]
    for pin in profile.pins:
        if pin.file not in new:
            lines += [f"  - file: {pin.file}", f"    sha256: '{pin.sha256}'"]
    return "\n".join(lines) + "\n"


def pinned_profile_text(profile: Profile, ref: str, pinned: Sequence[PinnedFile], output: Path) -> str:
    """A profile that extends PROFILE (as REF named it) with the pins, to be written at OUTPUT."""
    parent = _extends_value(profile, ref, output)
    sources = sorted({p.source for p in pinned})
    return (f"# Written by kickgen pin: the sha256 of each RPM the %post of {profile.name} downloads,\n"
            f"# read from {', '.join(sources)}.\n"
            "# The install stops when a downloaded file differs. Compare these with a copy you\n"
            "# trust (the vendor's signature, another mirror) before relying on them.\n"
            f"extends: {parent}\n" + pins_yaml(profile, pinned))


def _extends_value(profile: Profile, ref: str, output: Path) -> str:
    """REF itself when it is a name that finds the same file from the output's folder, else a
    path to the profile file (relative to that folder when it can be)."""
    source = profile.source.resolve()
    out = output.resolve()
    if source == out:
        raise UsageError(f"-o {output} is the profile being pinned", hint="write the pins into a new profile")
    if "/" not in ref and not ref.endswith((".yaml", ".yml")):
        found = find_profile(ref, beside=out.parent)
        if found is not None and found.resolve() == source:
            return ref
    try:
        return os.path.relpath(source, out.parent)
    except ValueError:
        return str(source)


def _own_sources(profile: Profile, download: Download) -> list[str]:
    """Where the profile itself has the file: the embed folders (offline), else its URL's folder."""
    if profile.media.offline:
        return [str(p) for paths in profile.media.embed.values() for p in paths]
    return [download.url.rsplit("/", 1)[0] + "/"]


def _check_source(source: str) -> None:
    if source.startswith(URL_SCHEMES):
        return
    if "://" in source:
        raise UsageError(f"--from {source}: only http://, https://, ftp:// and file:// URLs, or a folder")
    if not Path(source).is_dir():
        raise UsageError(f"--from {source}: no such folder")


def _find(download: Download, sources: Sequence[str], tmp: Path) -> tuple[Path, str]:
    tried = []
    for source in sources:
        if source.startswith(URL_SCHEMES):
            url = folder_url(source) + download.file
            path = _fetch(url, tmp / download.file)
            if path is not None:
                return path, url
            tried.append(url)
            continue
        folder = Path(source)
        if folder.is_file() and folder.name == download.file:
            return folder, str(folder)
        if not folder.is_dir():
            tried.append(str(folder))
            continue
        direct = folder / download.file
        found = direct if direct.is_file() else next(iter(sorted(folder.rglob(download.file))), None)
        if found is not None and found.is_file():
            return found, str(found)
        tried.append(f"{folder}/**/{download.file}")
    raise MediaError(f"{download.file} ({download.key}) not found: tried {', '.join(tried)}",
                     hint="give the folder or mirror that holds it with --from")


def _fetch(url: str, target: Path) -> Path | None:
    """URL into TARGET; None when the server has no such file (404/410, or no file:// file)."""
    try:
        with urllib.request.urlopen(url, timeout=FETCH_TIMEOUT) as response, open(target, "wb") as out:
            size = 0
            while chunk := response.read(1 << 20):
                size += len(chunk)
                if size > MAX_RPM_BYTES:
                    raise MediaError(f"{url}: more than {MAX_RPM_BYTES >> 30} GiB: not an RPM of this mission")
                out.write(chunk)
    except urllib.error.HTTPError as exc:
        if exc.code in (404, 410):
            return None
        raise MediaError(f"{url}: the server answered {exc.code} {exc.reason}") from None
    except urllib.error.URLError as exc:
        if url.startswith("file://") and isinstance(exc.reason, FileNotFoundError):
            return None
        raise EnvironmentProblem(f"{url}: cannot fetch: {exc.reason}",
                                 hint="is the mirror reachable from here?") from None
    except (OSError, ValueError) as exc:
        raise EnvironmentProblem(f"{url}: cannot fetch: {exc}") from None
    return target


def _check_rpm(path: Path, file: str, origin: str) -> str:
    """The sha256 of the RPM at PATH, after checking it is the package FILE names."""
    try:
        package = read_rpm(path)      # not an RPM, damaged, truncated
    except MediaError as exc:         # named by where it came from, not by the temp copy
        raise MediaError(exc.message.replace(str(path), origin, 1), hint=exc.hint) from None
    says = f"{package.name}-{package.version}-{package.release}.{package.arch}.rpm"
    if says != file:
        raise MediaError(f"{origin}: the RPM inside is {says}, not {file}")
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    if digest.hexdigest() != package.sha256:
        raise MediaError(f"{origin}: changed while being read")
    return package.sha256
