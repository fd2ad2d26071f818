"""`kickgen netboot`: an inventory + a base ISO -> a netboot tree for standard servers (layout:
kickgen.netboot.layout), reproducible, with a manifest.

    load the inventory and each host's profile (with the server's URLs) -> refuse missing pins
    -> render and validate each kickstart (strict, as `kickgen render`) -> read the ISO's
    installer (images/pxeboot/), grub EFI binary and, with extract_tree, its whole tree ->
    write everything into a temp folder beside DIR -> fixed mtimes -> rename into place.

Nothing is written until every host passed; a failure leaves nothing behind (the temp folder
is removed), and the base ISO is only read. DIR is a new name, or a tree an earlier `kickgen
netboot` made: then its entries (kickgen-netboot.json, tftp/, http/, servers/) are replaced,
and what else it holds (kickgen serve's state) stays.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from kickgen import __version__
from kickgen.core.atomic import json_text
from kickgen.core.errors import EnvironmentProblem, MediaError, ProfileError, UsageError, ValidationError
from kickgen.core.outputs import ALL_READ_WRITE, KICKSTART_MODE, check_output, file_mode, is_disk_error, write_problem
from kickgen.core.reproducible import source_date_epoch
from kickgen.kickstart.render import render_kickstart, reproducible_salt
from kickgen.kickstart.validate import validate_kickstart
from kickgen.media import fatimage
from kickgen.media.blockcopy import CopyJob
from kickgen.media.iso import IsoImage, TreeEntry
from kickgen.media.layout import efi_image_file, find_boot_layout
from kickgen.netboot import bootfiles, layout, servers
from kickgen.netboot.inventory import Host, Inventory, host_profile, load_inventory
from kickgen.profile import Profile
from kickgen.profile.pins import missing_pins

Progress = Callable[[str], None]            # one line saying what was done
ENTRIES = (layout.TFTP, layout.HTTP, layout.SERVERS, layout.MANIFEST)   # what a build owns in DIR
HASH_READ = 1 << 20


@dataclass(frozen=True)
class NetbootHost:
    name: str
    mac: str
    profile: str
    address: str | None
    kickstart: str                          # below DIR: http/hosts/<name>/ks.cfg
    kickstart_sha256: str
    kernel_args: str                        # the BIOS entry's (the UEFI one: ksdevice=<mac>)
    pxelinux_config: str                    # below DIR
    efi_config: str | None                  # below DIR; None when the ISO has no grub EFI binary


@dataclass(frozen=True)
class NetbootTree:
    path: Path                              # DIR, absolute
    manifest: Path
    server_url: str
    tree: str                               # "iso" | "extracted"
    efi: bool                               # UEFI PXE files written (the ISO has a grub EFI binary)
    hosts: tuple[NetbootHost, ...]
    files: int
    size: int
    seconds: float


@dataclass(frozen=True)
class _Prepared:
    host: Host
    profile: Profile
    text: str
    sha256: str
    target: bootfiles.BootTarget


def build_netboot(inventory_path: str | os.PathLike, base_iso: str | os.PathLike, out_dir: str | os.PathLike,
                  server_url: str = layout.DEFAULT_SERVER_URL, *, extract_tree: bool = False,
                  progress: Progress | None = None) -> NetbootTree:
    """Write the netboot tree for INVENTORY_PATH's hosts from BASE_ISO into OUT_DIR (see the module docstring)."""
    started = time.monotonic()
    say = progress or (lambda _line: None)
    server = layout.check_server_url(server_url)
    base = Path(base_iso).absolute()
    out = Path(out_dir).absolute()
    if not base.is_file():
        raise MediaError(f"{base_iso}: no such ISO file")
    inventory = load_inventory(inventory_path)
    say(f"inventory {inventory.path}: {len(inventory.hosts)} host{'s' if len(inventory.hosts) != 1 else ''}")
    profiles = _host_profiles(inventory, server)
    inputs = [("the base ISO", base), ("the inventory", inventory.path)]
    inputs += [("a profile file", f) for p in profiles for f in p.files]
    _check_out_dir(out, inputs)
    servers.conf_path(out)
    with IsoImage(base) as image:
        volume_id = image.volume_id
        epoch = source_date_epoch(image.creation_epoch)
        prepared = _kickstarts(inventory, profiles, server, volume_id, say)
        entries = image.walk()
        staging = _staging_dir(out)
        try:
            writer = _Writer(staging)
            efi_source = _boot_files(writer, image, entries, prepared, server, say)
            if extract_tree:
                _extract(writer, image, entries, say)
            _server_files(writer, out, prepared, server, efi=efi_source is not None, extracted=extract_tree)
            hosts = tuple(_host_record(p, efi_source is not None) for p in prepared)
            say("sha256 of the base ISO")
            manifest = _manifest(server, base, volume_id, inventory, extract_tree, efi_source, prepared, hosts,
                                 writer)
            writer.text(layout.MANIFEST, json_text(manifest))
            writer.fix_times(epoch)
            _publish(staging, out)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    return NetbootTree(path=out, manifest=out / layout.MANIFEST, server_url=server,
                       tree="extracted" if extract_tree else "iso", efi=efi_source is not None, hosts=hosts,
                       files=len(writer.files), size=sum(size for size, _ in writer.files.values()),
                       seconds=time.monotonic() - started)


