"""Parameter features checked against FastAPI 0.141.1 outside of a request/answer comparison: what
is refused when a route is registered (FastAPI's AssertionErrors), the deprecation warnings of
``regex=`` and ``example=``, markers' ``repr``, pydantic.v1 models, stringified annotations that
do not all resolve, PEP 695 aliases, decorated callables' kinds and validation errors' endpoint
context. (``compat/test_param_features_differential.py`` compares the answers.)

``from __future__ import annotations`` is on, and ``AsyncIterator`` is imported only for type
checkers: the dependency's return annotation cannot be resolved, as in FastAPI's
``test_stringified_annotation_dependency.py``.
"""

from __future__ import annotations

import functools
import warnings
from typing import TYPE_CHECKING, Annotated, Any

import pytest
from pydantic import BaseModel
from typing_extensions import TypeAliasType

import turboapi
from turboapi import Body, Cookie, Depends, FastAPI, Header, Path, Query, params
from turboapi.dependencies import _call_kind
from turboapi.exceptions import FastAPIDeprecationWarning, PydanticV1NotSupportedError, RequestValidationError
from turboapi.testclient import TestClient

fastapi = pytest.importorskip("fastapi")
from fastapi_reference import FastAPITestClient  # noqa: E402

if TYPE_CHECKING:  # pragma: no cover
    from collections.abc import AsyncIterator


class Item(BaseModel):
    title: str


FRAMEWORKS = [pytest.param(fastapi, id="fastapi"), pytest.param(turboapi, id="turboapi")]


# ------------------------------------------------------------------------- refused at registration
def _register(fw: Any, path: str, endpoint: Any) -> None:
    fw.FastAPI().get(path)(endpoint)


def _path_list(id: list[int]) -> None: ...  # noqa: A002


def _path_dict(id: dict) -> None: ...  # noqa: A002


def _path_model_tuple(id: tuple[Item, Item]) -> None: ...  # noqa: A002


def _query_models(q: list[Item] = fastapi.Query(default=None)) -> None: ...


def _query_dict(q: dict | None = fastapi.Query(default=None)) -> None: ...


def _annotated_default(item_id: Annotated[int, fastapi.Query(default=1)]) -> None: ...


def _depends_twice(foo: Annotated[int, fastapi.Depends(lambda: 1)] = fastapi.Depends(lambda: 1)) -> None: ...


def _marker_and_depends(foo: Annotated[int, fastapi.Query(min_length=1)] = fastapi.Depends(lambda: 1)) -> None: ...


def _path_default(item_id: Annotated[int, fastapi.Path()] = 1) -> None: ...


REFUSED = [
    ("/items/{id}", _path_list, "Path params must be of one of the supported types"),
    ("/items/{id}", _path_dict, "Path params must be of one of the supported types"),
    ("/items/{id}", _path_model_tuple, "Path params must be of one of the supported types"),
    ("/items/", _query_models, "Query parameter 'q' must be one of the supported types"),
    ("/items/", _query_dict, "Query parameter 'q' must be one of the supported types"),
    ("/", _annotated_default, "`Query` default value cannot be set in `Annotated` for 'item_id'"),
    ("/", _depends_twice, "Cannot specify `Depends` in `Annotated` and default value together for 'foo'"),
    (
        "/",
        _marker_and_depends,
        "Cannot specify a FastAPI annotation in `Annotated` and `Depends` as a default value together for 'foo'",
    ),
    ("/items/{item_id}", _path_default, "Path parameters cannot have default values"),
]


def _with_framework(endpoint: Any, fw: Any) -> Any:
    """The same function, its markers taken from ``fw`` (the module's globals are FastAPI's)."""
    if fw is fastapi:
        return endpoint
    namespace = dict(endpoint.__globals__, fastapi=turboapi)
    copy = type(endpoint)(endpoint.__code__, namespace, endpoint.__name__)
    defaults = endpoint.__defaults__
    if defaults:
        copy.__defaults__ = tuple(_translate(d) for d in defaults)
    copy.__annotations__ = dict(endpoint.__annotations__)
    return copy


def _translate(value: Any) -> Any:
    if isinstance(value, fastapi.params.Depends):
        return turboapi.params.Depends(value.dependency)
    if isinstance(value, fastapi.params.Query):
        return turboapi.params.Query(value.default)
    return value


@pytest.mark.parametrize("fw", FRAMEWORKS)
@pytest.mark.parametrize(("path", "endpoint", "message"), REFUSED, ids=[f.__name__ for _, f, _ in REFUSED])
def test_refused_at_registration_with_fastapis_assertion(fw: Any, path: str, endpoint: Any, message: str) -> None:
    with pytest.raises(AssertionError, match=message.replace("(", r"\(").replace(")", r"\)")):
        _register(fw, path, _with_framework(endpoint, fw))


