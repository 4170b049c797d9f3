"""``TestClient``: Starlette's httpx-based sync client, with a transport that feeds each request
into the real Rust pipeline (routing, extraction, validation, serialisation) without a socket."""

from __future__ import annotations

import atexit
import contextvars
import json
import os
import threading
import weakref
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import httpx

from . import _eager, background
from .contract import Received
from .serving import Runtime, Settings
from .websockets import WebSocketDisconnect

#: Every runtime a client started, alive while its threads run: they must end before the interpreter
#: finalises (3.13 aborts on a daemon thread caught there in the core), even when the client that
#: started them is gone already (``TestClient(app).get("/")`` drops its client at once).
_started: weakref.WeakSet[Runtime] = weakref.WeakSet()

#: Clients serving requests without ``with`` (no lifespan), least recently used first. Each one's
#: runtime holds the core's threads; past this many, the least recently used idle one is stopped and
#: starts again on its next request. A test suite with a module-level client per file (FastAPI's has
#: hundreds) would otherwise run out of threads. Starlette's TestClient starts an event loop per
#: request in this mode, so nothing loop-bound was kept across requests there either.
UNENTERED_RUNTIMES = 8
_unentered: OrderedDict[int, weakref.ref[TestClient]] = OrderedDict()
_unentered_lock = threading.Lock()


def _in_use(client: TestClient) -> Runtime:
    """The client's runtime for a request or a WebSocket session (``client._busy`` counts it)."""
    with _unentered_lock:
        runtime = client._ensure_runtime()
        client._busy += 1
        if client._lifespan:
            return runtime
        _unentered[id(client)] = weakref.ref(client)
        _unentered.move_to_end(id(client))
        for key, ref in list(_unentered.items()):
            if len(_unentered) <= UNENTERED_RUNTIMES:
                break
            other = ref()
            if other is None or other._runtime is None or other._lifespan:
                del _unentered[key]
            elif other is not client and other._busy == 0:
                del _unentered[key]
                idle, other._runtime = other._runtime, None
                TestClient._stop_runtime(idle)
        return runtime


def _done_with(client: TestClient) -> None:
    with _unentered_lock:
        client._busy -= 1


class _EngineTransport(httpx.BaseTransport):
    def __init__(self, client: TestClient) -> None:
        self._client = weakref.ref(client)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        client = self._client()
        if client is None:
            raise RuntimeError("the TestClient was garbage-collected")
        runtime = _in_use(client)
        try:
            target = request.url.raw_path.decode("ascii")
            headers = [(k.lower(), v) for k, v in request.headers.raw]
            client._caller_context = contextvars.copy_context()
            status, out_headers, body, error = runtime.engine.handle(
                request.method, target, headers, request.read(), client.client_address, request.url.scheme
            )
        finally:
            _done_with(client)
        if error is not None and client.raise_server_exceptions:
            raise error
        # As with Starlette's TestClient, a response comes back once its background work is done.
        if not background.inside_background() and not background.pending.wait_idle(timeout=60):
            raise RuntimeError("background tasks still running after 60 s")
        # `stream=`: httpx adds no Content-Length of its own (a streamed reply has none, as in Starlette).
        # The core's (str, bytes) pairs: httpx takes either type for each; its type wants one for both.
        return httpx.Response(
            status,
            headers=out_headers,  # type: ignore[arg-type]
            stream=httpx.ByteStream(body),
            request=request,
        )


