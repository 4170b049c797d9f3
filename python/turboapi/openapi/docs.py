"""Swagger UI and ReDoc pages (FastAPI's ``fastapi.openapi.docs``): not in turboapi yet; importing a name says so."""

_PLANNED = frozenset(
    {
        "get_redoc_html",
        "get_swagger_ui_html",
        "get_swagger_ui_oauth2_redirect_html",
        "swagger_ui_default_parameters",
    }
)


def __getattr__(name: str) -> object:
    # Also reached by ``from turboapi.openapi.docs import <name>``; raising an ImportError there is what
    # makes that statement fail with this message instead of a bare "cannot import name".
    if name in _PLANNED:
        from turboapi import NotSupportedYet  # imported late: no cycle with turboapi/__init__.py

        raise NotSupportedYet(
            f"turboapi does not support FastAPI's {name!r} (fastapi.openapi.docs.{name}) yet; it is planned"
        )
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
