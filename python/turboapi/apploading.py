"""The app an app reference names: ``module.path:attribute`` imported from the current directory.

Shared by the command line (``cli``: ``turboapi run``/``dev``, and each worker process) and the
supervisor of worker processes (``workers``: it loads the app once, so that a bad reference fails
there with the one-line error instead of in every worker).
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

from .alias import FastAPIAliasError, install
from .applications import TurboAPI


class UsageError(Exception):
    """A mistake in the command line or the app reference: one line, exit code 2."""


def fastapi_alias_wanted() -> bool:
    """``import fastapi`` resolves to turboapi unless TURBOAPI_FASTAPI_ALIAS says no (the
    --no-fastapi-alias flag sets it, for the worker processes too)."""
    value = os.environ.get("TURBOAPI_FASTAPI_ALIAS", "1").strip().lower()
    if value in ("0", "false", "no", "off"):
        return False
    if value in ("1", "true", "yes", "on", ""):
        return True
    raise UsageError(f"TURBOAPI_FASTAPI_ALIAS must be 1/0, true/false, yes/no or on/off, not {value!r}")


def load_app(reference: str) -> Any:
    """The object named by ``module.path:attribute``, importing from the current directory (with
    ``fastapi`` resolving to turboapi, unless turned off)."""
    module_name, sep, attribute = reference.partition(":")
    if not sep or not module_name or not attribute:
        raise UsageError(f"app must look like module.path:attribute, not {reference!r}")
    if fastapi_alias_wanted():
        try:
            install()
        except FastAPIAliasError as exc:
            raise UsageError(str(exc)) from None
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            raise UsageError(f"cannot import module {module_name!r}: {exc}") from exc
        raise
    app: Any = module
    for part in attribute.split("."):
        try:
            app = getattr(app, part)
        except AttributeError:
            raise UsageError(f"module {module_name!r} has no attribute {attribute!r}") from None
    if not isinstance(app, TurboAPI):
        if not callable(app):
            raise UsageError(f"{reference!r} is {type(app).__name__}, not a turboapi app or an ASGI application")
        # Not at the top: only a foreign app needs the server module here (it loads the Rust core).
        from .serving import hosted

        app = hosted(app)  # another framework's ASGI app: served whole, the ASGI way
    return app
