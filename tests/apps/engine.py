"""The app served by tests/test_engine.py: loop shards, eager tasks, the gate, switches, bytes.

Run: ``python tests/apps/engine.py --port 0 [--setting value ...]`` (see _runner.py); the value
``none`` (any case) becomes None, so ``--max-concurrent none`` switches the gate off.
Tests also import this module and drive ``app`` through the TestClient.
Handlers and the lifespan that tests observe from outside print ``MARKER ...`` lines to stderr.
"""

import asyncio
import contextlib
import contextvars
import random
import sys
import threading
import time

import anyio

from turboapi import HTTPException, Request, TurboAPI
from turboapi.responses import Response


def marker(text: str) -> None:
    # one write per line: shards print at the same time and print() writes the newline separately
    sys.stderr.write(f"MARKER {text}\n")
    sys.stderr.flush()


def where() -> dict[str, object]:
    return {"thread": threading.current_thread().name}


# -- per-shard lifespan with loop-bound objects ------------------------------------------------
@contextlib.asynccontextmanager
async def lifespan(app):
    loop_id = id(asyncio.get_running_loop())
    thread = threading.current_thread().name
    marker(f"lifespan-startup thread={thread} loop={loop_id}")
    yield {"lock": asyncio.Lock(), "queue": asyncio.Queue(), "loop_id": loop_id, "thread": thread}
    marker(f"lifespan-shutdown thread={thread} loop={loop_id}")


app = TurboAPI(lifespan=lifespan)

# -- handler bookkeeping (concurrency seen by handlers, across all shards) --------------------
_lock = threading.Lock()
STATS = {"in_flight": 0, "max_in_flight": 0, "started": 0, "cancelled": 0}


def _enter() -> None:
    with _lock:
        STATS["in_flight"] += 1
        STATS["started"] += 1
        STATS["max_in_flight"] = max(STATS["max_in_flight"], STATS["in_flight"])


def _leave() -> None:
    with _lock:
        STATS["in_flight"] -= 1


@app.get("/stats")
def stats():
    with _lock:
        return dict(STATS)


@app.post("/stats/reset")
def stats_reset():
    with _lock:
        STATS.update(in_flight=0, max_in_flight=0, started=0, cancelled=0)
    return {"reset": True}


@app.get("/ping")
def ping():
    return {"ping": True}


# -- 1. eager completion and real waiting ------------------------------------------------------
@app.get("/eager")
async def eager():
    task = asyncio.current_task()
    again = asyncio.current_task()
    return {"value": "eager", "has_task": task is not None, "same_task": task is again and task is not None, **where()}


@app.get("/sleep")
async def sleep(seconds: float = 0.05):
    before = asyncio.current_task()
    started = time.monotonic()
    await asyncio.sleep(seconds)
    after = asyncio.current_task()
    return {
        "value": "slept",
        "has_task": before is not None,
        "same_task": before is after and before is not None,
        "elapsed": time.monotonic() - started,
        **where(),
    }


@app.get("/timeout")
async def timeout():
    started = time.monotonic()
    try:
        async with asyncio.timeout(0.05):
            await asyncio.sleep(10)
    except TimeoutError:
        return {"timed_out": True, "elapsed": time.monotonic() - started}
    return {"timed_out": False, "elapsed": time.monotonic() - started}


@app.get("/wait-for")
async def wait_for():
    async def quick() -> str:
        await asyncio.sleep(0.01)
        return "quick"

    value = await asyncio.wait_for(quick(), timeout=5)
    started = time.monotonic()
    try:
        await asyncio.wait_for(asyncio.sleep(10), timeout=0.05)
        timed_out = False
    except TimeoutError:
        timed_out = True
    return {"value": value, "timed_out": timed_out, "elapsed": time.monotonic() - started}


@app.get("/cancel-subtask")
async def cancel_subtask():
    events: list[str] = []

    async def child() -> None:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            events.append("child-cancelled")
            raise

    sub = asyncio.create_task(child())
    await asyncio.sleep(0.01)
    sub.cancel()
    try:
        await sub
    except asyncio.CancelledError:
        events.append("awaited-cancelled")
    me = asyncio.current_task()
    return {"events": events, "sub_cancelled": sub.cancelled(), "me_cancelling": me.cancelling() if me else None}


@app.get("/gather")
async def gather():
    async def one(i: int) -> int:
        await asyncio.sleep(0.05)
        return i * i

    started = time.monotonic()
    values = await asyncio.gather(*(one(i) for i in range(5)))
    return {"values": values, "elapsed": time.monotonic() - started}


