"""/docs, /docs/oauth2-redirect and /redoc through the core, against FastAPI 0.141.1.

The pages differ from FastAPI's in one way on purpose: their JavaScript, CSS and favicon come from
the app (files shipped in turboapi), not from a CDN. Everything else is compared: which URLs exist
for which settings, status and content type, the OpenAPI URL the page loads, the Swagger UI options.
The browser test (test_docs_browser.py) shows the pages work.
"""

from __future__ import annotations

import json
import re

import fastapi
import pytest

import turboapi
from fastapi_reference import FastAPITestClient
from turboapi.openapi import assets
from turboapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from turboapi.testclient import TestClient

SETTINGS = [
    {},
    {"docs_url": None},
    {"redoc_url": None},
    {"openapi_url": None},
    {"docs_url": "/api-docs", "redoc_url": "/api-redoc", "openapi_url": "/spec.json"},
    {"swagger_ui_oauth2_redirect_url": None},
    {"swagger_ui_oauth2_redirect_url": "/oauth/callback"},
    {"root_path": "/api"},
]
PATHS = ["/docs", "/redoc", "/docs/oauth2-redirect", "/openapi.json", "/api-docs", "/api-redoc", "/spec.json"]
PATHS += ["/oauth/callback", "/api/docs"]


def _twins(**settings):
    def build(framework):
        app = framework.FastAPI(title="Docs <test>", **settings)

        @app.get("/items/{item_id}")
        def read_item(item_id: int):
            return {"item_id": item_id}

        return app

    return FastAPITestClient(build(fastapi)), TestClient(build(turboapi))


def _openapi_url(page: str) -> str | None:
    """The document URL a Swagger UI or ReDoc page loads."""
    found = re.search(r"""url["']?: ['"]([^'"]+)['"]""", page) or re.search(r'spec-url="([^"]+)"', page)
    return found.group(1) if found else None


@pytest.mark.parametrize("settings", SETTINGS, ids=lambda s: ",".join(f"{k}={v}" for k, v in s.items()) or "default")
@pytest.mark.parametrize("path", PATHS)
def test_pages_exist_for_the_same_settings(settings, path):
    theirs, ours = _twins(**settings)
    expected, got = theirs.get(path), ours.get(path)
    assert got.status_code == expected.status_code
    assert got.headers.get("content-type") == expected.headers.get("content-type")
    if expected.status_code == 200 and "html" in expected.headers["content-type"]:
        assert _openapi_url(got.text) == _openapi_url(expected.text)
        assert ("<title>" in got.text) and (
            re.search("<title>(.*)</title>", got.text).group(1)
            == re.search("<title>(.*)</title>", expected.text).group(1).replace("<", "&lt;").replace(">", "&gt;")
        )
    elif expected.status_code == 200:
        assert got.json() == expected.json()


def test_swagger_ui_options_are_fastapis():
    options = {"syntaxHighlight": False, "deepLinking": False, "docExpansion": "none"}
    init = {"clientId": "my-client", "appName": "</script><script>alert(1)</script>"}
    theirs, ours = (
        client.get("/docs").text
        for client in _twins(swagger_ui_parameters=options, swagger_ui_init_oauth=init, root_path="/p")
    )

    def config(page: str) -> dict:
        # "key": value lines of the SwaggerUIBundle({...}) call, as JSON
        pairs = re.findall(r'^\s*"?(\w+)"?: (.+?),?$', page.split("SwaggerUIBundle(", 1)[1].split("presets")[0], re.M)
        return {key: value.strip().rstrip(",") for key, value in pairs}

    ours_config, their_config = config(ours), config(theirs)
    assert set(ours_config) == set(their_config)
    for key in set(their_config) - {"url", "oauth2RedirectUrl"}:
        assert json.loads(ours_config[key]) == json.loads(their_config[key]), key
    assert "window.location.origin" in ours_config["oauth2RedirectUrl"]
    assert "/p/docs/oauth2-redirect" in ours_config["oauth2RedirectUrl"]
    # init_oauth is passed as JSON that cannot end the <script> element
    assert "</script><script>alert" not in ours
    assert json.loads(re.search(r"ui.initOAuth\((.*)\);", ours).group(1)) == init


def test_pages_load_the_shipped_files_and_they_are_served():
    _, client = _twins(root_path="/p")
    for page in ("/docs", "/redoc"):
        links = re.findall(r'(?:src|href)="([^"]+)"', client.get(page).text)
        assert links, page
        for link in links:
            assert link.startswith("/p/_turboapi/docs/"), link  # local, under the root_path
            reply = client.get(link)
            assert reply.status_code == 200, link
            assert reply.content == (assets.STATIC / link.rsplit("/", 1)[1]).read_bytes()
            assert reply.headers["cache-control"] == "public, max-age=31536000, immutable"
            assert reply.headers["content-type"] == assets.MEDIA_TYPES[link.rsplit("/", 1)[1]]


def test_unknown_asset_names_are_404_and_the_route_is_not_documented():
    _, client = _twins()
    for name in ("nope.js", "VERSION", "..%2FVERSION", "swagger-ui.LICENSE"):
        reply = client.get(f"{assets.PREFIX}/{name}")
        assert reply.status_code == 404, name
        assert reply.json() == {"detail": "Not Found"}
    assert list(client.get("/openapi.json").json()["paths"]) == ["/items/{item_id}"]


def test_no_asset_route_without_pages():
    _, client = _twins(docs_url=None, redoc_url=None)
    assert client.get(assets.url("swagger-ui-bundle.js")).status_code == 404


def test_the_redirect_page_runs_swagger_uis_script():
    _, client = _twins()
    page = client.get("/docs/oauth2-redirect").text
    assert assets.read("oauth2-redirect.js").decode() in page
    assert "swaggerUIRedirectOauth2" in page


def test_functions_have_fastapis_parameters():
    import inspect

    from fastapi.openapi import docs as theirs

    for ours, their in (
        (get_swagger_ui_html, theirs.get_swagger_ui_html),
        (get_redoc_html, theirs.get_redoc_html),
        (get_swagger_ui_oauth2_redirect_html, theirs.get_swagger_ui_oauth2_redirect_html),
    ):
        assert list(inspect.signature(ours).parameters) == list(inspect.signature(their).parameters)


def test_functions_called_by_hand_for_custom_docs():
    app = turboapi.FastAPI(docs_url=None, redoc_url=None)

    @app.get("/custom-docs", include_in_schema=False)
    def custom_docs():
        return get_swagger_ui_html(openapi_url=app.openapi_url, title="Custom", swagger_js_url="/static/x.js")

    @app.get("/custom-redoc", include_in_schema=False)
    def custom_redoc():
        return get_redoc_html(openapi_url="/openapi.json", title="R", with_google_fonts=True)

    client = TestClient(app)
    page = client.get("/custom-docs")
    assert page.status_code == 200 and page.headers["content-type"] == "text/html; charset=utf-8"
    assert '<script src="/static/x.js"></script>' in page.text
    assert _openapi_url(page.text) == "/openapi.json"
    assert "fonts.googleapis.com" in client.get("/custom-redoc").text
    assert "fonts.googleapis.com" not in get_redoc_html(openapi_url="/o", title="t").body.decode()
