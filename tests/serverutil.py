"""Helpers for tests that drive the real turboapi server over a socket.

``ServerProcess`` starts an app under tests/apps in a subprocess on 127.0.0.1 with port 0, reads
its stderr in a thread, and learns the port from the "running on" line.  ``raw_request`` and
``read_response`` speak HTTP/1.1 over a plain socket so that keep-alive, pipelining and malformed
input can be tested byte for byte.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TESTS_DIR = Path(__file__).resolve().parent
APPS_DIR = TESTS_DIR / "apps"
HOST = "127.0.0.1"
STARTUP_DEADLINE = 15.0
RUNNING_RE = re.compile(r"INFO:\s+turboapi running on https?://127\.0\.0\.1:(\d+) \(Press CTRL\+C to quit\)")


class ServerProcess:
    """One server subprocess; ``stop()``/``kill()`` always end it."""

    def __init__(self, app: str = "basic", *args: str, settings: dict[str, Any] | None = None) -> None:
        cmd = [sys.executable, str(APPS_DIR / f"{app}.py"), "--port", "0", *args]
        for name, value in (settings or {}).items():
            cmd += [f"--{name.replace('_', '-')}", str(value)]
        self.cmd = cmd
        env = dict(os.environ)
        env["PYTHONUNBUFFERED"] = "1"
        # the server must not pick up tunables from the caller's environment
        for key in list(env):
            if key.startswith("TURBOAPI_"):
                del env[key]
        self._lines: list[str] = []
        self._cond = threading.Condition()
        self._eof = False
        self.proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,  # the running line, logs, tracebacks and the apps' markers
            cwd=str(TESTS_DIR.parent),
            env=env,
        )
        self._reader = threading.Thread(target=self._read, name="server-output", daemon=True)
        self._reader.start()
        self.port: int | None = None

    # -- output ----------------------------------------------------------------------------
    def _read(self) -> None:
        assert self.proc.stderr is not None
        for raw in iter(self.proc.stderr.readline, b""):
            with self._cond:
                self._lines.append(raw.decode("utf-8", "replace").rstrip("\r\n"))
                self._cond.notify_all()
        with self._cond:
            self._eof = True
            self._cond.notify_all()

    @property
    def lines(self) -> list[str]:
        with self._cond:
            return list(self._lines)

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def mark(self) -> int:
        """A position in the output; ``since(mark)`` gives what was printed after it."""
        with self._cond:
            return len(self._lines)

    def since(self, mark: int) -> str:
        with self._cond:
            return "\n".join(self._lines[mark:])

    def wait_for_line(self, pattern: str | re.Pattern[str], timeout: float, start: int = 0) -> re.Match[str]:
        """The first line at or after ``start`` matching ``pattern``; AssertionError on timeout/EOF."""
        regex = re.compile(pattern) if isinstance(pattern, str) else pattern
        deadline = time.monotonic() + timeout
        index = start
        with self._cond:
            while True:
                while index < len(self._lines):
                    found = regex.search(self._lines[index])
                    if found:
                        return found
                    index += 1
                remaining = deadline - time.monotonic()
                if self._eof or remaining <= 0:
                    why = "the server's output ended" if self._eof else f"not seen within {timeout:.1f} s"
                    raise AssertionError(
                        f"{regex.pattern!r}: {why} (returncode={self.proc.poll()})\n"
                        f"command: {self.cmd}\n--- server output ---\n" + "\n".join(self._lines)
                    )
                self._cond.wait(min(remaining, 0.1))

    def wait_started(self, timeout: float = STARTUP_DEADLINE) -> int:
        found = self.wait_for_line(RUNNING_RE, timeout)
        self.port = int(found.group(1))
        return self.port

    def wait_output_eof(self, timeout: float = 5.0) -> None:
        self._reader.join(timeout)

    # -- lifetime --------------------------------------------------------------------------
    def send_signal(self, sig: int) -> None:
        self.proc.send_signal(sig)

    def wait_exit(self, timeout: float) -> int:
        """The exit code; AssertionError with the output when it does not exit in time."""
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(
                f"server did not exit within {timeout:.1f} s\n--- server output ---\n{self.output}"
            ) from None
        self.wait_output_eof()
        return code

    def stop(self, timeout: float = 5.0) -> None:
        """SIGTERM, then SIGKILL if it does not exit in time. Safe to call twice."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        self.kill()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        if self.proc.stderr is not None:
            self._reader.join(2)
            self.proc.stderr.close()

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def connect(self, timeout: float = 5.0) -> socket.socket:
        assert self.port is not None
        sock = socket.create_connection((HOST, self.port), timeout=timeout)
        sock.settimeout(timeout)
        return sock


def start_server(app: str = "basic", *args: str, settings: dict[str, Any] | None = None) -> ServerProcess:
    server = ServerProcess(app, *args, settings=settings)
    try:
        server.wait_started()
    except BaseException:
        server.kill()
        raise
    return server


