"""Differential test of ``root_path``: the same app on FastAPI and on turboapi.

Part 1, TestClient: one app source (``APP_SOURCE``) built with either framework, under each of
these ``root_path`` settings, sent the same requests through each framework's own ``TestClient``
(``follow_redirects=False``):

* ``app``: ``FastAPI(root_path="/api")``
* ``client``: ``TestClient(app, root_path="/p")``
* ``unset``: neither
* ``both``: ``FastAPI(root_path="/api")`` and ``TestClient(root_path="/p")`` (the app's wins)

Every route answers with ``scope["root_path"]``, ``scope["path"]``, ``scope["raw_path"]``,
``request.url``, ``request.base_url``, a ``request.url_for(...)`` and its path parameters, so a
200 compares all of them.  Compared: status, ``content-type``, ``location``, ``allow`` and the body
(parsed JSON for JSON, exact bytes otherwise).  Each case also carries the status FastAPI gives,
so the reference half is checked to exercise what the case claims.  A root_path with a trailing
slash (``"/api/"`` on the app, ``"/p/"`` on the client, ``"/"``) has its own table: Starlette keeps
it verbatim.

``/openapi.json`` is compared whole under several ``servers`` / ``root_path_in_servers``
settings; ``/docs`` and ``/redoc`` by status, ``content-type`` and the URLs the page loads the
document from (``url``/``spec-url``) and its ``oauth2RedirectUrl`` (the asset URLs differ by
design: FastAPI's point to a CDN, turboapi's are local).

Part 2, real sockets, server mode: the FastAPI twin under ``uvicorn --root-path /api`` and the
turboapi twin under ``turboapi run --root-path /api`` (and ``TURBOAPI_ROOT_PATH=/api``) get the
same raw requests over HTTP/1.1 with httpx (a fixed ``Host``, or the server's own address made
neutral); same comparison.  Also on fewer paths: ``FastAPI(root_path="/api")`` behind a server
``--root-path`` that is the same or another, and a server ``--root-path /api/``.  Each pair of
servers is started on first use and all are stopped in the module fixture's teardown.

``COMPAT_ONLY_FASTAPI=1`` compares FastAPI against a second FastAPI app (validates part 1's cases).
"""

from __future__ import annotations

import importlib
import json
import os
import re
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from fastapi_reference import FastAPITestClient
from test_cli import Cli

from .differential_harness import ONLY_FASTAPI, C, Case, send, snapshot

APP_SOURCE = """
def build(fw, **kwargs):
    app = fw.FastAPI(title="root_path twin", **kwargs)
    Request = fw.Request

    def info(request, url_for, **params):
        name, args = url_for
        return {
            "root_path": request.scope["root_path"],
            "path": request.scope["path"],
            "raw_path": request.scope["raw_path"].decode("latin-1"),
            "url": str(request.url),
            "base_url": str(request.base_url),
            "url_for": str(request.url_for(name, **args)),
            "params": params,
        }

    @app.get("/", name="root")
    def root(request: Request):
        return info(request, ("item", {"item_id": 5}))

    @app.get("/items/{item_id}", name="item")
    def item(item_id: int, request: Request, q: str | None = None):
        return info(request, ("item", {"item_id": item_id + 1}), item_id=item_id, q=q)

    @app.get("/files/{name}", name="file")
    def file(name: str, request: Request):
        return info(request, ("file", {"name": "x"}), name=name)

    @app.get("/slash/", name="slash")
    def slash(request: Request):
        return info(request, ("slash", {}))

    @app.get("/nodes", name="nodes")
    def nodes(request: Request):
        return info(request, ("nodes", {}))

    # A route whose own path starts with the prefix.
    @app.get("/api/literal", name="literal")
    def literal(request: Request):
        return info(request, ("literal", {}))

    router = fw.APIRouter(prefix="/router")

    @router.get("/things/{thing_id}", name="thing")
    def thing(thing_id: str, request: Request):
        return info(request, ("thing", {"thing_id": "other"}), thing_id=thing_id)

    @router.get("/deep/", name="deep")
    def deep(request: Request):
        return info(request, ("root", {}))

    app.include_router(router)
    return app
"""


