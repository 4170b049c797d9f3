"""The real server over a socket: tests/apps/*.py run in a subprocess on 127.0.0.1, port 0.

Each test talks HTTP to the server the way a client would (httpx, or raw bytes on a socket when
the wire matters: keep-alive, pipelining, HEAD, limits, malformed input), and reads the server's
stderr for what it logs.  Every wait is bounded; servers are always killed in fixture finalizers.
"""

import asyncio
import contextlib
import importlib.util
import json
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from serverutil import (
    HOST,
    ResponseReader,
    ServerProcess,
    raw_request,
    request_bytes,
    served,
    wait_port_closed,
)

if importlib.util.find_spec("pytest_timeout") is not None:
    pytestmark = [pytest.mark.timeout(30)]

LIMITED = {"max_body_size": 1024, "header_read_timeout": 1, "max_header_bytes": 16384}
MSG_INT = "Input should be a valid integer, unable to parse string as an integer"


# -- fixtures --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    """tests/apps/basic.py with default settings, shared by the module."""
    with served("basic") as proc:
        yield proc


@pytest.fixture(scope="module")
def limited() -> Iterator[ServerProcess]:
    """basic.py with small limits: 1 KiB bodies, 1 s header timeout, 16 KiB of head."""
    with served("basic", settings=LIMITED) as proc:
        yield proc


@pytest.fixture
def spawn() -> Iterator[Callable[..., ServerProcess]]:
    """Starts servers owned by one test (for signals and exits); all killed afterwards."""
    started: list[ServerProcess] = []

    def _spawn(app: str = "basic", *args: str, **settings: Any) -> ServerProcess:
        proc = ServerProcess(app, *args, settings=settings)
        started.append(proc)
        proc.wait_started()
        return proc

    yield _spawn
    for proc in started:
        proc.kill()


@pytest.fixture
def client(server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, timeout=5.0, trust_env=False) as c:
        yield c


def get(proc: ServerProcess, path: str, **kwargs: Any) -> httpx.Response:
    with httpx.Client(base_url=proc.base_url, timeout=5.0, trust_env=False) as c:
        return c.get(path, **kwargs)


def assert_still_serving(proc: ServerProcess) -> None:
    assert proc.proc.poll() is None, f"server exited\n{proc.output}"
    response = raw_request(proc.port, "GET", "/fast")
    assert (response.status, response.body) == (200, b'{"fast":true}')


class Background(threading.Thread):
    """Runs fn() in a thread; ``result()`` joins (bounded) and returns or re-raises."""

    def __init__(self, fn: Callable[[], Any]) -> None:
        super().__init__(daemon=True)
        self.fn = fn
        self.value: Any = None
        self.error: BaseException | None = None
        self.finished_at: float | None = None
        self.start()

    def run(self) -> None:
        try:
            self.value = self.fn()
        except BaseException as exc:  # handed to the test thread
            self.error = exc
        self.finished_at = time.monotonic()

    def result(self, timeout: float) -> Any:
        self.join(timeout)
        assert not self.is_alive(), f"background request still running after {timeout} s"
        if self.error is not None:
            raise self.error
        return self.value


def send_ignoring_close(sock: socket.socket, data: bytes) -> None:
    """sendall that tolerates the server having answered and closed already."""
    try:
        sock.sendall(data)
    except (BrokenPipeError, ConnectionResetError):
        pass


# -- 1. JSON, coercion, validation -----------------------------------------------------------
def test_the_app_s_own_objects_are_frozen_after_start_unless_switched_off(
    client: httpx.Client, spawn: Callable[..., ServerProcess]
) -> None:
    """gc_freeze: what the app made before serving leaves the collector's full passes."""
    frozen = client.get("/gc-frozen").json()["frozen"]
    # Off, only what the interpreter itself keeps there (3.12: a few hundred objects; 3.11: none).
    left_alone = get(spawn(gc_freeze="false"), "/gc-frozen").json()["frozen"]
    assert frozen > left_alone + 10_000, (frozen, left_alone)  # the modules, pydantic, the routes


