"""A route run the ASGI way: FastAPI's request handler (``APIRoute.get_route_handler()``), with the
core doing what it does on its fast path.

The core's fast path does not use these: it routes, extracts and serialises by itself and calls
the endpoint directly. They serve a route that is reached through Starlette's machinery instead
(a custom route class, middleware that needs a real ASGI scope, a mounted app): the handler reads
the request from its ``Request`` (a custom Request class's ``body()`` included), asks the core to
extract the route's parameters by the same plan (``Engine.prepare``), calls the endpoint, and
turns its result into a Response the same way; exceptions go to Starlette's exception middleware,
as FastAPI's do.
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import quote

from .concurrency import run_in_threadpool
from .requests import _Shared


def _core_of(route: Any) -> tuple[Any, int]:
    core = route._core
    if core is None:
        raise RuntimeError(
            f"the route {route.path!r} is not part of an app that turboapi serves (its app must be started: "
            "app.run(), turboapi run, a TestClient, or an ASGI server)"
        )
    return core  # type: ignore[no-any-return]


#: Each loop shard's index, by its loop (set by the Runtime).
shard_of_loop: dict[Any, int] = {}


def _shard_index() -> int:
    """The loop shard running the caller (its lifespan state applies); 0 off a shard."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return 0
    return shard_of_loop.get(loop, 0)


def _prepare(route: Any, connection: Any, method: str, body: bytes) -> tuple[Any, Any]:
    engine, index = _core_of(route)
    scope = connection.scope
    path_params = scope.get("path_params", {})
    path_values = [str(path_params.get(name, "")) for name in route.path_param_names]
    target = quote(scope.get("path", "/"), safe="/:@!$&'()*+,;=-._~")
    query = scope.get("query_string", b"")
    if query:
        target += "?" + query.decode("latin-1")
    headers = [(bytes(name), bytes(value)) for name, value in connection.headers.raw]
    client = scope.get("client")
    data, nxt = engine.prepare(
        index,
        _shard_index(),
        method,
        target,
        headers,
        body,
        path_values,
        tuple(client) if client else None,
        scope.get("scheme", "http"),
    )
    # The handler's `request` (and its dependencies') is this one, not one made from the core's data.
    data.shared_state(_Shared).request = connection
    return data, nxt


def request_handler(route: Any) -> Any:
    async def handler(request: Any) -> Any:
        body = await request.body() if route.reads_body else b""
        data, nxt = _prepare(route, request, request.method, body)
        if nxt.is_async:
            result = await nxt.call()
        else:
            result = await run_in_threadpool(nxt.call)
        response = nxt.finish(result)
        after = data.take_after()
        if after is not None:
            # The dependency exits (and the like) run after the response, after its background.
            from .background import Sequence

            works = [w for w in (response.background, after) if w is not None]
            response.background = Sequence(works)
        return response

    return handler


def websocket_handler(route: Any) -> Any:
    async def handler(websocket: Any) -> None:
        data, nxt = _prepare(route, websocket, "GET", b"")
        await nxt.call()

    return handler
