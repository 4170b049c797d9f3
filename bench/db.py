"""TechEmpower's six test types on a real PostgreSQL: turboapi against FastAPI on uvicorn.

Usage (from anywhere; paths are resolved from this file):
    .venv/bin/python bench/db.py                      # every test, 3 sittings of 10 s runs: ~13 min
    .venv/bin/python bench/db.py --quick              # 3 s runs, 1 s warm-ups: ~4 min
    .venv/bin/python bench/db.py --quick --tests db,fortunes --sittings 1

Starts a throwaway PostgreSQL (tests/postgres_server.py), loads TFB's World and Fortune tables
(bench/tfb_data.py), then serves bench/tfb_app.py, one module, on turboapi (``python -m turboapi
run``, ``TURBOAPI_SHARDS=1``) and on FastAPI (uvicorn, uvloop + httptools, one worker, no access
log), with the same number of database connections in total (``--pool``, default 32). JSON and
plaintext are also loaded on bench/bare_hyper (no Python: the ceiling).

Tests: json, plaintext (pipelined 16 deep, bench/pipeline.lua, as TFB loads it), db, queries1,
queries20, fortunes, updates20. Every (test, server) pair is checked first (status, content type,
body; for updates, that the database holds the new values), then loaded with wrk (-t2, c=64) after a
warm-up. Sittings: all servers are started, every test is run on each of them in turn (the order of
the servers rotates from one sitting to the next), the servers are stopped; the report gives the
median of the sittings and their spread.

Pinning: servers on CPU 0; wrk, this script and PostgreSQL on CPU 1. Measured per run: req/s, p99,
errors (socket errors + non-2xx/3xx), the server's own CPU per request (utime+stime of its
processes from /proc over the run / requests), and PostgreSQL's CPU (all its processes, % of one
core): near 100% means the database, not the server, is the bottleneck.

Writes bench/RESULTS-db.md. Exit status 1 if a row could not be measured or an answer was wrong;
missed targets do not fail it.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import os
import platform
import re
import signal
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
sys.path[:0] = [str(BENCH_DIR), str(REPO_ROOT / "tests")]

import run  # noqa: E402  (bench/run.py: servers, /proc, wrk helpers)
import tfb_data  # noqa: E402

import postgres_server  # noqa: E402  (tests/)

RESULTS_FILE = BENCH_DIR / "RESULTS-db.md"
PIPELINE_SCRIPT = BENCH_DIR / "pipeline.lua"
HOST = run.HOST
FULL_SECONDS, QUICK_SECONDS = 10, 3
FULL_WARMUP, QUICK_WARMUP = 2, 1
SITTINGS = 3
CONNS = 64
PIPELINE_DEPTH = 16
POOL = 32  # database connections per server, in total
SHARDS = 1  # TURBOAPI_SHARDS, set explicitly (turboapi's default today)
WRK_THREADS = 2
DISTURBED_PCT = 10.0  # other processes' share of the server's core above which a row is flagged
SETTLE = 0.5  # seconds of quiet before each (test, server): the previous run's leftovers finish
PG_BOUND_PCT = 90.0  # PostgreSQL at or above this share of its core: the database is the bottleneck
LOAD_BOUND_PCT = 95.0  # CPU 1 (wrk + PostgreSQL) this busy, with the server's core below
SERVER_BOUND_PCT = 90.0  # this, bounds req/s too: the server is not what limits it

SERVER_LABELS = {
    "ours": "turboapi",
    "ours-other": "turboapi, SCHED_OTHER",
    "fastapi": "FastAPI",
    "bare": "bare hyper",
    "floor": "handler alone",
}
SERVER_ORDER = ["ours", "ours-other", "fastapi", "bare", "floor"]
# turboapi with batch_scheduling off, on the tests where handing requests between threads shows.
OTHER_POLICY_KINDS = ("json", "db", "fortunes")
# The floor (bench/tfb_floor.py): the database test types' handlers called without a server.
FLOOR_SCRIPT = BENCH_DIR / "tfb_floor.py"
FLOOR_KINDS = ("db", "queries", "fortunes")
UVICORN_ARGS = (
    "-m uvicorn bench.tfb_app:app --host 127.0.0.1 --port {port} --loop uvloop --http httptools"
    " --no-access-log --log-level warning --workers 1"
)


@dataclass(frozen=True)
class Test:
    key: str
    label: str
    path: str
    kind: str  # json | plaintext | db | queries | fortunes | updates
    count: int = 0  # rows a queries/updates answer holds
    bare: bool = False  # bare hyper answers it too
    pipeline: bool = False  # loaded with PIPELINE_DEPTH pipelined requests per connection


TESTS = [
    Test("json", "JSON serialization: GET /json", "/json", "json", bare=True),
    Test("plaintext", "Plaintext: GET /plaintext (pipelined, depth 16)", "/plaintext", "plaintext", True, True),
    Test("db", "Single query: GET /db", "/db", "db"),
    Test("queries1", "Multiple queries: GET /queries?queries=1", "/queries?queries=1", "queries", 1),
    Test("queries20", "Multiple queries: GET /queries?queries=20", "/queries?queries=20", "queries", 20),
    Test("fortunes", "Fortunes: GET /fortunes", "/fortunes", "fortunes"),
    Test("updates20", "Updates: GET /updates?queries=20", "/updates?queries=20", "updates", 20),
]
TEST_BY_KEY = {t.key: t for t in TESTS}
# Content types TFB's verifier accepts (compared case-insensitively, parameters as listed).
CONTENT_TYPES = {
    "json": ("application/json",),
    "plaintext": ("text/plain",),
    "fortunes": ("text/html; charset=utf-8",),
}


@dataclass
class Run:
    rps: float | None = None
    requests: int = 0
    p99_ms: float | None = None
    errors: int | None = None
    cpu_us_per_req: float | None = None  # the server's own CPU per request
    cpu_pct: float | None = None  # the server's CPU, % of one core
    pg_pct: float | None = None  # PostgreSQL's CPU, % of one core
    others_pct: float | None = None  # others' use of the server's core
    load_busy_pct: float | None = None  # how busy the load core (wrk + PostgreSQL + this script) was
    note: str = ""  # why there are no figures


@dataclass
class Row:
    test: Test
    server: str
    runs: list[Run] = field(default_factory=list)

    @property
    def good(self) -> list[Run]:
        return [r for r in self.runs if not r.note]

    def median(self, attr: str) -> float | None:
        values = [getattr(r, attr) for r in self.good if getattr(r, attr) is not None]
        return statistics.median(values) if values else None

    def spread(self, attr: str) -> tuple[float, float] | None:
        values = [getattr(r, attr) for r in self.good if getattr(r, attr) is not None]
        return (min(values), max(values)) if values else None


# ---------------------------------------------------------------- command line


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--quick", action="store_true", help=f"{QUICK_SECONDS} s runs, {QUICK_WARMUP} s warm-ups")
    p.add_argument("--duration", type=int, help=f"seconds per measured run (default {FULL_SECONDS})")
    p.add_argument("--warmup", type=int, help=f"seconds of warm-up before each run (default {FULL_WARMUP})")
    p.add_argument("--sittings", type=int, default=SITTINGS, help=f"runs of each (test, server) (default {SITTINGS})")
    p.add_argument("--connections", type=int, default=CONNS, help=f"wrk -c (default {CONNS})")
    p.add_argument("--tests", default=",".join(TEST_BY_KEY), help=f"comma list from {','.join(TEST_BY_KEY)}")
    p.add_argument(
        "--servers",
        default=",".join(SERVER_ORDER),
        help="comma list from ours,ours-other,fastapi,bare,floor (ours-other: batch_scheduling off; floor: "
        "the database handlers alone, bench/tfb_floor.py)",
    )
    p.add_argument("--pool", type=int, default=POOL, help=f"database connections per server in total (default {POOL})")
    p.add_argument("--shards", type=int, default=SHARDS, help=f"TURBOAPI_SHARDS for turboapi (default {SHARDS})")
    p.add_argument("--python", default=sys.executable, help="interpreter for the servers")
    p.add_argument("--output", type=Path, default=RESULTS_FILE, help="markdown results file")
    args = p.parse_args(argv)
    tests, servers = run.csv_list(args.tests), run.csv_list(args.servers)
    if bad := sorted(set(tests) - set(TEST_BY_KEY)):
        p.error(f"unknown test(s) {bad}; choose from {list(TEST_BY_KEY)}")
    if bad := sorted(set(servers) - set(SERVER_ORDER)):
        p.error(f"unknown server(s) {bad}; choose from {SERVER_ORDER}")
    args.tests = [t for t in TESTS if t.key in tests]
    args.servers = [s for s in SERVER_ORDER if s in servers]
    if args.duration is None:
        args.duration = QUICK_SECONDS if args.quick else FULL_SECONDS
    if args.warmup is None:
        args.warmup = QUICK_WARMUP if args.quick else FULL_WARMUP
    numbers = [args.duration, args.sittings, args.connections, args.pool, args.shards]
    if min(numbers) < 1 or args.warmup < 0 or not args.tests or not args.servers:
        p.error("durations, sittings, connections, pool and shards must be positive, and lists non-empty")
    if args.pool < args.shards:
        p.error("--pool must be at least --shards (one connection per shard's pool)")
    return args


# ---------------------------------------------------------------- PostgreSQL


def postmaster_pid(data: Path) -> int:
    return int((data / "postmaster.pid").read_text().split()[0])


def proc_stat(pid: int) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name (rest[0] is field 3, the state)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            text = f.read()
    except OSError:
        return None
    return text[text.rfind(")") + 2 :].split()


def postgres_pids(master: int) -> list[int]:
    """The postmaster and its children (backends, checkpointer, walwriter, ...)."""
    pids = [master]
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            rest = proc_stat(int(entry))
            if rest and int(rest[1]) == master:
                pids.append(int(entry))
    return pids


def postgres_ticks(master: int) -> int:
    """utime+stime of every PostgreSQL process, plus what the postmaster's reaped children used."""
    total = 0
    for pid in postgres_pids(master):
        rest = proc_stat(pid)
        if rest:
            total += int(rest[11]) + int(rest[12])
            if pid == master:
                total += int(rest[13]) + int(rest[14])  # cutime, cstime
    return total