def build(fw: Any, **kwargs: Any) -> Any:
    namespace: dict[str, Any] = {}
    # dont_inherit: this module's `from __future__ import annotations` must not apply there, the
    # annotations name the framework module `fw` (a local of `build`), which both must resolve.
    exec(compile(APP_SOURCE, "<root_path twin>", "exec", dont_inherit=True), namespace)
    return namespace["build"](fw, **kwargs)


REF_FW = importlib.import_module("fastapi")
SUT_FW = importlib.import_module("fastapi" if ONLY_FASTAPI else "turboapi")
SUT_CLIENT: Any = FastAPITestClient if ONLY_FASTAPI else importlib.import_module("turboapi.testclient").TestClient

# Headers compared on every response besides content-type.
HEADERS = ("location", "allow")

# The URLs a docs page takes the document and the OAuth2 redirect from.
DOC_URL = re.compile(
    r"""(?:\burl["']?\s*:\s*|spec-url=|oauth2RedirectUrl:\s*window\.location\.origin\s*\+\s*)["']([^"']*)["']"""
)


def page_snapshot(resp: Any, case: Case, json_only: bool = False) -> dict[str, Any]:
    snap = snapshot(resp, case)
    if json_only and "json" in snap:
        del snap["raw"]  # the OpenAPI document: JSON-equal, key order aside (as test_openapi_differential)
    if (snap["content-type"] or "").startswith("text/html"):
        snap["raw"] = "<html page>"
        snap["doc_urls"] = DOC_URL.findall(resp.text)
    return snap


class Pairs:
    """Lazily built (FastAPI client, turboapi client) pairs, by configuration name."""

    def __init__(self, configs: dict[str, tuple[dict[str, Any], dict[str, Any]]]) -> None:
        self.configs = configs
        self.pairs: dict[str, tuple[Any, Any]] = {}

    def clients(self, name: str) -> tuple[Any, Any]:
        if name not in self.pairs:
            app_kw, client_kw = self.configs[name]
            kw = {"follow_redirects": False, **client_kw}
            self.pairs[name] = (
                FastAPITestClient(build(REF_FW, **app_kw), **kw),
                SUT_CLIENT(build(SUT_FW, **app_kw), **kw),
            )
        return self.pairs[name]

    def close(self) -> None:
        for pair in self.pairs.values():
            for client in pair:
                client.close()


def check(pairs: Pairs, case: Case, doc_urls: list[str] | None = None, json_only: bool = False) -> None:
    ref_client, sut_client = pairs.clients(case.app)
    ref = page_snapshot(send(ref_client, case), case, json_only)
    assert ref["status"] == case.expect, f"FastAPI gave {ref['status']}, case expects {case.expect}: {ref}"
    if doc_urls is not None:
        assert ref.get("doc_urls") == doc_urls, ref
    sut = page_snapshot(send(sut_client, case), case, json_only)
    assert sut == ref, f"[{case.app}] {case.method} {case.url}\n  turboapi: {sut}\n  FastAPI:  {ref}"


# =========================================================================== part 1: routing

CONFIGS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "app": ({"root_path": "/api"}, {}),
    "client": ({}, {"root_path": "/p"}),
    "unset": ({}, {}),
    "both": ({"root_path": "/api"}, {"root_path": "/p"}),
}

