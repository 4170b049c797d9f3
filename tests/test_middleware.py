"""Middleware: what FastAPI 0.141.1 does when one is added after the app started (a RuntimeError,
and the stack unchanged), ``GZipMiddleware``'s options in the native and the Python stacks (a level
out of range refused when the app starts), and a ``CORSMiddleware`` origin regex the core cannot
read (run in Python, answering as FastAPI's).
"""

import importlib
from typing import Any

import pytest

pytest.importorskip("fastapi")

from starlette.middleware.base import BaseHTTPMiddleware  # noqa: E402

import turboapi  # noqa: E402
from fastapi_reference import Clients, both, differential, framework  # noqa: E402
from turboapi.testclient import TestClient  # noqa: E402

# --------------------------------------------------------------------------- middleware added after start


async def _tag(request: Any, call_next: Any) -> Any:
    response = await call_next(request)
    response.headers["x-mw"] = "1"
    return response


@pytest.mark.timeout(30)
@pytest.mark.parametrize("how", ["decorator", "add_middleware_base_http", "add_middleware_gzip"])
@pytest.mark.parametrize("started_by", ["request", "lifespan", "not_started"])
def test_add_middleware_after_start_raises(how: str, started_by: str, make_client: Clients) -> None:
    def observe(pkg: str) -> Any:
        f = framework(pkg)
        app = f.FastAPI()

        @app.get("/")
        def root() -> Any:
            return "x" * 600

        client = make_client(pkg, app)
        if started_by == "request":
            client.get("/")
        elif started_by == "lifespan":
            client.__enter__()
        try:
            if how == "decorator":
                app.middleware("http")(_tag)
            elif how == "add_middleware_base_http":
                app.add_middleware(BaseHTTPMiddleware, dispatch=_tag)
            else:
                app.add_middleware(f.GZipMiddleware, minimum_size=1)
            added: Any = "added"
        except Exception as exc:
            added = f"{type(exc).__name__}: {exc}"
        r = client.get("/", headers={"accept-encoding": "gzip"})
        if started_by == "lifespan":
            client.__exit__(None, None, None)
        return {
            "added": added,
            "status": r.status_code,
            "x-mw": r.headers.get("x-mw"),
            "content-encoding": r.headers.get("content-encoding"),
        }

    observed = differential(observe)
    if started_by == "not_started":
        assert observed["added"] == "added"
    else:
        assert observed["added"] == "RuntimeError: Cannot add middleware after an application has started"
        assert observed["x-mw"] is None and observed["content-encoding"] is None


# --------------------------------------------------------------------------- GZip's options


@pytest.mark.parametrize("native", [True, False], ids=["native", "python"])
def test_gzip_compresslevel_out_of_range_is_refused_at_start(native: bool) -> None:
    """Starlette's GZipMiddleware takes any level when made (zlib refuses it per request); turboapi
    refuses it when the app starts, naming the option."""
    from turboapi.middleware.gzip import GZipMiddleware

    app = turboapi.FastAPI()
    app.add_middleware(GZipMiddleware, compresslevel=12)
    with pytest.raises(ValueError, match="compresslevel must be -1"):
        TestClient(app, native_middleware=native).get("/")


@pytest.mark.parametrize("native", [True, False], ids=["native", "python"])
@pytest.mark.parametrize("level", [-1, 1])
def test_gzip_options_reach_both_stacks(native: bool, level: int) -> None:
    from turboapi.middleware.gzip import GZipMiddleware

    app = turboapi.FastAPI()
    # thread_minimum_size below the body: the threaded branch compresses it.
    app.add_middleware(GZipMiddleware, minimum_size=10, compresslevel=level, thread_minimum_size=100)

    @app.get("/text")
    def text():
        return turboapi.responses.PlainTextResponse("turbo " * 200)

    reply = TestClient(app, native_middleware=native).get("/text", headers={"accept-encoding": "gzip"})
    assert reply.headers["content-encoding"] == "gzip"
    assert reply.text == "turbo " * 200


# --------------------------------------------------------------------------- CORS


@pytest.mark.parametrize(
    "pattern",
    [r"https://.*\.example\.org\Z", r"https://(?>a|ab)\.example\.org", r"https://a(?#comment)\.example\.org"],
    ids=["backslash-Z", "atomic-group", "comment"],
)
def test_cors_regex_the_core_cannot_read_runs_in_python(pattern: str) -> None:
    def build(fw):
        cors = importlib.import_module(f"{fw.__name__}.middleware.cors")
        app = fw.FastAPI()
        app.add_middleware(cors.CORSMiddleware, allow_origin_regex=pattern)

        @app.get("/")
        def root():
            return {"ok": True}

        return app

    for origin in ("https://a.example.org", "https://evil.example.com"):
        replies = {name: client.get("/", headers={"origin": origin}) for name, client in both(build).items()}
        theirs, ours = replies["fastapi"], replies["turboapi"]
        assert ours.status_code == theirs.status_code == 200
        assert ours.headers.get("access-control-allow-origin") == theirs.headers.get("access-control-allow-origin")
