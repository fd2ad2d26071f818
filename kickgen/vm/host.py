"""The libvirt side of a boot test: connection, the `kickgen` storage pool, volumes, domains,
block stats, screenshots, the KVM probe and cleanup. Every libvirt call of kickgen is here.
"""

from __future__ import annotations

import logging
import threading
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import libvirt

from kickgen.core.errors import EnvironmentProblem, HarnessError
from kickgen.core.resources import cache_dir
from kickgen.vm.probeiso import build_tiny_iso

log = logging.getLogger(__name__)

DEFAULT_URI = "qemu:///system"
POOL_NAME = "kickgen"
POOL_PATH = "/var/lib/libvirt/images/kickgen"
NAME_PREFIX = "kickgen-"
LIBVIRTD_HINT = "start libvirtd (bash scripts/start-libvirtd.sh, or systemctl start libvirtd)"

# libvirt's default error printer is silenced by the CLI (kickgen.cli), not here: a library
# installs no process-wide handlers.


def is_local(uri: str) -> bool:
    """A URI without a host (qemu:///system) reaches this machine: files are shared."""
    parts = urlsplit(uri)
    return not parts.netloc and "+" not in parts.scheme


def connect(uri: str) -> libvirt.virConnect:
    try:
        return libvirt.open(uri)
    except libvirt.libvirtError as exc:
        message = (exc.get_error_message() or str(exc)).splitlines()[0]
        if "ermission denied" in message or "uthentication" in message:
            raise EnvironmentProblem(f"no permission to use libvirt at {uri}: {message}",
                                     hint="run as root or as a member of the libvirt group") from None
        raise EnvironmentProblem(f"cannot connect to libvirt at {uri}: {message}", hint=LIBVIRTD_HINT) from None


_pool_lock = threading.Lock()


def ensure_pool(conn: libvirt.virConnect) -> libvirt.virStoragePool:
    """The `kickgen` dir pool, defined, built and started when absent."""
    with _pool_lock:
        try:
            pool = conn.storagePoolLookupByName(POOL_NAME)
        except libvirt.libvirtError:
            xml = (f"<pool type='dir'><name>{POOL_NAME}</name>"
                   f"<target><path>{POOL_PATH}</path></target></pool>")
            try:
                pool = conn.storagePoolDefineXML(xml, 0)
                pool.build(0)
                pool.setAutostart(1)
            except libvirt.libvirtError as exc:
                raise EnvironmentProblem(f"cannot create the libvirt storage pool '{POOL_NAME}' at "
                                         f"{POOL_PATH}: {exc.get_error_message()}") from None
        if not pool.isActive():
            try:
                pool.build(0)            # recreates the folder if someone removed it
            except libvirt.libvirtError as exc:
                log.debug("pool build: %s", exc.get_error_message())
            try:
                pool.create(0)
            except libvirt.libvirtError as exc:
                raise EnvironmentProblem(f"cannot start the libvirt storage pool '{POOL_NAME}': "
                                         f"{exc.get_error_message()}") from None
        _refresh(pool)
        return pool


def _refresh(pool: libvirt.virStoragePool) -> None:
    """Rescan the pool; libvirt refuses while another run creates a volume, which is harmless here."""
    try:
        pool.refresh(0)
    except libvirt.libvirtError as exc:
        log.debug("pool refresh: %s", exc.get_error_message())


def create_volume(pool: libvirt.virStoragePool, name: str, size_gb: int) -> libvirt.virStorageVol:
    xml = (f"<volume><name>{name}</name><capacity unit='GiB'>{size_gb}</capacity>"
           "<target><format type='qcow2'/></target></volume>")
    try:
        return pool.createXML(xml, 0)
    except libvirt.libvirtError as exc:
        raise EnvironmentProblem(f"cannot create volume {name} in pool '{POOL_NAME}': "
                                 f"{exc.get_error_message()}") from None


def lookup_volume(conn: libvirt.virConnect, name: str) -> libvirt.virStorageVol:
    """Volume NAME of the kickgen pool."""
    try:
        return conn.storagePoolLookupByName(POOL_NAME).storageVolLookupByName(name)
    except libvirt.libvirtError as exc:
        raise EnvironmentProblem(f"cannot find volume {name} in pool '{POOL_NAME}': "
                                 f"{exc.get_error_message()}") from None


