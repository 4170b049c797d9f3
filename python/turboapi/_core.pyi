"""Type stub of the Rust extension `turboapi._core` (exports listed in src/lib.rs).

Only `Engine` can be made from Python; every other class is handed out by the core (calling one
raises TypeError) and none can be subclassed. `make lint` keeps this file true to the built
extension (mypy's stubtest).
"""

import asyncio
from collections.abc import Callable, Sequence
from typing import Any, Literal, Self, TypeAlias, final, overload

from .contract import CorePlan, EngineConfig, Hooks

# What PyO3 lists in the module's __all__ (every add_class/add_function in src/lib.rs, in order).
__all__ = [
    "Engine",
    "ReplyBody",
    "RequestData",
    "Completion",
    "Next",
    "BodyWriter",
    "WebSocketChannel",
    "BodyReader",
    "WebSocketTestConnection",
    "native_regex_supported",
    "live_requests",
]

# -- shapes shared by several signatures -----------------------------------------------------------

# Request headers going in: (name, value) byte pairs, as ASGI and httpx give them.
_RawHeaders: TypeAlias = Sequence[tuple[bytes, bytes]]
# Response headers coming out: names as lowercase str, values as bytes.
_ReplyHeaders: TypeAlias = list[tuple[str, bytes]]
# A peer as ASGI's scope["client"]: (host, port).
_HostPort: TypeAlias = tuple[str, int]
# A future of the shard's loop that the core resolves with `set_result(None)` (unless done).
_Waiter: TypeAlias = asyncio.Future[Any]
# What a queued chunk or message became: 0 sent, 1 full (wait for room), 2 the other end is gone.
_SendAnswer: TypeAlias = Literal[0, 1, 2]
# A streamed request body's next event: (0, chunk), (1, None) the end, (2, why) it failed.
_BodyEvent: TypeAlias = tuple[Literal[0], bytes] | tuple[Literal[1], None] | tuple[Literal[2], str]
# A WebSocket message: (0, text), (1, data) or (2, (close code, reason)).
_WebSocketMessage: TypeAlias = tuple[Literal[0], str] | tuple[Literal[1], bytes] | tuple[Literal[2], tuple[int, str]]
# One access-log line: (client, method, target, HTTP version, status).
_AccessRecord: TypeAlias = tuple[_HostPort | None, str, str, str, int]
# `Engine.handle`'s answer: (status, headers, body, unhandled exception).
_Handled: TypeAlias = tuple[int, _ReplyHeaders, bytes, BaseException | None]
_HandledStream: TypeAlias = tuple[int, _ReplyHeaders, bytes | ReplyBody, BaseException | None]
# `Engine.connect_websocket`'s answers, by their first item.
_Accepted: TypeAlias = tuple[Literal["accept"], WebSocketTestConnection, str | None, _ReplyHeaders]
_Denied: TypeAlias = tuple[Literal["deny"], int, Any]
_Refused: TypeAlias = tuple[Literal["refuse"], int, bytes, BaseException | None]

# -- the engine: one app's route table, runtime and server -----------------------------------------

