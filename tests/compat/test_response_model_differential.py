"""Differential test: response_model filtering and serialisation, FastAPI vs turboapi.

``build_app(fw, route)`` is written once against a namespace of framework names
and instantiated for ``fastapi`` and for ``turboapi``.  See
``differential_harness`` for what is compared.  Cases where turboapi differs are
kept and marked ``xfail(strict=True)`` with the difference as the reason.
"""

import datetime as dt
import uuid
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from typing import Any, Literal

import pytest
from pydantic import BaseModel, Field, computed_field, field_serializer
from typing_extensions import TypedDict  # pydantic needs this one on Python < 3.12

from .differential_harness import Apps, C, Case, apps_fixture, assert_unique_ids, check


class UserIn(BaseModel):
    username: str
    password: str
    email: str
    full_name: str | None = None


class UserOut(BaseModel):
    username: str
    email: str
    full_name: str | None = None


class UserInDB(UserOut):
    hashed_password: str
    disabled: bool = False


class Item(BaseModel):
    name: str
    description: str | None = None
    price: float
    tax: float = 10.5
    tags: list[str] = []


class Aliased(BaseModel):
    item_name: str = Field(alias="itemName")
    item_count: int = Field(0, alias="itemCount")
    plain: str = "p"


class SerAliased(BaseModel):
    item_name: str = Field(serialization_alias="itemName")
    other: int = 1


class Owner(BaseModel):
    name: str
    secret: str = "s"


class Nested(BaseModel):
    title: str
    owner: Owner
    items: list[Item] = []
    note: str | None = None


class Cat(BaseModel):
    kind: Literal["cat"] = "cat"
    meows: int


class Dog(BaseModel):
    kind: Literal["dog"] = "dog"
    barks: int


class Shape(str, Enum):  # noqa: UP042 -- the (str, Enum) spelling of FastAPI's docs
    circle = "circle"
    square = "square"


class Rich(BaseModel):
    when: dt.datetime
    day: dt.date
    span: dt.timedelta
    ident: uuid.UUID
    amount: Decimal
    shape: Shape
    raw: bytes = b"raw"
    ratio: float = 1.0


class WithComputed(BaseModel):
    width: int
    height: int

    @computed_field  # type: ignore[prop-decorator]
    @property
    def area(self) -> int:
        return self.width * self.height


class Secretive(BaseModel):
    name: str
    token: str = Field("t", exclude=True)
    created: dt.datetime = dt.datetime(2020, 1, 1)

    @field_serializer("created")
    def _created(self, value: dt.datetime) -> str:
        return value.strftime("%d/%m/%Y")


@dataclass
class Point:
    x: int
    y: float = 0.0
    label: str | None = None


class PointTD(TypedDict):
    x: int
    name: str


class OrmUser:
    """An attribute bag, as an ORM row would be."""

    def __init__(self, username: str, email: str, password: str) -> None:
        self.username = username
        self.email = email
        self.password = password


ITEMS: dict[str, dict[str, Any]] = {
    "foo": {"name": "Foo", "price": 50.2},
    "bar": {"name": "Bar", "description": "The bartenders", "price": 62, "tax": 20.2},
    "baz": {"name": "Baz", "description": None, "price": 50.2, "tax": 10.5, "tags": []},
}

RICH = {
    "when": dt.datetime(2024, 5, 6, 7, 8, 9, 123000, tzinfo=dt.UTC),
    "day": dt.date(2024, 2, 29),
    "span": dt.timedelta(days=1, seconds=30, microseconds=5),
    "ident": uuid.UUID("a8098c1a-f86e-11da-bd1a-00112444be1e"),
    "amount": Decimal("12.50"),
    "shape": Shape.square,
}