POLICY_NAMES = {os.SCHED_OTHER: "other", os.SCHED_BATCH: "batch"}


def policy_of(stat: Path) -> str:
    """The scheduling policy in a /proc stat file: field 41, counted from the state (field 3)."""
    policy = int(stat.read_text().rsplit(")", 1)[1].split()[41 - 3])
    return POLICY_NAMES.get(policy, str(policy))


def io_thread_policies(proc: ServerProcess) -> set[str]:
    """The scheduling policies of the core's I/O threads."""
    policies = set()
    for task in Path(f"/proc/{proc.proc.pid}/task").iterdir():
        # tokio's blocking threads bear the same name and end when idle: one may go as it is read.
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):
            if (task / "comm").read_text().strip() == "turboapi-io":
                policies.add(policy_of(task / "stat"))
    return policies


def test_the_server_threads_run_under_sched_batch_unless_switched_off(
    client: httpx.Client, server: ServerProcess, spawn: Callable[..., ServerProcess]
) -> None:
    """batch_scheduling: the I/O threads, the loop shards and the sync pool under SCHED_BATCH;
    off, under the policy the process started with (its main thread's)."""
    assert client.get("/sched-policy").json() == {"policy": "batch"}
    assert client.get("/sched-policy-async").json() == {"policy": "batch"}
    assert io_thread_policies(server) == {"batch"}
    off = spawn(batch_scheduling="false")
    started_with = policy_of(Path(f"/proc/{off.proc.pid}/stat"))
    assert get(off, "/sched-policy").json() == {"policy": started_with}
    assert get(off, "/sched-policy-async").json() == {"policy": started_with}
    assert io_thread_policies(off) == {started_with}
    assert started_with == policy_of(Path("/proc/self/stat"))  # inherited from this test run


def test_get_json_with_path_and_query_coercion(client: httpx.Client) -> None:
    r = client.get("/items/42", params={"q": "foo", "limit": "5", "ratio": "0.25", "flag": "true"})
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    assert int(r.headers["content-length"]) == len(r.content)
    assert r.json() == {"item_id": 42, "q": "foo", "limit": 5, "ratio": 0.25, "flag": True}

    r = client.get("/items/7")
    assert r.status_code == 200
    assert r.json() == {"item_id": 7, "q": None, "limit": 10, "ratio": 1.0, "flag": False}


def test_bad_int_path_param_is_422_shaped_like_fastapi(client: httpx.Client) -> None:
    r = client.get("/items/abc")
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/json"
    assert r.json() == {"detail": [{"type": "int_parsing", "loc": ["path", "item_id"], "msg": MSG_INT, "input": "abc"}]}


def test_bad_int_query_param_is_422(client: httpx.Client) -> None:
    r = client.get("/items/1", params={"limit": "ten"})
    assert r.status_code == 422
    assert r.json() == {"detail": [{"type": "int_parsing", "loc": ["query", "limit"], "msg": MSG_INT, "input": "ten"}]}


def test_post_json_echo(client: httpx.Client) -> None:
    payload = {"a": [1, 2.5, {"b": None}], "unicode": "héllo ✓", "t": True}
    r = client.post("/echo", json=payload)
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    assert r.json() == {"received": payload}


def test_post_pydantic_body_201(client: httpx.Client) -> None:
    r = client.post("/items", json={"name": "widget", "price": "3.5"})
    assert r.status_code == 201
    assert r.headers["content-type"] == "application/json"
    assert r.json() == {"name": "widget", "price": 3.5, "tags": []}


def test_post_pydantic_body_missing_field_422(client: httpx.Client) -> None:
    r = client.post("/items", json={"name": "widget"})
    assert r.status_code == 422
    assert r.json() == {
        "detail": [{"type": "missing", "loc": ["body", "price"], "msg": "Field required", "input": {"name": "widget"}}]
    }


