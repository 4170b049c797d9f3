"""``BaseHTTPMiddleware``: a ``dispatch(request, call_next)`` coroutine around the rest of the app."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from ..responses import STREAM_TYPES, encode_chunk

CallNext = Callable[[Any], Awaitable[Any]]


class BaseHTTPMiddleware:
    def __init__(self, app: CallNext, dispatch: Callable[[Any, CallNext], Awaitable[Any]] | None = None) -> None:
        self.app = app
        self.dispatch_func = self.dispatch if dispatch is None else dispatch

    async def dispatch(self, request: Any, call_next: CallNext) -> Any:
        raise NotImplementedError()  # pragma: no cover

    async def __call__(self, request: Any) -> Any:
        return await self.dispatch_func(request, self.call_next)

    async def call_next(self, request: Any) -> Any:
        response = await self.app(request)
        if isinstance(response, STREAM_TYPES):
            # As Starlette's call_next: the body iterator of what comes back yields bytes.
            response.body_iterator = _encoded(response.body_iterator, getattr(response, "charset", "utf-8"))
        return response


async def _encoded(chunks: AsyncIterator[Any], charset: str) -> AsyncIterator[bytes]:
    async for chunk in chunks:
        yield encode_chunk(chunk, charset)