# --- hosts ---------------------------------------------------------------------------------------

def _host_profiles(inventory: Inventory, server: str) -> list[Profile]:
    """Each host's profile with its URLs; every problem of every host reported together. A
    profile whose %post would stop at an unpinned download is refused, as `kickgen iso` refuses
    to build its media (kickgen.pipeline._require_pins)."""
    lines: list[str] = []
    profiles: list[Profile] = []
    for host in inventory.hosts:
        try:
            profile = host_profile(host, server)
        except ProfileError as exc:
            lines += exc.message.splitlines()
            continue
        missing = missing_pins(profile)
        if missing:
            lines.append(f"{host.mark('profile').text()}: {host.label}: profile {profile.name} has no sha256 pin "
                         f"for {', '.join(d.file for d in missing)}: the install would stop before installing it")
        profiles.append(profile)
    if lines:
        hint = ("fill the pins from your mirror: kickgen pin PROFILE --from MIRROR -o site.yaml, then name "
                "site.yaml as the host's profile") if any("no sha256 pin" in line for line in lines) else None
        raise ProfileError("\n".join(dict.fromkeys(lines)), hint=hint)
    return profiles


def _kickstarts(inventory: Inventory, profiles: list[Profile], server: str, volume_id: str,
                say: Progress) -> list[_Prepared]:
    """Each host's kickstart; the findings of every host that fails validation reported together."""
    prepared: list[_Prepared] = []
    lines: list[str] = []
    for host, profile in zip(inventory.hosts, profiles, strict=True):
        try:
            prepared.append(_kickstart(host, profile, server, volume_id, say))
        except ValidationError as exc:
            lines += [f"{host.where.text()}: {host.label}: its kickstart (profile {profile.name}) fails validation: "
                      f"{finding}" for finding in exc.problems or exc.message.splitlines()[:1]]
    if lines:
        raise ValidationError("\n".join(lines), problems=lines,
                              hint="fix the profile or the host's set: (kickgen validate PROFILE --set KEY=VALUE "
                                   "judges a profile's kickstart)")
    return prepared


def _kickstart(host: Host, profile: Profile, server: str, volume_id: str, say: Progress) -> _Prepared:
    """The host's kickstart, rendered as `kickgen render` does and validated strictly (as it does)."""
    salt = reproducible_salt(profile, media_label=volume_id)
    text = render_kickstart(profile, salt=salt, media_label=volume_id).text
    validate_kickstart(text, layout.kickstart_path(host.name), strict=True)
    static = host.static
    args = bootfiles.installer_args(profile.boot.args, server, host.name,
                                    address=static.address if static else None,
                                    netmask=static.netmask if static else None,
                                    gateway=static.gateway if static else None, dns=static.dns if static else ())
    sha = hashlib.sha256(text.encode("utf-8")).hexdigest()
    say(f"{host.name}: kickstart from profile {profile.name} validated (sha256 {sha[:16]}...)")
    return _Prepared(host, profile, text, sha, bootfiles.BootTarget(host.name, profile.name, host.mac, args))


