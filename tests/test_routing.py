"""Routing: routers and prefixes, methods, url_path_for, precedence between routes, path convertors
and bad path definitions. Expected values are FastAPI 0.141.1's unless a comment names a
deliberate turboapi difference."""

import pytest

from turboapi import APIRouter, FastAPI, Request, Response
from turboapi.routing import iter_route_contexts
from turboapi.testclient import TestClient

app = FastAPI()

items = APIRouter(prefix="/items", tags=["items"])


@items.get("/")
def list_items():
    return ["all"]


@items.get("/{item_id}", tags=["one"])
def get_item(item_id: int):
    return {"id": item_id}


@items.post("", status_code=201)
def create_item():
    return {"created": True}


app.include_router(items, prefix="/v1", tags=["v1"])


@app.api_route("/multi", methods=["GET", "POST", "patch"])
def multi(request: Request):
    return {"method": request.method}


@app.get("/verbs")
def verb_get():
    return {"verb": "get"}


@app.post("/verbs")
def verb_post():
    return {"verb": "post"}


@app.put("/verbs")
def verb_put():
    return {"verb": "put"}


@app.patch("/verbs")
def verb_patch():
    return {"verb": "patch"}


@app.delete("/verbs")
def verb_delete():
    return {"verb": "delete"}


@app.options("/verbs")
def verb_options():
    return {"verb": "options"}


@app.head("/verbs")
def verb_head():
    return Response(headers={"x-verb": "head"})


@app.get("/first")
def first():
    return {"which": "first"}


@app.get("/first")
def second():  # never reached: the first registration wins
    return {"which": "second"}


@app.get("/shape/{a}")
def shape_a(a: str):
    return {"a": a}


@app.get("/shape/{b}")
def shape_b(b: str):  # same shape, different name: never reached
    return {"b": b}


@app.get("/users/{user_id}")
def user(user_id: str):
    return {"user_id": user_id}


@app.get("/users/me")
def users_me():
    return {"me": True}


@app.get("/people/me")
def people_me():
    return {"me": True}


@app.get("/people/{person_id}")
def person(person_id: str):
    return {"person_id": person_id}


@app.get("/named/{a}/{b}", name="named_route")
def named(a: int, b: str):
    return {}


@app.get("/files/{p:path}", name="files")
def files(p: str):
    return {"p": p}


@app.get("/conv/int/{x:int}")
def conv_int(x: int):
    return {"x": x}


@app.get("/slash")
def slash():
    return {"slash": False}


@pytest.fixture(scope="module")
def client():
    with TestClient(app) as c:
        yield c


# ============================================================================ routers
def test_router_prefix_and_include_prefix(client):
    r = client.get("/v1/items/3")
    assert r.status_code == 200
    assert r.json() == {"id": 3}


def test_router_root_path_with_trailing_slash(client):
    assert client.get("/v1/items/").json() == ["all"]


def test_router_empty_path_is_the_prefix(client):
    r = client.post("/v1/items")
    assert r.status_code == 201
    assert r.json() == {"created": True}


def test_router_route_without_include_prefix_is_404(client):
    assert client.get("/items/3").status_code == 404


def test_include_router_tags_order():
    # FastAPI's OpenAPI gives the same order for this operation: include tags, router tags, route tags.
    # An included router stays live (FastAPI 0.141): its routes are read through their contexts.
    route = next(r for r in iter_route_contexts(app.routes) if r.path == "/v1/items/{item_id}")
    assert route.tags == ["v1", "items", "one"]


def test_router_prefix_must_start_with_slash():
    with pytest.raises(Exception, match="must start with '/'"):
        APIRouter(prefix="items")


def test_router_prefix_must_not_end_with_slash():
    with pytest.raises(Exception, match="must not end with '/'"):
        APIRouter(prefix="/items/")


# ============================================================================ methods
@pytest.mark.parametrize("method", [pytest.param(m, id=m) for m in ["GET", "POST", "PATCH"]])
def test_api_route_methods(client, method):
    assert client.request(method, "/multi").json() == {"method": method}


