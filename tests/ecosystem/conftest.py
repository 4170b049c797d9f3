"""tests/ecosystem: widely used FastAPI/Starlette libraries, each set up as its documentation says,
on turboapi (issue 14).

A test module holds

* ``APP``: the ``main.py`` a user would write, importing ``fastapi`` as the library's docs show;
* ``exercise(client)``: what a client does with it, through the httpx API that TestClient and
  ``httpx.Client`` share, returning what it saw as JSON-able data;
* a test that calls ``ecosystem(APP, exercise)`` and asserts on what came back.

The ``ecosystem`` fixture runs that pair in one mode per parametrisation:

* ``turboapi-*``: the app's own ``from fastapi...`` imports read ``from turboapi...`` (the library's
  imports are left alone: they get the real fastapi and starlette); turboapi's TestClient, or
  ``python -m turboapi run main:app --no-fastapi-alias``.
* ``alias-*``: the app as written, ``fastapi`` resolving to turboapi: ``turboapi.alias.install()``
  before anything imports it, then ``fastapi.testclient.TestClient``; or ``python -m turboapi run
  main:app``, which installs the alias by default.
* ``reference-*``: real FastAPI 0.141.1, its TestClient, and ``python -m uvicorn main:app``. These
  replace the four modes above when ``ECOSYSTEM_REFERENCE=1``: they show that each test checks what
  FastAPI does.

``*-testclient`` runs in a fresh interpreter (``_driver.py``): the alias must be installed before
anything imports fastapi, which this process already has, and the libraries keep process-wide state
(prometheus' default registry, sentry's client, the OpenTelemetry provider, FastAPICache) that one app
per process keeps apart. ``*-socket`` serves the app from a temporary project directory in a process
of its own, on 127.0.0.1 with port 0, and runs ``exercise`` here against it with httpx.

So that ``_driver.py`` can load a test module to find its ``exercise``, a test module imports nothing
at its top but pytest, the standard library and ``observe`` (no fastapi, starlette or library import).

    .venv/bin/pip install -r tests/ecosystem/requirements.txt    # a test whose libraries are missing is skipped
    .venv/bin/python -m pytest tests/ecosystem -q                   # turboapi and alias modes
    ECOSYSTEM_REFERENCE=1 .venv/bin/python -m pytest tests/ecosystem -q   # the same tests on FastAPI
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import httpx
import pytest
from _driver import RESULT_MARK

DRIVER = Path(__file__).resolve().parent / "_driver.py"
STARTUP_DEADLINE = 20.0
DRIVER_DEADLINE = 30.0
#: Variables that would make a subprocess differ from what the test wrote.
FOREIGN_ENV = ("TURBOAPI_", "OTEL_", "SENTRY_")

RUNNING = {
    "turboapi": re.compile(r"turboapi running on http://127\.0\.0\.1:(\d+)"),
    "alias": re.compile(r"turboapi running on http://127\.0\.0\.1:(\d+)"),
    "reference": re.compile(r"Uvicorn running on http://127\.0\.0\.1:(\d+)"),
}


@dataclass(frozen=True)
class Mode:
    framework: str  # turboapi | alias | reference
    client: str  # testclient | socket

    def __str__(self) -> str:
        return f"{self.framework}-{self.client}"


def selected_modes() -> list[Mode]:
    reference = os.environ.get("ECOSYSTEM_REFERENCE", "").strip().lower() in ("1", "true", "yes", "on")
    frameworks = ["reference"] if reference else ["turboapi", "alias"]
    return [Mode(framework, client) for framework in frameworks for client in ("testclient", "socket")]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "libraries(*distributions): the PyPI distributions a tests/ecosystem module needs "
        "(skipped when one is not installed: pip install -r tests/ecosystem/requirements.txt)",
    )
    config.addinivalue_line(
        "markers",
        "turboapi_differs(reason): a documented difference (README): expected to fail on turboapi, in both modes",
    )
    config.addinivalue_line(
        "markers",
        "needs_alias(reason): the library works only with `fastapi` resolving to turboapi (it checks the app's "
        "objects against real FastAPI's classes, or builds real FastAPI apps from them): expected to fail in the "
        "turboapi-* modes, and the alias-* modes show the way",
    )


def as_turboapi(source: str) -> str:
    """The app's own imports of fastapi, made imports of turboapi (the one-line change turboapi asks of
    an app); nothing else is touched."""
    if re.search(r"^\s*import fastapi\b", source, re.MULTILINE):
        raise ValueError("write app imports as `from fastapi[.x] import ...`, so that they can be redirected")
    return re.sub(r"^(\s*)from fastapi(\.|\s)", r"\1from turboapi\2", source, flags=re.MULTILINE)


def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(FOREIGN_ENV)}
    env["PYTHONUNBUFFERED"] = "1"
    return env


class Server:
    """The app served from ``project`` in a process of its own; stderr is collected line by line."""

    def __init__(self, framework: str, project: Path) -> None:
        if framework == "reference":
            args = ["-m", "uvicorn", "main:app", "--host", "127.0.0.1", "--port", "0"]
        else:
            args = ["-m", "turboapi", "run", "main:app", "--host", "127.0.0.1", "--port", "0"]
            if framework == "turboapi":
                args.append("--no-fastapi-alias")
        self.cmd = [sys.executable, *args]
        self.running = RUNNING[framework]
        self.lines: list[str] = []
        self._cond = threading.Condition()
        self._eof = False
        self.proc = subprocess.Popen(
            self.cmd,
            cwd=project,
            env=clean_env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,  # the running line, logs and tracebacks, in order
            text=True,
            start_new_session=True,  # so that a stray worker of its own dies with it
        )
        self._reader = threading.Thread(target=self._read, name="ecosystem-server-output", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._cond:
                self.lines.append(line.rstrip("\n"))
                self._cond.notify_all()
        with self._cond:
            self._eof = True
            self._cond.notify_all()

    @property
    def output(self) -> str:
        with self._cond:
            return "\n".join(self.lines)

    def wait_started(self) -> int:
        deadline = time.monotonic() + STARTUP_DEADLINE
        with self._cond:
            while True:
                for line in self.lines:
                    found = self.running.search(line)
                    if found:
                        return int(found.group(1))
                remaining = deadline - time.monotonic()
                if self._eof or remaining <= 0:
                    why = "it exited" if self._eof else f"not running after {STARTUP_DEADLINE:.0f} s"
                    if self._eof:
                        self._cond.release()
                        try:
                            self.proc.wait(2)  # for its exit code: the end of its output comes first
                        except subprocess.TimeoutExpired:
                            pass
                        finally:
                            self._cond.acquire()
                    raise AssertionError(
                        f"the server did not start ({why}; returncode={self.proc.poll()})\n"
                        f"command: {' '.join(self.cmd)}\n--- server output ---\n" + "\n".join(self.lines)
                    )
                self._cond.wait(min(remaining, 0.1))

    def stop(self) -> None:
        """SIGTERM, SIGKILL after 5 s; safe to call twice."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                pass
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)
        self._reader.join(2)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


