"""Differential test of middleware: the same apps on FastAPI and on turboapi.

Each app factory below takes a namespace ``fw`` holding the public names of either FastAPI
(``fastapi``, ``fastapi.responses``, ``fastapi.middleware.*``...) or turboapi (the same modules
under ``turboapi``) and builds one app; nothing in a factory imports a framework directly.  Every
case is sent to both apps through their own ``TestClient`` (turboapi's drives the real Rust
pipeline) and the observable answer is compared:

* status code and body (parsed JSON when the content-type says JSON, exact bytes otherwise);
  httpx decodes a ``content-encoding: gzip`` body on both sides, so gzip bodies are compared
  decompressed (compressed bytes differ by the gzip header's timestamp, and turboapi's native
  GZip uses another deflate implementation: its ``content-length`` is compared as present only)
* ``content-type``, ``location``, ``vary``, ``content-encoding``, ``set-cookie`` (attribute
  order ignored), ``allow`` (as a set) and every ``access-control-*`` header, whenever either
  side sends one, plus any header a case names in ``compare_headers``

That is ``differential_harness``'s ``MIDDLEWARE`` comparison (``test_routers_errors_differential.py``
uses it too).  Each case also carries the status FastAPI is expected to give, so the reference half
is checked to really exercise what the case claims to.  A case where turboapi differs is kept and
marked ``xfail(strict=True)`` with the difference as its reason.

``COMPAT_ONLY_FASTAPI=1`` compares FastAPI against a second FastAPI app (validates the cases).
"""

import gzip
from typing import Any

import pytest

from .differential_harness import MIDDLEWARE, Apps, C, Case, Factory, apps_fixture, assert_unique_ids, check

# =========================================================================== the apps


def _common_routes(fw: Any, app: Any) -> None:
    """Routes every middleware app shares: a 200, a 422, an HTTPException, a POST-only path."""

    @app.get("/hello")
    def hello():
        return {"hello": "world"}

    @app.post("/hello")
    async def hello_post():
        return {"posted": True}

    @app.get("/typed/{n}")
    def typed(n: int):
        return {"n": n}

    @app.get("/teapot")
    async def teapot():
        raise fw.HTTPException(status_code=418, detail="short and stout", headers={"x-teapot": "yes"})

    @app.post("/only-post")
    def only_post():
        return {"ok": True}

    @app.get("/vary")
    def vary():
        return fw.JSONResponse({"vary": True}, headers={"Vary": "Accept-Language"})


def build_cors_list(fw: Any) -> Any:
    app = fw.FastAPI()
    app.add_middleware(
        fw.CORSMiddleware,
        allow_origins=["https://a.example", "https://b.example"],
        allow_methods=["GET", "POST"],
        allow_headers=["X-Custom"],
        expose_headers=["X-Exposed", "X-Other"],
        max_age=321,
    )
    _common_routes(fw, app)
    return app


def build_cors_star(fw: Any) -> Any:
    app = fw.FastAPI()
    app.add_middleware(fw.CORSMiddleware, allow_origins=["*"], allow_methods=["*"], allow_headers=["*"])
    _common_routes(fw, app)
    return app


def build_cors_star_credentials(fw: Any) -> Any:
    app = fw.FastAPI()
    app.add_middleware(
        fw.CORSMiddleware,
        allow_origins=["*"],
        allow_credentials=True,
        expose_headers=["X-Exposed"],
    )
    _common_routes(fw, app)
    return app


def build_cors_regex(fw: Any) -> Any:
    app = fw.FastAPI()
    app.add_middleware(
        fw.CORSMiddleware,
        allow_origins=["https://exact.test"],
        allow_origin_regex=r"https://[a-z]+\.example\.org",
        allow_methods=["GET", "DELETE"],
        allow_credentials=True,
        allow_private_network=True,
    )
    _common_routes(fw, app)
    return app


PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8
LOREM = "lorem ipsum dolor sit amet "


