"""Differential test of FastAPI's semi-public modules: ``fastapi.dependencies.utils`` (dependants,
``solve_dependencies``), ``fastapi._compat``'s predicates, ``fastapi.utils``, ``route.dependant``,
``get_request_handler`` for a dependant of one's own, and what FastAPI does with a falsy
``response_model`` or an endpoint whose decorator gives it a ``__signature__`` of its own.

The same callables (written once against a framework ``fw``) are analysed by FastAPI 0.141.1 and
by turboapi, and what each reports is compared as plain data (class names, aliases, locations;
``turboapi`` spelled ``fastapi`` where a module path shows).
"""

import asyncio
import dataclasses
import functools
import importlib
import inspect
import json
import types
from collections import deque
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import AsyncExitStack
from typing import Annotated, Any

import pytest
import starlette.background
import starlette.requests
import starlette.responses
import starlette.routing
import starlette.websockets
from pydantic import BaseModel

pytest.importorskip("fastapi")

from fastapi_reference import FastAPITestClient  # noqa: E402
from turboapi.testclient import TestClient  # noqa: E402

Request = starlette.requests.Request
HTTPConnection = starlette.requests.HTTPConnection
Response = starlette.responses.Response
WebSocket = starlette.websockets.WebSocket
BackgroundTasks = starlette.background.BackgroundTasks


class Item(BaseModel):
    name: str
    price: float = 1.0


class Filters(BaseModel):
    color: str | None = None
    size: list[int] = []


class HeaderModel(BaseModel):
    x_trace: str
    user_agent: str | None = None


class Login(BaseModel):
    username: str
    password: str


def framework(package: str) -> types.SimpleNamespace:
    def module(name: str) -> Any:
        return importlib.import_module(f"{package}.{name}" if name else package)

    return types.SimpleNamespace(
        name=package,
        top=module(""),
        params=module("params"),
        utils=module("utils"),
        compat=module("_compat"),
        deps=module("dependencies.utils"),
        models=module("dependencies.models"),
        routing=module("routing"),
        security=module("security"),
        client=FastAPITestClient if package == "fastapi" else TestClient,
    )


FRAMEWORKS = {name: framework(name) for name in ("fastapi", "turboapi")}


def both(build: Any) -> dict[str, Any]:
    """``build(fw)`` for each framework; an exception is kept as its class name."""
    out = {}
    for name, fw in FRAMEWORKS.items():
        try:
            out[name] = build(fw)
        except Exception as exc:  # compared: both must refuse alike
            out[name] = f"raised {type(exc).__name__}"
    return out


def same(build: Any) -> Any:
    """What ``build`` gives with FastAPI (which must not raise), and turboapi gives the same."""
    seen = both(build)
    assert not (isinstance(seen["fastapi"], str) and seen["fastapi"].startswith("raised")), seen["fastapi"]
    assert seen["turboapi"] == seen["fastapi"]
    return seen["fastapi"]


def plain(value: Any) -> str:
    return repr(value).replace("turboapi", "fastapi")


def field(f: Any) -> tuple[Any, ...]:
    info = f.field_info
    return (
        f.name,
        f.alias,
        getattr(f, "validation_alias", None),
        f.mode,
        type(info).__name__,
        getattr(getattr(info, "in_", None), "value", None),
        info.is_required(),
        plain(info.default),
        plain(info.annotation),
        [plain(m) for m in info.metadata],
        getattr(info, "embed", None),
        getattr(info, "media_type", None),
    )


def dependant(d: Any) -> dict[str, Any]:
    return {
        "call": getattr(d.call, "__qualname__", plain(d.call)).split("<locals>.")[-1],
        **{k: getattr(d, k) for k in ("name", "path", "scope", "use_cache", "own_oauth_scopes", "parent_oauth_scopes")},
        **{k: [field(f) for f in getattr(d, k)] for k in ("path_params", "query_params", "header_params")},
        **{k: [field(f) for f in getattr(d, k)] for k in ("cookie_params", "body_params")},
        **{
            k: getattr(d, k)
            for k in (
                "request_param_name",
                "websocket_param_name",
                "http_connection_param_name",
                "response_param_name",
                "background_tasks_param_name",
                "security_scopes_param_name",
            )
        },
        "dependencies": [dependant(sub) for sub in d.dependencies],
    }


