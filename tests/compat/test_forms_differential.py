"""Differential test: forms and files, FastAPI vs turboapi.

``build_app(fw, route)`` is written once against a namespace of framework names
and instantiated for ``fastapi`` and for ``turboapi``.  See
``differential_harness`` for what is compared.  Cases where turboapi differs are
kept and marked ``xfail(strict=True)`` with the difference as the reason.
"""

from typing import Annotated, Any

import pytest
from pydantic import BaseModel, ConfigDict

from .differential_harness import Apps, C, Case, apps_fixture, assert_unique_ids, check, multipart


class LoginForm(BaseModel):
    username: str
    password: str
    remember: bool = False
    tags: list[str] = []


class StrictForm(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    count: int = 1


def describe(upload: Any, content: bytes) -> dict[str, Any]:
    return {
        "filename": upload.filename,
        "content_type": upload.content_type,
        "size": upload.size,
        "length": len(content),
        "head": content[:40].decode("latin-1"),
        "header_ct": upload.headers.get("content-type"),
    }


def build_app(fw: Any, route: Any) -> Any:
    Form, File, UploadFile = fw.Form, fw.File, fw.UploadFile
    app = fw.FastAPI()

    def post(path: str, **kw: Any) -> Any:
        return route(app, "post", path, **kw)

    # ------------------------------------------------------------------ form fields
    @post("/form/basic")
    def form_basic(
        username: Annotated[str, Form()],
        age: Annotated[int, Form()],
        nick: Annotated[str | None, Form()] = None,
        tags: Annotated[list[str], Form()] = [],  # noqa: B006 -- a FastAPI default, never mutated
    ):
        return {"username": username, "age": age, "nick": nick, "tags": tags}

    @post("/form/default-style")
    async def form_default_style(username: str = Form(), city: str = Form("Paris"), n: int | None = Form(None)):
        return {"username": username, "city": city, "n": n}

    @post("/form/constraints")
    def form_constraints(
        code: Annotated[str, Form(min_length=3, max_length=5, pattern="^[a-z]+$")],
        n: Annotated[int, Form(gt=0, le=10, alias="num")] = 1,
        flag: bool = Form(False),
    ):
        return {"code": code, "n": n, "flag": flag}

    @post("/form/list-int")
    def form_list_int(ids: Annotated[list[int], Form()]):
        return {"ids": ids}

    @post("/form/model")
    def form_model(data: Annotated[LoginForm, Form()]):
        return data

    @post("/form/model-forbid")
    async def form_model_forbid(data: Annotated[StrictForm, Form()]):
        return data

    # ------------------------------------------------------------------ files
    @post("/files/bytes")
    def files_bytes(file: Annotated[bytes, File()]):
        return {"length": len(file), "head": file[:40].decode("latin-1")}

    @post("/files/upload")
    async def files_upload(file: UploadFile):
        return describe(file, await file.read())

    @post("/files/upload-sync")
    def files_upload_sync(file: UploadFile = File(description="A file")):
        return describe(file, file.file.read())

    @post("/files/alias")
    async def files_alias(file: Annotated[UploadFile, File(alias="upload")]):
        return describe(file, await file.read())

    @post("/files/many")
    async def files_many(files: list[UploadFile]):
        return [describe(f, await f.read()) for f in files]

    @post("/files/many-bytes")
    def files_many_bytes(files: Annotated[list[bytes], File()]):
        return {"lengths": [len(f) for f in files]}

    @post("/files/mixed")
    async def files_mixed(
        token: Annotated[str, Form()],
        file: Annotated[UploadFile, File()],
        note: Annotated[str | None, Form()] = None,
        extra: Annotated[list[UploadFile], File()] = [],  # noqa: B006 -- a FastAPI default, never mutated
    ):
        return {
            "token": token,
            "note": note,
            "file": describe(file, await file.read()),
            "extra": [f.filename for f in extra],
        }

    @post("/files/optional")
    async def files_optional(
        file: UploadFile | None = File(None),
        data: Annotated[bytes | None, File()] = None,
        label: Annotated[str, Form()] = "none",
    ):
        return {
            "file": None if file is None else describe(file, await file.read()),
            "data": None if data is None else len(data),
            "label": label,
        }

    return app


FACTORIES = {"main": build_app}

# --------------------------------------------------------------------------- cases

JSON_CT = {"content-type": "application/json"}
URLENC = {"content-type": "application/x-www-form-urlencoded"}
BIG = bytes(range(256)) * 4800  # ~1.2 MB: past the 1 MiB spool threshold
LOGIN = {"username": "u", "password": "p"}


def mp(case_id: str, url: str, expect: int, parts: list[tuple[str, Any]], **kw: Any) -> Any:
    body, headers = multipart(parts)
    return C(case_id, "POST", url, expect, content=body, headers=headers, **kw)


FORM_CASES = [
    C("form-urlencoded-ok", "POST", "/form/basic", 200, data={"username": "u", "age": "3"}),
    mp("form-multipart-ok", "/form/basic", 200, [("username", "u"), ("age", "3")]),
    C(
        "form-all-fields",
        "POST",
        "/form/basic",
        200,
        data={"username": "u", "age": "3", "nick": "n", "tags": ["a", "b"]},
    ),
    mp("form-multipart-list", "/form/basic", 200, [("username", "u"), ("age", "3"), ("tags", "x"), ("tags", "y")]),
    C("form-tags-single", "POST", "/form/basic", 200, data={"username": "u", "age": "3", "tags": "one"}),
    C("form-missing-all", "POST", "/form/basic", 422),
    C("form-missing-age", "POST", "/form/basic", 422, data={"username": "u"}),
    C("form-age-invalid", "POST", "/form/basic", 422, data={"username": "u", "age": "old"}),
    C("form-empty-optional-is-default", "POST", "/form/basic", 200, data={"username": "u", "age": "3", "nick": ""}),
    C("form-empty-required-str-is-missing", "POST", "/form/basic", 422, data={"username": "", "age": "3"}),
    C("form-empty-required-int-is-missing", "POST", "/form/basic", 422, data={"username": "u", "age": ""}),
    mp("form-multipart-empty-required", "/form/basic", 422, [("username", ""), ("age", "1")]),
    C("form-json-body", "POST", "/form/basic", 422, json={"username": "u", "age": 3}),
    C(
        "form-text-plain-body",
        "POST",
        "/form/basic",
        422,
        content=b"username=u&age=3",
        headers={"content-type": "text/plain"},
    ),
    C("form-no-content-type", "POST", "/form/basic", 422, content=b"username=u&age=3"),
    C("form-urlencoded-percent-utf8", "POST", "/form/basic", 200, content=b"username=caf%C3%A9&age=1", headers=URLENC),
    C("form-urlencoded-raw-utf8", "POST", "/form/basic", 200, content="username=café&age=1".encode(), headers=URLENC),
    C("form-urlencoded-plus", "POST", "/form/basic", 200, content=b"username=a+b%2Bc&age=1", headers=URLENC),
    C("form-urlencoded-no-value", "POST", "/form/basic", 422, content=b"username&age=1", headers=URLENC),
    C("form-urlencoded-blank-pairs", "POST", "/form/basic", 200, content=b"&&username=u&&age=2&", headers=URLENC),
    mp("form-multipart-unicode", "/form/basic", 200, [("username", "名前 é"), ("age", "7")]),
    mp(
        "form-file-part-in-str-field",
        "/form/basic",
        422,
        [("username", ("u.txt", b"u", "text/plain")), ("age", "1")],
    ),
    C("form-extra-fields-ignored", "POST", "/form/basic", 200, data={"username": "u", "age": "3", "zzz": "1"}),
    C(
        "form-repeated-scalar-last-wins",
        "POST",
        "/form/basic",
        200,
        content=b"username=a&username=b&age=1",
        headers=URLENC,
    ),
    C("form-default-style-ok", "POST", "/form/default-style", 200, data={"username": "u"}),
    C("form-default-style-values", "POST", "/form/default-style", 200, data={"username": "u", "city": "", "n": "4"}),
    C("form-default-style-invalid", "POST", "/form/default-style", 422, data={"n": "x"}),
    C("form-constraints-ok", "POST", "/form/constraints", 200, data={"code": "abc", "num": "10", "flag": "on"}),
    C("form-constraints-violations", "POST", "/form/constraints", 422, data={"code": "AB", "num": "11"}),
    C("form-constraints-too-long", "POST", "/form/constraints", 422, data={"code": "abcdef", "num": "0"}),
    C("form-alias-python-name-ignored", "POST", "/form/constraints", 200, data={"code": "abc", "n": "5"}),
    C("form-bool-yes", "POST", "/form/constraints", 200, data={"code": "abc", "flag": "yes"}),
    C("form-bool-invalid", "POST", "/form/constraints", 422, data={"code": "abc", "flag": "sure"}),
    C("form-list-int-ok", "POST", "/form/list-int", 200, data={"ids": ["1", "2"]}),
    C("form-list-int-missing", "POST", "/form/list-int", 422),
    C("form-list-int-bad", "POST", "/form/list-int", 422, data={"ids": ["1", "z"]}),
]

FORM_MODEL_CASES = [
    C("form-model-ok", "POST", "/form/model", 200, data=LOGIN),
    mp("form-model-multipart", "/form/model", 200, [("username", "u"), ("password", "p"), ("remember", "true")]),
    C("form-model-missing-password", "POST", "/form/model", 422, data={"username": "u"}),
    C("form-model-missing-all", "POST", "/form/model", 422),
    C("form-model-repeated-tags", "POST", "/form/model", 200, data={**LOGIN, "tags": ["a", "b"]}),
    C("form-model-extra-ignored", "POST", "/form/model", 200, data={**LOGIN, "other": "x"}),
    C("form-model-bool-invalid", "POST", "/form/model", 422, data={**LOGIN, "remember": "perhaps"}),
    C("form-model-empty-value", "POST", "/form/model", 422, data={**LOGIN, "remember": ""}),
    C("form-model-json-body", "POST", "/form/model", 422, json=LOGIN),
    C("form-model-forbid-ok", "POST", "/form/model-forbid", 200, data={"name": "n", "count": "2"}),
    C("form-model-forbid-extra", "POST", "/form/model-forbid", 422, data={"name": "n", "tool": "x"}),
    C("form-model-forbid-invalid", "POST", "/form/model-forbid", 422, data={"count": "many"}),
]

FILE_CASES = [
    C("file-bytes-ok", "POST", "/files/bytes", 200, files={"file": ("a.txt", b"hello", "text/plain")}),
    C("file-bytes-binary", "POST", "/files/bytes", 200, files={"file": ("b.bin", bytes(range(256)), None)}),
    C("file-bytes-empty", "POST", "/files/bytes", 200, files={"file": ("e.txt", b"", "text/plain")}),
    C("file-bytes-missing", "POST", "/files/bytes", 422, files={"other": ("a.txt", b"x", "text/plain")}),
    C("file-bytes-plain-field", "POST", "/files/bytes", 200, data={"file": "just text"}),
    C("file-bytes-big", "POST", "/files/bytes", 200, files={"file": ("big.bin", BIG, "application/octet-stream")}),
    C("upload-ok", "POST", "/files/upload", 200, files={"file": ("a.txt", b"hello world", "text/plain")}),
    C("upload-json-type", "POST", "/files/upload", 200, files={"file": ("d.json", b'{"a": 1}', "application/json")}),
    mp("upload-no-content-type", "/files/upload", 200, [("file", ("raw.dat", b"abc", None))]),
    mp("upload-unicode-filename", "/files/upload", 200, [("file", ("résumé 名.txt", b"cv", "text/plain"))]),
    mp("upload-filename-with-path", "/files/upload", 200, [("file", ("dir/sub/a.txt", b"p", "text/plain"))]),
    mp("upload-empty-filename", "/files/upload", 200, [("file", ("", b"", "application/octet-stream"))]),
    C("upload-big", "POST", "/files/upload", 200, files={"file": ("big.bin", BIG, "application/octet-stream")}),
    C("upload-plain-field", "POST", "/files/upload", 422, data={"file": "not a file"}),
    C("upload-missing", "POST", "/files/upload", 422),
    C("upload-json-body", "POST", "/files/upload", 422, json={"file": "x"}),
    C("upload-sync-ok", "POST", "/files/upload-sync", 200, files={"file": ("s.txt", b"sync read", "text/plain")}),
    C("upload-alias-ok", "POST", "/files/alias", 200, files={"upload": ("al.txt", b"alias", "text/plain")}),
    C("upload-alias-python-name", "POST", "/files/alias", 422, files={"file": ("al.txt", b"alias", "text/plain")}),
    C(
        "upload-many-three",
        "POST",
        "/files/many",
        200,
        files=[
            ("files", ("1.txt", b"one", "text/plain")),
            ("files", ("2.csv", b"a,b", "text/csv")),
            ("files", ("3.bin", b"\x00\x01", "application/octet-stream")),
        ],
    ),
    C("upload-many-one", "POST", "/files/many", 200, files=[("files", ("1.txt", b"one", "text/plain"))]),
    C("upload-many-missing", "POST", "/files/many", 422),
    C("upload-many-plain-field", "POST", "/files/many", 422, data={"files": "x"}),
    C(
        "upload-many-bytes",
        "POST",
        "/files/many-bytes",
        200,
        files=[("files", ("a", b"12", None)), ("files", ("b", b"345", None))],
    ),
]

MIXED_CASES = [
    C(
        "mixed-ok",
        "POST",
        "/files/mixed",
        200,
        data={"token": "t", "note": "n"},
        files={"file": ("m.txt", b"mixed", "text/plain")},
    ),
    C(
        "mixed-with-extra-files",
        "POST",
        "/files/mixed",
        200,
        data={"token": "t"},
        files=[("file", ("m.txt", b"m", "text/plain")), ("extra", ("x1", b"1", None)), ("extra", ("x2", b"2", None))],
    ),
    C("mixed-missing-token", "POST", "/files/mixed", 422, files={"file": ("m.txt", b"m", "text/plain")}),
    C("mixed-missing-file", "POST", "/files/mixed", 422, files={"other": ("o", b"o", None)}, data={"token": "t"}),
    C("mixed-missing-everything", "POST", "/files/mixed", 422),
    C("mixed-urlencoded-on-multipart-route", "POST", "/files/mixed", 422, data={"token": "t", "file": "f"}),
    C(
        "mixed-multipart-on-form-route",
        "POST",
        "/form/basic",
        200,
        data={"username": "u", "age": "3"},
        files={"ignored": ("i.txt", b"i", "text/plain")},
    ),
    C("optional-file-missing-no-body", "POST", "/files/optional", 200),
    C("optional-file-urlencoded", "POST", "/files/optional", 200, data={"label": "l"}),
    C(
        "optional-file-given",
        "POST",
        "/files/optional",
        200,
        files={"file": ("o.txt", b"opt", "text/plain"), "data": ("d", b"1234", None)},
    ),
    mp("optional-file-browser-empty-part", "/files/optional", 200, [("file", ("", b"", "application/octet-stream"))]),
]

MALFORMED_CASES = [
    C(
        "multipart-no-boundary",
        "POST",
        "/files/upload",
        400,
        content=b'--x\r\nContent-Disposition: form-data; name="file"\r\n\r\nv\r\n--x--\r\n',
        headers={"content-type": "multipart/form-data"},
    ),
    C(
        "multipart-no-boundary-form-route",
        "POST",
        "/form/basic",
        400,
        content=b"username=u&age=1",
        headers={"content-type": "multipart/form-data"},
    ),
    C(
        "multipart-boundary-mismatch",
        "POST",
        "/form/basic",
        400,
        content=multipart([("username", "u"), ("age", "1")], boundary="other")[0],
        headers={"content-type": "multipart/form-data; boundary=XbOuNdArYx"},
    ),
    C(
        "multipart-truncated",
        "POST",
        "/form/basic",
        422,
        content=multipart([("username", "u"), ("age", "1")])[0][:-16],
        headers=multipart([])[1],
    ),
    C(
        "multipart-part-without-disposition",
        "POST",
        "/form/basic",
        400,
        content=b"--B\r\nContent-Type: text/plain\r\n\r\nv\r\n--B--\r\n",
        headers={"content-type": "multipart/form-data; boundary=B"},
    ),
    mp("multipart-field-too-big", "/form/basic", 400, [("username", "u" * (1024 * 1024 + 10)), ("age", "1")]),
    mp("multipart-too-many-fields", "/form/basic", 400, [(f"f{i}", "v") for i in range(1001)]),
    mp(
        "multipart-many-fields-at-limit",
        "/form/basic",
        200,
        [("username", "u"), ("age", "1")] + [(f"f{i}", "v") for i in range(998)],
    ),
    C(
        "urlencoded-field-too-big",
        "POST",
        "/form/basic",
        400,
        content=b"age=1&username=" + b"u" * (1024 * 1024 + 10),
        headers=URLENC,
    ),
    C(
        "urlencoded-too-many-fields",
        "POST",
        "/form/basic",
        400,
        content="&".join(f"f{i}=v" for i in range(1001)).encode(),
        headers=URLENC,
    ),
    C(
        "multipart-bad-header-line",
        "POST",
        "/form/basic",
        400,
        content=b"--B\r\nthis is not a header\r\n\r\nv\r\n--B--\r\n",
        headers={"content-type": "multipart/form-data; boundary=B"},
    ),
    C(
        "multipart-latin1-charset",
        "POST",
        "/form/basic",
        200,
        content=b'--B\r\nContent-Disposition: form-data; name="username"\r\n\r\ncaf\xe9\r\n'
        b'--B\r\nContent-Disposition: form-data; name="age"\r\n\r\n2\r\n--B--\r\n',
        headers={"content-type": "multipart/form-data; boundary=B; charset=latin-1"},
    ),
    C(
        "multipart-quoted-boundary",
        "POST",
        "/form/basic",
        200,
        content=multipart([("username", "q"), ("age", "5")])[0],
        headers={"content-type": 'multipart/form-data; boundary="XbOuNdArYx"'},
    ),
    C(
        "multipart-empty-body",
        "POST",
        "/files/optional",
        200,
        content=b"",
        headers={"content-type": "multipart/form-data; boundary=B"},
    ),
]

ALL_CASES = FORM_CASES + FORM_MODEL_CASES + FILE_CASES + MIXED_CASES + MALFORMED_CASES


apps = apps_fixture(FACTORIES)


@pytest.mark.parametrize("case", ALL_CASES)
def test_forms_differential(apps: Apps, case: Case) -> None:
    check(apps, case)


def test_every_route_registers(apps: Apps) -> None:
    assert apps.ref_errors == []
    assert apps.sut_errors == []


def test_case_ids_unique() -> None:
    assert_unique_ids(ALL_CASES)
