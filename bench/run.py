"""Load-test our demo app and the FastAPI twin with wrk in one sitting, and report the ratios.

Usage (from anywhere; paths are resolved from this file):
    .venv/bin/python bench/run.py [--duration N | --quick] [--connections N]
                                  [--routes json,json-async,items,post-items,sleep,bytes]
                                  [--only ours|fastapi]

Stdlib only. Prints a markdown table and writes it, with a header, to bench/RESULTS.md.
"""

import argparse
import datetime
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
RESULTS_FILE = BENCH_DIR / "RESULTS.md"
POST_SCRIPT = BENCH_DIR / "post_items.lua"

HOST = "127.0.0.1"
WARMUP_SECONDS = 2
QUICK_SECONDS = 3
READY_TIMEOUT = 30.0  # a cold import of fastapi/pydantic can take a few seconds on a slow box
STOP_GRACE = 5.0
WRK_THREADS = 2
POST_BODY = b'{"name":"widget","price":9.5,"tags":["a","b"]}'
# FastAPI at its fastest single-worker setup: uvloop + httptools, and no per-request access log.
UVICORN_ARGS = (
    "-m uvicorn bench.fastapi_app:app --host 127.0.0.1 --port {port} --loop uvloop --http httptools"
    " --no-access-log --log-level warning --workers 1"
)


@dataclass(frozen=True)
class Route:
    key: str  # name used by --routes
    label: str  # row label in the table
    method: str
    path: str
    status: int
    body: object  # expected JSON value, or bytes for raw responses


ROUTES = [
    Route("json", "GET /json", "GET", "/json", 200, {"message": "Hello, World!"}),
    Route("json-async", "GET /json-async", "GET", "/json-async", 200, {"message": "Hello, World!"}),
    Route(
        "items", "GET /items/42?q=hello", "GET", "/items/42?q=hello", 200, {"item_id": 42, "q": "hello", "limit": 10}
    ),
    Route(
        "post-items",
        "POST /items",
        "POST",
        "/items",
        201,
        {"name": "widget", "price": 9.5, "tags": ["a", "b"]},
    ),
    Route("sleep", "GET /sleep (10 ms)", "GET", "/sleep", 200, {"slept": True}),
    Route("bytes", "GET /bytes (1 KiB)", "GET", "/bytes", 200, b"x" * 1024),
]


@dataclass
class Server:
    name: str
    argv: list[str]
    ready_line: str | None  # stderr text that means "listening"; None = rely on the port alone
    port: int
    proc: subprocess.Popen | None = None
    log: object = None  # temp file holding the server's stdout+stderr


@dataclass
class Result:
    rps: float | None = None
    p50_ms: float | None = None
    p99_ms: float | None = None
    errors: int | None = None
    note: str = ""  # set when the route was not loaded (wrong answer, wrk failure)


# ---------------------------------------------------------------- command line


def parse_args(argv: list[str]) -> argparse.Namespace:
    keys = [r.key for r in ROUTES]
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--duration", type=int, default=10, help="seconds per wrk run (default 10)")
    p.add_argument("--quick", action="store_true", help=f"{QUICK_SECONDS} s runs")
    p.add_argument("--connections", type=int, default=64, help="wrk -c for every route but /sleep")
    p.add_argument("--sleep-connections", type=int, default=256, help="wrk -c for /sleep (default 256)")
    p.add_argument("--routes", default=",".join(keys), help=f"comma list from: {','.join(keys)}")
    p.add_argument("--only", choices=["ours", "fastapi"], help="bench one server only")
    p.add_argument("--python", default=sys.executable, help="interpreter for both servers")
    p.add_argument("--output", type=Path, default=RESULTS_FILE, help="markdown results file")
    args = p.parse_args(argv)
    if args.quick:
        args.duration = QUICK_SECONDS
    if args.duration < 1 or args.connections < 1 or args.sleep_connections < 1:
        p.error("--duration and connection counts must be positive")
    wanted = [k.strip() for k in args.routes.split(",") if k.strip()]
    unknown = sorted(set(wanted) - set(keys))
    if unknown:
        p.error(f"unknown route(s) {unknown}; choose from {keys}")
    args.routes = [r for r in ROUTES if r.key in wanted]
    return args


