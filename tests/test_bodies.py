"""Request bodies: pydantic models, Body() parameters, content types and malformed input.

Every expected status and JSON body is what FastAPI 0.141.1 answers for the same app.
"""

import pytest
from pydantic import BaseModel, Field

from turboapi import Body, FastAPI
from turboapi.testclient import TestClient

JSON = {"content-type": "application/json"}
ITEM = {"name": "x", "price": 1.5}
ITEM_OUT = {"name": "x", "price": 1.5, "tags": []}
USER = {"username": "u"}
USER_OUT = {"username": "u", "full_name": None}
QUOTES_MSG = "Expecting property name enclosed in double quotes"
MODEL_TYPE_MSG = "Input should be a valid dictionary or object to extract fields from"


def missing(loc, value=None):
    return {"type": "missing", "loc": loc, "msg": "Field required", "input": value}


def json_invalid(pos, error):
    return {
        "type": "json_invalid",
        "loc": ["body", pos],
        "msg": "JSON decode error",
        "input": {},
        "ctx": {"error": error},
    }


class Item(BaseModel):
    name: str
    price: float
    tags: list[str] = []


class User(BaseModel):
    username: str
    full_name: str | None = None


class Image(BaseModel):
    url: str


class Offer(BaseModel):
    item: Item
    images: list[Image] = []


class Aliased(BaseModel):
    full_name: str = Field(alias="fullName")


app = FastAPI()


@app.post("/item")
def create_item(item: Item):
    return item


@app.post("/item/async")
async def create_item_async(item: Item):
    return item


@app.post("/item/with-query")
async def item_with_query(item: Item, q: int):
    return item


@app.post("/item/optional")
def optional_item(item: Item | None = None):
    return {"item": item}


@app.post("/multi")
def multi(item: Item, user: User):
    return {"item": item, "user": user}


@app.post("/embed")
def embed(item: Item = Body(embed=True)):
    return {"item": item}


@app.post("/embed/alias")
def embed_alias(v: int = Body(embed=True, alias="val")):
    return {"v": v}


@app.post("/importance")
def importance(importance: int = Body()):
    return {"importance": importance}


@app.post("/body-default")
def body_default(v: int = Body(3), w: str = Body("x")):
    return {"v": v, "w": w}


@app.post("/mixed")
async def mixed(item: Item, user: User, importance: int = Body()):
    return {"item": item, "user": user, "importance": importance}


@app.post("/offer")
def offer(offer: Offer):
    return offer


@app.post("/dict")
def plain_dict(payload: dict):
    return payload


@app.post("/list")
def model_list(items: list[Item]):
    return items


@app.post("/aliased")
def aliased(a: Aliased):
    return a


@pytest.fixture(scope="module")
def client():
    with TestClient(app) as c:
        yield c


# ============================================================================ single model
@pytest.mark.parametrize("url", [pytest.param("/item", id="sync"), pytest.param("/item/async", id="async")])
def test_model_valid(client, url):
    r = client.post(url, json=ITEM)
    assert r.status_code == 200
    assert r.json() == ITEM_OUT


def test_model_extra_fields_ignored(client):
    r = client.post("/item", json={**ITEM, "extra": 1})
    assert r.status_code == 200
    assert r.json() == ITEM_OUT


def test_model_missing_field(client):
    r = client.post("/item", json={"name": "x"})
    assert r.status_code == 422
    assert r.json() == {"detail": [missing(["body", "price"], {"name": "x"})]}


def test_model_invalid_fields(client):
    r = client.post("/item", json={"name": 1, "price": "abc"})
    assert r.status_code == 422
    assert r.json() == {
        "detail": [
            {"type": "string_type", "loc": ["body", "name"], "msg": "Input should be a valid string", "input": 1},
            {
                "type": "float_parsing",
                "loc": ["body", "price"],
                "msg": "Input should be a valid number, unable to parse string as a number",
                "input": "abc",
            },
        ]
    }


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({}, id="no-body"),
        pytest.param({"content": b"", "headers": JSON}, id="empty-json-body"),
        pytest.param({"content": b"null", "headers": JSON}, id="json-null"),
    ],
)
def test_model_missing_body(client, kwargs):
    r = client.post("/item", **kwargs)
    assert r.status_code == 422
    assert r.json() == {"detail": [missing(["body"])]}


def test_model_json_list_instead_of_object(client):
    r = client.post("/item", json=[1, 2])
    assert r.status_code == 422
    assert r.json() == {
        "detail": [{"type": "model_attributes_type", "loc": ["body"], "msg": MODEL_TYPE_MSG, "input": [1, 2]}]
    }


def test_model_json_string_instead_of_object(client):
    r = client.post("/item", content=b'"str"', headers=JSON)
    assert r.status_code == 422
    assert r.json() == {
        "detail": [{"type": "model_attributes_type", "loc": ["body"], "msg": MODEL_TYPE_MSG, "input": "str"}]
    }


