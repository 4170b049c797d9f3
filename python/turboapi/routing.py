"""Routes and routers: what the decorators register, and each route's Python half of a request."""

from __future__ import annotations

import contextlib
import copy as copy_module
import dataclasses
import functools
import inspect
import os
import re
import threading
from collections.abc import Callable, Collection, Iterator, Sequence
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, Literal, get_type_hints

import starlette.routing
import typing_extensions
from pydantic import TypeAdapter
from starlette._utils import get_route_path
from starlette.routing import Mount as Mount
from starlette.routing import NoMatchFound as NoMatchFound
from starlette.routing import compile_path, request_response, websocket_session
from starlette.types import Scope

from . import dependencies as deps
from . import frontend as _frontend
from . import params
from .concurrency import run_in_threadpool
from .datastructures import Default
from .datastructures import DefaultPlaceholder as _Default
from .dependencyrunner import DependencyRunner, RequestScope
from .exceptions import (
    FastAPIError,
    RequestValidationError,
    ResponseValidationError,
    WebSocketException,
    WebSocketRequestValidationError,
)
from .fastapiscope import (
    _FASTAPI_EFFECTIVE_ROUTE_CONTEXT_KEY,
    _FASTAPI_FRONTEND_SPECIFICITY_KEY,
    _FASTAPI_INCLUDED_ROUTER_KEY,
    _SCOPE_MISSING,
    _get_fastapi_scope,
    _restore_fastapi_scope_key,
    _scope_entry,
    _update_scope,
)
from .requests import Request, request_for
from .responses import RESPONSE_TYPES, JSONResponse, Response
from .solving import solve_simple
from .sse import _PING_INTERVAL as _PING_INTERVAL  # fastapi.routing has it; streaming reads it
from .streaming import GeneratorStream, is_generator_function, stream_item_type
from .websockets import WebSocket

if TYPE_CHECKING:
    from ._compat import ModelField
    from .dependencies.models import Dependant

PATH_PARAM = re.compile(r"{([^}:]+)(?::[^}]*)?}")
#: A mount answers every method (StaticFiles itself says 405 for all but GET and HEAD).
MOUNT_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


#: FastAPI's deprecation message for ``on_event`` (the app's and the router's).
_ON_EVENT_DEPRECATION = """
        on_event is deprecated, use lifespan event handlers instead.

        Read more about it in the
        [FastAPI docs for Lifespan Events](https://fastapi.tiangolo.com/advanced/events/).
        """


def _generate_unique_id(route: Any) -> str:
    from .openapi.utils import generate_unique_id

    return generate_unique_id(route)


def _is_coroutine_function(fn: Any) -> bool:
    if inspect.iscoroutinefunction(fn):
        return True
    call = getattr(fn, "__call__", None)  # noqa: B004 - a callable object's async __call__
    return inspect.iscoroutinefunction(call)


class PlannedRoute:
    """What turboapi's routes share: the handler's signature analysed once into the plan the core
    runs (``param_specs``, ``core_endpoint``...), and the Python half of a request (``solve``,
    ``serialize``). ``APIRoute`` and ``APIWebSocketRoute`` add Starlette's route on top."""

    #: A ``MountRoute`` (below) answers every path under its prefix.
    is_mount = False
    #: Set on an included route's effective copy: the route the user registered (what
    #: ``scope["route"]`` reports), and the include context it belongs to. (Annotations only:
    #: a route that is not a copy has neither.)
    original_route: Any
    _effective_context: Any
    #: An ``APIWebSocketRoute`` (below) is reached only by WebSocket handshakes.
    is_websocket = False
    #: The core routes WebSocket handshakes here (a WebSocket route, a mounted ASGI app).
    accepts_websocket = False
    #: The core hands the request body over as it arrives (a mounted ASGI app's ``receive``).
    streams_body = False

    def __init__(
        self,
        path: str,
        endpoint: Callable[..., Any],
        *,
        methods: Sequence[str] | None = None,
        status_code: int | None = None,
        response_model: Any = Default(None),
        response_class: Any = Default(JSONResponse),
        name: str | None = None,
        tags: list[Any] | None = None,
        summary: str | None = None,
        description: str | None = None,
        response_description: str = "Successful Response",
        responses: dict[Any, Any] | None = None,
        deprecated: bool | None = None,
        operation_id: str | None = None,
        include_in_schema: bool = True,
        dependencies: Sequence[Any] | None = None,
        response_model_include: Any = None,
        response_model_exclude: Any = None,
        response_model_by_alias: bool = True,
        response_model_exclude_unset: bool = False,
        response_model_exclude_defaults: bool = False,
        response_model_exclude_none: bool = False,
        openapi_extra: dict[str, Any] | None = None,
        callbacks: list[Any] | None = None,
        generate_unique_id_function: Any = None,
        dependency_overrides_provider: Any = None,
        strict_content_type: Any = Default(True),
        **unsupported: Any,
    ) -> None:
        for key, value in unsupported.items():
            if value not in (None, [], {}, True, False) and not isinstance(value, _Default):
                raise FastAPIError(f"route option {key}= is not supported by turboapi yet")
        self.dependencies = list(dependencies or [])
        #: As given (a ``Default(...)`` the router's or an include's setting may still replace).
        self.strict_content_type = strict_content_type
        #: FastAPI's ``strict_content_type``: a body without a Content-Type is not read as JSON.
        strict = strict_content_type.value if isinstance(strict_content_type, _Default) else strict_content_type
        self.strict_json = bool(strict)
        self.openapi_extra = openapi_extra
        #: Routes documented as this operation's OpenAPI callbacks, never served.
        self.callbacks = callbacks
        self.response_model_include = response_model_include
        self.response_model_exclude = response_model_exclude
        self.response_model_by_alias = response_model_by_alias
        self.response_model_exclude_unset = response_model_exclude_unset
        self.response_model_exclude_defaults = response_model_exclude_defaults
        self.response_model_exclude_none = response_model_exclude_none
        self.path = path
        self.endpoint = endpoint
        # Typed as Starlette's Route declares them (APIRoute is one).
        self.methods: set[str] | None = {m.upper() for m in (methods or ["GET"])}
        self.methods_list = sorted(self.methods)
        self.name: str = name if name else getattr(endpoint, "__name__", "endpoint")
        self.status_code = status_code
        self.status_code_or_default = status_code or 200
        self.tags = tags or []
        self.summary = summary
        # FastAPI documents the docstring up to a form feed.
        docstring = inspect.cleandoc(getattr(endpoint, "__doc__", None) or "")
        self.description = (description or docstring).split("\f")[0].strip()
        self.response_description = response_description
        self.responses = responses or {}
        self.deprecated = deprecated
        self.operation_id = operation_id
        self.include_in_schema = include_in_schema
        self.is_async = _is_coroutine_function(endpoint)
        #: As given (a ``Default(...)`` an including router's default may still replace).
        self.declared_response_class = response_class
        self.response_class = response_class.value if isinstance(response_class, _Default) else response_class
        #: ``unique_id``'s function (``operation_id`` aside), as given: route, router, include, app.
        self.generate_unique_id_function = generate_unique_id_function or Default(_generate_unique_id)
        self.custom_response_class = not isinstance(response_class, _Default)
        self.path_param_names = PATH_PARAM.findall(path)
        self.signature = deps.analyze(endpoint, self.path_param_names, self.dependencies)
        self.param_specs = self.signature.params
        sig = self.signature
        #: The ASGI way reads the body before it asks the core for the parameters only if some are in it.
        self.reads_body = bool(sig.body)
        self.has_model_params = any(spec.model for spec in sig.params)
        #: The one body parameter, when it is a JSON body validated whole (the fast path).
        self.single_json_body = (
            sig.body[0]
            if len(sig.body) == 1
            and not sig.embed_body
            and not isinstance(sig.body[0].info, params.Form)
            and not self.has_model_params
            else None
        )
        #: As given (``Default(None)``: from the return annotation), for a copy made on include.
        self.declared_response_model = response_model
        #: A generator endpoint streams its items (None for other endpoints).
        self.stream: GeneratorStream | None = None
        if is_generator_function(endpoint):
            annotation = None
            if isinstance(response_model, _Default):
                with contextlib.suppress(Exception):
                    annotation = get_type_hints(endpoint).get("return")
            item_type = stream_item_type(annotation)
            self.stream = GeneratorStream(self, item_type)
            if item_type is not None:
                response_model = None  # the annotation types the items, not a response
        self.response_model = self._response_model(response_model)
        self.response_adapter = self._response_adapter(self.response_model)
        # Starlette's matching and reversing (route.matches(), url_path_for(), path_regex).
        self.path_regex, self.path_format, self.param_convertors = compile_path(path)
        #: The app this route is served in (set when it starts; its dependency overrides and
        #: exception handlers apply), and (engine, index) where the core keeps its plan.
        self._application: Any = None
        self._core: tuple[Any, int] | None = None
        if sig.simple:
            # The core calls the handler itself with the kwargs it built.
            self.core_endpoint = endpoint
            self.core_is_async = self.is_async
            self.always_solve = bool(sig.body or sig.request_param or sig.response_param or self.has_model_params)
            self.custom_serialize = bool(
                self.response_adapter is not None
                or self.custom_response_class
                or sig.response_param
                or self.stream is not None
            )
        else:
            # Dependencies: `solve` returns a RequestScope, the runner does the rest and returns a Response.
            self.runner = DependencyRunner(self)
            self.core_is_async = sig.is_async
            self.core_endpoint = self.runner.run_async if sig.is_async else self.runner.run_sync
            self.always_solve = True
            self.custom_serialize = False

    def _response_model(self, response_model: Any) -> Any:
        if isinstance(response_model, _Default):
            try:
                response_model = get_type_hints(self.endpoint).get("return")
            except Exception:
                response_model = None
            if isinstance(response_model, type) and issubclass(response_model, RESPONSE_TYPES):
                response_model = None
        if response_model is type(None) or not response_model:
            # FastAPI keeps no response model for a falsy one (`response_model={}`, `[]`, `0`...).
            return None
        status = self.status_code_or_default
        if status < 200 or status in (204, 304):
            return None
        return response_model

    @staticmethod
    def _response_adapter(response_model: Any) -> TypeAdapter[Any] | None:
        if response_model is None:
            return None
        try:
            return TypeAdapter(response_model)
        except Exception as exc:  # pydantic has no schema for it: FastAPI refuses it at registration too
            from .utils import INVALID_RESPONSE_FIELD

            raise FastAPIError(INVALID_RESPONSE_FIELD.format(type_=response_model)) from exc

    # -- called by the core -------------------------------------------------------------------
    def solve(self, kwargs: dict[str, Any], pending: list[tuple[int, Any]], data: Any) -> RequestScope | None:
        """Finish the handler's arguments (None), or with dependencies, the scope the runner takes."""
        if self.signature.simple:
            solve_simple(self, kwargs, pending, data)
            return None
        return RequestScope(kwargs, pending, data, self._application, self)

    def serialize(self, result: Any, kwargs: dict[str, Any] | None = None) -> Any:
        sub = kwargs.get(self.signature.response_param) if kwargs and self.signature.response_param else None
        return self.render(result, sub)

    @functools.cached_property
    def _dump_options(self) -> dict[str, Any]:
        return {
            "include": self.response_model_include,
            "exclude": self.response_model_exclude,
            "by_alias": self.response_model_by_alias,
            "exclude_unset": self.response_model_exclude_unset,
            "exclude_defaults": self.response_model_exclude_defaults,
            "exclude_none": self.response_model_exclude_none,
        }

    def _endpoint_ctx(self, method: str | None = None, data: Any = None) -> Any:
        """FastAPI's ``endpoint_ctx`` of an error in this route (built only when there is one);
        ``data``'s root path (a mount's prefix) goes in front of the route's path."""
        from .exceptions import endpoint_context

        method = method or (self.methods_list[0] if self.methods_list else "GET")
        root = getattr(data, "root_path", None) or ""
        if data is not None and not root:
            from .requests import _Shared

            connection = data.shared_state(_Shared).request  # came the ASGI way (a mounted app)
            root = connection.scope.get("root_path", "") if connection is not None else ""
        return endpoint_context(self.endpoint, f"{method} {root.rstrip('/')}{self.path}")

    def render(self, result: Any, sub: Any) -> Any:
        """JSON bytes of a non-Response result, or a Response when the route shapes it
        (response_class, or headers/status set on a `Response` parameter)."""
        status = (sub.status_code if sub is not None else None) or self.status_code_or_default
        if self.stream is not None:
            return self.stream.response(result, status, sub)
        if self.response_adapter is not None:
            value, errors = deps.validate(self.response_adapter, result, ("response",))
            if errors:
                raise ResponseValidationError(errors, body=result, endpoint_ctx=self._endpoint_ctx())
            content = self.response_adapter.dump_json(value, **self._dump_options)
            if sub is None and not self.custom_response_class:
                return content
            if self.custom_response_class:
                response = self.response_class(
                    self.response_adapter.dump_python(value, mode="json", **self._dump_options), status_code=status
                )
            else:
                response = Response(content, status_code=status, media_type="application/json")
        else:
            # As FastAPI: a status only when the route or the `Response` parameter set one, else the
            # class's own (a RedirectResponse of a returned URL is a 307).
            explicit = (sub.status_code if sub is not None else None) or self.status_code
            response = self.response_class(result, **({"status_code": explicit} if explicit else {}))
        if sub is not None:
            response.raw_headers.extend(sub.raw_headers)
        return response


