"""Shared machinery for the differential test files (params, forms, response_model).

Each test file defines one or more app factories ``build_xxx(fw, route)`` that take a
namespace ``fw`` of framework names (``fastapi`` or ``turboapi``) and a ``route``
registrar.  Every factory is instantiated for both frameworks; every case is sent
to both through their own ``TestClient`` and the observable answer is compared:

* status code
* ``content-type`` header (exact string)
* body: exact bytes, and parsed JSON when the content-type is JSON (so a
  difference shows up as "same data, other bytes" or "other data")
* any extra header a case names explicitly

Routes go through ``route(app, method, path, **kw)``: an endpoint a framework
rejects at registration time is left out and the error is recorded (reported by
``test_every_route_registers`` in each file), so only its cases fail.

``COMPAT_ONLY_FASTAPI=1`` compares FastAPI against a second FastAPI app.
"""

from __future__ import annotations

import importlib
import json
import os
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

pytest.importorskip("fastapi")

from fastapi_reference import FastAPITestClient  # noqa: E402

ONLY_FASTAPI = os.environ.get("COMPAT_ONLY_FASTAPI", "") not in ("", "0")

TOP_NAMES = (
    "FastAPI",
    "Query",
    "Path",
    "Header",
    "Cookie",
    "Body",
    "Form",
    "File",
    "UploadFile",
    "Depends",
    "HTTPException",
    "Request",
    "Response",
)
RESPONSE_NAMES = ("JSONResponse", "PlainTextResponse", "HTMLResponse")
EXCEPTION_NAMES = ("RequestValidationError", "ResponseValidationError")


def make_namespace(package: str) -> types.SimpleNamespace:
    top = importlib.import_module(package)
    responses = importlib.import_module(f"{package}.responses")
    exceptions = importlib.import_module(f"{package}.exceptions")
    encoders = importlib.import_module(f"{package}.encoders")
    ns = {name: getattr(top, name) for name in TOP_NAMES}
    ns.update({name: getattr(responses, name) for name in RESPONSE_NAMES})
    ns.update({name: getattr(exceptions, name) for name in EXCEPTION_NAMES})
    ns["jsonable_encoder"] = encoders.jsonable_encoder
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


def C(case_id: str, method: str, url: str, expect: int, *, xfail: str | None = None, **kw: Any) -> Any:
    # Against a second FastAPI app (COMPAT_ONLY_FASTAPI) every case must pass, so no xfail there.
    marks = [pytest.mark.xfail(not ONLY_FASTAPI, strict=True, reason=xfail)] if xfail else []
    return pytest.param(Case(method, url, expect, **kw), id=case_id, marks=marks)


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


Factory = Callable[[Any, Callable[..., Any]], Any]


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
    """Both frameworks' apps for every factory, their problems, and lazily built client pairs."""

    def __init__(self, factories: dict[str, Factory]) -> None:
        self.ref_errors: list[str] = []
        self.sut_errors: list[str] = []
        ref_ns = make_namespace("fastapi")
        sut_ns = make_namespace("fastapi" if ONLY_FASTAPI else "turboapi")
        if ONLY_FASTAPI:
            self.sut_client_cls: Any = FastAPITestClient
        else:
            self.sut_client_cls = importlib.import_module("turboapi.testclient").TestClient
        self.ref_apps: dict[str, Any] = {}
        self.sut_apps: dict[str, Any] = {}
        for name, factory in factories.items():
            self.ref_apps[name] = factory(ref_ns, make_route(self.ref_errors))
            try:
                self.sut_apps[name] = factory(sut_ns, make_route(self.sut_errors))
            except Exception as exc:  # app-level crash: reported, its cases fail
                self.sut_errors.append(f"app {name!r} failed to build: {type(exc).__name__}: {exc}")
        self.pairs: dict[tuple[str, bool], tuple[Any, Any]] = {}

    def clients(self, app: str, raise_server_exceptions: bool) -> tuple[Any, Any]:
        key = (app, raise_server_exceptions)
        if key not in self.pairs:
            kw = {"raise_server_exceptions": raise_server_exceptions, "follow_redirects": False}
            if app not in self.sut_apps:
                pytest.fail(f"turboapi could not build app {app!r}: {self.sut_errors}")
            self.pairs[key] = (
                FastAPITestClient(self.ref_apps[app], **kw),
                self.sut_client_cls(self.sut_apps[app], **kw),
            )
        return self.pairs[key]

    def close(self) -> None:
        for pair in self.pairs.values():
            for client in pair:
                close = getattr(client, "close", None)
                if close is not None:
                    close()


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


def snapshot(resp: Any, case: Case) -> dict[str, Any]:
    ctype = resp.headers.get("content-type")
    raw = resp.content
    snap: dict[str, Any] = {"status": resp.status_code, "content-type": ctype}
    if ctype and "json" in ctype.lower() and raw:
        try:
            snap["json"] = json.loads(raw)
        except ValueError:
            snap["json"] = "<unparseable>"
    snap["raw"] = raw
    for name in case.compare_headers:
        snap[f"header:{name}"] = resp.headers.get(name)
    return snap


def check(apps: Apps, case: Case) -> None:
    assert not apps.ref_errors, f"FastAPI rejected routes: {apps.ref_errors}"
    ref_client, sut_client = apps.clients(case.app, case.raise_server_exceptions)
    ref = snapshot(send(ref_client, case), case)
    assert ref["status"] == case.expect, f"FastAPI gave {ref['status']}, case expects {case.expect}: {ref}"
    sut = snapshot(send(sut_client, case), case)
    note = ""
    refused = [e for e in apps.sut_errors if f"({case.url.split('?')[0]})" in e or "failed to build" in e]
    if refused:
        note = f"; the framework refused this route: {refused}"
    assert sut == ref, f"{case.method} {case.url}{note}\n  turboapi: {sut}\n  FastAPI:  {ref}"


def case_ids(cases: list[Any]) -> list[str]:
    return [p.id for p in cases]
