"""Path, query, header and cookie parameters: conversion, defaults, constraints and 422 bodies.

Every expected value below is what FastAPI 0.141.1 answers for the same app (checked with
fastapi's TestClient).
"""

from typing import Annotated

import pytest

from turboapi import Body, Cookie, FastAPI, Header, Path, Query
from turboapi.testclient import TestClient

INT_MSG = "Input should be a valid integer, unable to parse string as an integer"
FLOAT_MSG = "Input should be a valid number, unable to parse string as a number"
BOOL_MSG = "Input should be a valid boolean, unable to interpret input"


def int_parsing(loc, value):
    return {"type": "int_parsing", "loc": loc, "msg": INT_MSG, "input": value}


def missing(loc):
    return {"type": "missing", "loc": loc, "msg": "Field required", "input": None}


app = FastAPI()


# ---------------------------------------------------------------------------- path
@app.get("/path/int/{v}")
def path_int(v: int):
    return {"v": v}


@app.get("/path/float/{v}")
def path_float(v: float):
    return {"v": v}


@app.get("/path/str/{v}")
def path_str(v: str):
    return {"v": v}


@app.get("/path/files/{p:path}")
def path_catch_all(p: str):
    return {"p": p}


@app.get("/path/two/{a}/{b}")
async def path_two(a: str, b: int):
    return {"a": a, "b": b}


# ---------------------------------------------------------------------------- query scalars
@app.get("/q/int")
def q_int(v: int):
    return {"v": v}


@app.get("/q/int-repr")
def q_int_repr(v: int):
    # The value the handler received, independent of how the response is serialised.
    return {"repr": repr(v), "type": type(v).__name__}


@app.get("/q/float")
def q_float(v: float):
    return {"v": v}


@app.get("/q/bool")
async def q_bool(v: bool):
    return {"v": v}


@app.get("/q/str")
def q_str(v: str):
    return {"v": v}


@app.get("/q/bytes")
def q_bytes(v: bytes):
    return {"v": v.decode(), "type": type(v).__name__}


@app.get("/q/optional")
def q_optional(v: int | None = None, w: str = "dflt", x: float = 2.5, flag: bool = False):
    return {"v": v, "w": w, "x": x, "flag": flag}


# ---------------------------------------------------------------------------- query lists
@app.get("/q/list-int")
def q_list_int(ids: list[int] = Query()):
    return {"ids": ids}


@app.get("/q/list-str")
def q_list_str(tags: list[str] = Query([])):
    return {"tags": tags}


@app.get("/q/list-optional")
def q_list_optional(tags: list[str] | None = Query(None)):
    return {"tags": tags}


@app.get("/q/mutable-default")
def q_mutable_default(v: list[int] = Query([1])):
    v.append(99)  # must not leak into the next request's default
    return {"v": v}


# ---------------------------------------------------------------------------- aliases, constraints
@app.get("/q/alias")
def q_alias(item_query: str = Query(alias="item-query")):
    return {"v": item_query}


@app.get("/q/annotated")
def q_annotated(v: Annotated[int, Query(alias="x", ge=1)]):
    return {"v": v}


@app.get("/q/annotated-default")
def q_annotated_default(v: Annotated[int, Query(alias="x", ge=1)] = 7):
    return {"v": v}


@app.get("/q/constraints")
def q_constraints(
    ge: int = Query(None, ge=1),
    le: int = Query(None, le=10),
    gt: float = Query(None, gt=0),
    lt: float = Query(None, lt=1),
    mn: str = Query(None, min_length=2),
    mx: str = Query(None, max_length=3),
    pat: str = Query(None, pattern="^[a-z]+$"),
):
    return {"ge": ge, "le": le, "gt": gt, "lt": lt, "mn": mn, "mx": mx, "pat": pat}


@app.get("/q/list-max-length")
def q_list_max_length(v: Annotated[list[int], Query(max_length=2)]):
    return {"v": v}


# ---------------------------------------------------------------------------- headers, cookies
@app.get("/headers")
def headers(
    user_agent: str | None = Header(None),
    x_token: str | None = Header(None),
    x_under: str | None = Header(None, convert_underscores=False),
    custom: str | None = Header(None, alias="X-Custom"),
):
    return {"user_agent": user_agent, "x_token": x_token, "x_under": x_under, "custom": custom}


