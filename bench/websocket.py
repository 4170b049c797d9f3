"""WebSocket echo benchmark: turboapi against FastAPI on uvicorn (websockets), same sitting.

Usage: .venv/bin/python bench/websocket.py [--seconds 5] [--connections 1,64,200] [--size 64]

Each server runs the same app (``@app.websocket("/echo")`` sending back every text message),
pinned to CPU 0; the load generator (bench/ws_load, Rust, one thread) is pinned to CPU 1. Each
connection sends a message and waits for its echo, over and over, for ``--seconds``. Reported:
echoed messages per second, p50/p99 round trip, errors, and the ratio to FastAPI. The servers
alternate per connection count, so both meet the same machine load. Prints a markdown table
(paste it into bench/RESULTS.md).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from download import free_port, stop, wait_ready

REPO = Path(__file__).resolve().parent.parent
CRATE = REPO / "bench" / "ws_load"
BINARY = REPO / "target" / "release" / "ws_load"
APP = """
from {framework} import FastAPI, WebSocket, WebSocketDisconnect

app = FastAPI()


@app.websocket("/echo")
async def echo(websocket: WebSocket):
    await websocket.accept()
    try:
        while True:
            await websocket.send_text(await websocket.receive_text())
    except WebSocketDisconnect:
        pass
"""


def build_client() -> None:
    print("building bench/ws_load (cargo build --release) ...", file=sys.stderr)
    env = {**os.environ, "CARGO_TARGET_DIR": str(REPO / "target")}
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=CRATE, env=env, check=True, timeout=1800)


def load(port: int, connections: int, seconds: float, size: int) -> dict[str, float]:
    out = subprocess.run(
        ["taskset", "-c", "1", str(BINARY), f"ws://127.0.0.1:{port}/echo", str(connections), str(seconds), str(size)],
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        check=True,
    )
    return json.loads(out.stdout)


def serve(argv: list[str], tmp: str) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    proc = subprocess.Popen(
        ["taskset", "-c", "0", *[a.format(port=port) for a in argv]],
        env={**os.environ, "PYTHONPATH": tmp},
        cwd=tmp,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_ready(port, time.monotonic() + 30)
    return proc, port


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", default="1,64,200")
    parser.add_argument("--size", type=int, default=64, help="message size in bytes")
    args = parser.parse_args()
    build_client()
    counts = [int(c) for c in args.connections.split(",")]
    servers = {
        "turboapi": [sys.executable, "-m", "turboapi", "run", "app_turboapi:app", "--port", "{port}"],
        "fastapi": [sys.executable, "-m", "uvicorn", "app_fastapi:app", "--port", "{port}", "--log-level", "warning"],
    }
    results: dict[tuple[str, int], dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for framework in servers:
            (Path(tmp) / f"app_{framework}.py").write_text(APP.format(framework=framework))
        for connections in counts:
            for framework, argv in servers.items():
                proc, port = serve(argv, tmp)
                try:
                    load(port, connections, 1.0, args.size)  # warm-up
                    results[framework, connections] = load(port, connections, args.seconds, args.size)
                finally:
                    stop(proc)
    print(
        "| connections | turboapi msg/s | FastAPI msg/s | × FastAPI "
        "| p50 / p99 ms (ours) | p50 / p99 ms (FastAPI) | errors |"
    )
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for connections in counts:
        ours, theirs = results["turboapi", connections], results["fastapi", connections]
        rate = ours["messages"] / ours["seconds"]
        base = theirs["messages"] / theirs["seconds"]
        print(
            f"| {connections} | {rate:,.0f} | {base:,.0f} | {rate / base:.2f}× "
            f"| {ours['p50_us'] / 1000:.2f} / {ours['p99_us'] / 1000:.2f} "
            f"| {theirs['p50_us'] / 1000:.2f} / {theirs['p99_us'] / 1000:.2f} "
            f"| {int(ours['errors'])} / {int(theirs['errors'])} |"
        )


if __name__ == "__main__":
    main()
