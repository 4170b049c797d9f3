"""Benchmark suite: turboapi's demo app against FastAPI and a bare hyper server.

Usage (from anywhere; paths are resolved from this file):
    .venv/bin/python bench/run.py          # the default sections, ~20 min on a quiet machine (routes: 3 sittings
                                           # of 8 s runs, ~11 min of it); each re-run of a disturbed row adds ~15 s
    .venv/bin/python bench/run.py --quick  # the default sections, ~7 min (3 s runs; never rewrites README.md)
    .venv/bin/python bench/run.py --sections routes --routes json,post-items --only ours --sittings 1
    .venv/bin/python bench/run.py --sections middleware   # not in the default list, ~2 min

Sections (--sections, comma list, default all but middleware and ecosystem, run in this order):
    steps   the seed's switch steps on GET /json-async at c=50, all off -> all on
    stress  the defaults on GET /json-async at c=200, 500, 1000 (c=1000 for 30 s in a full run)
    routes  every demo route on ours, FastAPI (uvicorn) and bare hyper at c=64 (and c=256 for
            /json-async and /sleep), in --sittings N (default 3) interleaved sittings: each sitting
            runs ours, then FastAPI, then bare hyper; the tables show the median and min-max
    shards  TURBOAPI_SHARDS = 1, 2, 4, 8, 14 on /json-async and /sleep, and the three shard policies
    rate    server CPU at a fixed 7,000 req/s on /json-async, ours and FastAPI (oha)
    middleware  CORS + GZip on GET /json and /json-large (~2 KiB) at c=64, with Origin and
            Accept-Encoding: gzip: ours without middleware, with the stack run natively in Rust,
            with it run by the Python classes, and FastAPI with the same middleware
    ecosystem  GET /json, /json-async and POST /items at c=64 with what a production app brings
            (SessionMiddleware, prometheus-fastapi-instrumentator, one @app.middleware("http")):
            ours against FastAPI with the same

Every server is pinned to CPU 0, the load tool (and this script) to CPU 1. Prints the tables and
writes bench/RESULTS.md and bench/results.png. A full run (default sections and routes, >= 3
sittings, no --quick) with no disturbed or failed row also rewrites README.md's headline table
(between <!-- bench-headline:begin --> and <!-- bench-headline:end -->) from the medians; any other
run says why it does not. Exit status 1 if any row could not be measured.
"""

from __future__ import annotations

import argparse
import datetime
import gzip
import json
import os
import re
import resource
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import results_blocks

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
RESULTS_FILE = BENCH_DIR / "RESULTS.md"
README_FILE = REPO_ROOT / "README.md"
HEADLINE_BEGIN, HEADLINE_END = "<!-- bench-headline:begin -->", "<!-- bench-headline:end -->"
CHART_FILE = BENCH_DIR / "results.png"
STATS_SCRIPT = BENCH_DIR / "wrk_stats.lua"
POST_SCRIPT = BENCH_DIR / "post_items.lua"
BARE_CRATE = BENCH_DIR / "bare_hyper"
CARGO_TARGET = REPO_ROOT / "target"
BARE_BINARY = CARGO_TARGET / "release" / "bare_hyper"

HOST = "127.0.0.1"
FULL_SECONDS, QUICK_SECONDS = 10, 3
FULL_ROUTE_SECONDS = 8  # the routes section runs every route SITTINGS times: shorter runs
SITTINGS = 3  # the routes section's default, and the fewest that may rewrite README's headline
FULL_WARMUP, QUICK_WARMUP = 2, 1
FULL_STRESS_SECONDS = 30  # the c=1000 run of a full run
READY_TIMEOUT = 30.0  # a cold import of fastapi/pydantic can take a few seconds on a slow box
STOP_GRACE = 5.0
WRK_THREADS = 2
RSS_SAMPLE_EVERY = 0.25
POST_BODY = b'{"name":"widget","price":9.5,"tags":["a","b"]}'

SECTIONS = ["steps", "stress", "routes", "shards", "rate", "workers", "middleware", "ecosystem"]
# middleware adds ~2 min to a full run (4 servers x 2 routes), ecosystem ~1 min: only when asked for.
DEFAULT_SECTIONS = ["steps", "stress", "routes", "shards", "rate", "workers"]
STEP_CONNS = 50
STRESS_CONNS = [200, 500, 1000]
ROUTE_CONNS = [64, 256]  # c=64 for every route; c=256 only for HIGH_CONNS_ROUTES (unless --connections)
HIGH_CONNS_ROUTES = ("json-async", "sleep")
SHARD_COUNTS = [1, 2, 4, 8, 14]
SHARD_CONNS = 256
POLICIES = ["round_robin", "least_loaded", "route_hash"]
POLICY_SHARDS = 4
RATE = 7000
RATE_CONNS = 50
CPU_TARGET_PCT = 80.0
RATE_REACHED = 0.95  # a fixed-rate run counts only if it achieved 95% of the asked rate
MW_CONNS = 64
MW_ORIGIN = "https://example.com"  # allowed by the CORSMiddleware of examples/demo.py and fastapi_app.py
MW_HEADERS = (("Origin", MW_ORIGIN), ("Accept-Encoding", "gzip"))
# (label, server, environment) per row of the middleware section; BENCH_MIDDLEWARE is read by
# examples/demo.py and bench/fastapi_app.py at import ("python": the demo passes native_middleware=False).
MW_SERVERS = [
    ("none", "ours", {}),
    ("native (Rust)", "ours", {"BENCH_MIDDLEWARE": "1"}),
    ("Python classes", "ours", {"BENCH_MIDDLEWARE": "python"}),
    ("FastAPI", "fastapi", {"BENCH_MIDDLEWARE": "1"}),
]

# FastAPI at its fastest single-worker setup: uvloop + httptools, and no per-request access log.
UVICORN_ARGS = (
    "-m uvicorn bench.fastapi_app:app --host 127.0.0.1 --port {port} --loop uvloop --http httptools"
    " --no-access-log --log-level warning --workers 1"
)

# The seed's steps: start with every switch off, then turn them on one at a time.
SWITCHES_OFF = {
    "TURBOAPI_EVENT_LOOP": "asyncio",
    "TURBOAPI_JSON": "stdlib",
    "TURBOAPI_MAX_CONCURRENT": "none",
    "TURBOAPI_BATCH_SIZE": "1",
}
STEP_CHANGES = [
    ("all switches off", {}),
    ("+ uvloop", {"TURBOAPI_EVENT_LOOP": "uvloop"}),
    ("+ orjson", {"TURBOAPI_JSON": "orjson"}),
    ("+ gate (512)", {"TURBOAPI_MAX_CONCURRENT": "512"}),
    ("+ batching (128)", {"TURBOAPI_BATCH_SIZE": "128"}),
]


@dataclass(frozen=True)
class Route:
    key: str  # name used by --routes
    label: str  # row label in the tables
    method: str
    path: str
    status: int
    body: object  # expected JSON value, or bytes for raw responses
    bare: bool = False  # the bare hyper server answers this route too
    headers: tuple[tuple[str, str], ...] = ()  # request headers (wrk -H, and the urllib check)
    twin_of: str = ""  # a FastAPI-only `def` variant of route `twin_of`: ours is compared through that

    @property
    def short(self) -> str:
        """Chart label: the path without query, method only when not GET."""
        path = self.path.split("?")[0]
        return path if self.method == "GET" else f"{self.method} {path}"


ROUTES = [
    Route("json", "GET /json", "GET", "/json", 200, {"message": "Hello, World!"}, bare=True),
    Route("json-async", "GET /json-async", "GET", "/json-async", 200, {"message": "Hello, World!"}),
    Route(
        "items", "GET /items/42?q=hello", "GET", "/items/42?q=hello", 200, {"item_id": 42, "q": "hello", "limit": 10}
    ),
    Route(
        "items-def",
        "GET /items/42?q=hello (FastAPI `def`)",
        "GET",
        "/items-def/42?q=hello",
        200,
        {"item_id": 42, "q": "hello", "limit": 10},
        twin_of="items",
    ),
    Route(
        "search",
        "GET /search?q=&limit=&offset= (Depends)",
        "GET",
        "/search?q=hello&limit=5&offset=20",
        200,
        {"q": "hello", "limit": 5, "offset": 20},
    ),
    Route(
        "search-def",
        "GET /search (Depends; FastAPI `def`)",
        "GET",
        "/search-def?q=hello&limit=5&offset=20",
        200,
        {"q": "hello", "limit": 5, "offset": 20},
        twin_of="search",
    ),
    Route("post-items", "POST /items", "POST", "/items", 201, {"name": "widget", "price": 9.5, "tags": ["a", "b"]}),
    Route("sleep", "GET /sleep (10 ms)", "GET", "/sleep", 200, {"slept": True}),
    Route("bytes", "GET /bytes (1 KiB)", "GET", "/bytes", 200, b"x" * 1024, bare=True),
]
ROUTE_BY_KEY = {r.key: r for r in ROUTES}
# ~2 KiB (2,122 bytes compact): the /json-large body of examples/demo.py and bench/fastapi_app.py.
LARGE_BODY = {
    "items": [
        {
            "id": i,
            "name": f"item {i}",
            "price": round(9.5 + i * 1.25, 2),
            "tags": ["alpha", "beta", "gamma"],
            "in_stock": i % 3 != 0,
        }
        for i in range(24)
    ]
}
# The middleware section's routes: with an allowed Origin and Accept-Encoding: gzip. /json stays
# under GZip's minimum_size (500 bytes), /json-large is compressed.
MW_ROUTES = [
    Route("json", "GET /json", "GET", "/json", 200, {"message": "Hello, World!"}, headers=MW_HEADERS),
    Route("json-large", "GET /json-large (2 KiB)", "GET", "/json-large", 200, LARGE_BODY, headers=MW_HEADERS),
]
# The ecosystem section: the demo and its FastAPI twin with what a production app brings
# (BENCH_ECOSYSTEM: SessionMiddleware, prometheus-fastapi-instrumentator, one @app.middleware("http")).
ECO_CONNS = 64
ECO_SERVERS = [("ours", {"BENCH_ECOSYSTEM": "1"}), ("fastapi", {"BENCH_ECOSYSTEM": "1"})]
ECO_ROUTE_KEYS = ("json", "json-async", "post-items")
SERVER_NAMES = {"ours": "ours", "fastapi": "FastAPI", "bare": "bare hyper"}
# README's headline table: (route key, c, label); `def` twins compare FastAPI's `def` with ours' route.
HEADLINE_ROWS = [
    ("json", 64, "GET /json (`def` both)"),
    ("json-async", 64, "GET /json-async"),
    ("items", 64, "GET /items/42?q=hello"),
    ("items-def", 64, "GET /items/42?q=hello (FastAPI `def`)"),
    ("search", 64, "GET /search?q=&limit=&offset= (a `Depends`)"),
    ("search-def", 64, "GET /search (a `Depends`; FastAPI `def`)"),
    ("post-items", 64, "POST /items (pydantic)"),
    ("sleep", 256, "GET /sleep (10 ms)"),
    ("bytes", 64, "GET /bytes (1 KiB)"),
]


