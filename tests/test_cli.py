"""``turboapi run`` / ``turboapi dev`` and the worker supervisor, as processes on real sockets."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

RUNNING = re.compile(r"turboapi running on http://127\.0\.0\.1:(\d+)")

APP = """
import os, sys, time
from turboapi import FastAPI
app = FastAPI()
VERSION = 1

@app.on_event("startup")
def startup():
    print("MARKER startup", file=sys.stderr, flush=True)

@app.get("/pid")
def pid():
    return {"pid": os.getpid(), "version": VERSION}

from turboapi import Request

@app.get("/who")
def who(request: Request):
    return {"client": request.client.host, "scheme": request.url.scheme, "host": request.url.hostname}

@app.get("/where")
def where(request: Request):
    return {"root_path": request.scope["root_path"], "path": request.url.path}

@app.get("/slow")
def slow():
    print("MARKER slow", file=sys.stderr, flush=True)
    time.sleep(1.0)
    return {"pid": os.getpid()}
"""


class Cli:
    """A ``python -m turboapi ...`` process whose stderr is collected line by line (``python``: the
    interpreter, by default the one running the tests)."""

    def __init__(self, cwd: Path, *args: str, env: dict[str, str] | None = None, python: str = sys.executable) -> None:
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("TURBOAPI_")}
        full_env.update(env or {})
        full_env["PYTHONUNBUFFERED"] = "1"
        self.proc = subprocess.Popen(
            [python, "-m", "turboapi", *args],
            cwd=cwd,
            env=full_env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, pattern: str, count: int = 1, timeout: float = 20.0) -> list[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            # Processes and threads write concurrently: two markers may share a line.
            found = re.findall(pattern, "\n".join(self.lines))
            if len(found) >= count:
                return [line for line in self.lines if re.search(pattern, line)]
            if self.proc.poll() is not None and not self._reader.is_alive():
                break
            time.sleep(0.05)
        raise AssertionError(f"{pattern!r} x{count} not seen; output:\n" + "\n".join(self.lines))

    @property
    def port(self) -> int:
        match = RUNNING.search(self.wait_for(RUNNING.pattern)[0])
        assert match
        return int(match.group(1))

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=30)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            self._reader.join(timeout=5)
            if self.proc.stderr is not None:
                self.proc.stderr.close()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "main.py").write_text(APP)
    return tmp_path


@pytest.fixture
def cli(project: Path) -> Iterator[list[Cli]]:
    started: list[Cli] = []
    yield started
    for c in started:
        c.stop()


def run_cli(project: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("TURBOAPI_")}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "turboapi", *args], cwd=project, env=full_env, capture_output=True, text=True, timeout=30
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "main:nope"], "module 'main' has no attribute 'nope'"),
        (["run", "nowhere:app"], "cannot import module 'nowhere'"),
        (["run", "main"], "module.path:attribute"),
        (["run", "main:app", "--shards", "0"], "shards must be a positive integer"),
        (["run", "main:app", "--event-loop", "tokio"], "event_loop"),
        (["run", "main:app", "--workers", "0"], "--workers must be at least 1"),
        (["run", "main:app", "--root-path", "api"], "root_path must start with '/'"),
        (["run", "main:app", "--forwarded-allow-ips", "nonsense"], "forwarded_allow_ips"),
        (["run", "main:app", "--max-connections", "many"], "--max-connections must be a number or none, not 'many'"),
        (["run", "main:app", "--max-connections", "0"], "max_connections must be a positive integer or None"),
        (["run", "main:app", "--request-timeout", "soon"], "--request-timeout must be a number or none, not 'soon'"),
        (["run", "main:app", "--ws-ping-interval", "-1"], "ws_ping_interval must be a positive number"),
        (["run", "main:app", "--keep-alive-timeout", "0"], "keep_alive_timeout must be a positive number"),
        (["run", "main:app", "--keep-alive-timeout", "inf"], "keep_alive_timeout must be a positive number"),
        (["run", "main:app", "--request-timeout", "nan"], "request_timeout must be a positive number"),
        (["dev", "main:nope"], "module 'main' has no attribute 'nope'"),
    ],
)
@pytest.mark.timeout(60)
def test_errors_are_one_line_and_exit_2(project: Path, args: list[str], message: str) -> None:
    result = run_cli(project, *args)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and message in lines[0], result.stderr


@pytest.mark.parametrize(
    ("env", "pyproject", "message"),
    [
        ({"TURBOAPI_PORT": "abc"}, "", "port must be a whole number, not 'abc'"),
        ({"TURBOAPI_WORKERS": "x"}, "", "workers must be a whole number, not 'x'"),
        ({}, 'port = "x"', "port must be a whole number, not 'x'"),
    ],
    ids=["env-port", "env-workers", "pyproject-port"],
)
@pytest.mark.timeout(60)
def test_bad_numbers_from_env_or_pyproject_are_one_line_errors(
    project: Path, env: dict[str, str], pyproject: str, message: str
) -> None:
    (project / "pyproject.toml").write_text(f"[tool.turboapi]\n{pyproject}\n")
    result = run_cli(project, "run", "main:app", env=env)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and message in lines[0], result.stderr


@pytest.mark.timeout(60)
def test_help_is_clear(project: Path) -> None:
    result = run_cli(project, "run", "--help")
    assert result.returncode == 0
    for flag in (
        "--host",
        "--port",
        "--workers",
        "--shards",
        "--event-loop",
        "--json",
        "--max-concurrent",
        "--batch-size",
        "--log-level",
        "--root-path",
        "--proxy-headers",
        "--forwarded-allow-ips",
        "--access-log",
        "module.path:attribute",
    ):
        assert flag in result.stdout, flag


@pytest.mark.timeout(60)
def test_run_serves_and_stops_cleanly(project: Path, cli: list[Cli]) -> None:
    c = Cli(project, "run", "main:app", "--port", "0")
    cli.append(c)
    assert httpx.get(f"http://127.0.0.1:{c.port}/pid").json()["version"] == 1
    assert c.stop() == 0


@pytest.mark.parametrize(
    ("pyproject", "env", "flags", "shards"),
    [
        ("shards = 2", {}, [], 2),
        ("shards = 2", {"TURBOAPI_SHARDS": "3"}, [], 3),
        ("shards = 2", {"TURBOAPI_SHARDS": "3"}, ["--shards", "4"], 4),
        ("", {"TURBOAPI_SHARDS": "2"}, [], 2),
    ],
    ids=["pyproject", "env-over-pyproject", "flag-over-env", "env"],
)
@pytest.mark.timeout(60)
def test_settings_sources(project: Path, cli: list[Cli], pyproject: str, env: dict, flags: list, shards: int) -> None:
    (project / "pyproject.toml").write_text(f"[tool.turboapi]\n{pyproject}\n")
    c = Cli(project, "run", "main:app", "--port", "0", *flags, env=env)
    cli.append(c)
    c.port  # noqa: B018 - started
    time.sleep(0.3)
    # Startup handlers run once per shard (README, "Lifespan with several shards"); shards print
    # from their own threads, so markers may share a line.
    assert "\n".join(c.lines).count("MARKER startup") == shards, c.lines


@pytest.mark.parametrize(
    ("flags", "env"),
    [
        (["--root-path", "/api"], {}),
        ([], {"TURBOAPI_ROOT_PATH": "/api"}),
        (["--root-path", "/api", "--workers", "2"], {}),
    ],
    ids=["flag", "env", "workers"],
)
@pytest.mark.timeout(60)
def test_root_path(project: Path, cli: list[Cli], flags: list[str], env: dict) -> None:
    c = Cli(project, "run", "main:app", "--port", "0", *flags, env=env)
    cli.append(c)
    base = f"http://127.0.0.1:{c.port}"
    # As uvicorn's --root-path: the proxy stripped the prefix; the app sees it in front of the path.
    assert httpx.get(f"{base}/where").json() == {"root_path": "/api", "path": "/api/where"}
    assert httpx.get(f"{base}/openapi.json").json()["servers"] == [{"url": "/api"}]
    assert '"/api/openapi.json"' in httpx.get(f"{base}/docs").text


def pids(port: int, n: int = 40) -> set[int]:
    seen = set()
    for _ in range(n):
        with httpx.Client() as client:  # a new connection each time: the kernel picks a worker
            seen.add(client.get(f"http://127.0.0.1:{port}/pid").json()["pid"])
    return seen


@pytest.mark.timeout(90)
def test_workers_share_the_port_and_a_dead_one_is_replaced(project: Path, cli: list[Cli]) -> None:
    c = Cli(project, "run", "main:app", "--port", "0", "--workers", "2")
    cli.append(c)
    c.wait_for(RUNNING.pattern, count=2)
    port = c.port
    first = pids(port)
    assert len(first) == 2, first
    victim = sorted(first)[0]
    os.kill(victim, signal.SIGKILL)
    c.wait_for(rf"worker {victim} exited", timeout=10)
    c.wait_for(RUNNING.pattern, count=3)
    deadline = time.monotonic() + 10
    now: set[int] = set()
    while time.monotonic() < deadline and len(now - {victim}) < 2:
        now = pids(port, 10)
    assert victim not in now and len(now) == 2, (first, now)


@pytest.mark.timeout(90)
def test_sigterm_drains_requests_in_flight_and_exits_0(project: Path, cli: list[Cli]) -> None:
    c = Cli(project, "run", "main:app", "--port", "0", "--workers", "2")
    cli.append(c)
    c.wait_for(RUNNING.pattern, count=2)
    port = c.port
    with ThreadPoolExecutor(16) as pool:
        futures = [pool.submit(httpx.get, f"http://127.0.0.1:{port}/slow", timeout=20) for _ in range(16)]
        c.wait_for("MARKER slow", count=16)  # every request is in a handler now
        c.proc.send_signal(signal.SIGTERM)
        statuses = [f.result().status_code for f in futures]
    assert statuses == [200] * 16
    assert c.proc.wait(timeout=30) == 0
    c.wait_for("all workers stopped")


SPOOFED = {"x-forwarded-for": "203.0.113.7", "x-forwarded-proto": "https", "x-forwarded-host": "example.org"}


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (["--proxy-headers"], {"client": "203.0.113.7", "scheme": "https", "host": "example.org"}),
        (["--proxy-headers", "--forwarded-allow-ips", "10.0.0.0/8"], {"client": "127.0.0.1", "scheme": "http"}),
        ([], {"client": "127.0.0.1", "scheme": "http"}),
    ],
    ids=["trusted-proxy", "untrusted-peer-is-ignored", "off"],
)
@pytest.mark.timeout(60)
def test_proxy_headers(project: Path, cli: list[Cli], flags: list[str], expected: dict) -> None:
    c = Cli(project, "run", "main:app", "--port", "0", *flags)
    cli.append(c)
    answer = httpx.get(f"http://127.0.0.1:{c.port}/who", headers=SPOOFED).json()
    assert {k: answer[k] for k in expected} == expected, answer
    if "host" not in expected:
        assert answer["host"] == "127.0.0.1"


@pytest.mark.parametrize(
    ("chain", "client"),
    [
        ("6.6.6.6, 203.0.113.5:4711", "203.0.113.5"),  # a hop with a port is still an address
        ("6.6.6.6, [2001:db8::1]:80", "2001:db8::1"),
        ("6.6.6.6, unknown", "unknown"),  # not an address: not trusted, so 6.6.6.6 is not believed
        ("6.6.6.6, 127.0.0.1", "6.6.6.6"),  # the trusted hop is skipped
    ],
)
@pytest.mark.timeout(60)
def test_forwarded_for_hops_as_uvicorn_reads_them(project: Path, cli: list[Cli], chain: str, client: str) -> None:
    c = Cli(project, "run", "main:app", "--port", "0", "--proxy-headers")
    cli.append(c)
    answer = httpx.get(f"http://127.0.0.1:{c.port}/who", headers={"x-forwarded-for": chain}).json()
    assert answer["client"] == client


@pytest.mark.parametrize(
    ("command", "flags", "logged"),
    [("run", ["--access-log"], True), ("run", [], False), ("dev", [], True), ("dev", ["--no-access-log"], False)],
)
@pytest.mark.timeout(60)
def test_access_log(project: Path, cli: list[Cli], command: str, flags: list[str], logged: bool) -> None:
    c = Cli(project, command, "main:app", "--port", "0", *flags)
    cli.append(c)
    port = c.port
    httpx.get(f"http://127.0.0.1:{port}/pid?x=1")
    httpx.get(f"http://127.0.0.1:{port}/nope")
    line = r'INFO:     127\.0\.0\.1:\d+ - "GET /nope HTTP/1\.1" 404 Not Found'
    if logged:
        c.wait_for(line)
        assert any(re.search(r'"GET /pid\?x=1 HTTP/1\.1" 200 OK', entry) for entry in c.lines), c.lines
    else:
        time.sleep(0.5)
        assert not any("HTTP/1.1" in entry for entry in c.lines), c.lines


@pytest.mark.timeout(90)
def test_dev_reloads_on_change(project: Path, cli: list[Cli]) -> None:
    c = Cli(project, "dev", "main:app", "--port", "0")
    cli.append(c)
    port = c.port
    assert httpx.get(f"http://127.0.0.1:{port}/pid").json()["version"] == 1
    time.sleep(0.1)
    (project / "main.py").write_text(APP.replace("VERSION = 1", "VERSION = 2"))
    c.wait_for("change detected", timeout=10)
    c.wait_for(RUNNING.pattern, count=2)
    assert httpx.get(f"http://127.0.0.1:{port}/pid").json()["version"] == 2


def test_the_demo_says_where_its_docs_are(tmp_path: Path) -> None:
    """`make run`'s first lines name the docs page, and `/` points a newcomer to it."""
    demo = Path(__file__).resolve().parent.parent / "examples" / "demo.py"
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("TURBOAPI_", "BENCH_"))}
    proc = subprocess.Popen(
        [sys.executable, str(demo), "--port", "0"],
        cwd=tmp_path,
        env={**full_env, "PYTHONUNBUFFERED": "1"},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        lines = [proc.stderr.readline() for _ in range(2)]
        port = RUNNING.search(lines[0])
        assert port, lines
        assert lines[1].strip() == f"INFO:     Documentation at http://127.0.0.1:{port.group(1)}/docs", lines
        base = f"http://127.0.0.1:{port.group(1)}"
        index = httpx.get(base + "/", timeout=10)
        assert index.status_code == 200 and index.json()["docs"] == "/docs"
        assert httpx.get(base + index.json()["docs"], timeout=10).status_code == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        if proc.stderr is not None:
            proc.stderr.close()