def pin_postgres(master: int, cpu: int | None) -> str:
    """Every thread of every PostgreSQL process onto `cpu` (backends forked later inherit it)."""
    if cpu is None:
        return "PostgreSQL not pinned"
    for pid in postgres_pids(master):
        try:
            for tid in os.listdir(f"/proc/{pid}/task"):
                os.sched_setaffinity(int(tid), {cpu})
        except OSError:
            pass
    allowed = {frozenset(os.sched_getaffinity(pid)) for pid in postgres_pids(master)}
    return f"PostgreSQL pinned to CPU {cpu}" if allowed == {frozenset({cpu})} else "PostgreSQL pinning failed"


async def db_values(dsn: str, ids: list[int]) -> dict[int, int]:
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("SELECT id, randomnumber FROM world WHERE id = ANY($1::int[])", ids)
    finally:
        await conn.close()
    return {r["id"]: r["randomnumber"] for r in rows}


# ---------------------------------------------------------------- answers


def fetch(port: int, path: str) -> tuple[int | None, str, bytes]:
    try:
        with urllib.request.urlopen(f"http://{HOST}:{port}{path}", timeout=10) as resp:
            return resp.status, resp.headers.get("content-type", ""), resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("content-type", ""), e.read()
    except OSError as e:
        return None, "", f"request failed: {e}".encode()


