"""Clients that shut their sending side after the request (``shutdown(SHUT_WR)``, as ``nc -N`` and
some scripts and proxies do) still get their answer, on a real socket; a client that closes and
leaves looks the same on the wire, and its handler is cancelled once the answer has written
nothing for ``half_close_timeout`` (0: at once). A streamed answer ends at the half-close. The
whole-file download of a half-closed client is in tests/test_files_server.py."""

import socket
import time
from collections.abc import Callable, Iterator

import httpx
import pytest

from serverutil import ResponseReader, ServerProcess, request_bytes, spawner

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def spawn() -> Iterator[Callable[..., ServerProcess]]:
    with spawner("engine") as spawn:
        yield spawn


@pytest.fixture(scope="module")
def engine() -> Iterator[ServerProcess]:
    with spawner("engine") as spawn:
        yield spawn(half_close_timeout=1)


_open: list[socket.socket] = []


@pytest.fixture(autouse=True)
def close_sockets() -> Iterator[None]:
    yield
    while _open:
        _open.pop().close()


def half_closed(proc: ServerProcess, request: bytes) -> ResponseReader:
    sock = proc.connect(timeout=10)
    _open.append(sock)
    sock.sendall(request)
    sock.shutdown(socket.SHUT_WR)
    return ResponseReader(sock)


def test_a_half_closed_client_gets_its_answer_then_the_connection_closes(engine: ServerProcess) -> None:
    reader = half_closed(engine, request_bytes("GET", "/ping"))
    response = reader.read_response()
    assert response.status == 200 and response.body == b'{"ping":true}', response
    assert reader.at_eof(5), "the server must close the connection once it has answered"


def test_an_answer_slower_than_the_timeout_still_comes_when_the_handler_ends(engine: ServerProcess) -> None:
    # The handler writes nothing for 0.5 s: within the 1 s of silence allowed.
    reader = half_closed(engine, request_bytes("GET", "/slow?seconds=0.5&tag=half"))
    response = reader.read_response()
    assert response.status == 200, response
    assert b'"tag":"half"' in response.body


def test_pipelined_requests_before_the_half_close_are_all_answered(engine: ServerProcess) -> None:
    reader = half_closed(engine, request_bytes("GET", "/ping") * 3 + request_bytes("GET", "/slow?seconds=0.2"))
    statuses = [reader.read_response().status for _ in range(4)]
    assert statuses == [200] * 4
    assert reader.at_eof(5)


def test_a_body_sent_whole_then_half_closed_is_answered(spawn: Callable[..., ServerProcess]) -> None:
    with spawner("basic") as spawn_basic:
        proc = spawn_basic(half_close_timeout=0.5)
        body = b'{"name":"x","price":1.5}'
        reader = half_closed(proc, request_bytes("POST", "/items", {"content-type": "application/json"}, body=body))
        response = reader.read_response()
        assert response.status == 201, response
        # A body cut short by the half-close is the client's error, answered (not held).
        sock = proc.connect(timeout=10)
        _open.append(sock)
        sock.sendall(request_bytes("POST", "/echo", {"content-type": "application/json", "content-length": "100"}))
        sock.sendall(b'{"a"')
        sock.shutdown(socket.SHUT_WR)
        started = time.monotonic()
        cut = ResponseReader(sock).read_response()
        assert cut.status == 400 and time.monotonic() - started < 3, cut


def test_a_client_that_left_has_its_handler_cancelled_after_the_silence(engine: ServerProcess) -> None:
    mark = engine.mark()
    sock = engine.connect()
    sock.sendall(request_bytes("GET", "/hang?tag=left-half&seconds=20"))
    engine.wait_for_line(r"MARKER hang-start left-half$", 5, start=mark)
    closed = time.monotonic()
    sock.close()
    engine.wait_for_line(r"MARKER hang-cancelled left-half$", 5, start=mark)
    waited = time.monotonic() - closed
    assert 0.8 <= waited < 4, f"cancelled {waited:.2f} s after the client left; half_close_timeout is 1 s"
    reader = half_closed(engine, request_bytes("GET", "/ping"))
    assert reader.read_response().status == 200


def test_a_stream_ends_at_the_half_close_as_a_disconnect() -> None:
    """A streamed answer is open-ended: a client that shuts its side is taken as gone once the
    stream has started, and its generator is stopped, or never started (as uvicorn and Starlette
    do)."""
    with spawner("streaming") as spawn:
        proc = spawn(half_close_timeout=5)
        # 50 events 0.1 s apart: 5 s, as long as the half-close timeout.
        reader = half_closed(proc, request_bytes("GET", "/sse/events?client=hc&n=50&interval=0.1"))
        assert reader.at_eof(3), "the stream must end at the half-close"
        assert reader.buffer.count(b"event: tick") < 50
        deadline = time.monotonic() + 3
        while (stats := httpx.get(f"{proc.base_url}/streams/stats", timeout=5).json())["active"] and (
            time.monotonic() < deadline
        ):
            time.sleep(0.05)
        assert stats["active"] == 0, f"the generator still runs for a client that half-closed: {stats}"


def test_half_close_off_takes_the_client_as_gone_at_once(spawn: Callable[..., ServerProcess]) -> None:
    proc = spawn(half_close_timeout=0)
    reader = half_closed(proc, request_bytes("GET", "/slow?seconds=0.3&tag=off"))
    assert reader.at_eof(5) and not reader.buffer, "no answer once the client's side is shut"
    sock = proc.connect()
    sock.sendall(request_bytes("GET", "/hang?tag=off-gone&seconds=20"))
    proc.wait_for_line(r"MARKER hang-start off-gone$", 5)
    closed = time.monotonic()
    sock.close()
    proc.wait_for_line(r"MARKER hang-cancelled off-gone$", 2)
    assert time.monotonic() - closed < 1.5