def test_post_malformed_json_is_422_json_invalid(client: httpx.Client) -> None:
    r = client.post("/items", content=b'{"name": "widget", ', headers={"content-type": "application/json"})
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/json"
    detail = r.json()["detail"]
    assert len(detail) == 1
    assert detail[0]["type"] == "json_invalid"
    assert detail[0]["loc"][0] == "body"
    assert detail[0]["msg"] == "JSON decode error"


# -- 2. 404, 405, HEAD -------------------------------------------------------------------------
def test_unknown_path_404(client: httpx.Client) -> None:
    r = client.get("/no/such/path")
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/json"
    assert r.json() == {"detail": "Not Found"}


def test_wrong_method_405_with_allow(client: httpx.Client) -> None:
    r = client.delete("/items/1")
    assert r.status_code == 405
    assert r.headers["content-type"] == "application/json"
    assert r.json() == {"detail": "Method Not Allowed"}
    assert "allow" in r.headers, dict(r.headers)
    assert "GET" in {m.strip() for m in r.headers["allow"].split(",")}

    r = client.put("/items")
    assert r.status_code == 405
    assert r.json() == {"detail": "Method Not Allowed"}
    assert "POST" in {m.strip() for m in r.headers["allow"].split(",")}


def test_head_on_get_route_has_no_body(server: ServerProcess) -> None:
    get_body = b'{"fast":true}'
    with server.connect() as sock:
        reader = ResponseReader(sock)
        sock.sendall(request_bytes("HEAD", "/fast"))
        head = reader.read_response("HEAD")
        assert head.status == 200
        assert head.header("content-length") is not None, head.headers
        assert int(head.header("content-length") or -1) == len(get_body)
        # no body bytes follow: the next response on the connection starts right away
        sock.sendall(request_bytes("GET", "/fast"))
        after = reader.read_response("GET")
        assert (after.status, after.body) == (200, get_body)
        assert reader.buffer == b""


# -- 3. keep-alive and pipelining ----------------------------------------------------------------
def test_keep_alive_several_requests_on_one_connection(server: ServerProcess) -> None:
    with server.connect() as sock:
        reader = ResponseReader(sock)
        for n in range(6):
            sock.sendall(request_bytes("GET", f"/seq/{n}"))
            r = reader.read_response()
            assert r.status == 200
            assert r.body == b'{"n":%d}' % n
            assert (r.header("connection") or "").lower() != "close"


def test_keep_alive_survives_error_responses(server: ServerProcess) -> None:
    with server.connect() as sock:
        reader = ResponseReader(sock)
        for method, path, status in [
            ("GET", "/nope", 404),
            ("GET", "/items/x", 422),
            ("DELETE", "/fast", 405),
            ("GET", "/teapot", 418),
            ("GET", "/fast", 200),
        ]:
            sock.sendall(request_bytes(method, path))
            assert reader.read_response(method).status == status, (method, path)


def test_pipelining_three_requests_in_one_write(server: ServerProcess) -> None:
    with server.connect() as sock:
        sock.sendall(
            request_bytes("POST", "/echo", {"Content-Type": "application/json"}, b'{"first":1}')
            + request_bytes("GET", "/sleep-async?seconds=0.2&tag=pipelined")
            + request_bytes("GET", "/seq/3")
        )
        reader = ResponseReader(sock)
        first, second, third = (reader.read_response() for _ in range(3))
        assert (first.status, first.body) == (200, b'{"received":{"first":1}}')
        assert (second.status, second.body) == (200, b'{"slept":0.2,"tag":"pipelined"}')
        assert (third.status, third.body) == (200, b'{"n":3}')


# -- 4. limits -----------------------------------------------------------------------------------
def test_body_at_the_limit_is_accepted(limited: ServerProcess) -> None:
    r = raw_request(limited.port, "POST", "/upload", body=b"x" * 1024)
    assert (r.status, r.body) == (200, b'{"size":1024}')


