"""FastAPI's ``fastapi.dependencies.utils``: a callable's ``Dependant`` (its parameters as
``ModelField``s, by FastAPI's rules), and ``solve_dependencies``, which solves one for a Starlette
``Request`` or ``WebSocket`` as FastAPI does.

turboapi serves its routes from its own plan (``analysis``); these are for libraries that read a
route's parameters, add dependencies to it, or solve a dependant themselves. The rules that decide
what a parameter is (markers, ``Annotated``, defaults and their errors) are the analysis' own.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    AsyncIterator,
    Callable,
    Generator,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
)
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from copy import copy, deepcopy
from dataclasses import dataclass
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, Json
from pydantic.fields import FieldInfo
from starlette.background import BackgroundTasks as StarletteBackgroundTasks
from starlette.datastructures import FormData, Headers, ImmutableMultiDict, UploadFile
from starlette.requests import HTTPConnection, Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from typing_inspection.typing_objects import is_typealiastype

from .. import params
from .._compat import (
    ModelField,
    Undefined,
    create_body_model,
    evaluate_forwardref,
    field_annotation_is_scalar,
    field_annotation_is_sequence,
    get_cached_model_fields,
    get_missing_field_error,
    is_bytes_or_nonable_bytes_annotation,
    is_bytes_sequence_annotation,
    is_uploadfile_or_nonable_uploadfile_annotation,
    is_uploadfile_sequence_annotation,
    lenient_issubclass,
    serialize_sequence_value,
    value_is_sequence,
)
from ..exceptions import DependencyScopeError, FastAPIError
from .analysis import _analyze_param, _check_param, _DefaultFactory, _source_of, _strip_annotated, _validation_alias
from .models import Dependant, cache_key, call_kind, computed_scope, oauth_scopes
from .multipart_install import ensure_multipart_is_installed as ensure_multipart_is_installed
from .multipart_install import multipart_incorrect_install_error as multipart_incorrect_install_error
from .multipart_install import multipart_not_installed_error as multipart_not_installed_error

__all__ = [
    "Dependant",
    "ParamDetails",
    "SolvedDependency",
    "add_non_field_param_to_dependency",
    "add_param_to_fields",
    "analyze_param",
    "ensure_multipart_is_installed",
    "get_dependant",
    "get_flat_dependant",
    "get_flat_params",
    "get_parameterless_sub_dependant",
    "get_typed_annotation",
    "get_typed_return_annotation",
    "get_typed_signature",
    "is_union_of_base_models",
    "lenient_issubclass",
    "request_body_to_args",
    "request_params_to_args",
    "solve_dependencies",
]

#: Parameters of these types are given the request's objects, not read from it.
SPECIAL_TYPES = (Request, WebSocket, HTTPConnection, Response, StarletteBackgroundTasks)


# -- signatures ------------------------------------------------------------------------------------
def _signature(call: Callable[..., Any]) -> inspect.Signature:
    try:
        return inspect.signature(call, eval_str=True)
    except NameError:
        # An annotation imported under `if TYPE_CHECKING:`; left unresolved, as FastAPI leaves it.
        return inspect.signature(call)


def get_typed_annotation(annotation: Any, globalns: dict[str, Any]) -> Any:
    """A string annotation resolved in ``globalns`` (``"None"`` is None)."""
    if isinstance(annotation, str):
        annotation = evaluate_forwardref(annotation, globalns, globalns)
        if annotation is type(None):
            return None
    return annotation


def get_typed_signature(call: Callable[..., Any]) -> inspect.Signature:
    """``call``'s signature with its annotations resolved (return annotation left out)."""
    signature = _signature(call)
    globalns = getattr(inspect.unwrap(call), "__globals__", {})
    return inspect.Signature(
        [
            inspect.Parameter(
                name=p.name,
                kind=p.kind,
                default=p.default,
                annotation=get_typed_annotation(p.annotation, globalns),
            )
            for p in signature.parameters.values()
        ]
    )


def get_typed_return_annotation(call: Callable[..., Any]) -> Any:
    annotation = _signature(call).return_annotation
    if annotation is inspect.Signature.empty:
        return None
    return get_typed_annotation(annotation, getattr(inspect.unwrap(call), "__globals__", {}))


