"""Differential test of ``FileResponse``, ``StaticFiles`` and ``app.mount``: FastAPI against turboapi.

A module fixture builds a directory tree under ``tmp_path`` (text, binary, empty and 5 MiB files, names
with spaces / non-ASCII / ``%``, symlinks pointing inside and outside, an html site with ``index.html``
and ``404.html``, a package with ``statics``) with fixed mtimes.  The same app factories are built on
FastAPI and on turboapi (names taken from ``{package}``, ``{package}.responses`` and
``{package}.staticfiles``, nothing imported directly), and every case is sent to both through their own
``TestClient`` (``follow_redirects=False``):

* ``files``: routes returning ``FileResponse`` (media types, ``filename=``, ``headers=``,
  ``status_code=``, ``stat_result=``, ``response_class=FileResponse``, HEAD, POST, missing file)
* ``static``: ``StaticFiles`` mounted at ``/static``, ``/site`` (``html=True``), ``/follow``
  (``follow_symlink=True``), ``/pkg`` (``packages=``), plus ``check_dir=False`` mounts, routes around the
  mount and a ``url_for`` route; also through ``TestClient(root_path="/api")``
* ``handlers``: a mount under an app with a 404/405 exception handler and an http middleware

Compared on every case: status, the whole header list (sorted, ``date``/``server`` left out) and the
exact body.  A ``multipart/byteranges`` answer has its random boundary replaced by ``<boundary>`` in the
headers and the body, and the boundary's shape (Starlette: ``token_hex(13)``, 26 lower-case hex digits,
which also makes ``content-length`` comparable) is compared as such.  ``etag``/``last-modified`` must be
equal: both sides read the same files.  Header values written ``{etag:REL}``, ``{lm:REL}``,
``{lm_prev:REL}`` and ``{lm_next:REL}`` are replaced, before sending, by Starlette's etag / last-modified
of ``REL`` (one second earlier / one hour later).  A case URL starting with ``raw:`` is sent with its path
exactly as written (httpx would otherwise remove ``..`` and ``.`` segments).  Each case also carries the
status FastAPI gives, so the reference half is checked to exercise what the case claims.

If turboapi cannot build an app (today: ``NotSupportedYet`` for ``FileResponse``/``StaticFiles``), every
case of that app fails with that exception.  ``COMPAT_ONLY_FASTAPI=1`` compares FastAPI against a second
FastAPI app (validates the cases).  The behaviour these cases pin down is described in the spec
(``/tmp/spec_files.md`` when this was written).
"""

import dataclasses
import hashlib
import importlib
import inspect
import os
import random
import re
import sys
from collections.abc import Callable, Iterator
from email.utils import formatdate
from pathlib import Path
from typing import Any

import pytest

from fastapi_reference import FastAPITestClient

from .differential_harness import ONLY_FASTAPI, C, Case, send

SUT_PACKAGE = "fastapi" if ONLY_FASTAPI else "turboapi"

# --------------------------------------------------------------------------- namespaces

# name -> submodule ("" for the top-level package)
NAMES = {
    "FastAPI": "",
    "Request": "",
    "Response": "",
    "BackgroundTasks": "",
    "HTTPException": "",
    "FileResponse": "responses",
    "PlainTextResponse": "responses",
    "StaticFiles": "staticfiles",
}


class Framework:
    """Names of one framework, imported on first use (so a missing one fails the app using it)."""

    def __init__(self, package: str) -> None:
        self.package = package

    def __getattr__(self, name: str) -> Any:
        if name not in NAMES:
            raise AttributeError(name)
        module = importlib.import_module(f"{self.package}.{NAMES[name]}" if NAMES[name] else self.package)
        return getattr(module, name)


# --------------------------------------------------------------------------- the tree

T0 = 1_700_000_000  # a whole second: Starlette's etag hashes "1700000000.0-<size>"
T_FRACTION_NS = 1_700_000_000_123_456_789  # data.bin: a fractional float mtime in the etag
HELLO = b"Hello, world!\n" * 3  # 42 bytes
DATA = bytes(range(256)) * 4  # 1024 bytes
BIG_SIZE = 5 * 1024 * 1024
PACKAGE = "turbo_files_twin_pkg"


def make_tree(root: Path) -> None:
    def put(rel: str, content: bytes | str) -> Path:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            content = content.encode()
        path.write_bytes(content)
        return path

    put("secret.txt", "top secret\n")
    put("outside/inner.txt", "outside the served directory\n")
    put("static/hello.txt", HELLO)
    put("static/data.bin", DATA)
    put("static/big.bin", random.Random(1234).randbytes(BIG_SIZE))
    put("static/app.css", "body { color: red; }\n")
    put("static/app.js", "console.log('hi');\n")
    put("static/data.json", '{"a": 1}\n')
    put("static/image.svg", '<svg xmlns="http://www.w3.org/2000/svg"/>\n')
    put("static/page.html", "<p>page</p>\n")
    put("static/archive.txt.gz", b"\x1f\x8b\x08\x00not really gzip")
    put("static/noext", "no extension\n")
    put("static/UPPER.TXT", "upper\n")
    put("static/empty.txt", b"")
    put("static/a b.txt", "a space\n")
    put("static/ü.txt", "umlaut\n")
    put("static/100%.txt", "percent\n")
    put("static/sub/x.js", "var x = 1;\n")
    put("static/sub/index.html", "<p>sub index, not served without html=True</p>\n")
    os.symlink("hello.txt", root / "static/link_in.txt")
    os.symlink("../secret.txt", root / "static/link_out.txt")
    os.symlink("../outside", root / "static/linkdir_out")

    put("site/index.html", "<h1>index</h1>\n")
    put("site/404.html", "<h1>custom not found</h1>\n")
    put("site/page.html", "<p>site page</p>\n")
    put("site/docs/index.html", "<h1>docs</h1>\n")
    put("site/my docs/index.html", "<h1>my docs</h1>\n")
    put("site/plain/readme.txt", "a directory without index.html\n")

    put("pkgdir/hello.txt", "hello from the directory (wins over the package)\n")
    put(f"pkgroot/{PACKAGE}/__init__.py", "")
    put(f"pkgroot/{PACKAGE}/statics/pkg.txt", "from the package's statics\n")
    put(f"pkgroot/{PACKAGE}/statics/hello.txt", "hello from the package (shadowed)\n")
    put(f"pkgroot/{PACKAGE}/assets/asset.txt", "from the package's assets\n")

    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            os.utime(path, ns=(T0 * 10**9, T0 * 10**9))
    os.utime(root / "static/data.bin", ns=(T_FRACTION_NS, T_FRACTION_NS))
    os.utime(root / "static/big.bin", ns=(T0 * 10**9 + 500_000_000,) * 2)


