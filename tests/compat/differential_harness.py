"""Shared machinery of the differential suites (``tests/compat/test_*_differential.py``).

Each suite defines app factories, written once against a namespace ``fw`` of framework names
(``fastapi`` or ``turboapi``, see ``make_namespace``).  ``Apps`` builds every factory for both
frameworks; every case (``C``/``Case``) is sent to both through their own ``TestClient`` (``send``)
and ``check`` compares what was observed (``snapshot``).  What is compared besides the status is
chosen by the suite with a ``Compare``; by default:

* ``content-type`` header (exact string)
* body: exact bytes, and parsed JSON when the content-type is JSON (so a
  difference shows up as "same data, other bytes" or "other data")
* any extra header a case names explicitly

Each case also carries the status FastAPI gives, so the reference half is checked to really
exercise what the case claims to.

A factory is ``build_xxx(fw, route)``: its routes go through ``route(app, method, path, **kw)``,
and an endpoint a framework rejects at registration time is left out and the error is recorded
(reported by ``test_every_route_registers`` in each suite), so only its cases fail.  With
``Apps(..., with_route=False)`` a factory is ``build_xxx(fw)`` and registers its routes on the app
directly.  A factory returns the app, or a ``Built`` holding the app with a side-effect log and
named callables (for ``Case.overrides``).

``COMPAT_ONLY_FASTAPI=1`` compares FastAPI against a second FastAPI app (validates the cases).
"""

from __future__ import annotations

import email.utils
import importlib
import json
import os
import time
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

pytest.importorskip("fastapi")

from fastapi_reference import FastAPITestClient  # noqa: E402
from turboapi import _json  # noqa: E402

ONLY_FASTAPI = os.environ.get("COMPAT_ONLY_FASTAPI", "") not in ("", "0")

# Every name any suite's factories use, by module of the framework package ("" = the package).
NAMES: dict[str, tuple[str, ...]] = {
    "": (
        "FastAPI",
        "APIRouter",
        "Query",
        "Path",
        "Header",
        "Cookie",
        "Body",
        "Form",
        "File",
        "UploadFile",
        "Depends",
        "Security",
        "HTTPException",
        "Request",
        "Response",
        "BackgroundTasks",
    ),
    "responses": ("JSONResponse", "PlainTextResponse", "HTMLResponse", "RedirectResponse"),
    "exceptions": ("RequestValidationError", "ResponseValidationError"),
    "exception_handlers": ("http_exception_handler", "request_validation_exception_handler"),
    "encoders": ("jsonable_encoder",),
    "security": (
        "OAuth2PasswordBearer",
        "OAuth2PasswordRequestForm",
        "OAuth2PasswordRequestFormStrict",
        "HTTPBasic",
        "HTTPBasicCredentials",
        "HTTPBearer",
        "HTTPAuthorizationCredentials",
        "APIKeyHeader",
        "APIKeyQuery",
        "APIKeyCookie",
        "SecurityScopes",
        "OAuth2AuthorizationCodeBearer",
        "OpenIdConnect",
        "HTTPDigest",
    ),
    "middleware": ("Middleware",),
    "middleware.cors": ("CORSMiddleware",),
    "middleware.gzip": ("GZipMiddleware",),
    "middleware.trustedhost": ("TrustedHostMiddleware",),
    "middleware.httpsredirect": ("HTTPSRedirectMiddleware",),
}


def make_namespace(package: str) -> types.SimpleNamespace:
    ns: dict[str, Any] = {}
    for module, names in NAMES.items():
        mod = importlib.import_module(f"{package}.{module}" if module else package)
        ns.update({name: getattr(mod, name) for name in names})
    # FastAPI apps take BaseHTTPMiddleware from Starlette; turboapi has its own.
    base = "starlette.middleware.base" if package == "fastapi" else f"{package}.middleware.base"
    ns["BaseHTTPMiddleware"] = importlib.import_module(base).BaseHTTPMiddleware
    return types.SimpleNamespace(**ns)