@app.get("/headers/list")
def headers_list(x_tag: list[str] = Header([])):
    return {"x_tag": x_tag}


@app.get("/headers/required")
def headers_required(x_key: str = Header()):
    return {"x_key": x_key}


@app.get("/headers/int")
def headers_int(x_n: int = Header()):
    return {"x_n": x_n}


@app.get("/cookies")
def cookies(
    session: str | None = Cookie(None),
    n: int = Cookie(0),
    sid: Annotated[str | None, Cookie(alias="session-id")] = None,
):
    return {"session": session, "n": n, "sid": sid}


@app.get("/cookies/required")
def cookies_required(session: str = Cookie()):
    return {"session": session}


# ---------------------------------------------------------------------------- aggregation
@app.post("/aggregate/{pid}")
def aggregate(pid: int, q: int, x_h: int = Header(), c: int = Cookie(), body_int: int = Body(embed=True)):
    return {}


@app.post("/aggregate-reversed/{pid}")
def aggregate_reversed(b: int = Body(), c: int = Cookie(), h: int = Header(), q: int = Query(), pid: int = Path()):
    return {}


@pytest.fixture(scope="module")
def client():
    with TestClient(app) as c:
        yield c


# ============================================================================ path
@pytest.mark.parametrize(
    ("url", "expected"),
    [
        pytest.param("/path/int/5", {"v": 5}, id="int"),
        pytest.param("/path/int/-3", {"v": -3}, id="int-negative"),
        pytest.param("/path/int/5.0", {"v": 5}, id="int-from-5.0"),
        pytest.param("/path/float/1.5", {"v": 1.5}, id="float"),
        pytest.param("/path/float/3", {"v": 3.0}, id="float-from-int"),
        pytest.param("/path/float/1e3", {"v": 1000.0}, id="float-exponent"),
        pytest.param("/path/str/hello", {"v": "hello"}, id="str"),
        pytest.param("/path/str/hello%20world", {"v": "hello world"}, id="str-percent-decoded"),
        pytest.param("/path/str/%C3%A9t%C3%A9", {"v": "été"}, id="str-utf8"),
        pytest.param("/path/str/a+b", {"v": "a+b"}, id="str-plus-kept"),
        pytest.param("/path/files/a/b/c.txt", {"p": "a/b/c.txt"}, id="path-convertor"),
        pytest.param("/path/files/a//b", {"p": "a//b"}, id="path-convertor-double-slash"),
        pytest.param("/path/two/x/1", {"a": "x", "b": 1}, id="two-params"),
    ],
)
def test_path_param_ok(client, url, expected):
    r = client.get(url)
    assert r.status_code == 200
    assert r.json() == expected


def test_path_convertor_matches_empty_rest(client):
    # Starlette's `path` convertor is `.*`: "/path/files/" matches with p == "".
    r = client.get("/path/files/")
    assert r.status_code == 200
    assert r.json() == {"p": ""}


@pytest.mark.parametrize(
    ("url", "error"),
    [
        pytest.param("/path/int/abc", int_parsing(["path", "v"], "abc"), id="int"),
        pytest.param(
            "/path/float/x",
            {"type": "float_parsing", "loc": ["path", "v"], "msg": FLOAT_MSG, "input": "x"},
            id="float",
        ),
        pytest.param("/path/two/x/y", int_parsing(["path", "b"], "y"), id="second-param"),
    ],
)
def test_path_param_invalid(client, url, error):
    r = client.get(url)
    assert r.status_code == 422
    assert r.json() == {"detail": [error]}


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("/path/str/", id="empty-segment"),
        pytest.param("/path/str/a%2Fb", id="encoded-slash"),
    ],
)
def test_path_param_no_match(client, url):
    r = client.get(url)
    assert r.status_code == 404
    assert r.json() == {"detail": "Not Found"}


