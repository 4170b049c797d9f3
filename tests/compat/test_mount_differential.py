"""An ASGI application (a FastAPI app here: the gradual-migration case) mounted with ``app.mount``:
the same legacy app mounted in a FastAPI app (FastAPI's TestClient) and in a turboapi app (ours,
through the core), compared request by request: status, body and the headers that matter."""

from __future__ import annotations

import fastapi
import pytest
from fastapi.responses import RedirectResponse, StreamingResponse

import turboapi
from fastapi_reference import FastAPITestClient
from turboapi.testclient import TestClient


def legacy_app() -> fastapi.FastAPI:
    legacy = fastapi.FastAPI(title="legacy")

    @legacy.get("/items/{item_id}")
    def read_item(item_id: int, request: fastapi.Request, q: str | None = None):
        return {
            "item_id": item_id,
            "q": q,
            "root_path": request.scope["root_path"],
            "path": request.url.path,
            "url_for": str(request.url_for("read_item", item_id=7)),
            "client_host_seen": request.client is not None,
        }

    @legacy.post("/echo")
    async def echo(request: fastapi.Request):
        return {"body": (await request.body()).decode(), "type": request.headers.get("content-type")}

    @legacy.get("/stream")
    def stream():
        return StreamingResponse(iter(["one ", "two ", "three"]), media_type="text/plain")

    @legacy.get("/cookie")
    def cookie(response: fastapi.Response):
        response.set_cookie("session", "abc", httponly=True)
        response.headers["x-legacy"] = "yes"
        return {"ok": True}

    @legacy.get("/redirect")
    def redirect():
        return RedirectResponse("/legacy/items/1")

    @legacy.get("/slash/")
    def slash():
        return {"slash": True}

    @legacy.get("/status", status_code=204)
    def no_content():
        return None

    @legacy.get("/boom")
    def boom():
        raise ValueError("legacy boom")

    return legacy


def build(framework) -> object:
    app = framework.FastAPI()

    @app.get("/own")
    def own():
        return {"own": True}

    app.mount("/legacy", legacy_app())
    return app


CASES = [
    ("GET", "/legacy/items/1?q=x", None),
    ("GET", "/legacy/items/abc", None),  # the legacy app's own 422
    ("POST", "/legacy/echo", {"json": {"a": 1}}),
    ("POST", "/legacy/echo", {"content": b"raw bytes", "headers": {"content-type": "text/plain"}}),
    ("GET", "/legacy/stream", None),
    ("GET", "/legacy/cookie", None),
    ("GET", "/legacy/redirect", None),
    ("GET", "/legacy/slash", None),  # the legacy router's slash redirect
    ("GET", "/legacy/status", None),
    ("GET", "/legacy/nope", None),
    ("DELETE", "/legacy/items/1", None),  # 405 from the legacy app
    ("GET", "/legacy/openapi.json", None),
    ("GET", "/own", None),
    ("GET", "/legacy", None),  # the outer router's slash redirect to /legacy/
]
HEADERS = ("content-type", "location", "set-cookie", "x-legacy", "allow", "content-length")


@pytest.fixture(scope="module")
def clients():
    return (
        FastAPITestClient(build(fastapi), follow_redirects=False),
        TestClient(build(turboapi), follow_redirects=False),
    )


@pytest.mark.parametrize(("method", "url", "extra"), CASES, ids=[f"{m} {u}" for m, u, _ in CASES])
def test_mounted_fastapi_app(clients, method: str, url: str, extra: dict | None) -> None:
    theirs, ours = (client.request(method, url, **(extra or {})) for client in clients)
    assert ours.status_code == theirs.status_code
    assert ours.content == theirs.content
    for name in HEADERS:
        if name == "content-length" and theirs.status_code in (204, 304):
            continue
        assert ours.headers.get_list(name) == theirs.headers.get_list(name), name


def test_an_error_in_the_mounted_app_is_raised_into_the_client(clients) -> None:
    theirs, ours = clients
    for client in (theirs, ours):
        with pytest.raises(ValueError, match="legacy boom"):
            client.get("/legacy/boom")


def test_an_error_in_the_mounted_app_is_a_500_without_raising() -> None:
    for client in (
        FastAPITestClient(build(fastapi), raise_server_exceptions=False),
        TestClient(build(turboapi), raise_server_exceptions=False),
    ):
        reply = client.get("/legacy/boom")
        assert reply.status_code == 500
        assert reply.text == "Internal Server Error"


def test_mounting_something_else_is_a_clear_error() -> None:
    app = turboapi.FastAPI()
    with pytest.raises(TypeError, match="StaticFiles or an ASGI application"):
        app.mount("/x", object())