def world_problem(value: object) -> str | None:
    """None if `value` is a World object as TFB wants it."""
    if not isinstance(value, dict) or set(value) != {"id", "randomNumber"}:
        return f"not an {{id, randomNumber}} object: {value!r:.80}"
    for key in ("id", "randomNumber"):
        if not isinstance(value[key], int) or not 1 <= value[key] <= tfb_data.WORLD_ROWS:
            return f"{key} is not an integer in 1..{tfb_data.WORLD_ROWS}: {value!r:.80}"
    return None


EXPECTED_FORTUNES = tfb_data.fortunes_html(
    sorted([*tfb_data.FORTUNES, tfb_data.ADDITIONAL_FORTUNE], key=lambda f: f[1])
)


def check_answer(port: int, test: Test, dsn: str) -> str | None:
    """One request before loading; None if the answer is right, else what is wrong (a fast 404
    or 500 would otherwise look like a win)."""
    status, ctype, body = fetch(port, test.path)
    if status is None:
        return body.decode()
    if status != 200:
        return f"status {status}: {body[:80]!r}"
    wanted = CONTENT_TYPES.get(test.kind, ("application/json",))
    if ctype.lower().replace(" ", "") not in [w.replace(" ", "") for w in wanted]:
        if not (test.kind == "plaintext" and ctype.lower().startswith("text/plain")):
            return f"content-type {ctype!r}, expected {wanted[0]!r}"
    if test.kind == "plaintext":
        return None if body == b"Hello, World!" else f"body {body[:80]!r}"
    if test.kind == "fortunes":
        text = body.decode("utf-8", "replace")
        return None if text == EXPECTED_FORTUNES else f"fortunes page differs: {text[:200]!r}"
    try:
        value = json.loads(body)
    except ValueError:
        return f"not JSON: {body[:80]!r}"
    if test.kind == "json":
        return None if value == {"message": "Hello, World!"} else f"body {value!r:.80}"
    if test.kind == "db":
        return world_problem(value)
    if not isinstance(value, list) or len(value) != test.count:
        return f"expected a list of {test.count} objects, got {body[:80]!r}"
    for item in value:
        if problem := world_problem(item):
            return problem
    if test.kind == "updates":
        stored = asyncio.run(db_values(dsn, [w["id"] for w in value]))
        if any(stored.get(w["id"]) != w["randomNumber"] for w in value):
            return "the database does not hold the randomNumber values the answer gave"
    return None


# ---------------------------------------------------------------- servers and load


