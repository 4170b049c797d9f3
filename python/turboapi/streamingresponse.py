"""``StreamingResponse``: Starlette's, with a sync iterator stepped on turboapi's worker threads.

In a module of its own, below ``responses`` and ``sse``, because both build on it: ``responses``
gathers the response classes (as ``starlette.responses`` and ``fastapi.responses`` do, this one
included), and ``sse.EventSourceResponse`` is a ``StreamingResponse``. How the core sends a stream
is ``turboapi.streaming``.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Mapping
from typing import Any

import starlette.responses

from .concurrency import iterate_in_threadpool


class StreamingResponse(starlette.responses.StreamingResponse):
    """A body from an iterator of ``bytes``/``str`` chunks (sync or async), sent as it comes, with
    backpressure from the socket (``turboapi.streaming``)."""

    def __init__(
        self,
        content: Any,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        media_type: str | None = None,
        background: Any = None,
    ) -> None:
        super().__init__(content, status_code, headers, media_type, background)
        if not isinstance(content, AsyncIterable):
            # A sync iterator steps on turboapi's worker threads, stopping when the client leaves.
            self.body_iterator = iterate_in_threadpool(content)