# -- FastAPI's request handlers -------------------------------------------------------------------
#: The route whose ASGI handler is being made: FastAPI's ``get_request_handler`` and
#: ``get_websocket_app`` (turboapi's, or a library's wrapper around them) run that route's plan
#: through the core when the dependant they are given is the route's, as planned.
_handler_route: ContextVar[Any] = ContextVar("turboapi_handler_route", default=None)


def get_request_handler(
    dependant: Dependant,
    body_field: ModelField | None = None,
    status_code: int | None = None,
    response_class: Any = Default(JSONResponse),
    response_field: ModelField | None = None,
    response_model_include: Any = None,
    response_model_exclude: Any = None,
    response_model_by_alias: bool = True,
    response_model_exclude_unset: bool = False,
    response_model_exclude_defaults: bool = False,
    response_model_exclude_none: bool = False,
    dependency_overrides_provider: Any | None = None,
    embed_body_fields: bool = False,
    strict_content_type: Any = Default(True),
    stream_item_field: ModelField | None = None,
    is_json_stream: bool = False,
) -> Callable[[Request], Any]:
    """``await handler(request) -> Response`` for a dependant, as FastAPI's: the route's plan run by
    the core when ``dependant`` is the route's as turboapi planned it (``APIRoute.get_route_handler``),
    else the dependant solved in Python (``solve_dependencies``) and its result serialised here."""
    from .routehandler import HandlerSpec, http_handler

    spec = HandlerSpec(
        dependant,
        body_field,
        status_code,
        response_class,
        response_field,
        response_model_include,
        response_model_exclude,
        response_model_by_alias,
        response_model_exclude_unset,
        response_model_exclude_defaults,
        response_model_exclude_none,
        dependency_overrides_provider,
        embed_body_fields,
        strict_content_type,
        stream_item_field,
        is_json_stream,
    )
    return http_handler(spec, _handler_route.get())  # type: ignore[no-any-return]


def get_websocket_app(
    dependant: Dependant, dependency_overrides_provider: Any | None = None, embed_body_fields: bool = False
) -> Callable[[WebSocket], Any]:
    """``await app(websocket)`` for a dependant, as FastAPI's (see ``get_request_handler``)."""
    from .routehandler import websocket_app

    return websocket_app(dependant, dependency_overrides_provider, embed_body_fields, _handler_route.get())  # type: ignore[no-any-return]


_DEFAULT_HANDLERS = (get_request_handler, get_websocket_app)


def uses_default_handler(route: Any = None) -> bool:
    """Is this module's ``get_request_handler`` (for a WebSocket route, ``get_websocket_app``; with
    no route, both) still turboapi's? A library may replace it (sentry-sdk wraps
    ``get_request_handler``): the route must then be served the ASGI way, through ``route.app``,
    whose handler the replacement makes."""
    if isinstance(route, APIWebSocketRoute):
        return get_websocket_app is _DEFAULT_HANDLERS[1]
    if route is not None:
        return get_request_handler is _DEFAULT_HANDLERS[0]
    return (get_request_handler, get_websocket_app) == _DEFAULT_HANDLERS


async def serialize_response(
    *,
    field: ModelField | None = None,
    response_content: Any,
    include: Any = None,
    exclude: Any = None,
    by_alias: bool = True,
    exclude_unset: bool = False,
    exclude_defaults: bool = False,
    exclude_none: bool = False,
    is_coroutine: bool = True,
    endpoint_ctx: Any = None,
    dump_json: bool = False,
) -> Any:
    """An endpoint's result validated by the response field and dumped (JSON bytes with
    ``dump_json``); without a field, ``jsonable_encoder``'s output."""
    if field is None:
        from .encoders import jsonable_encoder

        return jsonable_encoder(response_content)
    if is_coroutine:
        value, errors = field.validate(response_content, {}, loc=("response",))
    else:
        value, errors = await run_in_threadpool(field.validate, response_content, {}, loc=("response",))
    if errors:
        from .exceptions import EndpointContext

        raise ResponseValidationError(errors, body=response_content, endpoint_ctx=endpoint_ctx or EndpointContext())
    dump = field.serialize_json if dump_json else field.serialize
    return dump(
        value,
        include=include,
        exclude=exclude,
        by_alias=by_alias,
        exclude_unset=exclude_unset,
        exclude_defaults=exclude_defaults,
        exclude_none=exclude_none,
    )


