"""Pure ASGI middleware (issue 14): Starlette's SessionMiddleware, a header-adding middleware, a
contextvar middleware as starlette-context and asgi-correlation-id are, one that rewrites the
request body. On the core's stack (the route matched and extracted by the core; the body-rewriting
middleware's requests go through Starlette's router), and with the whole app served the ASGI way.
Compared with FastAPI: status, body and the headers that matter."""

import asyncio
import contextvars
import types
from typing import Any

import fastapi
import pytest
from starlette.middleware.sessions import SessionMiddleware

import turboapi
from fastapi_reference import FastAPITestClient
from turboapi.testclient import TestClient

CORRELATION: contextvars.ContextVar[str] = contextvars.ContextVar("correlation", default="-")


class TagMiddleware:
    """Pure ASGI: a response header, and a value in the request's state."""

    def __init__(self, app: Any, tag: str) -> None:
        self.app = app
        self.tag = tag

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scope.setdefault("state", {})["tag"] = self.tag

        async def tagged(message: Any) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (b"x-tag", self.tag.encode())]
            await send(message)

        await self.app(scope, receive, tagged)


class CorrelationMiddleware:
    """Pure ASGI, the way asgi-correlation-id works: a context variable from a request header."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        headers = dict(scope.get("headers", []))
        token = CORRELATION.set(headers.get(b"x-request-id", b"none").decode())
        try:
            await self.app(scope, receive, send)
        finally:
            CORRELATION.reset(token)


class UppercaseBodyMiddleware:
    """Pure ASGI, rewriting the request body the route reads."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] != "/shout":
            await self.app(scope, receive, send)
            return

        async def shouting() -> Any:
            message = await receive()
            if message["type"] == "http.request":
                message = {**message, "body": message.get("body", b"").upper()}
            return message

        await self.app(scope, shouting, send)


class Teapot(Exception):
    pass


def build(fw: types.ModuleType, whole_app: bool = False) -> Any:
    """``whole_app``: the app's class replaces ``build_middleware_stack`` (as instrumentation
    libraries do), so turboapi serves the whole app the ASGI way, Starlette's router included."""
    from pydantic import BaseModel

    class Item(BaseModel):
        name: str
        price: float

    class Instrumented(fw.FastAPI):
        def build_middleware_stack(self) -> Any:
            return super().build_middleware_stack()

    app = (Instrumented if whole_app else fw.FastAPI)()
    app.add_middleware(UppercaseBodyMiddleware)
    app.add_middleware(CorrelationMiddleware)
    app.add_middleware(SessionMiddleware, secret_key="not-a-secret")
    app.add_middleware(TagMiddleware, tag="outer")

    @app.middleware("http")
    async def timing(request: Any, call_next: Any) -> Any:
        response = await call_next(request)
        response.headers["x-dispatch"] = "seen"
        return response

    @app.exception_handler(Teapot)
    async def teapot(request: Any, exc: Teapot) -> Any:
        return fw.responses.JSONResponse({"teapot": str(exc)}, status_code=418)

    done: list[str] = []

    def dependency():
        yield "dep"
        done.append("dependency exit")

    @app.get("/session/set/{value}")
    def set_value(value: int, request: fw.Request):
        request.session["value"] = value
        return {"set": value}

    @app.get("/session/get")
    async def get_value(request: fw.Request, q: str = "default"):
        return {"value": request.session.get("value"), "q": q, "tag": request.state.tag}

    @app.get("/correlation/sync")
    def correlation_sync():
        return {"id": CORRELATION.get()}

    @app.get("/correlation/async")
    async def correlation_async():
        return {"id": CORRELATION.get()}

    @app.post("/items", status_code=201)
    async def create(item: Item, dep: str = fw.Depends(dependency)):
        return {"item": item, "dep": dep}

    @app.post("/shout")
    async def shout(request: fw.Request):
        return {"body": (await request.body()).decode()}

    @app.get("/raise/{kind}")
    def raise_(kind: str):
        if kind == "http":
            raise fw.HTTPException(status_code=409, detail="conflict", headers={"x-why": "because"})
        if kind == "teapot":
            raise Teapot("short and stout")
        raise RuntimeError("boom")

    @app.get("/stream")
    async def stream():
        async def chunks():
            for i in range(3):
                await asyncio.sleep(0)
                yield f"chunk {i}\n"

        return fw.responses.StreamingResponse(chunks(), media_type="text/plain")

    @app.post("/background")
    async def background(tasks: fw.BackgroundTasks):
        tasks.add_task(done.append, "background")
        return {"queued": True}

    @app.get("/done")
    def get_done():
        return {"done": done}

    @app.websocket("/ws/{room}")
    async def ws(websocket: fw.WebSocket, room: str, who: str = "anon"):
        await websocket.accept()
        text = await websocket.receive_text()
        await websocket.send_json({"room": room, "who": who, "echo": text})
        await websocket.close()

    return app


