"""Regression tests for the second review's findings, each against FastAPI 0.141.1 where it has an
answer: a ``Form(default_factory=...)`` default; a failing background task before a ``yield``
dependency's exit behind ``@app.middleware("http")``; a stream that yields something that is not
``str`` or ``bytes``."""

import importlib
from typing import Annotated

import fastapi
import pytest

import turboapi
from fastapi_reference import FastAPITestClient
from turboapi.testclient import TestClient

CLIENTS = {"fastapi": FastAPITestClient, "turboapi": TestClient}


def both(build):
    return {name: CLIENTS[name](build(module)) for name, module in (("fastapi", fastapi), ("turboapi", turboapi))}


def test_form_default_factory_is_called() -> None:
    def build(fw):
        app = fw.FastAPI()

        @app.post("/form")
        def form(
            x: Annotated[str, fw.Form(default_factory=lambda: "z")], tags: list[str] = fw.Form(default_factory=list)
        ):
            return {"x": x, "tags": tags}

        return app

    replies = {name: client.post("/form", data={"other": "1"}) for name, client in both(build).items()}
    assert replies["turboapi"].status_code == replies["fastapi"].status_code == 200
    assert replies["turboapi"].json() == replies["fastapi"].json() == {"x": "z", "tags": []}


def test_a_failing_background_task_does_not_skip_a_dependency_exit_behind_middleware() -> None:
    logs: dict[str, list[str]] = {}

    def build(fw):
        log = logs.setdefault(fw.__name__, [])
        app = fw.FastAPI()

        @app.middleware("http")
        async def passthrough(request, call_next):
            return await call_next(request)

        def resource():
            log.append("enter")
            try:
                yield "r"
            finally:
                log.append("exit")

        def failing():
            log.append("task")
            raise RuntimeError("background failed")

        @app.get("/")
        def endpoint(tasks: fw.BackgroundTasks, r: str = fw.Depends(resource)):
            tasks.add_task(failing)
            return {"r": r}

        return app

    for client in both(build).values():
        try:
            assert client.get("/").json() == {"r": "r"}
        except RuntimeError:
            pass  # FastAPI's TestClient raises the task's error; the log is what is compared
    assert logs["turboapi"] == logs["fastapi"] == ["enter", "task", "exit"]


@pytest.mark.parametrize("middleware", [None, "http", "gzip"])
def test_a_stream_of_ints_is_an_error_not_nul_bytes(middleware: str | None) -> None:
    app = turboapi.FastAPI()
    if middleware == "http":

        @app.middleware("http")
        async def passthrough(request, call_next):
            return await call_next(request)

    elif middleware == "gzip":
        from turboapi.middleware.gzip import GZipMiddleware

        app.add_middleware(GZipMiddleware, minimum_size=1)

    @app.get("/ints")
    def ints():
        return turboapi.responses.StreamingResponse(iter([b"ok", 3]))

    @app.get("/ping")
    def ping():
        return {"pong": True}

    client = TestClient(app, native_middleware=False)
    with pytest.raises(TypeError, match="yielded int, not str or bytes"):
        client.get("/ints")
    lenient = TestClient(app, raise_server_exceptions=False, native_middleware=False)
    reply = lenient.get("/ints")
    assert b"\x00" not in reply.content
    assert lenient.get("/ping").json() == {"pong": True}


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


@pytest.mark.parametrize(("size", "in_thread"), [(10, False), (2 * 1024 * 1024, True)], ids=["memory", "disk"])
def test_upload_file_calls_block_the_loop_only_in_memory(size: int, in_thread: bool) -> None:
    import asyncio
    import tempfile
    import threading

    from turboapi.datastructures import UploadFile

    spooled = tempfile.SpooledTemporaryFile(max_size=1024 * 1024)
    spooled.write(b"x" * size)
    spooled.seek(0)
    threads: list[threading.Thread] = []
    read = spooled.read

    def recording_read(n: int = -1) -> bytes:
        threads.append(threading.current_thread())
        return read(n)

    spooled.read = recording_read  # type: ignore[method-assign]
    upload = UploadFile(spooled, size=size, filename="f")

    async def main() -> bytes:
        try:
            return await upload.read()
        finally:
            await upload.close()

    assert len(asyncio.run(main())) == size
    assert (threads[0] is not threading.main_thread()) == in_thread


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_head_on_a_stream_still_runs_background_and_exits(kind: str) -> None:
    events: list[str] = []
    app = turboapi.FastAPI()

    def resource():
        yield "r"
        events.append("exit")

    def chunks():
        yield "never read"

    if kind == "sync":

        @app.get("/s")
        def stream(tasks: turboapi.BackgroundTasks, r: str = turboapi.Depends(resource)):
            tasks.add_task(events.append, "task")
            return turboapi.responses.StreamingResponse(chunks())

    else:

        @app.get("/s")
        async def stream(tasks: turboapi.BackgroundTasks, r: str = turboapi.Depends(resource)):
            tasks.add_task(events.append, "task")
            return turboapi.responses.StreamingResponse(chunks())

    client = TestClient(app)
    head = client.head("/s")
    assert head.status_code == 200 and head.content == b"" and "content-length" not in head.headers
    assert sorted(events) == ["exit", "task"]
    assert client.get("/s").text == "never read"


def test_a_stream_is_pumped_on_its_handlers_loop() -> None:
    """A queue the handler made belongs to the handler's loop: the generator must run there."""
    import asyncio

    app = turboapi.FastAPI()

    @app.get("/q")
    async def queued():
        queue: asyncio.Queue[str | None] = asyncio.Queue()

        async def fill():
            for word in ("a", "b", "c"):
                await queue.put(word)
            await queue.put(None)

        asyncio.get_running_loop().create_task(fill())

        async def chunks():
            while (word := await queue.get()) is not None:
                yield word

        return turboapi.responses.StreamingResponse(chunks())

    client = TestClient(app, shards=4)
    assert [client.get("/q").text for _ in range(8)] == ["abc"] * 8


def test_a_file_removed_after_its_headers_truncates_and_the_server_keeps_serving(tmp_path) -> None:
    from turboapi.responses import FileResponse

    path = tmp_path / "gone.bin"
    path.write_bytes(b"x" * (1024 * 1024))
    app = turboapi.FastAPI()

    @app.get("/f")
    def serve():
        response = FileResponse(path, stat_result=path.stat())  # headers planned from this stat
        path.unlink()
        return response

    @app.get("/ping")
    def ping():
        return {"pong": True}

    client = TestClient(app)
    with pytest.raises(OSError, match="No such file"):  # raised into the client, as Starlette's open error
        client.get("/f")
    assert client.get("/ping").json() == {"pong": True}


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
