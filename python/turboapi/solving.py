"""The Python half of a request's arguments: what the core could not settle by itself.

- ``solve_simple``: a route without dependencies. The core has already put every value it could
  coerce into the handler's kwargs; here pydantic validates the rest, the body is read
  (``bodies.ReceivedBody``), and a ``RequestValidationError`` with FastAPI's errors is raised when
  anything is invalid.
- What the dependency runner (``dependencyrunner``, for routes with dependencies) shares with it:
  a parameter read in Python (``python_raw``), a parameter model's input (``model_input``), and
  the endpoint context a request's validation error carries (``locate``).
"""

from __future__ import annotations

from typing import Any

from .bodies import ReceivedBody, fields_of_model, is_json_content_type
from .dependencies import (
    EndpointSignature,
    ParamSpec,
    _strip_annotated,
    _without_none,
    fresh_default,
    is_sequence,
    missing_error,
)
from .exceptions import RequestValidationError, endpoint_context
from .requests import request_for
from .responses import sub_response
from .websockets import WebSocket


# -- shared with the dependency runner -----------------------------------------------------------
def _source(spec: ParamSpec, request: Any) -> Any:
    if spec.source == "query":
        return request.query_params
    if spec.source == "header":
        return request.headers
    if spec.source == "cookie":
        return request.cookies
    return request.path_params


def python_raw(spec: ParamSpec, request: Any) -> Any:
    """A parameter's raw value read in Python (dependency overrides compiled at request time)."""
    source = _source(spec, request)
    if spec.is_list and hasattr(source, "getlist"):
        return source.getlist(spec.key) or None
    return source.get(spec.key)


def model_input(spec: ParamSpec, request: Any) -> dict[str, Any]:
    """The dict a parameter model validates (FastAPI's request_params_to_args for one model)."""
    source = _source(spec, request)
    multi = hasattr(source, "getlist")
    model = _without_none(_strip_annotated(spec.annotation))
    default_convert = getattr(spec.info, "convert_underscores", True)
    out: dict[str, Any] = {}
    processed: set[str] = set()
    for f in fields_of_model(model):
        alias = None
        if spec.source == "header" and getattr(f.info, "convert_underscores", default_convert):
            alias = f.alias.replace("_", "-") if f.alias == f.name else f.alias
        key = alias or f.alias
        sequence = is_sequence(f.annotation)
        value = source.getlist(key) if sequence and multi else source.get(key)
        if value is None or (sequence and len(value) == 0):
            value = None if f.required else fresh_default(f.default)
        if value is not None:
            out[f.alias] = value
        processed.add(key)
        processed.add(f.alias)
    for key in list(source.keys()):
        if key not in processed:
            if multi:
                items = source.getlist(key)
                out[key] = items[0] if len(items) == 1 else items
            else:
                out[key] = source.get(key)
    return out


def locate(exc: RequestValidationError, route: Any, data: Any, connection: Any = None) -> RequestValidationError:
    """FastAPI's ``endpoint_ctx`` on a request's validation error: the handler's file, line and
    name, and "GET /items/{id}" (built only when there is an error)."""
    if exc.endpoint_ctx is None:
        method = "WS" if isinstance(connection, WebSocket) else getattr(data, "method", None)
        root = (getattr(data, "root_path", None) or "").rstrip("/")
        path = f"{method} {root}{route.path}" if method and getattr(route, "path", None) else None
        exc.set_endpoint_ctx(endpoint_context(route.endpoint, path))
    return exc


# -- routes without dependencies ------------------------------------------------------------------
def solve_simple(
    route: Any, kwargs: dict[str, Any], pending: list[tuple[int, Any]], data: Any, connection: Any = None
) -> None:
    """Finish the handler's arguments; raise RequestValidationError with FastAPI's errors.
    ``connection``: the WebSocket of a WebSocket route (else a Request is made when needed)."""
    sig: EndpointSignature = route.signature
    only = route.single_json_body
    tried_fast = only is not None and not pending
    if tried_fast:
        # The common case (one JSON model, nothing else pending): pydantic-core validates the
        # bytes; any failure takes the general path below, which gives FastAPI's exact errors.
        raw = data.body
        if raw and is_json_content_type(data.content_type or ""):
            try:
                kwargs[only.name] = only.adapter.validate_json(raw)
            except ValueError:
                pass
            else:
                _special_params(route, sig, kwargs, data, connection)
                return
    body: ReceivedBody | None = None
    body_values: dict[str, Any] = {}
    body_errors: list[dict[str, Any]] = []
    if sig.body:
        # FastAPI reads the body first: a JSON syntax error is the only error reported.
        try:
            body = ReceivedBody(sig, data, strict=route.strict_json, prevalidate=not tried_fast)
        except RequestValidationError as exc:
            locate(exc, route, data, connection)
            raise
        body_errors = body.values(sig.body, sig.embed_body, body_values)
    errors: list[dict[str, Any]] = []
    if route.has_model_params:
        request = connection or request_for(data, route._application, route)
        raw_by_index = dict(pending)
        todo = [(i, raw_by_index.get(i)) for i, spec in enumerate(sig.params) if spec.model or i in raw_by_index]
    else:
        request = connection
        todo = pending
    for index, raw in todo:
        spec = sig.params[index]
        if spec.model:
            raw = model_input(spec, request)
        elif raw is None:
            errors.append(missing_error(spec.loc))
            continue
        value, errs = spec.validate(raw)
        if errs:
            errors.extend(errs)
        else:
            kwargs[spec.name] = value
    errors.extend(body_errors)
    if errors:
        # Not bound to a local: the traceback holds this frame, which would hold the error (a cycle
        # keeping the request alive until the garbage collector runs).
        raise locate(
            RequestValidationError(errors, body=body.for_errors() if body is not None else None),
            route,
            data,
            connection,
        )
    kwargs.update(body_values)
    _special_params(route, sig, kwargs, data, request)
    if sig.request_param and body is not None and body.form is not None:
        kwargs[sig.request_param]._form = body.form  # request.form() is the form the fields came from


def _special_params(route: Any, sig: EndpointSignature, kwargs: dict[str, Any], data: Any, request: Any) -> None:
    if sig.request_param:
        connection = request or request_for(data, route._application, route)
        for name in sig.dependant.connection_params:
            kwargs[name] = connection
    if sig.response_param:
        # The handler may set headers, cookies and a status on it; `serialize` merges them.
        kwargs[sig.response_param] = sub_response()
