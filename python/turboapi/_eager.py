"""Eager start of a request's coroutine on its loop shard (Python 3.11 has no ``eager_start``).

``start(coro, loop)`` creates the request's Task, then takes the coroutine's first step at once,
inside that Task (``asyncio.current_task()`` is it) and in the Task's own copy of the context.
A coroutine that finishes without waiting is answered in the same batch; one that waits goes on
as that same Task, so ``asyncio.timeout()``, cancellation and anyio see one Task throughout.

The Task is a C ``asyncio.Task`` running ``_CarryOn``, which continues the already-started
coroutine, so later steps run at C-Task speed (a pure-Python Task subclass that stepped eagerly
cost 3-5 us more per step).

A coroutine whose code cannot wait (no ``await`` at all) needs no Task: it runs inline, to its
end, with the shard's stand-in Task as ``asyncio.current_task()`` (``start``'s docstring).
"""

from __future__ import annotations

import asyncio
import contextvars
import dis
from asyncio import tasks
from collections.abc import Callable, Coroutine
from types import CodeType
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
    """(DONE, result), (FAILED, exception) or (WAITING, task whose result is the handler's).

    A coroutine that cannot wait (``async def`` with no ``await``, as FastAPI's docs write most
    handlers) runs inline, without a Task of its own: no Task to create, register, schedule and
    step once more through the loop after it has answered (json-async: 56.5k -> 42.5k instructions
    a request; POST /items: 81.9k -> 71.7k). The ``inline_no_await`` setting off: ``start_in_task``.
    """
    context = _context_from_caller(loop) if caller_context else contextvars.copy_context()
    code = getattr(coro, "cr_code", None)
    if code is not None and _cannot_wait(code):
        return _run_inline(coro, loop, context)
    return _start_in_task(coro, loop, context)


def start_in_task(coro: Any, loop: Any) -> tuple[int, Any]:
    """``start``, every coroutine in a Task of its own."""
    context = _context_from_caller(loop) if caller_context else contextvars.copy_context()
    return _start_in_task(coro, loop, context)


def _cannot_wait(code: CodeType) -> bool:
    """Whether a coroutine of ``code`` runs to its end in one step: every ``await`` (``async with``,
    ``async for``, an async comprehension) suspends through a YIELD_VALUE, and it has none."""
    known = _no_yield.get(code)
    if known is None:
        known = _no_yield[code] = not any(i.opname == "YIELD_VALUE" for i in dis.get_instructions(code))
    return known


#: Code object -> it has no YIELD_VALUE (one entry per ``async def`` handler the app runs).
_no_yield: dict[CodeType, bool] = {}


def _run_inline(coro: Any, loop: Any, context: contextvars.Context) -> tuple[int, Any]:
    """One step, in the request's own copy of the context, with the shard's stand-in Task as
    ``asyncio.current_task()`` (a handler that asks for its Task gets one)."""
    stand_in = _stand_ins.get(loop)
    if stand_in is None:
        stand_in = _stand_ins[loop] = loop.create_task(_stand_in(), name="turboapi-inline-step")
    _enter_task(loop, stand_in)
    try:
        awaiting = context.run(coro.send, None)
    except StopIteration as stop:
        return DONE, stop.value
    except BaseException as exc:
        return FAILED, exc
    finally:
        _leave_task(loop, stand_in)
    # Unreachable for such code; should it ever wait, it carries on in a Task of its own.
    started = _CarryOn(coro)
    started.awaiting = awaiting
    return WAITING, loop.create_task(started, context=context)


#: Loop -> the Task that stands in as current during inline steps there: one per shard, waiting
#: until the shard's loop stops, cancels it with its other tasks and forgets it (``forget``).
_stand_ins: dict[Any, Any] = {}


def forget(loop: Any) -> None:
    """The shard's loop has stopped: its stand-in goes (it holds the loop)."""
    _stand_ins.pop(loop, None)


async def _stand_in() -> None:
    await asyncio.get_running_loop().create_future()


def _start_in_task(coro: Any, loop: Any, context: contextvars.Context) -> tuple[int, Any]:
    started = _CarryOn(coro)
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