def _host_record(p: _Prepared, efi: bool) -> NetbootHost:
    address = p.host.address
    return NetbootHost(name=p.host.name, mac=p.host.mac, profile=p.profile.name, address=address,
                       kickstart=layout.kickstart_path(p.host.name), kickstart_sha256=p.sha256,
                       kernel_args=" ".join(p.target.bios_args),
                       pxelinux_config=f"{layout.TFTP}/{layout.pxelinux_config_path(p.host.mac)}",
                       efi_config=f"{layout.TFTP}/{layout.efi_config_path(p.host.mac)}" if efi else None)


# --- the output folder ---------------------------------------------------------------------------

def _check_out_dir(out: Path, inputs: list[tuple[str, Path]]) -> None:
    """DIR is a new name, or a tree an earlier kickgen netboot made; none of the inputs inside it."""
    if out.is_file() and not out.is_symlink():
        raise UsageError(f"-o {out} is a file; kickgen netboot writes a folder", hint="give -o a new name")
    if out.is_dir() and not out.is_symlink():
        if not (out / layout.MANIFEST).is_file():
            raise UsageError(f"-o {out}: the folder exists and is not a netboot tree (no {layout.MANIFEST}): "
                             "kickgen netboot replaces only a tree it made", hint="give -o a new name")
        for what, path in inputs:
            if Path(path).resolve().is_relative_to(out.resolve()):
                raise UsageError(f"-o {out}: {what} {path} is inside it, and a new build replaces the tree's "
                                 "contents; kickgen never modifies its input", hint="give -o another folder")
        check_output(out / layout.MANIFEST, label="-o", command="netboot")
        return
    check_output(out, label="-o", inputs=inputs, command="netboot")


def _staging_dir(out: Path) -> Path:
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".kickgen-tmp", dir=out.parent))
    except OSError as exc:
        raise write_problem(out, exc) from None


def _publish(staging: Path, out: Path) -> None:
    """STAGING becomes OUT: renamed, or for an existing tree its entries swapped in one by one
    (the manifest last) and put back as they were should a rename fail."""
    os.chmod(staging, file_mode(0o777))
    if not out.exists():
        try:
            os.rename(staging, out)
        except OSError as exc:
            raise write_problem(out, exc) from None
        return
    try:
        trash = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".kickgen-old", dir=out.parent))
    except OSError as exc:
        raise write_problem(out, exc) from None
    swapped: list[str] = []
    try:
        for name in ENTRIES:
            if os.path.lexists(out / name):
                os.rename(out / name, trash / name)
            swapped.append(name)
            os.rename(staging / name, out / name)
    except OSError as exc:
        for name in reversed(swapped):      # as it was: the new entry back, the old one in place
            if os.path.lexists(out / name) and not os.path.lexists(staging / name):
                os.rename(out / name, staging / name)
            if os.path.lexists(trash / name):
                os.rename(trash / name, out / name)
        shutil.rmtree(trash, ignore_errors=True)
        raise write_problem(out, exc) from None
    shutil.rmtree(trash, ignore_errors=True)
    shutil.rmtree(staging, ignore_errors=True)


