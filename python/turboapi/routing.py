"""Routes and routers: what the decorators register, and each route's Python half of a request."""

from __future__ import annotations

import contextlib
import functools
import inspect
import re
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, get_type_hints

import starlette.routing
from pydantic import TypeAdapter
from starlette.routing import Mount as Mount
from starlette.routing import NoMatchFound as NoMatchFound
from starlette.routing import compile_path, request_response, websocket_session

from . import dependencies as deps
from . import params
from ._planned import refuse
from .concurrency import run_in_threadpool
from .datastructures import Default
from .datastructures import DefaultPlaceholder as _Default
from .exceptions import (
    FastAPIError,
    RequestValidationError,
    ResponseValidationError,
    WebSocketException,
    WebSocketRequestValidationError,
)
from .requests import Request, request_for
from .responses import RESPONSE_TYPES, JSONResponse, Response
from .solving import DependencyRunner, RequestScope, solve_simple
from .streaming import GeneratorStream, is_generator_function, stream_item_type
from .websockets import WebSocket

if TYPE_CHECKING:
    from ._compat import ModelField
    from .dependencies.models import Dependant

PATH_PARAM = re.compile(r"{([^}:]+)(?::[^}]*)?}")
#: A mount answers every method (StaticFiles itself says 405 for all but GET and HEAD).
MOUNT_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


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
        **unsupported: Any,
    ) -> None:
        for key, value in unsupported.items():
            if value not in (None, [], {}, True, False) and not isinstance(value, _Default):
                raise FastAPIError(f"route option {key}= is not supported by turboapi yet")
        self.dependencies = list(dependencies or [])
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
        self.methods = {m.upper() for m in (methods or ["GET"])}
        self.methods_list = sorted(self.methods)
        self.name = name or getattr(endpoint, "__name__", "endpoint")
        self.status_code = status_code
        self.status_code_or_default = status_code or 200
        self.tags = tags or []
        self.summary = summary
        self.description = description or inspect.getdoc(endpoint) or ""
        self.response_description = response_description
        self.responses = responses or {}
        self.deprecated = deprecated
        self.operation_id = operation_id
        self.include_in_schema = include_in_schema
        self.is_async = _is_coroutine_function(endpoint)
        self.response_class = response_class.value if isinstance(response_class, _Default) else response_class
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
        return RequestScope(kwargs, pending, data, self._application)

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

    def render(self, result: Any, sub: Any) -> Any:
        """JSON bytes of a non-Response result, or a Response when the route shapes it
        (response_class, or headers/status set on a `Response` parameter)."""
        status = (sub.status_code if sub is not None else None) or self.status_code_or_default
        if self.stream is not None:
            return self.stream.response(result, status, sub)
        if self.response_adapter is not None:
            value, errors = deps.validate(self.response_adapter, result, ("response",))
            if errors:
                raise ResponseValidationError(errors, body=result)
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
            response = self.response_class(result, status_code=status)
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
    def app(self) -> Any:  # type: ignore[override]
        app = self.__dict__.get("_asgi_app")
        if app is None:
            app = request_response(self.get_route_handler())
            app._turboapi_default = True  # not a replacement (see routetable.handled_its_own_way)
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
        from .openapi.utils import generate_unique_id

        return self.operation_id or generate_unique_id(self)

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
        token = _handler_route.set(self)
        try:
            return get_request_handler(
                dependant=self.dependant,
                body_field=self.body_field,
                status_code=self.status_code,
                response_class=self.response_class if self.custom_response_class else Default(self.response_class),
                response_field=self.response_field,
                response_model_include=self.response_model_include,
                response_model_exclude=self.response_model_exclude,
                response_model_by_alias=self.response_model_by_alias,
                response_model_exclude_unset=self.response_model_exclude_unset,
                response_model_exclude_defaults=self.response_model_exclude_defaults,
                response_model_exclude_none=self.response_model_exclude_none,
                dependency_overrides_provider=self.dependency_overrides_provider,
                embed_body_fields=self._embed_body_fields,
                stream_item_field=self.stream_item_field,
                is_json_stream=self.is_json_stream,
            )
        finally:
            _handler_route.reset(token)


