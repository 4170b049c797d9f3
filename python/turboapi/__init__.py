"""turboapi: FastAPI's API, served from a Rust HTTP core."""

from __future__ import annotations

from . import status
from .applications import FastAPI, TurboAPI
from .background import BackgroundTasks
from .datastructures import State, UploadFile
from .exceptions import HTTPException, RequestValidationError, ResponseValidationError, WebSocketException
from .param_functions import Body, Cookie, Depends, File, Form, Header, Path, Query, Security
from .requests import Request
from .responses import Response
from .routing import APIRouter
from .websockets import WebSocket, WebSocketDisconnect

__version__ = "0.1.0"


class NotSupportedYet(AttributeError):
    """A FastAPI name turboapi does not implement yet, read from its module. An AttributeError, so
    ``hasattr`` answers False and ``from module import name`` fails with ImportError, as for any
    name a module lacks."""


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
    "WebSocket",
    "WebSocketDisconnect",
    "WebSocketException",
    "status",
]
