"""The status of a route's ``response_class`` built from a returned value: the route's or the
``Response`` parameter's when set, else the class's own (``RedirectResponse`` is a 307)."""

import types
from typing import Any

import fastapi
import pytest

import turboapi
from fastapi_reference import FastAPITestClient
from turboapi.testclient import TestClient


def build(fw: types.ModuleType) -> Any:
    responses = fw.responses
    app = fw.FastAPI()

    @app.get("/redirect", response_class=responses.RedirectResponse)
    def redirect():
        return "/target"

    @app.get("/moved", response_class=responses.RedirectResponse, status_code=301)
    def moved():
        return "/target"

    @app.get("/text", response_class=responses.PlainTextResponse)
    def text():
        return "plain"

    @app.get("/created", response_class=responses.PlainTextResponse)
    def created(response: fw.Response):
        response.status_code = 201
        return "made"

    return app


CASES = ["/redirect", "/moved", "/text", "/created"]


@pytest.mark.parametrize("url", CASES)
def test_same_status_as_fastapi(url: str) -> None:
    with FastAPITestClient(build(fastapi)) as reference, TestClient(build(turboapi)) as ours:
        expected = reference.get(url, follow_redirects=False)
        got = ours.get(url, follow_redirects=False)
    assert (got.status_code, got.headers.get("location"), got.content) == (
        expected.status_code,
        expected.headers.get("location"),
        expected.content,
    )