def connections_for(route: Route, args: argparse.Namespace) -> int:
    return args.sleep_connections if route.key == "sleep" else args.connections


# ---------------------------------------------------------------- environment


def ensure_wrk() -> str:
    """Return the wrk path, installing it with apt-get when we are root and it is missing."""
    path = shutil.which("wrk")
    if path:
        return path
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("wrk not found; installing it with apt-get ...", file=sys.stderr)
        if subprocess.run(["apt-get", "install", "-y", "wrk"]).returncode != 0:
            subprocess.run(["apt-get", "update"])  # a fresh container may have no package lists yet
            subprocess.run(["apt-get", "install", "-y", "wrk"])
        path = shutil.which("wrk")
        if path:
            return path
    sys.exit("error: wrk is not installed. Install it (e.g. `sudo apt-get install -y wrk`) and re-run.")


def pick_cpus() -> tuple[list[str], list[str], str]:
    """taskset prefixes for the server and for wrk, plus a note for the report.

    One core each keeps the server from competing with the load generator, which is what
    makes figures from one sitting comparable.
    """
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if len(cpus) < 2 or not shutil.which("taskset"):
        why = "fewer than 2 CPUs" if len(cpus) < 2 else "taskset not found"
        return [], [], f"not pinned ({why}); server and wrk share CPUs"
    server_cpu, wrk_cpu = cpus[0], cpus[1]
    return (
        ["taskset", "-c", str(server_cpu)],
        ["taskset", "-c", str(wrk_cpu)],
        f"server pinned to CPU {server_cpu}, wrk to CPU {wrk_cpu}",
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def git_commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return out.stdout.strip() if out.returncode == 0 and out.stdout.strip() else "unknown"


# ---------------------------------------------------------------- servers


def make_servers(args: argparse.Namespace, pin: list[str]) -> list[Server]:
    ours = Server(
        "ours",
        [*pin, args.python, "examples/demo.py", "--host", HOST, "--port", "{port}"],
        "running on http://127.0.0.1:{port}",
        free_port(),
    )
    fastapi = Server(
        "fastapi",
        [*pin, args.python, *UVICORN_ARGS.split()],
        None,  # uvicorn at --log-level warning prints nothing on startup; the port tells us
        free_port(),
    )
    return [s for s in (ours, fastapi) if args.only in (None, s.name)]


def start(server: Server) -> None:
    argv = [a.replace("{port}", str(server.port)) for a in server.argv]
    server.log = tempfile.TemporaryFile()
    # Own session, so stopping it reaches any child it spawns and a Ctrl-C here is ours to forward.
    server.proc = subprocess.Popen(
        argv, cwd=REPO_ROOT, stdout=server.log, stderr=subprocess.STDOUT, start_new_session=True
    )


def log_text(server: Server) -> str:
    server.log.seek(0)
    return server.log.read().decode(errors="replace")


def port_open(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=0.5):
            return True
    except OSError:
        return False


def wait_ready(server: Server) -> str | None:
    """Block until the server listens; return None, or why it never did."""
    ready_line = server.ready_line and server.ready_line.replace("{port}", str(server.port))
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            return f"exited with code {server.proc.returncode}"
        line_seen = ready_line is None or ready_line in log_text(server)
        if line_seen and port_open(server.port):
            return None
        time.sleep(0.1)
    return f"not ready after {READY_TIMEOUT:.0f} s"


def stop(server: Server) -> None:
    """SIGTERM, then SIGKILL after a grace period; only the process group we started."""
    proc = server.proc
    if proc is None or proc.poll() is not None:
        return
    pgid = proc.pid  # start_new_session made the server its own group leader
    try:
        os.killpg(pgid, signal.SIGTERM)
        proc.wait(timeout=STOP_GRACE)
    except subprocess.TimeoutExpired:
        print(f"  {server.name} ignored SIGTERM for {STOP_GRACE:.0f} s; sending SIGKILL", file=sys.stderr)
        os.killpg(pgid, signal.SIGKILL)
        proc.wait()
    except ProcessLookupError:
        pass


# ---------------------------------------------------------------- correctness check


def check_route(port: int, route: Route) -> str | None:
    """One request with urllib before loading; return None if the answer is right, else what is wrong.

    A fast 404 or 422 would otherwise show up as a great req/s figure.
    """
    data, headers = None, {}
    if route.method == "POST":
        data, headers = POST_BODY, {"Content-Type": "application/json"}
    req = urllib.request.Request(f"http://{HOST}:{port}{route.path}", data, headers, method=route.method)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            status, body = resp.status, resp.read()
    except urllib.error.HTTPError as e:
        status, body = e.code, e.read()
    except OSError as e:
        return f"request failed: {e}"
    if status != route.status:
        return f"status {status}, expected {route.status}"
    if isinstance(route.body, bytes):
        ok = body == route.body
    else:
        try:
            ok = json.loads(body) == route.body
        except ValueError:
            ok = False
    return None if ok else f"unexpected body {body[:80]!r}"


# ---------------------------------------------------------------- wrk


def wrk_argv(wrk: str, pin: list[str], port: int, route: Route, conns: int, seconds: int) -> list[str]:
    argv = [*pin, wrk, f"-t{WRK_THREADS}", f"-c{conns}", f"-d{seconds}s", "--latency"]
    if route.method == "POST":
        argv += ["-s", str(POST_SCRIPT)]
    return [*argv, f"http://{HOST}:{port}{route.path}"]


def run_wrk(argv: list[str], seconds: int) -> tuple[str | None, str]:
    """Run wrk with a hard wall-clock bound (it can hang on a wedged server); return (output, error)."""
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 30)
    except subprocess.TimeoutExpired:
        return None, "wrk timed out"
    if out.returncode != 0:
        return None, f"wrk failed: {out.stderr.strip()[:120]}"
    return out.stdout, ""


