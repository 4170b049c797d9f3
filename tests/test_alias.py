"""``import fastapi`` served by turboapi (``turboapi.alias``): the package and its modules are
turboapi's, ``fastapi.__version__`` is the FastAPI release turboapi matches, a library's patch of
``fastapi.routing`` reaches turboapi's module, and ``turboapi run`` serves an app that imports
fastapi. Each check runs in a fresh interpreter: this process imports the real fastapi."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from test_cli import Cli

pytestmark = pytest.mark.timeout(60)


def run_python(code: str, cwd: Path | None = None, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args, "-c", code], cwd=cwd, capture_output=True, text=True, timeout=60)


def test_fastapi_resolves_to_turboapi() -> None:
    done = run_python(
        """
import turboapi.alias
turboapi.alias.install()
import fastapi, fastapi.routing, fastapi.responses, turboapi, turboapi.routing, turboapi.responses
from fastapi import FastAPI, Depends
from fastapi.testclient import TestClient
assert fastapi.__version__ == "0.141.1", fastapi.__version__
assert turboapi.__version__ != fastapi.__version__
assert FastAPI is turboapi.FastAPI and Depends is turboapi.Depends
assert fastapi.routing is turboapi.routing and fastapi.responses is turboapi.responses
fastapi.routing.patched_by_a_library = True
assert turboapi.routing.patched_by_a_library
try:
    import fastapi.no_such_module
except ModuleNotFoundError:
    pass
else:
    raise AssertionError("a module turboapi lacks must be a ModuleNotFoundError")
app = FastAPI()

@app.get("/")
def index():
    return {"ok": True}

assert TestClient(app).get("/").json() == {"ok": True}
print("ok")
"""
    )
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr


def test_installing_after_fastapi_was_imported_is_a_clear_error() -> None:
    done = run_python("import fastapi\nimport turboapi.alias\nturboapi.alias.install()")
    assert done.returncode == 1
    assert "the fastapi package was imported before turboapi's alias was installed" in done.stderr


def test_the_pytest_plugin_installs_it(tmp_path: Path) -> None:
    (tmp_path / "test_app.py").write_text(
        "import fastapi, turboapi\n\ndef test_it():\n    assert fastapi.FastAPI is turboapi.FastAPI\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "turboapi.pytest_plugin", "-p", "no:cacheprovider"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr


APP = """
from fastapi import FastAPI

app = FastAPI()


@app.get("/version")
def version():
    import fastapi

    return {"fastapi": fastapi.__version__, "app": type(app).__module__}
"""


def test_turboapi_run_serves_an_app_that_imports_fastapi(tmp_path: Path) -> None:
    (tmp_path / "main.py").write_text(APP)
    cli = Cli(tmp_path, "run", "main:app", "--port", "0")
    try:
        answer = httpx.get(f"http://127.0.0.1:{cli.port}/version", timeout=10).json()
        assert answer == {"fastapi": "0.141.1", "app": "turboapi.applications"}
    finally:
        assert cli.stop() == 0


def test_no_fastapi_alias_leaves_fastapi_alone(tmp_path: Path) -> None:
    """Without the alias the app is FastAPI's own: turboapi serves it whole, as an ASGI app."""
    (tmp_path / "main.py").write_text(APP)
    cli = Cli(tmp_path, "run", "main:app", "--port", "0", "--no-fastapi-alias")
    try:
        answer = httpx.get(f"http://127.0.0.1:{cli.port}/version", timeout=10).json()
        assert answer == {"fastapi": "0.141.1", "app": "fastapi.applications"}
    finally:
        assert cli.stop() == 0
