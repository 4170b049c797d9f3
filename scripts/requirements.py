"""Print what a venv on the running interpreter installs: pyproject.toml's runtime and dev
dependencies (one list, no copy here), changed where free-threaded CPython 3.13 needs it.

Usage: python scripts/requirements.py [--pins | --runtime]  (the Makefile runs it with the venv's
python; --pins: only the exact versions, as a constraints file; --runtime: without the dev ones)

On 3.13t (PEP 703, ``make python-ft``) some packages publish no free-threaded wheel and their
sources refuse that interpreter. What each dependency needs there is FREE_THREADED below; the rest
install as they are (uvloop, asyncpg and markupsafe build from source, about 2 minutes on 2 cores).
"""

from __future__ import annotations

import re
import sys
import sysconfig
import tomllib
from pathlib import Path

#: On 3.13t: a requirement's name -> (what replaces it, none to leave it out; why).
FREE_THREADED: dict[str, tuple[list[str], str]] = {
    "pydantic": (
        ["pydantic==2.12.3"],
        "its pydantic-core (2.41.4) has a 3.13t wheel; 2.41.5 builds only from source (3 min), the newest not at all",
    ),
    "orjson": ([], "no release builds on 3.13t (PyO3 or pyo3-ffi refuses it); turboapi encodes with the stdlib json"),
    "trustme": ([], "needs cryptography, hence cffi 2, which refuses 3.13t; the TLS tests are skipped"),
    "hypothesis": ([], "its pinned release has a PyO3 part that refuses 3.13t; the property tests are skipped"),
    "mypy": ([], "its compiled parser (ast-serialize, PyO3) refuses 3.13t; make lint runs on the default Python"),
    "uvicorn": (
        ["uvicorn>=0.30", "websockets>=13"],
        "[standard]'s watchfiles builds no 3.13t wheel from source; the tests need only its websockets",
    ),
}


def requirement_name(requirement: str) -> str:
    match = re.match(r"[A-Za-z0-9_.-]+", requirement)
    assert match, requirement
    return match.group(0).lower()


def requirements(free_threaded: bool, runtime_only: bool = False) -> list[str]:
    project = tomllib.loads((Path(__file__).parent.parent / "pyproject.toml").read_text())["project"]
    listed = project["dependencies"] + ([] if runtime_only else project["optional-dependencies"]["dev"])
    if not free_threaded:
        return listed
    changed = []
    for requirement in listed:
        replacements, _why = FREE_THREADED.get(requirement_name(requirement), ([requirement], ""))
        changed += replacements
    return changed


def pins(free_threaded: bool) -> list[str]:
    """The exact versions among the requirements (``--pins``: a constraints file for what else
    the venv gets, so that nothing moves them)."""
    return [requirement for requirement in requirements(free_threaded) if "==" in requirement]


if __name__ == "__main__":
    free_threaded = bool(sysconfig.get_config_var("Py_GIL_DISABLED")) and sys.version_info[:2] == (3, 13)
    option = sys.argv[1:2]
    if option == ["--pins"]:
        print("\n".join(pins(free_threaded)))
    else:
        print("\n".join(requirements(free_threaded, runtime_only=option == ["--runtime"])))
