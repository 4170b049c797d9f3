"""Exceptions a handler raises to shape the answer, and the validation errors the core raises."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import starlette.exceptions
from pydantic import BaseModel


class HTTPException(starlette.exceptions.HTTPException):
    """Answer with ``status_code`` and ``{"detail": detail}`` (and ``headers``): Starlette's, so
    that handlers registered for Starlette's HTTPException catch it, as they catch FastAPI's."""

    def __init__(self, status_code: int, detail: Any = None, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(status_code=status_code, detail=detail, headers=headers)


#: Ours, and Starlette's (its handler catches both, as in FastAPI). The last one is what
#: Starlette's own parts raise (the router for unknown paths, StaticFiles).
HTTP_EXCEPTIONS: tuple[type[starlette.exceptions.HTTPException], ...] = (
    HTTPException,
    starlette.exceptions.HTTPException,
)
STARLETTE_HTTP_EXCEPTION: Any = starlette.exceptions.HTTPException


class ValidationException(Exception):
    """Validation errors; ``endpoint_ctx`` (function, path, file, line) says where, in ``str()``."""

    def __init__(self, errors: Sequence[Any], *, endpoint_ctx: Mapping[str, Any] | None = None) -> None:
        self._errors = list(errors)
        self.set_endpoint_ctx(endpoint_ctx)

    def set_endpoint_ctx(self, endpoint_ctx: Mapping[str, Any] | None) -> None:
        """Say where the error came from (the core attaches it once the error is raised)."""
        self.endpoint_ctx = endpoint_ctx
        ctx = endpoint_ctx or {}
        self.endpoint_function = ctx.get("function")
        self.endpoint_path = ctx.get("path")
        self.endpoint_file = ctx.get("file")
        self.endpoint_line = ctx.get("line")

    def errors(self) -> list[Any]:
        return self._errors

    def _endpoint_lines(self) -> list[str]:
        if self.endpoint_file and self.endpoint_line and self.endpoint_function:
            lines = [f'  File "{self.endpoint_file}", line {self.endpoint_line}, in {self.endpoint_function}']
            if self.endpoint_path:
                lines.append(f"    {self.endpoint_path}")
            return lines
        return [f"  Endpoint: {self.endpoint_path}"] if self.endpoint_path else []

    def __str__(self) -> str:
        lines = [f"{len(self._errors)} validation error{'s' if len(self._errors) != 1 else ''}:"]
        lines += [f"  {e}" for e in self._errors]
        where = self._endpoint_lines()
        if where:
            lines += ["", *where]  # a blank line before it, as FastAPI prints it
        return "\n".join(lines)


class RequestValidationError(ValidationException):
    """Invalid request input: answered with 422 and FastAPI's error body."""

    def __init__(
        self, errors: Sequence[Any], *, body: Any = None, endpoint_ctx: Mapping[str, Any] | None = None
    ) -> None:
        super().__init__(errors, endpoint_ctx=endpoint_ctx)
        self.body = body


class ResponseValidationError(ValidationException):
    """The handler's return value does not fit its response_model: answered with 500."""

    def __init__(
        self, errors: Sequence[Any], *, body: Any = None, endpoint_ctx: Mapping[str, Any] | None = None
    ) -> None:
        super().__init__(errors, endpoint_ctx=endpoint_ctx)
        self.body = body


class FastAPIError(RuntimeError):
    """A usage error in the application's own definition (FastAPI's name, kept for imports)."""


TurboAPIError = FastAPIError


class InvalidParameterError(FastAPIError, AssertionError):
    """A handler's or a dependency's parameter that cannot be served (a list as a path parameter,
    a default in ``Annotated``...). Also an ``AssertionError``: what FastAPI raises in these cases."""


class DependencyScopeError(FastAPIError):
    """A dependency's ``scope`` conflicts with one of its sub-dependencies."""


class FastAPIDeprecationWarning(UserWarning):
    """A deprecated FastAPI feature was used."""


class PydanticV1NotSupportedError(FastAPIError):
    """A pydantic v1 model was used (FastAPI 0.141 and turboapi need pydantic v2)."""


class WebSocketException(starlette.exceptions.WebSocketException):
    """Close the WebSocket with ``code`` and ``reason`` (Starlette's, as FastAPI's)."""


class WebSocketRequestValidationError(ValidationException):
    def __init__(self, errors: Sequence[Any], *, endpoint_ctx: Mapping[str, Any] | None = None) -> None:
        super().__init__(errors, endpoint_ctx=endpoint_ctx)


class EndpointContext(dict):  # type: ignore[type-arg]
    """Where an error came from (function, path, file, line), as FastAPI attaches to validation errors."""


_ENDPOINT_CONTEXTS: dict[Any, dict[str, Any]] = {}


def endpoint_context(func: Any, path: str | None = None) -> EndpointContext:
    """``func``'s file, first line and name (looked up once per function), and ``path``
    ("GET /items/{id}", "WS /ws"): what FastAPI puts in a validation error's ``endpoint_ctx``.
    Only built when an error is raised."""
    key = id(func)
    found = _ENDPOINT_CONTEXTS.get(key)
    if found is None or found.get("_func") is not func:
        import inspect

        found = {"_func": func}
        try:
            if (source_file := inspect.getsourcefile(func)) is not None:
                found["file"] = source_file
            found["line"] = inspect.getsourcelines(func)[1]
            if (name := getattr(func, "__name__", None)) is not None:
                found["function"] = name
        except Exception:
            found = {"_func": func}
        _ENDPOINT_CONTEXTS[key] = found
    ctx = EndpointContext((k, v) for k, v in found.items() if k != "_func")
    if path:
        ctx["path"] = path
    return ctx


class RequestErrorModel(BaseModel):
    pass


class WebSocketErrorModel(BaseModel):
    pass
