"""SOURCE_DATE_EPOCH: the one reading of the reproducible-builds timestamp.

https://reproducible-builds.org/specs/source-date-epoch/ : a whole number of seconds since
the epoch, in ASCII decimal digits. Unset or empty means "no fixed time": the caller's
default applies. Anything else is refused, never guessed at.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from kickgen.core.errors import UsageError

VARIABLE = "SOURCE_DATE_EPOCH"


def source_date_epoch(default: int, environ: Mapping[str, str] | None = None) -> int:
    """$SOURCE_DATE_EPOCH as seconds, or `default` when it is unset or empty."""
    raw = (os.environ if environ is None else environ).get(VARIABLE, "")
    if raw == "":
        return default
    # str.isdigit() would take "²" or "٣"; the spec says ASCII digits. No sign, no blanks.
    if not (raw.isascii() and raw.isdigit()):
        raise UsageError(f"{VARIABLE}={raw!r} is not a number of seconds since 1970 (digits only)",
                         hint=f"unset {VARIABLE} or give digits only, e.g. {VARIABLE}=1385726532")
    return int(raw)
