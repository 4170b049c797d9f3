"""Faults survived (issue 7, part 5), on the real server: handlers that raise, forget an await,
return what cannot be serialised, or never finish each get a correct answer and the server keeps
serving; SIGTERM with 500 requests in flight answers every one of them before the process exits.
(A worker killed with SIGKILL is replaced: tests/test_cli.py; a panic in the core is a 500:
the cargo test in src/server.rs; the request timeout: test_timeouts.py.)"""

import asyncio
import json
import signal
import socket
import time
from pathlib import Path

import pytest

from test_cli import Cli

pytestmark = pytest.mark.timeout(120)

APP = """
import asyncio, sys
from turboapi import FastAPI

app = FastAPI()

async def helper():
    return 1

@app.get("/ok")
def ok():
    return {"ok": True}

@app.get("/forgot-await")
async def forgot_await():
    helper()  # a coroutine created and dropped: Python warns, the request is answered
    return {"ok": True}

@app.get("/returns-coroutine")
def returns_coroutine():
    return helper()  # a sync handler returning a coroutine object: a 500, the coroutine closed

@app.get("/unserialisable")
def unserialisable():
    return {"value": object()}

@app.get("/set")
async def a_set():
    return {1, 2}

@app.get("/raises-base")
async def raises_base():
    raise KeyboardInterrupt  # not an Exception: still one request's 500

@app.get("/slow")
async def slow(n: int = 0):
    sys.stderr.write(f"MARKER slow {n}\\n")
    sys.stderr.flush()
    await asyncio.sleep(2)
    return {"n": n}
"""


@pytest.fixture
def server(tmp_path: Path):
    (tmp_path / "main.py").write_text(APP)
    cli = Cli(tmp_path, "run", "main:app", "--port", "0")
    yield cli
    cli.stop()


def get(port: int, path: str) -> tuple[int, bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), body


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/forgot-await", 200),
        ("/returns-coroutine", 500),
        ("/unserialisable", 500),
        ("/set", 200),  # FastAPI's encoder turns a set into a list
        ("/raises-base", 500),
    ],
)
def test_faulty_handlers_get_an_answer(server: Cli, path: str, status: int) -> None:
    port = server.port
    for _ in range(3):
        got, body = get(port, path)
        assert got == status, body
        if status == 500:
            assert body == b"Internal Server Error"
    assert get(port, "/ok") == (200, b'{"ok":true}')
    assert server.proc.poll() is None


async def _in_flight(port: int, count: int) -> list[tuple[int, bytes]]:
    async def one(n: int) -> tuple[int, bytes]:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(f"GET /slow?n={n} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".encode())
        await writer.drain()
        data = await asyncio.wait_for(reader.read(), 60)
        writer.close()
        head, _, body = data.partition(b"\r\n\r\n")
        return int(head.split(b" ")[1]), body

    return await asyncio.gather(*(one(n) for n in range(count)))


def test_sigterm_answers_500_requests_in_flight(server: Cli) -> None:
    port = server.port

    async def main() -> list[tuple[int, bytes]]:
        task = asyncio.ensure_future(_in_flight(port, 500))
        # Every request is inside its handler before the signal.
        await asyncio.get_running_loop().run_in_executor(None, lambda: server.wait_for(r"MARKER slow \d+", 500))
        server.proc.send_signal(signal.SIGTERM)
        return await task

    started = time.monotonic()
    answers = asyncio.run(main())
    assert [status for status, _ in answers] == [200] * 500
    assert sorted(json.loads(body)["n"] for _, body in answers) == list(range(500))
    assert server.proc.wait(timeout=30) == 0
    assert time.monotonic() - started < 30
