"""Differential test of streaming responses: the same apps on FastAPI and on turboapi.

Each app factory ``build_xxx(fw, route)`` is written once against a namespace ``fw`` of framework
names and instantiated for ``fastapi`` and for ``turboapi`` (the machinery of
``differential_harness``: ``Case``/``C``, ``send``, ``make_route``); every case goes to both apps
through their own ``TestClient`` and the observable answer is compared.  The TestClients hide the
framing (chunked or not), so what is compared is what the application decided:

* status code and body, exact bytes (httpx undoes ``content-encoding: gzip`` on both sides)
* every value of ``content-type``, ``content-length``, ``transfer-encoding``, ``content-encoding``,
  ``vary``, ``cache-control``, ``x-accel-buffering`` and ``set-cookie`` (absent = ``[]``): a
  ``StreamingResponse`` has no ``content-length`` unless the app set one, and Starlette's TestClient
  shows no ``transfer-encoding``, so turboapi's TestClient must not invent either

What is covered:

* ``StreamingResponse`` (``build_main``): sync and async generators, a list, a tuple, an iterator,
  a generator expression, objects with ``__iter__``/``__aiter__``; str, bytes and memoryview chunks
  mixed (str encoded with the response's ``charset``), media_type/headers/status_code/cookies,
  an empty stream, hand-written Server-Sent Events and JSON Lines (``application/x-ndjson``),
  background tasks run after the stream, routes with dependencies (``yield`` dependencies with the
  default scope close after the stream, ``scope="function"`` ones before it), a generator that
  raises in the middle or before its first chunk (raised into the client with
  ``raise_server_exceptions=True``; a 200 with the chunks sent so far otherwise)
* FastAPI 0.141.1's streaming helpers: ``fastapi.sse.EventSourceResponse`` and ``ServerSentEvent``
  (``build_sse``: ``response_class=EventSourceResponse`` on a generator path operation; items
  JSON-encoded into ``data:`` lines; ``Cache-Control: no-cache``, ``X-Accel-Buffering: no``; a
  ``: ping`` comment after ``_PING_INTERVAL`` idle seconds), a generator path operation without a
  response class, streamed as JSON Lines (``application/jsonl``, ``build_jsonl``), and one with
  ``response_class=StreamingResponse`` or a subclass, streamed raw (``build_gen_raw``)
* through ``@app.middleware("http")`` (``build_http_mw``: headers added, ``body_iterator`` wrapped
  or collected) and ``GZipMiddleware`` (``build_gzip``: a streamed body is compressed whatever its
  size, ``text/event-stream`` and images are not; turboapi's native and Python GZip both)
* HEAD on a streaming GET route: FastAPI answers 405; turboapi serves HEAD on GET routes (the
  README's documented difference), so its answer is checked on its own: GET's headers, no body

``COMPAT_ONLY_FASTAPI=1`` compares FastAPI against a second FastAPI app (validates the cases).
A name turboapi cannot import (``StreamingResponse`` raises ``turboapi.NotSupportedYet``,
``turboapi.sse`` does not exist yet) is raised again, as it is, by the cases that use it.
"""

import asyncio
import gzip
import importlib
import json
import types
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator
from typing import Any

import pytest
from pydantic import BaseModel

from fastapi_reference import FastAPITestClient

from .differential_harness import ONLY_FASTAPI, C, Case, case_ids, make_namespace, make_route, send

# --------------------------------------------------------------------------- namespaces

# Names beyond the harness's, by module ("" is the package itself).
EXTRA_NAMES: dict[str, tuple[str, ...]] = {
    "": ("BackgroundTasks",),
    "responses": ("StreamingResponse",),
    "sse": ("EventSourceResponse", "ServerSentEvent"),
    "middleware.gzip": ("GZipMiddleware",),
}


class Names(types.SimpleNamespace):
    """A framework's names; using one it could not import raises that ImportError again."""

    def __getattr__(self, name: str) -> Any:  # only called for names not set
        missing = vars(self).get("missing", {})
        if name in missing:
            exc = missing[name]
            raise type(exc)(*exc.args)
        raise AttributeError(name)


def namespace(package: str) -> Names:
    ns = Names(**vars(make_namespace(package)))
    missing: dict[str, BaseException] = {}
    for module, names in EXTRA_NAMES.items():
        try:
            mod = importlib.import_module(f"{package}.{module}" if module else package)
        except ImportError as exc:
            missing.update(dict.fromkeys(names, exc))
            continue
        for name in names:
            try:
                setattr(ns, name, getattr(mod, name))
            except (ImportError, AttributeError) as exc:  # NotSupportedYet is an ImportError
                missing[name] = exc
    ns.missing = missing
    return ns


# --------------------------------------------------------------------------- shared bits


class Item(BaseModel):
    name: str
    price: float
    description: str | None = None


