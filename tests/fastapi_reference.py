"""FastAPI's TestClient, the reference side of every differential test.

starlette.testclient warns once, at import, when it falls back to httpx instead of httpx2; only
that message is silenced, and only for the import (the pytest config turns warnings into errors).
"""

from __future__ import annotations

import warnings

import pytest

pytest.importorskip("fastapi")

with warnings.catch_warnings():
    warnings.filterwarnings(
        "ignore",
        message=r"Using `httpx` with `starlette\.testclient` is deprecated",
        category=UserWarning,
    )
    from fastapi.testclient import TestClient as FastAPITestClient

__all__ = ["FastAPITestClient"]
