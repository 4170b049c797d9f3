"""FastAPI's own per-request entries in the ASGI scope (``scope["fastapi"]``): the route
context an included router adds, a frontend's matched path. Shared by routing and frontends."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

#: The request scope's key for FastAPI's own per-request entries.
_FASTAPI_SCOPE_KEY = "fastapi"
_FASTAPI_EFFECTIVE_ROUTE_CONTEXT_KEY = "effective_route_context"
_FASTAPI_FRONTEND_PATH_KEY = "frontend_path"
_FASTAPI_FRONTEND_SPECIFICITY_KEY = "frontend_specificity"
_FASTAPI_INCLUDED_ROUTER_KEY = "included_router"
_SCOPE_MISSING = object()


def _get_fastapi_scope(scope: MutableMapping[str, Any]) -> dict[str, Any]:
    fastapi_scope = scope.setdefault(_FASTAPI_SCOPE_KEY, {})
    assert isinstance(fastapi_scope, dict)
    return fastapi_scope


def _update_scope(scope: MutableMapping[str, Any], child_scope: MutableMapping[str, Any]) -> None:
    """``scope.update(child_scope)``, FastAPI's own entries merged rather than replaced."""
    fastapi_child = child_scope.get(_FASTAPI_SCOPE_KEY)
    for key, value in child_scope.items():
        if key != _FASTAPI_SCOPE_KEY:
            scope[key] = value
    if isinstance(fastapi_child, dict):
        _get_fastapi_scope(scope).update(fastapi_child)


def _scope_entry(scope: MutableMapping[str, Any], key: str) -> Any:
    fastapi_scope = scope.get(_FASTAPI_SCOPE_KEY)
    return fastapi_scope.get(key) if isinstance(fastapi_scope, dict) else None


def _restore_fastapi_scope_key(scope: MutableMapping[str, Any], key: str, previous: Any) -> None:
    """Put back what ``scope["fastapi"][key]`` was before a tentative match set it."""
    fastapi_scope = scope.get(_FASTAPI_SCOPE_KEY)
    if not isinstance(fastapi_scope, dict):
        return
    if previous is _SCOPE_MISSING:
        fastapi_scope.pop(key, None)
    else:
        fastapi_scope[key] = previous
