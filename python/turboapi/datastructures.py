"""Request/response data structures: Starlette's (as FastAPI's are), with FastAPI's additions:
``UploadFile`` as a pydantic type, and ``Default`` for arguments a router fills in."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import URL as URL
from starlette.datastructures import Address as Address
from starlette.datastructures import CommaSeparatedStrings as CommaSeparatedStrings
from starlette.datastructures import FormData as FormData
from starlette.datastructures import Headers as Headers
from starlette.datastructures import ImmutableMultiDict as ImmutableMultiDict
from starlette.datastructures import MultiDict as MultiDict
from starlette.datastructures import MutableHeaders as MutableHeaders
from starlette.datastructures import QueryParams as QueryParams
from starlette.datastructures import Secret as Secret
from starlette.datastructures import State as State
from starlette.datastructures import UploadFile as StarletteUploadFile
from starlette.datastructures import URLPath as URLPath


class UploadFile(StarletteUploadFile):
    """An uploaded file (Starlette's, as FastAPI's is), its data in a spooled temporary file (on
    disk past 1 MiB); usable as a parameter's and a model field's type."""

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> Any:
        from pydantic_core import core_schema

        def check(value: Any) -> Any:
            if not isinstance(value, StarletteUploadFile):
                raise ValueError(f"Expected UploadFile, received: {type(value)}")
            return value

        return core_schema.no_info_plain_validator_function(check)

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: Any, handler: Any) -> dict[str, Any]:
        return {"type": "string", "contentMediaType": "application/octet-stream"}


def close_form(form: FormData) -> None:
    """Close a form's uploaded files from sync code (a sync route, after its response)."""
    for _, value in form.multi_items():
        if isinstance(value, StarletteUploadFile):
            value.file.close()


class DefaultPlaceholder:
    """Marks an argument the user did not pass (FastAPI's name), so a router's default applies."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def __bool__(self) -> bool:
        return bool(self.value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DefaultPlaceholder) and other.value == self.value

    __hash__ = None  # type: ignore[assignment]


def Default(value: Any) -> Any:  # noqa: N802 - FastAPI's name
    return DefaultPlaceholder(value)