def starlette_etag(path: Path) -> str:
    st = os.stat(path)
    return '"' + hashlib.md5(f"{st.st_mtime}-{st.st_size}".encode(), usedforsecurity=False).hexdigest() + '"'


def last_modified(path: Path, shift: float = 0) -> str:
    return formatdate(os.stat(path).st_mtime + shift, usegmt=True)


PLACEHOLDER = re.compile(r"\{(etag|lm|lm_prev|lm_next):([^}]+)\}")


def resolve(value: str, root: Path) -> str:
    def one(match: re.Match[str]) -> str:
        kind, rel = match.groups()
        path = root / rel
        if kind == "etag":
            return starlette_etag(path)
        return last_modified(path, {"lm": 0, "lm_prev": -1, "lm_next": 3600}[kind])

    return PLACEHOLDER.sub(one, value)


# --------------------------------------------------------------------------- apps


def file_endpoint(fw: Any, path: Any, kwargs: dict[str, Any]) -> Callable[[], Any]:
    def endpoint() -> Any:
        return fw.FileResponse(path, **kwargs)

    return endpoint


def build_files(fw: Any, root: Path) -> Any:
    app = fw.FastAPI()
    FileResponse = fw.FileResponse  # noqa: N806 - a class
    s = root / "static"
    simple: dict[str, tuple[Any, dict[str, Any]]] = {
        "hello": (s / "hello.txt", {}),
        "str": (str(s / "hello.txt"), {}),
        "bin": (s / "data.bin", {}),
        "big": (s / "big.bin", {}),
        "css": (s / "app.css", {}),
        "js": (s / "app.js", {}),
        "json": (s / "data.json", {}),
        "svg": (s / "image.svg", {}),
        "html": (s / "page.html", {}),
        "gz": (s / "archive.txt.gz", {}),
        "noext": (s / "noext", {}),
        "upper": (s / "UPPER.TXT", {}),
        "empty": (s / "empty.txt", {}),
        "name-ascii": (s / "data.bin", {"filename": "report.pdf"}),
        "name-guess": (s / "data.bin", {"filename": "notes.txt"}),
        "name-space": (s / "hello.txt", {"filename": "my report.txt"}),
        "name-unicode": (s / "hello.txt", {"filename": "résumé €.txt"}),
        "name-quote": (s / "hello.txt", {"filename": 'a"b.txt'}),
        "name-slash": (s / "hello.txt", {"filename": "dir/x.txt"}),
        "name-percent": (s / "hello.txt", {"filename": "100%.txt"}),
        "inline": (s / "data.bin", {"filename": "image.png", "content_disposition_type": "inline"}),
        "media": (s / "data.bin", {"media_type": "text/csv"}),
        "media-charset": (s / "hello.txt", {"media_type": "text/plain; charset=latin-1"}),
        "media-app": (s / "hello.txt", {"media_type": "application/x-custom"}),
        "media-and-name": (s / "hello.txt", {"media_type": "application/x-custom", "filename": "x.txt"}),
        "headers": (s / "hello.txt", {"headers": {"X-Custom": "1", "Cache-Control": "max-age=60"}}),
        "headers-override": (
            s / "hello.txt",
            {
                "headers": {"ETag": '"mine"', "Content-Disposition": "inline", "Content-Type": "text/x-mine"},
                "filename": "x.txt",
                "media_type": "application/json",
            },
        ),
        "accept-ranges-none": (s / "hello.txt", {"headers": {"Accept-Ranges": "none"}}),
        "status-201": (s / "hello.txt", {"status_code": 201}),
        "status-404": (s / "hello.txt", {"status_code": 404}),
        "stat": (s / "hello.txt", {"stat_result": os.stat(s / "hello.txt")}),
        "missing": (root / "nope.txt", {}),
        "dir": (s, {}),
    }
    for name, (path, kwargs) in simple.items():
        endpoint = file_endpoint(fw, path, kwargs)
        endpoint.__name__ = "file_" + name.replace("-", "_")
        app.get(f"/file/{name}")(endpoint)

    @app.api_route("/file/head", methods=["GET", "HEAD"])
    def file_head():
        return FileResponse(s / "hello.txt")

    @app.api_route("/file/head-bin", methods=["GET", "HEAD"])
    def file_head_bin():
        return FileResponse(s / "data.bin", filename="data.bin")

    @app.post("/file/post")
    def file_post():
        return FileResponse(s / "hello.txt")

    @app.get("/file/async")
    async def file_async():
        return FileResponse(s / "data.bin")

    # FastAPI builds the response class from the returned value: FileResponse(path, status_code=...).
    @app.get("/file/response-class", response_class=FileResponse)
    def file_response_class():
        return str(s / "hello.txt")

    @app.get("/file/response-class-header", response_class=FileResponse)
    def file_response_class_header(response: fw.Response):
        response.headers["X-Extra"] = "from the Response parameter"
        return str(s / "app.css")

    state: list[str] = []

    @app.get("/file/background")
    def file_background(tasks: fw.BackgroundTasks):
        tasks.add_task(state.append, "ran")
        return FileResponse(s / "hello.txt")

    @app.get("/background-state")
    def background_state():
        return {"state": state}

    return app


