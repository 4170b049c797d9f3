"""The Python half of a request: what the core could not settle by itself.

- ``solve_simple``: a route without dependencies. The core has already put every value it could
  coerce into the handler's kwargs; here pydantic validates the rest, the body is read, and a
  ``RequestValidationError`` with FastAPI's errors is raised when anything is invalid.
- ``RequestScope`` + ``DependencyRunner``: a route with dependencies. The core extracted the flat
  parameter list of the whole dependency tree; here the tree is walked as FastAPI's
  ``solve_dependencies`` does (sub-dependencies first, each validated and called in order, cached
  per request, ``yield`` dependencies entered on exit stacks), then the handler runs and the
  response is built. Exit stacks and background tasks run after the reply has been sent.
"""

from __future__ import annotations

import asyncio
import email.message
import json
from contextlib import AsyncExitStack, ExitStack, asynccontextmanager, contextmanager
from typing import Any

from pydantic import BaseModel

from . import params
from .background import BackgroundTasks
from .concurrency import ThreadedContext, run_to_end_in_thread
from .datastructures import FormData, UploadFile, close_form
from .dependencies import (
    SYNC_KINDS,
    BodyField,
    Dependant,
    EndpointSignature,
    ParamSpec,
    fresh_default,
    get_dependant,
    is_sequence,
    missing_error,
    validate,
)
from .exceptions import FastAPIError, HTTPException, RequestValidationError, endpoint_context
from .requests import request_for
from .responses import RESPONSE_TYPES, Response, sub_response

NOT_AWAITED = (
    "Response not awaited. There's a high chance that the application code is raising an exception and a "
    "dependency with yield has a block with a bare except, or a block with except Exception, and is not "
    "raising the exception again. Read more about it in the docs: "
    "https://fastapi.tiangolo.com/tutorial/dependencies/dependencies-with-yield/#dependencies-with-yield-and-except"
)


# -- bodies -------------------------------------------------------------------------------------
def is_json_content_type(content_type: str) -> bool:
    if content_type == "application/json" or content_type.startswith("application/json;"):
        return True
    message = email.message.Message()
    message["content-type"] = content_type
    if message.get_content_maintype() != "application":
        return False
    subtype = message.get_content_subtype()
    return subtype == "json" or subtype.endswith("+json")


def read_json_body(raw: bytes, content_type: str | None) -> Any:
    """FastAPI's reading of a JSON body: parsed only with a JSON content type, else the raw bytes."""
    if not raw:
        return None
    if not content_type or not is_json_content_type(content_type):
        return raw
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        error = {"type": "json_invalid", "loc": ("body", exc.pos), "msg": "JSON decode error", "input": {}}
        error["ctx"] = {"error": exc.msg}
        raise RequestValidationError([error], body=exc.doc) from exc
    except Exception as exc:
        raise HTTPException(status_code=400, detail="There was an error parsing the body") from exc


class Body:
    """The request body as read once, before any parameter is validated (as FastAPI reads it)."""

    __slots__ = ("raw", "content_type", "value", "prevalidated", "form")

    def __init__(self, sig: EndpointSignature, data: Any, *, prevalidate: bool = True) -> None:
        """``prevalidate=False``: the caller already tried the one-model fast path, and it failed."""
        path = data.body_path
        self.content_type: str | None = data.content_type
        self.value: Any = None
        #: The single body parameter, validated straight from the JSON bytes by pydantic-core.
        self.prevalidated: dict[str, Any] | None = None
        self.form: FormData | None = None
        fields = sig.body
        if isinstance(fields[0].info, params.Form):
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
        self.value = read_json_body(self.raw, self.content_type)

    @classmethod
    def absent(cls) -> Body:
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
                extract = _model_body_fields(fields[0].annotation)
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
        errors: list[dict[str, Any]] = []
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


def _model_body_fields(model: type[BaseModel]) -> list[Any]:
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
        if value is None or (isinstance(f.info, params.Form) and value == "") or (sequence and len(value) == 0):
            value = None if f.required else fresh_default(f.default)
        elif isinstance(f.info, params.File) and _wants_bytes(f.annotation):
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
    from .dependencies import _strip_annotated, _union_args

    tp = _strip_annotated(tp)
    if (args := _union_args(tp)) is not None:
        return any(_wants_bytes(a) for a in args if a is not type(None))
    if tp is bytes:
        return True
    from typing import get_args, get_origin

    return get_origin(tp) in (list, set, tuple, frozenset) and any(_wants_bytes(a) for a in get_args(tp))


