"""What handlers return and raise: JSON values, models, response_model, Response classes, cookies,
HTTPException, exception handlers and 500s; streams and files that fail while they are sent.

Expected values are FastAPI 0.141.1's for the same app, except where a comment names a deliberate
turboapi difference.
"""

import datetime
import decimal
import enum
import uuid

import pytest
from pydantic import BaseModel

import turboapi
from turboapi import FastAPI, HTTPException, Response
from turboapi.exceptions import ResponseValidationError
from turboapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse
from turboapi.testclient import TestClient


class Item(BaseModel):
    name: str
    price: float


class UserIn(BaseModel):
    username: str
    password: str


class UserOut(BaseModel):
    username: str


class Color(enum.Enum):
    red = "r"


class Number(enum.IntEnum):
    one = 1


class MyError(Exception):
    def __init__(self, name: str) -> None:
        self.name = name


class MyAsyncError(Exception):
    pass


app = FastAPI()


@app.exception_handler(MyError)
def my_error_handler(request, exc):
    return JSONResponse(status_code=418, content={"oops": exc.name, "path": request.url.path})


@app.exception_handler(MyAsyncError)
async def my_async_error_handler(request, exc):
    return JSONResponse(status_code=419, content={"async": True})


# ---------------------------------------------------------------------------- plain values
VALUES = {
    "dict": {"a": [1, {"b": None}], "é": "ü"},
    "list": [1, "a", None],
    "str": "hello",
    "int": 42,
    "float": 1.5,
    "none": None,
    "true": True,
    "false": False,
    "empty-dict": {},
    "empty-str": "",
}
for _name, _value in VALUES.items():
    app.get(f"/value/{_name}", name=f"value_{_name}")(lambda value=_value: value)


@app.get("/value/async")
async def async_value():
    return {"async": True}


@app.get("/json-types")
def json_types():
    return {
        "dt": datetime.datetime(2024, 1, 2, 3, 4, 5, 123456),
        "dt_utc": datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.UTC),
        "date": datetime.date(2024, 1, 2),
        "time": datetime.time(3, 4, 5),
        "timedelta": datetime.timedelta(days=1, seconds=1.5),
        "uuid": uuid.UUID("12345678-1234-5678-1234-567812345678"),
        "decimal": decimal.Decimal("1.10"),
        "decimal_int": decimal.Decimal("3"),
        "decimal_exp": decimal.Decimal("1E+2"),
        "enum": Color.red,
        "int_enum": Number.one,
        "set": {3},
        "frozenset": frozenset({"x"}),
        "tuple": (1, 2),
    }


@app.get("/raw-bytes")
def raw_bytes():
    return b"\x00\xffraw"


# ---------------------------------------------------------------------------- models
@app.get("/model")
def model():
    return Item(name="a", price=1)


@app.get("/models")
def models():
    return [Item(name="a", price=1), Item(name="b", price=2.5)]


@app.get("/response-model/dict", response_model=UserOut)
def response_model_dict():
    return {"username": "u", "password": "secret"}


@app.get("/response-model/object", response_model=UserOut)
def response_model_object():
    return UserIn(username="u", password="secret")


@app.get("/response-model/list", response_model=list[UserOut])
def response_model_list():
    return [{"username": "a", "password": "x"}, {"username": "b", "password": "y"}]


@app.get("/response-model/annotation")
def response_model_annotation() -> UserOut:
    return UserIn(username="u", password="secret")


@app.get("/response-model/invalid", response_model=UserOut)
def response_model_invalid():
    return {"name": "nope"}


# ---------------------------------------------------------------------------- status codes
@app.post("/created", status_code=201)
def created():
    return {"created": True}


@app.delete("/no-content", status_code=204)
def no_content():
    return None


@app.get("/no-content-with-value", status_code=204)
def no_content_with_value():
    return {"dropped": True}


# ---------------------------------------------------------------------------- Response classes
@app.get("/response/raw")
def response_raw():
    return Response(content="a,b", media_type="text/csv")


@app.get("/response/no-media-type")
def response_no_media_type():
    return Response(content=b"xyz")


@app.get("/response/json")
def response_json():
    return JSONResponse(status_code=202, content={"a": 1}, headers={"X-Thing": "v"})


@app.get("/response/html")
def response_html():
    return HTMLResponse("<p>hi</p>")


@app.get("/response/text")
async def response_text():
    return PlainTextResponse("plain é", status_code=203)