def reachable(routes: list[APIRoute]) -> list[APIRoute]:
    """The routes a request can reach. Starlette tries routes in order and a mount takes every path
    below its prefix, so a route registered after a mount, under its prefix, is never reached;
    without this, the core's router (which prefers static segments) would pick it."""
    out: list[APIRoute] = []
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
    with FastAPI's registration methods. ``routes`` holds ``APIRoute``s and anything Starlette's
    router takes (``Route``, ``WebSocketRoute``, ``Mount``)."""

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
        route_class: type[APIRoute] | None = None,
        on_startup: Sequence[Callable[[], Any]] | None = None,
        on_shutdown: Sequence[Callable[[], Any]] | None = None,
        lifespan: Any = None,
        deprecated: bool | None = None,
        include_in_schema: bool = True,
        generate_unique_id_function: Any = None,
        strict_content_type: Any = True,
    ) -> None:
        if prefix and (not prefix.startswith("/") or prefix.endswith("/")):
            raise FastAPIError("A path prefix must start with '/' and must not end with '/'")
        super().__init__(routes=routes, redirect_slashes=redirect_slashes, default=default)
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
        self.on_startup = list(on_startup or [])
        self.on_shutdown = list(on_shutdown or [])
        self.lifespan = lifespan
        self.generate_unique_id_function = generate_unique_id_function
        self.strict_content_type = strict_content_type

    def add_api_route(
        self, path: str, endpoint: Callable[..., Any], *, route_class_override: Any = None, **kwargs: Any
    ) -> None:
        kwargs.setdefault("response_class", self.default_response_class)
        kwargs["tags"] = self.tags + list(kwargs.get("tags") or [])
        kwargs["dependencies"] = self.dependencies + list(kwargs.get("dependencies") or [])
        kwargs["responses"] = {**self.responses, **(kwargs.get("responses") or {})}
        kwargs["callbacks"] = self.callbacks + list(kwargs.get("callbacks") or [])
        if kwargs.get("deprecated") is None and self.deprecated is not None:
            kwargs["deprecated"] = self.deprecated
        route_class = route_class_override or self.route_class
        self.routes.append(route_class(self.prefix + path, endpoint, **kwargs))

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

    def websocket(
        self, path: str, name: str | None = None, *, dependencies: Sequence[Any] | None = None
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        def decorator(func: Callable[..., Any]) -> Callable[..., Any]:
            self.add_api_websocket_route(path, func, name=name, dependencies=dependencies)
            return func

        return decorator

    # -- Starlette's plain routes (a request in, a Response out), as FastAPI keeps them --------------
    def add_route(
        self,
        path: str,
        endpoint: Callable[..., Any],
        methods: Sequence[str] | None = None,
        name: str | None = None,
        include_in_schema: bool = True,
    ) -> None:
        self.routes.append(
            starlette.routing.Route(
                self.prefix + path, endpoint, methods=methods, name=name, include_in_schema=include_in_schema
            )
        )

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
        self.routes.append(starlette.routing.WebSocketRoute(self.prefix + path, endpoint, name=name))

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

    def on_event(self, event_type: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        if event_type not in ("startup", "shutdown"):
            raise ValueError(f"event_type must be 'startup' or 'shutdown', not {event_type!r}")

        def decorator(func: Callable[..., Any]) -> Callable[..., Any]:
            (self.on_startup if event_type == "startup" else self.on_shutdown).append(func)
            return func

        return decorator

    def include_router(
        self,
        router: APIRouter,
        *,
        prefix: str = "",
        tags: list[Any] | None = None,
        dependencies: Sequence[Any] | None = None,
        responses: dict[Any, Any] | None = None,
        deprecated: bool | None = None,
        include_in_schema: bool = True,
        callbacks: list[Any] | None = None,
        **_: Any,
    ) -> None:
        if prefix and (not prefix.startswith("/") or prefix.endswith("/")):
            raise FastAPIError("A path prefix must start with '/' and must not end with '/'")
        for route in router.routes:
            if isinstance(route, starlette.routing.Mount):
                self.routes.append(Mount(self.prefix + prefix + route.path, app=route.app, name=route.name))
                continue
            if isinstance(route, starlette.routing.Route) and not _is_api_route(route):
                methods = sorted(route.methods - {"HEAD"}) if route.methods is not None else None
                self.add_route(prefix + route.path, route.endpoint, methods, route.name, route.include_in_schema)
                continue
            if isinstance(route, starlette.routing.WebSocketRoute) and not _is_api_route(route):
                self.add_websocket_route(prefix + route.path, route.endpoint, name=route.name)
                continue
            if not isinstance(route, (APIRoute, APIWebSocketRoute)):
                # An APIRoute of another FastAPI (a library's router built with `fastapi` while the
                # app imports turboapi): its endpoint and options, registered as this router's own.
                route = _adopted(route)
            if route.is_websocket:
                self.add_api_websocket_route(
                    prefix + route.path,
                    route.endpoint,
                    name=route.name,
                    dependencies=list(dependencies or []) + route.dependencies,
                )
                continue
            self.add_api_route(
                prefix + route.path,
                route.endpoint,
                # The route keeps its class (a custom route class handles its requests its way).
                route_class_override=type(route),
                methods=route.methods_list,
                status_code=route.status_code,
                response_model=route.response_model if route.response_model is not None else Default(None),
                response_class=route.response_class if route.custom_response_class else Default(JSONResponse),
                name=route.name,
                tags=(tags or []) + route.tags,
                summary=route.summary,
                description=route.description,
                responses={**(responses or {}), **route.responses},
                deprecated=route.deprecated if route.deprecated is not None else deprecated,
                operation_id=route.operation_id,
                include_in_schema=route.include_in_schema and include_in_schema,
                dependencies=list(dependencies or []) + route.dependencies,
                response_model_include=route.response_model_include,
                response_model_exclude=route.response_model_exclude,
                response_model_by_alias=route.response_model_by_alias,
                response_model_exclude_unset=route.response_model_exclude_unset,
                response_model_exclude_defaults=route.response_model_exclude_defaults,
                response_model_exclude_none=route.response_model_exclude_none,
                openapi_extra=route.openapi_extra,
                # FastAPI's order: this router's, then the include's, then the route's own.
                callbacks=list(callbacks or []) + list(route.callbacks or []),
            )


def _is_api_route(route: Any) -> bool:
    """A FastAPI route (turboapi's, or real FastAPI's: it has a ``dependant``), not a plain Starlette one."""
    return isinstance(route, (APIRoute, APIWebSocketRoute)) or hasattr(route, "dependant")


def _adopted(route: Any) -> PlannedRoute:
    """Another FastAPI's APIRoute or APIWebSocketRoute, as this package's route with its options."""
    if isinstance(route, starlette.routing.WebSocketRoute):
        return APIWebSocketRoute(route.path, route.endpoint, name=route.name, dependencies=list(route.dependencies))

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
    def app(self) -> Any:  # type: ignore[override]
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
            app = websocket_session(handler)
            app._turboapi_default = True
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
        websocket = request_for(data, self._application) if data.websocket is None else None
        if websocket is None:
            websocket = WebSocket(data, app=self._application)
        try:
            if self.signature.simple:
                try:
                    solve_simple(self, kwargs, pending, data, connection=websocket)
                except RequestValidationError as exc:
                    raise WebSocketRequestValidationError(exc.errors()) from None
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
        scope = RequestScope(kwargs, pending, data, self._application)
        scope._request = websocket
        # The exits of `yield` dependencies run when the endpoint has returned, as FastAPI's.
        async with contextlib.AsyncExitStack() as stack:
            scope.stack = stack
            async with contextlib.AsyncExitStack() as function_stack:
                scope.function_stack = function_stack
                values, errors = await runner.solve_async(scope, runner.root)
                if errors:
                    raise WebSocketRequestValidationError(errors)
                await self.endpoint(**values)


class _IncludedRouter(starlette.routing.BaseRoute):
    """FastAPI 0.141 keeps an included router in its parent's routes as one route of this type.
    turboapi's ``include_router`` copies the included routes instead, so no route list holds one;
    the class is here for libraries that look for it (fastapi-pagination matches routes on it)."""


__getattr__ = refuse(
    "fastapi.routing",
    ["RouteContext", "iter_route_contexts"],
    "they come with FastAPI 0.141's included routers, which turboapi's include_router does not keep",
)
