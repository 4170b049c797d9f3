"""A turboapi app as an ASGI 3 application: ``uvicorn main:app`` serves it and Starlette's
``TestClient`` drives it, for a deployment that needs an ASGI server or a test suite built on
Starlette's client.

Requests still go through the core, in-process: routing, extraction, validation, serialisation,
the handlers on the core's threads and loop shards (not on the ASGI server's loop). The ASGI server
only moves bytes; calls into the core block, so they run on a pool of threads (``THREADS``, which
also bounds the WebSockets open at once). turboapi's own server is the fast path; this one is for
compatibility.
"""

from __future__ import annotations

import asyncio
import functools
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from .contract import Received

#: Core calls in flight at once (requests being answered, WebSockets waiting for a message).
THREADS = 64
#: Seconds a WebSocket's wait for its next message lasts before it is renewed.
_POLL = 1.0


class ASGIAdapter:
    def __init__(self, app: Any) -> None:
        self.app = app
        self._runtime: Any = None
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=THREADS, thread_name_prefix="turboapi-asgi")

    def _engine(self) -> Any:
        with self._lock:
            if self._runtime is None:
                from .serving import Runtime, Settings

                self._runtime = Runtime(self.app, Settings.resolve({}, env=os.environ))
                self._runtime.start()
            return self._runtime.engine

    async def _call(self, fn: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._pool, functools.partial(fn, *args))

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "websocket":
            await self._websocket(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)
        else:
            raise RuntimeError(f"turboapi does not serve ASGI scopes of type {kind!r}")

    # -- lifespan ---------------------------------------------------------------------------------
    async def _lifespan(self, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self._call(self._engine)
                    await self._call(self._runtime.startup)
                except Exception as exc:
                    await send({"type": "lifespan.startup.failed", "message": repr(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                runtime, self._runtime = self._runtime, None
                try:
                    if runtime is not None:
                        await self._call(runtime.shutdown)
                        await self._call(runtime.stop)
                except Exception as exc:
                    await send({"type": "lifespan.shutdown.failed", "message": repr(exc)})
                    return
                await send({"type": "lifespan.shutdown.complete"})
                return

    # -- HTTP -------------------------------------------------------------------------------------
    @staticmethod
    def _target(scope: dict[str, Any]) -> str:
        path: bytes = scope.get("raw_path") or scope["path"].encode("utf-8")
        query: bytes = scope.get("query_string") or b""
        return (path + (b"?" + query if query else b"")).decode("latin-1")

    async def _http(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        chunks = []
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        engine = await self._call(self._engine)
        client = scope.get("client")
        status, headers, body, error = await self._call(
            engine.handle,
            scope["method"],
            self._target(scope),
            list(scope["headers"]),
            b"".join(chunks),
            tuple(client) if client else None,
            scope.get("scheme", "http"),
            True,
        )
        raw_headers = [(name.encode("latin-1"), value) for name, value in headers]
        await send({"type": "http.response.start", "status": status, "headers": raw_headers})
        if isinstance(body, bytes):
            await send({"type": "http.response.body", "body": body})
        else:
            try:
                while (chunk := await self._call(body.read)) is not None:
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
                await send({"type": "http.response.body", "body": b""})
            finally:
                body.close()  # a client that left stops the stream's generator
        if error is not None:
            raise error  # after the 500 went out, as Starlette's ServerErrorMiddleware

    # -- WebSockets -------------------------------------------------------------------------------
    async def _websocket(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        await receive()  # websocket.connect
        engine = await self._call(self._engine)
        client = scope.get("client")
        scheme = "https" if scope.get("scheme") == "wss" else "http"
        outcome = await self._call(
            engine.connect_websocket,
            self._target(scope),
            list(scope["headers"]),
            tuple(client) if client else None,
            scheme,
        )
        if outcome[0] == "deny":
            reason = outcome[2]
            await send(
                {"type": "websocket.close", "code": outcome[1], "reason": reason if isinstance(reason, str) else ""}
            )
            return
        if outcome[0] == "refuse":
            _, status, _body, error = outcome
            if error is not None:
                raise error
            await send({"type": "websocket.close", "code": 1000 if status == 403 else 1011, "reason": ""})
            return
        _, connection, subprotocol, headers = outcome
        raw_headers = [(name.encode("latin-1"), value) for name, value in headers]
        await send({"type": "websocket.accept", "subprotocol": subprotocol, "headers": raw_headers})

        async def to_client() -> None:
            while True:
                try:
                    kind, value = await self._call(connection.receive, _POLL)
                except TimeoutError:
                    continue
                if kind == Received.DISCONNECT:
                    code, reason = value
                    await send({"type": "websocket.close", "code": code, "reason": reason})
                    return
                await send({"type": "websocket.send", "text" if kind == Received.TEXT else "bytes": value})

        async def from_client() -> None:
            while True:
                message = await receive()
                if message["type"] == "websocket.disconnect":
                    await self._call(connection.close, message.get("code", 1000), message.get("reason") or "")
                    return
                data = message.get("text")
                await self._call(connection.send, data if data is not None else message.get("bytes", b""))

        outgoing = asyncio.ensure_future(to_client())
        incoming = asyncio.ensure_future(from_client())
        try:
            await asyncio.wait({outgoing, incoming}, return_when=asyncio.FIRST_COMPLETED)
            if outgoing.done():
                incoming.cancel()
                outgoing.result()
            else:
                # The client left: the handler sees the disconnect; the closing handshake with
                # the core ends `to_client`, whose send to the departed client may fail.
                incoming.result()
                await asyncio.wait({outgoing}, timeout=10)
        finally:
            outgoing.cancel()
            incoming.cancel()
            # Cancelled by the server (or its client left mid-call): the handler must still hear
            # a disconnect. A second close of a closed connection is a no-op error, ignored.
            self._pool.submit(_close_quietly, connection)
        _ended, error = await self._call(connection.wait_finished, 1.0)
        if error is not None:
            raise error


def _close_quietly(connection: Any) -> None:
    try:
        connection.close(1001, "")
    except Exception:
        pass
