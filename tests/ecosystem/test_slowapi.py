"""slowapi as its docs set it up: a ``Limiter`` on ``app.state.limiter``, its exception handler, and
``@limiter.limit(...)`` on endpoints that take ``request: Request`` (async and sync)."""

import pytest
from observe import answer

pytestmark = [pytest.mark.timeout(60), pytest.mark.libraries("slowapi")]

APP = """
from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse
from slowapi import Limiter, _rate_limit_exceeded_handler
from slowapi.errors import RateLimitExceeded
from slowapi.util import get_remote_address

limiter = Limiter(key_func=get_remote_address)
app = FastAPI()
app.state.limiter = limiter
app.add_exception_handler(RateLimitExceeded, _rate_limit_exceeded_handler)


@app.get("/home")
@limiter.limit("3/minute")
async def homepage(request: Request):
    return PlainTextResponse("home")


@app.get("/sync")
@limiter.limit("2/minute")
def sync_page(request: Request):
    return {"page": "sync"}


@app.get("/free")
async def free(request: Request):
    return {"page": "free"}
"""


def exercise(client):
    return {
        "home": [answer(client.get("/home")) for _ in range(5)],
        "sync": [client.get("/sync").status_code for _ in range(3)],
        "free": [client.get("/free").status_code for _ in range(5)],
    }


def test_rate_limit_answers_429_after_the_limit(ecosystem):
    seen = ecosystem(APP, exercise)
    allowed = {"status": 200, "body": "home"}
    limited = {"status": 429, "body": {"error": "Rate limit exceeded: 3 per 1 minute"}}
    assert seen["home"] == [allowed] * 3 + [limited] * 2
    assert seen["sync"] == [200, 200, 429]
    assert seen["free"] == [200] * 5