# -- the callables -------------------------------------------------------------------------------------
def callables(fw: Any) -> dict[str, tuple[str, Any]]:
    p = fw.params
    SecurityScopes = fw.security.SecurityScopes  # noqa: N806
    UploadFile = fw.top.UploadFile  # noqa: N806

    def common(q: str | None = None, limit: Annotated[int, p.Query(ge=1, le=100)] = 10):
        return {"q": q, "limit": limit}

    def token(x_token: Annotated[str, p.Header()], session: Annotated[str | None, p.Cookie()] = None):
        return x_token

    def raw_header(x_raw: Annotated[str | None, p.Header(convert_underscores=False)] = None):
        return x_raw

    def leaf(security_scopes: SecurityScopes):
        return security_scopes.scopes

    def middle(scopes: Annotated[list[str], p.Security(leaf, scopes=["b", "a"])]):
        return scopes

    class Pager:
        def __init__(self, page: int = 1, size: Annotated[int, p.Query(alias="per-page")] = 20):
            self.page, self.size = page, size

    async def session():
        yield "session"

    def everything(
        item_id: Annotated[int, p.Path(gt=0)],
        item: Item,
        req: Request,
        resp: Response,
        tasks: BackgroundTasks,
        ws: WebSocket,
        conn: HTTPConnection,
        commons: Annotated[dict, p.Depends(common)],
        tok: Annotated[str, p.Depends(token)],
        raw: Annotated[str | None, p.Depends(raw_header)],
        pager: Annotated[Pager, p.Depends()],
        scoped: Annotated[list[str], p.Security(middle, scopes=["a", "c"])],
        db: Annotated[str, p.Depends(session, scope="request")],
        fresh: Annotated[dict, p.Depends(common, use_cache=False)],
        tags: Annotated[list[str], p.Query()] = [],  # noqa: B006
        when: Annotated[str, p.Query(validation_alias="When")] = "now",
        importance: Annotated[int, p.Body(embed=True, ge=0)] = 1,
        plain_default="x",
        old_style: int = p.Query(3, lt=10),
        *,
        factory: Annotated[int, p.Query(default_factory=lambda: 5)],
    ):
        return item

    def form(
        username: Annotated[str, p.Form()],
        password: Annotated[str, p.Form(min_length=3)],
        upload: UploadFile,
        files: list[UploadFile] = p.File(),  # noqa: B008
        data: Annotated[bytes | None, p.File()] = None,
    ):
        return username

    def models(filters: Annotated[Filters, p.Query()], headers: Annotated[HeaderModel, p.Header()]):
        return filters

    def single_body(item: Item):
        return item

    def embedded(item: Annotated[Item, p.Body(embed=True)]):
        return item

    def form_model(login: Annotated[Login, p.Form()]):
        return login

    def sequences(a: tuple[int, ...] = (), b: set[str] = p.Query(set()), c: deque[float] | None = None):  # noqa: B008
        return a

    return {
        "everything": ("/items/{item_id}", everything),
        "form": ("/form", form),
        "models": ("/models", models),
        "single_body": ("/one", single_body),
        "embedded": ("/embedded", embedded),
        "form_model": ("/login", form_model),
        "sequences": ("/seq", sequences),
    }


CALLABLES = list(callables(FRAMEWORKS["turboapi"]))


@pytest.mark.parametrize("name", CALLABLES)
def test_get_dependant(name):
    def build(fw: Any) -> Any:
        path, call = callables(fw)[name]
        return dependant(fw.deps.get_dependant(path=path, call=call))

    same(build)


