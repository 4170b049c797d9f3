"""HTTP/2 flow-control windows: what each window size buys in upload rate and costs in memory.

Usage: .venv/bin/python bench/http2_windows.py [--rounds 3] [--size-mib 8]

A client may send a stream's request body only as far as the server's window lets it; the
server opens the window again as the handler takes the bytes. So one upload moves at most one
window per round trip, and one connection can make the server hold at most its connection
window of bytes the handler has not read. For each window setting (``http2_stream_window`` and
``http2_connection_window`` set alike, and ``http2_adaptive_window``), this measures:

- the rate of one upload over loopback, and over a 10 ms round trip (a relay in this script
  holds every chunk 5 ms each way: the machine's kernel has no netem), also with a body four
  times as large (an adaptive window grows during the upload);
- the rate of 16 uploads at once, over loopback;
- the server's RSS growth while 32 connections each send a body that a mounted ASGI app does
  not read for 2 s (what a slow or stalled receiver costs; a route's body is read whole before
  its handler runs, up to ``max_body_size``, so there the window bounds nothing).

and the same over HTTP/1.1 for reference.

Load: h2load (Debian's nghttp2-client) posting an ``--size-mib`` body over h2c, pinned to CPU 1
with the relay; the server (an app written here, reading ``request.stream()``) on CPU 0. Prints
a markdown table and writes it to bench/RESULTS-h2-windows.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from download import free_port, rss_kib, stop, wait_ready
from http2 import ensure_h2load

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "RESULTS-h2-windows.md"
KiB, MiB = 1024, 1024 * 1024
APP = """
import asyncio
from turboapi import FastAPI, Request

app = FastAPI()


@app.post("/upload")
async def upload(request: Request):
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
    return {"size": size}


async def stalled(scope, receive, send):
    # A mounted ASGI app gets its body as it arrives (a route's body is read whole first, up to
    # max_body_size, whatever the window): what a slow receiver leaves buffered is the window's.
    await asyncio.sleep(2)
    size, more = 0, True
    while more:
        message = await receive()
        size += len(message.get("body", b""))
        more = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": str(size).encode()})


