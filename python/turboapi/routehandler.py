"""A route run the ASGI way: FastAPI's request handler (``APIRoute.get_route_handler()``), with the
core doing what it does on its fast path.

The core's fast path does not use these: it routes, extracts and serialises by itself and calls
the endpoint directly. They serve a route that is reached through Starlette's machinery instead
(a custom route class, middleware that needs a real ASGI scope, a mounted app): the handler reads
the request from its ``Request`` (a custom Request class's ``body()`` included), asks the core to
extract the route's parameters by the same plan (``Engine.prepare``), calls the endpoint, and
turns its result into a Response the same way; exceptions go to Starlette's exception middleware,
as FastAPI's do.

FastAPI's ``get_request_handler``/``get_websocket_app`` (``routing``) come here too: with the
route's own dependant, as planned, they are the handlers above; with a dependant a library built or
changed (a dependency added, the endpoint wrapped), the standalone handlers below solve it in Python
with ``dependencies.utils.solve_dependencies``, as FastAPI does.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from . import appstate
from .bodies import is_json_content_type
from .concurrency import run_in_threadpool
from .dependencyrunner import NOT_AWAITED
from .exceptions import FastAPIError
from .requests import _Shared


def _core_of(route: Any) -> tuple[Any, int]:
    core = route._core
    if core is None:
        raise RuntimeError(
            f"the route {route.path!r} is not part of an app that turboapi serves (its app must be started: "
            "app.run(), turboapi run, a TestClient, or an ASGI server)"
        )
    return core  # type: ignore[no-any-return]


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
        appstate.current_shard() or 0,  # the shard running it (its lifespan state applies); 0 off one
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
        response = with_length(nxt.finish(result))
        after = data.take_after()
        if after is not None:
            # The dependency exits (and the like) run after the response, after its background.
            from .background import Sequence

            works = [w for w in (response.background, after) if w is not None]
            response.background = Sequence(works)
        return response

    return handler


def with_length(response: Any) -> Any:
    """The core adds Content-Length when it sends a body; sent through Starlette's machinery, the
    response says it itself, as Starlette's ``Response`` does."""
    body = getattr(response, "body", None)
    if isinstance(body, (bytes, bytearray, memoryview)) and not (
        response.status_code < 200 or response.status_code in (204, 304)
    ):
        if not any(name == b"content-length" for name, _ in response.raw_headers):
            response.raw_headers.append((b"content-length", str(len(body)).encode()))
    return response


def websocket_handler(route: Any) -> Any:
    async def handler(websocket: Any) -> None:
        data, nxt = _prepare(route, websocket, "GET", b"")
        await nxt.call()

    return handler


# -- FastAPI's get_request_handler / get_websocket_app ------------------------------------------------
@dataclass
class HandlerSpec:
    """What FastAPI's ``get_request_handler`` is given: a dependant and how to answer for it."""

    dependant: Any
    body_field: Any = None
    status_code: int | None = None
    response_class: Any = None
    response_field: Any = None
    include: Any = None
    exclude: Any = None
    by_alias: bool = True
    exclude_unset: bool = False
    exclude_defaults: bool = False
    exclude_none: bool = False
    overrides_provider: Any = None
    embed_body_fields: bool = False
    strict_content_type: Any = True
    stream_item_field: Any = None
    is_json_stream: bool = False

    @property
    def dump_options(self) -> dict[str, Any]:
        return {
            "include": self.include,
            "exclude": self.exclude,
            "by_alias": self.by_alias,
            "exclude_unset": self.exclude_unset,
            "exclude_defaults": self.exclude_defaults,
            "exclude_none": self.exclude_none,
        }


def http_handler(spec: HandlerSpec, route: Any) -> Any:
    """``route``'s own plan run by the core when ``spec`` describes what it plans (the route's
    dependant, unchanged, answered the route's way); else FastAPI's handler for ``spec``, in Python
    (a library added a dependency, wrapped the endpoint, or built the dependant itself)."""
    if route is not None and _answers_as_planned(spec, route):
        return request_handler(route)
    return standalone_request_handler(spec)


def websocket_app(dependant: Any, overrides_provider: Any, embed_body_fields: bool, route: Any) -> Any:
    if route is not None and dependant.call is route.endpoint and describes_plan(dependant, route.signature.dependant):
        return websocket_handler(route)
    return standalone_websocket_handler(dependant, overrides_provider, embed_body_fields)


def _value(setting: Any) -> Any:
    from .datastructures import DefaultPlaceholder

    return setting.value if isinstance(setting, DefaultPlaceholder) else setting


