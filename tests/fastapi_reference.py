"""FastAPI's TestClient, the reference side of every differential test, and ``ASGIReference``, for
the cases where Starlette's TestClient does not send what a real server would.

Also the helpers of the tests that build one small app with each framework and compare what each
framework's own TestClient observes: ``framework`` (the names an app is built from), ``Clients``
(the clients made, closed at the end), ``differential`` (FastAPI's observation, then turboapi's,
asserted equal) and ``both`` (an app built from each package, with its client).

starlette.testclient warns once, at import, when it falls back to httpx instead of httpx2; only
that message is silenced, and only for the import (the pytest config turns warnings into errors).
"""

from __future__ import annotations

import asyncio
import importlib
import types
import warnings
from collections.abc import Callable
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

import fastapi  # noqa: E402

import turboapi  # noqa: E402
from turboapi.testclient import TestClient as TurboTestClient  # noqa: E402


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


def framework(pkg: str) -> types.SimpleNamespace:
    """The names a differential test builds its app from, taken from ``fastapi`` or ``turboapi``."""
    top = importlib.import_module(pkg)
    return types.SimpleNamespace(
        pkg=pkg,
        FastAPI=top.FastAPI,
        Depends=top.Depends,
        Body=top.Body,
        File=top.File,
        UploadFile=top.UploadFile,
        BackgroundTasks=top.BackgroundTasks,
        responses=importlib.import_module(f"{pkg}.responses"),
        GZipMiddleware=importlib.import_module(f"{pkg}.middleware.gzip").GZipMiddleware,
    )


class Clients:
    """``clients(pkg, app, turbo=..., **kw)``: that framework's own TestClient for ``app``; every
    client made is closed when the ``with`` block ends. ``turbo`` holds settings only turboapi's
    client takes (e.g. ``sync_workers``)."""

    def __init__(self) -> None:
        self.made: list[Any] = []

    def __call__(self, pkg: str, app: Any, turbo: dict[str, Any] | None = None, **kw: Any) -> Any:
        client = FastAPITestClient(app, **kw) if pkg == "fastapi" else TurboTestClient(app, **kw, **(turbo or {}))
        self.made.append(client)
        return client

    def __enter__(self) -> Clients:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        for client in self.made:
            client.close()


def differential(observe: Callable[[str], Any]) -> Any:
    """Run ``observe`` for FastAPI then turboapi and assert the observations are equal."""
    ref = observe("fastapi")
    sut = observe("turboapi")
    assert sut == ref, f"turboapi differs from FastAPI\n  fastapi:  {ref!r}\n  turboapi: {sut!r}"
    return ref


def both(build: Callable[[types.ModuleType], Any]) -> dict[str, Any]:
    """``build(package)`` for ``fastapi`` and for ``turboapi``, each app with its framework's client."""
    clients = {"fastapi": FastAPITestClient, "turboapi": TurboTestClient}
    return {name: clients[name](build(module)) for name, module in (("fastapi", fastapi), ("turboapi", turboapi))}


__all__ = ["ASGIReference", "Clients", "FastAPITestClient", "both", "differential", "framework"]
