"""Benchmark: `kickgen serve` (the install tree straight out of a 4 GB ISO) against nginx (the tree
extracted), 50 clients each reading a different 100 MB range, a kickstart request every 50 ms.

    .venv/bin/python bench/serve_bench.py [--clients 50] [--range-mb 100] [--runs 5] [--size-gb 4]

Once (cached under $KICKGEN_CACHE_DIR/bench, else ~/.cache/kickgen/bench): a tree with one
4 GB file of real, non-zero bytes (a 1 MiB random block, each copy stamped with its number), an
ISO made of it with xorriso (Rock Ridge + Joliet, ISO 9660 level 3), and the file extracted
from that ISO with xorriso for nginx. Free disk space is checked first. Then a netboot tree by
hand (the issue-14 contract: kickgen-netboot.json, http/hosts/bench1/ks.cfg, the ISO by path),
and per run, for each server in turn (fresh process, warm page cache):

  kickgen   `kickgen serve DIR --quiet` (its default workers)
  nginx     Debian's nginx, started here with its own config on 127.0.0.1: sendfile on,
            worker_processes auto, the extracted file under /tree/, the kickstart under /hosts/

50 clients (asyncio, spread over one process per CPU: recv_into one buffer, nothing kept) read
one range each over one connection; meanwhile the main process fetches the kickstart every 50 ms on a new
connection and times it. Printed: total MB/s (10^6 bytes) from the first request to the last
byte, p50/p99 kickstart latency, the server's peak RSS (VmHWM of /proc/PID/status; nginx: the
sum over master and workers), the medians over the runs, and the goals (kickgen >= 80% of
nginx's MB/s, kickgen RSS < 150 MB). Before the load, sample ranges from both servers are
compared with the extracted file, byte for byte.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from kickgen.core.resources import cache_dir

KICKGEN = Path(sys.executable).parent / "kickgen"
BLOCK = 1 << 20
ISO_PATH = "/data/big.img"


# --- media -------------------------------------------------------------------------------------

def build_media(work: Path, size: int) -> tuple[Path, Path]:
    """(ISO, extracted tree) for a SIZE-byte file, made once."""
    iso = work / f"bench-{size}.iso"
    extracted = work / f"extracted-{size}"
    big = extracted / ISO_PATH.lstrip("/")
    if iso.exists() and big.exists() and big.stat().st_size == size:
        return iso, extracted
    need = 2 * size + (1 << 30) - (iso.stat().st_size if iso.exists() else 0)
    free = shutil.disk_usage(work).free
    if free < need:
        raise SystemExit(f"bench: needs {need / 1e9:.1f} GB free under {work} for the ISO and its extracted "
                         f"copy, has {free / 1e9:.1f} GB; set KICKGEN_CACHE_DIR to a bigger disk")
    source = work / f"source-{size}"
    shutil.rmtree(source, ignore_errors=True)
    (source / "data").mkdir(parents=True)
    print(f"bench: writing a {size / 1e9:.1f} GB file, an ISO of it and its extraction (once) ...", flush=True)
    pattern = bytearray(os.urandom(BLOCK))
    with open(source / ISO_PATH.lstrip("/"), "wb") as f:
        left, n = size, 0
        while left:
            pattern[:8] = n.to_bytes(8, "little")            # every MiB differs from the others
            take = min(left, BLOCK)
            f.write(memoryview(pattern)[:take])
            left -= take
            n += 1
    (source / ".treeinfo").write_text("[general]\nfamily = bench\n")
    tmp = iso.with_suffix(".tmp")
    subprocess.run(["xorriso", "-as", "mkisofs", "-quiet", "-R", "-J", "-iso-level", "3", "-V", "KGBENCH",
                    "-o", str(tmp), str(source)], check=True, capture_output=True)
    shutil.rmtree(source)
    os.replace(tmp, iso)
    shutil.rmtree(extracted, ignore_errors=True)
    big.parent.mkdir(parents=True)
    subprocess.run(["xorriso", "-osirrox", "on", "-indev", str(iso), "-extract", ISO_PATH, str(big)],
                   check=True, capture_output=True)
    (extracted / ".treeinfo").write_text("[general]\nfamily = bench\n")
    return iso, extracted


def make_netboot(root: Path, iso: Path) -> Path:
    ks = root / "http" / "hosts" / "bench1" / "ks.cfg"
    ks.parent.mkdir(parents=True, exist_ok=True)
    ks.write_text("# bench kickstart\n" + "# filler line of a real kickstart's size\n" * 100)
    manifest = {"kickgen": "bench", "server_url": "http://127.0.0.1:8123",
                "base_iso": {"path": str(iso), "sha256": "", "volume_id": "KGBENCH"},
                "inventory": {"path": "", "sha256": ""}, "tree": "iso",
                "hosts": [{"name": "bench1", "mac": "52:54:00:be:4c:01", "profile": "bench", "address": None,
                           "kickstart": "http/hosts/bench1/ks.cfg",
                           "kickstart_sha256": hashlib.sha256(ks.read_bytes()).hexdigest(),
                           "kernel_args": "", "pxelinux_config": "", "efi_config": None,
                           "expect": {}, "allow_unsigned": []}], "files": []}
    (root / "kickgen-netboot.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return root


# --- servers -----------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(port: int, proc: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"bench: the server exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"bench: nothing listens on port {port} after {seconds} s")


class Server:
    name = ""

    def __init__(self) -> None:
        self.proc: subprocess.Popen | None = None
        self.port = 0

    def pids(self) -> list[int]:
        assert self.proc is not None
        pids = [self.proc.pid]
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        if children.exists():
            pids += [int(p) for p in children.read_text().split()]
        return pids

    def peak_rss_mib(self) -> float:
        total = 0
        for pid in self.pids():
            status = Path(f"/proc/{pid}/status").read_text()
            total += int(re.search(r"^VmHWM:\s+(\d+) kB", status, re.M).group(1))
        return total / 1024

    def cpu_seconds(self) -> float:
        """User + system CPU time of the server's processes so far."""
        ticks = os.sysconf("SC_CLK_TCK")
        total = 0
        for pid in self.pids():
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        return total / ticks

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class KickgenServer(Server):
    name = "kickgen"

    def __init__(self, netboot: Path, workers: int | None):
        super().__init__()
        self.netboot, self.workers = netboot, workers

    def start(self) -> None:
        self.port = free_port()
        argv = [str(KICKGEN), "serve", str(self.netboot), "--listen", f"127.0.0.1:{self.port}", "--quiet"]
        if self.workers:
            argv += ["--workers", str(self.workers)]
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_listening(self.port, self.proc)