def volume_allocation(volume: libvirt.virStorageVol) -> int:
    """Bytes the volume takes on the host: a qcow2 volume grows with every cluster the guest writes."""
    try:
        return volume.info()[2]
    except libvirt.libvirtError as exc:
        raise EnvironmentProblem(f"cannot read volume {volume.name()}: {exc.get_error_message()}") from None


def upload_volume(conn: libvirt.virConnect, pool: libvirt.virStoragePool, name: str,
                  path: Path) -> libvirt.virStorageVol:
    """Copy PATH into a new raw volume NAME (how a remote host gets the ISO)."""
    size = path.stat().st_size
    xml = (f"<volume><name>{name}</name><capacity unit='bytes'>{size}</capacity>"
           "<target><format type='raw'/></target></volume>")
    try:
        volume = pool.createXML(xml, 0)
        stream = conn.newStream(0)
        volume.upload(stream, 0, size, 0)
        with path.open("rb") as source:
            stream.sendAll(lambda _stream, nbytes, src: src.read(nbytes), source)
        stream.finish()
        return volume
    except libvirt.libvirtError as exc:
        raise EnvironmentProblem(f"cannot upload {path} to pool '{POOL_NAME}' as {name}: "
                                 f"{exc.get_error_message()}") from None


class ConsoleRecorder:
    """Copies a domain's serial console (a libvirt stream) into a local file, in a thread.

    Used for remote hosts, where qemu's own serial file would sit on the other machine. Open it
    while the domain is paused so no early line is lost. The stream gets a connection of its
    own: a blocking read waits inside the remote driver and would hold up (e.g.) a destroy
    sent on the same connection. Stopping the domain ends the stream."""

    def __init__(self, uri: str, domain_name: str, path: Path):
        self._conn = connect(uri)
        self._path = path
        try:
            dom = self._conn.lookupByName(domain_name)
            self._stream = self._conn.newStream(0)
            dom.openConsole(None, self._stream, libvirt.VIR_DOMAIN_CONSOLE_FORCE)
        except libvirt.libvirtError as exc:
            self._conn.close()
            raise HarnessError(f"cannot open the serial console of {domain_name}: "
                               f"{exc.get_error_message()}") from None
        self._thread = threading.Thread(target=self._copy, name=f"console-{domain_name}", daemon=True)
        self._thread.start()

    def _copy(self) -> None:
        with self._path.open("ab") as out:
            try:
                while True:
                    data = self._stream.recv(65536)
                    if not data or isinstance(data, int):
                        break
                    out.write(data)
                    out.flush()
            except libvirt.libvirtError as exc:   # the domain went away: the console ends
                log.debug("console %s: %s", self._path, exc.get_error_message())
        try:
            self._stream.abort()
            self._conn.close()
        except libvirt.libvirtError:
            pass

    def close(self) -> None:
        """Wait for the end of the stream (call after stopping the domain)."""
        self._thread.join(timeout=10)
        if self._thread.is_alive():
            log.warning("console reader of %s did not end; left to exit with kickgen", self._path)


def define(conn: libvirt.virConnect, xml: str, what: str) -> libvirt.virDomain:
    try:
        return conn.defineXML(xml)
    except libvirt.libvirtError as exc:
        raise HarnessError(f"libvirt refused the {what} domain: {exc.get_error_message()}") from None


def start(dom: libvirt.virDomain, what: str, *, paused: bool = False) -> None:
    try:
        dom.createWithFlags(libvirt.VIR_DOMAIN_START_PAUSED if paused else 0)
    except libvirt.libvirtError as exc:
        raise HarnessError(f"libvirt could not start the {what} domain: {exc.get_error_message()}") from None


def resume(dom: libvirt.virDomain, what: str) -> None:
    try:
        dom.resume()
    except libvirt.libvirtError as exc:
        raise HarnessError(f"libvirt could not resume the {what} domain: {exc.get_error_message()}") from None


def state(dom: libvirt.virDomain) -> int:
    try:
        return dom.state()[0]
    except libvirt.libvirtError:
        return libvirt.VIR_DOMAIN_NOSTATE


def disk_writes(dom: libvirt.virDomain, target: str) -> tuple[int, int] | None:
    """(write requests, bytes written) of a disk, or None when the domain is not running."""
    try:
        stats = dom.blockStats(target)
    except libvirt.libvirtError:
        return None
    return stats[2], stats[3]


