"""Differential test of routers and error handling: the same apps on FastAPI and on turboapi.

Same comparison as ``test_middleware_differential.py`` (``differential_harness``'s ``MIDDLEWARE``):
app factories written once against a namespace of either framework's public names, both served
through their own ``TestClient``; status, body, ``content-type``, ``allow``, ``location``, ``vary``,
``set-cookie``, ``www-authenticate`` and the headers a case names are compared.

Routers: ``APIRouter(prefix, tags, dependencies, responses)``, nested ``include_router`` with
prefixes at several levels, ``url_path_for``/``url_for``, the trailing-slash redirect, 404/405,
``api_route``, explicit HEAD.  ``HEAD`` on a plain ``GET`` route is left out: the README lists it
as a deliberate difference (FastAPI 405, turboapi 200).

Errors: handlers for a custom exception hierarchy and for status codes, overridden
``HTTPException`` / ``RequestValidationError`` handlers calling the framework's defaults,
``HTTPException`` details and headers, Starlette's own ``HTTPException``, unhandled exceptions
and ``Exception``/500 handlers (both clients with ``raise_server_exceptions=False`` there).
"""

from typing import Any

import pytest
from starlette.exceptions import HTTPException as StarletteHTTPException

from .differential_harness import MIDDLEWARE, Apps, C, Case, Factory, apps_fixture, assert_unique_ids, check

# =========================================================================== routers


