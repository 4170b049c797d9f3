"""``BaseHTTPMiddleware``: a ``dispatch(request, call_next)`` coroutine around the rest of the app."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

CallNext = Callable[[Any], Awaitable[Any]]


class BaseHTTPMiddleware:
    def __init__(self, app: CallNext, dispatch: Callable[[Any, CallNext], Awaitable[Any]] | None = None) -> None:
        self.app = app
        self.dispatch_func = self.dispatch if dispatch is None else dispatch

    async def dispatch(self, request: Any, call_next: CallNext) -> Any:
        raise NotImplementedError()  # pragma: no cover

    async def __call__(self, request: Any) -> Any:
        return await self.dispatch_func(request, self.app)