def test_model_with_query_param_errors_together(client):
    r = client.post("/item/with-query?q=x", json={"name": "n"})
    assert r.status_code == 422
    assert r.json() == {
        "detail": [
            {
                "type": "int_parsing",
                "loc": ["query", "q"],
                "msg": "Input should be a valid integer, unable to parse string as an integer",
                "input": "x",
            },
            missing(["body", "price"], {"name": "n"}),
        ]
    }


# ============================================================================ content types
@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({"content-type": "text/plain"}, id="text-plain"),
        pytest.param({}, id="no-content-type"),
        pytest.param({"content-type": "application/x-www-form-urlencoded"}, id="form-urlencoded"),
    ],
)
def test_non_json_content_type_is_not_parsed(client, headers):
    raw = '{"name":"x","price":1}'
    r = client.post("/item", content=raw.encode(), headers=headers)
    assert r.status_code == 422
    assert r.json() == {
        "detail": [{"type": "model_attributes_type", "loc": ["body"], "msg": MODEL_TYPE_MSG, "input": raw}]
    }


@pytest.mark.parametrize(
    "content_type",
    [
        pytest.param("application/json; charset=utf-8", id="charset"),
        pytest.param("application/vnd.api+json", id="vnd-api-json"),
        pytest.param("application/json-patch+json", id="json-patch"),
    ],
)
def test_json_content_type_variants_are_parsed(client, content_type):
    r = client.post("/item", content=b'{"name":"x","price":1}', headers={"content-type": content_type})
    assert r.status_code == 200
    assert r.json() == {"name": "x", "price": 1.0, "tags": []}


def test_form_data_is_not_a_json_body(client):
    r = client.post("/item", data={"name": "x", "price": "1"})
    assert r.status_code == 422
    assert r.json() == {
        "detail": [{"type": "model_attributes_type", "loc": ["body"], "msg": MODEL_TYPE_MSG, "input": "name=x&price=1"}]
    }


# ============================================================================ malformed JSON
@pytest.mark.parametrize(
    ("raw", "error"),
    [
        pytest.param(b'{"name": "x", price: 1}', json_invalid(14, QUOTES_MSG), id="unquoted-key"),
        pytest.param(b'{"name": "x",', json_invalid(13, QUOTES_MSG), id="truncated"),
        pytest.param(b"{bad", json_invalid(1, QUOTES_MSG), id="bad-start"),
        pytest.param(b'{"name": "x", "price": 1}x', json_invalid(25, "Extra data"), id="extra-data"),
        pytest.param(b'\xff\xfe{"a"', json_invalid(0, "Expecting value"), id="invalid-utf8-start"),
    ],
)
def test_malformed_json(client, raw, error):
    r = client.post("/item", content=raw, headers=JSON)
    assert r.status_code == 422
    assert r.json() == {"detail": [error]}


def test_malformed_json_is_the_only_error_reported(client):
    # FastAPI reads the body first; the invalid query value is not reported.
    r = client.post("/item/with-query?q=x", content=b"{bad", headers=JSON)
    assert r.status_code == 422
    assert r.json() == {"detail": [json_invalid(1, QUOTES_MSG)]}


def test_invalid_utf8_inside_json_string(client):
    r = client.post("/item", content=b'{"name": "\xff", "price": 1}', headers=JSON)
    assert r.status_code == 400
    assert r.json() == {"detail": "There was an error parsing the body"}


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b' {"name": "x", "price": 1.5} \n', id="surrounding-whitespace"),
        pytest.param(b'\xef\xbb\xbf{"name": "x", "price": 1.5}', id="utf8-bom"),
        pytest.param(b'{"name": "y", "name": "x", "price": 1.5}', id="duplicate-key-last-wins"),
    ],
)
def test_lenient_json_accepted(client, raw):
    r = client.post("/item", content=raw, headers=JSON)
    assert r.status_code == 200
    assert r.json() == ITEM_OUT


# ============================================================================ optional body
@pytest.mark.parametrize(
    "kwargs",
    [pytest.param({}, id="no-body"), pytest.param({"json": None}, id="json-null")],
)
def test_optional_model_absent(client, kwargs):
    r = client.post("/item/optional", **kwargs)
    assert r.status_code == 200
    assert r.json() == {"item": None}


def test_optional_model_given(client):
    assert client.post("/item/optional", json=ITEM).json() == {"item": ITEM_OUT}


# ============================================================================ several body params
def test_multiple_body_params(client):
    r = client.post("/multi", json={"item": ITEM, "user": USER})
    assert r.status_code == 200
    assert r.json() == {"item": ITEM_OUT, "user": USER_OUT}


def test_multiple_body_params_one_missing(client):
    r = client.post("/multi", json={"item": ITEM})
    assert r.status_code == 422
    assert r.json() == {"detail": [missing(["body", "user"])]}


def test_multiple_body_params_null_member_is_missing(client):
    r = client.post("/multi", json={"item": ITEM, "user": None})
    assert r.status_code == 422
    assert r.json() == {"detail": [missing(["body", "user"])]}


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({"json": ITEM}, id="unembedded-object"),
        pytest.param({}, id="no-body"),
        pytest.param({"json": [1]}, id="json-list"),
    ],
)
def test_multiple_body_params_all_missing(client, kwargs):
    r = client.post("/multi", **kwargs)
    assert r.status_code == 422
    assert r.json() == {"detail": [missing(["body", "item"]), missing(["body", "user"])]}


