"""The pump of a streaming response: on a loop shard, it takes the chunks of the response's
iterator and hands them to the core's body writer, waiting while the client is slow.

The core starts it (``start``) once the response's headers are on their way. The client going
away cancels the pump's task: an async generator sees ``CancelledError`` at its ``await`` and its
``finally`` runs; a sync iterator is closed once the ``next()`` running in a thread returns. The
response's background and the request's after-work (``yield`` dependencies' exits) run when the
stream has ended, as in FastAPI.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import logging
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator, Generator, Iterable, Iterator
from typing import Any, get_args, get_origin

from pydantic import TypeAdapter

from . import background, sse
from .concurrency import iterate_in_threadpool
from .contract import SendOutcome
from .dependencies import validate
from .encoders import jsonable_encoder
from .exceptions import ResponseValidationError, endpoint_context
from .responses import SendsItself, StreamingResponse, encode_chunk
from .sse import EventSourceResponse, ServerSentEvent, format_sse_event

logger = logging.getLogger("turboapi.error")

# BodyWriter.send's answers, as plain ints (compared per chunk).
SENT, FULL, GONE = int(SendOutcome.SENT), int(SendOutcome.FULL), int(SendOutcome.GONE)

#: The pumps running, so that their tasks are not garbage-collected mid-stream.
_running: set[asyncio.Task[None]] = set()


def start(response: Any, writer: Any) -> None:
    """Called by the core on the loop thread of the shard the writer belongs to."""
    task = asyncio.get_running_loop().create_task(_pump(response, writer))
    _running.add(task)
    task.add_done_callback(_running.discard)


async def _pump(response: Any, writer: Any) -> None:
    loop = asyncio.get_running_loop()
    chunks = sent_by_itself(response) if isinstance(response, SendsItself) else response.body_iterator
    charset = getattr(response, "charset", "utf-8")
    error: BaseException | None = None
    try:
        # Registered from inside the task, so a cancel (the client left) always finds it past
        # this point and the finally runs; one cancelled before its first step would skip it.
        if not writer.set_task(asyncio.current_task()):
            return  # already gone: only close the iterator and run the after-work
        async for item in chunks:
            chunk = encode_chunk(item, charset)
            state = writer.send(chunk)
            while state == FULL:
                ready = loop.create_future()
                if writer.wait_writable(ready):
                    await ready
                state = writer.send(chunk)
            if state == GONE:
                break
            await asyncio.sleep(0)  # a checkpoint: a fast generator must not starve the loop
    except asyncio.CancelledError:
        pass  # the client went away (or the server is stopping): nobody reads any more
    except Exception as exc:
        error = exc
        if not getattr(exc, "_turboapi_reported", False):
            logger.error("Exception in a streaming response's iterator", exc_info=exc)
    finally:
        try:
            aclose = getattr(chunks, "aclose", None)
            if aclose is not None:
                await aclose()
        except Exception as exc:  # a generator whose cleanup raises: logged, the stream still ends
            logger.error("Exception closing a streaming response's iterator", exc_info=exc)
        # (background, after-work). Annotated: mypy reads `*work` of type Any as filling every parameter.
        work: tuple[Any, Any] | None = writer.take_after()
        if work is not None:
            background.start(*work, loop)
        if error is None:
            writer.finish()
        else:
            writer.fail(error)


_END: Any = object()


async def sent_by_itself(response: Any) -> AsyncIterator[bytes]:
    """The body a ``SendsItself`` response sends by its ASGI ``__call__``, chunk by chunk. The
    core has sent its ``status_code`` and ``raw_headers``: a ``http.response.start`` saying
    otherwise is an error naming the class, not a silently different answer. ``receive`` says
    ``http.disconnect`` once the body is complete; the client leaving cancels the pump, and so
    the call."""
    status, headers = response.status_code, [(bytes(k).lower(), bytes(v)) for k, v in response.raw_headers]
    # The core runs the background after the stream, as a server would after the call.
    response.background = None
    chunks: asyncio.Queue[Any] = asyncio.Queue()
    complete = asyncio.Event()

    async def receive() -> dict[str, Any]:
        await complete.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        kind = message["type"]
        if kind == "http.response.start":
            sent = [(bytes(k).lower(), bytes(v)) for k, v in message.get("headers", [])]
            if message.get("status") != status or sent != headers:
                raise RuntimeError(
                    f"{type(response).__name__} started with another status or headers than its status_code and "
                    "raw_headers, which turboapi had sent; set them on the response before it is returned"
                )
        elif kind == "http.response.body":
            body = message.get("body", b"")
            if body:
                await chunks.put(bytes(body))
            if not message.get("more_body", False):
                complete.set()

    async def call() -> None:
        try:
            scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "headers": []}
            await response(scope, receive, send)
        finally:
            await chunks.put(_END)

    task = asyncio.get_running_loop().create_task(call())
    try:
        while (chunk := await chunks.get()) is not _END:
            yield chunk
        await task  # its error, if it failed
    finally:
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


# -- generator routes (FastAPI 0.141): a route whose endpoint yields streams its items ---------------

#: Return annotations whose first argument is the item type (``AsyncIterable[Item]``...).
STREAM_ORIGINS = frozenset({AsyncIterable, AsyncIterator, AsyncGenerator, Iterable, Iterator, Generator})


def is_generator_function(fn: Any) -> bool:
    call = fn if inspect.isfunction(fn) or inspect.ismethod(fn) else getattr(fn, "__call__", fn)  # noqa: B004
    return inspect.isgeneratorfunction(call) or inspect.isasyncgenfunction(call)


def stream_item_type(annotation: Any) -> Any | None:
    if get_origin(annotation) in STREAM_ORIGINS:
        args = get_args(annotation)
        return args[0] if args else Any
    return None


class GeneratorStream:
    """How a generator route answers: Server-Sent Events (``response_class=EventSourceResponse``),
    JSON Lines (no response class), or the chunks as they are (another response class). Items
    are validated and dumped by the return annotation's item type (``AsyncIterable[Item]``)."""

    def __init__(self, route: Any, item_type: Any | None) -> None:
        self.route = route
        response_class = route.response_class
        if isinstance(response_class, type) and issubclass(response_class, EventSourceResponse):
            self.mode = "sse"
        elif not route.custom_response_class:
            self.mode = "jsonl"
        else:
            self.mode = "raw"
        typed = (
            self.mode != "raw"
            and item_type is not None
            and not (isinstance(item_type, type) and issubclass(item_type, ServerSentEvent))
        )
        #: The type each item is validated and documented as (None: items go out as they are).
        self.item_type = item_type if typed else None
        self.item_adapter = TypeAdapter(item_type) if typed else None  # type: ignore[arg-type]  # typed: not None

    def response(self, items: Any, status: int, sub: Any) -> Any:
        source = items if isinstance(items, AsyncIterable) else iterate_in_threadpool(items)
        if self.mode == "sse":
            response = StreamingResponse(
                _sse(source, self._sse_event), status_code=status, media_type="text/event-stream"
            )
            response.headers["Cache-Control"] = "no-cache"
            response.headers["X-Accel-Buffering"] = "no"  # nginx: do not buffer the events
        elif self.mode == "jsonl":
            response = StreamingResponse(
                _mapped(source, lambda item: self._data(item) + b"\n"),
                status_code=status,
                media_type="application/jsonl",
            )
        else:
            response = self.route.response_class(content=items, status_code=status)
        if sub is not None:
            response.raw_headers.extend(sub.raw_headers)
        return response

    def _data(self, item: Any) -> bytes:
        """An item as JSON: validated and dumped by the item type if the route has one."""
        if self.item_adapter is None:
            return json.dumps(jsonable_encoder(item)).encode("utf-8")
        value, errors = validate(self.item_adapter, item, ("response",))
        if errors:
            route = self.route
            where = endpoint_context(route.endpoint, f"{route.methods_list[0]} {route.path}")
            raise ResponseValidationError(errors, body=item, endpoint_ctx=where)
        return self.item_adapter.dump_json(value, **self.route._dump_options)

    def _sse_event(self, item: Any) -> bytes:
        if not isinstance(item, ServerSentEvent):
            return format_sse_event(data_str=self._data(item).decode("utf-8"))
        if item.raw_data is not None:
            data: str | None = item.raw_data
        elif item.data is not None:
            dump = getattr(item.data, "model_dump_json", None)
            data = dump() if dump is not None else json.dumps(jsonable_encoder(item.data))
        else:
            data = None
        return format_sse_event(data_str=data, event=item.event, id=item.id, retry=item.retry, comment=item.comment)


