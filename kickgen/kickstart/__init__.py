"""Kickstarts: a Profile -> EL6 kickstart text (Jinja2 templates), and the checks a kickstart
must pass (kickgen.kickstart.validate: as the EL6 installer reads it).

Public entry points: `render_kickstart(profile, *, salt, media_label) -> Kickstart`,
`reproducible_salt(profile)` (the salt that makes the output depend on the profile only) and
`validate_kickstart(text, source)`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kickgen.kickstart.render import Kickstart, render_kickstart, reproducible_salt
    from kickgen.kickstart.validate import validate_kickstart

__all__ = ["Kickstart", "render_kickstart", "reproducible_salt", "validate_kickstart"]


def __getattr__(name: str) -> Any:
    # Imported on first use: `kickgen validate --ks` needs neither Jinja2 nor the profile loader.
    if name in ("Kickstart", "render_kickstart", "reproducible_salt"):
        from kickgen.kickstart import render

        return getattr(render, name)
    if name == "validate_kickstart":
        from kickgen.kickstart.validate import validate_kickstart

        return validate_kickstart
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