@pytest.mark.parametrize("name", CALLABLES)
def test_flat_params_and_body_field(name):
    def build(fw: Any) -> Any:
        path, call = callables(fw)[name]
        d = fw.deps.get_dependant(path=path, call=call)
        body = fw.deps._get_flat_body_params(d)
        embed = fw.deps._should_embed_body_fields(body)
        body_field = fw.deps._get_body_field(body_params=body, name="op", embed_body_fields=embed)
        return {
            "flat": [field(f) for f in fw.deps.get_flat_params(d)],
            "body": [f.name for f in body],
            "embed": embed,
            "body_field": None
            if body_field is None
            else (
                body_field.name,
                body_field.alias,
                type(body_field.field_info).__name__,
                plain(body_field.field_info.annotation),
            ),
        }

    same(build)


def test_invalid_parameters_are_refused_alike():
    def bad(fw: Any) -> dict[str, Any]:
        p = fw.params

        def path_default(item_id: Annotated[int, p.Path()] = 3):
            pass

        def query_model_list(q: Annotated[list[Item], p.Query()]):
            pass

        out = {}
        for call in (path_default, query_model_list):
            try:
                fw.deps.get_dependant(path="/{item_id}", call=call)
                out[call.__name__] = "accepted"
            except AssertionError:
                out[call.__name__] = "AssertionError"
        return out

    assert same(bad) == {"path_default": "AssertionError", "query_model_list": "AssertionError"}


def test_route_dependant_of_an_app_route():
    def build(fw: Any) -> Any:
        p = fw.params

        def verify(x_key: Annotated[str, p.Header()]):
            return x_key

        def router_level(r: int = 0):
            return r

        app = fw.top.FastAPI(dependencies=[p.Depends(verify)])
        router = fw.top.APIRouter(dependencies=[p.Security(router_level, scopes=["r"])])

        @app.post("/things/{thing_id}")
        @router.post("/things/{thing_id}")
        def thing(thing_id: int, item: Item, q: str | None = None):
            return item

        out = {}
        for label, route in (("app", app.routes[-1]), ("router", router.routes[-1])):
            out[label] = {
                "dependant": dependant(route.dependant),
                "embed": route._embed_body_fields,
                "body_field": field(route.body_field),
                "unique_id": route.unique_id,
            }
        return out

    same(build)


def test_solve_dependencies():
    def build(fw: Any) -> Any:
        _, call = callables(fw)["everything"]
        d = fw.deps.get_dependant(path="/items/{item_id}", call=call)

        async def solve(query: bytes, headers: list[tuple[bytes, bytes]], body: Any) -> Any:
            async with AsyncExitStack() as stack:
                scope = {
                    "type": "http",
                    "method": "POST",
                    "path": "/items/3",
                    "path_params": {"item_id": "3"},
                    "query_string": query,
                    "headers": headers,
                    "fastapi_inner_astack": stack,
                    "fastapi_function_astack": stack,
                }
                solved = await fw.deps.solve_dependencies(
                    request=Request(scope), dependant=d, body=body, async_exit_stack=stack, embed_body_fields=True
                )
                values = {
                    k: v
                    for k, v in solved.values.items()
                    if k not in ("req", "resp", "tasks", "ws", "conn", "pager", "plain_default")
                }
                return {
                    "values": json.loads(json.dumps(values, default=lambda o: o.model_dump())),
                    "pager": vars(solved.values["pager"]) if "pager" in solved.values else None,
                    "errors": [(e["type"], e["loc"]) for e in solved.errors],
                    "special": sorted(k for k in solved.values if k in ("req", "conn", "tasks", "resp")),
                    "cached": len(solved.dependency_cache),
                }

        headers = [(b"x-token", b"t"), (b"x_raw", b"r"), (b"cookie", b"session=s")]
        good = asyncio.run(solve(b"q=a&tags=1&tags=2&When=later&per-page=5", headers, {"item": {"name": "n"}}))
        bad = asyncio.run(solve(b"limit=0&old_style=11", [], {"item": {}, "importance": -1}))
        return {"good": good, "bad": bad}

    same(build)


ANNOTATIONS = [
    int,
    str,
    bytes,
    bytes | None,
    list[int],
    list[bytes],
    tuple[int, ...],
    set[str] | None,
    Sequence[int],
    deque[int],
    dict[str, int],
    Item,
    Item | None,
    list[Item],
    Annotated[list[int], "x"],
    Annotated[int, "x"],
    list[int] | int,
    list[Item] | int,
]


