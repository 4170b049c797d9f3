"""Differential test: request parameters and validation errors, FastAPI vs turboapi.

``build_app(fw, route)`` is written once against a namespace of framework names
and instantiated for ``fastapi`` and for ``turboapi``; ``build_handler_app``
adds a custom ``RequestValidationError`` handler.  See ``differential_harness``
for what is compared.  Cases where turboapi differs are kept and marked
``xfail(strict=True)`` with the difference as the reason.
"""

import datetime as dt
import math
import uuid
from decimal import Decimal
from enum import Enum, IntEnum
from typing import Annotated, Any, Literal

import pytest
from pydantic import BaseModel, ConfigDict, Field

from .differential_harness import Apps, C, Case, apps_fixture, assert_unique_ids, check

# --------------------------------------------------------------------------- shared models


class Color(str, Enum):  # noqa: UP042 -- the (str, Enum) spelling of FastAPI's docs
    red = "red"
    green = "green"


class Level(IntEnum):
    low = 1
    high = 2


class Item(BaseModel):
    name: str
    price: float
    tags: list[str] = []


class User(BaseModel):
    username: str
    full_name: str | None = None


class FilterParams(BaseModel):
    limit: int = Field(100, gt=0, le=100)
    offset: int = Field(0, ge=0)
    order_by: Literal["created_at", "updated_at"] = "created_at"
    tags: list[str] = []


class StrictFilterParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    limit: int = 10
    q: str | None = None


class CommonHeaders(BaseModel):
    host: str
    save_data: bool = False
    if_modified_since: str | None = None
    x_tag: list[str] = []


class Cookies(BaseModel):
    session_id: str
    tracker: str | None = None
    visits: int = 0


class StrictCookies(BaseModel):
    model_config = ConfigDict(extra="forbid")

    session_id: str


