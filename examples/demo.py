"""The demo app: the routes the README shows and the benchmark loads.

Run: ``make run`` (or ``python examples/demo.py --host 127.0.0.1 --port 8000``).

``BENCH_MIDDLEWARE`` (read at import; for bench/run.py's ``middleware`` section) adds
``CORSMiddleware(allow_origins=["https://example.com"])`` and ``GZipMiddleware()`` (minimum_size
500, so only ``/json-large`` gets compressed): ``1`` lets turboapi run this all-standard stack
natively in Rust (the default), ``python`` runs it through the Python classes
(``app.run(native_middleware=False)``). Unset, empty or ``0``: no middleware.
``BENCH_ECOSYSTEM=1`` adds what a production app brings (SessionMiddleware,
prometheus-fastapi-instrumentator, one ``@app.middleware("http")``; for the ``ecosystem`` section).
"""

from __future__ import annotations

import argparse
import asyncio
import os

from pydantic import BaseModel

from turboapi import Depends, HTTPException, TurboAPI
from turboapi.responses import Response

app = TurboAPI(title="turboapi demo")

BENCH_MIDDLEWARE = os.environ.get("BENCH_MIDDLEWARE", "").strip().lower()
BENCH_ORIGIN = "https://example.com"  # the origin bench/run.py sends; same in bench/fastapi_app.py
if BENCH_MIDDLEWARE not in ("", "0"):
    from turboapi.middleware.cors import CORSMiddleware
    from turboapi.middleware.gzip import GZipMiddleware

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
        response.headers["x-served-by"] = "turboapi"
        return response


# ~2 KiB of JSON (2,122 bytes compact), enough for GZipMiddleware's default minimum_size of 500.
# The same body in bench/fastapi_app.py and bench/run.py.
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


@app.get("/", include_in_schema=False)
def index():
    """The first page a newcomer opens: where to go from here."""
    return {"app": app.title, "docs": "/docs", "redoc": "/redoc", "openapi": "/openapi.json"}


@app.get("/json")
def hello():
    return {"message": "Hello, World!"}


@app.get("/json-large")
def json_large():
    return LARGE


@app.get("/json-async")
async def hello_async():
    return {"message": "Hello, World!"}


@app.get("/items/{item_id}")
def read_item(item_id: int, q: str | None = None, limit: int = 10):
    return {"item_id": item_id, "q": q, "limit": limit}


def pagination(limit: int = 10, offset: int = 0) -> dict[str, int]:
    return {"limit": limit, "offset": offset}


@app.get("/search")
def search(q: str, page: dict = Depends(pagination)):
    """Three query parameters, two of them through a dependency."""
    return {"q": q, **page}


@app.post("/items", status_code=201)
async def create_item(item: Item):
    return item


@app.get("/sleep")
async def sleep():
    await asyncio.sleep(0.01)
    return {"slept": True}


@app.get("/bytes")
def raw_bytes():
    return Response(content=b"x" * 1024, media_type="application/octet-stream")


@app.get("/teapot")
def teapot():
    raise HTTPException(status_code=418, detail="I'm a teapot")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    settings = {"native_middleware": False} if BENCH_MIDDLEWARE == "python" else {}
    app.run(host=args.host, port=args.port, **settings)
