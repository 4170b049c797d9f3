"""turboapi: FastAPI's API, served from a Rust HTTP core."""

from __future__ import annotations

from . import status
from .applications import FastAPI, TurboAPI
from .background import BackgroundTasks
from .datastructures import State, UploadFile
from .exceptions import HTTPException, RequestValidationError, ResponseValidationError
from .param_functions import Body, Cookie, Depends, File, Form, Header, Path, Query, Security
from .requests import Request
from .responses import Response
from .routing import APIRouter

__version__ = "0.1.0"

# FastAPI's public names that turboapi does not provide yet: importing one says so plainly.
_NOT_YET = {
    "WebSocket",
    "WebSocketDisconnect",
    "WebSocketException",
}


class NotSupportedYet(ImportError):
    """A FastAPI name turboapi does not implement yet."""


def __getattr__(name: str) -> object:
    if name in _NOT_YET:
        raise NotSupportedYet(f"turboapi does not support FastAPI's {name!r} yet")
    raise AttributeError(f"module 'turboapi' has no attribute {name!r}")


__all__ = [
    "APIRouter",
    "BackgroundTasks",
    "Body",
    "Cookie",
    "Depends",
    "FastAPI",
    "File",
    "Form",
    "HTTPException",
    "Header",
    "Path",
    "Query",
    "Request",
    "RequestValidationError",
    "Response",
    "ResponseValidationError",
    "Security",
    "State",
    "TurboAPI",
    "UploadFile",
    "status",
]
