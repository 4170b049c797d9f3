"""``app.frontend(path, directory=...)``: a static frontend build served as low-priority routes
(tried only when no path operation matches), as FastAPI 0.141 serves it."""

from __future__ import annotations

import contextlib
import email.message
import errno
import os
import stat
import warnings
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any, Literal

from starlette._utils import get_route_path
from starlette.datastructures import URL
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Match, NoMatchFound
from starlette.types import Scope

from .concurrency import run_in_threadpool
from .exceptions import STARLETTE_HTTP_EXCEPTION, RequestValidationError
from .fastapiscope import (
    _FASTAPI_EFFECTIVE_ROUTE_CONTEXT_KEY,
    _FASTAPI_FRONTEND_PATH_KEY,
    _FASTAPI_FRONTEND_SPECIFICITY_KEY,
    _FASTAPI_SCOPE_KEY,
    _SCOPE_MISSING,
    _get_fastapi_scope,
    _scope_entry,
    _update_scope,
)
from .staticfiles import StaticFiles

Fallback = Literal["auto", "index.html", "404.html"] | None


def normalize_path(path: str) -> str:
    if not path:
        raise AssertionError("A frontend path cannot be empty")
    if not path.startswith("/"):
        raise AssertionError("A frontend path must start with '/'")
    return path if path == "/" else path.rstrip("/")


def join_paths(prefix: str, path: str) -> str:
    if not prefix:
        return path
    return prefix if path == "/" else prefix + path


def path_specificity(path: str) -> int:
    """The longer the frontend's path, the more specific: ``/`` loses to every other."""
    return 0 if path == "/" else len(path)


def _absolute(path: str | os.PathLike[str]) -> str:
    return os.path.realpath(os.fspath(path))


def resolve_check_dir(*, directory: str | os.PathLike[str], check_dir: bool | Literal["auto"]) -> bool:
    """``check_dir="auto"``: check, except under ``FASTAPI_ENV=development`` (``fastapi dev``),
    where a missing directory is only a warning (pointing at the caller's ``frontend()`` line)."""
    if check_dir != "auto":
        return check_dir
    if os.environ.get("FASTAPI_ENV") != "development":
        return True
    if not os.path.isdir(directory):
        warnings.warn(
            f"Frontend directory '{directory}' does not exist. Resolved absolute path: '{_absolute(directory)}'",
            stacklevel=3,
        )
    return False


class FrontendStaticFiles(StaticFiles):
    """The files of one frontend: Starlette's StaticFiles (html mode), with the fallback pages."""

    def __init__(self, *, directory: str | os.PathLike[str], fallback: Fallback, check_dir: bool) -> None:
        self.fallback = fallback
        if check_dir and not os.path.isdir(directory):
            raise RuntimeError(
                f"Frontend directory '{directory}' does not exist. Resolved absolute path: '{_absolute(directory)}'"
            )
        super().__init__(directory=directory, html=True, check_dir=check_dir, follow_symlink=False)
        if check_dir and fallback in ("index.html", "404.html"):
            self._check_fallback_file(fallback)

    def _missing_fallback(self, fallback: str) -> RuntimeError:
        assert self.directory is not None
        return RuntimeError(
            f"Frontend fallback file '{fallback}' does not exist in directory '{self.directory}'. "
            f"Resolved absolute directory: '{_absolute(self.directory)}'"
        )

    def _check_fallback_file(self, fallback: str) -> None:
        if not self._fallback_file_exists(fallback):
            raise self._missing_fallback(fallback)

    def get_path(self, scope: Scope) -> str:
        path = _scope_entry(scope, _FASTAPI_FRONTEND_PATH_KEY) or ""
        return os.path.normpath(os.path.join(*path.split("/")))

    async def get_response_for_scope(self, scope: Scope) -> Response:
        if not self.config_checked:
            await self.check_config()
            self.config_checked = True
        return await self.get_response(self.get_path(scope), scope)

    async def get_response(self, path: str, scope: Scope) -> Response:
        if scope["method"] not in ("GET", "HEAD"):
            # A file that exists refuses the method; anything else is simply not there.
            status = 405 if await self._lookup_static_resource(path) is not None else 404
            raise STARLETTE_HTTP_EXCEPTION(status_code=status)
        resource = await self._lookup_static_resource(path)
        if resource is not None:
            full_path, stat_result, is_directory_index = resource
            if is_directory_index and not scope["path"].endswith("/"):
                url = URL(scope=scope)
                return RedirectResponse(url=url.replace(path=url.path + "/"))
            return self.file_response(full_path, stat_result, scope)
        if self.fallback == "404.html" or (self.fallback == "auto" and self._fallback_file_exists("404.html")):
            return await self._fallback_response("404.html", scope, status_code=404)
        if (
            self.fallback == "index.html" or (self.fallback == "auto" and self._fallback_file_exists("index.html"))
        ) and is_navigation_request(scope):
            return await self._fallback_response("index.html", scope, status_code=200)
        raise STARLETTE_HTTP_EXCEPTION(status_code=404)

    async def _lookup_path(self, path: str) -> tuple[str, os.stat_result | None]:
        try:
            return await run_in_threadpool(self.lookup_path, path)
        except PermissionError:
            raise STARLETTE_HTTP_EXCEPTION(status_code=401) from None
        except OSError as exc:
            if exc.errno == errno.ENAMETOOLONG:
                raise STARLETTE_HTTP_EXCEPTION(status_code=404) from None
            raise
        except ValueError:
            raise STARLETTE_HTTP_EXCEPTION(status_code=404) from None

    async def _lookup_static_resource(self, path: str) -> tuple[str, os.stat_result, bool] | None:
        """(file, its stat, whether it is a directory's index.html), or None."""
        full_path, stat_result = await self._lookup_path(path)
        if stat_result is None:
            return None
        if stat.S_ISREG(stat_result.st_mode):
            return full_path, stat_result, False
        if stat.S_ISDIR(stat_result.st_mode):
            full_path, stat_result = await self._lookup_path(os.path.join(path, "index.html"))
            if stat_result is not None and stat.S_ISREG(stat_result.st_mode):
                return full_path, stat_result, True
        return None

    def _fallback_file_exists(self, fallback: str) -> bool:
        _, stat_result = self.lookup_path(fallback)
        return stat_result is not None and stat.S_ISREG(stat_result.st_mode)

    async def _fallback_response(self, fallback: str, scope: Scope, *, status_code: int) -> Response:
        full_path, stat_result = await run_in_threadpool(self.lookup_path, fallback)
        if stat_result is None or not stat.S_ISREG(stat_result.st_mode):
            raise self._missing_fallback(fallback)
        return self.file_response(full_path, stat_result, scope, status_code=status_code)


