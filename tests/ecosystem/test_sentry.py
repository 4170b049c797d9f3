"""sentry-sdk's FastAPI integration, enabled as its docs say (``sentry_sdk.init(...)`` before the app
is made; the integration switches itself on when fastapi is installed), with a transport that keeps
the envelopes in memory instead of sending them (the DSN points nowhere and is never reached)."""

import time

import pytest
from observe import answer

pytestmark = [pytest.mark.timeout(60), pytest.mark.libraries("sentry-sdk")]

APP = """
import sentry_sdk
from sentry_sdk.transport import Transport


class KeepInMemory(Transport):
    def __init__(self):
        super().__init__()
        self.events = []

    def capture_envelope(self, envelope):
        for item in envelope.items:
            if item.type in ("event", "transaction"):
                self.events.append(item.payload.json)


transport = KeepInMemory()
sentry_sdk.init(
    dsn="http://public@127.0.0.1:9/1",
    transport=transport,
    traces_sample_rate=1.0,
    send_default_pii=True,
)

from fastapi import FastAPI

app = FastAPI()


@app.get("/orders/{order_id}")
async def order_share(order_id: int):
    return {"share": 100 / order_id}


def summary(event):
    exception = ((event.get("exception") or {}).get("values") or [{}])[-1]
    trace = event.get("contexts", {}).get("trace", {})
    return {
        "type": event.get("type", "error"),
        "transaction": event.get("transaction"),
        "source": event.get("transaction_info", {}).get("source"),
        "exception": [exception.get("type"), exception.get("value")],
        "handled": exception.get("mechanism", {}).get("handled"),
        "request": {key: event.get("request", {}).get(key) for key in ("method", "url")},
        "op": trace.get("op"),
        "status": trace.get("status"),
    }


@app.get("/sentry-events")
def sentry_events():
    return [summary(event) for event in transport.events]
"""


def exercise(client):
    ok = answer(client.get("/orders/4"))
    try:
        # uvicorn drops the connection after an unhandled exception: don't reuse it
        failed = client.get("/orders/0", headers={"Connection": "close"}).status_code
    except ZeroDivisionError as exc:
        # TestClient hands the app's exception to the test, as Starlette's does
        failed = f"raised {type(exc).__name__}"
    # Transactions are sent once their response has gone out: wait for them a little.
    deadline = time.monotonic() + 5
    while True:
        events = answer(client.get("/sentry-events"))
        listed = events["body"] if isinstance(events["body"], list) else []
        done = [e for e in listed if e["type"] == "transaction" and e["transaction"] == "/orders/{order_id}"]
        if len(done) >= 2 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    return {"ok": ok, "failed": failed, "events": events}


def test_exception_is_captured_with_the_route_as_transaction(ecosystem):
    seen = ecosystem(APP, exercise)
    assert seen["ok"] == {"status": 200, "body": {"share": 25.0}}
    assert seen["failed"] in (500, "raised ZeroDivisionError")
    assert seen["events"]["status"] == 200
    events = [e for e in seen["events"]["body"] if e["transaction"] != "/sentry-events"]
    errors = [e for e in events if e["type"] == "error"]
    assert len(errors) == 1, events
    (error,) = errors
    url = error["request"]["url"] or ""
    assert error == {
        "type": "error",
        "transaction": "/orders/{order_id}",
        "source": "route",
        "exception": ["ZeroDivisionError", "division by zero"],
        "handled": False,
        "request": {"method": "GET", "url": url},
        "op": "http.server",
        "status": "internal_error",
    }
    assert url.endswith("/orders/0")
    transactions = sorted(
        (e["transaction"], e["source"], e["op"], e["status"]) for e in events if e["type"] == "transaction"
    )
    assert transactions == [
        ("/orders/{order_id}", "route", "http.server", "internal_error"),
        ("/orders/{order_id}", "route", "http.server", "ok"),
    ]
