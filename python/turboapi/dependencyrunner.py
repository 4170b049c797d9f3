"""A route with dependencies, run in Python: its dependency tree solved, its handler called, its
response built.

The core extracted the flat parameter list of the whole tree and hands over a ``RequestScope``
(``PlannedRoute.solve``); the route's core endpoint is ``DependencyRunner.run_sync`` or
``run_async``. The tree is walked as FastAPI's ``solve_dependencies`` walks it: sub-dependencies
first, each validated and called in order, cached per request, ``yield`` dependencies entered on
exit stacks. The stacks and the form's files are closed after the reply has been sent (``After``).

A tree that is all sync is walked on the pool thread the core runs it on (``solve_sync``); a tree
with an async part, on its loop shard (``solve_async``). The two walks are twins on purpose: the
sync one is the hot path of every sync route with dependencies, and calls each dependency inline;
one walk for both would need a generator or a coroutine per dependency. What they share is
factored out (``effective``, ``own_values``, ``respond``, ``attach_after``, ``_invalid``), and a
sync route whose dependency overrides make the tree async reuses the async walk on a private loop
instead of a third copy.
"""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack, ExitStack, asynccontextmanager, contextmanager
from typing import Any

from .background import BackgroundTasks
from .bodies import ReceivedBody
from .concurrency import ThreadedContext, run_to_end_in_thread
from .dependencies import SYNC_KINDS, Dependant, fresh_default, get_dependant, missing_error
from .exceptions import FastAPIError, RequestValidationError
from .requests import request_for
from .responses import RESPONSE_TYPES, Response, sub_response
from .solving import locate, model_input, python_raw

NOT_AWAITED = (
    "Response not awaited. There's a high chance that the application code is raising an exception and a "
    "dependency with yield has a block with a bare except, or a block with except Exception, and is not "
    "raising the exception again. Read more about it in the docs: "
    "https://fastapi.tiangolo.com/tutorial/dependencies/dependencies-with-yield/#dependencies-with-yield-and-except"
)


class RequestScope:
    """One request's state while its dependency tree is solved."""

    __slots__ = (
        "slots",
        "pending",
        "data",
        "app",
        "body",
        "cache",
        "background",
        "response",
        "stack",
        "function_stack",
        "after",
        "_request",
        "route",
    )

    def __init__(
        self, slots: dict[str, Any], pending: list[tuple[int, Any]], data: Any, app: Any, route: Any = None
    ) -> None:
        self.route = route
        self.slots = slots
        self.pending = dict(pending)
        self.data = data
        self.app = app
        self.body: ReceivedBody | None = None
        self.cache: dict[Any, Any] = {}
        self.background: Any = None
        self.response: Any = None
        self.stack: Any = None
        self.function_stack: Any = None
        self.after: After | None = None
        self._request: Any = None

    @property
    def request(self) -> Any:
        if self._request is None:
            self._request = request_for(self.data, self.app, self.route)
            if self.body is not None and self.body.form is not None:
                self._request._form = self.body.form  # request.form() is the form the fields came from
        return self._request

    @property
    def overrides(self) -> dict[Any, Any]:
        return getattr(self.app, "dependency_overrides", None) or {}

    def error_body(self) -> Any:
        return self.body.for_errors() if self.body is not None else None

    def close_body(self) -> None:
        if self.body is not None:
            self.body.close()


class After:
    """What runs after the reply went out, registered on the request (never on the response, which
    a middleware may replace and a handler may share between requests): the yield dependencies'
    exits (FastAPI's request-scoped exit stack closes after the response is sent), then the form's
    files. The response's own background runs just before it."""

    def __init__(self, stack: Any, body: ReceivedBody | None, runner: asyncio.Runner | None = None):
        self.stack = stack
        self.body = body
        self.runner = runner

    def run_sync(self) -> None:
        """On a pool thread (a sync route)."""
        if self.runner is not None:
            # The route ran on a private loop (an async override): its exits belong to that loop.
            try:
                self.runner.run(self._arun())
            finally:
                self.runner.close()
            return
        try:
            self.stack.close()
        finally:
            self._close_body()

    async def __call__(self) -> None:
        """On a loop shard (an async route, or any route under middleware)."""
        if self.runner is not None or isinstance(self.stack, ExitStack):
            # A sync route's exits: they may block, so they run on a thread.
            await run_to_end_in_thread(self.run_sync)
            return
        await self._arun()

    async def _arun(self) -> None:
        try:
            await self.stack.aclose()
        finally:
            self._close_body()

    def _close_body(self) -> None:
        if self.body is not None:
            self.body.close()


