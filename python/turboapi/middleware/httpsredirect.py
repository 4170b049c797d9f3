"""``HTTPSRedirectMiddleware``: plain-HTTP requests get a 307 to the same URL over HTTPS.

``HTTPSRedirectMiddleware`` is Starlette's class (FastAPI's ``fastapi.middleware.httpsredirect`` re-exports it):
it runs as it is when the app is served the ASGI way. ``HTTPSRedirectLayer`` is the same behaviour on turboapi's
request-to-response stack, used for Starlette's class by ``middleware.python_layer`` (and the
core runs the same settings natively when the whole stack is standard)."""

from __future__ import annotations

from typing import Any

from starlette.middleware.httpsredirect import HTTPSRedirectMiddleware

from ..responses import PlainTextResponse, RedirectResponse


class HTTPSRedirectLayer:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, request: Any) -> Any:
        if request.url.scheme != "http":
            return await self.app(request)
        url = request.url
        if not url.netloc:
            return PlainTextResponse("Invalid host header", status_code=400)
        netloc = url.hostname if url.port in (80, 443) else url.netloc
        return RedirectResponse(str(url.replace(scheme="https", netloc=netloc)), status_code=307)


__all__ = ["HTTPSRedirectMiddleware", "HTTPSRedirectLayer"]
