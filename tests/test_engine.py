"""The engine under load and by switch: eager tasks on loop shards, context isolation, shard
policies, per-shard lifespan state, the Rust gate, client disconnects, every switch (run()
arguments, TestClient arguments, TURBOAPI_* variables) and bytes-first responses.

The app is tests/apps/engine.py, imported for the TestClient and run in a subprocess (real socket)
where concurrency, timing or process exit matter.  Every wait is bounded.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import random
import re
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from serverutil import (
    APPS_DIR,
    TESTS_DIR,
    RawResponse,
    ResponseReader,
    ServerProcess,
    raw_request,
    request_bytes,
    served,
    spawner,
)
from turboapi import _json
from turboapi.testclient import TestClient

pytestmark = [pytest.mark.timeout(30)]

_spec = importlib.util.spec_from_file_location("engine_app", APPS_DIR / "engine.py")
assert _spec is not None and _spec.loader is not None
engine_app = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(engine_app)
app = engine_app.app
BIG: bytes = engine_app.BIG

SHARD_RE = re.compile(r"^turboapi-shard-\d+$")
STARTUP_RE = re.compile(r"MARKER lifespan-startup thread=(turboapi-shard-\d+) loop=(\d+)")
SHUTDOWN_RE = re.compile(r"MARKER lifespan-shutdown thread=(turboapi-shard-\d+) loop=(\d+)")


# -- helpers ---------------------------------------------------------------------------------
@pytest.fixture
def spawn() -> Iterator[Callable[..., ServerProcess]]:
    """Starts engine.py servers owned by one test; all killed afterwards."""
    with spawner("engine") as spawn:
        yield spawn


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    """engine.py with default settings, shared by the module (no test leaves a handler running)."""
    with served("engine") as proc:
        yield proc


class EnvServer(ServerProcess):
    """engine.py in a subprocess whose environment carries the given TURBOAPI_* variables."""

    def __init__(self, env_vars: dict[str, str], *args: str) -> None:
        self.cmd = [sys.executable, str(APPS_DIR / "engine.py"), "--port", "0", *args]
        env = {k: v for k, v in os.environ.items() if not k.startswith("TURBOAPI_")}
        env.update(env_vars, PYTHONUNBUFFERED="1")
        self._lines: list[str] = []
        self._cond = threading.Condition()
        self._eof = False
        self.proc = subprocess.Popen(
            self.cmd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            cwd=str(TESTS_DIR.parent),
            env=env,
        )
        self._reader = threading.Thread(target=self._read, name="server-output", daemon=True)
        self._reader.start()
        self.port = None


def run_app_expecting_failure(args: list[str], env_vars: dict[str, str] | None = None) -> tuple[int, str]:
    """Runs engine.py to its exit (it must not start); returns (exit code, stderr)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TURBOAPI_")}
    env.update(env_vars or {})
    done = subprocess.run(
        [sys.executable, str(APPS_DIR / "engine.py"), "--port", "0", *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        cwd=str(TESTS_DIR.parent),
        env=env,
        # A hang guard: a cold start compiles every module (no .pyc where PYTHONDONTWRITEBYTECODE
        # is set), which on free-threaded 3.13 under CI's three suites took more than 20 s.
        timeout=60,
    )
    return done.returncode, done.stderr.decode("utf-8", "replace")


def jget(port: int, path: str, timeout: float = 5.0) -> Any:
    response = raw_request(port, "GET", path, timeout=timeout)
    assert response.status == 200, (path, response.status, response.body[:500])
    return json.loads(response.body)


def reset_stats(port: int) -> None:
    assert raw_request(port, "POST", "/stats/reset").status == 200


def stats(port: int) -> dict[str, int]:
    return jget(port, "/stats")


class Timed:
    def __init__(self, response: RawResponse | None, elapsed: float, error: BaseException | None = None) -> None:
        self.response = response
        self.elapsed = elapsed
        self.error = error

    @property
    def status(self) -> int | None:
        return self.response.status if self.response is not None else None

    def json(self) -> Any:
        assert self.response is not None, self.error
        return json.loads(self.response.body)

    def __repr__(self) -> str:
        body = self.response.body[:120] if self.response is not None else None
        return f"<{self.status} after {self.elapsed:.3f}s {body!r} error={self.error!r}>"


def fire(port: int, paths: list[str], timeout: float = 10.0) -> list[Timed]:
    """All requests at once, each on its own connection; elapsed is measured from a common start."""
    start: list[float] = []
    barrier = threading.Barrier(len(paths), action=lambda: start.append(time.monotonic()))

    def one(path: str) -> Timed:
        barrier.wait(5)
        try:
            response = raw_request(port, "GET", path, timeout=timeout)
        except Exception as exc:  # reported with the others
            return Timed(None, time.monotonic() - start[0], exc)
        return Timed(response, time.monotonic() - start[0])

    with ThreadPoolExecutor(len(paths)) as pool:
        return list(pool.map(one, paths))


def assert_all_ok(results: list[Timed]) -> None:
    bad = [r for r in results if r.status != 200]
    assert not bad, f"{len(bad)} of {len(results)} requests failed: {bad[:5]}"


def startups(proc: ServerProcess) -> list[tuple[str, str]]:
    return [m.groups() for m in STARTUP_RE.finditer(proc.output)]


def shutdowns(proc: ServerProcess) -> list[tuple[str, str]]:
    return [m.groups() for m in SHUTDOWN_RE.finditer(proc.output)]


def assert_serving(proc: ServerProcess) -> None:
    assert proc.proc.poll() is None, f"server exited\n{proc.output}"
    response = raw_request(proc.port, "GET", "/ping")
    assert (response.status, response.body) == (200, b'{"ping":true}')
    response = raw_request(proc.port, "GET", "/eager")
    assert response.status == 200, response


# -- 1. eager completion and real waiting ------------------------------------------------------
@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


@pytest.mark.timeout(30)
def test_eager_handler_answers_inside_a_task(client: TestClient) -> None:
    r = client.get("/eager")
    assert r.status_code == 200
    body = r.json()
    assert body["value"] == "eager"
    assert body["has_task"] is True, "asyncio.current_task() is None in a handler that awaits nothing"
    assert body["same_task"] is True
    assert SHARD_RE.match(body["thread"]), body


@pytest.mark.timeout(30)
@pytest.mark.parametrize("inline", [True, False])
def test_a_handler_with_no_await_runs_inline_in_a_context_of_its_own(inline: bool) -> None:
    """inline_no_await: no Task of its own (the shard's stand-in is current), yet a context of its
    own and the usual error handling; off, a Task per request."""
    with TestClient(app, inline_no_await=inline) as c:
        bodies = [c.get(f"/ctx-inline/r{i}").json() for i in range(4)]
        assert [(b["entry"], b["after"]) for b in bodies] == [("unset", f"r{i}") for i in range(4)]
        names = {b["task"] for b in bodies}
        assert names == {"turboapi-inline-step"} if inline else len(names) == 4, names
        assert c.get("/raise-inline").json() == {"detail": "inline teapot"}
        assert c.get("/sleep", params={"seconds": 0.01}).json()["same_task"] is True


@pytest.mark.timeout(30)
def test_a_stopped_shard_leaves_no_stand_in_task_behind() -> None:
    """The stand-in Task holds its loop: a TestClient's stopped shards must not keep theirs."""
    from turboapi import _eager

    with TestClient(app, shards=2) as c:
        assert c.get("/eager").json()["has_task"] is True
        loops = [loop for _thread, loop in c._ensure_runtime()._shards]
        assert any(loop in _eager._stand_ins for loop in loops)
    assert not any(loop in _eager._stand_ins for loop in loops)


def test_only_code_with_no_suspension_point_counts_as_unable_to_wait() -> None:
    from turboapi._eager import _cannot_wait

    async def plain() -> int:
        return [x for x in range(3)][0]

    async def awaits() -> None:
        await asyncio.sleep(0)

    async def with_block() -> None:
        async with asyncio.timeout(1):
            pass

    async def iterates(source: Any) -> list[Any]:
        return [x async for x in source]

    assert _cannot_wait(plain.__code__)
    assert not any(_cannot_wait(f.__code__) for f in (awaits, with_block, iterates))


@pytest.mark.timeout(30)
def test_waiting_handler_keeps_its_task_across_await(client: TestClient) -> None:
    r = client.get("/sleep", params={"seconds": 0.05})
    assert r.status_code == 200
    body = r.json()
    assert body["value"] == "slept"
    assert body["has_task"] is True
    assert body["same_task"] is True, "asyncio.current_task() changed across an await"
    assert 0.045 <= body["elapsed"] < 1.0, body


@pytest.mark.timeout(30)
def test_asyncio_timeout_fires_inside_handler(client: TestClient) -> None:
    r = client.get("/timeout")
    assert r.status_code == 200
    body = r.json()
    assert body["timed_out"] is True
    assert 0.045 <= body["elapsed"] < 1.0, body


@pytest.mark.timeout(30)
def test_wait_for_returns_and_times_out(client: TestClient) -> None:
    r = client.get("/wait-for")
    assert r.status_code == 200
    body = r.json()
    assert body["value"] == "quick"
    assert body["timed_out"] is True
    assert 0.045 <= body["elapsed"] < 1.0, body


@pytest.mark.timeout(30)
def test_handler_cancels_a_subtask(client: TestClient) -> None:
    r = client.get("/cancel-subtask")
    assert r.status_code == 200
    assert r.json() == {"events": ["child-cancelled", "awaited-cancelled"], "sub_cancelled": True, "me_cancelling": 0}


@pytest.mark.timeout(30)
def test_gather_runs_sleeps_concurrently(client: TestClient) -> None:
    r = client.get("/gather")
    assert r.status_code == 200
    body = r.json()
    assert body["values"] == [0, 1, 4, 9, 16]
    assert 0.045 <= body["elapsed"] < 0.2, f"5 × 50 ms sleeps gathered took {body['elapsed']:.3f}s"


@pytest.mark.timeout(30)
def test_anyio_inside_handlers(client: TestClient) -> None:
    r = client.get("/anyio")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["fail_after"] is True
    assert 0.055 <= body["fail_elapsed"] < 1.0, body
    assert body["task_group"] == [1, 2, 3]
    assert body["move_on"] is True


@pytest.mark.timeout(30)
@pytest.mark.parametrize("path", ["/sleep", "/timeout", "/gather", "/anyio", "/eager"])
def test_async_primitives_over_a_real_socket(server: ServerProcess, path: str) -> None:
    response = raw_request(server.port, "GET", path)
    assert response.status == 200, response
    body = json.loads(response.body)
    assert all(v is not False for v in body.values()), body


# -- 2. context isolation ----------------------------------------------------------------------
@pytest.mark.timeout(30)
def test_contextvar_never_leaks_between_concurrent_requests(spawn: Callable[..., ServerProcess]) -> None:
    proc = spawn(shards=1)
    rng = random.Random(7)
    paths = [f"/ctx/r{i}?pause={rng.choice([0, 0, 0.001, 0.01, 0.03])}" for i in range(64)]
    for _round in range(2):
        results = fire(proc.port, paths)
        assert_all_ok(results)
        for i, result in enumerate(results):
            assert result.json() == {"rid": f"r{i}", "entry": "unset", "after": f"r{i}", "middle": f"r{i}"}
    assert_serving(proc)


@pytest.mark.timeout(30)
def test_contextvar_isolated_in_testclient(client: TestClient) -> None:
    with ThreadPoolExecutor(16) as pool:
        bodies = list(pool.map(lambda i: client.get(f"/ctx/t{i}", params={"pause": 0.01}).json(), range(48)))
    assert bodies == [{"rid": f"t{i}", "entry": "unset", "after": f"t{i}", "middle": f"t{i}"} for i in range(48)]


# -- 3. shard routing --------------------------------------------------------------------------
@pytest.mark.timeout(30)
def test_round_robin_spreads_over_all_shards(spawn: Callable[..., ServerProcess]) -> None:
    proc = spawn(shards=4, shard_policy="round_robin")
    results = fire(proc.port, ["/where?pause=0.05"] * 40)
    assert_all_ok(results)
    counts = Counter(r.json()["thread"] for r in results)
    assert all(SHARD_RE.match(t) for t in counts), counts
    assert counts == {f"turboapi-shard-{i}": 10 for i in range(4)}, counts


@pytest.mark.timeout(30)
def test_least_loaded_spreads_over_shards(spawn: Callable[..., ServerProcess]) -> None:
    proc = spawn(shards=4, shard_policy="least_loaded")
    results = fire(proc.port, ["/where?pause=0.1"] * 40)
    assert_all_ok(results)
    counts = Counter(r.json()["thread"] for r in results)
    assert set(counts) == {f"turboapi-shard-{i}" for i in range(4)}, counts
    assert max(counts.values()) <= 20, f"least_loaded piled requests on one shard: {counts}"


@pytest.mark.timeout(30)
def test_route_hash_keeps_a_route_on_one_shard(spawn: Callable[..., ServerProcess]) -> None:
    proc = spawn(shards=4, shard_policy="route_hash")
    for path in ("/where?pause=0.02", "/where-other?pause=0.02", "/loop"):
        results = fire(proc.port, [path] * 20)
        assert_all_ok(results)
        threads = {r.json()["thread"] for r in results}
        assert len(threads) == 1 and SHARD_RE.match(threads.pop()), (path, threads)


@pytest.mark.timeout(30)
def test_def_route_runs_on_a_sync_worker(server: ServerProcess) -> None:
    threads = {jget(server.port, "/where-sync")["thread"] for _ in range(5)}
    assert threads and all(re.fullmatch(r"turboapi-sync-\d+", t) for t in threads), threads


# -- 4. loop-bound state -----------------------------------------------------------------------
@pytest.mark.timeout(30)
def test_lifespan_state_is_per_shard_and_loop_bound(spawn: Callable[..., ServerProcess]) -> None:
    proc = spawn(shards=4)
    started = startups(proc)
    assert len(started) == 4, proc.output
    assert {t for t, _ in started} == {f"turboapi-shard-{i}" for i in range(4)}, started
    assert len({loop for _, loop in started}) == 4, f"shards share an event loop: {started}"

    with ThreadPoolExecutor(32) as pool:
        results = list(pool.map(lambda n: raw_request(proc.port, "GET", f"/state?n={n}", timeout=10), range(400)))
    bad = [(n, r.status, r.body[:200]) for n, r in enumerate(results) if r.status != 200]
    assert not bad, f"{len(bad)} failed, e.g. {bad[:3]}\n{proc.output[-3000:]}"
    bodies = [json.loads(r.body) for r in results]
    assert all(b["same_loop"] for b in bodies), [b for b in bodies if not b["same_loop"]][:3]
    assert [b["got"] for b in bodies] == list(range(400)), "a queue item crossed requests"
    assert all(b["lifespan_thread"] == b["thread"] for b in bodies)
    assert len({b["thread"] for b in bodies}) == 4

    proc.stop(timeout=10)
    output = proc.output
    assert "attached to a different loop" not in output, output
    assert "Traceback" not in output, output
    stopped = shutdowns(proc)
    assert sorted(stopped) == sorted(started), f"startup {started}, shutdown {stopped}\n{output}"


@pytest.mark.timeout(30)
def test_testclient_runs_lifespan_per_shard() -> None:
    with TestClient(app, shards=3) as c:
        bodies = [c.get("/state", params={"n": n}).json() for n in range(12)]
    assert all(b["same_loop"] and b["lifespan_thread"] == b["thread"] for b in bodies), bodies
    assert len({b["thread"] for b in bodies}) == 3, bodies


# -- 5. the gate -------------------------------------------------------------------------------
@pytest.mark.timeout(30)
def test_gate_bounds_running_and_waiting_requests(spawn: Callable[..., ServerProcess]) -> None:
    proc = spawn(shards=1, max_concurrent=2, gate_queue=2, gate_timeout=0.5)
    reset_stats(proc.port)
    results = fire(proc.port, ["/slow?seconds=1"] * 10)
    ok = [r for r in results if r.status == 200]
    refused = [r for r in results if r.status == 503]
    assert len(ok) == 2 and len(refused) == 8, results
    assert all(r.elapsed >= 0.95 for r in ok), results
    for r in refused:
        assert r.response is not None
        assert json.loads(r.response.body) == {"detail": "Service Unavailable"}, r
        retry_after = r.response.header("retry-after")
        assert retry_after is not None and retry_after.isdigit() and int(retry_after) >= 1, r.response.headers
    quick = [r for r in refused if r.elapsed < 0.4]
    timed_out = [r for r in refused if 0.45 <= r.elapsed < 0.95]
    assert len(quick) == 6 and len(timed_out) == 2, f"expected 6 refused at once, 2 after ~0.5 s: {refused}"
    s = stats(proc.port)
    assert s["max_in_flight"] == 2 and s["started"] == 2 and s["in_flight"] == 0, s
    # The gate recovers.
    assert jget(proc.port, "/slow?seconds=0")["slept"] == 0
    assert_serving(proc)


@pytest.mark.timeout(30)
def test_gate_below_the_bound_loses_nothing(spawn: Callable[..., ServerProcess]) -> None:
    proc = spawn(shards=1, max_concurrent=4, gate_queue=100, gate_timeout=10)
    reset_stats(proc.port)
    started = time.monotonic()
    results = fire(proc.port, [f"/slow?seconds=0.2&tag=b{i}" for i in range(20)])
    total = time.monotonic() - started
    assert_all_ok(results)
    assert sorted(r.json()["tag"] for r in results) == sorted(f"b{i}" for i in range(20))
    s = stats(proc.port)
    assert s["max_in_flight"] == 4 and s["started"] == 20 and s["in_flight"] == 0, s
    assert 0.95 <= total < 3.0, f"20 × 0.2 s through 4 permits took {total:.2f}s (5 waves expected)"


@pytest.mark.timeout(30)
def test_gate_off_runs_everything_at_once(spawn: Callable[..., ServerProcess]) -> None:
    proc = spawn(shards=1, max_concurrent="none")
    reset_stats(proc.port)
    started = time.monotonic()
    results = fire(proc.port, ["/slow?seconds=0.5"] * 50)
    total = time.monotonic() - started
    assert_all_ok(results)
    s = stats(proc.port)
    assert s["max_in_flight"] == 50 and s["in_flight"] == 0, s
    assert total < 1.6, f"50 concurrent 0.5 s sleeps without a gate took {total:.2f}s"


# -- 6. client disconnect ----------------------------------------------------------------------
# With half_close_timeout=0 a closed socket is the client gone at once; with the default, once the
# answer has been silent that long (tests/test_half_close.py).
@pytest.mark.timeout(30)
@pytest.mark.parametrize("event_loop", ["uvloop", "asyncio"])
def test_disconnect_cancels_a_waiting_handler(spawn: Callable[..., ServerProcess], event_loop: str) -> None:
    proc = spawn(shards=1, event_loop=event_loop, half_close_timeout=0)
    sock = proc.connect()
    sock.sendall(request_bytes("GET", "/hang?tag=gone&seconds=20"))
    proc.wait_for_line(r"MARKER hang-start gone$", 5)
    mark = proc.mark()
    sock.close()
    try:
        proc.wait_for_line(r"MARKER hang-cancelled gone$", 2.0, start=mark)
    finally:
        assert_serving(proc)
    deadline = time.monotonic() + 2
    while stats(proc.port)["in_flight"] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert stats(proc.port)["in_flight"] == 0
    assert_serving(proc)


@pytest.mark.timeout(30)
def test_disconnect_while_waiting_in_the_gate(spawn: Callable[..., ServerProcess]) -> None:
    proc = spawn(shards=1, max_concurrent=1, gate_queue=1, gate_timeout=10, half_close_timeout=0)
    holder = proc.connect(timeout=10)
    holder.sendall(request_bytes("GET", "/slow?seconds=1.2&tag=holder"))
    proc.wait_for_line(r"MARKER slow-start holder$", 5)
    waiter = proc.connect()
    waiter.sendall(request_bytes("GET", "/hang?tag=waiter&seconds=20"))
    time.sleep(0.3)  # the waiter sits in the gate's queue (size 1)
    waiter.close()
    time.sleep(0.2)
    # Its place in the queue was given back: a new request may wait there instead of a 503.
    third = ThreadPoolExecutor(1)
    try:
        pending = third.submit(raw_request, proc.port, "GET", "/slow?seconds=0&tag=third", None, b"", 10.0)
        held = ResponseReader(holder).read_response()
        assert held.status == 200, held
        response = pending.result(10)
    finally:
        third.shutdown(wait=False)
        holder.close()
    assert response.status == 200, f"the disconnected waiter still holds its place in the gate queue: {response}"
    time.sleep(0.5)
    assert "hang-start waiter" not in proc.output, "a handler ran for a client that left while in the gate"
    assert_serving(proc)


@pytest.mark.timeout(30)
def test_gate_bound_holds_after_a_disconnect(spawn: Callable[..., ServerProcess]) -> None:
    """A cancelled handler is in flight until its coroutine ends (here it cleans up for 0.3 s):
    with max_concurrent=1 the next request must not start before that."""
    proc = spawn(shards=1, max_concurrent=1, gate_queue=10, gate_timeout=10, half_close_timeout=0)
    reset_stats(proc.port)
    sock = proc.connect()
    sock.sendall(request_bytes("GET", "/hang?tag=first&seconds=20&cleanup=0.3"))
    proc.wait_for_line(r"MARKER hang-start first$", 5)
    sock.close()
    response = raw_request(proc.port, "GET", "/hang?tag=second&seconds=0.3", timeout=10)
    assert response.status == 200, response
    proc.wait_for_line(r"MARKER hang-end first$", 2)
    s = stats(proc.port)
    assert s["cancelled"] == 1 and s["in_flight"] == 0, s
    assert s["max_in_flight"] == 1, (
        f"max_concurrent=1 but {s['max_in_flight']} handler coroutines ran at once after a client left: {s}\n"
        + proc.output
    )


# -- 7. switches -------------------------------------------------------------------------------
@pytest.mark.timeout(30)
@pytest.mark.parametrize(("event_loop", "module"), [("uvloop", "uvloop"), ("asyncio", "asyncio.unix_events")])
def test_event_loop_switch_testclient(event_loop: str, module: str) -> None:
    with TestClient(app, event_loop=event_loop) as c:
        assert c.get("/loop").json()["module"] == module
        assert c.get("/sleep").json()["same_task"] is True
        assert c.get("/anyio").json()["fail_after"] is True


@pytest.mark.timeout(30)
def test_json_switch_testclient() -> None:
    with TestClient(app, json="stdlib", raise_server_exceptions=False) as c:
        assert c.get("/nan").status_code == 500
        assert c.get("/eager").json()["value"] == "eager"
    if _json.orjson is None:  # free-threaded 3.13: no orjson, and asking for it says so
        with pytest.raises(ValueError, match=r"json='orjson' needs the orjson package.*json='stdlib'"):
            with TestClient(app, json="orjson"):
                pass
        with TestClient(app, raise_server_exceptions=False) as c:  # the default is the stdlib
            assert c.get("/nan").status_code == 500
        return
    with TestClient(app, json="orjson") as c:
        r = c.get("/nan")
        assert (r.status_code, r.content) == (200, b'{"x":null}')
    with TestClient(app) as c:  # the default is orjson again
        assert c.get("/nan").status_code == 200


@pytest.mark.timeout(30)
@pytest.mark.parametrize(("max_concurrent", "expected_max"), [(2, 2), (512, 6), (None, 6)])
def test_max_concurrent_switch_testclient(max_concurrent: int | None, expected_max: int) -> None:
    with TestClient(app, max_concurrent=max_concurrent) as c:
        c.post("/stats/reset")
        with ThreadPoolExecutor(6) as pool:
            codes = list(pool.map(lambda _: c.get("/slow", params={"seconds": 0.2}).status_code, range(6)))
        assert codes == [200] * 6
        assert c.get("/stats").json()["max_in_flight"] == expected_max


@pytest.mark.timeout(30)
@pytest.mark.parametrize("batch_size", [1, 128])
def test_batch_size_switch_testclient(batch_size: int) -> None:
    with TestClient(app, batch_size=batch_size) as c:
        with ThreadPoolExecutor(8) as pool:
            bodies = list(pool.map(lambda i: c.get(f"/ctx/b{i}").json(), range(32)))
        assert [b["after"] for b in bodies] == [f"b{i}" for i in range(32)]
        assert c.get("/eager").json()["value"] == "eager"


@pytest.mark.timeout(30)
@pytest.mark.parametrize(
    ("shards", "policy", "expected"),
    [(1, "round_robin", 1), (4, "round_robin", 4), (4, "least_loaded", 4), (4, "route_hash", 1)],
)
def test_shards_and_policy_switch_testclient(shards: int, policy: str, expected: int) -> None:
    with TestClient(app, shards=shards, shard_policy=policy) as c:
        threads = {c.get("/where").json()["thread"] for _ in range(12)}
        assert len(threads) == expected, threads
        assert all(SHARD_RE.match(t) for t in threads), threads
        assert {c.get("/state").json()["lifespan_thread"] for _ in range(12)} <= {
            f"turboapi-shard-{i}" for i in range(shards)
        }


DEFAULTS = {
    "shards": "1",
    "event_loop": "uvloop",
    "json": _json.DEFAULT,
    "max_concurrent": "512",
    "batch_size": "128",
    "shard_policy": "round_robin",
}
ALTERNATIVES = {
    "shards": "4",
    "event_loop": "asyncio",
    "json": "stdlib",
    "max_concurrent": "none",
    "batch_size": "1",
    "shard_policy": "least_loaded",
}
HASHED_GATED = {
    "shards": "2",
    "shard_policy": "route_hash",
    "max_concurrent": "2",
    "gate_queue": "1",
    "gate_timeout": "0.3",
}


def check_switches(proc: ServerProcess, config: dict[str, str]) -> None:
    port = proc.port
    assert port is not None
    shards = int(config["shards"])
    assert len(startups(proc)) == shards, proc.output
    if "event_loop" in config:
        expected_module = "uvloop" if config["event_loop"] == "uvloop" else "asyncio.unix_events"
        assert jget(port, "/loop")["module"] == expected_module
    if "json" in config:
        response = raw_request(port, "GET", "/nan")
        expected = (200, b'{"x":null}') if config["json"] == "orjson" else (500, response.body)
        assert (response.status, response.body) == expected, response
    if config.get("max_concurrent") == "2":
        # the gate from the switches: 2 run, 1 waits and times out after 0.3 s, 2 refused at once
        results = fire(port, ["/slow?seconds=0.8"] * 5)
        assert sorted(r.status or 0 for r in results) == [200, 200, 503, 503, 503], results
        assert sorted(round(r.elapsed, 1) for r in results if r.status == 503)[-1] >= 0.3, results
    else:
        reset_stats(port)
        results = fire(port, ["/slow?seconds=0.3"] * 24)
        assert_all_ok(results)
        assert stats(port)["max_in_flight"] == 24
    # with the gate at 2 per shard, these go one at a time
    gated = config.get("max_concurrent") == "2"
    paths = ["/where?pause=0.05"] * 16
    results = [Timed(raw_request(port, "GET", p), 0.0) for p in paths] if gated else fire(port, paths)
    assert_all_ok(results)
    threads = Counter(r.json()["thread"] for r in results)
    if config["shard_policy"] == "route_hash":
        assert len(threads) == 1, threads
    else:
        assert len(threads) == shards, threads
    paths = [f"/ctx/s{i}?pause=0.01" for i in range(16)]
    results = [Timed(raw_request(port, "GET", p), 0.0) for p in paths] if gated else fire(port, paths)
    assert [r.json()["after"] for r in results] == [f"s{i}" for i in range(16)]


@pytest.mark.timeout(30)
@pytest.mark.parametrize("config", [DEFAULTS, ALTERNATIVES, HASHED_GATED], ids=["defaults", "alternatives", "hashed"])
def test_switches_from_app_run(spawn: Callable[..., ServerProcess], config: dict[str, str]) -> None:
    proc = spawn(**config)
    check_switches(proc, config)


@pytest.mark.timeout(30)
@pytest.mark.parametrize("config", [DEFAULTS, ALTERNATIVES, HASHED_GATED], ids=["defaults", "alternatives", "hashed"])
def test_switches_from_environment(config: dict[str, str]) -> None:
    proc = EnvServer({f"TURBOAPI_{k.upper()}": v for k, v in config.items()})
    try:
        proc.wait_started()
        check_switches(proc, config)
    finally:
        proc.kill()


@pytest.mark.timeout(30)
def test_run_arguments_override_environment() -> None:
    proc = EnvServer({"TURBOAPI_SHARDS": "3", "TURBOAPI_EVENT_LOOP": "asyncio"}, "--event-loop", "uvloop")
    try:
        proc.wait_started()
        assert len(startups(proc)) == 3, proc.output
        assert jget(proc.port, "/loop")["module"] == "uvloop"
    finally:
        proc.kill()


BAD_SETTINGS = [
    ("shards", 0),
    ("event_loop", "tokio"),
    ("json", "yaml"),
    ("max_concurrent", 0),
    ("shard_policy", "random"),
    ("batch_size", 0),
    ("gc_freeze", 1),
    ("inline_no_await", "sometimes"),
    ("batch_scheduling", "sometimes"),
    ("http2", "yes"),
    ("http2_max_concurrent_streams", 0),
    ("http2_stream_window", 1000),
    ("http2_connection_window", 2**31),
    ("http2_adaptive_window", "yes"),
    ("ssl_cert_reqs", 5),
    ("ssl_certfile", 42),
]


@pytest.mark.timeout(30)
@pytest.mark.parametrize(("name", "value"), BAD_SETTINGS)
def test_bad_setting_testclient(name: str, value: Any) -> None:
    with pytest.raises(ValueError, match=name):
        TestClient(app, **{name: value})


@pytest.mark.timeout(90)
@pytest.mark.parametrize(("name", "value"), BAD_SETTINGS)
def test_bad_setting_app_run(name: str, value: Any) -> None:
    code, stderr = run_app_expecting_failure([f"--{name.replace('_', '-')}", str(value)])
    assert code != 0, stderr
    assert "ValueError" in stderr and name in stderr, stderr
    assert "running on" not in stderr


@pytest.mark.timeout(90)
@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("TURBOAPI_MAX_CONCURRENT", "abc"),
        ("TURBOAPI_MAX_CONCURRENT", "0"),
        ("TURBOAPI_SHARDS", "0"),
        ("TURBOAPI_EVENT_LOOP", "tokio"),
        ("TURBOAPI_JSON", "yaml"),
        ("TURBOAPI_SHARD_POLICY", "random"),
        ("TURBOAPI_BATCH_SIZE", "many"),
        ("TURBOAPI_GATE_TIMEOUT", "soon"),
        ("TURBOAPI_NATIVE_MIDDLEWARE", "maybe"),
        ("TURBOAPI_GC_FREEZE", "maybe"),
        ("TURBOAPI_INLINE_NO_AWAIT", "sometimes"),
        ("TURBOAPI_HTTP2", "maybe"),
        ("TURBOAPI_HTTP2_MAX_CONCURRENT_STREAMS", "lots"),
        ("TURBOAPI_SSL_CERT_REQS", "required"),
    ],
)
def test_bad_environment_variable(variable: str, value: str) -> None:
    code, stderr = run_app_expecting_failure([], {variable: value})
    assert code != 0, stderr
    setting = variable.removeprefix("TURBOAPI_").lower()
    assert "ValueError" in stderr and (variable in stderr or setting in stderr), stderr
    assert "running on" not in stderr


