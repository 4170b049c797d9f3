"""``import fastapi`` served by turboapi: an unmodified FastAPI app, and the libraries it imports,
run on turboapi.

``install()`` puts a finder first on ``sys.meta_path`` that answers ``fastapi`` and every
``fastapi.x`` with turboapi's module of the same path: ``fastapi.routing`` *is* ``turboapi.routing``,
so a library that patches it (sentry-sdk replaces ``fastapi.routing.get_request_handler``) patches
what turboapi runs. Only the top-level package is a stand-in of its own, to report the FastAPI
version turboapi matches as ``fastapi.__version__`` (libraries gate features on it); every other
name of it is turboapi's.

``turboapi run`` installs it before it imports the app (``--no-fastapi-alias`` or
``TURBOAPI_FASTAPI_ALIAS=0`` turn that off); a test suite opts in with ``-p turboapi.pytest_plugin``
or ``pytest_plugins = ["turboapi.pytest_plugin"]`` in its conftest.py.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import types
from typing import Any

#: The FastAPI release whose behaviour turboapi matches.
FASTAPI_VERSION = "0.141.1"


class FastAPIAliasError(ImportError):
    """The alias cannot be installed: the real ``fastapi`` was imported first."""


class _FastAPIPackage(types.ModuleType):
    """``fastapi`` itself: turboapi's names, FastAPI's version."""

    def __getattr__(self, name: str) -> Any:
        turboapi = importlib.import_module("turboapi")
        try:
            return getattr(turboapi, name)
        except AttributeError:
            # A submodule not imported yet (``fastapi.routing`` reached as an attribute).
            try:
                return importlib.import_module(f"fastapi.{name}")
            except ModuleNotFoundError:
                raise AttributeError(f"module 'fastapi' has no attribute {name!r}") from None

    def __dir__(self) -> list[str]:
        return sorted(set(dir(importlib.import_module("turboapi"))) | {"__version__"})


class _Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, name: str, path: Any = None, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        if name != "fastapi" and not name.startswith("fastapi."):
            return None
        if name == "fastapi":
            return importlib.util.spec_from_loader(name, self, is_package=True)
        real = importlib.util.find_spec("turboapi" + name[len("fastapi") :])
        if real is None:
            return None  # a FastAPI module turboapi has not: ModuleNotFoundError, as for any
        return importlib.util.spec_from_loader(name, self, is_package=real.submodule_search_locations is not None)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        if spec.name == "fastapi":
            turboapi = importlib.import_module("turboapi")
            package = _FastAPIPackage("fastapi", turboapi.__doc__)
            package.__version__ = FASTAPI_VERSION  # type: ignore[attr-defined]
            package.__path__ = []  # a package: its submodules come through this finder
            package.__all__ = list(getattr(turboapi, "__all__", []))  # type: ignore[attr-defined]
            return package
        module = importlib.import_module("turboapi" + spec.name[len("fastapi") :])
        # The import system sets the module's __spec__ to ``spec`` next; exec_module puts the
        # real one back from here.
        spec.loader_state = module.__spec__
        return module

    def exec_module(self, module: types.ModuleType) -> None:
        # turboapi's module keeps its own spec: with fastapi's, whose parent is not the module's
        # __package__, every relative import inside a function would emit an ImportWarning.
        spec = module.__spec__
        if spec is not None and isinstance(spec.loader_state, importlib.machinery.ModuleSpec):
            module.__spec__ = spec.loader_state


_FINDER = _Finder()


def install() -> None:
    """Make ``import fastapi[.x]`` give turboapi's modules, from now on in this process."""
    if installed():
        return
    loaded = sorted(name for name in sys.modules if name == "fastapi" or name.startswith("fastapi."))
    if loaded:
        raise FastAPIAliasError(
            "the fastapi package was imported before turboapi's alias was installed "
            f"({', '.join(loaded[:3])}{'...' if len(loaded) > 3 else ''}): install it first "
            "(turboapi run does; in tests, -p turboapi.pytest_plugin)"
        )
    sys.meta_path.insert(0, _FINDER)


def installed() -> bool:
    return _FINDER in sys.meta_path


def uninstall() -> None:
    """Stop resolving ``fastapi`` to turboapi (the modules already imported stay imported)."""
    if installed():
        sys.meta_path.remove(_FINDER)
