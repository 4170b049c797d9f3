"""The TestClient's lifecycle and caller context, the fastapi alias' module specs, and the OpenAPI
and error details of generator routes, over the real pipeline (the core through the TestClient).
FastAPI parity of the same features: tests/compat/test_client_openapi_differential.py."""

from __future__ import annotations

import contextvars
import subprocess
import sys
import textwrap
import warnings
from collections.abc import AsyncIterable, Iterable
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from turboapi import APIRouter, Body, Depends, TurboAPI, WebSocket, _eager
from turboapi.exceptions import ResponseValidationError
from turboapi.sse import EventSourceResponse
from turboapi.testclient import TestClient

PYTHON_DIR = Path(__file__).resolve().parent.parent / "python"


class Item(BaseModel):
    name: str


# -- the TestClient ------------------------------------------------------------------------------
def test_a_client_entered_again_serves_routes_added_in_between() -> None:
    app = TurboAPI()

    @app.get("/a")
    def a() -> str:
        return "a"

    client = TestClient(app)
    with client:
        assert client.get("/a").json() == "a"
        assert client.get("/b").status_code == 404

    @app.get("/b")
    def b() -> str:
        return "b"

    with client:
        assert client.get("/b").json() == "b"
    # Outside `with`, it serves without a lifespan, as Starlette's.
    assert client.get("/a").json() == "a"
    client.close()


def test_app_state_is_what_the_lifespan_yielded() -> None:
    from contextlib import asynccontextmanager

    @asynccontextmanager
    async def lifespan(app: Any):
        yield {"pool": "ready"}

    client = TestClient(TurboAPI(lifespan=lifespan))
    assert client.app_state == {}
    with client:
        assert client.app_state == {"pool": "ready"}
    client.close()


def test_close_forgets_the_caller_context_of_its_loops() -> None:
    client = TestClient(TurboAPI())
    with client:
        loops = [loop for _thread, loop in client._runtime._shards]  # type: ignore[union-attr]
        assert all(loop in _eager.caller_context for loop in loops)
    assert not any(loop in _eager.caller_context for loop in loops)
    client.close()


_request_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_var", default="unset")


def test_async_work_runs_in_a_copy_of_the_callers_context() -> None:
    exits: list[str] = []

    async def dependency():
        yield _request_var.get()
        exits.append(_request_var.get())

    app = TurboAPI()

    @app.get("/")
    async def read(seen: str = Depends(dependency)) -> list[str]:
        mine = _request_var.get()
        _request_var.set("changed by the handler")  # in the request's copy only
        return [seen, mine]

    @app.websocket("/ws")
    async def ws(websocket: WebSocket, seen: str = Depends(dependency)) -> None:
        await websocket.accept()
        await websocket.send_json([seen, _request_var.get()])

    client = TestClient(app)
    for value in ("first", "second"):
        token = _request_var.set(value)
        try:
            assert client.get("/").json() == [value, value]
            with client.websocket_connect("/ws") as websocket:
                assert websocket.receive_json() == [value, value]
            assert _request_var.get() == value
        finally:
            _request_var.reset(token)
    client.close()
    # A WebSocket's dependency exits run in its handler's task, so in the caller's copy too.
    assert exits[1::2] == ["first", "second"]


# -- the alias ---------------------------------------------------------------------------------
def test_aliased_modules_keep_their_own_spec() -> None:
    # A fresh interpreter: the alias must be installed before anything imports fastapi.
    script = textwrap.dedent(
        """
        import warnings
        warnings.simplefilter("error", ImportWarning)
        from turboapi import alias
        alias.install()
        import fastapi.responses, fastapi.dependencies.utils, turboapi.responses
        assert fastapi.responses is turboapi.responses
        assert turboapi.responses.__spec__.name == "turboapi.responses", turboapi.responses.__spec__
        assert fastapi.dependencies.utils.__spec__.name == "turboapi.dependencies.utils"
        # A function-level relative import (JSONResponse.render's) under the fastapi name.
        assert fastapi.responses.JSONResponse({"a": 1}).body == b'{"a":1}'
        """
    )
    env = {"PYTHONPATH": str(PYTHON_DIR)}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


# -- generator routes --------------------------------------------------------------------------
def _streams_app() -> TurboAPI:
    app = TurboAPI()
    router = APIRouter(prefix="/r")

    @router.get("/events", response_class=EventSourceResponse, status_code=201)
    async def events() -> AsyncIterable[Item]:
        yield Item(name="a")

    @app.get("/lines")
    def lines() -> Iterable[Item]:
        yield {"name": "b"}

    @app.get("/bad")
    def bad() -> Iterable[Item]:
        yield {"wrong": 1}

    app.include_router(router)
    return app


def test_generator_routes_document_their_items() -> None:
    with TestClient(_streams_app()) as client:
        document = client.get("/openapi.json").json()
        assert client.get("/lines").text == '{"name":"b"}\n'
    item_ref = {"$ref": "#/components/schemas/Item"}
    assert document["paths"]["/lines"]["get"]["responses"]["200"]["content"] == {
        "application/jsonl": {"itemSchema": item_ref}
    }
    event = document["paths"]["/r/events"]["get"]["responses"]["201"]["content"]["text/event-stream"]["itemSchema"]
    assert event["required"] == ["data"]
    assert event["properties"]["data"] == {
        "type": "string",
        "contentMediaType": "application/json",
        "contentSchema": item_ref,
    }
    assert event["properties"]["retry"] == {"type": "integer", "minimum": 0}


def test_an_invalid_stream_item_names_its_endpoint() -> None:
    client = TestClient(_streams_app())
    with pytest.raises(ResponseValidationError) as raised:
        client.get("/bad")
    client.close()
    assert raised.value.endpoint_function == "bad"
    assert raised.value.endpoint_path == "GET /bad"
    assert "in bad\n    GET /bad" in str(raised.value)


# -- operation ids -----------------------------------------------------------------------------
def test_operation_ids_come_from_the_routes_unique_id() -> None:
    app = TurboAPI()

    @app.post("/items")
    def create(item: Item, extra: int = Body()) -> Item:
        return item

    route = next(r for r in app.routes if getattr(r, "path", None) == "/items")
    route.unique_id = "custom_id"  # what a generate_unique_id_function returns
    with TestClient(app) as client:
        document = client.get("/openapi.json").json()
    operation = document["paths"]["/items"]["post"]
    assert operation["operationId"] == "custom_id"
    assert operation["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/Body_custom_id")
    assert "Body_custom_id" in document["components"]["schemas"]


def test_a_duplicate_operation_id_warns_once_per_repeat() -> None:
    app = TurboAPI()
    for path in ("/a", "/b", "/c"):
        app.get(path, operation_id="same")(lambda: 1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        app.openapi()
    assert [str(w.message).split(" at ")[0] for w in caught] == [
        "Duplicate Operation ID same for function <lambda>"
    ] * 2
