"""The default exception handlers, callable from custom ones as in FastAPI."""

from __future__ import annotations

import json
import math
from typing import Any

from .encoders import jsonable_encoder
from .exceptions import HTTPException, RequestValidationError, WebSocketRequestValidationError
from .responses import JSONResponse, Response


def is_body_allowed_for_status_code(status_code: int | str | None) -> bool:
    if status_code is None or status_code in {"default", "1XX", "2XX", "3XX", "4XX", "5XX"}:
        return True
    code = int(status_code)
    return not (code < 200 or code in {204, 205, 304})


def http_exception_response(exc: HTTPException) -> Response:
    headers = getattr(exc, "headers", None)
    if not is_body_allowed_for_status_code(exc.status_code):
        return Response(status_code=exc.status_code, headers=headers)
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=headers)


def validation_error_response(exc: RequestValidationError) -> Response:
    content = {"detail": jsonable_encoder(exc.errors())}
    try:
        return JSONResponse(status_code=422, content=content)
    except (TypeError, UnicodeEncodeError, ValueError):
        # The errors echo the client's input, which may hold lone surrogates ("\ud800" in its
        # JSON): UTF-8 cannot carry them, so they go out as JSON escapes. Or NaN and ±Infinity
        # (Python's json reads them): the stdlib encoder refuses them, so they go out as null, as
        # orjson writes them. FastAPI answers 500 to both: a client's bad input is a 4xx here.
        body = json.dumps(_finite(content), ensure_ascii=True, separators=(",", ":")).encode("ascii")
        return Response(body, status_code=422, media_type="application/json")


def _finite(value: Any) -> Any:
    """``value`` (jsonable_encoder's output) with NaN and ±Infinity as None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_finite(item) for item in value]
    return value


async def http_exception_handler(request: Any, exc: HTTPException) -> Response:
    return http_exception_response(exc)


# Response, not FastAPI's JSONResponse: errors holding lone surrogates go out as a plain Response.
async def request_validation_exception_handler(request: Any, exc: RequestValidationError) -> Response:
    return validation_error_response(exc)


async def websocket_request_validation_exception_handler(websocket: Any, exc: WebSocketRequestValidationError) -> None:
    # As FastAPI: the reason is the error list itself (a socket answers the handshake with 403;
    # the TestClient raises WebSocketDisconnect carrying it).
    await websocket.close(code=1008, reason=jsonable_encoder(exc.errors()))


#: The defaults' synchronous cores: the core calls these directly, with no coroutine to run.
SYNC_DEFAULTS: dict[Any, Any] = {
    http_exception_handler: http_exception_response,
    request_validation_exception_handler: validation_error_response,
}
