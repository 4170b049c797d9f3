"""``GZipMiddleware`` with Starlette's options: bodies of at least ``minimum_size`` bytes are
gzip-compressed for clients that accept it, except excluded media types and encoded bodies.

``GZipMiddleware`` is Starlette's class (FastAPI's ``fastapi.middleware.gzip`` re-exports it):
it runs as it is when the app is served the ASGI way. ``GZipLayer`` is the same behaviour on turboapi's
request-to-response stack, used for Starlette's class by ``middleware.python_layer`` (and the
core runs the same settings natively when the whole stack is standard)."""

from __future__ import annotations

import gzip
import zlib
from collections.abc import AsyncIterator
from typing import Any

from starlette.middleware.gzip import DEFAULT_EXCLUDED_CONTENT_TYPES, GZipMiddleware

from ..concurrency import run_in_threadpool
from ..responses import STREAM_TYPES, encode_chunk


class GZipLayer:
    def __init__(
        self,
        app: Any,
        minimum_size: int = 500,
        compresslevel: int = 9,
        thread_minimum_size: int = 128 * 1024,
        *,
        exclude_content_types: tuple[str, ...] = DEFAULT_EXCLUDED_CONTENT_TYPES,
    ) -> None:
        if not isinstance(compresslevel, int) or not -1 <= compresslevel <= 9:
            raise ValueError(
                f"GZipMiddleware: compresslevel must be -1 (zlib's default) or 0 to 9, not {compresslevel!r}"
            )
        self.app = app
        self.minimum_size = minimum_size
        self.compresslevel = compresslevel
        self.thread_minimum_size = thread_minimum_size
        self.exclude_content_types = frozenset(t.strip().lower() for t in exclude_content_types)

    async def __call__(self, request: Any) -> Any:
        accepts_gzip = "gzip" in request.headers.get("accept-encoding", "")
        response = await self.app(request)
        headers = response.headers
        if "content-encoding" in headers or response.status_code == 206:
            return response
        media_type = headers.get("content-type", "").partition(";")[0].strip().lower()
        media_types = {media_type, media_type.partition("/")[0] + "/*"}
        if media_type.startswith("application/grpc+"):
            media_types.add("application/grpc")
        if not media_types.isdisjoint(self.exclude_content_types):
            return response
        if isinstance(response, STREAM_TYPES):
            return await self._stream(response, accepts_gzip)
        if not hasattr(response, "body"):
            return response  # a file response: the core sends it as it is (not compressed)
        if len(response.body) < self.minimum_size:
            return response
        headers.add_vary_header("Accept-Encoding")
        if accepts_gzip:
            # A large body is compressed in a thread (Starlette's threshold), not on the loop.
            if len(response.body) >= self.thread_minimum_size:
                response.body = await run_in_threadpool(gzip.compress, response.body, self.compresslevel)
            else:
                response.body = gzip.compress(response.body, compresslevel=self.compresslevel)
            headers["Content-Encoding"] = "gzip"
            if "content-length" in headers:
                headers["Content-Length"] = str(len(response.body))
        return response

    async def _stream(self, response: Any, accepts_gzip: bool) -> Any:
        """Starlette decides at the first chunk: an empty stream is left alone; otherwise
        ``Vary``, and for gzip clients each chunk compressed and flushed as it passes."""
        chunks = response.body_iterator
        charset = getattr(response, "charset", "utf-8")
        try:
            first = await anext(chunks)
        except StopAsyncIteration:
            return response
        response.headers.add_vary_header("Accept-Encoding")
        if accepts_gzip:
            response.headers["Content-Encoding"] = "gzip"
            if "content-length" in response.headers:
                del response.headers["Content-Length"]
        response.body_iterator = _gzipped(first, chunks, charset, self.compresslevel if accepts_gzip else None)
        return response


async def _gzipped(first: Any, rest: AsyncIterator[Any], charset: str, level: int | None) -> AsyncIterator[bytes]:
    """The stream again from its first chunk; compressed when ``level`` is given."""
    compressor = zlib.compressobj(level, zlib.DEFLATED, zlib.MAX_WBITS | 16) if level is not None else None

    def encode(chunk: Any) -> bytes:
        data = encode_chunk(chunk, charset)
        if compressor is None:
            return data
        return compressor.compress(data) + compressor.flush(zlib.Z_SYNC_FLUSH)

    yield encode(first)
    async for chunk in rest:
        yield encode(chunk)
    if compressor is not None:
        yield compressor.flush()


__all__ = ["GZipMiddleware", "GZipLayer"]