def build_routers(fw: Any) -> Any:
    Depends, Header, Query, HTTPException, Request = fw.Depends, fw.Header, fw.Query, fw.HTTPException, fw.Request
    app = fw.FastAPI()

    def trace(tag: str) -> Any:
        def dependency(request: Request) -> None:
            request.state.order = [*getattr(request.state, "order", []), tag]

        return dependency

    async def verify_token(x_token: str = Header()):
        if x_token != "secret":
            raise HTTPException(status_code=400, detail="X-Token header invalid")

    # ------------------------------------------------------------ a router with everything
    items = fw.APIRouter(
        prefix="/items",
        tags=["items"],
        dependencies=[Depends(verify_token)],
        responses={404: {"description": "Not found"}},
    )

    @items.get("/")
    def list_items():
        return [{"id": 1}, {"id": 2}]

    @items.get("/{item_id}")
    async def read_item(item_id: int):
        if item_id == 0:
            raise HTTPException(status_code=404, detail="Item not found")
        return {"item_id": item_id}

    @items.put("/{item_id}", tags=["custom"], responses={403: {"description": "Forbidden"}})
    def update_item(item_id: int):
        return {"item_id": item_id, "updated": True}

    app.include_router(items)

    # ------------------------------------------------------------ three levels of nesting
    admin = fw.APIRouter(dependencies=[Depends(trace("admin"))])

    @admin.get("/stats", name="admin-stats", dependencies=[Depends(trace("route"))])
    def stats(request: Request):
        return {"path": request.url.path, "order": request.state.order}

    @admin.get("/files/{file_path:path}")
    def admin_file(file_path: str):
        return {"file_path": file_path}

    users = fw.APIRouter(prefix="/users", tags=["users"])

    @users.get("")
    def users_root():
        return {"users": []}

    @users.get("/{user_id}")
    def read_user(user_id: int, request: Request):
        return {"user_id": user_id, "self": str(request.url_for("read_user", user_id=user_id))}

    users.include_router(admin, prefix="/admin", dependencies=[Depends(trace("users-include"))])
    v1 = fw.APIRouter(prefix="/v1", dependencies=[Depends(trace("v1"))])
    v1.include_router(users)
    app.include_router(v1, prefix="/api", dependencies=[Depends(trace("app-include"))])

    # ------------------------------------------------------------ include-time prefix and dependencies
    def require_key(key: str = Query()):
        if key != "k":
            raise HTTPException(status_code=403, detail="bad key")

    guarded = fw.APIRouter()

    @guarded.get("/thing")
    async def guarded_thing():
        return {"guarded": True}

    app.include_router(
        guarded,
        prefix="/guarded",
        tags=["guarded"],
        dependencies=[Depends(require_key)],
        responses={418: {"description": "teapot"}},
    )

    # ------------------------------------------------------------ same path, different routers
    r_get = fw.APIRouter(prefix="/split")
    r_post = fw.APIRouter(prefix="/split")

    @r_get.get("/shared")
    def shared_get():
        return {"from": "r_get"}

    @r_post.post("/shared", status_code=201)
    def shared_post():
        return {"from": "r_post"}

    app.include_router(r_get)
    app.include_router(r_post)

    # ------------------------------------------------------------ api_route, HEAD, names
    multi = fw.APIRouter()

    @multi.api_route("/multi", methods=["GET", "POST", "DELETE"])
    async def multi_methods(request: Request):
        return {"method": request.method}

    @multi.api_route("/with-head", methods=["GET", "HEAD"])
    def with_head():
        return {"head": "ok"}

    @multi.post("/post-only", name="custom-post-name")
    def post_only():
        return {"posted": True}

    app.include_router(multi, prefix="/m")

    @app.get("/")
    def root():
        return {"root": True}

    # ------------------------------------------------------------ url_path_for / url_for
    def lookups(request: Request) -> dict[str, Any]:
        return {
            "items": lambda: app.url_path_for("list_items"),
            "item": lambda: app.url_path_for("read_item", item_id=5),
            "item-str-param": lambda: app.url_path_for("read_item", item_id="42"),
            "nested-named": lambda: app.url_path_for("admin-stats"),
            "nested-path-param": lambda: app.url_path_for("admin_file", file_path="a/b/c.txt"),
            "users-root": lambda: app.url_path_for("users_root"),
            "api-route-name": lambda: app.url_path_for("multi_methods"),
            "custom-name": lambda: app.url_path_for("custom-post-name"),
            "request-url-for": lambda: request.url_for("read_user", user_id=7),
            "request-url-for-nested": lambda: request.url_for("admin-stats"),
            "request-url-for-query": lambda: request.url_for("list_items").include_query_params(page=2),
            "unknown-name": lambda: app.url_path_for("no_such_route"),
            "missing-param": lambda: app.url_path_for("read_item"),
            "extra-param": lambda: app.url_path_for("list_items", page=1),
        }

    @app.get("/url/{which}")
    def url(which: str, request: Request):
        try:
            value = lookups(request)[which]()
        except Exception as exc:
            return {"error": type(exc).__name__}
        return {"url": str(value), "is_str": isinstance(value, str)}

    return app


TOKEN = {"x-token": "secret"}

