"""Run blocking code without blocking the event loop (``fastapi.concurrency``), on asyncio threads.

Every helper copies the caller's ``contextvars`` into the worker thread, so context set by a request
(or by middleware) is visible to the sync code it calls.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, asynccontextmanager
from typing import Any, ParamSpec, TypeVar

_P = ParamSpec("_P")
_T = TypeVar("_T")

# ``next()`` returns this instead of raising StopIteration, which cannot cross a Future.
_EXHAUSTED: Any = object()

# Context-manager exits get threads of their own. If ``__exit__`` had to queue for the shared pool while
# every worker sits in an ``__enter__`` waiting for a resource only an exit gives back (a connection pool,
# say), nothing would ever move. This pool is sized far beyond any realistic number of simultaneous exits,
# so an exit never waits; its idle threads are reused, so a thread is not started per exit. Made here
# (it starts no thread until used), not on first use: shards on free-threaded Python could race to make two.
_EXIT_POOL_SIZE = 1024
_exit_pool = ThreadPoolExecutor(max_workers=_EXIT_POOL_SIZE, thread_name_prefix="turboapi-cm-exit")


async def run_in_threadpool(func: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs) -> _T:
    """Call the sync ``func(*args, **kwargs)`` in a worker thread and return (or raise) what it does."""
    return await asyncio.to_thread(func, *args, **kwargs)


async def run_to_end_in_thread(func: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs) -> _T:
    """``run_in_threadpool`` that, if the calling task is cancelled (a client went away), still
    waits for the thread to finish before the cancellation goes on: a thread cannot be stopped,
    so what runs after (a dependency's exit closing a session the thread uses) must wait for it,
    as anyio's ``abandon_on_cancel=False`` does in FastAPI."""
    loop = asyncio.get_running_loop()
    context = contextvars.copy_context()
    future = loop.run_in_executor(None, functools.partial(context.run, func, *args, **kwargs))
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        await asyncio.wait([future])
        raise


async def iterate_in_threadpool(iterator: Iterable[_T]) -> AsyncIterator[_T]:
    """Iterate a sync iterable, each ``next()`` in a worker thread, as an async iterator. Cancelled
    while a ``next()`` runs (a streaming client went away), it waits for that call, then closes the
    iterator, so a generator's ``finally`` runs."""
    it: Iterator[_T] = iter(iterator)
    try:
        while True:
            item = await run_to_end_in_thread(next, it, _EXHAUSTED)
            if item is _EXHAUSTED:
                return
            yield item
    finally:
        close = getattr(it, "close", None)
        if close is not None:
            close()


async def _run_exit(func: Callable[..., _T], *args: Any) -> _T:
    """``func(*args)`` on the exit pool; a caller cancelled meanwhile still waits for it to finish."""
    call = functools.partial(contextvars.copy_context().run, func, *args)
    future = asyncio.get_running_loop().run_in_executor(_exit_pool, call)
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        await asyncio.wait([future])
        raise


class ThreadedContext:
    """A sync context manager used from async code: ``__enter__`` on a worker thread (waited for
    even if the caller is cancelled, and then exited, since no one else would), ``__exit__`` on the
    exit pool (never queued behind enters that wait for what only an exit gives back)."""

    def __init__(self, cm: AbstractContextManager[Any]) -> None:
        self.cm = cm

    async def __aenter__(self) -> Any:
        entered = False

        def enter() -> Any:
            nonlocal entered
            value = self.cm.__enter__()
            entered = True
            return value

        try:
            return await run_to_end_in_thread(enter)
        except asyncio.CancelledError as cancelled:
            if entered:
                await _run_exit(self.cm.__exit__, type(cancelled), cancelled, cancelled.__traceback__)
            raise

    async def __aexit__(self, *exc: Any) -> Any:
        return await _run_exit(self.cm.__exit__, *exc)


@asynccontextmanager
async def contextmanager_in_threadpool(cm: AbstractContextManager[_T]) -> AsyncIterator[_T]:
    """Use a sync context manager from async code, as Starlette's helper (``ThreadedContext``): an
    exception raised in the ``async with`` body is handed to ``__exit__`` and re-raised unless
    ``__exit__`` returns true, as with a plain ``with``."""
    async with ThreadedContext(cm) as value:
        yield value


async def run_until_first_complete(*args: tuple[Callable[..., Awaitable[Any]], dict[str, Any]]) -> None:
    """Deprecated (as in Starlette): run each ``func(**kwargs)`` concurrently; when one finishes, cancel the rest.

    An exception from any of them is re-raised once the others are cancelled.
    """
    warnings.warn(
        "run_until_first_complete is deprecated and will be removed in a future version",
        DeprecationWarning,
        stacklevel=2,
    )
    tasks = [asyncio.ensure_future(func(**kwargs)) for func, kwargs in args]
    if not tasks:
        return
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        outcomes = await asyncio.gather(*tasks, return_exceptions=True)
    for outcome in outcomes:
        if isinstance(outcome, Exception):
            raise outcome


__all__ = [
    "asynccontextmanager",
    "contextmanager_in_threadpool",
    "iterate_in_threadpool",
    "run_in_threadpool",
    "run_until_first_complete",
]
