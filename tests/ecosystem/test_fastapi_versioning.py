"""fastapi-versioning's README example: ``@version(major, minor)`` under the route decorators, then
``app = VersionedFastAPI(app, enable_latest=True)``."""

import pytest
from observe import answer

pytestmark = [
    pytest.mark.timeout(60),
    pytest.mark.libraries("fastapi-versioning"),
    pytest.mark.needs_alias(
        "VersionedFastAPI builds real FastAPI apps, keeping only routes that are real FastAPI APIRoutes"
    ),
]

APP = """
from fastapi import FastAPI
from fastapi_versioning import VersionedFastAPI, version

app = FastAPI(title="My App")


@app.get("/greet")
@version(1, 0)
def greet_with_hello():
    return "Hello"


@app.get("/greet")
@version(1, 1)
def greet_with_hi():
    return "Hi"


@app.get("/items/{item_id}")
@version(1, 0)
def read_item(item_id: int):
    return {"item_id": item_id}


app = VersionedFastAPI(app, enable_latest=True)
"""


def exercise(client):
    return {
        "v1_0": answer(client.get("/v1_0/greet")),
        "v1_1": answer(client.get("/v1_1/greet")),
        "latest": answer(client.get("/latest/greet")),
        "item": answer(client.get("/v1_0/items/5")),
        "item_in_1_1": answer(client.get("/v1_1/items/5")),
        "unversioned": answer(client.get("/greet")),
        "openapi_v1_0": answer(client.get("/v1_0/openapi.json")),
        "openapi_v1_1": answer(client.get("/v1_1/openapi.json")),
        "docs": answer(client.get("/v1_1/docs"), "content-type"),
    }


def test_each_version_is_served_under_its_prefix(ecosystem):
    seen = ecosystem(APP, exercise)
    assert seen["v1_0"] == {"status": 200, "body": "Hello"}
    assert seen["v1_1"] == {"status": 200, "body": "Hi"}
    assert seen["latest"] == {"status": 200, "body": "Hi"}
    assert seen["item"] == {"status": 200, "body": {"item_id": 5}}
    # a route of 1.0 not redefined in 1.1 is carried over to it
    assert seen["item_in_1_1"] == {"status": 200, "body": {"item_id": 5}}
    assert seen["unversioned"] == {"status": 404, "body": {"detail": "Not Found"}}
    for version in ("1_0", "1_1"):
        openapi = seen[f"openapi_v{version}"]
        assert openapi["status"] == 200, openapi
        assert sorted(openapi["body"]["paths"]) == ["/greet", "/items/{item_id}"]
        assert openapi["body"]["info"]["title"] == "My App"
    assert (seen["docs"]["status"], seen["docs"]["content-type"]) == (200, "text/html; charset=utf-8")
