"""Objects of real FastAPI in a turboapi app (a library that imports ``fastapi`` while the app
imports turboapi, without the alias): a real ``APIRouter`` with its ``Depends`` included, and a
whole real FastAPI app handed to turboapi's TestClient. Both are served, on the real server path."""

from __future__ import annotations

import fastapi
import pytest

import turboapi
from turboapi.testclient import TestClient


def test_a_real_fastapi_router_is_adopted_with_its_dependencies() -> None:
    router = fastapi.APIRouter(prefix="/lib")

    def viewer(x_user: str = fastapi.Header("anonymous")) -> str:
        return x_user

    @router.get("/whoami/{n}", response_model=dict)
    async def whoami(n: int, user: str = fastapi.Depends(viewer)):
        return {"user": user, "n": n}

    app = turboapi.FastAPI()
    app.include_router(router)
    with TestClient(app) as client:
        assert client.get("/lib/whoami/3", headers={"x-user": "ada"}).json() == {"user": "ada", "n": 3}
        assert client.get("/lib/whoami/x").status_code == 422
        assert "/lib/whoami/{n}" in client.get("/openapi.json").json()["paths"]


def test_a_real_fastapi_app_is_served_whole() -> None:
    app = fastapi.FastAPI()

    @app.get("/items/{item_id}")
    def read(item_id: int):
        return {"item_id": item_id, "app": type(app).__module__}

    with TestClient(app) as client:
        assert client.get("/items/5").json() == {"item_id": 5, "app": "fastapi.applications"}
        assert client.get("/items/x").status_code == 422


def test_something_else_is_refused_clearly() -> None:
    from turboapi.serving import hosted

    with pytest.raises(TypeError, match="not int"):
        hosted(42)
