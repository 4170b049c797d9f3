"""``jsonable_encoder``: turn a value into plain JSON-compatible Python data, as FastAPI does."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import date, datetime, time
from enum import Enum
from typing import Any
from uuid import UUID

from pydantic import BaseModel

from ._json import encode_default


def jsonable_encoder(obj: Any, *, by_alias: bool = True, exclude_none: bool = False) -> Any:
    if isinstance(obj, BaseModel):
        return jsonable_encoder(obj.model_dump(mode="json", by_alias=by_alias, exclude_none=exclude_none))
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return jsonable_encoder(dataclasses.asdict(obj), by_alias=by_alias, exclude_none=exclude_none)
    if isinstance(obj, Enum):
        return jsonable_encoder(obj.value)
    if obj is None or isinstance(obj, (str, int, float)):
        return obj
    if isinstance(obj, (datetime, date, time)):
        return obj.isoformat()
    if isinstance(obj, UUID):
        return str(obj)
    if isinstance(obj, Mapping):
        return {
            jsonable_encoder(k): jsonable_encoder(v, by_alias=by_alias, exclude_none=exclude_none)
            for k, v in obj.items()
            if not (exclude_none and v is None)
        }
    if isinstance(obj, (list, tuple, set, frozenset)):
        return [jsonable_encoder(v, by_alias=by_alias, exclude_none=exclude_none) for v in obj]
    return jsonable_encoder(encode_default(obj), by_alias=by_alias, exclude_none=exclude_none)
