"""``WebSocket``: Starlette's WebSocket (as FastAPI's is), over the core's connection
(``_core.WebSocketChannel``) when the core made it.

The core owns the socket: it answers the handshake, reads and writes frames, answers pings and
enforces the size limit. ``receive`` and ``send`` speak ASGI's messages over the core's channel,
so Starlette's own methods (accept, receive_json, iter_text...) work on top of them, and code
written against ``starlette.websockets.WebSocket`` behaves the same. Made from a scope
(``WebSocket(scope, receive, send)``), it is Starlette's WebSocket unchanged.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import starlette.websockets
from starlette.websockets import WebSocketClose as WebSocketClose
from starlette.websockets import WebSocketDisconnect as WebSocketDisconnect
from starlette.websockets import WebSocketDisconnected as WebSocketDisconnected
from starlette.websockets import WebSocketState as WebSocketState

from .contract import Received, SendOutcome
from .requests import CoreConnection

if TYPE_CHECKING:
    from ._core import WebSocketChannel

__all__ = ["WebSocket", "WebSocketClose", "WebSocketDisconnect", "WebSocketDisconnected", "WebSocketState"]


#: Close codes an endpoint may send (RFC 6455 §7.4): 1005, 1006 and 1015 are reserved for
#: reports, 1004 and 1016-2999 unassigned.
def _sendable_close_code(code: Any) -> bool:
    return isinstance(code, int) and (code in (1000, 1001, 1002, 1003) or 1007 <= code <= 1014 or 3000 <= code <= 4999)


# What the channel's `send_*` and `receive` answer, as plain ints (contract.SendOutcome, .Received).
_FULL, _GONE = int(SendOutcome.FULL), int(SendOutcome.GONE)
_TEXT, _BYTES = int(Received.TEXT), int(Received.BYTES)


class WebSocket(CoreConnection, starlette.websockets.WebSocket):
    """Starlette's WebSocket. ``WebSocket(scope, receive, send)`` as in Starlette; the core makes
    one from the handshake's RequestData with ``WebSocket(data, app=app)``."""

    def __init__(self, scope: Any, receive: Any = None, send: Any = None, *, app: Any = None) -> None:
        if isinstance(scope, Mapping):
            super().__init__(scope, receive, send)  # type: ignore[arg-type]
            return
        self._init_core(scope, app)
        # Never None past the check below (None: the RequestData is not a handshake's).
        self._channel: WebSocketChannel = scope.websocket
        if self._channel is None:
            raise RuntimeError("a WebSocket is made only for a WebSocket handshake")
        self.client_state = WebSocketState.CONNECTING
        self.application_state = WebSocketState.CONNECTING
        #: The loop shard the connection's handler runs on: the core resolves its futures there.
        self._loop = asyncio.get_running_loop()

    # -- the ASGI-shaped layer -------------------------------------------------------------------
    async def receive(self) -> dict[str, Any]:
        """The next message: ``websocket.connect`` first, then ``websocket.receive`` messages,
        then one ``websocket.disconnect``."""
        if self._data is None:
            return await super().receive()  # type: ignore[return-value]
        if self.client_state == WebSocketState.CONNECTING:
            self.client_state = WebSocketState.CONNECTED
            return {"type": "websocket.connect"}
        if self.client_state == WebSocketState.DISCONNECTED:
            raise WebSocketDisconnected('Cannot call "receive" once a disconnect message has been received.')
        kind, value = await self._next()
        if kind == _TEXT:
            return {"type": "websocket.receive", "text": value}
        if kind == _BYTES:
            return {"type": "websocket.receive", "bytes": value}
        self.client_state = WebSocketState.DISCONNECTED
        code, reason = value
        return {"type": "websocket.disconnect", "code": code, "reason": reason}

    async def send(self, message: dict[str, Any]) -> None:  # type: ignore[override]
        if self._data is None:
            return await super().send(message)
        kind = message["type"]
        if self.application_state == WebSocketState.CONNECTING:
            if kind == "websocket.accept":
                self.application_state = WebSocketState.CONNECTED
                headers = [(bytes(k), bytes(v)) for k, v in message.get("headers") or []]
                self._channel.accept(message.get("subprotocol"), headers)
            elif kind == "websocket.close":
                code = message.get("code", 1000)
                if not isinstance(code, int) or not 0 <= code <= 65535:
                    raise ValueError(f"a WebSocket close code is a number from 0 to 65535, not {code!r}")
                self.application_state = WebSocketState.DISCONNECTED
                self._channel.deny(code, message.get("reason") or "")
            elif kind == "websocket.http.response.start":
                raise RuntimeError("turboapi does not support WebSocket denial responses yet")
            else:
                raise RuntimeError(
                    f'Expected ASGI message "websocket.accept", "websocket.close" or '
                    f'"websocket.http.response.start", but got {kind!r}'
                )
            return
        if self.application_state != WebSocketState.CONNECTED:
            raise WebSocketDisconnected('Cannot call "send" once a close message has been sent.')
        channel = self._channel
        if kind == "websocket.send":
            text, data = message.get("text"), message.get("bytes")
            if text is not None:
                if not isinstance(text, str):
                    raise TypeError(f"a WebSocket text message must be str, not {type(text).__name__}")
                answer = channel.send_text(text)
            elif data is not None:
                if not isinstance(data, bytes):
                    data = bytes(data)
                answer = channel.send_bytes(data)
            else:
                raise RuntimeError('a "websocket.send" message needs "text" or "bytes"')
        elif kind == "websocket.close":
            code = message.get("code", 1000)
            if not _sendable_close_code(code):
                raise ValueError(f"{code!r} is not a close code an endpoint may send (1000-1003, 1007-1014, 3000-4999)")
            reason = message.get("reason") or ""
            reason = reason if isinstance(reason, str) else str(reason)
            if len(reason.encode()) > 123:
                raise ValueError("a WebSocket close reason is at most 123 bytes of UTF-8")
            self.application_state = WebSocketState.DISCONNECTED
            answer = channel.close(code, reason)
        else:
            raise RuntimeError(f'Expected ASGI message "websocket.send" or "websocket.close", but got {kind!r}')
        if answer == _GONE and kind == "websocket.close":
            return  # closing what is already closed
        await self._sent(answer)

    async def _next(self) -> tuple[int, Any]:
        """The next message from the core: (0, str), (1, bytes) or (2, (code, reason))."""
        channel = self._channel
        while (got := channel.receive()) is None:
            await self._wait(channel.wait_receive)
        return got

    async def _sent(self, answer: int) -> None:
        """What the core said of a queued message: the connection is gone (a disconnect, as
        Starlette reports a send to a departed client), or the queue is full (wait until the
        client has read: backpressure)."""
        if answer == _GONE:
            self.application_state = WebSocketState.DISCONNECTED
            raise WebSocketDisconnect(code=1006)
        if answer == _FULL:
            await self._wait(self._channel.wait_writable)

    async def _wait(self, register: Any) -> None:
        """Wait for the core to resolve a future given to ``register`` (which says False when
        there is no need)."""
        loop = asyncio.get_running_loop()
        if loop is self._loop:
            waiter = loop.create_future()
            if register(waiter):
                await waiter
            return
        # A task on another shard (a chat broadcast): the core resolves the future on this
        # connection's loop, so the wait happens there.
        await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(self._wait(register), self._loop))

    # -- Starlette's conveniences, without the message dicts in the common cases ---------------
    async def receive_text(self) -> str:
        if self._data is None:
            return await super().receive_text()
        if self.application_state != WebSocketState.CONNECTED:
            raise WebSocketDisconnected('WebSocket is not connected. Need to call "accept" first.')
        if self.client_state == WebSocketState.CONNECTED:
            # The common case without the message dict: a text message is waiting, or comes.
            kind, value = await self._next()
            if kind == _TEXT:
                return value  # type: ignore[no-any-return]
            if kind == _BYTES:
                raise KeyError("text")  # as Starlette's message["text"] on a bytes message
            # A disconnect stays queued: receive() reports it and the state moves on.
        message = await self.receive()
        self._raise_on_disconnect(message)
        return message["text"]  # type: ignore[no-any-return]

    async def send_text(self, data: str) -> None:
        if self._data is not None and self.application_state == WebSocketState.CONNECTED and type(data) is str:
            await self._sent(self._channel.send_text(data))  # the common case, without the message dict
            return
        await self.send({"type": "websocket.send", "text": data})

    async def send_denial_response(self, response: Any) -> None:
        if self._data is None:
            return await super().send_denial_response(response)
        raise RuntimeError("turboapi does not support WebSocket denial responses yet")
