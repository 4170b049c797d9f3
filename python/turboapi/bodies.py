"""The request body, read once and before any parameter is validated, as FastAPI reads it.

``ReceivedBody`` holds what was sent: a JSON value (parsed only under a JSON content type, else
the raw bytes), a form (fields and uploaded files), or, for the common case of one JSON model,
the model already validated by pydantic-core straight from the bytes. Its ``values`` validates a
route's or a dependency's body fields from it, with FastAPI's errors (``request_body_to_args``).
Both solvers use it: ``solving.solve_simple`` and ``dependencyrunner.DependencyRunner``.
"""

from __future__ import annotations

import email.message
import json
from typing import Any, get_args, get_origin

from pydantic import BaseModel

from .datastructures import FormData, UploadFile, close_form
from .dependencies import (
    BodyField,
    EndpointSignature,
    _strip_annotated,
    _union_args,
    fresh_default,
    is_sequence,
    missing_error,
    validate,
)
from .exceptions import HTTPException, RequestValidationError
from .params import File, Form


def is_json_content_type(content_type: str) -> bool:
    if content_type == "application/json" or content_type.startswith("application/json;"):
        return True
    message = email.message.Message()
    message["content-type"] = content_type
    if message.get_content_maintype() != "application":
        return False
    subtype = message.get_content_subtype()
    return subtype == "json" or subtype.endswith("+json")


def read_json_body(raw: bytes, content_type: str | None, strict: bool) -> Any:
    """FastAPI's reading of a JSON body: parsed with a JSON content type (or, not ``strict``,
    with none at all), else the raw bytes."""
    if not raw:
        return None
    if not (is_json_content_type(content_type) if content_type else not strict):
        return raw
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        error = {"type": "json_invalid", "loc": ("body", exc.pos), "msg": "JSON decode error", "input": {}}
        error["ctx"] = {"error": exc.msg}
        raise RequestValidationError([error], body=exc.doc) from exc
    except Exception as exc:
        raise HTTPException(status_code=400, detail="There was an error parsing the body") from exc


class ReceivedBody:
    """The request body as read once, before any parameter is validated (as FastAPI reads it).
    (Not ``Body``: that is the ``params.Body`` marker a handler declares a body parameter with.)"""

    __slots__ = ("raw", "content_type", "value", "prevalidated", "form")

    def __init__(self, sig: EndpointSignature, data: Any, *, strict: bool, prevalidate: bool = True) -> None:
        """``strict``: the route's ``strict_content_type``. ``prevalidate=False``: the caller
        already tried the one-model fast path, and it failed."""
        path = data.body_path
        self.content_type: str | None = data.content_type
        self.value: Any = None
        #: The single body parameter, validated straight from the JSON bytes by pydantic-core.
        self.prevalidated: dict[str, Any] | None = None
        self.form: FormData | None = None
        fields = sig.body
        if isinstance(fields[0].info, Form):
            # Imported when a form arrives: python-multipart is optional, as in FastAPI (a route
            # with Form parameters checks for it when it is declared).
            from .formparsing import read_form

            self.raw = b""
            self.form = self.value = read_form(data.body, self.content_type, path)
            return
        if path is not None:  # an upload sent to a route that does not take a form: read it whole
            with open(path, "rb") as f:
                self.raw = f.read()
        else:
            self.raw = data.body
        if (
            prevalidate
            and len(fields) == 1
            and not sig.embed_body
            and self.raw
            and is_json_content_type(self.content_type or "")
        ):
            only = fields[0]
            try:
                self.prevalidated = {only.name: only.adapter.validate_json(self.raw)}
                return
            except ValueError:
                pass  # FastAPI's exact flow below produces FastAPI's exact errors.
        self.value = read_json_body(self.raw, self.content_type, strict)

    @classmethod
    def absent(cls) -> ReceivedBody:
        body = cls.__new__(cls)
        body.raw, body.content_type, body.value, body.prevalidated, body.form = b"", None, None, None, None
        return body

    def for_errors(self) -> Any:
        """What ``RequestValidationError.body`` holds: the body as FastAPI parsed it."""
        if self.prevalidated is not None:
            return json.loads(self.raw)
        return self.value

    def close(self) -> None:
        if self.form is not None:
            close_form(self.form)

    def values(self, fields: list[BodyField], embed: bool, values: dict[str, Any]) -> list[dict[str, Any]]:
        """Validate ``fields`` into ``values``; returns the errors (FastAPI's request_body_to_args)."""
        if self.prevalidated is not None:
            for f in fields:
                values[f.name] = self.prevalidated[f.name]
            return []
        received = self.value
        single = len(fields) == 1 and not embed
        if self.form is not None:
            extract = fields
            if single and _is_model(fields[0].annotation):
                extract = fields_of_model(fields[0].annotation)
            received = _form_values(extract, self.form)
        if single:
            only = fields[0]
            if received is None:
                if only.required:
                    return [missing_error(("body",))]
                values[only.name] = fresh_default(only.default)
                return []
            value, errors = validate(only.adapter, received, ("body",))
            if not errors:
                values[only.name] = value
            return errors
        errors = []
        for f in fields:
            loc = ("body", f.alias)
            value = None
            if received is not None and not isinstance(received, bytes):
                try:
                    value = received.get(f.alias)
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
        return errors


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


class _ModelField:
    """A field of a model used as a whole form/parameter source."""

    def __init__(self, name: str, alias: str, annotation: Any, required: bool, default: Any, info: Any) -> None:
        self.name, self.alias, self.annotation, self.required, self.default, self.info = (
            name,
            alias,
            annotation,
            required,
            default,
            info,
        )


def fields_of_model(model: type[BaseModel]) -> list[Any]:
    """The fields of a model that is read whole from a source: a form, or the query, headers or
    cookies of a parameter model (``solving.model_input``)."""
    out = []
    for name, info in model.model_fields.items():
        alias = info.validation_alias if isinstance(info.validation_alias, str) else (info.alias or name)
        out.append(_ModelField(name, alias, info.annotation, info.is_required(), info.default, info))
    return out


def _form_values(fields: list[Any], form: FormData) -> dict[str, Any]:
    """FastAPI's _extract_form_body: the values of ``fields`` (files read for bytes) + the other keys."""
    out: dict[str, Any] = {}
    for f in fields:
        sequence = is_sequence(f.annotation)
        value: Any = form.getlist(f.alias) if sequence else form.get(f.alias)
        if value is None or (isinstance(f.info, Form) and value == "") or (sequence and len(value) == 0):
            value = None if f.required else fresh_default(f.default)
        elif isinstance(f.info, File) and _wants_bytes(f.annotation):
            if isinstance(value, UploadFile):
                value = _read_upload(value)
            elif sequence and isinstance(value, list):
                value = [_read_upload(v) if isinstance(v, UploadFile) else v for v in value]
        if value is not None:
            out[f.alias] = value
    aliases = {f.alias for f in fields}
    for key in form:
        if key not in aliases:
            items = form.getlist(key)
            out[key] = items[0] if len(items) == 1 else items
    return out


def _wants_bytes(tp: Any) -> bool:
    tp = _strip_annotated(tp)
    if (args := _union_args(tp)) is not None:
        return any(_wants_bytes(a) for a in args if a is not type(None))
    if tp is bytes:
        return True
    return get_origin(tp) in (list, set, tuple, frozenset) and any(_wants_bytes(a) for a in get_args(tp))


def _read_upload(upload: UploadFile) -> bytes:
    upload.file.seek(0)
    return upload.file.read()
