"""Config snippets for the servers people already run: dnsmasq (DHCP boot options, TFTP) and
nginx (the HTTP part). Pure: text from structured data, no I/O. The tests run `dnsmasq --test`
and `nginx -t` on them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from kickgen.core.errors import UsageError
from kickgen.netboot.layout import EFI_BINARY, HTTP, PXELINUX, TFTP, TREE

# DHCP option 93 (client system architecture, RFC 4578 and IANA's registry): 0 x86 BIOS,
# 7 x64 UEFI, 9 x64 UEFI (EBC's number, sent by some x64 firmware)
BIOS_ARCH = (0,)
EFI_X64_ARCH = (7, 9)

# What may appear in a path written into a server config: quoted for nginx, bare for dnsmasq
# (which reads to the end of the line). Control characters, quotes, backslashes and `#`
# (a comment) would change what the line says.
_CONF_PATH = re.compile(r"[^\x00-\x1f\x7f\"'\\#;{}$]+")


@dataclass(frozen=True)
class DhcpHost:
    name: str
    mac: str
    address: str | None


def conf_path(path: Path, what: str = "-o") -> str:
    """PATH as server configs name it, or a UsageError: it must not need escaping anywhere."""
    text = str(path)
    if not _CONF_PATH.fullmatch(text):
        raise UsageError(f"{what} {text!r}: the dnsmasq and nginx snippets name this folder, and it holds a "
                         "character they would read otherwise (a control character, quote, backslash, "
                         "# ; { } or $)", hint="give -o a plainer path")
    return text


def dnsmasq_conf(tree: Path, hosts: Sequence[DhcpHost], *, efi: bool) -> str:
    """dnsmasq: TFTP from DIR/tftp, the boot loader by client architecture, a tag (and a fixed
    address where the inventory gives one) per host. Adds no DHCP range: the site's stays."""
    root = conf_path(tree / TFTP)
    lines = ["# kickgen netboot: dnsmasq configuration for this tree (generated; make the tree again",
             "# rather than edit it). Use it beside your own: dnsmasq --conf-file=THIS, or copy it into",
             "# /etc/dnsmasq.d/. It gives no DHCP range: keep yours (dhcp-range=...), or answer PXE only",
             "# beside another DHCP server with dhcp-range=<your network>,proxy.",
             "enable-tftp",
             f"tftp-root={root}",
             "# the boot loader by client architecture (DHCP option 93)",
             *[f"dhcp-match=set:kickgen-bios,option:client-arch,{n}" for n in BIOS_ARCH],
             f"dhcp-boot=tag:kickgen-bios,{PXELINUX}"]
    if efi:
        lines += [*[f"dhcp-match=set:kickgen-efi-x64,option:client-arch,{n}" for n in EFI_X64_ARCH],
                  f"dhcp-boot=tag:kickgen-efi-x64,{EFI_BINARY}"]
    else:
        lines.append("# (no UEFI boot: the base ISO has no grub EFI binary)")
    lines.append("# the inventory's hosts: a tag each (kickgen-<name>), the fixed address where it gives one")
    for host in hosts:
        short = host.name.split(".", 1)[0]     # a domain part must match dnsmasq's domain=
        tag = f"kickgen-{host.name}"
        parts = [host.mac, f"set:{tag}"] + ([host.address] if host.address else []) + [short]
        lines.append(f"dhcp-host={','.join(parts)}")
    return "\n".join(lines) + "\n"


def nginx_conf(tree: Path, server_url: str, *, extracted: bool) -> str:
    """nginx: a server block for the URL layout (kickgen.netboot.layout), from DIR/http."""
    url = urlsplit(server_url)
    prefix = url.path.rstrip("/")
    port = url.port or 80
    http = conf_path(tree / HTTP)
    files = conf_path(tree / TREE)
    name = r"[A-Za-z0-9][A-Za-z0-9.-]*"      # a host name: never "." or ".."
    host_re = f"^{re.escape(prefix)}/hosts/(?<kickgen_host>{name})"
    lines = ["# kickgen netboot: an nginx server block for this tree (generated; make the tree again rather",
             "# than edit it). Include it inside http { }: include THIS;",
             "# The kickstarts are mode 0600 (they hold the root password hash): nginx's worker user",
             "# must be able to read them (chgrp www-data + chmod 0640), or serve the tree with kickgen serve.",
             ("# The install tree is DIR/http/tree (kickgen netboot --extract-tree)." if extracted else
              "# The install tree: mount the base ISO at DIR/http/tree (mount -o loop,ro ISO DIR/http/tree),"),
             *(() if extracted else ("# or make the tree with --extract-tree, or serve it with kickgen serve.",)),
             "# POST .../report (the first-boot report) is kickgen serve's: proxy it there, e.g.",
             "#   proxy_pass http://127.0.0.1:8123;   (in the report location below)",
             "server {",
             f"    listen {port};",
             f"    server_name {url.hostname};",
             "    default_type application/octet-stream;",
             f'    location ~ "{host_re}/ks\\.cfg$" {{',
             f'        alias "{http}/hosts/$kickgen_host/ks.cfg";',
             "        default_type text/plain;",
             "    }",
             f'    location ~ "{host_re}/tree/(?<kickgen_path>.*)$" {{',
             f'        alias "{files}/$kickgen_path";',
             "    }",
             f'    location ~ "{host_re}/report$" {{',
             "        return 501;",
             "    }",
             f'    location {prefix}/tree/ {{',
             f'        alias "{files}/";',
             "    }",
             "}"]
    return "\n".join(lines) + "\n"
