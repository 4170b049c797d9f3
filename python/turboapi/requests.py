"""``Request``: Starlette's Request (as FastAPI's is), built from the core's RequestData on the
fast path, or from an ASGI scope as Starlette builds it.

On the fast path the core has already parsed the request: a ``Request`` made from its
``RequestData`` reads headers, query, path parameters, cookies and the body from it when asked,
and builds the ASGI ``scope`` only if someone reads it (once per request: the middleware's
Request and the handler's share it, as they share one scope under Starlette). Made from a scope
(``Request(scope, receive)``: the ASGI path, a custom route class, a library), it is Starlette's
Request unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from http.cookies import _unquote
from typing import Any

import starlette.requests
from starlette._utils import AwaitableOrContextManagerWrapper
from starlette.requests import HTTPConnection as HTTPConnection
from starlette.requests import empty_receive, empty_send

from .datastructures import URL, Address, Headers, QueryParams, State

__all__ = ["HTTPConnection", "Request", "REQUEST_TYPES"]

#: Parameters annotated with any of these get the request (or the WebSocket on a WebSocket route).
REQUEST_TYPES: tuple[type, ...] = (starlette.requests.HTTPConnection,)

ASGI_VERSION = {"version": "3.0", "spec_version": "2.4"}


#: The core names a WebSocket's scheme `ws`/`wss` itself (the TestClient's, `http`/`https`).
_SECURE = frozenset(("https", "wss"))


class _Shared:
    """What every Request and WebSocket object of one request shares (kept on the RequestData):
    its state, its scope once built, and the Request the ASGI way made (then the handler gets it)."""

    __slots__ = ("request", "route", "scope", "state")

    def __init__(self) -> None:
        self.state: State | None = None
        self.scope: MutableMapping[str, Any] | None = None
        self.request: Any = None
        #: The route the core matched, when a handler or dependency asked for the request.
        self.route: Any = None


def request_for(data: Any, app: Any, route: Any = None) -> Any:
    """The request object a handler or dependency gets: the one Starlette's machinery made when
    the request came the ASGI way (a custom Request class stays itself), else one over the core's
    data. ``route``: the matched route, for ``scope["route"]``."""
    shared = data.shared_state(_Shared)
    if route is not None and shared.route is None:
        shared.route = route
    if shared.request is not None:
        return shared.request
    return Request(data, app=app)


class CoreConnection:
    """The fast-path side of Request and WebSocket: Starlette's properties answered from the core's
    RequestData (``_data``); with no RequestData (made from a scope) Starlette's own apply."""

    _data: Any = None
    _app: Any = None

    def _init_core(self, data: Any, app: Any) -> None:
        self._data = data
        self._app = app

    @property
    def _shared(self) -> _Shared:
        return self._data.shared_state(_Shared)  # type: ignore[no-any-return]

    # -- the scope, built when read --------------------------------------------------------------
    # Starlette's type (an ASGI scope): a scope set on the request is kept as it is given.
    @property
    def scope(self) -> MutableMapping[str, Any]:
        if self._data is None:
            return self.__dict__["_scope"]  # type: ignore[no-any-return]
        shared = self._shared
        if shared.scope is None:
            shared.scope = self._build_scope()
        return shared.scope

    @scope.setter
    def scope(self, scope: MutableMapping[str, Any]) -> None:
        if self._data is None:
            self.__dict__["_scope"] = scope
        else:
            self._shared.scope = scope

    def _build_scope(self) -> dict[str, Any]:
        data = self._data
        scheme = data.scheme
        scope: dict[str, Any] = {
            "type": "websocket" if data.websocket is not None else "http",
            "asgi": ASGI_VERSION,
            "http_version": data.http_version,
            "scheme": scheme if data.websocket is None else ("wss" if scheme in _SECURE else "ws"),
            "path": data.path,
            "raw_path": data.raw_path,
            "root_path": data.root_path,
            "query_string": data.query_string,
            "headers": data.headers,
            "client": data.client,
            "server": data.server,
            "path_params": self.path_params,
            "app": self._app,
            "state": self.state._state,
        }
        if data.websocket is None:
            scope["method"] = data.method
        else:
            scope["subprotocols"] = [
                p.strip() for header in self.headers.getlist("sec-websocket-protocol") for p in header.split(",")
            ]
            scope["subprotocols"] = [p for p in scope["subprotocols"] if p]
        router = getattr(self._app, "router", None)
        if router is not None:
            scope["router"] = router
        route = self._shared.route
        if route is not None:
            # What FastAPI's route puts in the scope (the route as registered, and its include context).
            context = getattr(route, "_effective_context", None)
            scope["route"] = context.original_route if context is not None else route
            scope["endpoint"] = route.endpoint
            if context is not None:
                scope["fastapi"] = {"effective_route_context": context}
        return scope

    # -- what the core already parsed ------------------------------------------------------------
    @property
    def app(self) -> Any:
        if self._data is None:
            return super().app  # type: ignore[misc]
        return self._app

    @property
    def headers(self) -> Headers:
        if self._data is None:
            return super().headers  # type: ignore[misc,no-any-return]
        headers = self.__dict__.get("_headers")
        if headers is None:
            headers = self.__dict__["_headers"] = Headers(raw=self._data.headers)
        return headers

    @property
    def query_params(self) -> QueryParams:
        if self._data is None:
            return super().query_params  # type: ignore[misc,no-any-return]
        params = self.__dict__.get("_query_params")
        if params is None:
            params = self.__dict__["_query_params"] = QueryParams(self._data.query_string)
        return params

    @property
    def path_params(self) -> dict[str, Any]:
        if self._data is None:
            return super().path_params  # type: ignore[misc,no-any-return]
        params = self.__dict__.get("_path_params")
        if params is None:
            params = self.__dict__["_path_params"] = self._data.path_params
        return params  # type: ignore[no-any-return]

    @property
    def cookies(self) -> dict[str, str]:
        if self._data is None:
            return super().cookies  # type: ignore[misc,no-any-return]
        cookies = self.__dict__.get("_cookies")
        if cookies is None:
            # Starlette's parsing (starlette.requests.cookie_parser), over the header values.
            cookies = {}
            for header in self.headers.getlist("cookie"):
                for chunk in header.split(";"):
                    key, sep, value = chunk.partition("=")
                    if not sep:
                        key, value = "", key
                    key, value = key.strip(), value.strip()
                    if key or value:
                        cookies[key] = _unquote(value)
            self.__dict__["_cookies"] = cookies
        return cookies

    @property
    def url(self) -> URL:
        if self._data is None:
            return super().url  # type: ignore[misc,no-any-return]
        url = self.__dict__.get("_url")
        if url is None:
            data = self._data
            host = self.headers.get("host")
            if host is None:
                server = data.server
                host = f"{server[0]}:{server[1]}" if server else "testserver"
            query = data.query_string.decode("latin-1")
            scheme = data.scheme
            if data.websocket is not None:
                scheme = "wss" if scheme in _SECURE else "ws"
            url = self.__dict__["_url"] = URL(f"{scheme}://{host}{data.path}" + (f"?{query}" if query else ""))
        return url

    @property
    def base_url(self) -> URL:
        if self._data is None:
            return super().base_url  # type: ignore[misc,no-any-return]
        # Starlette's: the app's root, which includes the root_path, ending in one slash.
        root = self._data.root_path
        return URL(str(self.url.replace(path=root if root.endswith("/") else root + "/", query="", fragment="")))

    @property
    def client(self) -> Address | None:
        if self._data is None:
            return super().client  # type: ignore[misc,no-any-return]
        client = self._data.client
        return Address(*client) if client else None

    @property
    def state(self) -> State:
        if self._data is None:
            return super().state  # type: ignore[misc,no-any-return]
        shared = self._shared
        if shared.state is None:
            # Each request starts from a shallow copy of what its shard's lifespan yielded; the
            # core keeps it per request, so middleware and handler share it.
            states = getattr(self._app, "_lifespan_states", None) or []
            shard = self._data.shard
            shared.state = State(dict(states[shard]) if shard < len(states) else {})
        return shared.state

    def url_for(self, name: str, /, **path_params: Any) -> URL:
        if self._data is None:
            return super().url_for(name, **path_params)  # type: ignore[misc,no-any-return]
        return URL(str(self.base_url).rstrip("/") + self._app.url_path_for(name, **path_params))