def build_app(fw: Any, route: Any) -> Any:
    Query, Path, Header, Cookie, Body = fw.Query, fw.Path, fw.Header, fw.Cookie, fw.Body
    app = fw.FastAPI()

    def get(path: str, **kw: Any) -> Any:
        return route(app, "get", path, **kw)

    def post(path: str, **kw: Any) -> Any:
        return route(app, "post", path, **kw)

    # ------------------------------------------------------------------ metadata / alias / defaults
    @get("/meta")
    def meta(
        q: Annotated[
            str | None,
            Query(
                alias="item-q",
                title="Item query",
                description="What to look for",
                deprecated=True,
                examples=["abc"],
            ),
        ] = None,
        hidden: str | None = Query(None, include_in_schema=False),
        n: int = Query(3, title="N", description="A number", examples=[1, 2]),
        x_trace: Annotated[str | None, Header(title="Trace", description="trace id", deprecated=True)] = None,
        flavour: Annotated[str, Cookie(alias="fl", description="taste")] = "plain",
    ):
        return {"q": q, "hidden": hidden, "n": n, "x_trace": x_trace, "flavour": flavour}

    @get("/alias-errors")
    def alias_errors(
        page_size: Annotated[int, Query(alias="page-size", le=50)] = 10,
        limit: Annotated[int, Header(alias="X-Limit")] = 1,
    ):
        return {"page_size": page_size, "limit": limit}

    @get("/meta/path/{item_id}")
    def meta_path(item_id: Annotated[int, Path(title="The ID", description="id of the item", examples=[7], ge=1)]):
        return {"item_id": item_id}

    @get("/annotated-field")
    def annotated_field(
        n: Annotated[int, Field(gt=0), Query()] = 1,
        m: Annotated[str, Field(max_length=3)] = "x",
    ):
        # pydantic metadata next to (or instead of) a marker is enforced, as in FastAPI
        return {"n": n, "m": m}

    @get("/factory")
    def factory(
        tags: Annotated[list[str], Query(default_factory=list)],
        token: Annotated[str, Query(default_factory=lambda: "generated")],
        n: Annotated[int, Query(default_factory=lambda: 41)],
    ):
        return {"tags": tags, "token": token, "n": n}

    @post("/factory/other")
    def factory_other(
        x_req_id: Annotated[str, Header(default_factory=lambda: "hdr-gen")],
        pref: Annotated[str, Cookie(default_factory=lambda: "ck-gen")],
        labels: Annotated[list[str], Body(default_factory=lambda: ["body-gen"], embed=True)],
    ):
        return {"x_req_id": x_req_id, "pref": pref, "labels": labels}

    @get("/multiple-of")
    def multiple_of(
        m: int = Query(multiple_of=5),
        f: Annotated[float | None, Query(multiple_of=0.5)] = None,
    ):
        return {"m": m, "f": f}

    @get("/default-style")
    def default_style(
        a: str = Query("da", min_length=2),
        b: int = Query(default=7, gt=0),
        c: str | None = Query(default=None, max_length=3),
    ):
        return {"a": a, "b": b, "c": c}

    @get("/annotated-style")
    def annotated_style(
        a: Annotated[str, Query(min_length=2)] = "da",
        b: Annotated[int, Query(gt=0)] = 7,
        c: Annotated[str | None, Query(max_length=3)] = None,
    ):
        return {"a": a, "b": b, "c": c}

    # ------------------------------------------------------------------ typed values
    @get("/enum/{color}")
    def enum_path(color: Color, level: Level = Level.low):
        return {"color": color, "level": level, "is_red": color is Color.red}

    @get("/uuid/{item_id}")
    def uuid_path(item_id: uuid.UUID, other: uuid.UUID | None = None):
        return {"item_id": item_id, "other": other, "version": item_id.version}

    @get("/when")
    def when(
        at: dt.datetime | None = None,
        day: dt.date | None = None,
        clock: dt.time | None = None,
        span: dt.timedelta | None = None,
    ):
        return {"at": at, "day": day, "clock": clock, "span": span}

    @get("/decimal")
    def decimal_q(d: Annotated[Decimal, Query(max_digits=5, decimal_places=2)]):
        return {"d": d, "str": str(d)}

    @get("/literal")
    def literal_q(mode: Literal["fast", "slow"] = "fast", level: Literal[1, 2] | None = None):
        return {"mode": mode, "level": level}

    @get("/bools/{p}")
    def bools(
        p: bool,
        q: bool = False,
        x_flag: Annotated[bool | None, Header()] = None,
        c: Annotated[bool | None, Cookie()] = None,
    ):
        return {"p": p, "q": q, "x_flag": x_flag, "c": c}

    @get("/seq")
    def seq(
        ids: Annotated[list[int], Query()] = [1],  # noqa: B006 -- a FastAPI default, never mutated
        names: set[str] = Query(set()),
        pair: tuple[int, int] | None = Query(None),
        words: Annotated[tuple[str, ...], Query()] = (),
    ):
        return {"ids": ids, "names": sorted(names), "pair": pair, "words": words}

    @get("/seq/required")
    def seq_required(vals: Annotated[set[str], Query()]):
        return {"vals": sorted(vals)}

    @get("/optional")
    def optional(
        a: int | None = None,
        b: Annotated[int | None, Query()] = None,
        c: Annotated[str | None, Query()] = None,
    ):
        return {"a": a, "b": b, "c": c}

    @get("/optional/required-nullable")
    def required_nullable(c: Annotated[int | None, Query()]):
        return {"c": c}

    # ------------------------------------------------------------------ parameter models
    @get("/models/query")
    def model_query(filter_query: Annotated[FilterParams, Query()]):
        return filter_query

    @get("/models/query-forbid")
    def model_query_forbid(filter_query: Annotated[StrictFilterParams, Query()]):
        return filter_query

    @get("/models/header")
    def model_header(headers: Annotated[CommonHeaders, Header()]):
        return headers

    @get("/models/header-raw")
    def model_header_raw(headers: Annotated[CommonHeaders, Header(convert_underscores=False)]):
        return headers

    @get("/models/cookie")
    def model_cookie(cookies: Annotated[Cookies, Cookie()]):
        return cookies

    @get("/models/cookie-forbid")
    def model_cookie_forbid(cookies: Annotated[StrictCookies, Cookie()]):
        return cookies

    # ------------------------------------------------------------------ headers
    @get("/headers/raw")
    def headers_raw(
        x_under: str | None = Header(None, convert_underscores=False),
        x_dash: str | None = Header(None),
    ):
        return {"x_under": x_under, "x_dash": x_dash}

    @get("/headers/list")
    def headers_list(x_token: list[str] | None = Header(None), x_num: Annotated[list[int], Header()] = []):  # noqa: B006
        return {"x_token": x_token, "x_num": x_num}

    @get("/headers/constraints")
    def headers_constraints(x_code: Annotated[str, Header(pattern=r"^[A-Z]{3}$", alias="X-Code")]):
        return {"x_code": x_code}

    @get("/cookies/constraints")
    def cookies_constraints(n: Annotated[int, Cookie(ge=1, le=5)] = 1, s: str | None = Cookie(None, min_length=2)):
        return {"n": n, "s": s}

    # ------------------------------------------------------------------ bodies
    @post("/body/embed-scalar")
    def body_embed_scalar(name: Annotated[str, Body(embed=True, min_length=2)]):
        return {"name": name}

    @post("/body/embed-model")
    def body_embed_model(item: Annotated[Item, Body(embed=True)]):
        return {"item": item}

    @post("/body/alias")
    def body_alias(item_name: Annotated[str, Body(alias="item-name")], count: Annotated[int, Body(gt=0)] = 1):
        return {"item_name": item_name, "count": count}

    @post("/body/two-models")
    def body_two_models(item: Item, user: User):
        return {"item": item, "user": user}

    @post("/body/model-plus-values")
    def body_model_plus_values(
        item: Item,
        importance: Annotated[int, Body(ge=1, le=5)],
        note: Annotated[str | None, Body(examples=["hi"])] = None,
    ):
        return {"item": item, "importance": importance, "note": note}

    @post("/body/model")
    def body_model(item: Item):
        return item

    @post("/body/summary")
    def body_summary(item: Item):
        return {"name": item.name, "finite": math.isfinite(item.price)}

    @post("/body/everything/{item_id}")
    def body_everything(
        item_id: int,
        item: Item,
        q: Annotated[int, Query(ge=0)],
        x_req: Annotated[str, Header()],
    ):
        return {"item_id": item_id, "item": item, "q": q, "x_req": x_req}

    # ------------------------------------------------------------------ response validation
    @get("/bad-response", response_model=Item)
    def bad_response():
        return {"name": "x", "price": "not a number"}

    return app