def test_api_route_undeclared_method_is_405(client):
    r = client.delete("/multi")
    assert r.status_code == 405
    assert set(r.headers["allow"].split(", ")) == {"GET", "POST", "PATCH"}


@pytest.mark.parametrize(
    "method", [pytest.param(m, id=m) for m in ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]]
)
def test_method_decorators(client, method):
    r = client.request(method, "/verbs")
    assert r.status_code == 200
    assert r.json() == {"verb": method.lower()}


def test_head_decorator(client):
    r = client.head("/verbs")
    assert r.status_code == 200
    assert r.headers["x-verb"] == "head"


# ============================================================================ url_path_for
def test_url_path_for():
    assert app.url_path_for("named_route", a=1, b="x") == "/named/1/x"


def test_url_path_for_router_route_has_prefixes():
    assert app.url_path_for("get_item", item_id=5) == "/v1/items/5"


def test_url_path_for_path_convertor():
    assert app.url_path_for("files", p="a/b.txt") == "/files/a/b.txt"


@pytest.mark.parametrize(
    ("name", "params"),
    [pytest.param("named_route", {"a": 1}, id="missing-param"), pytest.param("nope", {}, id="unknown-name")],
)
def test_url_path_for_no_match(name, params):
    # Starlette raises NoMatchFound (an Exception, not a LookupError); the message starts the same.
    with pytest.raises(Exception, match="No route exists for name"):
        app.url_path_for(name, **params)


# ============================================================================ precedence
def test_first_registered_route_wins(client):
    assert client.get("/first").json() == {"which": "first"}


def test_first_registered_route_wins_for_same_shape(client):
    assert client.get("/shape/x").json() == {"a": "x"}


def test_static_segment_registered_first(client):
    assert client.get("/people/me").json() == {"me": True}
    assert client.get("/people/7").json() == {"person_id": "7"}


def test_static_segment_registered_after_param(client):
    # Deliberate difference: FastAPI tries routes in registration order, so "/users/me" reaches
    # user(user_id="me") there. turboapi's matchit tree prefers the static segment whatever the
    # registration order.
    assert client.get("/users/me").json() == {"me": True}
    assert client.get("/users/7").json() == {"user_id": "7"}


# ============================================================================ convertors, slashes
def test_int_convertor_rejects_non_digits_with_404(client):
    # Starlette's `int` convertor only matches [0-9]+: anything else is not this route.
    r = client.get("/conv/int/abc")
    assert r.status_code == 404
    assert r.json() == {"detail": "Not Found"}


def test_int_convertor(client):
    assert client.get("/conv/int/12").json() == {"x": 12}


def test_trailing_slash_redirects(client):
    # FastAPI's router (redirect_slashes=True) answers 307 to the path without the slash.
    r = client.get("/slash/", follow_redirects=False)
    assert r.status_code == 307
    assert r.headers["location"] == "http://testserver/slash"


# ============================================================================ bad path definitions
def make_app(path):
    bad = FastAPI()

    @bad.get(path)
    def endpoint():
        return {}

    return bad


def test_bad_path_fails_on_first_request():
    # The Engine (and its route table) is built lazily: registration succeeds, serving fails.
    bad = make_app("/a/{x")
    c = TestClient(bad)
    try:
        with pytest.raises(ValueError, match="unclosed '{'"):
            c.get("/a/1")
    finally:
        c.close()


def test_an_unknown_convertor_fails_at_registration_as_in_fastapi():
    # Starlette's compile_path (which FastAPI's routes call when they are made) refuses it.
    with pytest.raises(AssertionError, match="Unknown path convertor 'weird'"):
        make_app("/a/{x:weird}")


def test_bad_path_fails_on_entering_the_client():
    bad = make_app("/a/{x")
    with pytest.raises(ValueError, match="unclosed"):
        with TestClient(bad):
            pass
