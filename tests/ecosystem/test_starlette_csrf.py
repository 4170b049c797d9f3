"""starlette-csrf (double submit cookie) as its README sets it up for FastAPI:
``app.add_middleware(CSRFMiddleware, secret=...)``."""

import pytest
from observe import answer

pytestmark = [pytest.mark.timeout(60), pytest.mark.libraries("starlette-csrf")]

APP = """
import re

from fastapi import FastAPI
from starlette_csrf import CSRFMiddleware

app = FastAPI()
app.add_middleware(CSRFMiddleware, secret="ecosystem-suite-secret", exempt_urls=[re.compile(r"/webhooks/.*")])


@app.get("/form")
def form():
    return {"form": "ready"}


@app.post("/submit")
def submit(payload: dict):
    return {"accepted": payload}


@app.post("/webhooks/payments")
def webhook(payload: dict):
    return {"received": payload}
"""


def exercise(client):
    seen = {"form": answer(client.get("/form"), "set-cookie")}
    token = client.cookies.get("csrftoken")
    seen["token"] = token
    seen["missing"] = answer(client.post("/submit", json={"n": 1}))
    seen["wrong"] = answer(client.post("/submit", json={"n": 2}, headers={"x-csrftoken": "forged"}))
    seen["right"] = answer(client.post("/submit", json={"n": 3}, headers={"x-csrftoken": token or ""}))
    seen["exempt"] = answer(client.post("/webhooks/payments", json={"n": 4}))
    return seen


def test_unsafe_requests_need_the_token_from_the_cookie(ecosystem):
    seen = ecosystem(APP, exercise)
    form = seen["form"]
    assert (form["status"], form["body"]) == (200, {"form": "ready"})
    attributes = [part.strip().lower() for part in (form["set-cookie"] or "").split(";")]
    assert attributes[0].startswith("csrftoken=")
    assert {"path=/", "samesite=lax"} <= set(attributes)
    assert seen["token"]
    assert seen["missing"] == {"status": 403, "body": "CSRF token verification failed"}
    assert seen["wrong"] == {"status": 403, "body": "CSRF token verification failed"}
    assert seen["right"] == {"status": 200, "body": {"accepted": {"n": 3}}}
    assert seen["exempt"] == {"status": 200, "body": {"received": {"n": 4}}}
