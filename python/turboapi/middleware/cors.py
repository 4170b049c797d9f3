"""``CORSMiddleware`` with Starlette's options and answers: preflight requests are answered here
(200 "OK" or 400 "Disallowed CORS ..."), other responses get the CORS headers.

``CORSMiddleware`` is Starlette's class (FastAPI's ``fastapi.middleware.cors`` re-exports it):
it runs as it is when the app is served the ASGI way. ``CORSLayer`` is the same behaviour on turboapi's
request-to-response stack, used for Starlette's class by ``middleware.python_layer`` (and the
core runs the same settings natively when the whole stack is standard)."""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Any

from starlette.middleware.cors import CORSMiddleware

from ..responses import PlainTextResponse

ALL_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT", "QUERY")
SAFELISTED_HEADERS = {"Accept", "Accept-Language", "Content-Language", "Content-Type"}
PREFLIGHT_VARY = (
    "Origin, Access-Control-Request-Method, Access-Control-Request-Headers, Access-Control-Request-Private-Network"  # noqa: E501
)


class CORSLayer:
    def __init__(
        self,
        app: Any,
        allow_origins: Collection[str] = (),
        allow_methods: Collection[str] = ("GET",),
        allow_headers: Collection[str] = (),
        allow_credentials: bool = False,
        allow_origin_regex: str | None = None,
        allow_private_network: bool = False,
        expose_headers: Collection[str] = (),
        max_age: int = 600,
    ) -> None:
        self.app = app
        self.allow_methods = ALL_METHODS if "*" in allow_methods else tuple(allow_methods)
        self.allow_origins = allow_origins
        self.allow_all_origins = "*" in allow_origins
        self.allow_all_headers = "*" in allow_headers
        self.allow_credentials = allow_credentials
        self.allow_origin_regex = re.compile(allow_origin_regex) if allow_origin_regex is not None else None
        self.allow_private_network = allow_private_network
        # With credentials, or a list of origins, the allowed origin is echoed rather than "*".
        self.explicit_origin = not self.allow_all_origins or allow_credentials
        self.simple_headers: dict[str, str] = {}
        if self.allow_all_origins:
            self.simple_headers["Access-Control-Allow-Origin"] = "*"
        if allow_credentials:
            self.simple_headers["Access-Control-Allow-Credentials"] = "true"
        if expose_headers:
            self.simple_headers["Access-Control-Expose-Headers"] = ", ".join(expose_headers)
        preflight = {"Vary": PREFLIGHT_VARY}
        if not self.explicit_origin:
            preflight["Access-Control-Allow-Origin"] = "*"
        preflight["Access-Control-Allow-Methods"] = ", ".join(self.allow_methods)
        preflight["Access-Control-Max-Age"] = str(max_age)
        headers = sorted(SAFELISTED_HEADERS | set(allow_headers))
        if headers and not self.allow_all_headers:
            preflight["Access-Control-Allow-Headers"] = ", ".join(headers)
        if allow_credentials:
            preflight["Access-Control-Allow-Credentials"] = "true"
        self.preflight_headers = preflight
        self.allow_headers = [h.lower() for h in headers]

    def is_allowed_origin(self, origin: str) -> bool:
        if self.allow_all_origins:
            return True
        if self.allow_origin_regex is not None and self.allow_origin_regex.fullmatch(origin):
            return True
        return origin in self.allow_origins

    async def __call__(self, request: Any) -> Any:
        headers = request.headers
        origin = headers.get("origin")
        if origin is not None and request.method == "OPTIONS" and "access-control-request-method" in headers:
            return self.preflight(headers)
        response = await self.app(request)
        if origin is None:
            out = response.headers
            out["Vary"] = ", ".join([*out.getlist("Vary"), "Origin"])
            return response
        out = response.headers
        out.update(self.simple_headers)
        if (self.allow_all_origins and self.allow_credentials) or (
            not self.allow_all_origins and self.is_allowed_origin(origin)
        ):
            out["Access-Control-Allow-Origin"] = origin
        out["Vary"] = ", ".join([*out.getlist("Vary"), "Origin"])
        return response

    def preflight(self, request_headers: Any) -> Any:
        headers = dict(self.preflight_headers)
        failures: list[str] = []
        if self.is_allowed_origin(request_headers["origin"]):
            if self.explicit_origin:
                headers["Access-Control-Allow-Origin"] = request_headers["origin"]
        else:
            failures.append("origin")
        if request_headers["access-control-request-method"] not in self.allow_methods:
            failures.append("method")
        requested = request_headers.get("access-control-request-headers")
        if self.allow_all_headers and requested is not None:
            headers["Access-Control-Allow-Headers"] = requested
        elif requested is not None and any(h.strip() not in self.allow_headers for h in requested.lower().split(",")):
            failures.append("headers")
        if request_headers.get("access-control-request-private-network") is not None:
            if self.allow_private_network:
                headers["Access-Control-Allow-Private-Network"] = "true"
            else:
                failures.append("private-network")
        if failures:
            return PlainTextResponse("Disallowed CORS " + ", ".join(failures), status_code=400, headers=headers)
        return PlainTextResponse("OK", status_code=200, headers=headers)


__all__ = ["CORSMiddleware", "CORSLayer"]