def build_handler_app(fw: Any, route: Any) -> Any:
    """An app whose RequestValidationError handler echoes ``exc.errors()`` and ``exc.body``."""
    Query = fw.Query
    app = fw.FastAPI()

    @app.exception_handler(fw.RequestValidationError)
    async def handler(request: Any, exc: Any) -> Any:
        content = {"errors": exc.errors(), "body": exc.body, "kind": type(exc).__name__}
        return fw.JSONResponse(status_code=400, content=fw.jsonable_encoder(content))

    @route(app, "post", "/h/item")
    def h_item(item: Item, q: Annotated[int, Query()] = 0):
        return {"item": item, "q": q}

    @route(app, "get", "/h/query")
    def h_query(n: Annotated[int, Query(gt=0)], s: Annotated[str, Query(max_length=2)] = "a"):
        return {"n": n, "s": s}

    return app


FACTORIES = {"main": build_app, "handler": build_handler_app}

# --------------------------------------------------------------------------- cases

JSON_CT = {"content-type": "application/json"}

ITEM = {"name": "Widget", "price": 9.5, "tags": ["a", "b"]}
UUID_TEXT = "a8098c1a-f86e-11da-bd1a-00112444be1e"
UUID4_TEXT = "6f1c6a4e-6b2c-4b8e-9a55-0b8a4f2f5d11"

