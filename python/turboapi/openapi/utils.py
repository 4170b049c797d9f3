"""OpenAPI document generation (FastAPI's ``fastapi.openapi.utils``): not in turboapi yet; importing a name says so."""

_PLANNED = frozenset(
    {
        "generate_operation_id",
        "generate_operation_summary",
        "get_fields_from_routes",
        "get_openapi",
        "get_openapi_operation_metadata",
        "get_openapi_operation_request_body",
        "get_openapi_path",
        "status_code_ranges",
        "validation_error_definition",
        "validation_error_response_definition",
    }
)


def __getattr__(name: str) -> object:
    # Also reached by ``from turboapi.openapi.utils import <name>``; raising an ImportError there is what
    # makes that statement fail with this message instead of a bare "cannot import name".
    if name in _PLANNED:
        from turboapi import NotSupportedYet  # imported late: no cycle with turboapi/__init__.py

        raise NotSupportedYet(
            f"turboapi does not support FastAPI's {name!r} (fastapi.openapi.utils.{name}) yet; it is planned"
        )
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
