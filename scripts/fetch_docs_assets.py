"""Refresh the vendored Swagger UI and ReDoc files that /docs and /redoc serve with no internet.

The files are committed in python/turboapi/openapi/static/ (with their licences), so every build of
the package (make, `pip install .`, a wheel or an sdist built by maturin) ships them. They come
from one pinned wheel of the registry, drf-spectacular-sidecar, which carries the swagger-ui-dist
(5.x) and redoc (2.x) builds and their licences. Only its static files are used: the wheel is
downloaded without its dependencies, its hash checked, and the files extracted. To move to another
version, change VERSION and SHA256 below, run this script, and commit the result.

Usage: python scripts/fetch_docs_assets.py [--force]     (--check: exit 1 if the files differ)
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

PACKAGE = "drf-spectacular-sidecar"
VERSION = "2026.10.1"
WHEEL = f"drf_spectacular_sidecar-{VERSION}-py3-none-any.whl"
SHA256 = "fe1d005d8ac9b5d0472f2fe5deeb2e7d6dcffaa24118044f22578b4b8c4b31f2"

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "target" / "docs-assets"
DEST = ROOT / "python" / "turboapi" / "openapi" / "static"
PREFIX = "drf_spectacular_sidecar/static/drf_spectacular_sidecar/"

#: wheel member (under PREFIX) -> file name in the package
FILES = {
    "swagger-ui-dist/swagger-ui-bundle.js": "swagger-ui-bundle.js",
    "swagger-ui-dist/swagger-ui.css": "swagger-ui.css",
    "swagger-ui-dist/oauth2-redirect.js": "oauth2-redirect.js",
    "swagger-ui-dist/favicon-32x32.png": "favicon.png",
    "swagger-ui-dist/LICENSE": "swagger-ui.LICENSE",
    "swagger-ui-dist/swagger-ui-bundle.js.LICENSE.txt": "swagger-ui-bundle.js.LICENSE.txt",
    "redoc/bundles/redoc.standalone.js": "redoc.standalone.js",
    "redoc/LICENSE": "redoc.LICENSE",
    "redoc/bundles/redoc.standalone.js.LICENSE.txt": "redoc.standalone.js.LICENSE.txt",
}


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def download() -> Path:
    wheel = CACHE / WHEEL
    if wheel.exists() and sha256(wheel) == SHA256:
        return wheel
    CACHE.mkdir(parents=True, exist_ok=True)
    wheel.unlink(missing_ok=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary", ":all:"]
        + ["-d", str(CACHE), f"{PACKAGE}=={VERSION}"],
        check=True,
    )
    got = sha256(wheel)
    if got != SHA256:
        wheel.unlink()
        raise SystemExit(f"{WHEEL}: sha256 {got} is not the pinned {SHA256}; refusing to use it")
    return wheel


def check() -> int:
    """Do the committed files equal the pinned wheel's? (A hand edit or a partial update would show.)"""
    with zipfile.ZipFile(download()) as archive:
        stale = [name for member, name in FILES.items() if (DEST / name).read_bytes() != archive.read(PREFIX + member)]
    stamp_ok = (DEST / "VERSION").read_text().strip() == f"{PACKAGE}=={VERSION}"
    if stale or not stamp_ok:
        print(f"docs assets differ from {PACKAGE}=={VERSION}: {', '.join(stale) or 'VERSION'}")
        return 1
    print(f"docs assets: {PACKAGE}=={VERSION}, all {len(FILES)} files as pinned")
    return 0


def main() -> None:
    if "--check" in sys.argv:
        raise SystemExit(check())
    stamp = DEST / "VERSION"
    if "--force" not in sys.argv and stamp.exists() and stamp.read_text().strip() == f"{PACKAGE}=={VERSION}":
        stamp.touch()  # up to date: tell make so
        return
    wheel = download()
    if DEST.exists():
        shutil.rmtree(DEST)
    DEST.mkdir(parents=True)
    with zipfile.ZipFile(wheel) as archive:
        for member, name in FILES.items():
            (DEST / name).write_bytes(archive.read(PREFIX + member))
    # Written last: its presence means the set is complete.
    stamp.write_text(f"{PACKAGE}=={VERSION}\n")
    print(f"docs assets: {PACKAGE}=={VERSION} -> {DEST.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