_STREAM_ORIGINS = {AsyncIterable, AsyncIterator, AsyncGenerator, Iterable, Iterator, Generator}


def get_stream_item_type(annotation: Any) -> Any | None:
    """The item type of ``Iterator[T]``-like annotations (``Any`` when unparametrised), else None."""
    if get_origin(annotation) in _STREAM_ORIGINS:
        args = get_args(annotation)
        return args[0] if args else Any
    return None


# -- dependants ------------------------------------------------------------------------------------
def get_path_param_names(path: str) -> set[str]:
    from ..utils import get_path_param_names as names

    return names(path)


@dataclass
class ParamDetails:
    type_annotation: Any
    depends: params.Depends | None
    field: ModelField | None


def analyze_param(*, param_name: str, annotation: Any, value: Any, is_path_param: bool) -> ParamDetails:
    """What one parameter is: a dependency, a special object (no field), or a field to read."""
    if is_typealiastype(annotation):
        annotation = annotation.__value__
    if annotation is inspect.Signature.empty:
        annotation = Any
    raw_default = Undefined if value is inspect.Signature.empty else value
    type_, marker, depends, default = _analyze_param(param_name, annotation, raw_default, is_path_param)
    bare = _strip_annotated(type_)
    if depends is not None:
        if depends.dependency is None:
            depends = dataclasses.replace(depends, dependency=bare)
        return ParamDetails(bare, depends, None)
    from ..security.oauth2 import SecurityScopes

    if lenient_issubclass(bare, (*SPECIAL_TYPES, SecurityScopes)):
        if marker is not None:
            raise FastAPIError(f"Cannot specify FastAPI annotation for type {bare!r}")
        return ParamDetails(bare, None, None)
    if marker is None:
        if is_path_param:
            marker, default = params.Path(), Undefined
        elif is_uploadfile_or_nonable_uploadfile_annotation(bare) or is_uploadfile_sequence_annotation(bare):
            marker = params.File()
        elif not field_annotation_is_scalar(bare):
            marker = params.Body()
        else:
            marker = params.Query()
    _check_param(param_name, type_, marker, is_path_param)
    if isinstance(marker, params.Form):
        ensure_multipart_is_installed()
    return ParamDetails(bare, None, _model_field(param_name, type_, marker, default))


def _model_field(name: str, type_: Any, marker: FieldInfo, default: Any) -> ModelField:
    info = copy(marker)
    try:
        merged = FieldInfo.from_annotation(type_)
        info.annotation, extra = merged.annotation, merged.metadata
    except Exception:
        info.annotation, extra = _strip_annotated(type_), []
    info.metadata = [*extra, *marker.metadata]
    if not isinstance(default, _DefaultFactory):
        info.default = default
    if isinstance(info, params.Param) and getattr(info, "in_", None) is None:
        info.in_ = params.ParamTypes.query
    if not info.alias and _source_of(info) == "header" and getattr(info, "convert_underscores", False):
        info.alias = name.replace("_", "-")
    else:
        info.alias = info.alias or name
    from ..utils import create_model_field

    return create_model_field(name=name, type_=type_, field_info=info)


def add_non_field_param_to_dependency(*, param_name: str, type_annotation: Any, dependant: Dependant) -> bool | None:
    """Record a Request/WebSocket/HTTPConnection/Response/BackgroundTasks/SecurityScopes parameter."""
    from ..security.oauth2 import SecurityScopes

    for cls, attribute in (
        (Request, "request_param_name"),
        (WebSocket, "websocket_param_name"),
        (HTTPConnection, "http_connection_param_name"),
        (Response, "response_param_name"),
        (StarletteBackgroundTasks, "background_tasks_param_name"),
        (SecurityScopes, "security_scopes_param_name"),
    ):
        if lenient_issubclass(type_annotation, cls):
            setattr(dependant, attribute, param_name)
            return True
    return None


def add_param_to_fields(*, field: ModelField, dependant: Dependant) -> None:
    source = _source_of(field.field_info)
    {
        "path": dependant.path_params,
        "query": dependant.query_params,
        "header": dependant.header_params,
        "cookie": dependant.cookie_params,
    }[source].append(field)