@final
class Engine:
    """The core for one app: routes, sync pool, loop shards, socket server, in-process calls."""

    def __new__(cls, routes: Sequence[CorePlan], hooks: Hooks, config: EngineConfig) -> Self:
        """Build from the routes' plans (registration order), the hooks and the settings (the
        contract: python/turboapi/contract.py, src/contract.rs); ValueError or AttributeError
        naming a missing or bad setting, hook or route attribute."""

    # serving a socket
    def bind(self, host: str, port: int, backlog: int, reuse_port: bool = False) -> _HostPort:
        """Bind the listening socket; the bound (host, port), so port 0 reports the real one."""

    def use_tls(self, load: Callable[[], tuple[bytes, bytes]], ca_pem: bytes | None = None, cert_reqs: int = 0) -> None:
        """Serve TLS: `load()` gives the (certificate chain, key) PEM, now and on each SIGHUP;
        `ca_pem` checks client certificates as `cert_reqs` asks. ValueError names a bad file."""

    def serve(self) -> None:
        """Serve the bound socket until SIGINT/SIGTERM (once; after `bind`), without the GIL."""

    def access_records(self, wait: float) -> list[_AccessRecord] | None:
        """The next access-log records (waiting up to `wait` s); None when the log is off."""

    # the sync pool
    def worker_loop(self) -> None:
        """Body of a sync-pool thread: run `def` handlers until `stop_workers`."""

    def stop_workers(self) -> None:
        """Stop the sync pool: parked threads leave now, busy ones after their job."""

    # the loop shards
    @property
    def shard_count(self) -> int:
        """How many loop shards run async handlers (each needs a thread and an event loop)."""

    def shard_fileno(self, index: int) -> int:
        """Shard `index`'s wake-up descriptor, for the loop's `add_reader`."""

    def bind_shard_loop(self, index: int, event_loop: asyncio.AbstractEventLoop | None) -> None:
        """Attach (or with None detach) the event loop that runs shard `index`'s tasks; called on the
        loop's own thread, which then takes the engine's scheduling policy (batch_scheduling)."""

    def drain_shard(self, index: int) -> None:
        """The loop's reader callback for shard `index`: start the next batch of requests."""

    # in-process calls: the TestClient and the app as an ASGI application
    def prepare(
        self,
        route: int,
        shard: int,
        method: str,
        target: str,
        headers: _RawHeaders,
        body: bytes,
        path_values: list[str],
        client: _HostPort | None = None,
        scheme: str = "http",
    ) -> tuple[RequestData, Next]:
        """A request for route `route` that came the ASGI way: its parameters extracted by the
        route's plan, for `APIRoute.get_route_handler()` to run the route as the core would."""

    @overload
    def handle(
        self,
        method: str,
        target: str,
        headers: _RawHeaders,
        body: bytes,
        client: _HostPort | None = None,
        scheme: str = "http",
        stream: Literal[False] = False,
    ) -> _Handled:
        """Run one request through the whole pipeline, without a socket; the body read whole.
        ValueError for an invalid method, target or header."""

    @overload
    def handle(
        self,
        method: str,
        target: str,
        headers: _RawHeaders,
        body: bytes,
        client: _HostPort | None = None,
        scheme: str = "http",
        stream: bool = False,
    ) -> _HandledStream:
        """Run one request; with `stream`, a streamed or file body is a `ReplyBody`."""

    def connect_websocket(
        self,
        target: str,
        headers: _RawHeaders,
        client: _HostPort | None = None,
        scheme: str = "http",
    ) -> _Accepted | _Denied | _Refused:
        """A WebSocket handshake through the pipeline: accepted (with a client connection),
        denied by the handler (code, reason) or refused over HTTP (status, body, exception)."""

@final
class ReplyBody:
    """A streamed or file response body from `Engine.handle(stream=True)`, read chunk by chunk."""

    def read(self) -> bytes | None:
        """The next chunk, or None at the end; blocks (without the GIL). OSError if it failed."""

    def close(self) -> None:
        """Stop the body early (its producer is cancelled, as when a client goes away)."""

# -- one request, as Python's Request reads it -----------------------------------------------------

@final
class RequestData:
    """Everything the core knows of one request (all read-only, built on demand)."""

    # after-response work and request.state
    def take_after(self) -> Any | None:
        """Take back what was registered to run after the reply (None if nothing)."""

    def set_after(self, after: object) -> None:
        """Register what runs after the reply is sent, replacing any earlier registration."""

    def shared_state(self, factory: Callable[[], Any]) -> Any:
        """The request's state object, shared by all its Requests; `factory()` makes it once."""

    # the request line and where it runs
    @property
    def method(self) -> str:
        """The HTTP method."""

    @property
    def scheme(self) -> str:
        """The URL scheme: "http" or "https" ("ws"/"wss" too from a trusted X-Forwarded-Proto)."""

    @property
    def http_version(self) -> str:
        """``scope["http_version"]``: "1.0", "1.1" or "2"."""

    @property
    def shard(self) -> int:
        """The loop shard running the request (0 for sync handlers): picks the lifespan state."""

    @property
    def path(self) -> str:
        """The percent-decoded path, with the server's root path in front (as uvicorn)."""

    @property
    def root_path(self) -> str:
        """ASGI's root_path: the prefix a proxy strips ("" when none is set)."""

    @property
    def raw_path(self) -> bytes:
        """The path as sent, still percent-encoded."""

    @property
    def query_string(self) -> bytes:
        """The query string as sent, without the "?"."""

    @property
    def path_params(self) -> dict[str, str]:
        """The matched path parameters, as strings (a fresh dict on each read)."""

    # headers and peers
    @property
    def headers(self) -> list[tuple[bytes, bytes]]:
        """(name, value) pairs as bytes, names lowercase, in arrival order (ASGI's shape)."""

    @property
    def content_type(self) -> str | None:
        """The Content-Type header (latin-1), without building the header list."""

    @property
    def client(self) -> _HostPort | None:
        """The client's (host, port), or None when unknown."""

    @property
    def server(self) -> _HostPort | None:
        """The server's (host, port) for a socket request; None in-process."""

    # the body
    @property
    def body(self) -> bytes:
        """The whole body (empty when it is spooled to `body_path` or streamed)."""

    @property
    def body_path(self) -> str | None:
        """The temporary file holding a spooled upload's body, or None."""

    @property
    def body_stream(self) -> BodyReader | None:
        """The body as it arrives, for a route that streams it; None when it is whole."""

    @property
    def websocket(self) -> WebSocketChannel | None:
        """The connection, for a WebSocket handshake; None for HTTP requests."""

