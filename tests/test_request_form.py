"""``request.form()`` as Starlette's: awaited, or used as an async context manager that closes
the form's files; a body in a charset that cannot be decoded is a 400. And ``Form`` parameters: the
form they come from is the request's, and a ``default_factory`` is called as in FastAPI 0.141.1."""

from typing import Annotated

import pytest

from fastapi_reference import both
from turboapi import FastAPI, File, Form, Request, UploadFile
from turboapi.testclient import TestClient

app = FastAPI()
CLOSED: list[bool] = []


@app.post("/awaited")
async def awaited(request: Request):
    form = await request.form()
    again = await request.form()  # parsed once, the same object
    return {"name": form["name"], "same": form is again}


@app.post("/managed")
async def managed(request: Request):
    async with request.form() as form:
        upload = form["file"]
        content = (await upload.read()).decode()
    CLOSED.append(upload.file.closed)
    return {"name": form["name"], "file": content, "filename": upload.filename}


@app.post("/limits")
async def limits(request: Request):
    await request.form(max_files=5)


def test_awaited_and_managed() -> None:
    with TestClient(app) as client:
        assert client.post("/awaited", data={"name": "n"}).json() == {"name": "n", "same": True}
        resp = client.post("/managed", data={"name": "n"}, files={"file": ("a.txt", b"hi")})
        assert resp.json() == {"name": "n", "file": "hi", "filename": "a.txt"}
        assert CLOSED == [True]


def test_undecodable_charset_is_400() -> None:
    body = b'--B\r\nContent-Disposition: form-data; name="s"\r\n\r\nx\r\n--B--'
    with TestClient(app) as client:
        resp = client.post(
            "/awaited", content=body, headers={"content-type": "multipart/form-data; boundary=B; charset=undefined"}
        )
    assert (resp.status_code, resp.json()) == (400, {"detail": "There was an error parsing the body"})


def test_custom_limits_say_they_are_not_supported() -> None:
    with TestClient(app) as client, pytest.raises(NotImplementedError, match="default limits"):
        client.post("/limits", data={"name": "n"})


def test_headers_encode_with_each_names_first_value() -> None:
    """A part's repeated header, echoed in a 422's input: FastAPI's encoder keeps the first."""
    from fastapi.encoders import jsonable_encoder as fastapi_encoder
    from starlette.datastructures import Headers as StarletteHeaders

    from turboapi.datastructures import Headers
    from turboapi.encoders import jsonable_encoder

    raw = [(b"content-transfer-encoding", b"binary"), (b"content-transfer-encoding", b"base64")]
    assert jsonable_encoder(Headers(raw=raw)) == fastapi_encoder(StarletteHeaders(raw=raw))
    assert jsonable_encoder(Headers(raw=raw)) == {"content-transfer-encoding": "binary"}


@app.post("/fields")
async def fields(request: Request, name: str = Form(), up: UploadFile = File()):
    form = await request.form()
    return {"same_file": form["up"] is up, "name": form["name"] == name}


def test_the_form_of_form_parameters_is_the_requests() -> None:
    """request.form() in a route with Form/File parameters is the form they came from (not a
    second parse reading the files again), as in FastAPI."""
    with TestClient(app) as client:
        resp = client.post("/fields", data={"name": "n"}, files={"up": ("a.txt", b"hi")})
    assert resp.json() == {"same_file": True, "name": True}


def test_form_default_factory_is_called() -> None:
    def build(fw):
        app = fw.FastAPI()

        @app.post("/form")
        def form(
            x: Annotated[str, fw.Form(default_factory=lambda: "z")], tags: list[str] = fw.Form(default_factory=list)
        ):
            return {"x": x, "tags": tags}

        return app

    replies = {name: client.post("/form", data={"other": "1"}) for name, client in both(build).items()}
    assert replies["turboapi"].status_code == replies["fastapi"].status_code == 200
    assert replies["turboapi"].json() == replies["fastapi"].json() == {"x": "z", "tags": []}