def takes(server: str, test: Test) -> bool:
    """Whether `server` has a row for `test` (bare hyper has no database; the floor only that)."""
    if server == "bare":
        return test.bare
    if server == "floor":
        return test.kind in FLOOR_KINDS
    if server == "ours-other":
        return test.kind in OTHER_POLICY_KINDS
    return True


def make_server(name: str, args, pin: list[str], dsn: str) -> run.Server:
    env = {"BENCH_DSN": dsn, "BENCH_DB_POOL": str(args.pool)}
    if name in ("ours", "ours-other"):
        argv = [*pin, args.python, "-m", "turboapi", "run", "bench.tfb_app:app", "--host", HOST, "--port", "{port}"]
        env |= {"BENCH_FRAMEWORK": "turboapi", "TURBOAPI_SHARDS": str(args.shards)}
        env["TURBOAPI_BATCH_SCHEDULING"] = "0" if name == "ours-other" else "1"
        return run.Server(name, argv, "running on http://127.0.0.1:{port}", env)
    if name == "fastapi":
        return run.Server(name, [*pin, args.python, *UVICORN_ARGS.split()], None, env | {"BENCH_FRAMEWORK": "fastapi"})
    return run.Server(name, [*pin, str(run.BARE_BINARY), "{port}"], "listening on {port}")


def wrk_argv(wrk: str, load_pin: list[str], port: int, test: Test, conns: int, seconds: int) -> list[str]:
    script = PIPELINE_SCRIPT if test.pipeline else run.STATS_SCRIPT
    argv = [*load_pin, wrk, f"-t{min(WRK_THREADS, conns)}", f"-c{conns}", f"-d{seconds}s", "--timeout", "2s"]
    argv += ["-s", str(script), f"http://{HOST}:{port}{test.path}"]
    return [*argv, "--", str(PIPELINE_DEPTH)] if test.pipeline else argv


def run_wrk(argv: list[str], seconds: int) -> tuple[run.Result | None, str]:
    try:
        out = subprocess.run(argv, cwd=BENCH_DIR, capture_output=True, text=True, timeout=seconds + 60)
    except subprocess.TimeoutExpired:
        return None, "wrk timed out"
    if out.returncode != 0:
        return None, f"wrk failed: {out.stderr.strip()[:160]}"
    stats = run.parse_wrk_stats(out.stdout)
    return (None, stats.note) if stats.note else (stats, "")


class Bench:
    def __init__(self, args, wrk: str, server_pin: list[str], load_pin: list[str], pg: postgres_server.Postgres):
        self.args, self.wrk, self.server_pin, self.load_pin, self.pg = args, wrk, server_pin, load_pin, pg
        self.server_cpu = int(server_pin[-1]) if server_pin else None
        self.load_cpu = int(load_pin[-1]) if load_pin else None
        self.master = postmaster_pid(pg.data)
        self.tck = os.sysconf("SC_CLK_TCK")

    def measure(self, server: run.Server, test: Test) -> Run:
        # A server may still be finishing the requests of the run before (wrk gone, handlers not):
        # let it, so that they neither load this run nor rewrite the rows the updates check reads.
        time.sleep(SETTLE)
        problem = check_answer(server.port, test, self.pg.dsn)
        if problem and test.kind == "updates":
            time.sleep(2)  # once more, well after any leftover request of an earlier run
            problem = check_answer(server.port, test, self.pg.dsn)
        if problem:
            print(f"  WRONG {SERVER_LABELS[server.name]} {test.key}: {problem}", file=sys.stderr)
            return Run(note=f"WRONG: {problem}")
        conns, seconds = self.args.connections, self.args.duration
        if self.args.warmup:
            warm = wrk_argv(self.wrk, self.load_pin, server.port, test, conns, self.args.warmup)
            _, err = run_wrk(warm, self.args.warmup)
            if err:
                return Run(note=err)
        sid = server.proc.pid
        ticks0 = sum(t for _, t in run.session_stats(sid))
        load0 = run.core_ticks(self.load_cpu)
        pg0, core0, wall0 = postgres_ticks(self.master), run.core_ticks(self.server_cpu), time.monotonic()
        stats, err = run_wrk(wrk_argv(self.wrk, self.load_pin, server.port, test, conns, seconds), seconds)
        ticks1 = sum(t for _, t in run.session_stats(sid))
        pg1, core1, wall1 = postgres_ticks(self.master), run.core_ticks(self.server_cpu), time.monotonic()
        load1 = run.core_ticks(self.load_cpu)
        if server.proc.poll() is not None:
            return Run(note=f"server died (exit {server.proc.returncode})")
        if err:
            return Run(note=err)
        wall = wall1 - wall0
        requests = stats.requests or 0
        cpu_s = (ticks1 - ticks0) / self.tck
        res = Run(
            rps=stats.rps,
            requests=requests,
            p99_ms=stats.p99_ms,
            errors=stats.errors,
            cpu_us_per_req=1e6 * cpu_s / requests if requests else None,
            cpu_pct=100 * cpu_s / wall,
            pg_pct=100 * (pg1 - pg0) / self.tck / wall,
        )
        busy, total = (b - a for a, b in zip(core0, core1, strict=True))
        if total > 0:
            res.others_pct = max(0.0, 100.0 * busy / total - res.cpu_pct)
        busy, total = (b - a for a, b in zip(load0, load1, strict=True))
        if total > 0:
            res.load_busy_pct = 100.0 * busy / total
        if not requests:
            res.note = "no requests completed"
        return res

    def measure_floor(self, test: Test) -> Run:
        """The test's handler alone (bench/tfb_floor.py), pinned where the servers run, with the
        same pool and as many tasks as wrk has connections: about what any server spends on it."""
        argv = [*self.server_pin, self.args.python, str(FLOOR_SCRIPT), test.key, str(self.args.duration)]
        argv += [str(self.args.warmup), str(self.args.connections)]
        env = os.environ | {"BENCH_DSN": self.pg.dsn, "BENCH_DB_POOL": str(self.args.pool)}
        time.sleep(SETTLE)
        pg0, load0, wall0 = postgres_ticks(self.master), run.core_ticks(self.load_cpu), time.monotonic()
        try:
            out = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=self.args.duration + 120)
        except subprocess.TimeoutExpired:
            return Run(note="the floor timed out")
        pg1, load1, wall = postgres_ticks(self.master), run.core_ticks(self.load_cpu), time.monotonic() - wall0
        if out.returncode != 0:
            return Run(note=f"the floor failed: {out.stderr.strip()[-160:]}")
        figures = json.loads(out.stdout.strip().splitlines()[-1])
        calls, cpu_s, busy_s = figures["calls"], figures["cpu_s"], figures["wall_s"]
        if not calls:
            return Run(note="the floor completed no calls")
        res = Run(
            rps=calls / busy_s,
            requests=calls,
            cpu_us_per_req=1e6 * cpu_s / calls,
            cpu_pct=100 * cpu_s / busy_s,
            pg_pct=100 * (pg1 - pg0) / self.tck / wall,  # over the whole process (start-up is short)
        )
        # No "others" figure: CPU 0's busy time over the call includes the floor's own start-up.
        busy, total = (b - a for a, b in zip(load0, load1, strict=True))
        if total > 0:
            res.load_busy_pct = 100.0 * busy / total
        return res


