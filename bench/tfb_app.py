"""TechEmpower's six test types as a FastAPI user writes them for speed, for ``make bench-db``
(bench/db.py) and tests/test_tfb_app.py: async handlers, an asyncpg pool made in the lifespan and
handed to the handlers through the lifespan state, a Jinja2 template for the fortunes.

One module for both frameworks, chosen at import by ``BENCH_FRAMEWORK`` (``turboapi``, the default,
or ``fastapi``); the code below the imports is the same on both:

    BENCH_FRAMEWORK=turboapi BENCH_DSN=postgresql://... python -m turboapi run bench.tfb_app:app
    BENCH_FRAMEWORK=fastapi BENCH_DSN=postgresql://... python -m uvicorn bench.tfb_app:app --loop uvloop

``BENCH_DSN`` is the database (tables made by bench/tfb_data.py). ``BENCH_DB_POOL`` (default 32) is
the total number of connections the server holds: turboapi runs one lifespan, hence one pool, per
loop shard, so each of its ``TURBOAPI_SHARDS`` (default 1) pools gets ``BENCH_DB_POOL / shards``.
"""

from __future__ import annotations

import os
import random
from contextlib import asynccontextmanager
from operator import itemgetter
from pathlib import Path

import asyncpg

FRAMEWORK = os.environ.get("BENCH_FRAMEWORK", "turboapi").strip().lower()
if FRAMEWORK == "fastapi":
    from fastapi import FastAPI, Request
    from fastapi.responses import PlainTextResponse
    from fastapi.templating import Jinja2Templates
elif FRAMEWORK == "turboapi":
    from turboapi import FastAPI, Request
    from turboapi.responses import PlainTextResponse
    from turboapi.templating import Jinja2Templates
else:
    raise RuntimeError(f"BENCH_FRAMEWORK must be turboapi or fastapi, not {FRAMEWORK!r}")

DSN = os.environ.get("BENCH_DSN", "")
TOTAL_CONNECTIONS = int(os.environ.get("BENCH_DB_POOL", "32"))
SHARDS = int(os.environ.get("TURBOAPI_SHARDS") or 1) if FRAMEWORK == "turboapi" else 1
POOL_SIZE = max(1, TOTAL_CONNECTIONS // SHARDS)

READ_ROW = "SELECT randomnumber FROM world WHERE id = $1"
WRITE_ROW = "UPDATE world SET randomnumber = $1 WHERE id = $2"
ALL_FORTUNES = "SELECT id, message FROM fortune"
ADDITIONAL_FORTUNE = (0, "Additional fortune added at request time.")
WORLD_ROWS = 10_000

templates = Jinja2Templates(directory=str(Path(__file__).resolve().parent / "tfb_templates"))


@asynccontextmanager
async def lifespan(app: FastAPI):
    if not DSN:
        raise RuntimeError("BENCH_DSN is not set (a postgresql:// URL)")
    # Every connection made up front: no connect inside a measured run.
    pool = await asyncpg.create_pool(DSN, min_size=POOL_SIZE, max_size=POOL_SIZE)
    try:
        yield {"pool": pool}
    finally:
        await pool.close()


app = FastAPI(lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)


def query_count(queries: str | None) -> int:
    """TFB's rule: missing or not an integer -> 1, else clamped to 1..500."""
    try:
        count = int(queries)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 1
    return min(max(count, 1), 500)


@app.get("/json")
async def json_serialization() -> dict[str, str]:
    return {"message": "Hello, World!"}


@app.get("/plaintext")
async def plaintext():
    return PlainTextResponse(b"Hello, World!")


@app.get("/db")
async def single_query(request: Request) -> dict[str, int]:
    row_id = random.randint(1, WORLD_ROWS)
    async with request.state.pool.acquire() as conn:
        number = await conn.fetchval(READ_ROW, row_id)
    return {"id": row_id, "randomNumber": number}


@app.get("/queries")
async def multiple_queries(request: Request, queries: str | None = None) -> list[dict[str, int]]:
    ids = random.sample(range(1, WORLD_ROWS + 1), query_count(queries))
    async with request.state.pool.acquire() as conn:
        return [{"id": row_id, "randomNumber": await conn.fetchval(READ_ROW, row_id)} for row_id in ids]


@app.get("/fortunes")
async def fortunes(request: Request):
    async with request.state.pool.acquire() as conn:
        rows = await conn.fetch(ALL_FORTUNES)
    rows.append(ADDITIONAL_FORTUNE)
    rows.sort(key=itemgetter(1))
    return templates.TemplateResponse(request, "fortune.html", {"fortunes": rows})


@app.get("/updates")
async def updates(request: Request, queries: str | None = None) -> list[dict[str, int]]:
    # Sorted ids: concurrent requests lock rows in the same order (no deadlock).
    ids = sorted(random.sample(range(1, WORLD_ROWS + 1), query_count(queries)))
    worlds = []
    async with request.state.pool.acquire() as conn:
        for row_id in ids:
            await conn.fetchval(READ_ROW, row_id)
            worlds.append({"id": row_id, "randomNumber": random.randint(1, WORLD_ROWS)})
        await conn.executemany(WRITE_ROW, [(w["randomNumber"], w["id"]) for w in worlds])
    return worlds
