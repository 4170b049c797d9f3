"""A mounted ASGI app reads the request body as it arrives on the real server (one
``http.request`` message per chunk): a chunked upload is seen before the client has finished
sending it, a large one passes through without the server holding it, and one over the upload
limit ends in a disconnect for the app, with the server still serving."""

import socket
import time
from pathlib import Path

import httpx
import pytest

from serverutil import rss_bytes
from test_cli import Cli

APP = """
import sys
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route
from turboapi import FastAPI

async def upload(request):
    size = chunks = 0
    async for chunk in request.stream():
        if chunk:
            size += len(chunk)
            chunks += 1
            if chunks <= 3:
                sys.stderr.write(f"MARKER chunk {chunks} {len(chunk)}\\n")
                sys.stderr.flush()
    return JSONResponse({"size": size})

async def disconnected(request):
    message = None
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect" or not message.get("more_body"):
            break
    sys.stderr.write(f"MARKER last {message['type']}\\n")
    sys.stderr.flush()
    return JSONResponse({})

legacy = Starlette(routes=[Route("/upload", upload, methods=["POST"]), Route("/limit", disconnected, methods=["POST"])])
app = FastAPI()
app.mount("/legacy", legacy)

@app.get("/ping")
def ping():
    return {"pong": True}
"""


@pytest.fixture
def server(tmp_path: Path):
    (tmp_path / "main.py").write_text(APP)
    cli = Cli(tmp_path, "run", "main:app", "--port", "0")
    yield cli
    cli.stop()


def chunk(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


@pytest.mark.timeout(60)
def test_chunks_reach_the_app_before_the_body_ends(server: Cli) -> None:
    port = server.port
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(
            b"POST /legacy/upload HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n"
            b"Content-Type: application/octet-stream\r\n\r\n"
        )
        for i in (1, 2, 3):
            sock.sendall(chunk(b"a" * 1000))
            # The app has seen this chunk while the body is still open: nothing waits for the end.
            server.wait_for(rf"MARKER chunk {i} 1000", timeout=10)
        sock.sendall(b"0\r\n\r\n")
        reply = b""
        while not reply.endswith(b"}") and (data := sock.recv(65536)):
            reply += data
    assert reply.startswith(b"HTTP/1.1 200") and reply.endswith(b'{"size":3000}'), reply


@pytest.mark.timeout(90)
def test_a_large_upload_streams_through(server: Cli) -> None:
    port = server.port
    pid = server.proc.pid
    before = rss_bytes(pid)
    size = 200 * 1024 * 1024

    def body():
        block = b"z" * (1024 * 1024)
        for _ in range(size // len(block)):
            yield block

    resp = httpx.post(f"http://127.0.0.1:{port}/legacy/upload", content=body(), timeout=60)
    assert resp.json() == {"size": size}
    # Held a chunk at a time (plus a bounded queue), not 200 MiB.
    assert rss_bytes(pid) - before < 64 * 1024 * 1024
    assert httpx.get(f"http://127.0.0.1:{port}/ping").json() == {"pong": True}


@pytest.mark.timeout(60)
def test_a_client_breaking_off_is_a_disconnect(server: Cli) -> None:
    port = server.port
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"POST /legacy/limit HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n")
        sock.sendall(chunk(b"b" * 100))
        time.sleep(0.3)
    server.wait_for(r"MARKER last http.disconnect", timeout=10)
    assert httpx.get(f"http://127.0.0.1:{port}/ping").json() == {"pong": True}
