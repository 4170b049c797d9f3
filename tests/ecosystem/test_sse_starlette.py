"""sse-starlette: an endpoint returning ``EventSourceResponse(generator)``, the generator yielding
dicts and ``ServerSentEvent``s, as its README shows; the stream is read as a client reads it."""

import pytest

pytestmark = [pytest.mark.timeout(60), pytest.mark.libraries("sse-starlette")]

APP = """
import asyncio

from fastapi import FastAPI, Request
from sse_starlette import EventSourceResponse, ServerSentEvent

app = FastAPI()


@app.get("/events")
async def events(request: Request, count: int = 3):
    async def generate():
        for i in range(count):
            if await request.is_disconnected():
                break
            yield {"event": "tick", "id": str(i), "data": f"tick {i}"}
            await asyncio.sleep(0.02)
        yield ServerSentEvent(data="first line\\nsecond line", event="multi")
        yield ServerSentEvent(comment="a comment")
        yield {"event": "done", "data": "bye", "retry": 1500}

    return EventSourceResponse(generate())
"""

EXPECTED = (
    "id: 0\r\nevent: tick\r\ndata: tick 0\r\n\r\n"
    "id: 1\r\nevent: tick\r\ndata: tick 1\r\n\r\n"
    "id: 2\r\nevent: tick\r\ndata: tick 2\r\n\r\n"
    "event: multi\r\ndata: first line\r\ndata: second line\r\n\r\n"
    ": a comment\r\n\r\n"
    "event: done\r\ndata: bye\r\nretry: 1500\r\n\r\n"
)


def exercise(client):
    with client.stream("GET", "/events", headers={"Accept": "text/event-stream"}) as response:
        body = b"".join(response.iter_bytes()).decode()
        return {"status": response.status_code, "headers": dict(response.headers), "body": body}


def test_events_arrive_in_order_with_sse_framing(ecosystem):
    seen = ecosystem(APP, exercise)
    assert (seen["status"], seen["body"]) == (200, EXPECTED)
    headers = seen["headers"]
    assert headers["content-type"] == "text/event-stream; charset=utf-8"
    assert headers["cache-control"] == "no-store"
    assert headers["x-accel-buffering"] == "no"
    assert "content-length" not in headers
