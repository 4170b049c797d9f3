"""The import surface: FastAPI's names where turboapi has them, a clear error where it has not yet."""

import ast
import asyncio
import contextlib
import contextvars
import functools
import importlib
import importlib.metadata
import importlib.util
import logging
import pathlib
import threading
import typing
import warnings

import pytest

import turboapi


@pytest.mark.parametrize(
    "name",
    [
        "FastAPI",
        "TurboAPI",
        "HTTPException",
        "Query",
        "Path",
        "Header",
        "Cookie",
        "Body",
        "Request",
        "Response",
        "APIRouter",
        "WebSocket",
        "WebSocketDisconnect",
        "WebSocketException",
        "status",
    ],
)
def test_supported_names_import(name):
    assert getattr(turboapi, name) is not None


def test_fastapi_is_an_alias_of_turboapi():
    assert turboapi.FastAPI is turboapi.TurboAPI


def test_unknown_names_are_attribute_errors():
    with pytest.raises(AttributeError):
        turboapi.NoSuchThing  # noqa: B018


def test_status_constants():
    from turboapi import status

    assert status.HTTP_404_NOT_FOUND == 404
    assert status.HTTP_422_UNPROCESSABLE_ENTITY == 422


# --- Every public name of FastAPI, module by module -------------------------------------------------------------
#
# The names are read at test time from the installed FastAPI's source (parsed, never imported: importing
# fastapi.templating needs jinja2, fastapi.testclient warns). A module's names are its ``__all__`` when it has
# one, else what it binds at top level under a public name: classes, functions, assignments, and imports
# written as explicit re-exports (``from starlette.responses import Response as Response``). Plain imports
# (``from typing import Any``) are its own helpers, not its API, and are not counted.

FASTAPI_VERSION = "0.141.1"

FASTAPI_MODULES = [
    "",
    ".responses",
    ".requests",
    ".exceptions",
    ".exception_handlers",
    ".encoders",
    ".params",
    ".param_functions",
    ".routing",
    ".background",
    ".datastructures",
    ".security",
    ".middleware",
    ".middleware.cors",
    ".middleware.gzip",
    ".middleware.trustedhost",
    ".middleware.httpsredirect",
    ".testclient",
    ".staticfiles",
    ".templating",
    ".websockets",
    ".status",
    ".concurrency",
    ".sse",
    ".openapi.docs",
    ".openapi.utils",
    ".openapi.models",
    ".logger",
    # Semi-public: what libraries import from FastAPI's internals.
    ".utils",
    ".dependencies.utils",
    ".dependencies.models",
    "._compat",
    "._compat.shared",
    "._compat.v2",
]

# Modules whose every FastAPI name must already resolve (implemented, or NotSupportedYet naming it).
STRICT_NOW = [
    ".routing",
    ".utils",
    ".dependencies.utils",
    ".dependencies.models",
    "._compat",
    "._compat.shared",
    "._compat.v2",
    ".staticfiles",
    ".templating",
    ".websockets",
    ".concurrency",
    ".sse",
    ".openapi.docs",
    ".openapi.utils",
    ".logger",
]

# Public-looking names FastAPI binds that are not part of its API. Every entry must still be found (see
# test_exclusions_are_still_needed), so the list cannot outlive the FastAPI it was written for.
EXCLUDED = {
    ("fastapi.responses", "ujson"): "the optional ujson module (or None), bound for UJSONResponse",
    ("fastapi.responses", "orjson"): "the optional orjson module (or None), bound for ORJSONResponse",
    ("fastapi.encoders", "Color"): "pydantic's Color (or a stub when absent), bound so the encoder knows it",
    ("fastapi.encoders", "PyExtraColor"): "pydantic_extra_types' Color (or a stub when absent), same reason",
    ("fastapi.openapi.models", "EmailStr"): "pydantic's EmailStr (or a stub without email-validator)",
    ("fastapi.background", "P"): "a ParamSpec for add_task's annotations",
    ("fastapi.datastructures", "DefaultType"): "a TypeVar for Default()'s annotations",
}


def _source_file(modname):
    """The file defining ``modname``, found without importing it: a module or package file, or else the
    module its parent re-exports under that name (``fastapi.status`` is ``from starlette import status``)."""
    top, *rest = modname.split(".")
    spec = importlib.util.find_spec(top)  # a top-level spec: nothing is imported
    assert spec is not None and spec.origin is not None, f"{top} is not installed"
    base = pathlib.Path(spec.origin).parent
    if not rest:
        return base / "__init__.py"
    for candidate in (base.joinpath(*rest).with_suffix(".py"), base.joinpath(*rest, "__init__.py")):
        if candidate.is_file():
            return candidate
    parent, _, last = modname.rpartition(".")
    for node in ast.parse(_source_file(parent).read_text()).body:
        if isinstance(node, ast.ImportFrom) and node.level == 0:
            if any(alias.name == alias.asname == last for alias in node.names):
                return _source_file(f"{node.module}.{last}")
    raise LookupError(f"no source for {modname}")