def test_content_length_over_limit_413_without_reading_body(limited: ServerProcess) -> None:
    with limited.connect(timeout=3.0) as sock:
        head = request_bytes("POST", "/upload", {"Content-Length": str(50 * 1024 * 1024)})
        sock.sendall(head + b"y" * 100)  # 100 of the 50 MiB announced; the rest never comes
        started = time.monotonic()
        r = ResponseReader(sock).read_response()
        assert r.status == 413
        assert time.monotonic() - started < 3.0
    assert_still_serving(limited)


def test_chunked_body_over_limit_413(limited: ServerProcess) -> None:
    chunks = (b"200\r\n" + b"z" * 512 + b"\r\n") * 4 + b"0\r\n\r\n"  # 4 x 512 = 2 KiB > 1 KiB
    with limited.connect(timeout=3.0) as sock:
        # head and body in one write, as most clients send a small body
        send_ignoring_close(sock, request_bytes("POST", "/upload", {"Transfer-Encoding": "chunked"}) + chunks)
        r = ResponseReader(sock).read_response()
        assert r.status == 413
    assert_still_serving(limited)


def test_chunked_body_within_limit_is_read(limited: ServerProcess) -> None:
    with limited.connect() as sock:
        sock.sendall(
            request_bytes("POST", "/upload", {"Transfer-Encoding": "chunked"})
            + b"100\r\n"
            + b"a" * 256
            + b"\r\n"
            + b"80\r\n"
            + b"b" * 128
            + b"\r\n0\r\n\r\n"
        )
        r = ResponseReader(sock).read_response()
        assert (r.status, r.body) == (200, b'{"size":384}')


def test_headers_over_max_header_bytes_431(limited: ServerProcess) -> None:
    r = raw_request(limited.port, "GET", "/fast", {"X-Big": "a" * 32 * 1024}, timeout=3.0)
    assert r.status == 431
    assert_still_serving(limited)


def test_headers_over_default_64k_limit_431(server: ServerProcess) -> None:
    r = raw_request(server.port, "GET", "/fast", {"X-Big": "a" * 80 * 1024}, timeout=3.0)
    assert r.status == 431
    # just under the default limit is fine
    r = raw_request(server.port, "GET", "/fast", {"X-Big": "a" * 48 * 1024}, timeout=3.0)
    assert r.status == 200
    assert_still_serving(server)


def test_too_many_headers_431(limited: ServerProcess) -> None:
    headers = {f"X-H{i}": "v" for i in range(150)}  # max_headers defaults to 100
    r = raw_request(limited.port, "GET", "/fast", headers, timeout=3.0)
    assert r.status == 431
    assert_still_serving(limited)


def test_malformed_request_line_400_and_close(limited: ServerProcess) -> None:
    with limited.connect(timeout=3.0) as sock:
        sock.sendall(b"GARBAGE\r\n\r\n")
        reader = ResponseReader(sock)
        r = reader.read_response()
        assert r.status == 400
        assert reader.at_eof(timeout=2.0), "connection not closed after 400"
    assert_still_serving(limited)


