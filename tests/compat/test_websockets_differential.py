"""Differential test of WebSockets: the same apps on FastAPI and on turboapi.

Each app factory ``build_xxx(fw)`` is written once against a namespace ``fw`` of framework names
(``differential_harness.make_namespace`` plus the WebSocket names, see ``ws_names``) and built for
``fastapi`` and for ``turboapi`` (``differential_harness.Apps``).  Every scenario is a function of a
client run against both, each through its own ``TestClient`` (``fastapi.testclient.TestClient``
vs ``turboapi.testclient.TestClient``), and what it observed is compared (``differential``):

* what the client saw: the messages received (their order, type, text/bytes payload), close codes
  and reasons, ``accepted_subprotocol`` and ``extra_headers``, and every exception raised into the
  test (its class name; code and reason of a ``WebSocketDisconnect``, the message of any other);
* what the handler saw: it reports over the socket (``send_json``) while it can, and otherwise
  appends to its app's side-effect log (``Built.log``), cleared before a scenario and compared
  after the session has ended (both TestClients wait for the handler when the ``with`` block ends).

Covered: echo of text/bytes/JSON (``mode="text"``/``"binary"``), ``iter_text``/``iter_bytes``/
``iter_json`` ending on the client's close, many messages in order, unicode, empty and 1 MiB
messages; subprotocols and extra accept headers; the connection scope; path (with convertors),
query, header and cookie parameters; dependencies (sync, async, ``yield``, sub-dependencies and
caching, on the route/router/include/app, ``scope="function"``); validation failures (close 1008,
the error list as the reason); close before/after accept; ``WebSocketException`` from the handler
and from a dependency, before and after accept; the endpoint returning without closing; errors
raised by the handler (before and after accept) into the test; custom exception handlers; no
WebSocket route at a path; the ASGI messages and the ``WebSocketState`` transitions the handler
sees; the ``RuntimeError``s of misuse (and their exact classes, apart); a message of the wrong
kind; HTTP and WebSocket routes on one path; HTTP middleware next to a WebSocket route;
``dependency_overrides``; an ``HTTPConnection`` dependency; ``url_for``/``url_path_for``; a custom
``WebSocketRequestValidationError`` handler; an ``exception_handler(Exception)`` (not used for
WebSockets by Starlette); two sessions at once; a WebSocket route of a mounted FastAPI app.

Not compared, because real clients cannot observe it or it is an artefact of Starlette's
TestClient (see the comments where it matters):

* which exception a ``receive`` raises in the test after the handler crashed: Starlette's
  TestClient loses the messages queued before the crash and raises ``anyio.ClosedResourceError``
  there; what both raise out of the ``with`` block (the handler's exception) is compared;
* ``raise_server_exceptions=False``: Starlette's ``WebSocketTestSession`` ignores it (a handler's
  exception is always raised into the test); turboapi's honours it (a denied handshake, a 1011);
* the ``upgrade`` request header (a real client sends it; Starlette's TestClient does not);
  ``scope["server"]`` and the FastAPI/Starlette-internal scope keys;
* ``reason`` ``None`` in the ``websocket.disconnect`` message when the client closes without one
  (Starlette's TestClient forwards ``None``; the ASGI spec and servers give a ``str``);
* after a close sent before ``accept`` a real server answers the handshake 403 (code and reason are
  only seen through a TestClient; they are compared, as the TestClient API shows them);
* close frames a real server refuses to send (a reason over 123 bytes, a reserved or out-of-range
  code): Starlette's TestClient hands them over as they are, turboapi's core speaks the protocol;
* an endpoint returning without accepting or closing: Starlette's TestClient waits forever.

``COMPAT_ONLY_FASTAPI=1`` compares FastAPI against a second FastAPI app (validates the scenarios).
"""

import asyncio
import hashlib
import importlib
import types
from collections.abc import Callable, Iterator
from typing import Annotated, Any

import pytest

from fastapi_reference import FastAPITestClient

from .differential_harness import ONLY_FASTAPI, Apps, Built, make_namespace

pytestmark = pytest.mark.timeout(60)

# --------------------------------------------------------------------------- namespaces

# The WebSocket names, by module of the framework package ("" = the package).
WS_NAMES: dict[str, tuple[str, ...]] = {
    "": ("WebSocket", "WebSocketDisconnect", "WebSocketException"),
    "websockets": ("WebSocketState",),
    "requests": ("HTTPConnection",),
    "exceptions": ("WebSocketRequestValidationError",),
}


def ws_names(fw: Any) -> types.SimpleNamespace:
    """The harness's namespace ``fw`` with the WebSocket names of the same framework."""
    package = fw.FastAPI.__module__.split(".")[0]
    names = dict(vars(fw))
    for module, wanted in WS_NAMES.items():
        mod = importlib.import_module(f"{package}.{module}" if module else package)
        names.update({name: getattr(mod, name) for name in wanted})
    return types.SimpleNamespace(**names)


REF_NS = ws_names(make_namespace("fastapi"))
SUT_NS = ws_names(make_namespace("fastapi" if ONLY_FASTAPI else "turboapi"))

# --------------------------------------------------------------------------- shared bits


class AppError(Exception):
    """Handled by ``app.exception_handler(AppError)`` in the main app."""


def states(websocket: Any) -> list[str]:
    return [websocket.client_state.name, websocket.application_state.name]


def error(exc: BaseException) -> dict[str, Any]:
    """A misuse error the handler met: its message, whether it is a RuntimeError, its class name
    (compared on its own by ``test_misuse_error_classes``, see ``without_classes``)."""
    return {"message": str(exc), "is RuntimeError": isinstance(exc, RuntimeError), "class": type(exc).__name__}


def hexed(value: Any) -> Any:
    return value.hex() if isinstance(value, bytes | bytearray) else value


def digest(data: str | bytes) -> list[Any]:
    raw = data.encode() if isinstance(data, str) else data
    return [type(data).__name__, len(raw), hashlib.sha256(raw).hexdigest()]