META_CASES = [
    C("meta-defaults", "GET", "/meta", 200),
    C("meta-alias-used", "GET", "/meta", 200, params={"item-q": "v", "n": "5"}),
    C("meta-alias-python-name-ignored", "GET", "/meta", 200, params={"q": "v"}),
    C("meta-hidden-param-still-read", "GET", "/meta", 200, params={"hidden": "h"}),
    C("meta-int-invalid", "GET", "/meta", 422, params={"n": "five"}),
    C("meta-alias-invalid-loc", "GET", "/alias-errors", 422, params={"page-size": "x", "page_size": "1"}),
    C("meta-alias-header-invalid-loc", "GET", "/alias-errors", 422, headers={"X-Limit": "many"}),
    C("meta-alias-ok", "GET", "/alias-errors", 200, params={"page-size": "4"}, headers={"x-limit": "2"}),
    C("meta-deprecated-header", "GET", "/meta", 200, headers={"x-trace": "t1"}),
    C("meta-cookie-alias", "GET", "/meta", 200, cookies={"fl": "mint", "flavour": "no"}),
    C("meta-path-ok", "GET", "/meta/path/3", 200),
    C("meta-path-ge-violation", "GET", "/meta/path/0", 422),
    C("annotated-field-ok", "GET", "/annotated-field", 200, params={"n": "5", "m": "abc"}),
    C("annotated-field-gt-violation", "GET", "/annotated-field", 422, params={"n": "-1"}),
    C("annotated-field-max-length-violation", "GET", "/annotated-field", 422, params={"m": "abcd"}),
    C("annotated-field-not-int", "GET", "/annotated-field", 422, params={"n": "x"}),
    C("factory-defaults", "GET", "/factory", 200),
    C("factory-given", "GET", "/factory", 200, params=[("tags", "a"), ("tags", "b"), ("token", "t"), ("n", "1")]),
    C("factory-invalid", "GET", "/factory", 422, params={"n": "x"}),
    C("factory-other-defaults", "POST", "/factory/other", 200, json={}),
    C(
        "factory-other-given",
        "POST",
        "/factory/other",
        200,
        headers={"x-req-id": "h"},
        cookies={"pref": "c"},
        json={"labels": ["l"]},
    ),
    C("multiple-of-ok", "GET", "/multiple-of", 200, params={"m": "15", "f": "2.5"}),
    C("multiple-of-int-violation", "GET", "/multiple-of", 422, params={"m": "7"}),
    C("multiple-of-float-violation", "GET", "/multiple-of", 422, params={"m": "10", "f": "0.3"}),
    C("multiple-of-missing", "GET", "/multiple-of", 422),
    C("default-style-defaults", "GET", "/default-style", 200),
    C("default-style-violations", "GET", "/default-style", 422, params={"a": "x", "b": "0", "c": "long"}),
    C("annotated-style-defaults", "GET", "/annotated-style", 200),
    C("annotated-style-violations", "GET", "/annotated-style", 422, params={"a": "x", "b": "0", "c": "long"}),
    C("annotated-style-ok", "GET", "/annotated-style", 200, params={"a": "xy", "b": "3", "c": "abc"}),
]

TYPED_CASES = [
    C("enum-str-ok", "GET", "/enum/red", 200),
    C("enum-str-invalid", "GET", "/enum/blue", 422),
    C("enum-str-case-sensitive", "GET", "/enum/RED", 422),
    C("enum-int-ok", "GET", "/enum/green", 200, params={"level": "2"}),
    C("enum-int-invalid-member", "GET", "/enum/green", 422, params={"level": "3"}),
    C("enum-int-not-a-number", "GET", "/enum/green", 422, params={"level": "high"}),
    C("uuid-ok", "GET", f"/uuid/{UUID_TEXT}", 200),
    C("uuid-upper-and-query", "GET", f"/uuid/{UUID4_TEXT.upper()}", 200, params={"other": UUID_TEXT}),
    C("uuid-no-hyphens", "GET", f"/uuid/{UUID_TEXT.replace('-', '')}", 200),
    C("uuid-invalid", "GET", "/uuid/not-a-uuid", 422),
    C("uuid-query-invalid", "GET", f"/uuid/{UUID_TEXT}", 422, params={"other": "1234"}),
    C("datetime-iso", "GET", "/when", 200, params={"at": "2024-05-06T07:08:09"}),
    C("datetime-zulu", "GET", "/when", 200, params={"at": "2024-05-06T07:08:09.123Z"}),
    C("datetime-offset", "GET", "/when", 200, params={"at": "2024-05-06T07:08:09+02:00"}),
    C("datetime-unix-timestamp", "GET", "/when", 200, params={"at": "1700000000"}),
    C("datetime-date-only", "GET", "/when", 200, params={"at": "2024-05-06"}),
    C("datetime-invalid", "GET", "/when", 422, params={"at": "yesterday"}),
    C("date-ok", "GET", "/when", 200, params={"day": "2024-02-29"}),
    C("date-impossible", "GET", "/when", 422, params={"day": "2023-02-29"}),
    C("date-with-time-nonzero", "GET", "/when", 422, params={"day": "2024-02-29T10:00:00"}),
    C("time-ok", "GET", "/when", 200, params={"clock": "12:30"}),
    C("time-micro", "GET", "/when", 200, params={"clock": "23:59:59.500000"}),
    C("time-invalid", "GET", "/when", 422, params={"clock": "25:00"}),
    C("timedelta-iso", "GET", "/when", 200, params={"span": "P1DT2H"}),
    C("timedelta-seconds-string-rejected", "GET", "/when", 422, params={"span": "90.5"}),
    C("timedelta-clock", "GET", "/when", 200, params={"span": "1:02:03"}),
    C("timedelta-invalid", "GET", "/when", 422, params={"span": "soon"}),
    C("when-all-at-once", "GET", "/when", 200, params={"at": "2020-01-01T00:00:00Z", "day": "2020-01-02"}),
    C("decimal-ok", "GET", "/decimal", 200, params={"d": "123.45"}),
    C("decimal-integral", "GET", "/decimal", 200, params={"d": "12"}),
    C("decimal-too-many-digits", "GET", "/decimal", 422, params={"d": "1234.5"}),
    C("decimal-too-many-places", "GET", "/decimal", 422, params={"d": "1.234"}),
    C("decimal-whole-digits", "GET", "/decimal", 422, params={"d": "12345"}),
    C("decimal-invalid", "GET", "/decimal", 422, params={"d": "abc"}),
    C("decimal-missing", "GET", "/decimal", 422),
    C("literal-default", "GET", "/literal", 200),
    C("literal-ok", "GET", "/literal", 200, params={"mode": "slow"}),
    C("literal-int-from-query-string-rejected", "GET", "/literal", 422, params={"level": "2"}),
    C("literal-invalid", "GET", "/literal", 422, params={"mode": "medium"}),
    C("literal-int-invalid", "GET", "/literal", 422, params={"level": "3"}),
]