# ---------------------------------------------------------------- report


def fmt(v: float | None, digits: int = 0) -> str:
    return "—" if v is None else f"{v:,.{digits}f}"


def fmt_x(a: float | None, b: float | None) -> str:
    return "—" if a is None or not b else f"{a / b:.2f}×"


def table(rows: list[Row], test: Test) -> str:
    head = [
        "server",
        "req/s median (min–max)",
        "× FastAPI",
        "p99 ms",
        "errors",
        "server µs CPU/req",
        "× FastAPI CPU/req",
        "server CPU",
        "PostgreSQL CPU",
        "CPU 1 busy",
    ]
    fast = find(rows, test, "fastapi")
    lines = ["| " + " | ".join(head) + " |", "| --- |" + " ---: |" * (len(head) - 1)]
    for row in (r for r in rows if r.test == test):
        name = SERVER_LABELS[row.server]
        if not row.good:
            notes = "; ".join(sorted({r.note for r in row.runs})) or "not run"
            lines.append(f"| {name} | {notes} |" + " |" * (len(head) - 2))
            continue
        spread = row.spread("rps")
        rps = f"{fmt(row.median('rps'))} ({fmt(spread[0])}–{fmt(spread[1])})" if spread else "—"
        disturbed = [r for r in row.good if (r.others_pct or 0) > DISTURBED_PCT]
        if disturbed:
            rps += f" ⚠ {len(disturbed)} disturbed"
        failed = len(row.runs) - len(row.good)
        if failed:
            rps += f" ({failed} of {len(row.runs)} failed)"
        errors = sum(r.errors or 0 for r in row.good)

        def versus(attr: str, row: Row = row) -> str:
            """This row's median against FastAPI's (its own row: 1×)."""
            return "1×" if row.server == "fastapi" else fmt_x(row.median(attr), fast and fast.median(attr))

        floor = row.server == "floor"  # calls of the handler, not requests: no req/s ratio, no errors
        cells = [
            name,
            rps,
            "—" if floor else versus("rps"),
            fmt(row.median("p99_ms"), 1),
            "—" if floor else f"{errors:,}",
            fmt(row.median("cpu_us_per_req"), 1),
            versus("cpu_us_per_req"),
            f"{fmt(row.median('cpu_pct'))}%",
            "—" if row.server == "bare" or test.kind in ("json", "plaintext") else f"{fmt(row.median('pg_pct'))}%",
            f"{fmt(row.median('load_busy_pct'))}%",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def find(rows: list[Row], test: Test, server: str) -> Row | None:
    return next((r for r in rows if r.test == test and r.server == server), None)


def verdicts(rows: list[Row]) -> list[str]:
    out = []
    for key in ("db", "fortunes"):
        test = TEST_BY_KEY[key]
        ours, fast = find(rows, test, "ours"), find(rows, test, "fastapi")
        name = (
            f"{test.label.split(':')[0]}: ≥ 3× FastAPI's req/s, or where PostgreSQL is the bottleneck "
            "≤ ¼ of its CPU/req"
        )
        if not (ours and fast and ours.median("rps") and fast.median("rps")):
            out.append(f"- {name}: not measured")
            continue
        speed = ours.median("rps") / fast.median("rps")
        cpu = (ours.median("cpu_us_per_req") or 0) / (fast.median("cpu_us_per_req") or 1)
        pg, load = ours.median("pg_pct") or 0, ours.median("load_busy_pct") or 0
        server = ours.median("cpu_pct") or 0
        where = (
            f"turboapi's runs: server {server:.0f}% of CPU 0, PostgreSQL {pg:.0f}%, CPU 1 (wrk + PostgreSQL) "
            f"{load:.0f}% busy"
        )
        # The server is not what limits req/s when PostgreSQL saturates its core (the brief's rule),
        # or when the load core as a whole is saturated while the server's core is not.
        bound = pg >= PG_BOUND_PCT or (load >= LOAD_BOUND_PCT and server < SERVER_BOUND_PCT)
        if speed >= 3:
            out.append(f"- {name}: **met**, {speed:.2f}× the req/s, CPU/req {cpu:.2f}× ({where})")
            continue
        elif bound:
            verdict = "**met**" if cpu <= 0.25 else "**missed**"
            what = "PostgreSQL-bound" if pg >= PG_BOUND_PCT else "bound by CPU 1 (wrk + PostgreSQL), not the server"
            out.append(
                f"- {name}: {verdict}, {what}: server CPU/req {cpu:.2f}× FastAPI's, {speed:.2f}× the req/s ({where})"
            )
        else:
            out.append(
                f"- {name}: **missed**, {speed:.2f}× the req/s, not database-bound; server CPU/req {cpu:.2f}× "
                f"FastAPI's ({where})"
            )
        out[-1] += floor_arithmetic(rows, test, ours, fast)
    gains = []
    for test in TESTS:
        on, off = find(rows, test, "ours"), find(rows, test, "ours-other")
        if on and off and on.median("rps") and off.median("rps"):
            gains.append(f"{test.key} {on.median('rps') / off.median('rps'):.2f}×")
    if gains:
        out.append(f"- What `batch_scheduling` buys (turboapi's req/s, on ÷ off): {', '.join(gains)}")
    test = TEST_BY_KEY["plaintext"]
    ours, bare = find(rows, test, "ours"), find(rows, test, "bare")
    name = "Plaintext (pipelined): ≥ 0.75× bare hyper's req/s"
    if ours and bare and ours.median("rps") and bare.median("rps"):
        r = ours.median("rps") / bare.median("rps")
        line = f"- {name}: **{'met' if r >= 0.75 else 'missed'}**, {r:.2f}×"
        bare_us, ours_us = bare.median("cpu_us_per_req"), ours.median("cpu_us_per_req")
        if r < 0.75 and bare_us and ours_us:
            # turboapi is CPU-bound on its one core, so 0.75× bare hyper's req/s allows it that many
            # µs of CPU per request; bare hyper's own cost per request is in there too (it is
            # limited by wrk's core, not its own, so its req/s is not 1 / its CPU per request).
            allowed = 1e6 / (0.75 * bare.median("rps"))
            line += (
                f"; 0.75× bare hyper's {bare.median('rps'):,.0f} req/s allows {allowed:.1f} µs of one core per "
                f"request, of which bare hyper's own HTTP costs {bare_us:.1f} µs: {allowed - bare_us:.1f} µs "
                f"left for the hand-off to Python and the handler; turboapi spends {ours_us:.1f} µs in all"
            )
        out.append(line)
    else:
        out.append(f"- {name}: not measured")
    return out


def floor_arithmetic(rows: list[Row], test: Test, ours: Row, fast: Row) -> str:
    """What 3× FastAPI's req/s asks of turboapi (CPU-bound on its one core, so at most 1 / (3 ×
    FastAPI's req/s) of CPU per request), set against the handler's own cost, the floor row."""
    floor = find(rows, test, "floor")
    floor_us = floor.median("cpu_us_per_req") if floor else None
    ours_us, fast_us, fast_rps = ours.median("cpu_us_per_req"), fast.median("cpu_us_per_req"), fast.median("rps")
    if not (floor_us and ours_us and fast_us and fast_rps):
        return ""
    needed = 1e6 / (3 * fast_rps)
    what = "asyncpg, its pool, Jinja2" if test.kind == "fortunes" else "asyncpg, its pool"
    text = (
        f". 3× FastAPI's {fast_rps:,.0f} req/s allows {needed:.0f} µs of one core per request; the handler "
        f"alone ({what}; no HTTP) costs about {floor_us:.0f} µs"
    )
    if needed <= floor_us:
        text += ": out of reach with these handlers, by this estimate"
    else:
        text += f", which leaves about {needed - floor_us:.0f} µs for the server around it"
        json_row = find(rows, TEST_BY_KEY["json"], "ours")
        if json_row and json_row.median("cpu_us_per_req"):
            text += f" (turboapi's whole GET /json costs {json_row.median('cpu_us_per_req'):.1f} µs)"
    if ours_us > floor_us and fast_us > floor_us:
        text += (
            f". Above the floor turboapi spends {ours_us - floor_us:.0f} µs per request, FastAPI "
            f"{fast_us - floor_us:.0f} µs ({(ours_us - floor_us) / (fast_us - floor_us):.2f}×)"
        )
    return text


def machine() -> str:
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            model = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), model)
    except OSError:
        pass
    return f"{os.cpu_count()} × {model}, Linux {platform.release()}"


