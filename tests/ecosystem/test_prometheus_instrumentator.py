"""prometheus-fastapi-instrumentator's fast track: ``Instrumentator().instrument(app).expose(app)``,
and ``/metrics`` counting each request under its route template."""

import pytest
from observe import answer

pytestmark = [pytest.mark.timeout(60), pytest.mark.libraries("prometheus-fastapi-instrumentator")]

APP = """
from fastapi import FastAPI
from prometheus_fastapi_instrumentator import Instrumentator

app = FastAPI()


@app.get("/items/{item_id}")
def read_item(item_id: int):
    return {"item_id": item_id}


@app.post("/items")
async def create_item(item: dict):
    return item


Instrumentator().instrument(app).expose(app)
"""


def exercise(client):
    statuses = [
        client.get("/items/1").status_code,
        client.get("/items/2").status_code,
        client.get("/items/not-a-number").status_code,
        client.post("/items", json={"name": "hammer"}).status_code,
        client.get("/no/such/route").status_code,
    ]
    return {"statuses": statuses, "metrics": answer(client.get("/metrics"), "content-type")}


def samples(text, name):
    """{frozenset(labels): value} of one metric's samples in Prometheus' text format."""
    from prometheus_client.parser import text_string_to_metric_families

    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name:
                found[frozenset(sample.labels.items())] = sample.value
    return found


def labels(**values):
    return frozenset(values.items())


def test_requests_are_counted_by_route_template(ecosystem):
    seen = ecosystem(APP, exercise)
    assert seen["statuses"] == [200, 200, 422, 200, 404]
    metrics = seen["metrics"]
    assert metrics["status"] == 200, metrics
    assert metrics["content-type"].startswith("text/plain")
    counts = samples(metrics["body"], "http_requests_total")
    assert counts[labels(handler="/items/{item_id}", method="GET", status="2xx")] == 2.0
    assert counts[labels(handler="/items/{item_id}", method="GET", status="4xx")] == 1.0
    assert counts[labels(handler="/items", method="POST", status="2xx")] == 1.0
    # a path no route matches is counted under "none", not under its own path
    assert counts[labels(handler="none", method="GET", status="4xx")] == 1.0
    assert not [key for key in counts if dict(key)["handler"] == "/no/such/route"]
    durations = samples(metrics["body"], "http_request_duration_seconds_count")
    assert durations[labels(handler="/items/{item_id}", method="GET")] == 3.0