def get_dependant(
    *,
    path: str,
    call: Callable[..., Any],
    name: str | None = None,
    own_oauth_scopes: list[str] | None = None,
    parent_oauth_scopes: list[str] | None = None,
    use_cache: bool = True,
    scope: Literal["function", "request"] | None = None,
) -> Dependant:
    """``call``'s parameters and sub-dependencies, for a route at ``path``."""
    dependant = Dependant(
        call=call,
        name=name,
        path=path,
        use_cache=use_cache,
        scope=scope,
        own_oauth_scopes=own_oauth_scopes,
        parent_oauth_scopes=parent_oauth_scopes,
    )
    scopes = (parent_oauth_scopes or []) + (own_oauth_scopes or [])
    path_param_names = get_path_param_names(path)
    for param_name, param in get_typed_signature(call).parameters.items():
        if param.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
            continue
        details = analyze_param(
            param_name=param_name,
            annotation=param.annotation,
            value=param.default,
            is_path_param=param_name in path_param_names,
        )
        depends = details.depends
        if depends is not None:
            if (
                computed_scope(dependant) == "request"
                and depends.scope == "function"
                and (call_kind(dependant) in ("gen", "asyncgen"))
            ):
                raise DependencyScopeError(
                    f'The dependency "{getattr(call, "__name__", "<unnamed_callable>")}" has a scope of "request", '
                    'it cannot depend on dependencies with scope "function".'
                )
            assert depends.dependency is not None
            dependant.dependencies.append(
                get_dependant(
                    path=path,
                    call=depends.dependency,
                    name=param_name,
                    own_oauth_scopes=list(depends.scopes or []) if isinstance(depends, params.Security) else [],
                    parent_oauth_scopes=scopes,
                    use_cache=depends.use_cache,
                    scope=depends.scope,
                )
            )
        elif details.field is None:
            add_non_field_param_to_dependency(
                param_name=param_name, type_annotation=details.type_annotation, dependant=dependant
            )
        elif isinstance(details.field.field_info, params.Body):
            dependant.body_params.append(details.field)
        else:
            add_param_to_fields(field=details.field, dependant=dependant)
    return dependant


def get_parameterless_sub_dependant(*, depends: params.Depends, path: str) -> Dependant:
    """The dependant of a ``dependencies=[Depends(...)]`` entry (its value is not used)."""
    if not callable(depends.dependency):
        raise AssertionError("A parameter-less dependency must have a callable dependency")
    own = list(depends.scopes or []) if isinstance(depends, params.Security) else []
    return get_dependant(path=path, call=depends.dependency, scope=depends.scope, own_oauth_scopes=own)


def _walk(dependant: Dependant) -> Iterator[Dependant]:
    yield dependant
    for sub in dependant.dependencies:
        yield from _walk(sub)


def _get_flat_body_params(dependant: Dependant) -> list[ModelField]:
    return [f for d in _walk(dependant) for f in d.body_params]


def _get_flat_fields_from_params(fields: list[ModelField]) -> list[ModelField]:
    """A source read whole as one model counts as the model's fields."""
    if len(fields) == 1 and lenient_issubclass(fields[0].field_info.annotation, BaseModel):
        return get_cached_model_fields(fields[0].field_info.annotation)
    return fields


def _distinct(dependant: Dependant) -> Iterator[Dependant]:
    """The dependants of the tree, each cached value once (a dependency used twice counts once)."""
    seen: list[Any] = []
    for d in _walk(dependant):
        key = cache_key(d)
        if key not in seen:
            seen.append(key)
            yield d


def get_flat_params(dependant: Dependant) -> list[ModelField]:
    """Every path, query, header and cookie field of the tree, by source."""
    found = list(_distinct(dependant))
    out: list[ModelField] = []
    for source in ("path_params", "query_params", "header_params", "cookie_params"):
        out += _get_flat_fields_from_params([f for d in found for f in getattr(d, source)])
    return out


def get_flat_dependant(
    dependant: Dependant, *, skip_repeats: bool = False, visited: list[Any] | None = None
) -> Dependant:
    """One dependant holding the fields of the whole tree (FastAPI's helper before 0.120)."""
    walked = list(_distinct(dependant)) if skip_repeats else list(_walk(dependant))
    flat = Dependant(call=dependant.call, name=dependant.name, path=dependant.path, use_cache=dependant.use_cache)
    flat.own_oauth_scopes, flat.parent_oauth_scopes = dependant.own_oauth_scopes, dependant.parent_oauth_scopes
    for d in walked:
        for source in ("path_params", "query_params", "header_params", "cookie_params", "body_params"):
            getattr(flat, source).extend(getattr(d, source))
    return flat