def build_app(fw: Any, route: Any) -> Any:
    Response, JSONResponse = fw.Response, fw.JSONResponse
    app = fw.FastAPI()

    def get(path: str, **kw: Any) -> Any:
        return route(app, "get", path, **kw)

    def post(path: str, **kw: Any) -> Any:
        return route(app, "post", path, **kw)

    def delete(path: str, **kw: Any) -> Any:
        return route(app, "delete", path, **kw)

    # ------------------------------------------------------------------ filtering
    @post("/users", response_model=UserOut)
    def create_user(user: UserIn):
        return user

    @get("/users/dict", response_model=UserOut)
    def user_dict():
        return {"username": "d", "email": "d@x", "password": "secret", "extra": 1}

    @get("/users/subclass", response_model=UserOut)
    def user_subclass():
        return UserInDB(username="s", email="s@x", hashed_password="h")

    @get("/users/annotation")
    def user_annotation() -> UserOut:
        return UserInDB(username="a", email="a@x", hashed_password="h")  # type: ignore[return-value]

    @get("/users/annotation-dict")
    def user_annotation_dict() -> UserOut:
        return {"username": "a", "email": "a@x", "password": "p"}  # type: ignore[return-value]

    @get("/users/annotation-overridden", response_model=None)
    def user_annotation_overridden() -> UserOut:
        return UserInDB(username="o", email="o@x", hashed_password="h")  # type: ignore[return-value]

    @get("/users/model-overrides-annotation", response_model=UserOut)
    def user_model_overrides_annotation() -> dict[str, Any]:
        return {"username": "m", "email": "m@x", "password": "p"}

    @get("/users/none-model", response_model=None)
    def user_none_model():
        return {"username": "n", "password": "visible"}

    @get("/users/list", response_model=list[UserOut])
    def user_list():
        return [
            {"username": "a", "email": "a@x", "password": "p"},
            UserInDB(username="b", email="b@x", hashed_password="h"),
            UserOut(username="c", email="c@x", full_name="C"),
        ]

    @get("/users/list-annotation")
    def user_list_annotation() -> list[UserOut]:
        return [UserInDB(username="b", email="b@x", hashed_password="h")]  # type: ignore[list-item]

    @get("/users/dict-of-models", response_model=dict[str, UserOut])
    def user_dict_of_models():
        return {"x": UserInDB(username="x", email="x@x", hashed_password="h")}

    @get("/users/optional/{present}", response_model=UserOut | None)
    def user_optional(present: bool):
        return UserInDB(username="o", email="o@x", hashed_password="h") if present else None

    @get("/coerce", response_model=dict[str, int])
    def coerce():
        return {"a": 1, "b": True, "c": 3.0}

    @get("/union/{which}", response_model=Cat | Dog)
    def union(which: str):
        return {"cat": {"meows": 3, "x": 1}, "dog": Dog(barks=2)}[which]

    # ------------------------------------------------------------------ response_model_* options
    @get("/items/{item_id}/unset", response_model=Item, response_model_exclude_unset=True)
    def item_unset(item_id: str):
        return ITEMS[item_id]

    @get("/items/{item_id}/unset-model", response_model=Item, response_model_exclude_unset=True)
    def item_unset_model(item_id: str):
        return Item(**ITEMS[item_id])

    @get("/items/{item_id}/full", response_model=Item)
    def item_full(item_id: str):
        return ITEMS[item_id]

    @get("/items/{item_id}/include", response_model=Item, response_model_include={"name", "description"})
    def item_include(item_id: str):
        return ITEMS[item_id]

    @get("/items/{item_id}/include-list", response_model=Item, response_model_include=["name", "price"])  # type: ignore[arg-type]
    def item_include_list(item_id: str):
        return ITEMS[item_id]

    @get("/items/{item_id}/exclude", response_model=Item, response_model_exclude={"tax", "tags"})
    def item_exclude(item_id: str):
        return ITEMS[item_id]

    @get("/items/{item_id}/exclude-none", response_model=Item, response_model_exclude_none=True)
    def item_exclude_none(item_id: str):
        return ITEMS[item_id]

    @get("/items/{item_id}/exclude-defaults", response_model=Item, response_model_exclude_defaults=True)
    def item_exclude_defaults(item_id: str):
        return ITEMS[item_id]

    @get(
        "/items/{item_id}/combined",
        response_model=Item,
        response_model_exclude_unset=True,
        response_model_exclude={"description"},
    )
    def item_combined(item_id: str):
        return ITEMS[item_id]

    @get("/items/list", response_model=list[Item], response_model_exclude_unset=True)
    def item_list_unset():
        return list(ITEMS.values())

    @get("/aliased", response_model=Aliased)
    def aliased():
        return {"itemName": "n", "itemCount": 2}

    @get("/aliased/no-alias", response_model=Aliased, response_model_by_alias=False)
    def aliased_no_alias():
        return Aliased(itemName="n")

    @get(
        "/aliased/no-alias-unset",
        response_model=Aliased,
        response_model_by_alias=False,
        response_model_exclude_unset=True,
    )
    def aliased_no_alias_unset():
        return {"itemName": "n"}

    @get("/ser-aliased", response_model=SerAliased)
    def ser_aliased():
        return SerAliased(item_name="s")

    @get("/ser-aliased/no-alias", response_model=SerAliased, response_model_by_alias=False)
    def ser_aliased_no_alias():
        return {"item_name": "s", "other": 5}

    @get("/nested", response_model=Nested)
    def nested():
        return {"title": "t", "owner": {"name": "o", "secret": "x", "junk": 1}, "items": [ITEMS["foo"]]}

    @get("/nested/exclude", response_model=Nested, response_model_exclude={"owner": {"secret"}, "note": True})
    def nested_exclude():
        return {"title": "t", "owner": {"name": "o"}, "items": [ITEMS["bar"]]}

    @get("/nested/unset", response_model=Nested, response_model_exclude_unset=True)
    def nested_unset():
        return Nested(title="t", owner=Owner(name="o"), items=[Item(name="i", price=1)])

    @get("/rich", response_model=Rich)
    def rich():
        return RICH

    @get("/rich/plain")
    def rich_plain():
        return RICH

    @get("/computed", response_model=WithComputed)
    def computed():
        return {"width": 3, "height": 4}

    @get("/computed/instance")
    def computed_instance() -> WithComputed:
        return WithComputed(width=2, height=5)

    @get("/secretive", response_model=Secretive)
    def secretive():
        return {"name": "s", "token": "hidden", "created": "2021-03-04T05:06:07"}

    @get("/dataclass", response_model=Point)
    def dataclass_model():
        return {"x": "3", "y": 2, "extra": 1}

    @get("/dataclass/instance")
    def dataclass_instance() -> Point:
        return Point(x=1, y=1.5, label="p")

    @get("/dataclass/plain")
    def dataclass_plain():
        return Point(x=1)

    @get("/typeddict", response_model=PointTD)
    def typeddict():
        return {"x": "5", "name": "td", "extra": True}

    @get("/list-int", response_model=list[int])
    def list_int():
        return (1, "2", 3.0)

    @get("/set-str", response_model=set[str])
    def set_str():
        return ["b", "b"]

    @get("/any-model", response_model=Any)
    def any_model():
        return {"k": UserInDB(username="a", email="e", hashed_password="h")}

    @get("/nested-subclass-instance", response_model=dict[str, list[UserOut]])
    def nested_subclass_instance():
        return {"users": [UserInDB(username="n", email="e", hashed_password="h")]}

    @get("/union-with-response", response_model=None)
    def union_with_response(raw: bool = False) -> Response | dict[str, Any]:
        return Response(b"raw!", media_type="text/plain") if raw else {"raw": False}

    @get("/float-format", response_model=Item)
    def float_format():
        return {"name": "f", "price": 3, "tax": 1e-7}

    @get("/unicode", response_model=UserOut)
    def unicode_model():
        return {"username": "名前\u2028é\x00", "email": 'e"q\\', "full_name": "😀"}

    @get("/orm", response_model=UserOut)
    def orm():
        return OrmUser("orm", "o@x", "secret")

    @get("/orm/list", response_model=list[UserOut])
    def orm_list():
        return [OrmUser("a", "a@x", "p"), OrmUser("b", "b@x", "p")]

    @get("/generator", response_model=list[int])
    def generator():
        return (i * i for i in range(4))

    @get("/int-keys", response_model=dict[int, str])
    def int_keys():
        return {1: "a", "2": "b"}

    @get("/plain-values")
    def plain_values():
        return {
            "bytes": b"abc",
            "tuple": (1, 2),
            "frozenset": frozenset({"only"}),
            "decimal": Decimal("1.10"),
            "int_decimal": Decimal("3"),
            "enum": Shape.circle,
            "int_keys": {1: "a"},
            "nested_model": Owner(name="o"),
        }

    @get(
        "/include-and-exclude",
        response_model=Item,
        response_model_include={"name", "tax"},
        response_model_exclude={"tax"},
    )
    def include_and_exclude():
        return ITEMS["bar"]

    @get("/nested/exclude-none", response_model=Nested, response_model_exclude_none=True)
    def nested_exclude_none():
        return {"title": "t", "owner": {"name": "o"}, "items": [{"name": "i", "price": 1, "description": None}]}

    @get("/nan/model", response_model=Item)
    def nan_model():
        return {"name": "n", "price": float("nan"), "tax": float("-inf")}

    @get("/nan")
    def nan():
        return {"x": float("nan")}

    # ------------------------------------------------------------------ status codes
    @post("/created", response_model=UserOut, status_code=201)
    def created(user: UserIn):
        return user

    @delete("/gone", status_code=204)
    def gone():
        return None

    @delete("/gone-annotated", status_code=204, response_model=None)
    def gone_annotated() -> None:
        return None

    @delete("/gone-with-body", status_code=204)
    def gone_with_body():
        return {"ignored": True}

    @get("/status-via-response", response_model=UserOut)
    def status_via_response(response: Response):
        response.status_code = 202
        return UserInDB(username="r", email="r@x", hashed_password="h")

    @post("/created-no-model", status_code=201, response_model=None)
    def created_no_model():
        return UserInDB(username="c", email="c@x", hashed_password="h")

    @get("/direct-response", response_model=UserOut)
    def direct_response():
        return JSONResponse({"username": "raw", "password": "not filtered"}, status_code=202)

    @get("/direct-response-annotation")
    def direct_response_annotation() -> Response:
        return Response(b"plain bytes", media_type="text/plain")

    # ------------------------------------------------------------------ response validation
    @get("/invalid/str", response_model=str)
    def invalid_str():
        return 5

    @get("/invalid/missing", response_model=UserOut)
    def invalid_missing():
        return {"username": "x"}

    @get("/invalid/type")
    def invalid_type() -> Item:
        return {"name": "x", "price": "cheap"}  # type: ignore[return-value]

    @get("/invalid/list", response_model=list[Item])
    def invalid_list():
        return [{"name": "ok", "price": 1}, {"name": "bad"}]

    @get("/invalid/none", response_model=UserOut)
    def invalid_none():
        return None

    @post("/invalid/201", response_model=UserOut, status_code=201)
    def invalid_201():
        return {"email": "e"}

    return app