UNICODE = "héllo wörld — 日本語 — 🌍🚀 — \u0000 nul — \U0010ffff"
MIB = 1024 * 1024
BIG_TEXT = ("0123456789abcdef" * (MIB // 16 + 1))[:MIB]
BIG_BYTES = bytes(range(256)) * (MIB // 256)

# --------------------------------------------------------------------------- the apps


def build_main(fw: Any) -> Built:
    fw = ws_names(fw)
    WebSocket, WebSocketDisconnect, WebSocketException = fw.WebSocket, fw.WebSocketDisconnect, fw.WebSocketException
    Depends, Query, Header, Cookie = fw.Depends, fw.Query, fw.Header, fw.Cookie

    app = fw.FastAPI()
    built = Built(app)
    log = built.log

    @app.exception_handler(AppError)
    async def app_error_handler(websocket: Any, exc: AppError) -> None:
        log.append(["AppError handler", str(exc), states(websocket)])
        await websocket.close(code=4321, reason=f"app error: {exc}")

    # -- echo and iteration -------------------------------------------------------------------

    @app.websocket("/echo/text")
    async def echo_text(websocket: WebSocket):
        await websocket.accept()
        async for text in websocket.iter_text():
            await websocket.send_text(text)
        log.append(["iter_text ended", states(websocket)])

    @app.websocket("/echo/bytes")
    async def echo_bytes(websocket: WebSocket):
        await websocket.accept()
        async for data in websocket.iter_bytes():
            await websocket.send_bytes(data)
        log.append(["iter_bytes ended", states(websocket)])

    @app.websocket("/echo/json/{mode}")
    async def echo_json(websocket: WebSocket, mode: str):
        await websocket.accept()
        try:
            while True:
                data = await websocket.receive_json(mode=mode)
                await websocket.send_json({"got": data, "mode": mode}, mode=mode)
        except WebSocketDisconnect as exc:
            log.append(["disconnect", exc.code, exc.reason])

    @app.websocket("/collect/{kind}")
    async def collect(websocket: WebSocket, kind: str):
        await websocket.accept()
        iterate = {"text": websocket.iter_text, "bytes": websocket.iter_bytes, "json": websocket.iter_json}[kind]
        got = [hexed(item) async for item in iterate()]
        log.append([kind, got, states(websocket)])

    @app.websocket("/burst/{n}")
    async def burst(websocket: WebSocket, n: int):
        await websocket.accept()
        for i in range(n):
            if i % 3 == 0:
                await websocket.send_bytes(i.to_bytes(4, "big"))
            elif i % 3 == 1:
                await websocket.send_text(f"message {i}")
            else:
                await websocket.send_json({"i": i, "text": UNICODE})
        await websocket.close(code=1000, reason="burst done")

    @app.websocket("/late-burst/{n}")
    async def late_burst(websocket: WebSocket, n: int):
        await websocket.accept()
        await asyncio.sleep(0.3)  # the client has left by now: every send comes after its close
        for i in range(n):
            await websocket.send_text(f"message {i}")
        await websocket.close(code=1000, reason="burst done")

    # -- handshake ----------------------------------------------------------------------------

    @app.websocket("/sub")
    async def sub(websocket: WebSocket, pick: str | None = None, headers: bool = False):
        extra = [(b"x-custom", b"v"), (b"x-second", b"two words")] if headers else None
        await websocket.accept(subprotocol=pick, headers=extra)
        await websocket.send_json({"subprotocols": websocket.scope["subprotocols"], "states": states(websocket)})
        await websocket.close()

    @app.websocket("/scope/{name}")
    async def scope(websocket: WebSocket, name: str):
        sc = websocket.scope
        await websocket.accept()
        headers = [[k.decode("latin-1"), v.decode("latin-1")] for k, v in sc["headers"]]
        await websocket.send_json(
            {
                "type": sc["type"],
                "path": sc["path"],
                "raw_path": sc["raw_path"].decode("latin-1"),
                "root_path": sc["root_path"],
                "scheme": sc["scheme"],
                "query_string": sc["query_string"].decode("latin-1"),
                "path_params": sc["path_params"],
                "subprotocols": sc["subprotocols"],
                "client": list(sc["client"]),
                # The TestClients' own request headers, but ``upgrade``: a real client sends it
                # (RFC 6455), Starlette's TestClient does not.
                "headers": [h for h in headers if h[0] != "upgrade"],
                "x-token": websocket.headers.get("x-token"),
                "url": str(websocket.url),
                "base_url": str(websocket.base_url),
                "url.path": websocket.url.path,
                "query_params": list(websocket.query_params.multi_items()),
                "path_params attr": websocket.path_params,
                "cookies": websocket.cookies,
                "client attr": [websocket.client.host, websocket.client.port],
                "name": name,
            }
        )
        await websocket.close()

    # -- parameters ---------------------------------------------------------------------------

    @app.websocket("/typed/{n}")
    async def typed(websocket: WebSocket, n: int):
        await websocket.accept()
        await websocket.send_json({"n": n, "type": type(n).__name__})
        await websocket.close()

    @app.websocket("/items/{item_id:int}")
    async def item(websocket: WebSocket, item_id: int):
        await websocket.accept()
        await websocket.send_json({"item_id": item_id, "type": type(item_id).__name__})
        await websocket.close()

    @app.websocket("/files/{rest:path}")
    async def files(websocket: WebSocket, rest: str):
        await websocket.accept()
        await websocket.send_json({"rest": rest})
        await websocket.close()

    @app.websocket("/query")
    async def query(
        websocket: WebSocket,
        n: int,
        tags: list[str] = Query([]),
        flag: bool = False,
        opt: str = "default",
        aliased: Annotated[str | None, Query(alias="item-q")] = None,
    ):
        await websocket.accept()
        await websocket.send_json({"n": n, "tags": tags, "flag": flag, "opt": opt, "aliased": aliased})
        await websocket.close()

    @app.websocket("/header")
    async def header(
        websocket: WebSocket,
        x_token: Annotated[str, Header()],
        session: Annotated[str, Cookie()],
        x_number: Annotated[int | None, Header()] = None,
    ):
        await websocket.accept()
        await websocket.send_json({"x_token": x_token, "session": session, "x_number": x_number})
        await websocket.close()

    # -- dependencies -------------------------------------------------------------------------

    def sync_dep(q: str = "sq") -> str:
        log.append("sync_dep")
        return f"sync:{q}"

    async def async_dep(websocket: WebSocket) -> str:
        log.append(["async_dep", states(websocket)])
        return "async"

    async def yield_dep():
        log.append("yield_dep enter")
        try:
            yield "yielded"
        except Exception as exc:
            log.append(["yield_dep saw", type(exc).__name__])
            raise
        finally:
            log.append("yield_dep exit")

    def sync_yield_dep():
        log.append("sync_yield_dep enter")
        try:
            yield "sync-yielded"
        finally:
            log.append("sync_yield_dep exit")

    async def sub_dep(value: Annotated[str, Depends(sync_dep)]) -> str:
        log.append("sub_dep")
        return f"sub({value})"

    @app.websocket("/deps")
    async def deps(
        websocket: WebSocket,
        a: Annotated[str, Depends(sync_dep)],
        b: Annotated[str, Depends(async_dep)],
        c: Annotated[str, Depends(yield_dep)],
        d: Annotated[str, Depends(sync_yield_dep)],
        e: Annotated[str, Depends(sub_dep)],
        fail: str | None = None,
    ):
        log.append("endpoint start")
        await websocket.accept()
        await websocket.send_json([a, b, c, d, e])
        if fail is not None:
            await websocket.receive_text()  # the client's go: what was sent is received first
            if fail == "value":
                raise ValueError("endpoint failed")
            raise WebSocketException(code=4400, reason="endpoint ws error")
        await websocket.close()
        log.append("endpoint end")

    def needs_key(key: int) -> int:
        log.append("needs_key")
        return key

    @app.websocket("/dep-validation")
    async def dep_validation(websocket: WebSocket, c: Annotated[str, Depends(yield_dep)], k: int = Depends(needs_key)):
        log.append("endpoint")
        await websocket.accept()
        await websocket.send_json({"c": c, "k": k})
        await websocket.close()

    def plain_dep() -> str:
        log.append("plain_dep")
        return "real"

    def override_dep() -> str:
        log.append("override_dep")
        return "overridden"

    async def connection_dep(connection: fw.HTTPConnection) -> str:
        return f"{type(connection).__name__} {connection.url.path}"

    built.registry.update(plain_dep=plain_dep, override_dep=override_dep)

    @app.websocket("/override")
    async def override(
        websocket: WebSocket,
        value: Annotated[str, Depends(plain_dep)],
        connection: Annotated[str, Depends(connection_dep)],
    ):
        await websocket.accept()
        await websocket.send_json({"value": value, "connection": connection})
        await websocket.close()

    # -- closing and errors ---------------------------------------------------------------------

    @app.websocket("/close/before")
    async def close_before(websocket: WebSocket, code: int | None = None, reason: str | None = None):
        if code is None:
            await websocket.close()
        else:
            await websocket.close(code=code, reason=reason)
        log.append(["closed", states(websocket)])

    @app.websocket("/close/after")
    async def close_after(websocket: WebSocket, code: int | None = None, reason: str | None = None):
        await websocket.accept()
        await websocket.send_text("hello")
        if code is None:
            await websocket.close()
        else:
            await websocket.close(code=code, reason=reason)
        log.append(["closed", states(websocket)])
        for name, call in (("send_text", lambda: websocket.send_text("late")), ("close", websocket.close)):
            try:
                await call()
                log.append([f"{name} after close", "ok"])
            except Exception as exc:
                log.append([f"{name} after close", error(exc)])

    async def ws_exc_dep(websocket: WebSocket, where: str):
        if where == "dep-before":
            raise WebSocketException(code=4001, reason="dep before accept")
        if where == "dep-after":
            await websocket.accept()
            raise WebSocketException(code=4002, reason="dep after accept")

    @app.websocket("/wsexc/{where}")
    async def wsexc(websocket: WebSocket, where: str, _: Annotated[None, Depends(ws_exc_dep)]):
        if where == "handler-before":
            raise WebSocketException(code=4003, reason="handler before accept")
        if where == "handler-before-no-reason":
            raise WebSocketException(code=1008)
        await websocket.accept()
        if where == "handler-after":
            raise WebSocketException(code=4004, reason="handler after accept")
        await websocket.send_text("no exception")
        await websocket.close()

    @app.websocket("/noclose")
    async def noclose(websocket: WebSocket):
        await websocket.accept()
        await websocket.send_text("only message")
        log.append("returned")

    @app.websocket("/boom/{when}")
    async def boom(websocket: WebSocket, when: str):
        if when == "before":
            raise ValueError("boom before accept")
        await websocket.accept()
        await websocket.receive_text()
        log.append("raising")
        raise LookupError("boom after accept")

    @app.websocket("/app-error/{when}")
    async def app_error(websocket: WebSocket, when: str):
        if when == "before":
            raise AppError("before accept")
        await websocket.accept()
        await websocket.receive_text()
        raise AppError("after accept")

    # -- the handler's view ---------------------------------------------------------------------

    @app.websocket("/messages")
    async def messages(websocket: WebSocket):
        first = await websocket.receive()
        log.append(["first", first, states(websocket)])
        await websocket.accept()
        while True:
            message = await websocket.receive()
            seen = {key: hexed(value) for key, value in message.items()}
            if message["type"] == "websocket.disconnect":
                # Starlette's TestClient gives reason None when the client closes without one.
                seen["reason"] = seen.get("reason") or ""
                log.append(["last", seen, states(websocket)])
                break
            await websocket.send_json(seen)
        try:
            await websocket.receive()
            log.append("receive after disconnect: ok")
        except Exception as exc:
            log.append(["receive after disconnect", error(exc)])

    @app.websocket("/states/{who}")
    async def state_route(websocket: WebSocket, who: str):
        log.append(["initial", states(websocket)])
        await websocket.receive()
        log.append(["after the connect message", states(websocket)])
        await websocket.accept()
        log.append(["after accept", states(websocket)])
        if who == "server":
            await websocket.send_json(states(websocket))
            await websocket.close(code=4010)
            log.append(["after close", states(websocket)])
        else:
            try:
                await websocket.receive_text()
            except WebSocketDisconnect as exc:
                log.append(["client closed", exc.code, exc.reason, states(websocket)])

    @app.websocket("/errors")
    async def errors(websocket: WebSocket):
        seen: dict[str, Any] = {}
        calls: list[tuple[str, Callable[[], Any]]] = [
            ("receive_text before accept", websocket.receive_text),
            ("receive_bytes before accept", websocket.receive_bytes),
            ("receive_json before accept", websocket.receive_json),
            ("send_text before accept", lambda: websocket.send_text("too early")),
            ("send_bytes before accept", lambda: websocket.send_bytes(b"too early")),
        ]
        for name, call in calls:
            try:
                await call()
                seen[name] = "ok"
            except Exception as exc:
                seen[name] = error(exc)
        seen["states before accept"] = states(websocket)
        await websocket.accept()
        for name, call in (
            ("send_json bad mode", lambda: websocket.send_json({}, mode="xml")),
            ("receive_json bad mode", lambda: websocket.receive_json(mode="xml")),
        ):
            try:
                await call()
                seen[name] = "ok"
            except Exception as exc:
                seen[name] = error(exc)
        try:
            await websocket.accept()
            seen["accept twice"] = "ok"
        except Exception as exc:
            seen["accept twice"] = error(exc)
        await websocket.send_json(seen)
        await websocket.close(code=4000, reason="errors done")

    @app.websocket("/wrong-kind")
    async def wrong_kind(websocket: WebSocket):
        """The client sends text, then bytes, then text that is not JSON, then bytes for receive_json()."""
        await websocket.accept()
        seen: dict[str, Any] = {}
        for name, call in (
            ("receive_bytes of a text message", websocket.receive_bytes),
            ("receive_text of a bytes message", websocket.receive_text),
            ("receive_json of invalid JSON", websocket.receive_json),
            ("receive_json of a bytes message", websocket.receive_json),
        ):
            try:
                seen[name] = ["ok", hexed(await call())]
            except Exception as exc:
                seen[name] = error(exc)
        await websocket.send_json(seen)
        await websocket.close()

    return built


def build_mixed(fw: Any) -> Built:
    """HTTP and WebSocket routes on the same paths (either registered first), and each alone."""
    fw = ws_names(fw)
    WebSocket = fw.WebSocket
    app = fw.FastAPI()

    @app.get("/x")
    def x_http():
        return {"via": "http", "path": "/x"}

    @app.websocket("/x")
    async def x_ws(websocket: WebSocket):
        await websocket.accept()
        await websocket.send_json({"via": "websocket", "path": "/x"})
        await websocket.close()

    @app.websocket("/y")
    async def y_ws(websocket: WebSocket):
        await websocket.accept()
        await websocket.send_json({"via": "websocket", "path": "/y"})
        await websocket.close()

    @app.get("/y")
    def y_http():
        return {"via": "http", "path": "/y"}

    @app.get("/only-http")
    def only_http():
        return {"via": "http"}

    @app.post("/only-post")
    def only_post():
        return {"via": "http post"}

    @app.websocket("/only-ws")
    async def only_ws(websocket: WebSocket):
        await websocket.accept()
        await websocket.send_text("ws only")
        await websocket.close()

    return Built(app)


def build_routers(fw: Any) -> Built:
    """Dependencies on the app, an included router, the include and the route; prefixes; names."""
    fw = ws_names(fw)
    WebSocket, WebSocketException, Depends, Header = fw.WebSocket, fw.WebSocketException, fw.Depends, fw.Header
    built_log: list[Any] = []

    def recorder(name: str) -> Callable[..., Any]:
        async def dep(websocket: WebSocket) -> None:
            built_log.append([name, websocket.url.path, states(websocket)])

        dep.__name__ = name
        return dep

    async def include_dep(x_deny: Annotated[str | None, Header()] = None) -> None:
        built_log.append(["include_dep", x_deny])
        if x_deny == "before":
            raise WebSocketException(code=4003, reason="denied by the include's dependency")

    app = fw.FastAPI(dependencies=[Depends(recorder("app_dep"))])
    router = fw.APIRouter(prefix="/inner", dependencies=[Depends(recorder("router_dep"))])

    @router.websocket("/ws/{n}", dependencies=[Depends(recorder("route_dep"))])
    async def routed(websocket: WebSocket, n: int):
        built_log.append("routed endpoint")
        await websocket.accept()
        await websocket.send_json({"n": n, "path": websocket.url.path})
        await websocket.close()

    async def added(websocket: WebSocket):
        built_log.append("added endpoint")
        await websocket.accept()
        await websocket.send_json(
            {"added": True, "path": websocket.url.path, "url_for": str(websocket.url_for("routed", n=9))}
        )
        await websocket.close()

    router.add_api_websocket_route("/added", added, name="added_ws")
    app.include_router(router, prefix="/r", dependencies=[Depends(include_dep)])

    inner = fw.APIRouter()

    @inner.websocket("/deep", name="deep_ws")
    async def deep(websocket: WebSocket):
        built_log.append("deep endpoint")
        await websocket.accept()
        await websocket.send_text(websocket.url.path)
        await websocket.close()

    outer = fw.APIRouter(dependencies=[Depends(recorder("outer_dep"))])
    outer.include_router(inner, prefix="/two")
    app.include_router(outer, prefix="/one")

    async def direct(websocket: WebSocket):
        built_log.append("direct endpoint")
        await websocket.accept()
        await websocket.send_text("direct")
        await websocket.close()

    app.add_api_websocket_route("/direct", direct, name="direct_ws")
    return Built(app, built_log)


def build_scopes(fw: Any) -> Built:
    """``yield`` dependencies with ``scope="function"`` and the default (request) scope."""
    fw = ws_names(fw)
    WebSocket, Depends = fw.WebSocket, fw.Depends
    built = Built(fw.FastAPI())
    app, log = built.app, built.log

    async def request_scoped():
        log.append("request_scoped enter")
        yield "r"
        log.append("request_scoped exit")

    async def function_scoped():
        log.append("function_scoped enter")
        yield "f"
        log.append("function_scoped exit")

    @app.websocket("/scoped")
    async def scoped(
        websocket: WebSocket,
        r: Annotated[str, Depends(request_scoped)],
        f: Annotated[str, Depends(function_scoped, scope="function")],
    ):
        await websocket.accept()
        await websocket.send_json([r, f])
        await websocket.close()
        log.append("endpoint end")

    return built


def build_handlers(fw: Any) -> Built:
    """A custom ``WebSocketException`` handler, and an ``Exception`` handler (server-level in
    Starlette: not used for WebSockets)."""
    fw = ws_names(fw)
    WebSocket, WebSocketException = fw.WebSocket, fw.WebSocketException
    built = Built(fw.FastAPI())
    app, log = built.app, built.log

    @app.exception_handler(WebSocketException)
    async def ws_exception_handler(websocket: Any, exc: Any) -> None:
        log.append(["WebSocketException handler", exc.code, exc.reason, states(websocket)])
        await websocket.close(code=exc.code + 1, reason=f"handled: {exc.reason}")

    @app.exception_handler(Exception)
    async def catch_all(request: Any, exc: Exception) -> Any:
        log.append(["catch-all handler", type(exc).__name__])
        return fw.JSONResponse({"caught": str(exc)}, status_code=500)

    @app.websocket("/wsexc/{when}")
    async def wsexc(websocket: WebSocket, when: str):
        if when == "before":
            raise WebSocketException(code=4100, reason="before accept")
        await websocket.accept()
        await websocket.receive_text()
        raise WebSocketException(code=4200, reason="after accept")

    @app.exception_handler(fw.WebSocketRequestValidationError)
    async def ws_validation_handler(websocket: Any, exc: Any) -> None:
        errors = exc.errors()
        log.append(["validation handler", [list(e["loc"]) for e in errors], states(websocket)])
        await websocket.close(code=4422, reason=f"{len(errors)} invalid")

    @app.websocket("/validated/{n}")
    async def validated(websocket: WebSocket, n: int, q: int):
        await websocket.accept()
        await websocket.send_json({"n": n, "q": q})
        await websocket.close()

    @app.websocket("/boom/{when}")
    async def boom(websocket: WebSocket, when: str):
        if when == "before":
            raise KeyError("before accept")
        await websocket.accept()
        await websocket.receive_text()
        raise KeyError("after accept")

    return built


def build_middleware(fw: Any) -> Built:
    """HTTP middleware (``@app.middleware("http")`` and CORS) next to a WebSocket route: HTTP
    middleware does not run for a WebSocket connection."""
    fw = ws_names(fw)
    WebSocket = fw.WebSocket
    built = Built(fw.FastAPI())
    app, log = built.app, built.log
    app.add_middleware(fw.CORSMiddleware, allow_origins=["https://example.com"])

    @app.middleware("http")
    async def mark(request: Any, call_next: Any) -> Any:
        log.append(["http middleware", request.url.path])
        response = await call_next(request)
        response.headers["x-middleware"] = "ran"
        return response

    @app.get("/http")
    def http_route():
        return {"via": "http"}

    @app.websocket("/ws")
    async def ws_route(websocket: WebSocket):
        await websocket.accept()
        await websocket.send_json({"via": "websocket", "origin": websocket.headers.get("origin")})
        await websocket.close()

    return built


def legacy_app() -> Any:
    """A FastAPI app with a WebSocket route, mounted in both frameworks' apps (the gradual
    migration case of ``test_mount_differential``)."""
    import fastapi

    legacy = fastapi.FastAPI()

    @legacy.websocket("/ws/{name}")
    async def legacy_ws(websocket: fastapi.WebSocket, name: str):
        await websocket.accept(subprotocol="legacy" if websocket.scope["subprotocols"] else None)
        await websocket.send_json(
            {"name": name, "path": websocket.url.path, "root_path": websocket.scope.get("root_path")}
        )
        text = await websocket.receive_text()
        await websocket.send_text(f"legacy echo: {text}")
        await websocket.close(code=4500, reason="legacy done")

    @legacy.get("/http")
    def legacy_http():
        return {"legacy": "http"}

    return legacy


def build_mounted(fw: Any) -> Built:
    fw = ws_names(fw)
    WebSocket = fw.WebSocket
    app = fw.FastAPI()

    @app.websocket("/own")
    async def own(websocket: WebSocket):
        await websocket.accept()
        await websocket.send_text("own")
        await websocket.close()

    app.mount("/legacy", legacy_app())
    return Built(app)


FACTORIES = {
    "main": build_main,
    "mixed": build_mixed,
    "routers": build_routers,
    "scopes": build_scopes,
    "handlers": build_handlers,
    "middleware": build_middleware,
    "mounted": build_mounted,
}


@pytest.fixture(scope="module")
def apps() -> Iterator[Apps]:
    with Apps(FACTORIES, with_route=False) as built:
        yield built


# --------------------------------------------------------------------------- driving both sides


Scenario = Callable[[Any, list[Any]], None]


def describe(exc: BaseException, ns: Any) -> dict[str, Any]:
    """An exception raised into the test."""
    out: dict[str, Any] = {"raised": type(exc).__name__}
    if isinstance(exc, ns.WebSocketDisconnect):
        out.update(code=exc.code, reason=exc.reason, **{"is fw.WebSocketDisconnect": True})
    else:
        out["message"] = str(exc)
    return out


def observe(client: Any, built: Built, ns: Any, scenario: Scenario) -> dict[str, Any]:
    built.log.clear()
    seen: list[Any] = []
    try:
        scenario(client, seen)
    except Exception as exc:
        seen.append(describe(exc, ns))
    # Copied once the session is over: both TestClients have waited for the handler by then.
    return {"client": seen, "handler": list(built.log)}


def without_classes(value: Any) -> Any:
    """``value`` without the ``class`` entries of ``error`` (compared on their own)."""
    if isinstance(value, dict):
        return {k: without_classes(v) for k, v in value.items() if k != "class"}
    if isinstance(value, list | tuple):
        return type(value)(without_classes(v) for v in value)
    return value


def differential(
    apps: Apps,
    scenario: Scenario,
    app: str = "main",
    *,
    normalize: Callable[[Any], Any] = without_classes,
    clients: tuple[Any, Any] | None = None,
) -> dict[str, Any]:
    """Run ``scenario`` against both frameworks; the observations must be equal. FastAPI's is
    returned (the caller checks that it exercises what the test claims to)."""
    assert not apps.ref_errors, f"FastAPI rejected routes: {apps.ref_errors}"
    if app not in apps.sut:
        pytest.fail(f"turboapi could not build app {app!r}: {apps.sut_errors}")
    ref_client, sut_client = clients or apps.clients(app, True)
    ref = normalize(observe(ref_client, apps.ref[app], REF_NS, scenario))
    sut = normalize(observe(sut_client, apps.sut[app], SUT_NS, scenario))
    assert sut == ref, f"\n  turboapi: {sut}\n  FastAPI:  {ref}"
    return ref


def connect(client: Any, url: str, *, subprotocols: list[str] | None = None, **headers: str) -> Any:
    # A fresh dict every time: Starlette's websocket_connect adds its headers to the one it is given.
    kw: dict[str, Any] = {"headers": {k.replace("_", "-"): v for k, v in headers.items()}}
    if subprotocols is not None:
        kw["subprotocols"] = subprotocols
    return client.websocket_connect(url, **kw)


def handshake(ws: Any) -> dict[str, Any]:
    # Header names compared lowercased: they are case-insensitive on the wire (Starlette's TestClient
    # hands over the app's bytes as they are, a real server may not).
    extra = ws.extra_headers
    if extra is not None:
        extra = [(bytes(k).lower(), bytes(v)) for k, v in extra]
    return {"subprotocol": ws.accepted_subprotocol, "extra_headers": extra}


def exchange(url: str, steps: list[tuple[str, Any]], **connect_kw: Any) -> Scenario:
    """A scenario of ``(action, argument)`` steps in one session: ``send_text``/``send_bytes``/
    ``send_json``/``send_json_binary`` (argument sent), ``receive``/``receive_text``/...
    (argument ignored; the result recorded), ``close`` (argument: ``(code, reason)`` or None)."""

    def scenario(client: Any, seen: list[Any]) -> None:
        with connect(client, url, **connect_kw) as ws:
            seen.append(handshake(ws))
            for action, argument in steps:
                if action == "send_json_binary":
                    ws.send_json(argument, mode="binary")
                elif action == "receive_json_binary":
                    seen.append(ws.receive_json(mode="binary"))
                elif action == "close":
                    ws.close(*(argument or ()))
                elif action.startswith("send"):
                    getattr(ws, action)(argument)
                else:
                    got = getattr(ws, action)()
                    seen.append({k: hexed(v) for k, v in got.items()} if isinstance(got, dict) else hexed(got))
        seen.append("session ended")

    return scenario


def connect_only(url: str, **connect_kw: Any) -> Scenario:
    """Open a session and leave it at once (the handshake's outcome is what is compared)."""

    def scenario(client: Any, seen: list[Any]) -> None:
        with connect(client, url, **connect_kw) as ws:
            seen.append(handshake(ws))
        seen.append("session ended")

    return scenario


def close_message(code: int = 1000, reason: str = "") -> dict[str, Any]:
    return {"type": "websocket.close", "code": code, "reason": reason}


def text(value: str) -> dict[str, Any]:
    return {"type": "websocket.send", "text": value}


NO_EXTRAS = {"subprotocol": None, "extra_headers": []}

# --------------------------------------------------------------------------- echo and iteration

ECHO_TEXTS = ["hello", UNICODE, "", " ", "line\nbreak\r\n", '{"not": "parsed"}']


def test_echo_text(apps: Apps) -> None:
    steps = [step for value in ECHO_TEXTS for step in (("send_text", value), ("receive", None))]
    ref = differential(apps, exchange("/echo/text", steps))
    assert ref["client"][1:-1] == [text(value) for value in ECHO_TEXTS]
    assert ref["handler"] == [["iter_text ended", ["DISCONNECTED", "CONNECTED"]]]


ECHO_BYTES = [b"\x00\x01\x02", b"", UNICODE.encode(), bytes(range(256)), b"\xff" * 1000]


def test_echo_bytes(apps: Apps) -> None:
    steps = [step for value in ECHO_BYTES for step in (("send_bytes", value), ("receive", None))]
    ref = differential(apps, exchange("/echo/bytes", steps))
    assert ref["client"][1:-1] == [{"type": "websocket.send", "bytes": value.hex()} for value in ECHO_BYTES]
    assert ref["handler"] == [["iter_bytes ended", ["DISCONNECTED", "CONNECTED"]]]


JSON_VALUES = [{"a": 1, "b": [1, 2.5, None, True], "u": UNICODE}, [], "just a string", 0, None, {"nested": {"x": {}}}]


@pytest.mark.parametrize("mode", ["text", "binary"])
def test_echo_json(apps: Apps, mode: str) -> None:
    send = "send_json" if mode == "text" else "send_json_binary"
    # The first answer is looked at raw (text or bytes frame, exact serialisation), the others parsed.
    steps = [(send, JSON_VALUES[0]), ("receive", None)]
    for value in JSON_VALUES[1:]:
        steps += [(send, value), ("receive_json" if mode == "text" else "receive_json_binary", None)]
    steps.append(("close", (4000, "client done")))
    ref = differential(apps, exchange(f"/echo/json/{mode}", steps))
    assert set(ref["client"][1]) == {"type", "text" if mode == "text" else "bytes"}
    assert ref["client"][2:-1] == [{"got": value, "mode": mode} for value in JSON_VALUES[1:]]
    assert ref["handler"] == [["disconnect", 4000, "client done"]]


def test_json_raw_frames(apps: Apps) -> None:
    """send_json's compact serialisation, non-ASCII kept; text vs binary frames."""
    ref = differential(
        apps,
        exchange(
            "/echo/json/text",
            [("send_json", {"k": "é", "n": [1, 2]}), ("receive", None)],
        ),
    )
    assert ref["client"][1] == text('{"got":{"k":"é","n":[1,2]},"mode":"text"}')
    ref = differential(
        apps,
        exchange("/echo/json/binary", [("send_json_binary", {"k": "é"}), ("receive", None)]),
    )
    assert ref["client"][1] == {"type": "websocket.send", "bytes": '{"got":{"k":"é"},"mode":"binary"}'.encode().hex()}


ITERATED: dict[str, tuple[str, list[Any]]] = {
    "text": ("send_text", ["one", "", UNICODE, "four"]),
    "bytes": ("send_bytes", [b"one", b"", b"\x00\xff"]),
    "json": ("send_json", [{"a": 1}, [1, 2], "s", None, 3.5]),
}


@pytest.mark.parametrize("kind", list(ITERATED))
@pytest.mark.parametrize("closing", ["exit", "close-code"])
def test_iteration_ends_on_client_close(apps: Apps, kind: str, closing: str) -> None:
    action, values = ITERATED[kind]
    steps: list[tuple[str, Any]] = [(action, value) for value in values]
    if closing == "close-code":
        steps.append(("close", (4001, "done sending")))
    ref = differential(apps, exchange(f"/collect/{kind}", steps))
    assert ref["client"] == [NO_EXTRAS, "session ended"]
    assert ref["handler"] == [[kind, [hexed(v) for v in values], ["DISCONNECTED", "CONNECTED"]]]


def test_many_messages_in_order(apps: Apps) -> None:
    n = 300
    # All sent before any is read: nothing lost or reordered on the way in or out.
    steps = [("send_text", f"message {i}") for i in range(n)] + [("receive_text", None)] * n
    ref = differential(apps, exchange("/echo/text", steps))
    assert ref["client"][1:-1] == [f"message {i}" for i in range(n)]


def test_server_burst_of_mixed_messages(apps: Apps) -> None:
    n = 150
    ref = differential(apps, exchange(f"/burst/{n}", [("receive", None)] * (n + 1)))
    assert ref["client"][-2] == close_message(1000, "burst done")
    assert ref["client"][1] == {"type": "websocket.send", "bytes": "00000000"}
    assert ref["client"][2] == text("message 1")


@pytest.mark.parametrize("kind", ["text", "bytes"])
def test_large_message(apps: Apps, kind: str) -> None:
    payload: str | bytes = BIG_TEXT if kind == "text" else BIG_BYTES

    def scenario(client: Any, seen: list[Any]) -> None:
        with connect(client, f"/echo/{kind}") as ws:
            for _ in range(2):
                getattr(ws, f"send_{kind}")(payload)
                seen.append(digest(getattr(ws, f"receive_{kind}")()))

    ref = differential(apps, scenario)
    assert ref["client"] == [digest(payload)] * 2


# --------------------------------------------------------------------------- handshake


SUBPROTOCOL_CASES = {
    "none offered": ("/sub", None),
    "offered, none picked": ("/sub", ["chat", "superchat"]),
    "offered, one picked": ("/sub?pick=superchat", ["chat", "superchat"]),
    "the first picked": ("/sub?pick=chat", ["chat", "superchat", "v3.proto"]),
    "extra headers": ("/sub?headers=1", None),
    "picked and extra headers": ("/sub?pick=v3.proto&headers=true", ["chat", "v3.proto"]),
}


@pytest.mark.parametrize(("url", "offered"), list(SUBPROTOCOL_CASES.values()), ids=list(SUBPROTOCOL_CASES))
def test_subprotocols_and_extra_headers(apps: Apps, url: str, offered: list[str] | None) -> None:
    ref = differential(apps, exchange(url, [("receive_json", None), ("receive", None)], subprotocols=offered))
    assert ref["client"][1] == {"subprotocols": offered or [], "states": ["CONNECTED", "CONNECTED"]}
    assert ref["client"][2] == close_message()
    if "pick" in url:
        assert ref["client"][0]["subprotocol"] == url.split("pick=")[1].split("&")[0]
    if "headers" in url:
        assert ref["client"][0]["extra_headers"] == [(b"x-custom", b"v"), (b"x-second", b"two words")]


@pytest.mark.parametrize(
    "url",
    ["/scope/plain", "/scope/h%C3%A9llo%20x?a=1&a=2&b=%20x&c=", "/scope/with%2Fslash?q=%C3%A9"],
    ids=["plain", "quoted-and-query", "encoded-slash"],
)
def test_scope_seen_by_the_handler(apps: Apps, url: str) -> None:
    ref = differential(
        apps,
        exchange(url, [("receive_json", None)], subprotocols=["p1", "p2"], x_token="tok", cookie="c1=v1; c2=v2"),
    )
    if "%2F" in url:  # matched against the decoded path, as Starlette does: no route
        assert ref["client"][0]["code"] == 1000
        return
    seen = ref["client"][1]
    assert seen["type"] == "websocket" and seen["scheme"] == "ws" and seen["x-token"] == "tok"


# --------------------------------------------------------------------------- parameters

PARAM_CASES = {
    "int path": ("/typed/42", {}, {"n": 42, "type": "int"}),
    "int convertor": ("/items/7", {}, {"item_id": 7, "type": "int"}),
    "path convertor": ("/files/a/b/c.txt", {}, {"rest": "a/b/c.txt"}),
    "query defaults": ("/query?n=1", {}, {"n": 1, "tags": [], "flag": False, "opt": "default", "aliased": None}),
    "query all": (
        "/query?n=-3&tags=a&tags=b&flag=yes&opt=x&item-q=al",
        {},
        {"n": -3, "tags": ["a", "b"], "flag": True, "opt": "x", "aliased": "al"},
    ),
    "header and cookie": (
        "/header",
        {"x_token": "secret", "cookie": "session=s1; other=o", "x_number": "5"},
        {"x_token": "secret", "session": "s1", "x_number": 5},
    ),
}


@pytest.mark.parametrize(("url", "headers", "expected"), list(PARAM_CASES.values()), ids=list(PARAM_CASES))
def test_parameters(apps: Apps, url: str, headers: dict[str, str], expected: dict[str, Any]) -> None:
    ref = differential(apps, exchange(url, [("receive_json", None), ("receive", None)], **headers))
    assert ref["client"][1:] == [expected, close_message(), "session ended"]


VALIDATION_CASES = {
    "int path": ("/typed/abc", {}),
    "missing query": ("/query", {}),
    "bad query int": ("/query?n=x&tags=1", {}),
    "bad query bool": ("/query?n=1&flag=maybe", {}),
    "missing header and cookie": ("/header", {}),
    "missing cookie": ("/header", {"x_token": "t"}),
    "bad header int": ("/header", {"x_token": "t", "cookie": "session=s", "x_number": "many"}),
    "dependency's query": ("/dep-validation?key=nope", {}),
}


@pytest.mark.parametrize(("url", "headers"), list(VALIDATION_CASES.values()), ids=list(VALIDATION_CASES))
def test_validation_failure_closes_1008_with_the_errors(apps: Apps, url: str, headers: dict[str, str]) -> None:
    ref = differential(apps, connect_only(url, **headers))
    (raised,) = ref["client"]
    assert raised["raised"] == "WebSocketDisconnect" and raised["code"] == 1008, raised
    assert isinstance(raised["reason"], list) and raised["reason"], raised  # FastAPI's reason: the error list


def test_convertor_mismatch_is_no_route(apps: Apps) -> None:
    ref = differential(apps, connect_only("/items/abc"))
    assert ref["client"] == [
        {"raised": "WebSocketDisconnect", "code": 1000, "reason": "", "is fw.WebSocketDisconnect": True}
    ]


# --------------------------------------------------------------------------- dependencies


def test_dependencies(apps: Apps) -> None:
    ref = differential(apps, exchange("/deps?q=Q", [("receive_json", None), ("receive", None)]))
    assert ref["client"][1] == ["sync:Q", "async", "yielded", "sync-yielded", "sub(sync:Q)"]
    # sync_dep runs once (cached for sub_dep); the yield dependencies exit after the endpoint, last in first out.
    assert ref["handler"] == [
        "sync_dep",
        ["async_dep", ["CONNECTING", "CONNECTING"]],
        "yield_dep enter",
        "sync_yield_dep enter",
        "sub_dep",
        "endpoint start",
        "endpoint end",
        "sync_yield_dep exit",
        "yield_dep exit",
    ]


@pytest.mark.parametrize("fail", ["value", "wsexc"])
def test_endpoint_error_is_thrown_into_yield_dependency(apps: Apps, fail: str) -> None:
    steps = [("receive_json", None), ("send_text", "go")]
    if fail == "wsexc":
        steps.append(("receive", None))
    ref = differential(apps, exchange(f"/deps?fail={fail}", steps))
    exc = "ValueError" if fail == "value" else "WebSocketException"
    assert ["yield_dep saw", exc] in ref["handler"]
    assert ref["handler"][-1] == "yield_dep exit"
    if fail == "value":
        assert ref["client"][-1] == {"raised": "ValueError", "message": "endpoint failed"}
    else:
        assert ref["client"][-2:] == [close_message(4400, "endpoint ws error"), "session ended"]


def test_yield_dependency_exits_on_validation_error(apps: Apps) -> None:
    ref = differential(apps, connect_only("/dep-validation"))
    assert ref["client"][0]["code"] == 1008
    assert ref["handler"][0] == "yield_dep enter" and ref["handler"][-1] == "yield_dep exit"


def test_dependency_scopes(apps: Apps) -> None:
    ref = differential(apps, exchange("/scoped", [("receive_json", None), ("receive", None)]), "scopes")
    assert ref["client"][1] == ["r", "f"]
    assert ref["handler"] == [
        "request_scoped enter",
        "function_scoped enter",
        "endpoint end",
        "function_scoped exit",
        "request_scoped exit",
    ]


ROUTER_CASES = {
    "router route": ("/r/inner/ws/5", {}),
    "router add_api_websocket_route": ("/r/inner/added", {}),
    "nested routers": ("/one/two/deep", {}),
    "app add_api_websocket_route": ("/direct", {}),
    "include dependency closes": ("/r/inner/ws/5", {"x_deny": "before"}),
    "include dependency lets through": ("/r/inner/ws/6", {"x_deny": "no"}),
}


@pytest.mark.parametrize(("url", "headers"), list(ROUTER_CASES.values()), ids=list(ROUTER_CASES))
def test_router_and_app_dependencies(apps: Apps, url: str, headers: dict[str, str]) -> None:
    ref = differential(apps, exchange(url, [("receive", None), ("receive", None)], **headers), "routers")
    if headers.get("x_deny") == "before":
        assert ref["client"][-1]["code"] == 4003
    else:
        assert ref["client"][-2:] == [close_message(), "session ended"]
        assert ref["handler"][0][0] == "app_dep"


URL_PATH_FOR_CASES = [
    ("routers", "added_ws", {}, "/r/inner/added"),
    ("routers", "deep_ws", {}, "/one/two/deep"),
    ("routers", "direct_ws", {}, "/direct"),
    ("main", "item", {"item_id": 3}, "/items/3"),
]


@pytest.mark.parametrize(("app_name", "route", "params", "expected"), URL_PATH_FOR_CASES)
def test_websocket_url_path_for(apps: Apps, app_name: str, route: str, params: dict[str, Any], expected: str) -> None:
    got = []
    for built, ns in ((apps.ref[app_name], REF_NS), (apps.sut[app_name], SUT_NS)):
        try:
            got.append(str(built.app.url_path_for(route, **params)))
        except Exception as exc:
            got.append(describe(exc, ns))
    assert got == [expected, expected]


# --------------------------------------------------------------------------- closing


CLOSE_BEFORE_CASES = {
    "default": ("/close/before", 1000, ""),
    "code and reason": ("/close/before?code=4403&reason=go%20away", 4403, "go away"),
    "policy code, no reason": ("/close/before?code=1008", 1008, ""),
    "unicode reason": ("/close/before?code=4000&reason=%C3%A9t%C3%A9", 4000, "été"),
}


@pytest.mark.parametrize(("url", "code", "reason"), list(CLOSE_BEFORE_CASES.values()), ids=list(CLOSE_BEFORE_CASES))
def test_close_before_accept(apps: Apps, url: str, code: int, reason: str) -> None:
    ref = differential(apps, connect_only(url))
    assert ref["client"] == [
        {"raised": "WebSocketDisconnect", "code": code, "reason": reason, "is fw.WebSocketDisconnect": True}
    ]
    # No receive() before close(): the handler never took the connect message.
    assert ref["handler"] == [["closed", ["CONNECTING", "DISCONNECTED"]]]


CLOSE_AFTER_CASES = {
    "default": ("/close/after", 1000, ""),
    "code and reason": ("/close/after?code=4001&reason=bye%20now", 4001, "bye now"),
    "going away": ("/close/after?code=1001", 1001, ""),
}


@pytest.mark.parametrize(("url", "code", "reason"), list(CLOSE_AFTER_CASES.values()), ids=list(CLOSE_AFTER_CASES))
def test_close_after_accept(apps: Apps, url: str, code: int, reason: str) -> None:
    ref = differential(apps, exchange(url, [("receive", None), ("receive", None)]))
    assert ref["client"] == [NO_EXTRAS, text("hello"), close_message(code, reason), "session ended"]
    assert ref["handler"][0] == ["closed", ["CONNECTED", "DISCONNECTED"]]


def test_close_raised_by_receive_text(apps: Apps) -> None:
    """``receive_text`` on a closed connection raises WebSocketDisconnect(code, reason) in the test."""
    ref = differential(
        apps, exchange("/close/after?code=4001&reason=r", [("receive_text", None), ("receive_text", None)])
    )
    assert ref["client"][-1] == {
        "raised": "WebSocketDisconnect",
        "code": 4001,
        "reason": "r",
        "is fw.WebSocketDisconnect": True,
    }


def test_send_after_close(apps: Apps) -> None:
    ref = differential(apps, exchange("/close/after", [("receive", None), ("receive", None)]))
    message = 'Cannot call "send" once a close message has been sent.'
    expected = {"message": message, "is RuntimeError": True}
    assert ref["handler"][1:] == [["send_text after close", expected], ["close after close", expected]]


WSEXC_CASES = {
    "handler before accept": ("handler-before", 4003, "handler before accept", False),
    "handler before accept, no reason": ("handler-before-no-reason", 1008, "", False),
    "handler after accept": ("handler-after", 4004, "handler after accept", True),
    "dependency before accept": ("dep-before", 4001, "dep before accept", False),
    "dependency after accept": ("dep-after", 4002, "dep after accept", True),
}


@pytest.mark.parametrize(("where", "code", "reason", "accepted"), list(WSEXC_CASES.values()), ids=list(WSEXC_CASES))
def test_websocket_exception(apps: Apps, where: str, code: int, reason: str, accepted: bool) -> None:
    ref = differential(apps, exchange(f"/wsexc/{where}", [("receive", None)]))
    if accepted:
        assert ref["client"] == [NO_EXTRAS, close_message(code, reason), "session ended"]
    else:
        assert ref["client"] == [
            {"raised": "WebSocketDisconnect", "code": code, "reason": reason, "is fw.WebSocketDisconnect": True}
        ]


def test_no_websocket_exception(apps: Apps) -> None:
    ref = differential(apps, exchange("/wsexc/none", [("receive", None), ("receive", None)]))
    assert ref["client"] == [NO_EXTRAS, text("no exception"), close_message(), "session ended"]


class CloseOnReturn:
    """What an ASGI server does when a WebSocket app returns after accepting without closing:
    uvicorn (websockets) and hypercorn close with 1000.  Starlette's TestClient sends nothing (a
    ``receive`` would wait forever), so the FastAPI app is run under this for that case."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "websocket":
            await self.app(scope, receive, send)
            return
        sent: set[str] = set()

        async def tracking_send(message: Any) -> None:
            sent.add(message["type"])
            await send(message)

        await self.app(scope, receive, tracking_send)
        if "websocket.accept" in sent and "websocket.close" not in sent:
            await send({"type": "websocket.close", "code": 1000, "reason": ""})


def test_endpoint_returning_without_close(apps: Apps) -> None:
    def client_for(built: Built) -> Any:
        return FastAPITestClient(CloseOnReturn(built.app))

    ref_client = client_for(apps.ref["main"])
    sut_client = client_for(apps.sut["main"]) if ONLY_FASTAPI else apps.clients("main", True)[1]
    try:
        ref = differential(
            apps,
            exchange("/noclose", [("receive", None), ("receive", None)]),
            clients=(ref_client, sut_client),
        )
    finally:
        ref_client.close()
        if ONLY_FASTAPI:
            sut_client.close()
    assert ref["client"] == [NO_EXTRAS, text("only message"), close_message(), "session ended"]
    assert ref["handler"] == ["returned"]


def test_endpoint_returning_without_close_exits_cleanly(apps: Apps) -> None:
    """The plain TestClients: leaving the session after the last message raises nothing."""
    ref = differential(apps, exchange("/noclose", [("receive_text", None)]))
    assert ref["client"] == [NO_EXTRAS, "only message", "session ended"]


# --------------------------------------------------------------------------- errors raised into the test


def test_handler_error_before_accept_is_raised_at_connect(apps: Apps) -> None:
    ref = differential(apps, connect_only("/boom/before"))
    assert ref["client"] == [{"raised": "ValueError", "message": "boom before accept"}]


@pytest.mark.parametrize("then", ["receive", "exit"])
def test_handler_error_after_accept_is_raised_into_the_test(apps: Apps, then: str) -> None:
    """The exception out of the ``with`` block is compared; which one a ``receive`` in the block
    raises is not (Starlette's TestClient raises ``anyio.ClosedResourceError`` there, an artefact
    of its in-memory streams, and then the handler's exception from ``__exit__``)."""

    def scenario(client: Any, seen: list[Any]) -> None:
        with connect(client, "/boom/after") as ws:
            seen.append(handshake(ws))
            ws.send_text("go")
            if then == "receive":
                ws.receive()
                seen.append("receive returned")

    ref = differential(apps, scenario)
    assert ref["client"] == [NO_EXTRAS, {"raised": "LookupError", "message": "boom after accept"}]
    assert ref["handler"] == ["raising"]


@pytest.mark.parametrize("when", ["before", "after"])
def test_custom_exception_handler(apps: Apps, when: str) -> None:
    ref = differential(apps, exchange(f"/app-error/{when}", [("send_text", "go"), ("receive", None)]))
    if when == "before":
        assert ref["client"] == [
            {"raised": "WebSocketDisconnect", "code": 4321, "reason": "app error: before accept"}
            | {"is fw.WebSocketDisconnect": True}
        ]
        assert ref["handler"] == [["AppError handler", "before accept", ["CONNECTING", "CONNECTING"]]]
    else:
        assert ref["client"] == [NO_EXTRAS, close_message(4321, "app error: after accept"), "session ended"]
        assert ref["handler"] == [["AppError handler", "after accept", ["CONNECTED", "CONNECTED"]]]


@pytest.mark.parametrize("when", ["before", "after"])
def test_custom_websocket_exception_handler(apps: Apps, when: str) -> None:
    ref = differential(apps, exchange(f"/wsexc/{when}", [("send_text", "go"), ("receive", None)]), "handlers")
    if when == "before":
        assert ref["client"] == [
            {"raised": "WebSocketDisconnect", "code": 4101, "reason": "handled: before accept"}
            | {"is fw.WebSocketDisconnect": True}
        ]
    else:
        assert ref["client"] == [NO_EXTRAS, close_message(4201, "handled: after accept"), "session ended"]
    assert len(ref["handler"]) == 1 and ref["handler"][0][0] == "WebSocketException handler"


def test_custom_validation_error_handler(apps: Apps) -> None:
    ref = differential(apps, connect_only("/validated/x?q=y"), "handlers")
    assert ref["client"] == [
        {"raised": "WebSocketDisconnect", "code": 4422, "reason": "2 invalid", "is fw.WebSocketDisconnect": True}
    ]
    assert ref["handler"] == [["validation handler", [["path", "n"], ["query", "q"]], ["CONNECTING", "CONNECTING"]]]
    ref = differential(apps, exchange("/validated/1?q=2", [("receive_json", None)]), "handlers")
    assert ref["client"][1] == {"n": 1, "q": 2}


@pytest.mark.parametrize("when", ["before", "after"])
def test_exception_handler_for_exception_is_not_used(apps: Apps, when: str) -> None:
    """``exception_handler(Exception)`` is Starlette's server-level handler: HTTP only."""
    ref = differential(apps, exchange(f"/boom/{when}", [("send_text", "go")]), "handlers")
    assert ref["client"][-1] == {"raised": "KeyError", "message": f"'{when} accept'"}
    assert ref["handler"] == []


# --------------------------------------------------------------------------- no WebSocket route


@pytest.mark.parametrize(
    "url",
    ["/nowhere", "/only-http", "/only-post", "/x/", "/only-ws/extra"],
    ids=["no route", "GET route only", "POST route only", "trailing slash", "below a websocket route"],
)
def test_no_websocket_route(apps: Apps, url: str) -> None:
    ref = differential(apps, connect_only(url), "mixed")
    assert ref["client"] == [
        {"raised": "WebSocketDisconnect", "code": 1000, "reason": "", "is fw.WebSocketDisconnect": True}
    ]


@pytest.mark.parametrize("path", ["/x", "/y"], ids=["http first", "websocket first"])
def test_http_and_websocket_on_one_path(apps: Apps, path: str) -> None:
    ref = differential(apps, exchange(path, [("receive_json", None), ("receive", None)]), "mixed")
    assert ref["client"][1] == {"via": "websocket", "path": path}
    ref_client, sut_client = apps.clients("mixed", True)
    for method in ("GET", "POST"):
        theirs, ours = ref_client.request(method, path), sut_client.request(method, path)
        assert (ours.status_code, ours.json()) == (theirs.status_code, theirs.json()), method
        assert ours.headers.get("allow") == theirs.headers.get("allow"), method


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_http_request_to_a_websocket_only_path(apps: Apps, method: str) -> None:
    ref_client, sut_client = apps.clients("mixed", True)
    theirs, ours = ref_client.request(method, "/only-ws"), sut_client.request(method, "/only-ws")
    assert theirs.status_code == 404
    assert (ours.status_code, ours.content, ours.headers.get("content-type")) == (
        theirs.status_code,
        theirs.content,
        theirs.headers.get("content-type"),
    )


def test_http_middleware_does_not_run_for_websockets(apps: Apps) -> None:
    ref = differential(
        apps,
        exchange("/ws", [("receive_json", None), ("receive", None)], origin="https://elsewhere.example"),
        "middleware",
    )
    assert ref["client"][1] == {"via": "websocket", "origin": "https://elsewhere.example"}
    assert ref["handler"] == []
    ref_client, sut_client = apps.clients("middleware", True)
    theirs, ours = ref_client.get("/http"), sut_client.get("/http")
    assert ours.headers.get("x-middleware") == theirs.headers.get("x-middleware") == "ran"


# --------------------------------------------------------------------------- the handler's view


@pytest.mark.parametrize("closing", [(4002, "client bye"), None], ids=["close with code and reason", "exit"])
def test_messages_seen_by_the_handler(apps: Apps, closing: tuple[int, str] | None) -> None:
    steps: list[tuple[str, Any]] = [
        ("send_text", "hi"),
        ("receive_json", None),
        ("send_bytes", b"\x01\x02"),
        ("receive_json", None),
        ("send_text", ""),
        ("receive_json", None),
    ]
    if closing:
        steps.append(("close", closing))
    ref = differential(apps, exchange("/messages", steps))
    assert ref["client"][1:4] == [
        {"type": "websocket.receive", "text": "hi"},
        {"type": "websocket.receive", "bytes": "0102"},
        {"type": "websocket.receive", "text": ""},
    ]
    code, reason = closing or (1000, "")
    assert ref["handler"][:2] == [
        ["first", {"type": "websocket.connect"}, ["CONNECTED", "CONNECTING"]],
        ["last", {"type": "websocket.disconnect", "code": code, "reason": reason}, ["DISCONNECTED", "CONNECTED"]],
    ]
    assert ref["handler"][2][0] == "receive after disconnect"


@pytest.mark.parametrize("who", ["server", "client"])
def test_state_transitions(apps: Apps, who: str) -> None:
    if who == "server":
        steps: list[tuple[str, Any]] = [("receive_json", None), ("receive", None)]
    else:
        steps = [("close", (4011, "from the client"))]
    ref = differential(apps, exchange(f"/states/{who}", steps))
    common = [
        ["initial", ["CONNECTING", "CONNECTING"]],
        ["after the connect message", ["CONNECTED", "CONNECTING"]],
        ["after accept", ["CONNECTED", "CONNECTED"]],
    ]
    if who == "server":
        assert ref["client"][1:] == [["CONNECTED", "CONNECTED"], close_message(4010), "session ended"]
        assert ref["handler"] == [*common, ["after close", ["CONNECTED", "DISCONNECTED"]]]
    else:
        assert ref["handler"] == [*common, ["client closed", 4011, "from the client", ["DISCONNECTED", "CONNECTED"]]]


def test_misuse_errors(apps: Apps) -> None:
    ref = differential(apps, exchange("/errors", [("receive_json", None), ("receive", None)]))
    not_connected = {"message": 'WebSocket is not connected. Need to call "accept" first.', "is RuntimeError": True}
    bad_mode = {"message": 'The "mode" argument should be "text" or "binary".', "is RuntimeError": True}
    expect_accept = {
        "message": 'Expected ASGI message "websocket.accept", "websocket.close" or '
        "\"websocket.http.response.start\", but got 'websocket.send'",
        "is RuntimeError": True,
    }
    assert ref["client"][1] == {
        "receive_text before accept": not_connected,
        "receive_bytes before accept": not_connected,
        "receive_json before accept": not_connected,
        "send_text before accept": expect_accept,
        "send_bytes before accept": expect_accept,
        "states before accept": ["CONNECTING", "CONNECTING"],
        "send_json bad mode": bad_mode,
        "receive_json bad mode": bad_mode,
        "accept twice": {
            "message": 'Expected ASGI message "websocket.send" or "websocket.close", but got \'websocket.accept\'',
            "is RuntimeError": True,
        },
    }
    assert ref["client"][2] == close_message(4000, "errors done")


WRONG_KIND_STEPS: list[tuple[str, Any]] = [
    ("send_text", "text"),
    ("send_bytes", b"\x00bytes"),
    ("send_text", "{not json"),
    ("send_bytes", b"[1]"),
    ("receive_json", None),
    ("receive", None),
]


def test_wrong_message_kind(apps: Apps) -> None:
    ref = differential(apps, exchange("/wrong-kind", WRONG_KIND_STEPS))
    seen = ref["client"][1]
    assert seen["receive_bytes of a text message"] == {"message": "'bytes'", "is RuntimeError": False}
    assert seen["receive_text of a bytes message"] == {"message": "'text'", "is RuntimeError": False}
    assert seen["receive_json of invalid JSON"]["message"].startswith("Expecting property name")
    assert ref["client"][2] == close_message()


def classes_only(value: Any) -> Any:
    """The ``class`` entries of ``error`` found in ``value``, with where they were found."""
    found: list[Any] = []

    def walk(v: Any, where: str) -> None:
        if isinstance(v, dict):
            if "class" in v:
                found.append([where, v["class"]])
            for k, item in v.items():
                walk(item, f"{where}/{k}")
        elif isinstance(v, list | tuple):
            for i, item in enumerate(v):
                walk(item, f"{where}/{i}")

    walk(value, "")
    return found


@pytest.mark.parametrize(
    ("url", "steps"),
    [
        ("/errors", [("receive_json", None), ("receive", None)]),
        ("/close/after", [("receive", None), ("receive", None)]),
        ("/messages", [("close", (1000, "bye"))]),
        ("/wrong-kind", WRONG_KIND_STEPS),
    ],
    ids=["before accept", "after close", "receive after disconnect", "wrong message kind"],
)
def test_misuse_error_classes(apps: Apps, url: str, steps: list[tuple[str, Any]]) -> None:
    """The exact class of each misuse error (Starlette raises ``WebSocketDisconnected``, a
    RuntimeError, once the connection is closed; a plain RuntimeError for a wrong message)."""
    ref = differential(apps, exchange(url, steps), normalize=classes_only)
    assert ref, "FastAPI's side met no error"


# --------------------------------------------------------------------------- more


def test_dependency_override(apps: Apps) -> None:
    def scenario(client: Any, seen: list[Any]) -> None:
        exchange("/override", [("receive_json", None)])(client, seen)

    both = [apps.ref["main"], apps.sut["main"]] if "main" in apps.sut else []
    for built in both:
        built.app.dependency_overrides[built.registry["plain_dep"]] = built.registry["override_dep"]
    try:
        ref = differential(apps, scenario)
    finally:
        for built in both:
            built.app.dependency_overrides.clear()
    assert ref["client"][1] == {"value": "overridden", "connection": "WebSocket /override"}
    assert ref["handler"] == ["override_dep"]
    ref = differential(apps, scenario)
    assert ref["client"][1]["value"] == "real"


def test_two_sessions_at_once(apps: Apps) -> None:
    def scenario(client: Any, seen: list[Any]) -> None:
        with connect(client, "/echo/text") as a, connect(client, "/echo/bytes") as b:
            for i in range(5):
                b.send_bytes(bytes([i]))
                a.send_text(f"a{i}")
            seen.append([b.receive_bytes().hex() for _ in range(5)])
            seen.append([a.receive_text() for _ in range(5)])

    ref = differential(apps, scenario)
    assert ref["client"] == [[f"0{i}" for i in range(5)], [f"a{i}" for i in range(5)]]
    assert sorted(entry[0] for entry in ref["handler"]) == ["iter_bytes ended", "iter_text ended"]


def test_server_messages_left_unread(apps: Apps) -> None:
    """The client leaves while the server's messages and close wait unread: nothing raised."""
    ref = differential(apps, connect_only("/burst/60"))
    assert ref["client"] == [NO_EXTRAS, "session ended"]


def test_server_messages_sent_after_the_client_left(apps: Apps) -> None:
    """Every send after the client's close: Starlette's TestClient queues them unread, and nothing is
    raised (a real server refuses them: the handler's WebSocketDisconnect(1006) stays its own)."""
    ref = differential(apps, connect_only("/late-burst/5"))
    assert ref["client"] == [NO_EXTRAS, "session ended"]


def test_websocket_in_a_mounted_app(apps: Apps) -> None:
    ref = differential(
        apps,
        exchange(
            "/legacy/ws/mine?x=1",
            [("receive_json", None), ("send_text", "hi"), ("receive", None), ("receive", None)],
            subprotocols=["legacy"],
        ),
        "mounted",
    )
    assert ref["client"] == [
        {"subprotocol": "legacy", "extra_headers": []},
        {"name": "mine", "path": "/legacy/ws/mine", "root_path": "/legacy"},
        text("legacy echo: hi"),
        close_message(4500, "legacy done"),
        "session ended",
    ]


def test_own_websocket_route_next_to_a_mount(apps: Apps) -> None:
    ref = differential(apps, exchange("/own", [("receive", None), ("receive", None)]), "mounted")
    assert ref["client"] == [NO_EXTRAS, text("own"), close_message(), "session ended"]


# --------------------------------------------------------------------------- the WebSocket names


def test_websocket_names() -> None:
    for ns in (REF_NS, SUT_NS):
        assert [state.name for state in ns.WebSocketState] == ["CONNECTING", "CONNECTED", "DISCONNECTED", "RESPONSE"]
        disconnect = ns.WebSocketDisconnect()
        assert (disconnect.code, disconnect.reason) == (1000, "")
        exc = ns.WebSocketException(code=4000)
        assert (exc.code, exc.reason) == (4000, "")
        assert issubclass(ns.WebSocketDisconnect, Exception)