async def run_endpoint_function(*, dependant: Dependant, values: dict[str, Any], is_coroutine: bool) -> Any:
    """Call the dependant's endpoint with its solved values (a sync one in a worker thread)."""
    if dependant.call is None:
        raise AssertionError("dependant.call must be a function")
    if is_coroutine:
        return await dependant.call(**values)
    return await run_in_threadpool(dependant.call, **values)


class DependantView:
    """FastAPI's description of a route's parameters (``dependant``), built on first use from the
    endpoint and the route's planned dependencies. The core runs its own plan (``signature``); a
    library reads this one, and may change it: each is a plain attribute once read."""

    path_format: str
    endpoint: Callable[..., Any]
    signature: deps.EndpointSignature

    @functools.cached_property
    def dependant(self) -> Dependant:
        from .dependencies.utils import get_dependant

        dependant = get_dependant(path=self.path_format, call=self.endpoint, scope="function")
        # The route's `dependencies=` as they were planned (the core's tree has them first, unnamed):
        # a library that appends to `route.dependencies` later changes neither.
        planned = [d for d in self.signature.dependant.dependencies if d.name is None]
        dependant.dependencies[:0] = [
            get_dependant(path=self.path_format, call=d.call, scope=d.scope, own_oauth_scopes=list(d.own_scopes))  # type: ignore[arg-type]
            for d in planned
        ]
        return dependant

    @functools.cached_property
    def _embed_body_fields(self) -> bool:
        from .dependencies.utils import _get_flat_body_params, _should_embed_body_fields

        return _should_embed_body_fields(_get_flat_body_params(self.dependant))


class APIRoute(DependantView, PlannedRoute, starlette.routing.Route):
    """A path operation: Starlette's Route (``matches``, ``url_path_for``, ``app``), whose handler
    the core runs on its fast path. Its ASGI ``app`` (``request_response(get_route_handler())``, as
    in FastAPI) runs it the ASGI way, through the same plan: for a custom route class, middleware
    that needs a real scope, or a mounted app."""

    @property
    def app(self) -> Any:
        app = self.__dict__.get("_asgi_app")
        if app is None:
            # (Our Request is Starlette's subclass, which request_response makes: the handler takes it.)
            app = request_response(self.get_route_handler())  # type: ignore[arg-type]
            app._turboapi_default = True  # type: ignore[attr-defined]  # not a replacement (routetable.handled_its_own_way)
            self.__dict__["_asgi_app"] = app
        return app

    @app.setter
    def app(self, value: Any) -> None:
        self.__dict__["_asgi_app"] = value

    @property
    def dependency_overrides_provider(self) -> Any:
        return self._application

    # FastAPI's view of the route's body and response (see DependantView).
    @functools.cached_property
    def unique_id(self) -> str:
        function = self.generate_unique_id_function
        if isinstance(function, _Default):
            function = function.value
        return self.operation_id or function(self)

    @functools.cached_property
    def body_field(self) -> ModelField | None:
        from .dependencies.utils import _get_body_field, _get_flat_body_params

        body_params = _get_flat_body_params(self.dependant)
        return _get_body_field(body_params=body_params, name=self.unique_id, embed_body_fields=self._embed_body_fields)

    @functools.cached_property
    def response_field(self) -> ModelField | None:
        from .utils import create_model_field

        if self.response_model is None:
            return None
        return create_model_field(name="Response_" + self.unique_id, type_=self.response_model, mode="serialization")

    @functools.cached_property
    def response_fields(self) -> dict[Any, ModelField]:
        from .utils import create_model_field

        return {
            code: create_model_field(name=f"Response_{code}_{self.unique_id}", type_=r["model"], mode="serialization")
            for code, r in self.responses.items()
            if isinstance(r, dict) and r.get("model")
        }

    @functools.cached_property
    def stream_item_field(self) -> ModelField | None:
        from .dependencies.utils import get_stream_item_type, get_typed_return_annotation
        from .utils import create_model_field

        if self.stream is None or self.stream.item_adapter is None:
            return None
        item_type = get_stream_item_type(get_typed_return_annotation(self.endpoint))
        return create_model_field(name="StreamItem_" + self.unique_id, type_=item_type, mode="serialization")

    @property
    def is_json_stream(self) -> bool:
        return self.stream is not None and self.stream.mode == "jsonl"

    @property
    def is_sse_stream(self) -> bool:
        return self.stream is not None and self.stream.mode == "sse"

    def get_route_handler(self) -> Callable[[Request], Any]:
        """``await handler(request) -> Response``: FastAPI's ``get_request_handler`` for this route,
        looked up when called (a library's replacement of it applies). As long as the route's
        dependant is what turboapi planned, the handler runs the plan through the core, which
        extracts the parameters and serialises the result as on its fast path."""
        route = self
        context = _effective_route_context_var.get()
        if context is not None and context.original_route is self and context.route is not None:
            route = context.route  # included: the route as its includes make it
        token = _handler_route.set(route)
        try:
            return get_request_handler(
                dependant=route.dependant,
                body_field=route.body_field,
                status_code=route.status_code,
                response_class=route.response_class if route.custom_response_class else Default(route.response_class),
                response_field=route.response_field,
                response_model_include=route.response_model_include,
                response_model_exclude=route.response_model_exclude,
                response_model_by_alias=route.response_model_by_alias,
                response_model_exclude_unset=route.response_model_exclude_unset,
                response_model_exclude_defaults=route.response_model_exclude_defaults,
                response_model_exclude_none=route.response_model_exclude_none,
                dependency_overrides_provider=route.dependency_overrides_provider,
                embed_body_fields=route._embed_body_fields,
                stream_item_field=route.stream_item_field,
                is_json_stream=route.is_json_stream,
            )
        finally:
            _handler_route.reset(token)

    def _context_in(self, scope: Scope) -> Any:
        context = _scope_entry(scope, _FASTAPI_EFFECTIVE_ROUTE_CONTEXT_KEY)
        return context if context is not None and context.original_route is self else None

    def matches(self, scope: Scope) -> tuple[starlette.routing.Match, Scope]:
        """Starlette's match; for a route of an included router, against its effective path."""
        context = self._context_in(scope)
        if context is not None:
            match, child_scope = context.matches(scope)
        else:
            match, child_scope = super().matches(scope)
        if match != starlette.routing.Match.NONE:
            child_scope["route"] = self
        return match, child_scope

    async def handle(self, scope: Scope, receive: Any, send: Any) -> None:
        context = self._context_in(scope)
        if context is None:
            await super().handle(scope, receive, send)
            return
        methods = context.methods
        if methods and scope["method"] not in methods:
            headers = {"Allow": ", ".join(methods)}
            if "app" in scope:
                from .exceptions import STARLETTE_HTTP_EXCEPTION

                raise STARLETTE_HTTP_EXCEPTION(status_code=405, headers=headers)
            from starlette.responses import PlainTextResponse

            await PlainTextResponse("Method Not Allowed", status_code=405, headers=headers)(scope, receive, send)
            return
        token = _effective_route_context_var.set(context)
        try:
            app = request_response(self.get_route_handler())  # type: ignore[arg-type]
        finally:
            _effective_route_context_var.reset(token)
        await app(scope, receive, send)


def reachable(routes: list[Any]) -> list[Any]:
    """The routes a request can reach. Starlette tries routes in order and a mount takes every path
    below its prefix, so a route registered after a mount, under its prefix, is never reached;
    without this, the core's router (which prefers static segments) would pick it."""
    out: list[Any] = []
    prefixes: list[str] = []
    for route in routes:
        if any(route.path.startswith(prefix) for prefix in prefixes):
            continue
        if route.is_mount:
            prefixes.append(route.prefix + "/")
        out.append(route)
    return out


