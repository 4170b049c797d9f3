"""Form bodies against FastAPI 0.141.1's, with hypothesis (issue 7: fuzz every parser we wrote).

turboapi parses form bodies itself (``turboapi/formparsing.py``): urlencoded with python-multipart's
``QuerystringParser``, multipart with its ``MultipartParser`` and our own collector, Starlette's limits
(1000 files, 1000 fields, 1 MiB per non-file part) and Starlette's 400s for a broken body. One app
(``build_app(fw)``) is built from ``fastapi`` and from ``turboapi``, with three routes:

* ``/raw`` takes ``request: Request``, reads ``await request.form()`` and describes every item in
  order (name; the value of a string; filename, content type, size, content and part headers of a
  file);
* ``/typed`` takes ``Form()`` fields (str, int, list[str], Optional[str]);
* ``/files`` takes ``UploadFile``, ``list[UploadFile]``, ``bytes`` ``File()`` and a str ``Form()``.

Hypothesis builds the bodies byte by byte: (1) well-formed urlencoded bodies, (2) well-formed
multipart bodies (random boundaries, names and filenames escaped as browsers or as RFC 7578's
quoted-strings, values holding CRLFs and boundary-like strings, extra part headers, charsets,
``_charset_`` fields), (3) malformed multipart bodies (structural faults and byte mutations of a
well-formed body), (4) random bytes under ``multipart/form-data; boundary=...`` with parameter
garbage. The same bytes and Content-Type go to both apps: the status and the JSON body must be
equal (a 400's ``detail`` included). Where FastAPI crashes (500) and turboapi answers a 4xx, the 4xx
is accepted (``note``d); turboapi must never answer 500.

Each of (1)-(4) is two tests: ``*_request_form`` sends the body to ``/raw`` over HTTP;
``*_parser_and_routes`` sends it to ``/typed`` and ``/files`` over HTTP and also gives it to
``turboapi.formparsing.parse_form`` directly, from memory and from a spooled file read in small
chunks (the path of an upload past 1 MiB, which the TestClient never takes), compared with
FastAPI's ``/raw``. Two tests, since hypothesis stops exploring soon after a first failure: a failure
of one route would otherwise hide what the other routes do.

Runs are reproducible: the ``ci`` profile of tests/hypothesis_profiles.py (the default) is derandomised and
replays the counterexamples kept in tests/hypothesis-examples/, so a test passes or fails the same
way on every run; wider random exploration is ``make fuzz`` (``--hypothesis-profile=fuzz``, and
``TURBOAPI_FUZZ_EXAMPLES`` examples per test), which writes what it finds into that directory, to be
committed. A counterexample is also kept as an explicit ``@example`` of its test, which survives
hypothesis upgrades and edits of the test. A failure prints hypothesis's minimal falsifying example
and both answers.
"""

import codecs
import hashlib
import os
import string
import tempfile
from collections.abc import Iterator
from typing import Annotated, Any, Optional  # noqa: UP035 - Optional[str] is what is tested
from unittest import mock
from urllib.parse import quote, quote_plus

import fastapi
import pytest
from hypothesis import HealthCheck, Phase, example, given, note, settings
from hypothesis import strategies as st

import turboapi
from fastapi_reference import ASGIReference, FastAPITestClient
from turboapi import formparsing
from turboapi.datastructures import close_form
from turboapi.exceptions import HTTPException as TurboHTTPException
from turboapi.testclient import TestClient

