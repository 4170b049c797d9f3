"""``TestClient``: Starlette's httpx-based sync client, with a transport that feeds each request
into the real Rust pipeline (routing, extraction, validation, serialisation) without a socket."""

from __future__ import annotations

import atexit
import os
import weakref
from typing import Any

import httpx

from . import background
from .serving import Runtime, Settings

_live: weakref.WeakSet[TestClient] = weakref.WeakSet()


class _EngineTransport(httpx.BaseTransport):
    def __init__(self, client: TestClient) -> None:
        self._client = weakref.ref(client)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        client = self._client()
        if client is None:
            raise RuntimeError("the TestClient was garbage-collected")
        runtime = client._ensure_runtime()
        target = request.url.raw_path.decode("ascii")
        headers = [(k.lower(), v) for k, v in request.headers.raw]
        status, out_headers, body, error = runtime.engine.handle(
            request.method, target, headers, request.read(), client.client_address, request.url.scheme
        )
        if error is not None and client.raise_server_exceptions:
            raise error
        # As with Starlette's TestClient, a response comes back once its background work is done.
        if not background.inside_background() and not background.pending.wait_idle(timeout=60):
            raise RuntimeError("background tasks still running after 60 s")
        # `stream=`: httpx adds no Content-Length of its own (a streamed reply has none, as in Starlette).
        return httpx.Response(status, headers=out_headers, stream=httpx.ByteStream(body), request=request)


class TestClient(httpx.Client):
    __test__ = False  # not a pytest test class

    def __init__(
        self,
        app: Any,
        base_url: str = "http://testserver",
        raise_server_exceptions: bool = True,
        root_path: str = "",
        cookies: Any = None,
        headers: dict[str, str] | None = None,
        follow_redirects: bool = True,
        client: tuple[str, int] = ("testclient", 50000),
        **settings: Any,
    ) -> None:
        self.app = app
        self.raise_server_exceptions = raise_server_exceptions
        self.client_address = client
        self.root_path = root_path
        self._settings = Settings.resolve({"sync_workers": 4, **settings}, env=os.environ)
        self._runtime: Runtime | None = None
        self._lifespan = False
        merged = {"user-agent": "testclient", **(headers or {})}
        super().__init__(
            base_url=base_url,
            transport=_EngineTransport(self),
            headers=merged,
            cookies=cookies,
            follow_redirects=follow_redirects,
        )
        _live.add(self)

    def _ensure_runtime(self) -> Runtime:
        if self._runtime is None:
            self._runtime = Runtime(self.app, self._settings, client_root_path=self.root_path)
            self._runtime.start()
        return self._runtime

    def __enter__(self) -> TestClient:
        runtime = self._ensure_runtime()
        runtime.startup()
        self._lifespan = True
        return self

    def __exit__(self, *args: Any) -> None:
        try:
            if self._lifespan and self._runtime is not None:
                self._lifespan = False
                self._runtime.shutdown()
        finally:
            self.close()

    def close(self) -> None:
        runtime, self._runtime = self._runtime, None
        if runtime is not None:
            runtime.stop()
        super().close()


@atexit.register
def _stop_all() -> None:
    # Pool and shard threads must end before the interpreter finalises.
    for client in list(_live):
        client.close()