@app.get("/redirect")
def redirect():
    return RedirectResponse("/target")


@app.get("/redirect/302")
def redirect_302():
    return RedirectResponse("/target", status_code=302)


@app.get("/redirect/query")
def redirect_query():
    return RedirectResponse("/target?a=1&b=x y")


@app.get("/target")
def target():
    return {"at": "target"}


@app.get("/cookie/set")
def cookie_set():
    response = JSONResponse({"ok": True})
    response.set_cookie("sess", "abc", max_age=3600, httponly=True, samesite="strict")
    return response


@app.get("/cookie/default")
def cookie_default():
    response = JSONResponse({"ok": True})
    response.set_cookie("k", "v")
    return response


@app.get("/cookie/delete")
def cookie_delete():
    response = JSONResponse({"ok": True})
    response.delete_cookie("sess")
    return response


# ---------------------------------------------------------------------------- errors
@app.get("/error/str")
def error_str():
    raise HTTPException(status_code=404, detail="Item not found")


@app.get("/error/dict")
def error_dict():
    raise HTTPException(status_code=400, detail={"code": 7, "fields": ["a"]})


@app.get("/error/headers")
async def error_headers():
    raise HTTPException(status_code=401, detail="no", headers={"WWW-Authenticate": "Bearer", "X-Err": "1"})


@app.get("/error/default-detail")
def error_default_detail():
    raise HTTPException(status_code=403)


@app.get("/error/204")
def error_204():
    raise HTTPException(status_code=204)


@app.get("/error/304")
def error_304():
    raise HTTPException(status_code=304, headers={"ETag": "x"})


@app.get("/error/custom")
def error_custom():
    raise MyError("bad")


@app.get("/error/custom-async-handler")
async def error_custom_async_handler():
    raise MyAsyncError()


@app.get("/error/unhandled")
def error_unhandled():
    raise RuntimeError("boom")


@app.get("/error/unhandled-async")
async def error_unhandled_async():
    raise KeyError("k")


@pytest.fixture(scope="module")
def client():
    with TestClient(app) as c:
        yield c


@pytest.fixture(scope="module")
def quiet_client():
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


# ============================================================================ plain values
@pytest.mark.parametrize(("name", "value"), [pytest.param(n, v, id=n) for n, v in VALUES.items()])
def test_plain_value(client, name, value):
    r = client.get(f"/value/{name}")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    assert r.json() == value


def test_async_handler_value(client):
    assert client.get("/value/async").json() == {"async": True}


def test_json_is_compact_utf8(client):
    assert client.get("/value/dict").content == '{"a":[1,{"b":null}],"é":"ü"}'.encode()


def test_json_encodable_types_in_dict(client):
    assert client.get("/json-types").json() == {
        "dt": "2024-01-02T03:04:05.123456",
        "dt_utc": "2024-01-02T03:04:05+00:00",
        "date": "2024-01-02",
        "time": "03:04:05",
        "timedelta": 86401.5,
        "uuid": "12345678-1234-5678-1234-567812345678",
        "decimal": 1.1,
        "decimal_int": 3,
        "decimal_exp": 100,
        "enum": "r",
        "int_enum": 1,
        "set": [3],
        "frozenset": ["x"],
        "tuple": [1, 2],
    }


def test_raw_bytes_sent_as_octet_stream(client):
    # Deliberate difference: FastAPI JSON-encodes bytes (as a UTF-8-decoded string, failing on
    # non-UTF-8 data); turboapi sends them as they are.
    r = client.get("/raw-bytes")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/octet-stream"
    assert r.content == b"\x00\xffraw"


# ============================================================================ models
def test_model(client):
    assert client.get("/model").json() == {"name": "a", "price": 1.0}


def test_list_of_models(client):
    assert client.get("/models").json() == [{"name": "a", "price": 1.0}, {"name": "b", "price": 2.5}]


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("/response-model/dict", id="dict"),
        pytest.param("/response-model/object", id="other-model"),
        pytest.param("/response-model/annotation", id="return-annotation"),
    ],
)
def test_response_model_drops_extra_fields(client, url):
    r = client.get(url)
    assert r.status_code == 200
    assert r.json() == {"username": "u"}


def test_response_model_list(client):
    assert client.get("/response-model/list").json() == [{"username": "a"}, {"username": "b"}]


