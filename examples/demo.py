"""The demo app: the routes the README shows and the benchmark loads.

Run: ``make run`` (or ``python examples/demo.py --host 127.0.0.1 --port 8000``).
"""

from __future__ import annotations

import argparse
import asyncio

from pydantic import BaseModel

from turboapi import Depends, HTTPException, TurboAPI
from turboapi.responses import Response

app = TurboAPI(title="turboapi demo")


class Item(BaseModel):
    name: str
    price: float
    tags: list[str] = []


@app.get("/json")
def hello():
    return {"message": "Hello, World!"}


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
    app.run(host=args.host, port=args.port)