@pytest.fixture(scope="module", params=["core-stack", "whole-app"])
def clients(request: Any) -> Any:
    """``core-stack``: the ASGI middleware runs on the core's stack around the fast-path route;
    ``whole-app``: everything runs through Starlette's stack and router."""
    whole_app = request.param == "whole-app"
    reference = FastAPITestClient(build(fastapi, whole_app), raise_server_exceptions=False)
    ours = TestClient(build(turboapi, whole_app), raise_server_exceptions=False)
    with reference, ours:
        yield reference, ours


CASES = [
    ("GET", "/session/set/7", {}),
    ("GET", "/session/set/x", {}),
    ("GET", "/session/get?q=z", {}),
    ("GET", "/correlation/sync", {"headers": {"x-request-id": "abc"}}),
    ("GET", "/correlation/async", {"headers": {"x-request-id": "def"}}),
    ("POST", "/items", {"json": {"name": "n", "price": 1.5}}),
    ("POST", "/items", {"json": {"name": "n"}}),
    ("POST", "/items", {"content": b"{not json", "headers": {"content-type": "application/json"}}),
    ("POST", "/shout", {"content": b"quiet please"}),
    ("GET", "/raise/http", {}),
    ("GET", "/raise/teapot", {}),
    ("GET", "/raise/other", {}),
    ("GET", "/stream", {}),
    ("GET", "/missing", {}),
    ("DELETE", "/session/get", {}),
    ("POST", "/background", {}),
    ("GET", "/done", {}),
    ("GET", "/openapi.json", {}),
]


@pytest.mark.parametrize(("method", "url", "kwargs"), CASES, ids=[f"{m} {u}" for m, u, _ in CASES])
def test_same_answer_as_fastapi(clients: Any, method: str, url: str, kwargs: dict[str, Any]) -> None:
    reference, ours = clients
    expected = reference.request(method, url, **kwargs)
    got = ours.request(method, url, **kwargs)
    if url == "/openapi.json":
        assert (got.status_code, got.json()) == (expected.status_code, expected.json())
    else:
        assert (got.status_code, got.content) == (expected.status_code, expected.content)
    for name in ("content-type", "x-tag", "x-dispatch", "x-why", "content-length"):
        assert got.headers.get(name) == expected.headers.get(name), name
    assert ("set-cookie" in got.headers) == ("set-cookie" in expected.headers)
    allow = [{m.strip() for m in r.headers.get("allow", "").split(",")} for r in (got, expected)]
    assert allow[0] == allow[1]


def test_session_cookie_round_trip(clients: Any) -> None:
    """The cookie SessionMiddleware sets is the session the next request reads, on each side."""
    answers = []
    for client in clients:
        client.cookies.clear()
        client.get("/session/set/41")
        answers.append(client.get("/session/get").json())
    assert answers[0] == answers[1] == {"value": 41, "q": "default", "tag": "outer"}


def test_websocket_through_asgi_middleware(clients: Any) -> None:
    answers = []
    for client in clients:
        with client.websocket_connect("/ws/lobby?who=ann") as ws:
            ws.send_text("hi")
            answers.append(ws.receive_json())
    assert answers[0] == answers[1] == {"room": "lobby", "who": "ann", "echo": "hi"}


def test_the_server_says_why(caplog: Any) -> None:
    """The start-up log names what made the app go the ASGI way."""
    with caplog.at_level("INFO", logger="turboapi"), TestClient(build(turboapi, whole_app=True)) as client:
        assert client.get("/done").status_code == 200
    said = [r.getMessage() for r in caplog.records if "the ASGI way" in r.getMessage()]
    assert said == ["serving Instrumented the ASGI way: build_middleware_stack is replaced"]


def test_standard_middleware_stays_on_the_fast_path() -> None:
    """CORS, GZip and @app.middleware("http") do not send the app the ASGI way."""
    from turboapi import routetable
    from turboapi.middleware.cors import CORSMiddleware
    from turboapi.middleware.gzip import GZipMiddleware

    app = turboapi.FastAPI()
    app.add_middleware(CORSMiddleware, allow_origins=["*"])
    app.add_middleware(GZipMiddleware)

    @app.middleware("http")
    async def noop(request: Any, call_next: Any) -> Any:
        return await call_next(request)

    assert routetable.asgi_reasons(app) == []
    app.add_middleware(SessionMiddleware, secret_key="k")
    assert routetable.asgi_reasons(app) == []  # pure ASGI middleware runs on the core's stack too


def test_asgi_middleware_keeps_the_fast_path(monkeypatch: Any) -> None:
    """On the core's stack the route the core extracted runs; only a request a middleware changed
    (its body rewritten) is planned again, the Starlette way."""
    from turboapi import routehandler

    replanned: list[str] = []
    prepare = routehandler._prepare

    def counting(route: Any, *args: Any) -> Any:
        replanned.append(route.path)
        return prepare(route, *args)

    monkeypatch.setattr(routehandler, "_prepare", counting)
    with TestClient(build(turboapi)) as client:
        assert client.get("/session/get").status_code == 200
        assert client.post("/items", json={"name": "n", "price": 1}).status_code == 201
        assert replanned == []
        assert client.post("/shout", content=b"hey").json() == {"body": "HEY"}
        assert replanned == ["/shout"]