def build_static(fw: Any, root: Path) -> Any:
    app = fw.FastAPI()
    StaticFiles = fw.StaticFiles  # noqa: N806 - a class
    Request = fw.Request  # noqa: N806 - a class

    @app.get("/static/before")
    def before():
        return {"route": "registered before the mount"}

    app.mount("/static", StaticFiles(directory=root / "static"), name="static")

    @app.get("/static/after")
    def after():
        return {"route": "registered after the mount: shadowed"}

    app.mount("/site", StaticFiles(directory=root / "site", html=True), name="site")
    app.mount("/follow", StaticFiles(directory=root / "static", follow_symlink=True), name="follow")
    app.mount(
        "/pkg",
        StaticFiles(directory=root / "pkgdir", packages=[PACKAGE, (PACKAGE, "assets")]),
        name="pkg",
    )
    app.mount("/nodir", StaticFiles(directory=root / "missing-dir", check_dir=False))
    app.mount("/isfile", StaticFiles(directory=root / "static/hello.txt", check_dir=False))
    app.mount("/nothing/", StaticFiles())

    @app.get("/urls")
    def urls(request: Request):
        try:
            request.url_for("static")
            missing_path = "no error"
        except Exception as exc:  # NoMatchFound: compared by name
            missing_path = type(exc).__name__
        return {
            "static": str(request.url_for("static", path="css/app.css")),
            "leading_slash": str(request.url_for("static", path="/x.css")),
            "space": str(request.url_for("static", path="a b.css")),
            "site_root": str(request.url_for("site", path="")),
            "path_for": str(app.url_path_for("static", path="x.css")),
            "missing_path": missing_path,
        }

    return app


def build_handlers(fw: Any, root: Path) -> Any:
    app = fw.FastAPI()
    PlainTextResponse = fw.PlainTextResponse  # noqa: N806 - a class
    StaticFiles = fw.StaticFiles  # noqa: N806 - a class

    @app.exception_handler(404)
    def not_found(request, exc):
        return PlainTextResponse(f"custom 404 for {request.url.path}", status_code=404)

    @app.exception_handler(405)
    def not_allowed(request, exc):
        return PlainTextResponse("custom 405", status_code=405, headers=getattr(exc, "headers", None))

    @app.middleware("http")
    async def add_header(request, call_next):
        response = await call_next(request)
        response.headers["X-Middleware"] = "1"
        return response

    app.mount("/static", StaticFiles(directory=root / "static"), name="static")
    return app


FACTORIES: dict[str, Callable[[Any, Path], Any]] = {
    "files": build_files,
    "static": build_static,
    "handlers": build_handlers,
}


class Twins:
    """Both frameworks' apps for every factory; the exception a turboapi app failed to build with."""

    def __init__(self, root: Path) -> None:
        self.root = root
        ref_fw, sut_fw = Framework("fastapi"), Framework(SUT_PACKAGE)
        self.sut_client_cls: Any = FastAPITestClient
        self.sut_client_error: BaseException | None = None
        if not ONLY_FASTAPI:
            try:
                self.sut_client_cls = importlib.import_module("turboapi.testclient").TestClient
            except Exception as exc:
                self.sut_client_error = exc
        self.ref_apps = {name: factory(ref_fw, root) for name, factory in FACTORIES.items()}
        self.sut_apps: dict[str, Any] = {}
        self.sut_failures: dict[str, BaseException] = {}
        for name, factory in FACTORIES.items():
            try:
                self.sut_apps[name] = factory(sut_fw, root)
            except Exception as exc:  # re-raised by every case of that app
                self.sut_failures[name] = exc
        self.pairs: dict[tuple[str, bool, str], tuple[Any, Any]] = {}

    def sut_app(self, name: str) -> Any:
        if name in self.sut_failures:
            exc = self.sut_failures[name]
            raise type(exc)(*exc.args) from exc
        if self.sut_client_error is not None:
            raise self.sut_client_error
        return self.sut_apps[name]

    def clients(self, app: str, raise_server_exceptions: bool = True, root_path: str = "") -> tuple[Any, Any]:
        key = (app, raise_server_exceptions, root_path)
        if key not in self.pairs:
            sut_app = self.sut_app(app)
            kw: dict[str, Any] = {"raise_server_exceptions": raise_server_exceptions, "follow_redirects": False}
            if root_path:
                kw["root_path"] = root_path
            self.pairs[key] = (FastAPITestClient(self.ref_apps[app], **kw), self.sut_client_cls(sut_app, **kw))
        return self.pairs[key]

    def close(self) -> None:
        for pair in self.pairs.values():
            for client in pair:
                client.close()


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("files_twin")
    make_tree(root)
    sys.path.insert(0, str(root / "pkgroot"))
    try:
        yield root
    finally:
        sys.path.remove(str(root / "pkgroot"))
        sys.modules.pop(PACKAGE, None)


@pytest.fixture(scope="module")
def twins(tree: Path) -> Iterator[Twins]:
    built = Twins(tree)
    yield built
    built.close()


# --------------------------------------------------------------------------- sending and comparing

IGNORED_HEADERS = {"date", "server"}
MULTIPART = re.compile(r"multipart/byteranges; boundary=(\S+)")


def send_case(client: Any, case: Case) -> Any:
    if not case.url.startswith("raw:"):
        return send(client, case)
    # httpx removes dot segments when it parses a URL; put the path back after parsing.
    path = case.url.removeprefix("raw:")
    request = client.build_request(case.method, "/", headers=case.headers)
    request.url._uri_reference = request.url._uri_reference._replace(path=path)
    assert request.url.raw_path == path.encode(), request.url.raw_path
    return client.send(request)