class TestClient(httpx.Client):
    __test__ = False  # not a pytest test class

    def __init__(
        self,
        app: Any,
        base_url: str = "http://testserver",
        raise_server_exceptions: bool = True,
        root_path: str = "",
        cookies: Any = None,
        headers: dict[str, str] | None = None,
        follow_redirects: bool = True,
        client: tuple[str, int] = ("testclient", 50000),
        **settings: Any,
    ) -> None:
        self.app = app
        self.raise_server_exceptions = raise_server_exceptions
        self.client_address = client
        self.root_path = root_path
        self._settings = Settings.resolve({"sync_workers": 4, **settings}, env=os.environ)
        self._runtime: Runtime | None = None
        self._lifespan = False
        #: Requests and WebSocket sessions using the runtime now (an idle runtime may be stopped).
        self._busy = 0
        #: What the lifespan yielded, as Starlette's TestClient shows it (its shard 0's copy).
        self.app_state: dict[str, Any] = {}
        #: The context of the latest call into the app: its async work runs in a copy of it.
        self._caller_context: contextvars.Context | None = None
        merged = {"user-agent": "testclient", **(headers or {})}
        super().__init__(
            base_url=base_url,
            transport=_EngineTransport(self),
            headers=merged,
            cookies=cookies,
            follow_redirects=follow_redirects,
        )

    def _ensure_runtime(self) -> Runtime:
        if self._runtime is None:
            runtime = Runtime(self.app, self._settings, client_root_path=self.root_path)
            runtime.start()
            _started.add(runtime)
            self._run_in_caller_context(runtime)
            self._runtime = runtime
        return self._runtime

    def _run_in_caller_context(self, runtime: Runtime) -> None:
        """Start the app's async handlers in a copy of the caller's context, so a ``ContextVar``
        the test set reaches them and their dependencies (Starlette's TestClient runs the app in a
        copy of it too). ``def`` handlers run on the core's pool threads, each request in a fresh
        context the TestClient cannot reach."""
        client = weakref.ref(self)

        def caller() -> contextvars.Context | None:
            owner = client()
            return owner._caller_context if owner is not None else None

        for _thread, loop in runtime._shards:
            _eager.caller_context[loop] = caller

    @staticmethod
    def _stop_runtime(runtime: Runtime) -> None:
        for _thread, loop in runtime._shards:
            _eager.caller_context.pop(loop, None)
        runtime.stop()

    def __enter__(self) -> TestClient:
        runtime = self._ensure_runtime()
        runtime.startup()
        self._lifespan = True
        states = getattr(runtime.app, "_lifespan_states", None) or [{}]
        self.app_state.clear()
        self.app_state.update(states[0])
        return self

    def __exit__(self, *args: Any) -> None:
        """End the lifespan and stop the app's threads; the client stays usable, as Starlette's:
        a later request, or ``with client:`` again, starts the app anew."""
        runtime, self._runtime = self._runtime, None
        if runtime is None:
            return
        try:
            if self._lifespan:
                self._lifespan = False
                runtime.shutdown()
        finally:
            self._stop_runtime(runtime)

    def websocket_connect(
        self, url: str, subprotocols: Sequence[str] | None = None, **kwargs: Any
    ) -> WebSocketTestSession:
        """A WebSocket connection through the real pipeline (routing, extraction, the core's frame
        I/O), over an in-process pipe. The handshake happens on ``with``, as in Starlette."""
        headers = dict(kwargs.pop("headers", None) or {})
        headers.setdefault("connection", "upgrade")
        headers.setdefault("upgrade", "websocket")
        headers.setdefault("sec-websocket-key", "testserver==")
        headers.setdefault("sec-websocket-version", "13")
        if subprotocols is not None:
            headers.setdefault("sec-websocket-protocol", ", ".join(subprotocols))
        request = self.build_request("GET", url, headers=headers, **kwargs)
        return WebSocketTestSession(self, request)

    def close(self) -> None:
        runtime, self._runtime = self._runtime, None
        self._lifespan = False
        if runtime is not None:
            self._stop_runtime(runtime)
        super().close()


# Both an httpx response and an exception, as Starlette's is (their __setstate__ differ: ignored, as Starlette does).
class WebSocketDenialResponse(httpx.Response, WebSocketDisconnect):  # type: ignore[misc]
    """The handshake was answered over HTTP (no WebSocket route, a middleware's answer, an error)."""