_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


def to_ms(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text)
    if not m:
        raise ValueError(f"unparseable latency {text!r}")
    return float(m.group(1)) * _UNIT_MS[m.group(2)]


def parse_wrk(output: str) -> Result:
    """Requests/sec, p50/p99 from the --latency distribution, socket errors + non-2xx/3xx."""
    res = Result()
    m = re.search(r"Requests/sec:\s+([\d.]+)", output)
    res.rps = float(m.group(1)) if m else None
    for pct, attr in (("50", "p50_ms"), ("99", "p99_ms")):
        m = re.search(rf"^\s+{pct}(?:\.0+)?%\s+(\S+)", output, re.MULTILINE)
        setattr(res, attr, to_ms(m.group(1)) if m else None)
    errors = 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    if m:
        errors += sum(int(g) for g in m.groups())
    m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    if m:
        errors += int(m.group(1))
    res.errors = errors
    if res.rps is None:
        res.note = "no Requests/sec in wrk output"
    return res


def bench_route(server: Server, route: Route, args, wrk: str, wrk_pin: list[str]) -> Result:
    problem = check_route(server.port, route)
    if problem:
        print(f"  WARNING {server.name} {route.label}: {problem}; not loaded", file=sys.stderr)
        return Result(note=f"WRONG: {problem}")
    conns = connections_for(route, args)
    # Warm-up: lets caches, the allocator and any lazy per-route setup settle before we measure.
    _, err = run_wrk(wrk_argv(wrk, wrk_pin, server.port, route, conns, WARMUP_SECONDS), WARMUP_SECONDS)
    if err:
        return Result(note=err)
    out, err = run_wrk(wrk_argv(wrk, wrk_pin, server.port, route, conns, args.duration), args.duration)
    if err:
        return Result(note=err)
    res = parse_wrk(out)
    print(
        f"  {server.name:8} {route.label:24} {fmt_num(res.rps):>10} req/s"
        f"  p50 {fmt_ms(res.p50_ms)}  p99 {fmt_ms(res.p99_ms)}  errors {res.errors}",
        file=sys.stderr,
    )
    return res