def test_invalid_content_length_400(limited: ServerProcess) -> None:
    with limited.connect(timeout=3.0) as sock:
        sock.sendall(b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\nhello")
        assert ResponseReader(sock).read_response().status == 400
    assert_still_serving(limited)


@pytest.mark.parametrize(
    "first_bytes",
    [
        b"GET /fast HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Partial: ",  # hyper's HTTP/1.1 head timer
        b"PR",  # the start of HTTP/2's preface: the core's peek waits for the rest
        b"",  # nothing at all: neither protocol is known yet
    ],
    ids=["partial-head", "partial-h2-preface", "silent"],
)
def test_slow_client_closed_after_header_read_timeout(limited: ServerProcess, first_bytes: bytes) -> None:
    with limited.connect(timeout=5.0) as sock:
        sock.sendall(first_bytes)  # and nothing more
        started = time.monotonic()
        reader = ResponseReader(sock)
        closed = reader.at_eof(timeout=3.0)
        elapsed = time.monotonic() - started
        assert closed, f"connection still open {elapsed:.1f} s after a stalled head (header_read_timeout=1)"
        assert elapsed >= 0.5, f"closed after {elapsed:.2f} s, before the 1 s header timeout"
        if reader.buffer:  # a 408 before closing is acceptable, nothing else is
            assert reader.buffer.startswith(b"HTTP/1.1 408"), reader.buffer
    assert_still_serving(limited)


# -- 5. unhandled exceptions ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("path", "secret", "function"),
    [("/boom", "kaboom-sync-7c1f", "boom"), ("/boom-async", "kaboom-async-9e2d", "boom_async")],
)
def test_handler_exception_is_500_logged_not_sent(server: ServerProcess, path: str, secret: str, function: str) -> None:
    mark = server.mark()
    r = raw_request(server.port, "GET", path)
    assert r.status == 500
    assert r.body == b"Internal Server Error"
    assert (r.header("content-type") or "").startswith("text/plain"), r.headers
    assert secret not in repr(r.headers)
    server.wait_for_line(secret, timeout=5.0, start=mark)
    assert_still_serving(server)
    # the log carries the traceback (where it raised), not only the exception's repr
    logged = server.since(mark)
    assert "Traceback (most recent call last):" in logged, logged
    assert f"in {function}" in logged and "basic.py" in logged, logged


# -- 6. HTTPException ----------------------------------------------------------------------------
def test_http_exception_status_detail_headers(client: httpx.Client) -> None:
    r = client.get("/teapot")
    assert r.status_code == 418
    assert r.headers["content-type"] == "application/json"
    assert r.json() == {"detail": "I'm a teapot"}
    assert r.headers["x-error"] == "brewing"

    r = client.get("/forbidden")
    assert r.status_code == 403
    assert r.json() == {"detail": {"reason": "no", "code": 7}}


# -- 7. concurrency --------------------------------------------------------------------------------
def test_blocking_sync_handlers_do_not_stall_other_routes(server: ServerProcess) -> None:
    mark = server.mark()
    slow = [
        Background(lambda tag=tag: raw_request(server.port, "GET", f"/sleep-sync?seconds=1&tag={tag}", timeout=10))
        for tag in ("s1", "s2")
    ]
    server.wait_for_line("sleep-sync-start s1", timeout=3.0, start=mark)
    server.wait_for_line("sleep-sync-start s2", timeout=3.0, start=mark)

    for path in ("/fast", "/sleep-async?seconds=0"):
        started = time.monotonic()
        r = raw_request(server.port, "GET", path, timeout=5)
        elapsed = time.monotonic() - started
        assert r.status == 200
        assert elapsed < 0.5, f"{path} took {elapsed:.2f} s while two sync handlers slept"
    for bg, tag in zip(slow, ("s1", "s2"), strict=True):
        r = bg.result(timeout=10)
        assert (r.status, r.body) == (200, b'{"slept":1.0,"tag":"%s"}' % tag.encode())


def test_async_sleep_handlers_run_concurrently(server: ServerProcess) -> None:
    async def main() -> list[httpx.Response]:
        limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
        async with httpx.AsyncClient(base_url=server.base_url, timeout=10.0, trust_env=False, limits=limits) as c:
            return await asyncio.gather(*(c.get("/sleep-async", params={"seconds": "0.5"}) for _ in range(50)))

    started = time.monotonic()
    responses = asyncio.run(main())
    elapsed = time.monotonic() - started
    assert [r.status_code for r in responses] == [200] * 50
    assert all(r.json() == {"slept": 0.5, "tag": ""} for r in responses)
    assert elapsed < 3.0, f"50 concurrent 0.5 s async sleeps took {elapsed:.2f} s"


