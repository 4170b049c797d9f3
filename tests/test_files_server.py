"""``FileResponse`` and ``StaticFiles`` on a real socket: ``turboapi run`` serving a 100 MiB file.

The app (``APP`` below, written to a temporary project) serves ``data/big.bin`` both from a route
returning ``FileResponse`` (``/big``) and through ``app.mount("/static", StaticFiles(directory=data))``.
Checked: a full download streams (the server's resident memory grows by far less than the file, also
while the client reads slowly), its bytes and headers (etag/last-modified as Starlette computes them);
Range requests on the big file (single, suffix, open-ended, multipart, 416); HEAD and 304 answers leave
the keep-alive connection usable (no stray body bytes); clients that disconnect mid-download, or stall,
leave the server serving, without leaking the file's descriptors; traversal attempts sent verbatim on the
request line are 404.

The server is started on first use (one for the module) and only once ``FileResponse`` and
``StaticFiles`` import from turboapi: until they do, every test fails with turboapi's ``NotSupportedYet``.
The expected behaviour is Starlette's (see tests/compat/test_files_differential.py for the comparison).
``COMPAT_ONLY_FASTAPI=1`` runs the same tests against the FastAPI twin of the app under uvicorn
(validates the tests).
"""

from __future__ import annotations

import hashlib
import os
import random
import re
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from email.utils import formatdate
from pathlib import Path

import httpx
import pytest

from serverutil import HOST, ResponseReader, raw_request, request_bytes
from test_cli import Cli

ONLY_FASTAPI = os.environ.get("COMPAT_ONLY_FASTAPI", "") not in ("", "0")
TURBOAPI_ONLY = pytest.mark.skipif(ONLY_FASTAPI, reason="turboapi's own behaviour, past FastAPI's")

MIB = 1024 * 1024
BIG_SIZE = 100 * MIB
RSS_GROWTH_LIMIT = 32 * MIB
SLOW_PART = 16 * MIB  # read this much slowly first: a server that reads ahead without bound shows it here

APP = """
import os

from turboapi import FastAPI
from turboapi.responses import FileResponse
from turboapi.staticfiles import StaticFiles

DATA = os.environ["FILES_TEST_DATA"]
app = FastAPI()


@app.get("/pid")
def pid():
    return {"pid": os.getpid()}


@app.get("/ping")
def ping():
    return {"ok": True}


@app.api_route("/big", methods=["GET", "HEAD"])
def big():
    return FileResponse(os.path.join(DATA, "big.bin"))


app.mount("/static", StaticFiles(directory=DATA), name="static")
"""

_BASE_BLOCK = random.Random(7).randbytes(MIB)


def block(index: int) -> bytes:
    """MiB number ``index`` of big.bin: the shared random block, stamped with its index."""
    return index.to_bytes(8, "big") + _BASE_BLOCK[8:]