# (id, method, url, FastAPI's status under app / client / unset / both)
ROUTING: list[tuple[str, str, str, tuple[int, int, int, int]]] = [
    ("root", "GET", "/", (200, 200, 200, 200)),
    ("item", "GET", "/items/1", (200, 200, 200, 200)),
    ("api-item", "GET", "/api/items/1", (200, 404, 404, 200)),
    ("p-item", "GET", "/p/items/1", (404, 200, 404, 404)),
    ("api-api-item", "GET", "/api/api/items/1", (404, 404, 404, 404)),
    ("api-exactly", "GET", "/api", (307, 404, 404, 307)),
    ("api-slash", "GET", "/api/", (200, 404, 404, 200)),
    ("p-exactly", "GET", "/p", (404, 307, 404, 404)),
    ("p-slash", "GET", "/p/", (404, 200, 404, 404)),
    ("apix-not-a-segment", "GET", "/apix/items/1", (404, 404, 404, 404)),
    ("px-not-a-segment", "GET", "/px/items/1", (404, 404, 404, 404)),
    ("apix-exactly", "GET", "/apix", (404, 404, 404, 404)),
    ("encoded-prefix", "GET", "/%61pi/items/1", (200, 404, 404, 200)),
    ("upper-case-prefix", "GET", "/API/items/1", (404, 404, 404, 404)),
    ("api-double-slash", "GET", "/api//items/1", (404, 404, 404, 404)),
    ("api-exactly-query", "GET", "/api?x=1", (307, 404, 404, 307)),
    ("p-exactly-query", "GET", "/p?x=1", (404, 307, 404, 404)),
    ("item-query", "GET", "/items/1?q=a%20b", (200, 200, 200, 200)),
    ("api-item-query", "GET", "/api/items/1?q=a%20b", (200, 404, 404, 200)),
    ("api-item-invalid", "GET", "/api/items/x", (422, 404, 404, 422)),
    ("api-file-quoted", "GET", "/api/files/a%20b", (200, 404, 404, 200)),
    ("p-file-quoted", "GET", "/p/files/a%20b", (404, 200, 404, 404)),
    ("redirect-add-slash", "GET", "/slash", (307, 307, 307, 307)),
    ("api-redirect-add-slash", "GET", "/api/slash?x=1", (307, 404, 404, 307)),
    ("p-redirect-add-slash", "GET", "/p/slash", (404, 307, 404, 404)),
    ("redirect-strip-slash", "GET", "/nodes/", (307, 307, 307, 307)),
    ("api-redirect-strip-slash", "GET", "/api/nodes/", (307, 404, 404, 307)),
    ("api-slash-target", "GET", "/api/slash/", (200, 404, 404, 200)),
    ("router", "GET", "/router/things/abc", (200, 200, 200, 200)),
    ("api-router", "GET", "/api/router/things/abc", (200, 404, 404, 200)),
    ("p-router", "GET", "/p/router/things/abc", (404, 200, 404, 404)),
    ("router-redirect", "GET", "/router/deep", (307, 307, 307, 307)),
    ("api-router-redirect", "GET", "/api/router/deep", (307, 404, 404, 307)),
    ("api-router-deep", "GET", "/api/router/deep/", (200, 404, 404, 200)),
    ("prefixed-route", "GET", "/api/literal", (404, 200, 200, 404)),
    ("prefixed-route-under-prefix", "GET", "/api/api/literal", (200, 404, 404, 200)),
    ("nope", "GET", "/nope", (404, 404, 404, 404)),
    ("api-nope", "GET", "/api/nope", (404, 404, 404, 404)),
    ("405", "POST", "/items/1", (405, 405, 405, 405)),
    ("api-405", "POST", "/api/items/1", (405, 404, 404, 405)),
    ("p-405", "POST", "/p/items/1", (404, 405, 404, 404)),
]

ROUTING_CASES = [
    C(f"{config}:{case_id}", method, url, expects[i], app=config, compare_headers=HEADERS)
    for case_id, method, url, expects in ROUTING
    for i, config in enumerate(CONFIGS)
]


@pytest.fixture(scope="module")
def routing_pairs() -> Iterator[Pairs]:
    pairs = Pairs(CONFIGS)
    yield pairs
    pairs.close()


@pytest.mark.parametrize("case", ROUTING_CASES)
@pytest.mark.timeout(30)
def test_routing(routing_pairs: Pairs, case: Case) -> None:
    check(routing_pairs, case)


# A root_path with a trailing slash, or "/": Starlette keeps it verbatim in scope["root_path"] and
# strips it from the path only when what follows it starts with "/" (get_route_path).
TRAILING_CONFIGS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "app-trailing-slash": ({"root_path": "/api/"}, {}),
    "client-trailing-slash": ({}, {"root_path": "/p/"}),
    "app-slash-only": ({"root_path": "/"}, {}),
}

