"""``BaseHTTPMiddleware``: Starlette's class (a ``dispatch(request, call_next)`` coroutine around
the rest of the app). On turboapi's request-to-response stack its ``dispatch`` runs with
``call_next`` below; served the ASGI way, Starlette's own ``__call__`` runs it."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable
from typing import Any

from starlette.middleware.base import BaseHTTPMiddleware

from ..responses import STREAM_TYPES, encode_chunk

CallNext = Callable[[Any], Awaitable[Any]]


def dispatch_layer(instance: BaseHTTPMiddleware, inner: CallNext) -> CallNext:
    """``await layer(request) -> Response``: the middleware's ``dispatch`` around ``inner``."""

    async def call_next(request: Any) -> Any:
        response = await inner(request)
        if isinstance(response, STREAM_TYPES):
            # As Starlette's call_next: the body iterator of what comes back yields bytes.
            response.body_iterator = _encoded(response.body_iterator, getattr(response, "charset", "utf-8"))
        return response

    async def layer(request: Any) -> Any:
        return await instance.dispatch_func(request, call_next)

    return layer


async def _encoded(chunks: AsyncIterable[Any], charset: str) -> AsyncIterator[bytes]:
    async for chunk in chunks:
        yield encode_chunk(chunk, charset)


__all__ = ["BaseHTTPMiddleware", "dispatch_layer"]
