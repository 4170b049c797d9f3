"""``app.state`` on loop shards: one state per shard for what the shards set, one for the rest.

FastAPI's idiom puts loop-bound objects on ``app.state`` in the lifespan (``app.state.lock =
asyncio.Lock()``, an ``httpx.AsyncClient``, a database pool). With several loop shards, each shard
runs the lifespan on its own loop; were ``app.state`` one dict, the last shard's objects would win
and the other shards would use a lock or a pool bound to a loop not theirs (errors, lost wake-ups,
hangs). So, while an app runs on more than one shard:

- on a shard's thread (its lifespan, its handlers, its middleware) ``app.state`` reads and writes
  that shard's own layer, over what was set outside the shards;
- anywhere else (module level, ``def`` handlers on the pool threads, a test's thread) a write is
  seen by every shard (it replaces the shards' own values of that name) and a read sees shard 0's
  view, as if the app had one shard.

With one shard (the default) there is one dict, exactly Starlette's ``State``: the same as several
worker processes, each with its own ``app.state``.
"""

from __future__ import annotations

import threading
from collections import ChainMap
from collections.abc import Iterator, MutableMapping
from typing import Any

import starlette.datastructures

_thread = threading.local()


def enter_shard(index: int) -> None:
    """Called on a shard's thread before its loop runs: ``app.state`` here is shard ``index``'s."""
    _thread.shard = index


def current_shard() -> int | None:
    """The loop shard whose thread this is, None on any other thread."""
    return getattr(_thread, "shard", None)


class _Everywhere(MutableMapping[str, Any]):
    """``app.state`` outside the shards: reads see shard 0's view, writes reach every shard."""

    def __init__(self, shared: dict[str, Any], layers: list[dict[str, Any]]) -> None:
        self._shared = shared
        self._layers = layers

    def _view(self) -> ChainMap[str, Any]:
        return ChainMap(self._layers[0], self._shared)

    def __getitem__(self, key: str) -> Any:
        return self._view()[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self._shared[key] = value
        for layer in self._layers:
            layer.pop(key, None)

    def __delitem__(self, key: str) -> None:
        found = self._shared.pop(key, _MISSING) is not _MISSING
        for layer in self._layers:
            found = layer.pop(key, _MISSING) is not _MISSING or found
        if not found:
            raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter(self._view())

    def __len__(self) -> int:
        return len(self._view())


_MISSING = object()


class State(starlette.datastructures.State):
    """Starlette's ``State``, one per shard while the app runs on several (module docstring).
    It has no public names of its own: each would hide the app's ``app.state.<name>``."""

    _shared: dict[str, Any]
    # One view per shard, then the view of every other thread; empty while not split.
    _views: tuple[MutableMapping[str, Any], ...]

    def __init__(self, state: dict[str, Any] | None = None) -> None:
        object.__setattr__(self, "_shared", {} if state is None else state)
        object.__setattr__(self, "_views", ())

    @property
    def _state(self) -> MutableMapping[str, Any]:  # type: ignore[override]
        views = self._views
        if not views:
            return self._shared
        index = current_shard()
        if index is not None and index < len(views) - 1:
            return views[index]
        return views[-1]


def split(state: State, count: int) -> None:
    """At startup: each of ``count`` shards gets its own layer over what ``state`` holds now; one
    shard keeps the single dict."""
    if count <= 1:
        object.__setattr__(state, "_views", ())
        return
    layers: list[dict[str, Any]] = [{} for _ in range(count)]
    views = tuple(ChainMap(layer, state._shared) for layer in layers)
    object.__setattr__(state, "_views", (*views, _Everywhere(state._shared, layers)))


def is_split(state: object) -> bool:
    """Whether ``state`` is an app's state split over several running shards."""
    return isinstance(state, State) and bool(state._views)


# asyncio's words: "... is bound to a different event loop", "... attached to a different loop".
_CROSS_LOOP_WORDS = ("different event loop", "different loop")
CROSS_LOOP_NOTE = (
    "turboapi: an object bound to one loop shard's event loop was used on another. With several "
    "shards, create loop-bound objects (locks, queues, clients, pools) in the lifespan, where "
    "app.state and the lifespan's state are per shard, not at import time or in a shared cache; "
    "or serve with shards=1."
)


def explain_cross_loop(exc: BaseException) -> None:
    """Adds ``CROSS_LOOP_NOTE`` to an error asyncio raised for an object of another shard's loop,
    so that the logged traceback says what to change."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if any(words in str(current) for words in _CROSS_LOOP_WORDS):
            if CROSS_LOOP_NOTE not in getattr(exc, "__notes__", ()):
                exc.add_note(CROSS_LOOP_NOTE)
            return
        current = current.__cause__ or current.__context__
