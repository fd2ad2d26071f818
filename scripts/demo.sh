#!/usr/bin/env bash
# make demo: the whole pipeline, end to end, on this machine.
#   no ISO:        build the stand-in CentOS 6.5 DVD, render `standin-docker` (the mission with
#                  stand-in expectations), remaster, boot-test under libvirt, print the verdict.
#   --iso PATH:    the real CentOS-6.5-x86_64-bin-DVD1.iso with `centos65-docker` and the real
#                  expectations (kernel-ml-aufs, aufs, Storage Driver: aufs). Set NETWORK=default
#                  (a libvirt network) so %post reaches the mirrors.
# Extra arguments after `--` go to `kickgen boot-test` (e.g. -- --firmware uefi --keep).
# Everything it writes goes under ./kickgen-artifacts/demo of the folder it is run from (the
# stand-in media itself is cached under the user's cache folder, see docs/files.md).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
if [[ -x $ROOT/.venv/bin/kickgen ]]; then
    KG=$ROOT/.venv/bin/kickgen
    PY=$ROOT/.venv/bin/python
else                                   # kickgen installed some other way (pip install .)
    KG=kickgen
    PY=python3
fi
OUT=kickgen-artifacts/demo
iso=""
while (($#)); do
    case $1 in
        --iso) iso=${2:?--iso needs a path}; shift 2 ;;
        --) shift; break ;;
        *) echo "demo: unknown argument $1 (usage: demo.sh [--iso PATH] [-- BOOT-TEST ARGS])" >&2; exit 2 ;;
    esac
done
mkdir -p "$OUT"
declare -A took
step() { echo; echo "demo: [$1] $2"; }

if [[ -z $iso ]]; then
    profile=standin-docker
    expectations="STAND-IN expectations: Debian kernel release, no aufs, stand-in docker-io with Storage Driver vfs (not the real CentOS ones)"
    step 1/4 "building the stand-in CentOS 6.5 DVD (no real media here)"
    SECONDS=0
    "$KG" standin --variant dvd -o "$OUT/base.iso"
    took[standin]=$SECONDS
    base=$OUT/base.iso
else
    [[ -f $iso ]] || { echo "demo: --iso $iso: no such file" >&2; exit 2; }
    profile=centos65-docker
    expectations="REAL expectations: kernel-ml-aufs 3.10.5-3.el6 running, aufs, docker running with Storage Driver aufs"
    base=$iso
    took[standin]=0
fi
echo "demo: profile $profile; $expectations"

step 2/4 "rendering $profile -> $OUT/ks.cfg (validated)"
SECONDS=0
"$KG" render "$profile" -o "$OUT/ks.cfg"
took[render]=$SECONDS

step 3/4 "remastering $base -> $OUT/$profile.iso"
SECONDS=0
"$KG" iso "$profile" --base "$base" -o "$OUT/$profile.iso"
took[remaster]=$SECONDS

step 4/4 "boot test under libvirt: install, boot, check the first-boot report"
artifacts=$OUT/boot-test
rm -rf "$artifacts"
network=()
[[ -n ${NETWORK:-} ]] && network=(--network "$NETWORK")
# the report must carry the checksum of the kickstart that is on the remastered ISO
ks_sha256=$("$PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))["kickstart_sha256"])' \
    "$OUT/$profile.iso.json")
SECONDS=0
rc=0
"$KG" boot-test "$profile" "$OUT/$profile.iso" --ks-sha256 "$ks_sha256" --artifacts "$artifacts" \
    "${network[@]}" "$@" || rc=$?
took[boot-test]=$SECONDS

echo
echo "demo: profile $profile ($expectations)"
echo "demo: wall time: standin ${took[standin]}s, render ${took[render]}s, remaster ${took[remaster]}s, boot-test ${took[boot-test]}s"
echo "demo: artefacts: $artifacts"
if [[ -f $artifacts/verdict.txt ]]; then
    echo "demo: verdict: $(cat "$artifacts/verdict.txt")"
fi
exit $rc
