"""WebSockets over a real socket (tests/apps/websocket_app.py): the handshake answered by the Rust
server, frames through hyper's upgrade and tungstenite, 200 concurrent clients for echo and chat,
backpressure both ways, the size limit, keepalive pings, a client that vanishes, and shutdown.

Clients are the ``websockets`` library (what uvicorn uses) and, where the test needs to misbehave,
a raw socket. Every wait is bounded; servers are killed in fixture finalizers.
"""

import asyncio
import base64
import json
import os
import signal
import socket
import struct
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import websockets
from websockets.exceptions import ConnectionClosed, InvalidStatus

from serverutil import HOST, ServerProcess, raw_request, rss_bytes, served, spawner

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    with served("websocket_app") as proc:
        yield proc


@pytest.fixture
def spawn() -> Iterator[Callable[..., ServerProcess]]:
    with spawner("websocket_app") as spawn:
        yield spawn


def url(server: ServerProcess, path: str) -> str:
    return f"ws://{HOST}:{server.port}{path}"


def stats(server: ServerProcess) -> dict[str, Any]:
    resp = raw_request(server.port or 0, "GET", "/stats")
    assert resp.status == 200, resp
    return json.loads(resp.body)


def still_serving(server: ServerProcess) -> None:
    resp = raw_request(server.port or 0, "GET", "/")
    assert (resp.status, resp.body) == (200, b'{"ok":true}'), resp


def run(coro: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 90))


# -- raw handshakes -------------------------------------------------------------------------------
def handshake(port: int, path: str, **headers: str) -> tuple[socket.socket, bytes]:
    """Send an opening handshake; return the socket and the response head."""
    sock = socket.create_connection((HOST, port), timeout=10)
    fields = {
        "Host": f"{HOST}:{port}",
        "Upgrade": "websocket",
        "Connection": "Upgrade",
        "Sec-WebSocket-Key": base64.b64encode(os.urandom(16)).decode(),
        "Sec-WebSocket-Version": "13",
        **{k.replace("_", "-"): v for k, v in headers.items()},
    }
    head = f"GET {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in fields.items() if v) + "\r\n"
    sock.sendall(head.encode())
    data = b""
    # One byte at a time: frames may follow the head at once and must stay in the socket.
    while not data.endswith(b"\r\n\r\n"):
        chunk = sock.recv(1)
        if not chunk:
            break
        data += chunk
    return sock, data


def status_of(head: bytes) -> int:
    return int(head.split(b" ", 2)[1])


def read_frame(sock: socket.socket) -> tuple[int, bytes]:
    """One unmasked server frame: (opcode, payload)."""

    def exactly(n: int) -> bytes:
        out = b""
        while len(out) < n:
            chunk = sock.recv(n - len(out))
            if not chunk:
                raise EOFError("connection closed")
            out += chunk
        return out

    first, second = exactly(2)
    length = second & 0x7F
    if length == 126:
        (length,) = struct.unpack("!H", exactly(2))
    elif length == 127:
        (length,) = struct.unpack("!Q", exactly(8))
    return first & 0x0F, exactly(length)


def masked_frame(opcode: int, payload: bytes) -> bytes:
    mask = os.urandom(4)
    head = bytes([0x80 | opcode])
    n = len(payload)
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 65536:
        head += bytes([0x80 | 126]) + struct.pack("!H", n)
    else:
        head += bytes([0x80 | 127]) + struct.pack("!Q", n)
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def test_handshake_answers(server: ServerProcess) -> None:
    port = server.port or 0
    sock, head = handshake(port, "/echo", Sec_WebSocket_Protocol="")
    assert status_of(head) == 101, head
    assert b"sec-websocket-accept:" in head.lower()
    sock.sendall(masked_frame(0x1, b"hello"))
    assert read_frame(sock) == (0x1, b"hello")
    sock.close()
    # No WebSocket route (an HTTP route, or nothing): 403 as uvicorn answers Starlette's close.
    for path in ("/", "/nowhere"):
        sock, head = handshake(port, path)
        assert status_of(head) == 403, (path, head)
        sock.close()
    # The handler closes before accepting: 403; raises before accepting: 500; an exception handler
    # answering with an HTTP response (HTTPException's) is an error too: denial responses are not
    # supported, and the answer must not be dropped silently.
    for path, status in (("/refuse", 403), ("/crash", 500), ("/http-error", 500)):
        sock, head = handshake(port, path)
        assert status_of(head) == status, (path, head)
        sock.close()
    # Malformed handshakes are refused before any handler runs.
    sock, head = handshake(port, "/echo", Sec_WebSocket_Key="")
    assert status_of(head) == 400, head
    sock.close()
    sock, head = handshake(port, "/echo", Sec_WebSocket_Version="8")
    assert status_of(head) == 426 and b"sec-websocket-version: 13" in head.lower(), head
    sock.close()
    # A stray Upgrade header without `Connection: upgrade` is a plain request (as uvicorn reads it).
    sock, head = handshake(port, "/", Connection="keep-alive")
    assert status_of(head) == 200, head
    sock.close()
    still_serving(server)


