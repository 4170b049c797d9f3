"""Middleware: ``app.add_middleware(cls, **options)`` and ``@app.middleware("http")``.

Middleware classes are Starlette's (ASGI middleware, ``cls(app, **options)``), ordered as in
Starlette: the last added is the outermost, and exception handlers sit inside it. turboapi runs a
stack three ways, the cheapest it can prove equal:
- only the standard middleware (CORS, GZip, TrustedHost, HTTPSRedirect): the core runs their
  settings natively, no Python per request (``native_layers``);
- those and ``BaseHTTPMiddleware`` (``@app.middleware("http")``): a Python stack of
  request-to-response layers around the core's route (``python_layer``);
- anything else (pure ASGI middleware, a subclass of a standard class): the whole app the ASGI
  way, Starlette's own stack (``needs_asgi``).
"""

from __future__ import annotations

from typing import Any

from starlette.middleware import Middleware


def _layers() -> dict[type, Any]:
    """Starlette's standard middleware, each with its layer on turboapi's request-to-response stack."""
    from .cors import CORSLayer, CORSMiddleware
    from .gzip import GZipLayer, GZipMiddleware
    from .httpsredirect import HTTPSRedirectLayer, HTTPSRedirectMiddleware
    from .trustedhost import TrustedHostLayer, TrustedHostMiddleware

    return {
        CORSMiddleware: CORSLayer,
        GZipMiddleware: GZipLayer,
        TrustedHostMiddleware: TrustedHostLayer,
        HTTPSRedirectMiddleware: HTTPSRedirectLayer,
    }


def _is_dispatch_middleware(cls: Any) -> bool:
    """A BaseHTTPMiddleware subclass that keeps Starlette's ``__call__``: its ``dispatch`` is all it does."""
    from .base import BaseHTTPMiddleware

    return isinstance(cls, type) and issubclass(cls, BaseHTTPMiddleware) and cls.__call__ is BaseHTTPMiddleware.__call__


def needs_asgi(cls: Any) -> bool:
    """Is this middleware class one turboapi's request-to-response stack cannot run (pure ASGI
    middleware, or a subclass of a standard one)? Then the app is served the ASGI way."""
    return cls not in _layers() and not _is_dispatch_middleware(cls)


def python_layer(cls: Any, inner: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """One layer of turboapi's request-to-response stack: ``await layer(request) -> Response``."""
    layer = _layers().get(cls)
    if layer is not None:
        return layer(inner, *args, **kwargs)
    from .base import dispatch_layer

    assert _is_dispatch_middleware(cls), cls
    return dispatch_layer(cls(inner, *args, **kwargs), inner)


def native_layers(stack: list[Middleware]) -> list[tuple[str, dict[str, Any]]] | None:
    """The core's settings for a stack made only of the standard middleware (outermost first),
    or None when any layer needs Python. Each class is built here, so bad options fail the same way."""
    from .._core import native_regex_supported
    from .cors import CORSLayer
    from .gzip import GZipLayer
    from .trustedhost import TrustedHostLayer

    layers: list[tuple[str, dict[str, Any]]] = []
    for cls, args, kwargs in stack:
        layer = _layers().get(cls)
        if layer is None:
            return None
        m = layer(None, *args, **kwargs)
        if isinstance(m, CORSLayer):
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
        elif isinstance(m, GZipLayer):
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
        elif isinstance(m, TrustedHostLayer):
            layers.append(("trustedhost", {"allowed_hosts": m.allowed_hosts, "www_redirect": m.www_redirect}))
        else:
            layers.append(("httpsredirect", {}))
    return layers


__all__ = ["Middleware"]
