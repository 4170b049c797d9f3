"""FastAPI 0.141.1 and turboapi side by side on the TestClient's lifecycle, generator routes'
OpenAPI, the smaller OpenAPI rules, the semi-public dependency helpers, the start-up checks
(python-multipart, dependency scopes), ``jsonable_encoder``'s special values and the deprecated
JSON response classes.
"""

# No `from __future__ import annotations`: the factories' annotations name the framework module
# they are given (a local), which both frameworks must be able to resolve.
import contextvars
import difflib
import json
import warnings
from collections.abc import AsyncIterable, Callable, Iterable
from contextlib import asynccontextmanager
from types import ModuleType
from typing import Annotated, Any

import pytest
from pydantic import BaseModel, Discriminator, Tag

import turboapi
import turboapi.testclient
from fastapi_reference import FastAPITestClient


class Item(BaseModel):
    name: str
    price: float = 0


class Cat(BaseModel):
    pet_type: str = "cat"
    meows: int


class Dog(BaseModel):
    pet_type: str = "dog"
    barks: float


def _pet_type(value: Any) -> str:
    return value.get("pet_type", "") if isinstance(value, dict) else getattr(value, "pet_type", "")


Pet = Annotated[Annotated[Cat, Tag("cat")] | Annotated[Dog, Tag("dog")], Discriminator(_pet_type)]


# -- apps, built with the framework module they are given --------------------------------------------
def streams_app(f: ModuleType) -> Any:
    from importlib import import_module

    sse = import_module(f"{f.__name__}.sse")
    app = f.FastAPI()

    @app.get("/jsonl-typed")
    async def jsonl_typed() -> AsyncIterable[Item]:
        yield Item(name="a")

    @app.post("/jsonl-created", status_code=201)
    async def jsonl_created() -> AsyncIterable[dict[str, str]]:
        yield {"a": "b"}

    @app.get("/jsonl-untyped")
    def jsonl_untyped():
        yield {"a": 1}

    @app.get("/sse-typed", response_class=sse.EventSourceResponse)
    def sse_typed() -> Iterable[Item]:
        yield Item(name="a")

    @app.get("/sse-untyped", response_class=sse.EventSourceResponse)
    async def sse_untyped():
        yield "x"

    @app.get("/sse-events", response_class=sse.EventSourceResponse)
    async def sse_events() -> AsyncIterable[sse.ServerSentEvent]:
        yield sse.ServerSentEvent(data="x")

    @app.post("/raw", response_class=f.responses.StreamingResponse, status_code=201)
    async def raw() -> AsyncIterable[str]:
        yield "chunk"

    return app


def examples_app(f: ModuleType) -> Any:
    app = f.FastAPI()

    @app.post("/items/{item_id}")
    def update(
        item_id: int = f.Path(example=3),
        q: str | None = f.Query(default=None, example="query"),
        x_token: str | None = f.Header(default=None, example="tok"),
        item: Item = f.Body(example={"name": "Foo", "price": 1.5}),
        both: str | None = f.Cookie(default=None, example="ignored", openapi_examples={"one": {"value": "1"}}),
    ):
        return item

    return app


def _duplicate(item: Item) -> Item:
    return item


def bodies_app(f: ModuleType) -> Any:
    app = f.FastAPI()

    def sub_duplicate(item: Item, sub_item: Item = f.Depends(_duplicate)):
        return [item, sub_item]

    @app.post("/with-duplicates")
    async def with_duplicates(item: Item, item2: Item = f.Depends(_duplicate)):
        return [item, item2]

    @app.post("/with-duplicates-sub")
    async def with_duplicates_sub(item: Item, items: list[Item] = f.Depends(sub_duplicate)):
        return [item, items]

    @app.post("/media-type")
    async def media_type(
        a: Item = f.Body(media_type="application/vnd.api+json"),
        b: int = f.Body(media_type="application/vnd.api+json"),
    ):
        return a

    @app.post("/mixed-media-types")
    async def mixed(a: Item = f.Body(media_type="application/vnd.api+json"), b: int = f.Body()):
        return a

    @app.post("/pet/assignment")
    async def pet_assignment(pet: Pet = f.Body()):
        return pet

    @app.post("/pet/annotated")
    async def pet_annotated(pet: Annotated[Pet, f.Body()]):
        return pet

    return app


def callback_class_app(f: ModuleType) -> Any:
    import starlette.responses

    app = f.FastAPI()
    callbacks = f.APIRouter(default_response_class=starlette.responses.JSONResponse)

    @callbacks.post("{$callback_url}/events", response_model=Item)
    def event(body: Item):
        return body

    @app.post("/subscribe", callbacks=callbacks.routes)
    def subscribe(url: str):
        return {}

    return app


APPS: dict[str, Callable[[ModuleType], Any]] = {
    "streams": streams_app,
    "examples": examples_app,
    "bodies": bodies_app,
    "callback-class": callback_class_app,
}