BOOL_SPELLINGS = [
    ("on", 200),
    ("off", 200),
    ("yes", 200),
    ("no", 200),
    ("1", 200),
    ("0", 200),
    ("true", 200),
    ("False", 200),
    ("nope", 422),
]

BOOL_CASES = [
    *[
        C(f"bool-query-{s}", "GET", "/bools/true", status, params={"q": s})
        for s, status in BOOL_SPELLINGS  #
    ],
    *[C(f"bool-path-{s}", "GET", f"/bools/{s}", status) for s, status in BOOL_SPELLINGS[::2]],
    C("bool-header-yes", "GET", "/bools/1", 200, headers={"x-flag": "yes"}),
    C("bool-header-off", "GET", "/bools/1", 200, headers={"x-flag": "off"}),
    C("bool-header-invalid", "GET", "/bools/1", 422, headers={"x-flag": "si"}),
    C("bool-cookie-on", "GET", "/bools/1", 200, cookies={"c": "on"}),
    C("bool-cookie-invalid", "GET", "/bools/1", 422, cookies={"c": "2"}),
]

SEQ_CASES = [
    C("seq-defaults", "GET", "/seq", 200),
    C("seq-list-int-repeated", "GET", "/seq", 200, params=[("ids", "3"), ("ids", "4")]),
    C("seq-list-int-bad-member", "GET", "/seq", 422, params=[("ids", "3"), ("ids", "x")]),
    C("seq-set-dedup", "GET", "/seq", 200, params=[("names", "b"), ("names", "a"), ("names", "b")]),
    C("seq-tuple-pair-ok", "GET", "/seq", 200, params=[("pair", "1"), ("pair", "2")]),
    C("seq-tuple-pair-too-short", "GET", "/seq", 422, params=[("pair", "1")]),
    C("seq-tuple-pair-too-long", "GET", "/seq", 422, params=[("pair", "1"), ("pair", "2"), ("pair", "3")]),
    C("seq-tuple-variadic", "GET", "/seq", 200, params=[("words", "x"), ("words", "y"), ("words", "z")]),
    C("seq-required-set-missing", "GET", "/seq/required", 422),
    C("seq-required-set-ok", "GET", "/seq/required", 200, params=[("vals", "z"), ("vals", "y")]),
    C("optional-all-none", "GET", "/optional", 200),
    C("optional-values", "GET", "/optional", 200, params={"a": "1", "b": "2", "c": "x"}),
    C("optional-invalid", "GET", "/optional", 422, params={"a": "x"}),
    C("optional-empty-int", "GET", "/optional", 422, params={"b": ""}),
    C("int-spelling-plus", "GET", "/optional", 200, params={"a": "+5"}),
    C("int-spelling-spaces", "GET", "/optional", 200, params={"a": " 5 "}),
    C("int-spelling-underscore", "GET", "/optional", 200, params={"a": "1_000"}),
    C("int-spelling-integral-float", "GET", "/optional", 200, params={"a": "5.0"}),
    C("int-spelling-exponent", "GET", "/optional", 422, params={"a": "1e3"}),
    C("int-spelling-hex", "GET", "/optional", 422, params={"a": "0x10"}),
    C("int-spelling-huge", "GET", "/optional", 200, params={"a": "123456789012345678901234567890"}),
    C("optional-required-nullable-missing", "GET", "/optional/required-nullable", 422),
    C("optional-required-nullable-given", "GET", "/optional/required-nullable", 200, params={"c": "5"}),
]

