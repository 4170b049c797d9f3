"""``TrustedHostMiddleware``: a Host header outside ``allowed_hosts`` gets 400 "Invalid host header"
(or a redirect to the ``www.`` host when that one is allowed), as in Starlette.

``TrustedHostMiddleware`` is Starlette's class (FastAPI's ``fastapi.middleware.trustedhost`` re-exports it):
it runs as it is when the app is served the ASGI way. ``TrustedHostLayer`` is the same behaviour on turboapi's
request-to-response stack, used for Starlette's class by ``middleware.python_layer`` (and the
core runs the same settings natively when the whole stack is standard)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from ipaddress import AddressValueError, IPv6Address
from typing import Any

from starlette.middleware.trustedhost import TrustedHostMiddleware

from ..responses import PlainTextResponse, RedirectResponse

ENFORCE_DOMAIN_WILDCARD = "Domain wildcard patterns must be like '*.example.com'."


# A Host header: reg-name characters or a bracketed IP literal, then an optional numeric port.
_HOST = re.compile(
    r"(?P<host>[a-z0-9._~%!$&'()*+,;=-]+|\[(?:(?P<ipv6>[a-f0-9]*:[a-f0-9.:]+)|v[a-f0-9]+\.[a-z0-9._~!$&'()*+,;=:-]+)\])"
    r"(?::[0-9]+)?",
    re.IGNORECASE,
)


def _host_of(header: str | None) -> str | None:
    if header is None:
        return None
    match = _HOST.fullmatch(header)
    if match is None:
        return None
    if match["ipv6"] is not None:
        try:
            IPv6Address(match["ipv6"])
        except AddressValueError:
            return None
    return match["host"]


class TrustedHostLayer:
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


__all__ = ["TrustedHostMiddleware", "TrustedHostLayer"]