def _read_upload(upload: UploadFile) -> bytes:
    upload.file.seek(0)
    return upload.file.read()


# -- parameters read by Python ------------------------------------------------------------------
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
    model = spec.annotation
    from .dependencies import _strip_annotated, _without_none

    model = _without_none(_strip_annotated(model))
    default_convert = getattr(spec.info, "convert_underscores", True)
    out: dict[str, Any] = {}
    processed: set[str] = set()
    for f in _model_body_fields(model):
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
    body: Body | None = None
    body_values: dict[str, Any] = {}
    body_errors: list[dict[str, Any]] = []
    if sig.body:
        # FastAPI reads the body first: a JSON syntax error is the only error reported.
        try:
            body = Body(sig, data, prevalidate=not tried_fast)
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


def locate(exc: RequestValidationError, route: Any, data: Any, connection: Any = None) -> RequestValidationError:
    """FastAPI's ``endpoint_ctx`` on a request's validation error: the handler's file, line and
    name, and "GET /items/{id}" (built only when there is an error)."""
    if exc.endpoint_ctx is None:
        from .websockets import WebSocket

        method = "WS" if isinstance(connection, WebSocket) else getattr(data, "method", None)
        root = (getattr(data, "root_path", None) or "").rstrip("/")
        path = f"{method} {root}{route.path}" if method and getattr(route, "path", None) else None
        exc.set_endpoint_ctx(endpoint_context(route.endpoint, path))
    return exc


def _special_params(route: Any, sig: EndpointSignature, kwargs: dict[str, Any], data: Any, request: Any) -> None:
    if sig.request_param:
        connection = request or request_for(data, route._application, route)
        for name in sig.dependant.connection_params:
            kwargs[name] = connection
    if sig.response_param:
        # The handler may set headers, cookies and a status on it; `serialize` merges them.
        kwargs[sig.response_param] = sub_response()


# -- routes with dependencies ---------------------------------------------------------------------
class RequestScope:
    """One request's state while its dependency tree is solved."""

    __slots__ = (
        "slots",
        "pending",
        "data",
        "app",
        "body",
        "cache",
        "background",
        "response",
        "stack",
        "function_stack",
        "after",
        "_request",
        "route",
    )

    def __init__(
        self, slots: dict[str, Any], pending: list[tuple[int, Any]], data: Any, app: Any, route: Any = None
    ) -> None:
        self.route = route
        self.slots = slots
        self.pending = dict(pending)
        self.data = data
        self.app = app
        self.body: Body | None = None
        self.cache: dict[Any, Any] = {}
        self.background: Any = None
        self.response: Any = None
        self.stack: Any = None
        self.function_stack: Any = None
        self.after: After | None = None
        self._request: Any = None

    @property
    def request(self) -> Any:
        if self._request is None:
            self._request = request_for(self.data, self.app, self.route)
            if self.body is not None and self.body.form is not None:
                self._request._form = self.body.form  # request.form() is the form the fields came from
        return self._request

    @property
    def overrides(self) -> dict[Any, Any]:
        return getattr(self.app, "dependency_overrides", None) or {}

    def error_body(self) -> Any:
        return self.body.for_errors() if self.body is not None else None


class After:
    """What runs after the reply went out, registered on the request (never on the response, which
    a middleware may replace and a handler may share between requests): the yield dependencies'
    exits (FastAPI's request-scoped exit stack closes after the response is sent), then the form's
    files. The response's own background runs just before it."""

    def __init__(self, stack: Any, body: Body | None, runner: asyncio.Runner | None = None):
        self.stack = stack
        self.body = body
        self.runner = runner

    def run_sync(self) -> None:
        """On a pool thread (a sync route)."""
        if self.runner is not None:
            # The route ran on a private loop (an async override): its exits belong to that loop.
            try:
                self.runner.run(self._arun())
            finally:
                self.runner.close()
            return
        try:
            self.stack.close()
        finally:
            if self.body is not None:
                self.body.close()

    async def __call__(self) -> None:
        """On a loop shard (an async route, or any route under middleware)."""
        if self.runner is not None or isinstance(self.stack, ExitStack):
            # A sync route's exits: they may block, so they run on a thread.
            await run_to_end_in_thread(self.run_sync)
            return
        await self._arun()

    async def _arun(self) -> None:
        try:
            await self.stack.aclose()
        finally:
            if self.body is not None:
                self.body.close()


