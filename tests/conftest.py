"""Shared pytest fixtures. Each part adds its own section; big fixtures are built once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

# Fixture modules shared by several test modules, registered once here so that each session
# fixture is built once per run. Test modules import only their plain helpers from them: a
# fixture imported by name into a module becomes that module's own copy, built again there.
pytest_plugins = ["offline_fixtures", "remaster_fixtures"]


# --- stand-in media (kickgen/standin/builder.py) -------------------------------------------------------

@pytest.fixture(scope="session")
def standin_dvd() -> Path:
    """Stand-in CentOS 6.5 DVD (BIOS + UEFI, hybrid), built once and cached under build/standin/.

    The file is shared: never write to it (copy it, or make variants with xorriso -outdev)."""
    from kickgen.standin.builder import build_standin

    return build_standin("dvd")


@pytest.fixture(scope="session")
def standin_minimal() -> Path:
    """Stand-in CentOS 6.5 minimal ISO (BIOS only, hybrid MBR), cached under build/standin/ (read-only)."""
    from kickgen.standin.builder import build_standin

    return build_standin("minimal")

