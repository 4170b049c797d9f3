"""Security properties of turboapi, on the real server (``python -m turboapi run`` through the ``Cli``
helper of tests/test_cli.py, on an app written to a temporary ``main.py``) and through the TestClient
where no socket is needed (issue 7 part 7):

* no traceback or internal detail in any answer: handlers, dependencies, background tasks,
  middleware and exception handlers that raise, unserialisable return values; each gets a fixed
  500 (or its normal answer when the failure comes after it) and the server keeps serving;
* a response header value with CR/LF (or NUL) is refused, never injected as another header;
* ``TrustedHostMiddleware`` refuses bad Host headers with 400 "Invalid host header";
* ``set_cookie`` writes exactly the Set-Cookie headers Starlette writes;
* X-Forwarded-* are believed only from ``--forwarded-allow-ips`` peers, and what a trusted proxy
  says cannot turn ``request.url`` into something else than a URL of the route;
* request bodies never reach the server's log, with or without ``--access-log``.
"""

import asyncio
import importlib.util
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import types
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import fastapi
import httpx
import pytest
from starlette.middleware.trustedhost import TrustedHostMiddleware as StarletteTrustedHost

import turboapi
from fastapi_reference import FastAPITestClient
from test_cli import Cli
from turboapi.testclient import TestClient

pytestmark = pytest.mark.timeout(60)

SECRET = "S3CRET-d41d8cd9e0f7"
BODY_SECRET = "BODY-SECRET-8e2f4c71"

