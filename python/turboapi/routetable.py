"""The core's route table for an app, decided once at start-up: which routes the core runs on its
fast path, and which it hands to an ASGI bridge.

- An ``APIRoute`` or ``APIWebSocketRoute`` runs on the fast path: the core routes, extracts,
  calls the endpoint and serialises. Unless its class changes how a request is handled
  (``get_route_handler``, ``handle`` or ``matches`` overridden, as FastAPI's custom route classes
  do), or its ASGI ``app`` was replaced: then the route's own ``handle`` answers, the ASGI way, and
  its handler still asks the core to run its plan (``routehandler``).
- A Starlette ``Route`` or ``WebSocketRoute`` (``app.add_route``) is answered by its ``handle``.
- A ``Mount`` of ``StaticFiles`` is served by the core's file path; of any other ASGI app (a
  mounted FastAPI or turboapi app included), through an ASGI bridge. The ``APIRoute``s of a mounted
  turboapi app are registered with the core too, without being routable, so that their handlers
  can ask the core to run their plans.

- An included router (``_IncludedRouter``) is served as its effective routes (prefix, tags,
  dependencies... of its includes applied): each included ``APIRoute`` as its planned effective
  copy, on the fast path. A router class that routes its own way sends the app the ASGI way.
- Low-priority routes (``app.frontend()``) and ``redirect_slashes=False`` add one last entry, a
  catch-all: what the core's table does not take goes to the app's router in Python
  (``FallbackRoute``), which answers as Starlette's router would.

Every planned route is told its app (``_application``) and where the core keeps its plan
(``_core``).
"""

from __future__ import annotations

import re
from typing import Any

import starlette.applications
import starlette.routing

from .fastapiscope import _FASTAPI_EFFECTIVE_ROUTE_CONTEXT_KEY, _get_fastapi_scope
from .requests import Request
from .routing import (
    MOUNT_METHODS,
    APIRoute,
    APIRouter,
    APIWebSocketRoute,
    ASGIRoute,
    MountRoute,
    PlannedRoute,
    _EffectiveRouteContext,
    _IncludedRouter,
    _scope_set,
    reachable,
    uses_default_handler,
)


class AppRoute(PlannedRoute):
    """The core's one entry for an app served the ASGI way: every path, method and WebSocket goes
    to the app's ASGI ``__call__`` (Starlette's middleware stack and router)."""

    is_mount = True
    prefix = ""
    accepts_websocket = True
    streams_body = True

    def __init__(self, app: Any) -> None:
        from .asgi import ASGIAppBridge

        bridge = ASGIAppBridge(app)

        async def serve(request: Request) -> Any:
            return await bridge(request)

        super().__init__("/{path:path}", serve, methods=MOUNT_METHODS, name="app", include_in_schema=False)
        self._application = app


class PlanOnly:
    """A planned route the core keeps without routing to it (its requests come the ASGI way)."""

    methods_list: list[str] = []
    accepts_websocket = False

    def __init__(self, route: PlannedRoute) -> None:
        self.__dict__["_route"] = route

    def __getattr__(self, name: str) -> Any:
        return getattr(self._route, name)


def handled_its_own_way(route: Any) -> bool:
    """Does this APIRoute's class (or the route itself) change how a request is handled?"""
    if not uses_default_handler(route):
        return True  # a library patched routing.get_request_handler (sentry-sdk): its handler must run
    cls = type(route)
    base = APIWebSocketRoute if isinstance(route, APIWebSocketRoute) else APIRoute
    for name in ("get_route_handler", "handle", "matches"):
        if getattr(cls, name, None) is not getattr(base, name, None):
            return True
    return "_asgi_app" in route.__dict__ and route.__dict__["_asgi_app"] is not None and _replaced(route)


def _replaced(route: Any) -> bool:
    # `app` read once builds the default handler (and stores it): only another value is a replacement.
    return not getattr(route.__dict__["_asgi_app"], "_turboapi_default", False)


def asgi_reasons(app: Any) -> list[str]:
    """Why the whole app must be served the ASGI way (Starlette's middleware stack and router,
    the core still planning each APIRoute's parameters and response), or [] when the core can
    route it itself: what the core cannot prove it does the same way."""
    from .applications import TurboAPI

    # (Pure ASGI middleware is not a reason: it runs on the core's stack, see middleware/asgi.py.)
    reasons: list[str] = []
    if "build_middleware_stack" in vars(app) or not _starlettes(type(app).build_middleware_stack):
        reasons.append("build_middleware_stack is replaced")
    if not _starlettes(starlette.applications.Starlette.__call__):
        reasons.append("Starlette.__call__ is wrapped (instrumentation)")
    if type(app).__call__ is not TurboAPI.__call__:
        reasons.append(f"{type(app).__name__}.__call__ is overridden")
    if app.middleware_stack is not None and app.middleware_stack is not vars(app).get("_built_stack"):
        reasons.append("middleware_stack is set")
    if not isinstance(app.router, APIRouter) or type(app.router).__call__ is not starlette.routing.Router.__call__:
        reasons.append(f"the router is a {type(app.router).__name__}")
    reasons += [f"a {type(route).__name__} route at {getattr(route, 'path', '?')!r}" for route in _flat(app.routes)
                if not _core_routable(route)]  # fmt: skip
    return reasons


