"""Put Swagger UI's and ReDoc's files into the package, so /docs and /redoc work with no internet.

They come from one pinned wheel of the registry, drf-spectacular-sidecar, which carries the
swagger-ui-dist (5.x) and redoc (2.x) builds and their licences. Only its static files are used:
the wheel is downloaded without its dependencies, its hash checked, and the files extracted into
python/turboapi/openapi/static/ (ignored by git; `make build-release` runs this script when they are
missing). The wheel is cached under target/, so a rebuild does not download it again.

Usage: python scripts/fetch_docs_assets.py [--force]
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


def main() -> None:
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
