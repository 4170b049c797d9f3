"""HTTP/2 and TLS benchmark: GET /json of the demo app over h2c, h2 over TLS, HTTP/1.1 over TLS
and plain HTTP/1.1, against hypercorn (HTTP/2) and uvicorn (TLS, HTTP/1.1) serving the FastAPI
twin, and bench/bare_hyper (hyper and rustls alone: the ceiling of each protocol), in one sitting.

Usage: .venv/bin/python bench/http2.py [--seconds 8] [--connections 64] [--sittings 3]

Load: h2load (Debian's nghttp2-client, installed when missing), the same tool for every row, at
the same concurrency: ``--connections`` connections with one request in flight each (``-m 1``);
one more row has 64 in flight as HTTP/2 clients send them: 8 connections × 8 streams.
Servers are pinned to CPU 0, h2load to CPU 1; the rows of a sitting run back to back and the
sittings repeat them, so every server meets the same machine. Reported: the median req/s over
the sittings (with min–max), failed requests, and the issue's ratios, each the median of the
ratios within a sitting. Prints a markdown table and
writes it to bench/RESULTS-h2.md.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from download import free_port, stop, wait_ready
from run import BARE_BINARY, build_bare

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "RESULTS-h2.md"
ROUTE = "/json"


def ensure_h2load() -> str:
    if not shutil.which("h2load") and os.geteuid() == 0 and shutil.which("apt-get"):
        print("h2load not found; installing nghttp2-client with apt-get ...", file=sys.stderr)
        if subprocess.run(["apt-get", "install", "-y", "nghttp2-client"]).returncode != 0:
            subprocess.run(["apt-get", "update"])
            subprocess.run(["apt-get", "install", "-y", "nghttp2-client"])
    path = shutil.which("h2load")
    if path is None:
        sys.exit("error: h2load is not installed (apt-get install -y nghttp2-client)")
    return path


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (openssl, as a user would make one)."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def rows(cert: Path, key: Path) -> list[tuple[str, list[str], dict[str, str], str, list[str]]]:
    """(row name, server argv with {port}, its TURBOAPI_* settings, URL scheme, h2load protocol flags)."""
    python = sys.executable
    ours = [python, "examples/demo.py", "--host", "127.0.0.1", "--port", "{port}"]
    tls = {"TURBOAPI_SSL_CERTFILE": str(cert), "TURBOAPI_SSL_KEYFILE": str(key)}
    other = {"TURBOAPI_BATCH_SCHEDULING": "0"}
    uvicorn = [
        python,
        "-m",
        "uvicorn",
        "bench.fastapi_app:app",
        "--host",
        "127.0.0.1",
        "--port",
        "{port}",
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--no-access-log",
        "--log-level",
        "warning",
    ]
    hypercorn = [
        python,
        "-m",
        "hypercorn",
        "bench.fastapi_app:app",
        "--bind",
        "127.0.0.1:{port}",
        "--worker-class",
        "uvloop",
        "--log-level",
        "warning",
    ]
    return [
        ("turboapi HTTP/1.1 plain", ours, {}, "http", ["--h1"]),
        ("turboapi HTTP/1.1 TLS", ours, tls, "https", ["--h1"]),
        ("turboapi h2 TLS", ours, tls, "https", []),
        ("turboapi h2c", ours, {}, "http", []),
        # The same 64 requests in flight, multiplexed as HTTP/2 clients do (browsers, gRPC).
        ("turboapi h2 TLS, 8 connections × 8 streams", ours, tls, "https", ["-c", "8", "-m", "8"]),
        # What batch_scheduling buys on each protocol (off: the threads' default policy).
        ("turboapi HTTP/1.1 TLS, SCHED_OTHER", ours, tls | other, "https", ["--h1"]),
        ("turboapi h2 TLS, SCHED_OTHER", ours, tls | other, "https", []),
        (
            "uvicorn (FastAPI) HTTP/1.1 TLS",
            uvicorn + ["--ssl-certfile", str(cert), "--ssl-keyfile", str(key)],
            {},
            "https",
            ["--h1"],
        ),
        ("hypercorn (FastAPI) h2 TLS", hypercorn + ["--certfile", str(cert), "--keyfile", str(key)], {}, "https", []),
        ("hypercorn (FastAPI) h2c", hypercorn, {}, "http", []),
    ]


def bare_rows(cert: Path, key: Path) -> list[tuple[str, list[str], dict[str, str], str, list[str]]]:
    """The ceiling: bench/bare_hyper (hyper and rustls as the core uses them, no Python)."""
    bare, secure = [str(BARE_BINARY), "{port}"], [str(BARE_BINARY), "{port}", str(cert), str(key)]
    return [
        ("bare hyper HTTP/1.1 plain", bare, {}, "http", ["--h1"]),
        ("bare hyper HTTP/1.1 TLS", secure, {}, "https", ["--h1"]),
        ("bare hyper h2 TLS", secure, {}, "https", []),
        ("bare hyper h2 TLS, 8 connections × 8 streams", secure, {}, "https", ["-c", "8", "-m", "8"]),
    ]


def serve(argv: list[str], settings: dict[str, str]) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TURBOAPI_")} | settings
    proc = subprocess.Popen(
        ["taskset", "-c", "0", *[a.format(port=port) for a in argv]],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_ready(port, time.monotonic() + 30)
    time.sleep(0.5)
    return proc, port


def h2load(tool: str, url: str, flags: list[str], connections: int, seconds: float) -> tuple[float, int]:
    """req/s and failed requests of a run of ``seconds`` (one retry when h2load reports nothing)."""
    argv = ["taskset", "-c", "1", tool, "-c", str(connections), "-m", "1", "-t", "1", *flags]  # flags win
    argv += ["-D", str(max(1, round(seconds))), "--warm-up-time", "1", url]  # whole seconds only
    for _ in range(2):
        done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60)
        rate = re.search(r"finished in [\d.]+s, ([\d.]+) req/s", done.stdout)
        failed = re.search(r"requests: .* (\d+) failed", done.stdout)
        if rate is not None:
            return float(rate.group(1)), int(failed.group(1)) if failed else -1
        time.sleep(1)
    raise RuntimeError(f"h2load gave no rate for {url} (exit {done.returncode}):\n{done.stdout}\n{done.stderr}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--sittings", type=int, default=3)
    args = parser.parse_args()
    tool = ensure_h2load()
    if subprocess.run([sys.executable, "-c", "import hypercorn"], capture_output=True).returncode != 0:
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "hypercorn"], check=True)
    figures: dict[str, list[float]] = {}
    failures: dict[str, int] = {}
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        cert, key = make_certificate(Path(tmp))
        why_not = build_bare()
        plan = rows(cert, key) + ([] if why_not else bare_rows(cert, key))
        if why_not:
            print(f"no bare hyper rows: {why_not}", file=sys.stderr)
        for _ in range(args.sittings):
            for name, argv, settings, scheme, flags in plan:
                proc, port = serve(argv, settings)
                try:
                    rate, failed = h2load(
                        tool, f"{scheme}://127.0.0.1:{port}{ROUTE}", flags, args.connections, args.seconds
                    )
                finally:
                    stop(proc)
                figures.setdefault(name, []).append(rate)
                failures[name] = failures.get(name, 0) + failed
                print(f"{name}: {rate:,.0f} req/s ({failed} failed)", file=sys.stderr)
    median = {name: statistics.median(values) for name, values in figures.items()}
    lines = [
        f"GET {ROUTE}, c={args.connections} connections × 1 stream (unless the row says otherwise), "
        f"{args.seconds:g} s runs, median of "
        f"{args.sittings} sittings (min–max); server on CPU 0, h2load {tool} on CPU 1; "
        f"{time.monotonic() - started:.0f} s in all.",
        "",
        "| row | req/s | min–max | failed |",
        "| --- | ---: | --- | ---: |",
    ]
    for name, values in figures.items():
        lines.append(f"| {name} | {median[name]:,.0f} | {min(values):,.0f}–{max(values):,.0f} | {failures[name]} |")
    ratio = [
        ("h2 over TLS ≥ 0.8× our HTTP/1.1 over TLS", "turboapi h2 TLS", "turboapi HTTP/1.1 TLS", 0.8),
        ("h2 over TLS ≥ 10× hypercorn's h2 over TLS", "turboapi h2 TLS", "hypercorn (FastAPI) h2 TLS", 10.0),
        ("TLS HTTP/1.1 ≥ 0.8× our plain HTTP/1.1", "turboapi HTTP/1.1 TLS", "turboapi HTTP/1.1 plain", 0.8),
        ("(h2c against hypercorn's h2c)", "turboapi h2c", "hypercorn (FastAPI) h2c", None),
        (
            "(h2 over TLS, 8 × 8 streams, against our HTTP/1.1 over TLS)",
            "turboapi h2 TLS, 8 connections × 8 streams",
            "turboapi HTTP/1.1 TLS",
            None,
        ),
        ("(TLS HTTP/1.1 against uvicorn's)", "turboapi HTTP/1.1 TLS", "uvicorn (FastAPI) HTTP/1.1 TLS", None),
        (
            "(batch_scheduling on ÷ off, HTTP/1.1 over TLS)",
            "turboapi HTTP/1.1 TLS",
            "turboapi HTTP/1.1 TLS, SCHED_OTHER",
            None,
        ),
        ("(batch_scheduling on ÷ off, h2 over TLS)", "turboapi h2 TLS", "turboapi h2 TLS, SCHED_OTHER", None),
        (
            "(h2 over TLS against HTTP/1.1 over TLS, both with batch_scheduling off)",
            "turboapi h2 TLS, SCHED_OTHER",
            "turboapi HTTP/1.1 TLS, SCHED_OTHER",
            None,
        ),
        (
            "(bare hyper: its h2 over TLS against its HTTP/1.1 over TLS)",
            "bare hyper h2 TLS",
            "bare hyper HTTP/1.1 TLS",
            None,
        ),
        (
            "(bare hyper: its TLS HTTP/1.1 against its plain HTTP/1.1)",
            "bare hyper HTTP/1.1 TLS",
            "bare hyper HTTP/1.1 plain",
            None,
        ),
        ("(our h2 over TLS against bare hyper's)", "turboapi h2 TLS", "bare hyper h2 TLS", None),
        ("(our TLS HTTP/1.1 against bare hyper's)", "turboapi HTTP/1.1 TLS", "bare hyper HTTP/1.1 TLS", None),
    ]
    ratio = [r for r in ratio if r[1] in median and r[2] in median]
    # Each ratio is taken within a sitting, whose rows ran back to back, and the median of the
    # sittings' ratios is judged: the machine's speed drifts between sittings more than between
    # neighbouring rows.
    lines += ["", "| target | median of the sittings' ratios | min–max | verdict |", "| --- | ---: | --- | --- |"]
    for label, ours, base, bar in ratio:
        paired = [a / b for a, b in zip(figures[ours], figures[base], strict=True)]
        value = statistics.median(paired)
        verdict = "" if bar is None else ("met" if value >= bar else "**missed**")
        lines.append(f"| {label} | {value:.2f}× | {min(paired):.2f}–{max(paired):.2f} | {verdict} |")
    text = "\n".join(lines) + "\n"
    print(text)
    RESULTS.write_text("# HTTP/2 and TLS (`make bench-h2`)\n\n" + text)


if __name__ == "__main__":
    main()