def bench_server(server: Server, args, wrk: str, wrk_pin: list[str]) -> dict:
    """Start one server, load every route, stop it. Returns {route key: Result}."""
    print(f"starting {server.name} on port {server.port} ...", file=sys.stderr)
    start(server)
    try:
        problem = wait_ready(server)
        if problem:
            tail = log_text(server).strip()[-2000:]
            print(f"  {server.name} did not start: {problem}\n{tail}", file=sys.stderr)
            return {r.key: Result(note=f"server did not start: {problem}") for r in args.routes}
        return {r.key: bench_route(server, r, args, wrk, wrk_pin) for r in args.routes}
    finally:
        stop(server)


# ---------------------------------------------------------------- report


def fmt_num(v: float | None) -> str:
    return "-" if v is None else f"{v:,.0f}"


def fmt_ms(v: float | None) -> str:
    return "-" if v is None else f"{v:.2f} ms"


def cells(res: Result | None) -> list[str]:
    if res is None:
        return ["-"] * 4
    if res.note and res.rps is None:
        return [res.note, "-", "-", "-"]
    return [fmt_num(res.rps), fmt_ms(res.p50_ms), fmt_ms(res.p99_ms), str(res.errors)]


def ratio(ours: Result | None, theirs: Result | None) -> str:
    if ours and theirs and ours.rps and theirs.rps:
        return f"{ours.rps / theirs.rps:.2f}×"
    return "-"


def table(results: dict, args) -> str:
    head = "| route | c | ours req/s | p50 | p99 | errors | FastAPI req/s | p50 | p99 | errors | ours/FastAPI |"
    lines = [head, "| --- | ---: |" + " ---: |" * 9]
    for r in args.routes:
        ours, theirs = results.get("ours", {}).get(r.key), results.get("fastapi", {}).get(r.key)
        row = [r.label, str(connections_for(r, args)), *cells(ours), *cells(theirs), ratio(ours, theirs)]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def header(args, argv: list[str], pin_note: str) -> str:
    now = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    python = os.path.relpath(sys.executable, REPO_ROOT) if sys.executable.startswith(str(REPO_ROOT)) else sys.executable
    cmd = shlex.join([python, "bench/run.py", *argv])
    return "\n".join(
        [
            "# Benchmark results",
            "",
            f"- date: {now}",
            f"- machine: nproc={os.cpu_count()}; {pin_note}",
            f"- command: `{cmd}`",
            f"- commit: {git_commit()}",
            f"- python: {sys.version.split()[0]}",
            f"- wrk: -t{WRK_THREADS}, {args.duration} s per run after a {WARMUP_SECONDS} s warm-up",
            "",
            "Absolute req/s drift between runs and machines; compare the ratio column, which comes from",
            "one sitting. p50/p99 come from wrk's --latency distribution; errors = socket errors",
            "(connect, read, write, timeout) + non-2xx/3xx responses.",
        ]
    )


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    wrk = ensure_wrk()
    server_pin, wrk_pin, pin_note = pick_cpus()
    print(pin_note, file=sys.stderr)
    # Servers run strictly one after the other so they never share the pinned core.
    results = {s.name: bench_server(s, args, wrk, wrk_pin) for s in make_servers(args, server_pin)}
    report = table(results, args)
    print(report)
    args.output.write_text(header(args, argv, pin_note) + "\n\n" + report + "\n", encoding="utf-8")
    print(f"\nwrote {args.output}", file=sys.stderr)
    # Non-zero when any cell went unmeasured, so `make bench` does not pass on a broken server.
    unmeasured = [r for per_server in results.values() for r in per_server.values() if r.rps is None]
    return 1 if unmeasured else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
