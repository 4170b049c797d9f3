"""FastAPI 0.141's routing features over the real server path (turboapi's TestClient): frontends
(low-priority routes), live included routers and their route contexts, defaults passed through
includes, unique ids, router lifespans and events, TRACE, ``websocket_route``, and the app options
that used to be dropped."""

from __future__ import annotations

import contextlib
import warnings
from pathlib import Path
from typing import Any

import pytest
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from turboapi import APIRouter, Depends, FastAPI, HTTPException, Request, routetable
from turboapi.responses import HTMLResponse
from turboapi.responses import PlainTextResponse as TurboPlainText
from turboapi.routing import APIRoute, RouteContext, _IncludedRouter, iter_route_contexts
from turboapi.testclient import TestClient


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    root = tmp_path / "dist"
    write(root / "index.html", "shell")
    write(root / "assets" / "app.js", "js")
    return root


# -- frontends -------------------------------------------------------------------------------------
def test_frontend_serves_files_and_the_index_for_pages(dist: Path) -> None:
    app = FastAPI()

    @app.get("/api/items")
    def items() -> list[int]:
        return [1]

    app.frontend("/", directory=dist)
    with TestClient(app) as client:
        assert client.get("/assets/app.js").text == "js"
        assert client.get("/dashboard", headers={"accept": "text/html"}).text == "shell"
        assert client.get("/dashboard", headers={"accept": "application/json"}).status_code == 404
        assert client.get("/api/items").json() == [1]
        # A path operation's other methods are still refused by the path operation.
        assert client.post("/api/items").status_code == 405
        # A file refuses other methods; a missing one is simply not there.
        assert client.post("/assets/app.js").status_code == 405
        assert client.post("/nothing").status_code == 404
        assert client.head("/assets/app.js").status_code == 200


def test_frontend_keeps_path_operations_on_the_core(dist: Path) -> None:
    app = FastAPI()

    @app.get("/items/{item_id}")
    def item(item_id: int) -> dict[str, int]:
        return {"item_id": item_id}

    app.frontend("/", directory=dist)
    served, _, _ = routetable.build(app)
    # The path operation is the core's own entry; the fallback entry comes last.
    assert any(isinstance(entry, APIRoute) and entry.path == "/items/{item_id}" for entry in served)
    assert isinstance(served[-1], routetable.FallbackRoute)
    with TestClient(app) as client:
        assert client.get("/items/3").json() == {"item_id": 3}


def test_frontend_404_page_and_prefix_through_include(tmp_path: Path) -> None:
    site = tmp_path / "site"
    write(site / "404.html", "missing")
    write(site / "page.txt", "page")
    router = APIRouter(prefix="/inner")
    router.frontend("/ui", directory=site)
    app = FastAPI()
    app.include_router(router, prefix="/outer")
    with TestClient(app) as client:
        assert client.get("/outer/inner/ui/page.txt").text == "page"
        response = client.get("/outer/inner/ui/none", headers={"accept": "text/html"})
        assert (response.status_code, response.text) == (404, "missing")
        assert client.get("/outer/other").status_code == 404


def test_frontend_dependencies_run_before_files(dist: Path) -> None:
    calls: list[str] = []

    def require_cookie(request: Request) -> None:
        calls.append(request.url.path)
        if request.cookies.get("session") != "ok":
            raise HTTPException(status_code=401)

    router = APIRouter(dependencies=[Depends(require_cookie)])
    router.frontend("/", directory=dist, fallback="index.html")
    app = FastAPI()
    app.include_router(router, prefix="/app")
    with TestClient(app) as client:
        assert client.get("/app/").status_code == 401
        assert client.get("/app/assets/app.js", headers={"cookie": "session=ok"}).text == "js"
    assert calls == ["/app/", "/app/assets/app.js"]


def test_frontend_missing_directory_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(RuntimeError, match="does not exist"):
        FastAPI().frontend("/", directory=tmp_path / "missing")
    with pytest.raises(AssertionError, match="fallback"):
        FastAPI().frontend("/", directory=tmp_path, fallback="nope")  # type: ignore[arg-type]
    monkeypatch.setenv("FASTAPI_ENV", "development")
    with pytest.warns(UserWarning, match="does not exist") as record:
        FastAPI().frontend("/", directory=tmp_path / "missing")
    assert record[0].filename == __file__


