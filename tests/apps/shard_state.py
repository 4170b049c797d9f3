"""Loop-bound objects on ``app.state``, set in the lifespan, used by handlers on several loop shards
(tests/test_shard_state.py): FastAPI's usual idiom for a lock, a queue, an HTTP client and a pool.

Environment: ``UPSTREAM_URL`` (the httpx.AsyncClient's target), ``DATABASE_URL`` (an asyncpg pool;
no pool when unset). ``--mode module-lock`` adds /module-lock, a lock made at import time and so
shared by every shard's loop.
"""

import asyncio
import os
from contextlib import asynccontextmanager

import _runner
import httpx

from turboapi import Request, TurboAPI

host, port, settings, args = _runner.parse()


@asynccontextmanager
async def lifespan(app: TurboAPI):
    loop = asyncio.get_running_loop()
    app.state.loop_id = id(loop)
    app.state.lock = asyncio.Lock()
    app.state.queue = asyncio.Queue()
    for token in range(4):
        app.state.queue.put_nowait(token)
    app.state.client = httpx.AsyncClient(base_url=os.environ["UPSTREAM_URL"])
    app.state.pool = None
    if os.environ.get("DATABASE_URL"):
        import asyncpg

        app.state.pool = await asyncpg.create_pool(os.environ["DATABASE_URL"], min_size=1, max_size=4)
    app.state.served = 0
    yield {"lock": asyncio.Lock()}
    await app.state.client.aclose()
    if app.state.pool is not None:
        await app.state.pool.close()


app = TurboAPI(lifespan=lifespan)
app.state.config = "set at import"


def same_loop(request: Request) -> dict[str, object]:
    """What every answer carries: whether the state the handler sees is its own loop's."""
    state = request.app.state
    state.served += 1
    return {"own_loop": state.loop_id == id(asyncio.get_running_loop()), "config": state.config}


@app.get("/lock")
async def use_lock(request: Request):
    async with request.app.state.lock:
        await asyncio.sleep(0.001)
    async with request.state.lock:
        await asyncio.sleep(0)
    return same_loop(request)


@app.get("/queue")
async def use_queue(request: Request):
    queue = request.app.state.queue
    token = await queue.get()
    await asyncio.sleep(0.001)
    queue.put_nowait(token)
    return {**same_loop(request), "token": token}


@app.get("/client")
async def use_client(request: Request, n: int):
    answer = await request.app.state.client.get("/echo", params={"n": n})
    return {**same_loop(request), "upstream": answer.json()}


@app.get("/pool")
async def use_pool(request: Request, n: int):
    value = await request.app.state.pool.fetchval("SELECT $1::int * 2", n)
    return {**same_loop(request), "doubled": value}


@app.get("/served")
def served(request: Request):
    """From a sync pool thread, outside the shards: a value set in the lifespan is still there."""
    return {"config": request.app.state.config, "has_lock": hasattr(request.app.state, "lock")}


if args.mode == "module-lock":
    MODULE_LOCK = asyncio.Lock()

    @app.get("/module-lock")
    async def use_module_lock():
        async with MODULE_LOCK:
            await asyncio.sleep(0.001)
        return {"ok": True}


app.run(host=host, port=port, **settings)
