"""Error kinds. Only cli.py catches them: it prints one line (plus the hint) and sets the exit code.

Exit codes: 1 for a failure of the thing checked (bad profile, invalid kickstart, failed
boot test), 2 for a usage or environment error (bad arguments, missing tool, no libvirtd).
"""

from __future__ import annotations


class KickgenError(Exception):
    """Base error: a one-line message for the user, an optional hint saying what to do next."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class UsageError(KickgenError):
    """The caller asked for something that cannot be done as asked (bad option, OUT equal to BASE)."""

    exit_code = 2


class EnvironmentProblem(KickgenError):
    """The machine lacks something: a tool, a service, permission, free space."""

    exit_code = 2


class ProfileError(KickgenError):
    """A profile (YAML) is wrong. The message starts with file:line:col: key.path."""


class TemplateError(KickgenError):
    """A template failed to render (undefined variable, syntax). Names template and line."""


class ValidationError(KickgenError):
    """A rendered kickstart broke pykickstart, shellcheck or one of our EL6 rules."""

    def __init__(self, message: str, *, problems: list[str] | None = None, hint: str | None = None):
        super().__init__(message, hint=hint)
        self.problems = list(problems or [])


class MediaError(KickgenError):
    """An input ISO is unusable: not an ISO, no El Torito, unexpected layout."""


class HarnessError(KickgenError):
    """A boot test could not be run or failed to install/boot (distinct from failed assertions)."""


class InternalError(KickgenError):
    """A bug in kickgen: something that should not happen whatever the input."""
