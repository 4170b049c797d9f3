"""The interactive docs pages: Swagger UI (``/docs``), its OAuth2 redirect page, and ReDoc (``/redoc``).

The functions have FastAPI's names and parameters. One difference: the JavaScript, CSS and favicon
default to the copies shipped inside turboapi (``turboapi.openapi.assets``), served by the app
itself, so the pages work on a machine with no internet; FastAPI's defaults point at a CDN. For the
same reason ReDoc does not load Google Fonts unless asked (``with_google_fonts=True``).
"""

from __future__ import annotations

import html
import json
from typing import Any

from ..encoders import jsonable_encoder
from ..responses import HTMLResponse
from . import assets

swagger_ui_default_parameters: dict[str, Any] = {
    "dom_id": "#swagger-ui",
    "layout": "BaseLayout",
    "deepLinking": True,
    "showExtensions": True,
    "showCommonExtensions": True,
}


def _script_json(value: Any) -> str:
    """``value`` as a JavaScript literal that is safe inside a ``<script>`` element: ``<``, ``>``
    and ``&`` are escaped, so a string holding ``</script>`` cannot end the element."""
    text = json.dumps(jsonable_encoder(value))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def get_swagger_ui_html(
    *,
    openapi_url: str,
    title: str,
    swagger_js_url: str = assets.url("swagger-ui-bundle.js"),
    swagger_css_url: str = assets.url("swagger-ui.css"),
    swagger_favicon_url: str = assets.url("favicon.png"),
    oauth2_redirect_url: str | None = None,
    init_oauth: dict[str, Any] | None = None,
    swagger_ui_parameters: dict[str, Any] | None = None,
) -> HTMLResponse:
    """The Swagger UI page for the document at ``openapi_url``."""
    config = {"url": openapi_url, **swagger_ui_default_parameters, **(swagger_ui_parameters or {})}
    options = [f"{_script_json(key)}: {_script_json(value)}," for key, value in config.items()]
    if oauth2_redirect_url:
        # Swagger UI needs an absolute URL; the page knows its origin, the server may not.
        options.append(f"oauth2RedirectUrl: window.location.origin + {_script_json(oauth2_redirect_url)},")
    options_js = "\n    ".join(options)
    init = f"ui.initOAuth({_script_json(init_oauth)});" if init_oauth else ""
    page = f"""<!DOCTYPE html>
<html>
<head>
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link type="text/css" rel="stylesheet" href="{html.escape(swagger_css_url)}">
<link rel="shortcut icon" href="{html.escape(swagger_favicon_url)}">
<title>{html.escape(title)}</title>
</head>
<body>
<div id="swagger-ui"></div>
<script src="{html.escape(swagger_js_url)}"></script>
<script>
const ui = SwaggerUIBundle({{
    {options_js}
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
}});
{init}
</script>
</body>
</html>
"""
    return HTMLResponse(page)


def get_redoc_html(
    *,
    openapi_url: str,
    title: str,
    redoc_js_url: str = assets.url("redoc.standalone.js"),
    redoc_favicon_url: str = assets.url("favicon.png"),
    with_google_fonts: bool = False,
) -> HTMLResponse:
    """The ReDoc page for the document at ``openapi_url``."""
    fonts = (
        '<link href="https://fonts.googleapis.com/css?family=Montserrat:300,400,700|Roboto:300,400,700"'
        ' rel="stylesheet">\n'
        if with_google_fonts
        else ""
    )
    page = f"""<!DOCTYPE html>
<html>
<head>
<title>{html.escape(title)}</title>
<meta charset="utf-8"/>
<meta name="viewport" content="width=device-width, initial-scale=1">
{fonts}<link rel="shortcut icon" href="{html.escape(redoc_favicon_url)}">
<style>body {{ margin: 0; padding: 0; }}</style>
</head>
<body>
<noscript>ReDoc requires JavaScript to function. Please enable it to browse the documentation.</noscript>
<redoc spec-url="{html.escape(openapi_url)}"></redoc>
<script src="{html.escape(redoc_js_url)}"></script>
</body>
</html>
"""
    return HTMLResponse(page)


def get_swagger_ui_oauth2_redirect_html() -> HTMLResponse:
    """The page an OAuth2 provider redirects to after a login started from Swagger UI: it hands the
    code or token back to the Swagger UI window that opened it (swagger-ui-dist's own script)."""
    script = assets.read("oauth2-redirect.js").decode()
    page = f"""<!doctype html>
<html lang="en-US">
<head>
<title>Swagger UI: OAuth2 Redirect</title>
</head>
<body>
<script>
{script}
</script>
</body>
</html>
"""
    return HTMLResponse(page)