# -- 8. graceful shutdown ------------------------------------------------------------------------
def assert_clean_exit(proc: ServerProcess, code: int) -> None:
    assert code == 0, f"exit code {code}\n{proc.output}"
    lines = proc.lines
    assert "INFO:     Shutting down" in lines, proc.output
    assert "INFO:     Finished server process" in lines, proc.output
    assert lines.index("INFO:     Shutting down") < lines.index("INFO:     Finished server process")


def test_sigterm_drains_in_flight_request_then_exits_0(spawn: Callable[..., ServerProcess]) -> None:
    proc = spawn("basic", graceful_timeout=5)
    port = proc.port
    mark = proc.mark()
    slow = Background(lambda: raw_request(port, "GET", "/sleep-sync?seconds=1&tag=drain", timeout=10))
    proc.wait_for_line("sleep-sync-start drain", timeout=3.0, start=mark)
    signalled = time.monotonic()
    proc.send_signal(signal.SIGTERM)

    r = slow.result(timeout=8)
    assert (r.status, r.body) == (200, b'{"slept":1.0,"tag":"drain"}')
    code = proc.wait_exit(timeout=5)
    assert time.monotonic() - signalled < 5
    assert_clean_exit(proc, code)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((HOST, port), timeout=2).close()


def test_sigterm_stops_accepting_during_drain(spawn: Callable[..., ServerProcess]) -> None:
    proc = spawn("basic", graceful_timeout=5)
    port = proc.port
    mark = proc.mark()
    slow = Background(lambda: raw_request(port, "GET", "/sleep-sync?seconds=1.5&tag=drain2", timeout=10))
    proc.wait_for_line("sleep-sync-start drain2", timeout=3.0, start=mark)
    proc.send_signal(signal.SIGTERM)
    time.sleep(0.3)  # let the signal land; "Shutting down" is printed only after the drain

    # the slow request is still running; a new connection must not be served
    assert slow.is_alive()
    try:
        late = raw_request(port, "GET", "/fast", timeout=5)
    except (ConnectionRefusedError, ConnectionResetError, ConnectionError):
        late = None
    assert late is None or late.status == 503, f"served a new request during the drain: {late}"

    r = slow.result(timeout=8)
    assert r.status == 200
    assert_clean_exit(proc, proc.wait_exit(timeout=5))


def test_sigterm_with_idle_keepalive_connection_exits_promptly(spawn: Callable[..., ServerProcess]) -> None:
    proc = spawn("basic")  # graceful_timeout left at its default (10 s)
    with proc.connect() as sock:
        reader = ResponseReader(sock)
        sock.sendall(request_bytes("GET", "/fast"))
        assert reader.read_response().status == 200
        signalled = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        code = proc.wait_exit(timeout=8)
        elapsed = time.monotonic() - signalled
        assert reader.at_eof(timeout=1.0)
    assert_clean_exit(proc, code)
    assert elapsed < 3.0, f"an idle keep-alive connection held shutdown for {elapsed:.1f} s"


def test_graceful_timeout_bounds_shutdown(spawn: Callable[..., ServerProcess]) -> None:
    """A request still running when graceful_timeout expires does not hold the process."""
    proc = spawn("basic", graceful_timeout=1)
    port = proc.port
    mark = proc.mark()
    stuck = Background(lambda: raw_request(port, "GET", "/sleep-sync?seconds=5&tag=stuck", timeout=10))
    proc.wait_for_line("sleep-sync-start stuck", timeout=3.0, start=mark)
    signalled = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    code = proc.wait_exit(timeout=8)
    elapsed = time.monotonic() - signalled
    assert code == 0, f"exit code {code}\n{proc.output}"
    assert elapsed < 3.0, f"shutdown took {elapsed:.1f} s with graceful_timeout=1\n{proc.output}"
    # its connection was closed without an answer
    with pytest.raises((ConnectionError, OSError)):
        stuck.result(timeout=3)


