"""Signature analysis: a handler's parameters -> the route plan the core runs (sources, lookup keys,
converters, defaults), plus the Python half of a request: pydantic validation of what the core
could not settle, request bodies, and the ``Request`` parameter.

Runs once per route at start-up; on a request only ``RouteSolver.solve`` runs, and only when the
core asks for it (a value to validate, a body, a ``Request``).
"""

from __future__ import annotations

import email.message
import inspect
import json
import warnings
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from copy import deepcopy
from dataclasses import dataclass, field, is_dataclass
from enum import Enum
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin, get_type_hints

from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic.fields import FieldInfo

from . import params
from .exceptions import FastAPIError, RequestValidationError
from .params import Undefined

SEQUENCE_TYPES = (list, tuple, set, frozenset, deque, Sequence)
IMMUTABLE_DEFAULTS = (type(None), bool, int, float, str, bytes, tuple, frozenset, Enum)
SCALARS = {bool: "bool", int: "int", float: "float", str: "str", bytes: "bytes"}


def _issubclass(tp: Any, bases: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, bases)


def _union_args(tp: Any) -> tuple[Any, ...] | None:
    return get_args(tp) if get_origin(tp) in (Union, UnionType) else None


def _strip_annotated(tp: Any) -> Any:
    return get_args(tp)[0] if get_origin(tp) is Annotated else tp


def is_sequence(tp: Any) -> bool:
    """list/tuple/set... of something (not str/bytes), also inside Optional."""
    tp = _strip_annotated(tp)
    if (args := _union_args(tp)) is not None:
        return any(is_sequence(a) for a in args)
    if _issubclass(tp, (str, bytes)):
        return False
    return _issubclass(tp, SEQUENCE_TYPES) or _issubclass(get_origin(tp), SEQUENCE_TYPES)


def is_complex(tp: Any) -> bool:
    """Models, mappings, sequences, dataclasses: FastAPI reads such a bare parameter from the body."""
    tp = _strip_annotated(tp)
    if (args := _union_args(tp)) is not None:
        return any(is_complex(a) for a in args)
    origin = get_origin(tp)
    return any(
        _issubclass(t, (BaseModel, Mapping, *SEQUENCE_TYPES)) and not _issubclass(t, (str, bytes)) or is_dataclass(t)
        for t in (tp, origin)
    )


def _without_none(tp: Any) -> Any:
    args = _union_args(tp)
    if args is None:
        return tp
    rest = [a for a in args if a is not type(None)]
    return rest[0] if len(rest) == 1 else tp


def scalar_kind(tp: Any) -> tuple[str, bool]:
    """(the converter the core may use, whether the value is a list of values)."""
    tp = _without_none(_strip_annotated(tp))
    if get_origin(tp) is list or tp is list:
        args = get_args(tp)
        inner = _without_none(args[0]) if args else str
        return SCALARS.get(inner, "other") if type(inner) is type else "other", True
    if is_sequence(tp):
        return "other", True
    return (SCALARS.get(tp, "other") if type(tp) is type else "other"), False


def missing_error(loc: tuple[Any, ...]) -> dict[str, Any]:
    return {"type": "missing", "loc": loc, "msg": "Field required", "input": None}


class _DefaultFactory:
    def __init__(self, factory: Callable[[], Any]) -> None:
        self.factory = factory


def fresh_default(value: Any) -> Any:
    """A per-request default: the factory's product, or a deep copy of a mutable default."""
    if isinstance(value, _DefaultFactory):
        return value.factory()
    return deepcopy(value)


def _adapter(annotation: Any, info: FieldInfo) -> TypeAdapter[Any]:
    # Constraints live in the FieldInfo's metadata; validating with them alone gives FastAPI's
    # behaviour without pydantic's warnings about alias/default on a TypeAdapter.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if info.metadata:
            return TypeAdapter(Annotated[(annotation, *info.metadata)])  # type: ignore[valid-type]
        return TypeAdapter(annotation)


