"""fastapi-cache2: ``FastAPICache.init(InMemoryBackend())`` in the lifespan and ``@cache(expire=...)``
between the route decorator and the endpoint, as its quick start shows; the endpoint counts its
calls, so that a cached answer is seen not to reach it."""

import pytest
from observe import answer

pytestmark = [pytest.mark.timeout(60), pytest.mark.libraries("fastapi-cache2")]

APP = """
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi_cache import FastAPICache
from fastapi_cache.backends.inmemory import InMemoryBackend
from fastapi_cache.decorator import cache
from pydantic import BaseModel

calls = {"square": 0, "item": 0}


@asynccontextmanager
async def lifespan(_: FastAPI) -> AsyncIterator[None]:
    FastAPICache.init(InMemoryBackend(), prefix="fastapi-cache")
    yield


app = FastAPI(lifespan=lifespan)


class Item(BaseModel):
    name: str
    price: float


@app.get("/square/{n}")
@cache(expire=60)
async def square(n: int):
    calls["square"] += 1
    return {"n": n, "square": n * n}


@app.get("/items/{name}")
@cache(expire=60)
def item(name: str) -> Item:
    calls["item"] += 1
    return Item(name=name, price=1.5)


@app.get("/calls")
def get_calls():
    return calls
"""


def exercise(client):
    seen = {}
    for label, path in [("first", "/square/3"), ("second", "/square/3"), ("other", "/square/4")]:
        seen[label] = answer(client.get(path), "x-fastapi-cache", "cache-control", "etag")
    etag = seen["second"]["etag"] or "no etag came"
    seen["revalidated"] = answer(client.get("/square/3", headers={"If-None-Match": etag}))
    seen["items"] = [answer(client.get("/items/hammer"), "x-fastapi-cache") for _ in range(2)]
    seen["calls"] = answer(client.get("/calls"))
    return seen


def test_second_call_is_served_from_cache(ecosystem):
    seen = ecosystem(APP, exercise)
    etag = seen["first"]["etag"] or ""
    assert seen["first"] == {
        "status": 200,
        "body": {"n": 3, "square": 9},
        "x-fastapi-cache": "MISS",
        "cache-control": "max-age=60",
        "etag": etag,
    }
    assert etag.startswith("W/")
    second = seen["second"]
    assert (second.pop("cache-control") or "").startswith("max-age=")  # what is left of the 60 s
    assert second == {"status": 200, "body": {"n": 3, "square": 9}, "x-fastapi-cache": "HIT", "etag": etag}
    assert (seen["other"]["body"], seen["other"]["x-fastapi-cache"]) == ({"n": 4, "square": 16}, "MISS")
    assert seen["revalidated"] == {"status": 304, "body": ""}
    # a sync endpoint returning a model is cached too, and comes back as the same JSON
    assert seen["items"] == [
        {"status": 200, "body": {"name": "hammer", "price": 1.5}, "x-fastapi-cache": "MISS"},
        {"status": 200, "body": {"name": "hammer", "price": 1.5}, "x-fastapi-cache": "HIT"},
    ]
    # /square/3 four times and /square/4 once, /items/hammer twice: each computed once
    assert seen["calls"] == {"status": 200, "body": {"square": 2, "item": 1}}
