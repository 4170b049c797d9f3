"""A request's task cancelled while a sync part of it runs in a thread (what the core does when
the client goes away): the cancellation waits for the thread, so dependency exits never run while
the thread still uses what they close, and a dependency entered in its thread is exited.

The tests cancel the task from inside, at a set time, as the core's CancelOnDrop would.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from turboapi import BackgroundTasks, Depends, FastAPI
from turboapi.testclient import TestClient


def cancel_soon(delay: float = 0.05) -> None:
    task = asyncio.current_task()
    assert task is not None
    asyncio.get_running_loop().call_later(delay, task.cancel)


def settle(events: list[str], last: str, timeout: float = 5.0) -> list[str]:
    deadline = time.monotonic() + timeout
    while last not in events and time.monotonic() < deadline:
        time.sleep(0.01)
    return events


@pytest.mark.timeout(30)
def test_exit_waits_for_the_sync_handler_thread() -> None:
    events: list[str] = []
    app = FastAPI()

    async def session():
        cancel_soon()
        events.append("open")
        try:
            yield "db"
        finally:
            events.append("close")

    @app.get("/")
    def root(db=Depends(session)):
        events.append("handler start")
        time.sleep(0.2)
        events.append("handler done with db")
        return 1

    with TestClient(app, raise_server_exceptions=False) as client:
        client.get("/")
        assert settle(events, "close") == ["open", "handler start", "handler done with db", "close"]


@pytest.mark.timeout(30)
def test_sync_generator_entered_in_its_thread_is_exited() -> None:
    events: list[str] = []
    app = FastAPI()

    async def canceller():
        cancel_soon()

    def slow_resource():
        events.append("enter start")
        time.sleep(0.2)
        events.append("entered")
        try:
            yield 1
        finally:  # the cancellation is thrown in at the yield, as an endpoint's exception would be
            events.append("exit")

    @app.get("/")
    async def root(a=Depends(canceller), b=Depends(slow_resource)):
        return 1

    with TestClient(app, raise_server_exceptions=False) as client:
        client.get("/")
        assert settle(events, "exit") == ["enter start", "entered", "exit"]


@pytest.mark.timeout(30)
def test_sync_route_under_middleware_keeps_its_exits_and_background() -> None:
    events: list[str] = []
    app = FastAPI()

    @app.middleware("http")
    async def cancel_while_route_runs(request, call_next):
        cancel_soon()
        return await call_next(request)

    def resource():
        yield "r"
        events.append("exit")

    @app.get("/")
    def root(tasks: BackgroundTasks, r=Depends(resource)):
        tasks.add_task(events.append, "background")
        time.sleep(0.2)
        events.append("handler done")
        return 1

    with TestClient(app, raise_server_exceptions=False) as client:
        client.get("/")
        assert settle(events, "exit") == ["handler done", "background", "exit"]
