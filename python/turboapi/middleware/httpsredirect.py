"""``HTTPSRedirectMiddleware``: plain-HTTP requests get a 307 to the same URL over HTTPS."""

from __future__ import annotations

from typing import Any

from ..responses import PlainTextResponse, RedirectResponse


class HTTPSRedirectMiddleware:
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
