"""The floor under bench-db's database rows: bench/tfb_app.py's own handlers, with no server.

    BENCH_DSN=postgresql://... python bench/tfb_floor.py db 10 2 64

calls the handler of one test type (``db``, ``fortunes``, ``queries1``, ``queries20``) in a loop
from 64 tasks (as many as wrk has connections) on one uvloop, with the app's own lifespan pool, for
a warm-up and then a measured number of seconds, and prints {"calls", "cpu_s", "wall_s"} as JSON.
What this process spends per call (asyncpg, its pool, Jinja2, the handler's Python) is about what
any server running these handlers spends on them: an estimate, not a bound, since its tasks wait
for the pool as wrk's connections do. A server's CPU per request minus it is roughly its own share.

The handlers are FastAPI's (``BENCH_FRAMEWORK=fastapi``): Starlette's Request takes a bare scope,
and a ``TemplateResponse`` renders its page when it is made, so the fortunes' Jinja2 work is in.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ["BENCH_FRAMEWORK"] = "fastapi"

import tfb_app  # noqa: E402
import uvloop  # noqa: E402
from starlette.requests import Request  # noqa: E402


def handler_for(test: str, request: Request):
    if test == "db":
        return lambda: tfb_app.single_query(request)
    if test == "fortunes":
        return lambda: tfb_app.fortunes(request)
    if test.startswith("queries"):
        count = test.removeprefix("queries")
        return lambda: tfb_app.multiple_queries(request, count)
    raise SystemExit(f"no floor for test {test!r}: choose db, fortunes, queries1 or queries20")


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def main(test: str, seconds: float, warmup: float, tasks: int) -> dict[str, float]:
    async with tfb_app.lifespan(tfb_app.app) as state:
        scope = {"type": "http", "method": "GET", "path": "/", "headers": [], "query_string": b"", "state": state}
        call = handler_for(test, Request(scope))
        calls = 0
        deadline = 0.0

        async def client() -> None:
            nonlocal calls
            while time.monotonic() < deadline:
                await call()
                calls += 1

        deadline = time.monotonic() + warmup
        await asyncio.gather(*(client() for _ in range(tasks)))
        calls, cpu0, wall0 = 0, cpu_seconds(), time.monotonic()
        deadline = wall0 + seconds
        await asyncio.gather(*(client() for _ in range(tasks)))
        return {"calls": calls, "cpu_s": cpu_seconds() - cpu0, "wall_s": time.monotonic() - wall0}


if __name__ == "__main__":
    name, duration, warm, clients = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
    print(json.dumps(uvloop.run(main(name, duration, warm, clients))))
