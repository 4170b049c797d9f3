"""A multipart body parsed from the core's spool file, ``formparsing.CHUNK`` bytes at a time, answers
what FastAPI answers for the body in one piece (issue 13).

python-multipart skips a body's leading CR/LF and then everything up to the first "-", but only
within one ``write()``: a body that begins with a newline and is cut before its first "-" was an
empty form to FastAPI and a 400 ``Invalid multipart data.`` to turboapi reading it in chunks (found
on Python 3.13 by a random hypothesis run: ``b"\\r\\x00"`` read a byte at a time). The hypothesis
suite keeps the case as an ``@example``; these are the plain cases, at chunk sizes 1, 2, 3 and the
default, and one over a socket, where the core spools a body past 1 MiB and Python reads the file.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from typing import Any

import fastapi
import httpx
import pytest

from fastapi_reference import FastAPITestClient
from serverutil import start_server
from turboapi import formparsing
from turboapi.datastructures import close_form
from turboapi.exceptions import HTTPException

CONTENT_TYPE = "multipart/form-data; boundary=boundary"
FORM = (
    b'--boundary\r\nContent-Disposition: form-data; name="s"\r\n\r\nhello\r\n'
    b'--boundary\r\nContent-Disposition: form-data; name="up"; filename="a.txt"\r\n\r\nfi-le\r\n'
    b"--boundary--\r\n"
)
PAST_A_CHUNK = formparsing.CHUNK + 5

CASES = {
    "CR NUL (the case found)": b"\r\x00",
    "LF NUL": b"\n\x00",
    "CRLF only": b"\r\n",
    "CRLF and a CR, as a delimiter's line break would begin": b"\r\n\r",
    "CRLF and junk": b"\r\nxyz",
    "CRLF, a preamble, the form": b"\r\npreamble\r\n" + FORM,
    "LF, the form": b"\n" + FORM,
    "CRLF, a preamble longer than a chunk, the form": b"\r\n" + b"p" * PAST_A_CHUNK + b"\r\n" + FORM,
    "CR and junk longer than a chunk": b"\r" + b"\x00" * PAST_A_CHUNK,
    "no leading newline: a 400 both ways": b"x\r\n" + FORM,
    "the form alone": FORM,
}


def describe(form: Any) -> list[Any]:
    items: list[Any] = []
    for name, value in form.multi_items():
        if isinstance(value, str):
            items.append([name, value])
        else:
            value.file.seek(0)
            items.append([name, value.filename, value.file.read().decode("latin-1")])
    return items


reference_app = fastapi.FastAPI()


@reference_app.post("/raw")
async def raw(request: fastapi.Request):
    async with request.form() as form:
        return {"items": describe(form)}


@pytest.fixture(scope="module")
def fastapi_client():
    with FastAPITestClient(reference_app) as client:
        yield client


def fastapi_answer(client: Any, body: bytes) -> tuple[int, Any]:
    response = client.post("/raw", content=body, headers={"content-type": CONTENT_TYPE})
    return response.status_code, response.json()


def turboapi_answer(body: bytes, chunk: int | None) -> tuple[int, Any]:
    """parse_form from a spool file read ``chunk`` bytes at a time, or (None) from memory."""
    path = None
    try:
        if chunk is None:
            form = formparsing.parse_form(body, CONTENT_TYPE)
        else:
            with tempfile.NamedTemporaryFile(delete=False) as f:
                f.write(body)
                path = f.name
            with pytest.MonkeyPatch.context() as patch:
                patch.setattr(formparsing, "CHUNK", chunk)
                form = formparsing.parse_form(b"", CONTENT_TYPE, path)
    except HTTPException as exc:
        return exc.status_code, {"detail": exc.detail}
    finally:
        if path is not None:
            os.unlink(path)
    try:
        return 200, {"items": describe(form)}
    finally:
        close_form(form)


@pytest.mark.parametrize("chunk", [1, 2, 3, formparsing.CHUNK], ids=["1", "2", "3", "default"])
@pytest.mark.parametrize("body", list(CASES.values()), ids=list(CASES))
def test_spooled_parse_answers_as_fastapi(fastapi_client: Any, body: bytes, chunk: int) -> None:
    expected = fastapi_answer(fastapi_client, body)
    assert turboapi_answer(body, chunk) == expected
    assert turboapi_answer(body, None) == expected


def test_the_case_found_is_an_empty_form(fastapi_client: Any) -> None:
    assert fastapi_answer(fastapi_client, b"\r\x00") == (200, {"items": []})
    assert turboapi_answer(b"\r\x00", 1) == (200, {"items": []})


@pytest.mark.timeout(60)
def test_a_spooled_upload_after_a_long_preamble_over_a_socket() -> None:
    """Past 1 MiB the core spools the body and Python parses the file in CHUNK-sized writes: a
    preamble after a leading CRLF that ends past the first chunk was a 400."""
    content = bytes(range(256)) * 4500  # past 1 MiB, so that the core spools the body
    body = (
        b"\r\n"
        + b"p" * PAST_A_CHUNK
        + b'\r\n--boundary\r\nContent-Disposition: form-data; name="file"; filename="a.bin"\r\n\r\n'
        + content
        + b'\r\n--boundary\r\nContent-Disposition: form-data; name="note"\r\n\r\nhi\r\n--boundary--\r\n'
    )
    expected = {"filename": "a.bin", "size": len(content), "sha256": hashlib.sha256(content).hexdigest(), "note": "hi"}

    app = fastapi.FastAPI()

    @app.post("/upload")
    async def upload(file: fastapi.UploadFile, note: str = fastapi.Form("")):
        data = await file.read()
        return {"filename": file.filename, "size": len(data), "sha256": hashlib.sha256(data).hexdigest(), "note": note}

    with FastAPITestClient(app) as client:
        response = client.post("/upload", content=body, headers={"content-type": CONTENT_TYPE})
        assert (response.status_code, response.json()) == (200, expected)

    server = start_server("uploads")
    try:
        response = httpx.post(
            f"http://127.0.0.1:{server.port}/upload", content=body, headers={"content-type": CONTENT_TYPE}, timeout=30
        )
        assert response.status_code == 200, response.text
        assert {key: response.json()[key] for key in expected} == expected
    finally:
        server.stop()
