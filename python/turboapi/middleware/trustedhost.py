"""``TrustedHostMiddleware``: a Host header outside ``allowed_hosts`` gets 400 "Invalid host header"
(or a redirect to the ``www.`` host when that one is allowed), as in Starlette."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..responses import PlainTextResponse, RedirectResponse

ENFORCE_DOMAIN_WILDCARD = "Domain wildcard patterns must be like '*.example.com'."


def _host_of(header: str | None) -> str | None:
    if not header:
        return None
    if header.startswith("["):
        end = header.find("]")
        return header[: end + 1] if end != -1 else None
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


class TrustedHostMiddleware:
    def __init__(self, app: Any, allowed_hosts: Sequence[str] | None = None, www_redirect: bool = True) -> None:
        if allowed_hosts is None:
            allowed_hosts = ["*"]
        for pattern in allowed_hosts:
            if "*" in pattern[1:] or (pattern.startswith("*") and pattern != "*" and not pattern.startswith("*.")):
                raise AssertionError(ENFORCE_DOMAIN_WILDCARD)
        self.app = app
        self.allowed_hosts = [p.lower() for p in allowed_hosts]
        self.allow_any = "*" in allowed_hosts
        self.www_redirect = www_redirect

    async def __call__(self, request: Any) -> Any:
        if self.allow_any:
            return await self.app(request)
        host = _host_of(request.headers.get("host"))
        if host is None:
            return PlainTextResponse("Invalid host header", status_code=400)
        host = host.lower()
        www_redirect = False
        for pattern in self.allowed_hosts:
            if host == pattern or (pattern.startswith("*") and host.endswith(pattern[1:])):
                return await self.app(request)
            if "www." + host == pattern:
                www_redirect = True
        if www_redirect and self.www_redirect:
            url = request.url
            return RedirectResponse(url=str(url.replace(netloc="www." + url.netloc)))
        return PlainTextResponse("Invalid host header", status_code=400)