def validate(adapter: TypeAdapter[Any], value: Any, loc: tuple[Any, ...]) -> tuple[Any, list[dict[str, Any]]]:
    try:
        return adapter.validate_python(value, from_attributes=True), []
    except ValidationError as exc:
        return None, [{**err, "loc": loc + tuple(err["loc"])} for err in exc.errors(include_url=False)]


@dataclass
class ParamSpec:
    """One path/query/header/cookie parameter; the attributes the core reads are plain values."""

    name: str
    key: str
    source: str
    scalar: str
    is_list: bool
    fast: bool
    required: bool
    default: Any
    copy_default: bool
    loc: tuple[str, str]
    adapter: TypeAdapter[Any] = field(repr=False)
    info: FieldInfo = field(repr=False)

    def validate(self, raw: Any) -> tuple[Any, list[dict[str, Any]]]:
        return validate(self.adapter, raw, self.loc)


@dataclass
class BodyField:
    name: str
    alias: str
    required: bool
    default: Any
    adapter: TypeAdapter[Any] = field(repr=False)
    info: FieldInfo = field(repr=False)


def _marker_of(name: str, annotation: Any, default: Any) -> tuple[Any, FieldInfo | None, Any]:
    """(type, marker, default) from `x: T = Query()` or `x: Annotated[T, Query()] = d`."""
    marker = None
    type_ = annotation
    if get_origin(annotation) is Annotated:
        type_, *extras = get_args(annotation)
        markers = [e for e in extras if isinstance(e, (params.Param, params.Body))]
        if markers:
            marker = markers[-1]
            if marker.default is not Undefined:
                raise FastAPIError(
                    f"`{type(marker).__name__}` default value cannot be set in `Annotated` for {name!r}. "
                    "Set the default value with `=` instead."
                )
    if isinstance(default, FieldInfo):
        if marker is not None:
            raise FastAPIError(
                f"Cannot specify FastAPI annotations in `Annotated` and default value together for {name!r}"
            )
        marker, default = default, Undefined
        if marker.default_factory is not None:
            default = _DefaultFactory(marker.default_factory)
        elif marker.default is not Undefined:
            default = marker.default
    elif marker is not None:
        # Annotated[T, Query(...)] = default: copy the marker, the same object may serve many routes.
        import copy

        marker = copy.copy(marker)
    return type_, marker, default


@dataclass
class EndpointSignature:
    params: list[ParamSpec]
    body: list[BodyField]
    embed_body: bool
    request_param: str | None
    response_param: str | None


def analyze(endpoint: Callable[..., Any], path_param_names: Sequence[str]) -> EndpointSignature:
    from .requests import Request
    from .responses import Response

    try:
        hints = get_type_hints(endpoint, include_extras=True)
    except Exception as exc:
        raise FastAPIError(f"cannot resolve the type hints of {endpoint!r}: {exc}") from exc
    by_source: dict[str, list[ParamSpec]] = {"path": [], "query": [], "header": [], "cookie": []}
    body: list[BodyField] = []
    request_param = None
    response_param = None
    for name, parameter in inspect.signature(endpoint).parameters.items():
        if parameter.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
            continue
        annotation = hints.get(name, Any)
        raw_default = Undefined if parameter.default is inspect.Parameter.empty else parameter.default
        type_, marker, default = _marker_of(name, annotation, raw_default)
        if _issubclass(type_, Request):
            request_param = name
            continue
        if _issubclass(type_, Response):
            response_param = name
            continue
        if type(raw_default).__name__ in ("Depends", "Security") or marker is None and _unsupported(type_):
            raise FastAPIError(
                f"parameter {name!r} of {endpoint.__qualname__}: {_unsupported(type_) or 'Depends'} "
                "is not supported by turboapi yet"
            )
        is_path = name in path_param_names
        if marker is None:
            if is_path:
                marker = params.Path()
            elif is_complex(type_):
                marker = params.Body()
            else:
                marker = params.Query()
        if is_path and not isinstance(marker, params.Path):
            raise FastAPIError(f"Cannot use `{type(marker).__name__}` for path param {name!r}")
        if isinstance(marker, params.Path) and not is_path:
            raise FastAPIError(f"path parameter {name!r} of {endpoint.__qualname__} is not in the path")
        required = default is Undefined
        if isinstance(marker, params.Body):
            alias = marker.alias or name
            body.append(BodyField(name, alias, required, default, _adapter(type_, marker), marker))
            continue
        source = marker.in_.value
        if marker.alias:
            alias = marker.alias
        elif source == "header" and marker.convert_underscores:
            alias = name.replace("_", "-")
        else:
            alias = name
        scalar, is_list = scalar_kind(type_)
        if source == "path" and is_list:
            raise FastAPIError(f"path parameter {name!r} must be a single value")
        by_source[source].append(
            ParamSpec(
                name=name,
                key=alias.lower() if source == "header" else alias,
                source=source,
                scalar=scalar,
                is_list=is_list,
                fast=scalar != "other" and not marker.metadata,
                required=required,
                default=None if required else default,
                copy_default=not required and not isinstance(default, IMMUTABLE_DEFAULTS),
                loc=(source, alias),
                adapter=_adapter(type_, marker),
                info=marker,
            )
        )
    names = {b.name for b in body}
    embed = len(names) > 1 or bool(body and getattr(body[0].info, "embed", False))
    ordered = by_source["path"] + by_source["query"] + by_source["header"] + by_source["cookie"]
    return EndpointSignature(ordered, body, embed, request_param, response_param)


