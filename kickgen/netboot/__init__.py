"""Network installs: a host inventory + a base ISO -> a netboot tree (PXE for BIOS and UEFI,
per-host kickstarts, the install tree, snippets for dnsmasq and nginx), reproducible, with a
manifest.

Public entry points: `load_inventory(path) -> Inventory` and `build_netboot(inventory_path,
base_iso, out_dir, server_url, *, extract_tree, progress) -> NetbootTree`. Modules: `layout`
(the tree's paths and URLs, the grub.efi config naming), `inventory` (hosts.yaml, each host's
profile with its overrides), `bootfiles` (pxelinux and grub configs, kernel arguments),
`servers` (dnsmasq and nginx snippets), `tree` (the writer). Imported on first use: the
command line reads `layout` without loading the profile, kickstart and ISO machinery.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kickgen.netboot.inventory import Host, Inventory, load_inventory
    from kickgen.netboot.tree import NetbootHost, NetbootTree, build_netboot

__all__ = ["Host", "Inventory", "NetbootHost", "NetbootTree", "build_netboot", "load_inventory"]


def __getattr__(name: str) -> Any:
    if name in ("Host", "Inventory", "load_inventory"):
        from kickgen.netboot import inventory

        return getattr(inventory, name)
    if name in ("NetbootHost", "NetbootTree", "build_netboot"):
        from kickgen.netboot import tree

        return getattr(tree, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
