"""The stdlib encoder (``json="stdlib"``, the default without orjson) writes exactly what FastAPI
writes, ``json.dumps(jsonable_encoder(value))``, whether a value takes its C fast path (JSON's own
types and pydantic models) or needs jsonable_encoder first."""

from __future__ import annotations

import datetime
import decimal
import enum
import json
import uuid
from typing import Any

import pytest
from pydantic import BaseModel, Field

from turboapi import _json
from turboapi.encoders import jsonable_encoder


class Colour(str, enum.Enum):  # noqa: UP042 - a str mixin, as FastAPI apps write them
    RED = "red"


class Size(enum.IntEnum):
    BIG = 3


class Plain(enum.Enum):
    ONE = 1


class Inner(BaseModel):
    when: datetime.datetime
    ratio: float = 0.5


class Outer(BaseModel):
    name: str = Field(alias="fullName")
    inner: Inner
    tags: tuple[str, ...] = ()
    colour: Colour = Colour.RED


WHEN = datetime.datetime(2026, 12, 7, 12, 30, tzinfo=datetime.UTC)
VALUES: list[Any] = [
    {"message": "Hello, World!"},
    {"unicode": "é😀", "nested": [1, 2.5, None, True, {"a": []}], "big": 10**30},
    [1, (2, 3), {"k": (4,)}],
    {1: "int key", 2.5: "float key", False: "bool key", None: "none key"},
    {Colour.RED: Colour.RED, "size": Size.BIG},
    Outer(fullName="x", inner=Inner(when=WHEN), tags=("a", "b")),
    {"models": [Inner(when=WHEN, ratio=1e16)], "plain": Plain.ONE},
    {"when": WHEN, "id": uuid.UUID(int=1), "price": decimal.Decimal("1.10"), "set": {3}},
    {WHEN: "a datetime key", Plain.ONE: "an enum key"},
    {"gap": datetime.timedelta(seconds=90), "date": WHEN.date()},
    "a string",
    1.5,
    None,
]


@pytest.mark.parametrize("value", VALUES, ids=range(len(VALUES)))
def test_the_stdlib_encoder_writes_what_fastapi_writes(value: Any) -> None:
    fastapi = json.dumps(jsonable_encoder(value), ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    assert _json.stdlib_dumps(value) == fastapi.encode("utf-8")


@pytest.mark.parametrize("value", [float("nan"), {"x": [float("inf")]}, Inner(when=WHEN, ratio=float("nan"))])
def test_the_stdlib_encoder_refuses_non_finite_floats_as_fastapi_does(value: Any) -> None:
    with pytest.raises(ValueError, match="Out of range float values are not JSON compliant"):
        json.dumps(jsonable_encoder(value), allow_nan=False)
    with pytest.raises(ValueError, match="Out of range float values are not JSON compliant"):
        _json.stdlib_dumps(value)


def test_asking_for_orjson_where_it_is_not_installed_names_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    """What free-threaded 3.13 sees (no orjson build there), on every build: the setting is refused
    with a message naming the package and the alternative, before anything starts."""
    from turboapi.serving import Settings

    monkeypatch.setattr(_json, "orjson", None)
    with pytest.raises(ValueError, match=r"json='orjson' needs the orjson package.*set json='stdlib'"):
        Settings(json="orjson").check()
    Settings(json="stdlib").check()
    with pytest.raises(ValueError, match="json must be 'orjson' or 'stdlib', not 'yaml'"):
        _json.check("yaml")
