"""Handlers that run at once on several threads (tests/test_free_threading.py): loop shards and the
sync pool, on free-threaded CPython in parallel. Each answer is computed from its request alone, so
a race in the core's hand-off or the Python layer shows as a wrong answer.
"""

import sys
import threading
from collections import Counter
from typing import Annotated

import _runner
from pydantic import BaseModel

from turboapi import Depends, Header, Request, TurboAPI

host, port, settings, args = _runner.parse()
app = TurboAPI()

# Requests per thread name (the shards' and pool's threads), under a lock: what ran where.
_served: Counter[str] = Counter()
_served_lock = threading.Lock()


def _count() -> None:
    with _served_lock:
        _served[threading.current_thread().name] += 1


def _gil() -> bool:
    return sys._is_gil_enabled() if hasattr(sys, "_is_gil_enabled") else True


class Item(BaseModel):
    name: str
    values: list[int]


class Summary(BaseModel):
    item_id: int
    name: str
    total: int
    scale: int
    token: str


def scale(factor: int = 1) -> int:
    return factor


def scaled(factor: Annotated[int, Depends(scale)], again: Annotated[int, Depends(scale)]) -> int:
    return factor * again  # scale() runs once per request (Depends' cache): factor == again


@app.post("/items/{item_id}", response_model=Summary)
async def summarise(
    item_id: int, item: Item, square: Annotated[int, Depends(scaled)], x_token: Annotated[str, Header()]
) -> dict[str, object]:
    _count()
    return {
        "item_id": item_id,
        "name": item.name,
        "total": sum(item.values) * square,
        "scale": square,
        "token": x_token,
    }


@app.get("/sync/{n}")
def sync_square(n: int, request: Request) -> dict[str, object]:
    _count()
    return {"n": n, "square": n * n, "path": request.url.path}


@app.get("/spin/{n}")
async def spin(n: int) -> dict[str, int]:
    """Pure Python work (no await): shards run it in parallel only when the GIL is off."""
    _count()
    total = 0
    for i in range(n):
        total += i * i % 7
    return {"n": n, "total": total}


@app.get("/gil")
async def gil_async() -> dict[str, object]:
    return {"gil": _gil(), "thread": threading.current_thread().name}


@app.get("/gil-sync")
def gil_sync() -> dict[str, object]:
    return {"gil": _gil(), "thread": threading.current_thread().name}


@app.get("/served")
def served() -> dict[str, int]:
    with _served_lock:
        return dict(_served)


if __name__ == "__main__":
    app.run(host=host, port=port, **settings)
