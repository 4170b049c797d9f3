"""fastapi-limiter (0.2, in memory through pyrate-limiter: no Redis) as its README sets it up:
``dependencies=[Depends(RateLimiter(limiter=Limiter(Rate(...))))]`` on the route."""

import pytest
from observe import answer

pytestmark = [pytest.mark.timeout(60), pytest.mark.libraries("fastapi-limiter", "pyrate-limiter")]

APP = """
from fastapi import Depends, FastAPI
from fastapi_limiter.depends import RateLimiter
from pyrate_limiter import Duration, Limiter, Rate

app = FastAPI()


@app.get("/", dependencies=[Depends(RateLimiter(limiter=Limiter(Rate(2, Duration.MINUTE))))])
async def index():
    return {"msg": "Hello World"}


@app.get("/other", dependencies=[Depends(RateLimiter(limiter=Limiter(Rate(3, Duration.MINUTE))))])
def other():
    return {"msg": "other"}
"""


def exercise(client):
    return {
        "index": [answer(client.get("/")) for _ in range(4)],
        "other": [client.get("/other").status_code for _ in range(4)],
    }


def test_requests_past_the_rate_get_429(ecosystem):
    seen = ecosystem(APP, exercise)
    allowed = {"status": 200, "body": {"msg": "Hello World"}}
    limited = {"status": 429, "body": {"detail": "Too Many Requests"}}
    assert seen["index"] == [allowed, allowed, limited, limited]
    assert seen["other"] == [200, 200, 200, 429]
