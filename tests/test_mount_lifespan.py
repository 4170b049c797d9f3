"""A mounted ASGI app's lifespan runs with turboapi's: startup after the app's own, shutdown
before, once per loop shard, with its ``scope["state"]`` given to its requests. An app without
lifespan support is served without it; a failed startup fails the server's startup."""

import asyncio
from contextlib import asynccontextmanager

import fastapi
import pytest
from fastapi import Request as FastAPIRequest

from turboapi import FastAPI
from turboapi.testclient import TestClient

pytestmark = pytest.mark.timeout(60)


def legacy_app(events: list[str]) -> fastapi.FastAPI:
    @asynccontextmanager
    async def lifespan(app):
        events.append("legacy startup")
        yield {"db": "ready"}
        events.append("legacy shutdown")

    legacy = fastapi.FastAPI(lifespan=lifespan)

    @legacy.get("/state")
    def state(request: FastAPIRequest):
        return {"db": request.state.db}

    return legacy


def make_app(events: list[str]) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app):
        events.append("app startup")
        yield
        events.append("app shutdown")

    app = FastAPI(lifespan=lifespan)
    app.mount("/legacy", legacy_app(events))
    return app


def test_lifespan_runs_around_the_apps_and_fills_state() -> None:
    events: list[str] = []
    with TestClient(make_app(events)) as client:
        assert events == ["app startup", "legacy startup"]
        resp = client.get("/legacy/state")
        assert (resp.status_code, resp.json()) == (200, {"db": "ready"})
    assert events == ["app startup", "legacy startup", "legacy shutdown", "app shutdown"]


def test_lifespan_runs_once_per_shard() -> None:
    events: list[str] = []
    with TestClient(make_app(events), shards=3) as client:
        assert events.count("legacy startup") == 3
        assert all(client.get("/legacy/state").json() == {"db": "ready"} for _ in range(6))
    assert events.count("legacy shutdown") == 3


def test_an_app_without_lifespan_support_is_served() -> None:
    async def http_only(scope, receive, send):
        assert scope["type"] == "http", "this app speaks HTTP only"
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"plain"})

    app = FastAPI()
    app.mount("/plain", http_only)
    with TestClient(app) as client:
        resp = client.get("/plain/x")
        assert (resp.status_code, resp.text) == (200, "plain")


def test_a_failed_startup_fails_the_server_startup() -> None:
    @asynccontextmanager
    async def broken(app):
        raise ValueError("no database")
        yield  # pragma: no cover

    app = FastAPI()
    app.mount("/legacy", fastapi.FastAPI(lifespan=broken))
    client = TestClient(app)
    with pytest.raises(RuntimeError, match="mounted at /legacy failed to start"):
        client.__enter__()
    client.close()


def test_an_app_that_never_finishes_its_shutdown_does_not_hold_the_server(monkeypatch, caplog) -> None:
    import time

    import turboapi.asgi

    monkeypatch.setattr(turboapi.asgi, "SHUTDOWN_WAIT", 0.5)

    async def stuck(scope, receive, send):
        assert scope["type"] == "lifespan"
        await receive()
        await send({"type": "lifespan.startup.complete"})
        await receive()  # lifespan.shutdown: never answered
        await asyncio.sleep(3600)

    app = FastAPI()
    app.mount("/stuck", stuck)
    started = time.monotonic()
    with TestClient(app):
        pass
    assert time.monotonic() - started < 5
    assert "did not finish its shutdown" in caplog.text