TRAILING_CASES = [
    C(f"{config}:{url}", "GET", url, expect, app=config, compare_headers=HEADERS)
    for config, url, expect in [
        ("app-trailing-slash", "/items/1", 200),
        ("app-trailing-slash", "/api/items/1", 404),
        ("app-trailing-slash", "/api//items/1", 200),
        ("app-trailing-slash", "/api", 404),
        ("app-trailing-slash", "/api/", 307),
        ("app-trailing-slash", "/openapi.json", 200),
        ("client-trailing-slash", "/items/1", 200),
        ("client-trailing-slash", "/p/items/1", 404),
        ("client-trailing-slash", "/p/", 307),
        ("client-trailing-slash", "/openapi.json", 200),
        ("app-slash-only", "/", 307),
        ("app-slash-only", "/items/1", 200),
        ("app-slash-only", "/openapi.json", 200),
    ]
]


@pytest.fixture(scope="module")
def trailing_pairs() -> Iterator[Pairs]:
    pairs = Pairs(TRAILING_CONFIGS)
    yield pairs
    pairs.close()


@pytest.mark.parametrize("case", TRAILING_CASES)
@pytest.mark.timeout(30)
def test_root_path_with_trailing_slash(trailing_pairs: Pairs, case: Case) -> None:
    check(trailing_pairs, case, json_only=case.url == "/openapi.json")


# =========================================================================== part 1: OpenAPI and docs

OTHER_SERVER = {"url": "https://other.example/v1", "description": "other"}

OPENAPI_CONFIGS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "servers-unset": ({"root_path": "/api"}, {}),
    "servers-has-root": ({"root_path": "/api", "servers": [{"url": "/api", "description": "mine"}]}, {}),
    "servers-other": ({"root_path": "/api", "servers": [OTHER_SERVER]}, {}),
    "servers-trailing-slash": ({"root_path": "/api", "servers": [{"url": "/api/"}]}, {}),
    "root-path-not-in-servers": ({"root_path": "/api", "root_path_in_servers": False}, {}),
    "root-path-not-in-servers-other": (
        {"root_path": "/api", "root_path_in_servers": False, "servers": [OTHER_SERVER]},
        {},
    ),
    "client-root-path": ({}, {"root_path": "/p"}),
    "client-root-path-other": ({"servers": [OTHER_SERVER]}, {"root_path": "/p"}),
    "no-root-path": ({}, {}),
    "no-root-path-other": ({"servers": [OTHER_SERVER]}, {}),
    "custom-urls": (
        {
            "root_path": "/api",
            "openapi_url": "/spec/openapi.json",
            "docs_url": "/ui",
            "redoc_url": "/rd",
            "swagger_ui_oauth2_redirect_url": "/ui/oauth",
        },
        {},
    ),
    "no-oauth2-redirect": ({"root_path": "/api", "swagger_ui_oauth2_redirect_url": None}, {}),
}

OPENAPI_CASES = [
    C(f"{config}:{url}", "GET", url, 200, app=config)
    for config in OPENAPI_CONFIGS
    if config != "custom-urls"
    for url in ("/openapi.json", *(["/api/openapi.json"] if "root_path" in OPENAPI_CONFIGS[config][0] else []))
] + [
    C("custom-urls:/spec/openapi.json", "GET", "/spec/openapi.json", 200, app="custom-urls"),
    C("custom-urls:/api/spec/openapi.json", "GET", "/api/spec/openapi.json", 200, app="custom-urls"),
    C("custom-urls:/openapi.json", "GET", "/openapi.json", 404, app="custom-urls"),
]