# --------------------------------------------------------------------------- cases

_UNSET = object()


@dataclass(frozen=True)
class Case:
    method: str
    url: str
    expect: int  # status FastAPI gives (sanity check of the reference half)
    app: str = "main"
    params: Any = None
    headers: Any = None  # dict, or a list of (name, value) pairs for repeated headers
    cookies: dict[str, str] | None = None
    json: Any = _UNSET
    content: bytes | None = None
    data: Any = None
    files: Any = None
    raise_server_exceptions: bool = True
    compare_headers: tuple[str, ...] = field(default=())
    overrides: tuple[tuple[str, str], ...] = ()  # (dependency, override) names in the Built's registry
    expect_log: tuple[str, ...] | None = None  # the log FastAPI's app writes (sanity check), see Compare.log
    expect_raises: str | None = None  # FastAPI's client raises this exception type, see Compare.exceptions


def C(
    case_id: str, method: str, url: str, expect: int, *, xfail: str | None = None, orjson_xfail: str = "", **kw: Any
) -> Any:
    """A case; ``orjson_xfail``: a deviation only where turboapi encodes with orjson (its default when
    installed), e.g. NaN as null; the stdlib encoder (the default without orjson) is FastAPI's."""
    if orjson_xfail and _json.DEFAULT == "orjson":
        xfail = orjson_xfail
    if kw.get("expect_log") is not None:
        kw["expect_log"] = tuple(kw["expect_log"])
    # Against a second FastAPI app (COMPAT_ONLY_FASTAPI) every case must pass, so no xfail there.
    marks = [pytest.mark.xfail(not ONLY_FASTAPI, strict=True, reason=xfail)] if xfail else []
    return pytest.param(Case(method, url, expect, **kw), id=case_id, marks=marks)


def case_ids(cases: list[Any]) -> list[str]:
    return [p.id for p in cases]


def assert_unique_ids(cases: list[Any]) -> None:
    ids = case_ids(cases)
    assert len(ids) == len(set(ids))


def multipart(parts: list[tuple[str, Any]], boundary: str = "XbOuNdArYx") -> tuple[bytes, dict[str, str]]:
    """A hand-built multipart/form-data body.

    ``parts`` holds ``(name, value)`` with value a ``str`` (plain field) or a
    ``(filename, content_bytes, content_type | None)`` tuple (file part).
    """
    out = b""
    for name, value in parts:
        out += f"--{boundary}\r\n".encode()
        if isinstance(value, tuple):
            filename, content, ctype = value
            out += f'Content-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'.encode()
            if ctype:
                out += f"Content-Type: {ctype}\r\n".encode()
            out += b"\r\n" + content + b"\r\n"
        else:
            out += f'Content-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
            out += value.encode() + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return out, {"content-type": f"multipart/form-data; boundary={boundary}"}


# --------------------------------------------------------------------------- apps


Factory = Callable[..., Any]  # (fw, route) -> app | Built, or (fw) -> app | Built with with_route=False


@dataclass
class Built:
    """One framework's app, the side-effect log its endpoints append to, its named callables."""

    app: Any
    log: list[str] = field(default_factory=list)
    registry: dict[str, Callable[..., Any]] = field(default_factory=dict)


def make_route(problems: list[str]) -> Callable[..., Any]:
    def route(app: Any, method: str, path: str, **kwargs: Any) -> Callable[[Any], Any]:
        def decorator(endpoint: Any) -> Any:
            try:
                getattr(app, method)(path, **kwargs)(endpoint)
            except Exception as exc:  # reported through `problems`, see the module docstring
                problems.append(f"{endpoint.__name__} ({path}): {type(exc).__name__}: {exc}")
            return endpoint

        return decorator

    return route