async def _mapped(items: AsyncIterable[Any], encode: Any) -> AsyncIterator[bytes]:
    async for item in items:
        yield encode(item)


class _Failed:
    def __init__(self, error: BaseException) -> None:
        self.error = error


_DONE: Any = object()


def _ping_interval() -> float:
    """``sse._PING_INTERVAL``, or ``routing._PING_INTERVAL`` if that one was set lower: FastAPI
    reads the interval from ``fastapi.routing``, where tests patch it."""
    from . import routing

    return min(sse._PING_INTERVAL, getattr(routing, "_PING_INTERVAL", sse._PING_INTERVAL))


async def _sse(items: AsyncIterable[Any], encode: Any) -> AsyncIterator[bytes]:
    """The events, with a keep-alive comment whenever the generator has been quiet for
    ``sse._PING_INTERVAL`` seconds. A producer task pulls from the generator, so a ping never
    interrupts it (a timeout around the generator itself would cancel it)."""
    ready: asyncio.Queue[Any] = asyncio.Queue(maxsize=1)

    async def produce() -> None:
        try:
            async for item in items:
                await ready.put(encode(item))
        except Exception as exc:
            await ready.put(_Failed(exc))
        else:
            await ready.put(_DONE)

    producer = asyncio.ensure_future(produce())
    try:
        while True:
            try:
                event = await asyncio.wait_for(ready.get(), timeout=_ping_interval())
            except TimeoutError:
                yield sse.KEEPALIVE_COMMENT
                continue
            if event is _DONE:
                return
            if isinstance(event, _Failed):
                raise event.error
            yield event
    finally:
        producer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await producer
        aclose = getattr(items, "aclose", None)
        if aclose is not None:
            await aclose()
