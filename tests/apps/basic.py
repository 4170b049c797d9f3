"""The app served by tests/test_server.py over a real socket.

Run: ``python tests/apps/basic.py --port 0 [--setting value ...]`` (see _runner.py).
Handlers that tests need to observe print a marker line to stderr.
"""

import asyncio
import sys
import time

from pydantic import BaseModel

from turboapi import Header, HTTPException, Query, Request, TurboAPI, WebSocket
from turboapi.responses import (
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)

app = TurboAPI()


def marker(text: str) -> None:
    print(f"MARKER {text}", file=sys.stderr, flush=True)


class Item(BaseModel):
    name: str
    price: float
    tags: list[str] = []


# -- basics -------------------------------------------------------------------------------
@app.get("/live")
def live():
    """Requests the core holds right now (this one included): the leak test's probe."""
    from turboapi._core import live_requests

    return {"live": live_requests()}


@app.get("/gc-frozen")
def gc_frozen():
    """How many objects the server moved out of the garbage collector's sight (gc_freeze)."""
    import gc

    return {"frozen": gc.get_freeze_count()}


def _policy() -> str:
    import os

    return {os.SCHED_OTHER: "other", os.SCHED_BATCH: "batch"}.get(os.sched_getscheduler(0), "another")


@app.get("/sched-policy")
def sched_policy_sync():
    """The scheduling policy of the sync pool thread running this (batch_scheduling)."""
    return {"policy": _policy()}


@app.get("/sched-policy-async")
async def sched_policy_async():
    """The scheduling policy of the loop shard running this (batch_scheduling)."""
    return {"policy": _policy()}


@app.get("/")
def root():
    return {"hello": "world"}


@app.get("/fast")
def fast():
    return {"fast": True}


@app.get("/items/{item_id}")
def read_item(item_id: int, q: str | None = None, limit: int = 10, ratio: float = 1.0, flag: bool = False):
    return {"item_id": item_id, "q": q, "limit": limit, "ratio": ratio, "flag": flag}


@app.post("/items", status_code=201)
async def create_item(item: Item):
    return item


@app.post("/echo")
async def echo(request: Request):
    return {"received": await request.json()}


@app.get("/seq/{n}")
def seq(n: int):
    return {"n": n}


@app.get("/headers")
def headers(x_token: str = Header(), accept_language: str | None = Header(default=None)):
    return {"x_token": x_token, "accept_language": accept_language}


@app.get("/search")
def search(q: list[str] = Query(default=[])):
    return {"q": q}


# -- failures -------------------------------------------------------------------------------
@app.get("/boom")
def boom():
    raise ValueError("kaboom-sync-7c1f")


@app.get("/boom-async")
async def boom_async():
    raise ValueError("kaboom-async-9e2d")


@app.get("/teapot")
def teapot():
    raise HTTPException(status_code=418, detail="I'm a teapot", headers={"X-Error": "brewing"})


@app.get("/forbidden")
async def forbidden():
    raise HTTPException(status_code=403, detail={"reason": "no", "code": 7})


# -- concurrency --------------------------------------------------------------------------
@app.get("/sleep-sync")
def sleep_sync(seconds: float = 1.0, tag: str = ""):
    marker(f"sleep-sync-start {tag}")
    time.sleep(seconds)
    marker(f"sleep-sync-end {tag}")
    return {"slept": seconds, "tag": tag}


@app.get("/sleep-async")
async def sleep_async(seconds: float = 0.5, tag: str = ""):
    if tag:
        marker(f"sleep-async-start {tag}")
    await asyncio.sleep(seconds)
    if tag:
        marker(f"sleep-async-end {tag}")
    return {"slept": seconds, "tag": tag}


# -- response types -------------------------------------------------------------------------
BINARY = bytes(range(256)) + b"\r\n\x00end"


@app.get("/bytes")
def raw_bytes():
    return Response(content=BINARY, media_type="application/x-test-binary")


@app.get("/html")
def html():
    return HTMLResponse("<h1>Hello</h1>")


@app.get("/text")
def text():
    return PlainTextResponse("plain hello")


@app.get("/redirect")
def redirect():
    return RedirectResponse("/target?x=1")


@app.get("/cookie")
def cookie():
    response = JSONResponse({"cookie": "set"})
    response.set_cookie("session", "abc123", httponly=True)
    return response


@app.get("/custom-status")
def custom_status():
    return JSONResponse({"created": True}, status_code=202, headers={"X-Custom": "yes"})


@app.get("/model")
def model() -> Item:
    return Item(name="widget", price=2.5, tags=["a", "b"])


@app.get("/models")
async def models() -> list[Item]:
    return [Item(name="a", price=1.0), Item(name="b", price=2.0, tags=["x"])]


# -- the request object -------------------------------------------------------------------
@app.get("/url")
async def url_parts(request: Request):
    return {
        "url": str(request.url),
        "scheme": request.url.scheme,
        "scope_scheme": request.scope["scheme"],
        "http_version": request.scope["http_version"],
    }


@app.get("/stream")
async def stream(n: int = 5):
    """n chunks, a loop turn apart: a response that goes out as it is made."""

    async def chunks():
        for i in range(n):
            await asyncio.sleep(0)
            yield f"chunk {i}\n".encode()

    return StreamingResponse(chunks(), media_type="text/plain")


@app.websocket("/ws-url")
async def websocket_url_parts(websocket: WebSocket):
    await websocket.accept()
    await websocket.send_json({"url": str(websocket.url), "scope_scheme": websocket.scope["scheme"]})
    await websocket.close()


@app.post("/inspect/{name}")
async def inspect_request(name: str, request: Request):
    body = await request.body()
    client = request.client
    return {
        "name": name,
        "method": request.method,
        "client_host": client.host if client else None,
        "client_port": client.port if client else None,
        "path": request.url.path,
        "query": dict(request.query_params),
        "header_lower": request.headers.get("x-custom-header"),
        "header_upper": request.headers.get("X-CUSTOM-HEADER"),
        "header_mixed": request.headers["X-Custom-Header"],
        "content_type": request.headers.get("content-type"),
        "body": body.decode("latin-1"),
        "body_len": len(body),
    }


@app.post("/upload")
async def upload(request: Request):
    body = await request.body()
    return {"size": len(body)}


if __name__ == "__main__":
    import _runner

    _runner.run(app)
