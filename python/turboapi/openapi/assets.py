"""Swagger UI's and ReDoc's files shipped inside turboapi, and the route that serves them.

They are committed in ``static/`` (with their licences; ``scripts/fetch_docs_assets.py`` refreshes
them from a pinned registry package), so every build of the package ships them. Their URL holds
that package's version, so a browser may keep them for good.
"""

from __future__ import annotations

import functools
from pathlib import Path

from ..exceptions import HTTPException
from ..responses import Response
from ..routing import APIRoute

STATIC = Path(__file__).resolve().with_name("static")

#: The files the docs pages use, with their media types.
MEDIA_TYPES = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "oauth2-redirect.js": "text/javascript; charset=utf-8",
    "redoc.standalone.js": "text/javascript; charset=utf-8",
    "favicon.png": "image/png",
}


class DocsAssetsMissing(RuntimeError):
    """The package was built without the docs files."""


def _version() -> str:
    try:
        # "drf-spectacular-sidecar==2026.10.1" -> "2026.10.1"
        return (STATIC / "VERSION").read_text().strip().rpartition("=")[2] or "missing"
    except OSError:
        return "missing"


VERSION = _version()
#: Where the app serves the files (under its root_path).
PREFIX = f"/_turboapi/docs/{VERSION}"


def url(name: str) -> str:
    return f"{PREFIX}/{name}"


@functools.cache
def read(name: str) -> bytes:
    if name not in MEDIA_TYPES:
        raise KeyError(name)
    try:
        return (STATIC / name).read_bytes()
    except OSError as exc:
        raise DocsAssetsMissing(
            f"turboapi's docs file {name!r} is missing from {STATIC}: the package was installed "
            "without its data files (they are in the repository under python/turboapi/openapi/static)"
        ) from exc


def route() -> APIRoute:
    """The route serving the files: 404 for any other name; a 500 (the reason logged) if one is missing."""

    def docs_asset(name: str) -> Response:
        media_type = MEDIA_TYPES.get(name)
        if media_type is None:
            raise HTTPException(status_code=404, detail="Not Found")
        return Response(
            read(name), media_type=media_type, headers={"cache-control": "public, max-age=31536000, immutable"}
        )

    return APIRoute(PREFIX + "/{name}", docs_asset, include_in_schema=False, name="docs_asset")
