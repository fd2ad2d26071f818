"""Kickstarts: a Profile -> EL6 kickstart text (Jinja2 templates), and the checks a kickstart
must pass (pykickstart, shellcheck, EL6 rules).

Public entry points: `render_kickstart(profile, *, salt, media_label) -> Kickstart`,
`reproducible_salt(profile)` (the salt that makes the output depend on the profile only) and
`validate_kickstart(text, source)`.
"""

from kickgen.kickstart.render import Kickstart, render_kickstart, reproducible_salt
from kickgen.kickstart.validate import validate_kickstart

__all__ = ["Kickstart", "render_kickstart", "reproducible_salt", "validate_kickstart"]