def versions(args) -> str:
    probe = (
        "import importlib.metadata as m, sys\n"
        "names = ['turboapi', 'fastapi', 'starlette', 'uvicorn', 'uvloop', 'httptools', 'asyncpg', 'jinja2',\n"
        "         'pydantic']\n"
        "def v(n):\n"
        "    try: return m.version(n)\n"
        "    except Exception: return '?'\n"
        "print('python ' + sys.version.split()[0] + ', ' + ', '.join(n + ' ' + v(n) for n in names))\n"
    )
    return run.command_output([args.python, "-c", probe]) or "versions unknown"


def report(rows: list[Row], args, argv: list[str], notes: list[str], started: float, pg_version: str) -> str:
    wall = time.monotonic() - started
    lines = [
        "# TechEmpower test types on PostgreSQL: turboapi vs FastAPI",
        "",
        f"- when: {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC, wall time {wall / 60:.1f} min",
        f"- command: `{' '.join(['bench/db.py', *argv])}`",
        f"- commit: {run.git_commit()}",
        f"- machine: {machine()}; load average at the end {' '.join(f'{x:.2f}' for x in os.getloadavg())}",
        f"- {versions(args)}; {pg_version}; {run.command_output([args.wrk, '-v']).split(' Copyright')[0]}",
        f"- {'; '.join(notes)}; runs where other processes took > {DISTURBED_PCT:.0f}% of CPU 0 (⚠): "
        f"{sum((r.others_pct or 0) > DISTURBED_PCT for row in rows for r in row.good)} of "
        f"{sum(len(row.good) for row in rows)}",
        f"- turboapi: `python -m turboapi run bench.tfb_app:app`, TURBOAPI_SHARDS={args.shards}, "
        "batch_scheduling on (the rows 'turboapi, SCHED_OTHER': TURBOAPI_BATCH_SCHEDULING=0) "
        f"({args.shards} pool(s) of {max(1, args.pool // args.shards)}); FastAPI: uvicorn --loop uvloop "
        f"--http httptools, 1 worker, no access log (1 pool of {args.pool}); same bench/tfb_app.py",
        f"- wrk -t{WRK_THREADS} -c{args.connections}, {args.duration} s runs after {args.warmup} s warm-ups, "
        f"{args.sittings} sitting(s), servers interleaved (all started per sitting, order rotated); plaintext "
        f"pipelined {PIPELINE_DEPTH} deep",
        "",
        "Medians of the sittings, the req/s spread in brackets. **server µs CPU/req**: the server's "
        "utime+stime (all its processes and threads) over the run / requests; lower is better, and "
        "**× FastAPI CPU/req** below 1 means less CPU than FastAPI per request. **PostgreSQL CPU**: "
        "all PostgreSQL processes, % of one core (it shares CPU 1 with wrk); near 100% the database is "
        "the bottleneck and req/s says little about the server. **CPU 1 busy**: the load core as a "
        "whole (wrk + PostgreSQL + db.py); near 100% with the server's core below, the load side "
        "limits req/s. **errors**: socket errors + non-2xx/3xx, summed over the sittings. ⚠: runs "
        "where other processes took more than 10% of CPU 0 (kept in the median; see the header). "
        "**handler alone**: bench/tfb_floor.py calls the test's handler (the same code, FastAPI's "
        "Request) from as many tasks as wrk has connections, on one uvloop with the same pool, pinned "
        "to CPU 0 after the servers have stopped: its CPU per call estimates what any server running "
        "these handlers pays before HTTP and routing (an estimate: its tasks wait for the pool as "
        "wrk's connections do).",
        "",
    ]
    for test in args.tests:
        lines += [f"## {test.label}", "", table(rows, test), ""]
    lines += ["## Targets", "", *verdicts(rows), ""]
    return "\n".join(lines)