def _documents(factory: Callable[[ModuleType], Any]) -> tuple[Any, Any]:
    import fastapi

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="`example` has been deprecated")  # in both
        reference_app, our_app = factory(fastapi), factory(turboapi)
    reference = FastAPITestClient(reference_app).get("/openapi.json").json()
    with turboapi.testclient.TestClient(our_app) as client:
        ours = client.get("/openapi.json").json()
    return reference, ours


@pytest.mark.parametrize("name", sorted(APPS))
def test_openapi_document_matches_fastapi(name: str) -> None:
    reference, ours = _documents(APPS[name])
    if reference != ours:
        a = json.dumps(reference, indent=1, sort_keys=True).splitlines()
        b = json.dumps(ours, indent=1, sort_keys=True).splitlines()
        diff = "\n".join(difflib.unified_diff(a, b, "fastapi", "turboapi", lineterm="", n=3))
        pytest.fail(f"/openapi.json differs for app {name!r}:\n{diff}")


def _duplicate_ids_app(f: ModuleType) -> Any:
    app = f.FastAPI()

    @app.get("/a", operation_id="same")
    def first():
        return 1

    @app.get("/b", operation_id="same")
    def second():
        return 2

    return app


@pytest.mark.parametrize("f", ["fastapi", "turboapi"])
def test_a_duplicate_operation_id_warns(f: str) -> None:
    from importlib import import_module

    app = _duplicate_ids_app(import_module(f))
    with pytest.warns(UserWarning, match="Duplicate Operation ID same for function second at "):
        app.openapi()


# -- the TestClient ------------------------------------------------------------------------------
def _lifespan_app(f: ModuleType, events: list[str]) -> Any:
    @asynccontextmanager
    async def lifespan(app: Any):
        events.append("startup")
        yield {"db": "connected"}
        events.append("shutdown")

    app = f.FastAPI(lifespan=lifespan)

    @app.get("/")
    def root(request: f.Request):
        return {"db": request.state.db}

    return app


@pytest.mark.parametrize("f", ["fastapi", "turboapi"])
def test_a_client_can_be_entered_again(f: str) -> None:
    from importlib import import_module

    module = import_module(f)
    events: list[str] = []
    client_class = FastAPITestClient if f == "fastapi" else turboapi.testclient.TestClient
    client = client_class(_lifespan_app(module, events))
    answers = []
    for _ in range(2):
        with client:
            answers.append(client.get("/").json())
            assert client.app_state == {"db": "connected"}
    # Between and after the `with` blocks, the client still answers (without a lifespan).
    assert client.get("/").status_code in (200, 500)
    client.close()
    assert answers == [{"db": "connected"}] * 2
    assert events == ["startup", "shutdown", "startup", "shutdown"]


_caller_var: contextvars.ContextVar[dict[str, Any]] = contextvars.ContextVar("caller_var")


def _context_app(f: ModuleType) -> Any:
    async def session():
        yield "s"
        _caller_var.get()["closed"] = True

    app = f.FastAPI()

    @app.get("/")
    async def read(s: str = f.Depends(session)):
        return {"seen": _caller_var.get(None) is not None}

    @app.websocket("/ws")
    async def ws(websocket: f.WebSocket, s: str = f.Depends(session)):
        await websocket.accept()
        await websocket.send_json({"seen": _caller_var.get(None) is not None})

    return app


@pytest.mark.parametrize("f", ["fastapi", "turboapi"])
def test_async_handlers_see_the_callers_context_variables(f: str) -> None:
    from importlib import import_module

    app = _context_app(import_module(f))
    client = FastAPITestClient(app) if f == "fastapi" else turboapi.testclient.TestClient(app)
    seen = []
    for _ in range(3):  # each call in the caller's context of the moment
        state: dict[str, Any] = {}
        token = _caller_var.set(state)
        try:
            seen.append(client.get("/").json())
            with client.websocket_connect("/ws") as websocket:
                seen.append(websocket.receive_json())
        finally:
            _caller_var.reset(token)
        assert state == {"closed": True}
    client.close()
    assert seen == [{"seen": True}] * 6


# -- start-up checks ---------------------------------------------------------------------------
def _form_app(f: ModuleType) -> None:
    app = f.FastAPI()

    @app.post("/")
    def root(username: str = f.Form()):
        return username


@pytest.mark.parametrize("f", ["fastapi", "turboapi"])
def test_multipart_check_at_registration(f: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from importlib import import_module

    module = import_module(f)
    messages = import_module(f"{f}.dependencies.utils")
    monkeypatch.setattr("python_multipart.__version__", "0.0.12")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PendingDeprecationWarning)  # `import multipart` asks for the new name
        monkeypatch.delattr("multipart.multipart.parse_options_header", raising=False)
    with pytest.raises(RuntimeError) as wrong:
        _form_app(module)
    assert str(wrong.value) == messages.multipart_incorrect_install_error
    monkeypatch.delattr("multipart.__version__", raising=False)
    with pytest.raises(RuntimeError) as missing:
        _form_app(module)
    assert str(missing.value) == messages.multipart_not_installed_error