def _bound_names(statements, out):
    for node in statements:
        if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            out.add(node.name)
        elif isinstance(node, ast.Assign):
            out.update(n.id for target in node.targets for n in ast.walk(target) if isinstance(n, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            out.add(node.target.id)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            out.update(alias.asname for alias in node.names if alias.asname is not None and alias.asname == alias.name)
        elif isinstance(node, ast.Try):
            for block in (node.body, node.orelse, node.finalbody, *(h.body for h in node.handlers)):
                _bound_names(block, out)
        elif isinstance(node, ast.If):
            _bound_names(node.body, out)
            _bound_names(node.orelse, out)


@functools.cache
def _fastapi_names_unfiltered(modname):
    tree = ast.parse(_source_file(modname).read_text())
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
        if any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets):
            return frozenset(ast.literal_eval(node.value))  # a computed __all__ fails here, loudly
    found = set()
    _bound_names(tree.body, found)
    return frozenset(name for name in found if not name.startswith("_"))


def fastapi_public_names(suffix):
    modname = "fastapi" + suffix
    return sorted(name for name in _fastapi_names_unfiltered(modname) if (modname, name) not in EXCLUDED)


def _unresolved(suffix):
    """``{module: [problem, ...]}`` for FastAPI names that turboapi neither provides nor refuses clearly."""
    modname = "turboapi" + suffix
    names = fastapi_public_names(suffix)
    try:
        with warnings.catch_warnings():  # a deprecation warning on import is not this test's business
            warnings.simplefilter("ignore")
            module = importlib.import_module(modname)
    except Exception as exc:
        return {modname: [f"<module does not import: {type(exc).__name__}: {exc}> needs: {', '.join(names)}"]}
    problems = []
    for name in names:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                getattr(module, name)
        except turboapi.NotSupportedYet as exc:
            if name not in str(exc):
                problems.append(f"{name} (NotSupportedYet without the name: {exc})")
        except Exception as exc:
            problems.append(f"{name} ({type(exc).__name__})")
    return {modname: problems} if problems else {}


def _report(offenders):
    return "\n".join(f"{module}: {', '.join(problems)}" for module, problems in offenders.items())


def test_fastapi_is_the_targeted_version():
    assert importlib.metadata.version("fastapi") == FASTAPI_VERSION


def test_fastapi_names_are_read_from_its_source():
    # The reader must see explicit re-exports, definitions, __all__ and a re-exported module, and skip plain imports.
    assert "StaticFiles" in fastapi_public_names(".staticfiles")
    assert {"HTMLResponse", "UJSONResponse", "Response"} <= set(fastapi_public_names(".responses"))
    assert {"FastAPI", "Depends", "status", "WebSocket"} <= set(fastapi_public_names(""))
    assert {"HTTP_404_NOT_FOUND", "WS_1000_NORMAL_CLOSURE"} <= set(fastapi_public_names(".status"))
    assert {"run_in_threadpool", "contextmanager_in_threadpool"} <= set(fastapi_public_names(".concurrency"))
    assert "get_openapi" in fastapi_public_names(".openapi.utils")
    assert "Any" not in fastapi_public_names(".responses")
    assert "Doc" not in fastapi_public_names(".exceptions")
    for suffix in FASTAPI_MODULES:
        assert fastapi_public_names(suffix), f"no names found for fastapi{suffix}"


def test_exclusions_are_still_needed():
    stale = [key for key in EXCLUDED if key[1] not in _fastapi_names_unfiltered(key[0])]
    assert not stale, f"FastAPI no longer binds these; drop them from EXCLUDED: {stale}"


@pytest.mark.parametrize("suffix", STRICT_NOW)
def test_fastapi_names_resolve_in_modules_done_so_far(suffix):
    offenders = _unresolved(suffix)
    assert not offenders, _report(offenders)


def test_every_fastapi_name_resolves():
    """Each public name of each FastAPI module is there in turboapi, or raises NotSupportedYet naming it."""
    offenders = {}
    for suffix in FASTAPI_MODULES:
        offenders.update(_unresolved(suffix))
    if offenders:
        pytest.fail(
            "FastAPI names turboapi neither provides nor refuses clearly:\n" + _report(offenders), pytrace=False
        )


# --- Modules that exist to refuse clearly ------------------------------------------------------------------------

NOT_YET = [
    ("turboapi.openapi.utils", "get_openapi_path"),
]


@pytest.mark.parametrize(("module", "name"), NOT_YET)
def test_planned_names_refuse_with_their_name(module, name):
    mod = importlib.import_module(module)  # the module itself imports fine
    with pytest.raises(turboapi.NotSupportedYet) as info:
        getattr(mod, name)
    assert isinstance(info.value, AttributeError)
    message = str(info.value)
    assert repr(name) in message and "planned" in message
    assert module.replace("turboapi", "fastapi", 1) in message
    # An AttributeError: hasattr answers False, and a from-import fails as for any missing name
    # (`try: from fastapi.routing import x / except ImportError:` is how libraries probe).
    assert not hasattr(mod, name)
    with pytest.raises(ImportError, match="cannot import name"):
        exec(f"from {module} import {name}", {})


@pytest.mark.parametrize("module", sorted({module for module, _ in NOT_YET}))
def test_refusing_modules_still_raise_attribute_error_for_unknown_names(module):
    mod = importlib.import_module(module)
    assert not hasattr(mod, "NoSuchThing")
    assert not hasattr(mod, "__wrapped__")
    with pytest.raises(ImportError, match="cannot import name") as info:
        exec(f"from {module} import NoSuchThing", {})
    assert not isinstance(info.value, turboapi.NotSupportedYet)


def test_logger():
    from turboapi.logger import logger

    assert isinstance(logger, logging.Logger)
    assert logger.name == "turboapi"


def test_types():
    from turboapi.types import DecoratedCallable, DependencyCacheKey, IncEx, ModelNameMap, UnionType

    assert isinstance(DecoratedCallable, typing.TypeVar)
    assert isinstance(int | str, UnionType)
    assert IncEx is not None and ModelNameMap is not None and DependencyCacheKey is not None


# --- turboapi.concurrency ----------------------------------------------------------------------------------------

_request_id = contextvars.ContextVar("request_id", default=None)


def test_run_in_threadpool_runs_in_another_thread_and_returns():
    from turboapi.concurrency import run_in_threadpool

    def work(a, b, *, scale):
        return (a + b) * scale, threading.get_ident(), _request_id.get()

    async def main():
        _request_id.set("abc")
        return await run_in_threadpool(work, 1, 2, scale=10), threading.get_ident()

    (value, worker, seen), loop_thread = asyncio.run(main())
    assert value == 30
    assert worker != loop_thread
    assert seen == "abc"


def test_run_in_threadpool_raises_what_the_function_raises():
    from turboapi.concurrency import run_in_threadpool

    def boom():
        raise KeyError("x")

    with pytest.raises(KeyError):
        asyncio.run(run_in_threadpool(boom))


def test_iterate_in_threadpool_yields_every_item_off_the_loop():
    from turboapi.concurrency import iterate_in_threadpool

    threads = []

    def numbers():
        for i in range(3):
            threads.append(threading.get_ident())
            yield i

    async def main():
        return [item async for item in iterate_in_threadpool(numbers())], threading.get_ident()

    items, loop_thread = asyncio.run(main())
    assert items == [0, 1, 2]
    assert threads and loop_thread not in threads

    async def empty():
        return [item async for item in iterate_in_threadpool([])]

    assert asyncio.run(empty()) == []


class _Recorder:
    def __init__(self, suppress=False):
        self.suppress = suppress
        self.events = []

    def __enter__(self):
        self.events.append(("enter", threading.get_ident(), _request_id.get()))
        return "resource"

    def __exit__(self, exc_type, exc, tb):
        self.events.append(("exit", threading.get_ident(), exc_type))
        return self.suppress


def test_contextmanager_in_threadpool_enters_and_exits_in_threads():
    from turboapi.concurrency import contextmanager_in_threadpool

    cm = _Recorder()

    async def main():
        _request_id.set("ctx")
        async with contextmanager_in_threadpool(cm) as value:
            assert value == "resource"
        return threading.get_ident()

    loop_thread = asyncio.run(main())
    (enter, enter_thread, seen), (exit_, exit_thread, exc_type) = cm.events
    assert (enter, exit_, seen, exc_type) == ("enter", "exit", "ctx", None)
    assert loop_thread not in (enter_thread, exit_thread)


def test_contextmanager_in_threadpool_hands_errors_to_exit():
    from turboapi.concurrency import contextmanager_in_threadpool

    async def body(cm):
        async with contextmanager_in_threadpool(cm):
            raise ValueError("inside")

    cm = _Recorder()
    with pytest.raises(ValueError, match="inside"):
        asyncio.run(body(cm))
    assert cm.events[-1][::2] == ("exit", ValueError)

    suppressing = _Recorder(suppress=True)
    asyncio.run(body(suppressing))  # __exit__ returned true: the error is swallowed, as with a plain `with`
    assert suppressing.events[-1][::2] == ("exit", ValueError)


def test_run_until_first_complete_cancels_the_rest():
    from turboapi.concurrency import run_until_first_complete

    cancelled = []

    async def quick():
        await asyncio.sleep(0)

    async def slow():
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            cancelled.append(True)
            raise

    with pytest.warns(DeprecationWarning, match="run_until_first_complete"):
        asyncio.run(run_until_first_complete((quick, {}), (slow, {})))
    assert cancelled == [True]


def test_asynccontextmanager_is_reexported():
    from turboapi.concurrency import asynccontextmanager

    assert asynccontextmanager is contextlib.asynccontextmanager
