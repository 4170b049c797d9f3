"""Uploads over a real socket: a multipart body is spooled to disk by the core as it arrives and
parsed from the file in chunks, so a 64 MiB upload never sits in memory whole, may exceed
max_body_size (its own limit is max_upload_size), and leaves no temporary file behind. And the
``UploadFile`` a handler gets: its calls block the event loop only while the file is in memory.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import httpx
import pytest

from serverutil import ServerProcess, start_server

MiB = 1024 * 1024


@pytest.fixture
def spool_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The server's TMPDIR: the core's upload files go there, so a test can see them go."""
    directory = tmp_path / "spool"
    directory.mkdir()
    monkeypatch.setenv("TMPDIR", str(directory))
    return directory


def big_file(path: Path, size: int) -> str:
    digest = hashlib.sha256()
    block = bytes(range(256)) * 4096  # 1 MiB, not compressible into nothing
    with path.open("wb") as f:
        for i in range(size // len(block)):
            chunk = block[i % 7 :] + block[: i % 7]
            f.write(chunk)
            digest.update(chunk)
    return digest.hexdigest()


def url(server: ServerProcess, path: str) -> str:
    return f"http://127.0.0.1:{server.port}{path}"


@pytest.mark.timeout(120)
def test_large_upload_is_spooled_not_held_in_memory(tmp_path: Path, spool_dir: Path) -> None:
    source = tmp_path / "big.bin"
    expected = big_file(source, 64 * MiB)
    server = start_server("uploads")
    try:
        before = httpx.get(url(server, "/memory")).json()
        with source.open("rb") as f:
            r = httpx.post(url(server, "/upload"), files={"file": ("big.bin", f)}, data={"note": "hi"}, timeout=60)
        assert r.status_code == 200, r.text
        body = r.json()
        assert (body["filename"], body["size"], body["sha256"], body["note"]) == ("big.bin", 64 * MiB, expected, "hi")
        # Peak memory grew by far less than the upload: it was streamed through disk.
        grown_mib = (body["peak_rss_kb"] - before["peak_rss_kb"]) / 1024
        assert grown_mib < 24, f"peak RSS grew by {grown_mib:.0f} MiB for a 64 MiB upload"
        # The core's temporary file is gone once the request is done.
        assert list(spool_dir.iterdir()) == []
        # An upload may exceed max_body_size (16 MiB by default); other bodies may not.
        big_json = b'{"a": "' + b"x" * (17 * MiB) + b'"}'
        r = httpx.post(url(server, "/json"), content=big_json, headers={"content-type": "application/json"})
        assert r.status_code == 413
    finally:
        server.stop()


@pytest.mark.timeout(60)
def test_upload_over_max_upload_size_is_413(tmp_path: Path, spool_dir: Path) -> None:
    source = tmp_path / "big.bin"
    big_file(source, 4 * MiB)
    server = start_server("uploads", settings={"max_upload_size": 2 * MiB})
    try:
        with source.open("rb") as f:
            r = httpx.post(url(server, "/upload"), files={"file": ("big.bin", f)}, timeout=30)
        assert r.status_code == 413
        # A small upload on the same server still works, and nothing was left on disk.
        r = httpx.post(url(server, "/small"), files={"data": ("s.bin", b"12345")})
        assert r.json() == {"size": 5}
        assert list(spool_dir.iterdir()) == []
    finally:
        server.stop()


@pytest.mark.timeout(60)
def test_an_upload_that_cannot_be_spooled_is_507_and_the_server_serves_on(tmp_path: Path, spool_dir: Path) -> None:
    source = tmp_path / "big.bin"
    big_file(source, 4 * MiB)
    server = start_server("uploads")
    try:
        spool_dir.rmdir()  # the server's TMPDIR is gone: its upload file cannot be made
        with source.open("rb") as f:
            r = httpx.post(url(server, "/upload"), files={"file": ("big.bin", f)}, timeout=30)
        assert (r.status_code, r.text) == (507, "Insufficient Storage")
        assert r.headers["content-type"] == "text/plain; charset=utf-8"
        # Small uploads (held in memory) and other requests are answered as before.
        r = httpx.post(url(server, "/small"), files={"data": ("s.bin", b"12345")})
        assert r.json() == {"size": 5}
    finally:
        server.stop()


@pytest.mark.timeout(60)
def test_chunked_upload_is_spooled_too(tmp_path: Path, spool_dir: Path) -> None:
    """No Content-Length: the core cannot know the size up front and spools as it goes."""
    boundary = "turboapi-test-boundary"
    payload = os.urandom(3 * MiB)
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="c.bin"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()

    def chunks():
        yield head
        for i in range(0, len(payload), 256 * 1024):
            yield payload[i : i + 256 * 1024]
        yield tail

    server = start_server("uploads")
    try:
        r = httpx.post(
            url(server, "/upload"),
            content=chunks(),
            headers={"content-type": f"multipart/form-data; boundary={boundary}"},
            timeout=30,
        )
        assert r.status_code == 200, r.text
        assert r.json()["sha256"] == hashlib.sha256(payload).hexdigest()
        assert list(spool_dir.iterdir()) == []
    finally:
        server.stop()


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