FACTORIES = {"main": build_app}

# --------------------------------------------------------------------------- cases

NEW_USER = {"username": "u", "password": "pw", "email": "u@x"}

FILTER_CASES = [
    C("filter-model-instance", "POST", "/users", 200, json=NEW_USER),
    C("filter-model-instance-full-name", "POST", "/users", 200, json={**NEW_USER, "full_name": "Full"}),
    C("filter-dict", "GET", "/users/dict", 200),
    C("filter-subclass-extra-fields", "GET", "/users/subclass", 200),
    C("filter-return-annotation", "GET", "/users/annotation", 200),
    C("filter-return-annotation-dict", "GET", "/users/annotation-dict", 200),
    C("filter-annotation-overridden-by-none", "GET", "/users/annotation-overridden", 200),
    C("filter-response-model-wins-over-annotation", "GET", "/users/model-overrides-annotation", 200),
    C("filter-response-model-none", "GET", "/users/none-model", 200),
    C("filter-list-of-models", "GET", "/users/list", 200),
    C("filter-list-annotation", "GET", "/users/list-annotation", 200),
    C("filter-dict-of-models", "GET", "/users/dict-of-models", 200),
    C("filter-optional-present", "GET", "/users/optional/true", 200),
    C("filter-optional-none", "GET", "/users/optional/false", 200),
    C("filter-coerce-dict-values", "GET", "/coerce", 200),
    C("filter-union-cat-dict", "GET", "/union/cat", 200),
    C("filter-union-dog-instance", "GET", "/union/dog", 200),
]