def test_path_marker_with_default_in_annotated_is_refused() -> None:
    with pytest.raises(AssertionError, match="Path parameters cannot have a default value"):
        Path(default=1)


@pytest.mark.parametrize("fw", FRAMEWORKS)
def test_pydantic_v1_parameter_is_refused(fw: Any) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from pydantic import v1

    class ModelV1(v1.BaseModel):
        name: str

    def endpoint(data: list[ModelV1]) -> None: ...

    endpoint.__annotations__ = {"data": list[ModelV1]}
    error = fw.exceptions.PydanticV1NotSupportedError
    with pytest.raises(error):
        fw.FastAPI().post("/")(endpoint)
    if fw is turboapi:
        assert issubclass(error, PydanticV1NotSupportedError)


# ------------------------------------------------------------------------------ markers themselves
@pytest.mark.parametrize("fw", FRAMEWORKS)
@pytest.mark.parametrize("marker", ["Param", "Query", "Header", "Cookie", "Body", "Form", "File"])
@pytest.mark.parametrize("default", ["teststr", None, ..., 1, []], ids=repr)
def test_repr_as_fastapi(fw: Any, marker: str, default: Any) -> None:
    ours = getattr(turboapi.params, marker)(default)
    theirs = getattr(fastapi.params, marker)(default)
    assert repr(ours) == repr(theirs)
    assert repr(turboapi.params.Path()) == repr(fastapi.params.Path()) == "Path(PydanticUndefined)"


@pytest.mark.parametrize("marker", ["Query", "Header", "Cookie", "Path", "Body", "Form", "File"])
def test_aliases_as_fastapi_sets_them(marker: str) -> None:
    for kwargs in (
        {"alias": "a"},
        {"validation_alias": "v"},
        {"alias": "a", "validation_alias": "v"},
        {"alias": "a", "serialization_alias": "s"},
    ):
        ours = getattr(turboapi.params, marker)(**kwargs)
        theirs = getattr(fastapi.params, marker)(**kwargs)
        for attr in ("alias", "validation_alias", "serialization_alias"):
            assert getattr(ours, attr) == getattr(theirs, attr), (marker, kwargs, attr)


def test_unknown_keywords_are_schema_extra_and_reach_pydantic() -> None:
    ours = params.Query(None, validate_default=True, x_custom=1)
    theirs = fastapi.params.Query(None, validate_default=True, x_custom=1)
    assert ours.json_schema_extra == theirs.json_schema_extra
    assert ours.validate_default is theirs.validate_default is True


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Query(regex="^a$"), "`regex` has been deprecated, please use `pattern` instead"),
        (lambda: Body(regex="^a$"), "`regex` has been deprecated, please use `pattern` instead"),
        (lambda: params.Form(example="x"), "`example` has been deprecated, please use `examples` instead"),
        (lambda: Header(example=1), "`example` has been deprecated, please use `examples` instead"),
    ],
)
def test_deprecated_spellings_warn_at_the_callers_line(make: Any, message: str) -> None:
    with pytest.warns(FastAPIDeprecationWarning, match=message) as record:
        marker = make()
    assert record[0].filename == __file__
    if "regex" in message:
        assert marker.metadata[0].pattern == "^a$"


def test_regex_is_enforced_as_pattern() -> None:
    app = FastAPI()
    with pytest.warns(FastAPIDeprecationWarning):

        @app.get("/")
        def read(q: Annotated[str | None, Query(regex="^fixed$")] = None, c: str | None = Cookie(None)):
            return q

    with TestClient(app) as client:
        assert client.get("/", params={"q": "fixed"}).json() == "fixed"
        assert client.get("/", params={"q": "other"}).json()["detail"][0]["type"] == "string_pattern_mismatch"


# ------------------------------------------------------------------------------------ annotations
class DummyClient:
    async def people(self) -> list[str]:
        return ["John Doe", "Jane Doe"]


async def get_client() -> AsyncIterator[DummyClient]:
    yield DummyClient()


Client = Annotated[DummyClient, Depends(get_client)]
FastAPIClient = Annotated[DummyClient, fastapi.Depends(get_client)]


def test_stringified_annotations_with_a_type_checking_only_import() -> None:
    app = FastAPI()

    @app.get("/")
    async def people(client: Client) -> list:
        return await client.people()

    reference = fastapi.FastAPI()

    @reference.get("/")
    async def reference_people(client: FastAPIClient) -> list:
        return await client.people()

    with TestClient(app) as client:
        ours = client.get("/")
    theirs = FastAPITestClient(reference).get("/")
    assert (ours.status_code, ours.json()) == (theirs.status_code, theirs.json()) == (200, ["John Doe", "Jane Doe"])