def snapshot(resp: Any) -> dict[str, Any]:
    headers = sorted((k.lower(), v) for k, v in resp.headers.multi_items() if k.lower() not in IGNORED_HEADERS)
    body = resp.content
    snap: dict[str, Any] = {"status": resp.status_code}
    found = MULTIPART.fullmatch(resp.headers.get("content-type", ""))
    if found:
        boundary = found.group(1)
        snap["boundary"] = "token_hex(13)" if re.fullmatch(r"[0-9a-f]{26}", boundary) else f"other: {boundary!r}"
        headers = [(k, v.replace(boundary, "<boundary>")) for k, v in headers]
        body = body.replace(boundary.encode(), b"<boundary>")
    snap["headers"] = headers
    if len(body) > 2048:
        snap["body"] = f"{len(body)} bytes, sha256 {hashlib.sha256(body).hexdigest()}"
    else:
        snap["body"] = body
    return snap


def check(twins: Twins, case: Case) -> None:
    app, _, root_path = case.app.partition("@")
    headers = case.headers
    if isinstance(headers, dict):
        headers = {k: resolve(v, twins.root) for k, v in headers.items()}
    elif headers:
        headers = [(k, resolve(v, twins.root)) for k, v in headers]
    case = dataclasses.replace(case, headers=headers)
    ref_client, sut_client = twins.clients(app, case.raise_server_exceptions, root_path)
    ref = snapshot(send_case(ref_client, case))
    assert ref["status"] == case.expect, f"FastAPI gave {ref['status']}, case expects {case.expect}: {ref}"
    sut = snapshot(send_case(sut_client, case))
    assert sut == ref, f"{case.method} {case.url} {headers or ''}\n  turboapi: {sut}\n  FastAPI:  {ref}"


def R(case_id: str, url: str, range_: str, expect: int, method: str = "GET", **kw: Any) -> Any:
    headers = {"range": range_, **kw.pop("headers", {})}
    return C(case_id, method, url, expect, headers=headers, **kw)


# --------------------------------------------------------------------------- FileResponse cases

FILE_CASES = [
    C("text", "GET", "/file/hello", 200, app="files"),
    C("text-head", "HEAD", "/file/head", 200, app="files"),
    C("text-get-on-head-route", "GET", "/file/head", 200, app="files"),
    C("str-path", "GET", "/file/str", 200, app="files"),
    C("binary-fractional-mtime", "GET", "/file/bin", 200, app="files"),
    C("binary-head", "HEAD", "/file/head-bin", 200, app="files"),
    C("big-5mib", "GET", "/file/big", 200, app="files"),
    C("css", "GET", "/file/css", 200, app="files"),
    C("js", "GET", "/file/js", 200, app="files"),
    C("json-no-charset", "GET", "/file/json", 200, app="files"),
    C("svg", "GET", "/file/svg", 200, app="files"),
    C("html", "GET", "/file/html", 200, app="files"),
    C("gz-type-without-encoding", "GET", "/file/gz", 200, app="files"),
    C("no-extension", "GET", "/file/noext", 200, app="files"),
    C("upper-case-extension", "GET", "/file/upper", 200, app="files"),
    C("empty-file", "GET", "/file/empty", 200, app="files"),
    C("filename-ascii", "GET", "/file/name-ascii", 200, app="files"),
    C("filename-decides-type", "GET", "/file/name-guess", 200, app="files"),
    C("filename-space", "GET", "/file/name-space", 200, app="files"),
    C("filename-non-ascii", "GET", "/file/name-unicode", 200, app="files"),
    C("filename-quote", "GET", "/file/name-quote", 200, app="files"),
    C("filename-slash", "GET", "/file/name-slash", 200, app="files"),
    C("filename-percent", "GET", "/file/name-percent", 200, app="files"),
    C("disposition-inline", "GET", "/file/inline", 200, app="files"),
    C("media-type-text-gets-charset", "GET", "/file/media", 200, app="files"),
    C("media-type-with-charset", "GET", "/file/media-charset", 200, app="files"),
    C("media-type-other", "GET", "/file/media-app", 200, app="files"),
    C("media-type-beats-filename", "GET", "/file/media-and-name", 200, app="files"),
    C("extra-headers", "GET", "/file/headers", 200, app="files"),
    C("headers-override-defaults", "GET", "/file/headers-override", 200, app="files"),
    C("accept-ranges-overridden", "GET", "/file/accept-ranges-none", 200, app="files"),
    C("status-201", "GET", "/file/status-201", 201, app="files"),
    C("status-404", "GET", "/file/status-404", 404, app="files"),
    C("stat-result-given", "GET", "/file/stat", 200, app="files"),
    C("post-route", "POST", "/file/post", 200, app="files"),
    C("async-endpoint", "GET", "/file/async", 200, app="files"),
    C("response-class", "GET", "/file/response-class", 200, app="files"),
    C("response-class-response-header", "GET", "/file/response-class-header", 200, app="files"),
    C("missing-file-500", "GET", "/file/missing", 500, app="files", raise_server_exceptions=False),
    C("directory-500", "GET", "/file/dir", 500, app="files", raise_server_exceptions=False),
    # Conditions that do not hold: the whole file, as FastAPI (which ignores them on FileResponse).
    C("route-if-none-match-other", "GET", "/file/hello", 200, app="files", headers={"if-none-match": '"other"'}),
    C("route-if-modified-since-older", "GET", "/file/hello", 200, app="files",
      headers={"if-modified-since": "{lm_prev:static/hello.txt}"}),
    C("route-if-modified-since-garbage", "GET", "/file/hello", 200, app="files",
      headers={"if-modified-since": "yesterday"}),
    C("route-if-none-match-decides-over-date", "GET", "/file/hello", 200, app="files",
      headers={"if-none-match": '"other"', "if-modified-since": "{lm_next:static/hello.txt}"}),
    C("route-post-ignores-conditions", "POST", "/file/post", 200, app="files",
      headers={"if-none-match": "{etag:static/hello.txt}"}),
    C("route-status-201-ignores-conditions", "GET", "/file/status-201", 201, app="files",
      headers={"if-none-match": "*"}),
]  # fmt: skip

