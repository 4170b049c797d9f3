"""FastAPI's TestClient, the reference side of every differential test, and ``ASGIReference``, for
the cases where Starlette's TestClient does not send what a real server would.

starlette.testclient warns once, at import, when it falls back to httpx instead of httpx2; only
that message is silenced, and only for the import (the pytest config turns warnings into errors).
"""

from __future__ import annotations

import asyncio
import warnings
from typing import Any

import httpx
import pytest

pytest.importorskip("fastapi")

with warnings.catch_warnings():
    warnings.filterwarnings(
        "ignore",
        message=r"Using `httpx` with `starlette\.testclient` is deprecated",
        category=UserWarning,
    )
    from fastapi.testclient import TestClient as FastAPITestClient


class ASGIReference:
    """A FastAPI app through httpx's ASGITransport, a sync facade over its own event loop. It hands
    the app what uvicorn would: header bytes as sent (Starlette's TestClient re-encodes each value
    as UTF-8, so a latin-1 0xA0 reaches the app as "Â\xa0") and the path decoded once (Starlette's
    TestClient decodes it twice: ``%2541`` becomes ``A``, not ``%41``)."""

    def __init__(self, app: Any) -> None:
        self._loop = asyncio.new_event_loop()
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        self._client = httpx.AsyncClient(transport=transport, base_url="http://testserver")

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        return self._loop.run_until_complete(self._client.request(method, url, **kwargs))

    def get(self, url: str, headers: Any = None) -> httpx.Response:
        return self.request("GET", url, headers=headers)

    def post(self, url: str, content: bytes, headers: Any) -> httpx.Response:
        return self.request("POST", url, content=content, headers=headers)

    def close(self) -> None:
        try:
            self._loop.run_until_complete(self._client.aclose())
            self._loop.run_until_complete(self._loop.shutdown_default_executor())
        finally:
            self._loop.close()


__all__ = ["ASGIReference", "FastAPITestClient"]
