"""``Request``: the incoming request as a handler sees it, read lazily from the core's RequestData.
``HTTPConnection`` holds what a request and a WebSocket share."""

from __future__ import annotations

import json
from functools import cached_property
from typing import Any

from .datastructures import URL, Address, Headers, QueryParams, State


class HTTPConnection:
    #: ``scope["type"]``
    scope_type = "http"

    def __init__(self, data: Any, *, app: Any = None) -> None:
        self._data = data
        self.app = app
        self._state: State | None = None

    @cached_property
    def headers(self) -> Headers:
        return Headers(raw=self._data.headers)

    @cached_property
    def query_params(self) -> QueryParams:
        return QueryParams(self._data.query_string)

    @cached_property
    def path_params(self) -> dict[str, Any]:
        return self._data.path_params

    @cached_property
    def cookies(self) -> dict[str, str]:
        from http.cookies import _unquote  # type: ignore[attr-defined]

        cookies: dict[str, str] = {}
        for header in self.headers.getlist("cookie"):
            for chunk in header.split(";"):
                key, sep, value = chunk.partition("=")
                if not sep:
                    key, value = "", key
                key, value = key.strip(), value.strip()
                if key or value:
                    cookies[key] = _unquote(value)
        return cookies

    @cached_property
    def url(self) -> URL:
        host = self.headers.get("host")
        if host is None:
            server = self._data.server
            host = f"{server[0]}:{server[1]}" if server else "testserver"
        query = self._data.query_string.decode("latin-1")
        path = self._data.path
        return URL(f"{self._data.scheme}://{host}{path}" + (f"?{query}" if query else ""))

    @property
    def base_url(self) -> URL:
        # Starlette's: the app's root, which includes the root_path, ending in one slash.
        root = self._data.root_path
        return URL(str(self.url.replace(path=root if root.endswith("/") else root + "/", query="", fragment="")))

    @property
    def client(self) -> Address | None:
        client = self._data.client
        return Address(*client) if client else None

    @property
    def state(self) -> State:
        if self._state is None:
            # Each request starts from a shallow copy of what its shard's lifespan yielded; the
            # core keeps it per request, so middleware and handler share it.
            states = getattr(self.app, "_lifespan_states", None) or [{}]
            initial = states[self._data.shard]
            self._state = self._data.shared_state(lambda: State(dict(initial)))
        return self._state

    @property
    def scope(self) -> dict[str, Any]:
        return {
            "type": self.scope_type,
            "path": self._data.path,
            "raw_path": self._data.raw_path,
            "query_string": self._data.query_string,
            "headers": self._data.headers,
            "client": self._data.client,
            "server": self._data.server,
            "path_params": self.path_params,
            "app": self.app,
            "root_path": self._data.root_path,
            "scheme": self._data.scheme,
        }

    def __getitem__(self, key: str) -> Any:
        return self.scope[key]

    def url_for(self, name: str, /, **path_params: Any) -> URL:
        return URL(str(self.base_url).rstrip("/") + self.app.url_path_for(name, **path_params))


class Request(HTTPConnection):
    #: The parsed form: from request.form(), or the one the route's Form parameters came from.
    _form: Any = None

    @property
    def method(self) -> str:
        return self._data.method

    @property
    def scope(self) -> dict[str, Any]:
        return {**super().scope, "method": self.method}

    async def body(self) -> bytes:
        path = self._data.body_path
        if path is not None:  # a spooled upload, read whole only because the caller asks for it
            with open(path, "rb") as f:
                return f.read()
        return self._data.body

    async def json(self) -> Any:
        return json.loads(await self.body())

    def form(
        self, *, max_files: int | float = 1000, max_fields: int | float = 1000, max_part_size: int = 1024 * 1024
    ) -> _FormReader:
        """The body parsed as a form (urlencoded or multipart), as Starlette's: ``await`` it, or
        ``async with`` it to close its files at the end. Starlette's default limits apply; a
        broken body is an HTTPException 400."""
        if (max_files, max_fields, max_part_size) != (1000, 1000, 1024 * 1024):
            raise NotImplementedError(
                "turboapi's request.form() applies Starlette's default limits (1000 files, 1000 fields, "
                "1 MiB per part); other limits are not supported yet"
            )
        return _FormReader(self)

    async def close(self) -> None:
        if self._form is not None:
            await self._form.close()


class _FormReader:
    """What ``request.form()`` returns: awaitable, and an async context manager (Starlette's
    AwaitableOrContextManager)."""

    def __init__(self, request: Request) -> None:
        self._request = request

    async def _parse(self) -> Any:
        request = self._request
        if request._form is None:
            from .formparsing import read_form

            data = request._data
            if data.body_path is not None:
                # A spooled upload is read from disk: not on the event loop.
                from .concurrency import run_in_threadpool

                request._form = await run_in_threadpool(read_form, b"", data.content_type, data.body_path)
            else:
                request._form = read_form(data.body, data.content_type)
        return request._form

    def __await__(self) -> Any:
        return self._parse().__await__()

    async def __aenter__(self) -> Any:
        return await self._parse()

    async def __aexit__(self, *exc_info: Any) -> None:
        await self._request.close()


try:
    # Parameters annotated with Starlette's classes (FastAPI's Request and WebSocket are Starlette's)
    # get ours: the Request on an HTTP route, the WebSocket on a WebSocket route.
    from starlette.requests import HTTPConnection as _StarletteConnection

    REQUEST_TYPES: tuple[type, ...] = (HTTPConnection, _StarletteConnection)
except ImportError:  # pragma: no cover - Starlette is optional
    REQUEST_TYPES = (HTTPConnection,)
