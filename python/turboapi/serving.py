"""Running an app on the core: settings, the sync pool threads, the loop shard threads, lifespan,
and the socket server. ``app.run()`` and the TestClient both go through ``Runtime``."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import ipaddress
import logging
import math
import os
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from pydantic import BaseModel

from . import _eager, _json, appstate, background, routetable, streaming, tls
from ._core import Engine
from .contract import CorePlan, EngineConfig, Hooks
from .dependencies import fresh_default
from .fileresponse import FileResponse, plan
from .responses import RESPONSE_TYPES, STARLETTE_FILE_TYPES, STREAM_TYPES, ReplyResponse, Response, SendsItself

MiB = 1024 * 1024
#: HTTP/2's flow-control windows start at 65,535 bytes and cannot exceed 2**31 - 1 (RFC 9113 6.9).
H2_WINDOW_MIN, H2_WINDOW_MAX = 65_535, 2**31 - 1


logger = logging.getLogger("turboapi")


@dataclass(frozen=True)
class Settings:
    """Server tunables; each is settable from ``app.run(...)`` and a ``TURBOAPI_*`` variable."""

    sync_workers: int = 16
    shards: int = 1
    shard_policy: str = "round_robin"
    event_loop: str = "uvloop"
    #: "orjson", or "stdlib" (the default where orjson is not installed).
    json: str = _json.DEFAULT
    batch_size: int = 128
    max_concurrent: int | None = 512
    gate_queue: int = 4096
    gate_timeout: float = 10.0
    io_threads: int = 1
    max_body_size: int = 16 * MiB
    #: multipart/form-data bodies (uploads) may be this large; past 1 MiB they go to a temp file.
    max_upload_size: int = 1024 * MiB
    header_read_timeout: float = 10.0
    #: A keep-alive connection with no request for this long is closed (uvicorn's default).
    keep_alive_timeout: float = 5.0
    #: A client that shuts its sending side after its request (``shutdown(SHUT_WR)``) still gets
    #: the answer, as long as the answer writes to it at least this often; 0: such a client is
    #: taken as gone at once (its handler cancelled), as uvicorn does.
    half_close_timeout: float = 5.0
    #: The whole request body must arrive within this time, else 408 (a slow POST).
    body_read_timeout: float = 60.0
    #: A handler that has not answered within this time gets 504 (and an async one is cancelled);
    #: None: no limit, as in FastAPI.
    request_timeout: float | None = None
    #: Connections open at once; past it new ones wait in the listen backlog. None: the process's
    #: open-file limit (raised to its hard limit at start) less 256 for files and pipes.
    max_connections: int | None = None
    graceful_timeout: float = 10.0
    max_header_bytes: int = 64 * 1024
    max_headers: int = 100
    backlog: int = 1024
    #: CORS/GZip/TrustedHost/HTTPSRedirect in Rust when the stack holds only these; off: Python.
    native_middleware: bool = True
    #: Once the app has started, move every object it made so far out of the garbage collector's
    #: sight (``gc.freeze()``): the full collections that requests in flight trigger then scan only
    #: what requests made, not the app's modules and models. Off: Python's default.
    gc_freeze: bool = True
    #: An ``async def`` handler with no ``await`` runs inline on its shard, without a Task of its
    #: own (``asyncio.current_task()`` there is the shard's stand-in Task); off: a Task each.
    inline_no_await: bool = True
    #: The server's threads (I/O, loop shards, sync pool) run under Linux's SCHED_BATCH policy: a
    #: thread woken by another (a request handed to a shard, its reply handed back) waits for the
    #: running one to block instead of preempting it mid-batch. Off: the policy the process started
    #: with (normally SCHED_OTHER).
    batch_scheduling: bool = True
    #: Share the port with other worker processes (SO_REUSEPORT); set by ``turboapi run --workers``.
    reuse_port: bool = False
    #: One line per request through the ``turboapi.access`` logger, in uvicorn's format.
    access_log: bool = False
    #: Believe X-Forwarded-For/Proto/Host, only from the peers in ``forwarded_allow_ips``.
    proxy_headers: bool = False
    #: Comma-separated addresses or networks of trusted proxies, or ``*``.
    forwarded_allow_ips: str = "127.0.0.1"
    #: The path prefix the proxy in front strips (``--root-path``): put in front of request paths
    #: and reported as ``scope["root_path"]``, as uvicorn does. ``FastAPI(root_path=...)`` wins.
    root_path: str = ""
    #: Largest WebSocket message (and frame) accepted; a bigger one closes the connection (1009).
    ws_max_size: int = 16 * MiB
    #: Seconds between the server's keepalive pings on WebSockets (None: no pings), and how long
    #: past that a silent peer is given before the connection is closed (1011). uvicorn's defaults.
    ws_ping_interval: float | None = 20.0
    ws_ping_timeout: float | None = 20.0
    #: HTTP/2 besides HTTP/1.1: h2c (cleartext, prior knowledge) and ``h2`` offered by ALPN over
    #: TLS. Off: HTTP/1.1 only. WebSockets are HTTP/1.1 either way.
    http2: bool = True
    #: Streams one HTTP/2 connection may have open at once (hypercorn's default).
    http2_max_concurrent_streams: int = 100
    #: HTTP/2 flow control. On (the default), hyper sizes each connection's windows to its
    #: measured bandwidth-delay product (PINGs while data arrives), from 64 KiB up to 16 MiB.
    #: Off: fixed windows of these many bytes, what a client may send of request bodies on one
    #: stream and on one connection ahead of the handler reading them. ``bench/http2_windows.py``
    #: measured the choice (bench/RESULTS-h2-windows.md).
    http2_adaptive_window: bool = True
    http2_stream_window: int = 1 * MiB
    http2_connection_window: int = 1 * MiB
    #: HTTPS (uvicorn's ``--ssl-*``): the certificate chain and its private key, PEM files (the
    #: key may be in the certificate's file). Both re-read on SIGHUP.
    ssl_certfile: str | None = None
    ssl_keyfile: str | None = None
    #: The password of an encrypted ssl_keyfile (decrypting needs the ``cryptography`` package).
    ssl_keyfile_password: str | None = None
    #: CA certificates (PEM) that client certificates are checked against.
    ssl_ca_certs: str | None = None
    #: Client certificates: 0 not asked for (uvicorn's default), 1 optional, 2 required.
    ssl_cert_reqs: int = 0

    @classmethod
    def resolve(cls, overrides: Mapping[str, Any], env: Mapping[str, str] | None = None) -> Settings:
        """Defaults, then TURBOAPI_* environment variables, then explicit arguments."""
        known = {f.name: f for f in fields(cls)}
        unknown = set(overrides) - set(known)
        if unknown:
            raise TypeError(f"unknown server setting(s): {', '.join(sorted(unknown))}")
        values: dict[str, Any] = {}
        for name, f in known.items():
            raw = (env or {}).get(f"TURBOAPI_{name.upper()}")
            if raw is not None:
                values[name] = _parse(name, f.type, raw)
        values.update(overrides)
        settings = replace(cls(), **values)
        settings.check()
        return settings

    def check(self) -> None:
        for item in str(self.forwarded_allow_ips).split(","):
            item = item.strip()
            if item and item != "*":
                try:
                    ipaddress.ip_network(item, strict=False)
                except ValueError:
                    raise ValueError(
                        f"forwarded_allow_ips: {item!r} is not an IP address or network (or '*')"
                    ) from None
        for name in (
            "native_middleware",
            "gc_freeze",
            "inline_no_await",
            "batch_scheduling",
            "reuse_port",
            "access_log",
            "proxy_headers",
            "http2",
            "http2_adaptive_window",
        ):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be True or False, not {getattr(self, name)!r}")
        positive = (
            "sync_workers",
            "shards",
            "batch_size",
            "io_threads",
            "max_body_size",
            "max_upload_size",
            "max_headers",
            "backlog",
            "ws_max_size",
            "http2_max_concurrent_streams",
        )
        for name in (*positive, "gate_queue"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive integer, not {value!r}")
        if self.max_concurrent is not None and (
            not isinstance(self.max_concurrent, int) or isinstance(self.max_concurrent, bool) or self.max_concurrent < 1
        ):
            raise ValueError(f"max_concurrent must be a positive integer or None, not {self.max_concurrent!r}")
        if self.shard_policy not in ("round_robin", "least_loaded", "route_hash"):
            raise ValueError(
                f"shard_policy must be 'round_robin', 'least_loaded' or 'route_hash', not {self.shard_policy!r}"
            )
        for name in (
            "header_read_timeout",
            "graceful_timeout",
            "gate_timeout",
            "keep_alive_timeout",
            "body_read_timeout",
        ):
            value = getattr(self, name)
            if not _seconds(value):
                raise ValueError(f"{name} must be a positive number of seconds, not {value!r}")
        off = self.half_close_timeout == 0 and not isinstance(self.half_close_timeout, bool)
        if not (off or _seconds(self.half_close_timeout)):
            raise ValueError(
                f"half_close_timeout must be 0 or a positive number of seconds, not {self.half_close_timeout!r}"
            )
        if self.max_connections is not None and (
            not isinstance(self.max_connections, int)
            or isinstance(self.max_connections, bool)
            or self.max_connections < 1
        ):
            raise ValueError(f"max_connections must be a positive integer or None, not {self.max_connections!r}")
        for name in ("ws_ping_interval", "ws_ping_timeout", "request_timeout"):
            value = getattr(self, name)
            if value is not None and not _seconds(value):
                raise ValueError(f"{name} must be a positive number of seconds or None, not {value!r}")
        for name in ("http2_stream_window", "http2_connection_window"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or not H2_WINDOW_MIN <= value <= H2_WINDOW_MAX:
                raise ValueError(
                    f"{name} must be a number of bytes from {H2_WINDOW_MIN} to {H2_WINDOW_MAX} "
                    f"(HTTP/2's range), not {value!r}"
                )
        if self.root_path and not str(self.root_path).startswith("/"):
            raise ValueError(f"root_path must start with '/', not {self.root_path!r}")
        if self.event_loop not in ("uvloop", "asyncio"):
            raise ValueError(f"event_loop must be 'uvloop' or 'asyncio', not {self.event_loop!r}")
        _json.check(self.json)
        tls.check(self)


def _seconds(value: Any) -> bool:
    """A duration setting's value: a finite number of seconds above zero."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value < math.inf