def test_compat_predicates():
    def build(fw: Any) -> Any:
        c = fw.compat
        upload = fw.top.UploadFile
        annotations = [*ANNOTATIONS, upload, upload | None, list[upload]]
        predicates = [
            c.field_annotation_is_scalar,
            c.field_annotation_is_sequence,
            c.field_annotation_is_scalar_sequence,
            c.is_bytes_or_nonable_bytes_annotation,
            c.is_bytes_sequence_annotation,
            c.is_uploadfile_or_nonable_uploadfile_annotation,
            c.is_uploadfile_sequence_annotation,
            c.annotation_is_pydantic_v1,
        ]
        return [[pred(a) for pred in predicates] for a in annotations] + [
            [c.lenient_issubclass(a, (list, BaseModel)) for a in annotations],
            [c.value_is_sequence(v) for v in ([1], (1,), "ab", b"ab", {1}, 1)],
        ]

    same(build)


def test_model_field():
    def build(fw: Any) -> Any:
        p = fw.params
        info = p.Query(ge=2, alias="n", title="N")
        info.annotation = int
        f = fw.compat.ModelField(field_info=info, name="number")
        model = fw.utils.create_model_field("Response_x", list[Item], mode="serialization")
        return {
            "ok": f.validate("3", {}, loc=("query", "n")),
            "bad": f.validate("1", {}, loc=("query", "n")),
            "names": (f.alias, f.validation_alias, f.serialization_alias, f.default, hash(f) == id(f)),
            "dump": model.serialize([Item(name="a")], exclude_none=True),
            "json": model.serialize_json([Item(name="a")]),
            "missing": fw.compat.get_missing_field_error(("body", "x")),
        }

    same(build)


def test_utils():
    def build(fw: Any) -> Any:
        u = fw.utils
        main = {"a": {"b": 1, "l": [1]}, "c": 1, "d": [1]}
        u.deep_dict_update(main, {"a": {"d": 2, "l": [2]}, "c": {"x": 1}, "d": 2})
        default = fw.top.datastructures.Default
        return {
            "merged": main,
            "status": [u.is_body_allowed_for_status_code(c) for c in (None, 100, 200, 204, 205, 304, "default", "5XX")],
            "path": sorted(u.get_path_param_names("/a/{b}/{c:path}/{d}")),
            "value": [u.get_value_or_default(default(1), 2), u.get_value_or_default(default(1), default(2)).value],
        }

    same(build)


# -- served: a falsy response_model, a decorator's __signature__, a handler built from a dependant -----
@pytest.mark.parametrize("response_model", [{}, [], 0, ""], ids=["dict", "list", "zero", "empty"])
def test_a_falsy_response_model(response_model):
    def build(fw: Any) -> Any:
        app = fw.top.FastAPI()

        @app.get("/x", response_model=response_model)
        def read():
            return {"a": 1, "extra": [None]}

        with fw.client(app) as client:
            answer = client.get("/x")
            document = client.get("/openapi.json").json()
        return answer.status_code, answer.json(), document["paths"]["/x"]["get"]["responses"]

    same(build)


@pytest.mark.parametrize("response_model", [5, (int,)], ids=["int", "tuple"])
def test_a_response_model_that_is_not_a_type_is_refused(response_model):
    def build(fw: Any) -> Any:
        app = fw.top.FastAPI()

        @app.get("/x", response_model=response_model)
        def read():
            return 1

    seen = both(build)
    assert all(outcome.startswith("raised") for outcome in seen.values()), seen


