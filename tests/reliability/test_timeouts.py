"""Slow and idle clients, slow handlers, and the connection limit, on the real server: each ends
in a clean answer or a closed connection within its configured time, and the server keeps
serving. (The header read timeout, slowloris, is in tests/test_server.py.)"""

import socket
import time
from collections.abc import Callable, Iterator

import pytest

from serverutil import HOST, ResponseReader, ServerProcess, raw_request, request_bytes, spawner

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def spawn() -> Iterator[Callable[..., ServerProcess]]:
    with spawner("basic") as spawn:
        yield spawn


def connect(port: int) -> socket.socket:
    sock = socket.create_connection((HOST, port), timeout=10)
    sock.settimeout(10)
    return sock


def closed_by_server(sock: socket.socket, within: float) -> float:
    """Seconds until the server closes ``sock`` (reads EOF); fails past ``within``."""
    started = time.monotonic()
    sock.settimeout(within)
    try:
        data = sock.recv(65536)
    except TimeoutError:
        pytest.fail(f"the server kept the connection open for {within} s")
    except ConnectionResetError:
        data = b""
    assert data == b"", data
    return time.monotonic() - started


def still_serving(server: ServerProcess) -> None:
    assert raw_request(server.port or 0, "GET", "/").status == 200


def test_idle_keep_alive_connection_is_closed(spawn: Callable[..., ServerProcess]) -> None:
    server = spawn(keep_alive_timeout=0.5)
    with connect(server.port or 0) as sock:
        reader = ResponseReader(sock)
        sock.sendall(request_bytes("GET", "/"))
        assert reader.read_response().status == 200
        time.sleep(0.2)  # idle, but not for long: still served
        sock.sendall(request_bytes("GET", "/"))
        assert reader.read_response().status == 200
        waited = closed_by_server(sock, within=5)
    assert 0.3 < waited < 2.5, waited
    still_serving(server)


def test_a_busy_connection_is_not_idle(spawn: Callable[..., ServerProcess]) -> None:
    """A request that takes longer than the keep-alive timeout is answered, not cut off."""
    server = spawn(keep_alive_timeout=0.3)
    with connect(server.port or 0) as sock:
        sock.sendall(request_bytes("GET", "/sleep-async?seconds=1.0"))
        assert ResponseReader(sock).read_response().status == 200


def test_slow_request_body_gets_408(spawn: Callable[..., ServerProcess]) -> None:
    server = spawn(body_read_timeout=1)
    with connect(server.port or 0) as sock:
        sock.sendall(
            b'POST /echo HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"a"'
        )
        started = time.monotonic()
        resp = ResponseReader(sock).read_response()
        assert resp.status == 408 and resp.header("connection") == "close"
        assert 0.8 < time.monotonic() - started < 3
    still_serving(server)


@pytest.mark.parametrize("route", ["/sleep-async", "/sleep-sync"])
def test_request_timeout_answers_504(spawn: Callable[..., ServerProcess], route: str) -> None:
    server = spawn(request_timeout=0.5)
    started = time.monotonic()
    resp = raw_request(server.port or 0, "GET", f"{route}?seconds=1.5&tag=late")
    elapsed = time.monotonic() - started
    assert (resp.status, resp.body) == (504, b'{"detail":"Gateway Timeout"}')
    assert 0.4 < elapsed < 2, elapsed
    # A fast request on the same server is unaffected.
    assert raw_request(server.port or 0, "GET", "/sleep-async?seconds=0.1").status == 200
    time.sleep(1.5)
    if route == "/sleep-async":
        # The async handler was cancelled: it never finished its sleep.
        assert not any("sleep-async-end late" in line for line in server.lines)
    else:
        # A thread cannot be stopped: the sync handler finished, unseen by the client.
        assert any("sleep-sync-end late" in line for line in server.lines)


def test_connection_limit_queues_new_connections(spawn: Callable[..., ServerProcess]) -> None:
    """At max_connections, a new connection waits (in the backlog) and is served as soon as a
    slot frees; nothing is refused with an error or crashes."""
    server = spawn(max_connections=3, keep_alive_timeout=30)
    port = server.port or 0
    held = [connect(port) for _ in range(3)]
    try:
        for sock in held:
            sock.sendall(request_bytes("GET", "/"))
            assert ResponseReader(sock).read_response().status == 200
        with connect(port) as waiting:
            waiting.sendall(request_bytes("GET", "/"))
            waiting.settimeout(1.0)
            with pytest.raises(TimeoutError):
                waiting.recv(1)  # not accepted yet: no answer
            held.pop().close()
            waiting.settimeout(10)
            assert ResponseReader(waiting).read_response().status == 200
    finally:
        for sock in held:
            sock.close()
    still_serving(server)
