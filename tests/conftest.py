"""Shared fixtures, and hypothesis' settings profiles (tests/hypothesis_profiles.py) where hypothesis
is installed: not on free-threaded 3.13, where its property tests are skipped (scripts/requirements.py).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from typing import Any

import pytest

if importlib.util.find_spec("hypothesis") is not None:
    # Registers and loads the profiles before any test module builds its settings.
    from hypothesis_profiles import drop_module_literals
else:
    drop_module_literals = None
    # The property tests (their file names say so) import hypothesis: not collected without it.
    collect_ignore_glob = ["reliability/*hypothesis*.py"]


@pytest.hookimpl(trylast=True)  # after hypothesis' plugin has loaded the --hypothesis-profile
def pytest_configure(config: pytest.Config) -> None:
    if drop_module_literals is not None:
        drop_module_literals()


@pytest.fixture
def make_client() -> Iterator[Any]:
    """``make_client(pkg, app, turbo=..., **kw)``: that framework's TestClient (FastAPI's or
    turboapi's, for the differential tests), closed at teardown."""
    from fastapi_reference import Clients  # imports FastAPI: only the tests that use it pay for it

    with Clients() as clients:
        yield clients