def cached(func: Any) -> Any:
    """fastapi-cache2's trick: ``request`` and ``response`` (Starlette's classes) added to the
    endpoint's ``__signature__``, consumed by the wrapper."""
    signature = inspect.signature(func)
    added = [
        inspect.Parameter("request", inspect.Parameter.KEYWORD_ONLY, annotation=Request),
        inspect.Parameter("response", inspect.Parameter.KEYWORD_ONLY, annotation=Response),
    ]

    @functools.wraps(func)
    async def wrapper(*args: Any, request: Request, response: Response, **kwargs: Any) -> Any:
        response.headers["x-cache"] = f"MISS {request.url.path}"
        result = func(*args, **kwargs)
        return await result if inspect.isawaitable(result) else result

    wrapper.__signature__ = signature.replace(parameters=[*signature.parameters.values(), *added])
    return wrapper


def test_special_parameters_of_a_decorators_signature():
    def build(fw: Any) -> Any:
        app = fw.top.FastAPI()

        @app.get("/square/{n}")
        @cached
        async def square(n: int, q: int = 0):
            return {"n": n * n, "q": q}

        @app.get("/item")
        @cached
        def item() -> Item:
            return Item(name="hammer")

        with fw.client(app) as client:
            answers = [client.get(path) for path in ("/square/3?q=1", "/square/x", "/item")]
        return [(a.status_code, a.json(), a.headers.get("x-cache")) for a in answers]

    same(build)


def test_get_request_handler_for_a_dependant_of_ones_own():
    def build(fw: Any) -> Any:
        log: list[str] = []
        p = fw.params

        async def session():
            log.append("open")
            yield "db"
            log.append("close")

        def endpoint(
            item: Item, db: Annotated[str, p.Depends(session)], tasks: BackgroundTasks, q: int = 0
        ) -> dict[str, Any]:
            tasks.add_task(log.append, "task")
            return {"item": item, "db": db, "q": q, "dropped": None}

        d = fw.deps.get_dependant(path="/custom", call=endpoint)
        response_field = fw.utils.create_model_field("Response", dict[str, Any], mode="serialization")
        handler = fw.routing.get_request_handler(
            dependant=d,
            body_field=d.body_params[0],
            response_field=response_field,
            response_model_exclude_none=True,
        )
        app = fw.top.FastAPI()
        route = starlette.routing.Route("/custom", endpoint=lambda request: None, methods=["POST"])
        route.app = fw.routing.request_response(handler)
        app.router.routes.append(route)
        seen = []
        with fw.client(app) as client:
            for kwargs in (
                {"json": {"name": "a"}, "params": {"q": "2"}},
                {"json": {"price": "x"}, "params": {"q": "x"}},
                {"content": b"{", "headers": {"content-type": "application/json"}},
                {"content": b'{"name": "t"}', "headers": {"content-type": "text/plain"}},
            ):
                answer = client.post("/custom", **kwargs)
                seen.append((answer.status_code, answer.json(), list(log)))
                log.clear()
        return seen

    same(build)


def test_dependant_dataclass():
    def build(fw: Any) -> Any:
        return [(f.name, plain(f.default)) for f in dataclasses.fields(fw.models.Dependant)]

    same(build)


def test_get_request_handler_for_a_generator_dependant():
    def build(fw: Any) -> Any:
        sse = importlib.import_module(f"{fw.name}.sse")

        async def items(n: int = 2) -> AsyncIterator[Item]:
            for i in range(n):
                yield {"name": f"i{i}"}

        def sync_items() -> Iterator[Item]:
            yield Item(name="s")

        app = fw.top.FastAPI()
        item_field = fw.utils.create_model_field("StreamItem", Item, mode="serialization")
        for path, call, options in (
            ("/jsonl", items, {"is_json_stream": True}),
            ("/sse", items, {"response_class": sse.EventSourceResponse}),
            ("/sync", sync_items, {"is_json_stream": True}),
        ):
            d = fw.deps.get_dependant(path=path, call=call)
            handler = fw.routing.get_request_handler(dependant=d, stream_item_field=item_field, **options)
            route = starlette.routing.Route(path, endpoint=lambda request: None)
            route.app = fw.routing.request_response(handler)
            app.router.routes.append(route)
        with fw.client(app) as client:
            answers = [client.get(path) for path in ("/jsonl?n=3", "/sse", "/sync", "/jsonl?n=x")]
        return [(a.status_code, a.headers.get("content-type"), a.text) for a in answers]

    same(build)
