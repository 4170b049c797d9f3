"""``/openapi.json`` of the same app on FastAPI 0.141.1 and on turboapi must be JSON-equal.

Each factory builds one app with the framework it is given. Security schemes and callbacks are
not generated yet (issue 5 continues); the apps here cover parameters of every source, bodies
(single, embedded, several, forms and files), response models, routers, tags and responses.
"""

# No `from __future__ import annotations`: the factories' annotations name the framework module
# they are given (a local), which both frameworks must be able to resolve.
import difflib
import enum
import json
from collections.abc import Callable
from datetime import date
from types import ModuleType
from typing import Annotated, Any, Literal
from uuid import UUID

import pytest
from pydantic import BaseModel, Field

import turboapi
import turboapi.testclient
from fastapi_reference import FastAPITestClient


class Color(enum.Enum):
    red = "red"
    blue = "blue"


class Image(BaseModel):
    url: str
    name: str | None = None


class Item(BaseModel):
    """An item for sale.\fInternal note that FastAPI cuts."""

    name: str = Field(min_length=1, description="what it is called")
    price: float = Field(gt=0)
    tags: list[str] = []
    image: Image | None = None


class ItemOut(BaseModel):
    name: str
    price: float


class User(BaseModel):
    username: str
    full_name: str | None = None


def params_app(f: ModuleType) -> Any:
    app = f.FastAPI(title="Params", version="2.0", summary="s", description="d")

    @app.get("/items/{item_id}")
    def read_item(
        item_id: Annotated[int, f.Path(title="The ID", ge=1)],
        q: Annotated[str | None, f.Query(max_length=50, pattern="^[a-z]+$")] = None,
        tags: Annotated[list[str], f.Query()] = [],  # noqa: B006
        color: Color = Color.red,
        when: date | None = None,
        uid: UUID | None = None,
        mode: Literal["a", "b"] = "a",
        user_agent: Annotated[str | None, f.Header()] = None,
        x_raw: Annotated[str | None, f.Header(convert_underscores=False)] = None,
        session: Annotated[str | None, f.Cookie()] = None,
        old: Annotated[int | None, f.Query(deprecated=True, description="do not use")] = None,
        secret: Annotated[str | None, f.Query(include_in_schema=False)] = None,
        aliased: Annotated[int, f.Query(alias="item-count")] = 1,
    ):
        return {}

    return app


def bodies_app(f: ModuleType) -> Any:
    app = f.FastAPI()

    @app.post("/items", status_code=201, response_model=ItemOut, tags=["items"], summary="Create an item")
    async def create_item(item: Item):
        return item

    @app.put("/items/{item_id}", deprecated=True)
    def update_item(item_id: int, item: Item, user: User, importance: Annotated[int, f.Body(gt=0)]):
        return {}

    @app.post("/embedded")
    def embedded(item: Annotated[Item, f.Body(embed=True)]):
        return item

    @app.post("/optional")
    def optional(item: Item | None = None):
        return {}

    @app.post("/list", response_model=list[ItemOut])
    def many(items: list[Item]):
        return items

    @app.delete("/items/{item_id}", status_code=204)
    def delete(item_id: int):
        return None

    return app


def forms_app(f: ModuleType) -> Any:
    app = f.FastAPI()

    @app.post("/login")
    def login(username: Annotated[str, f.Form()], password: Annotated[str, f.Form()]):
        return {}

    @app.post("/upload")
    def upload(file: Annotated[bytes, f.File()], note: Annotated[str, f.Form()] = ""):
        return {}

    @app.post("/uploads")
    def uploads(files: list[f.UploadFile]):
        return {}

    return app


def routers_app(f: ModuleType) -> Any:
    app = f.FastAPI(
        openapi_tags=[{"name": "users", "description": "Operations with users"}],
        servers=[{"url": "https://api.example.com", "description": "prod"}],
    )
    router = f.APIRouter(prefix="/users", tags=["users"], responses={404: {"description": "Not found"}})

    @router.get("/", response_model=list[User])
    def list_users(skip: int = 0, limit: int = 100):
        return []

    @router.get("/{username}", response_model=User, responses={403: {"description": "Forbidden", "model": Item}})
    def get_user(username: str):
        return {}

    inner = f.APIRouter(prefix="/admin")

    @inner.post("/reset", operation_id="reset_everything", tags=["admin"])
    def reset():
        return {}

    router.include_router(inner)
    app.include_router(router, prefix="/v1")

    @app.get("/health", include_in_schema=False)
    def health():
        return {}

    @app.api_route("/multi", methods=["GET"], response_description="It worked")
    def multi():
        """Docstring description.

        With a second paragraph."""
        return {}

    return app


def dependencies_app(f: ModuleType) -> Any:
    app = f.FastAPI()

    def pagination(skip: int = 0, limit: Annotated[int, f.Query(le=100)] = 10):
        return {"skip": skip, "limit": limit}

    def token(x_token: Annotated[str, f.Header()]):
        return x_token

    @app.get("/things", dependencies=[f.Depends(token)])
    def things(page: Annotated[dict, f.Depends(pagination)], q: str | None = None):
        return page

    @app.get("/no-params")
    def no_params():
        return {}

    return app


APPS: dict[str, Callable[[ModuleType], Any]] = {
    "params": params_app,
    "bodies": bodies_app,
    "forms": forms_app,
    "routers": routers_app,
    "dependencies": dependencies_app,
}


def documents(factory: Callable[[ModuleType], Any]) -> tuple[Any, Any]:
    import fastapi

    reference = FastAPITestClient(factory(fastapi)).get("/openapi.json").json()
    with turboapi.testclient.TestClient(factory(turboapi)) as client:
        ours = client.get("/openapi.json").json()
    return reference, ours


@pytest.mark.parametrize("name", sorted(APPS))
def test_openapi_document_matches_fastapi(name: str) -> None:
    reference, ours = documents(APPS[name])
    if reference != ours:
        a = json.dumps(reference, indent=1, sort_keys=True).splitlines()
        b = json.dumps(ours, indent=1, sort_keys=True).splitlines()
        diff = "\n".join(difflib.unified_diff(a, b, "fastapi", "turboapi", lineterm="", n=3))
        pytest.fail(f"/openapi.json differs for app {name!r}:\n{diff}")


def test_openapi_is_generated_once_and_can_be_replaced() -> None:
    app = bodies_app(turboapi)
    first = app.openapi()
    assert app.openapi() is first
    app.openapi_schema = {"openapi": "3.1.0", "info": {"title": "custom", "version": "0"}, "paths": {}}
    with turboapi.testclient.TestClient(app) as client:
        assert client.get("/openapi.json").json()["info"]["title"] == "custom"


def test_openapi_url_none_turns_the_route_off() -> None:
    app = turboapi.FastAPI(openapi_url=None)

    @app.get("/a")
    def a():
        return 1

    with turboapi.testclient.TestClient(app) as client:
        assert client.get("/openapi.json").status_code == 404
