"""The import surface: FastAPI's names where turboapi has them, a clear error where it has not yet."""

import pytest

import turboapi


@pytest.mark.parametrize(
    "name",
    [
        "FastAPI",
        "TurboAPI",
        "HTTPException",
        "Query",
        "Path",
        "Header",
        "Cookie",
        "Body",
        "Request",
        "Response",
        "APIRouter",
        "status",
    ],
)
def test_supported_names_import(name):
    assert getattr(turboapi, name) is not None


def test_fastapi_is_an_alias_of_turboapi():
    assert turboapi.FastAPI is turboapi.TurboAPI


@pytest.mark.parametrize("name", ["Depends", "BackgroundTasks", "Form", "File", "UploadFile", "WebSocket"])
def test_unsupported_fastapi_names_fail_clearly(name):
    with pytest.raises(ImportError, match=f"turboapi does not support FastAPI's '{name}' yet"):
        exec(f"from turboapi import {name}", {})


def test_unknown_names_are_attribute_errors():
    with pytest.raises(AttributeError):
        turboapi.NoSuchThing  # noqa: B018


def test_status_constants():
    from turboapi import status

    assert status.HTTP_404_NOT_FOUND == 404
    assert status.HTTP_422_UNPROCESSABLE_ENTITY == 422
