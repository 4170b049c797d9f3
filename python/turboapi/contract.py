"""The contract between the Python side and the Rust core, in one place.

The core (``turboapi._core``, typed by ``_core.pyi``) reads these objects and values; its side of
the contract is ``src/contract.rs``, the only Rust module that names Python attributes. A name
or a value changed here must change there too: ``tests/test_contract.py`` checks that the core
reads every name declared here (the engine refuses a missing one at start-up, naming it) and the
eager states; the other values are exercised by the stream, WebSocket and exception-handler
suites, which a mismatch breaks.

- ``Hooks``: the Python functions and classes the core calls (built once per engine).
- ``EngineConfig``: the settings the engine reads (``serving.engine_config``).
- ``CorePlan``: a route as the core runs it, made at start-up from a route object (the core
  never reads the route itself: ``CorePlan.of`` says what it takes from one, ``CoreRoute``).
- ``EagerState``, ``SendOutcome``, ``Received``: states that cross the boundary as small ints (ints,
  not enum members, on the hot path: the core compares them as numbers).
- ``Handled``, ``HandledAndReported``, ``AwaitHandler``: what the app's exception handlers made
  of an error (``None`` when no handler took it: logged, a plain 500).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol, TypedDict


class EagerState(enum.IntEnum):
    """``_eager.start(coro, loop)`` returns ``(state, value)``."""

    DONE = 0  # value: the coroutine's result (it finished in its first step)
    FAILED = 1  # value: the exception it raised
    WAITING = 2  # value: the Task that goes on


class SendOutcome(enum.IntEnum):
    """What ``BodyWriter.send`` / ``WebSocketChannel.send_*`` did with a chunk or message."""

    SENT = 0
    # Over the high-water mark. BodyWriter: the chunk was NOT queued (wait_writable(), then send
    # it again). WebSocketChannel: the message WAS queued (wait_writable() before the next one).
    FULL = 1
    GONE = 2  # the reader (the client) is gone: stop


class Received(enum.IntEnum):
    """The kind of ``WebSocketChannel.receive()``'s ``(kind, value)``."""

    TEXT = 0
    BYTES = 1
    DISCONNECT = 2  # value: (code, reason)


class HandlingKind(enum.IntEnum):
    HANDLED = 0
    HANDLED_AND_REPORTED = 1
    AWAIT_HANDLER = 2


@dataclass(frozen=True, slots=True)
class Handled:
    """An exception handler answered with ``response``."""

    kind: ClassVar[int] = HandlingKind.HANDLED
    response: Any


@dataclass(frozen=True, slots=True)
class HandledAndReported:
    """A server-level (500/``Exception``) handler answered; the error is still reported (the
    TestClient raises it, as Starlette's ServerErrorMiddleware re-raises)."""

    kind: ClassVar[int] = HandlingKind.HANDLED_AND_REPORTED
    response: Any


@dataclass(frozen=True, slots=True)
class AwaitHandler:
    """An async handler called on a loop shard: the core runs ``coro`` as a task (it may wait on
    I/O) and answers with its Response; ``report`` as for ``HandledAndReported``."""

    kind: ClassVar[int] = HandlingKind.AWAIT_HANDLER
    coro: Any
    report: bool


Handling = Handled | HandledAndReported | AwaitHandler | None


@dataclass(frozen=True, slots=True)
class Hooks:
    """The Python callables and classes the core calls into (see src/contract.rs `Hooks`)."""

    #: ``isinstance`` check for a returned Response (ours and Starlette's).
    response_class: tuple[type, ...] | type
    #: ``dumps(obj, *dumps_args) -> bytes``: orjson, or the standard library's switch.
    dumps: Callable[..., bytes]
    dumps_args: Sequence[Any]
    #: Used when ``dumps`` refuses a value (orjson and integers beyond 64 bits).
    fallback_dumps: Callable[[Any], bytes]
    #: ``pydantic.BaseModel`` and the one-pass JSON dump of a returned model (None: the
    #: standard library's exact output is asked for).
    base_model: type
    dump_model: Callable[[Any], bytes] | None
    #: ``handle_exception(exc, request_data) -> Handling``.
    handle_exception: Callable[[BaseException, Any], Handling]
    #: A per-request default: a factory's product or a deep copy.
    fresh_default: Callable[[Any], Any]
    #: ``eager_start(coro, loop) -> (EagerState, value)``.
    eager_start: Callable[[Any, Any], tuple[int, Any]]
    #: ``start_background(background, after, loop_or_none)``: returns what to call once the
    #: reply is out when there is no loop.
    start_background: Callable[[Any, Any, Any], Any]
    #: ``entry(request_data, next) -> coroutine`` running the app's HTTP middleware, or None.
    middleware_entry: Callable[[Any, Any], Any] | None
    #: Standard middleware run in Rust, outermost first: ``(kind, settings)``.
    native_layers: Sequence[tuple[str, dict[str, Any]]]
    #: ``make_response(status, raw_headers, body, background)``: a core reply as a Response.
    make_response: Callable[[int, list[tuple[bytes, bytes]], bytes, Any], Any]
    #: Response classes whose body is produced as it is sent (streams, files, self-sending).
    stream_types: tuple[type, ...]
    #: ``start_stream(response, writer)``: the pump, started on a shard's loop.
    start_stream: Callable[[Any, Any], None]
    #: File responses: planned by ``plan_file``, read by the core.
    file_types: tuple[type, ...]
    #: ``plan_file(response, method, range, if_range, if_none_match, if_modified_since)
    #: -> (status, raw_headers, path, segments)``.
    plan_file: Callable[..., tuple[int, list[tuple[bytes, bytes]], Any, list[Any]]]
    #: ``log_error(exc)``: an error the core met outside a handler, logged as the server logs.
    log_error: Callable[[BaseException], None]


