"""The ``Request`` parameter: method, URL, query, headers, cookies, path params, client, body,
JSON, state and app, as Starlette's Request exposes them under FastAPI 0.141.1."""

import pytest

from turboapi import FastAPI, Request
from turboapi.testclient import TestClient

app = FastAPI()


@app.api_route("/info/{thing}", methods=["GET", "POST"])
async def info(thing: str, request: Request):
    return {
        "method": request.method,
        "path": request.url.path,
        "query": request.url.query,
        "path_params": request.path_params,
    }


@app.get("/query")
def query(request: Request):
    return {
        "getlist": request.query_params.getlist("a"),
        "last": request.query_params["a"],
        "missing": request.query_params.get("zzz"),
        "as_dict": dict(request.query_params),
    }


@app.get("/headers")
def headers(request: Request):
    return {
        "get": request.headers.get("X-Multi"),
        "getitem_upper": request.headers["X-MULTI"],
        "getlist": request.headers.getlist("x-MULTI"),
        "contains": "X-MULTI" in request.headers,
        "missing": request.headers.get("x-absent"),
    }


@app.get("/cookies")
def cookies(request: Request):
    return {"cookies": request.cookies}


@app.get("/client")
async def client_address(request: Request):
    return {"client": list(request.client), "host": request.client.host, "port": request.client.port}


@app.get("/sync/{x}")
def sync_path_params(x: int, request: Request):
    return {"path_params": request.path_params, "x": x}


@app.post("/body")
async def body(request: Request):
    raw = await request.body()
    return {"len": len(raw), "type": type(raw).__name__, "latin1": raw.decode("latin-1")}


@app.post("/json")
async def json_body(request: Request):
    return {"got": await request.json()}


@app.get("/state")
def state(request: Request):
    request.state.user = "alice"
    return {"user": request.state.user}


@app.get("/state/missing")
def state_missing(request: Request):
    try:
        request.state.missing  # noqa: B018
    except AttributeError as exc:
        return {"error": str(exc)}
    return {"error": None}


@app.get("/app")
def request_app(request: Request):
    return {"is_app": request.app is app}


@pytest.fixture(scope="module")
def client():
    with TestClient(app) as c:
        yield c


def test_method_get(client):
    assert client.get("/info/t").json()["method"] == "GET"


def test_method_post(client):
    assert client.post("/info/t").json()["method"] == "POST"


def test_url_path(client):
    assert client.get("/info/t1").json()["path"] == "/info/t1"


def test_url_path_is_percent_decoded(client):
    # Starlette builds request.url from the decoded scope["path"].
    r = client.get("/info/hello%20x")
    assert r.json()["path"] == "/info/hello x"


def test_url_query(client):
    assert client.get("/info/t?a=1&a=2&b=x").json()["query"] == "a=1&a=2&b=x"


def test_url_query_empty(client):
    assert client.get("/info/t").json()["query"] == ""


def test_path_params(client):
    assert client.get("/info/hello%20x").json()["path_params"] == {"thing": "hello x"}


def test_path_params_are_raw_strings_in_sync_handler(client):
    assert client.get("/sync/5").json() == {"path_params": {"x": "5"}, "x": 5}


def test_query_params_multi(client):
    assert client.get("/query?a=1&a=2&b=x").json() == {
        "getlist": ["1", "2"],
        "last": "2",
        "missing": None,
        "as_dict": {"a": "2", "b": "x"},
    }


def test_headers_case_insensitive_and_multi(client):
    r = client.get("/headers", headers=[("X-Multi", "one"), ("x-multi", "two")])
    assert r.json() == {
        "get": "one",
        "getitem_upper": "one",
        "getlist": ["one", "two"],
        "contains": True,
        "missing": None,
    }


def test_cookies(client):
    r = client.get("/cookies", headers={"cookie": "c1=v1; c2=v2"})
    assert r.json() == {"cookies": {"c1": "v1", "c2": "v2"}}


def test_cookies_empty(client):
    assert client.get("/cookies").json() == {"cookies": {}}


def test_client_address(client):
    assert client.get("/client").json() == {"client": ["testclient", 50000], "host": "testclient", "port": 50000}


def test_body_bytes(client):
    r = client.post("/body", content=b"raw bytes \xff")
    assert r.json() == {"len": 11, "type": "bytes", "latin1": "raw bytes \xff"}


def test_body_empty(client):
    assert client.post("/body").json() == {"len": 0, "type": "bytes", "latin1": ""}


def test_json(client):
    assert client.post("/json", json={"k": [1, 2], "n": None}).json() == {"got": {"k": [1, 2], "n": None}}


def test_state_set_and_get(client):
    assert client.get("/state").json() == {"user": "alice"}


def test_state_does_not_leak_between_requests(client):
    client.get("/state")
    assert client.get("/state/missing").json() == {"error": "'State' object has no attribute 'missing'"}


def test_request_app_is_the_app(client):
    assert client.get("/app").json() == {"is_app": True}