# -- 8. bytes first ----------------------------------------------------------------------------
BYTES_CASES = [
    ("bytes", "application/octet-stream", BIG),
    ("bytearray", "application/octet-stream", BIG),
    ("memoryview", "application/octet-stream", BIG),
    ("response", "application/x-engine-test", BIG),
    ("response-plain", None, BIG),
    ("response-memoryview", "application/x-engine-test", BIG),
    ("empty", "application/octet-stream", b""),
]


@pytest.mark.timeout(30)
@pytest.mark.parametrize("prefix", ["/bin", "/abin"], ids=["def", "async"])
@pytest.mark.parametrize(("kind", "content_type", "expected"), BYTES_CASES, ids=[c[0] for c in BYTES_CASES])
def test_bytes_sent_raw_over_socket(
    server: ServerProcess, prefix: str, kind: str, content_type: str | None, expected: bytes
) -> None:
    response = raw_request(server.port, "GET", f"{prefix}/{kind}", timeout=10)
    assert response.status == 200, response
    assert response.header("content-type") == content_type, response.headers
    assert response.header("content-length") == str(len(expected)), response.headers
    assert response.header("transfer-encoding") is None
    assert len(response.body) == len(expected)
    assert response.body == expected


@pytest.mark.timeout(30)
def test_big_bytes_on_keep_alive_connection(server: ServerProcess) -> None:
    with server.connect(timeout=10) as sock:
        reader = ResponseReader(sock)
        for kind in ("bytes", "memoryview", "empty", "response"):
            sock.sendall(request_bytes("GET", f"/abin/{kind}"))
            response = reader.read_response()
            assert response.status == 200
            assert response.body == (b"" if kind == "empty" else BIG)
