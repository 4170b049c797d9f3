"""A Starlette app mounted in a turboapi app, on the real server: its streamed response reaches
the client chunk by chunk, its request body arrives, and the server keeps serving."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from test_cli import Cli

APP = """
import asyncio
from starlette.applications import Starlette
from starlette.responses import JSONResponse, StreamingResponse
from starlette.routing import Route
from turboapi import FastAPI

async def ticks(request):
    async def chunks():
        for i in range(5):
            yield f"tick {i}\\n"
            await asyncio.sleep(0.2)
    return StreamingResponse(chunks(), media_type="text/plain")

async def echo(request):
    body = await request.body()
    return JSONResponse({"size": len(body), "root_path": request.scope["root_path"], "path": request.url.path})

legacy = Starlette(routes=[Route("/ticks", ticks), Route("/echo", echo, methods=["POST"])])
app = FastAPI()
app.mount("/legacy", legacy)

@app.get("/ping")
def ping():
    return {"pong": True}
"""


@pytest.mark.timeout(60)
def test_mounted_starlette_app_streams_and_receives(tmp_path: Path) -> None:
    (tmp_path / "main.py").write_text(APP)
    server = Cli(tmp_path, "run", "main:app", "--port", "0")
    try:
        base = f"http://127.0.0.1:{server.port}"
        arrivals = []
        start = time.monotonic()
        with httpx.stream("GET", f"{base}/legacy/ticks", timeout=10) as reply:
            assert reply.status_code == 200
            assert reply.headers["content-type"] == "text/plain; charset=utf-8"
            for line in reply.iter_lines():
                arrivals.append((time.monotonic() - start, line))
        assert [line for _, line in arrivals] == [f"tick {i}" for i in range(5)]
        # Each tick goes out as it is made: the first long before the last.
        assert arrivals[0][0] < 0.5 and arrivals[-1][0] - arrivals[0][0] > 0.6, arrivals
        big = b"x" * (3 * 1024 * 1024)
        echoed = httpx.post(f"{base}/legacy/echo", content=big, timeout=10).json()
        assert echoed == {"size": len(big), "root_path": "/legacy", "path": "/legacy/echo"}
        assert httpx.get(f"{base}/ping", timeout=10).json() == {"pong": True}
    finally:
        assert server.stop() == 0
