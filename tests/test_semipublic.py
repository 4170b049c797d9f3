"""FastAPI's semi-public modules that libraries import (``fastapi.dependencies.utils`` and
``.models``, ``fastapi.utils``, ``fastapi._compat``, ``fastapi.routing``'s handler factories), and
what they do on a real app: ``route.dependant``, a library adding a dependency to a route
(fastapi-pagination), wrapping ``get_request_handler`` (sentry-sdk), building handlers from
dependants, or decorating an endpoint with a ``__signature__`` of its own (fastapi-cache2)."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import inspect
from contextlib import AsyncExitStack
from typing import Annotated, Any

import pytest
import starlette.background
import starlette.requests
import starlette.responses
import starlette.routing
import starlette.websockets
from pydantic import BaseModel

import turboapi
from turboapi import Depends, FastAPI, Header, Query, Security, routing
from turboapi._compat import ModelField, field_annotation_is_scalar, lenient_issubclass
from turboapi.datastructures import Default, DefaultPlaceholder
from turboapi.dependencies.models import Dependant
from turboapi.dependencies.utils import (
    _get_body_field,
    _get_flat_body_params,
    get_dependant,
    get_flat_params,
    get_parameterless_sub_dependant,
    get_typed_return_annotation,
    get_typed_signature,
    solve_dependencies,
)
from turboapi.exceptions import FastAPIError
from turboapi.security import SecurityScopes
from turboapi.testclient import TestClient
from turboapi.utils import (
    create_model_field,
    deep_dict_update,
    generate_unique_id,
    get_path_param_names,
    get_value_or_default,
    is_body_allowed_for_status_code,
)


class Item(BaseModel):
    name: str
    price: float = 1.0


class Opaque:
    """A type pydantic has no schema for."""


def names(fields: list[ModelField]) -> list[str]:
    return [f.name for f in fields]


# -- the modules and their names -------------------------------------------------------------------
def test_dependencies_package_keeps_the_analysis_names():
    from turboapi import dependencies

    for name in ("analyze", "fresh_default", "validate", "ParamSpec", "BodyField", "EndpointSignature", "_unwrap"):
        assert getattr(dependencies, name) is getattr(dependencies.analysis, name)


def test_dependant_has_fastapis_fields():
    assert [f.name for f in dataclasses.fields(Dependant)] == [
        "path_params",
        "query_params",
        "header_params",
        "cookie_params",
        "body_params",
        "dependencies",
        "name",
        "call",
        "request_param_name",
        "websocket_param_name",
        "http_connection_param_name",
        "response_param_name",
        "background_tasks_param_name",
        "security_scopes_param_name",
        "own_oauth_scopes",
        "parent_oauth_scopes",
        "use_cache",
        "path",
        "scope",
    ]


def test_routing_names_libraries_import():
    from turboapi.routing import (  # noqa: F401
        Mount,
        _IncludedRouter,
        get_request_handler,
        get_websocket_app,
        request_response,
        run_endpoint_function,
        serialize_response,
        websocket_session,
    )

    assert Mount is starlette.routing.Mount
    assert request_response is starlette.routing.request_response
    assert websocket_session is starlette.routing.websocket_session


def test_missing_routing_names_are_attribute_errors():
    assert not hasattr(routing, "NoSuchThing")
    assert issubclass(turboapi.NotSupportedYet, AttributeError)
    with pytest.raises(ImportError):
        exec("from turboapi.routing import NoSuchThing", {})


def test_utils():
    main = {"a": {"b": 1, "l": [1]}, "c": 1}
    deep_dict_update(main, {"a": {"d": 2, "l": [2]}, "c": {"x": 1}})
    assert main == {"a": {"b": 1, "l": [1, 2], "d": 2}, "c": {"x": 1}}
    assert get_value_or_default(Default(1), 2, Default(3)) == 2
    first = Default(1)
    assert get_value_or_default(first, Default(2)) is first
    assert isinstance(first, DefaultPlaceholder)
    assert [is_body_allowed_for_status_code(c) for c in (None, 200, 204, 304, "default", "2XX", "404")] == [
        True,
        True,
        False,
        False,
        True,
        True,
        True,
    ]
    assert get_path_param_names("/a/{b}/{c:path}") == {"b", "c:path"}
    field = create_model_field("Response_x", int, mode="serialization")
    assert field.validate("3", loc=("response",)) == (3, [])
    assert field.serialize_json(3) == b"3"
    with pytest.raises(FastAPIError, match="Invalid args for response field"):
        create_model_field("x", Opaque)


def test_compat_predicates():
    assert lenient_issubclass(list[int], list) is False
    assert lenient_issubclass(bool, int)
    assert field_annotation_is_scalar(int)
    assert not field_annotation_is_scalar(Item)
    assert not field_annotation_is_scalar(list[int])


def test_typed_signature_and_return_annotation():
    def endpoint(a: int, b: Item | None = None) -> list[Item]:
        return []

    signature = get_typed_signature(endpoint)
    assert [(p.name, p.annotation) for p in signature.parameters.values()] == [("a", int), ("b", Item | None)]
    assert get_typed_return_annotation(endpoint) == list[Item]


# -- route.dependant ---------------------------------------------------------------------------------
def verify_key(x_key: Annotated[str, Header()]):
    return x_key


def common(q: str | None = None, limit: Annotated[int, Query(ge=1)] = 10):
    return {"q": q, "limit": limit}


def scoped(security_scopes: SecurityScopes):
    return security_scopes.scopes


def make_app() -> FastAPI:
    app = FastAPI(dependencies=[Depends(verify_key)])

    @app.post("/items/{item_id}")
    def create(
        item_id: int,
        item: Item,
        request: starlette.requests.Request,
        response: starlette.responses.Response,
        tasks: starlette.background.BackgroundTasks,
        commons: Annotated[dict, Depends(common)],
        who: Annotated[list[str], Security(scoped, scopes=["items:write"])],
        tag: Annotated[list[str], Query()] = [],  # noqa: B006
    ):
        return {"item_id": item_id, "item": item, "commons": commons, "who": who, "tag": tag}

    return app


def test_route_dependant_describes_the_route():
    route = make_app().routes[-1]
    dependant = route.dependant
    assert dependant is route.dependant  # built once
    assert dependant.call is route.endpoint
    assert dependant.path == "/items/{item_id}"
    assert names(dependant.path_params) == ["item_id"]
    assert names(dependant.query_params) == ["tag"]
    assert names(dependant.body_params) == ["item"]
    assert (dependant.request_param_name, dependant.response_param_name, dependant.background_tasks_param_name) == (
        "request",
        "response",
        "tasks",
    )
    assert [(d.call, d.name) for d in dependant.dependencies] == [
        (verify_key, None),
        (common, "commons"),
        (scoped, "who"),
    ]
    assert names(dependant.dependencies[0].header_params) == ["x_key"]
    assert dependant.dependencies[0].header_params[0].alias == "x-key"
    assert dependant.dependencies[2].own_oauth_scopes == ["items:write"]
    assert dependant.dependencies[2].security_scopes_param_name == "security_scopes"
    assert names(get_flat_params(dependant)) == ["item_id", "tag", "q", "limit", "x_key"]
    assert route._embed_body_fields is False
    assert route.body_field is dependant.body_params[0]
    assert route.unique_id == generate_unique_id(route) == "create_items__item_id__post"


def test_route_fields_of_the_response():
    app = FastAPI()

    @app.get("/item", response_model=Item, responses={404: {"model": Item}})
    def read():
        return {}

    route = app.routes[-1]
    assert route.response_field.name == "Response_read_item_get"
    assert route.response_field.mode == "serialization"
    assert list(route.response_fields) == [404]
    assert route.stream_item_field is None
    assert not route.is_json_stream


# -- a library that adds a dependency to a route (fastapi-pagination's way) ---------------------------
def test_a_dependency_added_to_route_dependant_runs():
    app = FastAPI()
    seen: list[Any] = []

    @app.get("/things/{thing_id}")
    async def thing(thing_id: int):
        return {"thing_id": thing_id, "seen": list(seen)}

    def page_ctx(response: starlette.responses.Response, page: Annotated[int, Query(ge=1)] = 1):
        seen.append(page)
        response.headers["x-page"] = str(page)

    route = app.routes[-1]
    dep = Depends(page_ctx)
    route.dependencies.append(dep)
    route.dependant.dependencies.append(get_parameterless_sub_dependant(depends=dep, path=route.path_format))
    route.body_field = _get_body_field(
        body_params=_get_flat_body_params(route.dependant), name=route.unique_id, embed_body_fields=False
    )
    route.app = routing.request_response(route.get_route_handler())
    with TestClient(app) as client:
        ok = client.get("/things/3?page=2")
        assert ok.status_code == 200
        assert ok.json() == {"thing_id": 3, "seen": [2]}
        assert ok.headers["x-page"] == "2"
        bad = client.get("/things/3?page=0")
        assert bad.status_code == 422
        assert [e["loc"] for e in bad.json()["detail"]] == [["query", "page"]]
        assert client.get("/things/x").json()["detail"][0]["loc"] == ["path", "thing_id"]


# -- a library that wraps get_request_handler (sentry-sdk's way) ----------------------------------------
@pytest.fixture
def wrapped_handlers(monkeypatch):
    calls: list[str] = []
    original = routing.get_request_handler

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        dependant = kwargs["dependant"]
        call = dependant.call
        if not inspect.iscoroutinefunction(call):

            @functools.wraps(call)
            def wrapped_call(*a: Any, **kw: Any) -> Any:
                calls.append("sync endpoint")
                return call(*a, **kw)

            dependant.call = wrapped_call
        handler = original(*args, **kwargs)

        async def app(request: Any) -> Any:
            calls.append(f"handler {request.url.path}")
            return await handler(request)

        return app

    assert routing.uses_default_handler()
    monkeypatch.setattr(routing, "get_request_handler", wrapper)
    return calls


def test_a_wrapped_get_request_handler_is_what_the_route_runs(wrapped_handlers, monkeypatch):
    from turboapi import routehandler

    made: list[str] = []
    for name in ("request_handler", "standalone_request_handler"):
        original = getattr(routehandler, name)
        monkeypatch.setattr(routehandler, name, lambda arg, _o=original, _n=name: made.append(_n) or _o(arg))
    app = FastAPI()

    @app.get("/async/{n}")
    async def asynchronous(n: int, q: int = 0):
        return {"n": n, "q": q}

    @app.get("/sync/{n}", response_model=Item)
    def synchronous(n: int, background: starlette.background.BackgroundTasks):
        background.add_task(wrapped_handlers.append, "background")
        return {"name": f"n{n}", "price": n, "dropped": True}

    assert not routing.uses_default_handler(app.routes[-1])
    for route in app.routes[-2:]:
        # What routetable does for a route when the module's handler factory is not turboapi's.
        route.app = routing.request_response(route.get_route_handler())
    # The async endpoint is the route's as planned: the core runs it. The sync one was wrapped:
    # its dependant's call is not the endpoint any more, so it is solved in Python.
    assert made == ["request_handler", "standalone_request_handler"]
    with TestClient(app) as client:
        assert client.get("/async/1?q=2").json() == {"n": 1, "q": 2}
        assert client.get("/async/x").status_code == 422
        assert client.get("/sync/4").json() == {"name": "n4", "price": 4.0}
    assert wrapped_handlers == [
        "handler /async/1",
        "handler /async/x",
        "handler /sync/4",
        "sync endpoint",
        "background",
    ]


def test_uses_default_handler_tells_websocket_routes_apart(monkeypatch):
    app = FastAPI()

    @app.websocket("/ws")
    async def ws(websocket: starlette.websockets.WebSocket):
        await websocket.close()

    websocket_route = app.routes[-1]
    monkeypatch.setattr(routing, "get_request_handler", lambda **kwargs: None)
    assert routing.uses_default_handler(websocket_route)
    assert not routing.uses_default_handler()
    monkeypatch.setattr(routing, "get_websocket_app", lambda **kwargs: None)
    assert not routing.uses_default_handler(websocket_route)


# -- handlers built from a dependant ---------------------------------------------------------------------
log: list[str] = []


async def session():
    log.append("session open")
    yield "session"
    log.append("session closed")


def test_get_request_handler_for_a_dependant_of_its_own():
    log.clear()

    def endpoint(item: Item, db: Annotated[str, Depends(session)], background: starlette.background.BackgroundTasks):
        background.add_task(log.append, "background")
        return {"item": item, "db": db}

    dependant = get_dependant(path="/custom", call=endpoint)
    handler = routing.get_request_handler(
        dependant=dependant,
        body_field=dependant.body_params[0],
        response_field=create_model_field("Response", dict[str, Any], mode="serialization"),
    )
    app = FastAPI()
    route = starlette.routing.Route("/custom", endpoint=handler, methods=["POST"])
    app.router.routes.append(route)
    with TestClient(app) as client:
        ok = client.post("/custom", json={"name": "a"})
        assert ok.json() == {"item": {"name": "a", "price": 1.0}, "db": "session"}
        assert log == ["session open", "background", "session closed"]
        bad = client.post("/custom", json={"price": "x"})
        assert bad.status_code == 422
        assert [e["loc"] for e in bad.json()["detail"]] == [["body", "name"], ["body", "price"]]
        assert client.post("/custom", content=b"{", headers={"content-type": "application/json"}).status_code == 422


def test_get_websocket_app_for_a_dependant_of_its_own():
    async def endpoint(websocket: starlette.websockets.WebSocket, token: str):
        await websocket.accept()
        await websocket.send_json({"token": token})
        await websocket.close()

    app = FastAPI()
    handler = routing.get_websocket_app(dependant=get_dependant(path="/ws", call=endpoint))
    app.router.routes.append(starlette.routing.WebSocketRoute("/ws", endpoint=handler))
    with TestClient(app) as client, client.websocket_connect("/ws?token=t") as websocket:
        assert websocket.receive_json() == {"token": "t"}


def doubling(q: int, response: starlette.responses.Response):
    response.headers["x-dep"] = "1"
    return q * 2


def doubled_endpoint(
    doubled: Annotated[int, Depends(doubling)],
    again: Annotated[int, Depends(doubling)],
    conn: starlette.requests.HTTPConnection,
    scopes: SecurityScopes,
):
    return doubled


def test_solve_dependencies_on_a_starlette_request():
    asyncio.run(solve_on_a_starlette_request())


async def solve_on_a_starlette_request():
    dependant = get_dependant(path="/", call=doubled_endpoint)
    async with AsyncExitStack() as stack:
        scope = {
            "type": "http",
            "method": "GET",
            "path": "/",
            "query_string": b"q=21",
            "headers": [],
            "fastapi_inner_astack": stack,
            "fastapi_function_astack": stack,
        }
        request = starlette.requests.Request(scope)
        solved = await solve_dependencies(
            request=request, dependant=dependant, async_exit_stack=stack, embed_body_fields=False
        )
        assert solved.errors == []
        assert solved.values["doubled"] == solved.values["again"] == 42
        assert solved.values["conn"] is request
        assert solved.values["scopes"].scopes == []
        assert solved.response.headers["x-dep"] == "1"
        assert list(solved.dependency_cache.values()) == [42]
        scope["query_string"] = b""
        request = starlette.requests.Request(scope)
        missing = await solve_dependencies(
            request=request, dependant=dependant, async_exit_stack=stack, embed_body_fields=False
        )
        assert [e["loc"] for e in missing.errors] == [("query", "q"), ("query", "q")]


# -- response_model values that are not types -----------------------------------------------------------
@pytest.mark.parametrize("falsy", [{}, [], 0, ""])
def test_a_falsy_response_model_is_no_response_model(falsy):
    app = FastAPI()

    @app.get("/x", response_model=falsy)
    def read():
        return {"a": 1, "b": [2]}

    assert app.routes[-1].response_field is None
    with TestClient(app) as client:
        assert client.get("/x").json() == {"a": 1, "b": [2]}
        schema = client.get("/openapi.json").json()["paths"]["/x"]["get"]["responses"]["200"]
    assert schema == {"description": "Successful Response", "content": {"application/json": {"schema": {}}}}


def test_a_response_model_pydantic_cannot_use_is_refused_at_registration():
    app = FastAPI()
    with pytest.raises(FastAPIError, match="Invalid args for response field"):

        @app.get("/x", response_model=5)
        def read():
            return 1


# -- a decorator that gives the endpoint a signature of its own (fastapi-cache2's way) ------------------
class MyRequest(starlette.requests.Request):
    pass


def injecting(func):
    """Adds ``request``, ``response``, ``tasks`` and ``conn`` parameters (Starlette's classes and a
    subclass) to the endpoint's ``__signature__``, and keeps them from the endpoint."""
    signature = inspect.signature(func)
    extra = [
        inspect.Parameter("request", inspect.Parameter.KEYWORD_ONLY, annotation=MyRequest),
        inspect.Parameter("response", inspect.Parameter.KEYWORD_ONLY, annotation=starlette.responses.Response),
        inspect.Parameter("tasks", inspect.Parameter.KEYWORD_ONLY, annotation=starlette.background.BackgroundTasks),
        inspect.Parameter("conn", inspect.Parameter.KEYWORD_ONLY, annotation="starlette.requests.HTTPConnection"),
    ]

    @functools.wraps(func)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        request, response, tasks, conn = (kwargs.pop(k) for k in ("request", "response", "tasks", "conn"))
        response.headers["x-path"] = request.url.path
        response.headers["x-same"] = str(conn is request)
        tasks.add_task(log.append, "decorated background")
        result = func(*args, **kwargs)
        return await result if inspect.isawaitable(result) else result

    wrapper.__signature__ = signature.replace(parameters=[*signature.parameters.values(), *extra])
    return wrapper


def test_special_parameters_of_a_decorators_signature_are_injected():
    log.clear()
    app = FastAPI()

    @app.get("/square/{n}")
    @injecting
    async def square(n: int, q: int = 0):
        return {"square": n * n, "q": q}

    @app.get("/sync/{n}")
    @injecting
    def sync_square(n: int):
        return {"square": n * n}

    dependant = app.routes[-2].dependant
    assert names(dependant.query_params) == ["q"]
    assert (dependant.request_param_name, dependant.response_param_name) == ("request", "response")
    assert (dependant.background_tasks_param_name, dependant.http_connection_param_name) == ("tasks", "conn")
    with TestClient(app) as client:
        for path, body in (("/square/3?q=1", {"square": 9, "q": 1}), ("/sync/4", {"square": 16})):
            response = client.get(path)
            assert (response.status_code, response.json()) == (200, body)
            assert response.headers["x-path"] == path.split("?")[0]
            assert response.headers["x-same"] == "True"
    assert log == ["decorated background", "decorated background"]
