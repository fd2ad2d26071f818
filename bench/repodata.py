"""How long embedding N RPMs takes: header reads + digest checks, and yum metadata generation.

    .venv/bin/python bench/repodata.py [--count 100] [--size-kib 256] [--keep DIR]

Builds COUNT real RPMs with rpmbuild (one spec, COUNT subpackages, each carrying SIZE_KIB of
random data so the digest checks have bytes to hash), then times kickgen's own steps:
`read_rpm` for every file (sha256 + the RPM's MD5/SHA digests), `render_repodata` (primary,
filelists, other, gzip, through createrepo_c's Python API) and `collect_embedded` (both, as
`kickgen iso` runs them). For comparison it also times createrepo_c's CLI with gzip metadata
on the same folder.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kickgen.offline.embed import collect_embedded  # noqa: E402
from kickgen.offline.repodata import render_repodata  # noqa: E402
from kickgen.offline.rpm import read_rpm  # noqa: E402


def build_rpms(folder: Path, count: int, size_kib: int, work: Path) -> list[Path]:
    lines = ["Name: bench", "Version: 1.0", "Release: 1.el6", "Summary: bench", "License: MIT",
             "BuildArch: x86_64", "%description", "bench"]
    for index in range(count):
        lines += [f"%package -n bench-pkg-{index:03d}", f"Summary: bench package {index}",
                  f"Requires: bench-pkg-{(index + 1) % count:03d}", f"Provides: bench-cap-{index}",
                  f"%description -n bench-pkg-{index:03d}", "bench"]
    lines += ["%install"]
    lines += [f"mkdir -p %{{buildroot}}/usr/share/bench-{i:03d} && "
              f"head -c {size_kib * 1024} /dev/urandom > %{{buildroot}}/usr/share/bench-{i:03d}/blob"
              for i in range(count)]
    for index in range(count):
        lines += [f"%files -n bench-pkg-{index:03d}", f"/usr/share/bench-{index:03d}"]
    spec = work / "bench.spec"
    spec.write_text("\n".join(lines) + "\n")
    subprocess.run(["rpmbuild", "-bb", "--quiet", "--define", f"_topdir {work / 'top'}",
                    "--define", f"_rpmdir {folder}",
                    "--define", "_build_name_fmt %%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm",
                    "--define", "_binary_payload w1.gzdio", "--define", "__os_install_post %{nil}",
                    "--define", "_build_id_links none", str(spec)], check=True)
    return sorted(folder.glob("bench-pkg-*.rpm"))


def timed(label: str, action):
    start = time.perf_counter()
    result = action()
    print(f"{label:<54} {time.perf_counter() - start:8.3f} s")
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--size-kib", type=int, default=256)
    parser.add_argument("--keep", type=Path, help="build the RPMs here and keep them")
    args = parser.parse_args()
    if shutil.which("rpmbuild") is None:
        print("bench: rpmbuild not found (Debian package 'rpm')", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="kickgen-bench-") as tmp:
        folder = args.keep or Path(tmp) / "rpms"
        folder.mkdir(parents=True, exist_ok=True)
        rpms = sorted(folder.glob("bench-pkg-*.rpm"))
        if len(rpms) != args.count:
            rpms = timed(f"rpmbuild {args.count} RPMs (setup, not kickgen)",
                         lambda: build_rpms(folder, args.count, args.size_kib, Path(tmp)))
        total = sum(p.stat().st_size for p in rpms)
        print(f"{len(rpms)} RPMs, {total / 2**20:.1f} MiB")
        packages = timed("read_rpm x N (headers + digests + sha256)",
                         lambda: [read_rpm(p) for p in rpms])
        files = timed("render_repodata (primary/filelists/other, gzip)",
                      lambda: render_repodata(packages))
        embedded = timed("collect_embedded (all of the above)",
                         lambda: collect_embedded({"bench": [folder]}))
        metadata = sum(len(data) for _, data in files)
        print(f"repodata: {len(files)} files, {metadata / 1024:.1f} KiB; "
              f"ISO grows by {embedded.size_added / 2**20:.1f} MiB")
        createrepo = Path(sys.executable).parent / "createrepo_c"
        if createrepo.exists():
            copy = Path(tmp) / "createrepo"
            shutil.copytree(folder, copy)
            timed("createrepo_c --general-compress-type=gz (reference)",
                  lambda: subprocess.run([str(createrepo), "-q", "--workers", "1",
                                          "--general-compress-type=gz", str(copy)], check=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