ROUTER_CASES = [
    C("router-prefix-root", "GET", "/items/", 200, app="routers", headers=TOKEN),
    C("router-prefix-param", "GET", "/items/5", 200, app="routers", headers=TOKEN),
    C("router-prefix-put", "PUT", "/items/5", 200, app="routers", headers=TOKEN),
    C("router-http-404-from-route", "GET", "/items/0", 404, app="routers", headers=TOKEN),
    C("router-dependency-missing-header-422", "GET", "/items/5", 422, app="routers"),
    C("router-dependency-bad-token-400", "GET", "/items/5", 400, app="routers", headers={"x-token": "nope"}),
    C("router-path-param-422", "GET", "/items/abc", 422, app="routers", headers=TOKEN),
    C("router-404-deeper-path", "GET", "/items/5/extra", 404, app="routers", headers=TOKEN),
    C("router-405-first-route-allow", "DELETE", "/items/5", 405, app="routers", headers=TOKEN),
    C("router-405-no-deps-run", "PATCH", "/items/5", 405, app="routers"),
    C("nested-three-levels", "GET", "/api/v1/users/admin/stats", 200, app="routers"),
    C("nested-path-convertor", "GET", "/api/v1/users/admin/files/x/y.txt", 200, app="routers"),
    C("nested-empty-path-route", "GET", "/api/v1/users", 200, app="routers"),
    C("nested-param-route-with-url-for", "GET", "/api/v1/users/3", 200, app="routers"),
    C("nested-url-for-host-header", "GET", "/api/v1/users/3", 200, app="routers", headers={"host": "ex.com:8080"}),
    C("nested-url-for-https", "GET", "https://testserver/api/v1/users/3", 200, app="routers"),
    C("nested-param-shadows-slash-redirect", "GET", "/api/v1/users/stats", 422, app="routers"),
    C("nested-404-wrong-version", "GET", "/api/v2/users/1", 404, app="routers"),
    C("nested-404-prefix-only", "GET", "/api", 404, app="routers"),
    C("nested-405", "PATCH", "/api/v1/users/admin/stats", 405, app="routers"),
    C("include-deps-missing-query", "GET", "/guarded/thing", 422, app="routers"),
    C("include-deps-bad-key", "GET", "/guarded/thing", 403, app="routers", params={"key": "x"}),
    C("include-deps-ok", "GET", "/guarded/thing", 200, app="routers", params={"key": "k"}),
    C("split-routers-get", "GET", "/split/shared", 200, app="routers"),
    C("split-routers-post", "POST", "/split/shared", 201, app="routers"),
    C("split-routers-405-first-route", "PUT", "/split/shared", 405, app="routers"),
    C("api-route-get", "GET", "/m/multi", 200, app="routers"),
    C("api-route-post", "POST", "/m/multi", 200, app="routers"),
    C("api-route-delete", "DELETE", "/m/multi", 200, app="routers"),
    C("api-route-405-allow-all", "PUT", "/m/multi", 405, app="routers"),
    C("api-route-explicit-head", "HEAD", "/m/with-head", 200, app="routers"),
    C("api-route-explicit-head-get", "GET", "/m/with-head", 200, app="routers"),
    C("head-on-post-only-405", "HEAD", "/m/post-only", 405, app="routers"),
    C("root-route", "GET", "/", 200, app="routers"),
    # trailing-slash redirect, both ways
    C("slash-add", "GET", "/items", 307, app="routers", headers=TOKEN),
    C("slash-add-query", "GET", "/items?page=2&q=a%20b", 307, app="routers"),
    C("slash-add-for-other-method", "POST", "/items", 307, app="routers"),
    C("slash-remove", "GET", "/api/v1/users/admin/stats/", 307, app="routers"),
    C("slash-remove-query", "GET", "/api/v1/users/admin/stats/?x=1&x=2", 307, app="routers"),
    C("slash-remove-empty-route", "GET", "/api/v1/users/", 307, app="routers"),
    C("slash-remove-host-header", "GET", "/m/multi/", 307, app="routers", headers={"host": "example.com:8000"}),
    C(
        "slash-remove-https",
        "GET",
        "https://testserver/m/multi/",
        307,
        app="routers",
    ),
    C("slash-remove-percent-encoded", "GET", "/items/caf%C3%A9/", 307, app="routers"),
    C(
        "slash-remove-double-slash",
        "GET",
        "/api/v1/users/admin/stats//",
        307,
        app="routers",
    ),
    C("slash-unknown-path-404", "GET", "/nowhere/", 404, app="routers"),
]

URL_NAMES = [
    "items",
    "item",
    "item-str-param",
    "nested-named",
    "nested-path-param",
    "users-root",
    "api-route-name",
    "custom-name",
    "request-url-for",
    "request-url-for-nested",
    "request-url-for-query",
    "unknown-name",
    "missing-param",
    "extra-param",
]
URL_CASES = [C(f"url-{name}", "GET", f"/url/{name}", 200, app="routers") for name in URL_NAMES]
URL_CASES.append(
    C("url-request-url-for-host-header", "GET", "/url/request-url-for", 200, app="routers", headers={"host": "h.io:81"})
)

# =========================================================================== errors


