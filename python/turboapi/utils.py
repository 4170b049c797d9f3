"""FastAPI's ``fastapi.utils``: small helpers that libraries import (operation ids, model fields,
placeholders, dict merging)."""

from __future__ import annotations

import re
import warnings
from typing import Any, Literal

from pydantic.fields import FieldInfo

from ._compat import ModelField, PydanticSchemaGenerationError, Undefined, annotation_is_pydantic_v1
from .datastructures import DefaultPlaceholder
from .exception_handlers import is_body_allowed_for_status_code as is_body_allowed_for_status_code
from .exceptions import FastAPIDeprecationWarning, FastAPIError, PydanticV1NotSupportedError
from .openapi.utils import generate_unique_id as generate_unique_id

INVALID_RESPONSE_FIELD = (
    "Invalid args for response field! Hint: check that {type_} is a valid Pydantic field type. If you are using a "
    "return type annotation that is not a valid Pydantic field (e.g. Union[Response, dict, None]) you can disable "
    "generating the response model from the type annotation with the path operation decorator parameter "
    "response_model=None. Read more: https://fastapi.tiangolo.com/tutorial/response-model/"
)


def get_path_param_names(path: str) -> set[str]:
    """The names in ``{...}`` of a path (``{id:int}`` counts as ``id:int``, as in FastAPI)."""
    return set(re.findall("{(.*?)}", path))


def create_model_field(
    name: str,
    type_: Any,
    default: Any | None = Undefined,
    field_info: FieldInfo | None = None,
    alias: str | None = None,
    mode: Literal["validation", "serialization"] = "validation",
) -> ModelField:
    """A ``ModelField`` for ``type_`` (or for ``field_info``); FastAPIError when pydantic has no
    schema for the type."""
    if annotation_is_pydantic_v1(type_):
        raise PydanticV1NotSupportedError(
            f"pydantic.v1 models are no longer supported by FastAPI. Please update the response model {type_!r}."
        )
    field_info = field_info or FieldInfo(annotation=type_, default=default, alias=alias)
    try:
        return ModelField(mode=mode, name=name, field_info=field_info)
    except PydanticSchemaGenerationError:
        raise FastAPIError(INVALID_RESPONSE_FIELD.format(type_=type_)) from None


#: The name of ``create_model_field`` in FastAPI releases before 0.100.
create_response_field = create_model_field


def generate_operation_id_for_path(*, name: str, path: str, method: str) -> str:
    warnings.warn(
        "fastapi.utils.generate_operation_id_for_path() was deprecated, it is not used internally, and will be "
        "removed soon",
        FastAPIDeprecationWarning,
        stacklevel=2,
    )
    operation_id = re.sub(r"\W", "_", f"{name}{path}")
    return f"{operation_id}_{method.lower()}"


def deep_dict_update(main_dict: dict[Any, Any], update_dict: dict[Any, Any]) -> None:
    """Merge ``update_dict`` into ``main_dict``: dicts merged recursively, lists concatenated, any
    other value replaced."""
    for key, value in update_dict.items():
        current = main_dict.get(key)
        if key in main_dict and isinstance(current, dict) and isinstance(value, dict):
            deep_dict_update(current, value)
        elif key in main_dict and isinstance(current, list) and isinstance(value, list):
            main_dict[key] = current + value
        else:
            main_dict[key] = value


def get_value_or_default(first_item: Any, *extra_items: Any) -> Any:
    """The first item that is not a ``DefaultPlaceholder``; else the first item."""
    for item in (first_item, *extra_items):
        if not isinstance(item, DefaultPlaceholder):
            return item
    return first_item