def _own_routing(router: Any) -> bool:
    """Does this included router's class route requests its own way (FastAPI calls its methods)?"""
    cls = type(router)
    return any(getattr(cls, name) is not getattr(APIRouter, name) for name in ("matches", "handle", "app", "__call__"))


def _flat(routes: list[Any]) -> list[Any]:
    """The routes the core serves, in order: an included router's as their effective forms (an
    ``_EffectiveRouteContext``); an included router of a class that routes its own way as itself."""
    out: list[Any] = []
    for route in list(routes):
        if isinstance(route, _IncludedRouter):
            if _own_routing(route.original_router):
                out.append(route)
                continue
            for candidate in route.effective_candidates():
                out += _flat([candidate]) if isinstance(candidate, _IncludedRouter) else [candidate]
        else:
            out.append(route)
    return out


def _starlettes(method: Any) -> bool:
    """Is this Starlette's own method of its app class, not a library's replacement or wrapper
    (which may have been installed before turboapi was imported)?"""
    name = getattr(method, "__name__", "")
    return getattr(method, "__module__", None) == "starlette.applications" and (
        getattr(method, "__qualname__", None) == f"Starlette.{name}"
    )


def _core_routable(route: Any) -> bool:
    """Can the core match this route by its path, as Starlette's router would?"""
    if isinstance(route, _EffectiveRouteContext):
        if isinstance(route.original_route, APIRoute):
            return _core_routable(route.original_route)
        return route.starlette_route is not None and _core_routable(route.starlette_route)
    kinds = (starlette.routing.Route, starlette.routing.WebSocketRoute, starlette.routing.Mount)
    base = next((kind for kind in kinds if isinstance(route, kind)), None)
    return base is not None and type(route).matches in (base.matches, APIRoute.matches, APIWebSocketRoute.matches)


def build(app: Any, served_asgi: bool = False) -> tuple[list[Any], list[Any], list[Any]]:
    """(the entries the core routes, in order; the planned routes it keeps without routing;
    the mounted ASGI apps whose lifespans run with the app's). ``served_asgi``: one entry takes
    every request to the app's ASGI ``__call__`` (see ``asgi_reasons``)."""
    if served_asgi:
        return [AppRoute(app)], _planned_routes_of(app) + _low_priority_plans(app), []
    served: list[Any] = []
    plan_only: list[Any] = []
    mounts: list[Any] = []
    for route in _flat(app.routes):
        if isinstance(route, _EffectiveRouteContext):
            if isinstance(route.original_route, APIRoute):
                effective = route.route
                assert effective is not None  # an APIRoute's context holds its planned copy
                effective._application = app
                route.original_route._application = app
                if handled_its_own_way(route.original_route):
                    # The route's class answers, with the included route's plan (see APIRoute.handle).
                    served.append(ASGIRoute(IncludedRoute(route), effective.methods_list, False))
                    plan_only.append(PlanOnly(effective))
                else:
                    served.append(effective)
                continue
            route = route.starlette_route
        if isinstance(route, (APIRoute, APIWebSocketRoute)):
            route._application = app
            if handled_its_own_way(route):
                websocket = isinstance(route, APIWebSocketRoute)
                served.append(ASGIRoute(route, None if websocket else route.methods_list, websocket))
                plan_only.append(PlanOnly(route))
            else:
                served.append(route)
        elif isinstance(route, starlette.routing.Mount):
            entry = MountRoute(route.path, route.app, route.name)
            served.append(entry)
            if entry.asgi is not None:
                mounts.append(entry.asgi)
            plan_only += _planned_routes_of(route.app)
        elif isinstance(route, starlette.routing.Route):
            methods = sorted(route.methods) if route.methods else MOUNT_METHODS
            served.append(ASGIRoute(route, methods, False))
        elif isinstance(route, starlette.routing.WebSocketRoute):
            served.append(ASGIRoute(route, None, True))
        else:
            raise TypeError(
                f"turboapi cannot serve a {type(route).__name__} in app.routes yet (routes, mounts and "
                "WebSocket routes are served)"
            )
    plan_only += _low_priority_plans(app)
    if _needs_fallback(app, served):
        served.append(FallbackRoute(app))
    for entry in served:
        if entry._application is None:
            entry._application = app  # a mount's or a bridged route's requests belong to this app
    return reachable(served), plan_only, mounts