def is_union_of_base_models(field_type: Any) -> bool:
    """``A | B`` where every member is a pydantic model."""
    import types

    if get_origin(field_type) not in (Union, types.UnionType):
        return False
    return all(lenient_issubclass(arg, BaseModel) for arg in get_args(field_type))


def _should_embed_body_fields(fields: list[ModelField]) -> bool:
    if not fields:
        return False
    if len({f.name for f in fields}) > 1:
        return True
    info = fields[0].field_info
    if getattr(info, "embed", None):
        return True
    return (
        isinstance(info, params.Form)
        and not lenient_issubclass(info.annotation, BaseModel)
        and not is_union_of_base_models(info.annotation)
    )


def _get_body_field(*, body_params: list[ModelField], name: str, embed_body_fields: bool) -> ModelField | None:
    """The request body as one field (for OpenAPI and to tell a form from JSON): the single body
    parameter, or a ``Body_<name>`` model of the embedded ones."""
    if not body_params:
        return None
    if not embed_body_fields:
        return body_params[0]
    model = create_body_model(fields=body_params, model_name="Body_" + name)
    kwargs: dict[str, Any] = {"annotation": model, "alias": "body"}
    if not any(f.field_info.is_required() for f in body_params):
        kwargs["default"] = None
    marker: type[params.Body]
    if any(isinstance(f.field_info, params.File) for f in body_params):
        marker = params.File
    elif any(isinstance(f.field_info, params.Form) for f in body_params):
        marker = params.Form
    else:
        marker = params.Body
        media_types = {f.field_info.media_type for f in body_params if isinstance(f.field_info, params.Body)}
        if len(media_types) == 1:
            kwargs["media_type"] = media_types.pop()
    from ..utils import create_model_field

    return create_model_field(name="body", type_=model, alias="body", field_info=marker(**kwargs))


def get_validation_alias(field: ModelField) -> str:
    return _validation_alias(field.field_info) or field.alias


# -- solving ---------------------------------------------------------------------------------------
@dataclass
class SolvedDependency:
    values: dict[str, Any]
    errors: list[Any]
    background_tasks: StarletteBackgroundTasks | None
    response: Response
    dependency_cache: dict[Any, Any]


def _stack(request: HTTPConnection, key: str) -> AsyncExitStack:
    stack = request.scope.get(key)
    if not isinstance(stack, AsyncExitStack):
        raise AssertionError(f"{key} not found in request scope")
    return stack


async def _solve_generator(*, dependant: Dependant, stack: AsyncExitStack, sub_values: dict[str, Any]) -> Any:
    from ..concurrency import contextmanager_in_threadpool

    assert dependant.call is not None
    if call_kind(dependant) == "asyncgen":
        return await stack.enter_async_context(asynccontextmanager(dependant.call)(**sub_values))
    return await stack.enter_async_context(contextmanager_in_threadpool(contextmanager(dependant.call)(**sub_values)))