def test_an_unresolvable_parameter_annotation_is_named() -> None:
    def dependency(value: NotDefinedAnywhere) -> int:  # type: ignore[name-defined]  # noqa: F821
        return 1

    app = FastAPI()
    with pytest.raises(turboapi.exceptions.FastAPIError, match="parameter 'value'"):

        @app.get("/")
        def read(v: int = Depends(dependency)) -> int:
            return v


async def some_value() -> int:
    return 123


DependedValue = TypeAliasType("DependedValue", Annotated[int, Depends(some_value)], type_params=())
LimitedQuery = TypeAliasType("LimitedQuery", Annotated[int, Query(ge=1)], type_params=())


def test_pep695_aliases() -> None:
    app = FastAPI()

    @app.get("/")
    async def read(value: DependedValue, n: LimitedQuery = 5) -> str:
        return f"value: {value} n: {n}"

    with TestClient(app) as client:
        assert client.get("/").text == '"value: 123 n: 5"'
        assert client.get("/", params={"n": "0"}).status_code == 422


# ------------------------------------------------------------------------- decorated callables
def _sync_wrap(func: Any) -> Any:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return func(*args, **kwargs)

    return wrapper


def _async_wrap(func: Any) -> Any:
    @functools.wraps(func)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        return func(*args, **kwargs)

    return wrapper


def _plain() -> int:
    return 1


async def _coroutine() -> int:
    return 1


def _generator() -> Any:
    yield 1


async def _async_generator() -> Any:
    yield 1


class _Instance:
    @_async_wrap
    def __call__(self) -> int:
        return 1


class _GenInstance:
    @_sync_wrap
    def __call__(self) -> Any:
        yield 1


@pytest.mark.parametrize(
    ("call", "kind"),
    [
        (_plain, "sync"),
        (_coroutine, "async"),
        (_generator, "gen"),
        (_async_generator, "asyncgen"),
        (_async_wrap(_plain), "async"),
        (_sync_wrap(_coroutine), "async"),
        (_sync_wrap(_generator), "gen"),
        (_sync_wrap(_async_generator), "asyncgen"),
        (functools.partial(_sync_wrap(_coroutine)), "async"),
        (_Instance(), "async"),
        (_GenInstance(), "gen"),
        (_async_wrap(Item), "async"),
        (_sync_wrap(Item), "sync"),
    ],
)
def test_kind_of_a_decorated_callable_as_fastapi(call: Any, kind: str) -> None:
    assert _call_kind(call) == kind


# ----------------------------------------------------------------------------- endpoint context
def test_request_validation_error_says_where() -> None:
    app = FastAPI()
    seen: list[RequestValidationError] = []

    @app.exception_handler(RequestValidationError)
    async def capture(request: Any, exc: RequestValidationError) -> Any:
        seen.append(exc)
        return turboapi.responses.JSONResponse({"n": len(exc.errors())}, status_code=422)

    @app.get("/users/{user_id}")
    def get_user(user_id: int) -> dict:
        return {"user_id": user_id}

    @app.get("/deps/{user_id}")
    def with_dependency(user_id: int, q: int = Depends(lambda q=0: q)) -> dict:
        return {"user_id": user_id}

    @app.post("/json")
    def post_json(item: Item) -> Item:
        return item

    with TestClient(app) as client:
        client.get("/users/abc")
        client.get("/deps/abc")
        client.post("/json", content=b"{", headers={"content-type": "application/json"})
    assert [e.endpoint_function for e in seen] == ["get_user", "with_dependency", "post_json"]
    assert [e.endpoint_path for e in seen] == ["GET /users/{user_id}", "GET /deps/{user_id}", "POST /json"]
    assert all(e.endpoint_file == __file__ and e.endpoint_line for e in seen)
    assert 'File "' in str(seen[0]) and "in get_user" in str(seen[0]) and "GET /users/{user_id}" in str(seen[0])


@pytest.mark.parametrize("fw", FRAMEWORKS)
def test_validation_error_str_as_fastapi(fw: Any) -> None:
    errors = [{"type": "missing", "loc": ("body", "name"), "msg": "Field required"}]
    exc = fw.exceptions.RequestValidationError
    assert str(exc(errors, endpoint_ctx={"path": "GET /api/test"})).endswith("\n  Endpoint: GET /api/test")
    assert str(exc(errors, endpoint_ctx={})) == str(exc(errors)) == "1 validation error:\n  " + str(errors[0])
    full = {"path": "GET /x", "file": "/a.py", "line": 3, "function": "f"}
    assert str(exc(errors, endpoint_ctx=full)) == str(
        fastapi.exceptions.RequestValidationError(errors, endpoint_ctx=full)
    )
