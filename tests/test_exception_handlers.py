"""Exception handlers that really wait (I/O) run to completion, on every path: async routes on a
loop shard (the handler becomes a task), sync routes on a pool thread (run on a private loop),
and under middleware. A handler that fails is a 500, never a hang."""

from __future__ import annotations

import asyncio

import pytest
from pydantic import BaseModel

from turboapi import FastAPI, HTTPException
from turboapi.responses import JSONResponse
from turboapi.testclient import TestClient


class Boom(Exception):
    pass


class Broken(Exception):
    pass


def build(with_middleware: bool) -> FastAPI:
    app = FastAPI()

    @app.exception_handler(Boom)
    async def waits(request, exc):
        await asyncio.sleep(0.01)  # a real wait: the handler cannot finish in one step
        return JSONResponse({"handled": type(exc).__name__, "path": request.url.path}, status_code=409)

    @app.exception_handler(Broken)
    async def fails(request, exc):
        await asyncio.sleep(0)
        raise RuntimeError("the handler itself is broken")

    @app.exception_handler(500)
    async def server_error(request, exc):
        await asyncio.sleep(0.01)
        return JSONResponse({"server_error": str(exc)}, status_code=500)

    if with_middleware:

        @app.middleware("http")
        async def tag(request, call_next):
            response = await call_next(request)
            response.headers["x-mw"] = "1"
            return response

    @app.get("/async/boom")
    async def async_boom():
        raise Boom()

    @app.get("/sync/boom")
    def sync_boom():
        raise Boom()

    @app.get("/async/broken")
    async def async_broken():
        raise Broken()

    @app.get("/sync/unhandled")
    def sync_unhandled():
        raise ValueError("unexpected")

    @app.get("/async/unhandled")
    async def async_unhandled():
        raise ValueError("unexpected")

    @app.get("/http")
    async def http():
        raise HTTPException(404, "nope")

    return app


@pytest.fixture(params=[False, True], ids=["plain", "middleware"])
def client(request):
    with TestClient(build(request.param), raise_server_exceptions=False) as c:
        yield c


@pytest.mark.parametrize("kind", ["async", "sync"])
def test_handler_that_waits(client, kind):
    r = client.get(f"/{kind}/boom")
    assert r.status_code == 409
    assert r.json() == {"handled": "Boom", "path": f"/{kind}/boom"}


def test_failing_handler_goes_to_the_500_handler(client):
    # As Starlette: an exception handler that raises reaches ServerErrorMiddleware's handler.
    r = client.get("/async/broken")
    assert r.status_code == 500
    assert r.json() == {"server_error": "the handler itself is broken"}


def test_failing_handler_without_500_handler_is_a_plain_500():
    app = build(False)
    del app.exception_handlers[500]
    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.get("/async/broken")
    assert (r.status_code, r.text) == (500, "Internal Server Error")


@pytest.mark.parametrize("kind", ["async", "sync"])
def test_server_error_handler_that_waits(client, kind):
    r = client.get(f"/{kind}/unhandled")
    assert r.status_code == 500
    assert r.json() == {"server_error": "unexpected"}


def test_default_handler_still_answers(client):
    r = client.get("/http")
    assert (r.status_code, r.json()) == (404, {"detail": "nope"})


@pytest.mark.parametrize("kind", ["async", "sync"])
def test_server_error_is_still_raised_into_the_test_client(kind):
    # As Starlette's ServerErrorMiddleware: the 500 handler answers, and the error is re-raised.
    with TestClient(build(False)) as c, pytest.raises(ValueError, match="unexpected"):
        c.get(f"/{kind}/unhandled")


class Odd(Exception):
    pass


def test_handler_returning_no_response_is_a_500_and_the_app_keeps_serving():
    app = FastAPI()

    @app.exception_handler(Odd)
    async def not_a_response(request, exc):
        await asyncio.sleep(0)  # waits: the core completes it as a task
        return {"not": "a response"}

    @app.middleware("http")
    async def passthrough(request, call_next):
        if request.url.path == "/bad-middleware":
            return "not a response"
        return await call_next(request)

    @app.get("/odd")
    async def odd():
        raise Odd()

    @app.get("/ok")
    async def ok():
        return {"ok": True}

    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.get("/odd")
        assert (r.status_code, r.text) == (500, "Internal Server Error")
        r = c.get("/bad-middleware")
        assert (r.status_code, r.text) == (500, "Internal Server Error")
        assert c.get("/ok").json() == {"ok": True}


@pytest.mark.parametrize("route_kind", ["async", "sync"])
@pytest.mark.parametrize("handler_kind", ["async", "sync"])
@pytest.mark.parametrize("returned", [None, {"not": "a response"}])
def test_a_handler_result_that_is_not_a_response_is_logged_by_name_and_a_500(
    route_kind, handler_kind, returned, caplog
):
    app = FastAPI()

    if handler_kind == "async":

        @app.exception_handler(Odd)
        async def gives_no_response(request, exc):
            return returned
    else:

        @app.exception_handler(Odd)
        def gives_no_response(request, exc):
            return returned

    if route_kind == "async":

        @app.get("/odd")
        async def odd():
            raise Odd()
    else:

        @app.get("/odd")
        def odd():
            raise Odd()

    @app.get("/ok")
    def ok():
        return {"ok": True}

    kind = type(returned).__name__
    with caplog.at_level("ERROR", logger="turboapi.error"):
        with TestClient(app, raise_server_exceptions=False) as c:
            r = c.get("/odd")
            assert (r.status_code, r.text) == (500, "Internal Server Error")
            assert c.get("/ok").json() == {"ok": True}
    failures = [str(record.exc_info[1]) for record in caplog.records if record.exc_info]
    message = f"exception handler {gives_no_response.__qualname__} returned {kind}, not a Response"
    assert message in failures, failures


class Named(BaseModel):
    name: str


@pytest.mark.parametrize("encoder", ["orjson", "stdlib"])
def test_nan_in_the_input_is_echoed_as_null_in_the_422(encoder: str) -> None:
    """JSON has no NaN, Python's json reads it, the 422 echoes it: orjson writes null, the stdlib
    encoder refuses it and the body is written again with null (FastAPI answers 500)."""
    if encoder == "orjson":
        pytest.importorskip("orjson")
    app = FastAPI()

    @app.post("/named")
    def named(item: Named) -> Named:
        return item

    with TestClient(app, json=encoder) as client:
        for body, echoed in [(b'{"name": NaN}', None), (b'{"name": [1.5, -Infinity]}', [1.5, None])]:
            response = client.post("/named", content=body, headers={"content-type": "application/json"})
            assert response.status_code == 422, response.text
            assert response.json()["detail"][0]["loc"] == ["body", "name"]
            assert response.json()["detail"][0]["input"] == echoed
