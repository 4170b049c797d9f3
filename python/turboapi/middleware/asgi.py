"""Pure ASGI middleware (``__call__(scope, receive, send)``, as Starlette's SessionMiddleware,
prometheus' and asgi-correlation-id's are) on turboapi's request-to-response stack.

The middleware gets what Starlette would give it: the request's real scope (the one the handler's
``request.scope`` is, so what it puts there, ``scope["session"]``, reaches the route), ``receive``
and ``send``; what it sends is the response the core writes. Inside it, the rest of the stack and
the route the core already matched and extracted run as usual, as long as the middleware passed
the request on as it came. A middleware that changed what the route was chosen and extracted from
(the path, the method, the query string, the headers, or ``receive``: a body it rewrote) gets
what Starlette would do with its changed request instead: the rest of the stack as Starlette's
classes and Starlette's router, with each route's plan run again on the new request.
"""

from __future__ import annotations

import contextvars
from collections.abc import Awaitable, Callable
from typing import Any

from ..asgi import SERVED_BY_CORE, answer
from ..routehandler import with_length

Layer = Callable[[Any], Awaitable[Any]]

#: The core-backed request the layer is answering (its task's context carries it inward).
_request: contextvars.ContextVar[Any] = contextvars.ContextVar("turboapi_asgi_layer_request")

#: What the core routed and extracted by: the middleware must hand these on unchanged.
_ROUTED_BY = ("type", "method", "path", "root_path", "query_string")


class ASGILayer:
    """Consecutive pure ASGI middleware (outermost first), as one layer around ``inner``.
    ``remainder`` builds the ASGI app for the rest of the stack, used only for a changed request."""

    def __init__(self, chain: list[Any], inner: Layer, remainder: Callable[[], Any]) -> None:
        self.inner = inner
        self._remainder = remainder
        self._remainder_app: Any = None
        app: Any = self._inner_asgi
        for cls, args, kwargs in reversed(chain):
            app = cls(app, *args, **kwargs)
        self.app = app

    async def __call__(self, request: Any) -> Any:
        scope = request.scope
        token = _request.set((request, dict((k, scope.get(k)) for k in _ROUTED_BY), scope["headers"]))
        try:
            return await answer(request, scope, self.app, given_receive=request.receive)
        finally:
            _request.reset(token)

    async def _inner_asgi(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        request, routed_by, headers = _request.get()
        if receive is request.receive and _unchanged(scope, routed_by, headers):
            if scope is not request.scope:
                request.scope = scope  # a middleware's copy (``{**scope, ...}``): the route sees it
            _mark_route(scope, request._core_next.route)
            response = with_length(await self.inner(request))
            await response(scope, receive, send)
            return
        if self._remainder_app is None:
            self._remainder_app = self._remainder()
        scope[SERVED_BY_CORE] = True
        await self._remainder_app(scope, receive, send)


def _mark_route(scope: dict[str, Any], route: Any) -> None:
    """What Starlette's router (and FastAPI's route) put in the scope of a matched request, which
    middleware reads once the app has answered (starlette-exporter's path template, sentry's
    transaction name)."""
    if route is None or getattr(route, "is_mount", False):
        return  # the core's own reply, or a mount (the mounted app's router marks its own)
    route = getattr(route, "route", route)  # the Starlette route behind the core's ASGI entry
    endpoint = getattr(route, "endpoint", None)
    if endpoint is not None:
        scope["endpoint"] = endpoint
        scope["route"] = route


def _unchanged(scope: dict[str, Any], routed_by: dict[str, Any], headers: Any) -> bool:
    if any(scope.get(key) != value for key, value in routed_by.items()):
        return False
    return scope["headers"] is headers or list(scope["headers"]) == list(headers)