def _gzip_routes(fw: Any, app: Any) -> None:
    @app.get("/text/{n}")
    def text(n: int):
        return fw.PlainTextResponse(("abcdefghij" * (n // 10 + 1))[:n])

    @app.get("/json")
    async def big_json():
        return {"items": [{"id": i, "name": f"item-{i}", "tags": ["a", "b"]} for i in range(60)]}

    @app.get("/png")
    def png():
        return fw.Response(content=PNG, media_type="image/png")

    @app.get("/audio")
    def audio():
        return fw.Response(content=PNG, media_type="audio/mpeg")

    @app.get("/already-encoded")
    def already_encoded():
        data = gzip.compress((LOREM * 100).encode(), mtime=0)
        return fw.Response(content=data, media_type="text/plain", headers={"Content-Encoding": "gzip"})

    @app.get("/vary")
    def vary():
        return fw.PlainTextResponse(LOREM * 50, headers={"Vary": "Cookie"})

    @app.get("/partial")
    def partial():
        return fw.PlainTextResponse(LOREM * 50, status_code=206)

    @app.get("/csv")
    def csv():
        return fw.Response(content=("a,b,c\n" * 200).encode(), media_type="text/csv")

    @app.get("/err")
    def err():
        raise fw.HTTPException(status_code=400, detail=LOREM * 40)


def build_gzip(fw: Any) -> Any:
    app = fw.FastAPI()
    app.add_middleware(fw.GZipMiddleware, minimum_size=100, compresslevel=1)
    _gzip_routes(fw, app)
    return app


def build_gzip_default(fw: Any) -> Any:
    app = fw.FastAPI()
    app.add_middleware(fw.GZipMiddleware)
    _gzip_routes(fw, app)
    return app


def build_gzip_exclude(fw: Any) -> Any:
    app = fw.FastAPI()
    app.add_middleware(fw.GZipMiddleware, minimum_size=10, exclude_content_types=("text/csv",))
    _gzip_routes(fw, app)
    return app


def build_gzip_cors(fw: Any) -> Any:
    app = fw.FastAPI()
    app.add_middleware(fw.GZipMiddleware, minimum_size=10)
    app.add_middleware(fw.CORSMiddleware, allow_origins=["https://a.example"])
    _gzip_routes(fw, app)
    return app


def build_trusted(fw: Any) -> Any:
    app = fw.FastAPI()
    app.add_middleware(
        fw.TrustedHostMiddleware, allowed_hosts=["example.com", "*.example.net", "www.site.org", "[::1]"]
    )

    @app.get("/where")
    def where(request: fw.Request):
        return {"host": request.headers.get("host"), "url": str(request.url)}

    return app


def build_trusted_no_www(fw: Any) -> Any:
    app = fw.FastAPI()
    app.add_middleware(fw.TrustedHostMiddleware, allowed_hosts=["www.site.org"], www_redirect=False)

    @app.get("/where")
    def where():
        return {"ok": True}

    return app


def build_https(fw: Any) -> Any:
    app = fw.FastAPI()
    app.add_middleware(fw.HTTPSRedirectMiddleware)

    @app.get("/secure")
    def secure(request: fw.Request):
        return {"scheme": request.url.scheme}

    return app


def build_http_mw(fw: Any) -> Any:
    """``@app.middleware("http")`` functions: headers, replacement, short-circuit, state, order."""
    app = fw.FastAPI()
    Request, JSONResponse, PlainTextResponse = fw.Request, fw.JSONResponse, fw.PlainTextResponse

    @app.get("/plain")
    def plain():
        return {"plain": True}

    @app.get("/state")
    async def state(request: Request):
        return {"user": request.state.user, "trail": request.state.trail}

    @app.get("/state-sync")
    def state_sync(request: Request):
        return {"user": request.state.user, "trail": request.state.trail}

    @app.get("/replace")
    def replace():
        return {"original": True}

    @app.get("/blocked")
    def blocked():  # never reached: a middleware answers first
        return {"reached": True}

    @app.get("/http-404")
    def http_404():
        raise fw.HTTPException(status_code=404, detail="no such thing")

    @app.get("/http-401")
    async def http_401():
        raise fw.HTTPException(status_code=401, detail="who?", headers={"WWW-Authenticate": "Bearer"})

    @app.get("/typed/{n}")
    def typed(n: int):
        return {"n": n}

    @app.get("/boom")
    def boom():
        raise ValueError("boom")

    @app.get("/cookie")
    def cookie():
        return {"cookie": True}

    # Registered first, so innermost: it runs last on the way in, first on the way out.
    @app.middleware("http")
    async def inner(request: Request, call_next):
        request.state.trail = [*getattr(request.state, "trail", []), "inner"]
        response = await call_next(request)
        response.headers["x-order"] = response.headers.get("x-order", "") + "I"
        response.headers["x-seen-status"] = str(response.status_code)
        return response

    @app.middleware("http")
    async def middle(request: Request, call_next):
        request.state.user = "alice"
        request.state.trail = [*getattr(request.state, "trail", []), "middle"]
        if request.url.path == "/blocked":
            return JSONResponse({"blocked": True}, status_code=403)
        if request.url.path == "/boom":
            try:
                return await call_next(request)
            except ValueError as exc:
                return JSONResponse({"caught": str(exc)}, status_code=500)
        response = await call_next(request)
        if request.url.path == "/replace":
            return PlainTextResponse("replaced", status_code=202, headers={"x-replaced": "1"})
        if request.url.path == "/cookie":
            response.set_cookie("mw", "set-by-middleware", httponly=True)
        response.headers["x-order"] = response.headers.get("x-order", "") + "M"
        return response

    @app.middleware("http")
    async def outer(request: Request, call_next):
        request.state.trail = ["outer"]
        response = await call_next(request)
        response.headers["x-order"] = response.headers.get("x-order", "") + "O"
        response.headers.append("x-multi", "outer")
        return response

    return app


def build_stack(fw: Any) -> Any:
    """Decorated middleware, ``add_middleware`` with a BaseHTTPMiddleware subclass and a
    ``dispatch=`` function, and CORS: the last added is the outermost."""
    app = fw.FastAPI()

    def tagger(tag: str) -> Any:
        async def dispatch(request: Any, call_next: Any) -> Any:
            if request.url.path == "/short" and tag == "D2":
                return fw.PlainTextResponse("short-circuited by D2")
            response = await call_next(request)
            response.headers["x-order"] = response.headers.get("x-order", "") + tag
            return response

        return dispatch

    class Tagging(fw.BaseHTTPMiddleware):
        def __init__(self, app: Any, tag: str) -> None:
            super().__init__(app)
            self.tag = tag

        async def dispatch(self, request: Any, call_next: Any) -> Any:
            response = await call_next(request)
            response.headers["x-order"] = response.headers.get("x-order", "") + self.tag
            return response

    @app.get("/order")
    def order():
        return {"ok": True}

    @app.get("/short")
    def short():
        return {"reached": True}

    app.middleware("http")(tagger("D1"))  # innermost
    app.add_middleware(Tagging, tag="A1")
    app.add_middleware(fw.CORSMiddleware, allow_origins=["https://a.example"])
    app.middleware("http")(tagger("D2"))  # answers /short itself, outside CORS
    app.add_middleware(fw.BaseHTTPMiddleware, dispatch=tagger("A2"))  # outermost
    return app


def build_ctor_middleware(fw: Any) -> Any:
    """``FastAPI(middleware=[Middleware(...)])``: the first listed is the outermost."""

    async def tag(request: Any, call_next: Any) -> Any:
        response = await call_next(request)
        response.headers["x-order"] = response.headers.get("x-order", "") + "T"
        return response

    app = fw.FastAPI(
        middleware=[
            fw.Middleware(fw.CORSMiddleware, allow_origins=["https://a.example"], expose_headers=["x-order"]),
            fw.Middleware(fw.BaseHTTPMiddleware, dispatch=tag),
        ]
    )

    @app.get("/hello")
    def hello():
        return {"hello": True}

    return app


def build_exception_handler_mw(fw: Any) -> Any:
    """A middleware around routes whose errors go to custom handlers, ``Exception`` included."""
    app = fw.FastAPI()

    class Teapot(Exception):
        pass

    @app.exception_handler(Teapot)
    async def teapot_handler(request: Any, exc: Teapot) -> Any:
        return fw.JSONResponse({"teapot": str(exc)}, status_code=418)

    @app.exception_handler(Exception)
    def catch_all(request: Any, exc: Exception) -> Any:
        return fw.JSONResponse({"caught": type(exc).__name__}, status_code=500)

    @app.middleware("http")
    async def tag(request: Any, call_next: Any) -> Any:
        response = await call_next(request)
        response.headers["x-mw"] = str(response.status_code)
        return response

    @app.get("/teapot")
    def teapot():
        raise Teapot("tea")

    @app.get("/boom")
    async def boom():
        raise KeyError("k")

    return app


def build_mw_body(fw: Any) -> Any:
    """Middleware that reads the request body, rebuilds the response from its body iterator, raises."""
    app = fw.FastAPI()

    @app.post("/echo")
    async def echo(request: fw.Request):
        return {"echo": await request.json()}

    @app.post("/echo-model")
    def echo_model(payload: dict):
        return {"payload": payload}

    @app.get("/rebuild")
    def rebuild():
        return fw.PlainTextResponse("lower case body", headers={"x-route": "1"})

    @app.get("/mw-raises")
    def mw_raises():  # never reached
        return {"reached": True}

    @app.middleware("http")
    async def body_reader(request: Any, call_next: Any) -> Any:
        if request.url.path == "/mw-raises":
            raise fw.HTTPException(status_code=403, detail="raised in middleware")
        body = await request.body() if request.method == "POST" else b""
        response = await call_next(request)
        response.headers["x-body-len"] = str(len(body))
        if request.url.path == "/rebuild":
            chunks = [chunk async for chunk in response.body_iterator]
            return fw.Response(
                content=b"".join(chunks).upper(),
                status_code=response.status_code,
                headers=dict(response.headers),
            )
        return response

    return app


FACTORIES: dict[str, Factory] = {
    "cors_list": build_cors_list,
    "cors_star": build_cors_star,
    "cors_star_creds": build_cors_star_credentials,
    "cors_regex": build_cors_regex,
    "gzip": build_gzip,
    "gzip_default": build_gzip_default,
    "gzip_exclude": build_gzip_exclude,
    "gzip_cors": build_gzip_cors,
    "trusted": build_trusted,
    "trusted_no_www": build_trusted_no_www,
    "https": build_https,
    "http_mw": build_http_mw,
    "stack": build_stack,
    "ctor": build_ctor_middleware,
    "exc_mw": build_exception_handler_mw,
    "mw_body": build_mw_body,
}

# =========================================================================== cases

A = "https://a.example"
EVIL = "https://evil.example"


def preflight(origin: str | None, method: str | None, req_headers: str | None = None, pna: bool = False) -> Any:
    headers: list[tuple[str, str]] = []
    if origin is not None:
        headers.append(("origin", origin))
    if method is not None:
        headers.append(("access-control-request-method", method))
    if req_headers is not None:
        headers.append(("access-control-request-headers", req_headers))
    if pna:
        headers.append(("access-control-request-private-network", "true"))
    return headers


CORS_LIST_CASES = [
    C("list-preflight-ok", "OPTIONS", "/hello", 200, app="cors_list", headers=preflight(A, "GET")),
    C("list-preflight-ok-post", "OPTIONS", "/hello", 200, app="cors_list", headers=preflight(A, "POST")),
    C(
        "list-preflight-allowed-headers",
        "OPTIONS",
        "/hello",
        200,
        app="cors_list",
        headers=preflight("https://b.example", "GET", "x-custom, Content-Type"),
    ),
    C("list-preflight-bad-origin", "OPTIONS", "/hello", 400, app="cors_list", headers=preflight(EVIL, "GET")),
    C("list-preflight-bad-method", "OPTIONS", "/hello", 400, app="cors_list", headers=preflight(A, "PUT")),
    C(
        "list-preflight-bad-headers",
        "OPTIONS",
        "/hello",
        400,
        app="cors_list",
        headers=preflight(A, "GET", "X-Custom, X-Forbidden"),
    ),
    C(
        "list-preflight-private-network-refused",
        "OPTIONS",
        "/hello",
        400,
        app="cors_list",
        headers=preflight(A, "GET", pna=True),
    ),
    C(
        "list-preflight-every-failure",
        "OPTIONS",
        "/hello",
        400,
        app="cors_list",
        headers=preflight(EVIL, "PATCH", "X-Nope", pna=True),
    ),
    C("list-preflight-unknown-path", "OPTIONS", "/nowhere", 200, app="cors_list", headers=preflight(A, "GET")),
    C("list-options-without-acrm-405", "OPTIONS", "/hello", 405, app="cors_list", headers={"origin": A}),
    C(
        "list-options-acrm-without-origin-405",
        "OPTIONS",
        "/hello",
        405,
        app="cors_list",
        headers={"access-control-request-method": "GET"},
    ),
    C("list-simple-allowed", "GET", "/hello", 200, app="cors_list", headers={"origin": A}),
    C("list-simple-allowed-post", "POST", "/hello", 200, app="cors_list", headers={"origin": "https://b.example"}),
    C("list-simple-disallowed", "GET", "/hello", 200, app="cors_list", headers={"origin": EVIL}),
    C("list-simple-no-origin", "GET", "/hello", 200, app="cors_list"),
    C("list-simple-vary-merged", "GET", "/vary", 200, app="cors_list", headers={"origin": A}),
    C("list-simple-vary-merged-no-origin", "GET", "/vary", 200, app="cors_list"),
    C("list-404-allowed", "GET", "/nowhere", 404, app="cors_list", headers={"origin": A}),
    C("list-404-disallowed", "GET", "/nowhere", 404, app="cors_list", headers={"origin": EVIL}),
    C("list-405-allowed", "PUT", "/hello", 405, app="cors_list", headers={"origin": A}),
    C("list-405-no-origin", "DELETE", "/only-post", 405, app="cors_list"),
    C("list-422-allowed", "GET", "/typed/abc", 422, app="cors_list", headers={"origin": A}),
    C(
        "list-http-exception-allowed",
        "GET",
        "/teapot",
        418,
        app="cors_list",
        headers={"origin": A},
        compare_headers=("x-teapot",),
    ),
]

CORS_STAR_CASES = [
    C("star-preflight-any-origin", "OPTIONS", "/hello", 200, app="cors_star", headers=preflight(EVIL, "PUT")),
    C(
        "star-preflight-headers-mirrored",
        "OPTIONS",
        "/hello",
        200,
        app="cors_star",
        headers=preflight(A, "DELETE", "X-Foo, x-bar"),
    ),
    C(
        "star-preflight-private-network-refused",
        "OPTIONS",
        "/hello",
        400,
        app="cors_star",
        headers=preflight(A, "GET", pna=True),
    ),
    C("star-simple-origin", "GET", "/hello", 200, app="cors_star", headers={"origin": EVIL}),
    C("star-simple-with-cookie", "GET", "/hello", 200, app="cors_star", headers={"origin": A, "cookie": "a=1"}),
    C("star-simple-no-origin", "GET", "/hello", 200, app="cors_star"),
    C("star-404", "GET", "/nowhere", 404, app="cors_star", headers={"origin": A}),
    C("star-405", "GET", "/only-post", 405, app="cors_star", headers={"origin": A}),
    C("star-422", "GET", "/typed/x", 422, app="cors_star", headers={"origin": A}),
    C("creds-preflight-echo-origin", "OPTIONS", "/hello", 200, app="cors_star_creds", headers=preflight(A, "GET")),
    C(
        "creds-preflight-method-refused",
        "OPTIONS",
        "/hello",
        400,
        app="cors_star_creds",
        headers=preflight(A, "POST"),
    ),
    C("creds-simple-echo-origin", "GET", "/hello", 200, app="cors_star_creds", headers={"origin": EVIL}),
    C("creds-simple-no-origin", "GET", "/hello", 200, app="cors_star_creds"),
    C("creds-simple-vary-merged", "GET", "/vary", 200, app="cors_star_creds", headers={"origin": A}),
    C("creds-404", "GET", "/nowhere", 404, app="cors_star_creds", headers={"origin": A}),
]

CORS_REGEX_CASES = [
    C(
        "regex-preflight-match",
        "OPTIONS",
        "/hello",
        200,
        app="cors_regex",
        headers=preflight("https://api.example.org", "DELETE"),
    ),
    C(
        "regex-preflight-no-fullmatch",
        "OPTIONS",
        "/hello",
        400,
        app="cors_regex",
        headers=preflight("https://api.example.org.evil.com", "GET"),
    ),
    C(
        "regex-preflight-exact-list-origin",
        "OPTIONS",
        "/hello",
        200,
        app="cors_regex",
        headers=preflight("https://exact.test", "GET"),
    ),
    C(
        "regex-preflight-private-network",
        "OPTIONS",
        "/hello",
        200,
        app="cors_regex",
        headers=preflight("https://api.example.org", "GET", pna=True),
    ),
    C(
        "regex-preflight-method-refused",
        "OPTIONS",
        "/hello",
        400,
        app="cors_regex",
        headers=preflight("https://api.example.org", "POST"),
    ),
    C("regex-simple-match", "GET", "/hello", 200, app="cors_regex", headers={"origin": "https://www.example.org"}),
    C(
        "regex-simple-no-match",
        "GET",
        "/hello",
        200,
        app="cors_regex",
        headers={"origin": "http://www.example.org"},
    ),
    C("regex-simple-422", "GET", "/typed/1.5", 422, app="cors_regex", headers={"origin": "https://x.example.org"}),
]

GZ = {"accept-encoding": "gzip"}
GZ_LEN = ("content-length",)

GZIP_CASES = [
    C("gzip-below-minimum", "GET", "/text/99", 200, app="gzip", headers=GZ, compare_headers=GZ_LEN),
    C("gzip-at-minimum", "GET", "/text/100", 200, app="gzip", headers=GZ, compare_headers=GZ_LEN),
    C("gzip-large-level-1", "GET", "/text/5000", 200, app="gzip", headers=GZ, compare_headers=GZ_LEN),
    C("gzip-no-accept-encoding", "GET", "/text/5000", 200, app="gzip", compare_headers=GZ_LEN),
    C(
        "gzip-accept-encoding-br-only",
        "GET",
        "/text/5000",
        200,
        app="gzip",
        headers={"accept-encoding": "br"},
        compare_headers=GZ_LEN,
    ),
    C(
        "gzip-accept-encoding-list",
        "GET",
        "/text/5000",
        200,
        app="gzip",
        headers={"accept-encoding": "deflate, gzip;q=0.5"},
        compare_headers=GZ_LEN,
    ),
    C("gzip-json", "GET", "/json", 200, app="gzip", headers=GZ, compare_headers=GZ_LEN),
    C("gzip-excluded-png", "GET", "/png", 200, app="gzip", headers=GZ, compare_headers=GZ_LEN),
    C("gzip-excluded-audio-wildcard", "GET", "/audio", 200, app="gzip", headers=GZ, compare_headers=GZ_LEN),
    C("gzip-already-encoded", "GET", "/already-encoded", 200, app="gzip", headers=GZ, compare_headers=GZ_LEN),
    C("gzip-vary-merged", "GET", "/vary", 200, app="gzip", headers=GZ),
    C("gzip-vary-merged-identity", "GET", "/vary", 200, app="gzip"),
    C("gzip-partial-206-untouched", "GET", "/partial", 206, app="gzip", headers=GZ, compare_headers=GZ_LEN),
    C("gzip-http-exception-body", "GET", "/err", 400, app="gzip", headers=GZ, compare_headers=GZ_LEN),
    C("gzip-404-small", "GET", "/nowhere", 404, app="gzip", headers=GZ),
    C("gzip-default-499", "GET", "/text/499", 200, app="gzip_default", headers=GZ, compare_headers=GZ_LEN),
    C("gzip-default-500", "GET", "/text/500", 200, app="gzip_default", headers=GZ, compare_headers=GZ_LEN),
    C("gzip-default-level-9", "GET", "/text/5000", 200, app="gzip_default", headers=GZ, compare_headers=GZ_LEN),
    C("gzip-exclude-custom-csv", "GET", "/csv", 200, app="gzip_exclude", headers=GZ, compare_headers=GZ_LEN),
    C("gzip-exclude-custom-png-now-compressed", "GET", "/png", 200, app="gzip_exclude", headers=GZ),
    C("gzip-cors-vary-both", "GET", "/text/5000", 200, app="gzip_cors", headers={**GZ, "origin": A}),
    C(
        "gzip-cors-preflight",
        "OPTIONS",
        "/text/5000",
        200,
        app="gzip_cors",
        headers=[*GZ.items(), *preflight(A, "GET")],
    ),
]

TRUSTED_CASES = [
    C("trusted-exact", "GET", "/where", 200, app="trusted", headers={"host": "example.com"}),
    C("trusted-exact-with-port", "GET", "/where", 200, app="trusted", headers={"host": "example.com:8443"}),
    C("trusted-uppercase", "GET", "/where", 200, app="trusted", headers={"host": "EXAMPLE.com"}),
    C("trusted-wildcard", "GET", "/where", 200, app="trusted", headers={"host": "api.example.net"}),
    C("trusted-wildcard-deep", "GET", "/where", 200, app="trusted", headers={"host": "a.b.example.net:81"}),
    C("trusted-wildcard-bare-domain-refused", "GET", "/where", 400, app="trusted", headers={"host": "example.net"}),
    C("trusted-wildcard-suffix-trick", "GET", "/where", 400, app="trusted", headers={"host": "badexample.net"}),
    C("trusted-disallowed", "GET", "/where", 400, app="trusted", headers={"host": "evil.com"}),
    C("trusted-subdomain-of-exact-refused", "GET", "/where", 400, app="trusted", headers={"host": "x.example.com"}),
    C("trusted-default-testserver-refused", "GET", "/where", 400, app="trusted"),
    C("trusted-www-redirect", "GET", "/where?a=1", 307, app="trusted", headers={"host": "site.org"}),
    C("trusted-www-redirect-with-port", "GET", "/where", 307, app="trusted", headers={"host": "site.org:8080"}),
    C("trusted-www-host-itself", "GET", "/where", 200, app="trusted", headers={"host": "www.site.org"}),
    C("trusted-missing-host", "GET", "/where", 400, app="trusted", headers={"host": ""}),
    C("trusted-unknown-path-allowed-host", "GET", "/nowhere", 404, app="trusted", headers={"host": "example.com"}),
    C("trusted-unknown-path-bad-host", "GET", "/nowhere", 400, app="trusted", headers={"host": "evil.com"}),
    C("trusted-ipv6", "GET", "/where", 200, app="trusted", headers={"host": "[::1]:8000"}),
    C(
        "trusted-port-not-numeric",
        "GET",
        "/where",
        400,
        app="trusted",
        headers={"host": "example.com:abc"},
    ),
    C(
        "trusted-empty-port",
        "GET",
        "/where",
        400,
        app="trusted",
        headers={"host": "example.com:"},
    ),
    C(
        "trusted-userinfo-wildcard",
        "GET",
        "/where",
        400,
        app="trusted",
        headers={"host": "u@api.example.net"},
    ),
    C("trusted-path-in-host", "GET", "/where", 400, app="trusted", headers={"host": "api.example.net/x"}),
    C("trusted-no-www-redirect", "GET", "/where", 400, app="trusted_no_www", headers={"host": "site.org"}),
]

HTTPS_CASES = [
    C("https-redirect-plain", "GET", "http://testserver/secure", 307, app="https"),
    C("https-redirect-port-80-dropped", "GET", "http://testserver:80/secure", 307, app="https"),
    C("https-redirect-port-8080-kept", "GET", "http://testserver:8080/secure", 307, app="https"),
    C("https-redirect-query", "GET", "http://testserver/secure?a=1&b=two%20words", 307, app="https"),
    C("https-redirect-host-header", "POST", "/secure?x=1", 307, app="https", headers={"host": "example.com:8080"}),
    C("https-redirect-unknown-path", "GET", "http://testserver/nowhere", 307, app="https"),
    C("https-passthrough", "GET", "https://testserver/secure", 200, app="https"),
    C("https-passthrough-443", "GET", "https://testserver:443/secure", 200, app="https"),
    C("https-passthrough-404", "GET", "https://testserver/nowhere", 404, app="https"),
]

ORDER = ("x-order", "x-seen-status", "x-multi")

HTTP_MW_CASES = [
    C("mw-headers-order", "GET", "/plain", 200, app="http_mw", compare_headers=ORDER),
    C("mw-state-async-handler", "GET", "/state", 200, app="http_mw", compare_headers=ORDER),
    C("mw-state-sync-handler", "GET", "/state-sync", 200, app="http_mw", compare_headers=ORDER),
    C("mw-replace-response", "GET", "/replace", 202, app="http_mw", compare_headers=(*ORDER, "x-replaced")),
    C("mw-short-circuit", "GET", "/blocked", 403, app="http_mw", compare_headers=ORDER),
    C("mw-sees-http-exception-404", "GET", "/http-404", 404, app="http_mw", compare_headers=ORDER),
    C("mw-sees-http-exception-401", "GET", "/http-401", 401, app="http_mw", compare_headers=ORDER),
    C("mw-sees-422", "GET", "/typed/zz", 422, app="http_mw", compare_headers=ORDER),
    C("mw-sees-unknown-path-404", "GET", "/nowhere", 404, app="http_mw", compare_headers=ORDER),
    C("mw-sees-405", "POST", "/plain", 405, app="http_mw", compare_headers=ORDER),
    C("mw-sees-trailing-slash-redirect", "GET", "/plain/?q=1", 307, app="http_mw", compare_headers=ORDER),
    C("mw-catches-route-exception", "GET", "/boom", 500, app="http_mw", compare_headers=ORDER),
    C("mw-sets-cookie", "GET", "/cookie", 200, app="http_mw", compare_headers=ORDER),
]

STACK_CASES = [
    C("stack-order", "GET", "/order", 200, app="stack", compare_headers=("x-order",)),
    C("stack-order-cors", "GET", "/order", 200, app="stack", headers={"origin": A}, compare_headers=("x-order",)),
    C(
        "stack-short-circuit-outside-cors",
        "GET",
        "/short",
        200,
        app="stack",
        headers={"origin": A},
        compare_headers=("x-order",),
    ),
    C(
        "stack-preflight-inside-d2",
        "OPTIONS",
        "/order",
        200,
        app="stack",
        headers=preflight(A, "GET"),
        compare_headers=("x-order",),
    ),
    C("stack-404", "GET", "/nowhere", 404, app="stack", compare_headers=("x-order",)),
    C("ctor-middleware-order", "GET", "/hello", 200, app="ctor", headers={"origin": A}, compare_headers=("x-order",)),
]

MW_BODY_CASES = [
    C(
        "mw-body-read-then-request-json",
        "POST",
        "/echo",
        200,
        app="mw_body",
        json={"a": [1, 2]},
        compare_headers=("x-body-len",),
    ),
    C(
        "mw-body-read-then-body-param",
        "POST",
        "/echo-model",
        200,
        app="mw_body",
        json={"k": "v"},
        compare_headers=("x-body-len",),
    ),
    C(
        "mw-body-read-then-422",
        "POST",
        "/echo-model",
        422,
        app="mw_body",
        content=b"{bad",
        headers={"content-type": "application/json"},
        compare_headers=("x-body-len",),
    ),
    C(
        "mw-rebuilds-from-body-iterator",
        "GET",
        "/rebuild",
        200,
        app="mw_body",
        compare_headers=("x-body-len", "x-route", "content-length"),
    ),
    C(
        "mw-raises-http-exception-500",
        "GET",
        "/mw-raises",
        500,
        app="mw_body",
        raise_server_exceptions=False,
    ),
]

EXC_MW_CASES = [
    C("exc-mw-custom-handler-inside-mw", "GET", "/teapot", 418, app="exc_mw", compare_headers=("x-mw",)),
    C(
        "exc-mw-exception-handler-outside-mw",
        "GET",
        "/boom",
        500,
        app="exc_mw",
        raise_server_exceptions=False,
        compare_headers=("x-mw",),
    ),
]

ALL_CASES = (
    CORS_LIST_CASES
    + CORS_STAR_CASES
    + CORS_REGEX_CASES
    + GZIP_CASES
    + TRUSTED_CASES
    + HTTPS_CASES
    + HTTP_MW_CASES
    + STACK_CASES
    + MW_BODY_CASES
    + EXC_MW_CASES
)


# Stacks of only the standard middleware run in Rust; the Python classes run them otherwise
# (mixed stacks) or with native_middleware=False. Both must answer as Starlette does.
apps = apps_fixture(
    FACTORIES,
    with_route=False,
    variants={"native": {"native_middleware": True}, "python": {"native_middleware": False}},
)


@pytest.mark.parametrize("case", ALL_CASES)
def test_middleware_differential(apps: Apps, case: Case) -> None:
    check(apps, case, MIDDLEWARE)


def test_every_app_builds(apps: Apps) -> None:
    assert apps.sut_errors == []


def test_case_ids_unique() -> None:
    assert_unique_ids(ALL_CASES)