OPTION_CASES = [
    *[C(f"opt-full-{i}", "GET", f"/items/{i}/full", 200) for i in ITEMS],
    *[C(f"opt-exclude-unset-{i}", "GET", f"/items/{i}/unset", 200) for i in ITEMS],
    *[C(f"opt-exclude-unset-model-{i}", "GET", f"/items/{i}/unset-model", 200) for i in ITEMS],
    *[C(f"opt-include-{i}", "GET", f"/items/{i}/include", 200) for i in ("foo", "bar")],
    C("opt-include-list", "GET", "/items/bar/include-list", 200),
    *[C(f"opt-exclude-{i}", "GET", f"/items/{i}/exclude", 200) for i in ("foo", "bar")],
    *[C(f"opt-exclude-none-{i}", "GET", f"/items/{i}/exclude-none", 200) for i in ITEMS],
    *[C(f"opt-exclude-defaults-{i}", "GET", f"/items/{i}/exclude-defaults", 200) for i in ITEMS],
    *[C(f"opt-combined-{i}", "GET", f"/items/{i}/combined", 200) for i in ("foo", "bar")],
    C("opt-list-exclude-unset", "GET", "/items/list", 200),
    C("opt-by-alias-default", "GET", "/aliased", 200),
    C("opt-by-alias-false", "GET", "/aliased/no-alias", 200),
    C("opt-by-alias-false-unset", "GET", "/aliased/no-alias-unset", 200),
    C("opt-serialization-alias", "GET", "/ser-aliased", 200),
    C("opt-serialization-alias-false", "GET", "/ser-aliased/no-alias", 200),
    C("opt-nested-filtered", "GET", "/nested", 200),
    C("opt-nested-exclude-dict", "GET", "/nested/exclude", 200),
    C("opt-nested-exclude-unset", "GET", "/nested/unset", 200),
    C("ser-rich-types-model", "GET", "/rich", 200),
    C("ser-rich-types-plain", "GET", "/rich/plain", 200),
    C("ser-computed-field", "GET", "/computed", 200),
    C("ser-computed-field-instance", "GET", "/computed/instance", 200),
    C("ser-field-exclude-and-serializer", "GET", "/secretive", 200),
    C("ser-dataclass-model", "GET", "/dataclass", 200),
    C("ser-dataclass-annotation", "GET", "/dataclass/instance", 200),
    C("ser-dataclass-plain", "GET", "/dataclass/plain", 200),
    C("ser-typeddict-model", "GET", "/typeddict", 200),
    C("ser-list-int-from-tuple", "GET", "/list-int", 200),
    C("ser-set-str", "GET", "/set-str", 200),
    C("ser-any-model", "GET", "/any-model", 200),
    C("ser-nested-subclass-instance", "GET", "/nested-subclass-instance", 200),
    C("ser-union-with-response-dict", "GET", "/union-with-response", 200),
    C("ser-union-with-response-raw", "GET", "/union-with-response", 200, params={"raw": "1"}),
    C("ser-float-format", "GET", "/float-format", 200),
    C("ser-unicode-escapes", "GET", "/unicode", 200),
    C("ser-orm-object", "GET", "/orm", 200),
    C("ser-orm-list", "GET", "/orm/list", 200),
    C("ser-generator", "GET", "/generator", 200),
    C("ser-int-keys", "GET", "/int-keys", 200),
    C("ser-plain-values", "GET", "/plain-values", 200),
    C("opt-include-and-exclude", "GET", "/include-and-exclude", 200),
    C("opt-nested-exclude-none", "GET", "/nested/exclude-none", 200),
    C(
        "ser-nan-500",
        "GET",
        "/nan",
        500,
        raise_server_exceptions=False,
        orjson_xfail="NaN in a plain returned dict: FastAPI 500 (json.dumps allow_nan=False), turboapi 200 {'x': null}",
    ),
    C("ser-nan-through-model-is-null", "GET", "/nan/model", 200),
]

