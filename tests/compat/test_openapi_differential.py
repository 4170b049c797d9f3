"""``/openapi.json`` of the same app on FastAPI 0.141.1 and on turboapi must be JSON-equal.

Each factory builds one app with the framework it is given. The apps cover parameters of every
source, bodies (single, embedded, several, forms and files), response models, routers, tags,
responses, security schemes, route and router callbacks, and webhooks.
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


def security_app(f: ModuleType) -> Any:
    from importlib import import_module

    security = import_module(f"{f.__name__}.security")
    app = f.FastAPI()
    oauth2 = security.OAuth2PasswordBearer(tokenUrl="token", scopes={"me": "Read me", "items": "Read items"})
    basic = security.HTTPBasic(realm="r", description="basic auth")
    bearer = security.HTTPBearer(auto_error=False)
    api_key = security.APIKeyHeader(name="X-API-Key", scheme_name="KeyHeader")
    api_cookie = security.APIKeyCookie(name="session")
    code_flow = security.OAuth2AuthorizationCodeBearer(authorizationUrl="auth", tokenUrl="tok", refreshUrl="ref")
    oidc = security.OpenIdConnect(openIdConnectUrl="https://example.com/.well-known/openid-configuration")

    def current_user(scopes: security.SecurityScopes, token: Annotated[str, f.Depends(oauth2)]):
        return token

    @app.post("/token")
    def login(form: Annotated[security.OAuth2PasswordRequestForm, f.Depends()]):
        return {}

    @app.get("/me")
    def me(user: Annotated[str, f.Security(current_user, scopes=["me"])]):
        return {}

    @app.get("/items")
    def items(
        user: Annotated[str, f.Security(current_user, scopes=["items", "me"])],
        cred: Annotated[Any, f.Depends(bearer)],
    ):
        return {}

    @app.get("/basic", dependencies=[f.Depends(basic)])
    def with_basic():
        return {}

    @app.get("/keys")
    def keys(a: Annotated[str, f.Depends(api_key)], b: Annotated[str, f.Depends(api_cookie)]):
        return {}

    @app.get("/flows")
    def flows(c: Annotated[str, f.Depends(code_flow)], o: Annotated[str, f.Depends(oidc)]):
        return {}

    return app


class Cat(BaseModel):
    kind: Literal["cat"]
    lives: int = 9


class Dog(BaseModel):
    kind: Literal["dog"]
    good: bool = True


class Event(BaseModel):
    model_config = {"json_schema_extra": {"examples": [{"name": "launch", "at": "2026-01-01"}]}}

    name: str = Field(examples=["launch"])
    at: date
    color: Color = Color.blue


def echo_app(f: ModuleType) -> Any:
    app = f.FastAPI()

    @app.post("/echo", response_model=Item)
    def echo(item: Item):
        return item

    @app.post("/pets")
    def pets(pet: Annotated[Cat | Dog, Field(discriminator="kind")]):
        return pet

    @app.post("/events", response_model=list[Event])
    def events(event: Event, tags: Annotated[list[str], f.Query()] = ["a"]):  # noqa: B006
        return [event]

    return app


def responses_app(f: ModuleType) -> Any:
    from importlib import import_module

    responses = import_module(f"{f.__name__}.responses")
    app = f.FastAPI()

    @app.get("/html", response_class=responses.HTMLResponse)
    def html():
        return "<p>hi</p>"

    @app.get("/text", response_class=responses.PlainTextResponse, status_code=202)
    def text():
        return "hi"

    @app.get(
        "/documented",
        responses={
            "4XX": {"description": "Client trouble"},
            "default": {"description": "Anything else"},
            201: {"model": ItemOut, "description": "Made"},
            418: {"content": {"image/png": {}}},
        },
        openapi_extra={"x-internal": True, "parameters": [{"name": "extra", "in": "query"}]},
    )
    def documented(q: int = 0):
        return {}

    @app.get("/files/{file_path:path}")
    def read_file(file_path: str):
        return {}

    @app.get("/model-return")
    def model_return() -> ItemOut:
        return ItemOut(name="x", price=1)

    return app


def empty_app(f: ModuleType) -> Any:
    return f.FastAPI(
        title="Empty",
        version="0.0.1",
        terms_of_service="https://example.com/tos",
        contact={"name": "Team", "email": "team@example.com"},
        license_info={"name": "MIT", "identifier": "MIT"},
    )


class Filters(BaseModel):
    limit: int = Field(100, gt=0, le=100, description="page size")
    order_by: Literal["created_at", "updated_at"] = "created_at"
    tags: list[str] = []


class CommonHeaders(BaseModel):
    user_agent: str | None = None
    x_tag: list[str] = []


class Prefs(BaseModel):
    theme: str = "light"
    session_id: str


def param_models_app(f: ModuleType) -> Any:
    app = f.FastAPI()

    @app.get("/items")
    def items(filters: Annotated[Filters, f.Query()]):
        return {}

    @app.get("/headers")
    def headers(h: Annotated[CommonHeaders, f.Header()]):
        return {}

    @app.get("/raw-headers")
    def raw_headers(h: Annotated[CommonHeaders, f.Header(convert_underscores=False)]):
        return {}

    @app.get("/cookies")
    def cookies(c: Annotated[Prefs, f.Cookie()]):
        return {}

    return app


def methods_app(f: ModuleType) -> Any:
    app = f.FastAPI()

    @app.head("/h")
    def head():
        return None

    @app.options("/o")
    def options():
        return None

    @app.patch("/p/{id}", response_model=None)
    def patch(id: int, item: Item) -> Any:
        return {}

    @app.delete("/d/{id}", status_code=204, response_model=None)
    def delete(id: int) -> None:
        return None

    return app


def dependency_body_app(f: ModuleType) -> Any:
    app = f.FastAPI()

    def owner(user: User, note: Annotated[str, f.Body()] = "none"):
        return user

    @app.post("/own")
    def own(item: Item, who: Annotated[User, f.Depends(owner)]):
        return {}

    return app


def scalars_app(f: ModuleType) -> Any:
    from datetime import datetime, timedelta
    from decimal import Decimal

    app = f.FastAPI()

    @app.get("/colors/{color}")
    def color(
        color: Color,
        at: datetime | None = None,
        wait: timedelta | None = None,
        amount: Annotated[Decimal, f.Query(max_digits=6, decimal_places=2)] = Decimal("1.00"),
        ratio: Annotated[float, f.Query(multiple_of=0.5, lt=10)] = 1.0,
        flag: bool = False,
        raw: bytes | None = None,
    ):
        return {}

    return app


def router_dependencies_app(f: ModuleType) -> Any:
    app = f.FastAPI()

    def tenant(x_tenant: Annotated[str, f.Header()]):
        return x_tenant

    def trace(trace_id: Annotated[str | None, f.Cookie()] = None):
        return trace_id

    router = f.APIRouter(dependencies=[f.Depends(tenant)], responses={401: {"description": "No tenant"}})

    @router.get("/reports/{year}", responses={200: {"description": "The report"}, 404: {"model": Image}})
    def report(year: int, fmt: str = "json"):
        return {}

    app.include_router(router, prefix="/api", dependencies=[f.Depends(trace)], tags=["reports"], deprecated=True)
    return app


def docs_metadata_app(f: ModuleType) -> Any:
    app = f.FastAPI(
        title="Shop",
        version="3.1.4",
        description="**Markdown** description",
        openapi_tags=[{"name": "shop", "description": "Buy things", "externalDocs": {"url": "https://example.com"}}],
    )

    @app.get("/catalog", tags=["shop"], summary="The catalog", description="Everything we sell.")
    def catalog(page: int = 1):
        return []

    @app.get("/catalog/{sku}", tags=["shop"], operation_id="getProduct", response_description="One product")
    def product(sku: str) -> ItemOut:
        return ItemOut(name=sku, price=1)

    return app


class Invoice(BaseModel):
    id: str
    customer: str
    total: float
    callback_url: str


class InvoiceEvent(BaseModel):
    description: str
    paid: bool


class InvoiceEventReceived(BaseModel):
    ok: bool


def callbacks_app(f: ModuleType) -> Any:
    app = f.FastAPI()
    callback_router = f.APIRouter()

    @callback_router.post(
        "{$request.body.callback_url}/invoices/{$request.body.id}", response_model=InvoiceEventReceived
    )
    def invoice_notification(body: InvoiceEvent):
        return {}

    # A callback with a path parameter and a query parameter: its own operationId and 422 response
    # (the 422's components are not collected from callbacks; the route's own body brings them).
    @callback_router.get("{$request.body.callback_url}/status/{status_id}", summary="Status poll", tags=["cb"])
    def invoice_status(status_id: int, verbose: bool = False):
        return {}

    @app.post("/invoices/", callbacks=callback_router.routes, tags=["invoices"])
    def create_invoice(invoice: Invoice):
        return {"msg": "Invoice received"}

    # A route without parameters: the callback's 422 refers to HTTPValidationError, which only
    # the other route's body puts in components (FastAPI drops the callbacks' components).
    ping_callbacks = f.APIRouter()

    @ping_callbacks.get("{$request.query.url}/pong")
    def pong(delay: float = 0):
        return {}

    @app.get("/ping", callbacks=ping_callbacks.routes, operation_id="ping")
    def ping():
        return {}

    return app


def router_callbacks_app(f: ModuleType) -> Any:
    app = f.FastAPI()
    router_level = f.APIRouter()
    include_level = f.APIRouter()
    route_level = f.APIRouter()

    @router_level.post("{$request.query.hook}/created")
    def on_created(event: InvoiceEvent):
        return {}

    @include_level.put("{$request.query.hook}/audit", description="Audit trail.")
    def on_audit(entry: User) -> InvoiceEventReceived:
        return InvoiceEventReceived(ok=True)

    @route_level.delete("{$request.query.hook}/gone", status_code=204)
    def on_gone():
        return None

    # One route per router: a callback shared by two routes repeats its operationId, which
    # FastAPI warns about (and warnings fail these tests).
    router = f.APIRouter(prefix="/things", callbacks=router_level.routes)

    @router.post("/", callbacks=route_level.routes)
    def create_thing(hook: str, item: Item):
        return {}

    app.include_router(router, prefix="/v1", callbacks=include_level.routes)

    direct = f.APIRouter(prefix="/hooks")

    @direct.patch("{$request.body#/url}")
    def on_patch(patch: Annotated[Image, f.Body(embed=True)]):
        return {}

    def patch_thing(image: Image):
        return {}

    app.router.add_api_route("/patch", patch_thing, methods=["PATCH"], callbacks=direct.routes)
    return app


def callback_components_app(f: ModuleType) -> Any:
    from importlib import import_module

    security = import_module(f"{f.__name__}.security")
    app = f.FastAPI()
    callbacks = f.APIRouter()
    signature = security.APIKeyHeader(name="X-Signature")

    # FastAPI keeps no components from callbacks: neither this security scheme nor the
    # ValidationError models its 422 refers to (the document is left with dangling $refs).
    @callbacks.post("{$request.query.url}/signed", dependencies=[f.Depends(signature)])
    def signed(attempt: int = 1):
        return {}

    # Left out of the schema: documented as an empty path item.
    @callbacks.post("{$request.query.url}/quiet", include_in_schema=False)
    def quiet(item: Item):
        return {}

    @app.get("/subscribe", callbacks=callbacks.routes)
    def subscribe():
        return {}

    return app


class Subscription(BaseModel):
    """A new subscription."""

    username: str
    monthly_fee: float
    start_date: date


def webhooks_app(f: ModuleType) -> Any:
    from importlib import import_module

    security = import_module(f"{f.__name__}.security")
    app = f.FastAPI()
    signature = security.APIKeyHeader(name="X-Signature")

    @app.webhooks.post("new-subscription", summary="New subscription", tags=["subscriptions"])
    def new_subscription(body: Subscription):
        """When a user subscribes, we send this POST to your URL."""

    @app.webhooks.put("/cancelled", description="A subscription was cancelled.", response_model=User)
    def cancelled(user: User, sig: Annotated[str, f.Depends(signature)]):
        return user

    @app.webhooks.post("hidden", include_in_schema=False)
    def hidden(item: Item):
        return {}

    @app.get("/users/{username}")
    def read_user(username: str) -> User:
        return User(username=username)

    return app


APPS: dict[str, Callable[[ModuleType], Any]] = {
    "callbacks": callbacks_app,
    "router-callbacks": router_callbacks_app,
    "callback-components": callback_components_app,
    "webhooks": webhooks_app,
    "scalars": scalars_app,
    "router-dependencies": router_dependencies_app,
    "docs-metadata": docs_metadata_app,
    "param-models": param_models_app,
    "methods": methods_app,
    "dependency-body": dependency_body_app,
    "echo": echo_app,
    "responses": responses_app,
    "empty": empty_app,
    "security": security_app,
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


def test_webhooks_are_documented_but_not_served() -> None:
    app = webhooks_app(turboapi)
    with turboapi.testclient.TestClient(app) as client:
        body = {"username": "ann", "monthly_fee": 1, "start_date": "2026-01-01"}
        assert client.post("/new-subscription", json=body).status_code == 404
        assert client.get("/users/ann").status_code == 200


def test_callback_routes_are_documented_not_registered() -> None:
    app = callbacks_app(turboapi)
    served = [route.name for route in app.routes if getattr(route, "include_in_schema", False)]
    assert served == ["create_invoice", "ping"]


def test_callbacks_order_include_then_router_then_route() -> None:
    routes = turboapi.routing.iter_route_contexts(router_callbacks_app(turboapi).routes)
    route = next(r for r in routes if getattr(r, "include_in_schema", False))
    assert [callback.name for callback in route.callbacks] == ["on_audit", "on_created", "on_gone"]


def test_api_route_keeps_its_callbacks() -> None:
    callbacks = turboapi.APIRouter().routes
    assert turboapi.routing.APIRoute("/a", lambda: 1, callbacks=callbacks).callbacks is callbacks


def test_an_unknown_route_option_is_still_refused() -> None:
    router = turboapi.APIRouter()
    with pytest.raises(turboapi.exceptions.FastAPIError, match="no_such_option"):

        @router.get("/a", no_such_option="x")
        def a():
            return 1