async def solve_dependencies(
    *,
    request: Request | WebSocket,
    dependant: Dependant,
    body: dict[str, Any] | FormData | bytes | None = None,
    background_tasks: StarletteBackgroundTasks | None = None,
    response: Response | None = None,
    dependency_overrides_provider: Any | None = None,
    dependency_cache: dict[Any, Any] | None = None,
    async_exit_stack: AsyncExitStack,
    embed_body_fields: bool,
    _uses_scopes_cache: Any = None,
) -> SolvedDependency:
    """Solve ``dependant`` for ``request``: sub-dependencies first (each called once per cache key,
    ``yield`` ones entered on the scope's exit stacks), then its own parameters validated. Errors
    are collected, not raised. The request's scope must hold FastAPI's exit stacks
    (``fastapi_inner_astack``, ``fastapi_function_astack``), as FastAPI's ``request_response`` sets."""
    from ..background import BackgroundTasks
    from ..concurrency import run_in_threadpool
    from ..responses import sub_response
    from ..security.oauth2 import SecurityScopes

    request_stack = _stack(request, "fastapi_inner_astack")
    function_stack = _stack(request, "fastapi_function_astack")
    values: dict[str, Any] = {}
    errors: list[Any] = []
    if response is None:
        response = sub_response()
    if dependency_cache is None:
        dependency_cache = {}
    overrides = getattr(dependency_overrides_provider, "dependency_overrides", None) or {}
    for sub in dependant.dependencies:
        use = sub
        if overrides and sub.call in overrides:
            use = get_dependant(
                path=sub.path or "",
                call=overrides[sub.call],
                name=sub.name,
                parent_oauth_scopes=oauth_scopes(sub),
                scope=sub.scope,
            )
        solved = await solve_dependencies(
            request=request,
            dependant=use,
            body=body,
            background_tasks=background_tasks,
            response=response,
            dependency_overrides_provider=dependency_overrides_provider,
            dependency_cache=dependency_cache,
            async_exit_stack=async_exit_stack,
            embed_body_fields=embed_body_fields,
        )
        background_tasks = solved.background_tasks
        if solved.errors:
            errors.extend(solved.errors)
            continue
        key = cache_key(sub)
        kind = call_kind(use)
        assert use.call is not None
        if sub.use_cache and key in dependency_cache:
            value = dependency_cache[key]
        elif kind in ("gen", "asyncgen"):
            stack = function_stack if sub.scope == "function" else request_stack
            value = await _solve_generator(dependant=use, stack=stack, sub_values=solved.values)
        elif kind == "async":
            value = await use.call(**solved.values)
        else:
            value = await run_in_threadpool(use.call, **solved.values)
        if sub.name is not None:
            values[sub.name] = value
        dependency_cache.setdefault(key, value)
    for fields, received in (
        (dependant.path_params, request.path_params),
        (dependant.query_params, request.query_params),
        (dependant.header_params, request.headers),
        (dependant.cookie_params, request.cookies),
    ):
        source_values, source_errors = request_params_to_args(fields, received)
        values.update(source_values)
        errors += source_errors
    if dependant.body_params:
        body_values, body_errors = await request_body_to_args(
            body_fields=dependant.body_params, received_body=body, embed_body_fields=embed_body_fields
        )
        values.update(body_values)
        errors.extend(body_errors)
    if dependant.http_connection_param_name:
        values[dependant.http_connection_param_name] = request
    if dependant.request_param_name and isinstance(request, Request):
        values[dependant.request_param_name] = request
    elif dependant.websocket_param_name and isinstance(request, WebSocket):
        values[dependant.websocket_param_name] = request
    if dependant.background_tasks_param_name:
        if background_tasks is None:
            background_tasks = BackgroundTasks()
        values[dependant.background_tasks_param_name] = background_tasks
    if dependant.response_param_name:
        values[dependant.response_param_name] = response
    if dependant.security_scopes_param_name:
        values[dependant.security_scopes_param_name] = SecurityScopes(scopes=oauth_scopes(dependant))
    return SolvedDependency(values, errors, background_tasks, response, dependency_cache)


def _validate_value_with_model_field(
    *, field: ModelField, value: Any, values: dict[str, Any], loc: tuple[Any, ...]
) -> tuple[Any, list[Any]]:
    if value is None:
        if field.field_info.is_required():
            return None, [get_missing_field_error(loc)]
        return deepcopy(field.default), []
    return field.validate(value, values, loc=loc)


def _is_json_field(field: ModelField) -> bool:
    return any(type(item) is Json for item in field.field_info.metadata)


def _get_multidict_value(field: ModelField, values: Mapping[str, Any], alias: str | None = None) -> Any:
    """The field's raw value (all of them for a sequence); None when absent and required."""
    alias = alias or get_validation_alias(field)
    sequence = not _is_json_field(field) and field_annotation_is_sequence(field.field_info.annotation)
    if sequence and isinstance(values, (ImmutableMultiDict, Headers)):
        value = values.getlist(alias)
    else:
        value = values.get(alias, None)
    empty_form_value = isinstance(field.field_info, params.Form) and isinstance(value, str) and value == ""
    if (
        value is None
        or empty_form_value
        or (field_annotation_is_sequence(field.field_info.annotation) and len(value) == 0)
    ):
        return None if field.field_info.is_required() else deepcopy(field.default)
    return value