# ============================================================================ query: bool
@pytest.mark.parametrize(
    ("raw", "value"),
    [
        pytest.param(raw, value, id=raw)
        for raw, value in [
            ("1", True), ("0", False), ("true", True), ("false", False),
            ("yes", True), ("no", False), ("on", True), ("off", False),
            ("t", True), ("f", False), ("y", True), ("n", False),
            ("TRUE", True), ("True", True), ("FALSE", False), ("Yes", True), ("ON", True),
        ]
    ],
)  # fmt: skip
def test_query_bool_accepted(client, raw, value):
    r = client.get("/q/bool", params={"v": raw})
    assert r.status_code == 200
    assert r.json() == {"v": value}


@pytest.mark.parametrize(
    "raw", [pytest.param("maybe", id="maybe"), pytest.param("", id="empty"), pytest.param("2", id="2")]
)
def test_query_bool_rejected(client, raw):
    r = client.get("/q/bool", params={"v": raw})
    assert r.status_code == 422
    assert r.json() == {"detail": [{"type": "bool_parsing", "loc": ["query", "v"], "msg": BOOL_MSG, "input": raw}]}


# ============================================================================ query: int/float
@pytest.mark.parametrize(
    ("raw", "value"),
    [
        pytest.param("42", 42, id="plain"),
        pytest.param("-7", -7, id="negative"),
        pytest.param(" 5", 5, id="leading-space"),
        pytest.param("5 ", 5, id="trailing-space"),
        pytest.param("+5", 5, id="plus-sign"),
        pytest.param("1_000", 1000, id="underscore"),
        pytest.param("5.0", 5, id="integral-float"),
        pytest.param("00012", 12, id="leading-zeros"),
        pytest.param("-0", 0, id="minus-zero"),
    ],
)
def test_query_int_accepted(client, raw, value):
    r = client.get("/q/int", params={"v": raw})
    assert r.status_code == 200
    assert r.json() == {"v": value}


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param("123456789012345678901234567890", id="beyond-64-bits"),
        pytest.param("9223372036854775808", id="i64-max-plus-1"),
        pytest.param("-9223372036854775809", id="i64-min-minus-1"),
    ],
)
def test_query_big_int_reaches_handler(client, raw):
    r = client.get("/q/int-repr", params={"v": raw})
    assert r.status_code == 200
    assert r.json() == {"repr": raw, "type": "int"}


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param("123456789012345678901234567890", id="beyond-64-bits"),
        pytest.param("9223372036854775808", id="i64-max-plus-1"),
        pytest.param("-9223372036854775809", id="i64-min-minus-1"),
    ],
)
def test_query_big_int_round_trips_in_json(client, raw):
    # FastAPI's JSON encoder writes arbitrary-precision ints.
    r = client.get("/q/int", params={"v": raw})
    assert r.status_code == 200
    assert r.content == b'{"v":' + raw.encode() + b"}"


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param("5.5", id="fraction"),
        pytest.param("", id="empty"),
        pytest.param("abc", id="letters"),
        pytest.param("0x10", id="hex"),
        pytest.param("1e3", id="exponent"),
        pytest.param("１", id="fullwidth-digit"),
    ],
)
def test_query_int_rejected(client, raw):
    r = client.get("/q/int", params={"v": raw})
    assert r.status_code == 422
    assert r.json() == {"detail": [int_parsing(["query", "v"], raw)]}


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        pytest.param("1.5", 1.5, id="plain"),
        pytest.param(" 1.5", 1.5, id="leading-space"),
        pytest.param("1e3", 1000.0, id="exponent"),
        pytest.param("+2", 2.0, id="plus-sign"),
        pytest.param(".5", 0.5, id="no-int-part"),
        pytest.param("5.", 5.0, id="no-fraction"),
        pytest.param("1_0.5", 10.5, id="underscore"),
    ],
)
def test_query_float_accepted(client, raw, value):
    r = client.get("/q/float", params={"v": raw})
    assert r.status_code == 200
    assert r.json() == {"v": value}


def test_query_float_rejected(client):
    r = client.get("/q/float", params={"v": "abc"})
    assert r.status_code == 422
    assert r.json() == {"detail": [{"type": "float_parsing", "loc": ["query", "v"], "msg": FLOAT_MSG, "input": "abc"}]}


# ============================================================================ query: str/bytes/optional
def test_query_str(client):
    r = client.get("/q/str", params={"v": "x y&z"})
    assert r.json() == {"v": "x y&z"}


