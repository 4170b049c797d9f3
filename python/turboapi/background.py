"""Background tasks: work that runs after the response has been handed to the server.

``BackgroundTasks`` is what a handler or dependency declares; the core runs a response's
``background`` right after sending the reply (on the pool thread for sync routes, as a task on the
shard's loop for async ones). ``pending`` counts what has not finished, so the TestClient can wait
for it as Starlette's does before returning a response.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import threading
from collections.abc import Callable
from typing import Any

import starlette.background

logger = logging.getLogger("turboapi.error")


class BackgroundTask(starlette.background.BackgroundTask):
    """Starlette's task, run the core's way: a sync function on a worker thread marked as a
    background (the TestClient must not wait for itself), or inline on a pool thread."""

    async def __call__(self) -> None:
        if self.is_async:
            await self.func(*self.args, **self.kwargs)
        else:
            await asyncio.to_thread(_flagged, self.func, self.args, self.kwargs)

    def run_sync(self) -> None:
        if self.is_async:
            asyncio.run(self.func(*self.args, **self.kwargs))
        else:
            self.func(*self.args, **self.kwargs)


class BackgroundTasks(starlette.background.BackgroundTasks):
    """Tasks added with ``add_task``, run in order after the response."""

    def add_task(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        self.tasks.append(BackgroundTask(func, *args, **kwargs))

    async def __call__(self) -> None:
        for task in self.tasks:
            await task()

    def run_sync(self) -> None:
        for task in self.tasks:
            _run_one_sync(task)


class _Pending:
    """How many backgrounds are still running (the TestClient waits for zero)."""

    def __init__(self) -> None:
        self._count = 0
        self._idle = threading.Condition()

    def enter(self) -> None:
        with self._idle:
            self._count += 1

    def leave(self) -> None:
        with self._idle:
            self._count -= 1
            if self._count == 0:
                self._idle.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        with self._idle:
            return self._idle.wait_for(lambda: self._count == 0, timeout)


pending = _Pending()


_local = threading.local()


def inside_background() -> bool:
    """Whether a background is running here now (a TestClient call from one must not wait for
    the backgrounds, its own among them): on this thread, or as the current task of this loop."""
    if getattr(_local, "running", False):
        return True
    try:
        task = asyncio.current_task()
    except RuntimeError:
        return False
    return task is not None and task in _running


class Sequence:
    """Several after-response works run in order (a response's background, then the request's
    dependency exits), as one."""

    def __init__(self, works: list[Any]) -> None:
        self.works = works

    def run_sync(self) -> None:
        for work in self.works:
            _run_logged_sync(work)

    async def __call__(self) -> None:
        for work in self.works:
            await _run_logged_async(work)


def _flagged(func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """A sync task on a worker thread, marked as a background there."""
    _local.running = True
    try:
        return func(*args, **kwargs)
    finally:
        _local.running = False


def _run_one_sync(work: Any) -> None:
    run = getattr(work, "run_sync", None)
    if run is not None:
        run()
        return
    result = work()
    if inspect.isawaitable(result):
        asyncio.run(_await(result))


def _run_logged_sync(work: Any) -> None:
    """One work; a failure is logged and does not stop the next (a dependency's exit after a
    failed background task still runs)."""
    try:
        _run_one_sync(work)
    except BaseException:
        logger.error("Exception in background task", exc_info=True)


async def _run_logged_async(work: Any) -> None:
    try:
        result = work()
        if inspect.isawaitable(result):
            await result
    except BaseException:
        logger.error("Exception in background task", exc_info=True)


def _run_sync(works: list[Any]) -> None:
    _local.running = True
    try:
        for work in works:
            _run_logged_sync(work)
    finally:
        _local.running = False
        pending.leave()


async def _await(awaitable: Any) -> Any:
    return await awaitable


_running: set[asyncio.Task[Any]] = set()


async def _run_async(works: list[Any]) -> None:
    try:
        for work in works:
            await _run_logged_async(work)
    finally:
        pending.leave()


def start(background: Any, after: Any, loop: Any) -> Callable[[], None] | None:
    """Called by the core before it sends a reply that has a background or after-work (run in
    that order, as Starlette runs a response's background before the request's exit stack).

    With a loop (an async route on its shard), the work becomes a task that first runs after
    this batch, i.e. after the reply went out; returns None. Without one (a sync route on a pool
    thread), returns the function the core calls once the reply is sent.
    """
    works = [w for w in (background, after) if w is not None]
    pending.enter()
    if loop is None:
        return lambda: _run_sync(works)
    task = loop.create_task(_run_async(works))
    _running.add(task)
    task.add_done_callback(_running.discard)
    return None


#: What a ``BackgroundTasks`` parameter may be annotated with.
BACKGROUND_TYPES: tuple[type, ...] = (starlette.background.BackgroundTasks,)
