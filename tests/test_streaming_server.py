"""StreamingResponse over a real socket: tests/apps/streaming.py in a subprocess on 127.0.0.1.

What the TestClient cannot show: that chunks leave as they are produced, that a slow client holds
the producer back (backpressure) instead of the server buffering the stream, that a client going
away stops the generator (its ``finally`` runs), that many streams run at once, and the framing on
the wire (``transfer-encoding: chunked`` on HTTP/1.1, close-delimited on HTTP/1.0, a truncated
chunked body when the generator raises).

The wire is read with a small incremental HTTP/1.1 reader (``WireStream``) that hands out body
bytes as they arrive.  Every wait is bounded, servers are killed in fixture finalizers.
"""

import asyncio
import hashlib
import json
import re
import socket
import time
import uuid
import zlib
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from serverutil import HOST, ServerProcess, raw_request, request_bytes, rss_bytes, served, spawner

MiB = 1024 * 1024


# -- an incremental HTTP/1.1 response reader -------------------------------------------------------
class IncompleteBody(ConnectionError):
    """The peer closed (or reset) the connection before the end of the body."""


class WireStream:
    """One socket; reads a response head, then its body bytes as they arrive (chunked decoded)."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = bytearray()
        self.status = 0
        self.version = ""
        self.headers: list[tuple[str, str]] = []
        self.complete = False  # the body's end was seen (terminal chunk, length reached)

    def header(self, name: str) -> str | None:
        values = self.header_list(name)
        return values[0] if values else None

    def header_list(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k.lower() == name.lower()]

    def _fill(self) -> bool:
        try:
            data = self.sock.recv(1 << 20)
        except ConnectionResetError:
            return False
        if not data:
            return False
        self.buf += data
        return True

    def _need(self, n: int) -> None:
        while len(self.buf) < n:
            if not self._fill():
                raise IncompleteBody(f"connection closed; wanted {n} bytes, have {len(self.buf)}")

    def _line(self) -> bytes:
        while True:
            end = self.buf.find(b"\r\n")
            if end >= 0:
                line = bytes(self.buf[:end])
                del self.buf[: end + 2]
                return line
            if not self._fill():
                raise IncompleteBody(f"connection closed inside a line: {bytes(self.buf[:100])!r}")

    def read_head(self) -> "WireStream":
        while b"\r\n\r\n" not in self.buf:
            if not self._fill():
                raise IncompleteBody(f"connection closed before the end of the head: {bytes(self.buf[:300])!r}")
        end = self.buf.index(b"\r\n\r\n")
        head = bytes(self.buf[:end]).decode("latin-1")
        del self.buf[: end + 4]
        status_line, *lines = head.split("\r\n")
        self.version, status, *_ = status_line.split(" ", 2)
        self.status = int(status)
        self.headers = [(k.strip(), v.strip()) for k, _, v in (line.partition(":") for line in lines)]
        return self

    def body(self, method: str = "GET") -> Iterator[bytes]:
        """Body bytes as they arrive; IncompleteBody if the connection ends before the body does."""
        if method == "HEAD" or self.status in (204, 304):
            self.complete = True
            return
        if "chunked" in (self.header("transfer-encoding") or "").lower():
            while True:
                size = int(self._line().split(b";")[0], 16)
                if size == 0:
                    while self._line():  # trailers, up to an empty line
                        pass
                    self.complete = True
                    return
                remaining = size
                while remaining:
                    if not self.buf:
                        self._need(1)
                    take = min(remaining, len(self.buf))
                    piece = bytes(self.buf[:take])
                    del self.buf[:take]
                    remaining -= take
                    yield piece
                self._need(2)
                assert self.buf[:2] == b"\r\n", f"bad chunk end {bytes(self.buf[:10])!r}"
                del self.buf[:2]
        elif self.header("content-length") is not None:
            remaining = int(self.header("content-length") or 0)
            while remaining:
                if not self.buf:
                    self._need(1)
                take = min(remaining, len(self.buf))
                piece = bytes(self.buf[:take])
                del self.buf[:take]
                remaining -= take
                yield piece
            self.complete = True
        else:  # close-delimited
            while True:
                if self.buf:
                    piece = bytes(self.buf)
                    self.buf.clear()
                    yield piece
                if not self._fill():
                    self.complete = True
                    return

    def read_body(self, method: str = "GET") -> bytes:
        return b"".join(self.body(method))


def open_stream(
    port: int,
    path: str,
    *,
    method: str = "GET",
    version: str = "HTTP/1.1",
    headers: dict[str, str] | None = None,
    timeout: float = 10.0,
    rcvbuf: int | None = None,
) -> WireStream:
    """Sends one request on a new connection and reads the response head."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf is not None:  # before connect(), so the window is small from the start
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    _OPEN.append(sock)  # closed after the test whatever happens (close_streams)
    sock.settimeout(timeout)
    sock.connect((HOST, port))
    request = request_bytes(method, path, headers)
    if version != "HTTP/1.1":
        request = request.replace(b" HTTP/1.1\r\n", f" {version}\r\n".encode(), 1)
    sock.sendall(request)
    return WireStream(sock)


