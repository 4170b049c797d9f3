"""Eager start of a request's coroutine on its loop shard (Python 3.11 has no ``eager_start``).

``start(coro, loop)`` creates the request's Task, then takes the coroutine's first step at once,
inside that Task (``asyncio.current_task()`` is it) and in the Task's own copy of the context.
A coroutine that finishes without waiting is answered in the same batch; one that waits goes on
as that same Task, so ``asyncio.timeout()``, cancellation and anyio see one Task throughout.

The Task is a C ``asyncio.Task`` running ``_CarryOn``, which continues the already-started
coroutine, so later steps run at C-Task speed (a pure-Python Task subclass that stepped eagerly
cost 3-5 us more per step).
"""

from __future__ import annotations

import contextvars
from asyncio import tasks
from collections.abc import Callable, Coroutine
from typing import Any

from .contract import EagerState

_enter_task = tasks._enter_task
_leave_task = tasks._leave_task

# Plain ints, not enum members: the core reads them as numbers (contract.EagerState).
DONE, FAILED, WAITING = int(EagerState.DONE), int(EagerState.FAILED), int(EagerState.WAITING)

#: Loop -> what gives the context requests started on it copy from: the TestClient's, which runs
#: the app in a copy of its caller's context as Starlette's does (None: the loop's own). Empty
#: when serving sockets, so the check costs one test of an empty dict.
caller_context: dict[Any, Callable[[], contextvars.Context | None]] = {}


class _CarryOn(Coroutine[Any, Any, Any]):
    """The Task's coroutine: continues the handler's coroutine from where its eager step left it.

    An object rather than a generator so that a cancellation arriving before the Task's first
    step is thrown into the handler (its ``except CancelledError`` runs), not into a generator
    that has not started.
    """

    __slots__ = ("coro", "finished", "awaiting", "resumed")

    def __init__(self, coro: Any) -> None:
        self.coro = coro
        self.finished = False
        self.awaiting: Any = None
        self.resumed = False

    def send(self, value: Any) -> Any:
        if not self.resumed:
            self.resumed = True
            if self.finished:
                raise StopIteration(None)  # answered already, from the eager step
            return self.awaiting  # the Task now waits on what the handler is waiting on
        return self.coro.send(value)

    def throw(self, exc: Any, *args: Any) -> Any:
        self.resumed = True
        if self.finished:
            raise exc
        return self.coro.throw(exc, *args)

    def close(self) -> None:
        self.coro.close()

    def __await__(self) -> Any:
        return self

    def __getattr__(self, name: str) -> Any:
        # Task reprs name the handler's coroutine, not this wrapper.
        if name in ("__qualname__", "__name__"):
            return getattr(self.coro, name)
        raise AttributeError(name)


def start(coro: Any, loop: Any) -> tuple[int, Any]:
    """(DONE, result), (FAILED, exception) or (WAITING, task whose result is the handler's)."""
    started = _CarryOn(coro)
    context = _context_from_caller(loop) if caller_context else contextvars.copy_context()
    task = loop.create_task(started, context=context)
    _enter_task(loop, task)
    try:
        started.awaiting = context.run(coro.send, None)
    except StopIteration as stop:
        started.finished = True
        return DONE, stop.value
    except BaseException as exc:
        started.finished = True
        return FAILED, exc
    finally:
        _leave_task(loop, task)
    return WAITING, task


def _context_from_caller(loop: Any) -> contextvars.Context:
    source = caller_context.get(loop)
    caller = source() if source is not None else None
    # A copy: the caller's own context is entered in the caller's thread.
    return caller.copy() if caller is not None else contextvars.copy_context()