def tray_open(dom: libvirt.virDomain, target: str) -> bool:
    """Is the tray of removable drive TARGET open (the guest ejected it)? False when not running."""
    try:
        root = ET.fromstring(dom.XMLDesc(0))
    except libvirt.libvirtError:
        return False
    found = root.find(f"devices/disk/target[@dev='{target}']")
    return found is not None and found.get("tray") == "open"


def qemu_dac_label(conn: libvirt.virConnect, domain_type: str) -> str | None:
    """The user:group qemu runs as for DOMAIN_TYPE guests ("+64055:+64055"), from the host's DAC
    security model in libvirt's capabilities; None when it names none (qemu:///session)."""
    try:
        root = ET.fromstring(conn.getCapabilities())
    except libvirt.libvirtError as exc:
        raise EnvironmentProblem(f"cannot read libvirt's capabilities: {exc.get_error_message()}") from None
    for model in root.findall("host/secmodel"):
        if model.findtext("model") == "dac":
            for label in model.findall("baselabel"):
                if label.get("type") == domain_type:
                    return label.text
    return None


def stop(dom: libvirt.virDomain) -> None:
    try:
        if dom.isActive():
            dom.destroy()
    except libvirt.libvirtError as exc:
        log.debug("destroy %s: %s", dom.name(), exc)


def screenshot(conn: libvirt.virConnect, dom: libvirt.virDomain, out: Path) -> Path | None:
    """Save the first screen as OUT (PNG with libvirt 9; other formats keep their bytes)."""
    try:
        stream = conn.newStream(0)
        mime = dom.screenshot(stream, 0)
        chunks = []
        while chunk := stream.recv(262144):
            if isinstance(chunk, int):  # -2: would block; cannot happen on a blocking stream
                break
            chunks.append(chunk)
        stream.finish()
    except libvirt.libvirtError as exc:
        log.warning("no screenshot of %s: %s", dom.name(), exc.get_error_message())
        return None
    if mime != "image/png":
        out = out.with_suffix(".ppm" if "pnm" in mime or "ppm" in mime else ".img")
    partial = out.with_name(out.name + ".part")
    partial.write_bytes(b"".join(chunks))
    partial.replace(out)
    return out


def cleanup(conn: libvirt.virConnect, name: str, volumes: list[str]) -> list[str]:
    """Destroy and undefine domain NAME (with its NVRAM) and delete VOLUMES; returns problems."""
    problems = []
    try:
        dom = conn.lookupByName(name)
    except libvirt.libvirtError:
        dom = None
    if dom is not None:
        try:
            persistent = dom.isPersistent()   # ask first: a transient domain is gone once stopped
        except libvirt.libvirtError:
            persistent = False
        stop(dom)
        try:
            if persistent:
                dom.undefineFlags(libvirt.VIR_DOMAIN_UNDEFINE_NVRAM
                                  | libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE
                                  | libvirt.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA)
        except libvirt.libvirtError as exc:
            problems.append(f"undefine {name}: {exc.get_error_message()}")
    if volumes:
        try:
            pool = conn.storagePoolLookupByName(POOL_NAME)
        except libvirt.libvirtError as exc:
            return problems + [f"pool {POOL_NAME}: {exc.get_error_message()}"]
        for volume in volumes:
            try:
                pool.storageVolLookupByName(volume).delete(0)
            except libvirt.libvirtError as exc:
                if exc.get_error_code() != libvirt.VIR_ERR_NO_STORAGE_VOL:
                    problems.append(f"delete volume {volume}: {exc.get_error_message()}")
    return problems


def leftovers(conn: libvirt.virConnect, prefix: str = NAME_PREFIX) -> list[str]:
    """Domains and pool volumes whose names start with PREFIX (what cleanup must remove)."""
    found = [f"domain {dom.name()}" for dom in conn.listAllDomains(0) if dom.name().startswith(prefix)]
    try:
        pool = conn.storagePoolLookupByName(POOL_NAME)
        if pool.isActive():
            _refresh(pool)
            found += [f"volume {vol.name()}" for vol in pool.listAllVolumes(0)
                      if vol.name().startswith(prefix)]
    except libvirt.libvirtError:
        pass
    return found


# --- KVM probe ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Accel:
    domain_type: str   # kvm | qemu (TCG)
    reason: str

    @property
    def label(self) -> str:
        return "KVM" if self.domain_type == "kvm" else "TCG"


