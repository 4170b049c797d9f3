"""``strict_content_type``: a JSON body sent without a Content-Type is refused by default and read
as JSON where the app, a router, an include or the route turns the setting off, as in FastAPI.

Each app is built with FastAPI and with turboapi; both TestClients must answer alike (turboapi's
runs the Rust core's routing and extraction).
"""

from __future__ import annotations

import types

import pytest
from pydantic import BaseModel

from fastapi_reference import both

pytestmark = pytest.mark.timeout(60)


class Item(BaseModel):
    name: str
    price: float


def build(pkg: types.ModuleType) -> object:
    app = pkg.FastAPI(strict_content_type=False)
    strict_router = pkg.APIRouter(strict_content_type=True)
    plain_router = pkg.APIRouter()

    @app.post("/lenient/model")
    def lenient_model(item: Item) -> Item:
        return item

    @app.post("/lenient/fields")
    def lenient_fields(name: str = pkg.Body(), price: float = pkg.Body()) -> dict:
        return {"name": name, "price": price}

    def route_strict(item: Item) -> Item:
        return item

    # (FastAPI's decorators do not take the setting; add_api_route does.)
    app.router.add_api_route("/route-strict", route_strict, methods=["POST"], strict_content_type=True)

    @strict_router.post("/model")
    def router_strict(item: Item) -> Item:
        return item

    @plain_router.post("/model")
    def inherits(item: Item) -> Item:
        return item

    @plain_router.post("/with-dependency")
    def with_dependency(item: Item, tag: str = pkg.Depends(lambda: "dep")) -> dict:
        return {"item": item.model_dump(), "tag": tag}

    app.include_router(strict_router, prefix="/strict-router")
    app.include_router(plain_router, prefix="/included")
    return app


def build_default(pkg: types.ModuleType) -> object:
    app = pkg.FastAPI()
    lenient = pkg.APIRouter(strict_content_type=False)

    @app.post("/strict")
    def strict(item: Item) -> Item:
        return item

    def route_lenient(item: Item) -> Item:
        return item

    app.router.add_api_route("/route-lenient", route_lenient, methods=["POST"], strict_content_type=False)

    @lenient.post("/model")
    def router_lenient(item: Item) -> Item:
        return item

    app.include_router(lenient, prefix="/lenient-router")
    return app


BODY = b'{"name": "widget", "price": 2.5}'
CASES = [
    (build, "/lenient/model"),
    (build, "/lenient/fields"),
    (build, "/route-strict"),
    (build, "/strict-router/model"),
    (build, "/included/model"),
    (build, "/included/with-dependency"),
    (build_default, "/strict"),
    (build_default, "/route-lenient"),
    (build_default, "/lenient-router/model"),
]


@pytest.mark.parametrize(("builder", "path"), CASES)
@pytest.mark.parametrize(
    "headers",
    [{}, {"content-type": "application/json"}, {"content-type": "text/plain"}],
    ids=["no-content-type", "json", "text"],
)
def test_a_body_without_content_type_is_json_only_where_strictness_is_off(builder, path, headers) -> None:
    clients = both(builder)
    answers = {}
    for name, client in clients.items():
        with client:
            response = client.post(path, content=BODY, headers=headers)
            answers[name] = (response.status_code, response.json())
    assert answers["turboapi"] == answers["fastapi"]


def test_the_cases_cover_both_outcomes() -> None:
    """The parametrised test compares; this pins what FastAPI answers, so that it cannot pass with
    both frameworks refusing (or accepting) everything."""
    for builder, path, expected in [(build, "/lenient/model", 200), (build_default, "/strict", 422)]:
        with both(builder)["turboapi"] as client:
            assert client.post(path, content=BODY).status_code == expected
