"""Mounting an ASGI 3 application (a Starlette or FastAPI app, for a gradual migration):
``app.mount("/legacy", asgi_app)`` serves it from turboapi's server, WebSockets included.

A request under the prefix becomes an ASGI ``http`` scope as Starlette's ``Mount`` makes it
(``root_path`` = the app's root path + the prefix, ``path`` and ``raw_path`` whole); on a socket the
request body reaches the app as it arrives, one ``http.request`` message per chunk (the TestClient
hands it over in one); what the app sends back is streamed to
the client as it comes (``http.response.body`` messages become the chunks of a streaming
response). ``receive()`` reports ``http.disconnect`` once the response is over. The app's lifespan
runs with turboapi's (startup after, shutdown before; once per loop shard).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from .responses import Response, StreamingResponse
from .websockets import WebSocket

logger = logging.getLogger("turboapi.error")

_END: Any = object()
#: Seconds a mounted app's lifespan has to finish its shutdown before the server goes on.
SHUTDOWN_WAIT = 10.0


#: Marks the scopes the core's bridges make: a turboapi app called with one runs Starlette's
#: machinery (it is being served), not a server of its own.
SERVED_BY_CORE = "turboapi.core"


class ASGIBridge:
    """A core-backed request handed to an ASGI application (``target(scope, receive, send)``): the
    body as ``http.request`` messages, what the app sends as a streaming response."""

    def scope(self, request: Any) -> dict[str, Any]:
        raise NotImplementedError

    async def call(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        raise NotImplementedError

    async def websocket(self, request: Any) -> None:
        """A WebSocket handshake: the app gets a ``websocket`` scope, and its receive/send are the
        connection's (the core answers the handshake as the app decides)."""
        websocket = WebSocket(request._data, app=request.app)
        scope = self.scope(request)
        scope.pop("method", None)
        scope.update(type="websocket", subprotocols=websocket.scope["subprotocols"])
        await self.call(scope, websocket.receive, websocket.send)

    async def __call__(self, request: Any) -> Any:
        if request._data.websocket is not None:
            return await self.websocket(request)
        return await answer(request, self.scope(request), self.call)


