"""The TestClient itself: request arguments, base_url, the cookie jar, lifespan, sync and async
handlers, HEAD, 404 and 405. Expected values are what FastAPI's TestClient gives for the same app,
except where a comment says otherwise."""

import contextlib

import pytest

from turboapi import FastAPI, Request
from turboapi.responses import JSONResponse
from turboapi.testclient import TestClient

app = FastAPI()


@app.api_route("/echo", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
async def echo(request: Request):
    return {
        "method": request.method,
        "url": str(request.url),
        "query": request.query_params.multi_items(),
        "headers": {k: v for k, v in request.headers.items() if k.startswith("x-")},
        "host": request.headers.get("host"),
        "user_agent": request.headers.get("user-agent"),
        "content_type": request.headers.get("content-type"),
        "cookie": request.headers.get("cookie"),
        "body": (await request.body()).decode(),
    }


@app.get("/sync")
def sync_handler():
    return {"kind": "sync"}


@app.get("/async")
async def async_handler():
    return {"kind": "async"}


@app.get("/set-cookie")
def set_cookie():
    response = JSONResponse({"set": True})
    response.set_cookie("token", "xyz")
    return response


@app.get("/read-cookies")
def read_cookies(request: Request):
    return {"cookies": request.cookies}


@app.get("/hello")
def hello():
    return {"hello": "world"}


@app.post("/only-post")
def only_post():
    return {}


@app.api_route("/put-or-delete", methods=["PUT", "DELETE"])
def put_or_delete():
    return {}


@pytest.fixture(scope="module")
def client():
    with TestClient(app) as c:
        yield c


# ============================================================================ request arguments
def test_params_reach_the_app(client):
    r = client.get("/echo", params={"a": "1", "b": ["x", "y"]})
    assert r.json()["query"] == [["a", "1"], ["b", "x"], ["b", "y"]]


def test_json_reaches_the_app(client):
    body = client.post("/echo", json={"k": "v"}).json()
    assert body["content_type"] == "application/json"
    assert body["body"] == '{"k":"v"}'


def test_content_reaches_the_app(client):
    body = client.put("/echo", content=b"raw text").json()
    assert body["content_type"] is None
    assert body["body"] == "raw text"


def test_data_reaches_the_app_form_encoded(client):
    body = client.patch("/echo", data={"a": "1", "b": "x y"}).json()
    assert body["content_type"] == "application/x-www-form-urlencoded"
    assert body["body"] == "a=1&b=x+y"


def test_headers_reach_the_app(client):
    r = client.delete("/echo", headers={"X-One": "1", "x-two": "2"})
    assert r.json()["headers"] == {"x-one": "1", "x-two": "2"}


def test_default_headers(client):
    body = client.get("/echo").json()
    assert body["host"] == "testserver"
    assert body["user_agent"] == "testclient"
    assert body["url"] == "http://testserver/echo"


def test_per_request_cookies_reach_the_app():
    with TestClient(app) as c:
        with pytest.warns(DeprecationWarning, match="per-request cookies"):  # httpx's deprecation
            r = c.get("/read-cookies", cookies={"a": "1"})
    assert r.json() == {"cookies": {"a": "1"}}


def test_client_level_cookies_reach_the_app():
    with TestClient(app, cookies={"a": "1", "b": "2"}) as c:
        assert c.get("/read-cookies").json() == {"cookies": {"a": "1", "b": "2"}}


def test_client_level_headers_reach_the_app():
    with TestClient(app, headers={"x-default": "d"}) as c:
        assert c.get("/echo").json()["headers"] == {"x-default": "d"}


# ============================================================================ base_url
def test_base_url_host_and_port():
    with TestClient(app, base_url="http://example.org:8080") as c:
        body = c.get("/echo").json()
    assert body["host"] == "example.org:8080"
    assert body["url"] == "http://example.org:8080/echo"


def test_base_url_https_scheme():
    with TestClient(app, base_url="https://example.org") as c:
        body = c.get("/echo").json()
    assert body["url"] == "https://example.org/echo"


# ============================================================================ cookie jar
def test_cookies_set_by_a_response_are_sent_back():
    with TestClient(app) as c:
        r = c.get("/set-cookie")
        assert r.headers["set-cookie"] == "token=xyz; Path=/; SameSite=lax"
        assert c.cookies.get("token") == "xyz"
        assert c.get("/read-cookies").json() == {"cookies": {"token": "xyz"}}


# ============================================================================ sync and async
@pytest.mark.parametrize("kind", [pytest.param("sync", id="def"), pytest.param("async", id="async-def")])
def test_sync_and_async_handlers(client, kind):
    r = client.get(f"/{kind}")
    assert r.status_code == 200
    assert r.json() == {"kind": kind}


# ============================================================================ HEAD / 404 / 405
def test_head_on_get_route(client):
    # turboapi answers HEAD from GET routes (as Starlette's Route does), with no body.
    # FastAPI 0.141.1's APIRoute does not add HEAD: it answers 405 with `allow: GET`.
    r = client.head("/hello")
    assert r.status_code == 200
    assert r.content == b""


def test_404(client):
    r = client.get("/does-not-exist")
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/json"
    assert r.json() == {"detail": "Not Found"}


@pytest.mark.parametrize(
    ("method", "url", "allow"),
    [
        pytest.param("GET", "/only-post", "POST", id="single-method"),
        pytest.param("POST", "/hello", "GET", id="post-on-get"),
        pytest.param("GET", "/put-or-delete", "DELETE, PUT", id="two-methods"),
    ],
)
def test_405_with_allow_header(client, method, url, allow):
    r = client.request(method, url)
    assert r.status_code == 405
    assert r.json() == {"detail": "Method Not Allowed"}
    assert set(r.headers["allow"].split(", ")) == set(allow.split(", "))


# ============================================================================ lifespan
def make_event_app(events):
    event_app = FastAPI()

    async def startup():
        events.append("startup")

    def shutdown():
        events.append("shutdown")

    # on_event is deprecated (FastAPI warns): the handlers are added as it adds them.
    with pytest.warns(DeprecationWarning, match="on_event is deprecated"):
        event_app.on_event("startup")(startup)
        event_app.on_event("shutdown")(shutdown)

    @event_app.get("/events")
    def seen():
        return {"events": list(events)}

    return event_app


def test_on_event_startup_and_shutdown_run_once_each():
    events = []
    with TestClient(make_event_app(events)) as c:
        assert c.get("/events").json() == {"events": ["startup"]}
        c.get("/events")
        assert events == ["startup"]
    assert events == ["startup", "shutdown"]


def test_client_without_with_does_not_run_startup():
    events = []
    c = TestClient(make_event_app(events))
    try:
        assert c.get("/events").json() == {"events": []}
    finally:
        c.close()
    assert events == []


def make_lifespan_app(events):
    @contextlib.asynccontextmanager
    async def lifespan(the_app):
        events.append("enter")
        yield {"db": "connection"}
        events.append("exit")

    lifespan_app = FastAPI(lifespan=lifespan)

    @lifespan_app.get("/state")
    def state(request: Request):
        return {"request_state_db": getattr(request.state, "db", None)}

    return lifespan_app


def test_lifespan_runs_once_each_way():
    events = []
    with TestClient(make_lifespan_app(events)) as c:
        c.get("/state")
        c.get("/state")
        assert events == ["enter"]
    assert events == ["enter", "exit"]


def test_lifespan_state_is_not_copied_onto_app_state():
    # As in FastAPI/Starlette: the yielded dict goes to request.state (next test), not app.state.
    lifespan_app = make_lifespan_app([])
    with TestClient(lifespan_app):
        assert not hasattr(lifespan_app.state, "db")


def test_request_state_changes_do_not_leak_between_requests():
    @contextlib.asynccontextmanager
    async def lifespan(app):
        yield {"counter": 0}

    app = FastAPI(lifespan=lifespan)

    @app.get("/bump")
    def bump(request: Request):
        request.state.counter += 1
        return request.state.counter

    with TestClient(app) as c:
        assert [c.get("/bump").json() for _ in range(3)] == [1, 1, 1]


def test_lifespan_state_is_visible_as_request_state():
    # FastAPI/Starlette: the yielded dict is copied into every request's `request.state`.
    with TestClient(make_lifespan_app([])) as c:
        assert c.get("/state").json() == {"request_state_db": "connection"}


def test_lifespan_not_run_without_with():
    events = []
    c = TestClient(make_lifespan_app(events))
    try:
        c.get("/state")
    finally:
        c.close()
    assert events == []


def test_unknown_setting_is_a_clear_error():
    with pytest.raises(TypeError, match="unknown server setting.*no_such_knob"):
        TestClient(FastAPI(), no_such_knob=1)


def test_lifespan_yielding_a_non_mapping_fails_startup_clearly():
    @contextlib.asynccontextmanager
    async def lifespan(app):
        yield ["not", "a", "mapping"]

    client = TestClient(FastAPI(lifespan=lifespan))
    with pytest.raises(TypeError, match="lifespan must yield a mapping or None, not list"):
        client.__enter__()
    client.close()


def test_clients_without_with_share_a_bounded_number_of_runtimes():
    """Many module-level clients (one per test file, as FastAPI's own suite has) must not each keep
    the core's threads: past ``UNENTERED_RUNTIMES`` idle ones, the least recently used stops, and
    starts again on its next request, answering as before."""
    import threading

    from turboapi import testclient

    clients = []
    for n in range(3 * testclient.UNENTERED_RUNTIMES):
        app = FastAPI()

        @app.get("/n")
        def number(n: int = n):
            return {"n": n}

        client = TestClient(app)
        assert client.get("/n").json() == {"n": n}
        clients.append(client)
    try:
        running = [c for c in clients if c._runtime is not None]
        assert len(running) <= testclient.UNENTERED_RUNTIMES
        assert clients[0]._runtime is None  # the first one was stopped...
        assert clients[0].get("/n").json() == {"n": 0}  # ...and serves again
        threads_before = threading.active_count()
        for client in clients:
            client.get("/n")
        assert threading.active_count() <= threads_before + 16  # bounded, not one runtime per client
    finally:
        for client in clients:
            client.close()


def test_a_client_dropped_without_close_still_ends_its_threads_before_exit():
    """``TestClient(app).get("/")`` drops its client at once; the core's threads must still end
    before the interpreter finalises (on 3.13 a thread caught there aborts the process)."""
    import subprocess
    import sys

    script = """
import atexit, threading
# Registered first, so it runs last: after turboapi's own exit handler.
atexit.register(lambda: print(sorted(t.name for t in threading.enumerate() if t.name.startswith("turboapi"))))
from turboapi import FastAPI
from turboapi.testclient import TestClient
app = FastAPI()

@app.get("/")
def index():
    return {"ok": True}

@app.get("/async")
async def index_async():
    return {"ok": True}

assert TestClient(app).get("/").json() == {"ok": True}
assert TestClient(app).get("/async").json() == {"ok": True}
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout.strip()) == (0, "[]"), done.stderr