# (config, url, the page's document URL and OAuth2 redirect URL as FastAPI writes them)
DOCS: list[tuple[str, str, list[str]]] = [
    ("servers-unset", "/docs", ["/api/openapi.json", "/api/docs/oauth2-redirect"]),
    ("servers-unset", "/api/docs", ["/api/openapi.json", "/api/docs/oauth2-redirect"]),
    ("servers-unset", "/redoc", ["/api/openapi.json"]),
    ("servers-unset", "/api/redoc", ["/api/openapi.json"]),
    ("root-path-not-in-servers", "/docs", ["/api/openapi.json", "/api/docs/oauth2-redirect"]),
    ("client-root-path", "/docs", ["/p/openapi.json", "/p/docs/oauth2-redirect"]),
    ("client-root-path", "/p/redoc", ["/p/openapi.json"]),
    ("no-root-path", "/docs", ["/openapi.json", "/docs/oauth2-redirect"]),
    ("no-root-path", "/redoc", ["/openapi.json"]),
    ("custom-urls", "/ui", ["/api/spec/openapi.json", "/api/ui/oauth"]),
    ("custom-urls", "/api/rd", ["/api/spec/openapi.json"]),
    ("no-oauth2-redirect", "/docs", ["/api/openapi.json"]),
]

DOCS_CASES = [pytest.param(config, url, urls, id=f"{config}:{url}") for config, url, urls in DOCS]


@pytest.fixture(scope="module")
def openapi_pairs() -> Iterator[Pairs]:
    pairs = Pairs(OPENAPI_CONFIGS)
    yield pairs
    pairs.close()


@pytest.mark.parametrize("case", OPENAPI_CASES)
@pytest.mark.timeout(30)
def test_openapi_servers(openapi_pairs: Pairs, case: Case) -> None:
    check(openapi_pairs, case, json_only=True)


@pytest.mark.parametrize(("config", "url", "doc_urls"), DOCS_CASES)
@pytest.mark.timeout(30)
def test_docs_pages(openapi_pairs: Pairs, config: str, url: str, doc_urls: list[str]) -> None:
    check(openapi_pairs, Case("GET", url, 200, app=config, compare_headers=HEADERS), doc_urls)


@pytest.mark.timeout(30)
def test_docs_oauth2_redirect_page(openapi_pairs: Pairs) -> None:
    # Not compared byte for byte (the page's script is the framework's own); served under the prefix.
    for url in ("/docs/oauth2-redirect", "/api/docs/oauth2-redirect"):
        ref, sut = (client.get(url) for client in openapi_pairs.clients("servers-unset"))
        assert (sut.status_code, sut.headers["content-type"]) == (ref.status_code, ref.headers["content-type"]), url
        assert ref.status_code == 200


# =========================================================================== part 2: real sockets

ROOT = "/api"
HOST = "proxy.example"  # sent as the Host header, so both servers build the same URLs
UVICORN_RUNNING = re.compile(r"Uvicorn running on http://127\.0\.0\.1:(\d+)")
TURBO_RUNNING = r"turboapi running on http://127\.0\.0\.1:(\d+)"