# ---------------------------------------------------------------- main


def interrupted(signum, frame) -> None:
    raise KeyboardInterrupt


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    started = time.monotonic()
    signal.signal(signal.SIGTERM, interrupted)
    args.wrk = wrk = run.ensure_wrk()
    run.raise_fd_limit()
    if why := postgres_server.available():
        sys.exit(f"error: {why}")
    server_pin, load_pin, pin_note = run.pick_cpus()
    notes = [pin_note]
    if "bare" in args.servers and any(t.bare for t in args.tests):
        if problem := run.build_bare():
            print(f"bare hyper unavailable: {problem}", file=sys.stderr)
    rows = [Row(t, s) for t in args.tests for s in args.servers if takes(s, t)]
    servers_used = [s for s in args.servers if s != "floor" and any(r.server == s for r in rows)]
    if not servers_used:
        sys.exit("error: --servers names no server for these tests (the floor runs beside servers, not alone)")
    print("starting PostgreSQL and loading TFB's tables ...", file=sys.stderr)
    with postgres_server.temporary_postgres() as pg:
        asyncio.run(tfb_data.load(pg.dsn))
        bench = Bench(args, wrk, server_pin, load_pin, pg)
        notes.append(pin_postgres(bench.master, int(load_pin[-1]) if load_pin else None))
        found = re.search(r"\d+(\.\d+)+", run.command_output([str(postgres_server.bin_dir() / "postgres"), "-V"]))
        pg_version = f"PostgreSQL {found.group(0) if found else '?'}"
        try:
            for sitting in range(args.sittings):
                order = servers_used[sitting % len(servers_used) :] + servers_used[: sitting % len(servers_used)]
                print(
                    f"sitting {sitting + 1}/{args.sittings}: {', '.join(SERVER_LABELS[s] for s in order)}",
                    file=sys.stderr,
                )
                sitting_rows(bench, rows, order)
        except KeyboardInterrupt:
            print("interrupted; writing what was measured", file=sys.stderr)
    text = report(rows, args, argv, notes, started, pg_version)
    args.output.write_text(text)
    print(text)
    print(f"wrote {args.output}", file=sys.stderr)
    incomplete = [r for r in rows if len(r.good) < args.sittings]
    return 1 if incomplete else 0


