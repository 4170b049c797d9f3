"""Type aliases FastAPI exposes in ``fastapi.types``, for code annotated against them."""

import types as _types
from collections.abc import Callable, Mapping
from enum import Enum
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

from pydantic import BaseModel

if TYPE_CHECKING:  # the checker sees pydantic's alias (the pydantic it checks against has it)
    from pydantic.main import IncEx as IncEx
else:
    try:
        from pydantic.main import IncEx as IncEx
    except ImportError:  # an older pydantic 2 without the alias: the same shape, as a string alias
        IncEx: TypeAlias = "set[int] | set[str] | Mapping[int, IncEx | bool] | Mapping[str, IncEx | bool]"

# A decorator that hands back the function it decorates, unchanged (``@app.get(...)``).
DecoratedCallable = TypeVar("DecoratedCallable", bound=Callable[..., Any])
# The class of ``int | str`` at runtime (``types.UnionType``: Python >= 3.11 always has it).
UnionType = _types.UnionType
# Model (or enum) class -> the name it has in the OpenAPI schema.
ModelNameMap: TypeAlias = dict[type[BaseModel] | type[Enum], str]
# What a dependency's cached result is keyed by: its callable, its security scopes, its scope.
DependencyCacheKey: TypeAlias = tuple[Callable[..., Any] | None, tuple[str, ...], str]

__all__ = ["DecoratedCallable", "DependencyCacheKey", "IncEx", "ModelNameMap", "UnionType"]
