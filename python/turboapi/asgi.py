"""Mounting an ASGI 3 application (a Starlette or FastAPI app, for a gradual migration):
``app.mount("/legacy", asgi_app)`` serves it from turboapi's server, WebSockets included.

A request under the prefix becomes an ASGI ``http`` scope as Starlette's ``Mount`` makes it
(``root_path`` = the app's root path + the prefix, ``path`` and ``raw_path`` whole); the request
body is handed to the app in one ``http.request`` message; what the app sends back is streamed to
the client as it comes (``http.response.body`` messages become the chunks of a streaming
response). ``receive()`` reports ``http.disconnect`` once the response is over.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from .responses import StreamingResponse

_END: Any = object()


class ASGIMount:
    def __init__(self, app: Any, prefix: str) -> None:
        self.app = app
        self.prefix = prefix

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
            "state": {},
        }

    async def websocket(self, request: Any) -> None:
        """A WebSocket handshake under the prefix: the app gets a ``websocket`` scope, and its
        receive/send are the connection's (the core answers the handshake as the app decides)."""
        from .websockets import WebSocket

        websocket = WebSocket(request._data, app=request.app)
        scope = self.scope(request)
        del scope["method"]
        scope.update(type="websocket", subprotocols=websocket.scope["subprotocols"])
        await self.app(scope, websocket.receive, websocket.send)

    async def __call__(self, request: Any) -> Any:
        if request._data.websocket is not None:
            return await self.websocket(request)
        loop = asyncio.get_running_loop()
        body = await request.body()
        chunks: asyncio.Queue[Any] = asyncio.Queue()
        started: asyncio.Future[tuple[int, list[tuple[bytes, bytes]]]] = loop.create_future()
        finished = asyncio.Event()
        request_sent = False
        failure: list[BaseException] = []

        async def receive() -> dict[str, Any]:
            nonlocal request_sent
            if not request_sent:
                request_sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            await finished.wait()  # a streaming app listens for the disconnect meanwhile
            return {"type": "http.disconnect"}

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
                await self.app(self.scope(request), receive, send)
            except Exception as exc:
                if not started.done():
                    raise  # before the response: the route's error (a 500 through the handlers)
                failure.append(exc)  # after it started: raised at the stream's end, as to a server
            finally:
                await chunks.put(_END)

        task = loop.create_task(run())
        await asyncio.wait({task, started}, return_when=asyncio.FIRST_COMPLETED)
        if not started.done():
            task.result()  # the app raised before it answered: its error, as a route's
            raise RuntimeError("the mounted ASGI application ended without sending a response")
        status, headers = started.result()

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
