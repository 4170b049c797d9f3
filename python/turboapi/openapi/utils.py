"""The OpenAPI 3.1 document of an app, as FastAPI 0.141.1 generates it for the same routes.

Built once from the route objects (their dependant trees, body fields and response models) and
cached by ``app.openapi()``. JSON schemas come from pydantic's own generator, all fields at once,
so shared models become ``components/schemas`` entries referenced by ``$ref`` as in FastAPI.
"""

from __future__ import annotations

import copy
import http.client
import inspect
import re
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated, Any, cast

import starlette.responses
from pydantic import AnyUrl, BaseModel, TypeAdapter, create_model
from pydantic.fields import FieldInfo

from .. import params
from .._compat.v2 import GenerateJsonSchema as _SchemaGenerator
from .._planned import refuse
from ..dependencies import BodyField, Dependant, ParamSpec, _unwrap
from ..encoders import jsonable_encoder
from ..exception_handlers import is_body_allowed_for_status_code
from ..params import Undefined, _Unset
from ..routing import PATH_PARAM, APIRoute
from ..security.base import SecurityBase
from ..sse import _SSE_EVENT_SCHEMA as SSE_EVENT_SCHEMA

if TYPE_CHECKING:
    from pydantic.json_schema import JsonSchemaMode

REF_PREFIX = "#/components/schemas/"
REF_TEMPLATE = "#/components/schemas/{model}"
METHODS_WITH_BODY = {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH"}

validation_error_definition = {
    "title": "ValidationError",
    "type": "object",
    "properties": {
        "loc": {"title": "Location", "type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]}},
        "msg": {"title": "Message", "type": "string"},
        "type": {"title": "Error Type", "type": "string"},
        "input": {"title": "Input"},
        "ctx": {"title": "Context", "type": "object"},
    },
    "required": ["loc", "msg", "type"],
}

validation_error_response_definition = {
    "title": "HTTPValidationError",
    "type": "object",
    "properties": {"detail": {"title": "Detail", "type": "array", "items": {"$ref": REF_PREFIX + "ValidationError"}}},
}

status_code_ranges: dict[str, str] = {
    "1XX": "Information",
    "2XX": "Success",
    "3XX": "Redirection",
    "4XX": "Client Error",
    "5XX": "Server Error",
    "DEFAULT": "Default Response",
}


def path_format(path: str) -> str:
    """The path as OpenAPI writes it: ``{id:int}`` becomes ``{id}``."""
    return PATH_PARAM.sub(r"{\1}", path)


def generate_unique_id(route: Any) -> str:
    """FastAPI's default operationId: name + path with non-word characters as ``_`` + method."""
    operation_id = re.sub(r"\W", "_", f"{route.name}{path_format(route.path)}")
    return f"{operation_id}_{next(iter(route.methods)).lower()}"


def _unique_id(route: Any) -> str:
    """The route's ``unique_id`` (its ``generate_unique_id_function``'s answer, or its
    operation_id), which names its operation and its generated models."""
    return getattr(route, "unique_id", None) or generate_unique_id(route)


def generate_operation_summary(*, route: Any, method: str) -> str:
    summary: str = route.summary or route.name.replace("_", " ").title()
    return summary


class _Field:
    """One schema to generate: a parameter, a body, a response model (FastAPI's ModelField)."""

    __slots__ = ("adapter", "annotation", "mode", "title", "alias", "info")

    def __init__(self, annotation: Any, info: FieldInfo | None, mode: JsonSchemaMode, alias: str) -> None:
        self.annotation = annotation
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # alias/default on a TypeAdapter: schema-only here
            self.adapter = TypeAdapter(Annotated[annotation, info] if info is not None else annotation)
        self.mode = mode
        self.info = info
        self.title = getattr(info, "title", None)
        self.alias = alias


def _documented_signature(route: Any) -> Any:
    """The route's analysed signature; analysed again when a library added dependencies to
    ``route.dependencies`` after registration (fastapi-pagination does), so they are documented as
    FastAPI documents its ``route.dependant``."""
    signature = route.signature
    planned = [d for d in signature.dependant.dependencies if d.name is None]
    if len(route.dependencies) == len(planned):
        return signature
    from .. import dependencies

    return dependencies.analyze(route.endpoint, route.path_param_names, route.dependencies)


class _RouteFields:
    """What one route contributes to the document."""

    def __init__(self, route: Any) -> None:
        self.route = route
        root: Dependant = _documented_signature(route).dependant
        # Parameters of each distinct dependant (pre-order), grouped by source as FastAPI lists them.
        # Security schemes met on the way, with the OAuth2 scopes that reach them.
        seen: list[Any] = []
        by_source: dict[str, list[tuple[_Param, _Field]]] = {s: [] for s in ("path", "query", "header", "cookie")}
        self.security: list[tuple[Any, list[str]]] = []
        stack: list[tuple[Dependant, list[str], bool]] = [(root, [], True)]
        while stack:
            dep, parent_scopes, is_root = stack.pop()
            if dep.cache_key in seen:
                continue
            seen.append(dep.cache_key)
            scopes = list(parent_scopes)
            scopes += [scope for scope in dep.scopes if scope not in scopes]
            scheme = _unwrap(dep.call)
            if not is_root and isinstance(scheme, SecurityBase):
                self.security.append((scheme, scopes))
            stack.extend((sub, scopes, False) for sub in reversed(dep.dependencies))
            for spec in dep.params:
                info = _with_default(spec.info, spec.required, spec.default)
                field = _Field(spec.annotation, info, "validation", _param_alias(spec))
                by_source[spec.source].append((_Param(spec.source, spec.required, spec.info), field))
        for source, group in by_source.items():
            if len(group) == 1 and group[0][0].info is not None:
                model = _model_of(group[0][1])
                if model is not None:
                    by_source[source] = _model_params(source, model, group[0][0].info)
        self.params: list[tuple[_Param, _Field]] = [p for group in by_source.values() for p in group]
        self.body = _body_field(route)
        model = route.response_model
        unique_id = _unique_id(route)
        self.response = _Field(model, None, "serialization", f"Response_{unique_id}") if model is not None else None
        #: A generator route's item type, documented as each JSON Lines item or SSE event's data.
        item_type = getattr(getattr(route, "stream", None), "item_type", None)
        self.stream_item = (
            _Field(item_type, None, "serialization", f"StreamItem_{unique_id}") if item_type is not None else None
        )
        self.extra_responses: dict[Any, _Field] = {}
        for code, response in (route.responses or {}).items():
            if isinstance(response, dict) and response.get("model") is not None:
                name = f"Response_{code}_{unique_id}"
                self.extra_responses[code] = _Field(response["model"], None, "serialization", name)
        # FastAPI documents only the APIRoute callbacks, and one left out of the schema as an
        # empty path item (None here: it contributes no fields).
        self.callbacks: list[tuple[APIRoute, _RouteFields | None]] = [
            (callback, _RouteFields(callback) if callback.include_in_schema else None)
            for callback in getattr(route, "callbacks", None) or []
            if isinstance(callback, APIRoute)
        ]

    def fields(self) -> list[_Field]:
        # Callbacks' fields first, as FastAPI collects them.
        out = [f for _, fields in self.callbacks if fields is not None for f in fields.fields()]
        out += [f for _, f in self.params]
        out += [f for f in (self.body, self.response, self.stream_item) if f is not None]
        return out + list(self.extra_responses.values())


class _Param:
    """Where a documented parameter comes from, whether it is required, and its options."""

    __slots__ = ("source", "required", "info", "name")

    def __init__(self, source: str, required: bool, info: Any, name: str | None = None) -> None:
        self.source, self.required, self.info, self.name = source, required, info, name


def _model_of(field: _Field) -> type[BaseModel] | None:
    from ..dependencies import _strip_annotated, _without_none

    annotation = _without_none(_strip_annotated(field.annotation))
    return annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None


def _model_params(source: str, model: type[BaseModel], marker: Any) -> list[tuple[_Param, _Field]]:
    """A parameter model is documented as its fields, one parameter each (as FastAPI lists it)."""
    default_convert = getattr(marker, "convert_underscores", True)
    out = []
    for name, info in model.model_fields.items():
        alias = info.validation_alias if isinstance(info.validation_alias, str) else (info.alias or name)
        shown = alias
        if source == "header" and getattr(info, "convert_underscores", default_convert) and alias == name:
            shown = name.replace("_", "-")
        field = _Field(info.annotation, info, "validation", alias)
        out.append((_Param(source, info.is_required(), info, shown), field))
    return out


def _with_default(info: FieldInfo, required: bool, default: Any) -> FieldInfo:
    """The marker with the parameter's default, as FastAPI's field carries it (``= 10`` in the
    signature becomes the schema's ``"default": 10``)."""
    if required or info.default is not Undefined or info.default_factory is not None:
        return info
    from ..dependencies import _DefaultFactory

    info = copy.copy(info)
    if isinstance(default, _DefaultFactory):
        info.default_factory = default.factory
    else:
        info.default = default
    return info


def _param_alias(spec: ParamSpec) -> str:
    return spec.loc[1] if len(spec.loc) > 1 else spec.arg


def _body_field(route: Any) -> _Field | None:
    sig = route.signature
    # A body value several dependants declare (the same name) is one value, as FastAPI counts it.
    by_name: dict[str, BodyField] = {}
    for dependant in sig.dependant.walk():
        for body_field in dependant.body:
            by_name.setdefault(body_field.name, body_field)
    fields = list(by_name.values())
    if not fields:
        return None
    if len(fields) == 1 and not sig.embed_body:
        only = fields[0]
        info = _with_default(only.info, only.required, only.default)
        return _Field(_documented_type(only), info, "validation", only.alias)
    # Several body values (or embed=True): one model named after the operation, as FastAPI does.
    definitions: dict[str, Any] = {}
    for f in fields:
        info = _with_default(copy.copy(f.info), f.required, f.default)
        definitions[f.name] = (_documented_type(f), info)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = create_model(f"Body_{_unique_id(route)}", **definitions)
    default = ... if any(f.required for f in fields) else None
    if any(isinstance(f.info, params.File) for f in fields):
        return _BodyModel(model, params.File(default))
    if any(isinstance(f.info, params.Form) for f in fields):
        return _BodyModel(model, params.Form(default))
    # JSON values that all name one other media type are documented under it.
    media_types = {f.info.media_type for f in fields if isinstance(f.info, params.Body)}
    if len(media_types) == 1:
        return _BodyModel(model, params.Body(default, media_type=media_types.pop()))
    return _BodyModel(model, params.Body(default))


def _documented_type(body_field: BodyField) -> Any:
    documented = body_field.schema_annotation
    return documented if documented is not None else body_field.annotation


class _BodyModel(_Field):
    def __init__(self, model: type[BaseModel], info: FieldInfo) -> None:
        super().__init__(model, None, "validation", "body")
        self.info = info


def _schema(field: _Field, mapping: dict[Any, Any]) -> dict[str, Any]:
    schema: dict[str, Any] = copy.deepcopy(mapping[(id(field), field.mode)])
    if "$ref" not in schema:
        schema["title"] = field.title or field.alias.title().replace("_", " ")
    return schema


def _definitions(all_fields: list[_Field]) -> tuple[dict[Any, Any], dict[str, Any]]:
    generator = _SchemaGenerator(ref_template=REF_TEMPLATE)
    inputs = [(id(f), f.mode, f.adapter.core_schema) for f in all_fields]
    mapping, definitions = generator.generate_definitions(inputs=inputs)
    for item in definitions.values():
        if "description" in item:
            item["description"] = item["description"].split("\f")[0]
    # Keyed by pydantic's DefsRef, a NewType of str.
    return mapping, dict(cast("dict[str, Any]", definitions))


def _parameters(route_fields: _RouteFields, mapping: dict[Any, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for spec, field in route_fields.params:
        info = spec.info
        if not getattr(info, "include_in_schema", True):
            continue
        parameter: dict[str, Any] = {
            "name": spec.name or field.alias,
            "in": spec.source,
            "required": spec.required,
            "schema": _schema(field, mapping),
        }
        if info.description:
            parameter["description"] = info.description
        _add_examples(parameter, info)
        if getattr(info, "deprecated", None):
            parameter["deprecated"] = True
        out.append(parameter)
    by_key = {(p["in"], p["name"]): p for p in out}
    # A required definition of a parameter wins over an optional one of the same name.
    by_key.update({(p["in"], p["name"]): p for p in out if p.get("required")})
    return list(by_key.values())


def _request_body(field: _Field, mapping: dict[Any, Any]) -> dict[str, Any]:
    info = field.info
    body: dict[str, Any] = {}
    required = info.is_required() if info is not None else True
    if required:
        body["required"] = True
    content: dict[str, Any] = {"schema": _schema(field, mapping)}
    _add_examples(content, info)
    media_type = getattr(info, "media_type", "application/json")
    body["content"] = {media_type: content}
    return body


def _add_examples(target: dict[str, Any], info: Any) -> None:
    """``openapi_examples``, else the deprecated singular ``example=``, as FastAPI writes them."""
    examples = getattr(info, "openapi_examples", None)
    example = getattr(info, "example", _Unset)
    if examples:
        target["examples"] = jsonable_encoder(examples)
    elif example is not _Unset:
        target["example"] = jsonable_encoder(example)


def _default_status(response_class: Any) -> str:
    parameter = inspect.signature(response_class.__init__).parameters.get("status_code")
    return str(parameter.default) if parameter is not None and isinstance(parameter.default, int) else "200"


def _operation(
    route_fields: _RouteFields,
    method: str,
    mapping: dict[Any, Any],
    defs: dict[str, Any],
    security_schemes: dict[str, Any],
    operation_ids: set[str],
) -> dict[str, Any]:
    route = route_fields.route
    operation: dict[str, Any] = {}
    if route.tags:
        operation["tags"] = route.tags
    operation["summary"] = generate_operation_summary(route=route, method=method)
    if route.description:
        operation["description"] = route.description
    operation["operationId"] = operation_id = route.operation_id or _unique_id(route)
    if operation_id in operation_ids:
        _warn_duplicate(operation_id, route.endpoint)
    operation_ids.add(operation_id)
    if route.deprecated:
        operation["deprecated"] = route.deprecated
    merged: dict[str, list[str]] = {}
    for scheme, scopes in route_fields.security:
        security_schemes[scheme.scheme_name] = jsonable_encoder(scheme.model, by_alias=True, exclude_none=True)
        names = merged.setdefault(scheme.scheme_name, [])
        names += [scope for scope in scopes if scope not in names]
    if merged:
        operation["security"] = [{name: scopes} for name, scopes in merged.items()]
    parameters = _parameters(route_fields, mapping)
    if parameters:
        operation["parameters"] = parameters
    if method in METHODS_WITH_BODY and route_fields.body is not None:
        operation["requestBody"] = _request_body(route_fields.body, mapping)
    if getattr(route, "callbacks", None):
        operation["callbacks"] = _callbacks(route_fields, mapping, operation_ids)
    response_class = route.response_class
    status = str(route.status_code) if route.status_code is not None else _default_status(response_class)
    responses = operation.setdefault("responses", {})
    responses.setdefault(status, {})["description"] = route.response_description
    media_type = getattr(response_class, "media_type", None)
    stream_mode = getattr(getattr(route, "stream", None), "mode", None)
    if not is_body_allowed_for_status_code(route.status_code):
        pass
    elif stream_mode in ("jsonl", "sse"):
        responses[status].setdefault("content", {}).update(_stream_content(stream_mode, route_fields, mapping))
    elif media_type:
        schema: dict[str, Any] = {"type": "string"}
        # Starlette's JSONResponse, as FastAPI checks: a route may name Starlette's class itself.
        if isinstance(response_class, type) and issubclass(response_class, starlette.responses.JSONResponse):
            schema = _schema(route_fields.response, mapping) if route_fields.response is not None else {}
        responses[status].setdefault("content", {}).setdefault(media_type, {})["schema"] = schema
    for code, extra in (route.responses or {}).items():
        processed = copy.deepcopy(extra)
        processed.pop("model", None)
        key = str(code).upper()
        key = "default" if key == "DEFAULT" else key
        target = responses.setdefault(key, {})
        field = route_fields.extra_responses.get(code)
        if field is not None:
            schema = processed.setdefault("content", {}).setdefault(media_type or "application/json", {})
            _deep_update(schema.setdefault("schema", {}), _schema(field, mapping))
        status_text = status_code_ranges.get(str(code).upper()) or http.client.responses.get(int(code))
        description = processed.get("description") or target.get("description") or status_text
        _deep_update(target, processed)
        target["description"] = description or "Additional Response"
    if (route_fields.params or route_fields.body is not None) and not any(
        k in responses for k in ("422", "4XX", "default")
    ):
        responses["422"] = {
            "description": "Validation Error",
            "content": {"application/json": {"schema": {"$ref": REF_PREFIX + "HTTPValidationError"}}},
        }
        defs.setdefault("ValidationError", validation_error_definition)
        defs.setdefault("HTTPValidationError", validation_error_response_definition)
    openapi_extra = getattr(route, "openapi_extra", None)
    if openapi_extra:
        _deep_update(operation, openapi_extra)
    return operation


def _stream_content(mode: str, route_fields: _RouteFields, mapping: dict[Any, Any]) -> dict[str, Any]:
    """A generator route's response content: each JSON Lines item, or each SSE event (its data
    the item as JSON when the items are typed), as an OpenAPI 3.2 ``itemSchema``."""
    item = route_fields.stream_item
    item_schema = _schema(item, mapping) if item is not None else None
    if mode == "jsonl":
        return {"application/jsonl": {"itemSchema": item_schema or {}}}
    event = copy.deepcopy(SSE_EVENT_SCHEMA)
    if item_schema is not None:
        event["required"] = ["data"]
        event["properties"]["data"] = {
            "type": "string",
            "contentMediaType": "application/json",
            "contentSchema": item_schema,
        }
    return {"text/event-stream": {"itemSchema": event}}


def _warn_duplicate(operation_id: str, endpoint: Any) -> None:
    message = (
        f"Duplicate Operation ID {operation_id} for function {getattr(endpoint, '__name__', '<unnamed_endpoint>')}"
    )
    file_name = getattr(endpoint, "__globals__", {}).get("__file__")
    if file_name:
        message += f" at {file_name}"
    warnings.warn(message, stacklevel=1)


def _callbacks(route_fields: _RouteFields, mapping: dict[Any, Any], operation_ids: set[str]) -> dict[str, Any]:
    """The operation's ``callbacks``: ``{name: {path as written: path item}}``. The path stays raw
    (a runtime expression like ``{$request.body.url}``). As in FastAPI, the components a callback
    needs (its 422 models, its security schemes) are dropped: throwaway dicts collect them."""
    out: dict[str, Any] = {}
    for callback, fields in route_fields.callbacks:
        item = _path_item(fields, mapping, {}, {}, operation_ids) if fields is not None else {}
        out[callback.name] = {callback.path: item}
    return out


def _path_item(
    route_fields: _RouteFields,
    mapping: dict[Any, Any],
    defs: dict[str, Any],
    security_schemes: dict[str, Any],
    operation_ids: set[str],
) -> dict[str, Any]:
    """One route's operations, by lower-case method; ``operation_ids`` collects their ids, to
    warn about one used twice in the document."""
    return {
        method.lower(): _operation(route_fields, method, mapping, defs, security_schemes, operation_ids)
        for method in route_fields.route.methods_list
    }


def _path_items(
    documented: list[_RouteFields],
    mapping: dict[Any, Any],
    defs: dict[str, Any],
    security_schemes: dict[str, Any],
    operation_ids: set[str],
) -> dict[str, dict[str, Any]]:
    """``paths`` (or ``webhooks``): the routes' operations under each path as OpenAPI writes it."""
    items: dict[str, dict[str, Any]] = {}
    for route_fields in documented:
        path = path_format(route_fields.route.path)
        items.setdefault(path, {}).update(_path_item(route_fields, mapping, defs, security_schemes, operation_ids))
    return items


def _deep_update(main: dict[Any, Any], update: dict[Any, Any]) -> None:
    for key, value in update.items():
        if isinstance(main.get(key), dict) and isinstance(value, dict):
            _deep_update(main[key], value)
        elif isinstance(main.get(key), list) and isinstance(value, list):
            main[key] = main[key] + value
        else:
            main[key] = value


def get_openapi(
    *,
    title: str,
    version: str,
    openapi_version: str = "3.1.0",
    summary: str | None = None,
    description: str | None = None,
    routes: Sequence[Any],
    webhooks: Sequence[Any] | None = None,
    tags: list[dict[str, Any]] | None = None,
    servers: list[dict[str, Any]] | None = None,
    terms_of_service: str | None = None,
    contact: dict[str, Any] | None = None,
    license_info: dict[str, Any] | None = None,
    external_docs: dict[str, Any] | None = None,
    **_: Any,
) -> dict[str, Any]:
    info: dict[str, Any] = {"title": title, "version": version}
    if summary:
        info["summary"] = summary
    if description:
        info["description"] = description
    if terms_of_service:
        info["termsOfService"] = terms_of_service
    if contact:
        info["contact"] = contact
    if license_info:
        info["license"] = license_info
    output: dict[str, Any] = {"openapi": openapi_version, "info": info}
    if servers:
        output["servers"] = servers
    from ..routing import effective_routes

    # Included routers and route contexts as the routes they serve (FastAPI 0.141's include model).
    routes = effective_routes(routes)
    # Path operations only (as FastAPI): Starlette's plain routes and mounts are not documented.
    documented = [_RouteFields(r) for r in routes if isinstance(r, APIRoute) and r.include_in_schema]
    # Webhooks are documented like routes (their models in components too) but under `webhooks`.
    webhooks = effective_routes(webhooks or [])
    documented_webhooks = [_RouteFields(r) for r in webhooks if getattr(r, "include_in_schema", True)]
    all_fields = [f for rf in documented + documented_webhooks for f in rf.fields()]
    mapping, definitions = _definitions(all_fields) if all_fields else ({}, {})
    security_schemes: dict[str, Any] = {}
    operation_ids: set[str] = set()
    paths = _path_items(documented, mapping, definitions, security_schemes, operation_ids)
    webhook_paths = _path_items(documented_webhooks, mapping, definitions, security_schemes, operation_ids)
    components: dict[str, Any] = {}
    if security_schemes:
        components["securitySchemes"] = security_schemes
    if definitions:
        components["schemas"] = {k: definitions[k] for k in sorted(definitions)}
    # The order of FastAPI's OpenAPI model's fields, which its document follows.
    output["paths"] = paths
    if webhook_paths:
        output["webhooks"] = webhook_paths
    if components:
        output["components"] = components
    if tags:
        output["tags"] = tags
    if external_docs:
        output["externalDocs"] = external_docs
    document = jsonable_encoder(output, by_alias=True, exclude_none=True)
    _normalise_urls(document)
    return document  # type: ignore[no-any-return]


_URL = TypeAdapter(AnyUrl)


def _normalise_urls(document: dict[str, Any]) -> None:
    """URLs the OpenAPI models type as URLs are written normalised, as FastAPI's models write them
    (``https://example.com`` becomes ``https://example.com/``)."""

    def fix(holder: Any) -> None:
        if isinstance(holder, dict) and isinstance(holder.get("url"), str):
            holder["url"] = str(_URL.validate_python(holder["url"]))

    info = document.get("info", {})
    fix(info.get("contact"))
    fix(info.get("license"))
    fix(document.get("externalDocs"))
    for tag in document.get("tags", []):
        fix(tag.get("externalDocs"))


__getattr__ = refuse(
    "fastapi.openapi.utils",
    [
        "generate_operation_id",
        "get_fields_from_routes",
        "get_openapi_operation_metadata",
        "get_openapi_operation_request_body",
        "get_openapi_path",
    ],
    "it is planned (FastAPI internals of the document generator)",
)