class Request(CoreConnection, starlette.requests.Request):
    """Starlette's Request. ``Request(scope, receive, send)`` as in Starlette; the core makes one
    from its RequestData with ``Request(data, app=app)``."""

    #: Declared for the type checker only: what the app's middleware entry sets on the request it
    #: makes, the core's handle on the rest of the request (applications.TurboAPI._call_route).
    _core_next: Any

    def __init__(self, scope: Any, receive: Any = empty_receive, send: Any = empty_send, *, app: Any = None) -> None:
        if isinstance(scope, Mapping):
            super().__init__(scope, receive, send)  # type: ignore[arg-type]
            return
        self._init_core(scope, app)
        # Not a bound method of this Request: that would be a reference cycle, and the request
        # (its RequestData, its body) would live until the next garbage collection.
        self._receive = _CoreReceive(scope)
        self._send = send
        self._stream_consumed = False
        self._is_disconnected = False
        self._form = None

    @property
    def method(self) -> str:
        if self._data is None:
            return super().method
        return self._data.method  # type: ignore[no-any-return]

    async def body(self) -> bytes:
        if self._data is None:
            return await super().body()
        body: bytes | None = self.__dict__.get("_body")
        if body is None:
            path = self._data.body_path
            if path is not None:  # a spooled upload, read whole only because the caller asks for it
                from .concurrency import run_in_threadpool

                body = await run_in_threadpool(_read_file, path)
            else:
                body = self._data.body
            self._body = body
        return body

    async def is_disconnected(self) -> bool:
        if self._data is None:
            return await super().is_disconnected()
        # On the fast path the core cancels the handler when its client goes away.
        return False

    def form(
        self, *, max_files: int | float = 1000, max_fields: int | float = 1000, max_part_size: int = 1024 * 1024
    ) -> Any:
        """The body parsed as a form (urlencoded or multipart), as Starlette's: ``await`` it, or
        ``async with`` it to close its files at the end. A broken body is an HTTPException 400."""
        if self._data is None:
            return super().form(max_files=max_files, max_fields=max_fields, max_part_size=max_part_size)
        if (max_files, max_fields, max_part_size) != (1000, 1000, 1024 * 1024):
            raise NotImplementedError(
                "turboapi's request.form() applies Starlette's default limits (1000 files, 1000 fields, "
                "1 MiB per part) on its fast path; other limits are not supported yet"
            )
        return AwaitableOrContextManagerWrapper(self._core_form())

    async def _core_form(self) -> Any:
        if self._form is None:
            from .formparsing import read_form

            data = self._data
            if data.body_path is not None:
                # A spooled upload is read from disk: not on the event loop.
                from .concurrency import run_in_threadpool

                self._form = await run_in_threadpool(read_form, b"", data.content_type, data.body_path)
            else:
                self._form = read_form(data.body, data.content_type)
        return self._form


class _CoreReceive:
    """``receive`` of a core-backed Request: the body as one ``http.request`` message (read whole
    by the core), then nothing more until the client leaves (the core cancels the handler then)."""

    __slots__ = ("_data", "_sent")

    def __init__(self, data: Any) -> None:
        self._data = data
        self._sent = False

    async def __call__(self) -> dict[str, Any]:
        if not self._sent:
            self._sent = True
            path = self._data.body_path
            if path is not None:
                from .concurrency import run_in_threadpool

                body = await run_in_threadpool(_read_file, path)
            else:
                body = self._data.body
            return {"type": "http.request", "body": body, "more_body": False}
        import asyncio

        await asyncio.get_running_loop().create_future()
        raise AssertionError("unreachable")


def _read_file(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()