def _accepted_media_types(accept: str) -> Iterator[tuple[str, float]]:
    for raw in accept.split(","):
        message = email.message.Message()
        message["content-type"] = raw.strip()
        quality = 1.0
        q = message.get_param("q")
        if isinstance(q, str):
            with contextlib.suppress(ValueError):
                quality = float(q)
        yield f"{message.get_content_maintype()}/{message.get_content_subtype()}", quality


def is_navigation_request(scope: Scope) -> bool:
    """A browser asking for a page (HTML accepted with a non-zero quality): index.html answers."""
    accept = ""
    for name, value in scope.get("headers") or []:
        if name.lower() == b"accept":
            accept = value.decode("latin-1")
            break
    return any(
        media_type in ("text/html", "application/xhtml+xml") and quality != 0
        for media_type, quality in _accepted_media_types(accept)
    )


class FrontendRoute(BaseRoute):
    """One frontend directory under one path (GET and HEAD; other methods match partially)."""

    def __init__(
        self, path: str, *, directory: str | os.PathLike[str], fallback: Fallback = "auto", check_dir: bool
    ) -> None:
        if fallback not in ("auto", "index.html", "404.html", None):
            raise AssertionError("fallback must be 'auto', 'index.html', '404.html', or None")
        self.path = normalize_path(path)
        self.methods = {"GET", "HEAD"}
        self.app = FrontendStaticFiles(directory=directory, fallback=fallback, check_dir=check_dir)

    def matches(self, scope: Scope) -> tuple[Match, dict[str, Any]]:
        return self.matches_with_path(scope, self.path)

    def matches_with_path(self, scope: Scope, path: str) -> tuple[Match, dict[str, Any]]:
        if scope["type"] != "http":
            return Match.NONE, {}
        frontend_path = self._frontend_path(path, get_route_path(scope))
        if frontend_path is None:
            return Match.NONE, {}
        child_scope = {
            _FASTAPI_SCOPE_KEY: {
                _FASTAPI_FRONTEND_PATH_KEY: frontend_path,
                _FASTAPI_FRONTEND_SPECIFICITY_KEY: path_specificity(path),
            }
        }
        return (Match.FULL if scope["method"] in self.methods else Match.PARTIAL), child_scope

    @staticmethod
    def _frontend_path(path: str, route_path: str) -> str | None:
        """The file path below the frontend's path (segment boundaries respected), or None."""
        if path == "/":
            return route_path.lstrip("/")
        if route_path == path:
            return ""
        if route_path.startswith(path + "/"):
            return route_path[len(path) + 1 :]
        return None

    async def handle(self, scope: Scope, receive: Any, send: Any) -> None:
        response = await self.app.get_response_for_scope(scope)
        await response(scope, receive, send)

    def url_path_for(self, name: str, /, **path_params: Any) -> Any:
        raise NoMatchFound(name, path_params)


