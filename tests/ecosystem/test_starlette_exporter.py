"""starlette-exporter as its README sets it up for FastAPI: ``app.add_middleware(PrometheusMiddleware)``
and ``app.add_route("/metrics", handle_metrics)``."""

import pytest

pytestmark = [pytest.mark.timeout(60), pytest.mark.libraries("starlette-exporter")]

APP = """
from fastapi import FastAPI
from starlette_exporter import PrometheusMiddleware, handle_metrics

app = FastAPI()
app.add_middleware(PrometheusMiddleware, app_name="shop")
app.add_route("/metrics", handle_metrics)


@app.get("/items/{item_id}")
def read_item(item_id: int):
    return {"item_id": item_id}
"""


def exercise(client):
    statuses = [
        client.get("/items/1").status_code,
        client.get("/items/2").status_code,
        client.get("/items/oops").status_code,
        client.get("/no/such/route").status_code,
    ]
    metrics = client.get("/metrics")
    return {"statuses": statuses, "status": metrics.status_code, "metrics": metrics.text}


def test_requests_are_counted_by_path_template(ecosystem):
    from prometheus_client.parser import text_string_to_metric_families

    seen = ecosystem(APP, exercise)
    assert seen["statuses"] == [200, 200, 422, 404]
    assert seen["status"] == 200
    counts = {
        (s.labels["path"], s.labels["status_code"]): (s.labels["method"], s.labels["app_name"], s.value)
        for family in text_string_to_metric_families(seen["metrics"])
        for s in family.samples
        if s.name == "starlette_requests_total"
    }
    assert counts[("/items/{item_id}", "200")] == ("GET", "shop", 2.0)
    assert counts[("/items/{item_id}", "422")] == ("GET", "shop", 1.0)
    # unhandled paths are left out by default
    assert not [path for path, _ in counts if path not in ("/items/{item_id}", "/metrics")]
