"""``app.state`` split over loop shards (turboapi.appstate), thread by thread; the real server on
4 shards is tests/test_shard_state.py."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from turboapi import TurboAPI
from turboapi.appstate import State, enter_shard, is_split, split


def on_shard(index: int, work: Callable[[], Any]) -> Any:
    """``work()`` on a fresh thread that is shard ``index``'s, as the shard threads are."""
    result: list[Any] = []
    error: list[BaseException] = []

    def run() -> None:
        enter_shard(index)
        try:
            result.append(work())
        except BaseException as exc:
            error.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if error:
        raise error[0]
    return result[0]


def test_an_app_s_state_is_one_dict_until_it_runs_on_several_shards() -> None:
    app = TurboAPI()
    app.state.config = "import"
    assert not is_split(app.state)
    split(app.state, 1)
    assert not is_split(app.state)
    assert on_shard(0, lambda: app.state.config) == "import"
    app.state.split = 0.8  # State has no public names that would hide the app's own
    assert app.state.split == 0.8


def test_each_shard_writes_its_own_layer_over_what_was_set_before() -> None:
    state = State()
    state.config = "import"
    split(state, 3)
    assert is_split(state)

    def set_lock(index: int) -> None:
        state.lock = f"lock of shard {index}"

    for index in range(3):
        on_shard(index, lambda index=index: set_lock(index))
    assert [on_shard(i, lambda: state.lock) for i in range(3)] == [f"lock of shard {i}" for i in range(3)]
    assert [on_shard(i, lambda: state.config) for i in range(3)] == ["import"] * 3
    # Outside the shards (module level, a def handler's pool thread, a test): shard 0's view.
    assert state.lock == "lock of shard 0" and state["config"] == "import"
    assert sorted(state) == ["config", "lock"] and len(state) == 2


def test_a_write_outside_the_shards_reaches_every_shard() -> None:
    state = State()
    split(state, 2)
    for index in range(2):
        on_shard(index, lambda: setattr(state, "flag", "lifespan"))
    state.flag = "test"
    assert [on_shard(i, lambda: state.flag) for i in range(2)] == ["test", "test"]
    del state.flag
    assert [on_shard(i, lambda: hasattr(state, "flag")) for i in range(2)] == [False, False]
    with pytest.raises(KeyError):
        del state["flag"]


def test_a_missing_name_is_starlette_s_attribute_error() -> None:
    state = State()
    split(state, 2)
    with pytest.raises(AttributeError, match="'State' object has no attribute 'nothing'"):
        _ = state.nothing
    with pytest.raises(AttributeError, match="'State' object has no attribute 'nothing'"):
        on_shard(1, lambda: state.nothing)


def test_a_shard_index_beyond_the_split_reads_the_shared_view() -> None:
    """A thread of another app's shard (two apps in one process) is outside this app's shards."""
    state = State()
    split(state, 2)
    on_shard(0, lambda: setattr(state, "x", 0))
    assert on_shard(7, lambda: state.x) == 0
