"""fastapi-pagination's quick start: ``add_pagination(app)``, ``Page[Model]`` as the return type and
``paginate(...)`` of a list; ``LimitOffsetPage`` beside it."""

import pytest
from observe import answer

pytestmark = [
    pytest.mark.timeout(60),
    pytest.mark.libraries("fastapi-pagination"),
    pytest.mark.needs_alias("add_pagination updates only routes that are real FastAPI APIRoutes"),
]

APP = """
from fastapi import FastAPI
from fastapi_pagination import LimitOffsetPage, Page, add_pagination, paginate
from pydantic import BaseModel

app = FastAPI()
add_pagination(app)


class UserOut(BaseModel):
    name: str
    number: int


users = [UserOut(name=f"user {i}", number=i) for i in range(23)]


@app.get("/users")
async def get_users() -> Page[UserOut]:
    return paginate(users)


@app.get("/users/limit-offset")
def get_users_limit_offset() -> LimitOffsetPage[UserOut]:
    return paginate(users)
"""


def exercise(client):
    return {
        "default": answer(client.get("/users")),
        "page_2": answer(client.get("/users?page=2&size=10")),
        "last": answer(client.get("/users?page=3&size=10")),
        "zero_size": answer(client.get("/users?size=0")),
        "limit_offset": answer(client.get("/users/limit-offset?limit=5&offset=20")),
        "openapi": answer(client.get("/openapi.json")),
    }


def page(seen):
    """A 200 answer's page, its items reduced to their numbers."""
    assert seen["status"] == 200, seen
    return {**seen["body"], "items": [item["number"] for item in seen["body"]["items"]]}


# The quick start calls add_pagination(app) before the routes exist; the library then changes them
# in the app's lifespan, after turboapi planned them (it logs an error naming them). Called after
# the routes, add_pagination changes them before the server starts.
ROUTES_FIRST = APP.replace("app = FastAPI()\nadd_pagination(app)\n", "app = FastAPI()\n") + "\nadd_pagination(app)\n"


@pytest.mark.turboapi_differs("routes a lifespan changes keep the plan turboapi made before it ran (README)")
def test_pagination_quick_start_order(ecosystem):
    check(ecosystem(APP, exercise))


def test_pagination_returns_the_page_shape(ecosystem):
    check(ecosystem(ROUTES_FIRST, exercise))


def check(seen):
    assert page(seen["default"]) == {"items": list(range(23)), "total": 23, "page": 1, "size": 50, "pages": 1}
    assert seen["default"]["body"]["items"][0] == {"name": "user 0", "number": 0}
    assert page(seen["page_2"]) == {"items": list(range(10, 20)), "total": 23, "page": 2, "size": 10, "pages": 3}
    assert page(seen["last"]) == {"items": [20, 21, 22], "total": 23, "page": 3, "size": 10, "pages": 3}
    zero = seen["zero_size"]
    assert zero["status"] == 422
    assert [(e["loc"], e["type"]) for e in zero["body"]["detail"]] == [(["query", "size"], "greater_than_equal")]
    assert page(seen["limit_offset"]) == {"items": [20, 21, 22], "total": 23, "limit": 5, "offset": 20}
    # the page parameters and the page model are in the OpenAPI document
    operation = seen["openapi"]["body"]["paths"]["/users"]["get"]
    assert [p["name"] for p in operation["parameters"]] == ["page", "size"]
    assert operation["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Page_UserOut_"
    }
