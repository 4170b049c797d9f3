"""The functions users call in signatures: ``q: int = Query(10, ge=0)``. They return markers."""

from __future__ import annotations

from typing import Any

from . import params
from .params import Undefined

__all__ = ["Body", "Cookie", "Header", "Path", "Query"]


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
