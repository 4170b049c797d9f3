"""Differential test: parameter features FastAPI's own suite exercises, FastAPI vs turboapi.

``validation_alias`` (alone and with ``alias``) on every source, the deprecated ``regex=``,
``Json[...]`` parameters, several markers in one ``Annotated``, a bare ``Param()``, aliased path
parameters, a path parameter whose signature has a default, and decorated (``functools.wraps``)
dependencies and handlers whose wrapper is not of the wrapped function's kind. Each case is sent to
both frameworks and the answers are compared (see ``differential_harness``).
"""

import functools
import importlib
import inspect
import json
import warnings
from typing import Annotated, Any

import pytest
from pydantic import Json

from .differential_harness import Apps, C, Case, apps_fixture, assert_unique_ids, check, multipart


def build_aliases(fw: Any, route: Any) -> Any:
    Query, Path, Header, Cookie, Body, Form = fw.Query, fw.Path, fw.Header, fw.Cookie, fw.Body, fw.Form
    app = fw.FastAPI()

    @route(app, "get", "/query/va")
    def query_va(p: Annotated[str, Query(validation_alias="p_val")]):
        return {"p": p}

    @route(app, "get", "/query/alias-va")
    def query_alias_va(p: Annotated[str, Query(alias="p_alias", validation_alias="p_val")]):
        return {"p": p}

    @route(app, "get", "/query/va-list")
    def query_va_list(p: Annotated[list[int] | None, Query(validation_alias="p_val")] = None):
        return {"p": p}

    @route(app, "get", "/query/va-constrained")
    def query_va_constrained(p: Annotated[int, Query(validation_alias="p_val", ge=3)] = 5):
        return {"p": p}

    @route(app, "get", "/query/serialization-alias")
    def query_serialization_alias(p: Annotated[str, Query(serialization_alias="p_ser")] = "d"):
        return {"p": p}

    @route(app, "get", "/header/va")
    def header_va(p: Annotated[str, Header(validation_alias="P-Val")]):
        return {"p": p}

    @route(app, "get", "/header/alias-va")
    def header_alias_va(p: Annotated[str | None, Header(alias="p_alias", validation_alias="p_val")] = None):
        return {"p": p}

    @route(app, "get", "/cookie/va")
    def cookie_va(p: Annotated[str, Cookie(validation_alias="p_val")]):
        return {"p": p}

    @route(app, "get", "/path/va/{p_val}")
    def path_va(p: Annotated[int, Path(validation_alias="p_val")]):
        return {"p": p}

    @route(app, "get", "/path/alias/{p_alias}")
    def path_alias(p: Annotated[str, Path(alias="p_alias")]):
        return {"p": p}

    @route(app, "get", "/path/repeated/{repeated}")
    def path_repeated(path: str = Path(alias="repeated"), query: str = Query(alias="repeated")):
        return {"path": path, "query": query}

    @route(app, "post", "/body/va")
    def body_va(p: Annotated[str, Body(embed=True, validation_alias="p_val")]):
        return {"p": p}

    @route(app, "post", "/body/alias")
    def body_alias(p: Annotated[str, Body(embed=True, alias="p_alias")]):
        return {"p": p}

    @route(app, "post", "/body/alias-va")
    def body_alias_va(
        p: Annotated[str, Body(alias="p_alias", validation_alias="p_val")],
        q: Annotated[int, Body()] = 0,
    ):
        return {"p": p, "q": q}

    @route(app, "post", "/form/va")
    def form_va(p: Annotated[str, Form(validation_alias="p_val")], tags: Annotated[list[str], Form()] = []):  # noqa: B006
        return {"p": p, "tags": tags}

    @route(app, "post", "/form/alias-va-list")
    def form_alias_va_list(p: Annotated[list[str], Form(alias="p_alias", validation_alias="p_val")]):
        return {"p": p}

    return app


def build_types(fw: Any, route: Any) -> Any:
    Query, Header, Cookie, Body, Form = fw.Query, fw.Header, fw.Cookie, fw.Body, fw.Form
    Param = importlib.import_module(fw.FastAPI.__module__.split(".")[0] + ".params").Param
    app = fw.FastAPI()
    router = fw.APIRouter()

    with warnings.catch_warnings():
        # `regex=` warns when the marker is made (pytest turns warnings into errors here).
        warnings.simplefilter("ignore")

        @route(app, "get", "/regex")
        def regex_query(q: Annotated[str | None, Query(regex="^fixed$")] = None):
            return {"q": q}

        @route(app, "post", "/regex/body")
        def regex_body(q: Annotated[str, Body(embed=True, regex="^fixed$")]):
            return {"q": q}

    @route(app, "get", "/json/query")
    def json_query(items: Annotated[Json[list[str]], Query()]):
        return items

    @route(app, "get", "/json/header")
    def json_header(x_items: Annotated[Json[list[int]], Header()]):
        return x_items

    @route(app, "get", "/json/cookie")
    def json_cookie(items: Annotated[Json[dict[str, int]], Cookie()]):
        return items

    @route(app, "post", "/json/form")
    def json_form(items: Annotated[Json[list[str]], Form()]):
        return items

    @route(app, "get", "/two-markers")
    def two_markers(foo: Annotated[int, Query(gt=2), Query(lt=10)]):
        return foo

    @route(app, "get", "/bare-param")
    def bare_param(q: str | None = Param(default=None)):
        return {"q": q}

    @router.get("/")
    def listing(user_id: str | None = None):
        return {"user_id": user_id}

    app.include_router(router, prefix="/items")
    app.include_router(router, prefix="/users/{user_id}/items")
    return app