def _unsupported(type_: Any) -> str | None:
    name = getattr(type_, "__name__", "")
    if name in ("BackgroundTasks", "WebSocket", "SecurityScopes", "UploadFile"):
        return name
    return None


def _is_json_content_type(content_type: str) -> bool:
    if content_type == "application/json" or content_type.startswith("application/json;"):
        return True
    message = email.message.Message()
    message["content-type"] = content_type
    if message.get_content_maintype() != "application":
        return False
    subtype = message.get_content_subtype()
    return subtype == "json" or subtype.endswith("+json")


def read_body(raw: bytes, content_type: str | None) -> Any:
    """FastAPI's reading of a JSON body: parsed only with a JSON content type, else the raw bytes."""
    from .exceptions import HTTPException

    if not raw:
        return None
    if not content_type or not _is_json_content_type(content_type):
        return raw
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        error = {"type": "json_invalid", "loc": ("body", exc.pos), "msg": "JSON decode error", "input": {}}
        error["ctx"] = {"error": exc.msg}
        raise RequestValidationError([error], body=exc.doc) from exc
    except Exception as exc:
        raise HTTPException(status_code=400, detail="There was an error parsing the body") from exc


def solve_body(sig: EndpointSignature, data: Any, values: dict[str, Any]) -> tuple[Any, list[dict[str, Any]]]:
    """Validate body parameters into ``values``; returns (the body as read, errors)."""
    raw = data.body
    fields = sig.body
    if len(fields) == 1 and not sig.embed_body:
        only = fields[0]
        # Fast path: a JSON body validated by pydantic-core straight from the bytes.
        if raw and _is_json_content_type(data.content_type or ""):
            try:
                values[only.name] = only.adapter.validate_json(raw)
                return None, []
            except ValueError:
                pass  # FastAPI's exact flow below produces FastAPI's exact errors.
        body = read_body(raw, data.content_type)
        if body is None:
            if only.required:
                return body, [missing_error(("body",))]
            values[only.name] = fresh_default(only.default)
            return body, []
        value, errors = validate(only.adapter, body, ("body",))
        if not errors:
            values[only.name] = value
        return body, errors
    body = read_body(raw, data.content_type)
    errors: list[dict[str, Any]] = []
    for f in fields:
        loc = ("body", f.alias)
        value = None
        if body is not None and not isinstance(body, bytes):
            try:
                value = body.get(f.alias)
            except AttributeError:
                errors.append(missing_error(loc))
                continue
        if value is None:
            if f.required:
                errors.append(missing_error(loc))
            else:
                values[f.name] = fresh_default(f.default)
            continue
        validated, errs = validate(f.adapter, value, loc)
        if errs:
            errors.extend(errs)
        else:
            values[f.name] = validated
    return body, errors