# The app under test. ``build_cookie_app(fw)`` is also built from ``fastapi`` in the test process.
APP = '''
import socket
from datetime import datetime, timezone

from pydantic import BaseModel

import turboapi
from turboapi import BackgroundTasks, Depends, FastAPI, Request, Response
from turboapi.middleware.trustedhost import TrustedHostMiddleware
from turboapi.responses import PlainTextResponse, RedirectResponse, StreamingResponse

SECRET = "__SECRET__"
INJECT = "a\\r\\nSet-Cookie: evil=1"


class LeakyError(Exception):
    pass


class Strict(BaseModel):
    count: int


class Opaque:
    """Not serialisable (no __dict__ for vars(), not iterable); its repr holds the secret."""

    __slots__ = ()

    def __repr__(self):
        return f"<Opaque {SECRET}>"

    __str__ = __repr__


SOCK = socket.socket()

app = FastAPI()


@app.middleware("http")
async def maybe_fail(request: Request, call_next):
    if request.url.path == "/fail/middleware":
        raise RuntimeError(f"{SECRET} from a middleware")
    return await call_next(request)


@app.exception_handler(LeakyError)
def leaky_handler(request: Request, exc: LeakyError):
    raise RuntimeError(f"{SECRET} from an exception handler")


def failing_dependency():
    raise LookupError(f"{SECRET} from a dependency")


def failing_teardown():
    yield 1
    raise LookupError(f"{SECRET} from a dependency's teardown")


def failing_task():
    raise RuntimeError(f"{SECRET} from a background task")


@app.get("/ok")
def ok():
    return {"ok": True}


@app.get("/fail/value")
def fail_value():
    raise ValueError(f"{SECRET} in a ValueError")


@app.get("/fail/value-async")
async def fail_value_async():
    raise ValueError(f"{SECRET} in a ValueError")


@app.get("/fail/key")
def fail_key():
    return {}[SECRET]


@app.get("/fail/pydantic")
def fail_pydantic():
    return Strict.model_validate({"count": SECRET})


@app.get("/fail/dependency")
def fail_dependency(value: int = Depends(failing_dependency)):
    return {"value": value}


@app.get("/fail/dependency-teardown")
def fail_dependency_teardown(value: int = Depends(failing_teardown)):
    return {"value": value}


@app.get("/fail/background")
def fail_background(tasks: BackgroundTasks):
    tasks.add_task(failing_task)
    return {"queued": True}


@app.get("/fail/middleware")
def fail_middleware():
    return {"unreachable": True}


@app.get("/fail/exception-handler")
def fail_exception_handler():
    raise LeakyError(SECRET)


@app.get("/fail/set")
def fail_set():
    return {Opaque(), Opaque()}


@app.get("/fail/object")
def fail_object():
    return {"value": Opaque()}


@app.get("/fail/socket")
def fail_socket():
    return SOCK


@app.get("/fail/stream")
def fail_stream():
    def chunks():
        yield b"first chunk\\n"
        raise RuntimeError(f"{SECRET} mid-stream")

    return StreamingResponse(chunks(), media_type="text/plain")


@app.get("/crlf/header-attribute")
def crlf_header_attribute(response: Response):
    response.headers["X-Evil"] = INJECT
    return {"ok": True}


@app.get("/crlf/response-init")
def crlf_response_init():
    return PlainTextResponse("ok", headers={"X-Evil": INJECT})


@app.get("/crlf/header-name")
def crlf_header_name():
    return PlainTextResponse("ok", headers={"X-A\\r\\nSet-Cookie: evil=1": "1"})


@app.get("/crlf/bare-lf")
def crlf_bare_lf():
    return PlainTextResponse("ok", headers={"X-Evil": "a\\nSet-Cookie: evil=1"})


@app.get("/crlf/bare-cr")
def crlf_bare_cr():
    return PlainTextResponse("ok", headers={"X-Evil": "a\\rSet-Cookie: evil=1"})


@app.get("/crlf/nul")
def crlf_nul():
    return PlainTextResponse("ok", headers={"X-Evil": "a\\x00Set-Cookie: evil=1"})


@app.get("/crlf/middleware")
def crlf_middleware():
    return {"ok": True}


@app.middleware("http")
async def crlf_from_middleware(request: Request, call_next):
    response = await call_next(request)
    if request.url.path == "/crlf/middleware":
        response.headers["X-Evil"] = INJECT
    return response


@app.get("/crlf/redirect")
def crlf_redirect():
    return RedirectResponse("/next\\r\\nSet-Cookie: evil=1")


@app.get("/crlf/cookie-value")
def crlf_cookie_value(response: Response):
    response.set_cookie("session", INJECT)
    return {"ok": True}


@app.get("/crlf/cookie-path")
def crlf_cookie_path(response: Response):
    response.set_cookie("session", "1", path="/" + INJECT)
    return {"ok": True}


@app.get("/crlf/cookie-domain")
def crlf_cookie_domain(response: Response):
    response.set_cookie("session", "1", domain="example.com\\r\\nSet-Cookie: evil=1")
    return {"ok": True}


@app.get("/who")
def who(request: Request):
    return {
        "client": request.client.host if request.client else None,
        "scheme": request.url.scheme,
        "netloc": request.url.netloc,
        "path": request.url.path,
        "url": str(request.url),
        "host_headers": request.headers.getlist("host"),
    }


@app.post("/body/ok")
async def body_ok(request: Request):
    return {"size": len(await request.body())}


@app.post("/body/raise")
async def body_raise(request: Request):
    await request.body()
    raise RuntimeError("the handler failed")


@app.post("/body/validate")
def body_validate(item: Strict):
    return {"count": item.count}


trusted = FastAPI()
trusted.add_middleware(TrustedHostMiddleware, allowed_hosts=["example.com", "*.example.org"])


@trusted.get("/")
def trusted_root(request: Request):
    return {"host": request.url.hostname, "host_headers": request.headers.getlist("host")}


COOKIE_CASES = {
    "plain": dict(key="a", value="1"),
    "secure-httponly-strict": dict(key="a", value="1", secure=True, httponly=True, samesite="strict"),
    "lax": dict(key="a", value="1", samesite="lax"),
    "none-secure": dict(key="a", value="1", samesite="none", secure=True),
    "no-samesite": dict(key="a", value="1", samesite=None),
    "samesite-capitalised": dict(key="a", value="1", samesite="Strict"),
    "max-age": dict(key="a", value="1", max_age=3600),
    "max-age-zero": dict(key="a", value="1", max_age=0),
    "max-age-negative": dict(key="a", value="1", max_age=-1),
    "expires-datetime": dict(key="a", value="1", expires=datetime(2030, 1, 2, 3, 4, 5, tzinfo=timezone.utc)),
    "expires-string": dict(key="a", value="1", expires="Wed, 01 Jan 2031 00:00:00 GMT"),
    "path": dict(key="a", value="1", path="/sub/dir"),
    "no-path": dict(key="a", value="1", path=None),
    "domain": dict(key="a", value="1", domain="example.com"),
    "domain-dot": dict(key="a", value="1", domain=".example.com"),
    "everything": dict(
        key="session",
        value="abc123",
        max_age=600,
        expires=datetime(2030, 1, 1, tzinfo=timezone.utc),
        path="/api",
        domain="api.example.com",
        secure=True,
        httponly=True,
        samesite="lax",
    ),
    "value-space": dict(key="a", value="a b"),
    "value-quote": dict(key="a", value='a"b'),
    "value-semicolon": dict(key="a", value="a;b"),
    "value-comma": dict(key="a", value="a,b"),
    "value-backslash": dict(key="a", value="a\\\\b"),
    "value-unicode": dict(key="a", value="caf\\u00e9"),
    "value-empty": dict(key="a", value=""),
    "value-crlf": dict(key="a", value="x\\r\\nSet-Cookie: evil=1"),
    "key-space": dict(key="a b", value="1"),
    "key-crlf": dict(key="a\\r\\nSet-Cookie: evil", value="1"),
    "path-crlf": dict(key="a", value="1", path="/\\r\\nSet-Cookie: evil=1"),
    "path-semicolon": dict(key="a", value="1", path="/; Domain=evil.com"),
    "domain-crlf": dict(key="a", value="1", domain="example.com\\r\\nSet-Cookie: evil=1"),
    "samesite-invalid": dict(key="a", value="1", samesite="sometimes"),
    "partitioned": dict(key="a", value="1", partitioned=True, secure=True),
}


def build_cookie_app(fw):
    app = fw.FastAPI()

    @app.get("/cookie/{case}")
    def one_cookie(case: str, response: fw.Response):
        response.set_cookie(**COOKIE_CASES[case])
        return {"case": case}

    @app.get("/cookie-int-expires")
    def int_expires(response: fw.Response):
        response.set_cookie("a", "1", expires=3600)
        return {}

    @app.get("/cookies/many")
    def many(response: fw.Response):
        response.set_cookie("first", "1", httponly=True)
        response.set_cookie("second", "2", secure=True, samesite="none")
        response.set_cookie("first", "3", path="/other")
        response.delete_cookie("gone")
        return {}

    @app.get("/cookies/on-response")
    def on_response():
        reply = fw.responses.JSONResponse({"ok": True})
        reply.set_cookie("a", "1", max_age=10, secure=True)
        reply.delete_cookie("b", path="/p", domain="example.com", secure=True, httponly=True, samesite="strict")
        return reply

    @app.get("/cookies/delete-defaults")
    def delete_defaults(response: fw.Response):
        response.delete_cookie("a")
        return {}

    return app


cookies = build_cookie_app(turboapi)
'''.replace("__SECRET__", SECRET)