MODEL_PARAM_CASES = [
    C("model-query-defaults", "GET", "/models/query", 200),
    C(
        "model-query-values",
        "GET",
        "/models/query",
        200,
        params=[("limit", "5"), ("offset", "2"), ("order_by", "updated_at"), ("tags", "a"), ("tags", "b")],
    ),
    C("model-query-extra-ignored", "GET", "/models/query", 200, params={"limit": "5", "other": "x"}),
    C(
        "model-query-invalid",
        "GET",
        "/models/query",
        422,
        params={"limit": "0", "offset": "-1", "order_by": "name"},
    ),
    C("model-query-forbid-ok", "GET", "/models/query-forbid", 200, params={"limit": "3", "q": "s"}),
    C(
        "model-query-forbid-extra",
        "GET",
        "/models/query-forbid",
        422,
        params={"limit": "3", "tool": "plumbus"},
    ),
    C("model-header-defaults", "GET", "/models/header", 200),
    C(
        "model-header-values",
        "GET",
        "/models/header",
        200,
        headers=[("save-data", "yes"), ("if-modified-since", "now"), ("x-tag", "a"), ("x-tag", "b")],
    ),
    C("model-header-underscore-name-ignored", "GET", "/models/header", 200, headers={"save_data": "true"}),
    C("model-header-invalid", "GET", "/models/header", 422, headers={"save-data": "maybe"}),
    C("model-header-raw-underscore", "GET", "/models/header-raw", 200, headers={"save_data": "true"}),
    C("model-header-raw-dash-ignored", "GET", "/models/header-raw", 200, headers={"save-data": "true"}),
    C("model-cookie-ok", "GET", "/models/cookie", 200, cookies={"session_id": "s1", "visits": "3"}),
    C("model-cookie-missing", "GET", "/models/cookie", 422),
    C(
        "model-cookie-invalid",
        "GET",
        "/models/cookie",
        422,
        cookies={"session_id": "s1", "visits": "many"},
    ),
    C(
        "model-cookie-forbid-extra",
        "GET",
        "/models/cookie-forbid",
        422,
        cookies={"session_id": "s", "x": "1"},
    ),
    C("model-cookie-forbid-ok", "GET", "/models/cookie-forbid", 200, cookies={"session_id": "s"}),
]

HEADER_CASES = [
    C("header-raw-underscore", "GET", "/headers/raw", 200, headers={"x_under": "u", "x-dash": "d"}),
    C("header-raw-dash-not-matched", "GET", "/headers/raw", 200, headers={"x-under": "u", "x_dash": "d"}),
    C("header-list-duplicates", "GET", "/headers/list", 200, headers=[("x-token", "a"), ("x-token", "b")]),
    C("header-list-single", "GET", "/headers/list", 200, headers={"x-token": "only"}),
    C("header-list-comma-not-split", "GET", "/headers/list", 200, headers={"x-token": "a, b"}),
    C("header-list-missing", "GET", "/headers/list", 200),
    C("header-list-int", "GET", "/headers/list", 200, headers=[("x-num", "1"), ("x-num", "2")]),
    C("header-list-int-invalid", "GET", "/headers/list", 422, headers=[("x-num", "1"), ("x-num", "b")]),
    C("header-pattern-ok", "GET", "/headers/constraints", 200, headers={"x-code": "ABC"}),
    C("header-pattern-violation", "GET", "/headers/constraints", 422, headers={"x-code": "abcd"}),
    C("header-alias-missing", "GET", "/headers/constraints", 422),
    C("cookie-constraints-ok", "GET", "/cookies/constraints", 200, cookies={"n": "5", "s": "ab"}),
    C("cookie-constraints-violation", "GET", "/cookies/constraints", 422, cookies={"n": "9", "s": "a"}),
]