def expected(start: int, end: int) -> bytes:
    """big.bin's bytes ``[start, end)``."""
    out = bytearray()
    for index in range(start // MIB, (end - 1) // MIB + 1):
        data = block(index)
        lo = max(start - index * MIB, 0)
        hi = min(end - index * MIB, MIB)
        out += data[lo:hi]
    return bytes(out)


def starlette_etag(path: Path) -> str:
    st = os.stat(path)
    return '"' + hashlib.md5(f"{st.st_mtime}-{st.st_size}".encode(), usedforsecurity=False).hexdigest() + '"'


def memory(pid: int) -> dict[str, int]:
    """VmRSS, VmHWM, RssAnon, RssFile... of ``pid``, in bytes."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, rest = line.partition(":")
        parts = rest.split()
        if len(parts) == 2 and parts[1] == "kB":
            values[name] = int(parts[0]) * 1024
    return values


def reset_peak(pid: int) -> bool:
    """Resets VmHWM (Linux >= 4.0) so that it measures the peak from now on; False if not allowed."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def open_descriptors(pid: int, target: Path) -> int:
    count = 0
    fd_dir = Path(f"/proc/{pid}/fd")
    for entry in fd_dir.iterdir():
        try:
            if os.readlink(entry) == str(target):
                count += 1
        except OSError:  # closed meanwhile
            pass
    return count


class Uvicorn(Cli):
    """The reference server (``COMPAT_ONLY_FASTAPI=1``): ``python -m uvicorn``, same interface as Cli."""

    RUNNING = re.compile(r"Uvicorn running on http://127\.0\.0\.1:(\d+)")

    def __init__(self, cwd: Path, *args: str, env: dict[str, str] | None = None) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", *args],
            cwd=cwd,
            env={**os.environ, **(env or {}), "PYTHONUNBUFFERED": "1"},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    @property
    def port(self) -> int:
        match = self.RUNNING.search(self.wait_for(self.RUNNING.pattern)[0])
        assert match
        return int(match.group(1))


class Server:
    """One ``turboapi run`` of APP, started by the first test that needs it."""

    def __init__(self, project: Path) -> None:
        self.project = project
        self.data = project / "data"
        self.big = self.data / "big.bin"
        self.big_sha256 = ""
        self.cli: Cli | None = None
        self.port = 0
        self.pid = 0

    def get(self) -> Server:
        if self.cli is None:
            env = {"FILES_TEST_DATA": str(self.data)}
            if ONLY_FASTAPI:
                self._write_files(APP.replace("turboapi", "fastapi"))
                self.cli = Uvicorn(self.project, "main:app", "--port", "0", env=env)
            else:
                # Until turboapi has them, this raises NotSupportedYet: the reason every test fails.
                from turboapi.responses import FileResponse  # noqa: F401
                from turboapi.staticfiles import StaticFiles  # noqa: F401

                self._write_files(APP)
                # A short half-close timeout, for the slow download of a half-closed client: short
                # enough to be passed by a slow read, long enough that a loaded CI machine does not
                # stall the reader past it.
                self.cli = Cli(self.project, "run", "main:app", "--port", "0", "--half-close-timeout", "3", env=env)
            self.port = self.cli.port
            self.pid = httpx.get(f"{self.url}/pid", timeout=10).json()["pid"]
        return self

    def _write_files(self, app_source: str) -> None:
        self.data.mkdir(exist_ok=True)
        (self.project / "main.py").write_text(app_source)
        (self.project / "secret.txt").write_text("top secret\n")
        (self.data / "small.txt").write_text("small\n")
        if not (self.data / "link_out.txt").is_symlink():
            os.symlink("../secret.txt", self.data / "link_out.txt")
        digest = hashlib.sha256()
        with open(self.big, "wb") as f:
            for index in range(BIG_SIZE // MIB):
                data = block(index)
                digest.update(data)
                f.write(data)
        self.big_sha256 = digest.hexdigest()

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def output(self, since: int = 0) -> str:
        assert self.cli is not None
        return "\n".join(self.cli.lines[since:])

    def stop(self) -> None:
        if self.cli is not None:
            self.cli.stop()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    started = Server(tmp_path_factory.mktemp("files_server"))
    yield started
    started.stop()


URLS = ["/big", "/static/big.bin"]


# --------------------------------------------------------------------------- full download


@pytest.mark.parametrize("url", URLS)
@pytest.mark.timeout(180)
def test_big_download_streams_in_bounded_memory(server: Server, url: str) -> None:
    srv = server.get()
    warm = httpx.get(srv.url + url, headers={"range": "bytes=0-9"}, timeout=30)
    assert warm.status_code == 206 and warm.content == expected(0, 10)

    before = memory(srv.pid)
    peak_was_reset = reset_peak(srv.pid)
    samples: list[int] = []
    digest = hashlib.sha256()
    received = 0
    with httpx.Client(timeout=60) as client, client.stream("GET", srv.url + url) as response:
        assert response.status_code == 200
        headers = response.headers
        assert headers["content-length"] == str(BIG_SIZE)
        assert headers["content-type"] == "application/octet-stream"
        assert headers["accept-ranges"] == "bytes"
        assert headers["etag"] == starlette_etag(srv.big)
        assert headers["last-modified"] == formatdate(os.stat(srv.big).st_mtime, usegmt=True)
        assert "content-range" not in headers
        for chunk in response.iter_raw(64 * 1024):
            previous = received
            received += len(chunk)
            digest.update(chunk)
            if received <= SLOW_PART:
                time.sleep(0.004)
            if received // MIB != previous // MIB:
                samples.append(memory(srv.pid)["VmRSS"])
    after = memory(srv.pid)
    assert received == BIG_SIZE
    assert digest.hexdigest() == srv.big_sha256, "the downloaded bytes differ from the file"

    peak = max([*samples, after["VmRSS"], *([after["VmHWM"]] if peak_was_reset else [])])
    growth = peak - before["VmRSS"]
    keys = ("VmRSS", "VmHWM", "RssAnon", "RssFile")
    assert growth < RSS_GROWTH_LIMIT, (
        f"the server's RSS grew by {growth / MIB:.1f} MiB while sending a {BIG_SIZE // MIB} MiB file; "
        f"MiB before: { {k: round(before.get(k, 0) / MIB, 1) for k in keys} }, "
        f"after: { {k: round(after.get(k, 0) / MIB, 1) for k in keys} }, "
        f"highest sample: {max(samples) / MIB:.1f}, VmHWM reset: {peak_was_reset}"
    )


# --------------------------------------------------------------------------- ranges


@pytest.mark.parametrize("url", URLS)
@pytest.mark.parametrize(
    ("range_", "start", "end"),
    [
        ("bytes=50000000-50999999", 50_000_000, 51_000_000),
        ("bytes=-1000", BIG_SIZE - 1000, BIG_SIZE),
        ("bytes=104857000-", 104_857_000, BIG_SIZE),
        ("bytes=0-", 0, BIG_SIZE),
        ("bytes=104857599-104857599", BIG_SIZE - 1, BIG_SIZE),
    ],
    ids=["middle", "suffix", "open-ended", "whole-as-range", "last-byte"],
)
@pytest.mark.timeout(120)
def test_single_range_on_big_file(server: Server, url: str, range_: str, start: int, end: int) -> None:
    srv = server.get()
    response = httpx.get(srv.url + url, headers={"range": range_}, timeout=60)
    assert response.status_code == 206, response.text[:200]
    assert response.headers["content-range"] == f"bytes {start}-{end - 1}/{BIG_SIZE}"
    assert response.headers["content-length"] == str(end - start)
    assert response.headers["content-type"] == "application/octet-stream"
    assert response.headers["etag"] == starlette_etag(srv.big)
    assert response.content == expected(start, end)


@pytest.mark.parametrize("url", URLS)
@pytest.mark.timeout(120)
def test_multipart_range_on_big_file(server: Server, url: str) -> None:
    srv = server.get()
    ranges = [(0, 10), (52_428_800, 52_428_810), (BIG_SIZE - 5, BIG_SIZE)]
    spec = "bytes=0-9,52428800-52428809,-5"
    response = httpx.get(srv.url + url, headers={"range": spec}, timeout=60)
    assert response.status_code == 206
    found = re.fullmatch(r"multipart/byteranges; boundary=([0-9a-f]{26})", response.headers["content-type"])
    assert found, response.headers
    boundary = found.group(1)
    body = (
        b"".join(
            f"--{boundary}\r\nContent-Type: application/octet-stream\r\n"
            f"Content-Range: bytes {start}-{end - 1}/{BIG_SIZE}\r\n\r\n".encode()
            + expected(start, end)
            + b"\r\n"
            for start, end in ranges
        )
        + f"--{boundary}--".encode()
    )
    assert response.content == body
    assert response.headers["content-length"] == str(len(body))


@pytest.mark.parametrize("url", URLS)
@pytest.mark.timeout(60)
def test_unsatisfiable_range_on_big_file(server: Server, url: str) -> None:
    srv = server.get()
    response = httpx.get(srv.url + url, headers={"range": f"bytes={BIG_SIZE}-"}, timeout=30)
    assert response.status_code == 416
    assert response.headers["content-range"] == f"bytes */{BIG_SIZE}"
    assert response.content == b""


# --------------------------------------------------------------------------- HEAD / 304 on a kept-alive connection


@pytest.mark.parametrize(
    ("method", "url", "headers", "status", "length"),
    [
        ("HEAD", "/big", {}, 200, str(BIG_SIZE)),
        ("HEAD", "/static/big.bin", {}, 200, str(BIG_SIZE)),
        ("HEAD", "/big", {"Range": "bytes=100-199"}, 206, "100"),
        ("GET", "/static/big.bin", {"If-None-Match": "<etag>"}, 304, None),
        ("HEAD", "/static/big.bin", {"If-None-Match": "*"}, 304, None),
        # The route's FileResponse answers conditions too (FastAPI's sends the file again).
        pytest.param("GET", "/big", {"If-None-Match": "<etag>"}, 304, None, marks=TURBOAPI_ONLY),
        pytest.param("GET", "/big", {"If-None-Match": 'W/"x", W/<etag>'}, 304, None, marks=TURBOAPI_ONLY),
        pytest.param("GET", "/big", {"If-Modified-Since": "<last-modified>"}, 304, None, marks=TURBOAPI_ONLY),
        pytest.param("HEAD", "/big", {"If-None-Match": "*"}, 304, None, marks=TURBOAPI_ONLY),
        ("HEAD", "/big", {"If-None-Match": '"stale"'}, 200, str(BIG_SIZE)),
        ("HEAD", "/big", {"If-Modified-Since": "Thu, 01 Jan 1970 00:00:00 GMT"}, 200, str(BIG_SIZE)),
        ("HEAD", "/big", {"Range": "bytes=100-199", "If-Range": "<etag>"}, 206, "100"),
        ("HEAD", "/big", {"Range": "bytes=100-199", "If-Range": "<last-modified>"}, 206, "100"),
        ("HEAD", "/big", {"Range": "bytes=100-199", "If-Range": '"stale"'}, 200, str(BIG_SIZE)),
    ],
    ids=[
        "head-route",
        "head-static",
        "head-range",
        "304-get",
        "304-head",
        "route-304-etag",
        "route-304-weak-list",
        "route-304-date",
        "route-304-head-star",
        "route-200-stale-etag",
        "route-200-old-date",
        "route-if-range-etag",
        "route-if-range-date",
        "route-if-range-stale",
    ],
)
@pytest.mark.timeout(60)
def test_bodiless_answers_keep_the_connection_usable(
    server: Server, method: str, url: str, headers: dict[str, str], status: int, length: str | None
) -> None:
    srv = server.get()
    last_modified = formatdate(os.stat(srv.big).st_mtime, usegmt=True)
    headers = {
        k: v.replace("<etag>", starlette_etag(srv.big)).replace("<last-modified>", last_modified)
        for k, v in headers.items()
    }
    with socket.create_connection((HOST, srv.port), timeout=10) as sock:
        reader = ResponseReader(sock)
        sock.sendall(request_bytes(method, url, headers))
        first = reader.read_response(method)
        assert first.status == status
        assert first.header("content-length") == length
        if status == 304:
            assert first.header("etag") == starlette_etag(srv.big)
        # Any body byte sent after the head would now be read as the next status line.
        sock.sendall(request_bytes("GET", "/ping"))
        second = reader.read_response("GET")
        assert (second.status, second.body) == (200, b'{"ok":true}')


# --------------------------------------------------------------------------- half-closed client


@TURBOAPI_ONLY
@pytest.mark.timeout(120)
def test_a_half_closed_client_downloads_the_whole_file(server: Server) -> None:
    """A client that shuts its sending side after the request (``nc -N``) gets the whole file,
    though it reads the first part slowly, past the server's 3 s half-close timeout: the download
    keeps writing, so it is not taken for a client that left."""
    srv = server.get()
    with socket.create_connection((HOST, srv.port), timeout=30) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        sock.sendall(request_bytes("GET", "/big"))
        sock.shutdown(socket.SHUT_WR)
        digest = hashlib.sha256()
        received = head_end = 0
        head = b""
        started = time.monotonic()
        while True:
            chunk = sock.recv(16 * 1024 if received < 4 * MIB else 256 * 1024)
            if not chunk:
                break
            if not head_end:
                head += chunk
                head_end = head.find(b"\r\n\r\n") + 4
                if head_end < 4:
                    head_end = 0
                    continue
                assert head.startswith(b"HTTP/1.1 200"), head[:200]
                chunk = head[head_end:]
            digest.update(chunk)
            received += len(chunk)
            if received < 4 * MIB:
                time.sleep(0.025)  # about 6.5 s for the first 4 MiB
    assert time.monotonic() - started > 4, "the slow part was not slow: the test proves nothing"
    assert received == BIG_SIZE and digest.hexdigest() == srv.big_sha256


# --------------------------------------------------------------------------- disconnects


def _abandon(port: int, url: str, headers: dict[str, str], read: int, reset: bool) -> None:
    """Sends a request, reads ``read`` bytes of the answer, then goes away (RST if ``reset``)."""
    sock = socket.create_connection((HOST, port), timeout=10)
    try:
        sock.sendall(request_bytes("GET", url, headers))
        got = 0
        while got < read:
            chunk = sock.recv(65536)
            assert chunk, f"the server closed {url} after {got} bytes"
            got += len(chunk)
        if reset:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    finally:
        sock.close()


@pytest.mark.timeout(120)
def test_client_disconnects_leave_the_server_serving(server: Server) -> None:
    srv = server.get()
    mark = len(srv.cli.lines) if srv.cli else 0
    descriptors_before = open_descriptors(srv.pid, srv.big)

    abandoned = [
        ("/big", {}, 1 * MIB, False),
        ("/static/big.bin", {}, 2 * MIB, True),
        ("/big", {"Range": "bytes=1000000-"}, 1 * MIB, True),
        ("/static/big.bin", {"Range": "bytes=0-10,50000000-"}, 1 * MIB, False),
        ("/big", {}, 0, True),  # gone before reading anything
    ]
    for url, headers, read, reset in abandoned:
        _abandon(srv.port, url, headers, read, reset)

    # A client that asks for the file and then reads nothing must not hold the others up.
    stalled = socket.create_connection((HOST, srv.port), timeout=10)
    try:
        stalled.sendall(request_bytes("GET", "/static/big.bin"))
        time.sleep(0.5)
        started = time.monotonic()
        assert httpx.get(f"{srv.url}/ping", timeout=10).json() == {"ok": True}
        assert time.monotonic() - started < 2.0
        ranged = httpx.get(srv.url + "/big", headers={"range": "bytes=70000000-70000099"}, timeout=10)
        assert ranged.status_code == 206 and ranged.content == expected(70_000_000, 70_000_100)
    finally:
        stalled.close()

    # Every abandoned transfer closes its file.
    deadline = time.monotonic() + 10
    while open_descriptors(srv.pid, srv.big) > descriptors_before and time.monotonic() < deadline:
        time.sleep(0.1)
    leaked = open_descriptors(srv.pid, srv.big) - descriptors_before
    assert leaked <= 0, f"{leaked} descriptor(s) of big.bin still open 10 s after the clients left"

    assert srv.cli is not None and srv.cli.proc.poll() is None, "the server exited"
    assert httpx.get(f"{srv.url}/ping", timeout=10).json() == {"ok": True}
    output = srv.output(mark)
    assert "Traceback" not in output and "panicked" not in output, output


# --------------------------------------------------------------------------- traversal on the request line


@pytest.mark.parametrize(
    "path",
    [
        "/static/../secret.txt",
        "/static/../../../../../../etc/passwd",
        "/static/%2e%2e/secret.txt",
        "/static/..%2fsecret.txt",
        "/static/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        "/static//etc/passwd",
        "/static/%2Fetc%2Fpasswd",
        "/static/link_out.txt",
    ],
)
@pytest.mark.timeout(60)
def test_traversal_on_the_wire_is_404(server: Server, path: str) -> None:
    srv = server.get()
    answer = raw_request(srv.port, "GET", path)
    assert answer.status == 404, (answer.status, answer.body[:200])
    assert answer.body == b'{"detail":"Not Found"}'


@pytest.mark.timeout(60)
def test_small_static_file_on_the_wire(server: Server) -> None:
    srv = server.get()
    answer = raw_request(srv.port, "GET", "/static/small.txt")
    assert answer.status == 200 and answer.body == b"small\n"
    assert answer.header("content-type") == "text/plain; charset=utf-8"
    assert answer.header("etag") == starlette_etag(srv.data / "small.txt")