def test_response_model_validation_failure_raises(client):
    with pytest.raises(ResponseValidationError) as info:
        client.get("/response-model/invalid")
    assert [(e["type"], tuple(e["loc"])) for e in info.value.errors()] == [("missing", ("response", "username"))]


def test_response_model_validation_failure_is_500(quiet_client):
    r = quiet_client.get("/response-model/invalid")
    assert r.status_code == 500
    assert r.headers["content-type"] == "text/plain; charset=utf-8"
    assert r.text == "Internal Server Error"


# ============================================================================ status codes
def test_status_code_201(client):
    r = client.post("/created")
    assert r.status_code == 201
    assert r.json() == {"created": True}


@pytest.mark.parametrize(
    ("method", "url"),
    [
        pytest.param("DELETE", "/no-content", id="none"),
        pytest.param("GET", "/no-content-with-value", id="value-dropped"),
    ],
)
def test_status_code_204_has_empty_body(client, method, url):
    r = client.request(method, url)
    assert r.status_code == 204
    assert r.content == b""


# ============================================================================ Response classes
def test_response_with_media_type(client):
    r = client.get("/response/raw")
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    assert r.content == b"a,b"


def test_response_without_media_type_has_no_content_type(client):
    r = client.get("/response/no-media-type")
    assert "content-type" not in r.headers
    assert r.content == b"xyz"


def test_json_response_status_and_headers(client):
    r = client.get("/response/json")
    assert r.status_code == 202
    assert r.headers["x-thing"] == "v"
    assert r.headers["content-type"] == "application/json"
    assert r.content == b'{"a":1}'


def test_html_response(client):
    r = client.get("/response/html")
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    assert r.text == "<p>hi</p>"


def test_plain_text_response(client):
    r = client.get("/response/text")
    assert r.status_code == 203
    assert r.headers["content-type"] == "text/plain; charset=utf-8"
    assert r.content == "plain é".encode()


@pytest.mark.parametrize(
    ("url", "status", "location"),
    [
        pytest.param("/redirect", 307, "/target", id="default-307"),
        pytest.param("/redirect/302", 302, "/target", id="custom-302"),
        pytest.param("/redirect/query", 307, "/target?a=1&b=x%20y", id="url-quoted"),
    ],
)
def test_redirect_not_followed(client, url, status, location):
    r = client.get(url, follow_redirects=False)
    assert r.status_code == status
    assert r.headers["location"] == location
    assert r.content == b""


def test_redirect_followed(client):
    r = client.get("/redirect")
    assert r.status_code == 200
    assert r.json() == {"at": "target"}
    assert [h.status_code for h in r.history] == [307]


def test_set_cookie_with_attributes(client):
    r = client.get("/cookie/set")
    assert r.headers["set-cookie"] == "sess=abc; HttpOnly; Max-Age=3600; Path=/; SameSite=strict"


def test_set_cookie_defaults(client):
    r = client.get("/cookie/default")
    assert r.headers["set-cookie"] == "k=v; Path=/; SameSite=lax"


def test_delete_cookie(client):
    header = client.get("/cookie/delete").headers["set-cookie"]
    # expires= is "now", formatted as an HTTP date.
    assert header.startswith('sess=""; expires=')
    assert header.endswith(" GMT; Max-Age=0; Path=/; SameSite=lax")


# ============================================================================ HTTPException
def test_http_exception_str_detail(client):
    r = client.get("/error/str")
    assert r.status_code == 404
    assert r.json() == {"detail": "Item not found"}


def test_http_exception_dict_detail(client):
    r = client.get("/error/dict")
    assert r.status_code == 400
    assert r.json() == {"detail": {"code": 7, "fields": ["a"]}}


def test_http_exception_headers(client):
    r = client.get("/error/headers")
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == "Bearer"
    assert r.headers["x-err"] == "1"
    assert r.json() == {"detail": "no"}


def test_http_exception_default_detail(client):
    r = client.get("/error/default-detail")
    assert r.status_code == 403
    assert r.json() == {"detail": "Forbidden"}


def test_http_exception_204_has_no_body(client):
    r = client.get("/error/204")
    assert r.status_code == 204
    assert r.content == b""
    assert "content-type" not in r.headers


def test_http_exception_304_keeps_headers_without_body(client):
    r = client.get("/error/304")
    assert r.status_code == 304
    assert r.headers["etag"] == "x"
    assert r.content == b""