def request_params_to_args(
    fields: Sequence[ModelField], received_params: Mapping[str, Any]
) -> tuple[dict[str, Any], list[Any]]:
    """Validate one source's fields (a single model field validates the whole source)."""
    values: dict[str, Any] = {}
    errors: list[dict[str, Any]] = []
    if not fields:
        return values, errors
    first = fields[0]
    whole_source = len(fields) == 1 and lenient_issubclass(first.field_info.annotation, BaseModel)
    model: Any = first.field_info.annotation
    to_extract = get_cached_model_fields(model) if whole_source else list(fields)
    default_convert = getattr(first.field_info, "convert_underscores", True) if whole_source else True
    found: dict[str, Any] = {}
    processed: set[str] = set()
    for field in to_extract:
        alias = None
        if isinstance(received_params, Headers) and getattr(field.field_info, "convert_underscores", default_convert):
            alias = get_validation_alias(field)
            if alias == field.name:
                alias = alias.replace("_", "-")
        value = _get_multidict_value(field, received_params, alias=alias)
        if value is not None:
            found[get_validation_alias(field)] = value
        processed.add(alias or get_validation_alias(field))
        processed.add(get_validation_alias(field))
    for key in received_params.keys():
        if key not in processed:
            if isinstance(received_params, (ImmutableMultiDict, Headers)):
                items = received_params.getlist(key)
                found[key] = items[0] if len(items) == 1 else items
            else:
                found[key] = received_params.get(key)
    if whole_source:
        loc: tuple[Any, ...] = (_source_of(first.field_info),)
        value, errs = _validate_value_with_model_field(field=first, value=found, values=values, loc=loc)
        return {first.name: value}, errs
    for field in fields:
        value = _get_multidict_value(field, received_params)
        loc = (_source_of(field.field_info), get_validation_alias(field))
        validated, errs = _validate_value_with_model_field(field=field, value=value, values=values, loc=loc)
        if errs:
            errors.extend(errs)
        else:
            values[field.name] = validated
    return values, errors


async def _extract_form_body(body_fields: list[ModelField], received_body: FormData) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for field in body_fields:
        value = _get_multidict_value(field, received_body)
        info = field.field_info
        if isinstance(info, params.File) and is_bytes_or_nonable_bytes_annotation(info.annotation):
            if isinstance(value, UploadFile):
                value = await value.read()
        if isinstance(info, params.File) and is_bytes_sequence_annotation(info.annotation) and value_is_sequence(value):
            value = serialize_sequence_value(field=field, value=[await item.read() for item in value])
        if value is not None:
            values[get_validation_alias(field)] = value
    aliases = {get_validation_alias(field) for field in body_fields}
    for key in received_body.keys():
        if key not in aliases:
            items = received_body.getlist(key)
            values[key] = items[0] if len(items) == 1 else items
    return values


async def request_body_to_args(
    body_fields: list[ModelField], received_body: dict[str, Any] | FormData | bytes | None, embed_body_fields: bool
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Validate the body fields from the parsed body (JSON value, form or raw bytes)."""
    if not body_fields:
        raise AssertionError("request_body_to_args() should be called with fields")
    values: dict[str, Any] = {}
    errors: list[dict[str, Any]] = []
    first = body_fields[0]
    single = len(body_fields) == 1 and not embed_body_fields
    body: Any = received_body
    if isinstance(received_body, FormData):
        to_extract = body_fields
        if single and lenient_issubclass(first.field_info.annotation, BaseModel):
            to_extract = get_cached_model_fields(first.field_info.annotation)
        body = await _extract_form_body(to_extract, received_body)
    if single:
        value, errs = _validate_value_with_model_field(field=first, value=body, values=values, loc=("body",))
        return {first.name: value}, errs
    for field in body_fields:
        loc = ("body", get_validation_alias(field))
        value = None
        if body is not None and not isinstance(body, bytes):
            try:
                value = body.get(get_validation_alias(field))
            except AttributeError:  # the body is a list, not an object
                errors.append(get_missing_field_error(loc))
                continue
        validated, errs = _validate_value_with_model_field(field=field, value=value, values=values, loc=loc)
        if errs:
            errors.extend(errs)
        else:
            values[field.name] = validated
    return values, errors
