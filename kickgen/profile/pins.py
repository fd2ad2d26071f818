"""The RPMs kickgen's `%post` downloads, and the profile's sha256 pins for them.

One place says which files the online kickstart fetches (the templates build the same URLs; a
test holds them together): `kickgen pin` fills the pins from these, the profile rules check them,
and the offline check holds embedded RPMs of a pinned name to their pin.
"""

from __future__ import annotations

from dataclasses import dataclass

from kickgen.profile.schema import Profile

# The mission's kernel is built for one architecture.
KERNEL_ARCH = "x86_64"


@dataclass(frozen=True)
class Download:
    file: str    # the RPM's file name: the pin's key
    url: str     # where the %post fetches it
    key: str     # the profile key that makes the %post fetch it


def url_file_name(url: str) -> str:
    """The last part of a URL's path (`.../epel-release-6-8.noarch.rpm` -> the file name)."""
    return url.split("?", 1)[0].split("#", 1)[0].rstrip("/").rsplit("/", 1)[-1]


def folder_url(url: str) -> str:
    return url if url.endswith("/") else url + "/"


def pinned_downloads(profile: Profile) -> tuple[Download, ...]:
    """What the online kickstart downloads and installs only when pinned. Offline: nothing
    (the RPMs travel on the media; `kickgen iso` holds embedded RPMs of a pinned name to
    their pin)."""
    return () if profile.media.offline else pinned_files(profile)


def pinned_files(profile: Profile) -> tuple[Download, ...]:
    """The RPMs the profile pins, online or offline (`kickgen pin` fills these): the aufs
    kernel (and -devel) when its version is given, and epel-release; with the URLs the online
    %post would fetch them from."""
    found: list[Download] = []
    kernel = profile.aufs_kernel
    if kernel.enabled and kernel.version:
        names = [kernel.package] + ([f"{kernel.package}-devel"] if kernel.devel else [])
        for name in names:
            file = f"{name}-{kernel.version}.{KERNEL_ARCH}.rpm"
            found.append(Download(file, folder_url(kernel.repo_url) + file, "aufs_kernel"))
    if profile.epel.enabled:
        found.append(Download(url_file_name(profile.epel.release_rpm_url), profile.epel.release_rpm_url,
                              "epel.release_rpm_url"))
    return tuple(found)


def pin_of(profile: Profile, file: str) -> str | None:
    """The sha256 the profile pins for FILE, or None."""
    return next((pin.sha256 for pin in profile.pins if pin.file == file), None)


def missing_pins(profile: Profile) -> tuple[Download, ...]:
    """Downloads the profile holds no pin for: the install stops at them."""
    return tuple(d for d in pinned_downloads(profile) if pin_of(profile, d.file) is None)
