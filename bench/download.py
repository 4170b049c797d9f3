"""Download benchmark: a 100 MiB FileResponse from turboapi and from FastAPI on uvicorn, same sitting.

Usage: .venv/bin/python bench/download.py [--size-mib 100] [--rounds 5]

Each server runs the same app (a route returning ``FileResponse`` of a temporary file), pinned to
CPU 0; the client (this script, reading with a plain socket into a reused buffer) is pinned to
CPU 1. Reported per server: the median transfer rate over the rounds (MiB/s), the server's CPU
seconds per GiB sent, and its peak RSS growth while serving. Bounded: ``rounds`` downloads per
server, each with a timeout. Prints a markdown table (paste it into bench/RESULTS.md).
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
APP = """
import os, sys
from {framework} import FastAPI
from {framework}.responses import FileResponse
app = FastAPI()
PATH = os.environ["BENCH_FILE"]

@app.get("/file")
def file():
    return FileResponse(PATH)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def wait_ready(port: int, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            socket.create_connection((HOST, port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"server on port {port} did not start")


def stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL if the server has not gone within 10 s."""
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def download(port: int, size: int, timeout: float) -> float:
    """Seconds to GET /file and read it to the end (headers included)."""
    buffer = bytearray(1 << 20)
    start = time.perf_counter()
    with socket.create_connection((HOST, port), timeout=timeout) as s:
        s.sendall(b"GET /file HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")
        received = 0
        while True:
            n = s.recv_into(buffer)
            if n == 0:
                break
            received += n
    elapsed = time.perf_counter() - start
    if received < size:
        raise RuntimeError(f"short download: {received} of {size} bytes")
    return elapsed


def measure(name: str, argv: list[str], env: dict[str, str], size: int, rounds: int) -> dict[str, float]:
    port = free_port()
    proc = subprocess.Popen(
        ["taskset", "-c", "0", *[a.format(port=port) for a in argv]],
        env=env,
        cwd=env["BENCH_DIR"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_ready(port, time.monotonic() + 30)
        download(port, size, 60)  # warm-up (page cache, first request)
        rss_before = rss_kib(proc.pid)
        cpu_before = cpu_seconds(proc.pid)
        peak = rss_before
        times = []
        for _ in range(rounds):
            times.append(download(port, size, 60))
            peak = max(peak, rss_kib(proc.pid))
        cpu = cpu_seconds(proc.pid) - cpu_before
    finally:
        stop(proc)
    mib = size / (1 << 20)
    return {
        "rate": mib / statistics.median(times),
        "cpu_per_gib": cpu / (rounds * size / (1 << 30)),
        "rss_growth": (peak - rss_before) / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    os.sched_setaffinity(0, {1})
    size = args.size_mib << 20
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "big.bin"
        with data.open("wb") as f:
            for _ in range(args.size_mib):
                f.write(os.urandom(1 << 20))
        results = {}
        uvicorn = [sys.executable, "-m", "uvicorn", "app_fastapi:app", "--port", "{port}", "--log-level", "warning"]
        for framework, argv in (
            ("turboapi", [sys.executable, "-m", "turboapi", "run", "app_turboapi:app", "--port", "{port}"]),
            ("fastapi", uvicorn),
        ):
            (Path(tmp) / f"app_{framework}.py").write_text(APP.format(framework=framework))
            env = {**os.environ, "BENCH_FILE": str(data), "BENCH_DIR": tmp, "PYTHONPATH": tmp}
            results[framework] = measure(framework, argv, env, size, args.rounds)
    ours, theirs = results["turboapi"], results["fastapi"]
    title = f"server ({args.size_mib} MiB file, {args.rounds} rounds)"
    print(f"| {title} | MiB/s (median) | CPU s per GiB | peak RSS growth MiB |")
    print("| --- | ---: | ---: | ---: |")
    for name, r in (("turboapi", ours), ("FastAPI on uvicorn", theirs)):
        print(f"| {name} | {r['rate']:,.0f} | {r['cpu_per_gib']:.2f} | {r['rss_growth']:.1f} |")
    print(f"\nturboapi / FastAPI: {ours['rate'] / theirs['rate']:.2f}x the rate")


if __name__ == "__main__":
    main()
