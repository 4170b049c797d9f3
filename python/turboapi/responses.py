"""Response classes: Starlette's (as FastAPI's are), with the core's ways in.

The core sends ``body`` as it is (no copy for large bodies) with ``raw_headers``. ``JSONResponse``
renders through the app's encoder (orjson by default), and ``StreamingResponse`` iterates a sync
iterator on a worker thread of its own; both are subclasses of Starlette's classes, so
``isinstance`` checks and Starlette's ASGI ``__call__`` work as with FastAPI.

Every response class is importable from here. ``StreamingResponse``, ``FileResponse`` and
``EventSourceResponse`` are defined in modules of their own (``streamingresponse``,
``fileresponse``, ``sse``), below this one.
"""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator
from typing import Any

import starlette.responses
from starlette.responses import HTMLResponse as HTMLResponse
from starlette.responses import PlainTextResponse as PlainTextResponse
from starlette.responses import RedirectResponse as RedirectResponse
from starlette.responses import Response as Response
from typing_extensions import deprecated

# Imported here, not in render: an import inside a function warns (ImportWarning) when an
# import alias has replaced this module's __spec__, as FastAPI's test suite's alias does.
from . import _json
from .encoders import jsonable_encoder
from .exceptions import FastAPIDeprecationWarning

# The response classes with a module of their own, gathered here as Starlette gathers its own
# (and as FastAPI's responses module re-exports them). Those modules sit below this one: none of
# them imports it.
from .fileresponse import FileResponse as FileResponse
from .sse import EventSourceResponse as EventSourceResponse
from .streamingresponse import StreamingResponse as StreamingResponse

try:
    import ujson
except ImportError:  # optional, as in FastAPI
    ujson = None
try:
    import orjson
except ImportError:  # pragma: no cover - turboapi's own JSON needs it
    orjson = None  # type: ignore[assignment]


class JSONResponse(starlette.responses.JSONResponse):
    """JSON through the app's encoder (orjson by default); FastAPI's jsonable types accepted."""

    def render(self, content: Any) -> bytes:
        return _json.dumps(content)


_JSON_CLASS_DEPRECATED = (
    "{name} is deprecated, FastAPI now serializes data directly to JSON bytes via Pydantic when a return type "
    "or response model is set, which is faster and doesn't need a custom response class. Read more in the "
    "FastAPI docs: https://fastapi.tiangolo.com/advanced/custom-response/#orjson-or-response-model "
    "and https://fastapi.tiangolo.com/tutorial/response-model/"
)


@deprecated(_JSON_CLASS_DEPRECATED.format(name="UJSONResponse"), category=FastAPIDeprecationWarning, stacklevel=2)
class UJSONResponse(JSONResponse):
    """JSON by ujson (installed separately). Deprecated in FastAPI 0.141: a return type or
    response model serializes through pydantic, faster and without a response class."""

    def render(self, content: Any) -> bytes:
        assert ujson is not None, "ujson must be installed to use UJSONResponse"
        # A route's raw return value may reach here (FastAPI encodes it first): ujson knows no models.
        return ujson.dumps(jsonable_encoder(content), ensure_ascii=False).encode("utf-8")  # type: ignore[no-any-return]


@deprecated(_JSON_CLASS_DEPRECATED.format(name="ORJSONResponse"), category=FastAPIDeprecationWarning, stacklevel=2)
class ORJSONResponse(JSONResponse):
    """JSON by orjson, with non-string keys and numpy values. Deprecated in FastAPI 0.141, as
    ``UJSONResponse``."""

    def render(self, content: Any) -> bytes:
        assert orjson is not None, "orjson must be installed to use ORJSONResponse"
        # encode_default: a route's raw return value may reach here (FastAPI encodes it first).
        return orjson.dumps(content, _json.encode_default, orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY)


def sub_response() -> Response:
    """The ``response: Response`` a handler or dependency takes to set headers, cookies and a
    status: no status until one is set, and no Content-Length (the real response has its own)."""
    response = Response()
    del response.headers["content-length"]
    response.status_code = None  # type: ignore[assignment]
    return response


class ReplyResponse(Response):
    """A reply of the core handed to the app's middleware (``call_next``'s answer): its body is
    also ``body_iterator``, as Starlette's ``call_next`` answers are streams."""

    @property
    def body_iterator(self) -> AsyncIterator[bytes]:
        async def once() -> AsyncIterator[bytes]:
            yield bytes(self.body)

        return once()


def encode_chunk(chunk: Any, charset: str) -> bytes:
    """A streamed chunk as bytes: bytes-like as they are, ``str`` in the response's charset;
    anything else is an error naming its type (a stream of ints must not become NUL bytes)."""
    if isinstance(chunk, bytes):
        return chunk
    if isinstance(chunk, (bytearray, memoryview)):
        return bytes(chunk)
    if isinstance(chunk, str):
        return chunk.encode(charset)
    raise TypeError(f"a streaming response's iterator yielded {type(chunk).__name__}, not str or bytes")


class SendsItself(abc.ABC):  # noqa: B024 - an ABC for its isinstance hook, not for methods
    """A Response whose class sends it by its own ASGI ``__call__`` (sse-starlette's
    ``EventSourceResponse``, a library's own streaming class): the core cannot read it as status,
    headers and ``body``; it sends the status and headers and streams what ``__call__`` sends
    (``streaming.start``). ``isinstance`` answers by the class, once per class."""

    @classmethod
    def __subclasshook__(cls, subclass: type) -> bool:
        if not issubclass(subclass, Response):
            return NotImplemented  # type: ignore[no-any-return]  # the ABC protocol's "no opinion", not a bool
        return subclass.__call__ not in _sent_by_the_core()


def _sent_by_the_core() -> frozenset[Any]:
    """The ``__call__``s of the Response classes whose ASGI answer the core reproduces from status,
    headers and body (or the stream, or the file)."""
    calls = {
        Response.__call__,
        starlette.responses.StreamingResponse.__call__,
        starlette.responses.FileResponse.__call__,
    }
    try:
        from starlette.templating import _TemplateResponse  # it also sends a debug message, for test clients

        calls.add(_TemplateResponse.__call__)
    except ImportError:  # pragma: no cover - jinja2 missing
        pass
    return frozenset(calls)


#: What the core takes as a Response, a stream, and Starlette's file response.
RESPONSE_TYPES: tuple[type[Response], ...] = (Response,)
STREAM_TYPES: tuple[type[starlette.responses.StreamingResponse], ...] = (starlette.responses.StreamingResponse,)
STARLETTE_FILE_TYPES: tuple[type, ...] = (starlette.responses.FileResponse,)