NGINX_CONF = """\
{user}
worker_processes auto;
pid {prefix}/nginx.pid;
daemon off;
error_log {prefix}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_timeout 20;
    client_body_temp_path {prefix}/client;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    default_type application/octet-stream;
    server {{
        listen 127.0.0.1:{port};
        location /tree/ {{ alias {tree}/; }}
        location /hosts/ {{ alias {hosts}/; }}
    }}
}}
"""


class NginxServer(Server):
    name = "nginx"

    def __init__(self, extracted: Path, netboot: Path, prefix: Path):
        super().__init__()
        self.extracted, self.netboot, self.prefix = extracted, netboot, prefix

    def start(self) -> None:
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        self.port = free_port()
        conf = self.prefix / "nginx.conf"
        conf.write_text(NGINX_CONF.format(user="user root;" if os.geteuid() == 0 else "", prefix=self.prefix,
                                          port=self.port, tree=self.extracted,
                                          hosts=self.netboot / "http" / "hosts"))
        check = subprocess.run([nginx, "-t", "-q", "-c", str(conf), "-p", str(self.prefix), "-e",
                                str(self.prefix / "error.log")], capture_output=True, text=True)
        if check.returncode != 0:
            raise SystemExit(f"bench: nginx -t: {check.stderr.strip()}")
        self.proc = subprocess.Popen([nginx, "-c", str(conf), "-p", str(self.prefix), "-e",
                                      str(self.prefix / "error.log")],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_listening(self.port, self.proc)
        time.sleep(0.3)                                   # the workers are up too


# --- clients -----------------------------------------------------------------------------------

def http_get(port: int, target: str, headers: str = "") -> tuple[int, bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(f"GET {target} HTTP/1.1\r\nHost: bench\r\n{headers}Connection: close\r\n\r\n".encode())
        data = b""
        while chunk := sock.recv(1 << 16):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


async def read_range(port: int, start: int, length: int, buffer: bytearray) -> tuple[int, float, float]:
    """One client: GET the range over one connection, read it into BUFFER (nothing kept);
    (bytes of the body, start time, end time)."""
    import asyncio

    loop = asyncio.get_running_loop()
    began = time.monotonic()
    sock = socket.socket()
    sock.setblocking(False)
    try:
        await loop.sock_connect(sock, ("127.0.0.1", port))
        await loop.sock_sendall(sock, f"GET /tree{ISO_PATH} HTTP/1.1\r\nHost: bench\r\nRange: bytes={start}-"
                                      f"{start + length - 1}\r\nConnection: close\r\n\r\n".encode())
        head = b""
        while b"\r\n\r\n" not in head:
            got = await loop.sock_recv(sock, 4096)
            if not got:
                raise RuntimeError("connection closed in the headers")
            head += got
        header, _, rest = head.partition(b"\r\n\r\n")
        if not header.startswith(b"HTTP/1.1 206"):
            raise RuntimeError(header[:100])
        total = len(rest)
        while got := await loop.sock_recv_into(sock, buffer):
            total += got
    finally:
        sock.close()
    return total, began, time.monotonic()


def load_process(port: int, ranges: list[tuple[int, int]], queue) -> None:
    """Some of the clients, on one asyncio loop (no GIL between them); the results to QUEUE."""
    import asyncio

    async def main() -> list:
        buffer = bytearray(1 << 20)          # shared: the bytes are thrown away
        return list(await asyncio.gather(*(read_range(port, a, n, buffer) for a, n in ranges)))

    queue.put(asyncio.run(main()))


def kickstart_prober(port: int, stop: threading.Event, latencies: list[tuple[float, float]], interval: float) -> None:
    target = "/hosts/bench1/ks.cfg"
    next_at = time.monotonic()
    while not stop.is_set():
        began = time.monotonic()
        status, body = http_get(port, target)
        if status != 200 or not body.startswith(b"# bench kickstart"):
            raise RuntimeError(f"kickstart request answered {status}")
        latencies.append((began, time.monotonic() - began))
        next_at += interval
        stop.wait(max(0.0, next_at - time.monotonic()))


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def one_run(server: Server, ranges: list[tuple[int, int]], interval: float, procs: int) -> dict:
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    stop = threading.Event()
    latencies: list[tuple[float, float]] = []
    prober = threading.Thread(target=kickstart_prober, args=(server.port, stop, latencies, interval))
    shares = [ranges[i::procs] for i in range(procs)]
    loads = [ctx.Process(target=load_process, args=(server.port, share, queue)) for share in shares if share]
    prober.start()
    time.sleep(0.2)
    for load in loads:
        load.start()
    results = [r for _ in loads for r in queue.get(timeout=600)]
    for load in loads:
        load.join()
    stop.set()
    prober.join()
    total = sum(r[0] for r in results)
    expected = sum(n for _, n in ranges)
    if total != expected:
        raise SystemExit(f"bench: {server.name}: {total} bytes read, {expected} expected")
    first, last = min(r[1] for r in results), max(r[2] for r in results)
    during = [latency for began, latency in latencies if first <= began <= last]     # while the load ran
    seconds = last - first
    return {"mbps": total / seconds / 1e6, "p50": percentile(during, 50) * 1000,
            "p99": percentile(during, 99) * 1000, "seconds": seconds, "samples": len(during)}


def check_same_bytes(servers: list[Server], extracted: Path, size: int) -> None:
    big = extracted / ISO_PATH.lstrip("/")
    with open(big, "rb") as f:
        for start in (0, size // 3 + 12345, size - 5000):
            f.seek(start)
            want = f.read(4096)
            for server in servers:
                status, body = http_get(server.port, f"/tree{ISO_PATH}", f"Range: bytes={start}-{start + 4095}\r\n")
                if status != 206 or body != want:
                    raise SystemExit(f"bench: {server.name} served other bytes at {start} (status {status})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-gb", type=float, default=4.0, help="size of the big file in GB (10^9)")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--range-mb", type=int, default=100, help="MB (10^6) each client reads")
    parser.add_argument("--interval", type=float, default=0.05, help="seconds between kickstart requests")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--workers", type=int, help="kickgen serve --workers (default: its own)")
    parser.add_argument("--client-procs", type=int, default=os.cpu_count() or 2,
                        help="client processes the connections are spread over (default: one per CPU)")
    parser.add_argument("--servers", default="kickgen,nginx", help="which servers to run (comma separated)")
    args = parser.parse_args()
    size = int(args.size_gb * 1e9)
    work = cache_dir("bench")
    work.mkdir(parents=True, exist_ok=True)
    iso, extracted = build_media(work, size)
    load_before = os.getloadavg()[0]
    length = args.range_mb * 10**6
    step = (size - length) // max(1, args.clients - 1)
    ranges = [(i * step, length) for i in range(args.clients)]
    for path in (iso, extracted / ISO_PATH.lstrip("/")):                    # warm page cache for both
        subprocess.run(["cat", str(path)], stdout=subprocess.DEVNULL, check=True)
    with tempfile.TemporaryDirectory(prefix="kickgen-serve-bench-") as tmp:
        netboot = make_netboot(Path(tmp) / "netboot", iso)
        (Path(tmp) / "nginx").mkdir()
        makers = {"kickgen": lambda: KickgenServer(netboot, args.workers),
                  "nginx": lambda: NginxServer(extracted, netboot, Path(tmp) / "nginx")}
        makers = {name: make for name, make in makers.items() if name in args.servers.split(",")}
        runs: dict[str, list[dict]] = {name: [] for name in makers}
        both = [make() for make in makers.values()]
        try:
            for server in both:
                server.start()
            check_same_bytes(both, extracted, size)
        finally:
            for server in both:
                server.stop()
        for _ in range(args.runs):                # round robin, a fresh server each run
            for name, make in makers.items():
                server = make()
                try:
                    server.start()
                    cpu = server.cpu_seconds()
                    result = one_run(server, ranges, args.interval, args.client_procs)
                    result["cpu"] = server.cpu_seconds() - cpu
                    result["rss"] = server.peak_rss_mib()
                finally:
                    server.stop()
                runs[name].append(result)
    load = os.getloadavg()[0]
    print(f"{args.clients} clients x {args.range_mb} MB ranges of a {iso.stat().st_size / 1e9:.2f} GB ISO "
          f"(nginx: the extracted file), a kickstart request every {args.interval * 1000:.0f} ms; "
          f"median of {args.runs} runs; {os.cpu_count()} CPUs, warm page cache; load average before "
          f"{load_before:.1f}, after {load:.1f}")
    print("| server | total MB/s | kickstart p50 ms | kickstart p99 ms | peak RSS MiB | server CPU s/GB |")
    print("|---|---:|---:|---:|---:|---:|")
    medians = {}
    for name, results in runs.items():
        med = {k: statistics.median(r[k] for r in results) for k in ("mbps", "p50", "p99", "rss")}
        med["cpu"] = statistics.median(r["cpu"] / (r["mbps"] * r["seconds"] / 1000) for r in results)
        medians[name] = med
        print(f"| {name} | {med['mbps']:.0f} | {med['p50']:.1f} | {med['p99']:.1f} | {med['rss']:.1f} "
              f"| {med['cpu']:.2f} |")
    print("runs (MB/s): " + "; ".join(f"{n}: " + ", ".join(f"{r['mbps']:.0f}" for r in rs) for n, rs in runs.items()))
    if set(medians) != {"kickgen", "nginx"}:
        return 0
    ratio = medians["kickgen"]["mbps"] / medians["nginx"]["mbps"]
    rss_mb = medians["kickgen"]["rss"] * 1.048576
    print(f"kickgen/nginx: {ratio * 100:.0f}% (goal >= 80%: {'met' if ratio >= 0.8 else 'NOT met'}); "
          f"kickgen peak RSS {rss_mb:.0f} MB (goal < 150 MB: {'met' if rss_mb < 150 else 'NOT met'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