def test_sigint_exits_0(spawn: Callable[..., ServerProcess]) -> None:
    proc = spawn("basic")
    assert raw_request(proc.port, "GET", "/fast").status == 200
    proc.send_signal(signal.SIGINT)
    assert_clean_exit(proc, proc.wait_exit(timeout=5))
    wait_port_closed(proc.port, timeout=1.0)


# -- 9. ports ------------------------------------------------------------------------------------
def test_port_zero_gives_a_real_ephemeral_port(server: ServerProcess) -> None:
    port = server.port
    assert port is not None and port > 0
    with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
        low, high = map(int, f.read().split())
    assert low <= port <= high
    r = raw_request(port, "GET", "/")
    assert (r.status, r.body) == (200, b'{"hello":"world"}')


def test_port_in_use_fails_with_a_clear_error() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as blocker:
        blocker.bind((HOST, 0))
        blocker.listen(1)
        port = blocker.getsockname()[1]
        proc = ServerProcess("basic", "--port", str(port))
        try:
            code = proc.wait_exit(timeout=10)
        finally:
            proc.kill()
    output = proc.output
    assert code != 0, output
    assert "running on" not in output, output
    assert f"{HOST}:{port}" in output, f"the error does not name {HOST}:{port}:\n{output}"


# -- 10. startup / shutdown hooks --------------------------------------------------------------
def marker_indexes(lines: list[str], text: str) -> list[int]:
    return [i for i, line in enumerate(lines) if line == f"MARKER {text}"]


def test_on_event_startup_and_shutdown_run_once(spawn: Callable[..., ServerProcess]) -> None:
    proc = spawn("lifecycle", "--mode", "events")
    assert get(proc, "/state").json() == {"startup_sync": True, "startup_async": True}
    proc.send_signal(signal.SIGTERM)
    code = proc.wait_exit(timeout=5)
    assert_clean_exit(proc, code)
    lines = proc.lines
    running = next(i for i, line in enumerate(lines) if "turboapi running on" in line)
    shutting = lines.index("INFO:     Shutting down")
    finished = lines.index("INFO:     Finished server process")
    for name in ("startup-sync", "startup-async"):
        found = marker_indexes(lines, name)
        assert len(found) == 1 and found[0] < running, (name, proc.output)
    for name in ("shutdown-sync", "shutdown-async"):
        found = marker_indexes(lines, name)
        assert len(found) == 1 and shutting < found[0] < finished, (name, proc.output)
    assert marker_indexes(lines, "startup-sync")[0] < marker_indexes(lines, "startup-async")[0]


def test_lifespan_context_runs_once(spawn: Callable[..., ServerProcess]) -> None:
    proc = spawn("lifecycle", "--mode", "lifespan")
    assert get(proc, "/state").json() == {"lifespan": True}
    proc.send_signal(signal.SIGTERM)
    code = proc.wait_exit(timeout=5)
    assert_clean_exit(proc, code)
    lines = proc.lines
    running = next(i for i, line in enumerate(lines) if "turboapi running on" in line)
    enter, exit_ = marker_indexes(lines, "lifespan-enter"), marker_indexes(lines, "lifespan-exit")
    assert len(enter) == 1 and enter[0] < running, proc.output
    assert len(exit_) == 1 and lines.index("INFO:     Shutting down") < exit_[0], proc.output
    assert exit_[0] < lines.index("INFO:     Finished server process")


# -- 11. response types ----------------------------------------------------------------------------
def test_bytes_response_sent_exactly(server: ServerProcess) -> None:
    expected = bytes(range(256)) + b"\r\n\x00end"
    r = raw_request(server.port, "GET", "/bytes")
    assert r.status == 200
    assert r.header("content-type") == "application/x-test-binary"
    assert r.header("content-length") == str(len(expected))
    assert r.body == expected


def test_html_response(client: httpx.Client) -> None:
    r = client.get("/html")
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    assert r.content == b"<h1>Hello</h1>"


