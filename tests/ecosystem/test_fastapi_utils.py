"""fastapi-utils: a class-based view (``@cbv(router)`` with a shared ``Depends`` attribute) and a
periodic task (``@app.on_event("startup")`` over ``@repeat_every(...)``), as its docs show them."""

import time

import pytest
from observe import answer

pytestmark = [
    pytest.mark.timeout(60),
    pytest.mark.libraries("fastapi-utils", "typing-inspect"),
    pytest.mark.needs_alias("@cbv checks isinstance(route, fastapi.routing.APIRoute), real FastAPI's class"),
]

APP = """
from fastapi import APIRouter, Depends, FastAPI, Header
from fastapi_utils.cbv import cbv
from fastapi_utils.tasks import repeat_every

router = APIRouter()
ITEMS = {1: "hammer", 2: "saw"}


def get_tenant(x_tenant: str = Header()) -> str:
    return x_tenant


@cbv(router)
class ItemViews:
    tenant: str = Depends(get_tenant)

    @router.get("/items")
    def list_items(self):
        return {"tenant": self.tenant, "items": sorted(ITEMS.values())}

    @router.get("/items/{item_id}")
    async def get_item(self, item_id: int):
        return {"tenant": self.tenant, "item": ITEMS[item_id]}


app = FastAPI()
app.include_router(router)
ticks = {"count": 0}


@app.on_event("startup")
@repeat_every(seconds=0.05, max_repetitions=3)
def tick() -> None:
    ticks["count"] += 1


@app.get("/ticks")
def get_ticks():
    return ticks
"""


def exercise(client):
    seen = {
        "list": answer(client.get("/items", headers={"x-tenant": "acme"})),
        "one": answer(client.get("/items/2", headers={"x-tenant": "globex"})),
        "no_tenant": answer(client.get("/items")),
        "openapi": answer(client.get("/openapi.json")),
    }
    deadline = time.monotonic() + 5
    while True:
        seen["ticks"] = answer(client.get("/ticks"))
        if seen["ticks"]["body"] == {"count": 3} or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    return seen


def test_class_based_view_and_repeated_task(ecosystem):
    seen = ecosystem(APP, exercise)
    assert seen["list"] == {"status": 200, "body": {"tenant": "acme", "items": ["hammer", "saw"]}}
    assert seen["one"] == {"status": 200, "body": {"tenant": "globex", "item": "saw"}}
    no_tenant = seen["no_tenant"]
    assert no_tenant["status"] == 422
    assert [(e["loc"], e["type"]) for e in no_tenant["body"]["detail"]] == [(["header", "x-tenant"], "missing")]
    # the class's dependency shows as a parameter of each of its routes, `self` does not
    operation = seen["openapi"]["body"]["paths"]["/items/{item_id}"]["get"]
    assert sorted(p["name"] for p in operation["parameters"]) == ["item_id", "x-tenant"]
    # repeat_every ran the task three times (max_repetitions), from the startup event on
    assert seen["ticks"] == {"status": 200, "body": {"count": 3}}
