"""The access log's lines: ``INFO:     127.0.0.1:51234 - "GET /items?q=1 HTTP/1.1" 200 OK``, as
uvicorn writes them, through the ``turboapi.access`` logger (configure it like any logger; with no
handler of its own and none on the root logger, one writing to stderr is added)."""

from __future__ import annotations

import http
import logging
import sys

logger = logging.getLogger("turboapi.access")


def _phrase(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return ""


def ensure_handler() -> None:
    if not logger.handlers and not logging.getLogger().handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(levelname)s:     %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False


def write(
    target_logger: logging.Logger,
    client: tuple[str, int] | None,
    method: str,
    target: str,
    version: str,
    status: int,
) -> None:
    address = f"{client[0]}:{client[1]}" if client else "-"
    target_logger.info('%s - "%s %s HTTP/%s" %d %s', address, method, target, version, status, _phrase(status))
