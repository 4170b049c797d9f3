"""``jsonable_encoder``: turn a value into plain JSON-compatible Python data, as FastAPI does."""

from __future__ import annotations

import dataclasses
import datetime
import sys
from collections import defaultdict, deque
from collections.abc import Callable
from decimal import Decimal
from enum import Enum
from ipaddress import IPv4Address, IPv4Interface, IPv4Network, IPv6Address, IPv6Interface, IPv6Network
from pathlib import Path, PurePath
from re import Pattern
from types import GeneratorType
from typing import Any
from uuid import UUID

from pydantic import BaseModel
from pydantic_core import PydanticUndefinedType

from .exceptions import PydanticV1NotSupportedError


def isoformat(o: datetime.date | datetime.time) -> str:
    return o.isoformat()


def decimal_encoder(dec_value: Decimal) -> int | float:
    """An integral Decimal as int, any other as float (FastAPI's rule)."""
    exponent = dec_value.as_tuple().exponent
    if isinstance(exponent, int) and exponent >= 0:
        return int(dec_value)
    return float(dec_value)


ENCODERS_BY_TYPE: dict[type[Any], Callable[[Any], Any]] = {
    bytes: lambda o: o.decode(),
    datetime.date: isoformat,
    datetime.datetime: isoformat,
    datetime.time: isoformat,
    datetime.timedelta: lambda td: td.total_seconds(),
    Decimal: decimal_encoder,
    Enum: lambda o: o.value,
    frozenset: list,
    deque: list,
    GeneratorType: list,
    IPv4Address: str,
    IPv4Interface: str,
    IPv4Network: str,
    IPv6Address: str,
    IPv6Interface: str,
    IPv6Network: str,
    Path: str,
    PurePath: str,
    Pattern: lambda o: o.pattern,
    set: list,
    UUID: str,
}


def generate_encoders_by_class_tuples(
    type_encoder_map: dict[Any, Callable[[Any], Any]],
) -> dict[Callable[[Any], Any], tuple[Any, ...]]:
    by_encoder: dict[Callable[[Any], Any], tuple[Any, ...]] = defaultdict(tuple)
    for type_, encoder in type_encoder_map.items():
        by_encoder[encoder] += (type_,)
    return by_encoder


encoders_by_class_tuples = generate_encoders_by_class_tuples(ENCODERS_BY_TYPE)


def jsonable_encoder(
    obj: Any,
    include: Any = None,
    exclude: Any = None,
    by_alias: bool = True,
    exclude_unset: bool = False,
    exclude_defaults: bool = False,
    exclude_none: bool = False,
    custom_encoder: dict[Any, Callable[[Any], Any]] | None = None,
    sqlalchemy_safe: bool = True,
) -> Any:
    custom_encoder = custom_encoder or {}
    if custom_encoder:
        if type(obj) in custom_encoder:
            return custom_encoder[type(obj)](obj)
        for type_, encoder in custom_encoder.items():
            if isinstance(obj, type_):
                return encoder(obj)
    options: dict[str, Any] = {
        "by_alias": by_alias,
        "exclude_unset": exclude_unset,
        "exclude_defaults": exclude_defaults,
        "exclude_none": exclude_none,
        "custom_encoder": custom_encoder,
        "sqlalchemy_safe": sqlalchemy_safe,
    }
    if isinstance(include, (set, frozenset)):
        include = set(include)
    if isinstance(exclude, (set, frozenset)):
        exclude = set(exclude)
    if isinstance(obj, BaseModel):
        data = obj.model_dump(
            mode="json",
            include=include,
            exclude=exclude,
            by_alias=by_alias,
            exclude_unset=exclude_unset,
            exclude_none=exclude_none,
            exclude_defaults=exclude_defaults,
        )
        return jsonable_encoder(data, exclude_none=exclude_none, custom_encoder=custom_encoder)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return jsonable_encoder(dataclasses.asdict(obj), include=include, exclude=exclude, **options)
    if isinstance(obj, Enum):
        return obj.value
    if isinstance(obj, PurePath):
        return str(obj)
    if obj is None or isinstance(obj, (str, int, float)):
        return obj
    if isinstance(obj, PydanticUndefinedType):
        return None
    # A dict, as FastAPI checks: other mappings go through dict(obj) below, which for Headers
    # keeps each name's first value (their items() would give the last).
    if isinstance(obj, dict):
        out = {}
        keys = set(obj.keys())
        if include is not None:
            keys &= set(include)
        if exclude is not None:
            keys -= set(exclude)
        for key, value in obj.items():
            if key not in keys:
                continue
            if sqlalchemy_safe and isinstance(key, str) and key.startswith("_sa"):
                continue
            if value is None and exclude_none:
                continue
            out[jsonable_encoder(key, **options)] = jsonable_encoder(value, **options)
        return out
    if isinstance(obj, (list, set, frozenset, GeneratorType, tuple, deque)):
        return [jsonable_encoder(item, include=include, exclude=exclude, **options) for item in obj]
    if type(obj) in ENCODERS_BY_TYPE:
        return ENCODERS_BY_TYPE[type(obj)](obj)
    for encoder, classes in encoders_by_class_tuples.items():
        if isinstance(obj, classes):
            return encoder(obj)
    if _is_color(obj):
        return str(obj)
    if _is_pydantic_v1_model(obj):
        raise PydanticV1NotSupportedError(
            f"pydantic.v1 models are no longer supported by FastAPI. Please update the model {obj!r}."
        )
    try:
        data = dict(obj)
    except Exception as first:
        try:
            data = vars(obj)
        except Exception as second:
            raise ValueError([first, second]) from second
    return jsonable_encoder(data, include=include, exclude=exclude, **options)


#: pydantic's deprecated ``pydantic.color.Color`` and pydantic-extra-types' ``Color``: encoded as
#: their ``str()`` (the colour's name, or its hex code), as FastAPI does. Matched by module rather
#: than imported, as importing either costs time and the first one is deprecated.
_COLOR_MODULES = frozenset({"pydantic.color", "pydantic_extra_types.color"})


def _is_color(obj: Any) -> bool:
    return any(cls.__name__ == "Color" and cls.__module__ in _COLOR_MODULES for cls in type(obj).__mro__)


def _is_pydantic_v1_model(obj: Any) -> bool:
    # Only a program that imported pydantic.v1 can hold one of its models.
    v1 = sys.modules.get("pydantic.v1")
    return v1 is not None and isinstance(obj, v1.BaseModel)