class APIRouter(starlette.routing.Router):
    """Routes and what they share (prefix, tags, dependencies, responses...): Starlette's Router,
    with FastAPI's registration methods. ``routes`` holds ``APIRoute``s, included routers
    (``_IncludedRouter``) and anything Starlette's router takes (``Route``, ``WebSocketRoute``,
    ``Mount``); ``_low_priority_routes`` the routes tried only when no other matches (frontends)."""

    def __init__(
        self,
        *,
        prefix: str = "",
        tags: list[Any] | None = None,
        dependencies: Sequence[Any] | None = None,
        default_response_class: Any = Default(JSONResponse),
        responses: dict[Any, Any] | None = None,
        callbacks: list[Any] | None = None,
        routes: list[Any] | None = None,
        redirect_slashes: bool = True,
        default: Any = None,
        dependency_overrides_provider: Any = None,
        route_class: type[APIRoute] = APIRoute,
        on_startup: Sequence[Callable[[], Any]] | None = None,
        on_shutdown: Sequence[Callable[[], Any]] | None = None,
        lifespan: Any = None,
        deprecated: bool | None = None,
        include_in_schema: bool = True,
        generate_unique_id_function: Any = Default(_generate_unique_id),
        strict_content_type: Any = Default(True),
    ) -> None:
        if prefix:
            assert prefix.startswith("/"), "A path prefix must start with '/'"
            assert not prefix.endswith("/"), "A path prefix must not end with '/', as the routes will start with '/'"
        super().__init__(routes=routes, redirect_slashes=redirect_slashes, default=default)
        self.lifespan_context = _lifespan_context(self, lifespan)
        self.on_startup: list[Callable[[], Any]] = list(on_startup or [])
        self.on_shutdown: list[Callable[[], Any]] = list(on_shutdown or [])
        self.prefix = prefix
        self.tags = tags or []
        self.responses = responses or {}
        self.deprecated = deprecated
        self.include_in_schema = include_in_schema
        self.default_response_class = default_response_class
        self.dependencies = list(dependencies or [])
        #: OpenAPI callbacks documented on every route of this router, before the route's own.
        self.callbacks: list[Any] = list(callbacks or [])
        self.dependency_overrides_provider = dependency_overrides_provider
        self.route_class = route_class or APIRoute
        self.generate_unique_id_function = generate_unique_id_function
        self.strict_content_type = strict_content_type
        self._routes_version = 0
        self._low_priority_routes: list[Any] = []
        self._frontend_routes: Any = None

    # -- what changed since the effective routes were built ------------------------------------
    def _mark_routes_changed(self) -> None:
        self._routes_version += 1

    def _get_routes_version(self, seen: set[int] | None = None) -> int:
        seen = set() if seen is None else seen
        if id(self) in seen:
            return self._routes_version
        seen.add(id(self))
        version = self._routes_version
        for route in self.routes:
            if isinstance(route, _IncludedRouter):
                version += route.original_router._get_routes_version(seen)
        return version

    def _contains_router(self, router: APIRouter, seen: set[int] | None = None) -> bool:
        seen = set() if seen is None else seen
        if id(self) in seen:
            return False
        seen.add(id(self))
        for route in self.routes:
            if isinstance(route, _IncludedRouter) and (
                route.original_router is router or route.original_router._contains_router(router, seen)
            ):
                return True
        return False

    # -- path operations -----------------------------------------------------------------------
    def add_api_route(
        self, path: str, endpoint: Callable[..., Any], *, route_class_override: Any = None, **kwargs: Any
    ) -> None:
        kwargs["response_class"] = _value_or_default(
            kwargs.get("response_class", Default(JSONResponse)), self.default_response_class
        )
        kwargs["generate_unique_id_function"] = _value_or_default(
            kwargs.get("generate_unique_id_function") or Default(_generate_unique_id), self.generate_unique_id_function
        )
        kwargs["tags"] = self.tags + list(kwargs.get("tags") or [])
        kwargs["dependencies"] = self.dependencies + list(kwargs.get("dependencies") or [])
        kwargs["responses"] = {**self.responses, **(kwargs.get("responses") or {})}
        kwargs["callbacks"] = self.callbacks + list(kwargs.get("callbacks") or [])
        kwargs["deprecated"] = kwargs.get("deprecated") or self.deprecated
        kwargs["include_in_schema"] = kwargs.get("include_in_schema", True) and self.include_in_schema
        kwargs["strict_content_type"] = _value_or_default(
            kwargs.get("strict_content_type", Default(True)), self.strict_content_type
        )
        route_class = route_class_override or self.route_class
        self.routes.append(route_class(self.prefix + path, endpoint, **kwargs))
        self._mark_routes_changed()

    def api_route(self, path: str, **kwargs: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        def decorator(func: Callable[..., Any]) -> Callable[..., Any]:
            self.add_api_route(path, func, **kwargs)
            return func

        return decorator

    def _method(self, method: str, path: str, **kwargs: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        return self.api_route(path, methods=[method], **kwargs)

    def get(self, path: str, **kwargs: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        return self._method("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        return self._method("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        return self._method("PUT", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        return self._method("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        return self._method("DELETE", path, **kwargs)

    def head(self, path: str, **kwargs: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        return self._method("HEAD", path, **kwargs)

    def options(self, path: str, **kwargs: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        return self._method("OPTIONS", path, **kwargs)

    def trace(self, path: str, **kwargs: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        return self._method("TRACE", path, **kwargs)

    def add_api_websocket_route(
        self,
        path: str,
        endpoint: Callable[..., Any],
        name: str | None = None,
        *,
        dependencies: Sequence[Any] | None = None,
    ) -> None:
        deps_ = self.dependencies + list(dependencies or [])
        self.routes.append(APIWebSocketRoute(self.prefix + path, endpoint, name=name, dependencies=deps_))
        self._mark_routes_changed()

    def websocket(
        self, path: str, name: str | None = None, *, dependencies: Sequence[Any] | None = None
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        def decorator(func: Callable[..., Any]) -> Callable[..., Any]:
            self.add_api_websocket_route(path, func, name=name, dependencies=dependencies)
            return func

        return decorator

    # -- Starlette's plain routes (a request in, a Response out), as FastAPI keeps them --------------
    # As in FastAPI, the router's prefix is not applied to them (only an include's prefix is).
    def add_route(
        self,
        path: str,
        endpoint: Callable[..., Any],
        methods: Collection[str] | None = None,
        name: str | None = None,
        include_in_schema: bool = True,
    ) -> None:
        self.routes.append(
            starlette.routing.Route(path, endpoint, methods=methods, name=name, include_in_schema=include_in_schema)
        )
        self._mark_routes_changed()

    def route(
        self,
        path: str,
        methods: Sequence[str] | None = None,
        name: str | None = None,
        include_in_schema: bool = True,
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        def decorator(func: Callable[..., Any]) -> Callable[..., Any]:
            self.add_route(path, func, methods=methods, name=name, include_in_schema=include_in_schema)
            return func

        return decorator

    def add_websocket_route(self, path: str, endpoint: Callable[..., Any], name: str | None = None) -> None:
        self.routes.append(starlette.routing.WebSocketRoute(path, endpoint, name=name))
        self._mark_routes_changed()

    def websocket_route(self, path: str, name: str | None = None) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        def decorator(func: Callable[..., Any]) -> Callable[..., Any]:
            self.add_websocket_route(path, func, name=name)
            return func

        return decorator

    def mount(self, path: str, app: Any = None, name: str | None = None) -> None:
        """Serve ``app`` (a ``StaticFiles``, a turboapi or FastAPI app, any ASGI 3 application) under
        ``path``: every method, every path below it, as Starlette's ``Mount``."""
        if not callable(app):
            raise TypeError(f"app.mount() takes a StaticFiles or an ASGI application, not {type(app).__name__}")
        super().mount(path, app, name=name)
        self._mark_routes_changed()

    # -- frontends: low-priority routes ----------------------------------------------------------
    def frontend(
        self,
        path: str,
        *,
        directory: str | os.PathLike[str],
        fallback: Literal["auto", "index.html", "404.html"] | None = "auto",
        check_dir: bool | Literal["auto"] = "auto",
    ) -> None:
        """Serve a static frontend build (``dist``) under ``path``, tried only when no path
        operation matches: its files, else ``404.html``, or ``index.html`` for a page request."""
        check_dir = _frontend.resolve_check_dir(directory=directory, check_dir=check_dir)
        normalized = _frontend.normalize_path(path)
        if self._frontend_routes is None:
            self._frontend_routes = _frontend.FrontendRouteGroup(
                dependencies=self.dependencies, dependency_overrides_provider=self.dependency_overrides_provider
            )
            self._low_priority_routes.append(self._frontend_routes)
        self._frontend_routes.add_frontend_route(
            _frontend.join_paths(self.prefix, normalized), directory=directory, fallback=fallback, check_dir=check_dir
        )
        self._mark_routes_changed()

    def _iter_low_priority_routes(self) -> Iterator[Any]:
        yield from self._low_priority_routes
        for route in self.routes:
            if isinstance(route, _IncludedRouter):
                yield from route.effective_low_priority_routes()

    def _match_low_priority(self, scope: Scope) -> tuple[Any, Scope, Any, Any]:
        """The low-priority route for the request: the most specific frontend, else the first
        route, full matches before partial ones."""
        Match = starlette.routing.Match
        full: tuple[Scope, Any, Any] | None = None
        partial: tuple[Scope, Any, Any] | None = None
        for candidate in self._iter_low_priority_routes():
            context = candidate if isinstance(candidate, _EffectiveRouteContext) else None
            if context is not None and isinstance(context.original_route, APIRoute):
                with _scope_set(scope, _FASTAPI_EFFECTIVE_ROUTE_CONTEXT_KEY, context):
                    match, child_scope = context.original_route.matches(scope)
                route = context.original_route
            elif context is not None:
                match, child_scope = context.matches(scope)
                route = context.starlette_route or context.original_route
            else:
                match, child_scope = candidate.matches(scope)
                route = candidate
            if match == Match.FULL:
                if full is None or self._frontend_match_is_more_specific(child_scope, full[0]):
                    full = (child_scope, route, context)
            elif match == Match.PARTIAL and (
                partial is None or self._frontend_match_is_more_specific(child_scope, partial[0])
            ):
                partial = (child_scope, route, context)
        if full is not None:
            return Match.FULL, *full
        if partial is not None:
            return Match.PARTIAL, *partial
        return Match.NONE, {}, None, None

    @staticmethod
    def _frontend_match_is_more_specific(child_scope: Scope, previous: Scope) -> bool:
        specificity = _scope_entry(child_scope, _FASTAPI_FRONTEND_SPECIFICITY_KEY)
        before = _scope_entry(previous, _FASTAPI_FRONTEND_SPECIFICITY_KEY)
        if not isinstance(specificity, int) or not isinstance(before, int):
            return False
        return specificity > before

    # -- Starlette's way: the router as an ASGI app ------------------------------------------------
    async def app(self, scope: Scope, receive: Any, send: Any) -> None:
        """Starlette's routing (first full match, else first partial, else a slash redirect), then
        the low-priority routes, then ``default`` (404)."""
        assert scope["type"] in ("http", "websocket", "lifespan")
        Match = starlette.routing.Match
        if "router" not in scope:
            scope["router"] = self
        if scope["type"] == "lifespan":
            await self.lifespan(scope, receive, send)
            return
        partial: tuple[Any, Any] | None = None
        for route in self.routes:
            match, child_scope = route.matches(scope)
            if match == Match.FULL:
                scope.update(child_scope)
                await route.handle(scope, receive, send)
                return
            if match == Match.PARTIAL and partial is None:
                partial = (route, child_scope)
        if partial is not None:
            route, child_scope = partial
            scope.update(child_scope)
            await route.handle(scope, receive, send)
            return
        route_path = get_route_path(scope)
        if scope["type"] == "http" and self.redirect_slashes and route_path != "/":
            redirect_scope = dict(scope)
            if route_path.endswith("/"):
                redirect_scope["path"] = redirect_scope["path"].rstrip("/")
            else:
                redirect_scope["path"] = redirect_scope["path"] + "/"
            for route in self.routes:
                match, _ = route.matches(redirect_scope)
                if match != Match.NONE:
                    from starlette.datastructures import URL
                    from starlette.responses import RedirectResponse

                    await RedirectResponse(url=str(URL(scope=redirect_scope)))(scope, receive, send)
                    return
        match, child_scope, route, context = self._match_low_priority(scope)
        if match != Match.NONE and route is not None:
            _update_scope(scope, child_scope)
            await _handle_route(scope, receive, send, route, context)
            return
        await self.default(scope, receive, send)

    async def handle(self, scope: Scope, receive: Any, send: Any) -> None:
        included = _scope_entry(scope, _FASTAPI_INCLUDED_ROUTER_KEY)
        if isinstance(included, _IncludedRouter) and included.original_router is self:
            await included._handle_selected(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def matches(self, scope: Scope) -> tuple[Any, Scope]:
        included = _scope_entry(scope, _FASTAPI_INCLUDED_ROUTER_KEY)
        if isinstance(included, _IncludedRouter) and included.original_router is self:
            match, child_scope, _, _ = included._match(scope)
            return match, child_scope
        return starlette.routing.Match.NONE, {}

    # -- events ------------------------------------------------------------------------------------
    def add_event_handler(self, event_type: str, func: Callable[[], Any]) -> None:
        assert event_type in ("startup", "shutdown")
        (self.on_startup if event_type == "startup" else self.on_shutdown).append(func)

    @typing_extensions.deprecated(_ON_EVENT_DEPRECATION)
    def on_event(self, event_type: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        def decorator(func: Callable[..., Any]) -> Callable[..., Any]:
            self.add_event_handler(event_type, func)
            return func

        return decorator

    async def _startup(self) -> None:
        for handler in self.on_startup:
            result = handler()
            if inspect.isawaitable(result):
                await result

    async def _shutdown(self) -> None:
        for handler in self.on_shutdown:
            result = handler()
            if inspect.isawaitable(result):
                await result

    # -- including routers ---------------------------------------------------------------------------
    def include_router(
        self,
        router: APIRouter,
        *,
        prefix: str = "",
        tags: list[Any] | None = None,
        dependencies: Sequence[Any] | None = None,
        default_response_class: Any = Default(JSONResponse),
        responses: dict[Any, Any] | None = None,
        callbacks: list[Any] | None = None,
        deprecated: bool | None = None,
        include_in_schema: bool = True,
        generate_unique_id_function: Any = Default(_generate_unique_id),
    ) -> None:
        """Serve ``router``'s routes under ``prefix`` with what this include adds. The router stays
        live: routes added to it later are served and documented too."""
        if not isinstance(router, APIRouter):
            # Another FastAPI's router (a library built on `fastapi` while the app imports turboapi).
            router = _adopted_router(router)
        assert self is not router, (
            "Cannot include the same APIRouter instance into itself. Did you mean to include a different router?"
        )
        assert not router._contains_router(self), (
            "Cannot include an APIRouter instance that already includes this router. "
            "Did you mean to include a different router?"
        )
        if prefix:
            assert prefix.startswith("/"), "A path prefix must start with '/'"
            assert not prefix.endswith("/"), "A path prefix must not end with '/', as the routes will start with '/'"
        else:
            for route, context in _iter_routes_with_context(router.routes):
                shown = route if context is None else (context.starlette_route or context)
                path = getattr(shown, "path", None)
                if path is not None and not path:
                    name = getattr(shown, "name", "unknown")
                    raise FastAPIError(f"Prefix and path cannot be both empty (path operation: {name})")
        include = _RouterIncludeContext.for_include(
            parent_router=self,
            included_router=router,
            prefix=prefix,
            tags=tags,
            dependencies=dependencies,
            default_response_class=default_response_class,
            responses=responses,
            callbacks=callbacks,
            deprecated=deprecated,
            include_in_schema=include_in_schema,
            generate_unique_id_function=generate_unique_id_function,
        )
        self.routes.append(_IncludedRouter(router, include))
        self._mark_routes_changed()
        for handler in router.on_startup:
            self.add_event_handler("startup", handler)
        for handler in router.on_shutdown:
            self.add_event_handler("shutdown", handler)
        self.lifespan_context = _merge_lifespan_context(self.lifespan_context, router.lifespan_context)


def _adopted_router(router: Any) -> APIRouter:
    """Another FastAPI's APIRouter as this package's: its routes adopted, in order."""
    adopted = APIRouter()
    for route in getattr(router, "routes", []):
        if hasattr(route, "original_router") and hasattr(route, "include_context"):
            # FastAPI 0.141's included router: its effective routes, flattened.
            for context in route.effective_route_contexts():
                original = context.original_route
                if _is_api_route(original) and getattr(context, "dependant", None) is not None:
                    adopted.routes.append(_adopted(context))  # type: ignore[arg-type]  # an APIRoute
                elif getattr(context, "starlette_route", None) is not None:
                    adopted.routes.append(context.starlette_route)
            continue
        adopted.routes.append(route if not _is_api_route(route) or isinstance(route, PlannedRoute) else _adopted(route))  # type: ignore[arg-type]
    adopted.on_startup = list(getattr(router, "on_startup", []) or [])
    adopted.on_shutdown = list(getattr(router, "on_shutdown", []) or [])
    return adopted


def _is_api_route(route: Any) -> bool:
    """A FastAPI route (turboapi's, or real FastAPI's: it has a ``dependant``), not a plain Starlette one."""
    return isinstance(route, (APIRoute, APIWebSocketRoute)) or hasattr(route, "dependant")


def _adopted(route: Any) -> PlannedRoute:
    """Another FastAPI's APIRoute or APIWebSocketRoute, as this package's route with its options."""
    if isinstance(route, starlette.routing.WebSocketRoute):
        # Real FastAPI's APIWebSocketRoute: a WebSocketRoute with dependencies.
        dependencies = list(route.dependencies)  # type: ignore[attr-defined]
        return APIWebSocketRoute(route.path, route.endpoint, name=route.name, dependencies=dependencies)

    def default(value: Any) -> Any:
        # FastAPI's DefaultPlaceholder: a default the including router may still replace.
        return Default(value.value) if type(value).__name__ == "DefaultPlaceholder" else value

    options = {
        name: getattr(route, name)
        for name in (
            "status_code", "tags", "summary", "description", "responses", "deprecated", "operation_id",
            "include_in_schema", "response_model_include", "response_model_exclude", "response_model_by_alias",
            "response_model_exclude_unset", "response_model_exclude_defaults", "response_model_exclude_none",
            "openapi_extra", "callbacks", "name", "response_description",
        )
    }  # fmt: skip
    response_model = route.response_model
    return APIRoute(
        route.path,
        route.endpoint,
        methods=sorted(route.methods or ["GET"]),
        response_model=Default(None) if response_model is None else response_model,
        response_class=default(route.response_class),
        dependencies=list(route.dependencies),
        **options,
    )


class MountRoute(PlannedRoute):
    """The core's entry for a ``Mount``: the route ``{prefix}/{path:path}`` for every method,
    answered by ``mounted_app`` (StaticFiles read by the core, or any ASGI app through a bridge)."""

    is_mount = True

    def __init__(self, prefix: str, app: Any, name: str | None) -> None:
        from .staticfiles import StaticFiles

        #: The ASGI bridge, for a mounted ASGI app (its lifespan runs with the server's).
        self.asgi: Any = None
        self.prefix = prefix
        self.mounted_app = app
        if isinstance(app, StaticFiles):

            def serve(request: Request) -> Any:
                return app.core_response(request.path_params["path"], request)

        elif callable(app):
            from .asgi import ASGIMount

            mounted = ASGIMount(app, prefix)
            self.asgi = mounted
            self.accepts_websocket = True  # an ASGI app may serve WebSockets too
            self.streams_body = True

            async def serve(request: Request) -> Any:  # type: ignore[misc]
                return await mounted(request)

        else:
            raise TypeError(f"app.mount() takes a StaticFiles or an ASGI application, not {type(app).__name__}")
        super().__init__(
            prefix + "/{path:path}", serve, methods=MOUNT_METHODS, name=name or "mount", include_in_schema=False
        )


class ASGIRoute(PlannedRoute):
    """The core's entry for a route it does not run itself (a Starlette ``Route`` or
    ``WebSocketRoute``, or an ``APIRoute`` whose class changes how it is handled): its path and
    methods, answered by the route's own ``handle`` through an ASGI bridge."""

    def __init__(self, route: Any, methods: Sequence[str] | None, websocket: bool) -> None:
        from .asgi import ASGIRouteBridge

        bridge = ASGIRouteBridge(route)
        self.route = route
        self.accepts_websocket = websocket
        self.streams_body = not websocket

        async def serve(request: Request) -> Any:
            return await bridge(request)

        super().__init__(route.path, serve, methods=list(methods or []), name=route.name, include_in_schema=False)
        if websocket:
            self.methods = set()
            self.methods_list = []


class APIWebSocketRoute(DependantView, PlannedRoute, starlette.routing.WebSocketRoute):
    """``@app.websocket(path)``: Starlette's WebSocketRoute. The core routes handshakes here and
    extracts the path, query, header and cookie parameters; the endpoint runs on a loop shard with
    a ``WebSocket``. Its ASGI ``app`` runs it the ASGI way, through the same plan."""

    is_websocket = True
    accepts_websocket = True

    @property
    def app(self) -> Any:
        app = self.__dict__.get("_asgi_app")
        if app is None:
            token = _handler_route.set(self)
            try:
                handler = get_websocket_app(
                    dependant=self.dependant,
                    dependency_overrides_provider=self._application,
                    embed_body_fields=self._embed_body_fields,
                )
            finally:
                _handler_route.reset(token)
            app = websocket_session(handler)  # type: ignore[arg-type]  # our WebSocket is Starlette's subclass
            app._turboapi_default = True  # type: ignore[attr-defined]
            self.__dict__["_asgi_app"] = app
        return app

    @app.setter
    def app(self, value: Any) -> None:
        self.__dict__["_asgi_app"] = value

    def __init__(
        self, path: str, endpoint: Callable[..., Any], *, name: str | None = None, dependencies: Any = None
    ) -> None:
        if not _is_coroutine_function(endpoint):
            raise FastAPIError(f"the WebSocket endpoint {getattr(endpoint, '__qualname__', endpoint)!r} must be async")
        super().__init__(
            path, endpoint, name=name, dependencies=dependencies, response_model=None, include_in_schema=False
        )
        self.methods = set()
        self.methods_list = []
        # Validation happens in `run`, where a failure closes the connection (1008) instead of
        # answering 422.
        self.core_endpoint = self.run
        self.core_is_async = True
        self.always_solve = True
        self.custom_serialize = False

    def solve(self, kwargs: dict[str, Any], pending: list[tuple[int, Any]], data: Any) -> Any:
        return kwargs, pending, data

    async def run(self, solved: tuple[dict[str, Any], list[tuple[int, Any]], Any]) -> None:
        kwargs, pending, data = solved
        # The ASGI way made the WebSocket already (Starlette's, over the connection's scope).
        websocket = request_for(data, self._application, self) if data.websocket is None else None
        if websocket is None:
            websocket = WebSocket(data, app=self._application)
            websocket._shared.route = self  # for scope["route"]
        try:
            if self.signature.simple:
                try:
                    solve_simple(self, kwargs, pending, data, connection=websocket)
                except RequestValidationError as exc:
                    raise WebSocketRequestValidationError(
                        exc.errors(), endpoint_ctx=self._endpoint_ctx("WS", data)
                    ) from None
                await self.endpoint(**kwargs)
            else:
                await self._run_with_dependencies(kwargs, pending, data, websocket)
        except Exception as exc:
            handler = self._application._lookup_exception_handler(exc) if self._application is not None else None
            if handler is None and isinstance(exc, WebSocketException):
                # Starlette's built-in answer: close with the exception's code and reason.
                await websocket.close(code=exc.code, reason=exc.reason)
                return
            if handler is None:
                raise
            if inspect.iscoroutinefunction(handler):
                result = await handler(websocket, exc)
            else:
                result = await run_in_threadpool(handler, websocket, exc)
            if result is not None:
                # An HTTP answer (the default HTTPException handler's JSONResponse): FastAPI sends
                # it as a denial response, which turboapi does not support; an error, logged,
                # (500 before accept, 1011 after) rather than an answer silently dropped.
                raise RuntimeError(
                    f"the exception handler for {type(exc).__name__} returned a response on a WebSocket; "
                    "turboapi does not support WebSocket denial responses yet"
                ) from exc

    async def _run_with_dependencies(
        self, kwargs: dict[str, Any], pending: list[tuple[int, Any]], data: Any, websocket: Any
    ) -> None:
        runner = self.runner
        scope = RequestScope(kwargs, pending, data, self._application, self)
        scope._request = websocket
        # The exits of `yield` dependencies run when the endpoint has returned, as FastAPI's.
        async with contextlib.AsyncExitStack() as stack:
            scope.stack = stack
            async with contextlib.AsyncExitStack() as function_stack:
                scope.function_stack = function_stack
                values, errors = await runner.solve_async(scope, runner.root)
                if errors:
                    raise WebSocketRequestValidationError(errors, endpoint_ctx=self._endpoint_ctx("WS", data))
                await self.endpoint(**values)


# -- included routers: FastAPI 0.141's model ------------------------------------------------------
# `include_router` keeps the included router live in its parent's routes (an `_IncludedRouter`):
# what the include adds (prefix, tags, dependencies...) is applied when the routes are read, so a
# route added to a router after it was included is served and documented too. The core serves the
# flattened result (see routetable.py); Starlette's way (`APIRouter.app`) walks the same contexts.

#: The included route whose handler ``APIRoute.get_route_handler`` is making (see ``APIRoute.handle``).
_effective_route_context_var: ContextVar[Any] = ContextVar("turboapi_effective_route_context", default=None)


def _value_or_default(first: Any, *others: Any) -> Any:
    """The first value that is not a ``Default(...)``; else the first (FastAPI's get_value_or_default)."""
    for value in (first, *others):
        if not isinstance(value, _Default):
            return value
    return first


@contextlib.contextmanager
def _scope_set(scope: Scope, key: str, value: Any) -> Any:
    fastapi_scope = _get_fastapi_scope(scope)
    previous = fastapi_scope.get(key, _SCOPE_MISSING)
    fastapi_scope[key] = value
    try:
        yield
    finally:
        _restore_fastapi_scope_key(scope, key, previous)


@dataclasses.dataclass
class _RouterIncludeContext:
    """What one ``include_router`` (and the includes above it) adds to the included router's routes."""

    included_router: APIRouter
    prefix: str = ""
    tags: list[Any] = dataclasses.field(default_factory=list)
    dependencies: list[Any] = dataclasses.field(default_factory=list)
    default_response_class: Any = dataclasses.field(default_factory=lambda: Default(JSONResponse))
    responses: dict[Any, Any] = dataclasses.field(default_factory=dict)
    callbacks: list[Any] = dataclasses.field(default_factory=list)
    deprecated: bool | None = None
    include_in_schema: bool = True
    generate_unique_id_function: Any = dataclasses.field(default_factory=lambda: Default(_generate_unique_id))
    strict_content_type: Any = dataclasses.field(default_factory=lambda: Default(True))
    dependency_overrides_provider: Any = None

    @classmethod
    def for_include(
        cls,
        *,
        parent_router: APIRouter,
        included_router: APIRouter,
        prefix: str = "",
        tags: list[Any] | None = None,
        dependencies: Sequence[Any] | None = None,
        default_response_class: Any = Default(JSONResponse),
        responses: dict[Any, Any] | None = None,
        callbacks: list[Any] | None = None,
        deprecated: bool | None = None,
        include_in_schema: bool = True,
        generate_unique_id_function: Any = Default(_generate_unique_id),
    ) -> _RouterIncludeContext:
        # The parent router's own settings come first, as its add_api_route applies them.
        return cls(
            included_router=included_router,
            prefix=parent_router.prefix + prefix,
            tags=[*parent_router.tags, *(tags or [])],
            dependencies=[*parent_router.dependencies, *(dependencies or [])],
            default_response_class=_value_or_default(default_response_class, parent_router.default_response_class),
            responses={**parent_router.responses, **(responses or {})},
            callbacks=[*parent_router.callbacks, *(callbacks or [])],
            deprecated=deprecated or parent_router.deprecated,
            include_in_schema=parent_router.include_in_schema and include_in_schema,
            generate_unique_id_function=_value_or_default(
                generate_unique_id_function, parent_router.generate_unique_id_function
            ),
            strict_content_type=parent_router.strict_content_type,
            dependency_overrides_provider=parent_router.dependency_overrides_provider,
        )

    def combine(self, child: _RouterIncludeContext) -> _RouterIncludeContext:
        """``child`` (an include inside the router this context includes) seen from here."""
        return _RouterIncludeContext(
            included_router=child.included_router,
            prefix=self.prefix + child.prefix,
            tags=[*self.tags, *child.tags],
            dependencies=[*self.dependencies, *child.dependencies],
            default_response_class=_value_or_default(child.default_response_class, self.default_response_class),
            responses={**self.responses, **child.responses},
            callbacks=[*self.callbacks, *child.callbacks],
            deprecated=self.deprecated or child.deprecated,
            include_in_schema=self.include_in_schema and child.include_in_schema,
            generate_unique_id_function=_value_or_default(
                child.generate_unique_id_function, self.generate_unique_id_function
            ),
            strict_content_type=_value_or_default(child.strict_content_type, self.strict_content_type),
            dependency_overrides_provider=self.dependency_overrides_provider,
        )

    def path_for(self, route: Any) -> str:
        path: str = route.path
        return self.prefix + path


def _effective_api_route(route: APIRoute, include: _RouterIncludeContext) -> APIRoute:
    """The route as its includes make it: a planned ``APIRoute`` of its own (the core runs its
    plan; OpenAPI documents it), built like FastAPI's effective route state."""
    included = include.included_router
    effective = APIRoute(
        include.path_for(route),
        route.endpoint,
        methods=route.methods_list,
        status_code=route.status_code,
        response_model=route.declared_response_model,
        response_class=_value_or_default(
            route.declared_response_class, included.default_response_class, include.default_response_class
        ),
        name=route.name,
        tags=[*include.tags, *route.tags],
        summary=route.summary,
        description=route.description,
        response_description=route.response_description,
        responses={**include.responses, **route.responses},
        deprecated=route.deprecated or include.deprecated,
        operation_id=route.operation_id,
        include_in_schema=route.include_in_schema and include.include_in_schema,
        dependencies=[*include.dependencies, *route.dependencies],
        response_model_include=route.response_model_include,
        response_model_exclude=route.response_model_exclude,
        response_model_by_alias=route.response_model_by_alias,
        response_model_exclude_unset=route.response_model_exclude_unset,
        response_model_exclude_defaults=route.response_model_exclude_defaults,
        response_model_exclude_none=route.response_model_exclude_none,
        openapi_extra=route.openapi_extra,
        callbacks=[*include.callbacks, *(route.callbacks or [])],
        generate_unique_id_function=_value_or_default(
            route.generate_unique_id_function,
            included.generate_unique_id_function,
            include.generate_unique_id_function,
        ),
        strict_content_type=_value_or_default(
            route.strict_content_type, included.strict_content_type, include.strict_content_type
        ),
    )
    # What a request's scope reports (`scope["route"]`): the route the user registered.
    effective.original_route = route
    return effective


class _EffectiveRouteContext:
    """One route of an included router as the includes make it. For an ``APIRoute``, ``route`` is
    its planned effective copy (attributes read here are the copy's); for a Starlette route or
    mount, ``starlette_route`` is a copy under the include's prefix; for a frontend group,
    ``frontend_prefix`` and the include's dependencies."""

    #: Set for a frontend group's context (``for_frontend_group``); others read the route's.
    dependencies: list[Any]
    dependency_overrides_provider: Any

    def __init__(
        self,
        original_route: Any,
        *,
        route: APIRoute | None = None,
        starlette_route: Any = None,
        frontend_prefix: str = "",
    ) -> None:
        self.original_route = original_route
        self.route = route
        self.starlette_route = starlette_route
        self.frontend_prefix = frontend_prefix
        if route is not None:
            route._effective_context = self

    def __getattr__(self, name: str) -> Any:
        target = self.__dict__.get("route") or self.__dict__.get("starlette_route")
        if target is None:
            raise AttributeError(name)
        return getattr(target, name)

    def __repr__(self) -> str:
        return f"<effective {self.original_route!r} at {getattr(self, 'path', None)!r}>"

    @classmethod
    def for_frontend_group(cls, group: Any, include: _RouterIncludeContext) -> _EffectiveRouteContext:
        context = cls(group, frontend_prefix=include.prefix)
        context.dependencies = [*include.dependencies, *group.dependencies]
        context.dependency_overrides_provider = include.dependency_overrides_provider
        return context

    def matches(self, scope: Scope) -> tuple[starlette.routing.Match, Scope]:
        if getattr(self.original_route, "is_frontend_group", False):
            return self.original_route.matches_with_prefix(scope, self.frontend_prefix)  # type: ignore[no-any-return]
        if self.route is not None:
            if scope["type"] != "http":
                return starlette.routing.Match.NONE, {}
            return starlette.routing.Route.matches(self.route, scope)
        assert self.starlette_route is not None
        return self.starlette_route.matches(scope)  # type: ignore[no-any-return]

    def url_path_for(self, name: str, /, **path_params: Any) -> Any:
        target = self.route if self.route is not None else self.starlette_route
        if target is None:
            raise NoMatchFound(name, path_params)
        return target.url_path_for(name, **path_params)


@dataclasses.dataclass(frozen=True)
class RouteContext:
    """A route as a request reaches it: ``route`` (the one registered), and for a route of an
    included router its effective form (path, tags, dependencies... with the includes applied)."""

    route: Any
    _route_context: _EffectiveRouteContext | None = dataclasses.field(default=None, repr=False)

    @property
    def original_route(self) -> Any:
        return self._route_context.original_route if self._route_context is not None else self.route

    @property
    def _effective_route(self) -> Any:
        return self._route_context if self._route_context is not None else self.route

    @property
    def path(self) -> str | None:
        return getattr(self._effective_route, "path", None)

    @property
    def path_format(self) -> str | None:
        return getattr(self._effective_route, "path_format", None)

    @property
    def name(self) -> str | None:
        return getattr(self._effective_route, "name", None)

    @property
    def methods(self) -> set[str] | None:
        return getattr(self._effective_route, "methods", None)

    @property
    def endpoint(self) -> Callable[..., Any] | None:
        return getattr(self._effective_route, "endpoint", None)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._effective_route, name)


@dataclasses.dataclass(eq=False)
class _IncludedRouter(starlette.routing.BaseRoute):
    """An included router in its parent's routes, with what the include adds. Its effective routes
    are built when read and kept until a router below changes (``_get_routes_version``)."""

    original_router: APIRouter
    include_context: _RouterIncludeContext
    _effective_routes_lock: Any = dataclasses.field(default_factory=threading.Lock, repr=False)
    _effective_candidates: list[Any] = dataclasses.field(default_factory=list, repr=False)
    _effective_candidates_version: int | None = dataclasses.field(default=None, repr=False)
    _effective_low_priority_routes: list[Any] = dataclasses.field(default_factory=list, repr=False)
    _effective_low_priority_routes_version: int | None = dataclasses.field(default=None, repr=False)

    def _child(self, route: _IncludedRouter) -> _IncludedRouter:
        return _IncludedRouter(route.original_router, self.include_context.combine(route.include_context))

    def effective_candidates(self) -> list[Any]:
        """The included router's routes in order: effective contexts, and nested includes."""
        version = self.original_router._get_routes_version()
        if version == self._effective_candidates_version:
            return self._effective_candidates
        with self._effective_routes_lock:
            version = self.original_router._get_routes_version()
            if version == self._effective_candidates_version:
                return self._effective_candidates
            candidates: list[Any] = []
            for route in self.original_router.routes:
                if isinstance(route, _IncludedRouter):
                    candidates.append(self._child(route))
                    continue
                context = self._build_effective_context(route)
                if context is not None:
                    candidates.append(context)
            self._effective_candidates = candidates
            self._effective_candidates_version = version
            return candidates

    def effective_low_priority_routes(self) -> list[_EffectiveRouteContext]:
        version = self.original_router._get_routes_version()
        if version == self._effective_low_priority_routes_version:
            return self._effective_low_priority_routes
        with self._effective_routes_lock:
            version = self.original_router._get_routes_version()
            if version == self._effective_low_priority_routes_version:
                return self._effective_low_priority_routes
            found: list[_EffectiveRouteContext] = []
            for route in self.original_router._low_priority_routes:
                context = self._build_effective_context(route)
                if context is not None:
                    found.append(context)
            for route in self.original_router.routes:
                if isinstance(route, _IncludedRouter):
                    found.extend(self._child(route).effective_low_priority_routes())
            self._effective_low_priority_routes = found
            self._effective_low_priority_routes_version = version
            return found

    def _build_effective_context(self, route: Any) -> _EffectiveRouteContext | None:
        include = self.include_context
        if isinstance(route, APIRoute):
            return _EffectiveRouteContext(route, route=_effective_api_route(route, include))
        if getattr(route, "is_frontend_group", False):
            return _EffectiveRouteContext.for_frontend_group(route, include)
        if isinstance(route, APIWebSocketRoute):
            copy = APIWebSocketRoute(
                include.path_for(route),
                route.endpoint,
                name=route.name,
                dependencies=[*include.dependencies, *route.dependencies],
            )
            copy.original_route = route
            return _EffectiveRouteContext(route, starlette_route=copy)
        if isinstance(route, starlette.routing.Route):
            methods = list(route.methods or []) if route.methods is not None else None
            plain = starlette.routing.Route(
                include.path_for(route),
                endpoint=route.endpoint,
                methods=methods,
                name=route.name,
                include_in_schema=route.include_in_schema,
            )
            return _EffectiveRouteContext(route, starlette_route=plain)
        if isinstance(route, starlette.routing.WebSocketRoute):
            socket = starlette.routing.WebSocketRoute(include.path_for(route), route.endpoint, name=route.name)
            return _EffectiveRouteContext(route, starlette_route=socket)
        if isinstance(route, starlette.routing.Mount):
            mount = copy_module.copy(route)
            mount.path = include.path_for(route).rstrip("/")
            mount.path_regex, mount.path_format, mount.param_convertors = compile_path(mount.path + "/{path:path}")
            return _EffectiveRouteContext(route, starlette_route=mount)
        if isinstance(route, starlette.routing.Host):
            app = route.app
            if include.prefix:
                app = starlette.routing.Router(routes=[starlette.routing.Mount(include.prefix, app=route.app)])
            host = starlette.routing.Host(route.host, app=app, name=route.name)
            return _EffectiveRouteContext(route, starlette_route=host)
        return None

    def _match(self, scope: Scope) -> tuple[Any, Scope, Any, _EffectiveRouteContext | None]:
        """(match, child scope, route to handle, its effective context): the first full match,
        else the first partial one, as Starlette's router."""
        Match = starlette.routing.Match
        partial: tuple[Scope, Any, Any] | None = None
        for candidate in self.effective_candidates():
            context: _EffectiveRouteContext | None
            route: Any
            if isinstance(candidate, _IncludedRouter):
                match, child_scope = candidate.matches(scope)
                route, context = candidate, None
            elif isinstance(candidate.original_route, APIRoute):
                # The route's own `matches` runs (a subclass may override it), against its effective path.
                with _scope_set(scope, _FASTAPI_EFFECTIVE_ROUTE_CONTEXT_KEY, candidate):
                    match, child_scope = candidate.original_route.matches(scope)
                route, context = candidate.original_route, candidate
            else:
                match, child_scope = candidate.matches(scope)
                route, context = candidate.starlette_route or candidate.original_route, candidate
            if match == Match.FULL:
                return match, child_scope, route, context
            if match == Match.PARTIAL and partial is None:
                partial = (child_scope, route, context)
        if partial is not None:
            return Match.PARTIAL, *partial
        return Match.NONE, {}, None, None

    def matches(self, scope: Scope) -> tuple[Any, Scope]:
        with _scope_set(scope, _FASTAPI_INCLUDED_ROUTER_KEY, self):
            match, _ = self.original_router.matches(scope)
        return match, {}

    async def handle(self, scope: Scope, receive: Any, send: Any) -> None:
        _get_fastapi_scope(scope)[_FASTAPI_INCLUDED_ROUTER_KEY] = self
        await self.original_router.handle(scope, receive, send)

    async def _handle_selected(self, scope: Scope, receive: Any, send: Any) -> None:
        match, child_scope, route, context = self._match(scope)
        if match == starlette.routing.Match.NONE or route is None:
            await self.original_router.default(scope, receive, send)
            return
        scope.update(child_scope)
        await _handle_route(scope, receive, send, route, context)

    def effective_route_contexts(self) -> Iterator[_EffectiveRouteContext]:
        for candidate in self.effective_candidates():
            if isinstance(candidate, _IncludedRouter):
                yield from candidate.effective_route_contexts()
            else:
                yield candidate

    def url_path_for(self, name: str, /, **path_params: Any) -> Any:
        for context in self.effective_route_contexts():
            try:
                return context.url_path_for(name, **path_params)
            except NoMatchFound:
                pass
        raise NoMatchFound(name, path_params)


async def _handle_route(
    scope: Scope, receive: Any, send: Any, route: Any, context: _EffectiveRouteContext | None
) -> None:
    """Handle a matched route; an included one with its effective context in the scope."""
    if isinstance(route, _IncludedRouter):
        await route.handle(scope, receive, send)
        return
    if context is not None:
        _get_fastapi_scope(scope)[_FASTAPI_EFFECTIVE_ROUTE_CONTEXT_KEY] = context
        if isinstance(context.original_route, APIRoute):
            scope["route"] = context.original_route
            await context.original_route.handle(scope, receive, send)
            return
    await route.handle(scope, receive, send)


def _iter_routes_with_context(routes: Sequence[Any]) -> Iterator[tuple[Any, _EffectiveRouteContext | None]]:
    for route in routes:
        if isinstance(route, _IncludedRouter):
            for context in route.effective_route_contexts():
                yield context.original_route, context
        else:
            yield route, None


def _iter_included_route_candidates(routes: Sequence[Any]) -> Iterator[Any]:
    """The routes as Starlette would see them: an included plain route as its prefixed copy."""
    for route, context in _iter_routes_with_context(routes):
        if context is not None and context.starlette_route is not None:
            yield context.starlette_route
        else:
            yield route


def iter_route_contexts(routes: Sequence[Any]) -> Iterator[RouteContext]:
    """Every route, included routers' routes with their includes applied, as ``RouteContext``s."""
    for route in routes:
        if isinstance(route, RouteContext):
            yield route
            continue
        for original, context in _iter_routes_with_context([route]):
            yield RouteContext(original, context)


def effective_routes(routes: Sequence[Any]) -> list[Any]:
    """The routes as they are served and documented: an included ``APIRoute`` (directly, or as a
    ``RouteContext``) as its planned effective copy, a plain route as its prefixed copy."""
    out: list[Any] = []
    for route in routes:
        if isinstance(route, RouteContext):
            context = route._route_context
            out.append(route.route if context is None else (context.route or context.starlette_route or route.route))
            continue
        for original, context in _iter_routes_with_context([route]):
            if context is None:
                out.append(original)
            elif context.route is not None or context.starlette_route is not None:
                out.append(context.route or context.starlette_route)
    return out


# -- lifespans -------------------------------------------------------------------------------------
class _AsyncLiftContextManager(contextlib.AbstractAsyncContextManager):  # type: ignore[type-arg]
    """A sync context manager used as an async one (a generator lifespan)."""

    def __init__(self, cm: Any) -> None:
        self._cm = cm

    async def __aenter__(self) -> Any:
        return self._cm.__enter__()

    async def __aexit__(self, *exc_info: Any) -> Any:
        return self._cm.__exit__(*exc_info)


def _wrap_gen_lifespan_context(lifespan_context: Callable[[Any], Any]) -> Callable[[Any], Any]:
    manager = contextlib.contextmanager(lifespan_context)

    @functools.wraps(manager)
    def wrapper(app: Any) -> _AsyncLiftContextManager:
        return _AsyncLiftContextManager(manager(app))

    return wrapper


def _merge_lifespan_context(original_context: Callable[[Any], Any], nested_context: Callable[[Any], Any]) -> Any:
    """Both lifespans, the nested one inside; their states merged, the outer router's winning."""

    @contextlib.asynccontextmanager
    async def merged_lifespan(app: Any) -> Any:
        async with original_context(app) as original_state, nested_context(app) as nested_state:
            if nested_state is None and original_state is None:
                yield None
            else:
                yield {**(nested_state or {}), **(original_state or {})}

    return merged_lifespan


class _DefaultLifespan:
    """A router's lifespan when it has none: its ``on_startup`` and ``on_shutdown`` handlers."""

    def __init__(self, router: APIRouter) -> None:
        self._router = router

    async def __aenter__(self) -> None:
        await self._router._startup()

    async def __aexit__(self, *exc_info: object) -> None:
        await self._router._shutdown()

    def __call__(self, app: object) -> _DefaultLifespan:
        return self


def _lifespan_context(router: APIRouter, lifespan: Any) -> Any:
    if lifespan is None:
        return _DefaultLifespan(router)
    if inspect.isasyncgenfunction(lifespan):
        return contextlib.asynccontextmanager(lifespan)
    if inspect.isgeneratorfunction(lifespan):
        return _wrap_gen_lifespan_context(lifespan)
    return lifespan


# FastAPI's names for the frontend classes (fastapi.routing has them).
_FrontendStaticFiles = _frontend.FrontendStaticFiles
_FrontendRoute = _frontend.FrontendRoute
_FrontendRouteGroup = _frontend.FrontendRouteGroup