# -- done-callbacks and the middleware's call_next -------------------------------------------------

@final
class Completion:
    """Done-callback of a request's task (the handler's, the middleware stack's or an async
    exception handler's): sends its reply back to the core."""

    def __call__(self, task: asyncio.Future[Any]) -> None:
        """Answer the request from the finished task."""

@final
class Next:
    """The route end of the middleware stack (what the innermost `call_next` runs)."""

    def take_fixed(self) -> Any | None:
        """The core's own reply (404, 405, redirect) as a Response; None when a route matched."""

    @property
    def is_async(self) -> bool:
        """Whether the route's endpoint is `async def` (so `call` returns a coroutine)."""

    @property
    def route(self) -> Any | None:
        """The route object the core matched; None for its own replies."""

    def call(self) -> Any:
        """Build the arguments and call the endpoint (once): a coroutine or its result."""

    def finish(self, result: object) -> Any:
        """The endpoint's result as a Response, serialised as without middleware."""

# -- streamed bodies -------------------------------------------------------------------------------

@final
class BodyWriter:
    """The writing end of a streaming response, fed by its pump (`turboapi.streaming`)."""

    def set_task(self, task: asyncio.Task[Any]) -> bool:
        """Register the pump's task (cancelled if the client goes away); False if it is gone."""

    def send(self, chunk: bytes) -> _SendAnswer:
        """Queue a chunk: 0 sent, 1 full (wait with `wait_writable`, then resend), 2 gone."""

    def wait_writable(self, future: _Waiter) -> bool:
        """Resolve `future` once a chunk fits or the reader is gone; False: no need to wait."""

    def take_after(self) -> tuple[Any | None, Any | None] | None:
        """(background, after-work) deferred to the stream's end; None if not handed over."""

    def finish(self) -> None:
        """The iterator is exhausted: end the body."""

    def fail(self, error: BaseException | None = None) -> None:
        """The iterator raised: end the body abruptly (the TestClient raises `error`)."""

@final
class BodyReader:
    """A request body as it arrives (`RequestData.body_stream`), for a mounted ASGI app."""

    def read(self) -> _BodyEvent | None:
        """None while nothing has come; else (0, chunk), (1, None) the end, (2, why) failed."""

    def wait_readable(self, future: _Waiter) -> bool:
        """Resolve `future` when something comes; False if it already has. RuntimeError while
        the request has no loop shard yet."""

# -- WebSockets ------------------------------------------------------------------------------------

@final
class WebSocketChannel:
    """The handler's end of a WebSocket connection (`turboapi.websockets.WebSocket` wraps it)."""

    # the handshake
    def accept(self, subprotocol: str | None = None, headers: _RawHeaders = ...) -> None:
        """Answer the handshake with 101, with extra response headers (default none);
        RuntimeError if it was already answered."""

    def deny(self, code: int, reason: object) -> None:
        """Refuse the handshake (close before accept): 403 on a socket, `reason` to the TestClient."""

    # receiving
    def receive(self) -> _WebSocketMessage | None:
        """The next message, or None when none has come (a disconnect stays queued)."""

    def wait_receive(self, future: _Waiter) -> bool:
        """Resolve `future` when a message comes; False if one is already there."""

    # sending
    def send_text(self, text: str) -> _SendAnswer:
        """Queue a text message: 0 sent, 1 sent but wait before the next, 2 closed."""

    def send_bytes(self, data: bytes) -> _SendAnswer:
        """Queue a binary message, with `send_text`'s answers."""

    def close(self, code: int, reason: str) -> _SendAnswer:
        """Start the closing handshake; ValueError for a reason over 123 bytes."""

    def wait_writable(self, future: _Waiter) -> bool:
        """Resolve `future` once the outbox drained or the peer is gone; False: no need."""

@final
class WebSocketTestConnection:
    """The TestClient's end of an in-process WebSocket (from `Engine.connect_websocket`)."""

    def send(self, data: str | bytes) -> None:
        """Send a text (str) or binary (bytes) message; TypeError for anything else."""

    def close(self, code: int = 1000, reason: str = ...) -> None:
        """Send a close frame (`reason` defaults to "")."""

    def receive(self, timeout: float) -> _WebSocketMessage:
        """The next message from the server; TimeoutError after `timeout` seconds."""

    def wait_finished(self, timeout: float) -> tuple[bool, BaseException | None]:
        """Wait up to `timeout` s for the handler to end: (ended, its exception or None)."""

# -- module functions ------------------------------------------------------------------------------

def native_regex_supported(pattern: str) -> bool:
    """Whether the core's regex engine reads `pattern` (CORS `allow_origin_regex`); if not,
    the middleware stack runs in Python."""

def live_requests() -> int:
    """How many requests the core holds now (the leak tests' counter)."""