def _sync_wrap(func: Any) -> Any:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return func(*args, **kwargs)

    return wrapper


def _async_wrap(func: Any) -> Any:
    if inspect.isgeneratorfunction(func):

        @functools.wraps(func)
        async def gen_wrapper(*args: Any, **kwargs: Any) -> Any:
            for item in func(*args, **kwargs):
                yield item

        return gen_wrapper

    @functools.wraps(func)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        if inspect.iscoroutinefunction(func):
            return await func(*args, **kwargs)
        return func(*args, **kwargs)

    return wrapper


class _Counter:
    @_async_wrap
    def __call__(self, n: int = 1) -> int:
        return n * 10


def build_wrapped(fw: Any, route: Any) -> Any:
    Depends = fw.Depends
    app = fw.FastAPI()

    @_async_wrap
    def sync_in_async(q: int = 0) -> int:
        return q + 1

    @_async_wrap
    def gen_in_async() -> Any:
        yield "gen"

    @_sync_wrap
    async def async_in_sync(q: int = 0) -> int:
        return q + 2

    counter = _Counter()

    @route(app, "get", "/dep/sync-in-async")
    async def dep_sync_in_async(value: int = Depends(sync_in_async)):
        return value

    @route(app, "get", "/dep/gen-in-async")
    def dep_gen_in_async(value: str = Depends(gen_in_async)):
        return value

    @route(app, "get", "/dep/async-in-sync")
    def dep_async_in_sync(value: int = Depends(async_in_sync)):
        return value

    @route(app, "get", "/dep/instance")
    def dep_instance(value: int = Depends(counter)):
        return value

    @route(app, "get", "/endpoint/async-in-sync")
    @_sync_wrap
    async def endpoint_async_in_sync(q: int = 3):
        return {"q": q}

    @route(app, "get", "/endpoint/sync-in-async")
    @_async_wrap
    def endpoint_sync_in_async(q: int = 4):
        return {"q": q}

    return app


FACTORIES = {"aliases": build_aliases, "types": build_types, "wrapped": build_wrapped}

A = {"app": "aliases"}
T = {"app": "types"}
W = {"app": "wrapped"}


def form(case_id: str, url: str, expect: int, parts: list[tuple[str, str]]) -> Any:
    body, headers = multipart(parts)
    return C(case_id, "POST", url, expect, content=body, headers=headers, **A)


ALIAS_CASES = [
    C("query-va-missing", "GET", "/query/va", 422, **A),
    C("query-va-by-name", "GET", "/query/va", 422, params={"p": "x"}, **A),
    C("query-va-by-va", "GET", "/query/va", 200, params={"p_val": "x"}, **A),
    C("query-alias-va-by-alias", "GET", "/query/alias-va", 422, params={"p_alias": "x"}, **A),
    C("query-alias-va-by-va", "GET", "/query/alias-va", 200, params={"p_val": "x"}, **A),
    C("query-va-list", "GET", "/query/va-list", 200, params=[("p_val", "1"), ("p_val", "2")], **A),
    C("query-va-list-bad", "GET", "/query/va-list", 422, params=[("p_val", "1"), ("p_val", "z")], **A),
    C("query-va-list-by-name", "GET", "/query/va-list", 200, params=[("p", "1")], **A),
    C("query-va-constrained-low", "GET", "/query/va-constrained", 422, params={"p_val": "1"}, **A),
    C("query-va-constrained-default", "GET", "/query/va-constrained", 200, **A),
    C("query-serialization-alias", "GET", "/query/serialization-alias", 200, params={"p": "x"}, **A),
    C("header-va-missing", "GET", "/header/va", 422, **A),
    C("header-va-by-va", "GET", "/header/va", 200, headers={"p-val": "x"}, **A),
    C("header-va-underscored", "GET", "/header/va", 422, headers={"p_val": "x"}, **A),
    C("header-alias-va-by-alias", "GET", "/header/alias-va", 200, headers={"p_alias": "x"}, **A),
    C("header-alias-va-by-va", "GET", "/header/alias-va", 200, headers={"p_val": "y"}, **A),
    C("cookie-va-missing", "GET", "/cookie/va", 422, cookies={"p": "x"}, **A),
    C("cookie-va-by-va", "GET", "/cookie/va", 200, cookies={"p_val": "x"}, **A),
    C("path-va", "GET", "/path/va/7", 200, **A),
    C("path-va-invalid", "GET", "/path/va/x", 422, **A),
    C("path-alias", "GET", "/path/alias/hello", 200, **A),
    C("path-repeated-alias", "GET", "/path/repeated/p1", 200, params={"repeated": "q1"}, **A),
    C("path-repeated-alias-no-query", "GET", "/path/repeated/p1", 422, **A),
    C("body-va-missing", "POST", "/body/va", 422, json={}, **A),
    C("body-va-by-name", "POST", "/body/va", 422, json={"p": "x"}, **A),
    C("body-va-by-va", "POST", "/body/va", 200, json={"p_val": "x"}, **A),
    C("body-alias-by-alias", "POST", "/body/alias", 200, json={"p_alias": "x"}, **A),
    C("body-alias-by-name", "POST", "/body/alias", 422, json={"p": "x"}, **A),
    C("body-alias-va-by-alias", "POST", "/body/alias-va", 422, json={"p_alias": "x"}, **A),
    C("body-alias-va-by-va", "POST", "/body/alias-va", 200, json={"p_val": "x", "q": 2}, **A),
    form("form-va-by-va", "/form/va", 200, [("p_val", "x"), ("tags", "a"), ("tags", "b")]),
    form("form-va-by-name", "/form/va", 422, [("p", "x")]),
    C("form-va-urlencoded", "POST", "/form/va", 200, data={"p_val": "x"}, **A),
    form("form-alias-va-list", "/form/alias-va-list", 200, [("p_val", "a"), ("p_val", "b")]),
    form("form-alias-va-list-by-alias", "/form/alias-va-list", 422, [("p_alias", "a")]),
]