class ASGIRouteBridge(ASGIBridge):
    """A Starlette route served by the core through its own ``handle`` (Starlette's ``Route`` and
    ``WebSocketRoute``, an ``APIRoute`` whose class handles requests its own way)."""

    def __init__(self, route: Any) -> None:
        self.route = route

    def scope(self, request: Any) -> dict[str, Any]:
        scope = dict(request.scope)
        scope["headers"] = list(scope["headers"])
        scope[SERVED_BY_CORE] = True
        scope["route"] = self.route
        return scope

    async def call(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        from starlette.routing import Match

        match, child = self.route.matches(scope)
        if match is Match.NONE:  # the core matched it: only a convertor Starlette's way refuses
            from .exceptions import STARLETTE_HTTP_EXCEPTION

            raise STARLETTE_HTTP_EXCEPTION(status_code=404)
        scope.update(child)
        await self.route.handle(scope, receive, send)


class ASGIAppBridge(ASGIBridge):
    """A turboapi app served the ASGI way as a whole (see ``routetable.asgi_reasons``): each request
    goes to its ``__call__``, which runs Starlette's middleware stack and router."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def scope(self, request: Any) -> dict[str, Any]:
        scope = dict(request.scope)
        scope["headers"] = list(scope["headers"])
        scope["path_params"] = {}  # the core's catch-all matched; Starlette's router sets its own
        for key in ("router", "route", "endpoint"):
            scope.pop(key, None)
        scope[SERVED_BY_CORE] = True
        return scope

    async def call(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)


class ASGIMount(ASGIBridge):
    def __init__(self, app: Any, prefix: str) -> None:
        self.app = app
        self.prefix = prefix
        #: Per loop shard: the app's lifespan (see `startup`), and the state it filled.
        self._lifespans: dict[int, _Lifespan] = {}

    async def call(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)

    # -- lifespan -------------------------------------------------------------------------------
    async def startup(self, shard: int) -> None:
        """Run the app's ASGI lifespan on this shard's loop, as a server runs it for its app; each
        shard gets its own (its loop-bound objects and ``scope["state"]``), as turboapi's own
        lifespan. An app that does not speak the lifespan protocol is served without it (uvicorn's
        ``--lifespan auto``)."""
        lifespan = _Lifespan(self.app)
        if await lifespan.start(self.prefix):
            self._lifespans[shard] = lifespan

    async def shutdown(self, shard: int) -> None:
        lifespan = self._lifespans.pop(shard, None)
        if lifespan is not None:
            await lifespan.stop(self.prefix)

    def state(self, shard: int) -> dict[str, Any]:
        """A request's ``scope["state"]``: a shallow copy of what the lifespan put there."""
        lifespan = self._lifespans.get(shard)
        return dict(lifespan.state) if lifespan is not None else {}

    def scope(self, request: Any) -> dict[str, Any]:
        outer = request.scope
        return {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": request.method,
            "scheme": outer["scheme"],
            "path": outer["path"],
            "raw_path": outer["raw_path"],
            "root_path": outer["root_path"] + self.prefix,
            "query_string": outer["query_string"],
            "headers": [(name.lower(), value) for name, value in outer["headers"]],
            "client": outer["client"],
            "server": outer["server"],
            "state": self.state(request._data.shard),
            SERVED_BY_CORE: True,
        }


async def answer(request: Any, scope: dict[str, Any], call: Any, given_receive: Any = None) -> Any:
    """Run ``call(scope, receive, send)`` for a core-backed request: the body (read whole, or as it
    arrives when the core streams it) as ``http.request`` messages, unless ``given_receive`` is the
    receive to use; the response as a Response when it came whole with its head, else as a
    StreamingResponse, returned once ``http.response.start`` has come."""
    loop = asyncio.get_running_loop()
    body_stream = request._data.body_stream
    body = b"" if body_stream is not None or given_receive is not None else await request.body()
    chunks: asyncio.Queue[Any] = asyncio.Queue()
    started: asyncio.Future[tuple[int, list[tuple[bytes, bytes]]]] = loop.create_future()
    finished = asyncio.Event()
    request_sent = False
    failure: list[BaseException] = []

    async def body_receive() -> dict[str, Any]:
        nonlocal request_sent
        if not request_sent:
            if body_stream is None:
                request_sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            # The body as it arrives: one message per chunk.
            while (got := body_stream.read()) is None:
                waiter = loop.create_future()
                if body_stream.wait_readable(waiter):
                    await waiter
            kind, data = got
            if kind == 0:
                return {"type": "http.request", "body": data, "more_body": True}
            request_sent = True
            if kind == 1:
                return {"type": "http.request", "body": b"", "more_body": False}
            return {"type": "http.disconnect"}  # the client broke off, or the body is too large
        await finished.wait()  # a streaming app listens for the disconnect meanwhile
        return {"type": "http.disconnect"}

    # The caller's own receive (an ASGI middleware layer recognises it further in), else the body.
    receive = given_receive if given_receive is not None else body_receive

    async def send(message: dict[str, Any]) -> None:
        kind = message["type"]
        if kind == "http.response.start" and not started.done():
            headers = [(bytes(k).lower(), bytes(v)) for k, v in message.get("headers", [])]
            started.set_result((message["status"], headers))
        elif kind == "http.response.body":
            if message.get("body"):
                await chunks.put(bytes(message["body"]))
            if not message.get("more_body", False):
                finished.set()  # the response is complete: receive() may say disconnect
                await chunks.put(_END)

    async def run() -> None:
        try:
            await call(scope, receive, send)
        except Exception as exc:
            if not started.done():
                raise  # before the response: the route's error (a 500 through the handlers)
            # After it started: reported now, as a server reports it (the client may have its whole
            # answer and be gone before the stream's end), and raised at the stream's end for the
            # TestClient; `streaming` does not report it twice.
            logger.error("Exception in ASGI application", exc_info=exc)
            exc._turboapi_reported = True  # type: ignore[attr-defined]
            failure.append(exc)
        finally:
            await chunks.put(_END)

    task = loop.create_task(run())

    def ended(_: Any) -> None:
        if not started.done():
            started.set_result(None)  # type: ignore[arg-type]

    task.add_done_callback(ended)
    head = await started
    if head is None:
        task.result()  # the app raised before it answered: its error, as a route's
        raise RuntimeError("the ASGI application ended without sending a response")
    status, headers = head
    if finished.is_set() and task.done() and not failure:
        # The whole body came with the head (a plain Response): sent as one, its length known.
        body_parts = []
        while (chunk := chunks.get_nowait()) is not _END:
            body_parts.append(chunk)
        whole = Response(b"".join(body_parts), status_code=status)
        whole.raw_headers = headers
        return whole

    def on_app_loop(coroutine: Any) -> Any:
        # The pump may run on another shard's loop: the queue and the task live on this one.
        return asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coroutine, loop))

    async def body_chunks() -> AsyncIterator[bytes]:
        try:
            while (chunk := await on_app_loop(chunks.get())) is not _END:
                yield chunk
            await on_app_loop(asyncio.wait({task}))
            if failure:
                raise failure[0]
        finally:
            loop.call_soon_threadsafe(finished.set)

    response = StreamingResponse(body_chunks(), status_code=status)
    response.raw_headers = headers
    return response