def test_low_priority_routes_come_after_the_slash_redirect(dist: Path) -> None:
    app = FastAPI()

    @app.get("/api/")
    def api() -> str:
        return "api"

    app.router._low_priority_routes.append(Route("/low", lambda request: PlainTextResponse("low")))
    app.frontend("/", directory=dist)
    with TestClient(app) as client:
        redirect = client.get("/api", follow_redirects=False)
        assert redirect.status_code == 307
        assert redirect.headers["location"].endswith("/api/")
        assert client.get("/low").text == "low"


def test_redirect_slashes_false_is_honoured() -> None:
    app = FastAPI(redirect_slashes=False)

    @app.get("/items/")
    def items() -> list[int]:
        return []

    with TestClient(app) as client:
        assert client.get("/items", follow_redirects=False).status_code == 404
        assert client.get("/items/").json() == []


# -- included routers --------------------------------------------------------------------------------
def test_included_router_stays_live() -> None:
    router = APIRouter(prefix="/things", tags=["things"])
    app = FastAPI()
    app.include_router(router, prefix="/v1", tags=["v1"])

    @router.get("/{thing_id}")
    def thing(thing_id: int) -> dict[str, int]:
        return {"thing_id": thing_id}

    assert isinstance(app.routes[-1], _IncludedRouter)
    contexts = [c for c in iter_route_contexts(app.routes) if c.original_route is router.routes[0]]
    assert len(contexts) == 1 and isinstance(contexts[0], RouteContext)
    assert (contexts[0].path, contexts[0].tags) == ("/v1/things/{thing_id}", ["v1", "things"])
    assert app.url_path_for("thing", thing_id=3) == "/v1/things/3"
    assert list(app.openapi()["paths"]) == ["/v1/things/{thing_id}"]
    with TestClient(app) as client:
        assert client.get("/v1/things/7").json() == {"thing_id": 7}
        assert client.get("/things/7").status_code == 404


def test_included_custom_route_class_handles_its_requests() -> None:
    class Tracking(APIRoute):
        calls = 0

        def get_route_handler(self) -> Any:
            handler = super().get_route_handler()

            async def tracked(request: Request) -> Any:
                self.calls += 1
                response = await handler(request)
                response.headers["x-path"] = request.scope["route"].path
                return response

            return tracked

    router = APIRouter(route_class=Tracking, dependencies=[Depends(lambda: None)])

    @router.get("/items")
    def items() -> list[int]:
        return [1]

    app = FastAPI()
    app.include_router(router, prefix="/api")
    with TestClient(app) as client:
        response = client.get("/api/items")
    assert response.json() == [1]
    assert response.headers["x-path"] == "/items"  # scope["route"] is the route as registered
    assert router.routes[0].calls == 1


def test_include_router_checks() -> None:
    router = APIRouter()
    with pytest.raises(AssertionError, match="into itself"):
        router.include_router(router)
    child = APIRouter()
    router.include_router(child, prefix="/child")
    with pytest.raises(AssertionError, match="already includes this router"):
        child.include_router(router, prefix="/parent")

    @child.get("")
    def empty() -> None:
        return None

    with pytest.raises(Exception, match="Prefix and path cannot be both empty"):
        FastAPI().include_router(child)


# -- defaults through includes ---------------------------------------------------------------------
def test_default_response_class_through_includes() -> None:
    app = FastAPI(default_response_class=TurboPlainText)
    plain = APIRouter()

    @plain.get("/plain")
    def text() -> str:
        return "hi"

    html = APIRouter()

    @html.get("/html")
    def page() -> str:
        return "<p>hi</p>"

    app.include_router(plain)
    app.include_router(html, default_response_class=HTMLResponse)
    with TestClient(app) as client:
        assert client.get("/plain").headers["content-type"].startswith("text/plain")
        assert client.get("/html").headers["content-type"].startswith("text/html")