class AppError(Exception):
    def __init__(self, code: int, msg: str) -> None:
        super().__init__(msg)
        self.code = code
        self.msg = msg


class NotFoundError(AppError):
    pass


class SpecialError(AppError):
    pass


class Unregistered(Exception):
    pass


def _error_routes(fw: Any, app: Any) -> None:
    HTTPException = fw.HTTPException

    class TeapotHTTPError(HTTPException):
        def __init__(self) -> None:
            super().__init__(status_code=418, detail="subclassed", headers={"x-sub": "1"})

    def failing_dependency() -> None:
        raise NotFoundError(404, "raised in a dependency")

    @app.get("/app-error")
    def app_error():
        raise AppError(418, "base")

    @app.get("/not-found-error")
    async def not_found_error():
        raise NotFoundError(404, "subclass")

    @app.get("/special")
    def special():
        raise SpecialError(409, "specific")

    @app.get("/http-404")
    def http_404():
        raise HTTPException(status_code=404, detail="gone")

    @app.get("/http-404-async")
    async def http_404_async():
        raise HTTPException(status_code=404)

    @app.get("/http-dict")
    def http_dict():
        raise HTTPException(status_code=403, detail={"reason": "x", "codes": [1, 2]}, headers={"x-err": "1"})

    @app.get("/http-list")
    async def http_list():
        raise HTTPException(status_code=400, detail=["a", {"b": None}])

    @app.get("/http-no-detail")
    def http_no_detail():
        raise HTTPException(status_code=429)

    @app.get("/http-auth")
    def http_auth():
        raise HTTPException(status_code=401, detail="login", headers={"WWW-Authenticate": 'Bearer realm="x"'})

    @app.get("/http-204")
    def http_204():
        raise HTTPException(status_code=204, headers={"x-empty": "1"})

    @app.get("/http-500")
    def http_500():
        raise HTTPException(status_code=500, detail="explicit 500")

    @app.get("/starlette-http")
    def starlette_http():
        raise StarletteHTTPException(status_code=409, detail="conflict", headers={"x-s": "1"})

    @app.get("/starlette-http-async")
    async def starlette_http_async():
        raise StarletteHTTPException(status_code=400)

    @app.get("/starlette-http-404")
    def starlette_http_404():
        raise StarletteHTTPException(status_code=404, detail="starlette gone")

    @app.get("/unhandled")
    def unhandled():
        raise Unregistered("nobody handles me")

    @app.get("/unhandled-async")
    async def unhandled_async():
        raise RuntimeError("async boom")

    @app.get("/typed/{n}")
    def typed(n: int):
        return {"n": n}

    @app.get("/http-422")
    def http_422():
        raise HTTPException(status_code=422, detail="explicit 422")

    @app.get("/http-subclass")
    async def http_subclass():
        raise TeapotHTTPError()

    @app.get("/dep-error", dependencies=[fw.Depends(failing_dependency)])
    def dep_error():
        return {"reached": True}

    @app.post("/body")
    def body(payload: dict[str, int]):
        return payload


def build_errors(fw: Any) -> Any:
    """Handlers for a class hierarchy (async base, sync subclass) and for 404 and 405."""
    app = fw.FastAPI()
    JSONResponse = fw.JSONResponse

    @app.exception_handler(AppError)
    async def app_error_handler(request: Any, exc: AppError) -> Any:
        return JSONResponse(
            status_code=exc.code, content={"kind": type(exc).__name__, "msg": exc.msg, "path": request.url.path}
        )

    @app.exception_handler(SpecialError)
    def special_handler(request: Any, exc: SpecialError) -> Any:
        return fw.PlainTextResponse(f"special: {exc.msg}", status_code=exc.code, headers={"x-special": "1"})

    @app.exception_handler(404)
    def not_found_handler(request: Any, exc: Any) -> Any:
        return JSONResponse({"custom404": request.url.path, "detail": exc.detail}, status_code=404)

    @app.exception_handler(422)
    def status_422(request: Any, exc: Any) -> Any:
        return JSONResponse({"custom422": exc.detail}, status_code=422)

    @app.exception_handler(405)
    async def method_handler(request: Any, exc: Any) -> Any:
        return JSONResponse({"custom405": request.method}, status_code=405, headers=getattr(exc, "headers", None))

    _error_routes(fw, app)
    return app