class _Lifespan:
    """One run of an app's ASGI lifespan: startup, then (later) shutdown."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.state: dict[str, Any] = {}
        self._to_app: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._from_app: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    async def _exchange(self, message: str, timeout: float | None = None) -> dict[str, Any] | None:
        """Send ``message``; the app's answer, or None if the app returned or raised instead (or
        did not answer within ``timeout``)."""
        assert self._task is not None
        await self._to_app.put({"type": message})
        answer = asyncio.ensure_future(self._from_app.get())
        await asyncio.wait({answer, self._task}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        if answer.done():
            return answer.result()
        answer.cancel()
        return None

    async def start(self, prefix: str) -> bool:
        scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}, "state": self.state}
        self._task = asyncio.get_running_loop().create_task(self.app(scope, self._to_app.get, self._from_app.put))
        answer = await self._exchange("lifespan.startup")
        if answer is None:
            # The app does not do lifespan (it raised on the scope, or returned): serve it without.
            if not self._task.cancelled() and self._task.exception() is not None:
                logger.debug("the app mounted at %s does not support the ASGI lifespan", prefix or "/")
            return False
        if answer["type"] == "lifespan.startup.failed":
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._task, 10)  # Starlette re-raises after reporting
            raise RuntimeError(f"the app mounted at {prefix or '/'} failed to start: {answer.get('message', '')}")
        return True

    async def stop(self, prefix: str) -> None:
        # Bounded: an app that never answers must not keep the server from exiting.
        answer = await self._exchange("lifespan.shutdown", timeout=SHUTDOWN_WAIT)
        where = prefix or "/"
        if answer is None and self._task is not None and not self._task.done():
            logger.error("the app mounted at %s did not finish its shutdown in %.0f s", where, SHUTDOWN_WAIT)
        elif answer is not None and answer["type"] == "lifespan.shutdown.failed":
            logger.error("the app mounted at %s failed to shut down: %s", where, answer.get("message", ""))
        if self._task is not None:
            with contextlib.suppress(asyncio.TimeoutError, Exception):
                await asyncio.wait_for(self._task, 1 if answer is None else SHUTDOWN_WAIT)
