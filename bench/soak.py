"""Memory held flat (issue 7, part 6): `make soak`.

Sends --requests (default 1,000,000) requests to examples/demo.py, cycling through its standard
routes (JSON, async, large JSON, path and query parameters, a dependency, a pydantic POST, bytes,
a 418, a 404, two 422s, a 10 ms sleep: bench/soak.lua), with wrk at c=64 in 5-second rounds.
Samples the server's RSS after every round and reports it after warm-up (the first 10% of the
requests), at the middle and at the end: the growth from warm-up to the end must be at most 10%.
Also counts non-2xx answers by kind and socket errors (must be zero).

Server on CPU 0, wrk on CPU 1, 127.0.0.1 only. Prints markdown and writes it to the `soak` block
of bench/RESULTS.md. Exit status 1 if memory grew past the bound or any socket error happened.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import results_blocks
from run import ensure_wrk
from stress import BENCH, rss_mib, start_server, stop_server, wrk


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1_000_000)
    parser.add_argument("--round-seconds", type=float, default=5.0)
    args = parser.parse_args()
    ensure_wrk()
    os.sched_setaffinity(0, {1})
    proc, port = start_server({})
    samples: list[tuple[int, float]] = [(0, rss_mib(proc.pid))]
    sent = errors = 0
    started = time.monotonic()
    try:
        while sent < args.requests:
            stats = wrk(port, "/json", 64, args.round_seconds, BENCH / "soak.lua")
            sent += stats["requests"]
            errors += stats["connect"] + stats["read"] + stats["write"] + stats["timeout"]
            samples.append((sent, rss_mib(proc.pid)))
            print(f"{sent:>10,} requests  RSS {samples[-1][1]:.1f} MiB", file=sys.stderr)
            if proc.poll() is not None:
                break
        alive = proc.poll() is None
    finally:
        err = stop_server(proc)
    elapsed = time.monotonic() - started

    def at(fraction: float) -> tuple[int, float]:
        return next(s for s in samples if s[0] >= fraction * sent)

    warm, middle, end = at(0.1), at(0.5), samples[-1]
    growth = (end[1] - warm[1]) / warm[1] * 100
    ok = alive and errors == 0 and growth <= 10 and "panicked" not in err
    lines = [
        "## Reliability: memory over a long run (`make soak`)",
        "",
        f"- {results_blocks.stamp()}; examples/demo.py, "
        f"wrk c=64 cycling through 12 requests on the standard routes (bench/soak.lua), "
        f"{args.round_seconds:.0f} s rounds",
        "",
        "| point | requests sent | server RSS MiB |",
        "| --- | ---: | ---: |",
        f"| start (before any request) | 0 | {samples[0][1]:.1f} |",
        f"| after warm-up (10%) | {warm[0]:,} | {warm[1]:.1f} |",
        f"| middle (50%) | {middle[0]:,} | {middle[1]:.1f} |",
        f"| end | {end[0]:,} | {end[1]:.1f} |",
        "",
        f"{sent:,} requests in {elapsed:.0f} s ({sent / elapsed:,.0f} req/s), socket errors: {errors}; "
        f"RSS growth from warm-up to the end: {growth:+.1f}% (bound: 10%); the server "
        + ("kept running." if alive else "DIED."),
    ]
    return results_blocks.report("soak", lines, [] if ok else ["memory, socket errors or the server"])


if __name__ == "__main__":
    sys.exit(main())
