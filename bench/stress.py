"""Load held (issue 7, part 1): `make stress`.

1. c=1000 for --seconds (default 60) on GET /json, GET /items/42?q=hello, POST /items and
   GET /sleep (10 ms) of examples/demo.py, with wrk: requests/s, p99, errors (must be zero).
2. 10,000 idle keep-alive connections: each sends a request, all stay open and idle for
   --idle-seconds, while wrk at c=64 checks the server still serves; then every one sends a
   second request on the same connection. Reports the connections held, the answers, the RSS.
3. The connection limit: a server with max_connections=100 and 400 clients at once (each one
   request, then close): every client is answered, the extra ones after waiting; none refused.

Server pinned to CPU 0, load to CPU 1; everything on 127.0.0.1, bounded in time. Prints markdown
and writes it to the `stress` block of bench/RESULTS.md. Exit status 1 if any check failed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import results_blocks
from download import free_port, wait_ready
from run import ensure_wrk

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
HOST = "127.0.0.1"
ROUTES = [
    ("GET /json", "/json", None),
    ("GET /items/42?q=hello", "/items/42?q=hello", None),
    ("POST /items", "/items", BENCH / "post_items.lua"),
    ("GET /sleep (10 ms)", "/sleep", None),
]


def start_server(env: dict[str, str]) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    proc = subprocess.Popen(
        ["taskset", "-c", "0", sys.executable, str(REPO / "examples" / "demo.py"), "--host", HOST, "--port", str(port)],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    wait_ready(port, time.monotonic() + 30)
    return proc, port


def stop_server(proc: subprocess.Popen[bytes]) -> str:
    """Stop it; its stderr (a crash or a panic shows there)."""
    proc.terminate()
    try:
        _, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
    return err.decode(errors="replace")


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def wrk(port: int, path: str, conns: int, seconds: float, script: Path | None) -> dict[str, float]:
    argv = ["taskset", "-c", "1", "wrk", "-t2", f"-c{conns}", f"-d{max(1, round(seconds))}s", "--timeout", "10s"]
    argv += ["-s", str(script or BENCH / "wrk_stats.lua"), f"http://{HOST}:{port}{path}"]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60, check=True).stdout
    line = next(line for line in out.splitlines() if line.startswith("BENCH_STATS "))
    stats = json.loads(line.removeprefix("BENCH_STATS "))
    stats["rps"] = stats["requests"] / (stats["duration_us"] / 1e6)
    stats["errors"] = sum(stats[k] for k in ("connect", "read", "write", "timeout", "status"))
    return stats


# -- 10,000 idle keep-alive connections -------------------------------------------------------------
REQUEST = b"GET /json HTTP/1.1\r\nHost: stress\r\n\r\n"


async def one_response(reader: asyncio.StreamReader) -> bool:
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    await reader.readexactly(length)
    return head.startswith(b"HTTP/1.1 200")


async def hold_idle(port: int, count: int, idle: float, during: object) -> dict[str, object]:
    connections: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
    failures = 0
    started = time.monotonic()
    for batch in range(0, count, 500):
        opened = await asyncio.gather(
            *(asyncio.open_connection(HOST, port) for _ in range(min(500, count - batch))), return_exceptions=True
        )
        for item in opened:
            if isinstance(item, BaseException):
                failures += 1
            else:
                connections.append(item)

    async def ask(pair: tuple[asyncio.StreamReader, asyncio.StreamWriter]) -> bool:
        reader, writer = pair
        try:
            writer.write(REQUEST)
            await writer.drain()
            return await asyncio.wait_for(one_response(reader), 30)
        except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError):
            return False

    first = await asyncio.gather(*(ask(pair) for pair in connections))
    opened_in = time.monotonic() - started
    # Idle, all of them, while another client checks that the server serves.
    during_result = await asyncio.get_running_loop().run_in_executor(None, during)
    await asyncio.sleep(max(0.0, idle - during_result.pop("_seconds", 0.0)))
    second = await asyncio.gather(*(ask(pair) for pair in connections))
    for _, writer in connections:
        writer.close()
    return {
        "opened": len(connections),
        "open_failures": failures,
        "first_ok": sum(first),
        "second_ok": sum(second),
        "opened_in": opened_in,
        "during": during_result,
    }


# -- the connection limit --------------------------------------------------------------------------
async def limited_clients(port: int, clients: int) -> dict[str, int]:
    async def client() -> str:
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(HOST, port), 30)
            writer.write(b"GET /json HTTP/1.1\r\nHost: stress\r\nConnection: close\r\n\r\n")
            await writer.drain()
            ok = await asyncio.wait_for(one_response(reader), 30)
            writer.close()
            return "answered" if ok else "bad status"
        except ConnectionRefusedError:
            return "refused"
        except (TimeoutError, OSError, asyncio.IncompleteReadError) as exc:
            return type(exc).__name__

    outcomes = await asyncio.gather(*(client() for _ in range(clients)))
    counts: dict[str, int] = {}
    for outcome in outcomes:
        counts[outcome] = counts.get(outcome, 0) + 1
    return counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="per route at c=1000")
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--idle", type=int, default=10000, help="idle keep-alive connections to hold")
    parser.add_argument("--idle-seconds", type=float, default=15.0)
    args = parser.parse_args()
    ensure_wrk()
    os.sched_setaffinity(0, {1})
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    failed: list[str] = []
    lines = [
        "## Reliability: load held (`make stress`)",
        "",
        f"- {results_blocks.stamp()}; examples/demo.py with its defaults, server on CPU 0, wrk/clients on CPU 1, "
        f"file limit {hard}",
        "",
        "| route | c | seconds | req/s | p99 ms | errors (connect/read/write/timeout/status) |",
        "| --- | ---: | ---: | ---: | ---: | --- |",
    ]
    # 1. c=1000 on each route.
    proc, port = start_server({})
    try:
        for name, path, script in ROUTES:
            s = wrk(port, path, args.connections, args.seconds, script)
            errs = "/".join(str(s[k]) for k in ("connect", "read", "write", "timeout", "status"))
            p99 = s["p99_us"] / 1000
            lines.append(f"| {name} | {args.connections} | {args.seconds:.0f} | {s['rps']:,.0f} | {p99:.1f} | {errs} |")
            print(lines[-1], file=sys.stderr)
            if s["errors"] or proc.poll() is not None:
                failed.append(f"{name}: {s['errors']} errors")
    finally:
        err = stop_server(proc)
    if "panicked" in err:
        failed.append("a panic in the server's output")

    # 2. 10,000 idle keep-alive connections. The keep-alive timeout is raised above the idle time,
    # and the header read timeout with it: hyper's head timer also runs while a connection waits
    # for its next request, so the shorter of the two bounds an idle connection.
    longer = str(args.idle_seconds + 60)
    proc, port = start_server({"TURBOAPI_KEEP_ALIVE_TIMEOUT": longer, "TURBOAPI_HEADER_READ_TIMEOUT": longer})
    try:
        rss_before = rss_mib(proc.pid)

        def during() -> dict[str, float]:
            t0 = time.monotonic()
            s = wrk(port, "/json", 64, 5, None)
            return {
                "rps": s["rps"],
                "errors": s["errors"],
                "p99_ms": s["p99_us"] / 1000,
                "_seconds": time.monotonic() - t0,
            }

        held = asyncio.run(hold_idle(port, args.idle, args.idle_seconds, during))
        rss_held = rss_mib(proc.pid)
    finally:
        err = stop_server(proc)
    during_stats = held["during"]
    lines += [
        "",
        f"Idle keep-alive: {held['opened']:,} of {args.idle:,} connections opened ({held['open_failures']} failed) "
        f"in {held['opened_in']:.1f} s; {held['first_ok']:,} answered their first request; held idle "
        f"{args.idle_seconds:.0f} s, meanwhile wrk c=64 got {during_stats['rps']:,.0f} req/s with "
        f"{during_stats['errors']} errors (p99 {during_stats['p99_ms']:.1f} ms); then {held['second_ok']:,} answered a "
        f"second request on the same connection. Server RSS {rss_before:.0f} MiB before, {rss_held:.0f} MiB "
        f"holding them ({(rss_held - rss_before) * 1024 / max(1, held['opened']):.1f} KiB per connection).",
    ]
    if held["second_ok"] != args.idle or held["first_ok"] != args.idle or during_stats["errors"]:
        failed.append("idle keep-alive connections")
    if "panicked" in err:
        failed.append("a panic in the server's output")

    # 3. The connection limit.
    proc, port = start_server({"TURBOAPI_MAX_CONNECTIONS": "100"})
    try:
        started = time.monotonic()
        counts = asyncio.run(limited_clients(port, 400))
        elapsed = time.monotonic() - started
        alive = proc.poll() is None
    finally:
        err = stop_server(proc)
    lines += [
        "",
        f"Connection limit: max_connections=100, 400 clients at once (one request each, then close): "
        f"{', '.join(f'{v} {k}' for k, v in sorted(counts.items()))} in {elapsed:.1f} s; the server "
        + ("kept running." if alive else "DIED."),
    ]
    if counts.get("answered") != 400 or not alive:
        failed.append("connection limit")
    return results_blocks.report("stress", lines, failed)


if __name__ == "__main__":
    sys.exit(main())
