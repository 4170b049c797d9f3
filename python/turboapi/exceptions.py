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
HTTP_EXCEPTIONS: tuple[type[Exception], ...] = (HTTPException, starlette.exceptions.HTTPException)
STARLETTE_HTTP_EXCEPTION: Any = starlette.exceptions.HTTPException


class ValidationException(Exception):
    def __init__(self, errors: Sequence[Any]) -> None:
        self._errors = list(errors)

    def errors(self) -> list[Any]:
        return self._errors

    def __str__(self) -> str:
        lines = [f"{len(self._errors)} validation error{'s' if len(self._errors) != 1 else ''}:"]
        lines += [f"  {e}" for e in self._errors]
        return "\n".join(lines)


class RequestValidationError(ValidationException):
    """Invalid request input: answered with 422 and FastAPI's error body."""

    def __init__(self, errors: Sequence[Any], *, body: Any = None) -> None:
        super().__init__(errors)
        self.body = body


class ResponseValidationError(ValidationException):
    """The handler's return value does not fit its response_model: answered with 500."""

    def __init__(self, errors: Sequence[Any], *, body: Any = None) -> None:
        super().__init__(errors)
        self.body = body


class FastAPIError(RuntimeError):
    """A usage error in the application's own definition (FastAPI's name, kept for imports)."""


TurboAPIError = FastAPIError


class DependencyScopeError(FastAPIError):
    """A dependency's ``scope`` conflicts with one of its sub-dependencies."""


class FastAPIDeprecationWarning(UserWarning):
    """A deprecated FastAPI feature was used."""


class PydanticV1NotSupportedError(FastAPIError):
    """A pydantic v1 model was used (FastAPI 0.141 and turboapi need pydantic v2)."""


class WebSocketException(starlette.exceptions.WebSocketException):
    """Close the WebSocket with ``code`` and ``reason`` (Starlette's, as FastAPI's)."""


class WebSocketRequestValidationError(ValidationException):
    def __init__(self, errors: Sequence[Any]) -> None:
        super().__init__(errors)


class EndpointContext(dict):  # type: ignore[type-arg]
    """Where an error came from (function, path, file, line), as FastAPI attaches to validation errors."""


class RequestErrorModel(BaseModel):
    pass


class WebSocketErrorModel(BaseModel):
    pass
