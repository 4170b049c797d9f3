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

Every planned route is told its app (``_application``) and where the core keeps its plan
(``_core``).
"""

from __future__ import annotations

from typing import Any

import starlette.applications
import starlette.routing

from .requests import Request
from .routing import (
    MOUNT_METHODS,
    APIRoute,
    APIRouter,
    APIWebSocketRoute,
    ASGIRoute,
    MountRoute,
    PlannedRoute,
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
    default_build = starlette.applications.Starlette.build_middleware_stack
    if "build_middleware_stack" in vars(app) or type(app).build_middleware_stack is not default_build:
        reasons.append("build_middleware_stack is replaced")
    if type(app).__call__ is not TurboAPI.__call__:
        reasons.append(f"{type(app).__name__}.__call__ is overridden")
    if app.middleware_stack is not None and app.middleware_stack is not vars(app).get("_built_stack"):
        reasons.append("middleware_stack is set")
    if not isinstance(app.router, APIRouter) or type(app.router).__call__ is not starlette.routing.Router.__call__:
        reasons.append(f"the router is a {type(app.router).__name__}")
    reasons += [f"a {type(route).__name__} route at {getattr(route, 'path', '?')!r}" for route in app.routes
                if not _core_routable(route)]  # fmt: skip
    return reasons


def _core_routable(route: Any) -> bool:
    """Can the core match this route by its path, as Starlette's router would?"""
    kinds = (starlette.routing.Route, starlette.routing.WebSocketRoute, starlette.routing.Mount)
    base = next((kind for kind in kinds if isinstance(route, kind)), None)
    return base is not None and type(route).matches in (base.matches, APIRoute.matches, APIWebSocketRoute.matches)


def build(app: Any, served_asgi: bool = False) -> tuple[list[Any], list[Any], list[Any]]:
    """(the entries the core routes, in order; the planned routes it keeps without routing;
    the mounted ASGI apps whose lifespans run with the app's). ``served_asgi``: one entry takes
    every request to the app's ASGI ``__call__`` (see ``asgi_reasons``)."""
    if served_asgi:
        return [AppRoute(app)], _planned_routes_of(app), []
    served: list[Any] = []
    plan_only: list[Any] = []
    mounts: list[Any] = []
    for route in list(app.routes):
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
    for entry in served:
        if entry._application is None:
            entry._application = app  # a mount's or a bridged route's requests belong to this app
    return reachable(served), plan_only, mounts


def _planned_routes_of(mounted: Any) -> list[Any]:
    """The planned routes of a mounted turboapi app (and of the apps it mounts), each told its app."""
    routes = getattr(mounted, "routes", None)
    if routes is None:
        return []
    found: list[Any] = []
    for route in list(routes):
        if isinstance(route, (APIRoute, APIWebSocketRoute)):
            route._application = mounted
            found.append(PlanOnly(route))
        elif isinstance(route, starlette.routing.Mount):
            found += _planned_routes_of(route.app)
    return found


def assign(engine: Any, entries: list[Any]) -> None:
    """Tell each planned route where the core keeps its plan (its index in ``entries``)."""
    for index, entry in enumerate(entries):
        route = entry._route if isinstance(entry, PlanOnly) else entry
        if isinstance(route, PlannedRoute):
            route._core = (engine, index)
