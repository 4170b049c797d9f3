"""FastAPI's ``Dependant``: what a path operation or a dependency declares (its parameters by
source, its body fields, its sub-dependencies and the special parameters), as libraries read it
from ``route.dependant`` and ``fastapi.dependencies.utils.get_dependant``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal

from .._compat import ModelField
from .analysis import _call_kind, _unwrap

if TYPE_CHECKING:
    from ..security.base import SecurityBase


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


# -- FastAPI's private spellings of the helpers above (its own tests and some libraries import them)
#: id(dependant) -> (dependant, uses scopes?): the dependant is kept so a reused id cannot match.
_UsesScopesCache = dict[int, tuple[Dependant, bool]]


def _get_oauth_scopes(*, dependant: Dependant) -> list[str]:
    return oauth_scopes(dependant)


def _uses_scopes(*, dependant: Dependant, cache: _UsesScopesCache | None = None) -> bool:
    if cache is None:
        return uses_scopes(dependant)
    hit = cache.get(id(dependant))
    if hit is not None and hit[0] is dependant:
        return hit[1]
    result = bool(
        dependant.own_oauth_scopes
        or dependant.security_scopes_param_name is not None
        or _is_security_scheme(dependant=dependant)
        or any(_uses_scopes(dependant=sub, cache=cache) for sub in dependant.dependencies)
    )
    cache[id(dependant)] = (dependant, result)
    return result


def _get_computed_scope(*, dependant: Dependant) -> str | None:
    return computed_scope(dependant)


def _get_cache_key(
    *, dependant: Dependant, uses_scopes_cache: _UsesScopesCache | None = None
) -> tuple[Any, tuple[str, ...], str]:
    reads_scopes = _uses_scopes(dependant=dependant, cache=uses_scopes_cache)
    scopes = tuple(sorted(set(oauth_scopes(dependant)))) if reads_scopes else ()
    return (dependant.call, scopes, computed_scope(dependant) or "")


def _is_security_scheme(*, dependant: Dependant) -> bool:
    from ..security.base import SecurityBase

    return dependant.call is not None and isinstance(_unwrap(dependant.call), SecurityBase)


def _get_security_scheme(*, dependant: Dependant) -> SecurityBase:
    from ..security.base import SecurityBase

    scheme = _unwrap(dependant.call)
    assert isinstance(scheme, SecurityBase)
    return scheme


class _CallIdentity:
    """A callable as a cache key by identity: unhashable callables and ones whose ``__eq__``
    says two distinct objects are equal are still told apart."""

    __slots__ = ("call",)

    def __init__(self, call: Callable[..., Any]) -> None:
        self.call = call

    def __hash__(self) -> int:
        return id(self.call)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _CallIdentity) and other.call is self.call


#: Large enough for every dependency of a big app: classifying a callable reads its signature.
_CALLABLE_CLASSIFICATION_CACHE_SIZE = 4096


@lru_cache(maxsize=_CALLABLE_CLASSIFICATION_CACHE_SIZE)
def _is_gen_callable_cached(identity: _CallIdentity) -> bool:
    return _call_kind(identity.call) == "gen"


@lru_cache(maxsize=_CALLABLE_CLASSIFICATION_CACHE_SIZE)
def _is_async_gen_callable_cached(identity: _CallIdentity) -> bool:
    return _call_kind(identity.call) == "asyncgen"


@lru_cache(maxsize=_CALLABLE_CLASSIFICATION_CACHE_SIZE)
def _is_coroutine_callable_cached(identity: _CallIdentity) -> bool:
    return _call_kind(identity.call) == "async"


def _is_gen_callable(call: Callable[..., Any] | None) -> bool:
    return call is not None and _is_gen_callable_cached(_CallIdentity(call))


def _is_async_gen_callable(call: Callable[..., Any] | None) -> bool:
    return call is not None and _is_async_gen_callable_cached(_CallIdentity(call))


def _is_coroutine_callable(call: Callable[..., Any] | None) -> bool:
    return call is not None and _is_coroutine_callable_cached(_CallIdentity(call))