class _Writer:
    """Files written below the staging folder, remembered for the manifest."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.files: dict[str, tuple[int, str]] = {}      # path -> (size, sha256)
        self.links: dict[str, str] = {}

    def _path(self, rel: str) -> Path:
        path = self.root / rel
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise write_problem(path, exc) from None
        return path

    def data(self, rel: str, data: bytes, mode: int = ALL_READ_WRITE) -> None:
        path = self._path(rel)
        try:
            path.write_bytes(data)
            os.chmod(path, file_mode(mode))
        except OSError as exc:
            raise write_problem(path, exc) from None
        self.files[rel] = (len(data), hashlib.sha256(data).hexdigest())

    def text(self, rel: str, text: str, mode: int = ALL_READ_WRITE) -> None:
        self.data(rel, text.encode("utf-8"), mode)

    def host_file(self, rel: str, src: Path) -> None:
        try:
            data = src.read_bytes()
        except OSError as exc:
            raise EnvironmentProblem(f"cannot read {src}: {exc.strerror}",
                                     hint=f"install the Debian packages {layout.PXELINUX_PACKAGES}") from None
        self.data(rel, data)

    def iso_file(self, rel: str, image: IsoImage, entry: TreeEntry) -> int:
        """Copy ENTRY's data kernel-side, then hash what was written (from the page cache)."""
        path = self._path(rel)
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        except OSError as exc:
            raise write_problem(path, exc) from None
        try:
            with CopyJob(fd, list(image.file_copies(entry))):
                pass
            os.ftruncate(fd, entry.size)
            os.fchmod(fd, file_mode(ALL_READ_WRITE))
            digest = hashlib.sha256()
            for chunk in _chunks(fd, entry.size):
                digest.update(chunk)
        except OSError as exc:
            if is_disk_error(exc):
                raise write_problem(path, exc) from None
            raise
        finally:
            os.close(fd)
        self.files[rel] = (entry.size, digest.hexdigest())
        return entry.size

    def folder(self, rel: str) -> None:
        path = self.root / rel
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise write_problem(path, exc) from None

    def symlink(self, rel: str, target: str) -> None:
        path = self._path(rel)
        os.symlink(target, path)
        self.links[rel] = target

    def fix_times(self, epoch: int) -> None:
        """Every file, link and folder dated EPOCH (the reproducible time), deepest first."""
        for folder, dirs, names in os.walk(self.root, topdown=False):
            for name in names + dirs:
                os.utime(os.path.join(folder, name), (epoch, epoch), follow_symlinks=False)
        os.utime(self.root, (epoch, epoch))


def _chunks(fd: int, size: int) -> Iterator[bytes]:
    offset = 0
    while offset < size:
        chunk = os.pread(fd, min(HASH_READ, size - offset), offset)
        if not chunk:
            raise MediaError(f"a file ends early while hashing it ({offset} of {size} bytes)")
        offset += len(chunk)
        yield chunk


# --- the TFTP part -------------------------------------------------------------------------------

def _find(entries: list[TreeEntry], path: str) -> TreeEntry | None:
    """The file at PATH on the ISO, case ignored (EFI/BOOT/BOOTX64.efi is BOOTX64.EFI on some media)."""
    return next((e for e in entries if e.kind == "file" and e.path.lower() == path.lower()), None)


def _boot_files(writer: _Writer, image: IsoImage, entries: list[TreeEntry], prepared: list[_Prepared],
                server: str, say: Progress) -> str | None:
    """pxelinux with its menu and per-host files, the installer, the grub EFI binary with its
    configs. Returns where the EFI binary came from (None: the ISO has none, BIOS only)."""
    for name, source in layout.PXELINUX_SOURCES.items():
        writer.host_file(f"{layout.TFTP}/{name}", Path(source))
    targets = [p.target for p in prepared]
    writer.text(f"{layout.TFTP}/{layout.PXELINUX_CFG}/default", bootfiles.pxelinux_menu(targets, server))
    for p in prepared:
        writer.text(f"{layout.TFTP}/{layout.pxelinux_config_path(p.host.mac)}", bootfiles.pxelinux_host(p.target))
    size = 0
    for rel in (layout.KERNEL, layout.INITRD):
        entry = _find(entries, f"/{rel}")
        if entry is None:
            raise MediaError(f"{image.path}: no /{rel}: not EL6 install media (the network boot needs its "
                             "images/pxeboot/ kernel and initrd)")
        size += writer.iso_file(f"{layout.TFTP}/{rel}", image, entry)
    say(f"installer kernel and initrd from the ISO's images/pxeboot/ ({size / 2**20:.1f} MiB)")
    efi = _efi_binary(writer, image, entries)
    if efi is None:
        say("no grub EFI binary on the ISO (EFI/BOOT/BOOTX64.efi, on it or in its EFI image): BIOS PXE only")
        return None
    say(f"grub EFI binary from {efi}")
    link, target = layout.EFI_IMAGES_LINK
    writer.symlink(f"{layout.TFTP}/{link}", target)
    writer.text(f"{layout.TFTP}/{layout.efi_config_path(None)}", bootfiles.grub_menu(targets))
    for p in prepared:
        writer.text(f"{layout.TFTP}/{layout.efi_config_path(p.host.mac)}", bootfiles.grub_host(p.target))
    return efi