def test_multiple_models_and_scalar_body(client):
    r = client.post("/mixed", json={"item": ITEM, "user": USER, "importance": 3})
    assert r.status_code == 200
    assert r.json() == {"item": ITEM_OUT, "user": USER_OUT, "importance": 3}


def test_multiple_models_and_scalar_body_missing_scalar(client):
    r = client.post("/mixed", json={"item": ITEM, "user": USER})
    assert r.status_code == 422
    assert r.json() == {"detail": [missing(["body", "importance"])]}


# ============================================================================ Body(embed=True)
def test_embed(client):
    r = client.post("/embed", json={"item": ITEM})
    assert r.status_code == 200
    assert r.json() == {"item": ITEM_OUT}


def test_embed_unembedded_body_is_missing(client):
    r = client.post("/embed", json=ITEM)
    assert r.status_code == 422
    assert r.json() == {"detail": [missing(["body", "item"])]}


def test_embed_alias(client):
    assert client.post("/embed/alias", json={"val": 2}).json() == {"v": 2}


def test_embed_alias_python_name_not_accepted(client):
    r = client.post("/embed/alias", json={"v": 2})
    assert r.status_code == 422
    assert r.json() == {"detail": [missing(["body", "val"])]}


# ============================================================================ single Body() scalar
@pytest.mark.parametrize(
    ("payload", "expected"),
    [pytest.param(5, 5, id="int"), pytest.param("7", 7, id="numeric-string")],
)
def test_single_body_int(client, payload, expected):
    r = client.post("/importance", json=payload)
    assert r.status_code == 200
    assert r.json() == {"importance": expected}


def test_single_body_int_is_not_embedded(client):
    r = client.post("/importance", json={"importance": 5})
    assert r.status_code == 422
    assert r.json() == {
        "detail": [
            {"type": "int_type", "loc": ["body"], "msg": "Input should be a valid integer", "input": {"importance": 5}}
        ]
    }


def test_single_body_int_invalid(client):
    r = client.post("/importance", json="x")
    assert r.status_code == 422
    assert r.json() == {
        "detail": [
            {
                "type": "int_parsing",
                "loc": ["body"],
                "msg": "Input should be a valid integer, unable to parse string as an integer",
                "input": "x",
            }
        ]
    }


def test_single_body_int_missing(client):
    r = client.post("/importance")
    assert r.status_code == 422
    assert r.json() == {"detail": [missing(["body"])]}


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        pytest.param({}, {"v": 3, "w": "x"}, id="no-body"),
        pytest.param({"json": {"v": 9}}, {"v": 9, "w": "x"}, id="partial"),
        pytest.param({"json": {"v": None}}, {"v": 3, "w": "x"}, id="null-uses-default"),
    ],
)
def test_body_defaults(client, kwargs, expected):
    r = client.post("/body-default", **kwargs)
    assert r.status_code == 200
    assert r.json() == expected


# ============================================================================ nested, containers, aliases
def test_nested_models(client):
    r = client.post("/offer", json={"item": ITEM, "images": [{"url": "a"}]})
    assert r.status_code == 200
    assert r.json() == {"item": ITEM_OUT, "images": [{"url": "a"}]}


def test_nested_model_error_location(client):
    r = client.post("/offer", json={"item": ITEM, "images": [{"url": "a"}, {}]})
    assert r.status_code == 422
    assert r.json() == {"detail": [missing(["body", "images", 1, "url"], {})]}


def test_dict_body(client):
    assert client.post("/dict", json={"a": 1}).json() == {"a": 1}


def test_dict_body_given_list(client):
    r = client.post("/dict", json=[1])
    assert r.status_code == 422
    assert r.json() == {
        "detail": [{"type": "dict_type", "loc": ["body"], "msg": "Input should be a valid dictionary", "input": [1]}]
    }


def test_list_of_models(client):
    r = client.post("/list", json=[ITEM, ITEM])
    assert r.json() == [ITEM_OUT, ITEM_OUT]


def test_list_of_models_error_location(client):
    r = client.post("/list", json=[ITEM, {"name": "y"}])
    assert r.status_code == 422
    assert r.json() == {"detail": [missing(["body", 1, "price"], {"name": "y"})]}


def test_model_field_alias(client):
    r = client.post("/aliased", json={"fullName": "x"})
    assert r.status_code == 200
    assert r.json() == {"fullName": "x"}


def test_model_field_alias_python_name_not_accepted(client):
    r = client.post("/aliased", json={"full_name": "x"})
    assert r.status_code == 422
    assert r.json() == {"detail": [missing(["body", "fullName"], {"full_name": "x"})]}


def test_big_int_in_body_round_trips(client):
    # FastAPI parses and writes arbitrary-precision ints.
    r = client.post("/dict", content=b'{"n": 123456789012345678901234567890}', headers=JSON)
    assert r.status_code == 200
    assert r.content == b'{"n":123456789012345678901234567890}'