# Conditions that hold on a FileResponse route: 304 where FastAPI sends the file again (a deliberate
# difference, README). The 304 must be the one FastAPI's StaticFiles gives for the same file.
NOT_MODIFIED_CASES = [
    ("GET", {"if-none-match": "{etag:static/hello.txt}"}),
    ("GET", {"if-none-match": "*"}),
    ("GET", {"if-none-match": 'W/{etag:static/hello.txt}'}),
    ("GET", {"if-none-match": '"a", {etag:static/hello.txt} ,"b"'}),
    ("GET", {"if-modified-since": "{lm:static/hello.txt}"}),
    ("GET", {"if-modified-since": "{lm_next:static/hello.txt}"}),
    ("HEAD", {"if-none-match": "{etag:static/hello.txt}"}),
    ("GET", {"if-none-match": "{etag:static/hello.txt}", "range": "bytes=0-4"}),
]  # fmt: skip

# --------------------------------------------------------------------------- Range cases (42-byte hello.txt)

H = "/file/hello"
RANGE_CASES = [
    R("first-bytes", H, "bytes=0-4", 206, app="files"),
    R("one-byte", H, "bytes=0-0", 206, app="files"),
    R("last-byte", H, "bytes=41-41", 206, app="files"),
    R("suffix", H, "bytes=-5", 206, app="files"),
    R("suffix-longer-than-file", H, "bytes=-100", 206, app="files"),
    R("open-ended", H, "bytes=40-", 206, app="files"),
    R("open-ended-from-zero", H, "bytes=0-", 206, app="files"),
    R("end-clamped", H, "bytes=0-100", 206, app="files"),
    R("whitespace-and-case", H, " BYTES = 1-2", 206, app="files"),
    R("invalid-part-skipped", H, "bytes=1-2,abc", 206, app="files"),
    R("empty-parts-skipped", H, "bytes=1-2, ,-", 206, app="files"),
    R("plus-sign-int", H, "bytes=+1-2", 206, app="files"),
    R("multi", H, "bytes=0-4,10-14", 206, app="files"),
    R("multi-three", H, "bytes=0-0,20-21,-1", 206, app="files"),
    R("multi-overlap-merged", H, "bytes=0-4,3-8,20-21", 206, app="files"),
    R("multi-unsorted-sorted", H, "bytes=20-21,0-4", 206, app="files"),
    R("multi-suffix-and-open", H, "bytes=-3,0-1,30-", 206, app="files"),
    R("adjacent-merged-single", H, "bytes=0-4,5-9", 206, app="files"),
    R("duplicate-merged-single", H, "bytes=0-4,0-4", 206, app="files"),
    R("overlap-merged-single", H, "bytes=0-10,5-", 206, app="files"),
    R("start-at-size-416", H, "bytes=42-", 416, app="files"),
    R("beyond-416", H, "bytes=100-200", 416, app="files"),
    R("suffix-zero-416", H, "bytes=-0", 416, app="files"),
    R("one-bad-of-two-416", H, "bytes=0-1,50-60", 416, app="files"),
    R("empty-file-416", "/file/empty", "bytes=0-", 416, app="files"),
    R("empty-file-suffix-416", "/file/empty", "bytes=-5", 416, app="files"),
    R("start-after-end-400", H, "bytes=5-2", 400, app="files"),
    R("start-after-end-multi-400", H, "bytes=3-1,5-6", 400, app="files"),
    R("other-unit-400", H, "items=0-4", 400, app="files"),
    R("no-equals-400", H, "garbage", 400, app="files"),
    R("not-numeric-400", H, "bytes=abc", 400, app="files"),
    R("nothing-400", H, "bytes=", 400, app="files"),
    R("dash-only-400", H, "bytes=-", 400, app="files"),
    R("two-dashes-400", H, "bytes=1-2-3", 400, app="files"),
    R("101-parts-ignored-200", H, "bytes=" + ",".join(f"{i}-{i}" for i in range(0, 202, 2)), 200, app="files"),
    R("100-parts-multipart", "/file/bin", "bytes=" + ",".join(f"{i}-{i}" for i in range(0, 200, 2)), 206,
      app="files"),
    R("binary-multi", "/file/bin", "bytes=0-9,100-109,1000-", 206, app="files"),
    R("big-middle", "/file/big", "bytes=1000000-1999999", 206, app="files"),
    R("big-multi", "/file/big", "bytes=0-99,5000000-", 206, app="files"),
    R("big-suffix", "/file/big", "bytes=-70000", 206, app="files"),
    R("with-filename", "/file/name-unicode", "bytes=0-4", 206, app="files"),
    R("multi-part-type-from-media-type", "/file/media", "bytes=0-1,5-6", 206, app="files"),
    R("multi-part-type-from-header", "/file/headers-override", "bytes=0-1,5-6", 206, app="files"),
    R("multi-with-extra-headers", "/file/headers", "bytes=0-1,5-6", 206, app="files"),
    R("ignored-for-status-201", "/file/status-201", "bytes=0-4", 201, app="files"),
    R("ignored-for-post", "/file/post", "bytes=0-4", 200, method="POST", app="files"),
    R("head-single", "/file/head", "bytes=0-4", 206, method="HEAD", app="files"),
    R("head-multi", "/file/head", "bytes=0-4,10-14", 206, method="HEAD", app="files"),
    R("head-416", "/file/head", "bytes=100-", 416, method="HEAD", app="files"),
    R("head-400", "/file/head", "garbage", 400, method="HEAD", app="files"),
    R("if-range-etag-match", H, "bytes=0-4", 206, app="files", headers={"if-range": "{etag:static/hello.txt}"}),
    R("if-range-date-match", H, "bytes=0-4", 206, app="files", headers={"if-range": "{lm:static/hello.txt}"}),
    R("if-range-etag-mismatch", H, "bytes=0-4", 200, app="files", headers={"if-range": '"other"'}),
    R("if-range-date-mismatch", H, "bytes=0-4", 200, app="files", headers={"if-range": "{lm_next:static/hello.txt}"}),
    R("if-range-weak-etag", H, "bytes=0-4", 200, app="files", headers={"if-range": "W/{etag:static/hello.txt}"}),
    R("if-range-mismatch-skips-parsing", H, "garbage", 200, app="files", headers={"if-range": '"other"'}),
    R("if-range-fractional-mtime", "/file/bin", "bytes=0-4", 206, app="files",
      headers={"if-range": "{etag:static/data.bin}"}),
    C("first-range-header-wins", "GET", H, 206, app="files", headers=[("range", "bytes=0-1"), ("range", "bytes=2-3")]),
]  # fmt: skip

