"""Routes served the ASGI way (issue 14), compared with FastAPI: a custom route class (its
``get_route_handler`` wraps FastAPI's handler, as in FastAPI's docs: a timing header, a gzip
request body), Starlette's plain routes (``app.add_route``), and a FastAPI app mounted in another.
The core still extracts the parameters and serialises the result; only the way in differs."""

import gzip
import types
from typing import Any

import fastapi
import pytest

import turboapi
from fastapi_reference import FastAPITestClient
from turboapi.testclient import TestClient


def build(fw: types.ModuleType) -> Any:
    from pydantic import BaseModel

    routing = fw.routing
    responses = fw.responses

    class Item(BaseModel):
        name: str
        price: float

    class TaggedRoute(routing.APIRoute):
        def get_route_handler(self):
            original = super().get_route_handler()

            async def handler(request):
                response = await original(request)
                response.headers["x-route-class"] = "tagged"
                return response

            return handler

    class GzipRequest(fw.Request):
        async def body(self) -> bytes:
            if not hasattr(self, "_body"):
                body = await super().body()
                if "gzip" in self.headers.getlist("Content-Encoding"):
                    body = gzip.decompress(body)
                self._body = body
            return self._body

    class GzipRoute(routing.APIRoute):
        def get_route_handler(self):
            original = super().get_route_handler()

            async def handler(request):
                return await original(GzipRequest(request.scope, request.receive))

            return handler

    app = fw.FastAPI()
    tagged = fw.APIRouter(route_class=TaggedRoute)

    @tagged.get("/tagged/{item_id}")
    def read(item_id: int, q: str | None = None):
        return {"item_id": item_id, "q": q}

    @tagged.post("/tagged/items", status_code=201)
    async def create(item: Item, request: fw.Request):
        return {"item": item, "request_is_starlettes": isinstance(request, __import__("starlette").requests.Request)}

    @tagged.get("/tagged-raise")
    def teapot():
        raise fw.HTTPException(status_code=418, detail="teapot", headers={"x-why": "tea"})

    app.include_router(tagged)
    gzipped = fw.APIRouter(route_class=GzipRoute)

    @gzipped.post("/sum")
    def total(numbers: list[int] = fw.Body()):
        return {"sum": sum(numbers)}

    app.include_router(gzipped)

    def plain(request):
        return responses.PlainTextResponse(f"plain {request.query_params.get('x', '')}")

    app.add_route("/plain", plain, methods=["GET"])

    sub = fw.FastAPI()

    @sub.get("/hello/{name}")
    def hello(name: str, times: int = 1):
        return {"hello": name * times}

    app.mount("/sub", sub)
    return app


@pytest.fixture(scope="module")
def clients() -> Any:
    with FastAPITestClient(build(fastapi)) as reference, TestClient(build(turboapi)) as ours:
        yield reference, ours


CASES = [
    ("GET", "/tagged/3?q=x", {}),
    ("GET", "/tagged/nope", {}),
    ("POST", "/tagged/items", {"json": {"name": "n", "price": 1.5}}),
    ("POST", "/tagged/items", {"json": {"name": "n"}}),
    ("GET", "/tagged-raise", {}),
    ("POST", "/sum", {"content": gzip.compress(b"[1, 2, 3]"), "headers": {"content-encoding": "gzip"}}),
    ("POST", "/sum", {"json": [4, 5]}),
    ("GET", "/plain?x=1", {}),
    ("POST", "/plain", {}),
    ("GET", "/sub/hello/ab?times=2", {}),
    ("GET", "/sub/hello/ab?times=x", {}),
    ("GET", "/sub/missing", {}),
    ("GET", "/sub/openapi.json", {}),
]


@pytest.mark.parametrize(("method", "url", "kwargs"), CASES, ids=[f"{m} {u}" for m, u, _ in CASES])
def test_same_answer_as_fastapi(clients: Any, method: str, url: str, kwargs: dict[str, Any]) -> None:
    reference, ours = clients
    expected = reference.request(method, url, **kwargs)
    got = ours.request(method, url, **kwargs)
    if url.endswith("openapi.json"):
        # Same document; FastAPI orders each schema's keys by its OpenAPI models' fields, turboapi by pydantic's.
        assert (got.status_code, got.json()) == (expected.status_code, expected.json())
    else:
        assert (got.status_code, got.content) == (expected.status_code, expected.content)
    for name in ("content-type", "x-route-class", "x-why"):
        assert got.headers.get(name) == expected.headers.get(name), name
    # Starlette joins a set of methods: their order is not FastAPI's to keep.
    allow = [{m.strip() for m in r.headers.get("allow", "").split(",")} for r in (got, expected)]
    assert allow[0] == allow[1]
