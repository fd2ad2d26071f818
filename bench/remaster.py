"""Benchmark: `kickgen iso` against `cp` and an xorriso replay, on CentOS-layout images.

    .venv/bin/python bench/remaster.py [--sizes 4096,1024] [--runs 5] [--files 6000] [--keep]

For each size (MiB) it builds, under build/bench-remaster/, a hybrid BIOS+UEFI image laid out
like the CentOS 6.5 DVD (mkisofs -U -J -R -T, isohybrid --uefi) with about 6,000 package-sized
files (a repeated random pattern: real blocks, since cp skips zero blocks), then times, as
the median of N runs, with the peak RSS of each:
  kickgen iso    standin-docker --base BASE -o OUT --ks KS --quiet
  media MD5 + sha256 only   reading kickgen's OUT once for the media MD5, once for its sha256:
                 the least any remaster that implants the media MD5 and records the output's
                 sha256 must spend (the sha256 covers the implanted MD5, so it cannot start
                 before the MD5 is done)
  cp             BASE OUT
  xorriso        -indev BASE -outdev OUT -boot_image any replay -map KS /ks.cfg
  xorriso + implantisomd5   the same, then implantisomd5 OUT (what lorax mkksiso runs by default)
Caches are warm (the base is read once before timing); the commands take turns, run by run;
outputs are deleted and the disk synced before each run. Ends with the issue's targets, met
or not.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "build" / "bench-remaster"
INPUTS = ROOT / "tests" / "golden" / "bootcfg" / "inputs"
KICKGEN = Path(sys.executable).parent / "kickgen"


def run(*argv: object, env: dict | None = None) -> None:
    subprocess.run([str(a) for a in argv], check=True, capture_output=True, env=env)


def build_base(size_mib: int, files: int) -> Path:
    out = WORK / f"centos-layout-{size_mib}M-{files}.iso"
    if out.exists():
        return out
    tree = WORK / f"tree-{size_mib}"
    shutil.rmtree(tree, ignore_errors=True)
    for d in ("isolinux", "images/pxeboot", "EFI/BOOT", "Packages", "repodata"):
        (tree / d).mkdir(parents=True)
    shutil.copy("/usr/lib/ISOLINUX/isolinux.bin", tree / "isolinux")
    shutil.copy("/usr/lib/syslinux/modules/bios/vesamenu.c32", tree / "isolinux")
    shutil.copy("/usr/lib/syslinux/modules/bios/ldlinux.c32", tree / "isolinux")
    shutil.copy(INPUTS / "centos65-isolinux.cfg", tree / "isolinux" / "isolinux.cfg")
    shutil.copy(INPUTS / "centos65-BOOTX64.conf", tree / "EFI/BOOT/BOOTX64.conf")
    for d in ("isolinux", "images/pxeboot"):
        with open(tree / d / "vmlinuz", "wb") as f:
            f.truncate(4 << 20)
        with open(tree / d / "initrd.img", "wb") as f:
            f.truncate(32 << 20)
    with open(tree / "images" / "install.img", "wb") as f:
        f.truncate(128 << 20)
    (tree / ".discinfo").write_text("1385726532.68\n6.5\nx86_64\n1\n")
    img = tree / "images" / "efiboot.img"
    env = {**os.environ, "MTOOLS_SKIP_CHECK": "1", "TZ": "UTC"}
    run("mkfs.vfat", "-C", "-n", "ANACONDA", img, "10240")
    run("mmd", "-i", img, "::EFI", "::EFI/BOOT", env=env)
    run("mcopy", "-i", img, INPUTS / "centos65-BOOTX64.conf", "::EFI/BOOT/BOOTX64.conf", env=env)
    fixed = 4 + 4 + 32 + 32 + 128 + 10
    per_file = max(1, ((size_mib - fixed) << 20) // files)
    # Real bytes, not holes: cp skips zero blocks (it punches holes), which would flatter it.
    pattern = os.urandom(1 << 20) * 2
    for i in range(files):
        with open(tree / "Packages" / f"package-{i:05d}-1.0-1.el6.x86_64.rpm", "wb") as f:
            left, at = per_file, (i * 4099) % (1 << 20)
            while left:
                n = min(left, 1 << 20)
                f.write(pattern[at:at + n])
                left -= n
    tmp = out.with_suffix(".tmp")
    run("genisoimage", "-quiet", "-U", "-J", "-R", "-T", "-V", "CentOS_6.5_Final",
        "-b", "isolinux/isolinux.bin", "-c", "isolinux/boot.cat", "-no-emul-boot", "-boot-load-size", "4",
        "-boot-info-table", "-eltorito-alt-boot", "-e", "images/efiboot.img", "-no-emul-boot",
        "-o", tmp, tree)
    run("isohybrid", "--uefi", tmp)
    os.replace(tmp, out)
    shutil.rmtree(tree)
    return out


def timed(argv: list[str]) -> tuple[float, int]:
    """(seconds, peak RSS in KiB) of one command, RSS from GNU time (largest of it and its children)."""
    start = time.perf_counter()
    proc = subprocess.run(["/usr/bin/time", "-f", "RSS %M", *argv], stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"failed: {' '.join(argv)}: {proc.stderr[-500:]}")
    return seconds, int(proc.stderr.strip().splitlines()[-1].split()[-1])


FLOOR = """
import hashlib, os, sys
from kickgen.media import implant
fd = os.open(sys.argv[1], os.O_RDONLY)
implant.digest_fd(fd, implant.MediaMd5(implant.volume_bytes_of(fd)))
h, buffer, pos = hashlib.sha256(), bytearray(1 << 20), 0
while got := os.preadv(fd, [buffer], pos):
    h.update(memoryview(buffer)[:got])
    pos += got