def test_query_str_empty_value(client):
    r = client.get("/q/str?v=")
    assert r.status_code == 200
    assert r.json() == {"v": ""}


def test_query_bytes(client):
    r = client.get("/q/bytes", params={"v": "héllo"})
    assert r.status_code == 200
    assert r.json() == {"v": "héllo", "type": "bytes"}


def test_query_defaults_used_when_absent(client):
    r = client.get("/q/optional")
    assert r.status_code == 200
    assert r.json() == {"v": None, "w": "dflt", "x": 2.5, "flag": False}


def test_query_optional_values_given(client):
    r = client.get("/q/optional?v=3&w=z&x=1&flag=on")
    assert r.json() == {"v": 3, "w": "z", "x": 1.0, "flag": True}


def test_query_optional_int_empty_value_is_invalid(client):
    r = client.get("/q/optional?v=")
    assert r.status_code == 422
    assert r.json() == {"detail": [int_parsing(["query", "v"], "")]}


@pytest.mark.parametrize("url", [pytest.param("/q/int", id="int"), pytest.param("/q/str", id="str")])
def test_query_required_missing(client, url):
    r = client.get(url)
    assert r.status_code == 422
    assert r.json() == {"detail": [missing(["query", "v"])]}


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        pytest.param("/q/str?v=a&v=b", {"v": "b"}, id="str"),
        pytest.param("/q/int?v=1&v=2", {"v": 2}, id="int"),
        pytest.param("/q/int?v=x&v=1", {"v": 1}, id="earlier-invalid-ignored"),
    ],
)
def test_query_repeated_key_for_scalar_takes_last(client, url, expected):
    r = client.get(url)
    assert r.status_code == 200
    assert r.json() == expected


def test_query_repeated_key_last_value_is_validated(client):
    r = client.get("/q/int?v=1&v=x")
    assert r.status_code == 422
    assert r.json() == {"detail": [int_parsing(["query", "v"], "x")]}


# ============================================================================ query: lists
def test_query_list_int(client):
    r = client.get("/q/list-int?ids=1&ids=2&ids=3")
    assert r.json() == {"ids": [1, 2, 3]}


def test_query_list_int_single(client):
    assert client.get("/q/list-int?ids=5").json() == {"ids": [5]}


def test_query_list_int_required_missing(client):
    r = client.get("/q/list-int")
    assert r.status_code == 422
    assert r.json() == {"detail": [missing(["query", "ids"])]}


def test_query_list_int_invalid_items(client):
    r = client.get("/q/list-int?ids=1&ids=x&ids=y")
    assert r.status_code == 422
    assert r.json() == {"detail": [int_parsing(["query", "ids", 1], "x"), int_parsing(["query", "ids", 2], "y")]}


def test_query_list_str(client):
    assert client.get("/q/list-str?tags=a&tags=b").json() == {"tags": ["a", "b"]}


def test_query_list_str_default(client):
    assert client.get("/q/list-str").json() == {"tags": []}


def test_query_optional_list_absent_is_none(client):
    assert client.get("/q/list-optional").json() == {"tags": None}


def test_query_optional_list_given(client):
    assert client.get("/q/list-optional?tags=a").json() == {"tags": ["a"]}


def test_query_list_max_length(client):
    r = client.get("/q/list-max-length?v=1&v=2&v=3")
    assert r.status_code == 422
    assert r.json() == {
        "detail": [
            {
                "type": "too_long",
                "loc": ["query", "v"],
                "msg": "List should have at most 2 items after validation, not 3",
                "input": ["1", "2", "3"],
                "ctx": {"field_type": "List", "max_length": 2, "actual_length": 3},
            }
        ]
    }


def test_query_mutable_default_not_shared(client):
    assert client.get("/q/mutable-default").json() == {"v": [1, 99]}
    assert client.get("/q/mutable-default").json() == {"v": [1, 99]}
    assert client.get("/q/mutable-default?v=5").json() == {"v": [5, 99]}
    assert client.get("/q/mutable-default").json() == {"v": [1, 99]}


# ============================================================================ aliases
def test_query_alias(client):
    assert client.get("/q/alias?item-query=z").json() == {"v": "z"}