# In any answer to a failing request: none of these.
LEAKS = [
    SECRET,
    "Traceback",
    ".py",
    'File "',
    "ValueError",
    "KeyError",
    "LookupError",
    "RuntimeError",
    "ValidationError",
    "LeakyError",
    "TypeError",
    "Opaque",
    "socket",
    "main",
]
FIXED_500 = b"Internal Server Error"


# --------------------------------------------------------------------------- helpers


class Served(Cli):
    """``python -m turboapi run ...`` as ``Cli``, with stdout and stderr both collected (merged)."""

    def __init__(self, cwd: Path, *args: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TURBOAPI_")}
        env["PYTHONUNBUFFERED"] = "1"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "turboapi", *args],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def stop(self) -> int:
        try:
            return super().stop()
        finally:
            if self.proc.stdout is not None:
                self.proc.stdout.close()

    @property
    def output(self) -> str:
        return "\n".join(self.lines)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("security")
    (folder / "main.py").write_text(APP)
    return folder


@pytest.fixture(scope="module")
def main_module(project: Path) -> Iterator[types.ModuleType]:
    """The same main.py, imported in the test process (for the TestClient)."""
    spec = importlib.util.spec_from_file_location("security_main_app", project / "main.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    yield module
    module.SOCK.close()


def serve(project: Path, *args: str) -> Served:
    server = Served(project, "run", *args, "--port", "0")
    try:
        server.port  # noqa: B018 - waits for the running line
    except BaseException:
        server.stop()
        raise
    return server


@pytest.fixture(scope="module")
def server(project: Path) -> Iterator[Served]:
    running = serve(project, "main:app")
    yield running
    running.stop()


def exchange(port: int, request: bytes, timeout: float = 10.0) -> bytes:
    """Everything the server sends for ``request`` (sent with ``Connection: close``) up to EOF."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.settimeout(timeout)
        sock.sendall(request)
        data = b""
        try:
            while chunk := sock.recv(65536):
                data += chunk
        except ConnectionResetError:
            pass
        return data


def get(port: int, path: str, headers: list[tuple[str, str]] | None = None, host: str = "127.0.0.1") -> bytes:
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in headers or []]
    return exchange(port, ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))


def split(raw: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
    """Status, header lines and body (de-chunked as far as it goes) of a raw response."""
    head, sep, body = raw.partition(b"\r\n\r\n")
    assert sep, f"no complete response head: {raw[:500]!r}"
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = [(name.strip().lower(), value.strip()) for name, _, value in (line.partition(":") for line in lines)]
    if ("transfer-encoding", "chunked") in headers:
        out = b""
        while body:
            size_line, _, rest = body.partition(b"\r\n")
            try:
                size = int(size_line.split(b";")[0], 16)
            except ValueError:
                break
            if size == 0:
                break
            out += rest[:size]
            body = rest[size + 2 :]
        body = out
    return int(status_line.split(" ")[1]), headers, body


def json_of(raw: bytes) -> Any:
    status, _, body = split(raw)
    assert status == 200, raw[:1000]
    return json.loads(body)


def still_serving(server: Served) -> None:
    assert server.proc.poll() is None, f"the server exited\n{server.output[-3000:]}"
    assert json_of(get(server.port, "/ok")) == {"ok": True}


def assert_no_leak(raw: bytes, where: str) -> None:
    text = raw.decode("latin-1")
    for leak in LEAKS:
        assert leak not in text, f"{where}: the answer contains {leak!r}:\n{text[:2000]}"


# --------------------------------------------------------------------------- no internals in answers

# path -> the status the client gets (a failure after the answer is made does not change it)
FAILURES = {
    "/fail/value": 500,
    "/fail/value-async": 500,
    "/fail/key": 500,
    "/fail/pydantic": 500,
    "/fail/dependency": 500,
    "/fail/middleware": 500,
    "/fail/exception-handler": 500,
    "/fail/set": 500,
    "/fail/object": 500,
    "/fail/socket": 500,
    "/fail/dependency-teardown": 200,  # the teardown runs after the answer is made (FastAPI: 200 too)
    "/fail/background": 200,  # the task runs after the answer
    "/fail/stream": 200,  # the head is out before the generator fails: the connection is cut
}


@pytest.mark.parametrize("path", list(FAILURES))
def test_failures_leak_nothing_over_a_socket(server: Served, path: str) -> None:
    raw = get(server.port, path)
    assert_no_leak(raw, path)
    status, headers, body = split(raw)
    assert status == FAILURES[path], raw[:500]
    if status == 500:
        assert body == FIXED_500, raw[:500]
        assert ("content-type", "text/plain; charset=utf-8") in headers, headers
    if path == "/fail/stream":
        assert body == b"first chunk\n", raw[:500]
        assert not raw.endswith(b"0\r\n\r\n"), "a failed stream must not end like a complete one"
    still_serving(server)


@pytest.mark.parametrize("path", list(FAILURES))
def test_failures_leak_nothing_through_the_testclient(main_module: types.ModuleType, path: str) -> None:
    with TestClient(main_module.app, raise_server_exceptions=False) as client:
        try:
            reply = client.get(path)
        except httpx.HTTPError:
            assert path == "/fail/stream"  # a stream cut short may surface as a transport error
            return
        raw = f"{reply.status_code}\r\n{reply.headers!r}\r\n".encode() + reply.content
        assert_no_leak(raw, path)
        assert reply.status_code == FAILURES[path], raw[:500]
        if reply.status_code == 500:
            assert reply.content == FIXED_500
        assert client.get("/ok").json() == {"ok": True}


def test_all_failures_in_a_row_on_one_connection_then_still_serving(server: Served) -> None:
    """Keep-alive: every failing request on one connection (while it stays open) leaks nothing."""
    paths = [p for p in FAILURES if p != "/fail/stream"]
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.settimeout(10)
        for path in paths:
            sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = sock.recv(65536)
                assert chunk, f"closed before the answer to {path}"
                data += chunk
            head, _, body = data.partition(b"\r\n\r\n")
            length = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))  # type: ignore[union-attr]
            while len(body) < length:
                body += sock.recv(65536)
            assert_no_leak(head + body, path)
    still_serving(server)


# --------------------------------------------------------------------------- CR/LF in response headers

INJECTED = re.compile(rb"(?im)^\s*(set-cookie:\s*evil|evil=1)")

# path -> what a safe answer is: 500, or the header Starlette writes (the CR/LF percent-encoded
# in a redirect's Location, octal-escaped inside a quoted cookie value)
CRLF = {
    "/crlf/header-attribute": 500,
    "/crlf/response-init": 500,
    "/crlf/header-name": 500,
    "/crlf/bare-lf": 500,
    "/crlf/bare-cr": 500,
    "/crlf/nul": 500,
    "/crlf/middleware": 500,
    "/crlf/cookie-path": 500,
    "/crlf/cookie-domain": 500,
    "/crlf/redirect": ("location", "/next%0D%0ASet-Cookie:%20evil=1"),
    "/crlf/cookie-value": ("set-cookie", 'session="a\\015\\012Set-Cookie: evil=1"; Path=/; SameSite=lax'),
}


@pytest.mark.parametrize("path", list(CRLF))
def test_crlf_in_a_response_header_is_never_injected(server: Served, path: str) -> None:
    raw = get(server.port, path)
    head = raw.partition(b"\r\n\r\n")[0]
    print(f"{path}: {head!r}")  # what happens, for the report
    assert not INJECTED.search(head), f"{path}: an injected header line:\n{head!r}"
    assert b"\x00" not in head and b"\r" not in head.replace(b"\r\n", b""), head
    assert b"\n" not in head.replace(b"\r\n", b""), head
    status, headers, body = split(raw)
    names = [name for name, _ in headers]
    assert "evil" not in names and "x-a" not in names, headers
    safe = CRLF[path]
    if safe == 500:
        assert (status, body) == (500, FIXED_500), raw[:500]
    else:
        name, value = safe
        assert (name, value) in headers, headers
        assert [n for n in names if n == "set-cookie"] == (["set-cookie"] if name == "set-cookie" else []), headers
    still_serving(server)


# --------------------------------------------------------------------------- TrustedHostMiddleware

# Host header -> status (Starlette 1.10's TrustedHostMiddleware, checked below as the reference)
HOSTS = {
    "example.com": 200,
    "example.com:8080": 200,
    "EXAMPLE.COM": 200,
    "Example.Com:443": 200,
    "a.example.org": 200,
    "a.b.example.org": 200,
    "A.Example.ORG:8443": 200,
    "example.org": 400,  # *.example.org does not match the bare domain
    "evil.com": 400,
    "example.com.evil.com": 400,
    "evilexample.com": 400,
    "evil-example.org": 400,
    "example.org.evil.com": 400,
    "example.com.": 400,
    "www.example.com": 400,
    "example.com:abc": 400,
    "example.com:": 400,
    "example.com@evil.com": 400,
    "evil.com@example.com": 400,
    "evil.com#example.com": 400,
    "evil.com/example.com": 400,
    "example.com/evil": 400,
    "evil.com?example.com": 400,
    "exa%6dple.com": 400,
    "[::1]": 400,
    "[::1]:80": 400,
    "127.0.0.1": 400,
    "": 400,
    " ": 400,
    "example.com example.org": 400,
    "example.com,evil.com": 400,
    "evil.com,example.com": 400,
}


# 400 from the middleware, or from the server itself for a Host that is not host[:port] (RFC 9112 3.2)
REFUSED = (b"Invalid host header", b"Invalid Host header", b"Missing Host header", b"Multiple Host headers")


@pytest.fixture(scope="module")
def trusted_server(project: Path) -> Iterator[Served]:
    running = serve(project, "main:trusted")
    yield running
    running.stop()


def starlette_status(host: str) -> int:
    app = fastapi.FastAPI()
    app.add_middleware(StarletteTrustedHost, allowed_hosts=["example.com", "*.example.org"])
    app.get("/")(lambda: {"ok": True})

    async def call() -> int:
        scope_headers = [(b"host", host.encode("latin-1"))]
        sent: list[dict[str, Any]] = []
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": "/",
            "raw_path": b"/",
            "query_string": b"",
            "root_path": "",
            "headers": scope_headers,
            "client": ("127.0.0.1", 1),
            "server": ("127.0.0.1", 80),
        }

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        await app(scope, receive, send)
        return sent[0]["status"]

    return asyncio.run(call())


@pytest.mark.parametrize("host", list(HOSTS))
def test_trusted_host(trusted_server: Served, host: str) -> None:
    assert starlette_status(host) == HOSTS[host], "the reference disagrees with the expectation"
    raw = get(trusted_server.port, "/", host=host)
    status, _, body = split(raw)
    assert status == HOSTS[host], raw[:500]
    if status == 400:
        assert body in REFUSED, raw[:500]
    else:
        assert json.loads(body)["host"] == host.split(":")[0].lower()


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n",
        b"GET / HTTP/1.0\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: example.com\r\nHost: evil.com\r\nConnection: close\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: evil.com\r\nHost: example.com\r\nConnection: close\r\n\r\n",
        b"GET http://evil.com/ HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n",
        b"GET http://example.com/ HTTP/1.1\r\nHost: evil.com\r\nConnection: close\r\n\r\n",
        b"GET http://example.com/ HTTP/1.1\r\nConnection: close\r\n\r\n",
        b"GET http://a.example.org/ HTTP/1.0\r\n\r\n",
    ],
    ids=[
        "missing-1.1",
        "missing-1.0",
        "two-hosts-good-first",
        "two-hosts-bad-first",
        "absolute-form-evil-authority",
        "absolute-form-good-authority-evil-host",
        "absolute-form-no-host",
        "absolute-form-1.0",
    ],
)
def test_trusted_host_missing_duplicate_or_absolute_form(trusted_server: Served, request_bytes: bytes) -> None:
    """Either refused (400 from the middleware or the server), or the app works with the very host
    the middleware allowed: the host it checked is the host ``request.url`` has."""
    raw = exchange(trusted_server.port, request_bytes)
    status, _, body = split(raw)
    print(f"{request_bytes!r}: {raw[:300]!r}")
    if status == 200:
        answer = json.loads(body)
        assert answer["host"] in ("example.com", "a.example.org"), answer
        assert answer["host_headers"][0].split(":")[0].lower() == answer["host"], answer
    else:
        assert status == 400 and body in REFUSED, raw[:500]
    still_serving_trusted(trusted_server)


def still_serving_trusted(server: Served) -> None:
    assert json_of(get(server.port, "/", host="example.com"))["host"] == "example.com"


# --------------------------------------------------------------------------- Set-Cookie like Starlette


@pytest.fixture(scope="module")
def cookie_clients(main_module: types.ModuleType) -> Iterator[tuple[Any, Any]]:
    reference = FastAPITestClient(main_module.build_cookie_app(fastapi), raise_server_exceptions=False)
    ours = TestClient(main_module.build_cookie_app(turboapi), raise_server_exceptions=False)
    try:
        yield reference, ours
    finally:
        ours.close()
        reference.close()


def cookie_answer(reply: Any) -> tuple[int, list[str], bytes]:
    body = reply.content if reply.status_code != 500 else b"<500>"
    return reply.status_code, reply.headers.get_list("set-cookie"), body


COOKIE_PATHS = [
    *(
        f"/cookie/{case}"
        for case in (
            "plain",
            "secure-httponly-strict",
            "lax",
            "none-secure",
            "no-samesite",
            "samesite-capitalised",
            "max-age",
            "max-age-zero",
            "max-age-negative",
            "expires-datetime",
            "expires-string",
            "path",
            "no-path",
            "domain",
            "domain-dot",
            "everything",
            "value-space",
            "value-quote",
            "value-semicolon",
            "value-comma",
            "value-backslash",
            "value-unicode",
            "value-empty",
            "value-crlf",
            "key-space",
            "key-crlf",
            "path-crlf",
            "path-semicolon",
            "domain-crlf",
            "samesite-invalid",
            "partitioned",
        )
    ),
    "/cookies/many",
    "/cookies/on-response",
    "/cookies/delete-defaults",
]


@pytest.mark.parametrize("path", COOKIE_PATHS)
def test_set_cookie_as_starlette_writes_it(cookie_clients: tuple[Any, Any], path: str) -> None:
    reference, ours = cookie_clients
    theirs = cookie_answer(reference.get(path))
    mine = cookie_answer(ours.get(path))
    if any("\r" in value or "\n" in value for value in theirs[1]):
        # Starlette writes the CR/LF into the header (its TestClient does not check); uvicorn's h11
        # refuses to send it. Refusing is the answer: a 500, no Set-Cookie.
        assert mine == (500, [], b"<500>"), f"\n{path}\n  fastapi:  {theirs!r}\n  turboapi: {mine!r}"
        return
    assert mine == theirs, f"\n{path}\n  fastapi:  {theirs!r}\n  turboapi: {mine!r}"
    for value in mine[1]:
        assert "\r" not in value and "\n" not in value, value


def test_set_cookie_with_expires_in_seconds(cookie_clients: tuple[Any, Any]) -> None:
    """``expires=3600``: the same header but for the date, which is an hour from now in both."""
    reference, ours = cookie_clients
    answers = []
    for client in (reference, ours):
        (header,) = client.get("/cookie-int-expires").headers.get_list("set-cookie")
        found = re.search(r"expires=([^;]+)", header)
        assert found, header
        when = parsedate_to_datetime(found.group(1))
        assert abs(when - (datetime.now(UTC) + timedelta(seconds=3600))) < timedelta(seconds=5), header
        answers.append(header.replace(found.group(1), "<date>"))
    assert answers[1] == answers[0]


def test_set_cookie_headers_reach_the_socket_unchanged(project: Path, main_module: types.ModuleType) -> None:
    """On the real server several Set-Cookie headers stay separate lines, as Starlette writes them."""
    running = serve(project, "main:cookies")
    try:
        for path in ("/cookies/many", "/cookie/everything", "/cookies/on-response"):
            status, headers, _ = split(get(running.port, path))
            assert status == 200
            with FastAPITestClient(main_module.build_cookie_app(fastapi)) as reference:
                expected = reference.get(path).headers.get_list("set-cookie")
            # A deleted cookie's `expires` is "now": the two servers may answer a second apart.
            assert [_no_expiry(v) for n, v in headers if n == "set-cookie"] == [_no_expiry(v) for v in expected]
    finally:
        running.stop()


def _no_expiry(cookie: str) -> str:
    return re.sub(r"expires=[^;]*", "expires=...", cookie)


# --------------------------------------------------------------------------- proxy headers

NO_PROXY = {"client": "127.0.0.1", "scheme": "http", "netloc": "127.0.0.1", "path": "/who"}

LONG_CHAIN = ", ".join(f"10.{i // 250}.{i % 250}.1" for i in range(1500)) + ", 9.9.9.9"

SPOOFS: dict[str, list[tuple[str, str]]] = {
    "all-three": [("X-Forwarded-For", "203.0.113.7"), ("X-Forwarded-Proto", "https"), ("X-Forwarded-Host", "a.b")],
    "two-xff-lines": [("X-Forwarded-For", "1.2.3.4"), ("X-Forwarded-For", "5.6.7.8")],
    "claims-to-be-the-proxy": [("X-Forwarded-For", "10.0.0.1")],
    "claims-loopback": [("X-Forwarded-For", "127.0.0.1, 10.0.0.1")],
    "garbage": [("X-Forwarded-For", "<script>alert(1)</script>"), ("X-Forwarded-Proto", "javascript")],
    "ipv6": [("X-Forwarded-For", "2001:db8::1")],
    "ipv6-bracketed-port": [("X-Forwarded-For", "[2001:db8::1]:443")],
    "long-chain": [("X-Forwarded-For", LONG_CHAIN)],
    "empty": [("X-Forwarded-For", ""), ("X-Forwarded-Proto", ""), ("X-Forwarded-Host", "")],
    "mixed-case-names": [("x-FORWARDED-for", "6.6.6.6"), ("X-forwarded-PROTO", "https")],
    "rfc7239-forwarded": [("Forwarded", "for=6.6.6.6;proto=https;host=evil.com")],
    "other-proxies-headers": [
        ("X-Real-IP", "6.6.6.6"),
        ("X-Forwarded-Scheme", "https"),
        ("X-Url-Scheme", "https"),
        ("Front-End-Https", "on"),
        ("X-Forwarded-Ssl", "on"),
        ("X-Forwarded-Port", "443"),
    ],
}


@pytest.fixture(scope="module")
def untrusted_proxy(project: Path) -> Iterator[Served]:
    running = serve(project, "main:app", "--proxy-headers", "--forwarded-allow-ips", "10.0.0.1")
    yield running
    running.stop()


@pytest.fixture(scope="module")
def trusted_proxy(project: Path) -> Iterator[Served]:
    running = serve(project, "main:app", "--proxy-headers", "--forwarded-allow-ips", "127.0.0.1")
    yield running
    running.stop()


@pytest.mark.parametrize("spoof", list(SPOOFS))
def test_forwarded_headers_from_an_untrusted_peer_are_ignored(untrusted_proxy: Served, spoof: str) -> None:
    answer = json_of(get(untrusted_proxy.port, "/who", SPOOFS[spoof]))
    assert {k: answer[k] for k in NO_PROXY} == NO_PROXY, answer
    assert answer["url"] == "http://127.0.0.1/who" and answer["host_headers"] == ["127.0.0.1"], answer


# spoof -> what a trusted proxy's headers mean (client, scheme): the nearest hop that is not a
# trusted proxy, the last scheme
TRUSTED_EXPECT = {
    "all-three": ("203.0.113.7", "https"),
    "two-xff-lines": ("5.6.7.8", "http"),  # the later line is the nearer hop (uvicorn: the last line)
    "claims-to-be-the-proxy": ("10.0.0.1", "http"),
    "claims-loopback": ("10.0.0.1", "http"),
    "ipv6": ("2001:db8::1", "http"),
    "ipv6-bracketed-port": ("2001:db8::1", "http"),
    "long-chain": ("9.9.9.9", "http"),
    "empty": ("127.0.0.1", "http"),
    "mixed-case-names": ("6.6.6.6", "https"),
    "rfc7239-forwarded": ("127.0.0.1", "http"),  # not supported, as in uvicorn
    "other-proxies-headers": ("127.0.0.1", "http"),
}


@pytest.mark.parametrize("spoof", list(TRUSTED_EXPECT))
def test_forwarded_headers_from_a_trusted_peer(trusted_proxy: Served, spoof: str) -> None:
    raw = get(trusted_proxy.port, "/who", SPOOFS[spoof])
    status, _, body = split(raw)
    if spoof == "long-chain" and status == 431:
        return  # refusing an oversized header is fine too
    answer = json.loads(body)
    assert (answer["client"], answer["scheme"]) == TRUSTED_EXPECT[spoof], answer
    assert answer["path"] == "/who", answer


def test_garbage_from_a_trusted_proxy_is_not_a_scheme(trusted_proxy: Served) -> None:
    answer = json_of(get(trusted_proxy.port, "/who", SPOOFS["garbage"]))
    assert answer["scheme"] == "http", answer


HOST_PORT = re.compile(r"(?:[a-z0-9-]+(?:\.[a-z0-9-]+)*|\[[0-9a-f:.]+\])(?::[0-9]{1,5})?", re.IGNORECASE)


@pytest.mark.parametrize(
    "forwarded_host",
    [
        "evil.com/x?y=1#z",
        "evil.com/admin",
        "evil.com?x=1",
        "evil.com#frag",
        "user@evil.com",
        "user:pass@evil.com",
        "evil.com:abc",
        "evil.com:99999999",
        "evil.com\\@x",
        "evil com",
        "a, evil.com/x",
        "[::1",
        "%2e%2e",
    ],
)
def test_forwarded_host_cannot_change_the_url_path_or_add_userinfo(trusted_proxy: Served, forwarded_host: str) -> None:
    """Even from a trusted proxy, X-Forwarded-Host is a host: a value that is not ``host[:port]``
    must not make ``request.url`` another path, query, fragment or userinfo than the request's
    (refused, ignored or cleaned: any of these is fine)."""
    raw = get(trusted_proxy.port, "/who", [("X-Forwarded-Host", forwarded_host)])
    status, _, body = split(raw)
    if status == 400:
        return
    assert status == 200, f"X-Forwarded-Host {forwarded_host!r}: {raw[:300]!r}"
    answer = json.loads(body)
    problems = []
    if answer["path"] != "/who":
        problems.append(f"request.url.path is {answer['path']!r}, the route is /who")
    if not HOST_PORT.fullmatch(answer["netloc"]):
        problems.append(f"request.url.netloc is {answer['netloc']!r}, not host[:port]")
    if answer["url"] != f"http://{answer['netloc']}/who":
        problems.append(f"str(request.url) is {answer['url']!r}")
    assert not problems, f"X-Forwarded-Host {forwarded_host!r}: " + "; ".join(problems) + f"\n{answer}"


def test_a_valid_forwarded_host_from_a_trusted_proxy_is_used(trusted_proxy: Served) -> None:
    answer = json_of(get(trusted_proxy.port, "/who", [("X-Forwarded-Host", "Example.ORG:8443")]))
    assert answer["netloc"].lower() == "example.org:8443" and answer["path"] == "/who", answer


# --------------------------------------------------------------------------- request bodies never logged


def post(port: int, path: str, body: bytes, content_type: str, chunked: bool = False) -> int:
    head = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: close", f"Content-Type: {content_type}"]
    if chunked:
        head.append("Transfer-Encoding: chunked")
        payload = f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n"
    else:
        head.append(f"Content-Length: {len(body)}")
        payload = body
    raw = exchange(port, ("\r\n".join(head) + "\r\n\r\n").encode() + payload)
    return split(raw)[0]


BODIES = [
    ("/body/ok", BODY_SECRET.encode(), "text/plain", False, 200),
    ("/body/ok", BODY_SECRET.encode(), "text/plain", True, 200),
    ("/body/raise", BODY_SECRET.encode(), "text/plain", False, 500),
    ("/body/validate", json.dumps({"count": BODY_SECRET}).encode(), "application/json", False, 422),
    ("/body/validate", ('{"count": "' + BODY_SECRET).encode(), "application/json", False, 422),
    ("/body/validate", f"count={BODY_SECRET}".encode(), "application/x-www-form-urlencoded", False, 422),
    ("/body/validate", f"{{{BODY_SECRET}}}".encode(), "application/json", True, 422),
    ("/nowhere", BODY_SECRET.encode(), "text/plain", False, 404),
    ("/ok", BODY_SECRET.encode(), "text/plain", False, 405),
]


@pytest.mark.parametrize("flags", [[], ["--access-log"]], ids=["default", "access-log"])
def test_request_bodies_are_never_logged(project: Path, flags: list[str]) -> None:
    running = serve(project, "main:app", *flags)
    try:
        statuses = [post(running.port, path, body, ct, chunked) for path, body, ct, chunked, _ in BODIES]
        assert statuses == [expected for *_, expected in BODIES]
        if flags:
            running.wait_for(r'"POST /ok HTTP/1\.1" 405', timeout=10)  # the access log is written
        else:
            time.sleep(0.5)
    finally:
        running.stop()
    assert "the handler failed" in running.output  # the error was logged, without the body
    leaked = [line for line in running.output.splitlines() if BODY_SECRET in line or "BODY-SECRET" in line]
    assert not leaked, "request body in the server's output:\n" + "\n".join(leaked)


@pytest.mark.parametrize("flags", [[], ["--access-log"]], ids=["default", "access-log"])
def test_server_stops_cleanly_so_no_log_line_is_lost(project: Path, flags: list[str]) -> None:
    """SIGTERM: exit code 0 (an abort could lose the last access-log lines)."""
    running = serve(project, "main:app", *flags)
    try:
        assert json_of(get(running.port, "/ok")) == {"ok": True}
        time.sleep(0.3)
    finally:
        code = running.stop()
    assert code == 0, f"exit code {code}\n--- server output ---\n{running.output[-2000:]}"