@dataclass
class Result:
    rps: float | None = None
    requests: int | None = None  # completed in the measured run
    p50_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None
    errors: int | None = None
    cpu_pct: float | None = None  # server CPU over the measured run, % of one core
    rss_mib: float | None = None  # peak resident memory of the server during the measured run
    others_pct: float | None = None  # CPU of the server's core used by other processes meanwhile
    load_others_pct: float | None = None  # the same on the load tool's core
    note: str = ""  # why the row has no figures (wrong answer, tool failure, server down)


@dataclass
class Row:
    section: str
    label: str  # what varies within the section: server, step, shard count, policy
    server: str  # ours | fastapi | bare
    route: Route
    conns: int
    seconds: int
    res: Result
    env: dict = field(default_factory=dict)  # TURBOAPI_* set for this server (empty = defaults)
    sitting: int = 1  # routes section: which of the --sittings this row belongs to


# ---------------------------------------------------------------- command line


def csv_list(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--sections",
        default=",".join(DEFAULT_SECTIONS),
        help=f"comma list from: {','.join(SECTIONS)} (default: all but middleware and ecosystem)",
    )
    p.add_argument("--quick", action="store_true", help=f"{QUICK_SECONDS} s runs, {QUICK_WARMUP} s warm-ups")
    p.add_argument("--duration", type=int, help=f"seconds per measured run (default {FULL_SECONDS})")
    p.add_argument(
        "--route-duration",
        type=int,
        help=f"seconds per measured run in the routes section (default {FULL_ROUTE_SECONDS}; with --quick or"
        " --duration, that)",
    )
    p.add_argument(
        "--sittings",
        type=int,
        default=SITTINGS,
        help=f"routes section: interleaved sittings, medians reported (default {SITTINGS}; fewer never"
        " rewrites README.md)",
    )
    p.add_argument("--warmup", type=int, help=f"seconds of warm-up per server and route (default {FULL_WARMUP})")
    p.add_argument(
        "--stress-duration",
        type=int,
        help=f"seconds for the c=1000 stress run (default {FULL_STRESS_SECONDS}; with --quick, --duration)",
    )
    keys = [r.key for r in ROUTES]
    p.add_argument("--routes", default=",".join(keys), help=f"routes section: comma list from {','.join(keys)}")
    p.add_argument(
        "--connections",
        help="routes section: wrk -c list for every route (default: 64, and 256 also for"
        f" {', '.join(HIGH_CONNS_ROUTES)})",
    )
    p.add_argument("--only", choices=list(SERVER_NAMES), help="routes and rate sections: one server only")
    p.add_argument("--shard-counts", default=",".join(map(str, SHARD_COUNTS)), help="shards section: counts")
    p.add_argument("--rate", type=int, default=RATE, help=f"rate section: fixed req/s (default {RATE})")
    p.add_argument("--python", default=sys.executable, help="interpreter for our server and uvicorn")
    p.add_argument("--output", type=Path, default=RESULTS_FILE, help="markdown results file")
    p.add_argument("--readme", type=Path, default=README_FILE, help="README whose headline block a full run rewrites")
    p.add_argument("--chart", type=Path, default=CHART_FILE, help="PNG chart file")
    p.add_argument("--no-chart", action="store_true", help="skip the PNG (and the matplotlib install)")
    args = p.parse_args(argv)

    args.sections = csv_list(args.sections)
    if bad := sorted(set(args.sections) - set(SECTIONS)):
        p.error(f"unknown section(s) {bad}; choose from {SECTIONS}")
    args.sections = [s for s in SECTIONS if s in args.sections]
    if bad := sorted(set(csv_list(args.routes)) - set(keys)):
        p.error(f"unknown route(s) {bad}; choose from {keys}")
    args.routes = [r for r in ROUTES if r.key in csv_list(args.routes)]
    try:
        args.connections = [int(c) for c in csv_list(args.connections)] if args.connections else []
        args.shard_counts = [int(c) for c in csv_list(args.shard_counts)]
    except ValueError:
        p.error("--connections and --shard-counts take comma lists of integers")
    if args.route_duration is None:
        args.route_duration = args.duration or (QUICK_SECONDS if args.quick else FULL_ROUTE_SECONDS)
    if args.duration is None:
        args.duration = QUICK_SECONDS if args.quick else FULL_SECONDS
    if args.warmup is None:
        args.warmup = QUICK_WARMUP if args.quick else FULL_WARMUP
    if args.stress_duration is None:
        args.stress_duration = args.duration if args.quick else max(args.duration, FULL_STRESS_SECONDS)
    numbers = [args.duration, args.route_duration, args.sittings, args.stress_duration, args.rate]
    numbers += [*args.connections, *args.shard_counts]
    if min(numbers) < 1 or args.warmup < 0 or not args.routes:
        p.error("durations, sittings, rates, connection and shard counts must be positive, and lists non-empty")
    return args


# ---------------------------------------------------------------- environment


def raise_fd_limit() -> str:
    """c=1000 needs ~1,000 descriptors in wrk and in the server; children inherit this limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        target = 65536 if hard == resource.RLIM_INFINITY else hard
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    return str(soft)


def install_with_apt(package: str) -> None:
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return
    print(f"{package} not found; installing it with apt-get ...", file=sys.stderr)
    if subprocess.run(["apt-get", "install", "-y", package]).returncode != 0:
        subprocess.run(["apt-get", "update"])  # a fresh container may have no package lists yet
        subprocess.run(["apt-get", "install", "-y", package])


def ensure_wrk() -> str:
    """Return the wrk path, installing it with apt-get when we are root and it is missing."""
    if not shutil.which("wrk"):
        install_with_apt("wrk")
    path = shutil.which("wrk")
    if not path:
        sys.exit("error: wrk is not installed. Install it (e.g. `sudo apt-get install -y wrk`) and re-run.")
    return path


def find_oha() -> str | None:
    cargo_bin = Path.home() / ".cargo" / "bin" / "oha"
    return shutil.which("oha") or (str(cargo_bin) if cargo_bin.exists() else None)


# oha 1.16 does not compile with --no-default-features (it needs one TLS backend). Its default is
# rustls (with aws-lc-rs, C built with cc: no system library needed); native-tls links the system's
# OpenSSL (libssl-dev), the fallback.
OHA_INSTALLS = [
    ["install", "oha", "--locked"],
    ["install", "oha", "--locked", "--no-default-features", "--features", "native-tls"],
]
OHA_INSTALL_TIMEOUT = 1200


def ensure_oha() -> tuple[str | None, str]:
    """oha drives the fixed-rate run (Debian has no wrk2). Installed once with cargo into ~/.cargo/bin.

    Returns (path, "") or (None, why not); a failed install only costs the rate section.
    """
    path = find_oha()
    if path:
        return path, ""
    cargo = shutil.which("cargo") or str(Path.home() / ".cargo" / "bin" / "cargo")
    if not Path(cargo).exists():
        return None, "oha not installed and no cargo to install it"
    for install in OHA_INSTALLS:
        print(f"oha not found; trying `cargo {shlex.join(install)}` (one-time, several minutes) ...", file=sys.stderr)
        try:
            out = subprocess.run([cargo, *install], capture_output=True, text=True, timeout=OHA_INSTALL_TIMEOUT)
        except subprocess.TimeoutExpired:
            print(f"  timed out after {OHA_INSTALL_TIMEOUT} s", file=sys.stderr)
            continue
        path = find_oha()
        if path:
            return path, ""
        print(out.stderr[-3000:], file=sys.stderr)
    return None, "`cargo install oha` failed (see the output above); install oha by hand to measure it"


def build_bare() -> str:
    """Build bench/bare_hyper in the main crate's target/ (reusing its compiled deps); '' or why not."""
    cargo = shutil.which("cargo") or str(Path.home() / ".cargo" / "bin" / "cargo")
    if not Path(cargo).exists():
        return "cargo not found" if not BARE_BINARY.exists() else ""
    print("building bench/bare_hyper (cargo build --release) ...", file=sys.stderr)
    env = {**os.environ, "CARGO_TARGET_DIR": str(CARGO_TARGET)}
    argv = [cargo, "build", "--release", "--quiet", "--manifest-path", str(BARE_CRATE / "Cargo.toml")]
    try:
        out = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=1200)
    except subprocess.TimeoutExpired:
        return "cargo build timed out"
    if out.returncode != 0 or not BARE_BINARY.exists():
        print(out.stderr[-3000:], file=sys.stderr)
        return "cargo build failed"
    return ""


