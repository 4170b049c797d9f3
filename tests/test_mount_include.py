"""Mounts inside a router that is included with a prefix keep working as mounts (FastAPI keeps
Starlette's Mount through include_router): compared with FastAPI's TestClient."""

from __future__ import annotations

from pathlib import Path

import fastapi
import pytest
from fastapi.staticfiles import StaticFiles as FastAPIStaticFiles

import turboapi
from fastapi_reference import FastAPITestClient
from turboapi.staticfiles import StaticFiles
from turboapi.testclient import TestClient


def build(framework, static_files, directory: Path):
    legacy = fastapi.FastAPI()

    @legacy.get("/where")
    def where(request: fastapi.Request):
        return {"root_path": request.scope["root_path"], "path": request.url.path}

    router = framework.APIRouter()
    router.mount("/static", static_files(directory=directory), name="static")
    router.mount("/legacy", legacy)

    @router.get("/static/shadow")
    def shadowed():
        return {"reached": "a route declared after the mount"}

    app = framework.FastAPI()
    app.include_router(router, prefix="/v1")

    @app.get("/url")
    def url(request: fastapi.Request):
        return {"url": str(request.url_for("static", path="/a.txt"))}

    return app


@pytest.fixture(scope="module")
def clients(tmp_path_factory: pytest.TempPathFactory):
    directory = tmp_path_factory.mktemp("static")
    (directory / "a.txt").write_text("hello\n")
    return (
        FastAPITestClient(build(fastapi, FastAPIStaticFiles, directory)),
        TestClient(build(turboapi, StaticFiles, directory)),
    )


@pytest.mark.parametrize("url", ["/v1/static/a.txt", "/v1/static/shadow", "/v1/legacy/where", "/url", "/static/a.txt"])
def test_mount_in_an_included_router(clients, url: str) -> None:
    theirs, ours = (client.get(url) for client in clients)
    assert ours.status_code == theirs.status_code
    assert ours.content == theirs.content
    assert ours.headers.get("content-type") == theirs.headers.get("content-type")