def _parse(name: str, type_name: Any, raw: str, source: str | None = None) -> Any:
    """A setting's text (from the environment, or ``source``: a command-line flag) as its type."""
    source = source or f"TURBOAPI_{name.upper()}"
    kind = type_name if isinstance(type_name, str) else type_name.__name__
    optional = kind in ("int | None", "float | None")
    if optional:
        if raw.strip().lower() == "none":
            return None
        kind = kind.split(" ")[0]
    if kind == "bool":
        value = raw.strip().lower()
        if value in ("1", "true", "yes", "on"):
            return True
        if value in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"{source} must be 1/0, true/false, yes/no or on/off, not {raw!r}")
    try:
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
    except ValueError:
        raise ValueError(f"{source} must be a number{' or none' if optional else ''}, not {raw!r}") from None
    return raw


def connection_limit() -> int:
    """The default ``max_connections``: raise the open-file limit to its hard limit, keep 256
    descriptors for everything else (files, pipes, the event loops)."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        hard = max(soft, 65536) if soft != resource.RLIM_INFINITY else 65536
    if soft == resource.RLIM_INFINITY or soft < hard:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
    return max(64, min(soft, 1 << 20) - 256)


def core_hooks(app: Any, settings: Settings, *, served_asgi: bool) -> Hooks:
    """The Python callables the core needs, gathered once per engine."""
    stack = app._core_middleware(native=settings.native_middleware, served_asgi=served_asgi)
    file_types = (FileResponse, *STARLETTE_FILE_TYPES)
    dumps, dumps_args = _json.engine_hook()
    return Hooks(
        response_class=RESPONSE_TYPES,
        dumps=dumps,
        dumps_args=dumps_args,
        # orjson refuses ints beyond 64 bits; the standard library takes over for those.
        fallback_dumps=_json.stdlib_dumps,
        base_model=BaseModel,
        dump_model=_json.dump_model if _json.dumps is _json.orjson_dumps else None,
        handle_exception=app._handle_exception,
        fresh_default=fresh_default,
        eager_start=_eager.start if settings.inline_no_await else _eager.start_in_task,
        start_background=background.start,
        middleware_entry=app._middleware_entry if stack is not None else None,
        native_layers=app._native_layers,
        make_response=_core_response,
        stream_types=(*STREAM_TYPES, *file_types, SendsItself),
        start_stream=streaming.start,
        file_types=file_types,
        plan_file=plan,
        log_error=app._log_error,
    )


def engine_config(settings: Settings, *, root_path: str) -> EngineConfig:
    """The engine's settings (contract.EngineConfig) from the server's; ``root_path`` is what
    ``scope["root_path"]`` reports (the app's, else the server's)."""
    return EngineConfig(
        max_body_size=settings.max_body_size,
        max_upload_size=settings.max_upload_size,
        batch_size=settings.batch_size,
        io_threads=settings.io_threads,
        batch_scheduling=settings.batch_scheduling,
        header_read_timeout=float(settings.header_read_timeout),
        graceful_timeout=float(settings.graceful_timeout),
        max_header_bytes=settings.max_header_bytes,
        max_headers=settings.max_headers,
        shards=settings.shards,
        shard_policy=settings.shard_policy,
        max_concurrent=settings.max_concurrent,
        gate_queue=settings.gate_queue,
        gate_timeout=float(settings.gate_timeout),
        access_log=settings.access_log,
        proxy_headers=settings.proxy_headers,
        forwarded_allow_ips=str(settings.forwarded_allow_ips),
        root_path=root_path,
        path_prefix=settings.root_path,
        keep_alive_timeout=float(settings.keep_alive_timeout),
        half_close_timeout=float(settings.half_close_timeout),
        http2=settings.http2,
        http2_max_concurrent_streams=settings.http2_max_concurrent_streams,
        http2_stream_window=settings.http2_stream_window,
        http2_connection_window=settings.http2_connection_window,
        http2_adaptive_window=settings.http2_adaptive_window,
        body_read_timeout=float(settings.body_read_timeout),
        request_timeout=None if settings.request_timeout is None else float(settings.request_timeout),
        max_connections=settings.max_connections or connection_limit(),
        ws_max_size=settings.ws_max_size,
        ws_ping_interval=settings.ws_ping_interval,
        ws_ping_timeout=settings.ws_ping_timeout,
    )


def _core_response(status: int, headers: list[tuple[bytes, bytes]], body: bytes, background: Any) -> Response:
    response = ReplyResponse(body, status_code=status, background=background)
    response.raw_headers = headers
    return response


def new_event_loop(kind: str) -> asyncio.AbstractEventLoop:
    if kind == "uvloop":
        import uvloop

        return uvloop.new_event_loop()
    return asyncio.new_event_loop()


def hosted(app: Any) -> Any:
    """The app to serve: a turboapi app as it is; any other ASGI application (a FastAPI or
    Starlette app, as a library may hand back) mounted whole in an empty turboapi app, so that it
    runs, lifespan included, with only the core's HTTP in front of it."""
    from .applications import TurboAPI

    if isinstance(app, TurboAPI):
        return app
    if not callable(app):
        raise TypeError(f"turboapi serves a turboapi app or an ASGI application, not {type(app).__name__}")
    host = TurboAPI(openapi_url=None)
    host.mount("", app)
    return host