def sitting_rows(bench: Bench, rows: list[Row], order: list[str]) -> None:
    """One sitting: every server of `order` started (pinned), every test run on each in turn."""
    servers: dict[str, run.Server] = {}
    try:
        for name in order:
            server = make_server(name, bench.args, bench.server_pin, bench.pg.dsn)
            servers[name] = server
            run.start(server)
            try:
                run.wait_ready(server)
            except run.ServerDown as e:
                print(f"  {SERVER_LABELS[name]} did not start: {e}\n{run.log_text(server)[-2000:]}", file=sys.stderr)
                run.stop(server)
                del servers[name]
                for row in rows:
                    if row.server == name:
                        row.runs.append(Run(note=f"server did not start: {e}"))
        for test in bench.args.tests:
            for name in order:
                row = find(rows, test, name)
                if row is None or name not in servers:
                    continue
                res = bench.measure(servers[name], test)
                row.runs.append(res)
                figures = (
                    res.note
                    or f"{res.rps:,.0f} req/s, p99 {res.p99_ms:.1f} ms, {res.errors} errors, "
                    f"{res.cpu_us_per_req:.0f} µs CPU/req, server {res.cpu_pct:.0f}%, PostgreSQL {res.pg_pct:.0f}%, "
                    f"CPU 1 {fmt(res.load_busy_pct)}%, others on CPU 0 {fmt(res.others_pct)}%"
                )
                print(f"  {test.key:10} {SERVER_LABELS[name]:10} {figures}", file=sys.stderr)
    finally:
        for server in servers.values():
            run.stop(server)
    # The floor once the servers are gone, so that it has CPU 0 to itself.
    for test in bench.args.tests:
        row = find(rows, test, "floor")
        if row is not None:
            res = bench.measure_floor(test)
            row.runs.append(res)
            figures = res.note or (
                f"{res.rps:,.0f} calls/s, {res.cpu_us_per_req:.0f} µs CPU/call, CPU {res.cpu_pct:.0f}%, "
                f"PostgreSQL {res.pg_pct:.0f}%"
            )
            print(f"  {test.key:10} {SERVER_LABELS['floor']:10} {figures}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