@contextmanager
def served(app: str = "basic", *args: str, settings: dict[str, Any] | None = None) -> Iterator[ServerProcess]:
    """One started server for a ``with`` block (a module fixture), stopped at its end."""
    server = start_server(app, *args, settings=settings)
    try:
        yield server
    finally:
        server.stop()


@contextmanager
def spawner(app: str = "basic") -> Iterator[Callable[..., ServerProcess]]:
    """``spawn(*args, **settings)`` starts a server of ``app`` (a test's own: other settings, signals,
    fresh memory); every one is killed at the end of the ``with`` block."""
    started: list[ServerProcess] = []

    def spawn(*args: str, **settings: Any) -> ServerProcess:
        proc = ServerProcess(app, *args, settings=settings)
        started.append(proc)
        proc.wait_started()
        return proc

    try:
        yield spawn
    finally:
        for proc in started:
            proc.kill()


def rss_bytes(pid: int) -> int:
    """A process's resident memory."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


# -- raw HTTP/1.1 ---------------------------------------------------------------------------
@dataclass
class RawResponse:
    status: int
    reason: str
    version: str
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    def header(self, name: str) -> str | None:
        values = self.header_list(name)
        return values[0] if values else None

    def header_list(self, name: str) -> list[str]:
        name = name.lower()
        return [v for k, v in self.headers if k.lower() == name]


class ResponseReader:
    """Reads consecutive responses from one socket (keeps bytes read past a response)."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""
        self.eof = False

    def _fill(self) -> bool:
        chunk = self.sock.recv(65536)
        if not chunk:
            self.eof = True
            return False
        self.buffer += chunk
        return True

    def _read_until(self, delimiter: bytes) -> bytes:
        while delimiter not in self.buffer:
            if not self._fill():
                raise ConnectionError(f"connection closed before {delimiter!r}; got {self.buffer[:300]!r}")
        data, _, self.buffer = self.buffer.partition(delimiter)
        return data

    def _read_exact(self, n: int) -> bytes:
        while len(self.buffer) < n:
            if not self._fill():
                raise ConnectionError(f"connection closed after {len(self.buffer)} of {n} body bytes")
        data, self.buffer = self.buffer[:n], self.buffer[n:]
        return data

    def read_response(self, method: str = "GET") -> RawResponse:
        head = self._read_until(b"\r\n\r\n").decode("latin-1")
        status_line, *header_lines = head.split("\r\n")
        version, status, *reason = status_line.split(" ", 2)
        if not version.startswith("HTTP/"):
            raise AssertionError(f"not an HTTP status line: {status_line!r}")
        headers = []
        for line in header_lines:
            name, _, value = line.partition(":")
            headers.append((name.strip(), value.strip()))
        response = RawResponse(int(status), reason[0] if reason else "", version, headers)
        code = response.status
        if method == "HEAD" or code in (204, 304) or 100 <= code < 200:
            return response
        te = (response.header("transfer-encoding") or "").lower()
        if "chunked" in te:
            body = b""
            while True:
                size = int(self._read_until(b"\r\n").split(b";")[0], 16)
                if size == 0:
                    # trailers, up to an empty line
                    while self._read_until(b"\r\n"):
                        pass
                    break
                body += self._read_exact(size)
                self._read_until(b"\r\n")
            response.body = body
        elif response.header("content-length") is not None:
            response.body = self._read_exact(int(response.header("content-length") or 0))
        else:
            while self._fill():
                pass
            response.body, self.buffer = self.buffer, b""
        return response

    def at_eof(self, timeout: float) -> bool:
        """True if the peer closes (EOF or reset) within ``timeout`` with no more bytes."""
        self.sock.settimeout(timeout)
        try:
            while True:
                if not self._fill():
                    return True
        except (ConnectionResetError, BrokenPipeError):
            return True
        except TimeoutError:
            return False


def request_bytes(method: str, path: str, headers: dict[str, str] | None = None, body: bytes = b"") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {HOST}"]
    all_headers = dict(headers or {})
    if body and "Content-Length" not in all_headers and "Transfer-Encoding" not in all_headers:
        all_headers["Content-Length"] = str(len(body))
    lines += [f"{k}: {v}" for k, v in all_headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def raw_request(
    port: int,
    method: str,
    path: str,
    headers: dict[str, str] | None = None,
    body: bytes = b"",
    timeout: float = 5.0,
) -> RawResponse:
    """One request on a fresh connection."""
    with socket.create_connection((HOST, port), timeout=timeout) as sock:
        sock.settimeout(timeout)
        sock.sendall(request_bytes(method, path, headers, body))
        return ResponseReader(sock).read_response(method)


def wait_port_closed(port: int, timeout: float) -> None:
    """Returns once connecting to the port is refused; AssertionError otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((HOST, port), timeout=1.0):
                pass
        except ConnectionRefusedError:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"port {port} still accepts connections after {timeout} s")
        time.sleep(0.05)