# With several shards, an object bound to one shard's loop but used from another (a module-level
# asyncio.Lock) wakes its waiters from the wrong thread: the wake-up is queued on the owner loop
# without waking it, and with no other traffic there they would wait for ever. A loop that wakes
# itself this often runs such wake-ups late instead of never (the misuse is also logged, with what
# to change: appstate.explain_cross_loop). One timer a second per shard costs nothing measurable.
WAKE_EVERY = 1.0


def _keep_waking(loop: asyncio.AbstractEventLoop) -> None:
    loop.call_later(WAKE_EVERY, _keep_waking, loop)


class Runtime:
    """One app running on one Engine: threads started by ``start()``, ended by ``stop()``."""

    def __init__(self, app: Any, settings: Settings, *, client_root_path: str = "") -> None:
        """``client_root_path``: the TestClient's ``root_path``, which acts like the app's."""
        self.app = app = hosted(app)
        self.settings = settings
        # uvicorn's rule: the server's root_path goes in front of every path; the app's, if any, is
        # what scope["root_path"] reports and what routing strips.
        app_root_path = getattr(app, "root_path", "") or client_root_path
        _json.select(settings.json)
        # The docs routes first, as FastAPI adds them when the app is made.
        #: Why the app is served the ASGI way as a whole ([] when the core routes it).
        self.asgi_reasons = routetable.asgi_reasons(app)
        if self.asgi_reasons:
            logger.info("serving %s the ASGI way: %s", type(app).__name__, "; ".join(self.asgi_reasons))
        served, plan_only, self._asgi_mounts = routetable.build(app, served_asgi=bool(self.asgi_reasons))
        entries = served + plan_only
        self.engine = Engine(
            [CorePlan.of(entry) for entry in entries],
            core_hooks(app, settings, served_asgi=bool(self.asgi_reasons)),
            engine_config(settings, root_path=app_root_path or settings.root_path),
        )
        routetable.assign(self.engine, entries)
        self._workers: list[threading.Thread] = []
        self._shards: list[tuple[threading.Thread, asyncio.AbstractEventLoop]] = []
        self._lifespans: list[Any] = []
        self._access: threading.Thread | None = None
        self.started = False

    # -- threads ---------------------------------------------------------------------------
    def start(self) -> None:
        if self.started:
            return
        for i in range(self.settings.sync_workers):
            t = threading.Thread(target=self.engine.worker_loop, name=f"turboapi-sync-{i}", daemon=True)
            t.start()
            self._workers.append(t)
        for index in range(self.engine.shard_count):
            loop = new_event_loop(self.settings.event_loop)
            ready = threading.Event()
            t = threading.Thread(
                target=self._run_shard, args=(index, loop, ready), name=f"turboapi-shard-{index}", daemon=True
            )
            t.start()
            ready.wait()
            self._shards.append((t, loop))
        self.started = True
        if self.settings.access_log:
            from .access_log import ensure_handler

            ensure_handler()
            self._access = threading.Thread(target=self._write_access_log, name="turboapi-access-log", daemon=True)
            self._access.start()

    def _write_access_log(self) -> None:
        """Drain the core's access records into ``logging`` (off the request path)."""
        from .access_log import logger, write

        while self.started:
            records = self.engine.access_records(0.2)
            if records is None:
                return
            for record in records:
                write(logger, *record)

    def _run_shard(self, index: int, loop: asyncio.AbstractEventLoop, ready: threading.Event) -> None:
        asyncio.set_event_loop(loop)
        appstate.enter_shard(index)  # app.state, and the routes run the ASGI way, know their shard
        fd = self.engine.shard_fileno(index)
        self.engine.bind_shard_loop(index, loop)
        loop.add_reader(fd, self.engine.drain_shard, index)
        if self.engine.shard_count > 1:
            _keep_waking(loop)
        ready.set()
        try:
            loop.run_forever()
        finally:
            loop.remove_reader(fd)
            self.engine.bind_shard_loop(index, None)
            pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
            for task in pending:
                task.cancel()
            if pending:
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
            _eager.forget(loop)
            loop.close()

    def stop(self, timeout: float = 10.0) -> bool:
        """End the pool and shard threads; False if some were still busy after ``timeout``."""
        if not self.started:
            return True
        self.started = False
        deadline = time.monotonic() + timeout
        self.engine.stop_workers()
        for _thread, loop in self._shards:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(loop.stop)
        threads = self._workers + [t for t, _ in self._shards]
        # The access-log thread waits inside the core (0.2 s at a time): it must be out before the
        # interpreter ends, which would otherwise kill it there (an abort, the last lines lost).
        if self._access is not None:
            threads.append(self._access)
            self._access = None
        for t in threads:
            t.join(timeout=max(0.0, deadline - time.monotonic()))
        self._workers.clear()
        self._shards.clear()
        return not any(t.is_alive() for t in threads)

    # -- lifespan: once per shard, on that shard's loop ---------------------------------------
    # Loop-bound objects (an asyncio.Lock, a connection pool) created in a lifespan or a startup
    # handler must belong to the loop that uses them, so each shard runs its own lifespan and
    # gets its own state; requests see the state of the shard that runs them.
    def _on_every_shard(self, make_coro: Any) -> None:
        futures = [
            asyncio.run_coroutine_threadsafe(make_coro(index), loop) for index, (_t, loop) in enumerate(self._shards)
        ]
        for future in futures:
            future.result()

    def startup(self) -> None:
        self._lifespans = [None] * len(self._shards)
        self.app._lifespan_states = [{} for _ in self._shards]
        if isinstance(self.app.state, appstate.State):
            appstate.split(self.app.state, len(self._shards))
        before = routetable.fingerprint(self.app)
        self._on_every_shard(self._startup)
        changed = routetable.changed_routes(before, routetable.fingerprint(self.app))
        if changed:
            # The core planned the routes before the lifespan ran; a route a lifespan or startup
            # handler changes (fastapi-pagination's add_pagination called before the routes are
            # defined does) keeps that plan. Said loudly: its answers are not what the change asks.
            logger.error(
                "routes changed while the app started, after turboapi had planned them: %s. They keep "
                "their plan; make such changes before the app starts (for fastapi-pagination: call "
                "add_pagination(app) after the routes are defined)",
                ", ".join(changed),
            )

    def shutdown(self) -> None:
        self._on_every_shard(self._shutdown)

    async def _startup(self, index: int) -> None:
        # The router's, as Starlette runs it: libraries wrap app.router.lifespan_context.
        cm = self.app.router.lifespan_context(self.app)
        state = await cm.__aenter__()
        self._lifespans[index] = cm
        self.app._lifespan_states[index] = dict(state or {})
        for mount in self._asgi_mounts:
            await mount.startup(index)

    async def _shutdown(self, index: int) -> None:
        for mount in reversed(self._asgi_mounts):
            await mount.shutdown(index)
        cm, self._lifespans[index] = self._lifespans[index], None
        if cm is not None:
            await cm.__aexit__(None, None, None)

    # -- the socket server ----------------------------------------------------------------
    def serve(self, host: str, port: int) -> None:
        try:
            tls.use_tls(self.engine, self.settings)
        except tls.TLSSetupError as exc:
            print(f"ERROR:    {exc}", file=sys.stderr, flush=True)
            raise SystemExit(1) from None
        bound_host, bound_port = self.engine.bind(host, port, self.settings.backlog, self.settings.reuse_port)
        scheme = "http" if self.settings.ssl_certfile is None else "https"
        self.start()
        try:
            try:
                self.startup()
            except BaseException as exc:
                print(f"ERROR:    Application startup failed: {exc!r}. Exiting.", file=sys.stderr, flush=True)
                raise
            if self.settings.gc_freeze:
                gc.collect()  # the start's own garbage goes first; what is left lives as long as the app
                gc.freeze()
            shown = f"[{bound_host}]" if ":" in bound_host else bound_host
            print(
                f"INFO:     turboapi running on {scheme}://{shown}:{bound_port} (Press CTRL+C to quit)",
                file=sys.stderr,
                flush=True,
            )
            if self.asgi_reasons:
                # Said once, at start: this app pays for Starlette's stack on every request.
                print(f"INFO:     Served the ASGI way: {'; '.join(self.asgi_reasons)}", file=sys.stderr, flush=True)
            docs_url = getattr(self.app, "docs_url", None)
            if docs_url and getattr(self.app, "openapi_url", None):
                # As the `fastapi` command says it: the first page a newcomer wants.
                print(
                    f"INFO:     Documentation at {scheme}://{shown}:{bound_port}{docs_url}", file=sys.stderr, flush=True
                )
            with contextlib.suppress(KeyboardInterrupt):
                self.engine.serve()
            print("INFO:     Shutting down", file=sys.stderr, flush=True)
            with contextlib.suppress(KeyboardInterrupt):
                self.shutdown()
        finally:
            with contextlib.suppress(KeyboardInterrupt):
                stopped = self.stop(timeout=self.settings.graceful_timeout)
        print("INFO:     Finished server process", file=sys.stderr, flush=True)
        if not stopped:
            # A handler is still running past the grace period. Its thread cannot be interrupted,
            # and letting the interpreter finalise under it would abort; leave at once, status 0.
            print("WARNING:  handlers still running after the grace period; exiting", file=sys.stderr, flush=True)
            sys.stdout.flush()
            os._exit(0)
