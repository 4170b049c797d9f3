"""Server-Sent Events (FastAPI 0.141's ``fastapi.sse``): ``EventSourceResponse`` as a route's
``response_class`` makes a generator route stream its items as events; ``ServerSentEvent`` gives
an item the event's fields. The routing side is in ``turboapi.streaming``.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, Field, model_validator

from .streamingresponse import StreamingResponse

#: Sent when a generator has been quiet for ``_PING_INTERVAL`` seconds, so proxies keep the
#: connection (a comment line: ignored by EventSource clients).
KEEPALIVE_COMMENT = b": ping\n\n"
_PING_INTERVAL: float = 15.0

#: How OpenAPI documents one event of an SSE route (``itemSchema``); a typed route's ``data``
#: also names the item's JSON schema.
_SSE_EVENT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "data": {"type": "string"},
        "event": {"type": "string"},
        "id": {"type": "string"},
        "retry": {"type": "integer", "minimum": 0},
    },
}


class EventSourceResponse(StreamingResponse):
    """``text/event-stream``; as ``response_class`` of a generator route, it streams events."""

    media_type = "text/event-stream"


def _single_line(value: str | None, field: str) -> str | None:
    if value is not None and ("\r" in value or "\n" in value):
        raise ValueError(f"SSE '{field}' must be a single line")
    return value


def _event_line(value: str | None) -> str | None:
    return _single_line(value, "event")


def _id_line(value: str | None) -> str | None:
    if value is not None and "\0" in value:
        raise ValueError("SSE 'id' must not contain null characters")
    return _single_line(value, "id")


class ServerSentEvent(BaseModel):
    """One event: ``data`` is sent as JSON, ``raw_data`` as it is (one of them at most)."""

    data: Any = None
    raw_data: str | None = None
    event: Annotated[str | None, AfterValidator(_event_line)] = None
    id: Annotated[str | None, AfterValidator(_id_line)] = None
    retry: Annotated[int | None, Field(ge=0)] = None
    comment: str | None = None

    @model_validator(mode="after")
    def _data_or_raw_data(self) -> ServerSentEvent:
        if self.data is not None and self.raw_data is not None:
            raise ValueError(
                "Cannot set both 'data' and 'raw_data' on the same ServerSentEvent. Use 'data' for "
                "JSON-serialized payloads or 'raw_data' for pre-formatted strings."
            )
        return self


def _lines(value: str) -> list[str]:
    # The SSE line terminators: \r\n, \r and \n; a trailing empty line is kept.
    return value.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def format_sse_event(
    *,
    data_str: str | None = None,
    event: str | None = None,
    id: str | None = None,
    retry: int | None = None,
    comment: str | None = None,
) -> bytes:
    """One event on the wire: comment lines, ``event``, ``data`` lines, ``id``, ``retry``, a blank line."""
    lines = [f": {line}" for line in _lines(comment)] if comment is not None else []
    if event is not None:
        lines.append(f"event: {event}")
    if data_str is not None:
        lines += [f"data: {line}" for line in _lines(data_str)]
    if id is not None:
        lines.append(f"id: {id}")
    if retry is not None:
        lines.append(f"retry: {retry}")
    # Joined with a final empty line and an empty line: an event with no fields is a lone "\n".
    return "\n".join([*lines, "", ""]).encode("utf-8")
