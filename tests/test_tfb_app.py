"""bench/tfb_app.py, the app of ``make bench-db``, against TechEmpower's rules on a real PostgreSQL.

The app runs on turboapi's real server (tests/apps/tfb.py, two loop shards, so two lifespans and two
pools) and, for the answers that do not depend on chance (json, plaintext, the fortunes page, how
many rows a ``queries`` value gives), on FastAPI through its TestClient: both must answer the same.
TFB's rules checked: the JSON and plaintext bodies and content types; a World object is
``{"id", "randomNumber"}`` with both in 1..10000 and matches the table; ``queries`` is clamped to
1..500 and anything but an integer counts as 1; the fortunes page has the 12 rows plus the one added
at request time, sorted by message, escaped, the Japanese row intact, as ``text/html;
charset=utf-8``; updates write the values they answer.
"""

from __future__ import annotations

import asyncio
import html
import importlib.util
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from postgres_server import available, temporary_postgres
from serverutil import ServerProcess

asyncpg = pytest.importorskip("asyncpg")
pytest.importorskip("jinja2")

BENCH_DIR = Path(__file__).resolve().parents[1] / "bench"


def load_module(name: str, filename: str) -> Any:
    """A bench/ module by its path (bench/ is not put on sys.path: its run.py, stress.py ... would
    shadow other modules of those names for the rest of the session)."""
    spec = importlib.util.spec_from_file_location(name, BENCH_DIR / filename)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


tfb_data = load_module("tfb_data", "tfb_data.py")

SHARDS = 2
POOL = 4  # connections per pool: 2 shards x 4 on turboapi, 4 on FastAPI's client

pytestmark = pytest.mark.skipif(available() is not None, reason=str(available()))


def run_sql(dsn: str, query: str, *args: Any) -> list[Any]:
    async def go() -> list[Any]:
        conn = await asyncpg.connect(dsn)
        try:
            return list(await conn.fetch(query, *args))
        finally:
            await conn.close()

    return asyncio.run(go())


def world(dsn: str) -> dict[int, int]:
    return {r["id"]: r["randomnumber"] for r in run_sql(dsn, "SELECT id, randomnumber FROM world")}


@pytest.fixture(scope="module")
def dsn() -> Iterator[str]:
    with temporary_postgres() as pg:
        asyncio.run(tfb_data.load(pg.dsn))
        yield pg.dsn


@pytest.fixture(scope="module")
def turbo(dsn: str) -> Iterator[Any]:
    """turboapi's real server; ``turbo.get(path)`` answers (status, content-type, body bytes)."""
    import httpx

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BENCH_DSN", dsn)
        mp.setenv("BENCH_DB_POOL", str(POOL))
        server = ServerProcess("tfb", settings={"shards": SHARDS})
    try:
        server.wait_started()
        with httpx.Client(base_url=server.base_url, timeout=10) as client:
            yield client
    finally:
        server.stop()


@pytest.fixture(scope="module")
def fastapi_client(dsn: str) -> Iterator[Any]:
    """The same module, imported with BENCH_FRAMEWORK=fastapi, in FastAPI's TestClient (lifespan run)."""
    from fastapi_reference import FastAPITestClient

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BENCH_FRAMEWORK", "fastapi")
        mp.setenv("BENCH_DSN", dsn)
        mp.setenv("BENCH_DB_POOL", str(POOL))
        module = load_module("tfb_app_on_fastapi", "tfb_app.py")
    assert type(module.app).__module__.startswith("fastapi")
    with FastAPITestClient(module.app) as client:
        yield client


def assert_world(value: Any, table: dict[int, int] | None = None) -> None:
    assert isinstance(value, dict) and set(value) == {"id", "randomNumber"}, value
    assert isinstance(value["id"], int) and 1 <= value["id"] <= 10_000, value
    assert isinstance(value["randomNumber"], int) and 1 <= value["randomNumber"] <= 10_000, value
    if table is not None:
        assert table[value["id"]] == value["randomNumber"], value