class Apps:
    """Both frameworks' apps for every factory, their problems, and lazily built client pairs.

    ``sut_settings`` go to turboapi's ``TestClient`` (not under ``COMPAT_ONLY_FASTAPI``).  With
    ``warm_up``, every client pair is built up front and has served a request before any case runs
    (so a case's ``dependency_overrides`` are set on a live app).
    """

    def __init__(
        self,
        factories: dict[str, Factory],
        *,
        with_route: bool = True,
        sut_settings: dict[str, Any] | None = None,
        warm_up: bool = False,
    ) -> None:
        self.ref_errors: list[str] = []
        self.sut_errors: list[str] = []
        self.sut_settings = {} if ONLY_FASTAPI else dict(sut_settings or {})
        self.warm_up = warm_up
        ref_ns = make_namespace("fastapi")
        sut_ns = make_namespace("fastapi" if ONLY_FASTAPI else "turboapi")
        if ONLY_FASTAPI:
            self.sut_client_cls: Any = FastAPITestClient
        else:
            self.sut_client_cls = importlib.import_module("turboapi.testclient").TestClient

        def build(factory: Factory, ns: Any, problems: list[str]) -> Built:
            built = factory(ns, make_route(problems)) if with_route else factory(ns)
            return built if isinstance(built, Built) else Built(built)

        self.ref: dict[str, Built] = {}
        self.sut: dict[str, Built] = {}
        for name, factory in factories.items():
            self.ref[name] = build(factory, ref_ns, self.ref_errors)
            try:
                self.sut[name] = build(factory, sut_ns, self.sut_errors)
            except Exception as exc:  # app-level crash: reported, its cases fail
                self.sut_errors.append(f"app {name!r} failed to build: {type(exc).__name__}: {exc}")
        self.pairs: dict[tuple[str, bool], tuple[Any, Any]] = {}
        if warm_up:
            for name in self.sut:
                for raise_server_exceptions in (True, False):
                    self.clients(name, raise_server_exceptions)

    @property
    def ref_apps(self) -> dict[str, Any]:
        return {name: built.app for name, built in self.ref.items()}

    @property
    def sut_apps(self) -> dict[str, Any]:
        return {name: built.app for name, built in self.sut.items()}

    def clients(self, app: str, raise_server_exceptions: bool) -> tuple[Any, Any]:
        key = (app, raise_server_exceptions)
        if key not in self.pairs:
            kw = {"raise_server_exceptions": raise_server_exceptions, "follow_redirects": False}
            if app not in self.sut:
                pytest.fail(f"turboapi could not build app {app!r}: {self.sut_errors}")
            pair = (
                FastAPITestClient(self.ref[app].app, **kw),
                self.sut_client_cls(self.sut[app].app, **kw, **self.sut_settings),
            )
            if self.warm_up:
                for client in pair:
                    client.get("/__warm_up__")
            self.pairs[key] = pair
        return self.pairs[key]

    def close(self) -> None:
        for pair in self.pairs.values():
            for client in pair:
                close = getattr(client, "close", None)
                if close is not None:
                    close()

    def __enter__(self) -> Apps:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()


def apps_fixture(factories: dict[str, Factory], *, variants: dict[str, dict[str, Any]] | None = None, **options: Any):
    """A module-scoped ``apps`` fixture building ``Apps(factories, **options)``.

    ``variants`` (id -> turboapi client settings) runs the module's tests once per variant.
    """
    if variants is None:

        @pytest.fixture(scope="module")
        def apps() -> Iterator[Apps]:
            with Apps(factories, **options) as built:
                yield built

    else:

        @pytest.fixture(scope="module", params=list(variants.values()), ids=list(variants))
        def apps(request: pytest.FixtureRequest) -> Iterator[Apps]:
            with Apps(factories, sut_settings=request.param, **options) as built:
                yield built

    return apps


# --------------------------------------------------------------------------- sending and comparing


