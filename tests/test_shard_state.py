"""``app.state`` on loop shards: what a lifespan puts there belongs to the shard whose loop ran it.

FastAPI's usual idiom (``app.state.lock = asyncio.Lock()``, an ``httpx.AsyncClient``, a database pool,
set in the lifespan) makes loop-bound objects. With several loop shards each runs the lifespan on its
own loop, and each handler must see its own shard's objects: before, the last shard's won, and
requests on the other shards failed with "... is bound to a different event loop" or hung. These
tests send 400 concurrent requests per object to the real server on 4 shards (tests/apps/shard_state.py).
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from postgres_server import available, temporary_postgres
from serverutil import HOST, ServerProcess

SHARDS = 4
CONCURRENT = 400


class _Echo(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        n = int(parse_qs(urlparse(self.path).query)["n"][0])
        body = json.dumps({"n": n}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


class _Upstream(ThreadingHTTPServer):
    request_queue_size = 1024  # the 4 shards' clients connect at once (the default backlog is 5)
    daemon_threads = True


@pytest.fixture(scope="module")
def upstream() -> Iterator[str]:
    server = _Upstream((HOST, 0), _Echo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://{HOST}:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def database() -> Iterator[str | None]:
    """A PostgreSQL DSN, or None (the pool test skips, saying why) where none can run."""
    if available() is not None:
        yield None
        return
    with temporary_postgres() as pg:
        yield pg.dsn


def _serve(monkeypatch: pytest.MonkeyPatch, upstream: str, database: str | None, *args: str) -> ServerProcess:
    monkeypatch.setenv("UPSTREAM_URL", upstream)
    if database:
        monkeypatch.setenv("DATABASE_URL", database)
    else:
        monkeypatch.delenv("DATABASE_URL", raising=False)
    return ServerProcess("shard_state", *args, settings={"shards": SHARDS, "shard_policy": "round_robin"})


@pytest.fixture(scope="module")
def server(upstream: str, database: str | None) -> Iterator[ServerProcess]:
    with pytest.MonkeyPatch.context() as mp:
        proc = _serve(mp, upstream, database)
        try:
            proc.wait_started()
            yield proc
        finally:
            proc.stop()


async def _concurrently(port: int, paths: list[str]) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=len(paths), max_keepalive_connections=len(paths))
    async with httpx.AsyncClient(base_url=f"http://{HOST}:{port}", limits=limits, timeout=30) as client:
        return await asyncio.gather(*(client.get(path) for path in paths))


def _answers(server: ServerProcess, paths: list[str]) -> list[dict[str, Any]]:
    responses = asyncio.run(_concurrently(server.port, paths))
    failed = [(r.request.url.path, r.status_code, r.text[:200]) for r in responses if r.status_code != 200]
    assert not failed, f"{len(failed)} of {len(paths)} failed, e.g. {failed[:3]}"
    answers = [r.json() for r in responses]
    assert all(a["own_loop"] for a in answers), "a handler saw another shard's app.state"
    assert all(a["config"] == "set at import" for a in answers), "a value set before start was lost"
    return answers


def test_a_lock_from_the_lifespan_serves_every_shard(server: ServerProcess) -> None:
    _answers(server, ["/lock"] * CONCURRENT)


def test_a_queue_from_the_lifespan_serves_every_shard(server: ServerProcess) -> None:
    answers = _answers(server, ["/queue"] * CONCURRENT)
    assert {a["token"] for a in answers} <= {0, 1, 2, 3}


def test_an_async_http_client_from_the_lifespan_serves_every_shard(server: ServerProcess) -> None:
    answers = _answers(server, [f"/client?n={n}" for n in range(CONCURRENT)])
    assert [a["upstream"]["n"] for a in answers] == list(range(CONCURRENT))


def test_a_database_pool_from_the_lifespan_serves_every_shard(server: ServerProcess, database: str | None) -> None:
    if database is None:
        pytest.skip(available() or "no database")
    answers = _answers(server, [f"/pool?n={n}" for n in range(CONCURRENT)])
    assert [a["doubled"] for a in answers] == [2 * n for n in range(CONCURRENT)]


def test_a_sync_handler_sees_the_state_set_at_import_and_in_the_lifespan(server: ServerProcess) -> None:
    assert httpx.get(f"http://{HOST}:{server.port}/served", timeout=10).json() == {
        "config": "set at import",
        "has_lock": True,
    }


def test_a_lock_shared_by_every_shard_is_a_clear_error_never_a_hang(
    monkeypatch: pytest.MonkeyPatch, upstream: str
) -> None:
    """A lock made at import time belongs to the first loop that waits on it: the other shards get
    asyncio's RuntimeError (a 500, logged with what to change), and the owner's waiters, whose
    wake-ups come from the wrong thread, are still answered (the shard loops wake themselves)."""
    proc = _serve(monkeypatch, upstream, None, "--mode", "module-lock")
    try:
        proc.wait_started()
        paths = ["/module-lock"] * CONCURRENT
        responses = asyncio.run(_concurrently(proc.port, paths))
        statuses = {r.status_code for r in responses}
        assert statuses <= {200, 500} and 500 in statuses, statuses
        proc.wait_for_line(re.compile(r"is bound to a different event loop"), timeout=5)
        proc.wait_for_line(re.compile(r"turboapi: an object bound to one loop shard's event loop"), timeout=5)
    finally:
        proc.stop()
