"""``TurboAPI`` (alias ``FastAPI``): route registration, exception handlers, lifespan, ``run()``."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import os
from collections.abc import AsyncIterator, Callable, Mapping, MutableMapping
from typing import Any, Literal, cast

import starlette.applications
import starlette.middleware.exceptions
import typing_extensions

from . import appstate
from .asgi import SERVED_BY_CORE
from .background import Sequence
from .concurrency import run_to_end_in_thread
from .contract import AwaitHandler, Handled, HandledAndReported, Handling
from .datastructures import Default
from .exception_handlers import (
    SYNC_DEFAULTS,
    http_exception_handler,
    request_validation_exception_handler,
    websocket_request_validation_exception_handler,
)
from .exceptions import (
    HTTP_EXCEPTIONS,
    STARLETTE_HTTP_EXCEPTION,
    RequestValidationError,
    WebSocketRequestValidationError,
)
from .frontend import resolve_check_dir
from .middleware import Middleware, native_layers, needs_asgi, python_layer
from .middleware.asgi import ASGILayer
from .middleware.base import BaseHTTPMiddleware
from .requests import Request
from .responses import RESPONSE_TYPES, JSONResponse
from .routing import _ON_EVENT_DEPRECATION, APIRouter, _generate_unique_id, effective_routes

logger = logging.getLogger("turboapi.error")

#: What the router raises for unknown paths and methods (Starlette's class when installed).
ROUTER_HTTP_EXCEPTION: Any = STARLETTE_HTTP_EXCEPTION


class TurboAPI(starlette.applications.Starlette):
    """FastAPI's application: Starlette's (``routes``, ``add_route``, ``mount``, ``add_middleware``,
    ``build_middleware_stack()``, the ASGI ``__call__``), with FastAPI's registration methods,
    OpenAPI and docs; served by turboapi's core."""

    def __init__(
        self,
        *,
        debug: bool = False,
        title: str = "FastAPI",
        summary: str | None = None,
        description: str = "",
        version: str = "0.1.0",
        routes: list[Any] | None = None,
        default_response_class: Any = Default(JSONResponse),
        on_startup: list[Callable[[], Any]] | None = None,
        on_shutdown: list[Callable[[], Any]] | None = None,
        lifespan: Callable[[Any], Any] | None = None,
        exception_handlers: dict[Any, Callable[..., Any]] | None = None,
        dependencies: list[Any] | None = None,
        middleware: list[Any] | None = None,
        openapi_url: str | None = "/openapi.json",
        openapi_tags: list[dict[str, Any]] | None = None,
        servers: list[dict[str, Any]] | None = None,
        terms_of_service: str | None = None,
        contact: dict[str, Any] | None = None,
        license_info: dict[str, Any] | None = None,
        openapi_version: str = "3.1.0",
        openapi_external_docs: dict[str, Any] | None = None,
        webhooks: APIRouter | None = None,
        docs_url: str | None = "/docs",
        redoc_url: str | None = "/redoc",
        swagger_ui_oauth2_redirect_url: str | None = "/docs/oauth2-redirect",
        swagger_ui_init_oauth: dict[str, Any] | None = None,
        swagger_ui_parameters: dict[str, Any] | None = None,
        root_path: str = "",
        root_path_in_servers: bool = True,
        responses: dict[Any, dict[str, Any]] | None = None,
        callbacks: list[Any] | None = None,
        deprecated: bool | None = None,
        include_in_schema: bool = True,
        redirect_slashes: bool = True,
        openapi_prefix: str = "",
        separate_input_output_schemas: bool = True,
        generate_unique_id_function: Any = Default(_generate_unique_id),
        strict_content_type: Any = Default(True),
        **extra: Any,
    ) -> None:
        # Starlette's attributes, set here (Starlette's __init__ would build a router of its own).
        self.debug = debug
        self.middleware_stack: Any = None
        #: Starlette's own request body limit, off as in FastAPI (the core applies max_body_size).
        self.max_body_size: int | None = None
        self.title = title
        self.summary = summary
        self.description = description
        self.version = version
        self.state = appstate.State()  # one per loop shard while running on several (appstate)
        # The router keeps the startup and shutdown handlers and the lifespan, as FastAPI's: an
        # included router's are merged into them (see APIRouter.include_router).
        self.router: APIRouter = APIRouter(
            routes=routes,
            redirect_slashes=redirect_slashes,
            dependency_overrides_provider=self,
            on_startup=on_startup,
            on_shutdown=on_shutdown,
            lifespan=lifespan,
            default_response_class=default_response_class,
            dependencies=dependencies,
            callbacks=callbacks,
            deprecated=deprecated,
            include_in_schema=include_in_schema,
            responses=responses,
            generate_unique_id_function=generate_unique_id_function,
            strict_content_type=strict_content_type,
        )
        if lifespan is not None:
            self.router.lifespan_context = _mapping_state(self.router.lifespan_context)
        #: ``{dependency: replacement}``, read on every request (tests set it after building a client).
        self.dependency_overrides: dict[Callable[..., Any], Callable[..., Any]] = {}
        self.lifespan = lifespan
        self.exception_handlers: dict[Any, Callable[..., Any]] = {
            HTTP_EXCEPTIONS[-1]: http_exception_handler,
            RequestValidationError: request_validation_exception_handler,
            WebSocketRequestValidationError: websocket_request_validation_exception_handler,
            **(exception_handlers or {}),
        }
        self.extra = extra
        self.separate_input_output_schemas = separate_input_output_schemas
        if openapi_prefix:
            logger.warning(
                '"openapi_prefix" has been deprecated in favor of "root_path", which follows more closely the '
                "ASGI standard, is simpler, and more automatic. Check the docs at "
                "https://fastapi.tiangolo.com/advanced/sub-applications/"
            )
        self.openapi_url = openapi_url
        self.openapi_tags = openapi_tags
        self.servers = servers or []
        self.terms_of_service = terms_of_service
        self.contact = contact
        self.license_info = license_info
        self.openapi_version = openapi_version
        self.openapi_external_docs = openapi_external_docs
        #: Routes documented under ``webhooks`` in the OpenAPI document, never served.
        self.webhooks = webhooks or APIRouter()
        self.docs_url = docs_url
        self.redoc_url = redoc_url
        self.swagger_ui_oauth2_redirect_url = swagger_ui_oauth2_redirect_url
        self.swagger_ui_init_oauth = swagger_ui_init_oauth
        self.swagger_ui_parameters = swagger_ui_parameters
        #: The path prefix a proxy strips before forwarding (``scope["root_path"]``); the server
        #: setting ``root_path`` (``--root-path``) sets it too, uvicorn-style.
        self.root_path = root_path or openapi_prefix
        self.root_path_in_servers = root_path_in_servers
        #: The document, generated on first use and kept (assign to it to replace it, as in FastAPI).
        self.openapi_schema: dict[str, Any] | None = None
        #: The routes' version the document was generated for (a route added later renews it).
        self._openapi_routes_version: int | None = None
        #: ``Middleware(cls, **options)`` entries, outermost first (``add_middleware`` prepends).
        self.user_middleware: list[Middleware] = list(middleware or [])
        self._middleware_stack: Callable[[Request], Any] | None = None
        self._errors_in_python = False
        self._started = False
        self._native_layers: list[tuple[str, dict[str, Any]]] = []
        self.setup()

    # -- lifespan: the root router's (startup handlers or lifespan, with the included routers') --
    @property
    def on_startup(self) -> list[Callable[[], Any]]:
        return self.router.on_startup

    @on_startup.setter
    def on_startup(self, handlers: list[Callable[[], Any]]) -> None:
        self.router.on_startup = list(handlers)

    @property
    def on_shutdown(self) -> list[Callable[[], Any]]:
        return self.router.on_shutdown

    @on_shutdown.setter
    def on_shutdown(self, handlers: list[Callable[[], Any]]) -> None:
        self.router.on_shutdown = list(handlers)

    @contextlib.asynccontextmanager
    async def lifespan_context(self, app: Any) -> AsyncIterator[Mapping[str, Any] | None]:
        """The app's start and end, as one context (run once per loop shard by the server):
        the root router's lifespan, which merges the included routers' (what it yields is the state)."""
        async with self.router.lifespan_context(app) as state:
            if state is not None and not isinstance(state, Mapping):
                raise TypeError(f"lifespan must yield a mapping or None, not {type(state).__name__}")
            yield state

    def add_event_handler(self, event_type: str, func: Callable[[], Any]) -> None:
        self.router.add_event_handler(event_type, func)

    # -- registration, delegated to the root router -----------------------------------------
    def add_api_route(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        self.router.add_api_route(path, endpoint, **kwargs)

    def api_route(self, path: str, **kwargs: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        return self.router.api_route(path, **kwargs)

    def get(self, path: str, **kwargs: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        return self.router.get(path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        return self.router.post(path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        return self.router.put(path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        return self.router.patch(path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        return self.router.delete(path, **kwargs)

    def head(self, path: str, **kwargs: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        return self.router.head(path, **kwargs)

    def options(self, path: str, **kwargs: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        return self.router.options(path, **kwargs)

    def trace(self, path: str, **kwargs: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        return self.router.trace(path, **kwargs)

    def frontend(
        self,
        path: str,
        *,
        directory: str | os.PathLike[str],
        fallback: Literal["auto", "index.html", "404.html"] | None = "auto",
        check_dir: bool | Literal["auto"] = "auto",
    ) -> None:
        """Serve a static frontend build under ``path``, tried only when no path operation matches
        (see ``APIRouter.frontend``)."""
        check_dir = resolve_check_dir(directory=directory, check_dir=check_dir)
        self.router.frontend(path, directory=directory, fallback=fallback, check_dir=check_dir)

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        """The app as an ASGI 3 application. Called by the core (a mounted app, or middleware that
        needs ASGI): Starlette's middleware stack, router and routes. Called by another server
        (uvicorn, Starlette's TestClient): the request goes through turboapi's core in-process,
        see asgi_app.py."""
        if scope.get(SERVED_BY_CORE):
            if self.middleware_stack is None:
                # Marked as built here: one set by anyone else makes the app go the ASGI way.
                self.middleware_stack = self._built_stack = self.build_middleware_stack()
            # Starlette's own entry, which instrumentation (sentry-sdk) may have wrapped.
            await starlette.applications.Starlette.__call__(self, scope, receive, send)
            return
        adapter = self.__dict__.get("_asgi_adapter")
        if adapter is None:
            from .asgi_app import ASGIAdapter

            adapter = self.__dict__.setdefault("_asgi_adapter", ASGIAdapter(self))
        await adapter(scope, receive, send)

    def websocket(
        self, path: str, name: str | None = None, *, dependencies: list[Any] | None = None
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        return self.router.websocket(path, name=name, dependencies=dependencies)

    def add_api_websocket_route(
        self, path: str, endpoint: Callable[..., Any], name: str | None = None, **kwargs: Any
    ) -> None:
        self.router.add_api_websocket_route(path, endpoint, name=name, **kwargs)

    def websocket_route(self, path: str, name: str | None = None) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        def decorator(func: Callable[..., Any]) -> Callable[..., Any]:
            self.router.add_websocket_route(path, func, name=name)
            return func

        return decorator

    def add_websocket_route(self, path: str, endpoint: Callable[..., Any], name: str | None = None) -> None:
        self.router.add_websocket_route(path, endpoint, name=name)

    def add_route(
        self,
        path: str,
        route: Callable[..., Any],
        methods: list[str] | None = None,
        name: str | None = None,
        include_in_schema: bool = True,
    ) -> None:
        self.router.add_route(path, route, methods=methods, name=name, include_in_schema=include_in_schema)

    def include_router(
        self,
        router: APIRouter,
        *,
        prefix: str = "",
        tags: list[Any] | None = None,
        dependencies: list[Any] | None = None,
        responses: dict[Any, dict[str, Any]] | None = None,
        deprecated: bool | None = None,
        include_in_schema: bool = True,
        default_response_class: Any = Default(JSONResponse),
        callbacks: list[Any] | None = None,
        generate_unique_id_function: Any = Default(_generate_unique_id),
    ) -> None:
        self.router.include_router(
            router,
            prefix=prefix,
            tags=tags,
            dependencies=dependencies,
            responses=responses,
            deprecated=deprecated,
            include_in_schema=include_in_schema,
            default_response_class=default_response_class,
            callbacks=callbacks,
            generate_unique_id_function=generate_unique_id_function,
        )

    @typing_extensions.deprecated(_ON_EVENT_DEPRECATION)
    def on_event(self, event_type: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        return self.router.on_event(event_type)

    def exception_handler(self, exc_class_or_status_code: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        def decorator(func: Callable[..., Any]) -> Callable[..., Any]:
            self.add_exception_handler(exc_class_or_status_code, func)
            return func

        return decorator

    def add_exception_handler(self, exc_class_or_status_code: Any, handler: Callable[..., Any]) -> None:
        self.exception_handlers[exc_class_or_status_code] = handler

    # -- OpenAPI ----------------------------------------------------------------------------
    def openapi(self) -> dict[str, Any]:
        routes_version = self.router._get_routes_version()
        if self.openapi_schema is None or self._openapi_routes_version != routes_version:
            from .openapi.utils import get_openapi

            self.openapi_schema = get_openapi(
                title=self.title,
                version=self.version,
                openapi_version=self.openapi_version,
                summary=self.summary,
                description=self.description,
                terms_of_service=self.terms_of_service,
                contact=self.contact,
                license_info=self.license_info,
                # Included routers' routes as they are served (prefix, tags... applied).
                routes=effective_routes(self.routes),
                webhooks=effective_routes(self.webhooks.routes),
                tags=self.openapi_tags,
                servers=self.servers,
                external_docs=self.openapi_external_docs,
                separate_input_output_schemas=self.separate_input_output_schemas,
            )
            self._openapi_routes_version = routes_version
        return self.openapi_schema

    def setup(self) -> None:
        """Add the OpenAPI document's and the docs pages' routes, as FastAPI does when an app is made."""
        self.router.routes.extend(self._internal_routes())

    def _internal_routes(self) -> list[Any]:
        """Routes the app serves besides the user's: the OpenAPI document and the docs pages."""
        from .openapi import assets, docs
        from .routing import APIRoute

        if not self.openapi_url:
            return []

        def root_path(request: Request) -> str:
            return str(request.scope.get("root_path", "")).rstrip("/")

        def openapi(request: Request) -> Any:
            schema = self.openapi()
            root = root_path(request)
            if root and self.root_path_in_servers and root not in {s.get("url") for s in schema.get("servers", [])}:
                # A copy: the cached document stays as it was. A new "servers" key goes last, as in FastAPI's.
                schema = dict(schema)
                schema["servers"] = [{"url": root}, *schema.get("servers", [])]
            return JSONResponse(schema)

        def swagger_ui_html(request: Request) -> Any:
            root = root_path(request)
            redirect = self.swagger_ui_oauth2_redirect_url
            return docs.get_swagger_ui_html(
                # Not None: the docs are routed only with an OpenAPI URL (cast: for the checker).
                openapi_url=root + cast(str, self.openapi_url),
                title=f"{self.title} - Swagger UI",
                swagger_js_url=root + assets.url("swagger-ui-bundle.js"),
                swagger_css_url=root + assets.url("swagger-ui.css"),
                swagger_favicon_url=root + assets.url("favicon.png"),
                oauth2_redirect_url=root + redirect if redirect else None,
                init_oauth=self.swagger_ui_init_oauth,
                swagger_ui_parameters=self.swagger_ui_parameters,
            )

        def swagger_ui_redirect() -> Any:
            return docs.get_swagger_ui_oauth2_redirect_html()

        def redoc_html(request: Request) -> Any:
            root = root_path(request)
            return docs.get_redoc_html(
                openapi_url=root + cast(str, self.openapi_url),
                title=f"{self.title} - ReDoc",
                redoc_js_url=root + assets.url("redoc.standalone.js"),
                redoc_favicon_url=root + assets.url("favicon.png"),
            )

        routes = [APIRoute(self.openapi_url, openapi, include_in_schema=False, name="openapi")]
        if self.docs_url:
            routes.append(APIRoute(self.docs_url, swagger_ui_html, include_in_schema=False, name="swagger_ui_html"))
            if self.swagger_ui_oauth2_redirect_url:
                routes.append(
                    APIRoute(
                        self.swagger_ui_oauth2_redirect_url,
                        swagger_ui_redirect,
                        include_in_schema=False,
                        name="swagger_ui_redirect",
                    )
                )
        if self.redoc_url:
            routes.append(APIRoute(self.redoc_url, redoc_html, include_in_schema=False, name="redoc_html"))
        if self.docs_url or self.redoc_url:
            routes.append(assets.route())
        return routes

    # -- middleware ---------------------------------------------------------------------------
    def add_middleware(self, middleware_class: Any, *args: Any, **kwargs: Any) -> None:
        if self._started or self.middleware_stack is not None:
            raise RuntimeError("Cannot add middleware after an application has started")
        self.user_middleware.insert(0, Middleware(middleware_class, *args, **kwargs))

    def middleware(self, middleware_type: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        if middleware_type != "http":
            raise ValueError('Currently only middleware("http") is supported.')

        def decorator(func: Callable[..., Any]) -> Callable[..., Any]:
            self.add_middleware(BaseHTTPMiddleware, dispatch=func)
            return func

        return decorator

    def _core_middleware(self, native: bool = True, served_asgi: bool = False) -> Callable[[Request], Any] | None:
        """The stack as one callable ``await stack(request) -> Response``; None when the core can
        answer alone (no middleware, and 404/405 handled by the default handler), or when the
        whole app is served the ASGI way (``served_asgi``: Starlette's stack runs it)."""
        self._started = True
        if served_asgi:
            self._native_layers = []
            self._middleware_stack = None
            return None
        # Starlette's router raises its own HTTPException for these; a custom handler must see it.
        self._errors_in_python = any(
            self._lookup_exception_handler(ROUTER_HTTP_EXCEPTION(status)) is not http_exception_handler
            for status in (404, 405)
        )
        self._native_layers = []
        if not self.user_middleware and not self._errors_in_python:
            return None
        layers = native_layers(self.user_middleware) if native and not self._errors_in_python else None
        if layers is not None:
            # Only standard middleware: the core runs it, no Python per request.
            self._native_layers = layers
            self._middleware_stack = None
            return None
        stack: Callable[[Request], Any] = self._call_route
        entries = [tuple(m) for m in self.user_middleware]  # (cls, args, kwargs), outermost first
        while entries:
            if not needs_asgi(entries[-1][0]):
                cls, args, kwargs = entries.pop()
                stack = python_layer(cls, stack, args, kwargs)
                continue
            # A run of pure ASGI middleware: one layer, handed the request's real scope.
            start = len(entries)
            while start > 0 and needs_asgi(entries[start - 1][0]):
                start -= 1
            below = [tuple(m) for m in self.user_middleware[len(entries) :]]

            def remainder(below: list[Any] = below) -> Any:
                return self._starlette_stack(below)

            stack = ASGILayer(entries[start:], stack, remainder)
            del entries[start:]
        self._middleware_stack = stack
        return stack

    def _starlette_stack(self, middleware: list[Any]) -> Any:
        """What Starlette runs below ``middleware`` (outermost first): those classes, the exception
        handlers and the router; for a request a pure ASGI middleware changed (see ``ASGILayer``)."""
        handlers = {
            key: value for key, value in self.exception_handlers.items() if key not in (500, Exception)
        }  # fmt: skip
        app: Any = starlette.middleware.exceptions.ExceptionMiddleware(self.router, handlers=handlers, debug=self.debug)
        for cls, args, kwargs in reversed(middleware):
            app = cls(app, *args, **kwargs)
        return app

    async def _middleware_entry(self, data: Any, next_: Any) -> Any:
        """Called by the core (on a loop shard) for every request when there is middleware."""
        request = Request(data, app=self)
        request._core_next = next_
        assert self._middleware_stack is not None
        try:
            return await self._middleware_stack(request)
        except Exception as exc:
            # Raised by a middleware, or unhandled inside: only the 500/Exception handler applies
            # (Starlette's ServerErrorMiddleware sits outside the user's middleware).
            exc._turboapi_server_error = True  # type: ignore[attr-defined]
            raise

    async def _call_route(self, request: Request) -> Any:
        """The inner end of the stack: the core's own reply, or the route with exception handlers."""
        next_ = request._core_next
        fixed = next_.take_fixed()
        if fixed is not None and not (self._errors_in_python and fixed.status_code in (404, 405)):
            return fixed
        try:
            if fixed is not None:
                # As Starlette's router: unknown paths and methods raise, so custom handlers apply.
                allow = fixed.headers.get("allow")
                raise ROUTER_HTTP_EXCEPTION(fixed.status_code, headers={"Allow": allow} if allow else None)
            if next_.is_async:
                return _keep_background(request, next_.finish(await next_.call()))
            # A sync route in a thread, through to its response: if the request is cancelled
            # meanwhile (the client went away), the thread still finishes and the response's
            # background, moved to the request there, still runs.
            return await run_to_end_in_thread(lambda: _keep_background(request, next_.finish(next_.call())))
        except Exception as exc:
            handler = self._lookup_exception_handler(exc)
            if handler is None:
                raise
            response = handler(request, exc)
            if inspect.isawaitable(response):
                response = await response
            return response

    # -- called by the core when a request raised ------------------------------------------
    def _lookup_exception_handler(self, exc: BaseException) -> Callable[..., Any] | None:
        """The route-level handler (Starlette's ExceptionMiddleware): by status code for HTTP
        exceptions, else by class. 500 and ``Exception`` handlers are server-level, not here."""
        handlers = self.exception_handlers
        if isinstance(exc, HTTP_EXCEPTIONS) and exc.status_code != 500 and exc.status_code in handlers:
            return handlers[exc.status_code]
        for cls in type(exc).__mro__:
            if cls is not Exception and cls in handlers:
                return handlers[cls]
        return None

    def _server_error_handler(self) -> Callable[..., Any] | None:
        handler = None
        for key, value in self.exception_handlers.items():
            if key in (500, Exception):
                handler = value
        return handler

    @staticmethod
    def _log_error(exc: BaseException) -> None:
        """An error the core met outside a handler (a file response's missing file)."""
        logger.error("Exception in request handler", exc_info=exc)

    def _failed_handler(self, request: Request, failure: Exception) -> Any:
        """An exception handler raised: the 500/Exception handler answers (its Response, or an
        ``AwaitHandler``), as Starlette's ServerErrorMiddleware does, or None (logged; a plain
        500)."""
        logger.error("Exception in exception handler", exc_info=failure)
        handler = self._server_error_handler()
        if handler is None:
            return None
        return _call_handler(handler, request, failure, report=False)

    def _handle_exception(self, exc: BaseException, data: Any) -> Handling:
        """What the app's exception handlers make of ``exc`` (``contract.Handling``): None when
        unhandled (logged; the core answers 500)."""
        if data.websocket is not None:
            # A WebSocket handler's error its route did not handle: logged, the connection closed
            # (500 before accept, 1011 after). Server-level (500/Exception) handlers are HTTP's.
            if not isinstance(exc, asyncio.CancelledError):  # cancelled: the server is stopping
                logger.error("Exception in WebSocket handler", exc_info=exc)
            return None
        server_error = getattr(exc, "_turboapi_server_error", False)
        handler = None if server_error else self._lookup_exception_handler(exc)
        if handler is not None:
            request = Request(data, app=self)
            try:
                result = _call_handler(handler, request, exc, report=False, fallback=self._failed_handler)
            except Exception as failure:
                result = self._failed_handler(request, failure)
            if result is None or isinstance(result, AwaitHandler):
                return result
            return Handled(result)
        if appstate.is_split(self.state):
            appstate.explain_cross_loop(exc)
        logger.error("Exception in request handler", exc_info=exc)
        handler = self._server_error_handler()
        if handler is None:
            return None
        result = _call_handler(handler, Request(data, app=self), exc, report=True)
        return result if isinstance(result, AwaitHandler) else HandledAndReported(result)

    # -- serving ---------------------------------------------------------------------------
    def run(self, host: str = "127.0.0.1", port: int = 8000, **settings: Any) -> None:
        """Serve on host:port until SIGINT/SIGTERM, then drain in-flight requests and return."""
        from .serving import Runtime, Settings

        runtime = Runtime(self, Settings.resolve(settings, env=os.environ))
        runtime.serve(host, port)


def _mapping_state(lifespan_context: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """The app's own lifespan, refusing a state that is not a mapping (or None) at startup."""

    @contextlib.asynccontextmanager
    async def checked(app: Any) -> AsyncIterator[Mapping[str, Any] | None]:
        async with lifespan_context(app) as state:
            if state is not None and not isinstance(state, Mapping):
                raise TypeError(f"lifespan must yield a mapping or None, not {type(state).__name__}")
            yield state

    return checked


def _call_handler(
    handler: Callable[..., Any],
    request: Request,
    exc: BaseException,
    *,
    report: bool,
    fallback: Callable[[Request, Exception], Any] | None = None,
) -> Any:
    """The handler's Response. An async handler on a loop shard comes back as an
    ``AwaitHandler``: the core runs it as a task (it may wait on I/O) and answers when it is
    done. On a pool thread (no loop) it runs to completion here."""
    sync_default = SYNC_DEFAULTS.get(handler)
    if sync_default is not None:
        return sync_default(exc)
    result = handler(request, exc)
    if not inspect.isawaitable(result):
        return _response_of(handler, result)
    if asyncio._get_running_loop() is not None:
        return AwaitHandler(_awaited(result, request, fallback, handler), report)
    return asyncio.run(_awaited(result, request, fallback, handler))


def _response_of(handler: Callable[..., Any], result: Any) -> Any:
    """An exception handler's result, which must be a Response: anything else is an error naming
    the handler (as under Starlette, where sending it fails), answered as a failing handler is."""
    if isinstance(result, RESPONSE_TYPES):
        return result
    name = getattr(handler, "__qualname__", repr(handler))
    raise TypeError(f"exception handler {name} returned {type(result).__name__}, not a Response")


async def _awaited(
    awaitable: Any, request: Request, fallback: Callable[[Request, Exception], Any] | None, handler: Any
) -> Any:
    try:
        result = await awaitable
        return _response_of(handler, result)
    except Exception as failure:
        if fallback is None:
            raise
        response = fallback(request, failure)
        if isinstance(response, AwaitHandler):  # the 500 handler is async too: run it here
            response = await response.coro
        if inspect.isawaitable(response):
            response = await response
        if response is None:
            raise
        return response


def _keep_background(request: Request, response: Any) -> Any:
    """As under Starlette's call_next, the route's background runs whatever response the
    middleware sends: it moves to the request, ahead of the dependency exits."""
    if response.background is not None:
        after = request._data.take_after()
        works = [response.background] + ([after] if after is not None else [])
        request._data.set_after(Sequence(works))
        response.background = None
    return response


FastAPI = TurboAPI
