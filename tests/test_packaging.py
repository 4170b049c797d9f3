"""Every way of building the package ships what it needs: a clean clone's sdist and the wheel built
from it (maturin, as `pip install .`, `pip wheel .` and `pip install git+...` build it) hold the
Swagger UI and ReDoc files, and that wheel, installed into a fresh venv, serves /docs and /redoc
with their files.

The build compiles the extension from the clone (the crate only: the compiled dependencies of the
checkout's target/ are reused through CARGO_TARGET_DIR), so this module takes a minute or two.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from test_cli import Cli

pytestmark = pytest.mark.timeout(900)

REPO = Path(__file__).resolve().parent.parent
DOCS_FILES = ["swagger-ui-bundle.js", "swagger-ui.css", "oauth2-redirect.js", "redoc.standalone.js", "favicon.png"]
LICENCES = ["swagger-ui.LICENSE", "redoc.LICENSE"]

APP = """
from turboapi import FastAPI

app = FastAPI()


@app.get("/json")
def json():
    return {"ok": True}
"""


def run(*args: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None) -> None:
    done = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=840)
    assert done.returncode == 0, f"{' '.join(map(str, args))} failed:\n{done.stdout}\n{done.stderr}"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    """(sdist, wheel built from that sdist), both from a clean clone of the checkout's HEAD."""
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("needs git and a git checkout")
    status = ["git", "status", "--porcelain", "--", "src", "Cargo.toml", "Cargo.lock"]
    changed = subprocess.run(status, cwd=REPO, capture_output=True, text=True).stdout
    if changed.strip():
        # The clone's crate is built in the checkout's target/, and cargo takes it as up to date when
        # its (older, unpacked) sources are older than the artifact: the wheel would hold the
        # uncommitted core with HEAD's Python. What is tested is HEAD's packaging.
        pytest.skip("uncommitted changes to the Rust core: commit them first (the wheel is built from HEAD)")
    work = tmp_path_factory.mktemp("packaging")
    clone = work / "clone"
    run("git", "clone", "--quiet", "--no-hardlinks", REPO, clone)
    env = {**os.environ, "CARGO_TARGET_DIR": str(REPO / "target")}
    run(sys.executable, "-m", "maturin", "sdist", "--out", work / "dist", cwd=clone, env=env)
    (sdist,) = (work / "dist").glob("turboapi-*.tar.gz")
    # From the sdist, as pip builds a package from PyPI or a git URL (maturin is the build backend).
    run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
        "--wheel-dir", work / "wheels", sdist, env=env)  # fmt: skip
    (wheel,) = (work / "wheels").glob("turboapi-*.whl")
    yield sdist, wheel


@pytest.mark.parametrize("kind", ["sdist", "wheel"])
def test_the_docs_files_and_their_licences_are_in_the_package(built: tuple[Path, Path], kind: str) -> None:
    sdist, wheel = built
    if kind == "sdist":
        with tarfile.open(sdist) as archive:
            names = archive.getnames()
    else:
        with zipfile.ZipFile(wheel) as archive:
            names = archive.namelist()
    for name in [*DOCS_FILES, *LICENCES, "VERSION"]:
        assert any(n.endswith(f"turboapi/openapi/static/{name}") for n in names), f"{name} is not in the {kind}"


def test_the_wheel_serves_the_docs_from_a_fresh_venv(built: tuple[Path, Path], tmp_path: Path) -> None:
    _, wheel = built
    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", venv)
    python = venv / "bin" / "python"
    if sysconfig.get_config_var("Py_GIL_DISABLED"):
        # Free-threaded 3.13: pyproject's orjson and newest pydantic do not install there, so the
        # wheel goes in without them and its dependencies as the README says (scripts/requirements.py).
        runtime = subprocess.run(
            [python, REPO / "scripts" / "requirements.py", "--runtime"], capture_output=True, text=True, check=True
        ).stdout.splitlines()
        run(python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *runtime)
        run(python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps", wheel)
    else:
        run(python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", wheel)
    (tmp_path / "main.py").write_text(APP)
    cli = Cli(tmp_path, "run", "main:app", "--port", "0", python=str(python))
    try:
        base = f"http://127.0.0.1:{cli.port}"
        with httpx.Client(base_url=base, timeout=10) as client:
            docs = client.get("/docs")
            redoc = client.get("/redoc")
            assert docs.status_code == 200 and redoc.status_code == 200
            urls = re.findall(r'"(/_turboapi/docs/[^"]+)"', docs.text + redoc.text)
            assert {u.rsplit("/", 1)[1] for u in urls} >= {
                "swagger-ui-bundle.js",
                "swagger-ui.css",
                "redoc.standalone.js",
            }
            assert "/missing/" not in " ".join(urls), urls
            for url in set(urls):
                asset = client.get(url)
                assert asset.status_code == 200, (url, asset.status_code, asset.text[:200])
            bundle = next(u for u in urls if u.endswith("swagger-ui-bundle.js"))
            assert len(client.get(bundle).content) > 500_000
            assert client.get("/docs/oauth2-redirect").status_code == 200
            assert client.get("/json").json() == {"ok": True}
    finally:
        cli.stop()