def test_generate_unique_id_function_order() -> None:
    app = FastAPI(generate_unique_id_function=lambda route: f"app_{route.name}")
    router = APIRouter(generate_unique_id_function=lambda route: f"router_{route.name}")

    @router.get("/a")
    def a() -> None:
        return None

    @router.get("/b", generate_unique_id_function=lambda route: f"route_{route.name}")
    def b() -> None:
        return None

    other = APIRouter()

    @other.get("/c")
    def c() -> None:
        return None

    app.include_router(router)
    app.include_router(other, generate_unique_id_function=lambda route: f"include_{route.name}")

    @app.get("/d")
    def d() -> None:
        return None

    paths = app.openapi()["paths"]
    ids = {path: paths[path]["get"]["operationId"] for path in paths}
    assert ids == {"/a": "router_a", "/b": "route_b", "/c": "include_c", "/d": "app_d"}


# -- lifespans and events ----------------------------------------------------------------------------
def test_router_lifespans_and_handlers_are_merged() -> None:
    events: list[str] = []

    async def sub_lifespan(app: Any) -> Any:
        events.append("sub start")
        yield {"sub": True, "shared": "sub"}
        events.append("sub end")

    @contextlib.asynccontextmanager
    async def app_lifespan(app: Any) -> Any:
        events.append("app start")
        yield {"app": True, "shared": "app"}
        events.append("app end")

    sub = APIRouter(lifespan=sub_lifespan)
    router = APIRouter(on_startup=[lambda: events.append("router startup")])
    router.include_router(sub)
    app = FastAPI(lifespan=app_lifespan)

    @app.get("/state")
    def state(request: Request) -> dict[str, Any]:
        return {key: getattr(request.state, key) for key in ("app", "sub", "shared")}

    app.include_router(router)
    with TestClient(app) as client:
        assert client.get("/state").json() == {"app": True, "sub": True, "shared": "app"}
    assert events[:3] == ["app start", "router startup", "sub start"]
    assert events[-2:] == ["sub end", "app end"]


def test_on_event_is_deprecated() -> None:
    app = FastAPI()
    with pytest.warns(DeprecationWarning, match="on_event is deprecated"):
        app.on_event("startup")(lambda: None)
    with pytest.warns(DeprecationWarning, match="on_event is deprecated"):
        APIRouter().on_event("shutdown")(lambda: None)


# -- methods and routes ---------------------------------------------------------------------------------
def test_trace_and_websocket_route() -> None:
    app = FastAPI()
    router = APIRouter()

    @router.trace("/items/{item_id}")
    def trace_item(item_id: str) -> dict[str, str]:
        return {"traced": item_id}

    @app.websocket_route("/ws")
    async def socket(websocket: Any) -> None:
        await websocket.accept()
        await websocket.send_text("hello")
        await websocket.close()

    app.include_router(router)
    with TestClient(app) as client:
        assert client.request("TRACE", "/items/x").json() == {"traced": "x"}
        assert client.get("/items/x").status_code == 405
        with client.websocket_connect("/ws") as websocket:
            assert websocket.receive_text() == "hello"


def test_app_options_are_kept() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        app = FastAPI(
            responses={418: {"description": "teapot"}},
            openapi_prefix="/api/v1",
            separate_input_output_schemas=False,
        )

    @app.get("/a")
    def a() -> None:
        return None

    assert app.root_path == "/api/v1"
    assert app.separate_input_output_schemas is False
    assert app.openapi()["paths"]["/a"]["get"]["responses"]["418"] == {"description": "teapot"}


def test_routes_a_lifespan_changes_are_named_in_an_error(caplog: Any) -> None:
    """The core planned the routes before the lifespan ran: a route the lifespan changes keeps its
    plan, and the server says so, naming it (fastapi-pagination's quick start does this)."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> Any:
        route = next(r for r in app.routes if getattr(r, "path", None) == "/changed")
        route.dependencies.append(Depends(lambda: None))
        yield

    app = FastAPI(lifespan=lifespan)

    @app.get("/changed")
    def changed() -> dict[str, bool]:
        return {"ok": True}

    @app.get("/kept")
    def kept() -> dict[str, bool]:
        return {"ok": True}

    with caplog.at_level("ERROR", logger="turboapi"), TestClient(app) as client:
        assert client.get("/changed").json() == {"ok": True}  # its plan as it was; still serving
    errors = [r.getMessage() for r in caplog.records if "routes changed while the app started" in r.getMessage()]
    assert len(errors) == 1 and "GET /changed" in errors[0] and "/kept" not in errors[0]
