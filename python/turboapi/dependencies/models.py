"""FastAPI's ``Dependant``: what a path operation or a dependency declares (its parameters by
source, its body fields, its sub-dependencies and the special parameters), as libraries read it
from ``route.dependant`` and ``fastapi.dependencies.utils.get_dependant``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from .._compat import ModelField
from .analysis import _call_kind, _unwrap


@dataclass(slots=True)
class Dependant:
    path_params: list[ModelField] = field(default_factory=list)
    query_params: list[ModelField] = field(default_factory=list)
    header_params: list[ModelField] = field(default_factory=list)
    cookie_params: list[ModelField] = field(default_factory=list)
    body_params: list[ModelField] = field(default_factory=list)
    dependencies: list[Dependant] = field(default_factory=list)
    name: str | None = None
    call: Callable[..., Any] | None = None
    request_param_name: str | None = None
    websocket_param_name: str | None = None
    http_connection_param_name: str | None = None
    response_param_name: str | None = None
    background_tasks_param_name: str | None = None
    security_scopes_param_name: str | None = None
    own_oauth_scopes: list[str] | None = None
    parent_oauth_scopes: list[str] | None = None
    use_cache: bool = True
    path: str | None = None
    scope: Literal["function", "request"] | None = None


def oauth_scopes(dependant: Dependant) -> list[str]:
    """The OAuth2 scopes that reach ``dependant``: its parents', then its own (in order, once)."""
    scopes = list(dependant.parent_oauth_scopes or [])
    scopes += [s for s in dependant.own_oauth_scopes or [] if s not in scopes]
    return scopes


def uses_scopes(dependant: Dependant) -> bool:
    """Does the dependant (or anything below it) read OAuth2 scopes? Then its cached value depends
    on the scopes that reach it."""
    from ..security.base import SecurityBase

    return bool(
        dependant.own_oauth_scopes
        or dependant.security_scopes_param_name is not None
        or (dependant.call is not None and isinstance(_unwrap(dependant.call), SecurityBase))
        or any(uses_scopes(sub) for sub in dependant.dependencies)
    )


def call_kind(dependant: Dependant) -> str:
    """sync / async / gen / asyncgen, by turboapi's rules for decorated callables (as FastAPI's)."""
    return _call_kind(dependant.call) if dependant.call is not None else "sync"


def computed_scope(dependant: Dependant) -> str | None:
    """The dependant's scope; a generator dependency without one lives as long as the request."""
    if dependant.scope:
        return dependant.scope
    return "request" if call_kind(dependant) in ("gen", "asyncgen") else None


def cache_key(dependant: Dependant) -> tuple[Any, tuple[str, ...], str]:
    """Per request, one value for each (callable, scopes when they matter, scope)."""
    scopes = tuple(sorted(set(oauth_scopes(dependant)))) if uses_scopes(dependant) else ()
    return (dependant.call, scopes, computed_scope(dependant) or "")