"""


def bench(base: Path, runs: int) -> dict[str, tuple[float, float]]:
    ks = WORK / "ks.cfg"
    ks.write_text(subprocess.run([str(KICKGEN), "render", "standin-docker"], capture_output=True,
                                 text=True, check=True).stdout)
    out = WORK / "out.iso"
    xorriso = ["xorriso", "-indev", str(base), "-outdev", str(out), "-boot_image", "any", "replay",
               "-map", str(ks), "/ks.cfg"]
    commands = {
        "kickgen iso": [str(KICKGEN), "iso", "standin-docker", "--base", str(base), "-o", str(out),
                        "--ks", str(ks), "--quiet"],
        # reads kickgen's output, so it runs right after it (before the output is deleted)
        "media MD5 + sha256 only": [sys.executable, "-c", FLOOR, str(out)],
        "cp": ["cp", str(base), str(out)],
        "xorriso replay": xorriso,
        "xorriso replay + implantisomd5": ["sh", "-c", '"$@" && implantisomd5 "$0" >/dev/null',
                                           str(out), *xorriso],
    }
    subprocess.run(["cat", str(base)], stdout=subprocess.DEVNULL, check=True)   # warm the page cache
    times: dict[str, list[float]] = {name: [] for name in commands}
    rss: dict[str, list[int]] = {name: [] for name in commands}
    for _ in range(runs):            # round robin: a slow spell of the machine hits every command
        for name, argv in commands.items():
            if name != "media MD5 + sha256 only":
                _clean(out)
            seconds, peak = timed(argv)
            times[name].append(seconds)
            rss[name].append(peak)
    _clean(out)
    return {name: (statistics.median(times[name]), max(rss[name]) / 1024) for name in commands}


def _clean(out: Path) -> None:
    """Remove the last output and let the disk catch up, so no run pays for another's writes."""
    for leftover in (out, out.with_name(out.name + ".json")):
        leftover.unlink(missing_ok=True)
    os.sync()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="4096,1024", help="image sizes in MiB (comma separated)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--files", type=int, default=6000)
    parser.add_argument("--keep", action="store_true", help="keep the base images for the next run")
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    rows, targets = [], []
    for size in [int(s) for s in args.sizes.split(",")]:
        base = build_base(size, args.files)
        results = bench(base, args.runs)
        cp_time = results["cp"][0]
        xorriso_time = results["xorriso replay"][0]
        for name, (seconds, rss) in results.items():
            rows.append((f"{base.stat().st_size / 2**30:.2f} GiB", name, seconds, rss,
                         seconds / cp_time, seconds / xorriso_time))
        targets.append((f"{base.stat().st_size / 2**30:.2f} GiB", results))
        if not args.keep:
            base.unlink()
    print(f"median of {args.runs} runs, {args.files} files, warm page cache, {os.cpu_count()} CPUs")
    print("| image | command | median s | peak RSS MiB | x cp | x xorriso |")
    print("|---|---|---:|---:|---:|---:|")
    for size, name, seconds, rss, vs_cp, vs_x in rows:
        print(f"| {size} | {name} | {seconds:.2f} | {rss:.0f} | {vs_cp:.2f} | {vs_x:.2f} |")
    print()
    for size, results in targets:
        kickgen, rss = results["kickgen iso"]
        floor = results["media MD5 + sha256 only"][0]
        cp_time, x_time = results["cp"][0], results["xorriso replay"][0]
        print(f"{size}: kickgen {kickgen:.2f} s; <= 1.2x cp ({1.2 * cp_time:.2f} s): "
              f"{'met' if kickgen <= 1.2 * cp_time else 'NOT met'}; <= 0.6x xorriso ({0.6 * x_time:.2f} s): "
              f"{'met' if kickgen <= 0.6 * x_time else 'NOT met'}; hashing alone takes {floor:.2f} s "
              f"({floor / cp_time:.2f}x cp); peak RSS {rss:.0f} MiB "
              f"({'met' if rss * 1.048576 <= 100 else 'NOT met'} <= 100 MB)")
    if len(targets) > 1:
        rss_all = [results["kickgen iso"][1] for _, results in targets]
        print(f"peak RSS from the smallest to the largest image: {rss_all[-1]:.0f} vs {rss_all[0]:.0f} MiB "
              f"({(rss_all[0] / rss_all[-1] - 1) * 100:+.1f}%; target within 10%)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