def test_http_exception_is_not_raised_by_the_client(client):
    # raise_server_exceptions only concerns unhandled exceptions.
    assert client.get("/error/str").status_code == 404


# ============================================================================ exception handlers
def test_custom_exception_handler_sync(client):
    r = client.get("/error/custom")
    assert r.status_code == 418
    assert r.json() == {"oops": "bad", "path": "/error/custom"}


def test_custom_exception_handler_async(client):
    r = client.get("/error/custom-async-handler")
    assert r.status_code == 419
    assert r.json() == {"async": True}


@pytest.mark.parametrize(
    "url", [pytest.param("/error/unhandled", id="sync"), pytest.param("/error/unhandled-async", id="async")]
)
def test_unhandled_exception_is_500(quiet_client, url):
    r = quiet_client.get(url)
    assert r.status_code == 500
    assert r.headers["content-type"] == "text/plain; charset=utf-8"
    assert r.text == "Internal Server Error"


def test_unhandled_exception_reraised_by_default_client(client):
    with pytest.raises(RuntimeError, match="boom"):
        client.get("/error/unhandled")


def test_unhandled_exception_in_async_handler_reraised_by_default_client(client):
    with pytest.raises(KeyError):
        client.get("/error/unhandled-async")


def test_response_header_with_crlf_is_refused_not_injected():
    app = FastAPI()

    @app.get("/inject")
    def inject():
        return PlainTextResponse("x", headers={"x-a": "ok\r\nset-cookie: evil=1"})

    @app.get("/fine")
    def fine():
        return "fine"

    client = TestClient(app, raise_server_exceptions=False)
    r = client.get("/inject")
    assert r.status_code == 500
    assert r.text == "Internal Server Error"
    assert "set-cookie" not in r.headers and "x-a" not in r.headers
    assert client.get("/fine").json() == "fine"
    client.close()


# ---------------------------------------------------------------------------- streams and files


@pytest.mark.parametrize("middleware", [None, "http", "gzip"])
def test_a_stream_of_ints_is_an_error_not_nul_bytes(middleware: str | None) -> None:
    app = turboapi.FastAPI()
    if middleware == "http":

        @app.middleware("http")
        async def passthrough(request, call_next):
            return await call_next(request)

    elif middleware == "gzip":
        from turboapi.middleware.gzip import GZipMiddleware

        app.add_middleware(GZipMiddleware, minimum_size=1)

    @app.get("/ints")
    def ints():
        return turboapi.responses.StreamingResponse(iter([b"ok", 3]))

    @app.get("/ping")
    def ping():
        return {"pong": True}

    client = TestClient(app, native_middleware=False)
    with pytest.raises(TypeError, match="yielded int, not str or bytes"):
        client.get("/ints")
    lenient = TestClient(app, raise_server_exceptions=False, native_middleware=False)
    reply = lenient.get("/ints")
    assert b"\x00" not in reply.content
    assert lenient.get("/ping").json() == {"pong": True}


def test_a_stream_is_pumped_on_its_handlers_loop() -> None:
    """A queue the handler made belongs to the handler's loop: the generator must run there."""
    import asyncio

    app = turboapi.FastAPI()

    @app.get("/q")
    async def queued():
        queue: asyncio.Queue[str | None] = asyncio.Queue()

        async def fill():
            for word in ("a", "b", "c"):
                await queue.put(word)
            await queue.put(None)

        asyncio.get_running_loop().create_task(fill())

        async def chunks():
            while (word := await queue.get()) is not None:
                yield word

        return turboapi.responses.StreamingResponse(chunks())

    client = TestClient(app, shards=4)
    assert [client.get("/q").text for _ in range(8)] == ["abc"] * 8


def test_a_file_removed_after_its_headers_truncates_and_the_server_keeps_serving(tmp_path) -> None:
    from turboapi.responses import FileResponse

    path = tmp_path / "gone.bin"
    path.write_bytes(b"x" * (1024 * 1024))
    app = turboapi.FastAPI()

    @app.get("/f")
    def serve():
        response = FileResponse(path, stat_result=path.stat())  # headers planned from this stat
        path.unlink()
        return response

    @app.get("/ping")
    def ping():
        return {"pong": True}

    client = TestClient(app)
    with pytest.raises(OSError, match="No such file"):  # raised into the client, as Starlette's open error
        client.get("/f")
    assert client.get("/ping").json() == {"pong": True}