def test_query_alias_python_name_not_accepted(client):
    r = client.get("/q/alias?item_query=z")
    assert r.status_code == 422
    assert r.json() == {"detail": [missing(["query", "item-query"])]}


def test_annotated_query_alias(client):
    assert client.get("/q/annotated?x=3").json() == {"v": 3}


def test_annotated_query_alias_ge_violated(client):
    r = client.get("/q/annotated?x=0")
    assert r.status_code == 422
    assert r.json() == {
        "detail": [
            {
                "type": "greater_than_equal",
                "loc": ["query", "x"],
                "msg": "Input should be greater than or equal to 1",
                "input": "0",
                "ctx": {"ge": 1},
            }
        ]
    }


def test_annotated_query_alias_missing(client):
    r = client.get("/q/annotated?v=3")
    assert r.status_code == 422
    assert r.json() == {"detail": [missing(["query", "x"])]}


def test_annotated_query_default(client):
    assert client.get("/q/annotated-default").json() == {"v": 7}


def test_annotated_query_default_invalid(client):
    r = client.get("/q/annotated-default?x=abc")
    assert r.status_code == 422
    assert r.json() == {"detail": [int_parsing(["query", "x"], "abc")]}


# ============================================================================ constraints
@pytest.mark.parametrize(
    ("query", "error"),
    [
        pytest.param(
            "ge=0",
            {
                "type": "greater_than_equal",
                "loc": ["query", "ge"],
                "msg": "Input should be greater than or equal to 1",
                "input": "0",
                "ctx": {"ge": 1},
            },
            id="ge",
        ),
        pytest.param(
            "le=11",
            {
                "type": "less_than_equal",
                "loc": ["query", "le"],
                "msg": "Input should be less than or equal to 10",
                "input": "11",
                "ctx": {"le": 10},
            },
            id="le",
        ),
        pytest.param(
            "gt=0",
            {
                "type": "greater_than",
                "loc": ["query", "gt"],
                "msg": "Input should be greater than 0",
                "input": "0",
                "ctx": {"gt": 0.0},
            },
            id="gt",
        ),
        pytest.param(
            "lt=1",
            {
                "type": "less_than",
                "loc": ["query", "lt"],
                "msg": "Input should be less than 1",
                "input": "1",
                "ctx": {"lt": 1.0},
            },
            id="lt",
        ),
        pytest.param(
            "mn=a",
            {
                "type": "string_too_short",
                "loc": ["query", "mn"],
                "msg": "String should have at least 2 characters",
                "input": "a",
                "ctx": {"min_length": 2},
            },
            id="min_length",
        ),
        pytest.param(
            "mx=abcd",
            {
                "type": "string_too_long",
                "loc": ["query", "mx"],
                "msg": "String should have at most 3 characters",
                "input": "abcd",
                "ctx": {"max_length": 3},
            },
            id="max_length",
        ),
        pytest.param(
            "pat=AB",
            {
                "type": "string_pattern_mismatch",
                "loc": ["query", "pat"],
                "msg": "String should match pattern '^[a-z]+$'",
                "input": "AB",
                "ctx": {"pattern": "^[a-z]+$"},
            },
            id="pattern",
        ),
    ],
)
def test_query_constraint_violated(client, query, error):
    r = client.get("/q/constraints?" + query)
    assert r.status_code == 422
    assert r.json() == {"detail": [error]}


def test_query_constraints_satisfied(client):
    r = client.get("/q/constraints?ge=1&le=10&gt=0.1&lt=0.9&mn=ab&mx=abc&pat=ab")
    assert r.status_code == 200
    assert r.json() == {"ge": 1, "le": 10, "gt": 0.1, "lt": 0.9, "mn": "ab", "mx": "abc", "pat": "ab"}


# ============================================================================ headers
def test_header_underscores_become_dashes(client):
    r = client.get("/headers", headers={"x-token": "T"})
    assert r.json()["x_token"] == "T"


def test_header_with_underscore_in_request_does_not_match_converted_name(client):
    r = client.get("/headers", headers={"x_token": "T"})
    assert r.json()["x_token"] is None