PROBE_MARK = "KICKGEN-PROBE: userspace reached"
PROBE_INIT = f"""#!/bin/sh
/bin/busybox mount -t devtmpfs dev /dev
/bin/busybox echo "{PROBE_MARK}" > /dev/ttyS0
/bin/busybox poweroff -f
"""
PROBE_SECONDS = 40
_accel_cache: dict[str, Accel] = {}
_accel_lock = threading.Lock()


def choose_accel(conn: libvirt.virConnect, uri: str, wanted: str = "auto") -> Accel:
    """KVM when a tiny ISOLINUX guest reaches userspace under it, else TCG. Cached per URI."""
    if wanted == "tcg":
        return Accel("qemu", "TCG asked for (--accel tcg)")
    if wanted == "kvm":
        return Accel("kvm", "KVM asked for (--accel kvm)")
    with _accel_lock:
        if uri not in _accel_cache:
            _accel_cache[uri] = _probe_kvm(conn, uri)
        return _accel_cache[uri]


def _probe_kvm(conn: libvirt.virConnect, uri: str) -> Accel:
    try:
        conn.getDomainCapabilities(None, "x86_64", "pc", "kvm", 0)
    except libvirt.libvirtError:
        return Accel("qemu", "TCG: this host offers no KVM")
    probe_dir = cache_dir("probe")
    iso = build_tiny_iso(probe_dir / "kvm-probe.iso", PROBE_INIT, volume_id="KICKGEN_PROBE")
    name = f"{NAME_PREFIX}kvm-probe-{time.time_ns() % 10**9}"
    serial = probe_dir / f"{name}.log"
    local = is_local(uri)
    # The probe ISO goes up as a volume on every host: a local path under a 0700 home (root's,
    # in CI) is unreadable to libvirt's qemu user, and the probe would blame KVM for it.
    pool = ensure_pool(conn)
    volumes = [f"{name}.iso"]
    upload_volume(conn, pool, volumes[0], iso)
    source = f"<disk type='volume' device='cdrom'><source pool='{POOL_NAME}' volume='{volumes[0]}'/>"
    if local:
        console = f"<serial type='file'><source path='{serial.resolve()}'/><target port='0'/></serial>"
    else:   # remote host: the console comes back as a stream
        console = "<serial type='pty'><target port='0'/></serial>"
    xml = f"""<domain type='kvm'><name>{name}</name><memory unit='MiB'>256</memory><vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os><features><acpi/></features>
  <on_poweroff>destroy</on_poweroff><on_reboot>destroy</on_reboot><on_crash>destroy</on_crash>
  <devices>
    {source}<driver name='qemu' type='raw'/><target dev='hdc' bus='ide'/><readonly/></disk>
    {console}
  </devices></domain>"""
    dom = recorder = None
    try:
        try:
            dom = conn.createXML(xml, 0 if local else libvirt.VIR_DOMAIN_START_PAUSED)
        except libvirt.libvirtError as exc:
            return Accel("qemu", f"TCG: KVM guest did not start ({exc.get_error_message()})")
        if not local:
            recorder = ConsoleRecorder(uri, name, serial)
            dom.resume()
        return _await_probe(dom, serial)
    finally:
        if dom is not None:
            stop(dom)
        if recorder is not None:
            recorder.close()
        cleanup(conn, name, volumes)
        serial.unlink(missing_ok=True)


def _await_probe(dom: libvirt.virDomain, serial: Path) -> Accel:
    def reached() -> bool:
        return serial.exists() and PROBE_MARK in serial.read_text(errors="replace")

    deadline = time.monotonic() + PROBE_SECONDS
    while time.monotonic() < deadline:
        if reached():
            return Accel("kvm", "KVM: probe guest reached userspace")
        current = state(dom)
        if current == libvirt.VIR_DOMAIN_PAUSED:
            return Accel("qemu", "TCG: KVM probe guest stopped (KVM internal error; nested virtualisation?)")
        if current in (libvirt.VIR_DOMAIN_SHUTOFF, libvirt.VIR_DOMAIN_NOSTATE, libvirt.VIR_DOMAIN_CRASHED):
            break
        time.sleep(0.5)
    if reached():
        return Accel("kvm", "KVM: probe guest reached userspace")
    return Accel("qemu", f"TCG: KVM probe guest did not reach userspace in {PROBE_SECONDS}s")
