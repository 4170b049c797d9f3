"""The FastAPI twin of examples/demo.py: same routes, same answers, used only as the bench baseline.

Run with: python -m uvicorn bench.fastapi_app:app --loop uvloop --http httptools (from the repo root).
"""

import asyncio

from fastapi import Depends, FastAPI, Response
from pydantic import BaseModel

app = FastAPI()


class Item(BaseModel):
    name: str
    price: float
    tags: list[str] = []


@app.get("/json")
def json_sync():
    return {"message": "Hello, World!"}


@app.get("/json-async")
async def json_async():
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