def assert_chunked(stream: WireStream, content_type: str) -> None:
    """HTTP/1.1 framing of a stream of unknown length: chunked, no content-length."""
    assert stream.version == "HTTP/1.1"
    assert stream.header_list("content-length") == [], stream.headers
    assert [v.lower() for v in stream.header_list("transfer-encoding")] == ["chunked"], stream.headers
    assert stream.header("content-type") == content_type, stream.headers


def get_json(port: int, path: str) -> Any:
    resp = raw_request(port, "GET", path)
    assert resp.status == 200, (path, resp.status, resp.body[:300])
    return json.loads(resp.body)


def new_id() -> str:
    return uuid.uuid4().hex[:12]


def still_serving(server: ServerProcess) -> None:
    resp = raw_request(server.port or 0, "GET", "/")
    assert (resp.status, resp.body) == (200, b'{"ok":true}'), resp


# -- fixtures -------------------------------------------------------------------------------------
_OPEN: list[socket.socket] = []


@pytest.fixture(autouse=True)
def close_streams() -> Iterator[None]:
    yield
    while _OPEN:
        _OPEN.pop().close()


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    """tests/apps/streaming.py with default settings, shared by the module."""
    with served("streaming") as proc:
        yield proc


@pytest.fixture
def spawn() -> Iterator[Callable[..., ServerProcess]]:
    """Servers owned by one test (fresh memory, other settings); all killed afterwards."""
    with spawner("streaming") as spawn:
        yield spawn


# -- (a) chunks leave as they are produced ---------------------------------------------------------
@pytest.mark.timeout(60)
@pytest.mark.parametrize("kind", ["async", "sync"])
def test_chunks_arrive_incrementally(server: ServerProcess, kind: str) -> None:
    """A generator yielding ``tick i`` every 100 ms (10 ticks, ~0.9 s): the first tick reaches
    the client long before the last one is produced, and the ticks arrive spread over time."""
    started = time.monotonic()
    stream = open_stream(server.port or 0, f"/tick/{kind}?n=10&interval=0.1").read_head()
    assert stream.status == 200
    assert_chunked(stream, "text/plain; charset=utf-8")
    received = b""
    arrival: dict[int, float] = {}
    for piece in stream.body():
        received += piece
        now = time.monotonic() - started
        for i in range(10):
            if i not in arrival and f"tick {i}\n".encode() in received:
                arrival[i] = now
    stream.sock.close()
    assert stream.complete
    assert received == b"".join(f"tick {i}\n".encode() for i in range(10))
    assert arrival[0] < 0.5, f"first tick after {arrival[0]:.2f} s: the stream was buffered ({arrival})"
    assert arrival[9] - arrival[0] >= 0.6, f"ticks arrived together: {arrival}"
    assert arrival[5] - arrival[0] >= 0.3, f"ticks arrived together: {arrival}"


