"""Middleware: ``app.add_middleware(cls, **options)`` and ``@app.middleware("http")``.

A middleware here is ``cls(app, **options)`` whose ``await instance(request)`` returns a Response,
``app`` being the next layer (the same call shape). The stack is ordered as in Starlette: the last
added is the outermost, and exception handlers sit inside it, so middleware sees their responses.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any


class Middleware:
    """A middleware class with its options, as ``FastAPI(middleware=[Middleware(cls, ...)])`` takes."""

    def __init__(self, cls: Any, *args: Any, **kwargs: Any) -> None:
        self.cls = cls
        self.args = args
        self.kwargs = kwargs

    def __iter__(self) -> Iterator[Any]:
        return iter((self.cls, self.args, self.kwargs))

    def __repr__(self) -> str:
        options = [repr(a) for a in self.args] + [f"{k}={v!r}" for k, v in self.kwargs.items()]
        return f"Middleware({', '.join([getattr(self.cls, '__name__', repr(self.cls)), *options])})"


def native_layers(stack: list[Middleware]) -> list[tuple[str, dict[str, Any]]] | None:
    """The core's settings for a stack made only of the standard middleware (outermost first),
    or None when any layer needs Python. Each class is built here, so bad options fail the same way."""
    from .._core import native_regex_supported
    from .cors import CORSMiddleware
    from .gzip import GZipMiddleware
    from .httpsredirect import HTTPSRedirectMiddleware
    from .trustedhost import TrustedHostMiddleware

    layers: list[tuple[str, dict[str, Any]]] = []
    for cls, args, kwargs in stack:
        if cls not in (CORSMiddleware, GZipMiddleware, TrustedHostMiddleware, HTTPSRedirectMiddleware):
            return None
        m = cls(None, *args, **kwargs)
        if isinstance(m, CORSMiddleware):
            pattern = m.allow_origin_regex.pattern if m.allow_origin_regex is not None else None
            if pattern is not None and (not native_regex_supported(pattern) or "[[:" in pattern):
                return None  # Python-only syntax (or POSIX classes, which Python reads differently)
            layers.append(
                (
                    "cors",
                    {
                        "allow_all_origins": m.allow_all_origins,
                        "allow_credentials": bool(m.allow_credentials),
                        "allow_origins": [str(o) for o in m.allow_origins],
                        "allow_origin_regex": pattern,
                        "allow_methods": [str(x) for x in m.allow_methods],
                        "allow_all_headers": m.allow_all_headers,
                        "allow_headers": list(m.allow_headers),
                        "allow_private_network": bool(m.allow_private_network),
                        "explicit_origin": m.explicit_origin,
                        "simple_headers": list(m.simple_headers.items()),
                        "preflight_headers": list(m.preflight_headers.items()),
                    },
                )
            )
        elif isinstance(m, GZipMiddleware):
            layers.append(
                (
                    "gzip",
                    {
                        "minimum_size": m.minimum_size,
                        "compresslevel": 6 if m.compresslevel == -1 else m.compresslevel,  # zlib's -1 is 6
                        "thread_minimum_size": m.thread_minimum_size,
                        "exclude_content_types": sorted(m.exclude_content_types),
                    },
                )
            )
        elif isinstance(m, TrustedHostMiddleware):
            layers.append(("trustedhost", {"allowed_hosts": m.allowed_hosts, "www_redirect": m.www_redirect}))
        else:
            layers.append(("httpsredirect", {}))
    return layers


__all__ = ["Middleware"]