def send(client: Any, case: Case) -> Any:
    headers: list[tuple[str, str]] = list(
        case.headers.items() if isinstance(case.headers, dict) else (case.headers or [])
    )
    if case.cookies:
        # An explicit header rather than cookies=: per-request cookies are
        # deprecated in httpx, and the client jar must not leak between cases.
        headers.append(("cookie", "; ".join(f"{k}={v}" for k, v in case.cookies.items())))
    kw: dict[str, Any] = {}
    if case.params is not None:
        kw["params"] = case.params
    if headers:
        kw["headers"] = headers
    if case.json is not _UNSET:
        kw["json"] = case.json
    if case.content is not None:
        kw["content"] = case.content
    if case.data is not None:
        kw["data"] = case.data
    if case.files is not None:
        kw["files"] = case.files
    try:
        return client.request(case.method, case.url, **kw)
    finally:
        jar = getattr(client, "cookies", None)
        if jar is not None:
            jar.clear()


def normalize_set_cookie(value: str, strip_name: bool = True) -> tuple[str, list[str]]:
    """``(name=value, sorted attributes)``: attribute order ignored.

    An ``expires`` that both servers derive from ``Max-Age`` and the clock is written as
    ``expires=now+<max-age>`` when it agrees with ``Max-Age`` to within a few seconds: the two
    servers answer a moment apart, and a second boundary between them is no difference.
    """
    first, *attrs = value.split(";")
    attrs = [a.strip() for a in attrs if a.strip()]
    max_age = next((a.split("=", 1)[1] for a in attrs if a.lower().startswith("max-age=")), None)
    if max_age is not None and max_age.lstrip("-").isdigit():
        attrs = [_expires_from_max_age(a, int(max_age)) for a in attrs]
    return first.strip() if strip_name else first, sorted(attrs)


def _expires_from_max_age(attr: str, max_age: int) -> str:
    """``attr`` itself unless it is an ``expires`` within 5 s of now + ``max_age``."""
    if not attr.lower().startswith("expires="):
        return attr
    try:
        when = email.utils.parsedate_to_datetime(attr.split("=", 1)[1])
    except (TypeError, ValueError):
        return attr
    if when.tzinfo is None:
        return attr
    drift = when.timestamp() - (time.time() + max_age)
    return f"expires=now+{max_age}" if -5 <= drift <= 5 else attr


def allowed_methods(resp: Any) -> list[str] | None:
    """The ``allow`` header as a sorted list of methods (order-insensitive), None when absent."""
    allow = resp.headers.get("allow")
    return None if allow is None else sorted(m.strip() for m in allow.split(","))


@dataclass(frozen=True)
class Compare:
    """What a suite compares of every answer besides the status code (always compared).

    The defaults are the module docstring's list.
    """

    # A JSON body is compared parsed *and* byte for byte; False: parsed only (bytes when unparseable).
    json_raw: bool = True
    # Headers compared on every answer, besides the ones each case names (``Case.compare_headers``).
    headers: tuple[str, ...] = ("content-type",)
    # A header is compared as the list of all its values (absent: []) instead of ``headers.get``'s
    # comma-joined string (absent: None).
    all_values: bool = False
    # "ordered" / "sorted": every ``set-cookie`` as (name=value, sorted attributes), in the order
    # sent / sorted.  "": not compared (unless named).
    set_cookie: str = ""
    # Adds suite-specific entries to a snapshot: extra(resp, snap).
    extra: Callable[[Any, dict[str, Any]], None] | None = None
    # The Built's side-effect log, cleared before the case, is compared after it.
    log: bool = False
    # An exception out of the client is compared (type and message) rather than failing the test.
    exceptions: bool = False


DEFAULT = Compare()