#: `make fuzz` sets TURBOAPI_FUZZ_EXAMPLES for a longer run (examples per test, and more time).
LONG_RUN = int(os.environ.get("TURBOAPI_FUZZ_EXAMPLES", "0"))
pytestmark = [
    pytest.mark.timeout(60 if not LONG_RUN else 60 + LONG_RUN // 5),
    # A body cut inside a file part parses (the unfinished part is dropped) and leaves that part's
    # SpooledTemporaryFile unclosed, in Starlette as in turboapi (python-multipart's finalize() does
    # not fail): its ResourceWarning, raised at garbage collection, is not a difference.
    pytest.mark.filterwarnings(
        "ignore:Exception ignored in. <function SpooledTemporaryFile.__del__:pytest.PytestUnraisableExceptionWarning"
    ),
]

#: derandomize and database come from the profile (tests/hypothesis_profiles.py): not set here.
FUZZ = settings(
    max_examples=LONG_RUN or 150,
    deadline=None,
    print_blob=True,
    # no explain phase: it reruns a failing example many times more, and each run is a dozen requests
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)
#: the tests that compare every route and the parser itself get more examples
FUZZ_MORE = settings(FUZZ, max_examples=LONG_RUN or 250)

Outcome = tuple[int, Any]


# --------------------------------------------------------------------------- the app


def text(value: str) -> Any:
    """``value`` as JSON that can always be written (a lone surrogate cannot be UTF-8 encoded)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return {"surrogates": value.encode("utf-8", "surrogatepass").hex()}
    return value


def content(data: bytes) -> Any:
    if len(data) <= 2048:
        return data.decode("latin-1")
    return {"size": len(data), "sha256": hashlib.sha256(data).hexdigest(), "head": data[:64].decode("latin-1")}


def describe_upload(upload: Any) -> dict[str, Any]:
    """What an UploadFile holds: the same attributes in Starlette's and in turboapi's."""
    upload.file.seek(0)
    data = upload.file.read()
    return {
        "filename": None if upload.filename is None else text(upload.filename),
        "content_type": upload.content_type,
        "size": upload.size,
        "content": content(data),
        "headers": [[k.decode("latin-1"), v.decode("latin-1")] for k, v in upload.headers.raw],
    }


def describe_form(form: Any) -> list[dict[str, Any]]:
    items = []
    for name, value in form.multi_items():
        if isinstance(value, str):
            items.append({"name": text(name), "value": text(value)})
        else:
            items.append({"name": text(name), "file": describe_upload(value)})
    return items


def build_app(fw: Any) -> Any:
    Form, File, UploadFile, Request = fw.Form, fw.File, fw.UploadFile, fw.Request
    app = fw.FastAPI()

    @app.post("/raw")
    async def raw(request: Request):
        form = await request.form()
        try:
            return {"items": describe_form(form)}
        finally:
            await form.close()

    @app.post("/typed")
    def typed(
        s: Annotated[str, Form()],
        i: Annotated[int | None, Form()] = None,
        tags: Annotated[list[str], Form()] = [],  # noqa: B006 - FastAPI copies the default
        opt: Annotated[Optional[str], Form()] = None,  # noqa: UP045 - the spelling under test
    ):
        return {
            "s": text(s),
            # hex past 64 bits: a response's JSON is not under test here (orjson refuses such ints)
            "i": i if i is None or -(2**63) <= i < 2**63 else {"int_hex": hex(i)},
            "tags": [text(t) for t in tags],
            "opt": None if opt is None else text(opt),
        }

    @app.post("/files")
    def files(
        up: Annotated[UploadFile | None, File()] = None,
        ups: Annotated[list[UploadFile], File()] = [],  # noqa: B006
        data: Annotated[bytes | None, File()] = None,
        note: Annotated[str | None, Form()] = None,
    ):
        return {
            "up": None if up is None else describe_upload(up),
            "ups": [describe_upload(u) for u in ups],
            "data": None if data is None else content(data),
            "note": None if note is None else text(note),
        }

    return app


@pytest.fixture(scope="module")
def clients() -> Iterator[tuple[Any, Any]]:
    """FastAPI's TestClient and turboapi's (the Content-Types of (1)-(3) are ASCII). FastAPI's runs
    as a context manager: one event loop for every request, which halves the time of a request."""
    ours = TestClient(build_app(turboapi), raise_server_exceptions=False)
    try:
        with FastAPITestClient(build_app(fastapi), raise_server_exceptions=False) as reference:
            yield reference, ours
    finally:
        ours.close()


@pytest.fixture(scope="module")
def raw_clients() -> Iterator[tuple[Any, Any]]:
    """FastAPI over ASGI with raw header bytes (``ASGIReference``) and turboapi's TestClient."""
    reference = ASGIReference(build_app(fastapi))
    ours = TestClient(build_app(turboapi), raise_server_exceptions=False)
    try:
        yield reference, ours
    finally:
        ours.close()
        reference.close()


# --------------------------------------------------------------------------- comparing


def short(value: Any, limit: int = 1500) -> str:
    shown = value if isinstance(value, str) else repr(value)
    return shown if len(shown) <= limit else f"{shown[:limit]}... ({len(shown)} chars)"


def _known_upload_input(body: Any) -> Any:
    """A 422 whose ``input`` is an UploadFile (a file sent to a str field) shows the object's
    attributes, and ours are not Starlette's (the README's compatibility table lists it): both
    sides become the filename and headers, the part that says what was sent."""
    if isinstance(body, dict) and isinstance(body.get("detail"), list):
        for error in body["detail"]:
            value = error.get("input") if isinstance(error, dict) else None
            if isinstance(value, dict) and "filename" in value and "headers" in value:
                error["input"] = {"upload": value["filename"], "headers": value["headers"]}
    return body


def observe(response: Any) -> Outcome:
    try:
        body: Any = _known_upload_input(response.json())
    except ValueError:
        body = {"not json": response.content[:500].decode("latin-1")}
    return response.status_code, body


def post(client: Any, url: str, body: bytes, content_type: bytes) -> Outcome:
    return observe(client.post(url, content=body, headers=[(b"content-type", content_type)]))


#: parse_directly's answer when parse_form raised something else than an HTTPException
CRASH = 599


def mismatch(what: str, theirs: Outcome, mine: Outcome, status_only: bool = False) -> str | None:
    """None when turboapi's answer counts as FastAPI's, else what differs.

    ``status_only``: the status must be equal, and the ``detail`` of a 400.
    """
    if theirs[0] == 500 and mine[0] == CRASH:
        # parse_form raised where Starlette's parser raised too (its callers answer 400, as FastAPI's
        # form routes do; the routes are compared over HTTP)
        note(f"{what}: FastAPI answered 500, parse_form raised {short(mine[1], 300)} (accepted)")
        return None
    if theirs[0] == 500 and mine[0] < 500:
        # FastAPI crashed where turboapi refused the request, or (an unknown charset, which
        # turboapi reads as latin-1) parsed it: turboapi's answer is accepted
        note(f"{what}: FastAPI answered 500, turboapi {mine[0]} {short(mine[1], 300)} (accepted)")
        return None
    if status_only:
        same = theirs[0] == mine[0] and (theirs[0] != 400 or theirs[1] == mine[1])
    else:
        same = theirs == mine
    if same and mine[0] < 500:
        return None
    return f"\n{what}\n  fastapi:  {theirs[0]} {short(theirs[1])}\n  turboapi: {mine[0]} {short(mine[1])}"


def show_request(body: bytes, content_type: bytes) -> str:
    return f"\nContent-Type: {content_type!r}\nbody ({len(body)} bytes): {short(body, 3000)}"


def parse_directly(body: bytes, content_type: bytes, spooled: bool, chunk: int) -> Outcome:
    """turboapi's parse_form on ``body``, in memory or from a file (an upload the core spooled) read
    ``chunk`` bytes at a time, as the answer of ``/raw`` would be."""
    ct = content_type.decode("latin-1")
    path = None
    try:
        if spooled:
            with tempfile.NamedTemporaryFile(delete=False) as f:
                f.write(body)
                path = f.name
            with mock.patch.object(formparsing, "CHUNK", chunk):
                form = formparsing.parse_form(b"", ct, path)
        else:
            form = formparsing.parse_form(body, ct)
    except TurboHTTPException as exc:
        return exc.status_code, {"detail": exc.detail}
    except Exception as exc:
        return CRASH, {"crash": repr(exc)}
    finally:
        if path is not None:
            os.unlink(path)
    try:
        return 200, {"items": describe_form(form)}
    finally:
        close_form(form)


def is_spooled_kind(content_type: bytes) -> bool:
    """The core spools a multipart body (src/spool.rs ``is_multipart``); Python then parses the file."""
    try:
        ct = content_type.decode("ascii")
    except UnicodeDecodeError:
        return False
    return ct.lstrip()[:19].lower() == "multipart/form-data"


def check_request_form(clients: tuple[Any, Any], body: bytes, content_type: bytes, status_only: bool = False) -> None:
    """``/raw`` (``await request.form()``) over HTTP."""
    reference, ours = clients
    theirs = post(reference, "/raw", body, content_type)
    mine = post(ours, "/raw", body, content_type)
    problem = mismatch("POST /raw (await request.form())", theirs, mine, status_only)
    assert problem is None, show_request(body, content_type) + problem


def check_parser_and_routes(
    clients: tuple[Any, Any], body: bytes, content_type: bytes, chunk: int, status_only: bool = False
) -> None:
    """parse_form itself (in memory, and spooled) against FastAPI's ``/raw``; ``/files`` and ``/typed``
    over HTTP. Every comparison runs; each kind of failure is raised from its own line, so that
    hypothesis reports each with its own minimal example."""
    reference, ours = clients
    request = show_request(body, content_type)
    chunk = max(chunk, len(body) // 512)  # a long body in 1-byte writes would take too long
    theirs_raw = post(reference, "/raw", body, content_type)
    memory = mismatch("parse_form(body)", theirs_raw, parse_directly(body, content_type, False, chunk), status_only)
    spooled = None
    if is_spooled_kind(content_type):
        spooled = mismatch(
            f"parse_form(path) read {chunk} bytes at a time",
            theirs_raw,
            parse_directly(body, content_type, True, chunk),
            status_only,
        )
    routes = {}
    for url in ("/files", "/typed"):
        theirs = post(reference, url, body, content_type)
        routes[url] = mismatch(f"POST {url}", theirs, post(ours, url, body, content_type), status_only)
    assert memory is None, request + memory
    assert spooled is None, request + spooled
    assert routes["/files"] is None, request + routes["/files"]
    assert routes["/typed"] is None, request + routes["/typed"]


# --------------------------------------------------------------------------- strategies

#: the parameters of /typed and /files, drawn often so the routes see values
ROUTE_NAMES = ["s", "i", "tags", "opt", "up", "ups", "data", "note"]
SPECIAL_CHARS = "\"\\;=%&+ \t\r\n,'*:/?#[]<>@\x00\x7f"
TOKEN_CHARS = "!#$%&'*+-.^_`|~" + string.ascii_letters + string.digits
#: RFC 2046 bchars (a space may not come last)
BOUNDARY_CHARS = string.ascii_letters + string.digits + "'()+_,-./:=? "

UNICODE = st.characters(codec="utf-8", exclude_categories=["Cs"])
MIXED = st.one_of(st.sampled_from(SPECIAL_CHARS), UNICODE, st.sampled_from("éü€中😀\u00a0\u2028"))

NAME = st.one_of(
    st.sampled_from(ROUTE_NAMES),
    st.sampled_from(ROUTE_NAMES),
    st.sampled_from(["", "_charset_", "a b", "a;b", 'a"b', "a\\", "a\\b", "é", "%22", "a=b", "tags[]"]),
    st.text(MIXED, max_size=8),
)

NUMBERISH = st.sampled_from(["0", "7", "-1", "+3", " 4", "1_0", "1e3", "1.0", "9" * 30, "x", ""])
VALUE_TEXT = st.one_of(NUMBERISH, st.text(MIXED, max_size=12), st.sampled_from(["", "+", "%", "%2", "%zz", "a&b=c"]))


def sometimes(draw: st.DrawFn, n: int) -> bool:
    """True one time in ``n``; shrinks to False (a minimal example keeps only what matters)."""
    return draw(st.integers(0, n - 1)) == n - 1


# ----- (1) urlencoded


def url_escape(value: str, style: str) -> str:
    if style == "plus":
        return quote_plus(value)
    if style == "quote":
        return quote(value, safe="")
    # "minimal": only what would change the structure; unicode and the rest go as raw UTF-8
    return value.replace("%", "%25").replace("&", "%26").replace("=", "%3D").replace("+", "%2B").replace(";", "%3B")


URLENCODED_TYPES = [
    b"application/x-www-form-urlencoded",
    b"application/x-www-form-urlencoded; charset=utf-8",
    b"Application/X-WWW-Form-URLEncoded",
    b"application/x-www-form-urlencoded;charset=latin-1",
]
#: pieces a hand-written body may hold: stray escapes, empty pairs, '=' in a value, ';'
ODD_PIECES = ["%", "%zz", "%e9", "%C3%A9", "a=b=c", "=v", "k=", "k", "+=+", "a;b=c", "%00=%00", "%2", "a%2Bb=%26"]


@st.composite
def urlencoded_case(draw: st.DrawFn) -> tuple[bytes, bytes]:
    pieces = []
    for name, value in draw(st.lists(st.tuples(NAME, VALUE_TEXT), max_size=8)):
        style = draw(st.sampled_from(["plus", "quote", "minimal"]))
        n, v = url_escape(name, style), url_escape(value, style)
        shape = draw(st.sampled_from(["pair", "pair", "pair", "bare"])) if not value else "pair"
        pieces.append(n if shape == "bare" else f"{n}={v}")
        if sometimes(draw, 10):
            pieces.append(draw(st.sampled_from(ODD_PIECES)))
    if sometimes(draw, 2):  # the one required field of /typed
        pieces.insert(draw(st.integers(0, len(pieces))), "s=" + url_escape(draw(VALUE_TEXT), "plus"))
    separator = draw(st.sampled_from(["&", "&", "&", "&&"]))
    body = separator.join(pieces)
    body = draw(st.sampled_from(["", "", "&"])) + body + draw(st.sampled_from(["", "", "&", "\r\n"]))
    return body.encode("utf-8"), draw(st.sampled_from(URLENCODED_TYPES))


def urlencoded_fields(count: int) -> tuple[bytes, bytes]:
    return "&".join(f"f{i}={i}" for i in range(count)).encode(), URLENCODED_TYPES[0]


# ----- (2) and (3) multipart

BOUNDARY = st.one_of(
    st.sampled_from(
        ["boundary", "----WebKitFormBoundary7MA4YWxkTrZu0gW", "-", "a", "x" * 70, "==", "a b", "'()+_,-./:=?"]
    ),
    st.text(BOUNDARY_CHARS, min_size=1, max_size=70).map(lambda b: b.rstrip(" ") or "b"),
)
CHARSETS = [None, None, None, "utf-8", "UTF-8", "latin-1", "iso-8859-1", "windows-1252", "ascii", "utf-16", "bogus"]
PART_CONTENT_TYPES = [
    "text/plain",
    "application/octet-stream",
    "image/png",
    "text/plain; charset=iso-8859-1",
    "TEXT/HTML;charset=UTF-8",
    "application/json",
    'x/y; a="b;c"',
    "",
]
FILENAMES = st.one_of(
    st.sampled_from(
        ["", "a.txt", "C:\\dir\\a.txt", "\\\\server\\share\\b.bin", "../../etc/passwd", "a b.txt", "€.txt"]
    ),
    st.text(MIXED, max_size=10),
)
EXTRA_HEADERS = [
    ("Content-Transfer-Encoding", "binary"),
    ("Content-Transfer-Encoding", "base64"),
    ("Content-Length", "3"),
    ("X-Custom", "value; with=params"),
    ("X-Empty", ""),
    ("x-latin", "caf\xe9"),
    ("X-Utf8", "\u20ac"),
    ("Content-ID", "<part@example>"),
]
HEADER_VALUE_CHARS = st.characters(codec="latin-1", exclude_categories=["Cc"], include_characters="\t")


def encode(value: str, charset: str | None) -> bytes:
    """``value`` in the form's charset when it can be written there, else UTF-8 (what browsers send)."""
    try:
        name = codecs.lookup(charset or "utf-8").name
        if name in ("iso8859-1", "cp1252", "ascii"):  # ASCII-compatible ones only: not UTF-16
            return value.encode(name)
    except (LookupError, UnicodeError):
        pass
    return value.encode("utf-8")


def escape_param(value: str, style: str) -> str:
    """A Content-Disposition parameter value: as browsers write it (WHATWG: '"', CR and LF as
    %22/%0D/%0A), as an RFC 7578 quoted-string with backslashes, or a bare token."""
    if style == "token" and value and all(c in TOKEN_CHARS for c in value):
        return value
    value = value.replace("\r", "%0D").replace("\n", "%0A")
    if style == "backslash":
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return '"' + value.replace('"', "%22") + '"'


@st.composite
def value_bytes(draw: st.DrawFn, boundary: bytes) -> bytes:
    """A part's content: text, bytes, line breaks and strings that look like the boundary. It never
    holds the delimiter itself (CRLF "--" boundary), so the body stays well-formed."""
    piece = st.one_of(
        st.text(MIXED, max_size=10).map(lambda t: t.encode("utf-8")),
        st.binary(max_size=16),
        st.sampled_from([b"\r\n", b"\r", b"\n", b"--", b"\r\n--", b"\r\n\r\n", b"-", b"\x00", b"%22", b'"', b"\xff"]),
        st.sampled_from(
            [
                b"--" + boundary,
                b"--" + boundary + b"--",
                b"\r\n--" + boundary[:-1],
                b"\r\n-" + boundary,
                b"\r\n-- " + boundary,
                boundary,
                b"\n--" + boundary,
                b"\r--" + boundary,
                b'Content-Disposition: form-data; name="x"\r\n\r\n',
            ]
        ),
    )
    value = b"".join(draw(st.lists(piece, max_size=6)))
    value *= draw(st.sampled_from([1, 1, 1, 1, 2, 40, 2000]))
    delimiter = b"\r\n--" + boundary
    while delimiter in value:
        value = value.replace(delimiter, delimiter[:-1])
    return value


def header_case(name: str, how: int) -> str:
    return [name, name.lower(), name.upper()][how]


@st.composite
def part_bytes(draw: st.DrawFn, boundary: bytes, charset: str | None, faults: frozenset[str]) -> bytes:
    """One part: its headers, an empty line and its content (without the delimiters around it)."""
    is_file = draw(st.booleans())
    params = []
    if "no name" not in faults or draw(st.booleans()):
        params.append(("name", draw(NAME)))
    if is_file:
        params.append(("filename", draw(FILENAMES)))
    if sometimes(draw, 8):
        params.append(draw(st.sampled_from([("filename*", "UTF-8''%E2%82%AC.txt"), ("size", "3"), ("x", "")])))
    params = draw(st.permutations(params))
    style = draw(st.sampled_from(["browser", "browser", "backslash", "token"]))
    kind = draw(st.sampled_from(["form-data", "form-data", "form-data", "Form-Data", "attachment"]))
    separator = draw(st.sampled_from(["; ", ";", " ; "]))
    disposition = kind + "".join(f"{separator}{key}={escape_param(value, style)}" for key, value in params)

    headers: list[tuple[str, str]] = []
    if "no disposition" not in faults or draw(st.booleans()):
        headers.append((header_case("Content-Disposition", draw(st.integers(0, 2))), disposition))
    if sometimes(draw, 3 if is_file else 6):
        headers.append(("Content-Type", draw(st.sampled_from(PART_CONTENT_TYPES))))
    for _ in range(draw(st.integers(0, 3)) if sometimes(draw, 3) else 0):
        headers.append(
            draw(
                st.one_of(
                    st.sampled_from(EXTRA_HEADERS),
                    st.tuples(
                        st.text(TOKEN_CHARS, min_size=1, max_size=10),
                        st.text(HEADER_VALUE_CHARS, max_size=20).map(lambda v: v.strip(" \t")),
                    ),
                )
            )
        )
    if "huge header" in faults and draw(st.booleans()):
        headers.append(("X-Huge", "h" * draw(st.sampled_from([4200, 4300, 9000]))))
    if "many headers" in faults and draw(st.booleans()):
        headers.extend([(f"X-{i}", str(i)) for i in range(draw(st.integers(6, 10)))])
    headers = draw(st.permutations(headers))

    colon = draw(st.sampled_from([": ", ": ", ":", ":  "]))
    lines = [encode(f"{name}{colon}{value}", charset) for name, value in headers]
    if "bad header" in faults and draw(st.booleans()):
        at = draw(st.integers(0, len(lines)))
        lines.insert(
            at, draw(st.sampled_from([b"no colon here", b": empty name", b"X Bad Name: v", b" folded", b"X@: v"]))
        )
    eol = b"\n" if "lf only" in faults and draw(st.booleans()) else b"\r\n"
    head = b"".join(line + eol for line in lines)
    return head + eol + draw(value_bytes(boundary))


def multipart_content_type(draw: st.DrawFn, boundary: str, charset: str | None) -> bytes:
    quoted = any(c not in TOKEN_CHARS for c in boundary) or draw(st.booleans())
    params = [f'boundary="{boundary}"' if quoted else f"boundary={boundary}"]
    if charset is not None:
        params.append(f"charset={charset}")
    params = draw(st.permutations(params))
    kind = draw(st.sampled_from(["multipart/form-data", "multipart/form-data", "Multipart/Form-Data"]))
    separator = draw(st.sampled_from(["; ", ";", " ; "]))
    return (kind + "".join(separator + p for p in params)).encode("ascii")


STRUCTURAL_FAULTS = [
    "no disposition",
    "no name",
    "huge header",
    "many headers",
    "bad header",
    "lf only",
    "preamble",
    "epilogue",
    "no final boundary",
    "bad final boundary",
    "padding after boundary",
]


@st.composite
def multipart_case(draw: st.DrawFn, malformed: bool = False) -> tuple[bytes, bytes]:
    """A multipart body and its Content-Type: well-formed, or (``malformed``) with structural faults
    and byte mutations."""
    boundary_text = draw(BOUNDARY)
    boundary = boundary_text.encode("ascii")
    charset = draw(st.sampled_from(CHARSETS))
    faults: frozenset[str] = frozenset()
    if malformed:
        faults = frozenset(draw(st.lists(st.sampled_from(STRUCTURAL_FAULTS), max_size=3, unique=True)))
    parts = draw(st.lists(part_bytes(boundary, charset, faults), max_size=5))
    if sometimes(draw, 2):  # the one required field of /typed, so that it answers more than 422s
        value = draw(VALUE_TEXT).encode("utf-8")
        parts.insert(draw(st.integers(0, len(parts))), b'Content-Disposition: form-data; name="s"\r\n\r\n' + value)
    if sometimes(draw, 10):  # a _charset_ field, as browsers add for a form that has one
        parts.append(b'Content-Disposition: form-data; name="_charset_"\r\n\r\n' + (charset or "UTF-8").encode())

    body = bytearray()
    if "preamble" in faults:
        body += draw(st.sampled_from([b"preamble\r\n", b"\r\n", b"garbage", b"--", b"--" + boundary[:-1] + b"\r\n"]))
    padding = b""
    if "padding after boundary" in faults:
        padding = draw(st.sampled_from([b" ", b"\t", b"  \t", b"x"]))
    for part in parts:
        body += b"--" + boundary + padding + b"\r\n" + part + b"\r\n"
    if "no final boundary" in faults:
        body += draw(st.sampled_from([b"", b"--" + boundary + b"\r\n", b"--" + boundary]))
    elif "bad final boundary" in faults:
        body += b"--" + boundary + draw(st.sampled_from([b"-", b"-x", b"---", b"x--", b"\r\n--"]))
    else:
        body += b"--" + boundary + b"--" + draw(st.sampled_from([b"\r\n", b"\r\n", b""]))
    if "epilogue" in faults:
        body += draw(st.sampled_from([b"epilogue", b"\r\n\r\n", b"--" + boundary + b"--\r\n", b"\x00\xff"]))

    if malformed:
        for _ in range(draw(st.integers(0 if faults else 1, 3))):
            body = mutate(draw, bytes(body), boundary)
    return bytes(body), multipart_content_type(draw, boundary_text, charset)


def occurrences(body: bytes, needle: bytes) -> list[int]:
    found, at = [], body.find(needle)
    while at != -1:
        found.append(at)
        at = body.find(needle, at + 1)
    return found


def mutate(draw: st.DrawFn, body: bytes, boundary: bytes) -> bytearray:
    """One byte-level fault: truncation, a CRLF deleted or doubled, one boundary changed, a byte
    inserted or deleted."""
    out = bytearray(body)
    kind = draw(st.sampled_from(["truncate", "delete crlf", "duplicate crlf", "change boundary", "insert", "delete"]))
    crlfs = occurrences(body, b"\r\n")
    delimiters = occurrences(body, b"--" + boundary)
    if kind == "truncate" or (kind.endswith("crlf") and not crlfs) or (kind == "change boundary" and not delimiters):
        return out[: draw(st.integers(0, len(out)))]
    if kind == "delete crlf":
        at = draw(st.sampled_from(crlfs))
        del out[at : at + 2]
    elif kind == "duplicate crlf":
        at = draw(st.sampled_from(crlfs))
        out[at:at] = b"\r\n"
    elif kind == "change boundary":
        at = draw(st.sampled_from(delimiters)) + 2 + draw(st.integers(0, len(boundary) - 1))
        out[at] = draw(st.sampled_from([ord("X"), ord("-"), ord("\r"), out[at] ^ 0x20]))
    elif kind == "insert":
        out.insert(draw(st.integers(0, len(out))), draw(st.integers(0, 255)))
    elif out:
        del out[draw(st.integers(0, len(out) - 1))]
    return out


def multipart_limit(kind: str) -> tuple[bytes, bytes]:
    """Bodies at Starlette's limits: 1000/1001 fields or files, a 1 MiB (+1) field, a 2 MiB file."""
    head = b"--B\r\nContent-Disposition: form-data; name="
    count = {"fields": 1000, "fields+1": 1001, "files": 1000, "files+1": 1001}.get(kind, 0)
    if kind.startswith("fields"):
        body = b"".join(head + b'"f%d"\r\n\r\n%d\r\n' % (i, i) for i in range(count))
    elif kind.startswith("files"):
        body = b"".join(head + b'"up"; filename="f%d"\r\n\r\nx\r\n' % i for i in range(count))
    elif kind == "big field":
        body = head + b'"s"\r\n\r\n' + b"v" * (1024 * 1024) + b"\r\n"
    elif kind == "big field+1":
        body = head + b'"s"\r\n\r\n' + b"v" * (1024 * 1024 + 1) + b"\r\n"
    else:  # a file past the spool size, with a delimiter-like line in it
        body = head + b'"up"; filename="big.bin"\r\n\r\n' + (b"\r\n--" + b"z" * 1000) * 2048 + b"\r\n"
    return body + b"--B--\r\n", b"multipart/form-data; boundary=B"


# ----- (4) random bytes


RANDOM_CHARSETS = ["utf-8", "latin-1", "idna", "undefined", "punycode", "hex", "rot13", "", "bogus", "utf-16", "zlib"]
#: a Content-Type value: latin-1 without CTLs (what a client can send), with tabs
CT_CHARS = st.characters(codec="latin-1", exclude_categories=["Cc"], include_characters="\t")


@st.composite
def garbage_case(draw: st.DrawFn) -> tuple[bytes, bytes]:
    """Random bytes (with some multipart tokens in them) under a multipart Content-Type whose
    parameters are garbage: empty, repeated or unterminated boundaries, odd charsets, junk."""
    boundary = draw(st.one_of(BOUNDARY, st.text(CT_CHARS, max_size=12), st.just("")))
    raw_boundary = boundary.encode("latin-1")
    piece = st.one_of(
        st.binary(max_size=24),
        st.sampled_from([b"--" + raw_boundary, b"--" + raw_boundary + b"--", b"\r\n", b"\r\n\r\n", b"--", b"\n"]),
        st.sampled_from([b'Content-Disposition: form-data; name="s"', b'; filename="f"', b"Content-Type: x/y"]),
    )
    body = b"".join(draw(st.lists(piece, max_size=10)))
    params = [
        st.sampled_from([f"boundary={boundary}", f'boundary="{boundary}"', f'boundary="{boundary}', "boundary="]),
        st.sampled_from(RANDOM_CHARSETS).map(lambda c: f"charset={c}"),
        st.sampled_from(['boundary=""', "boundary*=utf-8''x", "boundary=a; boundary=b", '="', ";", "x", "=", "\\"]),
        st.text(st.one_of(st.sampled_from(';="\\* '), CT_CHARS), max_size=16),
    ]
    chosen = draw(st.lists(st.one_of(params), min_size=0, max_size=4))
    kind = draw(
        st.sampled_from(["multipart/form-data", "multipart/form-data", " MULTIPART/form-data", "multipart/form-dat"])
    )
    separator = draw(st.sampled_from(["; ", ";", " ; ", ""]))
    content_type = kind + "".join(separator + p for p in chosen)
    return body, content_type.encode("latin-1")


CHUNKS = st.sampled_from([1, 2, 3, 7, 64, 1000, 64 * 1024])


# --------------------------------------------------------------------------- (1) urlencoded


@FUZZ
@given(case=urlencoded_case())
@example(case=(b"s=a+b%26c&s=%2B&tags=1&tags=&i=", URLENCODED_TYPES[0]))
def test_urlencoded_request_form(clients: tuple[Any, Any], case: tuple[bytes, bytes]) -> None:
    """Well-formed urlencoded bodies: ``await request.form()``."""
    check_request_form(clients, *case)


@FUZZ_MORE
@given(case=urlencoded_case(), chunk=CHUNKS)
@example(case=(b"s=a+b%26c&s=%2B&tags=1&tags=&i=", URLENCODED_TYPES[0]), chunk=7)
@example(case=urlencoded_fields(1000), chunk=64)
@example(case=urlencoded_fields(1001), chunk=64)
@example(case=(b"s=" + b"v" * (1024 * 1024 - 1), URLENCODED_TYPES[0]), chunk=64)
@example(case=(b"s=" + b"v" * (1024 * 1024), URLENCODED_TYPES[0]), chunk=64)
def test_urlencoded_parser_and_routes(clients: tuple[Any, Any], case: tuple[bytes, bytes], chunk: int) -> None:
    """Well-formed urlencoded bodies: parse_form, ``Form()`` and ``File()`` parameters."""
    check_parser_and_routes(clients, *case, chunk)


# --------------------------------------------------------------------------- (2) well-formed multipart

SIMPLE_MULTIPART = (
    b'--B\r\nContent-Disposition: form-data; name="s"\r\n\r\nhello\r\n'
    b'--B\r\nContent-Disposition: form-data; name="up"; filename="a.txt"\r\nContent-Type: text/plain\r\n'
    b"X-Extra: 1\r\n\r\nfile\r\n--\r\n--B--\r\n",
    b"multipart/form-data; boundary=B",
)


@FUZZ
@given(case=multipart_case())
@example(case=SIMPLE_MULTIPART)
def test_multipart_request_form(clients: tuple[Any, Any], case: tuple[bytes, bytes]) -> None:
    """Well-formed multipart bodies: ``await request.form()``."""
    check_request_form(clients, *case)


@FUZZ_MORE
@given(case=multipart_case(), chunk=CHUNKS)
@example(case=SIMPLE_MULTIPART, chunk=1)
@example(case=multipart_limit("fields"), chunk=64 * 1024)
@example(case=multipart_limit("fields+1"), chunk=64 * 1024)
@example(case=multipart_limit("files"), chunk=64 * 1024)
@example(case=multipart_limit("files+1"), chunk=64 * 1024)
@example(case=multipart_limit("big field"), chunk=64 * 1024)
@example(case=multipart_limit("big field+1"), chunk=64 * 1024)
@example(case=multipart_limit("big file"), chunk=64 * 1024)
def test_multipart_parser_and_routes(clients: tuple[Any, Any], case: tuple[bytes, bytes], chunk: int) -> None:
    """Well-formed multipart bodies: parse_form, ``Form()``, ``UploadFile`` and ``bytes`` parameters."""
    check_parser_and_routes(clients, *case, chunk)


# --------------------------------------------------------------------------- (3) malformed multipart


@FUZZ
@given(case=multipart_case(malformed=True))
def test_malformed_multipart_request_form(clients: tuple[Any, Any], case: tuple[bytes, bytes]) -> None:
    """Malformed multipart bodies: ``await request.form()`` gives what FastAPI gives (a 400 alike)."""
    check_request_form(clients, *case)


#: A body that begins with a newline, read from the spool file in chunks that end before its first
#: "-": python-multipart skips the leading newline and a preamble only within one write, so such a
#: body was a 400 read in chunks and parsed in one piece, as FastAPI parses it (issue 13; see
#: tests/test_form_spooled_chunks.py).
LEADING_NEWLINE_PREAMBLE = (b"\r\npreamble\r\n" + SIMPLE_MULTIPART[0], SIMPLE_MULTIPART[1])


@FUZZ_MORE
@given(case=multipart_case(malformed=True), chunk=CHUNKS)
@example(case=LEADING_NEWLINE_PREAMBLE, chunk=3)
@example(case=(SIMPLE_MULTIPART[0][:-9], SIMPLE_MULTIPART[1]), chunk=3)
@example(case=(b"junk" + SIMPLE_MULTIPART[0], SIMPLE_MULTIPART[1]), chunk=64)
@example(case=(SIMPLE_MULTIPART[0] + b"junk", SIMPLE_MULTIPART[1]), chunk=64)
@example(case=(SIMPLE_MULTIPART[0].replace(b'; name="s"', b""), SIMPLE_MULTIPART[1]), chunk=64)
def test_malformed_multipart_parser_and_routes(clients: tuple[Any, Any], case: tuple[bytes, bytes], chunk: int) -> None:
    """Malformed multipart bodies: parse_form and the routes with form parameters."""
    check_parser_and_routes(clients, *case, chunk)


# --------------------------------------------------------------------------- (4) random bytes


#: a part whose name cannot be decoded: the "undefined" codec raises UnicodeError (not a
#: UnicodeDecodeError), a 500 from Starlette's request.form()
UNDEFINED_CHARSET = (
    b'--B\r\nContent-Disposition: form-data; name="s"\r\n\r\nx\r\n--B--',
    b"multipart/form-data; boundary=B; charset=undefined",
)


@FUZZ
@given(case=garbage_case())
@example(case=UNDEFINED_CHARSET)
def test_random_bytes_request_form(raw_clients: tuple[Any, Any], case: tuple[bytes, bytes]) -> None:
    """Random bytes and Content-Type garbage: the same status (and 400 detail); never a 500 from turboapi."""
    check_request_form(raw_clients, *case, status_only=True)


@FUZZ_MORE
@given(case=garbage_case(), chunk=CHUNKS)
@example(case=UNDEFINED_CHARSET, chunk=64)
# found on Python 3.13 by a random run: FastAPI's empty form, a 400 read a byte at a time
@example(case=(b"\r\x00", b"multipart/form-data; boundary=boundary"), chunk=1)
@example(case=(b"\r\x00", b"multipart/form-data; boundary="), chunk=1)
def test_random_bytes_parser_and_routes(raw_clients: tuple[Any, Any], case: tuple[bytes, bytes], chunk: int) -> None:
    """Random bytes and Content-Type garbage: parse_form and the routes give FastAPI's status."""
    check_parser_and_routes(raw_clients, *case, chunk, status_only=True)