# --------------------------------------------------------------------------- StaticFiles cases

STATIC_CASES = [
    C("text", "GET", "/static/hello.txt", 200, app="static"),
    C("head", "HEAD", "/static/hello.txt", 200, app="static"),
    C("binary", "GET", "/static/data.bin", 200, app="static"),
    C("big-5mib", "GET", "/static/big.bin", 200, app="static"),
    C("css", "GET", "/static/app.css", 200, app="static"),
    C("js", "GET", "/static/app.js", 200, app="static"),
    C("json", "GET", "/static/data.json", 200, app="static"),
    C("gz", "GET", "/static/archive.txt.gz", 200, app="static"),
    C("empty", "GET", "/static/empty.txt", 200, app="static"),
    C("subdirectory", "GET", "/static/sub/x.js", 200, app="static"),
    C("space-in-name", "GET", "/static/a%20b.txt", 200, app="static"),
    C("non-ascii-name", "GET", "/static/%C3%BC.txt", 200, app="static"),
    C("percent-in-name", "GET", "/static/100%25.txt", 200, app="static"),
    C("encoded-letter", "GET", "/static/%68ello.txt", 200, app="static"),
    C("encoded-slash-after-mount", "GET", "/static%2Fhello.txt", 200, app="static"),
    C("trailing-slash-on-file", "GET", "/static/hello.txt/", 200, app="static"),
    C("dot-segment", "GET", "raw:/static/./hello.txt", 200, app="static"),
    C("dot-dot-inside", "GET", "raw:/static/sub/../hello.txt", 200, app="static"),
    C("missing-404", "GET", "/static/nope.txt", 404, app="static"),
    C("missing-head-404", "HEAD", "/static/nope.txt", 404, app="static"),
    C("file-as-directory-404", "GET", "/static/hello.txt/x", 404, app="static"),
    C("mount-root-404", "GET", "/static/", 404, app="static"),
    C("mount-without-slash-307", "GET", "/static", 307, app="static"),
    C("mount-without-slash-query-307", "GET", "/static?x=1&y=%20", 307, app="static"),
    C("directory-404", "GET", "/static/sub", 404, app="static"),
    C("directory-slash-no-html-404", "GET", "/static/sub/", 404, app="static"),
    C("similar-prefix-404", "GET", "/staticfoo/hello.txt", 404, app="static"),
    C("post-405", "POST", "/static/hello.txt", 405, app="static"),
    C("put-405", "PUT", "/static/hello.txt", 405, app="static"),
    C("delete-405", "DELETE", "/static/hello.txt", 405, app="static"),
    C("patch-405", "PATCH", "/static/hello.txt", 405, app="static"),
    C("options-405", "OPTIONS", "/static/hello.txt", 405, app="static"),
    C("post-missing-405", "POST", "/static/nope.txt", 405, app="static"),
    C("route-before-mount", "GET", "/static/before", 200, app="static"),
    C("route-after-mount-shadowed", "GET", "/static/after", 404, app="static"),
    C("symlink-inside", "GET", "/static/link_in.txt", 200, app="static"),
    C("symlink-outside-404", "GET", "/static/link_out.txt", 404, app="static"),
    C("symlinked-dir-outside-404", "GET", "/static/linkdir_out/inner.txt", 404, app="static"),
    C("follow-symlink-outside", "GET", "/follow/link_out.txt", 200, app="static"),
    C("follow-symlinked-dir-outside", "GET", "/follow/linkdir_out/inner.txt", 200, app="static"),
    C("follow-dot-dot-404", "GET", "raw:/follow/../secret.txt", 404, app="static"),
    C("package-statics", "GET", "/pkg/pkg.txt", 200, app="static"),
    C("package-directory-first", "GET", "/pkg/hello.txt", 200, app="static"),
    C("package-tuple-dir", "GET", "/pkg/asset.txt", 200, app="static"),
    C("package-missing-404", "GET", "/pkg/nope.txt", 404, app="static"),
    C("no-directory-404", "GET", "/nothing/x.txt", 404, app="static"),
    C("check-dir-false-missing-500", "GET", "/nodir/x.txt", 500, app="static", raise_server_exceptions=False),
    C("check-dir-false-file-500", "GET", "/isfile/x.txt", 500, app="static", raise_server_exceptions=False),
    C("url-for", "GET", "/urls", 200, app="static"),
    # ranges through StaticFiles
    R("range-single", "/static/hello.txt", "bytes=0-4", 206, app="static"),
    R("range-multi", "/static/hello.txt", "bytes=0-4,10-14", 206, app="static"),
    R("range-416", "/static/hello.txt", "bytes=50-", 416, app="static"),
    R("range-400", "/static/hello.txt", "bytes=5-2", 400, app="static"),
    R("range-head", "/static/data.bin", "bytes=0-9,20-29", 206, method="HEAD", app="static"),
    R("range-if-range", "/static/hello.txt", "bytes=0-4", 206, app="static",
      headers={"if-range": "{etag:static/hello.txt}"}),
]  # fmt: skip