TYPE_CASES = [
    C("regex-ok", "GET", "/regex", 200, params={"q": "fixed"}, **T),
    C("regex-none", "GET", "/regex", 200, **T),
    C("regex-mismatch", "GET", "/regex", 422, params={"q": "other"}, **T),
    C("regex-body-mismatch", "POST", "/regex/body", 422, json={"q": "other"}, **T),
    C("regex-body-ok", "POST", "/regex/body", 200, json={"q": "fixed"}, **T),
    C("json-query", "GET", "/json/query", 200, params={"items": json.dumps(["a", "b"])}, **T),
    C("json-query-invalid", "GET", "/json/query", 422, params={"items": "[1,"}, **T),
    C("json-query-wrong-type", "GET", "/json/query", 422, params={"items": "[1, 2]"}, **T),
    C("json-header", "GET", "/json/header", 200, headers={"x-items": "[1, 2]"}, **T),
    C("json-cookie", "GET", "/json/cookie", 200, cookies={"items": '{"a": 1}'}, **T),
    C("json-form", "POST", "/json/form", 200, data={"items": json.dumps(["a", "b"])}, **T),
    C("two-markers-ok", "GET", "/two-markers", 200, params={"foo": "5"}, **T),
    C("two-markers-too-big", "GET", "/two-markers", 422, params={"foo": "123"}, **T),
    C("two-markers-too-small", "GET", "/two-markers", 422, params={"foo": "1"}, **T),
    C("bare-param", "GET", "/bare-param", 200, params={"q": "x"}, **T),
    C("bare-param-default", "GET", "/bare-param", 200, **T),
    C("optional-path-not-in-path", "GET", "/items/", 200, params={"user_id": "q"}, **T),
    C("optional-path-in-path", "GET", "/users/u1/items/", 200, **T),
]

WRAPPED_CASES = [
    C("dep-sync-in-async", "GET", "/dep/sync-in-async", 200, params={"q": "4"}, **W),
    C("dep-sync-in-async-invalid", "GET", "/dep/sync-in-async", 422, params={"q": "x"}, **W),
    C("dep-gen-in-async", "GET", "/dep/gen-in-async", 200, **W),
    C("dep-async-in-sync", "GET", "/dep/async-in-sync", 200, params={"q": "1"}, **W),
    C("dep-instance-async-call", "GET", "/dep/instance", 200, params={"n": "2"}, **W),
    C("endpoint-async-in-sync", "GET", "/endpoint/async-in-sync", 200, params={"q": "9"}, **W),
    C("endpoint-sync-in-async", "GET", "/endpoint/sync-in-async", 200, **W),
]

ALL_CASES = ALIAS_CASES + TYPE_CASES + WRAPPED_CASES

apps = apps_fixture(FACTORIES)


@pytest.mark.parametrize("case", ALL_CASES)
def test_param_features_differential(apps: Apps, case: Case) -> None:
    check(apps, case)


def test_every_route_registers(apps: Apps) -> None:
    assert apps.ref_errors == []
    assert apps.sut_errors == []


def test_case_ids_unique() -> None:
    assert_unique_ids(ALL_CASES)


@pytest.mark.parametrize("name", ["aliases", "types"])
def test_request_side_of_openapi(apps: Apps, name: str) -> None:
    """The names parameters and body fields are documented under follow the same aliases."""
    ref, sut = apps.ref_apps[name].openapi(), apps.sut_apps[name].openapi()
    for path, item in ref["paths"].items():
        for method, operation in item.items():
            ours = sut["paths"][path][method]
            assert ours.get("parameters") == operation.get("parameters"), (path, method)
    for schema, value in ref["components"]["schemas"].items():
        if schema.startswith("Body_"):
            assert sut["components"]["schemas"][schema]["properties"] == value["properties"], schema
