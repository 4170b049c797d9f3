"""asgi-correlation-id: ``app.add_middleware(CorrelationIdMiddleware)``, the id read from
``correlation_id`` in the handler and added to log records by ``CorrelationIdFilter``, as its README
sets them up."""

import re

import pytest
from observe import answer

pytestmark = [pytest.mark.timeout(60), pytest.mark.libraries("asgi-correlation-id")]

APP = """
import logging

from fastapi import FastAPI, Request
from asgi_correlation_id import CorrelationIdFilter, CorrelationIdMiddleware, correlation_id

log_lines = []


class Remember(logging.Handler):
    def emit(self, record):
        log_lines.append(self.format(record))


handler = Remember()
handler.addFilter(CorrelationIdFilter(uuid_length=32, default_value="-"))
handler.setFormatter(logging.Formatter("%(levelname)s [%(correlation_id)s] %(name)s %(message)s"))
log = logging.getLogger("shop")
log.addHandler(handler)
log.setLevel(logging.INFO)

app = FastAPI()
app.add_middleware(CorrelationIdMiddleware)


@app.get("/orders/{order_id}")
def get_order(order_id: int, request: Request):
    log.info("looking up order %s", order_id)
    return {
        "correlation_id": correlation_id.get(),
        "request_header": request.headers.get("x-request-id"),
        "log_line": log_lines[-1],
    }
"""

SENT_ID = "0f8fad5bd9cb469fa16570867728950e"


def exercise(client):
    return {
        name: answer(client.get("/orders/42", headers=headers), "x-request-id")
        for name, headers in [
            ("generated", {}),
            ("echoed", {"X-Request-ID": SENT_ID}),
            ("invalid", {"X-Request-ID": "not a valid id"}),
        ]
    }


def test_correlation_id_is_generated_echoed_and_seen_by_the_handler(ecosystem):
    seen = ecosystem(APP, exercise)
    for name in ("generated", "echoed", "invalid"):
        the_id = seen[name]["x-request-id"]
        # the id the client gets is the one the handler, the request and the log line saw
        assert seen[name] == {
            "status": 200,
            "body": {
                "correlation_id": the_id,
                "request_header": the_id,
                "log_line": f"INFO [{the_id}] shop looking up order 42",
            },
            "x-request-id": the_id,
        }
    assert re.fullmatch(r"[0-9a-f]{32}", seen["generated"]["x-request-id"] or "")
    assert seen["echoed"]["x-request-id"] == SENT_ID
    # an id that fails validation is replaced by a new one
    assert re.fullmatch(r"[0-9a-f]{32}", seen["invalid"]["x-request-id"] or "")
    assert seen["generated"]["x-request-id"] != seen["invalid"]["x-request-id"]