# -- (b) backpressure --------------------------------------------------------------------------------
@pytest.mark.timeout(60)
@pytest.mark.parametrize("kind", ["async", "sync"])
def test_backpressure_bounds_the_producer(spawn: Callable[..., ServerProcess], kind: str) -> None:
    """A generator making 1 MiB chunks as fast as it can (128 MiB in all) and a client that
    reads nothing for 2 s: at most 16 MiB get produced meanwhile and the server's RSS does not
    grow by more than 100 MiB; then the client reads everything and gets the exact bytes, and
    the generator finishes (its ``finally`` runs)."""
    server = spawn()
    port = server.port or 0
    total_chunks = 128
    flood_id = new_id()
    assert get_json(port, f"/produced/{flood_id}") == {"missing": True}
    rss_before = rss_bytes(server.proc.pid)

    stream = open_stream(port, f"/flood/{kind}?id={flood_id}&chunks={total_chunks}", rcvbuf=64 * 1024, timeout=20)
    time.sleep(2.0)  # reads nothing, not even the head
    paused = get_json(port, f"/produced/{flood_id}")
    rss_paused = rss_bytes(server.proc.pid)
    time.sleep(0.5)
    paused_later = get_json(port, f"/produced/{flood_id}")

    assert paused.get("bytes", 0) > 0, f"the generator never started: {paused}"
    assert paused["bytes"] <= 16 * MiB, f"{paused['bytes'] / MiB:.0f} MiB produced while the client read nothing"
    assert paused_later["bytes"] <= 16 * MiB, paused_later
    assert not paused["done"]
    growth = rss_paused - rss_before
    assert growth < 100 * MiB, f"server RSS grew by {growth / MiB:.0f} MiB while the client was paused"

    stream.read_head()
    assert stream.status == 200
    assert_chunked(stream, "application/octet-stream")
    digest = hashlib.sha256()
    size = 0
    for piece in stream.body():
        digest.update(piece)
        size += len(piece)
    stream.sock.close()
    assert stream.complete
    assert size == total_chunks * MiB
    expected = hashlib.sha256()
    for i in range(total_chunks):
        expected.update(i.to_bytes(4, "big") * (MiB // 4))
    assert digest.hexdigest() == expected.hexdigest(), "the bytes differ (order or content)"

    server.wait_for_line(rf"MARKER flood-closed id={flood_id} bytes={total_chunks * MiB}$", timeout=5)
    final = get_json(port, f"/produced/{flood_id}")
    assert final == {"bytes": total_chunks * MiB, "chunks": total_chunks, "done": True, "closed": True}


# -- (c) the client goes away ---------------------------------------------------------------------------
def read_events(stream: WireStream, count: int) -> bytes:
    got = b""
    for piece in stream.body():
        got += piece
        if got.count(b"\n\n") >= count:
            return got
    raise AssertionError(f"the stream ended after {got!r}")


def disconnect_mid_stream(server: ServerProcess, path: str, kind: str, events: int = 3) -> str:
    """Opens ``path``, reads ``events`` events, closes the socket; returns how the generator ended
    (the exception its ``finally`` saw), which must be within 2 s of the close."""
    stream_id = new_id()
    mark = server.mark()
    stream = open_stream(server.port or 0, f"{path}{'&' if '?' in path else '?'}id={stream_id}").read_head()
    assert stream.status == 200
    assert_chunked(stream, "text/event-stream; charset=utf-8")
    got = read_events(stream, events)
    assert got.startswith(b"data: 0\n\n") or got.startswith(b'data: {"i": 0}\n\n'), got
    stream.sock.close()
    found = server.wait_for_line(rf"MARKER finally id={stream_id} kind={kind} exit=(\w+)", timeout=2.0, start=mark)
    return found.group(1)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("kind", ["async", "sync"])
def test_disconnect_stops_the_generator(server: ServerProcess, kind: str) -> None:
    """An infinite SSE generator (an event every 50 ms): the client closes the socket after three
    events; the generator is closed (its ``finally`` runs) within 2 s; the server keeps serving.
    (uvicorn + Starlette pass the async case; a sync generator there is only closed when the
    garbage collector gets to it, so the sync case asks turboapi for more than the reference.)"""
    how = disconnect_mid_stream(server, f"/sse/infinite/{kind}?interval=0.05", kind)
    assert how in ("GeneratorExit", "CancelledError"), f"the generator ended with {how}"
    still_serving(server)


@pytest.mark.timeout(60)
def test_disconnect_stops_an_idle_async_generator(server: ServerProcess) -> None:
    """The generator sends two events, then awaits an hour: the client's close must still stop
    it within 2 s (uvicorn reports the disconnect and Starlette cancels the stream; no write is
    needed to notice)."""
    how = disconnect_mid_stream(server, "/sse/infinite/async?interval=0.05&idle_after=2", "async", events=2)
    assert how in ("GeneratorExit", "CancelledError"), f"the generator ended with {how}"
    still_serving(server)


@pytest.mark.timeout(60)
def test_disconnect_stops_the_sse_helper_generator(server: ServerProcess) -> None:
    """The same with FastAPI's ``response_class=EventSourceResponse`` on a generator endpoint."""
    error = get_json(server.port or 0, "/features")["sse_helper_error"]
    if error is not None:
        pytest.fail(f"turboapi.sse.EventSourceResponse is not available: {error}")
    how = disconnect_mid_stream(server, "/sse/infinite/helper?interval=0.05", "helper")
    assert how in ("GeneratorExit", "CancelledError"), f"the generator ended with {how}"
    still_serving(server)


@pytest.mark.timeout(60)
def test_sync_disconnects_free_the_workers(spawn: Callable[..., ServerProcess]) -> None:
    """With 2 sync workers: 5 sync streams closed by their clients one after the other, then 4
    sync streams at once (more than the workers: a sync generator must not hold a worker between
    its chunks), then a sync endpoint: all served."""
    server = spawn(sync_workers=2)
    for _ in range(5):
        disconnect_mid_stream(server, "/sse/infinite/sync?interval=0.05", "sync", events=2)
    streams = [open_stream(server.port or 0, f"/sse/infinite/sync?id={new_id()}&interval=0.05") for _ in range(4)]
    try:
        for stream in streams:
            stream.read_head()
            assert stream.status == 200
        for stream in streams:
            assert read_events(stream, 3).startswith(b"data: 0\n\ndata: 1\n\ndata: 2\n\n")
    finally:
        for stream in streams:
            stream.sock.close()
    still_serving(server)


# -- (d) many streams at once -------------------------------------------------------------------------
@pytest.mark.timeout(60)
def test_200_concurrent_sse_clients(spawn: Callable[..., ServerProcess]) -> None:
    """200 clients at once on one server, each on an SSE stream of 10 events 100 ms apart (~1 s):
    every client gets its own events, in order; the streams overlapped (served together, not one
    after the other: well under the 200 s that would take)."""
    server = spawn()
    clients, events = 200, 10

    async def one(client: httpx.AsyncClient, name: str) -> tuple[int, str, str, str]:
        async with client.stream("GET", "/sse/events", params={"client": name, "n": events, "interval": 0.1}) as resp:
            body = b"".join([piece async for piece in resp.aiter_raw()])
            framing = resp.headers.get("transfer-encoding", "") + "|" + resp.headers.get("content-length", "-")
            return resp.status_code, resp.headers.get("content-type", ""), framing, body.decode()

    async def run_all() -> list[tuple[int, str, str, str]]:
        limits = httpx.Limits(max_connections=None, max_keepalive_connections=0)
        timeout = httpx.Timeout(30.0, pool=30.0)
        async with httpx.AsyncClient(base_url=server.base_url, limits=limits, timeout=timeout, trust_env=False) as c:
            return await asyncio.gather(*(one(c, f"c{i}") for i in range(clients)))

    started = time.monotonic()
    results = asyncio.run(run_all())
    elapsed = time.monotonic() - started
    for i, (status, content_type, framing, body) in enumerate(results):
        assert (status, content_type, framing) == (200, "text/event-stream; charset=utf-8", "chunked|-"), (i, status)
        expected = "".join(f"id: {k}\nevent: tick\ndata: c{i}-{k}\n\n" for k in range(events))
        assert body == expected, f"client {i}: {body!r}"
    assert elapsed < 20, f"200 streams of ~1 s took {elapsed:.1f} s"
    stats = get_json(server.port or 0, "/streams/stats")
    assert stats["finished"] == clients and stats["active"] == 0, stats
    assert stats["max_active"] >= 100, f"at most {stats['max_active']} streams ran at the same time"
    still_serving(server)


# -- (e) through GZipMiddleware ---------------------------------------------------------------------
@pytest.mark.timeout(60)
@pytest.mark.parametrize("native", ["true", "false"], ids=["native-gzip", "python-gzip"])
def test_gzip_stream_is_compressed_incrementally(spawn: Callable[..., ServerProcess], native: str) -> None:
    """Behind GZipMiddleware a stream is gzip-compressed chunk by chunk (Starlette flushes the
    compressor after every chunk, Z_SYNC_FLUSH): the first tick can be decompressed long before
    the last one is produced; the whole decompresses to the exact body.  ``text/event-stream`` is
    excluded from compression, as in Starlette."""
    server = spawn("--mode", "gzip", native_middleware=native)
    started = time.monotonic()
    stream = open_stream(server.port or 0, "/tick/async?n=10&interval=0.1", headers={"Accept-Encoding": "gzip"})
    stream.read_head()
    assert stream.status == 200
    assert_chunked(stream, "text/plain; charset=utf-8")
    assert stream.header("content-encoding") == "gzip", stream.headers
    assert "accept-encoding" in (stream.header("vary") or "").lower(), stream.headers
    inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
    text = b""
    arrival: dict[int, float] = {}
    for piece in stream.body():
        text += inflate.decompress(piece)
        now = time.monotonic() - started
        for i in range(10):
            if i not in arrival and f"tick {i}\n".encode() in text:
                arrival[i] = now
    stream.sock.close()
    text += inflate.flush()
    assert stream.complete and inflate.eof
    assert text == b"".join(f"tick {i}\n".encode() for i in range(10))
    assert arrival[0] < 0.5, f"first tick decompressible after {arrival[0]:.2f} s: buffered ({arrival})"
    assert arrival[9] - arrival[0] >= 0.6, f"ticks arrived together: {arrival}"

    sse = open_stream(server.port or 0, "/sse/events?client=gz&n=3&interval=0.01", headers={"Accept-Encoding": "gzip"})
    sse.read_head()
    assert sse.header("content-encoding") is None, sse.headers
    body = sse.read_body()
    sse.sock.close()
    assert body == b"".join(f"id: {k}\nevent: tick\ndata: gz-{k}\n\n".encode() for k in range(3))


# -- framing and failures -------------------------------------------------------------------------------
@pytest.mark.timeout(60)
@pytest.mark.parametrize("kind", ["async", "sync"])
def test_error_mid_stream_truncates_the_response(server: ServerProcess, kind: str) -> None:
    """A generator that raises after its first chunk: the client gets the 200 head and the first
    chunk, then the connection closes without the terminating chunk (the response is visibly
    incomplete, as with uvicorn); the exception is logged; the server keeps serving."""
    tag = {"sync": "sync-4c1e", "async": "async-7d2a"}[kind]
    mark = server.mark()
    stream = open_stream(server.port or 0, f"/raise-mid/{kind}").read_head()
    assert stream.status == 200
    assert_chunked(stream, "text/plain; charset=utf-8")
    received = b""
    with pytest.raises(IncompleteBody):
        for piece in stream.body():
            received += piece
    stream.sock.close()
    assert received == b"first\n"
    assert not stream.complete
    server.wait_for_line(f"stream broke mid-way {tag}", timeout=5, start=mark)
    still_serving(server)


@pytest.mark.timeout(60)
def test_keep_alive_after_a_stream(server: ServerProcess) -> None:
    """Two streamed responses, then a plain one, on one connection: the chunked framing ends
    exactly where each body does."""
    with socket.create_connection((HOST, server.port or 0), timeout=10) as sock:
        stream = WireStream(sock)
        for _ in range(2):
            sock.sendall(request_bytes("GET", "/fixed"))
            stream.read_head()
            assert stream.status == 200
            assert_chunked(stream, "text/plain; charset=utf-8")
            assert stream.read_body() == b"alpha beta gamma"
            assert stream.complete
        sock.sendall(request_bytes("GET", "/"))
        stream.read_head()
        assert (stream.status, stream.read_body()) == (200, b'{"ok":true}')


@pytest.mark.timeout(60)
def test_http10_client_gets_a_close_delimited_stream(server: ServerProcess) -> None:
    """HTTP/1.0 has no chunked encoding: the stream is sent as it is and the connection closed."""
    stream = open_stream(server.port or 0, "/tick/async?n=3&interval=0.01", version="HTTP/1.0").read_head()
    assert stream.status == 200
    assert "chunked" not in (stream.header("transfer-encoding") or "").lower(), stream.headers
    body = stream.read_body()
    stream.sock.close()
    assert body == b"tick 0\ntick 1\ntick 2\n"
    assert stream.complete


@pytest.mark.timeout(60)
def test_head_on_an_infinite_stream(server: ServerProcess) -> None:
    """HEAD on a GET route (turboapi serves it, see the README) whose body never ends: the head
    comes back at once, without a body and without a content-length, and the connection takes the
    next request."""
    with socket.create_connection((HOST, server.port or 0), timeout=5) as sock:
        stream = WireStream(sock)
        sock.sendall(request_bytes("HEAD", f"/sse/infinite/async?id={new_id()}"))
        stream.read_head()
        assert stream.status == 200
        assert stream.header("content-type") == "text/event-stream; charset=utf-8"
        assert stream.header_list("content-length") == []
        sock.sendall(request_bytes("GET", "/"))
        stream.read_head()
        assert (stream.status, stream.read_body()) == (200, b'{"ok":true}')


@pytest.mark.timeout(60)
def test_server_output_has_no_unexpected_errors(server: ServerProcess) -> None:
    """Disconnects are normal: no traceback other than the deliberate mid-stream errors."""
    still_serving(server)
    tracebacks = [m.start() for m in re.finditer("Traceback", server.output)]
    deliberate = len(re.findall("stream broke mid-way", server.output))
    assert len(tracebacks) <= deliberate, server.output[-4000:]
