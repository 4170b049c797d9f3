"""Parameter markers: where a handler argument comes from (path, query, header, cookie, body).

Each marker is a pydantic ``FieldInfo``, so its constraints (``ge``, ``max_length``, ``pattern``...)
are enforced by pydantic exactly as in FastAPI. The options FastAPI adds on top of pydantic's are
read here once, when the marker is made:

- ``alias``: also the ``validation_alias`` and ``serialization_alias`` unless those are given, as
  FastAPI's markers set them (so a model built from the marker, the OpenAPI body model, uses it);
- ``validation_alias`` (a string): the name the value is read by and reported under in errors;
- ``regex``: the deprecated spelling of ``pattern`` (a ``FastAPIDeprecationWarning``);
- ``example``: deprecated for ``examples`` (a ``FastAPIDeprecationWarning``), kept on the marker;
- ``openapi_examples``, ``include_in_schema``: for the OpenAPI document;
- any other keyword is JSON-schema extra, as in FastAPI.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any, Literal

from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from .exceptions import FastAPIDeprecationWarning

Undefined = PydanticUndefined


class _UnsetType:
    """An option the caller did not give (``None`` can be a meaningful value for some)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<unset>"

    def __bool__(self) -> bool:
        return False


_Unset: Any = _UnsetType()

#: pydantic options passed on only when given (``None`` is not "unset" for them).
_PASS_IF_SET = ("alias_priority", "strict", "multiple_of", "allow_inf_nan", "max_digits", "decimal_places")
#: Options passed on only when not None.
_PASS_IF_NOT_NONE = (
    "annotation",
    "title",
    "description",
    "gt",
    "ge",
    "lt",
    "le",
    "min_length",
    "max_length",
    "discriminator",
    "deprecated",
    "examples",
)


class ParamTypes(Enum):
    query = "query"
    header = "header"
    path = "path"
    cookie = "cookie"


def _user_stacklevel() -> int:
    """The stack level of the first frame outside this module and ``param_functions``: the line of
    the application that made the marker, whatever the chain of constructors in between."""
    here = (__file__, __file__.replace("params.py", "param_functions.py"))
    level = 1
    frame = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename in here:
        frame = frame.f_back  # type: ignore[assignment]
        level += 1
    return level


def _deprecated(message: str) -> None:
    warnings.warn(message, category=FastAPIDeprecationWarning, stacklevel=_user_stacklevel())


class _Marker(FieldInfo):  # type: ignore[misc]  # FieldInfo is @final to checkers; FastAPI's markers subclass it too
    """What all markers share: ``...`` means required, FastAPI's alias rules, ``regex``, ``example``."""

    def __init__(
        self,
        default: Any = Undefined,
        *,
        default_factory: Callable[[], Any] | None = _Unset,
        alias: str | None = None,
        validation_alias: Any = None,
        serialization_alias: str | None = None,
        pattern: str | None = None,
        regex: str | None = None,
        example: Any = _Unset,
        examples: list[Any] | None = None,
        openapi_examples: dict[str, Any] | None = None,
        include_in_schema: bool = True,
        json_schema_extra: dict[str, Any] | None = None,
        **options: Any,
    ) -> None:
        if example is not _Unset:
            _deprecated("`example` has been deprecated, please use `examples` instead")
        if regex is not None:
            _deprecated("`regex` has been deprecated, please use `pattern` instead")
        self.example = example
        self.include_in_schema = include_in_schema
        self.openapi_examples = openapi_examples
        kwargs: dict[str, Any] = {}
        if default_factory is not _Unset and default_factory is not None:
            kwargs["default_factory"] = default_factory
        else:
            kwargs["default"] = Undefined if default is ... else default
        if validation_alias in (_Unset, None):
            validation_alias = alias
        if serialization_alias in (_Unset, None) and isinstance(alias, str):
            serialization_alias = alias
        # FastAPI passes unknown keywords on to pydantic (``validate_default=True`` works) and, unless
        # ``json_schema_extra`` is given, into the JSON schema too.
        extra = {k: v for k, v in options.items() if k not in _PASS_IF_SET and k not in _PASS_IF_NOT_NONE}
        kwargs.update(extra)
        for key in _PASS_IF_SET:
            if options.get(key, _Unset) is not _Unset:
                kwargs[key] = options[key]
        for key in _PASS_IF_NOT_NONE:
            if options.get(key) is not None:
                kwargs[key] = options[key]
        if examples is not None:
            kwargs["examples"] = examples
        for key, value in (
            ("alias", alias),
            ("validation_alias", validation_alias),
            ("serialization_alias", serialization_alias),
            ("pattern", pattern or regex),
        ):
            if value is not None:
                kwargs[key] = value
        schema_extra = json_schema_extra or extra
        if schema_extra:
            kwargs["json_schema_extra"] = schema_extra
        super().__init__(**kwargs)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self.default})"


class Param(_Marker):  # type: ignore[misc]  # FieldInfo is final: see _Marker
    """A request-parts parameter. ``in_`` names the source (a bare ``Param`` reads the query)."""

    in_: ParamTypes

    def __init__(
        self,
        default: Any = Undefined,
        *,
        convert_underscores: bool = True,
        **kwargs: Any,
    ) -> None:
        self.convert_underscores = convert_underscores
        super().__init__(default, **kwargs)


class Path(Param):  # type: ignore[misc]  # FieldInfo is final: see _Marker
    in_ = ParamTypes.path

    def __init__(self, default: Any = ..., **kwargs: Any) -> None:
        if default is not ... and default is not Undefined:
            raise AssertionError("Path parameters cannot have a default value")
        self.in_ = self.in_
        super().__init__(..., **kwargs)


class Query(Param):  # type: ignore[misc]  # FieldInfo is final: see _Marker
    in_ = ParamTypes.query


class Header(Param):  # type: ignore[misc]  # FieldInfo is final: see _Marker
    in_ = ParamTypes.header


class Cookie(Param):  # type: ignore[misc]  # FieldInfo is final: see _Marker
    in_ = ParamTypes.cookie


class Body(_Marker):  # type: ignore[misc]  # FieldInfo is final: see _Marker
    """A body parameter; ``embed=True`` nests it under its name even when it is the only one."""

    def __init__(
        self,
        default: Any = Undefined,
        *,
        embed: bool | None = None,
        media_type: str = "application/json",
        **kwargs: Any,
    ) -> None:
        self.embed = embed
        self.media_type = media_type
        super().__init__(default, **kwargs)


class Form(Body):  # type: ignore[misc]  # FieldInfo is final: see _Marker
    """A form field (urlencoded or multipart)."""

    def __init__(
        self, default: Any = Undefined, *, media_type: str = "application/x-www-form-urlencoded", **kwargs: Any
    ):
        super().__init__(default, media_type=media_type, **kwargs)


class File(Form):  # type: ignore[misc]  # FieldInfo is final: see _Marker
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
