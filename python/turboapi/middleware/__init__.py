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


__all__ = ["Middleware"]