@pytest.mark.parametrize("f", ["fastapi", "turboapi"])
def test_a_request_scoped_yield_dependency_cannot_use_a_function_scoped_one(f: str) -> None:
    from importlib import import_module

    module = import_module(f)
    errors = import_module(f"{f}.exceptions")

    def inner():
        yield 1

    def outer(value: Annotated[int, module.Depends(inner, scope="function")]):
        yield value

    app = module.FastAPI()
    with pytest.raises(errors.DependencyScopeError, match='"outer" has a scope of "request"'):

        @app.get("/")
        def root(value: Annotated[int, module.Depends(outer)]):
            return value


# -- the semi-public dependency helpers ------------------------------------------------------------
def _helper_answers(f: str) -> list[Any]:
    from importlib import import_module

    models = import_module(f"{f}.dependencies.models")
    security = import_module(f"{f}.security")

    def gen():
        yield

    async def agen():
        yield

    async def coro():
        return 1

    scheme = security.OAuth2PasswordBearer(tokenUrl="t")
    leaf = models.Dependant(call=scheme, own_oauth_scopes=["b"], parent_oauth_scopes=["a", "b"])
    root = models.Dependant(call=gen, dependencies=[leaf])
    cache: dict[int, Any] = {}
    return [
        [models._is_gen_callable(c) for c in (gen, agen, coro, None)],
        [models._is_async_gen_callable(c) for c in (gen, agen, coro, None)],
        [models._is_coroutine_callable(c) for c in (gen, agen, coro, None)],
        models._get_oauth_scopes(dependant=leaf),
        models._uses_scopes(dependant=root, cache=cache),
        len(cache),
        models._get_computed_scope(dependant=root),
        models._get_cache_key(dependant=leaf)[1:],
        models._get_cache_key(dependant=root, uses_scopes_cache=cache) == (gen, (), "request"),
        models._is_security_scheme(dependant=leaf),
        models._get_security_scheme(dependant=leaf) is scheme,
        models._is_gen_callable_cached.cache_info().maxsize,
    ]


def test_dependency_model_helpers_match_fastapi() -> None:
    assert _helper_answers("turboapi") == _helper_answers("fastapi")


# -- jsonable_encoder and the deprecated response classes -----------------------------------------
@pytest.mark.parametrize("f", ["fastapi", "turboapi"])
def test_jsonable_encoder_special_values(f: str) -> None:
    from importlib import import_module

    from pydantic_core import PydanticUndefined

    encoders = import_module(f"{f}.encoders")
    errors = import_module(f"{f}.exceptions")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from pydantic import v1
        from pydantic.color import Color

        color = Color("blue")

        class OldModel(v1.BaseModel):
            name: str

    assert encoders.jsonable_encoder({"u": PydanticUndefined, "c": color}) == {"u": None, "c": "blue"}
    with pytest.raises(errors.PydanticV1NotSupportedError, match="pydantic.v1 models are no longer supported"):
        encoders.jsonable_encoder(OldModel(name="x"))


@pytest.mark.parametrize("f", ["fastapi", "turboapi"])
def test_orjson_response_is_deprecated(f: str) -> None:
    from importlib import import_module

    pytest.importorskip("orjson")  # not on free-threaded 3.13 (scripts/requirements.py)
    responses = import_module(f"{f}.responses")
    errors = import_module(f"{f}.exceptions")
    with pytest.warns(errors.FastAPIDeprecationWarning, match="ORJSONResponse is deprecated"):
        response = responses.ORJSONResponse({1: "a", "b": [1.5]})
    assert response.body == b'{"1":"a","b":[1.5]}'
    assert issubclass(responses.ORJSONResponse, responses.JSONResponse)
    assert issubclass(responses.UJSONResponse, responses.JSONResponse)


# -- the OpenAPI document's models -----------------------------------------------------------------
def test_openapi_models_read_a_document_as_fastapis_do() -> None:
    import fastapi
    import fastapi.openapi.models

    import turboapi.openapi.models

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="`example` has been deprecated")
        document = fastapi.FastAPI.openapi(examples_app(fastapi))
    document["paths"].update(streams_app(fastapi).openapi()["paths"])
    dumps = [
        module.OpenAPI.model_validate(document).model_dump(mode="json", by_alias=True, exclude_none=True)
        for module in (fastapi.openapi.models, turboapi.openapi.models)
    ]
    assert dumps[1] == dumps[0]
    for module in (fastapi.openapi.models, turboapi.openapi.models):
        assert module.Schema(type=["string", "null"]).type == ["string", "null"]
        with pytest.raises(ValueError, match="2 validation errors for Schema"):
            module.Schema(type=True)