def close_code(sock: socket.socket) -> int:
    """Read frames until the server's close frame; its code."""
    while True:
        opcode, payload = read_frame(sock)
        if opcode == 0x8:
            return struct.unpack("!H", payload[:2])[0]


def test_protocol_errors_close_with_their_codes(server: ServerProcess) -> None:
    """Invalid UTF-8 in a text message: 1007; a frame without the client's mask: 1002."""
    port = server.port or 0
    sock, head = handshake(port, "/echo")
    assert status_of(head) == 101
    sock.sendall(masked_frame(0x1, b"\xff\xfe"))
    assert close_code(sock) == 1007
    sock.close()
    sock, head = handshake(port, "/echo")
    sock.sendall(bytes([0x81, 0x02]) + b"hi")  # unmasked
    assert close_code(sock) == 1002
    sock.close()
    still_serving(server)


def test_handshake_past_the_request_timeout_is_504(spawn: Callable[..., ServerProcess]) -> None:
    """A handler that does not decide within request_timeout: 504, and it is cancelled."""
    proc = spawn(request_timeout=0.5)
    started = time.monotonic()
    sock, head = handshake(proc.port or 0, "/slow-accept?seconds=3")
    assert status_of(head) == 504, head
    assert time.monotonic() - started < 2.5
    sock.close()
    still_serving(proc)


def test_refused_handshakes_through_the_client(server: ServerProcess) -> None:
    async def main() -> list[int]:
        codes = []
        for path in ("/refuse", "/nowhere", "/crash"):
            with pytest.raises(InvalidStatus) as info:
                async with websockets.connect(url(server, path)):
                    pass
            codes.append(info.value.response.status_code)
        return codes

    assert run(main()) == [403, 403, 500]


# -- many clients --------------------------------------------------------------------------------
def test_echo_200_concurrent_clients(server: ServerProcess) -> None:
    """200 clients at once, 25 text and 25 binary messages each, every echo in order."""

    async def client(i: int) -> int:
        async with websockets.connect(url(server, "/echo"), max_size=None) as ws:
            for j in range(25):
                await ws.send(f"{i}:{j}")
                assert await ws.recv() == f"{i}:{j}"
                payload = bytes([i % 256, j]) * (j + 1)
                await ws.send(payload)
                assert await ws.recv() == payload
        return i

    async def main() -> list[int]:
        return await asyncio.gather(*(client(i) for i in range(200)))

    assert sorted(run(main())) == list(range(200))
    still_serving(server)


@pytest.mark.parametrize("shards", [1, 2])
def test_chat_200_clients(spawn: Callable[..., ServerProcess], shards: int) -> None:
    """200 members of one room each say one line; everyone hears all 200 lines (40,000
    deliveries). With 2 shards the broadcast sends to connections owned by the other loop."""
    proc = spawn(shards=shards)
    room = f"room{shards}"
    members = 200

    async def main() -> list[set[str]]:
        sockets = []
        for i in range(members):
            sockets.append(await websockets.connect(url(proc, f"/chat/{room}?name=u{i}")))
        # Everyone has joined before anyone speaks: each line reaches all 200.
        await asyncio.sleep(0.3)

        async def member(i: int, ws: Any) -> set[str]:
            await ws.send(f"hello from {i}")
            heard = set()
            while len(heard) < members:
                heard.add(await ws.recv())
            return heard

        try:
            return await asyncio.gather(*(member(i, ws) for i, ws in enumerate(sockets)))
        finally:
            await asyncio.gather(*(ws.close() for ws in sockets))

    expected = {f"u{i}: hello from {i}" for i in range(members)}
    for heard in run(main()):
        assert heard == expected
    still_serving(proc)