STATUS_CASES = [
    C("status-201", "POST", "/created", 201, json=NEW_USER),
    C("status-201-invalid-request", "POST", "/created", 422, json={"username": "u"}),
    C("status-204", "DELETE", "/gone", 204),
    C("status-204-annotated-none", "DELETE", "/gone-annotated", 204),
    C("status-204-body-dropped", "DELETE", "/gone-with-body", 204, compare_headers=("content-length",)),
    C("status-set-via-response-param", "GET", "/status-via-response", 202),
    C("status-201-no-model", "POST", "/created-no-model", 201),
    C("direct-json-response-bypasses-model", "GET", "/direct-response", 202),
    C("direct-response-annotation", "GET", "/direct-response-annotation", 200),
]

INVALID_CASES = [
    C(
        f"response-validation-{name}",
        method,
        f"/invalid/{name}",
        500,
        raise_server_exceptions=False,
    )
    for name, method in (
        ("str", "GET"),
        ("missing", "GET"),
        ("type", "GET"),
        ("list", "GET"),
        ("none", "GET"),
        ("201", "POST"),
    )
]

ALL_CASES = FILTER_CASES + OPTION_CASES + STATUS_CASES + INVALID_CASES


apps = apps_fixture(FACTORIES)


@pytest.mark.parametrize("case", ALL_CASES)
def test_response_model_differential(apps: Apps, case: Case) -> None:
    check(apps, case)


def test_every_route_registers(apps: Apps) -> None:
    assert apps.ref_errors == []
    assert apps.sut_errors == []


def test_case_ids_unique() -> None:
    assert_unique_ids(ALL_CASES)