def _answers_as_planned(spec: HandlerSpec, route: Any) -> bool:
    from .datastructures import DefaultPlaceholder

    sig = route.signature
    return (
        spec.dependant.call is route.endpoint
        and describes_plan(spec.dependant, sig.dependant)
        and spec.embed_body_fields == sig.embed_body
        and spec.body_field is route.body_field
        and spec.status_code == route.status_code
        and _value(spec.response_class) is route.response_class
        and isinstance(spec.response_class, DefaultPlaceholder) != route.custom_response_class
        and spec.response_field is route.response_field
        and spec.dump_options == route._dump_options
        and bool(_value(spec.strict_content_type)) == route.strict_json
        and spec.stream_item_field is route.stream_item_field
        and spec.is_json_stream == route.is_json_stream
    )


def describes_plan(dependant: Any, planned: Any) -> bool:
    """Does FastAPI's ``dependant`` (``dependencies.models``) name the same callables, parameters
    and special objects as turboapi's analysed ``planned`` one, all the way down?"""
    connections = {dependant.request_param_name, dependant.websocket_param_name, dependant.http_connection_param_name}
    if (
        dependant.call is not planned.call
        or dependant.name != planned.name
        or dependant.use_cache != planned.use_cache
        or list(dependant.own_oauth_scopes or []) != list(planned.own_scopes)
        or connections - {None} != set(planned.connection_params)
        or dependant.response_param_name != planned.response_param
        or dependant.background_tasks_param_name != planned.background_param
        or dependant.security_scopes_param_name != planned.scopes_param
        or [f.name for f in dependant.body_params] != [b.name for b in planned.body]
        or len(dependant.dependencies) != len(planned.dependencies)
    ):
        return False
    for source in ("path", "query", "header", "cookie"):
        names = [f.name for f in getattr(dependant, f"{source}_params")]
        if names != [spec.arg for spec in planned.params if spec.source == source]:
            return False
    # (A route's own dependant has FastAPI's scope "function"; only a dependency's scope matters.)
    return all(
        d.scope == p.scope and describes_plan(d, p)
        for d, p in zip(dependant.dependencies, planned.dependencies, strict=True)
    )


class _ThenClose:
    """A response's background, then the request's exit stack (``yield`` dependencies' exits, the
    form's files), as FastAPI's ``request_response`` closes it after the response was sent."""

    def __init__(self, background: Any, stack: AsyncExitStack) -> None:
        self.background = background
        self.stack = stack

    async def __call__(self) -> None:
        async with self.stack:
            if self.background is not None:
                await self.background()


@asynccontextmanager
async def _fastapi_stacks(connection: Any) -> AsyncIterator[AsyncExitStack | None]:
    """FastAPI's exit stacks in the connection's scope, for the handler's duration. The request
    stack is yielded when this opened it (Starlette's ``request_response`` does not): the caller
    hands it on to close after the response; None when a FastAPI-style wrapper owns it."""
    scope = connection.scope
    if isinstance(scope.get("fastapi_inner_astack"), AsyncExitStack):
        async with AsyncExitStack() as function_stack:
            scope["fastapi_function_astack"] = function_stack
            yield None
        return
    request_stack = AsyncExitStack()
    scope["fastapi_inner_astack"] = request_stack
    scope.setdefault("fastapi_middleware_astack", request_stack)
    try:
        async with AsyncExitStack() as function_stack:
            scope["fastapi_function_astack"] = function_stack
            yield request_stack
    except BaseException as exc:
        if await request_stack.__aexit__(type(exc), exc, exc.__traceback__):
            raise FastAPIError(NOT_AWAITED) from exc
        raise


def _endpoint_ctx(dependant: Any, connection: Any, method: str) -> Any:
    from .exceptions import endpoint_context

    path = None
    if dependant.path:
        root = connection.scope.get("root_path", "").rstrip("/")
        path = f"{method} {root}{dependant.path}"
    return endpoint_context(dependant.call, path)


async def _read_body(spec: HandlerSpec, request: Any, ctx: Any) -> Any:
    """The body as FastAPI parses it: a form, a JSON value (by the content type), or the bytes."""
    from .exceptions import HTTPException, RequestValidationError
    from .params import Form

    if spec.body_field is None:
        return None
    try:
        if isinstance(spec.body_field.field_info, Form):
            form = await request.form()
            files = request.scope.get("fastapi_middleware_astack") or request.scope["fastapi_inner_astack"]
            files.push_async_callback(form.close)
            return form
        raw = await request.body()
        if not raw:
            return None
        content_type = request.headers.get("content-type")
        if (
            content_type is None
            and not _value(spec.strict_content_type)
            or (content_type is not None and is_json_content_type(content_type))
        ):
            return json.loads(raw)
        return raw
    except json.JSONDecodeError as exc:
        error = {"type": "json_invalid", "loc": ("body", exc.pos), "msg": "JSON decode error", "input": {}}
        error["ctx"] = {"error": exc.msg}
        raise RequestValidationError([error], body=exc.doc, endpoint_ctx=ctx) from exc
    except HTTPException:
        raise
    except Exception as exc:
        raise HTTPException(status_code=400, detail="There was an error parsing the body") from exc


