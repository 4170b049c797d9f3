"""FastAPI 0.141's routing features, turboapi against FastAPI on the same apps: frontends
(low-priority routes), live included routers, defaults passed through includes, unique ids,
router lifespans, TRACE and ``websocket_route``."""

import contextlib
import types
from pathlib import Path
from typing import Any

import fastapi
import pytest

import turboapi
from fastapi_reference import FastAPITestClient
from turboapi.testclient import TestClient

FRAMEWORKS = [(turboapi, TestClient), (fastapi, FastAPITestClient)]


def both(build: Any, requests: list[tuple[Any, ...]], *args: Any) -> list[list[tuple[int, str, str]]]:
    """Each request's (status, content type, body) on turboapi, then on FastAPI."""
    answers = []
    for fw, client_class in FRAMEWORKS:
        app = build(fw, *args)
        out = []
        with client_class(app) as client:
            for method, url, *headers in requests:
                response = client.request(method, url, headers=headers[0] if headers else None, follow_redirects=False)
                out.append((response.status_code, response.headers.get("content-type", ""), response.text))
        answers.append(out)
    return answers


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.fixture
def site(tmp_path: Path) -> Path:
    root = tmp_path / "site"
    write(root / "index.html", "shell")
    write(root / "404.html", "missing")
    write(root / "guide" / "index.html", "guide")
    write(root / "assets" / "app.js", "js")
    return root


def frontend_app(fw: types.ModuleType, site: Path) -> Any:
    app = fw.FastAPI()

    @app.get("/api/items")
    def items() -> list[int]:
        return [1]

    @app.get("/api/slash/")
    def slash() -> str:
        return "slash"

    router = fw.APIRouter(prefix="/inner")
    router.frontend("/ui", directory=site, fallback="index.html")
    app.include_router(router, prefix="/outer")
    app.frontend("/", directory=site)
    return app


HTML = {"accept": "text/html"}
FRONTEND_REQUESTS: list[tuple[Any, ...]] = [
    ("GET", "/assets/app.js"),
    ("HEAD", "/assets/app.js"),
    ("GET", "/dashboard", HTML),
    ("GET", "/dashboard"),
    ("GET", "/guide"),
    ("GET", "/guide/"),
    ("GET", "/api/items"),
    ("POST", "/api/items"),
    ("GET", "/api/slash"),
    ("POST", "/assets/app.js"),
    ("POST", "/nothing"),
    ("DELETE", "/"),
    ("GET", "/outer/inner/ui/assets/app.js"),
    ("GET", "/outer/inner/ui/deep/page", HTML),
    ("GET", "/outer/inner/ui/deep/page", {"accept": "text/html;q=0"}),
    ("GET", "/../secret"),
]


def test_frontend_answers_as_fastapi(site: Path) -> None:
    ours, theirs = both(frontend_app, FRONTEND_REQUESTS, site)
    assert ours == theirs


def included_app(fw: types.ModuleType) -> Any:
    app = fw.FastAPI(default_response_class=fw.responses.PlainTextResponse)
    router = fw.APIRouter(prefix="/things", tags=["things"])
    nested = fw.APIRouter()
    router.include_router(nested, prefix="/nested", default_response_class=fw.responses.HTMLResponse)
    app.include_router(router, prefix="/v1", tags=["v1"], dependencies=[fw.Depends(lambda: None)])

    # Added after the include: served and documented all the same.
    @router.get("/{thing_id}")
    def thing(thing_id: int) -> str:
        return f"thing {thing_id}"

    @nested.get("/page")
    def page() -> str:
        return "<p>page</p>"

    @app.get("/url")
    def url(request: fw.Request) -> str:
        return str(request.url_for("thing", thing_id=5))

    return app


def test_included_routers_answer_as_fastapi() -> None:
    requests: list[tuple[Any, ...]] = [
        ("GET", "/v1/things/3"),
        ("GET", "/v1/things/x"),
        ("POST", "/v1/things/3"),
        ("GET", "/v1/things/nested/page"),
        ("GET", "/things/3"),
        ("GET", "/url"),
    ]
    ours, theirs = both(included_app, requests)
    assert ours == theirs