app.mount("/stalled", stalled)
"""
#: (row name, TURBOAPI_* settings)
WINDOWS = [
    (
        label,
        {"TURBOAPI_HTTP2_ADAPTIVE_WINDOW": "0"}
        | dict.fromkeys(("TURBOAPI_HTTP2_STREAM_WINDOW", "TURBOAPI_HTTP2_CONNECTION_WINDOW"), str(size)),
    )
    for label, size in (
        ("64 KiB (HTTP/2's initial)", 65_535),
        ("256 KiB", 256 * KiB),
        ("1 MiB (hyper's default)", MiB),
        ("4 MiB", 4 * MiB),
        ("16 MiB", 16 * MiB),
    )
]
WINDOWS.append(("adaptive (BDP; the default)", {"TURBOAPI_HTTP2_ADAPTIVE_WINDOW": "1"}))
#: The reference: the same uploads over HTTP/1.1, where TCP's own windows govern.
HTTP1 = ("HTTP/1.1 (reference)", {"TURBOAPI_HTTP2": "0"})
RTT_MS = 10


def relay(listen: int, target: int, one_way: float) -> None:
    """Forward 127.0.0.1:listen to 127.0.0.1:target, holding every chunk ``one_way`` seconds."""

    class Half(asyncio.Protocol):
        def __init__(self) -> None:
            self.peer: asyncio.Transport | None = None
            self.early: list[bytes] = []
            self.transport: asyncio.Transport | None = None

        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.transport = transport  # type: ignore[assignment]

        def forward(self, call: str, *args: bytes) -> None:
            def run() -> None:
                if self.peer is not None and not self.peer.is_closing():
                    getattr(self.peer, call)(*args)

            asyncio.get_running_loop().call_later(one_way, run)

        def data_received(self, data: bytes) -> None:
            if self.peer is None:
                self.early.append(data)
            else:
                self.forward("write", data)

        def eof_received(self) -> bool:
            self.forward("write_eof")
            return True

        def connection_lost(self, exc: Exception | None) -> None:
            self.forward("close")

    async def accepted(client: asyncio.Transport, near: Half) -> None:
        far = Half()
        try:
            transport, _ = await asyncio.get_running_loop().create_connection(lambda: far, "127.0.0.1", target)
        except OSError:
            client.close()
            return
        far.peer, near.peer = client, transport  # type: ignore[assignment]
        for data in near.early:
            near.forward("write", data)

    class Listener(Half):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            super().connection_made(transport)
            asyncio.ensure_future(accepted(transport, self))  # type: ignore[arg-type]

    async def main() -> None:
        server = await asyncio.get_running_loop().create_server(Listener, "127.0.0.1", listen)
        await server.serve_forever()

    asyncio.run(main())


def h2load(
    tool: str, port: int, path: str, body: Path, connections: int, count: int, flags: list[str]
) -> tuple[float, int]:
    """Seconds for ``count`` uploads of ``body`` over ``connections`` (one stream each), and
    the number that did not succeed."""
    argv = ["taskset", "-c", "1", tool, *flags, "-c", str(connections), "-m", "1", "-t", "1", "-n", str(count)]
    argv += ["-d", str(body), "-H", "content-type: application/octet-stream", f"http://127.0.0.1:{port}{path}"]
    start = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    elapsed = time.perf_counter() - start
    succeeded = re.search(r"requests: .* (\d+) succeeded", done.stdout)
    return elapsed, count - (int(succeeded.group(1)) if succeeded else 0)


def measure(
    tool: str, app_dir: Path, settings: dict[str, str], flags: list[str], bodies: tuple[Path, Path], rounds: int
) -> dict[str, float]:
    body, long_body = bodies
    port, relay_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TURBOAPI_")} | settings
    env["PYTHONPATH"] = str(app_dir)
    env["TURBOAPI_MAX_BODY_SIZE"] = str(2 * long_body.stat().st_size)
    server = subprocess.Popen(
        ["taskset", "-c", "0", sys.executable, "-m", "turboapi", "run", "windows_app:app", "--port", str(port)],
        cwd=app_dir,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    delayed = subprocess.Popen(
        ["taskset", "-c", "1", sys.executable, __file__, "--relay", str(relay_port), str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    failed = 0
    try:
        wait_ready(port, time.monotonic() + 30)
        wait_ready(relay_port, time.monotonic() + 30)
        # First, on a fresh server: the rate runs would grow its heap past what this needs.
        before = rss_kib(server.pid)
        probe = subprocess.Popen(
            ["taskset", "-c", "1", tool, *flags, "-c", "32", "-m", "1", "-t", "1", "-n", "32", "-d", str(body),
             f"http://127.0.0.1:{port}/stalled/"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        peak = before
        while probe.poll() is None:
            peak = max(peak, rss_kib(server.pid))
            time.sleep(0.05)
        stalled_rss = (peak - before) / 1024
        h2load(tool, port, "/upload", body, 1, 2, flags)  # warm-up

        def rate(target: int, connections: int, count: int, body: Path = body) -> float:
            nonlocal failed
            runs = []
            size = body.stat().st_size
            for _ in range(rounds):
                elapsed, bad = h2load(tool, target, "/upload", body, connections, count, flags)
                failed += bad
                runs.append(count * size / MiB / elapsed)
            return statistics.median(runs)

        result = {
            "loopback": rate(port, 1, 4),
            "rtt": rate(relay_port, 1, 2),
            "rtt_long": rate(relay_port, 1, 1, long_body),
            "parallel": rate(port, 16, 32),
            "stalled_rss": stalled_rss,
        }
    finally:
        stop(server)
        stop(delayed)
    result["failed"] = failed
    return result


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--relay":
        relay(int(sys.argv[2]), int(sys.argv[3]), RTT_MS / 2000)
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--size-mib", type=int, default=8)
    args = parser.parse_args()
    tool = ensure_h2load()
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as folder:
        app_dir = Path(folder)
        (app_dir / "windows_app.py").write_text(APP)
        bodies = (app_dir / "body.bin", app_dir / "long.bin")
        bodies[0].write_bytes(os.urandom(args.size_mib * MiB))
        bodies[1].write_bytes(os.urandom(4 * args.size_mib * MiB))
        rows = []
        for name, settings in [*WINDOWS, HTTP1]:
            print(f"{name} ...", file=sys.stderr)
            flags = ["--h1"] if (name, settings) == HTTP1 else []
            rows.append((name, measure(tool, app_dir, settings, flags, bodies, args.rounds)))
    lines = [
        "# HTTP/2 flow-control windows (`make bench-h2-windows`)",
        "",
        f"POST of a {args.size_mib} MiB body over h2c, read by the handler with `request.stream()`; "
        f"median of {args.rounds} runs; server on CPU 0, h2load and the relay on CPU 1; "
        f"{time.monotonic() - started:.0f} s in all. Stream and connection windows set alike.",
        "",
        f"| window | 1 upload, loopback (MiB/s) | 1 upload, {RTT_MS} ms RTT (MiB/s) "
        f"| 1 upload of {4 * args.size_mib} MiB, {RTT_MS} ms RTT (MiB/s) | 16 uploads, loopback (MiB/s) "
        "| RSS growth, 32 stalled uploads (MiB) | failed |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, r in rows:
        lines.append(
            f"| {name} | {r['loopback']:,.0f} | {r['rtt']:,.1f} | {r['rtt_long']:,.1f} | {r['parallel']:,.0f} "
            f"| {r['stalled_rss']:,.1f} | {r['failed']:.0f} |"
        )
    text = "\n".join(lines) + "\n"
    print(text)
    RESULTS.write_text(text)


if __name__ == "__main__":
    main()