TRAVERSAL_CASES = [
    C("dot-dot", "GET", "raw:/static/../secret.txt", 404, app="static"),
    C("dot-dot-deep", "GET", "raw:/static/sub/../../secret.txt", 404, app="static"),
    C("dot-dot-many", "GET", "raw:/static/../../../../../../etc/passwd", 404, app="static"),
    C("encoded-dots", "GET", "/static/%2e%2e/secret.txt", 404, app="static"),
    C("encoded-dots-upper", "GET", "/static/%2E%2E/%2E%2E/secret.txt", 404, app="static"),
    C("encoded-slash", "GET", "/static/..%2fsecret.txt", 404, app="static"),
    C("all-encoded", "GET", "/static/%2e%2e%2fsecret.txt", 404, app="static"),
    C("backslash", "GET", "/static/..%5csecret.txt", 404, app="static"),
    C("double-slash-absolute", "GET", "/static//etc/passwd", 404, app="static"),
    C("encoded-absolute", "GET", "/static/%2Fetc%2Fpasswd", 404, app="static"),
    C("nul-byte", "GET", "/static/%00", 404, app="static"),
    C("nul-in-name", "GET", "/static/hello.txt%00.png", 404, app="static"),
    C("name-too-long", "GET", "/static/" + "a" * 300, 404, app="static"),
    C("html-mode-dot-dot-gets-404-page", "GET", "raw:/site/../secret.txt", 404, app="static"),
    C("html-mode-encoded-dots-gets-404-page", "GET", "/site/%2e%2e/secret.txt", 404, app="static"),
]

SITE_CASES = [
    C("mount-without-slash-307", "GET", "/site", 307, app="static"),
    C("index", "GET", "/site/", 200, app="static"),
    C("index-head", "HEAD", "/site/", 200, app="static"),
    C("index-by-name", "GET", "/site/index.html", 200, app="static"),
    C("page", "GET", "/site/page.html", 200, app="static"),
    C("subdir-redirect-307", "GET", "/site/docs", 307, app="static"),
    C("subdir-redirect-keeps-query", "GET", "/site/docs?x=1&y=%20", 307, app="static"),
    C("subdir-redirect-quoted", "GET", "/site/my%20docs", 307, app="static"),
    C("subdir-index", "GET", "/site/docs/", 200, app="static"),
    C("subdir-index-quoted", "GET", "/site/my%20docs/", 200, app="static"),
    C("dir-without-index-404-page", "GET", "/site/plain", 404, app="static"),
    C("dir-without-index-slash-404-page", "GET", "/site/plain/", 404, app="static"),
    C("missing-404-page", "GET", "/site/missing.css", 404, app="static"),
    C("missing-404-page-head", "HEAD", "/site/missing.css", 404, app="static"),
    C("post-405", "POST", "/site/", 405, app="static"),
    C("index-if-none-match-304", "GET", "/site/", 304, app="static", headers={"if-none-match": "*"}),
    C("404-page-no-304", "GET", "/site/missing", 404, app="static", headers={"if-none-match": "*"}),
    R("404-page-ignores-range", "/site/missing", "bytes=0-3", 404, app="static"),
    R("index-range", "/site/", "bytes=0-3", 206, app="static"),
]

CONDITIONAL_CASES = [
    C("etag-304", "GET", "/static/hello.txt", 304, app="static", headers={"if-none-match": "{etag:static/hello.txt}"}),
    C("etag-fractional-mtime-304", "GET", "/static/data.bin", 304, app="static",
      headers={"if-none-match": "{etag:static/data.bin}"}),
    C("etag-head-304", "HEAD", "/static/hello.txt", 304, app="static",
      headers={"if-none-match": "{etag:static/hello.txt}"}),
    C("star-304", "GET", "/static/hello.txt", 304, app="static", headers={"if-none-match": "*"}),
    C("etag-list-weak-304", "GET", "/static/hello.txt", 304, app="static",
      headers={"if-none-match": '"x", W/{etag:static/hello.txt}'}),
    C("etag-mismatch-200", "GET", "/static/hello.txt", 200, app="static", headers={"if-none-match": '"nope"'}),
    C("modified-since-equal-304", "GET", "/static/hello.txt", 304, app="static",
      headers={"if-modified-since": "{lm:static/hello.txt}"}),
    C("modified-since-later-304", "GET", "/static/hello.txt", 304, app="static",
      headers={"if-modified-since": "{lm_next:static/hello.txt}"}),
    C("modified-since-earlier-200", "GET", "/static/hello.txt", 200, app="static",
      headers={"if-modified-since": "{lm_prev:static/hello.txt}"}),
    C("modified-since-garbage-200", "GET", "/static/hello.txt", 200, app="static",
      headers={"if-modified-since": "yesterday"}),
    C("none-match-beats-modified-since", "GET", "/static/hello.txt", 200, app="static",
      headers={"if-none-match": '"nope"', "if-modified-since": "{lm_next:static/hello.txt}"}),
    C("conditional-before-range", "GET", "/static/hello.txt", 304, app="static",
      headers={"if-none-match": "{etag:static/hello.txt}", "range": "bytes=0-1"}),
]  # fmt: skip

ROOT_PATH_CASES = [
    C("file", "GET", "/api/static/hello.txt", 200, app="static@/api"),
    C("mount-redirect", "GET", "/api/static", 307, app="static@/api"),
    C("html-redirect", "GET", "/api/site/docs", 307, app="static@/api"),
    C("html-index", "GET", "/api/site/", 200, app="static@/api"),
    C("url-for", "GET", "/api/urls", 200, app="static@/api"),
]

