"""Loop shards on free-threaded CPython (issue 18): 1 vs 2 shards and 1 vs 2 worker processes, on
CPython 3.13 with the GIL and on 3.13t without it, same sitting.

Usage: .venv/bin/python bench/free_threading.py [--seconds 5] [--sittings 3] [--connections 64]
       (make bench-ft builds both venvs first: .venv-3.13 and .venv-3.13t)

The app is examples/demo.py plus /cpu (bench/ft_app.py): an ``async def`` handler that spends about
200 µs in pure Python, which under the GIL no second shard can speed up. Rows: every interpreter
serves /cpu and the demo routes at 1 shard, then /cpu and /json-async at 2 shards and at 2 workers
(``turboapi run --workers 2``, one shard each). Server and wrk are not pinned (a second shard
needs the second core). The rows of a sitting run back to back and the sittings repeat them; the
report gives the median req/s (min–max) and the issue's ratios, each the median of the ratios
within a sitting. Prints a markdown table and writes bench/RESULTS-ft.md.
"""

from __future__ import annotations

import argparse
import datetime
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from run import (
    HOST,
    POST_SCRIPT,
    ROUTE_BY_KEY,
    STATS_SCRIPT,
    Route,
    Server,
    ServerDown,
    check_route,
    ensure_wrk,
    git_commit,
    parse_wrk_stats,
    running,
)

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "RESULTS-ft.md"
PYTHONS = {"3.13": REPO / ".venv-3.13" / "bin" / "python", "3.13t": REPO / ".venv-3.13t" / "bin" / "python"}
DEMO_ROUTES = ["json", "json-async", "items", "search", "post-items"]
SCALED_ROUTES = ["cpu", "json-async"]
SHARD_TARGET = 1.7  # 2 shards >= 1.7x one shard on /cpu, free-threaded
SLOWDOWN_LIMIT = 0.9  # free-threaded at one shard >= 0.9x the GIL build, every route


