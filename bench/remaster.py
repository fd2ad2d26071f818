"""Benchmark: `kickgen iso` against `cp` and an xorriso replay, on CentOS-layout images.

    .venv/bin/python bench/remaster.py [--sizes 4096,1024] [--runs 5] [--files 6000] [--keep]

For each size (MiB) it builds, under build/bench-remaster/, a hybrid BIOS+UEFI image laid out
like the CentOS 6.5 DVD (mkisofs -U -J -R -T, isohybrid --uefi) with about 6,000 package-sized
files (a repeated random pattern: real blocks, since cp skips zero blocks), then times, median of N runs, with the peak RSS of each:
  kickgen iso  standin-docker --base BASE -o OUT --ks KS --quiet
  cp           BASE OUT
  xorriso      -indev BASE -outdev OUT -boot_image any replay -map KS /ks.cfg   (lorax mkksiso)
Caches are warm (the base is read once before timing); outputs are deleted between runs.
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


def bench(base: Path, runs: int) -> dict[str, tuple[float, float]]:
    ks = WORK / "ks.cfg"
    ks.write_text(subprocess.run([str(KICKGEN), "render", "standin-docker"], capture_output=True,
                                 text=True, check=True).stdout)
    out = WORK / "out.iso"
    commands = {
        "kickgen iso": [str(KICKGEN), "iso", "standin-docker", "--base", str(base), "-o", str(out),
                        "--ks", str(ks), "--quiet"],
        "cp": ["cp", str(base), str(out)],
        "xorriso replay": ["xorriso", "-indev", str(base), "-outdev", str(out), "-boot_image", "any",
                           "replay", "-map", str(ks), "/ks.cfg"],
    }
    subprocess.run(["cat", str(base)], stdout=subprocess.DEVNULL, check=True)   # warm the page cache
    results = {}
    for name, argv in commands.items():
        times, rss = [], []
        for _ in range(runs):
            for leftover in (out, out.with_name(out.name + ".json")):
                leftover.unlink(missing_ok=True)
            seconds, peak = timed(argv)
            times.append(seconds)
            rss.append(peak)
        results[name] = (statistics.median(times), max(rss) / 1024)
    for leftover in (out, out.with_name(out.name + ".json")):
        leftover.unlink(missing_ok=True)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="4096,1024", help="image sizes in MiB (comma separated)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--files", type=int, default=6000)
    parser.add_argument("--keep", action="store_true", help="keep the base images for the next run")
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    rows = []
    for size in [int(s) for s in args.sizes.split(",")]:
        base = build_base(size, args.files)
        results = bench(base, args.runs)
        cp_time = results["cp"][0]
        xorriso_time = results["xorriso replay"][0]
        for name, (seconds, rss) in results.items():
            rows.append((f"{base.stat().st_size / 2**30:.2f} GiB", name, seconds, rss,
                         seconds / cp_time, seconds / xorriso_time))
        if not args.keep:
            base.unlink()
    print(f"median of {args.runs} runs, {args.files} files, warm page cache, {os.cpu_count()} CPUs")
    print(f"| image | command | median s | peak RSS MiB | x cp | x xorriso |")
    print(f"|---|---|---:|---:|---:|---:|")
    for size, name, seconds, rss, vs_cp, vs_x in rows:
        print(f"| {size} | {name} | {seconds:.2f} | {rss:.0f} | {vs_cp:.2f} | {vs_x:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