class DependencyRunner:
    """Runs a route with dependencies: solve the tree, call the handler, build the response."""

    def __init__(self, route: Any) -> None:
        self.route = route
        self.root: Dependant = route.signature.dependant
        self.path_names = route.path_param_names
        self._overridden: dict[tuple[int, Any], Dependant] = {}

    # -- overrides ---------------------------------------------------------------------------
    def effective(self, scope: RequestScope, dep: Dependant) -> Dependant:
        overrides = scope.overrides
        if not overrides or dep.call not in overrides:
            return dep
        replacement = overrides[dep.call]
        key = (id(dep), replacement)
        compiled = self._overridden.get(key)
        if compiled is None:
            compiled = get_dependant(
                replacement,
                self.path_names,
                flat=None,
                name=dep.name,
                use_cache=dep.use_cache,
                scope=dep.scope,
                parent_scopes=dep.scopes,
            )
            self._overridden[key] = compiled
        return compiled

    def needs_async(self, scope: RequestScope, dep: Dependant) -> bool:
        return any(
            (use := self.effective(scope, sub)).kind not in SYNC_KINDS or self.needs_async(scope, use)
            for sub in dep.dependencies
        )

    # -- own parameters ------------------------------------------------------------------------
    def own_values(self, scope: RequestScope, dep: Dependant, values: dict[str, Any], errors: list[Any]) -> None:
        for spec in dep.params:
            if spec.model:
                value, errs = spec.validate(model_input(spec, scope.request))
            else:
                if dep.python_extract:
                    raw = python_raw(spec, scope.request)
                    if raw is None and not spec.required:
                        values[spec.arg] = fresh_default(spec.default)
                        continue
                elif spec.name in scope.slots:
                    values[spec.arg] = scope.slots[spec.name]
                    continue
                else:
                    raw = scope.pending.get(spec.slot)
                if raw is None:
                    errors.append(missing_error(spec.loc))
                    continue
                value, errs = spec.validate(raw)
            if errs:
                errors.extend(errs)
            else:
                values[spec.arg] = value
        if dep.body:
            if scope.body is None:
                # An override declaring a body on a route that has none: nothing was sent for it.
                scope.body = Body.absent()
            errors.extend(scope.body.values(dep.body, self.route.signature.embed_body, values))
        for name in dep.connection_params:
            values[name] = scope.request
        if dep.response_param:
            values[dep.response_param] = self.sub_response(scope)
        if dep.background_param:
            if scope.background is None:
                scope.background = BackgroundTasks()
            values[dep.background_param] = scope.background
        if dep.scopes_param:
            from .security.oauth2 import SecurityScopes

            values[dep.scopes_param] = SecurityScopes(scopes=dep.scopes)

    @staticmethod
    def sub_response(scope: RequestScope) -> Any:
        if scope.response is None:
            scope.response = sub_response()
        return scope.response

    def read_body(self, scope: RequestScope) -> Body | None:
        if not self.route.signature.body:
            return None
        try:
            return Body(self.route.signature, scope.data)
        except RequestValidationError as exc:
            locate(exc, self.route, scope.data)
            raise

    # -- the walk, sync ----------------------------------------------------------------------
    def solve_sync(self, scope: RequestScope, dep: Dependant) -> tuple[dict[str, Any], list[Any]]:
        values: dict[str, Any] = {}
        errors: list[Any] = []
        for sub in dep.dependencies:
            use = self.effective(scope, sub)
            sub_values, sub_errors = self.solve_sync(scope, use)
            if sub_errors:
                errors.extend(sub_errors)
                continue
            key = sub.cache_key
            if sub.use_cache and key in scope.cache:
                solved = scope.cache[key]
            elif use.kind == "gen":
                stack = scope.function_stack if sub.scope == "function" else scope.stack
                solved = stack.enter_context(contextmanager(use.call)(**sub_values))
            else:
                solved = use.call(**sub_values)
            if sub.name is not None:
                values[sub.name] = solved
            scope.cache.setdefault(key, solved)
        self.own_values(scope, dep, values, errors)
        return values, errors

    def run_sync(self, scope: RequestScope) -> Any:
        """The handler of a route whose tree is all sync, on a pool thread."""
        if scope.overrides and self.needs_async(scope, self.root):
            # An override made the tree async: solve it on a private event loop.
            runner = asyncio.Runner()
            try:
                response = runner.run(self.run_async(scope))
            except BaseException:
                runner.close()
                raise
            if scope.after is not None:
                scope.after.runner = runner
            else:
                runner.close()
            return response
        route = self.route
        stack = scope.stack = ExitStack()
        response = None
        try:
            scope.body = self.read_body(scope)
            with ExitStack() as function_stack:
                scope.function_stack = function_stack
                values, errors = self.solve_sync(scope, self.root)
                if errors:
                    raise locate(RequestValidationError(errors, body=scope.error_body()), route, scope.data)
                result = route.endpoint(**values)
                response = self.respond(result, scope)
            if response is None:
                raise FastAPIError(NOT_AWAITED)
        except BaseException as exc:
            if scope.body is not None:
                scope.body.close()
            if stack.__exit__(type(exc), exc, exc.__traceback__):
                raise FastAPIError(NOT_AWAITED) from exc
            raise
        return self.attach_after(response, scope)

    # -- the walk, async ---------------------------------------------------------------------
    async def solve_async(self, scope: RequestScope, dep: Dependant) -> tuple[dict[str, Any], list[Any]]:
        values: dict[str, Any] = {}
        errors: list[Any] = []
        for sub in dep.dependencies:
            use = self.effective(scope, sub)
            sub_values, sub_errors = await self.solve_async(scope, use)
            if sub_errors:
                errors.extend(sub_errors)
                continue
            key = sub.cache_key
            if sub.use_cache and key in scope.cache:
                solved = scope.cache[key]
            elif use.kind in ("gen", "asyncgen"):
                stack = scope.function_stack if sub.scope == "function" else scope.stack
                if use.kind == "asyncgen":
                    cm: Any = asynccontextmanager(use.call)(**sub_values)
                else:
                    cm = ThreadedContext(contextmanager(use.call)(**sub_values))
                solved = await stack.enter_async_context(cm)
            elif use.kind == "async":
                solved = await use.call(**sub_values)
            else:
                solved = await run_to_end_in_thread(use.call, **sub_values)
            if sub.name is not None:
                values[sub.name] = solved
            scope.cache.setdefault(key, solved)
        self.own_values(scope, dep, values, errors)
        return values, errors

    async def run_async(self, scope: RequestScope) -> Any:
        """The handler of a route with an async part, as a coroutine on its loop shard."""
        route = self.route
        stack = scope.stack = AsyncExitStack()
        response = None
        try:
            scope.body = self.read_body(scope)
            async with AsyncExitStack() as function_stack:
                scope.function_stack = function_stack
                values, errors = await self.solve_async(scope, self.root)
                if errors:
                    raise locate(RequestValidationError(errors, body=scope.error_body()), route, scope.data)
                if self.root.kind == "async":
                    result = await route.endpoint(**values)
                else:
                    result = await run_to_end_in_thread(route.endpoint, **values)
                response = self.respond(result, scope)
            if response is None:
                raise FastAPIError(NOT_AWAITED)
        except BaseException as exc:
            if scope.body is not None:
                scope.body.close()
            if await stack.__aexit__(type(exc), exc, exc.__traceback__):
                raise FastAPIError(NOT_AWAITED) from exc
            raise
        return self.attach_after(response, scope)

    # -- the response --------------------------------------------------------------------------
    def respond(self, result: Any, scope: RequestScope) -> Any:
        if isinstance(result, RESPONSE_TYPES):
            if result.background is None:
                result.background = scope.background
            return result
        out = self.route.render(result, scope.response)
        if not isinstance(out, Response):
            status = (scope.response.status_code if scope.response is not None else None) or (
                self.route.status_code_or_default
            )
            out = Response(out, status_code=status, media_type="application/json")
            if scope.response is not None:
                out.raw_headers.extend(scope.response.raw_headers)
        out.background = scope.background
        return out

    @staticmethod
    def attach_after(response: Any, scope: RequestScope) -> Any:
        if scope.stack._exit_callbacks or (scope.body is not None and scope.body.form is not None):
            scope.after = After(scope.stack, scope.body)
            scope.data.set_after(scope.after)
        return response