def snapshot(resp: Any, case: Case, compare: Compare = DEFAULT) -> dict[str, Any]:
    headers = resp.headers

    def value(name: str) -> Any:
        return headers.get_list(name) if compare.all_values else headers.get(name)

    snap: dict[str, Any] = {"status": resp.status_code}
    for name in compare.headers:
        snap[name] = value(name)
    ctype = headers.get("content-type")
    raw = resp.content
    parsed = False
    if ctype and "json" in ctype.lower() and raw:
        try:
            snap["json"] = json.loads(raw)
            parsed = True
        except ValueError:
            snap["json"] = "<unparseable>"
    if compare.json_raw or not parsed:
        snap["raw"] = raw
    for name in case.compare_headers:
        snap[f"header:{name}"] = value(name)
    if compare.set_cookie:
        cookies = [normalize_set_cookie(c) for c in headers.get_list("set-cookie")]
        snap["set-cookie"] = sorted(cookies) if compare.set_cookie == "sorted" else cookies
    if compare.extra is not None:
        compare.extra(resp, snap)
    return snap


def middleware_extra(resp: Any, snap: dict[str, Any]) -> None:
    headers = resp.headers
    # httpx gunzips the body on both sides; the compressed length differs by the gzip header's
    # timestamp and the deflate implementation, so it is compared as present only.
    if snap.get("header:content-length") and headers.get("content-encoding") == "gzip":
        snap["header:content-length"] = "<length of a gzip stream>"
    allow = allowed_methods(resp)
    if allow is not None:
        snap["allow"] = allow
    cookies = headers.get_list("set-cookie")
    if cookies:
        snap["set-cookie"] = sorted(normalize_set_cookie(c, strip_name=False) for c in cookies)
    cors = sorted((k.lower(), v) for k, v in headers.multi_items() if k.lower().startswith("access-control-"))
    if cors:
        snap["access-control"] = cors


# Middleware, routers and errors: the body (parsed JSON for JSON), every value of these headers,
# ``allow`` as a set, ``set-cookie`` and every ``access-control-*`` header.
MIDDLEWARE = Compare(
    json_raw=False,
    headers=("content-type", "location", "vary", "content-encoding", "www-authenticate"),
    all_values=True,
    extra=middleware_extra,
)

# Dependencies and security: the body (parsed JSON for JSON), these headers, ``set-cookie``, the
# side-effect log and an exception raised into the client.
SIDE_EFFECTS = Compare(
    json_raw=False,
    headers=("content-type", "www-authenticate", "location"),
    set_cookie="sorted",
    log=True,
    exceptions=True,
)


def outcome(client: Any, built: Built, case: Case, compare: Compare) -> dict[str, Any]:
    built.log.clear()
    overrides = built.app.dependency_overrides if case.overrides else {}
    for dep_name, override_name in case.overrides:
        overrides[built.registry[dep_name]] = built.registry[override_name]
    try:
        snap = snapshot(send(client, case), case, compare)
    except Exception as exc:
        if not compare.exceptions:
            raise
        snap = {"raised": f"{type(exc).__name__}: {exc}"}
    finally:
        overrides.clear()
    if compare.log:
        snap["log"] = list(built.log)
    return snap


def check(apps: Apps, case: Case, compare: Compare = DEFAULT) -> None:
    assert not apps.ref_errors, f"FastAPI rejected routes: {apps.ref_errors}"
    ref_client, sut_client = apps.clients(case.app, case.raise_server_exceptions)
    ref = outcome(ref_client, apps.ref[case.app], case, compare)
    if case.expect_raises is not None:
        assert ref.get("raised", "").startswith(case.expect_raises + ":"), f"FastAPI side: {ref}"
    else:
        assert ref.get("status") == case.expect, f"FastAPI gave {ref.get('status')}, case expects {case.expect}: {ref}"
    if case.expect_log is not None:
        assert tuple(ref.get("log", ())) == case.expect_log, f"FastAPI log: {ref.get('log')}"
    sut = outcome(sut_client, apps.sut[case.app], case, compare)
    note = ""
    refused = [e for e in apps.sut_errors if f"({case.url.split('?')[0]})" in e or "failed to build" in e]
    if refused:
        note = f"; the framework refused this route: {refused}"
    assert sut == ref, f"{case.method} {case.url}{note}\n  turboapi: {sut}\n  FastAPI:  {ref}"
