"""The host's newest kernel: the one choice of which /boot/vmlinuz-<release> to boot.

The stand-in media and the KVM probe ISO both boot the host's Debian kernel. "Newest" is rpm's
version comparison of the release (kickgen.core.versions), so 6.1.0-10-amd64 comes after
6.1.0-9-amd64 (a plain string sort puts it first).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kickgen.core.errors import EnvironmentProblem
from kickgen.core.versions import version_key

BOOT = Path("/boot")
MODULES = Path("/lib/modules")
KERNEL_HINT = "install the Debian package linux-image-amd64"


@dataclass(frozen=True)
class HostKernel:
    release: str            # e.g. 6.1.0-10-amd64 (the name after vmlinuz-, `uname -r` style)
    path: Path              # /boot/vmlinuz-<release>

    @property
    def modules_dir(self) -> Path:
        return MODULES / self.release


def newest_release(releases: list[str]) -> str:
    """The newest of several kernel releases (ValueError for none)."""
    return max(releases, key=lambda r: (version_key(r), r))


def newest_kernel(boot: Path = BOOT, modules: Path = MODULES) -> HostKernel:
    """The newest /boot/vmlinuz-<release> that has its modules (<modules>/<release>/modules.dep)."""
    found = {p.name.removeprefix("vmlinuz-"): p for p in boot.glob("vmlinuz-*")
             if (modules / p.name.removeprefix("vmlinuz-") / "modules.dep").is_file()}
    if not found:
        raise EnvironmentProblem(f"no kernel with modules found ({boot}/vmlinuz-* with "
                                 f"{modules}/<release>/modules.dep)", hint=KERNEL_HINT)
    release = newest_release(list(found))
    return HostKernel(release, found[release])