class Uvicorn(Cli):
    """``python -m uvicorn ...``, with ``Cli``'s output collection, waiting and stopping."""

    def __init__(self, cwd: Path, *args: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TURBOAPI_")}
        env["PYTHONUNBUFFERED"] = "1"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", *args],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# Server configurations: (the app's keyword arguments, the server's root_path, how turboapi gets it).
SERVER_CONFIGS: dict[str, tuple[dict[str, Any], str, str]] = {
    "flag": ({}, ROOT, "flag"),
    "env": ({}, ROOT, "env"),
    # FastAPI(root_path=...) behind a server that has one too, the same or another.
    "app-and-server": ({"root_path": ROOT}, ROOT, "flag"),
    "app-and-other-server": ({"root_path": ROOT}, "/outer", "flag"),
    "server-trailing-slash": ({}, ROOT + "/", "flag"),
}


class Servers:
    """For each configuration, the uvicorn+FastAPI and the turboapi twins, started on first use."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.started: list[Cli] = []
        self.bases: dict[str, tuple[str, str]] = {}

    def get(self, config: str) -> tuple[str, str]:
        if config not in self.bases:
            app_kw, root_path, how = SERVER_CONFIGS[config]
            module = f"twin_{config.replace('-', '_')}"
            for package in ("fastapi", "turboapi"):
                source = f"{APP_SOURCE}\nimport {package}\napp = build({package}, **{app_kw!r})\n"
                (self.directory / f"{module}_{package}.py").write_text(source)
            self.bases[config] = (
                self._uvicorn(f"{module}_fastapi:app", root_path),
                self._turbo(module, root_path, how),
            )
        return self.bases[config]

    def _uvicorn(self, target: str, root_path: str) -> str:
        for _attempt in range(3):  # the port picked may be taken before uvicorn binds it
            port = free_port()
            server = Uvicorn(
                self.directory, target, "--host", "127.0.0.1", "--port", str(port), "--root-path", root_path
            )
            self.started.append(server)
            try:
                server.wait_for(UVICORN_RUNNING.pattern, timeout=20)
            except AssertionError:
                if server.proc.poll() is None or "address already in use" not in "\n".join(server.lines).lower():
                    raise
                continue
            return f"http://127.0.0.1:{port}"
        raise AssertionError("uvicorn could not bind a free port")

    def _turbo(self, module: str, root_path: str, how: str) -> str:
        target = f"{module}_turboapi:app"
        if how == "flag":
            server = Cli(self.directory, "run", target, "--port", "0", "--root-path", root_path)
        else:
            server = Cli(self.directory, "run", target, "--port", "0", env={"TURBOAPI_ROOT_PATH": root_path})
        self.started.append(server)
        match = re.search(TURBO_RUNNING, server.wait_for(TURBO_RUNNING, timeout=20)[0])
        assert match
        return f"http://127.0.0.1:{match.group(1)}"

    def stop(self) -> None:
        for server in self.started:
            server.stop()


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    started = Servers(tmp_path_factory.mktemp("root_path_twins"))
    try:
        yield started
    finally:
        started.stop()


def server_snapshot(resp: httpx.Response, base: str) -> dict[str, Any]:
    """Status, content-type, location, allow and body, the server's own address made neutral."""
    address = base.removeprefix("http://")

    def neutral(value: Any) -> Any:
        return value.replace(address, "SERVER") if isinstance(value, str) else value

    ctype = resp.headers.get("content-type")
    snap: dict[str, Any] = {"status": resp.status_code, "content-type": ctype}
    for name in HEADERS:
        snap[name] = neutral(resp.headers.get(name))
    if ctype and "json" in ctype:
        snap["json"] = json.loads(neutral(resp.text))
    elif ctype and ctype.startswith("text/html"):
        snap["doc_urls"] = DOC_URL.findall(resp.text)
    else:
        snap["raw"] = neutral(resp.text)
    return snap


def fetch(base: str, method: str, url: str, host: str | None) -> dict[str, Any]:
    headers = {"host": host} if host else {}
    with httpx.Client(timeout=10.0, follow_redirects=False) as client:
        return server_snapshot(client.request(method, base + url, headers=headers), base)


# (id, method, url, Host header or None for the server's address, FastAPI's status, checks on FastAPI's answer)
SERVER: list[tuple[str, str, str, str | None, int, dict[str, Any]]] = [
    ("item", "GET", "/items/1", HOST, 200, {"json.path": "/api/items/1", "json.root_path": "/api"}),
    ("item-own-host", "GET", "/items/1?q=x", None, 200, {"json.url": "http://SERVER/api/items/1?q=x"}),
    ("item-encoded", "GET", "/%69tems/1", HOST, 200, {"json.raw_path": "/api/%69tems/1"}),
    ("api-item", "GET", "/api/items/1", HOST, 404, {}),
    ("root", "GET", "/", HOST, 200, {"json.base_url": f"http://{HOST}/api/"}),
    ("api-exactly", "GET", "/api", HOST, 404, {}),
    ("api-slash", "GET", "/api/", HOST, 404, {}),
    ("redirect-strip-slash", "GET", "/items/1/", HOST, 307, {"location": f"http://{HOST}/api/items/1"}),
    ("redirect-strip-slash-own-host", "GET", "/items/1/", None, 307, {"location": "http://SERVER/api/items/1"}),
    ("redirect-add-slash", "GET", "/slash?x=1", HOST, 307, {"location": f"http://{HOST}/api/slash/?x=1"}),
    ("router", "GET", "/router/things/abc", HOST, 200, {"json.url_for": f"http://{HOST}/api/router/things/other"}),
    ("router-redirect", "GET", "/router/deep", HOST, 307, {"location": f"http://{HOST}/api/router/deep/"}),
    ("file-quoted", "GET", "/files/a%20b", HOST, 200, {"json.raw_path": "/api/files/a%20b"}),
    ("prefixed-route", "GET", "/api/literal", HOST, 200, {"json.path": "/api/api/literal"}),
    ("invalid", "GET", "/items/x", HOST, 422, {}),
    ("405", "POST", "/items/1", HOST, 405, {"allow": "GET"}),
    ("nope", "GET", "/nope", HOST, 404, {}),
    ("openapi", "GET", "/openapi.json", HOST, 200, {"json.servers": [{"url": "/api"}]}),
    ("api-openapi", "GET", "/api/openapi.json", HOST, 404, {}),
    ("docs", "GET", "/docs", HOST, 200, {"doc_urls": ["/api/openapi.json", "/api/docs/oauth2-redirect"]}),
    ("redoc", "GET", "/redoc", HOST, 200, {"doc_urls": ["/api/openapi.json"]}),
]

# The other configurations, on fewer paths.
SERVER_EXTRA: list[tuple[str, str, str, str, int, dict[str, Any]]] = [
    # uvicorn puts its root_path in front of the path; FastAPI's own root_path then replaces
    # scope["root_path"] and routes match the path with it stripped.
    (
        "app-and-server",
        "item",
        "/items/1",
        200,
        {"json.path": "/api/items/1", "json.url": f"http://{HOST}/api/items/1"},
    ),
    ("app-and-server", "api-item", "/api/items/1", 404, {}),
    ("app-and-server", "root", "/", 200, {"json.path": "/api/"}),
    ("app-and-server", "redirect", "/items/1/", 307, {"location": f"http://{HOST}/api/items/1"}),
    ("app-and-server", "openapi", "/openapi.json", 200, {"json.servers": [{"url": "/api"}]}),
    ("app-and-server", "docs", "/docs", 200, {"doc_urls": ["/api/openapi.json", "/api/docs/oauth2-redirect"]}),
    ("app-and-other-server", "item", "/items/1", 404, {}),
    ("app-and-other-server", "api-item", "/api/items/1", 404, {}),
    ("app-and-other-server", "openapi", "/openapi.json", 404, {}),
    # uvicorn concatenates its root_path and the path as they are.
    ("server-trailing-slash", "item", "/items/1", 200, {"json.path": "/api//items/1", "json.root_path": "/api/"}),
    ("server-trailing-slash", "redirect", "/items/1/", 307, {"location": f"http://{HOST}/api//items/1"}),
    ("server-trailing-slash", "openapi", "/openapi.json", 200, {"json.servers": [{"url": "/api"}]}),
]

SERVER_CASES = [
    pytest.param(config, *row[1:], id=f"{config}:{row[0]}") for config in ("flag", "env") for row in SERVER
] + [
    pytest.param(config, "GET", url, HOST, expect, checks, id=f"{config}:{case_id}")
    for config, case_id, url, expect, checks in SERVER_EXTRA
]


def _get(snap: dict[str, Any], key: str) -> Any:
    if key.startswith("json."):
        return (snap.get("json") or {}).get(key.removeprefix("json."))
    return snap.get(key)


@pytest.mark.parametrize(("config", "method", "url", "host", "expect", "checks"), SERVER_CASES)
@pytest.mark.timeout(60)
def test_server_mode(
    servers: Servers, config: str, method: str, url: str, host: str | None, expect: int, checks: dict[str, Any]
) -> None:
    uvicorn_base, turbo_base = servers.get(config)
    ref = fetch(uvicorn_base, method, url, host)
    assert ref["status"] == expect, f"uvicorn+FastAPI gave {ref['status']}, case expects {expect}: {ref}"
    for key, value in checks.items():
        assert _get(ref, key) == value, f"uvicorn+FastAPI: {key} is {_get(ref, key)!r}, not {value!r}: {ref}"
    sut = fetch(turbo_base, method, url, host)
    assert sut == ref, f"[{config}] {method} {url}\n  turboapi:        {sut}\n  uvicorn+FastAPI: {ref}"