class DependencyRunner:
    """Runs a route with dependencies: solve the tree, call the handler, build the response."""

    def __init__(self, route: Any) -> None:
        self.route = route
        self.root: Dependant = route.signature.dependant
        self.path_names = route.path_param_names
        self._overridden: dict[tuple[int, Any], Dependant] = {}

    # -- overrides ---------------------------------------------------------------------------
    def effective(self, scope: RequestScope, dep: Dependant) -> Dependant:
        overrides = scope.overrides
        if not overrides or dep.call not in overrides:
            return dep
        replacement = overrides[dep.call]
        key = (id(dep), replacement)
        compiled = self._overridden.get(key)
        if compiled is None:
            compiled = get_dependant(
                replacement,
                self.path_names,
                flat=None,
                name=dep.name,
                use_cache=dep.use_cache,
                scope=dep.scope,
                parent_scopes=dep.scopes,
            )
            self._overridden[key] = compiled
        return compiled

    def needs_async(self, scope: RequestScope, dep: Dependant) -> bool:
        return any(
            (use := self.effective(scope, sub)).kind not in SYNC_KINDS or self.needs_async(scope, use)
            for sub in dep.dependencies
        )

    # -- own parameters ------------------------------------------------------------------------
    def own_values(self, scope: RequestScope, dep: Dependant, values: dict[str, Any], errors: list[Any]) -> None:
        for spec in dep.params:
            if spec.model:
                value, errs = spec.validate(model_input(spec, scope.request))
            else:
                if dep.python_extract:
                    raw = python_raw(spec, scope.request)
                    if raw is None and not spec.required:
                        values[spec.arg] = fresh_default(spec.default)
                        continue
                elif spec.name in scope.slots:
                    values[spec.arg] = scope.slots[spec.name]
                    continue
                else:
                    raw = scope.pending.get(spec.slot)
                if raw is None:
                    errors.append(missing_error(spec.loc))
                    continue
                value, errs = spec.validate(raw)
            if errs:
                errors.extend(errs)
            else:
                values[spec.arg] = value
        if dep.body:
            if scope.body is None:
                # An override declaring a body on a route that has none: nothing was sent for it.
                scope.body = ReceivedBody.absent()
            errors.extend(scope.body.values(dep.body, self.route.signature.embed_body, values))
        for name in dep.connection_params:
            values[name] = scope.request
        if dep.response_param:
            values[dep.response_param] = self.sub_response(scope)
        if dep.background_param:
            if scope.background is None:
                scope.background = BackgroundTasks()
            values[dep.background_param] = scope.background
        if dep.scopes_param:
            # Not at the top: `import turboapi` does not load the security package.
            from .security.oauth2 import SecurityScopes

            values[dep.scopes_param] = SecurityScopes(scopes=dep.scopes)

    @staticmethod
    def sub_response(scope: RequestScope) -> Any:
        if scope.response is None:
            scope.response = sub_response()
        return scope.response

    def read_body(self, scope: RequestScope) -> ReceivedBody | None:
        if not self.route.signature.body:
            return None
        try:
            return ReceivedBody(self.route.signature, scope.data, strict=self.route.strict_json)
        except RequestValidationError as exc:
            locate(exc, self.route, scope.data)
            raise

    def _invalid(self, scope: RequestScope, errors: list[Any]) -> RequestValidationError:
        """The validation error of a tree that did not solve, with the body as FastAPI parsed it."""
        return locate(RequestValidationError(errors, body=scope.error_body()), self.route, scope.data)

    # -- the walk, sync ----------------------------------------------------------------------
    def solve_sync(self, scope: RequestScope, dep: Dependant) -> tuple[dict[str, Any], list[Any]]:
        values: dict[str, Any] = {}
        errors: list[Any] = []
        for sub in dep.dependencies:
            use = self.effective(scope, sub)
            sub_values, sub_errors = self.solve_sync(scope, use)
            if sub_errors:
                errors.extend(sub_errors)
                continue
            key = sub.cache_key
            # A dependency's call is never None (only a route's root may have none); the type
            # says Optional, and on this per-request path an ignore costs nothing where a cast would.
            if sub.use_cache and key in scope.cache:
                solved = scope.cache[key]
            elif use.kind == "gen":
                stack = scope.function_stack if sub.scope == "function" else scope.stack
                solved = stack.enter_context(contextmanager(use.call)(**sub_values))  # type: ignore[arg-type]
            else:
                solved = use.call(**sub_values)  # type: ignore[misc]
            if sub.name is not None:
                values[sub.name] = solved
            scope.cache.setdefault(key, solved)
        self.own_values(scope, dep, values, errors)
        return values, errors

    def run_sync(self, scope: RequestScope) -> Any:
        """The handler of a route whose tree is all sync, on a pool thread."""
        if scope.overrides and self.needs_async(scope, self.root):
            # An override made the tree async: solve it on a private event loop.
            runner = asyncio.Runner()
            try:
                response = runner.run(self.run_async(scope))
            except BaseException:
                runner.close()
                raise
            if scope.after is not None:
                scope.after.runner = runner
            else:
                runner.close()
            return response
        route = self.route
        stack = scope.stack = ExitStack()
        response = None
        try:
            scope.body = self.read_body(scope)
            with ExitStack() as function_stack:
                scope.function_stack = function_stack
                values, errors = self.solve_sync(scope, self.root)
                if errors:
                    raise self._invalid(scope, errors)
                result = route.endpoint(**values)
                response = self.respond(result, scope)
            if response is None:
                raise FastAPIError(NOT_AWAITED)
        except BaseException as exc:
            scope.close_body()
            if stack.__exit__(type(exc), exc, exc.__traceback__):
                raise FastAPIError(NOT_AWAITED) from exc
            raise
        return self.attach_after(response, scope)

    # -- the walk, async ---------------------------------------------------------------------
    async def solve_async(self, scope: RequestScope, dep: Dependant) -> tuple[dict[str, Any], list[Any]]:
        values: dict[str, Any] = {}
        errors: list[Any] = []
        for sub in dep.dependencies:
            use = self.effective(scope, sub)
            sub_values, sub_errors = await self.solve_async(scope, use)
            if sub_errors:
                errors.extend(sub_errors)
                continue
            key = sub.cache_key
            if sub.use_cache and key in scope.cache:
                solved = scope.cache[key]
            elif use.kind in ("gen", "asyncgen"):
                stack = scope.function_stack if sub.scope == "function" else scope.stack
                # use.call: never None, as in solve_sync.
                if use.kind == "asyncgen":
                    cm: Any = asynccontextmanager(use.call)(**sub_values)  # type: ignore[arg-type]
                else:
                    cm = ThreadedContext(contextmanager(use.call)(**sub_values))  # type: ignore[arg-type]
                solved = await stack.enter_async_context(cm)
            elif use.kind == "async":
                solved = await use.call(**sub_values)  # type: ignore[misc]
            else:
                solved = await run_to_end_in_thread(use.call, **sub_values)  # type: ignore[arg-type]
            if sub.name is not None:
                values[sub.name] = solved
            scope.cache.setdefault(key, solved)
        self.own_values(scope, dep, values, errors)
        return values, errors

    async def run_async(self, scope: RequestScope) -> Any:
        """The handler of a route with an async part, as a coroutine on its loop shard."""
        route = self.route
        stack = scope.stack = AsyncExitStack()
        response = None
        try:
            scope.body = self.read_body(scope)
            async with AsyncExitStack() as function_stack:
                scope.function_stack = function_stack
                values, errors = await self.solve_async(scope, self.root)
                if errors:
                    raise self._invalid(scope, errors)
                if self.root.kind == "async":
                    result = await route.endpoint(**values)
                else:
                    result = await run_to_end_in_thread(route.endpoint, **values)
                response = self.respond(result, scope)
            if response is None:
                raise FastAPIError(NOT_AWAITED)
        except BaseException as exc:
            scope.close_body()
            if await stack.__aexit__(type(exc), exc, exc.__traceback__):
                raise FastAPIError(NOT_AWAITED) from exc
            raise
        return self.attach_after(response, scope)

    # -- the response --------------------------------------------------------------------------
    def respond(self, result: Any, scope: RequestScope) -> Any:
        if isinstance(result, RESPONSE_TYPES):
            if result.background is None:
                result.background = scope.background
            return result
        out = self.route.render(result, scope.response)
        if not isinstance(out, Response):
            status = (scope.response.status_code if scope.response is not None else None) or (
                self.route.status_code_or_default
            )
            out = Response(out, status_code=status, media_type="application/json")
            if scope.response is not None:
                out.raw_headers.extend(scope.response.raw_headers)
        out.background = scope.background
        return out

    @staticmethod
    def attach_after(response: Any, scope: RequestScope) -> Any:
        if scope.stack._exit_callbacks or (scope.body is not None and scope.body.form is not None):
            scope.after = After(scope.stack, scope.body)
            scope.data.set_after(scope.after)
        return response