def _efi_binary(writer: _Writer, image: IsoImage, entries: list[TreeEntry]) -> str | None:
    rel = f"{layout.TFTP}/{layout.EFI_BINARY}"
    entry = _find(entries, f"/{layout.EFI_BINARY}")
    if entry is not None:
        writer.iso_file(rel, image, entry)
        return entry.path
    boot = find_boot_layout(image)
    if boot.efi_image is None:
        return None
    with efi_image_file(image, boot) as fat:
        if not fatimage.has_file(fat, layout.EFI_BINARY):
            return None
        writer.data(rel, fatimage.read_file(fat, layout.EFI_BINARY))
    return f"{boot.efi_image}:{layout.EFI_BINARY}"


# --- the HTTP part -------------------------------------------------------------------------------

def _extract(writer: _Writer, image: IsoImage, entries: list[TreeEntry], say: Progress) -> None:
    """The ISO's whole tree into http/tree (symbolic links left out: the tree is served as files)."""
    count = size = links = 0
    for entry in entries:
        parts = entry.path.strip("/").split("/")
        if any(part in ("", ".", "..") or "\x00" in part for part in parts):
            raise MediaError(f"{image.path}: {entry.path!r} cannot be a file name in the tree")
        rel = f"{layout.TREE}/{'/'.join(parts)}"
        if entry.kind == "dir":
            writer.folder(rel)
        elif entry.kind == "file":
            size += writer.iso_file(rel, image, entry)
            count += 1
        else:
            links += 1
    note = f"; {links} symbolic link{'s' if links != 1 else ''} left out" if links else ""
    say(f"install tree: {count} files ({size / 2**20:.1f} MiB) extracted into {layout.TREE}{note}")


def _server_files(writer: _Writer, out: Path, prepared: list[_Prepared], server: str, *, efi: bool,
                  extracted: bool) -> None:
    for p in prepared:
        writer.text(layout.kickstart_path(p.host.name), p.text, mode=KICKSTART_MODE)
    hosts = [servers.DhcpHost(p.host.name, p.host.mac, p.host.address) for p in prepared]
    writer.text(f"{layout.SERVERS}/dnsmasq.conf", servers.dnsmasq_conf(out, hosts, efi=efi))
    writer.text(f"{layout.SERVERS}/nginx.conf", servers.nginx_conf(out, server, extracted=extracted))


# --- the manifest --------------------------------------------------------------------------------

def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while chunk := stream.read(HASH_READ):
            digest.update(chunk)
    return digest.hexdigest()


def _manifest(server: str, base: Path, volume_id: str, inventory: Inventory, extracted: bool,
              efi_source: str | None, prepared: list[_Prepared], hosts: tuple[NetbootHost, ...],
              writer: _Writer) -> dict:
    host_data = []
    for p, record in zip(prepared, hosts, strict=True):
        host_data.append({**dataclasses.asdict(record),
                          "expect": dataclasses.asdict(p.profile.expect),
                          "allow_unsigned": list(p.profile.repos.allow_unsigned),
                          "efi_kernel_args": " ".join(p.target.efi_args) if efi_source else None})
    return {
        "kickgen": __version__,
        "server_url": server,
        "base_iso": {"path": str(base), "sha256": _sha256_file(base), "volume_id": volume_id},
        "inventory": {"path": str(inventory.path), "sha256": inventory.sha256},
        "tree": "extracted" if extracted else "iso",
        "efi": {"binary": f"{layout.TFTP}/{layout.EFI_BINARY}", "source": efi_source} if efi_source else None,
        "hosts": host_data,
        "files": [{"path": path, "size": size, "sha256": sha} for path, (size, sha) in sorted(writer.files.items())],
        "links": [{"path": path, "target": target} for path, target in sorted(writer.links.items())],
    }
