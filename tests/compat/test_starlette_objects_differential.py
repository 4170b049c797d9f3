"""Starlette's own objects in a turboapi app, against FastAPI 0.141.1 through each framework's own
``TestClient``: ``starlette.responses.*`` returned by a handler (JSON, plain text, HTML, a redirect,
a cookie, a response's background), and ``starlette.background.BackgroundTasks`` and
``starlette.requests.Request`` parameters. That turboapi's own objects are Starlette's is
tests/test_starlette_objects.py.
"""

import types
from typing import Any

import pytest

pytest.importorskip("fastapi")

import starlette.background  # noqa: E402
import starlette.requests  # noqa: E402
import starlette.responses  # noqa: E402

from fastapi_reference import Clients, differential, framework  # noqa: E402

STARLETTE_PATHS = (
    "/json",
    "/json_with_dependency",
    "/plain",
    "/html",
    "/redirect",
    "/cookie",
    "/response_background",
    "/tasks_param",
    "/tasks_param_async",
    "/tasks_param_with_response",
)


def build_starlette_types_app(f: types.SimpleNamespace, events: list[str]) -> Any:
    app = f.FastAPI()
    sr = starlette.responses
    StarletteTasks = starlette.background.BackgroundTasks
    StarletteRequest = starlette.requests.Request

    def gen() -> Any:
        yield 1
        events.append("exit")

    @app.get("/json")
    def json_() -> Any:
        return sr.JSONResponse({"a": 1}, status_code=201, headers={"x-a": "1"})

    @app.get("/json_with_dependency")
    async def json_with_dependency(x: Any = f.Depends(gen)) -> Any:
        return sr.JSONResponse({"a": x}, status_code=201)

    @app.get("/plain")
    def plain() -> Any:
        return sr.PlainTextResponse("hi", status_code=202)

    @app.get("/html")
    def html() -> Any:
        return sr.HTMLResponse("<b>x</b>")

    @app.get("/redirect")
    def redirect() -> Any:
        return sr.RedirectResponse("/json", status_code=307)

    @app.get("/cookie")
    def cookie() -> Any:
        r = sr.Response("c", media_type="text/plain")
        r.set_cookie("k", "v")
        return r

    @app.get("/response_background")
    def response_background() -> Any:
        return sr.PlainTextResponse("b", background=starlette.background.BackgroundTask(events.append, "resp-bg"))

    @app.get("/tasks_param")
    def tasks_param(tasks: StarletteTasks, request: StarletteRequest) -> Any:
        tasks.add_task(events.append, request.url.path)
        return 1

    @app.get("/tasks_param_async")
    async def tasks_param_async(tasks: StarletteTasks) -> Any:
        async def task() -> None:
            events.append("async-task")

        tasks.add_task(task)
        return 2

    @app.get("/tasks_param_with_response")
    def tasks_param_with_response(tasks: StarletteTasks) -> Any:
        tasks.add_task(events.append, "param-task")
        return sr.PlainTextResponse("x")

    return app


@pytest.mark.timeout(30)
@pytest.mark.parametrize("path", STARLETTE_PATHS)
def test_starlette_responses_and_background_tasks(path: str, make_client: Clients) -> None:
    def observe(pkg: str) -> Any:
        events: list[str] = []
        try:
            app = build_starlette_types_app(framework(pkg), events)
        except Exception as exc:  # a framework refusing the annotations at registration time
            return {"registration_error": f"{type(exc).__name__}: {exc}"}
        client = make_client(pkg, app, raise_server_exceptions=False, follow_redirects=False)
        r = client.get(path)
        headers = {k: r.headers.get(k) for k in ("content-type", "location", "set-cookie", "x-a")}
        return {"status": r.status_code, "headers": headers, "body": r.text, "events": events}

    observed = differential(observe)
    assert observed["status"] < 500