class Ecosystem:
    """``ecosystem(app_source, exercise)``: ``exercise``'s result for the app in this test's mode."""

    def __init__(self, mode: Mode, tmp_path: Path, node: pytest.Item) -> None:
        self.mode = mode
        self.tmp_path = tmp_path
        self.node = node
        self.servers: list[Server] = []

    def __call__(self, app_source: str, exercise: Callable[[Any], Any]) -> Any:
        project = self.tmp_path / "project"
        project.mkdir(exist_ok=True)
        if self.mode.framework == "turboapi":
            app_source = as_turboapi(app_source)
        (project / "main.py").write_text(app_source)
        if self.mode.client == "testclient":
            return self._through_testclient(project, exercise)
        return self._on_socket(project, exercise)

    def _through_testclient(self, project: Path, exercise: Callable[[Any], Any]) -> Any:
        test_file = sys.modules[exercise.__module__].__file__
        assert test_file is not None
        cmd = [sys.executable, str(DRIVER), self.mode.framework, str(project), test_file, exercise.__name__]
        try:
            done = subprocess.run(
                cmd, cwd=project, env=clean_env(), capture_output=True, text=True, timeout=DRIVER_DEADLINE
            )
        except subprocess.TimeoutExpired as exc:
            raise AssertionError(f"the TestClient run did not end within {DRIVER_DEADLINE:.0f} s") from exc
        self.node.add_report_section("call", "testclient run's stderr", done.stderr)
        results = [line for line in done.stdout.splitlines() if line.startswith(RESULT_MARK)]
        if done.returncode != 0 or not results:
            raise AssertionError(f"the TestClient run failed (exit {done.returncode}):\n{last_lines(done.stderr, 60)}")
        return json.loads(results[-1][len(RESULT_MARK) :])

    def _on_socket(self, project: Path, exercise: Callable[[Any], Any]) -> Any:
        server = Server(self.mode.framework, project)
        self.servers.append(server)
        try:
            port = server.wait_started()
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10.0, follow_redirects=True) as client:
                # Through JSON, as the TestClient modes' results come: both modes give the test the same data.
                return json.loads(json.dumps(exercise(client)))
        finally:
            server.stop()
            self.node.add_report_section("call", "server output", server.output)

    def close(self) -> None:
        for server in self.servers:
            server.stop()


def last_lines(text: str, count: int) -> str:
    return "\n".join(text.splitlines()[-count:])


@pytest.fixture(params=selected_modes(), ids=str)
def ecosystem(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Ecosystem]:
    marker = request.node.get_closest_marker("libraries")
    for distribution in marker.args if marker else ():
        try:
            metadata.version(distribution)
        except metadata.PackageNotFoundError:
            pytest.skip(f"{distribution} is not installed (pip install -r tests/ecosystem/requirements.txt)")
    differs = request.node.get_closest_marker("turboapi_differs")
    if differs is not None and request.param.framework != "reference":
        request.applymarker(pytest.mark.xfail(reason=differs.args[0], strict=True))
    needs_alias = request.node.get_closest_marker("needs_alias")
    if needs_alias is not None and request.param.framework == "turboapi":
        request.applymarker(pytest.mark.xfail(reason=needs_alias.args[0], strict=True))
    runner = Ecosystem(request.param, tmp_path, request.node)
    try:
        yield runner
    finally:
        runner.close()
