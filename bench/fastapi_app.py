"""The FastAPI twin of examples/demo.py: same routes, same answers, used only as the bench baseline.

Run with: python -m uvicorn bench.fastapi_app:app --loop uvloop --http httptools (from the repo root).

``BENCH_MIDDLEWARE`` (read at import; for bench/run.py's ``middleware`` section), set and not ``0``,
adds ``CORSMiddleware(allow_origins=["https://example.com"])`` and ``GZipMiddleware()``
(minimum_size 500, so only ``/json-large`` gets compressed), as examples/demo.py does; and
``BENCH_ECOSYSTEM`` the same session, metrics and ``@app.middleware("http")`` as it.

Handlers are written the way a FastAPI user writes them for speed: ``async def`` for everything
that does not block (a ``def`` handler or dependency runs in Starlette's threadpool, FastAPI's slow
path), except ``/json``, which stays ``def`` on purpose: the "``def`` on both sides" row, compared
with examples/demo.py's ``def`` /json. ``/items-def/{item_id}`` and ``/search-def`` are the ``def``
versions of ``/items/{item_id}`` and ``/search`` (with a ``def`` dependency), loaded on FastAPI only
and compared with ours' normal routes, to show what the threadpool path costs.
"""

import asyncio
import os

from fastapi import Depends, FastAPI, Response
from pydantic import BaseModel

app = FastAPI()

BENCH_ORIGIN = "https://example.com"  # the origin bench/run.py sends; same in examples/demo.py
if os.environ.get("BENCH_MIDDLEWARE", "").strip().lower() not in ("", "0"):
    from fastapi.middleware.cors import CORSMiddleware
    from fastapi.middleware.gzip import GZipMiddleware

    app.add_middleware(CORSMiddleware, allow_origins=[BENCH_ORIGIN])
    app.add_middleware(GZipMiddleware)

if os.environ.get("BENCH_ECOSYSTEM", "").strip().lower() not in ("", "0"):
    # What a production app brings (bench/run.py's ``ecosystem`` section): Starlette's sessions,
    # prometheus-fastapi-instrumentator's metrics, and one ``@app.middleware("http")``.
    from prometheus_fastapi_instrumentator import Instrumentator
    from starlette.middleware.sessions import SessionMiddleware

    app.add_middleware(SessionMiddleware, secret_key="bench-not-a-secret")
    Instrumentator().instrument(app).expose(app)

    @app.middleware("http")
    async def server_timing(request, call_next):
        response = await call_next(request)
        response.headers["x-served-by"] = "fastapi"
        return response


# ~2 KiB of JSON (2,122 bytes compact): the same body as examples/demo.py's /json-large.
LARGE = {
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


class Item(BaseModel):
    name: str
    price: float
    tags: list[str] = []


@app.get("/json")
def json_sync():
    """``def`` on purpose: compared with the demo's ``def`` /json (both sides take their slow path)."""
    return {"message": "Hello, World!"}


@app.get("/json-large")
async def json_large():
    return LARGE


@app.get("/json-async")
async def json_async():
    return {"message": "Hello, World!"}


@app.get("/items/{item_id}")
async def read_item(item_id: int, q: str | None = None, limit: int = 10):
    return {"item_id": item_id, "q": q, "limit": limit}


@app.get("/items-def/{item_id}")
def read_item_def(item_id: int, q: str | None = None, limit: int = 10):
    """/items/{item_id} as a ``def`` handler: FastAPI runs it in the threadpool."""
    return {"item_id": item_id, "q": q, "limit": limit}


async def pagination(limit: int = 10, offset: int = 0) -> dict[str, int]:
    return {"limit": limit, "offset": offset}


def pagination_def(limit: int = 10, offset: int = 0) -> dict[str, int]:
    return {"limit": limit, "offset": offset}


@app.get("/search")
async def search(q: str, page: dict = Depends(pagination)):
    """Three query parameters, two of them through a dependency."""
    return {"q": q, **page}


@app.get("/search-def")
def search_def(q: str, page: dict = Depends(pagination_def)):
    """/search with a ``def`` handler and a ``def`` dependency: two trips to the threadpool."""
    return {"q": q, **page}


@app.post("/items", status_code=201)
async def create_item(item: Item):
    return item


@app.get("/sleep")
async def sleep():
    await asyncio.sleep(0.01)
    return {"slept": True}


@app.get("/bytes")
async def raw_bytes():
    return Response(content=b"x" * 1024, media_type="application/octet-stream")