BODY_CASES = [
    C("body-embed-scalar-ok", "POST", "/body/embed-scalar", 200, json={"name": "abc"}),
    C("body-embed-scalar-too-short", "POST", "/body/embed-scalar", 422, json={"name": "a"}),
    C("body-embed-scalar-bare-string", "POST", "/body/embed-scalar", 422, json="abc"),
    C("body-embed-scalar-missing", "POST", "/body/embed-scalar", 422),
    C("body-embed-model-ok", "POST", "/body/embed-model", 200, json={"item": ITEM}),
    C("body-embed-model-unembedded", "POST", "/body/embed-model", 422, json=ITEM),
    C("body-alias-ok", "POST", "/body/alias", 200, json={"item-name": "n", "count": 2}),
    C("body-alias-python-name", "POST", "/body/alias", 422, json={"item_name": "n"}),
    C("body-alias-gt", "POST", "/body/alias", 422, json={"item-name": "n", "count": 0}),
    C("body-two-models-ok", "POST", "/body/two-models", 200, json={"item": ITEM, "user": {"username": "u"}}),
    C("body-two-models-one-missing", "POST", "/body/two-models", 422, json={"item": ITEM}),
    C("body-two-models-both-invalid", "POST", "/body/two-models", 422, json={"item": {}, "user": []}),
    C("body-two-models-top-level-list", "POST", "/body/two-models", 422, json=[ITEM]),
    C(
        "body-model-plus-values-ok",
        "POST",
        "/body/model-plus-values",
        200,
        json={"item": ITEM, "importance": 3, "note": "n"},
    ),
    C(
        "body-model-plus-values-default",
        "POST",
        "/body/model-plus-values",
        200,
        json={"item": ITEM, "importance": "2"},
    ),
    C(
        "body-model-plus-values-out-of-range",
        "POST",
        "/body/model-plus-values",
        422,
        json={"item": ITEM, "importance": 9},
    ),
    C("body-model-plus-values-missing-all", "POST", "/body/model-plus-values", 422, json={}),
]

MALFORMED_JSON = [
    ("truncated", b'{"name": "x",'),
    ("trailing-comma", b'{"name": "x", "price": 1,}'),
    ("single-quotes", b"{'name': 'x', 'price': 1}"),
    ("unquoted-key", b'{name: "x"}'),
    ("bare-word", b"tru"),
    ("unterminated-string", b'{"name": "x'),
    ("extra-data", b'{"name": "x", "price": 1}{}'),
]

RAW_CASES = [
    C("raw-query-no-equals-is-blank", "GET", "/optional?c&a=1", 200),
    C("raw-query-invalid-percent", "GET", "/optional?c=%ZZ", 200),
    C("raw-query-invalid-utf8", "GET", "/optional?c=%FF%FE", 200),
    C("raw-query-semicolon", "GET", "/optional?c=x;a=1", 200),
    C("raw-query-encoded-key", "GET", "/meta?item%2Dq=enc", 200),
    C("raw-path-invalid-utf8", "GET", "/enum/%FF", 422),
    # UTF-8 bytes, not raw latin-1: Starlette's TestClient re-encodes header values as UTF-8, so a raw
    # b"\xe9" would reach FastAPI as two bytes; UTF-8 bytes survive that round trip, as on a real server.
    C("raw-header-utf8-bytes-read-as-latin1", "GET", "/headers/raw", 200, headers=[(b"x-dash", b"caf\xc3\xa9")]),
    C("raw-cookie-quoted", "GET", "/meta", 200, headers={"cookie": 'fl="a b"; other=1'}),
    C("raw-cookie-escaped", "GET", "/meta", 200, headers={"cookie": 'fl="a\\"b\\073c"'}),
    C("raw-cookie-no-value", "GET", "/meta", 200, headers={"cookie": "fl; x=1"}),
    C(
        "json-duplicate-keys-last-wins",
        "POST",
        "/body/model",
        200,
        content=b'{"name": "a", "name": "b", "price": 1}',
        headers=JSON_CT,
    ),
    C(
        "json-big-int-price",
        "POST",
        "/body/model",
        200,
        content=b'{"name": "a", "price": 123456789012345678901234567890}',
        headers=JSON_CT,
    ),
    C("json-float-overflow", "POST", "/body/summary", 200, content=b'{"name": "a", "price": 1e400}', headers=JSON_CT),
    C(
        "json-unicode-escapes",
        "POST",
        "/body/model",
        200,
        content=b'{"name": "\\u00e9\\ud83d\\ude00", "price": 1}',
        headers=JSON_CT,
    ),
    C(
        "json-nan-echoed",
        "POST",
        "/body/model",
        500,
        content=b'{"name": "x", "price": NaN}',
        headers=JSON_CT,
        raise_server_exceptions=False,
        orjson_xfail="a NaN float in a returned model (no response_model): FastAPI 500 (JSON has no NaN), "
        "turboapi 200 with price null",
    ),
    C("json-whitespace-only", "POST", "/body/model", 422, content=b"  \n ", headers=JSON_CT),
]

