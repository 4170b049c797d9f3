"""``strict_content_type``: a JSON body sent without a Content-Type is refused by default and read
as JSON where the app, a router, an include or the route turns the setting off, as in FastAPI.

Each app is built with FastAPI and with turboapi; both TestClients must answer alike (turboapi's
runs the Rust core's routing and extraction).
"""

from __future__ import annotations

import functools
import types

import pytest
from pydantic import BaseModel

from fastapi_reference import both

pytestmark = pytest.mark.timeout(60)


class Item(BaseModel):
    name: str
    price: float


def build(pkg: types.ModuleType, app_strict: bool) -> object:
    """The app's setting (the default, or off), and every level below it set the other way or
    left to inherit."""
    app = pkg.FastAPI() if app_strict else pkg.FastAPI(strict_content_type=False)
    opposite = pkg.APIRouter(strict_content_type=not app_strict)
    inheriting = pkg.APIRouter()

    @app.post("/app/model")
    def app_model(item: Item) -> Item:
        return item

    @app.post("/app/fields")
    def app_fields(name: str = pkg.Body(), price: float = pkg.Body()) -> dict:
        return {"name": name, "price": price}

    def route_opposite(item: Item) -> Item:
        return item

    # (FastAPI's decorators do not take the setting; add_api_route does.)
    app.router.add_api_route("/route", route_opposite, methods=["POST"], strict_content_type=not app_strict)

    @opposite.post("/model")
    def router_opposite(item: Item) -> Item:
        return item

    @inheriting.post("/model")
    def inherits(item: Item) -> Item:
        return item

    @inheriting.post("/with-dependency")
    def with_dependency(item: Item, tag: str = pkg.Depends(lambda: "dep")) -> dict:
        return {"item": item.model_dump(), "tag": tag}

    app.include_router(opposite, prefix="/router")
    app.include_router(inheriting, prefix="/included")
    return app


BODY = b'{"name": "widget", "price": 2.5}'
PATHS = ["/app/model", "/app/fields", "/route", "/router/model", "/included/model", "/included/with-dependency"]


@pytest.mark.parametrize("app_strict", [True, False], ids=["app-strict", "app-lenient"])
@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(
    "headers",
    [{}, {"content-type": "application/json"}, {"content-type": "text/plain"}],
    ids=["no-content-type", "json", "text"],
)
def test_a_body_without_content_type_is_json_only_where_strictness_is_off(app_strict, path, headers) -> None:
    answers = {}
    for name, client in both(functools.partial(build, app_strict=app_strict)).items():
        with client:
            response = client.post(path, content=BODY, headers=headers)
            answers[name] = (response.status_code, response.json())
    assert answers["turboapi"] == answers["fastapi"]


def test_the_cases_cover_both_outcomes() -> None:
    """The parametrised test compares; this pins what FastAPI answers, so that it cannot pass with
    both frameworks refusing (or accepting) everything."""
    for app_strict, path, expected in [(False, "/app/model", 200), (True, "/app/model", 422), (True, "/route", 200)]:
        with both(functools.partial(build, app_strict=app_strict))["turboapi"] as client:
            assert client.post(path, content=BODY).status_code == expected