@app.get("/anyio")
async def anyio_route():
    started = time.monotonic()
    await anyio.sleep(0.01)
    try:
        with anyio.fail_after(0.05):
            await anyio.sleep(10)
        failed = False
    except TimeoutError:
        failed = True
    fail_elapsed = time.monotonic() - started
    results: list[int] = []

    async def child(i: int) -> None:
        await anyio.sleep(0.01 * i)
        results.append(i)

    async with anyio.create_task_group() as tg:
        for i in (3, 1, 2):
            tg.start_soon(child, i)
    with anyio.move_on_after(0.05) as scope:
        await anyio.sleep(10)
    return {
        "fail_after": failed,
        "fail_elapsed": fail_elapsed,
        "task_group": results,
        "move_on": scope.cancelled_caught,
    }


# -- 2. context isolation ----------------------------------------------------------------------
REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="unset")


@app.get("/ctx/{rid}")
async def ctx(rid: str, pause: float = 0.01):
    entry = REQUEST_ID.get()
    REQUEST_ID.set(rid)
    await asyncio.sleep(pause)
    middle = REQUEST_ID.get()
    await asyncio.sleep(0)
    return {"rid": rid, "entry": entry, "after": REQUEST_ID.get(), "middle": middle}


@app.get("/ctx-inline/{rid}")
async def ctx_inline(rid: str):
    """No await: run inline (inline_no_await), still in a context of its own."""
    entry = REQUEST_ID.get()
    REQUEST_ID.set(rid)
    task = asyncio.current_task()
    return {"entry": entry, "after": REQUEST_ID.get(), "task": task.get_name() if task else None}


@app.get("/raise-inline")
async def raise_inline():
    raise HTTPException(418, "inline teapot")


# -- 3. shard routing --------------------------------------------------------------------------
@app.get("/where")
async def where_async(pause: float = 0.0):
    if pause:
        await asyncio.sleep(pause)
    return where()


@app.get("/where-other")
async def where_other(pause: float = 0.0):
    if pause:
        await asyncio.sleep(pause)
    return where()


@app.get("/where-sync")
def where_sync():
    return where()


# -- 4. loop-bound state -----------------------------------------------------------------------
@app.get("/state")
async def state(request: Request, n: int = 0):
    st = request.state
    loop = asyncio.get_running_loop()
    same_loop = st.loop_id == id(loop)
    async with st.lock:
        await st.queue.put(n)
        await asyncio.sleep(0.001)
        got = await st.queue.get()
    return {"same_loop": same_loop, "n": n, "got": got, "lifespan_thread": st.thread, **where()}


# -- 5. the gate -------------------------------------------------------------------------------
@app.get("/slow")
async def slow(seconds: float = 1.0, tag: str = ""):
    _enter()
    if tag:
        marker(f"slow-start {tag}")
    try:
        await asyncio.sleep(seconds)
    finally:
        _leave()
    return {"slept": seconds, "tag": tag}


# -- 6. client disconnect ----------------------------------------------------------------------
@app.get("/hang")
async def hang(tag: str, seconds: float = 20.0, cleanup: float = 0.0):
    """Sleeps; on cancellation records it and, with ``cleanup``, awaits that long before re-raising
    (as a handler closing a connection gracefully would)."""
    _enter()
    marker(f"hang-start {tag}")
    try:
        await asyncio.sleep(seconds)
    except asyncio.CancelledError:
        with _lock:
            STATS["cancelled"] += 1
        marker(f"hang-cancelled {tag}")
        if cleanup:
            await asyncio.sleep(cleanup)
        raise
    finally:
        _leave()
        marker(f"hang-end {tag}")
    return {"tag": tag}


# -- 7. switches -------------------------------------------------------------------------------
@app.get("/loop")
async def loop_kind():
    return {"module": type(asyncio.get_running_loop()).__module__, **where()}


@app.get("/nan")
async def nan():
    return {"x": float("nan")}


# -- 8. bytes first ----------------------------------------------------------------------------
MiB = 1024 * 1024
BIG = random.Random(20261126).randbytes(MiB)


def body_for(kind: str):
    if kind == "bytes":
        return BIG
    if kind == "bytearray":
        return bytearray(BIG)
    if kind == "memoryview":
        return memoryview(BIG)
    if kind == "response":
        return Response(content=BIG, media_type="application/x-engine-test")
    if kind == "response-plain":
        return Response(content=BIG)  # no media type: no content-type header, as Starlette
    if kind == "response-memoryview":
        return Response(content=memoryview(BIG), media_type="application/x-engine-test")
    if kind == "empty":
        return b""
    raise ValueError(kind)


@app.get("/bin/{kind}")
def bin_sync(kind: str):
    return body_for(kind)


@app.get("/abin/{kind}")
async def bin_async(kind: str):
    await asyncio.sleep(0)
    return body_for(kind)


if __name__ == "__main__":
    import _runner

    host, port, settings, _ = _runner.parse()
    settings = {k: None if isinstance(v, str) and v.lower() == "none" else v for k, v in settings.items()}
    app.run(host=host, port=port, **settings)
