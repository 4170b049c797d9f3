"""Stacks made only of the standard middleware run in the core: no Python per request.

The differential suite (tests/compat/test_middleware_differential.py) checks what they answer in
both modes; here, that the native mode really leaves the Python classes out of the request path.
"""

from __future__ import annotations

import gzip

import pytest

from turboapi import FastAPI
from turboapi.middleware.base import BaseHTTPMiddleware
from turboapi.middleware.cors import CORSLayer, CORSMiddleware
from turboapi.middleware.gzip import GZipLayer, GZipMiddleware
from turboapi.middleware.trustedhost import TrustedHostLayer, TrustedHostMiddleware
from turboapi.testclient import TestClient


def build(*extra: type) -> FastAPI:
    app = FastAPI()
    app.add_middleware(GZipMiddleware, minimum_size=10)
    app.add_middleware(CORSMiddleware, allow_origins=["https://a.example"])
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=["testserver"])
    for cls in extra:
        app.add_middleware(cls, dispatch=lambda request, call_next: call_next(request))

    @app.get("/big")
    def big():
        return {"text": "x" * 100}

    @app.get("/huge")
    def huge():
        return {"items": [{"id": i, "name": f"item-{i}"} for i in range(20000)]}

    return app


@pytest.fixture
def python_layers_fail(monkeypatch):
    """Make every standard class fail if Python ever runs it for a request (Starlette's class, or
    turboapi's request-to-response layer of it)."""

    async def refuse(self, request):
        raise AssertionError(f"{type(self).__name__} ran in Python")

    for cls in (CORSMiddleware, GZipMiddleware, TrustedHostMiddleware, CORSLayer, GZipLayer, TrustedHostLayer):
        monkeypatch.setattr(cls, "__call__", refuse)


def test_standard_stack_runs_without_python(python_layers_fail):
    with TestClient(build(), raise_server_exceptions=True) as client:
        r = client.get("/big", headers={"origin": "https://a.example", "accept-encoding": "gzip"})
        assert r.status_code == 200
        assert r.headers["content-encoding"] == "gzip"
        assert r.headers["access-control-allow-origin"] == "https://a.example"
        assert r.headers["vary"] == "Accept-Encoding, Origin"
        assert r.json() == {"text": "x" * 100}
        # A bad host is refused by the core's TrustedHost, before routing.
        assert client.get("/big", headers={"host": "evil.example"}).status_code == 400


def test_switch_off_runs_the_python_classes(python_layers_fail):
    with TestClient(build(), native_middleware=False, raise_server_exceptions=False) as client:
        assert client.get("/big").status_code == 500


@pytest.mark.parametrize(("value", "native"), [("0", False), ("off", False), ("1", True), ("true", True)])
def test_switch_from_environment(python_layers_fail, monkeypatch, value, native):
    monkeypatch.setenv("TURBOAPI_NATIVE_MIDDLEWARE", value)
    with TestClient(build(), raise_server_exceptions=False) as client:
        assert client.get("/big").status_code == (200 if native else 500)


def test_a_python_middleware_in_the_stack_puts_all_of_it_in_python(python_layers_fail):
    with TestClient(build(BaseHTTPMiddleware), raise_server_exceptions=False) as client:
        assert client.get("/big").status_code == 500


def test_gzip_body_is_a_valid_gzip_stream():
    with TestClient(build()) as client:
        # The transport's response, before httpx decodes it: the bytes the core produced.
        request = client.build_request("GET", "/big", headers={"accept-encoding": "gzip"})
        r = client._transport.handle_request(request)
        raw = b"".join(r.stream)
    assert raw[:2] == b"\x1f\x8b"  # the gzip magic: the bytes on the wire are compressed
    assert gzip.decompress(raw) == b'{"text":"' + b"x" * 100 + b'"}'
    assert int(r.headers["content-length"]) == len(raw)


def test_large_body_is_compressed_off_the_reactor_and_intact():
    """Past 128 KiB the core compresses on a blocking thread; the stream must still be whole."""
    with TestClient(build()) as client:
        request = client.build_request("GET", "/huge", headers={"accept-encoding": "gzip"})
        r = client._transport.handle_request(request)
        raw = b"".join(r.stream)
    body = gzip.decompress(raw)
    assert len(body) > 128 * 1024 > len(raw)
    assert body.startswith(b'{"items":[{"id":0,"name":"item-0"}') and body.endswith(
        b'{"id":19999,"name":"item-19999"}]}'
    )