ERROR_CASES = [
    *[
        C(f"json-invalid-{kind}", "POST", "/body/model", 422, content=body, headers=JSON_CT)
        for kind, body in MALFORMED_JSON
    ],
    C("json-nan-literal", "POST", "/body/summary", 200, content=b'{"name": "x", "price": NaN}', headers=JSON_CT),
    C(
        "json-infinity-literal",
        "POST",
        "/body/summary",
        200,
        content=b'{"name": "x", "price": -Infinity}',
        headers=JSON_CT,
    ),
    C(
        "json-utf8-bom",
        "POST",
        "/body/model",
        200,
        content=b'\xef\xbb\xbf{"name": "x", "price": 1}',
        headers=JSON_CT,
    ),
    C("json-invalid-utf8", "POST", "/body/model", 400, content=b'{"name": "\xff", "price": 1}', headers=JSON_CT),
    C(
        "json-as-text-plain",
        "POST",
        "/body/model",
        422,
        content=b'{"name": "x", "price": 1}',
        headers={"content-type": "text/plain"},
    ),
    C("json-no-content-type", "POST", "/body/model", 422, content=b'{"name": "x", "price": 1}'),
    C("json-as-form-urlencoded", "POST", "/body/model", 422, data={"name": "x", "price": "1"}),
    C("json-empty-body", "POST", "/body/model", 422),
    C("json-empty-body-with-ct", "POST", "/body/model", 422, content=b"", headers=JSON_CT),
    C("json-list-for-model", "POST", "/body/model", 422, json=[ITEM]),
    C("json-number-for-model", "POST", "/body/model", 422, json=5),
    C("json-null-for-model", "POST", "/body/model", 422, json=None),
    C("json-nested-errors", "POST", "/body/model", 422, json={"name": ["x"], "price": {}, "tags": [1, None]}),
    C(
        "many-errors-query-header-body",
        "POST",
        "/body/everything/abc",
        422,
        params={"q": "-1"},
        json={"name": 5},
    ),
    C("many-errors-all-missing", "POST", "/body/everything/1", 422),
    C(
        "everything-ok",
        "POST",
        "/body/everything/1",
        200,
        params={"q": "0"},
        headers={"x-req": "r"},
        json=ITEM,
    ),
    C("response-validation-500", "GET", "/bad-response", 500, raise_server_exceptions=False),
]

HANDLER_CASES = [
    C("handler-ok", "POST", "/h/item", 200, app="handler", json=ITEM),
    C("handler-body-errors", "POST", "/h/item", 400, app="handler", json={"name": 1, "tags": "x"}),
    C("handler-body-and-query", "POST", "/h/item", 400, app="handler", json={"price": 1}, params={"q": "z"}),
    C("handler-malformed-json", "POST", "/h/item", 400, app="handler", content=b'{"a": 1,}', headers=JSON_CT),
    C("handler-missing-body", "POST", "/h/item", 400, app="handler"),
    C(
        "handler-text-plain-body",
        "POST",
        "/h/item",
        400,
        app="handler",
        content=b'{"name": "x", "price": 1}',
        headers={"content-type": "text/plain"},
    ),
    C("handler-query-only", "GET", "/h/query", 400, app="handler", params={"n": "0", "s": "abc"}),
    C("handler-query-missing", "GET", "/h/query", 400, app="handler"),
]

ALL_CASES = (
    RAW_CASES
    + META_CASES
    + TYPED_CASES
    + BOOL_CASES
    + SEQ_CASES
    + MODEL_PARAM_CASES
    + HEADER_CASES
    + BODY_CASES
    + ERROR_CASES
)
ALL_CASES += HANDLER_CASES


apps = apps_fixture(FACTORIES)


@pytest.mark.parametrize("case", ALL_CASES)
def test_params_differential(apps: Apps, case: Case) -> None:
    check(apps, case)


def test_every_route_registers(apps: Apps) -> None:
    assert apps.ref_errors == []
    assert apps.sut_errors == []


def test_case_ids_unique() -> None:
    assert_unique_ids(ALL_CASES)