def test_route_contexts_as_fastapi() -> None:
    def contexts(fw: types.ModuleType) -> list[tuple[Any, ...]]:
        app = included_app(fw)
        return [
            (c.path, c.name, sorted(c.methods or []), list(getattr(c, "tags", [])))
            for c in fw.routing.iter_route_contexts(app.routes)
            if c.name not in ("openapi", "swagger_ui_html", "swagger_ui_redirect", "redoc_html", "docs_asset")
        ]

    assert contexts(turboapi) == contexts(fastapi)


def test_openapi_of_included_routers_as_fastapi() -> None:
    def document(fw: types.ModuleType) -> Any:
        app = included_app(fw)
        app.router.generate_unique_id_function = lambda route: f"app_{route.name}"
        app.include_router(
            unique_ids_router(fw), prefix="/ids", generate_unique_id_function=lambda route: f"inc_{route.name}"
        )
        return app.openapi()["paths"]

    assert document(turboapi) == document(fastapi)


def unique_ids_router(fw: types.ModuleType) -> Any:
    router = fw.APIRouter()

    @router.get("/a")
    def a() -> None:
        return None

    @router.get("/b", generate_unique_id_function=lambda route: f"own_{route.name}")
    def b() -> None:
        return None

    return router


def events_app(fw: types.ModuleType, events: list[str]) -> Any:
    async def sub_lifespan(app: Any) -> Any:
        events.append("sub start")
        yield {"sub": "sub", "shared": "sub"}
        events.append("sub end")

    def sync_lifespan(app: Any) -> Any:
        events.append("sync start")
        yield None
        events.append("sync end")

    @contextlib.asynccontextmanager
    async def app_lifespan(app: Any) -> Any:
        events.append("app start")
        yield {"app": "app", "shared": "app"}
        events.append("app end")

    sub = fw.APIRouter(lifespan=sub_lifespan)
    other = fw.APIRouter(lifespan=sync_lifespan)
    router = fw.APIRouter(on_startup=[lambda: events.append("router startup")])
    router.include_router(sub)
    app = fw.FastAPI(lifespan=app_lifespan)
    app.include_router(router)
    app.include_router(other)

    @app.get("/state")
    def state(request: fw.Request) -> dict[str, Any]:
        return {key: getattr(request.state, key) for key in ("app", "sub", "shared")}

    return app


def test_router_lifespans_as_fastapi() -> None:
    runs = []
    for fw, client_class in FRAMEWORKS:
        events: list[str] = []
        with client_class(events_app(fw, events)) as client:
            body = client.get("/state").json()
        runs.append((body, events))
    assert runs[0] == runs[1]


def methods_app(fw: types.ModuleType) -> Any:
    app = fw.FastAPI()

    @app.trace("/items/{item_id}")
    def trace_item(item_id: str) -> dict[str, str]:
        return {"traced": item_id}

    @app.websocket_route("/ws")
    async def socket(websocket: Any) -> None:
        await websocket.accept()
        await websocket.send_text(websocket.url.path)
        await websocket.close()

    return app


def test_trace_and_websocket_route_as_fastapi() -> None:
    ours, theirs = both(methods_app, [("TRACE", "/items/x"), ("GET", "/items/x"), ("TRACE", "/nothing")])
    assert ours == theirs
    texts = []
    for fw, client_class in FRAMEWORKS:
        with client_class(methods_app(fw)) as client, client.websocket_connect("/ws") as websocket:
            texts.append(websocket.receive_text())
    assert texts[0] == texts[1] == "/ws"


def redirect_app(fw: types.ModuleType) -> Any:
    app = fw.FastAPI(redirect_slashes=False, responses={418: {"description": "teapot"}})

    @app.get("/items/")
    def items() -> list[int]:
        return []

    return app


def test_app_options_as_fastapi() -> None:
    ours, theirs = both(redirect_app, [("GET", "/items"), ("GET", "/items/"), ("POST", "/items/")])
    assert ours == theirs
    assert redirect_app(turboapi).openapi()["paths"] == redirect_app(fastapi).openapi()["paths"]
