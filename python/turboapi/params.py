"""Parameter markers: where a handler argument comes from (path, query, header, cookie, body).

Each marker is a pydantic ``FieldInfo``, so its constraints (``ge``, ``max_length``, ``pattern``...)
are enforced by pydantic exactly as in FastAPI.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any, Literal

from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

Undefined = PydanticUndefined


class ParamTypes(Enum):
    query = "query"
    header = "header"
    path = "path"
    cookie = "cookie"


class _Marker(FieldInfo):
    """What all markers share: ``...`` means required, and options left as None are not passed on."""

    def __init__(self, default: Any, default_factory: Any, alias: str | None, kwargs: dict[str, Any]) -> None:
        if default_factory is not None:
            kwargs["default_factory"] = default_factory
        else:
            kwargs["default"] = Undefined if default is ... else default
        super().__init__(alias=alias, **{k: v for k, v in kwargs.items() if v is not None or k == "default"})

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self.default!r})"


class Param(_Marker):
    """A request-parts parameter. ``in_`` names the source."""

    in_: ParamTypes

    def __init__(
        self,
        default: Any = Undefined,
        *,
        default_factory: Any = None,
        alias: str | None = None,
        convert_underscores: bool = True,
        include_in_schema: bool = True,
        **kwargs: Any,
    ) -> None:
        self.include_in_schema = include_in_schema
        self.convert_underscores = convert_underscores
        super().__init__(default, default_factory, alias, kwargs)


class Path(Param):
    in_ = ParamTypes.path

    def __init__(self, default: Any = ..., **kwargs: Any) -> None:
        if default is not ... and default is not Undefined:
            raise AssertionError("Path parameters cannot have a default value")
        super().__init__(Undefined, **kwargs)


class Query(Param):
    in_ = ParamTypes.query


class Header(Param):
    in_ = ParamTypes.header


class Cookie(Param):
    in_ = ParamTypes.cookie


class Body(_Marker):
    """A body parameter; ``embed=True`` nests it under its name even when it is the only one."""

    def __init__(
        self,
        default: Any = Undefined,
        *,
        default_factory: Any = None,
        embed: bool | None = None,
        media_type: str = "application/json",
        alias: str | None = None,
        include_in_schema: bool = True,
        **kwargs: Any,
    ) -> None:
        self.embed = embed
        self.media_type = media_type
        self.include_in_schema = include_in_schema
        super().__init__(default, default_factory, alias, kwargs)


class Form(Body):
    """A form field (urlencoded or multipart)."""

    def __init__(
        self, default: Any = Undefined, *, media_type: str = "application/x-www-form-urlencoded", **kwargs: Any
    ):
        super().__init__(default, media_type=media_type, **kwargs)


class File(Form):
    """A multipart file field: ``bytes`` or ``UploadFile``."""

    def __init__(self, default: Any = Undefined, *, media_type: str = "multipart/form-data", **kwargs: Any):
        super().__init__(default, media_type=media_type, **kwargs)


@dataclass(frozen=True)
class Depends:
    """A dependency: ``dependency`` is called per request (cached per request unless ``use_cache=False``)."""

    dependency: Callable[..., Any] | None = None
    use_cache: bool = True
    scope: Literal["function", "request"] | None = None


@dataclass(frozen=True)
class Security(Depends):
    """A dependency that also declares OAuth2 ``scopes``."""

    scopes: Sequence[str] | None = None
