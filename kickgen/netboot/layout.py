"""The netboot tree's layout and URLs: the one place that names them (docs/netboot.md).

    DIR/kickgen-netboot.json                     the manifest
    DIR/tftp/pxelinux.0, *.c32                   BIOS PXE: pxelinux (the host's Debian packages)
    DIR/tftp/pxelinux.cfg/default                the menu: boots the local disk unless chosen otherwise
    DIR/tftp/pxelinux.cfg/01-aa-bb-cc-dd-ee-ff   per host: installs it at once
    DIR/tftp/images/pxeboot/vmlinuz, initrd.img  the installer, from the ISO's images/pxeboot/
    DIR/tftp/EFI/BOOT/BOOTX64.efi                UEFI PXE: the ISO's grub (EL6's grub-legacy for EFI)
    DIR/tftp/EFI/BOOT/efidefault, 01-AA-BB-...   its menu, and per host (by MAC, upper case)
    DIR/http/hosts/<name>/ks.cfg                 per-host kickstarts
    DIR/http/tree/                               the install tree (--extract-tree only)
    DIR/servers/dnsmasq.conf, nginx.conf         snippets for standard servers

URLs under the server URL S (no trailing slash): S/hosts/<name>/ks.cfg (the kickstart),
S/hosts/<name>/tree/ (the install tree, per host so the server can tell who installs),
S/tree/ (the same tree, not attributed), S/hosts/<name>/report (POST: the report line).
"""

from __future__ import annotations

import re

from kickgen.core.errors import UsageError

MANIFEST = "kickgen-netboot.json"
TFTP = "tftp"
HTTP = "http"
SERVERS = "servers"
TREE = f"{HTTP}/tree"

# BIOS PXE: pxelinux and the modules its menu needs, from the host's Debian packages
# (pxelinux: /usr/lib/PXELINUX; syslinux-common: /usr/lib/syslinux/modules/bios).
PXELINUX = "pxelinux.0"
PXELINUX_SOURCES = {
    PXELINUX: "/usr/lib/PXELINUX/pxelinux.0",
    "ldlinux.c32": "/usr/lib/syslinux/modules/bios/ldlinux.c32",
    "menu.c32": "/usr/lib/syslinux/modules/bios/menu.c32",
    "libutil.c32": "/usr/lib/syslinux/modules/bios/libutil.c32",
    "libcom32.c32": "/usr/lib/syslinux/modules/bios/libcom32.c32",
}
PXELINUX_PACKAGES = "pxelinux and syslinux-common"
PXELINUX_CFG = "pxelinux.cfg"

# The installer, as the ISO has it and as the boot loaders name it (relative to the TFTP root).
KERNEL = "images/pxeboot/vmlinuz"
INITRD = "images/pxeboot/initrd.img"

# UEFI PXE: the ISO's grub EFI binary, on the ISO tree or inside its FAT image.
EFI_DIR = "EFI/BOOT"
EFI_BINARY = f"{EFI_DIR}/BOOTX64.efi"
EFI_DEFAULT_CONFIG = "efidefault"
# EL6's grub.efi reads the paths in its netboot config relative to the folder it was loaded from
# (grub-0.97-83.el6 efi/efitftp.c: every TFTP path is "<boot file's folder>/<name>"; cobbler
# keeps a grub/images link for the same reason): EFI/BOOT/images links to the TFTP root's
# images/, so `kernel /images/pxeboot/vmlinuz` there reads the one pxelinux reads.
EFI_IMAGES_LINK = (f"{EFI_DIR}/images", "../../images")


def efi_config_name(mac: str | None) -> str:
    """The name of a grub.efi netboot config in EFI_DIR: the one place that says how EL6's
    grub.efi finds it. grub-0.97-83.el6 (CentOS 6.5's; efi/pxe.c grub_efi_pxe_get_config_pathv4,
    read by the stand-in's author) tries, in the boot file's folder: the DHCP client UUID, then
    `01-` and the MAC in upper-case hex with dashes, then the client's IPv4 address in upper-case
    hex and that name shortened a digit at a time, then `efidefault`. kickgen writes the MAC name
    per host (it needs no fixed address, and nothing but the UUID comes before it), and
    `efidefault` (MAC None) for every other machine."""
    if mac is None:
        return EFI_DEFAULT_CONFIG
    return "01-" + mac.upper().replace(":", "-")


def efi_config_path(mac: str | None) -> str:
    """The config file's path below the TFTP root (see `efi_config_name`)."""
    return f"{EFI_DIR}/{efi_config_name(mac)}"


def pxelinux_config_path(mac: str) -> str:
    """pxelinux's per-client file below the TFTP root: ARP type 01, the MAC in lower-case hex
    with dashes (pxelinux tries it first, before the IP-based names and `default`)."""
    return f"{PXELINUX_CFG}/01-{mac.lower().replace(':', '-')}"


def kickstart_path(name: str) -> str:
    """A host's kickstart below DIR."""
    return f"{HTTP}/hosts/{name}/ks.cfg"


# --- URLs ------------------------------------------------------------------------------------

# kickgen serve's default port on the host, as a guest on QEMU user-mode networking reaches it
DEFAULT_SERVER_URL = "http://10.0.2.2:8123"
_SERVER_URL = re.compile(r"http://(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)(:[0-9]{1,5})?(/[A-Za-z0-9._~/-]*)?")


def check_server_url(url: str) -> str:
    """The server URL as the tree uses it (no trailing slash), or a UsageError naming it. It goes
    into kernel command lines, kickstart words and server configs: http (EL6's installer has no
    CA certificates a server of today would be signed by), a host, an optional port and path,
    nothing else (no query, user, spaces or quotes)."""
    bare = url.rstrip("/")
    if not _SERVER_URL.fullmatch(bare):
        raise UsageError(f"--server-url {url!r}: expected http://HOST[:PORT][/PATH] (letters, digits and "
                         "_ . ~ / - only; no query, user or spaces)",
                         hint="for example --server-url http://10.0.2.2:8123")
    port = re.search(r":([0-9]+)(/|$)", bare.split("://", 1)[1])
    if port and not 0 < int(port.group(1)) < 65536:
        raise UsageError(f"--server-url {url!r}: port {port.group(1)} is not 1 to 65535")
    return bare


def kickstart_url(server: str, name: str) -> str:
    return f"{server}/hosts/{name}/ks.cfg"


def tree_url(server: str, name: str | None = None) -> str:
    """The install tree: per host (attributed) or shared."""
    return f"{server}/hosts/{name}/tree/" if name else f"{server}/tree/"


def report_url(server: str, name: str) -> str:
    return f"{server}/hosts/{name}/report"
