"""The functions users call in signatures: ``q: int = Query(10, ge=0)``. They return markers."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal

from . import params
from .params import Undefined

__all__ = ["Body", "Cookie", "Depends", "File", "Form", "Header", "Path", "Query", "Security"]


def Path(default: Any = ..., **kwargs: Any) -> Any:  # noqa: N802 - FastAPI's public name
    return params.Path(default, **kwargs)


def Query(default: Any = Undefined, **kwargs: Any) -> Any:  # noqa: N802
    return params.Query(default, **kwargs)


def Header(default: Any = Undefined, **kwargs: Any) -> Any:  # noqa: N802
    return params.Header(default, **kwargs)


def Cookie(default: Any = Undefined, **kwargs: Any) -> Any:  # noqa: N802
    return params.Cookie(default, **kwargs)


def Body(default: Any = Undefined, **kwargs: Any) -> Any:  # noqa: N802
    return params.Body(default, **kwargs)


def Form(default: Any = Undefined, **kwargs: Any) -> Any:  # noqa: N802
    return params.Form(default, **kwargs)


def File(default: Any = Undefined, **kwargs: Any) -> Any:  # noqa: N802
    return params.File(default, **kwargs)


def Depends(  # noqa: N802
    dependency: Callable[..., Any] | None = None,
    *,
    use_cache: bool = True,
    scope: Literal["function", "request"] | None = None,
) -> Any:
    return params.Depends(dependency=dependency, use_cache=use_cache, scope=scope)


def Security(  # noqa: N802
    dependency: Callable[..., Any] | None = None,
    *,
    scopes: Sequence[str] | None = None,
    use_cache: bool = True,
) -> Any:
    return params.Security(dependency=dependency, scopes=scopes, use_cache=use_cache)