def _frontend_dependency_endpoint() -> None:
    pass  # the dependant only carries the frontend's dependencies


class FrontendRouteGroup(BaseRoute):
    """A router's frontends, with the router's dependencies (run before a file is served). The
    most specific frontend whose path matches answers."""

    #: What `_IncludedRouter` looks for (a duck-typed flag: routing's generic code reads it).
    is_frontend_group = True

    def __init__(self, *, dependencies: Sequence[Any] | None = None, dependency_overrides_provider: Any = None) -> None:
        self.routes: list[FrontendRoute] = []
        self.dependencies = list(dependencies or [])
        self.dependency_overrides_provider = dependency_overrides_provider

    def add_frontend_route(
        self, path: str, *, directory: str | os.PathLike[str], fallback: Fallback = "auto", check_dir: bool
    ) -> None:
        self.routes.append(FrontendRoute(path, directory=directory, fallback=fallback, check_dir=check_dir))

    def matches(self, scope: Scope) -> tuple[Match, dict[str, Any]]:
        match, child_scope, _ = self._match(scope, prefix="")
        return match, child_scope

    def matches_with_prefix(self, scope: Scope, prefix: str) -> tuple[Match, dict[str, Any]]:
        match, child_scope, _ = self._match(scope, prefix=prefix)
        return match, child_scope

    def _match(self, scope: Scope, *, prefix: str) -> tuple[Match, dict[str, Any], FrontendRoute | None]:
        best: dict[Match, tuple[dict[str, Any], FrontendRoute, int]] = {}
        for route in self.routes:
            path = join_paths(prefix, route.path)
            match, child_scope = route.matches_with_path(scope, path)
            if match == Match.NONE:
                continue
            specificity = path_specificity(path)
            if match not in best or specificity > best[match][2]:
                best[match] = (child_scope, route, specificity)
        for match in (Match.FULL, Match.PARTIAL):
            if match in best:
                child_scope, route, _ = best[match]
                return match, child_scope, route
        return Match.NONE, {}, None

    async def handle(self, scope: Scope, receive: Any, send: Any) -> None:
        context = _scope_entry(scope, _FASTAPI_EFFECTIVE_ROUTE_CONTEXT_KEY)
        if context is not None and getattr(context, "original_route", None) is self:
            prefix = context.frontend_prefix
            dependencies = context.dependencies
            overrides = context.dependency_overrides_provider
        else:
            prefix, dependencies, overrides = "", self.dependencies, self.dependency_overrides_provider
        match, child_scope, route = self._match(scope, prefix=prefix)
        if match == Match.NONE or route is None:
            raise STARLETTE_HTTP_EXCEPTION(status_code=404)
        _update_scope(scope, child_scope)
        if match == Match.FULL and dependencies:
            async with _solved(scope, receive, send, dependencies, overrides) as solved:
                response = await route.app.get_response_for_scope(scope)
                if response.background is None:
                    response.background = solved.background_tasks
                response.headers.raw.extend(solved.response.headers.raw)
                await response(scope, receive, send)
            return
        await route.handle(scope, receive, send)

    def url_path_for(self, name: str, /, **path_params: Any) -> Any:
        raise NoMatchFound(name, path_params)


@contextlib.asynccontextmanager
async def _solved(scope: Scope, receive: Any, send: Any, dependencies: list[Any], overrides: Any) -> AsyncIterator[Any]:
    """The frontend's dependencies solved as a path operation's are (their exits run after the
    response), or the request refused with their validation errors."""
    from .dependencies.utils import get_dependant, get_parameterless_sub_dependant, solve_dependencies
    from .requests import Request

    dependant = get_dependant(path="", call=_frontend_dependency_endpoint, scope="function")
    for depends in reversed(dependencies):
        dependant.dependencies.insert(0, get_parameterless_sub_dependant(depends=depends, path=""))
    if overrides is None:
        overrides = scope.get("app")
    request = Request(scope, receive, send)
    previous = {key: scope.get(key, _SCOPE_MISSING) for key in ("fastapi_inner_astack", "fastapi_function_astack")}
    try:
        async with contextlib.AsyncExitStack() as request_stack:
            scope["fastapi_inner_astack"] = request_stack
            async with contextlib.AsyncExitStack() as function_stack:
                scope["fastapi_function_astack"] = function_stack
                solved = await solve_dependencies(
                    request=request,
                    dependant=dependant,
                    dependency_overrides_provider=overrides,
                    async_exit_stack=request_stack,
                    embed_body_fields=False,
                )
                if solved.errors:
                    raise RequestValidationError(solved.errors)
                yield solved
    finally:
        for key, value in previous.items():
            if value is _SCOPE_MISSING:
                scope.pop(key, None)
            else:
                scope[key] = value


__all__ = ["FrontendRoute", "FrontendRouteGroup", "FrontendStaticFiles", "_get_fastapi_scope"]