def _low_priority_plans(app: Any) -> list[Any]:
    """The planned low-priority routes (an ``APIRoute`` stored there), kept for the ASGI way."""
    found: list[Any] = []
    router = app.router
    if not isinstance(router, APIRouter):
        return found
    for candidate in router._iter_low_priority_routes():
        route = candidate.route if isinstance(candidate, _EffectiveRouteContext) else candidate
        if isinstance(route, APIRoute):
            route._application = app
            found.append(PlanOnly(route))
    return found


_ROOT_CATCH_ALL = re.compile(r"^/\{[^}:]+:path\}$")


def _needs_fallback(app: Any, served: list[Any]) -> bool:
    """Must requests the core's table misses go to Python (``FallbackRoute``)? When the app has
    low-priority routes (a frontend) or no slash redirects, and no route already takes every path."""
    router = app.router
    if not isinstance(router, APIRouter):
        return False
    if router.redirect_slashes and next(router._iter_low_priority_routes(), None) is None:
        return False
    return not any(_ROOT_CATCH_ALL.match(getattr(entry, "path", "")) for entry in served)


class FallbackRoute(PlannedRoute):
    """The core's last entry, ``/{path:path}`` for the usual methods, for an app with low-priority routes
    or ``redirect_slashes=False``: the core's own routes still win (static and parameter segments
    before a catch-all), and a request none of them takes gets Starlette's answer from the app's
    router (``APIRouter.app``): a 405 for a path another method has, a slash redirect, a
    low-priority route (a frontend's file), else 404."""

    accepts_websocket = False
    streams_body = True

    def __init__(self, app: Any) -> None:
        from .asgi import ASGIRouteBridge

        self.router = app.router
        bridge = ASGIRouteBridge(self)

        async def serve(request: Request) -> Any:
            return await bridge(request)

        # (TRACE left out: a core built before it knew TRACE would refuse the whole table.)
        super().__init__("/{path:path}", serve, methods=MOUNT_METHODS, name="fallback", include_in_schema=False)

    def matches(self, scope: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        return starlette.routing.Match.FULL, {}

    async def handle(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        scope["path_params"] = {}
        scope.pop("route", None)
        await self.router.app(scope, receive, send)


class IncludedRoute:
    """An included ``APIRoute`` whose class handles requests its own way, as the core's bridge sees
    it: the route's own ``matches`` and ``handle``, with its effective context in the scope."""

    def __init__(self, context: _EffectiveRouteContext) -> None:
        self.context = context
        self.original = context.original_route
        self.path = context.route.path  # type: ignore[union-attr]
        self.name = self.original.name

    def matches(self, scope: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        with _scope_set(scope, _FASTAPI_EFFECTIVE_ROUTE_CONTEXT_KEY, self.context):
            return self.original.matches(scope)  # type: ignore[no-any-return]

    async def handle(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        _get_fastapi_scope(scope)[_FASTAPI_EFFECTIVE_ROUTE_CONTEXT_KEY] = self.context
        scope["route"] = self.original
        await self.original.handle(scope, receive, send)


def _planned_routes_of(mounted: Any) -> list[Any]:
    """The planned routes of a mounted turboapi app (and of the apps it mounts), each told its app."""
    routes = getattr(mounted, "routes", None)
    if routes is None:
        return []
    found: list[Any] = []
    for route in _flat_all(routes):
        if isinstance(route, _EffectiveRouteContext):
            route = route.route or route.starlette_route
        if isinstance(route, (APIRoute, APIWebSocketRoute)):
            route._application = mounted
            found.append(PlanOnly(route))
        elif isinstance(route, starlette.routing.Mount):
            found += _planned_routes_of(route.app)
    return found


def _flat_all(routes: list[Any]) -> list[Any]:
    """Every route, included routers' (whatever their class) as their effective forms."""
    out: list[Any] = []
    for route in list(routes):
        if isinstance(route, _IncludedRouter):
            out += list(route.effective_route_contexts())
        else:
            out.append(route)
    return out


def assign(engine: Any, entries: list[Any]) -> None:
    """Tell each planned route where the core keeps its plan (its index in ``entries``)."""
    for index, entry in enumerate(entries):
        route = entry._route if isinstance(entry, PlanOnly) else entry
        if isinstance(route, PlannedRoute):
            route._core = (engine, index)


def fingerprint(app: Any) -> dict[str, Any]:
    """What the core planned each of the app's routes from (see ``changed_routes``)."""
    prints: dict[str, Any] = {}
    for route in list(app.routes):
        key = f"{','.join(sorted(getattr(route, 'methods', None) or []))} {getattr(route, 'path', '?')}".strip()
        if isinstance(route, (APIRoute, APIWebSocketRoute)):
            prints[key] = (id(route), id(route.endpoint), len(route.dependencies), handled_its_own_way(route))
        else:
            prints[key] = (id(route),)
    return prints


def changed_routes(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """The routes added, removed or changed between two fingerprints."""
    return sorted(key for key in before.keys() | after.keys() if before.get(key) != after.get(key))