def test_json(turbo: Any, fastapi_client: Any) -> None:
    ours, ref = turbo.get("/json"), fastapi_client.get("/json")
    assert ours.status_code == ref.status_code == 200
    assert ours.headers["content-type"] == ref.headers["content-type"] == "application/json"
    assert ours.json() == ref.json() == {"message": "Hello, World!"}


def test_plaintext(turbo: Any, fastapi_client: Any) -> None:
    ours, ref = turbo.get("/plaintext"), fastapi_client.get("/plaintext")
    assert ours.status_code == ref.status_code == 200
    assert ours.headers["content-type"] == ref.headers["content-type"] == "text/plain; charset=utf-8"
    assert ours.content == ref.content == b"Hello, World!"


def test_db(turbo: Any, dsn: str) -> None:
    table = world(dsn)
    ids = set()
    for _ in range(20):
        answer = turbo.get("/db")
        assert answer.status_code == 200 and answer.headers["content-type"] == "application/json"
        assert_world(answer.json(), table)
        ids.add(answer.json()["id"])
    assert len(ids) > 1, "the id is not random"


@pytest.mark.parametrize(
    ("query", "count"),
    [("", 1), ("?queries=", 1), ("?queries=0", 1), ("?queries=-3", 1), ("?queries=abc", 1), ("?queries=1.5", 1),
     ("?queries=1", 1), ("?queries=20", 20), ("?queries=500", 500), ("?queries=501", 500)],
)  # fmt: skip
def test_queries(turbo: Any, fastapi_client: Any, dsn: str, query: str, count: int) -> None:
    ours = turbo.get(f"/queries{query}")
    assert ours.status_code == 200 and ours.headers["content-type"] == "application/json"
    rows = ours.json()
    assert isinstance(rows, list) and len(rows) == count
    table = world(dsn)
    for row in rows:
        assert_world(row, table)
    assert len(fastapi_client.get(f"/queries{query}").json()) == count


def test_fortunes(turbo: Any, fastapi_client: Any) -> None:
    ours, ref = turbo.get("/fortunes"), fastapi_client.get("/fortunes")
    assert ours.status_code == ref.status_code == 200
    assert ours.headers["content-type"] == ref.headers["content-type"] == "text/html; charset=utf-8"
    page = ours.content.decode("utf-8")
    assert page == ref.content.decode("utf-8")
    cells = re.findall(r"<tr><td>(\d+)</td><td>(.*?)</td></tr>", page)
    assert len(cells) == 13
    assert cells[0] == (
        "11",
        "&lt;script&gt;alert(&#34;This should not be displayed in a browser alert box.&#34;);&lt;/script&gt;",
    )
    assert ("0", "Additional fortune added at request time.") in cells
    assert ("12", "フレームワークのベンチマーク") in cells
    assert "<script>" not in page
    messages = [html.unescape(m) for _, m in cells]
    assert messages == sorted(messages)
    expected = sorted([*tfb_data.FORTUNES, tfb_data.ADDITIONAL_FORTUNE], key=lambda f: f[1])
    assert page == tfb_data.fortunes_html(expected)
    assert page.startswith("<!DOCTYPE html><html><head><title>Fortunes</title></head><body><table><tr><th>id</th>")
    assert page.endswith("</table></body></html>")


@pytest.mark.parametrize("client_name", ["turboapi", "fastapi"])
def test_updates(turbo: Any, fastapi_client: Any, dsn: str, client_name: str) -> None:
    client = turbo if client_name == "turboapi" else fastapi_client
    before = world(dsn)
    answer = client.get("/updates?queries=20")
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/json"
    rows = answer.json()
    assert len(rows) == 20 and len({r["id"] for r in rows}) == 20
    after = world(dsn)
    for row in rows:
        assert_world(row, after)  # the database holds what was answered
    changed = [r["id"] for r in rows if before[r["id"]] != after[r["id"]]]
    assert len(changed) >= 18, "the rows were not rewritten"  # a new value equals the old 1 in 10,000
    untouched = set(before) - {r["id"] for r in rows}
    assert all(before[i] == after[i] for i in untouched)
    for query, count in (("?queries=abc", 1), ("", 1), ("?queries=0", 1), ("?queries=501", 500)):
        assert len(client.get(f"/updates{query}").json()) == count
