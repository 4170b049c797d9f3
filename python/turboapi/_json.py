"""JSON encoding for responses: orjson by default, the standard library by switch (and by default
where orjson is not installed: it has no build for free-threaded CPython 3.13).

Both produce FastAPI's output for the types ``jsonable_encoder`` knows (pydantic models, dataclasses,
enums, datetimes, UUIDs, Decimals, sets, paths...).
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from enum import Enum
from pathlib import PurePath
from types import GeneratorType
from typing import Any

from pydantic import BaseModel

from .encoders import decimal_encoder

try:
    import orjson
except ImportError:
    orjson = None  # type: ignore[assignment]

#: The ``json`` setting's default: orjson when it is installed.
DEFAULT = "stdlib" if orjson is None else "orjson"
ORJSON_OPTIONS = 0 if orjson is None else orjson.OPT_NON_STR_KEYS


def encode_default(obj: Any) -> Any:
    """orjson's ``default``: types orjson does not know, converted as jsonable_encoder would."""
    if isinstance(obj, BaseModel):
        return obj.model_dump(mode="json", by_alias=True)
    if isinstance(obj, (set, frozenset, deque, GeneratorType, tuple)):
        return list(obj)
    if isinstance(obj, Decimal):
        return decimal_encoder(obj)
    if isinstance(obj, timedelta):
        return obj.total_seconds()
    if isinstance(obj, bytes):
        return obj.decode()
    if isinstance(obj, (PurePath, Enum)):
        return str(obj) if isinstance(obj, PurePath) else obj.value
    try:
        return dict(obj)
    except Exception:
        pass
    try:
        return vars(obj)
    except TypeError:
        pass
    raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")


def orjson_dumps(obj: Any) -> bytes:
    return orjson.dumps(obj, encode_default, ORJSON_OPTIONS)


class _NotNative(Exception):
    """A value json.dumps does not know: jsonable_encoder must convert the whole value first."""


def _not_native(obj: Any) -> Any:
    # A model is what jsonable_encoder makes of it (its JSON-mode dump), whose values are native.
    if isinstance(obj, BaseModel):
        return obj.model_dump(mode="json", by_alias=True)
    raise _NotNative


#: json.dumps as FastAPI calls it, refusing what else jsonable_encoder would have to convert.
_native_encoder = json.JSONEncoder(
    ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":"), default=_not_native
)


def stdlib_dumps(obj: Any) -> bytes:
    """FastAPI's encoding: ``json.dumps(jsonable_encoder(obj))``. A value made only of JSON's own
    types (dicts, lists, strings, numbers, booleans, None) and pydantic models is written by json's
    C encoder at once: jsonable_encoder would return an equal value, and walking it in Python cost
    more than all the rest of a small route (GET /json: half the req/s on free-threaded 3.13)."""
    try:
        return _native_encoder.encode(obj).encode("utf-8")
    except (_NotNative, TypeError):  # TypeError: a key that is not a str, int, float, bool or None
        pass
    from .encoders import jsonable_encoder

    return json.dumps(
        jsonable_encoder(obj), ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")
    ).encode("utf-8")


# The encoder the running app uses; `select("stdlib")` switches it (the `json` setting).
dumps: Callable[[Any], bytes] = orjson_dumps if orjson is not None else stdlib_dumps


def check(name: str) -> None:
    """Refuse a ``json`` setting this process cannot honour, naming the problem."""
    if name not in ("orjson", "stdlib"):
        raise ValueError(f"json must be 'orjson' or 'stdlib', not {name!r}")
    if name == "orjson" and orjson is None:
        raise ValueError(
            "json='orjson' needs the orjson package, which is not installed (it has no free-threaded "
            "build for Python 3.13): install it, or set json='stdlib'"
        )


def select(name: str) -> None:
    global dumps
    check(name)
    dumps = orjson_dumps if name == "orjson" else stdlib_dumps


def dump_model(model: BaseModel) -> bytes:
    """A returned model in one pass through pydantic-core; what ``model_dump(mode="json",
    by_alias=True)`` then a JSON encoder would give, at a quarter of the cost."""
    return model.__pydantic_serializer__.to_json(model, by_alias=True)


def engine_hook() -> tuple[Callable[..., bytes], list[Any]]:
    """``(callable, extra positional args)`` for the core: orjson.dumps is called directly."""
    if dumps is orjson_dumps:
        return orjson.dumps, [encode_default, ORJSON_OPTIONS]
    return dumps, []