def standalone_request_handler(spec: HandlerSpec) -> Any:
    """FastAPI's request handler for ``spec``, over ``solve_dependencies``, for any Request."""
    if spec.dependant.call is None:
        raise AssertionError("dependant.call must be a function")

    async def handler(request: Any) -> Any:
        async with _fastapi_stacks(request) as request_stack:
            response = await _respond(spec, request)
        # _exit_callbacks: CPython's private list (typeshed leaves it out), whether anything was entered.
        if request_stack is not None and request_stack._exit_callbacks:  # type: ignore[attr-defined]
            response.background = _ThenClose(response.background, request_stack)
        return response

    return handler


async def _respond(spec: HandlerSpec, request: Any) -> Any:
    from . import routing
    from .datastructures import DefaultPlaceholder
    from .dependencies.models import call_kind
    from .dependencies.utils import solve_dependencies
    from .exception_handlers import is_body_allowed_for_status_code
    from .exceptions import RequestValidationError
    from .responses import Response

    dependant = spec.dependant
    ctx = _endpoint_ctx(dependant, request, request.method)
    body = await _read_body(spec, request, ctx)
    solved = await solve_dependencies(
        request=request,
        dependant=dependant,
        body=body,
        dependency_overrides_provider=spec.overrides_provider,
        async_exit_stack=request.scope["fastapi_inner_astack"],
        embed_body_fields=spec.embed_body_fields,
    )
    if solved.errors:
        raise RequestValidationError(solved.errors, body=body, endpoint_ctx=ctx)
    kind = call_kind(dependant)
    status = solved.response.status_code or spec.status_code
    if kind in ("gen", "asyncgen"):
        items = dependant.call(**solved.values)
        response = _stream(spec, items, status, solved.response)
        response.background = solved.background_tasks
        return response
    raw = await routing.run_endpoint_function(dependant=dependant, values=solved.values, is_coroutine=kind == "async")
    if isinstance(raw, Response):
        if raw.background is None:
            raw.background = solved.background_tasks
        return raw
    args: dict[str, Any] = {"background": solved.background_tasks}
    if status is not None:
        args["status_code"] = status
    # No response class given: pydantic dumps the JSON bytes itself (FastAPI's fast path).
    dump_json = spec.response_field is not None and isinstance(spec.response_class, DefaultPlaceholder)
    content = await routing.serialize_response(
        field=spec.response_field,
        response_content=raw,
        is_coroutine=kind == "async",
        endpoint_ctx=ctx,
        dump_json=dump_json,
        **spec.dump_options,
    )
    if dump_json:
        response = Response(content=content, media_type="application/json", **args)
    else:
        response = _value(spec.response_class)(content, **args)
    if not is_body_allowed_for_status_code(response.status_code):
        response.body = b""
    response.raw_headers.extend(solved.response.raw_headers)
    return response


class _StreamRoute:
    """What ``streaming.GeneratorStream`` reads of a route, from a handler spec."""

    def __init__(self, spec: HandlerSpec) -> None:
        from .datastructures import DefaultPlaceholder

        self.response_class = _value(spec.response_class)
        self.custom_response_class = not isinstance(spec.response_class, DefaultPlaceholder)
        self._dump_options = spec.dump_options


def _stream(spec: HandlerSpec, items: Any, status: int | None, sub: Any) -> Any:
    from .streaming import GeneratorStream

    item_type = spec.stream_item_field.field_info.annotation if spec.stream_item_field is not None else None
    return GeneratorStream(_StreamRoute(spec), item_type).response(items, status or 200, sub)


def standalone_websocket_handler(dependant: Any, overrides_provider: Any, embed_body_fields: bool) -> Any:
    """FastAPI's WebSocket app for ``dependant``, over ``solve_dependencies``."""
    from .dependencies.utils import solve_dependencies
    from .exceptions import WebSocketRequestValidationError

    async def handler(websocket: Any) -> None:
        async with _fastapi_stacks(websocket) as request_stack:
            solved = await solve_dependencies(
                request=websocket,
                dependant=dependant,
                dependency_overrides_provider=overrides_provider,
                async_exit_stack=websocket.scope["fastapi_inner_astack"],
                embed_body_fields=embed_body_fields,
            )
            if solved.errors:
                ctx = _endpoint_ctx(dependant, websocket, "WS")
                raise WebSocketRequestValidationError(solved.errors, endpoint_ctx=ctx)
            await dependant.call(**solved.values)
        if request_stack is not None:
            await request_stack.aclose()

    return handler
