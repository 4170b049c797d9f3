"""Response classes, shaped like Starlette's: a status, a raw header list and body bytes.

The core sends ``body`` as it is (no copy for large bodies) with ``raw_headers``; Content-Length is
set by the server from the body.
"""

from __future__ import annotations

import http.cookies
from collections.abc import AsyncIterable, AsyncIterator, Mapping
from datetime import datetime
from email.utils import format_datetime
from typing import Any, Literal
from urllib.parse import quote

from .concurrency import iterate_in_threadpool
from .datastructures import MutableHeaders


class Response:
    media_type: str | None = None
    charset = "utf-8"

    def __init__(
        self,
        content: Any = None,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        media_type: str | None = None,
        background: Any = None,
    ) -> None:
        self.status_code = status_code
        if media_type is not None:
            self.media_type = media_type
        self.background = background
        self.body = self.render(content)
        self.init_headers(headers)

    def render(self, content: Any) -> bytes:
        if content is None:
            return b""
        if isinstance(content, (bytes, memoryview)):
            return bytes(content)
        return content.encode(self.charset)

    def init_headers(self, headers: Mapping[str, str] | None = None) -> None:
        raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (headers or {}).items()]
        keys = {k for k, _ in raw}
        if self.media_type is not None and b"content-type" not in keys:
            content_type = self.media_type
            if content_type.startswith("text/") and "charset=" not in content_type.lower():
                content_type += "; charset=" + self.charset
            raw.append((b"content-type", content_type.encode("latin-1")))
        self.raw_headers = raw

    @property
    def body_iterator(self) -> AsyncIterator[bytes]:
        """The body as an async iterator (what Starlette's ``call_next`` responses offer)."""

        async def once() -> AsyncIterator[bytes]:
            yield self.body

        return once()

    @property
    def headers(self) -> MutableHeaders:
        return MutableHeaders(raw=self.raw_headers)

    def set_cookie(
        self,
        key: str,
        value: str = "",
        max_age: int | None = None,
        expires: datetime | str | int | None = None,
        path: str | None = "/",
        domain: str | None = None,
        secure: bool = False,
        httponly: bool = False,
        samesite: Literal["lax", "strict", "none"] | None = "lax",
        partitioned: bool = False,
    ) -> None:
        cookie: http.cookies.BaseCookie[str] = http.cookies.SimpleCookie()
        cookie[key] = value
        morsel = cookie[key]
        if max_age is not None:
            morsel["max-age"] = max_age
        if expires is not None:
            morsel["expires"] = format_datetime(expires, usegmt=True) if isinstance(expires, datetime) else expires
        if path is not None:
            morsel["path"] = path
        if domain is not None:
            morsel["domain"] = domain
        if secure:
            morsel["secure"] = True
        if httponly:
            morsel["httponly"] = True
        if samesite is not None:
            if samesite.lower() not in ("strict", "lax", "none"):
                raise ValueError("samesite must be either 'strict', 'lax' or 'none'")
            morsel["samesite"] = samesite
        if partitioned:
            morsel["partitioned"] = True
        self.raw_headers.append((b"set-cookie", cookie.output(header="").strip().encode("latin-1")))

    def delete_cookie(
        self,
        key: str,
        path: str = "/",
        domain: str | None = None,
        secure: bool = False,
        httponly: bool = False,
        samesite: Literal["lax", "strict", "none"] | None = "lax",
    ) -> None:
        self.set_cookie(
            key, max_age=0, expires=0, path=path, domain=domain, secure=secure, httponly=httponly, samesite=samesite
        )


class JSONResponse(Response):
    """JSON through the app's encoder (orjson by default); FastAPI's jsonable types accepted."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        from ._json import dumps

        return dumps(content)


ORJSONResponse = JSONResponse
UJSONResponse = JSONResponse


class HTMLResponse(Response):
    media_type = "text/html"


class PlainTextResponse(Response):
    media_type = "text/plain"


class RedirectResponse(Response):
    def __init__(
        self,
        url: str,
        status_code: int = 307,
        headers: Mapping[str, str] | None = None,
        background: Any = None,
    ) -> None:
        super().__init__(content=b"", status_code=status_code, headers=headers, background=background)
        self.raw_headers.append((b"location", quote(str(url), safe=":/%#?=@[]!$&'()*+,;").encode("latin-1")))


def encode_chunk(chunk: Any, charset: str) -> bytes:
    """A streamed chunk as bytes: bytes-like as they are, ``str`` in the response's charset;
    anything else is an error naming its type (a stream of ints must not become NUL bytes)."""
    if isinstance(chunk, bytes):
        return chunk
    if isinstance(chunk, (bytearray, memoryview)):
        return bytes(chunk)
    if isinstance(chunk, str):
        return chunk.encode(charset)
    raise TypeError(f"a streaming response's iterator yielded {type(chunk).__name__}, not str or bytes")


class StreamingResponse(Response):
    """A body from an iterator of ``bytes``/``str`` chunks (sync or async), sent as it comes, with
    backpressure from the socket (``turboapi.streaming``)."""

    #: Set per instance (this plain attribute hides Response's property of the same name).
    body_iterator: AsyncIterator[Any] = None  # type: ignore[assignment]

    def __init__(
        self,
        content: Any,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        media_type: str | None = None,
        background: Any = None,
    ) -> None:
        self.status_code = status_code
        if media_type is not None:
            self.media_type = media_type
        self.background = background
        self.body_iterator = content if isinstance(content, AsyncIterable) else iterate_in_threadpool(content)
        self.init_headers(headers)


try:
    # A FastAPI app may return Starlette's responses (FastAPI's are Starlette's): sent as they are.
    from starlette.responses import FileResponse as _StarletteFileResponse
    from starlette.responses import Response as _StarletteResponse
    from starlette.responses import StreamingResponse as _StarletteStreamingResponse

    RESPONSE_TYPES: tuple[type, ...] = (Response, _StarletteResponse)
    STREAM_TYPES: tuple[type, ...] = (StreamingResponse, _StarletteStreamingResponse)
    STARLETTE_FILE_TYPES: tuple[type, ...] = (_StarletteFileResponse,)
except ImportError:  # pragma: no cover - Starlette is optional
    RESPONSE_TYPES = (Response,)
    STREAM_TYPES = (StreamingResponse,)
    STARLETTE_FILE_TYPES = ()


def __getattr__(name: str) -> Any:
    # In their own modules (they import this one).
    if name == "FileResponse":
        from .fileresponse import FileResponse

        return FileResponse
    if name == "EventSourceResponse":
        from .sse import EventSourceResponse

        return EventSourceResponse
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
