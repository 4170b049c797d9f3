"""What FastAPI's ``_compat.shared`` answers about annotations (is it a sequence, a scalar, bytes,
an upload...), for libraries that import these predicates."""

from __future__ import annotations

import types
import typing
import warnings
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import is_dataclass
from typing import Annotated, Any, TypeGuard, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic.version import VERSION as PYDANTIC_VERSION
from starlette.datastructures import UploadFile

_T = TypeVar("_T")

PYDANTIC_VERSION_MINOR_TUPLE = tuple(int(part) for part in PYDANTIC_VERSION.split(".")[:2])
#: turboapi needs pydantic 2 (the name older FastAPI releases exported).
PYDANTIC_V2 = True

#: A sequence annotation's origin -> the type a received sequence is turned into.
sequence_annotation_to_type: dict[Any, type[Any]] = {
    Sequence: list,
    list: list,
    tuple: tuple,
    set: set,
    frozenset: frozenset,
    deque: deque,
}
sequence_types: tuple[type[Any], ...] = tuple(sequence_annotation_to_type)

#: Parametrised generics, which ``issubclass`` refuses.
WithArgsTypes: tuple[Any, ...] = (typing._GenericAlias, types.GenericAlias, types.UnionType)  # type: ignore[attr-defined]


def lenient_issubclass(cls: Any, class_or_tuple: type[_T] | tuple[type[_T], ...] | None) -> TypeGuard[type[_T]]:
    """``issubclass`` that answers False for what is not a class (or is a parametrised generic)."""
    try:
        return isinstance(cls, type) and issubclass(cls, class_or_tuple)  # type: ignore[arg-type]
    except TypeError:
        if isinstance(cls, WithArgsTypes):
            return False
        raise


def _is_union(origin: Any) -> bool:
    return origin is Union or origin is types.UnionType


def _sequence_class(annotation: Any) -> bool:
    return not lenient_issubclass(annotation, (str, bytes)) and lenient_issubclass(annotation, sequence_types)


def field_annotation_is_sequence(annotation: Any) -> bool:
    origin = get_origin(annotation)
    if origin is Annotated:
        return field_annotation_is_sequence(get_args(annotation)[0])
    if _is_union(origin):
        return any(field_annotation_is_sequence(arg) for arg in get_args(annotation))
    return _sequence_class(annotation) or _sequence_class(origin)


def value_is_sequence(value: Any) -> bool:
    return isinstance(value, sequence_types) and not isinstance(value, (str, bytes))


def _complex_class(annotation: Any) -> bool:
    return (
        lenient_issubclass(annotation, (BaseModel, Mapping, UploadFile))
        or _sequence_class(annotation)
        or is_dataclass(annotation)
    )


def field_annotation_is_complex(annotation: Any) -> bool:
    """Models, mappings, sequences, dataclasses, uploads (or a union holding one)."""
    origin = get_origin(annotation)
    if _is_union(origin):
        return any(field_annotation_is_complex(arg) for arg in get_args(annotation))
    if origin is Annotated:
        return field_annotation_is_complex(get_args(annotation)[0])
    return (
        _complex_class(annotation)
        or _complex_class(origin)
        or hasattr(origin, "__pydantic_core_schema__")
        or hasattr(origin, "__get_pydantic_core_schema__")
    )


def field_annotation_is_scalar(annotation: Any) -> bool:
    # `...` is a scalar, so that `tuple[int, ...]` is a sequence of scalars.
    return annotation is Ellipsis or not field_annotation_is_complex(annotation)


def field_annotation_is_scalar_sequence(annotation: Any) -> bool:
    origin = get_origin(annotation)
    if origin is Annotated:
        return field_annotation_is_scalar_sequence(get_args(annotation)[0])
    if _is_union(origin):
        found = False
        for arg in get_args(annotation):
            if field_annotation_is_scalar_sequence(arg):
                found = True
            elif not field_annotation_is_scalar(arg):
                return False
        return found
    return field_annotation_is_sequence(annotation) and all(field_annotation_is_scalar(a) for a in get_args(annotation))


def _is_or_holds(annotation: Any, cls: type[Any]) -> bool:
    if lenient_issubclass(annotation, cls):
        return True
    return _is_union(get_origin(annotation)) and any(lenient_issubclass(arg, cls) for arg in get_args(annotation))


def is_bytes_or_nonable_bytes_annotation(annotation: Any) -> bool:
    return _is_or_holds(annotation, bytes)


def is_uploadfile_or_nonable_uploadfile_annotation(annotation: Any) -> bool:
    return _is_or_holds(annotation, UploadFile)


def _sequence_of(annotation: Any, item: Any) -> bool:
    if _is_union(get_origin(annotation)):
        return any(_sequence_of(arg, item) for arg in get_args(annotation))
    return field_annotation_is_sequence(annotation) and all(item(a) for a in get_args(annotation))


def is_bytes_sequence_annotation(annotation: Any) -> bool:
    return _sequence_of(annotation, is_bytes_or_nonable_bytes_annotation)


def is_uploadfile_sequence_annotation(annotation: Any) -> bool:
    return _sequence_of(annotation, is_uploadfile_or_nonable_uploadfile_annotation)


def _pydantic_v1() -> Any:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            from pydantic import v1
    except ImportError:  # pragma: no cover - a pydantic without its v1 namespace
        return None
    return v1


def is_pydantic_v1_model_instance(obj: Any) -> bool:
    v1 = _pydantic_v1()
    return v1 is not None and isinstance(obj, v1.BaseModel)


def is_pydantic_v1_model_class(cls: Any) -> bool:
    v1 = _pydantic_v1()
    return v1 is not None and lenient_issubclass(cls, v1.BaseModel)


def annotation_is_pydantic_v1(annotation: Any) -> bool:
    if is_pydantic_v1_model_class(annotation):
        return True
    if _is_union(get_origin(annotation)) and any(is_pydantic_v1_model_class(a) for a in get_args(annotation)):
        return True
    return field_annotation_is_sequence(annotation) and any(annotation_is_pydantic_v1(a) for a in get_args(annotation))