def test_header_convert_underscores_false(client):
    r = client.get("/headers", headers={"x_under": "U"})
    assert r.json()["x_under"] == "U"


def test_header_convert_underscores_false_ignores_dashed_name(client):
    r = client.get("/headers", headers={"x-under": "U"})
    assert r.json()["x_under"] is None


def test_header_alias(client):
    r = client.get("/headers", headers={"X-Custom": "C"})
    assert r.json()["custom"] == "C"


def test_header_alias_python_name_not_accepted(client):
    r = client.get("/headers", headers={"custom": "C"})
    assert r.json()["custom"] is None


def test_header_user_agent_from_testclient(client):
    assert client.get("/headers").json() == {
        "user_agent": "testclient",
        "x_token": None,
        "x_under": None,
        "custom": None,
    }


def test_header_lookup_is_case_insensitive(client):
    r = client.get("/headers", headers={"X-TOKEN": "T"})
    assert r.json()["x_token"] == "T"


def test_header_list_from_repeated_headers(client):
    r = client.get("/headers/list", headers=[("x-tag", "a"), ("x-tag", "b")])
    assert r.json() == {"x_tag": ["a", "b"]}


def test_header_required_missing(client):
    r = client.get("/headers/required")
    assert r.status_code == 422
    assert r.json() == {"detail": [missing(["header", "x-key"])]}


def test_header_int_invalid(client):
    r = client.get("/headers/int", headers={"x-n": "z"})
    assert r.status_code == 422
    assert r.json() == {"detail": [int_parsing(["header", "x-n"], "z")]}


# ============================================================================ cookies
# Cookies go in a Cookie header: httpx deprecates per-request cookies=, and a client-level jar
# would leak between tests sharing the module's client.
def test_cookies(client):
    r = client.get("/cookies", headers={"cookie": "session=s1; n=4; session-id=abc"})
    assert r.json() == {"session": "s1", "n": 4, "sid": "abc"}


def test_cookies_defaults(client):
    assert client.get("/cookies").json() == {"session": None, "n": 0, "sid": None}


def test_cookie_invalid(client):
    r = client.get("/cookies", headers={"cookie": "n=x"})
    assert r.status_code == 422
    assert r.json() == {"detail": [int_parsing(["cookie", "n"], "x")]}


def test_cookie_required_missing(client):
    r = client.get("/cookies/required")
    assert r.status_code == 422
    assert r.json() == {"detail": [missing(["cookie", "session"])]}


# ============================================================================ aggregation
def test_errors_aggregated_in_fastapi_order(client):
    r = client.post("/aggregate/x", params={"q": "y"}, headers={"x-h": "z", "cookie": "c=w"}, json={"body_int": "v"})
    assert r.status_code == 422
    assert r.json() == {
        "detail": [
            int_parsing(["path", "pid"], "x"),
            int_parsing(["query", "q"], "y"),
            int_parsing(["header", "x-h"], "z"),
            int_parsing(["cookie", "c"], "w"),
            int_parsing(["body", "body_int"], "v"),
        ]
    }


def test_missing_errors_aggregated_in_fastapi_order(client):
    r = client.post("/aggregate/x")
    assert r.status_code == 422
    assert r.json() == {
        "detail": [
            int_parsing(["path", "pid"], "x"),
            missing(["query", "q"]),
            missing(["header", "x-h"]),
            missing(["cookie", "c"]),
            missing(["body", "body_int"]),
        ]
    }


def test_error_order_is_by_source_not_declaration(client):
    # Declared body, cookie, header, query; reported query, header, cookie, body.
    r = client.post("/aggregate-reversed/1")
    assert r.status_code == 422
    assert r.json() == {
        "detail": [missing(["query", "q"]), missing(["header", "h"]), missing(["cookie", "c"]), missing(["body"])]
    }


def test_escaped_non_ascii_in_a_quoted_cookie_is_decoded_not_a_crash():
    app = FastAPI()

    @app.get("/c")
    def read_cookie(a: str | None = Cookie(None)):
        return {"a": a}

    with TestClient(app) as client:
        r = client.get("/c", headers={"cookie": b'a="\\\xe9x"'})
        assert r.status_code == 200
        assert r.json() == {"a": "\u00e9x"}
