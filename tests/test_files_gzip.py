"""A FileResponse behind GZipMiddleware: sent whole and uncompressed, in both middleware modes.

FastAPI compresses it (Starlette's GZip sees the file's chunks); turboapi's core sends the file
itself, past the middleware's body, so it goes out as it is (a difference in the README). What
matters here: no error (the Python middleware once read ``response.body``, which a file has not).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from turboapi import FastAPI
from turboapi.middleware.gzip import GZipMiddleware
from turboapi.responses import FileResponse
from turboapi.testclient import TestClient


@pytest.mark.parametrize("native", [True, False], ids=["native", "python"])
def test_file_behind_gzip_is_sent_whole(tmp_path: Path, native: bool) -> None:
    path = tmp_path / "a.txt"
    path.write_text("hello " * 1000)
    app = FastAPI()
    app.add_middleware(GZipMiddleware)

    @app.get("/f")
    def serve() -> FileResponse:
        return FileResponse(path)

    reply = TestClient(app, native_middleware=native).get("/f", headers={"accept-encoding": "gzip"})
    assert reply.status_code == 200
    assert reply.content == path.read_bytes()
    assert "content-encoding" not in reply.headers
    assert reply.headers["content-length"] == str(path.stat().st_size)
