"""starlette-context: request-scoped ``context`` filled by plugins, with either of its documented
middlewares (``ContextMiddleware``, a BaseHTTPMiddleware, and ``RawContextMiddleware``, pure ASGI)
added with ``app.add_middleware(..., plugins=(...))``."""

import re

import pytest
from observe import answer

pytestmark = [pytest.mark.timeout(60), pytest.mark.libraries("starlette-context")]

APP = """
from fastapi import Depends, FastAPI
from starlette_context import context, plugins
from starlette_context.middleware import MIDDLEWARE

app = FastAPI()
app.add_middleware(
    MIDDLEWARE,
    plugins=(plugins.RequestIdPlugin(), plugins.CorrelationIdPlugin(), plugins.UserAgentPlugin()),
)


def tenant(tenant: str = "public"):
    context["tenant"] = tenant
    return tenant


@app.get("/context")
async def show_context(tenant: str = Depends(tenant)):
    context["handled_by"] = "show_context"
    return context.data


@app.get("/context-sync")
def show_context_sync():
    return {"exists": context.exists(), "user_agent": context["User-Agent"]}
"""

CORRELATION_ID = "6b2d1a2fd1bb4a7e8c1f5b0e2a9d3c47"


def exercise(client):
    headers = {"User-Agent": "ecosystem-probe", "X-Correlation-ID": CORRELATION_ID}
    return {
        "context": answer(client.get("/context?tenant=acme", headers=headers), "x-request-id", "x-correlation-id"),
        "sync": answer(client.get("/context-sync", headers={"User-Agent": "ecosystem-probe"})),
        "invalid": answer(client.get("/context", headers={"X-Request-ID": "not-a-uuid"})),
    }


@pytest.mark.parametrize("middleware", ["ContextMiddleware", "RawContextMiddleware"])
def test_context_holds_request_data(ecosystem, middleware):
    seen = ecosystem(APP.replace("MIDDLEWARE", middleware), exercise)
    request_id = seen["context"]["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", request_id or "")
    assert seen["context"] == {
        "status": 200,
        "body": {
            "X-Request-ID": request_id,
            "X-Correlation-ID": CORRELATION_ID,
            "User-Agent": "ecosystem-probe",
            "tenant": "acme",  # set by a dependency
            "handled_by": "show_context",
        },
        # the plugins put their ids on the response
        "x-request-id": request_id,
        "x-correlation-id": CORRELATION_ID,
    }
    assert seen["sync"] == {"status": 200, "body": {"exists": True, "user_agent": "ecosystem-probe"}}
    # a request id that is no UUID is refused with the middleware's default error response
    assert seen["invalid"] == {"status": 400, "body": ""}
