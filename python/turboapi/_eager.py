"""Eager tasks for Python 3.11 (3.12 has ``eager_start``): a request's coroutine takes its first
step at once, inside a real Task, in its own copy of the context.

A coroutine that finishes without waiting is answered in the same batch, with no loop iteration;
one that waits simply goes on as the Task it already is, so ``asyncio.current_task()``,
``asyncio.timeout()``, cancellation and anyio see the same Task throughout.
"""

from __future__ import annotations

import contextvars
import itertools
from asyncio import futures, tasks
from typing import Any

_counter = itertools.count(1)
_step = tasks._PyTask._Task__step  # type: ignore[attr-defined]


class EagerTask(tasks._PyTask):  # type: ignore[name-defined,misc]
    """A Task whose first step runs in the constructor instead of being scheduled."""

    def __init__(self, coro: Any, loop: Any) -> None:
        futures._PyFuture.__init__(self, loop=loop)
        self._must_cancel = False
        self._fut_waiter = None
        self._coro = coro
        self._context = contextvars.copy_context()
        self._num_cancels_requested = 0
        self._name = f"Task-{next(_counter)}"
        tasks._register_task(self)
        self._context.run(_step, self)
