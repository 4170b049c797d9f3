"""FastAPI names turboapi does not provide yet: reading one raises ``NotSupportedYet`` naming it."""

from __future__ import annotations

from collections.abc import Callable, Iterable


def refuse(module: str, names: Iterable[str], why: str = "it is planned") -> Callable[[str], object]:
    """A module ``__getattr__`` that refuses ``names`` clearly and others as a missing attribute.

    Both are AttributeErrors, so ``hasattr`` answers False; ``from module import name`` turns either
    into Python's ImportError ("cannot import name"), as for any name a module lacks.
    """
    planned = frozenset(names)

    def __getattr__(name: str) -> object:  # noqa: N807 - a module's __getattr__
        if name in planned:
            from turboapi import NotSupportedYet

            raise NotSupportedYet(f"turboapi does not support FastAPI's {name!r} ({module}.{name}) yet; {why}")
        raise AttributeError(f"module {module.replace('fastapi', 'turboapi', 1)!r} has no attribute {name!r}")

    return __getattr__