def build_override_starlette(fw: Any) -> Any:
    """FastAPI's documented pattern: the handler registered for Starlette's HTTPException, both
    overrides calling the framework's default handler and decorating its response."""
    app = fw.FastAPI()

    @app.exception_handler(StarletteHTTPException)
    async def custom_http(request: Any, exc: Any) -> Any:
        response = await fw.http_exception_handler(request, exc)
        response.headers["x-custom-http"] = "1"
        return response

    @app.exception_handler(fw.RequestValidationError)
    async def custom_validation(request: Any, exc: Any) -> Any:
        response = await fw.request_validation_exception_handler(request, exc)
        response.headers["x-custom-validation"] = str(len(exc.errors()))
        return response

    _error_routes(fw, app)
    return app


def build_override_fw(fw: Any) -> Any:
    """Handlers registered for the framework's own HTTPException (sync) and
    RequestValidationError (answering 400 with the body, as in FastAPI's docs)."""
    app = fw.FastAPI()

    @app.exception_handler(fw.HTTPException)
    def plain_http(request: Any, exc: Any) -> Any:
        return fw.PlainTextResponse(f"plain: {exc.detail}", status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(fw.RequestValidationError)
    async def validation_400(request: Any, exc: Any) -> Any:
        return fw.JSONResponse(status_code=400, content=fw.jsonable_encoder({"errors": exc.errors(), "body": exc.body}))

    _error_routes(fw, app)
    return app


def build_catch_all(fw: Any) -> Any:
    """``@app.exception_handler(Exception)``: Starlette hands it to ServerErrorMiddleware."""
    app = fw.FastAPI()

    @app.exception_handler(Exception)
    async def catch_all(request: Any, exc: Exception) -> Any:
        return fw.JSONResponse({"error": type(exc).__name__, "msg": str(exc)}, status_code=500)

    _error_routes(fw, app)
    return app


def build_status_500(fw: Any) -> Any:
    """``@app.exception_handler(500)`` (sync): also a ServerErrorMiddleware handler in Starlette."""
    app = fw.FastAPI()

    @app.exception_handler(500)
    def on_500(request: Any, exc: Exception) -> Any:
        return fw.PlainTextResponse(f"500 handler: {type(exc).__name__}", status_code=500)

    _error_routes(fw, app)
    return app


def build_ctor_handlers(fw: Any) -> Any:
    """Handlers given to the constructor and through ``add_exception_handler``."""

    async def on_app_error(request: Any, exc: AppError) -> Any:
        return fw.JSONResponse({"ctor": exc.msg}, status_code=exc.code)

    def on_404(request: Any, exc: Any) -> Any:
        return fw.PlainTextResponse(f"ctor 404 {request.url.path}", status_code=404)

    def on_unregistered(request: Any, exc: Unregistered) -> Any:
        return fw.JSONResponse({"added": str(exc)}, status_code=503, headers={"Retry-After": "5"})

    app = fw.FastAPI(exception_handlers={AppError: on_app_error, 404: on_404})
    app.add_exception_handler(Unregistered, on_unregistered)
    _error_routes(fw, app)
    return app


def build_plain(fw: Any) -> Any:
    """No custom handler at all: the defaults."""
    app = fw.FastAPI()
    _error_routes(fw, app)
    return app


NO_RAISE = {"raise_server_exceptions": False}

ERRORS_CASES = [
    C("hier-base-handler", "GET", "/app-error", 418, app="errors"),
    C("hier-base-catches-subclass", "GET", "/not-found-error", 404, app="errors"),
    C("hier-specific-subclass-wins", "GET", "/special", 409, app="errors", compare_headers=("x-special",)),
    C("status-404-handler-http-exception", "GET", "/http-404", 404, app="errors"),
    C("status-404-handler-async-route", "GET", "/http-404-async", 404, app="errors"),
    C("status-404-handler-unknown-path", "GET", "/no/such/path", 404, app="errors"),
    C("status-404-handler-starlette-exception", "GET", "/starlette-http-404", 404, app="errors"),
    C("status-405-handler", "POST", "/app-error", 405, app="errors"),
    C("status-405-handler-get-on-post", "GET", "/body", 405, app="errors"),
    C("errors-other-status-default", "GET", "/http-dict", 403, app="errors", compare_headers=("x-err",)),
    C("errors-422-default", "GET", "/typed/x", 422, app="errors"),
    C("errors-unhandled-500", "GET", "/unhandled", 500, app="errors", **NO_RAISE),
    C("errors-dependency-raises-custom", "GET", "/dep-error", 404, app="errors"),
    C("status-422-handler-http-exception", "GET", "/http-422", 422, app="errors"),
    C("status-422-handler-not-for-validation", "GET", "/typed/x", 422, app="errors"),
    C("errors-http-subclass-default", "GET", "/http-subclass", 418, app="errors", compare_headers=("x-sub",)),
    C("ctor-handler-class", "GET", "/special", 409, app="ctor_handlers"),
    C("ctor-handler-404-unknown-path", "GET", "/nowhere", 404, app="ctor_handlers"),
    C("ctor-handler-404-route", "GET", "/http-404", 404, app="ctor_handlers"),
    C("ctor-add-exception-handler", "GET", "/unhandled", 503, app="ctor_handlers", compare_headers=("retry-after",)),
    C("ctor-dependency-raises-custom", "GET", "/dep-error", 404, app="ctor_handlers"),
]

OVERRIDE_STARLETTE_CASES = [
    C(
        "override-starlette-route-http-exception",
        "GET",
        "/http-dict",
        403,
        app="override_starlette",
        compare_headers=("x-err", "x-custom-http"),
    ),
    C(
        "override-starlette-unknown-path",
        "GET",
        "/no/such/path",
        404,
        app="override_starlette",
        compare_headers=("x-custom-http",),
    ),
    C(
        "override-starlette-405",
        "DELETE",
        "/typed/1",
        405,
        app="override_starlette",
        compare_headers=("x-custom-http",),
    ),
    C(
        "override-starlette-raised-starlette",
        "GET",
        "/starlette-http",
        409,
        app="override_starlette",
        compare_headers=("x-s", "x-custom-http"),
    ),
    C(
        "override-starlette-204-no-body",
        "GET",
        "/http-204",
        204,
        app="override_starlette",
        compare_headers=("x-empty", "x-custom-http"),
    ),
    C(
        "override-validation-calls-default",
        "GET",
        "/typed/x",
        422,
        app="override_starlette",
        compare_headers=("x-custom-validation",),
    ),
    C(
        "override-validation-body",
        "POST",
        "/body",
        422,
        app="override_starlette",
        json={"a": "x", "b": "y"},
        compare_headers=("x-custom-validation",),
    ),
]

OVERRIDE_FW_CASES = [
    C("override-fw-route-http-exception", "GET", "/http-404", 404, app="override_fw"),
    C("override-fw-dict-detail-headers", "GET", "/http-dict", 403, app="override_fw", compare_headers=("x-err",)),
    C(
        "override-fw-unknown-path-default",
        "GET",
        "/no/such/path",
        404,
        app="override_fw",
    ),
    C(
        "override-fw-405-default",
        "PUT",
        "/http-404",
        405,
        app="override_fw",
    ),
    C("override-fw-validation-query", "GET", "/typed/x", 400, app="override_fw"),
    C("override-fw-validation-body", "POST", "/body", 400, app="override_fw", json={"a": 1, "b": "nope"}),
    C("override-fw-validation-missing-body", "POST", "/body", 400, app="override_fw"),
    C(
        "override-fw-validation-malformed-json",
        "POST",
        "/body",
        400,
        app="override_fw",
        content=b'{"a": 1,',
        headers={"content-type": "application/json"},
    ),
    C("override-fw-body-ok", "POST", "/body", 200, app="override_fw", json={"a": 1}),
]

DEFAULT_CASES = [
    C("default-http-dict-detail-headers", "GET", "/http-dict", 403, app="plain", compare_headers=("x-err",)),
    C("default-http-list-detail", "GET", "/http-list", 400, app="plain"),
    C("default-http-no-detail-phrase", "GET", "/http-no-detail", 429, app="plain"),
    C("default-http-www-authenticate", "GET", "/http-auth", 401, app="plain"),
    C("default-http-204-no-body", "GET", "/http-204", 204, app="plain", compare_headers=("x-empty",)),
    C("default-http-500", "GET", "/http-500", 500, app="plain"),
    C("default-starlette-http", "GET", "/starlette-http", 409, app="plain", compare_headers=("x-s",)),
    C("default-starlette-http-no-detail-async", "GET", "/starlette-http-async", 400, app="plain"),
    C("default-custom-exception-unhandled-500", "GET", "/app-error", 500, app="plain", **NO_RAISE),
    C("default-unhandled-500", "GET", "/unhandled", 500, app="plain", **NO_RAISE),
    C("default-unhandled-async-500", "GET", "/unhandled-async", 500, app="plain", **NO_RAISE),
]

SERVER_ERROR_CASES = [
    C("catch-all-sync-route", "GET", "/unhandled", 500, app="catch_all", **NO_RAISE),
    C("catch-all-async-route", "GET", "/unhandled-async", 500, app="catch_all", **NO_RAISE),
    C("catch-all-custom-class", "GET", "/app-error", 500, app="catch_all", **NO_RAISE),
    C("catch-all-leaves-http-exception", "GET", "/http-list", 400, app="catch_all", **NO_RAISE),
    C("catch-all-leaves-http-500", "GET", "/http-500", 500, app="catch_all", **NO_RAISE),
    C("catch-all-leaves-404", "GET", "/no/such/path", 404, app="catch_all", **NO_RAISE),
    C("catch-all-leaves-422", "GET", "/typed/x", 422, app="catch_all", **NO_RAISE),
    C("status-500-handler-unhandled", "GET", "/unhandled", 500, app="status_500", **NO_RAISE),
    C(
        "status-500-handler-async-route",
        "GET",
        "/unhandled-async",
        500,
        app="status_500",
        **NO_RAISE,
    ),
    C(
        "status-500-handler-leaves-http-500",
        "GET",
        "/http-500",
        500,
        app="status_500",
        **NO_RAISE,
    ),
]

FACTORIES: dict[str, Factory] = {
    "routers": build_routers,
    "errors": build_errors,
    "override_starlette": build_override_starlette,
    "override_fw": build_override_fw,
    "catch_all": build_catch_all,
    "status_500": build_status_500,
    "ctor_handlers": build_ctor_handlers,
    "plain": build_plain,
}

ALL_CASES = (
    ROUTER_CASES
    + URL_CASES
    + ERRORS_CASES
    + OVERRIDE_STARLETTE_CASES
    + OVERRIDE_FW_CASES
    + DEFAULT_CASES
    + SERVER_ERROR_CASES
)


apps = apps_fixture(FACTORIES, with_route=False)


@pytest.mark.parametrize("case", ALL_CASES)
def test_routers_errors_differential(apps: Apps, case: Case) -> None:
    check(apps, case, MIDDLEWARE)


def test_every_app_builds(apps: Apps) -> None:
    assert apps.sut_errors == []


def test_case_ids_unique() -> None:
    assert_unique_ids(ALL_CASES)
