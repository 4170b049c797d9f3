"""A Response class that sends itself by its own ASGI ``__call__`` (as sse-starlette's
EventSourceResponse does), returned by a route on the core's fast path: the core sends its status
and headers and streams the body its ``__call__`` sends. Compared with FastAPI."""

import asyncio
import types
from typing import Any

import fastapi
import pytest
import starlette.responses
from starlette.background import BackgroundTask

import turboapi
from fastapi_reference import FastAPITestClient
from turboapi.testclient import TestClient


class Countdown(starlette.responses.Response):
    """Sends "3\\n2\\n1\\n" in three messages, then runs its background."""

    media_type = "text/plain"

    def __init__(self, start: int, background: Any = None) -> None:
        super().__init__(status_code=202, background=background)
        self.start = start
        self.headers["x-countdown"] = str(start)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        for n in range(self.start, 0, -1):
            await asyncio.sleep(0)
            await send({"type": "http.response.body", "body": f"{n}\n".encode(), "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})
        if self.background is not None:
            await self.background()


class Liar(Countdown):
    """Says one status on the object and sends another."""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 201, "headers": self.raw_headers})
        await send({"type": "http.response.body", "body": b"", "more_body": False})


def build(fw: types.ModuleType) -> Any:
    app = fw.FastAPI()
    ran: list[int] = []

    @app.get("/countdown/{n}")
    async def countdown(n: int):
        return Countdown(n, background=BackgroundTask(ran.append, n))

    @app.get("/countdown-sync/{n}")
    def countdown_sync(n: int):
        return Countdown(n)

    @app.get("/ran")
    def get_ran():
        return ran

    @app.get("/liar")
    def liar():
        return Liar(1)

    return app


@pytest.fixture(scope="module")
def clients() -> Any:
    with FastAPITestClient(build(fastapi)) as reference, TestClient(build(turboapi)) as ours:
        yield reference, ours


@pytest.mark.parametrize("url", ["/countdown/3", "/countdown-sync/2", "/countdown/0", "/ran"])
def test_same_answer_as_fastapi(clients: Any, url: str) -> None:
    reference, ours = clients
    expected, got = reference.get(url), ours.get(url)
    assert (got.status_code, got.content) == (expected.status_code, expected.content)
    for name in ("content-type", "x-countdown"):
        assert got.headers.get(name) == expected.headers.get(name)


def test_a_different_head_is_an_error_naming_the_class() -> None:
    with TestClient(build(turboapi), raise_server_exceptions=False) as client:
        got = client.get("/liar")
        assert got.status_code == 202  # what the object said, sent before its __call__ ran
        with pytest.raises(RuntimeError, match="Liar started with another status"):
            TestClient(build(turboapi)).get("/liar")
        assert client.get("/countdown/1").text == "1\n"
