"""Interleaved A/B of two builds of turboapi on the demo's routes, in one sitting.

A variant is a directory that holds a `turboapi` package with its built extension (put first on the
server's PYTHONPATH), or `-` for the checkout as installed. `--prepare REF DIR` makes one from a
git commit: a worktree of REF, built with `maturin build --release` (the compiled dependencies of
target/ are reused), unpacked into DIR.

Each round measures every route on A and on B, the order alternating between rounds (A B, B A...),
so that a drift of the machine during the sitting falls on both. The table gives each route's
median req/s per variant over the rounds, their spread (min-max), and B/A. Servers and load are
pinned as in bench/run.py (server on CPU 0, wrk on CPU 1); run it on a quiet machine.

Usage:
    .venv/bin/python bench/ab.py --prepare 5a368f5 /tmp/base
    .venv/bin/python bench/ab.py /tmp/base - [--rounds 3] [--routes json,json-async,items,post-items]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import run
from run import ROUTE_BY_KEY, Bench, Row, make_server, measure_rows

REPO = Path(__file__).resolve().parent.parent


def prepare(ref: str, dest: Path) -> None:
    """A variant directory from git commit `ref`."""
    with tempfile.TemporaryDirectory() as tmp:
        worktree = Path(tmp) / "tree"
        subprocess.run(["git", "worktree", "add", "--detach", str(worktree), ref], cwd=REPO, check=True)
        try:
            env = {**os.environ, "CARGO_TARGET_DIR": str(REPO / "target")}
            subprocess.run(
                [sys.executable, "-m", "maturin", "build", "--release", "--out", str(Path(tmp) / "wheels")],
                cwd=worktree,
                env=env,
                check=True,
            )
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(worktree)], cwd=REPO, check=True)
        (wheel,) = (Path(tmp) / "wheels").glob("*.whl")
        dest.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(wheel) as archive:
            archive.extractall(dest)
    print(f"variant {ref} -> {dest}", file=sys.stderr)


def measure(bench: Bench, variant: str, routes: list[str], conns: int, seconds: int) -> list[Row]:
    env = {} if variant == "-" else {"PYTHONPATH": str(Path(variant).resolve())}
    server = make_server("ours", bench.args, bench.server_pin, env)
    plan = [(variant, ROUTE_BY_KEY[key], conns, seconds) for key in routes]
    return measure_rows(bench, server, plan, "ab")


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("variants", nargs="*", help="A and B: directories holding a turboapi package, or - for the checkout")
    p.add_argument("--prepare", nargs=2, metavar=("REF", "DIR"), help="make a variant directory from a git commit")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--routes", default="json,json-async,items,post-items")
    p.add_argument("--conns", type=int, default=64)
    p.add_argument("--duration", type=int, default=5)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--python", default=sys.executable)
    args = p.parse_args(argv)
    if args.prepare:
        prepare(args.prepare[0], Path(args.prepare[1]))
        if not args.variants:
            return 0
    if len(args.variants) != 2:
        p.error("give two variants, A and B")
    routes = run.csv_list(args.routes)
    server_pin, load_pin, note = run.pick_cpus()
    print(note, file=sys.stderr)
    bench = Bench(args, run.ensure_wrk(), None, "", server_pin, load_pin)
    results: dict[tuple[str, str], list[float]] = {}
    failed = False
    for round_ in range(args.rounds):
        order = args.variants if round_ % 2 == 0 else args.variants[::-1]
        for variant in order:
            print(f"== round {round_ + 1}, {variant}", file=sys.stderr)
            for row in measure(bench, variant, routes, args.conns, args.duration):
                if row.res.rps is None or row.res.errors:
                    failed = True
                    continue
                results.setdefault((variant, row.route.key), []).append(row.res.rps)
    a, b = args.variants
    print(f"\n{args.rounds} rounds, c={args.conns}, {args.duration} s runs; A = {a}, B = {b}\n")
    print("| route | A req/s (median, min-max) | B req/s (median, min-max) | B/A |")
    print("| --- | ---: | ---: | ---: |")
    for key in routes:
        cells = []
        medians = []
        for variant in (a, b):
            got = results.get((variant, key), [])
            medians.append(statistics.median(got) if got else None)
            cells.append(f"{medians[-1]:,.0f} ({min(got):,.0f}-{max(got):,.0f})" if got else "n/a")
        ratio = f"{medians[1] / medians[0]:.3f}" if None not in medians else "n/a"
        print(f"| {ROUTE_BY_KEY[key].label} | {cells[0]} | {cells[1]} | {ratio} |")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
