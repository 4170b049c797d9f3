"""No request outlives its answer (issue 7, part 6): the core counts the requests it holds (each
one's RequestInfo, shared by the job, Python's RequestData, done-callbacks, streams and
WebSocket sessions); after thousands of requests of every kind, in-process and over a socket, the
count is back where it started, and no Python Request or WebSocket objects pile up."""

import asyncio
import gc
import json
import socket
import time
from collections.abc import Iterator

import pytest

from serverutil import ResponseReader, ServerProcess, raw_request, request_bytes, start_server
from turboapi import BackgroundTasks, Depends, FastAPI, Form, HTTPException, Request, WebSocket
from turboapi._core import live_requests
from turboapi.requests import HTTPConnection
from turboapi.responses import StreamingResponse
from turboapi.testclient import TestClient

pytestmark = pytest.mark.timeout(120)

app = FastAPI()
EXITS: list[int] = []


def resource() -> Iterator[int]:
    yield 1
    EXITS.append(1)


@app.get("/sync")
def sync_route(q: int = 0):
    return {"q": q}


@app.get("/async")
async def async_route():
    await asyncio.sleep(0)
    return {"ok": True}


@app.get("/request")
async def with_request(request: Request):
    return {"path": request.url.path}


@app.get("/dep")
def with_dependency(value: int = Depends(resource)):
    return {"value": value}


@app.get("/boom")
def boom():
    raise RuntimeError("boom")


@app.get("/teapot")
async def teapot():
    raise HTTPException(418)


@app.get("/stream")
def stream():
    return StreamingResponse(iter([b"a", b"b", b"c"]))


@app.get("/background")
def background(tasks: BackgroundTasks):
    tasks.add_task(lambda: None)
    return {}


@app.post("/form")
def form(name: str = Form()):
    return {"name": name}


@app.websocket("/ws")
async def ws(websocket: WebSocket):
    await websocket.accept()
    async for text in websocket.iter_text():
        await websocket.send_text(text)


def connections_alive() -> int:
    gc.collect()
    return sum(isinstance(o, HTTPConnection) for o in gc.get_objects())


def settle(baseline: int, deadline: float = 10.0) -> int:
    """The live count, once it is back at ``baseline`` (or the deadline has passed)."""
    end = time.monotonic() + deadline
    while True:
        gc.collect()
        live = live_requests()
        if live <= baseline or time.monotonic() > end:
            return live
        time.sleep(0.05)


def test_in_process_requests_are_all_released() -> None:
    with TestClient(app, raise_server_exceptions=False) as client:

        def one_of_each() -> None:
            assert client.get("/sync?q=3").status_code == 200
            assert client.get("/sync?q=x").status_code == 422
            assert client.get("/async").status_code == 200
            assert client.get("/request").status_code == 200
            assert client.get("/dep").status_code == 200
            assert client.get("/boom").status_code == 500
            assert client.get("/teapot").status_code == 418
            assert client.get("/stream").text == "abc"
            assert client.get("/background").status_code == 200
            assert client.post("/form", data={"name": "n"}).status_code == 200
            assert client.get("/missing").status_code == 404
            with client.websocket_connect("/ws") as session:
                session.send_text("hi")
                assert session.receive_text() == "hi"

        one_of_each()  # warm-up: first-use caches are not leaks
        baseline, objects = settle(live_requests()), connections_alive()
        for _ in range(150):
            one_of_each()
        # At most the baseline: on free-threaded Python an object freed from another thread goes
        # at that thread's next merge, so the warm-up's may still count in the baseline.
        assert settle(baseline) <= baseline
        assert connections_alive() <= objects
        assert len(EXITS) == 151  # the dependency's exit ran every time


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    proc = start_server("basic")
    try:
        yield proc
    finally:
        proc.stop()


def live_on(server: ServerProcess) -> int:
    resp = raw_request(server.port or 0, "GET", "/live")
    return json.loads(resp.body)["live"] - 1  # the probe itself


def test_requests_over_a_socket_are_all_released(server: ServerProcess) -> None:
    port = server.port or 0
    paths = ["/fast", "/items/3?q=a", "/items/x", "/boom", "/boom-async", "/teapot", "/sleep-async?seconds=0", "/x"]
    for path in paths:
        raw_request(port, "GET", path)
    baseline = live_on(server)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        reader = ResponseReader(sock)
        for i in range(2000):
            sock.sendall(request_bytes("GET", paths[i % len(paths)]))
            reader.read_response()
    # Clients that leave before their answer: their requests go too.
    for _ in range(20):
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(request_bytes("GET", "/sleep-async?seconds=0.3"))
    time.sleep(0.6)
    deadline = time.monotonic() + 10
    while live_on(server) > baseline and time.monotonic() < deadline:
        time.sleep(0.1)
    assert live_on(server) == baseline