def pick_cpus() -> tuple[list[str], list[str], str]:
    """taskset prefixes for the servers and for the load tool, plus a note for the report.

    The server gets a core of its own, so the figure is what one core of server can do; the load
    tool and this script share the other one.
    """
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if len(cpus) < 2 or not shutil.which("taskset"):
        why = "fewer than 2 CPUs" if len(cpus) < 2 else "taskset not found"
        return [], [], f"not pinned ({why}); servers and load tool share CPUs"
    server_cpu, load_cpu = cpus[0], cpus[1]
    os.sched_setaffinity(0, {load_cpu})  # this script's sampling stays off the server's core
    return (
        ["taskset", "-c", str(server_cpu)],
        ["taskset", "-c", str(load_cpu)],
        f"servers pinned to CPU {server_cpu}; load tool and run.py to CPU {load_cpu}",
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def command_output(argv: list[str], cwd: Path = REPO_ROOT) -> str:
    try:
        out = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return (out.stdout + out.stderr).strip()


def git_commit() -> str:
    commit = command_output(["git", "rev-parse", "--short", "HEAD"]) or "unknown"
    dirty = command_output(["git", "status", "--porcelain", "--untracked-files=no", "--", "src", "python"])
    return f"{commit} (src/ or python/ modified)" if dirty else commit


def tool_versions(args, wrk: str, oha: str | None) -> list[str]:
    probe = (
        "import importlib.metadata as m, sys\n"
        "names = ['turboapi', 'fastapi', 'uvicorn', 'pydantic', 'uvloop', 'orjson', 'httptools']\n"
        "def v(n):\n"
        "    try: return m.version(n)\n"
        "    except Exception: return '?'\n"
        "print('python ' + sys.version.split()[0] + ', ' + ', '.join(n + ' ' + v(n) for n in names))\n"
        "try:\n"
        "    from turboapi.serving import Settings\n"
        "    s = Settings()\n"
        "    print('defaults: shards=%s, shard_policy=%s, event_loop=%s, json=%s, max_concurrent=%s,'\n"
        "          ' batch_size=%s, io_threads=%s, sync_workers=%s' % (s.shards, s.shard_policy,\n"
        "          s.event_loop, s.json, s.max_concurrent, s.batch_size, s.io_threads, s.sync_workers))\n"
        "except Exception as e:\n"
        "    print('defaults: unknown (%s)' % e)\n"
    )
    py = command_output([args.python, "-c", probe]).splitlines()
    wrk_v = command_output([wrk, "-v"]).split(" Copyright")
    lines = [
        f"- {py[0] if py else 'python: unknown'}",
        f"- turboapi {py[1] if len(py) > 1 else 'defaults: unknown'}",
        f"- load: {wrk_v[0] if wrk_v else 'wrk'} (-t{WRK_THREADS}, latency percentiles from bench/wrk_stats.lua)",
    ]
    if oha:
        lines[-1] += f"; {command_output([oha, '--version']) or 'oha'} for the fixed-rate run"
    rustc = command_output(["rustc", "--version"])
    if rustc:
        lines.append(f"- bare hyper: {rustc}; hyper/tokio versions pinned in bench/bare_hyper/Cargo.lock")
    return lines


def server_env(overrides: dict) -> dict:
    """The caller's environment without its TURBOAPI_* and BENCH_MIDDLEWARE, plus this row's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TURBOAPI_") and k != "BENCH_MIDDLEWARE"}
    env.update(overrides)
    return env


# ---------------------------------------------------------------- servers


@dataclass
class Server:
    name: str  # ours | fastapi | bare
    argv: list[str]
    ready_line: str | None  # output that means "listening"; None = rely on the port alone
    env: dict = field(default_factory=dict)  # TURBOAPI_* (and BENCH_MIDDLEWARE) overrides
    port: int = 0
    proc: subprocess.Popen | None = None
    log: object = None  # temp file holding the server's stdout+stderr


def make_server(name: str, args, pin: list[str], env: dict | None = None) -> Server:
    if name == "ours":
        argv = [*pin, args.python, "examples/demo.py", "--host", HOST, "--port", "{port}"]
        return Server(name, argv, "running on http://127.0.0.1:{port}", dict(env or {}))
    if name == "fastapi":
        return Server(name, [*pin, args.python, *UVICORN_ARGS.split()], None, dict(env or {}))
    return Server(name, [*pin, str(BARE_BINARY), "{port}"], "listening on {port}")


class ServerDown(Exception):
    pass


def start(server: Server) -> None:
    server.port = free_port()
    argv = [a.replace("{port}", str(server.port)) for a in server.argv]
    server.log = tempfile.TemporaryFile()
    # Own session: stopping it reaches any child it spawns, and /proc tells its processes apart.
    server.proc = subprocess.Popen(
        argv,
        cwd=REPO_ROOT,
        env=server_env(server.env),
        stdout=server.log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
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


def wait_ready(server: Server) -> None:
    ready_line = server.ready_line and server.ready_line.replace("{port}", str(server.port))
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise ServerDown(f"exited with code {server.proc.returncode}")
        if (ready_line is None or ready_line in log_text(server)) and port_open(server.port):
            return
        time.sleep(0.1)
    raise ServerDown(f"not ready after {READY_TIMEOUT:.0f} s")


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


class running:
    """`with running(server):` starts it, waits until it listens, and always stops it."""

    def __init__(self, server: Server):
        self.server = server

    def __enter__(self) -> Server:
        desc = " ".join(f"{k.removeprefix('TURBOAPI_')}={v}" for k, v in self.server.env.items()) or "defaults"
        print(f"starting {SERVER_NAMES[self.server.name]} ({desc}) ...", file=sys.stderr)
        start(self.server)
        try:
            wait_ready(self.server)
        except ServerDown as e:
            tail = log_text(self.server).strip()[-2000:]
            print(f"  {self.server.name} did not start: {e}\n{tail}", file=sys.stderr)
            stop(self.server)
            raise
        return self.server

    def __exit__(self, *exc) -> None:
        stop(self.server)
        if self.server.proc and self.server.proc.returncode not in (0, -signal.SIGTERM, None):
            tail = log_text(self.server).strip()[-600:]
            print(f"  note: {self.server.name} exited with {self.server.proc.returncode}: {tail}", file=sys.stderr)


# ---------------------------------------------------------------- /proc: server CPU and memory


def session_stats(sid: int) -> list[tuple[int, int]]:
    """(pid, utime+stime ticks) of every live process in the server's session (all its threads)."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                text = f.read()
        except OSError:
            continue
        rest = text[text.rfind(")") + 2 :].split()
        # rest[3] is the session id; rest[11], rest[12] are utime and stime (fields 14 and 15).
        if int(rest[3]) == sid:
            out.append((int(entry), int(rest[11]) + int(rest[12])))
    return out


def rss_kib(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status") as f:
                m = re.search(r"^VmRSS:\s+(\d+) kB", f.read(), re.MULTILINE)
        except OSError:
            continue
        total += int(m.group(1)) if m else 0
    return total


def core_ticks(cpu: int | None) -> tuple[int, int]:
    """(busy, total) jiffies of one CPU from /proc/stat; (0, 0) when the server is not pinned."""
    if cpu is None:
        return 0, 0
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith(f"cpu{cpu} "):
                user, nice, system, idle, iowait, irq, softirq, steal = map(int, line.split()[1:9])
                busy = user + nice + system + irq + softirq + steal
                return busy, busy + idle + iowait
    return 0, 0


def own_cpu_seconds() -> float:
    """CPU time of this script plus its reaped children (the load tool, once it has exited)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


class Watch:
    """Over one measured run, from /proc: server CPU (% of one core), peak RSS, and the CPU that
    other processes took on the server's core and on the load tool's core."""

    def __init__(self, sid: int, server_cpu: int | None, load_cpu: int | None):
        self.sid, self.server_cpu, self.load_cpu = sid, server_cpu, load_cpu
        self.peak_kib = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while True:
            self.peak_kib = max(self.peak_kib, rss_kib([pid for pid, _ in session_stats(self.sid)]))
            if self._stop.wait(RSS_SAMPLE_EVERY):
                return

    def __enter__(self) -> Watch:
        self.ticks0 = sum(t for _, t in session_stats(self.sid))
        self.core0, self.load0 = core_ticks(self.server_cpu), core_ticks(self.load_cpu)
        self.own0 = own_cpu_seconds()
        self.wall0 = time.monotonic()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.ticks1 = sum(t for _, t in session_stats(self.sid))
        self.core1, self.load1 = core_ticks(self.server_cpu), core_ticks(self.load_cpu)
        self.own1 = own_cpu_seconds()
        self.wall1 = time.monotonic()
        self._stop.set()
        self._thread.join()

    def apply(self, res: Result) -> None:
        wall = self.wall1 - self.wall0
        res.cpu_pct = 100.0 * (self.ticks1 - self.ticks0) / os.sysconf("SC_CLK_TCK") / wall if wall > 0 else None
        res.rss_mib = self.peak_kib / 1024 if self.peak_kib else None
        busy, total = (b - a for a, b in zip(self.core0, self.core1, strict=True))
        if total > 0 and res.cpu_pct is not None:
            # The core's busy share minus the server's own: other processes (or interrupts) that
            # took time from the server. Large values mean the row was disturbed.
            res.others_pct = max(0.0, 100.0 * busy / total - res.cpu_pct)
        busy, total = (b - a for a, b in zip(self.load0, self.load1, strict=True))
        if total > 0 and wall > 0:
            # The same on the load tool's core, less the load tool and this script.
            res.load_others_pct = max(0.0, 100.0 * busy / total - 100.0 * (self.own1 - self.own0) / wall)


# ---------------------------------------------------------------- correctness check


def fetch(port: int, route: Route) -> tuple[int | None, dict, bytes]:
    """(status, lower-cased response headers, body gunzipped if gzip-encoded); (None, {}, why) on failure."""
    data, headers = None, dict(route.headers)
    if route.method == "POST":
        data, headers["Content-Type"] = POST_BODY, "application/json"
    req = urllib.request.Request(f"http://{HOST}:{port}{route.path}", data, headers, method=route.method)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            status, head, body = resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as e:
        status, head, body = e.code, e.headers, e.read()
    except OSError as e:
        return None, {}, f"request failed: {e}".encode()
    head = {k.lower(): v for k, v in head.items()}
    if head.get("content-encoding") == "gzip":
        head["x-bench-gzip-mtime"] = str(int.from_bytes(body[4:8], "little")) if len(body) >= 8 else "?"
        try:
            body = gzip.decompress(body)
        except (OSError, EOFError) as e:
            return None, {}, f"bad gzip body: {e}".encode()
    return status, head, body


def check_route(port: int, route: Route) -> str | None:
    """One request with urllib before loading; None if the answer is right, else what is wrong.

    A fast 404 or 422 would otherwise show up as a great req/s figure.
    """
    status, _, body = fetch(port, route)
    if status is None:
        return body.decode()
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


# ---------------------------------------------------------------- load tools


class Bench:
    """What every measurement needs: the tools, the pinning, the timings."""

    def __init__(self, args, wrk: str, oha: str | None, oha_problem: str, server_pin, load_pin):
        self.args, self.wrk, self.oha, self.oha_problem = args, wrk, oha, oha_problem
        self.server_pin, self.load_pin = server_pin, load_pin
        self.server_cpu = int(server_pin[-1]) if server_pin else None
        self.load_cpu = int(load_pin[-1]) if load_pin else None

    def run_tool(self, argv: list[str], seconds: int) -> tuple[str | None, str]:
        """Run a load tool with a hard wall-clock bound (it can hang on a wedged server)."""
        try:
            out = subprocess.run(argv, cwd=BENCH_DIR, capture_output=True, text=True, timeout=seconds + 60)
        except subprocess.TimeoutExpired:
            return None, f"{Path(argv[len(self.load_pin)]).name} timed out"
        if out.returncode != 0:
            return None, f"{Path(argv[len(self.load_pin)]).name} failed: {out.stderr.strip()[:160]}"
        return out.stdout, ""

    def wrk_argv(self, port: int, route: Route, conns: int, seconds: int) -> list[str]:
        script = POST_SCRIPT if route.method == "POST" else STATS_SCRIPT
        return [
            *self.load_pin,
            self.wrk,
            *(arg for name, value in route.headers for arg in ("-H", f"{name}: {value}")),
            f"-t{min(WRK_THREADS, conns)}",
            f"-c{conns}",
            f"-d{seconds}s",
            "-s",
            str(script),
            f"http://{HOST}:{port}{route.path}",
        ]

    def wrk_run(self, port: int, route: Route, conns: int, seconds: int) -> Result:
        out, err = self.run_tool(self.wrk_argv(port, route, conns, seconds), seconds)
        if err:
            return Result(note=err)
        return parse_wrk_stats(out)

    def oha_run(self, port: int, route: Route, rate: int, conns: int, seconds: int) -> Result:
        if not self.oha:
            return Result(note=self.oha_problem or "oha not available")
        argv = [*self.load_pin, self.oha, "-z", f"{seconds}s", "-q", str(rate), "-c", str(conns)]
        argv += [
            "--latency-correction",
            "--wait-ongoing-requests-after-deadline",
            "--no-tui",
            "--output-format",
            "json",
        ]
        out, err = self.run_tool([*argv, f"http://{HOST}:{port}{route.path}"], seconds)
        if err:
            return Result(note=err)
        return parse_oha(out)

    def measure(
        self, server: Server, route: Route, conns: int, seconds: int, *, warm: bool, rate: int = 0, verify=None
    ) -> Result:
        """Check the answer (and `verify(port, route)`, if given), warm up (wrk, same c) if asked,
        then the measured run under Watch.

        A run that other processes disturbed (see `disturbed`) is measured once more after a pause,
        and the less disturbed of the two is kept.
        """
        problem = check_route(server.port, route) or (verify and verify(server.port, route))
        if problem:
            print(f"  WARNING {server.name} {route.label}: {problem}; not loaded", file=sys.stderr)
            return Result(note=f"WRONG: {problem}")
        if warm and self.args.warmup:
            warm_res = self.wrk_run(server.port, route, conns, self.args.warmup)
            if warm_res.note:
                return warm_res
        res = self.measure_once(server, route, conns, seconds, rate)
        if disturbed(res):
            print(
                f"  disturbed ({fmt_num(res.rps)} req/s, others {fmt_pct(res.others_pct)}/"
                f"{fmt_pct(res.load_others_pct)}); measuring once more in {RETRY_PAUSE:.0f} s",
                file=sys.stderr,
            )
            time.sleep(RETRY_PAUSE)
            again = self.measure_once(server, route, conns, seconds, rate)
            if not again.note and disturbance(again) < disturbance(res):
                res = again
        return res

    def measure_once(self, server: Server, route: Route, conns: int, seconds: int, rate: int) -> Result:
        with Watch(server.proc.pid, self.server_cpu, self.load_cpu) as watch:
            if rate:
                res = self.oha_run(server.port, route, rate, conns, seconds)
            else:
                res = self.wrk_run(server.port, route, conns, seconds)
        if server.proc.poll() is not None:
            res = Result(note=f"server died (exit {server.proc.returncode})")
        if not res.note:
            watch.apply(res)
        return res


def parse_wrk_stats(output: str) -> Result:
    m = re.search(r"^BENCH_STATS (\{.*\})$", output, re.MULTILINE)
    if not m:
        return Result(note="no BENCH_STATS line in wrk output")
    s = json.loads(m.group(1))
    return Result(
        rps=s["requests"] / (s["duration_us"] / 1e6) if s["duration_us"] else None,
        requests=s["requests"],
        p50_ms=s["p50_us"] / 1000,
        p95_ms=s["p95_us"] / 1000,
        p99_ms=s["p99_us"] / 1000,
        errors=sum(s[k] for k in ("connect", "read", "write", "timeout", "status")),
    )


def parse_oha(output: str) -> Result:
    try:
        data = json.loads(output)
        summary, pct = data["summary"], data["latencyPercentiles"]
        codes = data.get("statusCodeDistribution", {})
        bad_status = sum(n for code, n in codes.items() if not 200 <= int(code) < 400)
        errors = sum(data.get("errorDistribution", {}).values())
        return Result(
            rps=summary["requestsPerSec"],
            p50_ms=pct["p50"] * 1000,
            p95_ms=pct["p95"] * 1000,
            p99_ms=pct["p99"] * 1000,
            errors=bad_status + errors,
        )
    except (ValueError, KeyError, TypeError) as e:
        return Result(note=f"unreadable oha output ({e})")


def report_line(row: Row) -> None:
    r = row.res
    if r.note:
        text = r.note
    else:
        text = (
            f"{fmt_num(r.rps):>8} req/s  p50 {fmt_ms(r.p50_ms)}  p95 {fmt_ms(r.p95_ms)}  p99 {fmt_ms(r.p99_ms)}"
            f"  err {r.errors}  cpu {fmt_pct(r.cpu_pct)}"
            f"  others {fmt_pct(r.others_pct)}/{fmt_pct(r.load_others_pct)}  rss {fmt_mib(r.rss_mib)}"
        )
    print(f"  {row.label:22} {row.route.label:22} c={row.conns:<5} {text}", file=sys.stderr)


# ---------------------------------------------------------------- sections


def measure_rows(
    bench: Bench, server: Server, plan: list[tuple[str, Route, int, int]], section: str, verify=None
) -> list[Row]:
    """Start `server`, measure each (label, route, conns, seconds) in order, stop it.

    The warm-up runs once per route (the first time it is loaded on this server). `verify`, if
    given, is passed to Bench.measure (an extra check of the answer).
    """
    rows, warmed = [], set()
    try:
        with running(server):
            for label, route, conns, seconds in plan:
                res = bench.measure(server, route, conns, seconds, warm=route.key not in warmed, verify=verify)
                warmed.add(route.key)
                rows.append(Row(section, label, server.name, route, conns, seconds, res, server.env))
                report_line(rows[-1])
    except ServerDown as e:
        done = len(rows)
        rows += [
            Row(section, label, server.name, route, conns, seconds, Result(note=f"server down: {e}"), server.env)
            for label, route, conns, seconds in plan[done:]
        ]
    return rows


def section_steps(bench: Bench) -> list[Row]:
    route, rows, env = ROUTE_BY_KEY["json-async"], [], dict(SWITCHES_OFF)
    for label, change in STEP_CHANGES:
        env.update(change)
        server = make_server("ours", bench.args, bench.server_pin, env)
        rows += measure_rows(bench, server, [(label, route, STEP_CONNS, bench.args.duration)], "steps")
    return rows


def section_stress(bench: Bench) -> list[Row]:
    route, args = ROUTE_BY_KEY["json-async"], bench.args
    plan = [
        (f"c={c}", route, c, args.stress_duration if c == max(STRESS_CONNS) else args.duration) for c in STRESS_CONNS
    ]
    return measure_rows(bench, make_server("ours", args, bench.server_pin), plan, "stress")


def serves(server: str, route: Route) -> bool:
    """Is `route` loaded on `server`? Bare hyper answers a few; a FastAPI `def` twin is FastAPI's only."""
    if server == "bare":
        return route.bare
    return server == "fastapi" or not route.twin_of


def route_points(args) -> list[tuple[Route, int]]:
    """The routes section's (route, c): every --connections value if given, else c=64 for every
    route and c=256 as well for those where concurrency is the point."""
    if args.connections:
        return [(r, c) for r in args.routes for c in args.connections]
    return [(r, c) for r in args.routes for c in ROUTE_CONNS if c == ROUTE_CONNS[0] or r.key in HIGH_CONNS_ROUTES]


def section_routes(bench: Bench) -> list[Row]:
    """--sittings rounds, back to back; in each, ours, then FastAPI, then bare hyper, each a fresh
    server, so a slow patch of the machine hits every server rather than one."""
    args, rows = bench.args, []
    for sitting in range(1, args.sittings + 1):
        print(f"-- routes: sitting {sitting} of {args.sittings}", file=sys.stderr)
        for name in SERVER_NAMES:
            if args.only not in (None, name):
                continue
            plan = [(SERVER_NAMES[name], r, c, args.route_duration) for r, c in route_points(args) if serves(name, r)]
            if not plan:
                continue
            if name == "bare" and bench.bare_problem:
                new = [Row("routes", lbl, name, r, c, s, Result(note=bench.bare_problem)) for lbl, r, c, s in plan]
            else:
                new = measure_rows(bench, make_server(name, args, bench.server_pin), plan, "routes")
            for row in new:
                row.sitting = sitting
            rows += new
    return rows


def section_shards(bench: Bench) -> list[Row]:
    args, rows = bench.args, []
    routes = [ROUTE_BY_KEY["json-async"], ROUTE_BY_KEY["sleep"]]
    for n in args.shard_counts:
        server = make_server("ours", args, bench.server_pin, {"TURBOAPI_SHARDS": str(n)})
        plan = [(f"shards={n}", r, SHARD_CONNS, args.duration) for r in routes]
        rows += measure_rows(bench, server, plan, "shards")
    for policy in POLICIES:
        env = {"TURBOAPI_SHARDS": str(POLICY_SHARDS), "TURBOAPI_SHARD_POLICY": policy}
        server = make_server("ours", args, bench.server_pin, env)
        rows += measure_rows(bench, server, [(policy, routes[0], SHARD_CONNS, args.duration)], "policies")
    return rows


def section_rate(bench: Bench) -> list[Row]:
    args, rows, route = bench.args, [], ROUTE_BY_KEY["json-async"]
    for name in ("ours", "fastapi"):
        if args.only not in (None, name):
            continue
        server = make_server(name, args, bench.server_pin)
        try:
            with running(server):
                res = bench.measure(server, route, RATE_CONNS, args.duration, warm=True, rate=args.rate)
        except ServerDown as e:
            res = Result(note=f"server down: {e}")
        rows.append(Row("rate", SERVER_NAMES[name], name, route, RATE_CONNS, args.duration, res))
        report_line(rows[-1])
    return rows


def middleware_verifier(label: str, enabled: bool, path: str | None):
    """A `verify` for the middleware section: is the middleware there (or not) as this row says?

    CORS must allow the origin and GZip must compress /json-large only. `path` ("native" or
    "python") checks which implementation answered, from the gzip header's MTIME: Python's
    gzip.compress stamps the current time, the core's encoder writes 0.
    """

    def verify(port: int, route: Route) -> str | None:
        _, head, _ = fetch(port, route)
        allowed, encoding = head.get("access-control-allow-origin"), head.get("content-encoding")
        if not enabled:
            return (
                f"{label}: middleware answered (CORS {allowed!r}, encoding {encoding!r})"
                if allowed or encoding
                else None
            )
        if allowed != MW_ORIGIN:
            return f"{label}: access-control-allow-origin {allowed!r}, expected {MW_ORIGIN!r}"
        expected = "gzip" if route.key == "json-large" else None
        if encoding != expected:
            return f"{label}: content-encoding {encoding!r} on {route.path}, expected {expected!r}"
        mtime = head.get("x-bench-gzip-mtime")
        if path and mtime is not None and (mtime == "0") != (path == "native"):
            ran = "the Rust core" if mtime == "0" else "Python's gzip"
            return f"{label}: /json-large was compressed by {ran} (gzip mtime {mtime}), expected {path}"
        return None

    return verify


def section_middleware(bench: Bench) -> list[Row]:
    args, rows = bench.args, []
    for label, name, env in MW_SERVERS:
        enabled = bool(env)
        path = (
            None if name != "ours" or not enabled else ("python" if env["BENCH_MIDDLEWARE"] == "python" else "native")
        )
        server = make_server(name, args, bench.server_pin, env)
        plan = [(label, route, MW_CONNS, args.duration) for route in MW_ROUTES]
        rows += measure_rows(bench, server, plan, "middleware", middleware_verifier(label, enabled, path))
    return rows


def ecosystem_verifier(name: str):
    """Is the production stack there? Its @app.middleware("http") marks every answer."""

    def verify(port: int, route: Route) -> str | None:
        _, head, _ = fetch(port, route)
        served_by = head.get("x-served-by")
        expected = "turboapi" if name == "ours" else "fastapi"
        return None if served_by == expected else f"{name}: x-served-by {served_by!r}, expected {expected!r}"

    return verify


def section_ecosystem(bench: Bench) -> list[Row]:
    args, rows = bench.args, []
    for name, env in ECO_SERVERS:
        server = make_server(name, args, bench.server_pin, env)
        plan = [(SERVER_NAMES[name], ROUTE_BY_KEY[key], ECO_CONNS, args.duration) for key in ECO_ROUTE_KEYS]
        rows += measure_rows(bench, server, plan, "ecosystem", ecosystem_verifier(name))
    return rows


WORKER_COUNTS = (1, 2)
WORKER_CONNS = 64


def section_workers(bench: Bench) -> list[Row]:
    """`turboapi run --workers N` (the supervisor and N processes sharing the port), server and load
    both unpinned: what a second process buys on this machine (DESIGN: 2 workers >= 1.6x 1)."""
    args, rows = bench.args, []
    # Unpinned, the load tool runs on the server's core too: "others" would count it, so it is not
    # measured here (a row cannot be flagged as disturbed by its own load tool).
    saved = bench.load_pin, bench.server_cpu, bench.load_cpu
    bench.load_pin, bench.server_cpu, bench.load_cpu = [], None, None
    try:
        for n in WORKER_COUNTS:
            argv = [args.python, "-m", "turboapi", "run", "examples.demo:app", "--host", HOST, "--port", "{port}"]
            server = Server("ours", [*argv, "--workers", str(n)], "running on http://127.0.0.1:{port}", {})
            plan = [(f"workers={n}", ROUTE_BY_KEY[key], WORKER_CONNS, args.duration) for key in ("json", "json-async")]
            rows += measure_rows(bench, server, plan, "workers")
    finally:
        bench.load_pin, bench.server_cpu, bench.load_cpu = saved
    return rows


SECTION_FUNCS = {
    "steps": section_steps,
    "stress": section_stress,
    "routes": section_routes,
    "shards": section_shards,
    "rate": section_rate,
    "middleware": section_middleware,
    "workers": section_workers,
    "ecosystem": section_ecosystem,
}


# ---------------------------------------------------------------- report: formatting


def fmt_num(v: float | None) -> str:
    return "-" if v is None else f"{v:,.0f}"


def fmt_ms(v: float | None) -> str:
    return "-" if v is None else f"{v:.2f}"


def fmt_pct(v: float | None) -> str:
    return "-" if v is None else f"{v:.0f}%"


def fmt_mib(v: float | None) -> str:
    return "-" if v is None else f"{v:.0f} MiB"


def ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}×" if a and b else "-"


def md_table(head: list[str], rows: list[list[str]], align_left: int = 1) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * align_left + " ---: |" * (len(head) - align_left)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


MEASURE_HEAD = ["req/s", "p50 ms", "p95 ms", "p99 ms", "errors", "CPU", "others", "peak RSS"]
DISTURBED_PCT = 10.0  # others' share of a core above which a row is flagged (and measured again)
RETRY_PAUSE = 5.0


def measure_cells(res: Result) -> list[str]:
    if res.note:
        return [res.note] + ["-"] * (len(MEASURE_HEAD) - 1)
    return [
        fmt_num(res.rps),
        fmt_ms(res.p50_ms),
        fmt_ms(res.p95_ms),
        fmt_ms(res.p99_ms),
        str(res.errors),
        fmt_pct(res.cpu_pct),
        f"{fmt_pct(res.others_pct)} / {fmt_pct(res.load_others_pct)}" + (" ⚠" if disturbed(res) else ""),
        fmt_mib(res.rss_mib),
    ]


def disturbance(res: Result) -> float:
    """The larger share of a core that other processes took during the run, in %."""
    return max((x for x in (res.others_pct, res.load_others_pct) if x is not None), default=0.0)


def disturbed(res: Result) -> bool:
    return disturbance(res) > DISTURBED_PCT


def find(rows: list[Row], section: str, server: str = "ours", route: str | None = None, conns=None, label=None):
    for r in rows:
        if (
            r.section == section
            and r.server == server
            and (route is None or r.route.key == route)
            and (conns is None or r.conns == conns)
            and (label is None or r.label == label)
        ):
            return r
    return None


def rps(row: Row | None) -> float | None:
    return row.res.rps if row and not row.res.note else None


@dataclass
class Sittings:
    """One server, route and c of the routes section over its sittings: the median and the spread."""

    rows: list[Row]

    @property
    def figures(self) -> list[float]:
        return [r.res.rps for r in self.rows if rps(r)]

    @property
    def median(self) -> float | None:
        return statistics.median(self.figures) if self.figures else None

    @property
    def median_p95(self) -> float | None:
        p95s = [r.res.p95_ms for r in self.rows if rps(r) and r.res.p95_ms is not None]
        return statistics.median(p95s) if p95s else None

    @property
    def disturbed(self) -> bool:
        return any(disturbed(r.res) for r in self.rows)

    def cell(self) -> str:
        """`median (min–max)`, ⚠ if a sitting was disturbed, and how many sittings failed."""
        if not self.figures:
            return "-" if not self.rows else "failed"
        text = fmt_num(self.median)
        if len(self.figures) > 1:
            text += f" ({fmt_num(min(self.figures))}–{fmt_num(max(self.figures))})"
        if self.disturbed:
            text += " ⚠"
        failures = sum(1 for r in self.rows if r.res.note)
        return text + (f" ({failures} of {len(self.rows)} failed)" if failures else "")


def sittings_of(rows: list[Row], server: str, key: str, conns: int) -> Sittings:
    return Sittings(
        [r for r in rows if r.section == "routes" and r.server == server and r.route.key == key and r.conns == conns]
    )


def compared(rows: list[Row], route: Route, conns: int) -> tuple[Sittings, Sittings, Sittings]:
    """(ours, FastAPI, bare hyper) for one line of the routes tables; a FastAPI `def` twin's line
    takes ours from the route it twins."""
    ours = sittings_of(rows, "ours", route.twin_of or route.key, conns)
    return ours, sittings_of(rows, "fastapi", route.key, conns), sittings_of(rows, "bare", route.key, conns)


# ---------------------------------------------------------------- report: sections


def table_steps(rows: list[Row]) -> str:
    steps = [r for r in rows if r.section == "steps"]
    first, out, prev = rps(steps[0]) if steps else None, [], None
    for r in steps:
        env = ", ".join(f"{k.removeprefix('TURBOAPI_').lower()}={v}" for k, v in r.env.items())
        out.append([r.label, env, *measure_cells(r.res), ratio(rps(r), first), ratio(rps(r), prev)])
        prev = rps(r)
    head = ["step (GET /json-async, c=50)", "switches", *MEASURE_HEAD, "× all off", "× previous"]
    return md_table(head, out, align_left=2)


def table_stress(rows: list[Row]) -> str:
    out = [[str(r.conns), f"{r.seconds} s", *measure_cells(r.res)] for r in rows if r.section == "stress"]
    return md_table(["c (GET /json-async, defaults)", "duration", *MEASURE_HEAD], out)


def table_routes_summary(rows: list[Row], args) -> str:
    out = []
    for route, c in route_points(args):
        ours, fa, bare = compared(rows, route, c)
        out.append(
            [route.label, str(c), ours.cell(), fa.cell(), bare.cell() if route.bare else "n/a"]
            + [ratio(ours.median, fa.median), ratio(ours.median, bare.median) if route.bare else "n/a"]
        )
    head = ["route", "c", "ours req/s", "FastAPI req/s", "bare hyper req/s", "× FastAPI", "× bare hyper"]
    return md_table(head, out)


def table_routes_detail(rows: list[Row]) -> str:
    servers = list(SERVER_NAMES)
    routes = sorted(
        (r for r in rows if r.section == "routes"),
        key=lambda r: (ROUTES.index(r.route), r.conns, servers.index(r.server), r.sitting),
    )
    out = [[r.route.label, SERVER_NAMES[r.server], str(r.conns), str(r.sitting), *measure_cells(r.res)] for r in routes]
    return md_table(["route", "server", "c", "sitting", *MEASURE_HEAD], out, align_left=2)


def table_shards(rows: list[Row]) -> str:
    out = []
    for key in ("json-async", "sleep"):
        shard_rows = [r for r in rows if r.section == "shards" and r.route.key == key]
        base = rps(shard_rows[0]) if shard_rows else None
        for r in shard_rows:
            out.append([r.route.label, r.label.removeprefix("shards="), *measure_cells(r.res), ratio(rps(r), base)])
    return md_table([f"route (c={SHARD_CONNS})", "shards", *MEASURE_HEAD, "× first"], out)


def table_policies(rows: list[Row]) -> str:
    pol = [r for r in rows if r.section == "policies"]
    base = rps(pol[0]) if pol else None
    out = [[r.label, *measure_cells(r.res), ratio(rps(r), base)] for r in pol]
    head = [f"policy (shards={POLICY_SHARDS}, GET /json-async, c={SHARD_CONNS})", *MEASURE_HEAD, "× round_robin"]
    return md_table(head, out)


def rate_reached(row: Row, rate: int) -> bool:
    return bool(row.res.rps) and row.res.rps >= RATE_REACHED * rate


def table_rate(rows: list[Row], args) -> str:
    out = []
    for r in (r for r in rows if r.section == "rate"):
        cells = measure_cells(r.res)
        if r.res.rps and not rate_reached(r, args.rate):
            cells[0] += " (rate not reached)"
        out.append([r.label, fmt_num(args.rate), *cells])
    head = [f"server (GET /json-async, c={RATE_CONNS})", "target req/s", "achieved req/s", *MEASURE_HEAD[1:]]
    return md_table(head, out)


def table_middleware(rows: list[Row]) -> str:
    out = [[r.label, r.route.label, str(r.conns), *measure_cells(r.res)] for r in rows if r.section == "middleware"]
    return md_table([f"middleware (c={MW_CONNS})", "route", "c", *MEASURE_HEAD], out, align_left=2)


def table_middleware_ratios(rows: list[Row]) -> str:
    out = []
    for route in MW_ROUTES:
        none, native, python, fa = (
            rps(next((r for r in rows if r.section == "middleware" and r.label == lbl and r.route is route), None))
            for lbl, _, _ in MW_SERVERS
        )
        out.append(
            [route.label, *(fmt_num(v) for v in (none, native, python, fa))]
            + [ratio(native, none), ratio(native, python), ratio(native, fa)]
        )
    head = ["route", "none", "native", "Python classes", "FastAPI", "native/none", "native/Python", "native/FastAPI"]
    return md_table(head, out)


def table_ecosystem(rows: list[Row]) -> str:
    out = []
    for key in ECO_ROUTE_KEYS:
        ours, fa = (
            rps(next((r for r in rows if r.section == "ecosystem" and r.server == name and r.route.key == key), None))
            for name, _ in ECO_SERVERS
        )
        out.append([ROUTE_BY_KEY[key].label, fmt_num(ours), fmt_num(fa), ratio(ours, fa)])
    return md_table(["route", "ours", "FastAPI", "ours/FastAPI"], out)


def any_disturbed(used: list) -> bool:
    """Is any of these rows (Row) or sittings (Sittings) flagged ⚠?"""
    return any(u.disturbed if isinstance(u, Sittings) else bool(u and disturbed(u.res)) for u in used)


def targets(rows: list[Row], args) -> list[list[str]]:
    """Each DESIGN.md performance target: [target, measured, verdict]. Routes figures are the
    medians of the sittings."""
    out = []

    def check(name: str, value: float | None, shown: str, ok, used: list) -> None:
        if value is None:
            out.append([name, "-", "not measured"])
            return
        verdict = "met" if ok(value) else "**missed**"
        if any_disturbed(used):
            verdict += " (⚠ from a disturbed row: re-run)"
        out.append([name, shown, verdict])

    def sittings(server: str, route: str, c: int = ROUTE_CONNS[0]) -> Sittings:
        return sittings_of(rows, server, route, c)

    for name, a, b, goal in [
        ("GET /json def ≥ 15× FastAPI `def` (c=64)", sittings("ours", "json"), sittings("fastapi", "json"), 15),
        ("GET /json def ≥ 0.7× bare hyper (c=64)", sittings("ours", "json"), sittings("bare", "json"), 0.7),
        (
            "GET /json-async ≥ 5× FastAPI async (c=64)",
            sittings("ours", "json-async"),
            sittings("fastapi", "json-async"),
            5,
        ),
        ("GET /json-async ≥ 0.8× our /json (c=64)", sittings("ours", "json-async"), sittings("ours", "json"), 0.8),
        (
            "GET /items/42?q= ≥ 8× FastAPI's `async def` twin (c=64)",
            sittings("ours", "items"),
            sittings("fastapi", "items"),
            8,
        ),
        ("POST /items ≥ 8× FastAPI (c=64)", sittings("ours", "post-items"), sittings("fastapi", "post-items"), 8),
        (
            "GET /search (Depends) ≥ 8× FastAPI's `async def` twin (c=64; /items's bar)",
            sittings("ours", "search"),
            sittings("fastapi", "search"),
            8,
        ),
    ]:
        v = a.median / b.median if a.median and b.median else None
        shown = f"{v:.2f}× ({fmt_num(a.median)} / {fmt_num(b.median)})" if v else ""
        check(name, v, shown, lambda x, g=goal: x >= g, [a, b])

    sleep = sittings("ours", "sleep", 256)
    v = sleep.median
    check("GET /sleep c=256 ≥ 23,000 req/s", v, f"{fmt_num(v)} req/s", lambda x: x >= 23000, [sleep])

    # p95 at c=50: the steps' last row is /json-async with the defaults at c=50; the other JSON
    # routes are only loaded at c=64 and above, which is a stricter test, so those (medians) stand in.
    p95s = []
    step = find(rows, "steps", "ours", label=STEP_CHANGES[-1][0])
    if step and not step.res.note:
        p95s.append((step.res.p95_ms, f"{step.route.label}, c={step.conns}", step))
    for key in ("json", "json-async", "items", "post-items"):
        route_p95 = sittings("ours", key)
        if route_p95.median_p95 is not None:
            p95s.append((route_p95.median_p95, f"{ROUTE_BY_KEY[key].label}, c=64, median", route_p95))
    worst = max(p95s, key=lambda x: x[0]) if p95s else None
    check(
        "p95 < 10 ms at c=50 on the JSON routes (c=64 where no c=50 row)",
        worst[0] if worst else None,
        f"worst {worst[0]:.2f} ms ({worst[1]})" if worst else "",
        lambda x: x < 10,
        [used for _, _, used in p95s],
    )

    big = find(rows, "stress", "ours", conns=max(STRESS_CONNS))
    errs = big.res.errors if big and not big.res.note else None
    shown = f"{errs} errors in {big.seconds} s" if errs is not None else ""
    check(f"no errors at c={max(STRESS_CONNS):,}", errs, shown, lambda x: x == 0, [big])

    rate = find(rows, "rate", "ours")
    cpu = rate.res.cpu_pct if rate and not rate.res.note else None
    reached = rate is not None and rate_reached(rate, args.rate)
    shown = f"{fmt_pct(cpu)} of one core at {fmt_num(rps(rate))} req/s" if cpu is not None else ""
    if cpu is not None and not reached:
        shown += f" (the {args.rate:,} req/s rate was not reached)"
    check(
        f"server CPU at {args.rate:,} req/s < {CPU_TARGET_PCT:.0f}% of one core",
        cpu,
        shown,
        lambda x: reached and x < CPU_TARGET_PCT,
        [rate],
    )
    for key in ("json", "json-async"):
        one = find(rows, "workers", "ours", key, WORKER_CONNS, "workers=1")
        two = find(rows, "workers", "ours", key, WORKER_CONNS, "workers=2")
        v = two.res.rps / one.res.rps if rps(one) and rps(two) else None
        shown = f"{v:.2f}× ({fmt_num(two.res.rps)} / {fmt_num(one.res.rps)})" if v else ""
        check(f"2 workers ≥ 1.6× 1 worker, GET /{key} (unpinned, c=64)", v, shown, lambda x: x >= 1.6, [one, two])
    out.append(["RSS flat over 1M requests", "-", "not measured by this suite (issue 7: make soak)"])
    return out


# ---------------------------------------------------------------- README headline


def headline_refusals(rows: list[Row], args) -> list[str]:
    """Why this run may not rewrite README.md's headline table; [] when it may."""
    why = []
    if args.quick:
        why.append("--quick")
    if args.sittings < SITTINGS:
        why.append(f"--sittings {args.sittings} (fewer than {SITTINGS})")
    if missing := [s for s in DEFAULT_SECTIONS if s not in args.sections]:
        why.append(f"section(s) {', '.join(missing)} not run")
    if len(args.routes) < len(ROUTES):
        why.append("a subset of the routes (--routes)")
    if args.only:
        why.append(f"--only {args.only}")
    if args.connections:
        why.append("--connections")
    if args.route_duration < FULL_ROUTE_SECONDS or args.duration < FULL_SECONDS:
        why.append(f"runs shorter than the defaults ({FULL_SECONDS} s, routes {FULL_ROUTE_SECONDS} s)")
    if hit := [r for r in rows if disturbed(r.res)]:
        why.append(f"{len(hit)} disturbed row(s) after the re-run (⚠)")
    if failed := [r for r in rows if r.res.note]:
        why.append(f"{len(failed)} row(s) not measured")
    return why


def headline_markdown(rows: list[Row], args) -> str:
    """The block README.md shows under "make bench": medians, spreads and ratios of medians."""
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    out = []
    for key, c, label in HEADLINE_ROWS:
        route = ROUTE_BY_KEY[key]
        ours, fa, bare = compared(rows, route, c)
        if route.bare:
            last = ratio(ours.median, bare.median)
        elif route.twin_of:
            last = "FastAPI `def` (its threadpool) vs our usual route"
        else:
            last = ""
        out.append([label, str(c), ours.cell(), fa.cell(), ratio(ours.median, fa.median), last])
    head = ["route", "c", "turboapi req/s", "FastAPI req/s", "× FastAPI", "× bare hyper / note"]
    return "\n".join(
        [
            f"Median of {args.sittings} sittings (min–max in brackets), {stamp}, commit {git_commit()},"
            " written by `make bench` (bench/run.py):",
            "",
            md_table(head, out, align_left=1),
        ]
    )


def rewrite_headline(path: Path, markdown: str) -> str:
    """Replace what stands between the headline markers of `path`; '' or why not."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        return f"cannot read {path}: {e}"
    begin, end = text.find(HEADLINE_BEGIN), text.find(HEADLINE_END)
    if begin < 0 or end < begin:
        return f"{path} has no {HEADLINE_BEGIN} ... {HEADLINE_END} block"
    start = begin + len(HEADLINE_BEGIN)
    path.write_text(text[:start] + "\n" + markdown.rstrip() + "\n" + text[end:], encoding="utf-8")
    return ""


def update_headline(rows: list[Row], args) -> str:
    """Rewrite README's headline if this run may; returns the line RESULTS.md records about it."""
    why = headline_refusals(rows, args)
    if not why:
        problem = rewrite_headline(args.readme, headline_markdown(rows, args))
        why = [problem] if problem else []
    if why:
        print(f"README headline NOT rewritten: {'; '.join(why)}", file=sys.stderr)
        return f"README headline table: not updated ({'; '.join(why)})"
    print(f"rewrote the headline table of {args.readme}", file=sys.stderr)
    return f"README headline table: updated from these medians ({os.path.relpath(args.readme, REPO_ROOT)})"


# ---------------------------------------------------------------- report: header


def header(
    args, argv: list[str], rows: list[Row], pin_note: str, fd_limit: str, versions, timings: dict, notes: list[str]
) -> str:
    """The top of RESULTS.md; `notes` are extra "- ..." lines (the README headline, skipped sections)."""
    now = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    python = os.path.relpath(sys.executable, REPO_ROOT) if sys.executable.startswith(str(REPO_ROOT)) else sys.executable
    cmd = shlex.join([python, "bench/run.py", *argv])
    took = ", ".join(f"{k} {v:.0f} s" for k, v in timings.items())
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    hit = [r for r in rows if disturbed(r.res)]
    quiet = (
        f"**{len(hit)} of {len(rows)} rows disturbed** (others used > {DISTURBED_PCT:.0f}% of a core, ⚠):"
        " something else ran on the machine; re-run those sections"
        if hit
        else f"no row disturbed (others used ≤ {DISTURBED_PCT:.0f}% of either core in every row)"
    )
    return "\n".join(
        [
            "# Benchmark results",
            "",
            f"- date: {now}",
            f"- machine: nproc={os.cpu_count()}; {pin_note}; open files limit {fd_limit}; load average at end {load}",
            f"- command: `{cmd}`",
            f"- commit: {git_commit()}",
            *versions,
            f"- runs: {args.duration} s measured (c=1000 stress: {args.stress_duration} s) after a {args.warmup} s"
            " warm-up per server and route",
            f"- routes: {args.route_duration} s runs, median of {args.sittings} sitting(s) interleaved (each sitting:"
            " ours, then FastAPI, then bare hyper, fresh servers, with their warm-ups)",
            f"- wall time: {took}",
            f"- {quiet}",
            *(f"- {note}" for note in notes),
            "",
            "Absolute req/s drift between sittings and machines; compare ratios from one run (the routes section:",
            "ratios of medians over interleaved sittings, min–max in brackets). Latencies are",
            "wrk's (closed loop: at fixed c, latency mostly mirrors throughput). errors = socket errors (connect,",
            "read, write, timeout at wrk's 2 s) + non-2xx/3xx. CPU = server utime+stime over the measured run, all",
            "threads, % of one core (the server is pinned to one core, so ~100% means saturated). others = busy",
            "time on the server's core not used by the server / on the load core not used by the load tool and",
            "run.py (other processes, interrupts): both should be near 0%.",
            f"peak RSS = max VmRSS sampled every {RSS_SAMPLE_EVERY} s during the run. 'ours' = examples/demo.py",
            "with the default switches unless a row says otherwise.",
        ]
    )


def report(rows: list[Row], args) -> str:
    """The markdown body: one block (heading or table) per entry, blank lines between."""
    blocks = []
    if any(r.section == "steps" for r in rows):
        blocks += ["## Seed steps: switches on one at a time", table_steps(rows)]
    if any(r.section == "stress" for r in rows):
        blocks += ["## Stress: the defaults at high concurrency", table_stress(rows)]
    if any(r.section == "routes" for r in rows):
        blocks += [
            "## Routes: ours vs FastAPI (uvicorn, uvloop, httptools) vs bare hyper",
            f"req/s as the median of {args.sittings} sitting(s) (min–max in brackets); the ratios are ratios of"
            " medians. FastAPI's handlers are `async def`, as its users write them for speed, except `/json`"
            " (`def` on both sides); the rows marked FastAPI `def` load its `def` variants (`/items-def`,"
            " `/search-def`, run in its threadpool) against ours' usual route.",
            table_routes_summary(rows, args),
            "Per-row figures:",
            table_routes_detail(rows),
        ]
    if any(r.section == "shards" for r in rows):
        blocks += ["## Shard count (TURBOAPI_SHARDS)", table_shards(rows)]
    if any(r.section == "policies" for r in rows):
        blocks += ["## Shard policy (TURBOAPI_SHARD_POLICY)", table_policies(rows)]
    if any(r.section == "rate" for r in rows):
        blocks += [f"## Server CPU at a fixed {args.rate:,} req/s (oha -q, open loop)", table_rate(rows, args)]
    if any(r.section == "middleware" for r in rows):
        blocks += [
            "## Middleware: CORS + GZip run natively in Rust vs by the Python classes vs FastAPI",
            f"Every request sends `Origin: {MW_ORIGIN}` (allowed) and `Accept-Encoding: gzip`. The stack is"
            f" `CORSMiddleware(allow_origins=[{MW_ORIGIN!r}])` + `GZipMiddleware()` (minimum_size 500: /json"
            " is passed through, /json-large is compressed, ~2,120 -> ~320 bytes); none = ours without"
            " middleware; Python classes = `native_middleware=False`. req/s:",
            table_middleware_ratios(rows),
            "Per-row figures:",
            table_middleware(rows),
        ]
    if any(r.section == "ecosystem" for r in rows):
        blocks += [
            '## A production stack: sessions, metrics and an @app.middleware("http")',
            f"The demo and its FastAPI twin with `BENCH_ECOSYSTEM=1`: Starlette's `SessionMiddleware`,"
            f" prometheus-fastapi-instrumentator (`Instrumentator().instrument(app).expose(app)`) and one"
            f' `@app.middleware("http")` setting a header; c={ECO_CONNS}. req/s:',
            table_ecosystem(rows),
        ]
    blocks += ['## Targets (DESIGN.md, "Performance targets"; routes from the medians)']
    blocks += [md_table(["target", "measured", "verdict"], targets(rows, args), align_left=3)]
    return "\n\n".join(blocks) + "\n"


# ---------------------------------------------------------------- chart


def ensure_matplotlib():
    try:
        import matplotlib
    except ImportError:
        print("matplotlib not found; installing it into this interpreter with pip ...", file=sys.stderr)
        if subprocess.run([sys.executable, "-m", "pip", "install", "-q", "matplotlib"]).returncode != 0:
            return None
        import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def bar_labels(ax, bars) -> None:
    for b in bars:
        h = b.get_height()
        if h:
            ax.annotate(f"{h / 1000:.1f}k", (b.get_x() + b.get_width() / 2, h), ha="center", va="bottom", fontsize=7)


def chart(rows: list[Row], args, path: Path) -> str:
    plt = ensure_matplotlib()
    if plt is None:
        return "matplotlib could not be installed; no chart"
    panels = []
    route_rows = [r for r in rows if r.section == "routes"]
    if route_rows:
        panels.append("routes")
    if any(r.section == "steps" for r in rows):
        panels.append("steps")
    if any(r.section in ("shards", "policies") for r in rows):
        panels.append("shards")
    if not panels:
        return "nothing to plot"
    fig, axes = plt.subplots(len(panels), 1, figsize=(13, 4.6 * len(panels)), squeeze=False)
    for ax, panel in zip(axes[:, 0], panels, strict=True):
        if panel == "routes":
            groups = route_points(args)
            width = 0.27
            for i, (name, color) in enumerate(zip(SERVER_NAMES, ("tab:blue", "tab:orange", "tab:gray"), strict=True)):
                vals = [sittings_of(rows, name, rt.key, c).median or 0 for rt, c in groups]
                xs = [g + (i - 1) * width for g in range(len(groups))]
                bar_labels(ax, ax.bar(xs, vals, width, label=SERVER_NAMES[name], color=color))
            ax.set_xticks(range(len(groups)), [f"{rt.short}\nc={c}" for rt, c in groups], fontsize=8)
            ax.set_title(f"req/s per route, median of {args.sittings} sitting(s) (server on one core)")
        elif panel == "steps":
            steps = [r for r in rows if r.section == "steps"]
            bars = ax.bar([r.label for r in steps], [rps(r) or 0 for r in steps], color="tab:blue")
            bar_labels(ax, bars)
            ax.set_title("seed steps: GET /json-async, c=50, switches turned on one at a time")
        else:
            shard = [r for r in rows if r.section == "shards"]
            counts = list(dict.fromkeys(r.label for r in shard))
            for i, (key, color) in enumerate((("json-async", "tab:blue"), ("sleep", "tab:green"))):
                vals = [rps(next((r for r in shard if r.label == n and r.route.key == key), None)) or 0 for n in counts]
                bars = ax.bar([x + (i - 0.5) * 0.4 for x in range(len(counts))], vals, 0.4, color=color)
                bars.set_label(ROUTE_BY_KEY[key].label)
                bar_labels(ax, bars)
            pol = [r for r in rows if r.section == "policies"]
            base = len(counts)
            bars = ax.bar([base + i for i in range(len(pol))], [rps(r) or 0 for r in pol], 0.4, color="tab:purple")
            bars.set_label(f"GET /json-async, shards={POLICY_SHARDS}, by policy")
            bar_labels(ax, bars)
            ax.set_xticks(range(len(counts) + len(pol)), counts + [r.label for r in pol], fontsize=8)
            ax.set_title(f"shards and shard policies (c={SHARD_CONNS})")
        ax.set_ylabel("req/s")
        ax.grid(axis="y", alpha=0.3)
        ax.set_ylim(top=ax.get_ylim()[1] * 1.2)  # headroom for the legend and the value labels
        if ax.get_legend_handles_labels()[0]:
            ax.legend(loc="upper center", ncol=3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return ""


# ---------------------------------------------------------------- main


def interrupted(signum, frame) -> None:
    """SIGTERM unwinds like Ctrl-C, so every `with running(...)` stops its server."""
    raise KeyboardInterrupt


def main(argv: list[str]) -> int:
    t_start = time.monotonic()
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, interrupted)
    fd_limit = raise_fd_limit()
    wrk = ensure_wrk()
    oha, oha_problem = ensure_oha() if "rate" in args.sections else (find_oha(), "")
    notes = []
    if "rate" in args.sections and not oha:
        notes.append(f"rate section skipped: {oha_problem}")
        print(f"note: the rate section is skipped: {oha_problem}", file=sys.stderr)
    need_bare = "routes" in args.sections and args.only in (None, "bare") and any(r.bare for r in args.routes)
    bare_problem = build_bare() if need_bare else ""
    if not args.no_chart:
        ensure_matplotlib()  # before pinning, so an install gets both cores
    # Builds and installs are done: from here on this script stays on the load tool's core.
    server_pin, load_pin, pin_note = pick_cpus()
    print(pin_note, file=sys.stderr)
    bench = Bench(args, wrk, oha, oha_problem, server_pin, load_pin)
    bench.bare_problem = bare_problem
    versions = tool_versions(args, wrk, oha)
    timings = {"setup": time.monotonic() - t_start}

    rows: list[Row] = []
    for section in args.sections:
        if section == "rate" and not oha:
            continue
        t0 = time.monotonic()
        print(f"== {section}", file=sys.stderr)
        rows += SECTION_FUNCS[section](bench)
        timings[section] = time.monotonic() - t0
    timings["total"] = time.monotonic() - t_start

    body = report(rows, args)
    print(body)
    notes.append(update_headline(rows, args))
    # The sections make stress/soak/fuzz own (bench/results_blocks.py) stay.
    kept = results_blocks.blocks(args.output)
    top = header(args, argv, rows, pin_note, fd_limit, versions, timings, notes)
    args.output.write_text(top + "\n\n" + body + kept, encoding="utf-8")
    print(f"wrote {args.output}", file=sys.stderr)
    if not args.no_chart:
        problem = chart(rows, args, args.chart)
        print(problem or f"wrote {args.chart}", file=sys.stderr)
    # Non-zero when any row went unmeasured, so `make bench` does not pass on a broken server.
    return 1 if any(r.res.note for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
