#!/usr/bin/env bash
# Make sure virtlogd and libvirtd run, so qemu:///system answers. Works without systemd
# (CI, containers): starts the daemons directly when they are not running.
set -euo pipefail
if virsh -c qemu:///system version >/dev/null 2>&1; then
    exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
    echo "libvirtd is not answering on qemu:///system and this is not root: start it (systemctl start libvirtd)" >&2
    exit 2
fi
if command -v systemctl >/dev/null 2>&1 && [[ -d /run/systemd/system ]]; then
    systemctl start virtlogd libvirtd || true
fi
pgrep -x virtlogd >/dev/null || virtlogd -d
pgrep -x libvirtd >/dev/null || libvirtd -d
for _ in $(seq 1 50); do
    virsh -c qemu:///system version >/dev/null 2>&1 && { echo "libvirtd: running"; exit 0; }
    sleep 0.2
done
echo "libvirtd did not come up (see journal or /var/log/libvirt)" >&2
exit 2
