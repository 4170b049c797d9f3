"""A turboapi app is an ASGI 3 application: served by uvicorn, driven by Starlette's TestClient.
Requests still go through the core in-process (routing, extraction, validation, serialisation);
these tests check that what the ASGI side sees matches turboapi's own server and client."""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import websockets.sync.client

from fastapi_reference import FastAPITestClient as StarletteTestClient  # Starlette's, import warning silenced
from turboapi.testclient import TestClient

pytestmark = pytest.mark.timeout(60)

APPS = Path(__file__).resolve().parent / "apps"
sys.path.insert(0, str(APPS))
from asgi_served import app  # noqa: E402

REQUESTS = [
    ("GET", "/items/42?q=x", None),
    ("GET", "/items/nope", None),
    ("POST", "/items", {"name": "pen", "price": 1.5}),
    ("POST", "/items", {"name": "pen"}),
    ("GET", "/state", None),
    ("GET", "/ticks?n=3&delay=0", None),
    ("GET", "/missing", None),
    ("DELETE", "/items/1", None),
]


def comparable(resp: httpx.Response) -> tuple[int, list[tuple[str, str]], bytes]:
    headers = sorted((k, v) for k, v in resp.headers.items() if k not in ("date", "server"))
    return resp.status_code, headers, resp.content


@pytest.mark.parametrize(("method", "path", "body"), REQUESTS)
def test_starlette_testclient_sees_what_ours_sees(method: str, path: str, body: object) -> None:
    with StarletteTestClient(app) as theirs, TestClient(app) as ours:
        assert comparable(theirs.request(method, path, json=body)) == comparable(ours.request(method, path, json=body))


def test_starlette_testclient_raises_server_errors_and_runs_the_lifespan() -> None:
    with StarletteTestClient(app) as client:
        assert client.get("/state").json()["greeting"] == "hello from the lifespan"
        with pytest.raises(RuntimeError, match="boom"):
            client.get("/boom")
    with StarletteTestClient(app, raise_server_exceptions=False) as client:
        resp = client.get("/boom")
        assert (resp.status_code, resp.text) == (500, "Internal Server Error")


def test_starlette_testclient_websocket() -> None:
    with StarletteTestClient(app) as client:
        with client.websocket_connect("/ws/lobby", subprotocols=["chat"]) as ws:
            assert ws.accepted_subprotocol == "chat"
            for text in ("one", "two", "three"):
                ws.send_text(text)
                assert ws.receive_text() == f"lobby: {text}"


# -- under uvicorn ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def uvicorn_server() -> Iterator[tuple[subprocess.Popen[str], int, list[str]]]:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(APPS)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "asgi_served:app", "--port", str(port), "--log-level", "warning"],
        cwd=str(APPS),
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    import threading

    def read() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.append(line)

    threading.Thread(target=read, daemon=True).start()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/items/1", timeout=1)
            break
        except httpx.HTTPError:
            time.sleep(0.1)
    else:
        proc.kill()
        pytest.fail("uvicorn did not start:\n" + "".join(lines))
    try:
        yield proc, port, lines
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        assert proc.stderr is not None
        proc.stderr.close()


def test_uvicorn_serves_requests(uvicorn_server) -> None:
    _, port, _ = uvicorn_server
    base = f"http://127.0.0.1:{port}"
    with TestClient(app) as ours:
        for method, path, body in REQUESTS:
            served = httpx.request(method, base + path, json=body, timeout=10)
            expected = ours.request(method, path, json=body)
            assert (served.status_code, served.content) == (expected.status_code, expected.content), path
            assert served.headers["content-type"] == expected.headers.get(
                "content-type", served.headers["content-type"]
            )
    assert httpx.get(base + "/state").json() == {"greeting": "hello from the lifespan", "path": "/state"}


def test_uvicorn_streams_as_the_generator_yields(uvicorn_server) -> None:
    _, port, _ = uvicorn_server
    arrivals = []
    started = time.monotonic()
    with httpx.stream("GET", f"http://127.0.0.1:{port}/ticks?n=4&delay=0.3", timeout=10) as resp:
        for line in resp.iter_lines():
            arrivals.append((line, time.monotonic() - started))
    assert [line for line, _ in arrivals] == [f"tick {i}" for i in range(4)]
    assert arrivals[0][1] < 0.6 < arrivals[-1][1], arrivals


def test_uvicorn_websocket(uvicorn_server) -> None:
    _, port, lines = uvicorn_server
    with websockets.sync.client.connect(f"ws://127.0.0.1:{port}/ws/den", subprotocols=["chat"]) as ws:
        assert ws.subprotocol == "chat"
        for text in ("a", "b"):
            ws.send(text)
            assert ws.recv(timeout=10) == f"den: {text}"
    deadline = time.monotonic() + 10
    while not any("ws disconnect" in line for line in lines) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert any("MARKER ws disconnect 1000" in line for line in lines), lines


def test_uvicorn_runs_the_lifespan_and_stops_cleanly(uvicorn_server) -> None:
    proc, _, lines = uvicorn_server
    assert any("MARKER startup" in line for line in lines)
    proc.send_signal(signal.SIGTERM)
    # uvicorn re-raises the signal it caught once it has shut down (its exit status for any app).
    assert proc.wait(timeout=20) in (0, -signal.SIGTERM)
    time.sleep(0.2)
    assert any("MARKER shutdown" in line for line in lines), lines