def test_plain_text_response(client: httpx.Client) -> None:
    r = client.get("/text")
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/plain; charset=utf-8"
    assert r.content == b"plain hello"


def test_redirect_response(client: httpx.Client) -> None:
    r = client.get("/redirect")
    assert r.status_code == 307
    assert r.headers["location"] == "/target?x=1"
    assert r.content == b""


def test_set_cookie_header(server: ServerProcess) -> None:
    r = raw_request(server.port, "GET", "/cookie")
    assert r.status == 200
    assert r.body == b'{"cookie":"set"}'
    cookies = r.header_list("set-cookie")
    assert len(cookies) == 1, r.headers
    parts = [p.strip() for p in cookies[0].split(";")]
    assert parts[0] == "session=abc123"
    assert {p.lower() for p in parts[1:]} == {"httponly", "path=/", "samesite=lax"}


def test_custom_status_and_headers_on_json_response(client: httpx.Client) -> None:
    r = client.get("/custom-status")
    assert r.status_code == 202
    assert r.headers["x-custom"] == "yes"
    assert r.json() == {"created": True}


def test_pydantic_model_and_list_of_models(client: httpx.Client) -> None:
    r = client.get("/model")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    assert r.json() == {"name": "widget", "price": 2.5, "tags": ["a", "b"]}

    r = client.get("/models")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    assert r.json() == [{"name": "a", "price": 1.0, "tags": []}, {"name": "b", "price": 2.0, "tags": ["x"]}]


# -- 12. the Request object ------------------------------------------------------------------------
def test_request_object_over_a_real_socket(server: ServerProcess) -> None:
    body = b"hello body \x00\xff!"
    with server.connect() as sock:
        local_port = sock.getsockname()[1]
        sock.sendall(
            request_bytes(
                "POST",
                "/inspect/alice?x=1&y=two",
                {"X-Custom-Header": "Value-1", "Content-Type": "application/octet-stream"},
                body,
            )
        )
        r = ResponseReader(sock).read_response()
    assert r.status == 200, r.body
    assert json.loads(r.body) == {
        "name": "alice",
        "method": "POST",
        "client_host": "127.0.0.1",
        "client_port": local_port,
        "path": "/inspect/alice",
        "query": {"x": "1", "y": "two"},
        "header_lower": "Value-1",
        "header_upper": "Value-1",
        "header_mixed": "Value-1",
        "content_type": "application/octet-stream",
        "body": body.decode("latin-1"),
        "body_len": len(body),
    }


# -- other wire-level behaviour ----------------------------------------------------------------------
def test_http10_request_is_answered_and_closed(server: ServerProcess) -> None:
    with server.connect() as sock:
        sock.sendall(b"GET /fast HTTP/1.0\r\n\r\n")
        reader = ResponseReader(sock)
        r = reader.read_response()
        assert (r.status, r.body) == (200, b'{"fast":true}')
        assert reader.at_eof(timeout=2.0), "HTTP/1.0 connection without keep-alive left open"


def test_alternative_settings_serve(spawn: Callable[..., ServerProcess]) -> None:
    proc = spawn("basic", event_loop="asyncio", json="stdlib", shards=2, batch_size=1, sync_workers=2, io_threads=2)
    with httpx.Client(base_url=proc.base_url, timeout=5.0, trust_env=False) as c:
        assert c.get("/items/5", params={"q": "x"}).json() == {
            "item_id": 5,
            "q": "x",
            "limit": 10,
            "ratio": 1.0,
            "flag": False,
        }
        assert c.post("/items", json={"name": "n", "price": 1}).status_code == 201
        assert c.get("/sleep-async", params={"seconds": "0.01"}).json() == {"slept": 0.01, "tag": ""}
        assert c.get("/models").status_code == 200
    proc.send_signal(signal.SIGTERM)
    assert_clean_exit(proc, proc.wait_exit(timeout=5))