def pattern(n_chunks: int, size: int) -> list[bytes]:
    """Distinct chunks: chunk i is its index as 4 bytes, repeated."""
    return [i.to_bytes(4, "big") * (size // 4) for i in range(n_chunks)]


BIG_CHUNKS = pattern(1000, 1024)
HUGE_CHUNK = b"".join(pattern(1024, 4096))  # one 4 MiB chunk
LOREM = "lorem ipsum dolor sit amet, consectetur adipiscing elit\n"


def log_routes(app: Any, route: Any, log: list[str]) -> None:
    @route(app, "get", "/log")
    def read_log():
        out = list(log)
        log.clear()
        return out


# =========================================================================== the apps


def build_main(fw: Any, route: Any) -> Any:
    """``StreamingResponse`` returned by path operations."""
    SR = fw.StreamingResponse
    app = fw.FastAPI()
    log: list[str] = []
    log_routes(app, route, log)

    def get(path: str, **kw: Any) -> Any:
        return route(app, "get", path, **kw)

    class Latin1Stream(SR):
        charset = "latin-1"

    class SpecialStream(SR):
        media_type = "application/x-special"

    class Countdown:
        """A sync iterable (not an iterator, not a generator)."""

        def __iter__(self) -> Iterator[str]:
            return iter(["3 ", "2 ", "1 ", "go"])

    class AsyncCountdown:
        """An async iterable (an object with ``__aiter__``, not an async generator)."""

        def __aiter__(self) -> AsyncIterator[bytes]:
            async def it() -> AsyncIterator[bytes]:
                for word in (b"three ", b"two ", b"one"):
                    await asyncio.sleep(0)
                    yield word

            return it()

    # -- iterables ----------------------------------------------------------------------------
    @get("/sync-gen")
    def sync_gen():
        def chunks():
            for i in range(5):
                yield f"chunk {i}\n"

        return SR(chunks(), media_type="text/plain")

    @get("/async-gen")
    async def async_gen():
        async def chunks():
            for i in range(5):
                await asyncio.sleep(0.001)
                yield f"chunk {i}\n".encode()

        return SR(chunks(), media_type="text/plain")

    @get("/sync-endpoint-async-gen")
    def sync_endpoint_async_gen():
        async def chunks():
            yield "made in a thread, "
            yield "iterated on the loop"

        return SR(chunks(), media_type="text/plain")

    @get("/async-endpoint-sync-gen")
    async def async_endpoint_sync_gen():
        def chunks():
            yield from (b"a", b"b", b"c")

        return SR(chunks(), media_type="application/octet-stream")

    @get("/list")
    def a_list():
        return SR(["alpha ", "beta ", "gamma"], media_type="text/plain")

    @get("/tuple")
    def a_tuple():
        return SR((b"\x00\x01", b"\x02\x03"))  # no media type: no content-type

    @get("/iterator")
    def an_iterator():
        return SR(iter(["i1 ", "i2"]), media_type="text/plain")

    @get("/genexp")
    def a_genexp():
        return SR((f"{i}," for i in range(20)), media_type="text/csv")

    @get("/iterable-object")
    def iterable_object():
        return SR(Countdown(), media_type="text/plain")

    @get("/async-iterable-object")
    async def async_iterable_object():
        return SR(AsyncCountdown(), media_type="text/plain")

    # -- chunk types and charset --------------------------------------------------------------
    @get("/mixed")
    async def mixed():
        async def chunks():
            yield "héllo "
            yield b"w\xc3\xb6rld "
            yield memoryview(b"mv ")
            yield "ünïcödé ✓ "
            yield b""
            yield ""
            yield "end"

        return SR(chunks(), media_type="text/plain")

    @get("/latin1")
    def latin1():
        return Latin1Stream(iter(["café ", b"\xff raw", " naïve"]), media_type="text/plain")

    @get("/class-media-type")
    def class_media_type():
        return SpecialStream(iter([b"special"]))

    @get("/media/{kind}")
    def media(kind: str):
        media_type = {
            "none": None,
            "octet": "application/octet-stream",
            "html": "text/html",
            "csv-charset": "text/csv; charset=ascii",
            "json": "application/json",
        }[kind]
        return SR(iter([f"<{kind}>"]), media_type=media_type)

    # -- headers, status, cookies -------------------------------------------------------------
    @get("/headers")
    def with_headers():
        response = SR(
            iter(["with headers"]),
            media_type="text/plain",
            headers={"X-Custom": "yes", "Cache-Control": "no-store"},
        )
        response.headers["x-late"] = "added after construction"
        response.set_cookie("session", "abc123", httponly=True)
        response.set_cookie("theme", "dark", max_age=60)
        return response

    @get("/content-type-header")
    def content_type_header():
        return SR(iter(["ct"]), media_type="text/plain", headers={"Content-Type": "application/x-own"})

    @get("/content-length-header")
    def content_length_header():
        return SR(iter([b"abc", b"de"]), media_type="text/plain", headers={"Content-Length": "5"})

    @get("/status/{code}")
    def status(code: int):
        return SR(iter([f"status {code}"]), status_code=code, media_type="text/plain")

    # -- empty streams ------------------------------------------------------------------------
    @get("/empty/{kind}")
    async def empty(kind: str):
        def sync_nothing():
            yield from ()

        async def async_nothing():
            if False:  # pragma: no cover - makes this an async generator
                yield b""

        def empty_chunks():
            yield b""
            yield ""

        content: Any = {
            "list": [],
            "sync": sync_nothing(),
            "async": async_nothing(),
            "empty-chunks": empty_chunks(),
        }[kind]
        return SR(content, media_type="text/plain")

    # -- hand-written SSE and JSON Lines ------------------------------------------------------
    @get("/sse")
    async def sse():
        async def events():
            yield "retry: 1500\n\n"
            for i in range(3):
                await asyncio.sleep(0.001)
                yield f"id: {i}\nevent: tick\ndata: {json.dumps({'n': i})}\n\n"
            yield ": a comment\n\n"
            yield "data: line one\ndata: line two\n\n"

        return SR(
            events(),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    @get("/ndjson")
    async def ndjson():
        async def lines():
            for i in range(4):
                yield json.dumps({"i": i, "square": i * i, "name": f"ü{i}"}) + "\n"

        return SR(lines(), media_type="application/x-ndjson")

    @get("/ndjson-sync")
    def ndjson_sync():
        def lines():
            for row in ({"a": 1}, [1, 2, 3], "text", None, 2.5):
                yield (json.dumps(row) + "\n").encode()

        return SR(lines(), media_type="application/x-ndjson")

    # -- sizes --------------------------------------------------------------------------------
    @get("/big")
    def big():
        return SR(iter(BIG_CHUNKS), media_type="application/octet-stream")

    @get("/huge-chunk")
    async def huge_chunk():
        async def one():
            yield HUGE_CHUNK

        return SR(one(), media_type="application/octet-stream")

    # -- parameters, request body -------------------------------------------------------------
    @get("/count/{n}")
    def count(n: int = fw.Path(ge=0, le=100), sep: str = fw.Query(",", max_length=3)):
        return SR((f"{i}{sep}" for i in range(n)), media_type="text/plain")

    @route(app, "post", "/echo")
    async def echo(request: fw.Request):
        body = await request.body()

        async def pieces():
            for i in range(0, len(body), 3):
                yield body[i : i + 3]

        return SR(pieces(), media_type=request.headers.get("content-type", "application/octet-stream"))

    # -- background tasks ---------------------------------------------------------------------
    def logged(name: str) -> Iterator[str]:
        log.append(f"{name}:start")
        yield f"{name} "
        yield "body"
        log.append(f"{name}:end")

    @get("/background/param")
    def background_param(tasks: fw.BackgroundTasks):
        tasks.add_task(log.append, "task:param")
        return SR(logged("param"), media_type="text/plain")

    @get("/background/arg")
    async def background_arg():
        tasks = fw.BackgroundTasks()
        tasks.add_task(log.append, "task:sync")

        async def async_task(word: str) -> None:
            await asyncio.sleep(0)
            log.append(word)

        tasks.add_task(async_task, "task:async")
        return SR(logged("arg"), media_type="text/plain", background=tasks)

    # -- dependencies -------------------------------------------------------------------------
    class Resource:
        def __init__(self, name: str) -> None:
            self.name = name
            self.closed = False

    def request_scoped():
        resource = Resource("request-scoped")
        log.append("dep:enter")
        try:
            yield resource
        finally:
            resource.closed = True
            log.append("dep:exit")

    def function_scoped():
        resource = Resource("function-scoped")
        log.append("fdep:enter")
        try:
            yield resource
        finally:
            resource.closed = True
            log.append("fdep:exit")

    def prefix(p: str = fw.Query("> ")) -> str:
        return p

    def guard(token: str | None = fw.Header(None)) -> str:
        if token != "secret":
            raise fw.HTTPException(status_code=403, detail="no token")
        return token

    @get("/deps")
    def deps(
        p: str = fw.Depends(prefix),
        res: Resource = fw.Depends(request_scoped),
        fres: Resource = fw.Depends(function_scoped, scope="function"),
    ):
        def chunks():
            log.append("gen:start")
            yield f"{p}{res.name} closed={res.closed}\n"
            yield f"{p}{fres.name} closed={fres.closed}\n"
            log.append("gen:end")

        return SR(chunks(), media_type="text/plain")

    @get("/guarded")
    async def guarded(token: str = fw.Depends(guard)):
        async def chunks():
            yield f"welcome {token}"

        return SR(chunks(), media_type="text/plain")

    # -- failures -----------------------------------------------------------------------------
    @get("/raise/{where}")
    def raise_in_stream(where: str):
        def sync_mid():
            yield b"first "
            yield b"second "
            raise RuntimeError("stream broke: sync-mid")

        async def async_mid():
            yield b"first "
            await asyncio.sleep(0)
            raise RuntimeError("stream broke: async-mid")

        def sync_first():
            raise ValueError("stream broke: sync-first")
            yield b"never"  # pragma: no cover

        async def async_first():
            raise ValueError("stream broke: async-first")
            yield b"never"  # pragma: no cover

        generators = {"sync-mid": sync_mid, "async-mid": async_mid, "sync-first": sync_first}
        generators["async-first"] = async_first
        return SR(generators[where](), media_type="text/plain")

    return app


def build_sse(fw: Any, route: Any) -> Any:
    """FastAPI's own SSE: ``response_class=EventSourceResponse`` on a generator path operation."""
    ESR, SSE = fw.EventSourceResponse, fw.ServerSentEvent
    app = fw.FastAPI()
    log: list[str] = []
    log_routes(app, route, log)

    def get(path: str, **kw: Any) -> Any:
        return route(app, "get", path, response_class=ESR, **kw)

    @get("/sse/plain")
    async def plain():
        yield {"a": 1, "text": "ünï"}
        yield [1, "two", 3.5]
        yield "a string is JSON-quoted"
        yield 42
        yield None

    @get("/sse/events")
    async def events():
        yield SSE(data={"x": 1}, event="update", id="1", retry=2500)
        yield SSE(raw_data="line1\nline2\r\nline3\rline4", event="log")
        yield SSE(comment="keep\nalive")
        yield SSE(data="quoted", id="2")
        yield SSE(event="only-an-event")
        yield SSE(data=Item(name="model", price=1.5))
        yield SSE(raw_data="")
        yield SSE()

    @get("/sse/typed")
    async def typed() -> AsyncIterable[Item]:
        yield Item(name="a", price=1)
        yield {"name": "b", "price": "2.5", "description": "coerced from a dict"}

    @get("/sse/sync")
    def sync_events() -> Iterable[Item]:
        for i in range(3):
            yield Item(name=f"sync-{i}", price=i)

    @get("/sse/mixed")
    async def mixed_items() -> AsyncIterable[Item]:
        yield Item(name="validated", price=3)
        yield SSE(data={"not": "an item"}, event="raw")  # ServerSentEvent items skip validation

    @route(app, "post", "/sse/post", response_class=ESR)
    async def post_events(item: Item):
        yield item
        yield {"echo": item.name}

    @get("/sse/status", status_code=201)
    async def with_status():
        yield {"created": True}

    @get("/sse/empty")
    async def empty():
        if False:  # pragma: no cover - makes this an async generator
            yield None

    def header_dep(response: fw.Response, q: int = 0):
        response.headers["x-from-dependency"] = f"q={q}"
        log.append("dep:enter")
        try:
            yield q
        finally:
            log.append("dep:exit")

    @get("/sse/dep")
    async def with_dep(q: int = fw.Depends(header_dep)):
        log.append("gen:start")
        for i in range(q):
            yield {"i": i}
        log.append("gen:end")

    @get("/sse/invalid")
    async def invalid() -> AsyncIterable[Item]:
        yield Item(name="fine", price=1)
        yield {"name": "no price"}

    @get("/sse/raise")
    async def raising():
        yield {"before": "the error"}
        raise RuntimeError("sse broke")

    @get("/sse/slow")
    async def slow():
        yield {"n": 1}
        await asyncio.sleep(0.35)
        yield {"n": 2}

    return app


def build_jsonl(fw: Any, route: Any) -> Any:
    """A generator path operation without a response class: FastAPI streams JSON Lines."""
    app = fw.FastAPI()
    log: list[str] = []
    log_routes(app, route, log)

    def get(path: str, **kw: Any) -> Any:
        return route(app, "get", path, **kw)

    @get("/jsonl/plain")
    def plain():
        yield {"a": 1, "text": "ünï"}
        yield [1, 2, 3]
        yield "s"
        yield 3.5
        yield None
        yield {"nested": {"t": True, "f": False}}

    @get("/jsonl/async")
    async def async_plain():
        for i in range(3):
            await asyncio.sleep(0)
            yield {"i": i}

    @get("/jsonl/async-typed")
    async def async_typed() -> AsyncIterable[Item]:
        yield Item(name="a", price=1)
        yield {"name": "b", "price": "2"}

    @get("/jsonl/sync-typed")
    def sync_typed() -> Iterable[Item]:
        yield Item(name="s", price=0.5, description="d")

    @get("/jsonl/exclude-none", response_model_exclude_none=True)
    async def exclude_none() -> AsyncIterable[Item]:
        yield Item(name="no description", price=1)

    @get("/jsonl/empty")
    def empty():
        yield from ()

    def counter(n: int = fw.Query(2, le=5)):
        log.append("dep:enter")
        try:
            yield n
        finally:
            log.append("dep:exit")

    @get("/jsonl/dep")
    async def with_dep(n: int = fw.Depends(counter)):
        log.append("gen:start")
        for i in range(n):
            yield {"i": i}
        log.append("gen:end")

    @get("/jsonl/invalid")
    async def invalid() -> AsyncIterable[Item]:
        yield Item(name="fine", price=1)
        yield {"name": "no price"}

    return app


def build_gen_raw(fw: Any, route: Any) -> Any:
    """A generator path operation with ``response_class=StreamingResponse`` (or a subclass)."""
    SR = fw.StreamingResponse
    app = fw.FastAPI()

    class PNGStream(SR):
        media_type = "image/png"

    @route(app, "get", "/raw/png", response_class=PNGStream)
    def png():
        yield b"\x89PNG\r\n\x1a\n"
        yield bytes(range(256))

    @route(app, "get", "/raw/async", response_class=SR)
    async def async_raw():
        yield "str and "
        yield b"bytes"

    @route(app, "get", "/raw/status", response_class=SR, status_code=202)
    def with_status():
        yield b"accepted"

    return app


def build_http_mw(fw: Any, route: Any) -> Any:
    """Streaming responses through ``@app.middleware("http")`` functions."""
    SR, Request = fw.StreamingResponse, fw.Request
    app = fw.FastAPI()
    log: list[str] = []
    log_routes(app, route, log)

    @app.middleware("http")
    async def add_header(request: Request, call_next):
        response = await call_next(request)
        response.headers["x-middleware"] = "seen"
        return response

    @app.middleware("http")
    async def transform(request: Request, call_next):
        response = await call_next(request)
        if request.url.path == "/mw/upper":

            async def upper():
                async for chunk in response.body_iterator:
                    yield chunk.upper()

            return SR(upper(), status_code=response.status_code, headers=dict(response.headers))
        if request.url.path == "/mw/collect":
            body = b"".join([chunk async for chunk in response.body_iterator])
            return fw.Response(content=body[::-1], status_code=response.status_code, media_type="text/plain")
        return response

    def get(path: str, **kw: Any) -> Any:
        return route(app, "get", path, **kw)

    @get("/mw/sync")
    def sync_stream():
        return SR(iter(["sync ", b"stream"]), media_type="text/plain", headers={"x-route": "1"})

    @get("/mw/async")
    async def async_stream():
        async def chunks():
            for i in range(3):
                await asyncio.sleep(0)
                yield f"async {i} "

        return SR(chunks(), media_type="text/plain")

    @get("/mw/upper")
    async def upper_stream():
        async def chunks():
            yield "abc "
            yield b"def"

        return SR(chunks(), status_code=201, media_type="text/plain", headers={"x-route": "upper"})

    @get("/mw/collect")
    def collect_stream():
        return SR(iter(["123", "456"]), media_type="text/plain")

    @get("/mw/raise")
    def raise_stream():
        def chunks():
            yield "partial "
            raise RuntimeError("stream broke behind a middleware")

        return SR(chunks(), media_type="text/plain")

    @get("/mw/background")
    def background(tasks: fw.BackgroundTasks):
        tasks.add_task(log.append, "task")

        def chunks():
            yield "bg "
            log.append("gen:end")

        return SR(chunks(), media_type="text/plain")

    @get("/mw/plain")
    def plain():
        return {"not": "streamed"}

    return app


def build_gzip(fw: Any, route: Any) -> Any:
    """Streaming responses through ``GZipMiddleware`` (minimum_size=100)."""
    SR = fw.StreamingResponse
    app = fw.FastAPI()
    app.add_middleware(fw.GZipMiddleware, minimum_size=100)

    def get(path: str, **kw: Any) -> Any:
        return route(app, "get", path, **kw)

    @get("/gz/text")
    def text():
        return SR(iter([LOREM * 20, LOREM.encode() * 20]), media_type="text/plain")

    @get("/gz/many")
    async def many():
        async def chunks():
            for i in range(200):
                yield f"{i:04d} {LOREM}"

        return SR(chunks(), media_type="text/plain")

    @get("/gz/small")
    def small():
        return SR(iter(["tiny"]), media_type="text/plain")  # streamed: compressed whatever its size

    @get("/gz/empty")
    def empty():
        return SR(iter([]), media_type="text/plain")

    @get("/gz/png")
    def png():
        return SR(iter([b"\x89PNG" + b"\x00" * 500]), media_type="image/png")

    @get("/gz/sse")
    async def sse():
        async def events():
            for i in range(20):
                yield f"data: {LOREM.strip()} {i}\n\n"

        return SR(events(), media_type="text/event-stream")

    @get("/gz/ndjson")
    def ndjson():
        return SR((json.dumps({"i": i, "text": LOREM}) + "\n" for i in range(30)), media_type="application/x-ndjson")

    @get("/gz/pre-encoded")
    def pre_encoded():
        data = gzip.compress((LOREM * 10).encode(), mtime=0)
        return SR(iter([data[:20], data[20:]]), media_type="text/plain", headers={"Content-Encoding": "gzip"})

    @get("/gz/partial")
    def partial():
        return SR(iter([LOREM * 10]), status_code=206, media_type="text/plain")

    return app


FACTORIES = {
    "main": build_main,
    "sse": build_sse,
    "jsonl": build_jsonl,
    "gen_raw": build_gen_raw,
    "http_mw": build_http_mw,
    "gzip": build_gzip,
    "gzip_python": build_gzip,
}
# Settings for turboapi's TestClient, by app (ignored against FastAPI).
SUT_SETTINGS: dict[str, dict[str, Any]] = {
    "gzip": {"native_middleware": True},
    "gzip_python": {"native_middleware": False},
}


# =========================================================================== machinery


class StreamApps:
    """Both frameworks' apps for every factory; turboapi's build errors kept to be raised again."""

    def __init__(self) -> None:
        self.ref_errors: list[str] = []
        self.sut_errors: list[str] = []
        self.sut_build_errors: dict[str, BaseException] = {}
        ref_ns = namespace("fastapi")
        sut_ns = namespace("fastapi" if ONLY_FASTAPI else "turboapi")
        if ONLY_FASTAPI:
            self.sut_client_cls: Any = FastAPITestClient
        else:
            self.sut_client_cls = importlib.import_module("turboapi.testclient").TestClient
        self.ref_apps = {name: factory(ref_ns, make_route(self.ref_errors)) for name, factory in FACTORIES.items()}
        self.sut_apps: dict[str, Any] = {}
        for name, factory in FACTORIES.items():
            try:
                self.sut_apps[name] = factory(sut_ns, make_route(self.sut_errors))
            except Exception as exc:  # raised again by every case of this app
                self.sut_build_errors[name] = exc
        self.pairs: dict[tuple[str, bool], tuple[Any, Any]] = {}

    def clients(self, app: str, raise_server_exceptions: bool = True) -> tuple[Any, Any]:
        assert not self.ref_errors, f"FastAPI rejected routes: {self.ref_errors}"
        if app in self.sut_build_errors:
            exc = self.sut_build_errors[app]
            raise type(exc)(*exc.args) from exc
        key = (app, raise_server_exceptions)
        if key not in self.pairs:
            kw = {"raise_server_exceptions": raise_server_exceptions, "follow_redirects": False}
            settings = {} if ONLY_FASTAPI else SUT_SETTINGS.get(app, {})
            self.pairs[key] = (
                FastAPITestClient(self.ref_apps[app], **kw),
                self.sut_client_cls(self.sut_apps[app], **kw, **settings),
            )
        return self.pairs[key]

    def refused(self, url: str) -> str:
        refused = [e for e in self.sut_errors if f"({url.split('?')[0]})" in e]
        return f"; turboapi refused this route: {refused}" if refused else ""

    def close(self) -> None:
        for pair in self.pairs.values():
            for client in pair:
                client.close()


@pytest.fixture(scope="module")
def apps():
    built = StreamApps()
    yield built
    built.close()


COMPARED_HEADERS = (
    "content-type",
    "content-length",
    "transfer-encoding",
    "content-encoding",
    "vary",
    "cache-control",
    "x-accel-buffering",
    "set-cookie",
)


def snapshot(resp: Any, case: Case) -> dict[str, Any]:
    snap: dict[str, Any] = {"status": resp.status_code, "body": resp.content}
    for name in (*COMPARED_HEADERS, *case.compare_headers):
        snap[name] = resp.headers.get_list(name)
    return snap


def check(apps: StreamApps, case: Case) -> None:
    ref_client, sut_client = apps.clients(case.app, case.raise_server_exceptions)
    ref = snapshot(send(ref_client, case), case)
    assert ref["status"] == case.expect, f"FastAPI gave {ref['status']}, case expects {case.expect}: {ref}"
    sut = snapshot(send(sut_client, case), case)
    assert sut == ref, f"{case.method} {case.url}{apps.refused(case.url)}\n  turboapi: {sut}\n  FastAPI:  {ref}"


def leaf_errors(exc: BaseException) -> list[tuple[str, str]]:
    """An exception, or the leaves of an exception group, as (type name, message)."""
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for sub in exc.exceptions for leaf in leaf_errors(sub)]
    errors = getattr(exc, "errors", None)
    if callable(errors):  # validation errors: their items, not their rendering
        items = [(e.get("type"), tuple(e.get("loc", ())), e.get("msg")) for e in errors()]
        return [(type(exc).__name__, repr(items))]
    return [(type(exc).__name__, str(exc))]


def raised(client: Any, method: str, url: str) -> BaseException:
    try:
        resp = client.request(method, url)
    except Exception as exc:  # what the client raised is the observation
        return exc
    pytest.fail(f"{method} {url}: no exception raised into the client; got {resp.status_code} {resp.content[:200]!r}")


# =========================================================================== cases

HEADERS_EXTRA = ("x-custom", "x-late", "cache-control")
MW = ("x-middleware", "x-route")
GZ = {"accept-encoding": "gzip"}
IDENTITY = {"accept-encoding": "identity"}

MAIN_CASES = [
    C("sync-generator", "GET", "/sync-gen", 200),
    C("async-generator", "GET", "/async-gen", 200),
    C("sync-endpoint-async-generator", "GET", "/sync-endpoint-async-gen", 200),
    C("async-endpoint-sync-generator", "GET", "/async-endpoint-sync-gen", 200),
    C("list", "GET", "/list", 200),
    C("tuple-no-media-type", "GET", "/tuple", 200),
    C("iterator", "GET", "/iterator", 200),
    C("generator-expression", "GET", "/genexp", 200),
    C("iterable-object", "GET", "/iterable-object", 200),
    C("async-iterable-object", "GET", "/async-iterable-object", 200),
    C("str-bytes-memoryview-mixed", "GET", "/mixed", 200),
    C("charset-latin1", "GET", "/latin1", 200),
    C("class-media-type", "GET", "/class-media-type", 200),
    C("media-none", "GET", "/media/none", 200),
    C("media-octet", "GET", "/media/octet", 200),
    C("media-html-gets-charset", "GET", "/media/html", 200),
    C("media-with-charset-kept", "GET", "/media/csv-charset", 200),
    C("media-json", "GET", "/media/json", 200),
    C("headers-and-cookies", "GET", "/headers", 200, compare_headers=HEADERS_EXTRA),
    C("content-type-in-headers-wins", "GET", "/content-type-header", 200),
    C("content-length-in-headers-kept", "GET", "/content-length-header", 200),
    C("status-201", "GET", "/status/201", 201),
    C("status-203", "GET", "/status/203", 203),
    C("status-404", "GET", "/status/404", 404),
    C("status-500", "GET", "/status/500", 500),
    C("empty-list", "GET", "/empty/list", 200),
    C("empty-sync-generator", "GET", "/empty/sync", 200),
    C("empty-async-generator", "GET", "/empty/async", 200),
    C("empty-chunks-only", "GET", "/empty/empty-chunks", 200),
    C("sse-by-hand", "GET", "/sse", 200),
    C("ndjson-async", "GET", "/ndjson", 200),
    C("ndjson-sync", "GET", "/ndjson-sync", 200),
    C("big-1000-chunks", "GET", "/big", 200),
    C("one-4mib-chunk", "GET", "/huge-chunk", 200),
    C("params-ok", "GET", "/count/5", 200, params={"sep": ";"}),
    C("params-path-invalid", "GET", "/count/x", 422),
    C("params-path-too-big", "GET", "/count/101", 422),
    C("params-query-invalid", "GET", "/count/3", 422, params={"sep": "toolong"}),
    C("post-echo-streamed", "POST", "/echo", 200, content=b"0123456789abcdef", headers={"content-type": "text/x-echo"}),
    C("post-echo-empty", "POST", "/echo", 200),
    C("dependency-guard-passes", "GET", "/guarded", 200, headers={"token": "secret"}),
    C("dependency-guard-refuses", "GET", "/guarded", 403),
    C("raise-sync-mid-no-raise", "GET", "/raise/sync-mid", 200, raise_server_exceptions=False),
    C("raise-async-mid-no-raise", "GET", "/raise/async-mid", 200, raise_server_exceptions=False),
    C("raise-sync-first-no-raise", "GET", "/raise/sync-first", 200, raise_server_exceptions=False),
    C("raise-async-first-no-raise", "GET", "/raise/async-first", 200, raise_server_exceptions=False),
]

SSE_CASES = [
    C("sse-plain-objects", "GET", "/sse/plain", 200, app="sse"),
    C("sse-server-sent-events", "GET", "/sse/events", 200, app="sse"),
    C("sse-typed-async", "GET", "/sse/typed", 200, app="sse"),
    C("sse-typed-sync", "GET", "/sse/sync", 200, app="sse"),
    C("sse-typed-and-event-mixed", "GET", "/sse/mixed", 200, app="sse"),
    C("sse-post", "POST", "/sse/post", 200, app="sse", json={"name": "posted", "price": "9.5"}),
    C("sse-post-invalid-body", "POST", "/sse/post", 422, app="sse", json={"name": "posted"}),
    C("sse-status-code", "GET", "/sse/status", 201, app="sse"),
    C("sse-empty", "GET", "/sse/empty", 200, app="sse"),
    C(
        "sse-dependency-headers",
        "GET",
        "/sse/dep",
        200,
        app="sse",
        params={"q": 2},
        compare_headers=("x-from-dependency",),
    ),
    C("sse-dependency-invalid-query", "GET", "/sse/dep", 422, app="sse", params={"q": "x"}),
    C("sse-get-on-post-route", "GET", "/sse/post", 405, app="sse", compare_headers=("allow",)),
]

JSONL_CASES = [
    C("jsonl-plain", "GET", "/jsonl/plain", 200, app="jsonl"),
    C("jsonl-async", "GET", "/jsonl/async", 200, app="jsonl"),
    C("jsonl-async-typed", "GET", "/jsonl/async-typed", 200, app="jsonl"),
    C("jsonl-sync-typed", "GET", "/jsonl/sync-typed", 200, app="jsonl"),
    C("jsonl-exclude-none", "GET", "/jsonl/exclude-none", 200, app="jsonl"),
    C("jsonl-empty", "GET", "/jsonl/empty", 200, app="jsonl"),
    C("jsonl-dependency", "GET", "/jsonl/dep", 200, app="jsonl", params={"n": 3}),
    C("jsonl-dependency-invalid", "GET", "/jsonl/dep", 422, app="jsonl", params={"n": 9}),
    C("jsonl-invalid-item-no-raise", "GET", "/jsonl/invalid", 200, app="jsonl", raise_server_exceptions=False),
]

GEN_RAW_CASES = [
    C("generator-response-class-subclass", "GET", "/raw/png", 200, app="gen_raw"),
    C("generator-response-class-streaming", "GET", "/raw/async", 200, app="gen_raw"),
    C("generator-response-class-status", "GET", "/raw/status", 202, app="gen_raw"),
]

MW_CASES = [
    C("mw-sync-stream", "GET", "/mw/sync", 200, app="http_mw", compare_headers=MW),
    C("mw-async-stream", "GET", "/mw/async", 200, app="http_mw", compare_headers=MW),
    C("mw-wraps-body-iterator", "GET", "/mw/upper", 201, app="http_mw", compare_headers=MW),
    C("mw-collects-body-iterator", "GET", "/mw/collect", 200, app="http_mw", compare_headers=MW),
    C("mw-raise-no-raise", "GET", "/mw/raise", 200, app="http_mw", raise_server_exceptions=False, compare_headers=MW),
    C("mw-not-streamed", "GET", "/mw/plain", 200, app="http_mw", compare_headers=MW),
]


def gzip_cases(app: str) -> list[Any]:
    cases = []
    for path in ("text", "many", "small", "empty", "png", "sse", "ndjson", "pre-encoded", "partial"):
        cases.append(C(f"{app}-{path}", "GET", f"/gz/{path}", 206 if path == "partial" else 200, app=app, headers=GZ))
    cases.append(C(f"{app}-text-identity", "GET", "/gz/text", 200, app=app, headers=IDENTITY))
    cases.append(C(f"{app}-sse-identity", "GET", "/gz/sse", 200, app=app, headers=IDENTITY))
    return cases


ALL_CASES = (
    MAIN_CASES + SSE_CASES + JSONL_CASES + GEN_RAW_CASES + MW_CASES + gzip_cases("gzip") + gzip_cases("gzip_python")
)


@pytest.mark.parametrize("case", ALL_CASES, ids=case_ids(ALL_CASES))
def test_streaming_differential(apps: StreamApps, case: Case) -> None:
    check(apps, case)


# -- what happens around the stream, in order (background tasks, dependencies) ---------------

ORDER_CASES = [
    pytest.param("main", "GET", "/background/param", id="background-tasks-param"),
    pytest.param("main", "GET", "/background/arg", id="background-argument-sync-and-async"),
    pytest.param("main", "GET", "/deps", id="yield-dependencies-around-stream"),
    pytest.param("sse", "GET", "/sse/dep?q=1", id="sse-yield-dependency"),
    pytest.param("jsonl", "GET", "/jsonl/dep?n=2", id="jsonl-yield-dependency"),
    pytest.param("http_mw", "GET", "/mw/background", id="middleware-background-task"),
]


@pytest.mark.parametrize(("app", "method", "url"), ORDER_CASES)
def test_side_effects_in_order(apps: StreamApps, app: str, method: str, url: str) -> None:
    """The body, and the app's log of what ran (generator, dependency exits, background tasks)."""
    seen = []
    for client in apps.clients(app):
        client.get("/log")  # empties it
        resp = client.request(method, url)
        seen.append({"status": resp.status_code, "body": resp.content, "log": client.get("/log").json()})
    ref, sut = seen
    assert sut == ref, f"{method} {url}\n  turboapi: {sut}\n  FastAPI:  {ref}"


# -- a failing stream with raise_server_exceptions=True ---------------------------------------

RAISE_CASES = [
    pytest.param("main", "/raise/sync-mid", id="sync-generator-raises-mid-stream"),
    pytest.param("main", "/raise/async-mid", id="async-generator-raises-mid-stream"),
    pytest.param("main", "/raise/sync-first", id="sync-generator-raises-before-first-chunk"),
    pytest.param("main", "/raise/async-first", id="async-generator-raises-before-first-chunk"),
    pytest.param("jsonl", "/jsonl/invalid", id="jsonl-invalid-item"),
    pytest.param("http_mw", "/mw/raise", id="behind-http-middleware"),
    pytest.param("sse", "/sse/raise", id="sse-generator-raises"),
    pytest.param("sse", "/sse/invalid", id="sse-invalid-item"),
]


@pytest.mark.parametrize(("app", "url"), RAISE_CASES)
def test_error_in_stream_raises_into_client(apps: StreamApps, app: str, url: str) -> None:
    """Starlette's TestClient raises the app's exception once the response is read; FastAPI's SSE
    wraps it in its task group's ExceptionGroup, so exception groups are compared by their leaves."""
    ref_client, sut_client = apps.clients(app, True)
    ref = leaf_errors(raised(ref_client, "GET", url))
    sut = leaf_errors(raised(sut_client, "GET", url))
    assert sut == ref


@pytest.mark.parametrize("url", ["/sse/raise", "/sse/invalid"])
def test_sse_error_without_raise(apps: StreamApps, url: str) -> None:
    """With raise_server_exceptions=False a failing SSE stream is a 200 with SSE headers whose
    body is cut short: FastAPI's task group drops the event still buffered (an empty body), so
    only a prefix of the events before the error is required."""
    ref_client, sut_client = apps.clients("sse", False)
    full = {
        "/sse/raise": b'data: {"before": "the error"}\n\n',
        "/sse/invalid": b'data: {"name":"fine","price":1.0,"description":null}\n\n',
    }
    results = []
    for client in (ref_client, sut_client):
        resp = client.get(url)
        headers = {name: resp.headers.get_list(name) for name in COMPARED_HEADERS}
        results.append((resp.status_code, headers))
        assert full[url].startswith(resp.content), resp.content
    ref, sut = results
    assert ref[0] == 200
    assert sut == ref


# -- SSE keep-alive pings ---------------------------------------------------------------------


@pytest.mark.parametrize("where", ["turboapi.sse", "turboapi.routing"])
def test_sse_keepalive_ping(apps: StreamApps, monkeypatch: pytest.MonkeyPatch, where: str) -> None:
    """An SSE generator idle for ``_PING_INTERVAL`` seconds gets ``: ping`` comments in between.

    FastAPI reads the interval as ``fastapi.routing._PING_INTERVAL`` (imported there from
    ``fastapi.sse``, 15 s by default); turboapi reads ``turboapi.sse._PING_INTERVAL``, or
    ``turboapi.routing``'s where that one is set lower (FastAPI's own tests patch it there).
    Both are set to 0.05 s around an event stream idle for 0.35 s: the number of pings depends on
    timing, so each side must have at least one and the same events once the pings are removed."""
    ref_client, sut_client = apps.clients("sse")
    monkeypatch.setattr(importlib.import_module("fastapi.routing"), "_PING_INTERVAL", 0.05)
    if not ONLY_FASTAPI:
        monkeypatch.setattr(importlib.import_module(where), "_PING_INTERVAL", 0.05)
    ping = b": ping\n\n"
    expected = b'data: {"n": 1}\n\n' + b'data: {"n": 2}\n\n'
    for side, client in (("FastAPI", ref_client), ("turboapi", sut_client)):
        resp = client.get("/sse/slow")
        assert resp.status_code == 200, side
        assert resp.content.count(ping) >= 1, f"{side}: no keep-alive ping in {resp.content!r}"
        assert resp.content.replace(ping, b"") == expected, f"{side}: {resp.content!r}"
        first, _, rest = resp.content.partition(b"\n\n")
        assert first == b'data: {"n": 1}', f"{side}: a ping before the first event: {resp.content!r}"


def test_sse_default_ping_interval_is_fastapis() -> None:
    """The default interval between keep-alive pings, and the ping itself, are FastAPI's."""
    ref = importlib.import_module("fastapi.sse")
    sut = importlib.import_module("fastapi.sse" if ONLY_FASTAPI else "turboapi.sse")
    assert (
        (sut._PING_INTERVAL, sut.KEEPALIVE_COMMENT)
        == (ref._PING_INTERVAL, ref.KEEPALIVE_COMMENT)
        == (15.0, b": ping\n\n")
    )


# -- names --------------------------------------------------------------------------------------

NAMES = [
    ("responses", "StreamingResponse"),
    ("responses", "EventSourceResponse"),
    ("sse", "EventSourceResponse"),
    ("sse", "ServerSentEvent"),
    ("sse", "format_sse_event"),
]


@pytest.mark.parametrize(("module", "name"), NAMES, ids=[f"{m}.{n}" for m, n in NAMES])
def test_streaming_names_import(module: str, name: str) -> None:
    """``from turboapi.<module> import <name>`` works, as it does for ``fastapi``."""
    package = "fastapi" if ONLY_FASTAPI else "turboapi"
    mod = importlib.import_module(f"{package}.{module}")
    assert getattr(mod, name) is not None


def test_event_source_response_is_a_streaming_response() -> None:
    package = "fastapi" if ONLY_FASTAPI else "turboapi"
    responses = importlib.import_module(f"{package}.responses")
    sse = importlib.import_module(f"{package}.sse")
    assert responses.EventSourceResponse is sse.EventSourceResponse
    assert issubclass(sse.EventSourceResponse, responses.StreamingResponse)
    assert sse.EventSourceResponse.media_type == "text/event-stream"


def test_format_sse_event_matches() -> None:
    """``format_sse_event`` (public in fastapi.sse) builds the same bytes."""
    ref = importlib.import_module("fastapi.sse").format_sse_event
    sut = importlib.import_module(f"{'fastapi' if ONLY_FASTAPI else 'turboapi'}.sse").format_sse_event
    calls: list[dict[str, Any]] = [
        {},
        {"data_str": "x"},
        {"data_str": "a\nb\r\nc\rd", "event": "e", "id": "7", "retry": 10, "comment": "c1\nc2"},
        {"comment": "only"},
        {"data_str": ""},
    ]
    for kw in calls:
        assert sut(**kw) == ref(**kw), kw


def test_server_sent_event_validation_matches() -> None:
    """ServerSentEvent refuses what FastAPI's refuses: multi-line event/id, NUL in id, negative
    retry, both data and raw_data."""
    ref = importlib.import_module("fastapi.sse").ServerSentEvent
    sut = importlib.import_module(f"{'fastapi' if ONLY_FASTAPI else 'turboapi'}.sse").ServerSentEvent
    bad: list[dict[str, Any]] = [
        {"event": "a\nb"},
        {"id": "1\r2"},
        {"id": "nul\0"},
        {"retry": -1},
        {"data": 1, "raw_data": "1"},
    ]
    for kw in bad:
        with pytest.raises(ValueError):
            ref(**kw)
        with pytest.raises(ValueError):
            sut(**kw)
    good = {"data": {"a": 1}, "event": "e", "id": "1", "retry": 0, "comment": "c"}
    assert sut(**good).model_dump() == ref(**good).model_dump()


# -- HEAD on a streaming GET route ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("app", "url"),
    [("main", "/sync-gen"), ("main", "/async-gen"), ("main", "/sse"), ("sse", "/sse/plain"), ("jsonl", "/jsonl/plain")],
)
def test_head_on_streaming_get_route(apps: StreamApps, app: str, url: str) -> None:
    """FastAPI answers HEAD on a GET route with 405; turboapi serves HEAD on GET routes (a
    documented difference, see test_core_differential): GET's status and headers, no body, and no
    invented content-length for a stream."""
    ref_client, sut_client = apps.clients(app)
    ref = ref_client.head(url)
    assert (ref.status_code, ref.headers["allow"]) == (405, "GET")
    if ONLY_FASTAPI:
        pytest.skip("the turboapi half documents a turboapi-only behaviour")
    head = sut_client.head(url)
    get = sut_client.get(url)
    assert head.status_code == get.status_code == 200
    assert head.content == b""
    for name in ("content-type", "cache-control", "x-accel-buffering", "transfer-encoding", "content-length"):
        assert head.headers.get_list(name) == get.headers.get_list(name), name
    assert head.headers.get("content-length") is None


def test_every_route_registers(apps: StreamApps) -> None:
    assert apps.ref_errors == []
    assert apps.sut_errors == []
    for name, exc in apps.sut_build_errors.items():
        raise AssertionError(f"turboapi could not build app {name!r}: {type(exc).__name__}: {exc}") from exc


def test_case_ids_unique() -> None:
    ids = case_ids(ALL_CASES)
    assert len(ids) == len(set(ids))