HANDLER_CASES = [
    C("file-through-middleware", "GET", "/static/hello.txt", 200, app="handlers"),
    R("range-through-middleware", "/static/hello.txt", "bytes=0-4", 206, app="handlers"),
    C("304-through-middleware", "GET", "/static/hello.txt", 304, app="handlers", headers={"if-none-match": "*"}),
    C("custom-404-handler", "GET", "/static/nope.txt", 404, app="handlers"),
    C("custom-405-handler", "POST", "/static/hello.txt", 405, app="handlers"),
]


def ids(prefix: str, cases: list[Any]) -> list[Any]:
    return [pytest.param(*p.values, id=f"{prefix}-{p.id}", marks=p.marks) for p in cases]


ALL_CASES = (
    ids("file", FILE_CASES)
    + ids("range", RANGE_CASES)
    + ids("static", STATIC_CASES)
    + ids("traversal", TRAVERSAL_CASES)
    + ids("site", SITE_CASES)
    + ids("conditional", CONDITIONAL_CASES)
    + ids("root-path", ROOT_PATH_CASES)
    + ids("handlers", HANDLER_CASES)
)


@pytest.mark.parametrize("case", ALL_CASES)
def test_case(twins: Twins, case: Case) -> None:
    check(twins, case)


# --------------------------------------------------------------------------- other tests


@pytest.mark.skipif(ONLY_FASTAPI, reason="a deliberate difference from FastAPI")
@pytest.mark.parametrize(("method", "headers"), NOT_MODIFIED_CASES)
def test_file_route_answers_304_as_static_files_does(twins: Twins, method: str, headers: dict[str, str]) -> None:
    headers = {k: resolve(v, twins.root) for k, v in headers.items()}
    ref_route, sut_route = twins.clients("files")
    ref_static, _ = twins.clients("static")
    # /file/head: hello.txt, on GET and HEAD.
    assert ref_route.request(method, "/file/head", headers=headers).status_code in (200, 206), "FastAPI ignores them"
    static_304 = snapshot(ref_static.request(method, "/static/hello.txt", headers=headers))
    assert static_304["status"] == 304 and static_304["body"] == b"", static_304
    assert snapshot(sut_route.request(method, "/file/head", headers=headers)) == static_304


def test_public_names_and_signatures() -> None:
    from fastapi.responses import FileResponse as RefFileResponse
    from fastapi.staticfiles import StaticFiles as RefStaticFiles

    responses = importlib.import_module(f"{SUT_PACKAGE}.responses")
    staticfiles = importlib.import_module(f"{SUT_PACKAGE}.staticfiles")
    for ref, sut in ((RefFileResponse, responses.FileResponse), (RefStaticFiles, staticfiles.StaticFiles)):
        ref_params = inspect.signature(ref).parameters
        sut_params = inspect.signature(sut).parameters
        for name, param in ref_params.items():
            assert name in sut_params, f"{sut.__qualname__} lacks parameter {name!r}"
            assert sut_params[name].kind == param.kind, f"{sut.__qualname__}({name}): {sut_params[name].kind}"
            assert sut_params[name].default == param.default, f"{sut.__qualname__}({name}) default"
    assert callable(getattr(Framework(SUT_PACKAGE).FastAPI(), "mount", None)), "FastAPI.mount is missing"


@pytest.mark.parametrize("target", ["missing-dir", "static/hello.txt"])
def test_check_dir_at_construction(tree: Path, target: str) -> None:
    for package in ("fastapi", SUT_PACKAGE):
        StaticFiles = Framework(package).StaticFiles  # noqa: N806 - a class
        with pytest.raises(RuntimeError) as info:
            StaticFiles(directory=tree / target)
        assert str(info.value) == f"Directory '{tree / target}' does not exist", package


@pytest.mark.parametrize(
    ("app", "url", "message"),
    [
        ("files", "/file/missing", "File at path {root}/nope.txt does not exist."),
        ("files", "/file/dir", "File at path {root}/static is not a file."),
        ("static", "/nodir/x.txt", "StaticFiles directory '{root}/missing-dir' does not exist."),
        ("static", "/isfile/x.txt", "StaticFiles path '{root}/static/hello.txt' is not a directory."),
    ],
)
def test_server_errors_raise_runtime_error(twins: Twins, app: str, url: str, message: str) -> None:
    """With ``raise_server_exceptions=True`` both TestClients re-raise the same RuntimeError."""
    expected = message.format(root=twins.root)
    for client in twins.clients(app, raise_server_exceptions=True):
        with pytest.raises(RuntimeError) as info:
            client.get(url)
        assert str(info.value) == expected, type(client)


def test_background_tasks_run_after_the_file(twins: Twins) -> None:
    states = []
    for client in twins.clients("files"):
        response = client.get("/file/background")
        assert response.status_code == 200 and response.content == HELLO
        states.append(client.get("/background-state").json())
    assert states[1] == states[0] == {"state": ["ran"]}


@pytest.mark.parametrize("rel", ["static/hello.txt", "static/data.bin", "static/big.bin"])
def test_etag_and_last_modified_formulas(twins: Twins, rel: str) -> None:
    """The spec's formulas: md5 of ``f"{st_mtime}-{st_size}"`` (Python float repr) and formatdate."""
    expected = (starlette_etag(twins.root / rel), last_modified(twins.root / rel))
    for client in twins.clients("static"):
        response = client.head("/" + rel)
        assert (response.headers.get("etag"), response.headers.get("last-modified")) == expected, type(client)


def test_multipart_boundary_is_fresh_per_response(twins: Twins) -> None:
    boundaries = []
    for client in twins.clients("files"):
        seen = set()
        for _ in range(3):
            response = client.get("/file/hello", headers={"range": "bytes=0-1,5-6"})
            found = MULTIPART.fullmatch(response.headers["content-type"])
            assert found, response.headers
            seen.add(found.group(1))
        boundaries.append(len(seen))
    assert boundaries == [3, 3]