# -- disconnects -----------------------------------------------------------------------------------
def test_client_vanishing_is_a_disconnect(server: ServerProcess) -> None:
    """A client that closes its TCP socket without a close frame: the handler's receive raises
    WebSocketDisconnect (1006), and a clean close reports the client's code."""
    before = len(stats(server)["disconnects"])
    sock, head = handshake(server.port or 0, "/echo")
    assert status_of(head) == 101
    sock.sendall(masked_frame(0x1, b"one"))
    assert read_frame(sock) == (0x1, b"one")
    sock.close()

    async def clean() -> None:
        async with websockets.connect(url(server, "/echo")) as ws:
            await ws.send("x")
            await ws.recv()
            await ws.close(code=4001, reason="bye")

    run(clean())
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        codes = stats(server)["disconnects"][before:]
        if len(codes) >= 2:
            break
        time.sleep(0.05)
    assert sorted(codes) == [1006, 4001], codes
    still_serving(server)


def test_message_over_the_limit_closes_1009(spawn: Callable[..., ServerProcess]) -> None:
    proc = spawn(ws_max_size=1024)

    async def main() -> tuple[str, int]:
        async with websockets.connect(url(proc, "/echo")) as ws:
            await ws.send("a" * 1024)
            small = await ws.recv()
            await ws.send("b" * 1025)
            with pytest.raises(ConnectionClosed) as info:
                await ws.recv()
            assert info.value.rcvd is not None
            return small, info.value.rcvd.code

    small, code = run(main())
    assert (len(small), code) == (1024, 1009)
    still_serving(proc)


# -- backpressure --------------------------------------------------------------------------------
def test_slow_reader_pauses_the_handler(spawn: Callable[..., ServerProcess]) -> None:
    """/flood sends 64 MiB to a client that does not read: the handler stops far short of it and
    the server's memory stays flat; once the client reads, everything arrives."""
    proc = spawn()
    total = 64 * 1024 * 1024
    rss_before = rss_bytes(proc.proc.pid)
    sock, head = handshake(proc.port or 0, f"/flood?total={total}")
    assert status_of(head) == 101
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
    time.sleep(1.5)
    sent_while_stalled = stats(proc)["flood_sent"]
    grown = rss_bytes(proc.proc.pid) - rss_before
    assert sent_while_stalled < 16 * 1024 * 1024, sent_while_stalled
    assert grown < 32 * 1024 * 1024, grown
    received = 0
    while True:
        opcode, payload = read_frame(sock)
        if opcode == 0x8:
            assert struct.unpack("!H", payload[:2])[0] == 1000
            break
        received += len(payload)
    sock.close()
    assert received == total


def test_fast_sender_is_held_back(spawn: Callable[..., ServerProcess]) -> None:
    """A client sending 64 MiB to a handler that does not read for 1.5 s: the server stops reading
    the socket (TCP pushes back) instead of queueing it all; then every byte is counted."""
    proc = spawn()
    total = 64 * 1024 * 1024
    rss_before = rss_bytes(proc.proc.pid)
    sock, head = handshake(proc.port or 0, "/sink?wait=1.5")
    assert status_of(head) == 101
    sock.settimeout(0.2)
    frame = masked_frame(0x2, b"y" * 65536)
    pushed = 0
    started = time.monotonic()
    stalled = False
    while pushed < total:
        try:
            sock.sendall(frame)
        except TimeoutError:
            stalled = True
            break
        pushed += 65536
    assert stalled and time.monotonic() - started < 1.5, pushed
    assert rss_bytes(proc.proc.pid) - rss_before < 32 * 1024 * 1024
    sock.settimeout(30)
    # Sendall may have sent part of the frame before timing out: start over on a new connection.
    sock.close()
    still_serving(proc)


def test_concurrent_senders_all_wake(spawn: Callable[..., ServerProcess]) -> None:
    """Two tasks send 4 MB each to a client that starts reading late: both are held back, both
    are woken once it reads (a lost waiter would leave one hanging, and the close never sent)."""
    proc = spawn()
    sock, head = handshake(proc.port or 0, "/fanout?tasks=2&count=40&size=100000")
    assert status_of(head) == 101
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
    time.sleep(1.0)
    received = 0
    while True:
        opcode, payload = read_frame(sock)
        if opcode == 0x8:
            assert struct.unpack("!H", payload[:2])[0] == 1000
            break
        received += len(payload)
    sock.close()
    assert received == 2 * 40 * 100_000


# -- keepalive -----------------------------------------------------------------------------------
def test_client_ping_is_answered(server: ServerProcess) -> None:
    async def main() -> float:
        async with websockets.connect(url(server, "/echo")) as ws:
            return await asyncio.wait_for(await ws.ping(b"are you there"), 5)

    assert run(main()) >= 0