class WebSocketTestSession:
    """Starlette's ``WebSocketTestSession`` API over a real WebSocket client connection."""

    #: Seconds a ``receive`` waits before it fails (a handler that never answers must not hang a test).
    timeout = 30.0

    def __init__(self, client: TestClient, request: httpx.Request) -> None:
        self._client = client
        self._request = request
        self._connection: Any = None
        #: The client's runtime is no longer held for this session (see ``_in_use``).
        self._released = False
        self._closed = False
        self.accepted_subprotocol: str | None = None
        self.extra_headers: list[tuple[bytes, bytes]] | None = None

    def __enter__(self) -> WebSocketTestSession:
        client, request = self._client, self._request
        runtime = _in_use(client)
        try:
            headers = [(k.lower(), v) for k, v in request.headers.raw]
            client._caller_context = contextvars.copy_context()
            outcome = runtime.engine.connect_websocket(
                request.url.raw_path.decode("ascii"), headers, client.client_address, request.url.scheme
            )
        except BaseException:
            _done_with(client)
            raise
        if outcome[0] == "accept":
            _, self._connection, self.accepted_subprotocol, reply_headers = outcome
            self.extra_headers = [(name.encode("latin-1"), value) for name, value in reply_headers]
            return self  # in use until __exit__
        _done_with(client)
        if outcome[0] == "deny":
            raise WebSocketDisconnect(code=outcome[1], reason=outcome[2])
        _, status, body, error = outcome
        if error is not None and client.raise_server_exceptions:
            raise error
        if status == 403:
            # Starlette closes a handshake no WebSocket route takes (uvicorn answers it 403).
            raise WebSocketDisconnect(code=1000)
        raise WebSocketDenialResponse(status, content=body, request=request)

    def __exit__(self, *args: Any) -> None:
        if self._connection is None:
            return
        try:
            if not self._closed:
                self._closed = True
                self._connection.close(1000, "")
            self._raise_server_error(wait=10.0)
        finally:
            if not self._released:
                self._released = True
                _done_with(self._client)

    def _raise_server_error(self, wait: float) -> None:
        _ended, error = self._connection.wait_finished(wait)
        if error is not None and self._client.raise_server_exceptions and not self._sent_after_client_left(error):
            raise error

    def _sent_after_client_left(self, error: BaseException) -> bool:
        """The handler's send found the connection closed by this client (Starlette's WebSocket
        raises WebSocketDisconnect(1006) then). Starlette's TestClient queues such messages unread
        and raises nothing, and so does this one; which of the handler's last sends and the
        client's close comes first is a race that shards on free-threaded Python really run."""
        return self._closed and isinstance(error, WebSocketDisconnect) and error.code == 1006

    def _live(self) -> Any:
        if self._connection is None:
            raise RuntimeError("use the WebSocket session in a `with` block: the handshake happens there")
        return self._connection

    # -- sending -----------------------------------------------------------------------------
    def send(self, message: dict[str, Any]) -> None:
        if message.get("type") == "websocket.disconnect":
            self.close(message.get("code", 1000), message.get("reason"))
            return
        text, data = message.get("text"), message.get("bytes")
        self._live().send(text if text is not None else data)

    def send_text(self, data: str) -> None:
        self._live().send(data)

    def send_bytes(self, data: bytes) -> None:
        self._live().send(bytes(data))

    def send_json(self, data: Any, mode: str = "text") -> None:
        text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
        self._live().send(text if mode == "text" else text.encode("utf-8"))

    def close(self, code: int = 1000, reason: str | None = None) -> None:
        connection = self._live()
        if not self._closed:
            self._closed = True
            connection.close(code, reason or "")

    # -- receiving ---------------------------------------------------------------------------
    def receive(self) -> dict[str, Any]:
        kind, value = self._live().receive(self.timeout)
        if kind == Received.TEXT:
            return {"type": "websocket.send", "text": value}
        if kind == Received.BYTES:
            return {"type": "websocket.send", "bytes": value}
        self._closed = True
        # The handler failed after accepting: raise its exception, as Starlette's TestClient does.
        self._raise_server_error(wait=1.0)
        code, reason = value
        return {"type": "websocket.close", "code": code, "reason": reason}

    @staticmethod
    def _raise_on_close(message: dict[str, Any]) -> None:
        if message["type"] == "websocket.close":
            raise WebSocketDisconnect(code=message.get("code", 1000), reason=message.get("reason", ""))

    def receive_text(self) -> str:
        message = self.receive()
        self._raise_on_close(message)
        return message["text"]  # type: ignore[no-any-return]

    def receive_bytes(self) -> bytes:
        message = self.receive()
        self._raise_on_close(message)
        return message["bytes"]  # type: ignore[no-any-return]

    def receive_json(self, mode: str = "text") -> Any:
        message = self.receive()
        self._raise_on_close(message)
        return json.loads(message["text"] if mode == "text" else message["bytes"].decode("utf-8"))


@atexit.register
def _stop_all() -> None:
    for runtime in list(_started):
        if runtime.started:
            TestClient._stop_runtime(runtime)