class EngineConfig(TypedDict):
    """The engine's settings (src/contract.rs `EngineSettings::from_py`): sizes in bytes,
    durations in seconds."""

    max_body_size: int
    max_upload_size: int
    max_header_bytes: int
    max_headers: int
    batch_size: int
    shards: int
    shard_policy: str  # "round_robin" | "least_loaded" | "route_hash"
    max_concurrent: int | None
    gate_queue: int
    gate_timeout: float
    ws_max_size: int
    ws_ping_interval: float | None
    ws_ping_timeout: float | None
    body_read_timeout: float
    request_timeout: float | None
    header_read_timeout: float
    graceful_timeout: float
    keep_alive_timeout: float
    max_connections: int | None
    half_close_timeout: float
    http2: bool
    http2_max_concurrent_streams: int
    http2_stream_window: int
    http2_connection_window: int
    http2_adaptive_window: bool
    io_threads: int
    batch_scheduling: bool
    access_log: bool
    proxy_headers: bool
    forwarded_allow_ips: str
    path_prefix: str
    root_path: str


class CoreParam(Protocol):
    """One parameter the core extracts (``dependencies.models.ParamSpec``)."""

    name: str
    key: str  # the alias; lowercase and dashed for headers
    source: str  # "path" | "query" | "header" | "cookie"
    scalar: str  # "str" | "int" | "float" | "bool" | "bytes" | anything else: pydantic decides
    is_list: bool
    fast: bool  # Rust may coerce (no constraint only pydantic checks)
    required: bool
    default: Any
    copy_default: bool


class CoreRoute(Protocol):
    """What ``CorePlan.of`` takes from a route object (``routing.PlannedRoute`` and the core's
    other entries in ``routetable``)."""

    path: str
    methods_list: list[str]
    param_specs: list[CoreParam]
    core_endpoint: Callable[..., Any]
    core_is_async: bool
    status_code_or_default: int
    always_solve: bool
    custom_serialize: bool
    accepts_websocket: bool
    streams_body: bool

    def solve(self, kwargs: dict[str, Any], pending: list[tuple[int, Any]], request: Any) -> Any:
        """Finish what Rust could not: validate ``pending`` (index, raw value) pairs into
        ``kwargs``, read bodies, run dependencies; may return the one argument the endpoint
        takes (a dependency scope), or None."""
        ...

    def serialize(self, result: Any, kwargs: dict[str, Any] | None) -> Any:
        """The endpoint's result as body bytes or a Response (response_model, response_class)."""
        ...


@dataclass(frozen=True, slots=True)
class CorePlan:
    """A route as the core runs it (src/contract.rs ``route_plan``): how it is matched, what the
    core extracts, what it calls. Made once at start-up by ``CorePlan.of``."""

    path: str
    #: HTTP methods the core routes here ([] for a route it plans but does not route to).
    methods: list[str]
    params: list[CoreParam]
    #: What the core calls: the handler with its keyword arguments, or (``always_solve`` with
    #: dependencies) the dependency runner with the one scope ``solve`` returned.
    endpoint: Callable[..., Any]
    is_async: bool
    status_code: int
    #: ``solve`` runs on every request (a body, a Request parameter, dependencies...), not only
    #: when some value was left to pydantic.
    always_solve: bool
    #: ``serialize`` turns the result into the body (response_model, response_class...).
    custom_serialize: bool
    #: WebSocket handshakes are routed here.
    websocket: bool
    #: The request body is handed over as it arrives (a mounted ASGI app).
    stream_body: bool
    solve: Callable[[dict[str, Any], list[tuple[int, Any]], Any], Any]
    serialize: Callable[[Any, dict[str, Any] | None], Any]
    #: The route object: ``scope["route"]`` for the middleware, ``Next.route``.
    route: Any

    @classmethod
    def of(cls, route: CoreRoute) -> CorePlan:
        return cls(
            path=route.path,
            methods=list(route.methods_list),
            params=list(route.param_specs),
            endpoint=route.core_endpoint,
            is_async=bool(route.core_is_async),
            status_code=route.status_code_or_default,
            always_solve=bool(route.always_solve),
            custom_serialize=bool(route.custom_serialize),
            websocket=bool(route.accepts_websocket),
            stream_body=bool(route.streams_body),
            solve=route.solve,
            serialize=route.serialize,
            route=route,
        )
