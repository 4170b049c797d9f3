"""Handlers on several threads at once: loop shards and the sync pool (issue 18).

On free-threaded CPython (``make python-ft``) the GIL stays off while serving, so the shards and the
pool threads run Python in parallel and the core's hand-off, its queues and the Python layer's
caches are used from several threads truly at once. Every build runs the hammering tests (a GIL
build interleaves the same threads); the GIL checks run on a free-threaded build only.
"""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from pydantic import BaseModel

from serverutil import ServerProcess, served
from turboapi import Depends, TurboAPI
from turboapi.testclient import TestClient

FREE_THREADED = bool(sysconfig.get_config_var("Py_GIL_DISABLED"))
free_threaded_only = pytest.mark.skipif(not FREE_THREADED, reason="a free-threaded CPython build (make python-ft)")

SHARDS = 4
CLIENTS = 16
PER_CLIENT = 150


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    with served("threads", settings={"shards": SHARDS, "sync_workers": 8}) as proc:
        yield proc


@free_threaded_only
def test_importing_turboapi_and_its_dependencies_keeps_the_gil_off() -> None:
    # A module that does not declare itself free-threading safe turns the GIL back on at import.
    code = "import sys, turboapi, turboapi._core, uvloop, pydantic_core, starlette; print(sys._is_gil_enabled())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "False", out.stderr


@free_threaded_only
def test_the_gil_stays_off_while_serving(server: ServerProcess) -> None:
    with httpx.Client(base_url=server.base_url, timeout=10) as client:
        threads = set()
        for path in ["/gil", "/gil-sync"] * 8:
            body = client.get(path).json()
            assert body["gil"] is False, body
            threads.add(body["thread"])
    assert any(name.startswith("turboapi-shard-") for name in threads), threads
    assert any(name.startswith("turboapi-sync-") for name in threads), threads


def _hammer(base_url: str, client_index: int) -> list[str]:
    """PER_CLIENT requests, each with its own inputs; the mismatches found (none expected)."""
    wrong = []
    with httpx.Client(base_url=base_url, timeout=30) as client:
        for i in range(PER_CLIENT):
            n = client_index * 1000 + i
            kind = i % 3
            if kind == 0:
                values = list(range(n % 17))
                response = client.post(
                    f"/items/{n}?factor={n % 5 + 1}",
                    json={"name": f"item-{n}", "values": values},
                    headers={"x-token": f"t{n}"},
                )
                factor = n % 5 + 1
                expected = {
                    "item_id": n,
                    "name": f"item-{n}",
                    "total": sum(values) * factor * factor,
                    "scale": factor * factor,
                    "token": f"t{n}",
                }
            elif kind == 1:
                response = client.get(f"/sync/{n}")
                expected = {"n": n, "square": n * n, "path": f"/sync/{n}"}
            else:
                response = client.get(f"/spin/{n % 500}")
                expected = {"n": n % 500, "total": sum(j * j % 7 for j in range(n % 500))}
            if response.status_code != 200 or response.json() != expected:
                wrong.append(f"{response.request.url}: {response.status_code} {response.text[:200]}")
    return wrong


def test_every_request_on_every_thread_gets_its_own_answer(server: ServerProcess) -> None:
    with ThreadPoolExecutor(CLIENTS) as pool:
        results = list(pool.map(lambda index: _hammer(server.base_url, index), range(CLIENTS)))
    wrong = [line for result in results for line in result]
    assert not wrong, f"{len(wrong)} wrong answers, e.g. {wrong[:3]}"
    served_by = httpx.get(f"{server.base_url}/served", timeout=10).json()
    assert sum(served_by.values()) == CLIENTS * PER_CLIENT
    # Round-robin spreads the async requests over every shard; the sync ones ran on pool threads.
    shards = {name for name in served_by if name.startswith("turboapi-shard-")}
    assert shards == {f"turboapi-shard-{i}" for i in range(SHARDS)}, served_by
    assert any(name.startswith("turboapi-sync-") for name in served_by), served_by
    assert server.proc.poll() is None


class Body(BaseModel):
    x: int


def dependency(q: int = 0) -> int:
    return q * 2


def test_app_building_and_the_testclient_from_several_threads_at_once() -> None:
    """The Python layer's registries and caches (route planning, dependency analysis, OpenAPI, the
    TestClient's runtimes), used by threads that start together."""
    threads = 8
    barrier = threading.Barrier(threads)

    def build_and_call(index: int) -> tuple[int, object, object]:
        app = TurboAPI(title=f"app-{index}")

        @app.post("/echo/{item_id}")
        async def echo(item_id: int, body: Body, doubled: int = Depends(dependency)) -> dict[str, int]:
            return {"item_id": item_id, "x": body.x, "doubled": doubled, "index": index}

        barrier.wait(timeout=30)
        with TestClient(app) as client:
            response = client.post(f"/echo/{index}?q={index}", json={"x": index * 3})
            schema = client.get("/openapi.json").json()
        return response.status_code, response.json(), schema["info"]["title"]

    with ThreadPoolExecutor(threads) as pool:
        results = list(pool.map(build_and_call, range(threads)))
    for index, (status, body, title) in enumerate(results):
        assert status == 200
        assert body == {"item_id": index, "x": index * 3, "doubled": index * 2, "index": index}
        assert title == f"app-{index}"
