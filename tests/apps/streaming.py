"""The app served by tests/test_streaming_server.py: streaming responses over a real socket.

Run: ``python tests/apps/streaming.py --port 0 [--mode gzip] [--setting value ...]`` (see _runner.py);
``--mode gzip`` puts GZipMiddleware in front, ``true``/``false`` values become booleans.
Generators that tests observe from outside print ``MARKER ...`` lines to stderr (one write per
line) and keep their counters in ``FLOODS``/``STREAMS``, readable through ``/produced/{id}`` and
``/streams/stats``.
"""

import asyncio
import sys
import threading
import time

from turboapi import TurboAPI
from turboapi.responses import StreamingResponse

try:  # FastAPI's SSE helper; reported by /features when missing, its routes left out
    from turboapi.sse import EventSourceResponse

    SSE_HELPER_ERROR = None
except ImportError as exc:
    EventSourceResponse = None
    SSE_HELPER_ERROR = f"{type(exc).__name__}: {exc}"

app = TurboAPI()
MiB = 1024 * 1024

_lock = threading.Lock()
FLOODS: dict[str, dict[str, object]] = {}
STREAMS = {"active": 0, "max_active": 0, "finished": 0}


def marker(text: str) -> None:
    sys.stderr.write(f"MARKER {text}\n")
    sys.stderr.flush()


@app.get("/")
def root():
    return {"ok": True}


@app.get("/features")
def features():
    return {"sse_helper_error": SSE_HELPER_ERROR}


# -- (a) chunks spaced in time ------------------------------------------------------------------
@app.get("/tick/async")
async def tick_async(n: int = 10, interval: float = 0.1):
    async def ticks():
        for i in range(n):
            if i:
                await asyncio.sleep(interval)
            yield f"tick {i}\n"

    return StreamingResponse(ticks(), media_type="text/plain")


@app.get("/tick/sync")
def tick_sync(n: int = 10, interval: float = 0.1):
    def ticks():
        for i in range(n):
            if i:
                time.sleep(interval)
            yield f"tick {i}\n".encode()

    return StreamingResponse(ticks(), media_type="text/plain")


# -- (b) a producer as fast as it can go -----------------------------------------------------------
def flood_chunk(i: int, size: int) -> bytes:
    """Chunk i: its index as 4 bytes, repeated (the test rebuilds the same bytes)."""
    return i.to_bytes(4, "big") * (size // 4)


def _flood_state(flood_id: str) -> dict[str, object]:
    state: dict[str, object] = {"bytes": 0, "chunks": 0, "done": False, "closed": False}
    with _lock:
        FLOODS[flood_id] = state
    return state


@app.get("/flood/sync")
def flood_sync(id: str, chunks: int = 128, size: int = MiB):
    state = _flood_state(id)

    def produce():
        try:
            for i in range(chunks):
                chunk = flood_chunk(i, size)
                state["bytes"] += len(chunk)
                state["chunks"] += 1
                yield chunk
            state["done"] = True
        finally:
            state["closed"] = True
            marker(f"flood-closed id={id} bytes={state['bytes']}")

    return StreamingResponse(produce(), media_type="application/octet-stream")


@app.get("/flood/async")
async def flood_async(id: str, chunks: int = 128, size: int = MiB):
    state = _flood_state(id)

    async def produce():
        try:
            for i in range(chunks):
                chunk = flood_chunk(i, size)
                state["bytes"] += len(chunk)
                state["chunks"] += 1
                yield chunk
            state["done"] = True
        finally:
            state["closed"] = True
            marker(f"flood-closed id={id} bytes={state['bytes']}")

    return StreamingResponse(produce(), media_type="application/octet-stream")


@app.get("/produced/{flood_id}")
def produced(flood_id: str):
    with _lock:
        state = FLOODS.get(flood_id)
    return dict(state) if state is not None else {"missing": True}


# -- (c) infinite event streams, stopped by the client going away ----------------------------------
@app.get("/sse/infinite/async")
async def infinite_async(id: str, interval: float = 0.05, idle_after: int = -1):
    """``data: i`` every ``interval`` s; after ``idle_after`` events it waits an hour instead."""

    async def events():
        how = "none"
        try:
            i = 0
            while True:
                yield f"data: {i}\n\n"
                i += 1
                await asyncio.sleep(3600 if i == idle_after else interval)
        except BaseException as exc:
            how = type(exc).__name__
            raise
        finally:
            marker(f"finally id={id} kind=async exit={how}")

    return StreamingResponse(events(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})


@app.get("/sse/infinite/sync")
def infinite_sync(id: str, interval: float = 0.05):
    def events():
        how = "none"
        try:
            i = 0
            while True:
                yield f"data: {i}\n\n"
                i += 1
                time.sleep(interval)
        except BaseException as exc:
            how = type(exc).__name__
            raise
        finally:
            marker(f"finally id={id} kind=sync exit={how}")

    return StreamingResponse(events(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})


if EventSourceResponse is not None:

    @app.get("/sse/infinite/helper", response_class=EventSourceResponse)
    async def infinite_helper(id: str, interval: float = 0.05):
        how = "none"
        try:
            i = 0
            while True:
                yield {"i": i}
                i += 1
                await asyncio.sleep(interval)
        except BaseException as exc:
            how = type(exc).__name__
            raise
        finally:
            marker(f"finally id={id} kind=helper exit={how}")


# -- (d) many short event streams at once ---------------------------------------------------------
@app.get("/sse/events")
async def sse_events(client: str, n: int = 5, interval: float = 0.1):
    async def events():
        with _lock:
            STREAMS["active"] += 1
            STREAMS["max_active"] = max(STREAMS["max_active"], STREAMS["active"])
        try:
            for i in range(n):
                if i:
                    await asyncio.sleep(interval)
                yield f"id: {i}\nevent: tick\ndata: {client}-{i}\n\n"
        finally:
            with _lock:
                STREAMS["active"] -= 1
                STREAMS["finished"] += 1

    return StreamingResponse(events(), media_type="text/event-stream")


@app.get("/streams/stats")
def streams_stats():
    with _lock:
        return dict(STREAMS)


# -- failures -------------------------------------------------------------------------------------
@app.get("/raise-mid/{kind}")
def raise_mid(kind: str):
    def sync_chunks():
        yield b"first\n"
        time.sleep(0.05)
        raise RuntimeError("stream broke mid-way sync-4c1e")

    async def async_chunks():
        yield b"first\n"
        await asyncio.sleep(0.05)
        raise RuntimeError("stream broke mid-way async-7d2a")

    return StreamingResponse(sync_chunks() if kind == "sync" else async_chunks(), media_type="text/plain")


@app.get("/fixed")
async def fixed():
    async def chunks():
        for word in ("alpha ", "beta ", "gamma"):
            yield word

    return StreamingResponse(chunks(), media_type="text/plain")


if __name__ == "__main__":
    import _runner

    host, port, settings, args = _runner.parse()
    settings = {
        k: {"true": True, "false": False}.get(v.lower(), v) if isinstance(v, str) else v for k, v in settings.items()
    }
    if args.mode == "gzip":  # every response through GZipMiddleware (native, or Python with --native-middleware false)
        from turboapi.middleware.gzip import GZipMiddleware

        app.add_middleware(GZipMiddleware, minimum_size=10)
    elif args.mode is not None:
        raise SystemExit(f"--mode must be 'gzip' or absent, not {args.mode!r}")
    app.run(host=host, port=port, **settings)