def test_silent_peer_is_pinged_then_closed(spawn: Callable[..., ServerProcess]) -> None:
    """With ws_ping_interval 0.3 s and ws_ping_timeout 0.3 s, a peer that never answers gets a
    ping, then a close 1011 within about a second."""
    proc = spawn(ws_ping_interval=0.3, ws_ping_timeout=0.3)
    sock, head = handshake(proc.port or 0, "/hold")
    assert status_of(head) == 101
    assert read_frame(sock) == (0x1, b"ready")
    started = time.monotonic()
    frames = []
    while True:
        opcode, payload = read_frame(sock)
        frames.append(opcode)
        if opcode == 0x8:
            break
    assert 0x9 in frames  # a ping came first
    assert struct.unpack("!H", payload[:2])[0] == 1011
    assert time.monotonic() - started < 5
    sock.close()
    still_serving(proc)


def test_a_peer_held_back_by_the_server_is_not_silent(spawn: Callable[..., ServerProcess]) -> None:
    """The handler reads nothing for 2 s while the client sends 2 MiB: the server stops reading
    (backpressure), so pings go unanswered; that silence is the server's, and the keepalive
    (0.3 s + 0.3 s) must not close the connection: every byte reaches the handler."""
    proc = spawn(ws_ping_interval=0.3, ws_ping_timeout=0.3)
    sock, head = handshake(proc.port or 0, "/sink?wait=2")
    assert status_of(head) == 101
    frame = masked_frame(0x2, b"s" * 65536)
    for _ in range(32):
        sock.sendall(frame)  # blocks while the server holds back; resumes when it reads again
    deadline = time.monotonic() + 10
    while stats(proc)["sink_received"] < 32 * 65536 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert stats(proc)["sink_received"] == 32 * 65536
    sock.close()


def test_a_peer_that_stops_reading_is_let_go(spawn: Callable[..., ServerProcess]) -> None:
    """A client that never reads what /flood sends: with pings on, the writer gives up after a
    ping round (0.3 s + 0.3 s) instead of holding the handler, which sees the disconnect."""
    proc = spawn(ws_ping_interval=0.3, ws_ping_timeout=0.3)
    sock, head = handshake(proc.port or 0, f"/flood?total={256 * 1024 * 1024}")
    assert status_of(head) == 101
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
    try:
        deadline = time.monotonic() + 10
        while stats(proc)["flood_done"] < 1 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert stats(proc)["flood_done"] == 1
        assert stats(proc)["flood_sent"] < 64 * 1024 * 1024
    finally:
        sock.close()
    still_serving(proc)


def test_answering_peer_stays_connected(spawn: Callable[..., ServerProcess]) -> None:
    proc = spawn(ws_ping_interval=0.2, ws_ping_timeout=0.2)

    async def main() -> str:
        async with websockets.connect(url(proc, "/echo")) as ws:
            await asyncio.sleep(1.5)  # several ping rounds, answered by the client library
            await ws.send("still here")
            return await ws.recv()

    assert run(main()) == "still here"


# -- shutdown ------------------------------------------------------------------------------------
def test_sigterm_closes_websockets_with_1012(spawn: Callable[..., ServerProcess]) -> None:
    proc = spawn(graceful_timeout=5)

    async def main() -> int:
        async with websockets.connect(url(proc, "/hold")) as ws:
            assert await ws.recv() == "ready"
            os.kill(proc.proc.pid, signal.SIGTERM)
            with pytest.raises(ConnectionClosed) as info:
                await ws.recv()
            assert info.value.rcvd is not None
            return info.value.rcvd.code

    assert run(main()) == 1012
    assert proc.proc.wait(timeout=15) == 0


def test_websockets_count_against_max_connections(spawn: Callable[..., ServerProcess]) -> None:
    """An upgraded connection keeps its place under max_connections: with two WebSockets open at
    max_connections=2, a new connection waits until one of them closes."""
    proc = spawn(max_connections=2)
    port = proc.port or 0
    first, head = handshake(port, "/echo")
    second, head2 = handshake(port, "/echo")
    try:
        assert status_of(head) == status_of(head2) == 101
        with socket.create_connection((HOST, port), timeout=10) as waiting:
            waiting.sendall(b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
            waiting.settimeout(1.0)
            with pytest.raises(TimeoutError):
                waiting.recv(1)  # no slot: not accepted yet
            first.sendall(masked_frame(0x8, struct.pack("!H", 1000)))
            first.close()
            waiting.settimeout(10)
            data = b""
            while chunk := waiting.recv(65536):
                data += chunk
        assert data.startswith(b"HTTP/1.1 200"), data
    finally:
        first.close()
        second.close()