def cpu_route(python: Path) -> Route:
    """/cpu's expected answer, computed by the server's own interpreter."""
    out = subprocess.run(
        [str(python), "-c", "from bench.ft_app import CPU_LOOPS, burn; print(burn(CPU_LOOPS))"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    return Route("cpu", "GET /cpu (~200 µs of Python)", "GET", "/cpu", 200, {"total": int(out.stdout)})


def cpu_cost_us(python: Path) -> float:
    """One /cpu handler body on this interpreter, alone (median of 5 timings of 500 calls)."""
    code = (
        "import timeit; from bench.ft_app import CPU_LOOPS, burn; "
        "print(min(timeit.repeat(lambda: burn(CPU_LOOPS), number=500, repeat=5)) / 500 * 1e6)"
    )
    out = subprocess.run([str(python), "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    return float(out.stdout)


@dataclass(frozen=True)
class Config:
    python: str  # "3.13" | "3.13t"
    shards: int
    workers: int

    @property
    def label(self) -> str:
        if self.workers > 1:
            return f"{self.python}, {self.workers} workers"
        return f"{self.python}, {self.shards} shard{'s' if self.shards > 1 else ''}"


def plan() -> list[tuple[Config, list[str]]]:
    rows = []
    for python in PYTHONS:
        rows.append((Config(python, 1, 1), ["cpu", *DEMO_ROUTES]))
        rows.append((Config(python, 2, 1), SCALED_ROUTES))
        rows.append((Config(python, 1, 2), SCALED_ROUTES))
    return rows


def server_for(config: Config) -> Server:
    argv = [str(PYTHONS[config.python]), "-m", "turboapi", "run", "bench.ft_app:app"]
    argv += ["--host", HOST, "--port", "{port}", "--workers", str(config.workers)]
    return Server("ours", argv, "running on http://127.0.0.1:{port}", {"TURBOAPI_SHARDS": str(config.shards)})


def load(wrk: str, port: int, route: Route, conns: int, seconds: int) -> tuple[float | None, str]:
    script = POST_SCRIPT if route.method == "POST" else STATS_SCRIPT
    argv = [wrk, "-t2", f"-c{conns}", f"-d{seconds}s", "-s", str(script), f"http://{HOST}:{port}{route.path}"]
    try:
        out = subprocess.run(argv, cwd=REPO / "bench", capture_output=True, text=True, timeout=seconds + 60)
    except subprocess.TimeoutExpired:
        return None, "wrk timed out"
    result = parse_wrk_stats(out.stdout)
    if result.note or result.errors:
        return None, result.note or f"{result.errors} errors"
    return result.rps, ""


def sitting(wrk: str, routes: dict[str, dict[str, Route]], args: argparse.Namespace) -> dict[tuple[Config, str], float]:
    measured: dict[tuple[Config, str], float] = {}
    for config, keys in plan():
        try:
            with running(server_for(config)) as server:
                for key in keys:
                    route = routes[config.python][key]
                    problem = check_route(server.port, route)
                    if problem:
                        print(f"  {config.label} {route.label}: WRONG ({problem}); not loaded", file=sys.stderr)
                        continue
                    load(wrk, server.port, route, args.connections, 1)  # warm-up
                    rps, problem = load(wrk, server.port, route, args.connections, args.seconds)
                    print(f"  {config.label:18} {route.label:32} {rps or 0:>9,.0f} req/s {problem}", file=sys.stderr)
                    if rps:
                        measured[(config, key)] = rps
        except ServerDown as exc:
            print(f"  {config.label}: server down ({exc})", file=sys.stderr)
    return measured


def spread(values: list[float], fmt: str = "{:,.0f}") -> tuple[str, str]:
    if not values:
        return "n/a", ""
    return fmt.format(statistics.median(values)), f"{fmt.format(min(values))}–{fmt.format(max(values))}"


def paired(sittings: list[dict], a: tuple[Config, str], b: tuple[Config, str]) -> list[float]:
    return [s[a] / s[b] for s in sittings if a in s and b in s]


def report(
    sittings: list[dict], routes: dict[str, dict[str, Route]], costs: dict[str, float], args
) -> tuple[str, bool]:
    lines = [
        f"CPython 3.13 with the GIL ({PYTHONS['3.13'].relative_to(REPO)}) and free-threaded 3.13t "
        f"({PYTHONS['3.13t'].relative_to(REPO)}, make python-ft);",
        f"wrk -t2 -c{args.connections}, {args.seconds} s runs, median of {len(sittings)} sittings (min–max); "
        f"server and wrk unpinned on {len(os.sched_getaffinity(0))} cores; commit {git_commit()}, "
        f"{datetime.date.today().isoformat()}.",
        "",
        "/cpu's handler alone, per call: "
        + ", ".join(f"{cost:.0f} µs on {python}" for python, cost in costs.items())
        + " (3.13's free-threaded build has its specialising interpreter off: its pure Python is slower).",
        "",
        "| configuration | route | req/s | min–max |",
        "| --- | --- | ---: | --- |",
    ]
    for config, keys in plan():
        for key in keys:
            median, minmax = spread([s[(config, key)] for s in sittings if (config, key) in s])
            lines.append(f"| {config.label} | {routes[config.python][key].label} | {median} | {minmax} |")
    lines += ["", "| ratio (median of the sittings' ratios) | value | min–max | target |", "| --- | ---: | --- | --- |"]
    met = True
    for python in PYTHONS:
        one, two, workers = Config(python, 1, 1), Config(python, 2, 1), Config(python, 1, 2)
        for key in SCALED_ROUTES:
            label = routes[python][key].label
            ratios = paired(sittings, (two, key), (one, key))
            target = ""
            if python == "3.13t" and key == "cpu":
                ok = bool(ratios) and statistics.median(ratios) >= SHARD_TARGET
                met &= ok
                target = f"≥ {SHARD_TARGET}×: {'met' if ok else '**missed**'}"
            median, minmax = spread(ratios, "{:.2f}×")
            lines.append(f"| {python}: 2 shards ÷ 1 shard, {label} | {median} | {minmax} | {target} |")
            median, minmax = spread(paired(sittings, (workers, key), (one, key)), "{:.2f}×")
            lines.append(f"| {python}: 2 workers ÷ 1 worker, {label} | {median} | {minmax} | |")
    gil, ft = Config("3.13", 1, 1), Config("3.13t", 1, 1)
    for key in ["cpu", *DEMO_ROUTES]:
        ratios = paired(sittings, (ft, key), (gil, key))
        ok = bool(ratios) and statistics.median(ratios) >= SLOWDOWN_LIMIT
        met &= ok
        median, minmax = spread(ratios, "{:.2f}×")
        verdict = f"≥ {SLOWDOWN_LIMIT}×: {'met' if ok else '**missed**'}"
        lines.append(f"| 3.13t ÷ 3.13 at 1 shard, {routes['3.13'][key].label} | {median} | {minmax} | {verdict} |")
    return "\n".join(lines) + "\n", met


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--sittings", type=int, default=3)
    parser.add_argument("--connections", type=int, default=64)
    args = parser.parse_args()
    missing = [str(p) for p in PYTHONS.values() if not p.exists()]
    if missing:
        sys.exit(f"error: no venv at {', '.join(missing)}: run `make bench-ft` (it builds them)")
    wrk = ensure_wrk()
    routes = {}
    for python, path in PYTHONS.items():
        routes[python] = {**{key: ROUTE_BY_KEY[key] for key in DEMO_ROUTES}, "cpu": cpu_route(path)}
    costs = {python: cpu_cost_us(path) for python, path in PYTHONS.items()}
    started = time.monotonic()
    sittings = []
    for index in range(args.sittings):
        print(f"sitting {index + 1} of {args.sittings}", file=sys.stderr)
        sittings.append(sitting(wrk, routes, args))
    markdown, met = report(sittings, routes, costs, args)
    markdown += f"\n{time.monotonic() - started:.0f} s in all.\n"
    RESULTS.write_text("# Loop shards on free-threaded CPython (make bench-ft)\n\n" + markdown)
    print(markdown)
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
