"""turboapi: FastAPI's API, served from a Rust HTTP core."""

from __future__ import annotations

from . import status
from .applications import FastAPI, TurboAPI
from .datastructures import State
from .exceptions import HTTPException, RequestValidationError, ResponseValidationError
from .param_functions import Body, Cookie, Header, Path, Query
from .requests import Request
from .responses import Response
from .routing import APIRouter

__version__ = "0.1.0"

__all__ = [
    "APIRouter",
    "Body",
    "Cookie",
    "FastAPI",
    "HTTPException",
    "Header",
    "Path",
    "Query",
    "Request",
    "RequestValidationError",
    "Response",
    "ResponseValidationError",
    "State",
    "TurboAPI",
    "status",
]
