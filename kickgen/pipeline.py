"""Profile -> install media: the stages `kickgen iso` (and the nightly matrix) run, in order.

  render the kickstart (or take a ready one) -> validate it -> gather the extra files
  (profile `media.add`, `--add`, embedded offline repos) -> prove offline media complete
  -> remaster the base ISO.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

from .errors import UsageError
from .profile import Profile
from .remaster import ExtraFile, Progress, RemasterRequest, RemasterResult, remaster
from .render import render_kickstart
from .validate import validate_kickstart


def kickstart_for(profile: Profile, media_label: str | None = None) -> str:
    """The profile's kickstart with a salt derived from the profile: the same profile gives the
    same bytes, so a remastered ISO is reproducible (no random salt at remaster time).
    `media_label`: the volume ID of the media it goes on (its %pre must not pick that disk)."""
    salt = hashlib.sha256(repr(profile).encode()).hexdigest()[:16]
    return render_kickstart(profile, salt=salt, media_label=media_label).text


def _volume_id_of(iso: Path) -> str | None:
    """The volume ID in ISO's primary volume descriptor (sector 16), or None when it has none.
    Read directly: parsing the whole image for 32 bytes would cost a second on a DVD."""
    try:
        with open(iso, "rb") as stream:
            stream.seek(16 * 2048)
            pvd = stream.read(72)
    except OSError:
        return None            # the remaster reports the base's problem with its own message
    if pvd[:6] != b"\x01CD001":
        return None
    return pvd[40:72].decode("ascii", "replace").rstrip(" \x00") or None


def parse_add(item: str) -> ExtraFile:
    """`--add SRC:ISO_PATH` -> ExtraFile."""
    src, sep, dest = item.rpartition(":")
    if not sep or not src or not dest.startswith("/"):
        raise UsageError(f"--add {item}: expected SRC:ISO_PATH with an absolute ISO_PATH, "
                         "e.g. files/a.rpm:/extra/a.rpm")
    return ExtraFile(Path(src), dest)


def build_media(profile: Profile, base: Path, output: Path, *, kickstart: str | None = None,
                kickstart_source: str | None = None, add: Sequence[ExtraFile] = (),
                offline_check: bool = True,
                progress: Progress | None = None) -> RemasterResult:
    """Remaster BASE into OUTPUT so it installs PROFILE unattended (or KICKSTART, when given)."""
    label = profile.media.volume_id or _volume_id_of(Path(base))
    text = kickstart if kickstart is not None else kickstart_for(profile, label)
    validate_kickstart(text, kickstart_source or f"{profile.name} (rendered)")
    extras = [ExtraFile(m.src if Path(m.src).is_absolute() else profile.source.parent / m.src, m.dest)
              for m in profile.media.add]
    extras += add
    embedded = None
    if profile.media.embed:                  # offline media: RPMs + repodata under /kickgen/
        from .offline import embedded_repos_for   # RPM readers: only when needed

        embedded = embedded_repos_for(profile)
    if embedded is not None:
        extras += [ExtraFile(f.src, f.iso_path) for f in embedded.files]
    if profile.media.offline and offline_check:
        # Offline media must install with what it carries: prove it before writing anything.
        from .offline import check_offline

        check_offline(text, Path(base), profile.media.embed).report.require_complete()
    request = RemasterRequest(
        base=Path(base), output=Path(output), kickstart=text.encode(), profile_name=profile.name,
        boot_label=profile.boot.label, boot_args=tuple(profile.boot.args),
        boot_timeout=profile.boot.timeout, boot_default=profile.boot.default,
        volume_id=profile.media.volume_id, extra_files=tuple(extras),
        embedded=tuple(e.as_dict() for e in embedded.manifest) if embedded else ())
    return remaster(request, progress)
