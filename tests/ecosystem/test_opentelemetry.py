"""opentelemetry-instrumentation-fastapi: ``FastAPIInstrumentor.instrument_app(app)`` with the SDK's
tracer provider and an in-memory span exporter (nothing leaves the process); the spans recorded
are read back through a route the instrumentation is told to leave out."""

import pytest
from observe import answer

pytestmark = [
    pytest.mark.timeout(60),
    pytest.mark.libraries("opentelemetry-instrumentation-fastapi", "opentelemetry-sdk"),
]

APP = """
from fastapi import FastAPI
from opentelemetry import trace
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

exporter = InMemorySpanExporter()
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(exporter))
trace.set_tracer_provider(provider)
tracer = trace.get_tracer("shop")

app = FastAPI()


@app.get("/items/{item_id}")
async def read_item(item_id: int):
    with tracer.start_as_current_span("load item"):
        return {"item_id": item_id}


@app.get("/finished-spans")
def finished_spans():
    return [
        {
            "name": span.name,
            "kind": span.kind.name,
            "trace_id": format(span.context.trace_id, "032x"),
            "span_id": format(span.context.span_id, "016x"),
            "parent_id": format(span.parent.span_id, "016x") if span.parent else None,
            "attributes": dict(span.attributes),
        }
        for span in exporter.get_finished_spans()
    ]


FastAPIInstrumentor.instrument_app(app, excluded_urls="finished-spans")
"""

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"


def exercise(client):
    item = client.get("/items/7", headers={"traceparent": f"00-{TRACE_ID}-{PARENT_ID}-01"})
    return {"item": answer(item), "spans": answer(client.get("/finished-spans"))}


def test_spans_are_recorded_with_the_route_template(ecosystem):
    seen = ecosystem(APP, exercise)
    assert seen["item"] == {"status": 200, "body": {"item_id": 7}}
    assert seen["spans"]["status"] == 200, seen["spans"]
    spans = seen["spans"]["body"]
    servers = [span for span in spans if span["kind"] == "SERVER"]
    assert len(servers) == 1, spans  # /finished-spans itself is excluded
    server = servers[0]
    assert server["name"] == "GET /items/{item_id}"
    assert server["attributes"]["http.route"] == "/items/{item_id}"
    assert server["attributes"]["http.method"] == "GET"
    assert server["attributes"]["http.status_code"] == 200
    # the incoming traceparent is continued
    assert (server["trace_id"], server["parent_id"]) == (TRACE_ID, PARENT_ID)
    # the handler's own span is a child of the request's
    (inner,) = [span for span in spans if span["name"] == "load item"]
    assert (inner["kind"], inner["trace_id"], inner["parent_id"]) == ("INTERNAL", TRACE_ID, server["span_id"])
    # the response's start and body are spans of their own under the request's
    sends = [span for span in spans if span["name"] == "GET /items/{item_id} http send"]
    assert [span["attributes"]["asgi.event.type"] for span in sends] == ["http.response.start", "http.response.body"]
    assert all(span["parent_id"] == server["span_id"] for span in sends)
