"""Parameter coercion against FastAPI 0.141.1's, with hypothesis (issue 7 part 4).

One app (``build_app(fw)``) is built from ``fastapi`` and from ``turboapi``; each route takes one kind
of typed parameter (path, query, header, cookie; int, float, bool, str, UUID, Enum, Decimal, lists,
constrained values) and answers what it received as JSON that any value can be written as
(``show``). Hypothesis draws raw strings — arbitrary unicode text, number-like strings (signs,
exponents, underscores, leading zeros, whitespace, very long digit runs, ``inf``/``nan``/``0x10``)
and boolean-like words in mixed case — which are percent-encoded into the URL (or sent as a header
or cookie when the value is allowed there), sent to both ``TestClient``s, and the status and the
JSON body must be equal. turboapi's ``TestClient`` drives the real Rust extraction and coercion
(``src/extract.rs``) without a socket.

Also: the ``Range`` header of ``FileResponse`` (``turboapi/fileresponse.py``) against Starlette's.

Runs are reproducible: the ``ci`` profile of tests/hypothesis_profiles.py (the default) is derandomised and
replays the counterexamples kept in tests/hypothesis-examples/, so a test passes or fails the same
way on every run; wider random exploration is ``make fuzz`` (``--hypothesis-profile=fuzz``, which
writes what it finds into that directory, to be committed). A counterexample is also kept as an
explicit ``@example`` of its test, which survives hypothesis upgrades and edits of the test. A
failure prints hypothesis's minimal falsifying example and both answers.
"""

import os
import re
import tempfile
import types
import uuid
from collections.abc import Iterator
from decimal import Decimal
from enum import Enum
from typing import Annotated, Any, Optional  # noqa: UP035 - Optional[int] is what is tested
from urllib.parse import quote

import fastapi
import fastapi.responses
import pytest
from hypothesis import HealthCheck, example, given, note, settings
from hypothesis import strategies as st

import turboapi
import turboapi.fileresponse
from fastapi_reference import ASGIReference, FastAPITestClient
from turboapi.testclient import TestClient

#: `make fuzz` sets TURBOAPI_FUZZ_EXAMPLES for a longer run (examples per test, and more time).
LONG_RUN = int(os.environ.get("TURBOAPI_FUZZ_EXAMPLES", "0"))
pytestmark = pytest.mark.timeout(60 if not LONG_RUN else 60 + LONG_RUN // 5)

#: derandomize and database come from the profile (tests/hypothesis_profiles.py): not set here.
FUZZ = settings(
    max_examples=LONG_RUN or 150,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


class Color(str, Enum):  # noqa: UP042 - the (str, Enum) spelling of FastAPI's docs
    red = "red"
    green = "green"
    dark_blue = "dark-blue"


def show(value: Any) -> Any:
    """``value`` as JSON that can always be written, keeping what tells values apart."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, Enum):
        return {"enum": value.name}
    if isinstance(value, int):
        # hex: str() of an int of more than 4300 digits raises
        return value if -(2**53) < value < 2**53 else {"int_hex": hex(value)}
    if isinstance(value, float):
        return {"float": repr(value)}  # inf, nan and -0.0 survive
    if isinstance(value, Decimal):
        return {"decimal": str(value)}
    if isinstance(value, uuid.UUID):
        return {"uuid": str(value), "version": value.version}
    if isinstance(value, list):
        return [show(item) for item in value]
    return {"other": repr(value)}


def answer(**values: Any) -> dict[str, Any]:
    return {name: {"type": type(v).__name__, "value": show(v)} for name, v in values.items()}


def build_app(fw: types.ModuleType) -> Any:
    Query, Header, Cookie = fw.Query, fw.Header, fw.Cookie
    app = fw.FastAPI()

    # One route per source, every type at once: one request checks every conversion of a value.
    @app.get("/path/{i}/{f}/{b}/{s}/{u}/{e}")
    def path_all(i: int, f: float, b: bool, s: str, u: uuid.UUID, e: Color):
        return answer(i=i, f=f, b=b, s=s, u=u, e=e)

    @app.get("/query")
    def query_all(
        i: int,
        f: float,
        b: bool,
        s: str,
        d: Decimal,
        e: Color,
        u: uuid.UUID,
        opt: Optional[int] = Query(default=7),  # noqa: UP045 - the spelling under test
        opt_none: int | None = None,
        ranged: Annotated[int, Query(ge=-5, le=1000)] = 0,
        ranged_f: Annotated[float, Query(gt=-1.5, lt=100.25)] = 0.0,
        slug: Annotated[str, Query(min_length=2, max_length=8, pattern=r"^[a-z0-9_-]+$")] = "ok",
        word: Annotated[str, Query(min_length=1, max_length=5, pattern=r"^\w+$")] = "ok",
        money: Annotated[Decimal, Query(max_digits=6, decimal_places=2, ge=0)] = Decimal(0),
    ):
        return answer(
            i=i,
            f=f,
            b=b,
            s=s,
            d=d,
            e=e,
            u=u,
            opt=opt,
            opt_none=opt_none,
            ranged=ranged,
            ranged_f=ranged_f,
            slug=slug,
            word=word,
            money=money,
        )

    # The same parameters one per route: a value one of them accepts is compared there, since a 422
    # of the route above shows only the parameters that failed.
    @app.get("/path1/i/{v}")
    def path1_i(v: int):
        return answer(v=v)

    @app.get("/path1/f/{v}")
    def path1_f(v: float):
        return answer(v=v)

    @app.get("/path1/b/{v}")
    def path1_b(v: bool):
        return answer(v=v)

    @app.get("/path1/s/{v}")
    def path1_s(v: str):
        return answer(v=v)

    @app.get("/path1/u/{v}")
    def path1_u(v: uuid.UUID):
        return answer(v=v)

    @app.get("/path1/e/{v}")
    def path1_e(v: Color):
        return answer(v=v)

    @app.get("/query1/i")
    def query1_i(v: int):
        return answer(v=v)

    @app.get("/query1/f")
    def query1_f(v: float):
        return answer(v=v)

    @app.get("/query1/b")
    def query1_b(v: bool):
        return answer(v=v)

    @app.get("/query1/s")
    def query1_s(v: str):
        return answer(v=v)

    @app.get("/query1/d")
    def query1_d(v: Decimal):
        return answer(v=v)

    @app.get("/query1/e")
    def query1_e(v: Color):
        return answer(v=v)

    @app.get("/query1/u")
    def query1_u(v: uuid.UUID):
        return answer(v=v)

    @app.get("/query1/opt")
    def query1_opt(v: Optional[int] = Query(default=7)):  # noqa: UP045
        return answer(v=v)

    @app.get("/query1/opt_none")
    def query1_opt_none(v: int | None = None):
        return answer(v=v)

    @app.get("/query1/ranged")
    def query1_ranged(v: Annotated[int, Query(ge=-5, le=1000)]):
        return answer(v=v)

    @app.get("/query1/ranged_f")
    def query1_ranged_f(v: Annotated[float, Query(gt=-1.5, lt=100.25)]):
        return answer(v=v)

    @app.get("/query1/slug")
    def query1_slug(v: Annotated[str, Query(min_length=2, max_length=8, pattern=r"^[a-z0-9_-]+$")]):
        return answer(v=v)

    @app.get("/query1/word")
    def query1_word(v: Annotated[str, Query(min_length=1, max_length=5, pattern=r"^\w+$")]):
        return answer(v=v)

    @app.get("/query1/money")
    def query1_money(v: Annotated[Decimal, Query(max_digits=6, decimal_places=2, ge=0)]):
        return answer(v=v)

    @app.get("/query/one")
    def query_one(i: int | None = None, s: str | None = None, ranged: Annotated[int, Query(ge=-5, le=1000)] = 0):
        return answer(i=i, s=s, ranged=ranged)

    @app.get("/query/list")
    def query_list(v: Annotated[list[int], Query()] = []):  # noqa: B006 - FastAPI copies the default
        return answer(v=v)

    @app.get("/header")
    def header(
        x_int: Annotated[int | None, Header()] = None,
        x_str: Annotated[str | None, Header()] = None,
        x_list: Annotated[list[str] | None, Header()] = None,
        x_bool: Annotated[bool | None, Header()] = None,
        x_float: Annotated[float | None, Header()] = None,
    ):
        return answer(x_int=x_int, x_str=x_str, x_list=x_list, x_bool=x_bool, x_float=x_float)

    @app.get("/cookie")
    def cookie(
        c_int: Annotated[int | None, Cookie()] = None,
        c_str: Annotated[str | None, Cookie()] = None,
        c_float: Annotated[float | None, Cookie()] = None,
    ):
        return answer(c_int=c_int, c_str=c_str, c_float=c_float)

    return app


@pytest.fixture(scope="module")
def clients() -> Iterator[tuple[Any, Any]]:
    """FastAPI's TestClient and turboapi's, for path and query parameters."""
    reference = FastAPITestClient(build_app(fastapi), raise_server_exceptions=False)
    ours = TestClient(build_app(turboapi), raise_server_exceptions=False)
    try:
        yield reference, ours
    finally:
        ours.close()
        reference.close()


@pytest.fixture(scope="module")
def header_clients() -> Iterator[tuple[Any, Any]]:
    """FastAPI over ASGI with raw header bytes (``ASGIReference``) and turboapi's TestClient."""
    reference = ASGIReference(build_app(fastapi))
    ours = TestClient(build_app(turboapi), raise_server_exceptions=False)
    try:
        yield reference, ours
    finally:
        ours.close()
        reference.close()


def short(value: Any, limit: int = 1500) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} chars)"


def observe(response: Any) -> tuple[int, Any]:
    try:
        body: Any = response.json()
    except ValueError:
        body = {"not json": response.content[:500]}
    return response.status_code, body


def same(clients: tuple[Any, Any], url: str, headers: list[tuple[bytes, bytes]] | None = None) -> tuple[int, Any]:
    """The same request to FastAPI and to turboapi: equal status and JSON body (FastAPI's is returned)."""
    reference, ours = clients
    note(f"url: {url!r} headers: {headers!r}")
    theirs = observe(reference.get(url, headers=headers))
    mine = observe(ours.get(url, headers=headers))
    assert mine == theirs, (
        f"\nrequest: GET {short(url)} headers={headers!r}\n  fastapi:  {theirs[0]} {short(theirs[1])}\n"
        f"  turboapi: {mine[0]} {short(mine[1])}"
    )
    return theirs


def accepted(answer: tuple[int, Any], names: list[str], source: str) -> list[str]:
    """The parameters among ``names`` that FastAPI took in an answer of the all-types route."""
    status, body = answer
    if status == 200:
        return []  # every value is in the body already
    if status != 422:
        return []  # not routed (404): nothing was converted
    failed = {error["loc"][-1] for error in body["detail"] if error["loc"][0] == source}
    return [name for name in names if name not in failed]


# --------------------------------------------------------------------------- strategies

SPECIALS = [
    "",
    " ",
    "0",
    "-0",
    "+0",
    "00",
    "007",
    "+5",
    " 5",
    "5 ",
    "\t5",
    "5\n",
    "\n5",
    "5\x00",
    "1e3",
    "1E3",
    "1e-3",
    "-1e+3",
    "1e400",
    "1e-400",
    "1.",
    ".5",
    "-.5",
    "1.0",
    "1.50",
    "3.0000000000000000001",
    "0.1",
    "1_000",
    "1__000",
    "_1",
    "1_",
    "1_000.5",
    "1.000_5",
    "0x10",
    "0X1f",
    "0o17",
    "0b101",
    "inf",
    "-inf",
    "+inf",
    "Infinity",
    "-Infinity",
    "INF",
    "infinity",
    "nan",
    "NaN",
    "-nan",
    "snan",
    "9" * 18,
    "9" * 19,
    "-" + "9" * 19,
    str(2**63),
    str(-(2**63)),
    str(2**63 - 1),
    str(2**64),
    "9" * 400,
    "1" * 4300,
    "1" * 4301,
    "0" * 5000 + "1",
    "1" * 20 + ".5",
    "1." + "5" * 30,
    "٣",  # ARABIC-INDIC DIGIT THREE
    "１２",  # FULLWIDTH digits
    "1\u00a0",
    "\u20071",
    "²",
    "½",
    "None",
    "null",
    "[]",
    "1,2",
    "1;2",
    "1/2",
    "%",
    "%41",
    "+",
    "-",
    "--1",
    "+-1",
    "1-",
    "1+1",
]

BOOL_WORDS = ["true", "false", "on", "off", "yes", "no", "1", "0", "t", "f", "y", "n", "none", "tru", "yess"]


@st.composite
def mixed_case(draw: st.DrawFn, words: list[str]) -> str:
    word = draw(st.sampled_from(words))
    flips = draw(st.lists(st.booleans(), min_size=len(word), max_size=len(word)))
    return "".join(c.upper() if flip else c for c, flip in zip(word, flips, strict=True))


@st.composite
def numberish(draw: st.DrawFn) -> str:
    """Something close to a number: sign, digits (maybe with underscores or many leading zeros),
    maybe a fraction and an exponent, maybe whitespace around."""
    sign = draw(st.sampled_from(["", "", "-", "+"]))
    digits = draw(st.text("0123456789", min_size=1, max_size=draw(st.sampled_from([3, 12, 25]))))
    if draw(st.integers(0, 5)) == 0 and len(digits) > 1:
        at = draw(st.integers(1, len(digits) - 1))
        digits = digits[:at] + "_" + digits[at:]
    text = sign + digits
    if draw(st.booleans()):
        text += "." + draw(st.text("0123456789", max_size=20))
    if draw(st.integers(0, 3)) == 0:
        text += draw(st.sampled_from(["e", "E"])) + draw(st.sampled_from(["", "-", "+"]))
        text += draw(st.text("0123456789", min_size=0, max_size=4))
    pad = st.sampled_from(["", "", "", " ", "\t", "\n", "\u00a0", "  "])
    return draw(pad) + text + draw(pad)


UUID_TEXT = st.uuids().flatmap(
    lambda u: st.sampled_from(
        [
            str(u),
            str(u).upper(),
            u.hex,
            u.hex.upper(),
            "{" + str(u) + "}",
            "urn:uuid:" + str(u),
            str(u)[:-1],
            str(u) + "0",
            " " + str(u),
            str(u).replace("-", "_"),
            str(u)[:8] + "-" + u.hex[8:],
        ]
    )
)

RAW = st.one_of(
    st.sampled_from(SPECIALS),
    numberish(),
    mixed_case(BOOL_WORDS),
    st.text(max_size=20),
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=8),
)
ENUM_TEXT = st.one_of(mixed_case(["red", "green", "dark-blue", "dark_blue", "blue"]), RAW)

# A header value is latin-1 text without CTLs (HTAB allowed) and without leading/trailing
# whitespace, which is not part of a field value (RFC 9110 5.5): what a client can send.
LATIN1_PRINTABLE = st.characters(
    codec="latin-1", exclude_categories=["Cc"], include_characters="\t", exclude_characters="\x7f"
)


def header_safe(text: str) -> str:
    return text.strip(" \t")


def header_allowed(text: str) -> bool:
    return all(c == "\t" or " " <= c <= "~" or "\xa0" <= c <= "\xff" for c in text)


HEADER_RAW = st.one_of(RAW.filter(header_allowed), st.text(LATIN1_PRINTABLE, max_size=20))
# A cookie value: also no ';' or ',' (they split cookies); no '=' trouble since the name comes first.
COOKIE_RAW = HEADER_RAW.filter(lambda s: ";" not in s and "," not in s)


def q(text: str) -> str:
    return quote(text, safe="")


# --------------------------------------------------------------------------- path, query

#: the two tests that check every type at once get more examples
FUZZ_MORE = settings(FUZZ, max_examples=LONG_RUN or 300)

ANY_RAW = st.one_of(RAW, UUID_TEXT, ENUM_TEXT)


@FUZZ_MORE
@given(raw=ANY_RAW)
@example(raw="1_000")
@example(raw="True")
@example(raw="-0")
@example(raw="%41")  # decoded once, as by uvicorn: the app sees "%41"
def test_path_params(header_clients: tuple[Any, Any], raw: str) -> None:
    """The same raw value as every path parameter (int, float, bool, str, UUID, Enum). The
    reference is FastAPI over httpx's ASGITransport, which decodes the path once as uvicorn does
    (Starlette's TestClient decodes it twice: ``%2541`` reaches the app as ``A``, not ``%41``)."""
    clients = header_clients
    names = ["i", "f", "b", "s", "u", "e"]
    seen = same(clients, "/path/" + "/".join([q(raw)] * len(names)))
    for name in accepted(seen, names, "path"):
        same(clients, f"/path1/{name}/{q(raw)}")


@FUZZ_MORE
@given(raw=ANY_RAW)
@example(raw="1_000")
@example(raw="ON")
@example(raw="abc\n")
@example(raw="")
def test_query_params(clients: tuple[Any, Any], raw: str) -> None:
    """The same raw value as every query parameter (scalars, Optional, constrained, Decimal, ...)."""
    names = ["i", "f", "b", "s", "d", "e", "u", "opt", "opt_none", "ranged", "ranged_f", "slug", "word", "money"]
    url = "/query?" + "&".join(f"{name}={q(raw)}" for name in names)
    # httpx refuses URLs over 64 KiB: a very long value goes to the one-parameter routes only
    todo = accepted(same(clients, url), names, "query") if len(url) < 60_000 else names
    for name in todo:
        same(clients, f"/query1/{name}?v={q(raw)}")


@FUZZ
@given(values=st.lists(RAW, max_size=4), extra=st.sampled_from(["", "&w=1", "&v", "&v&v=2"]))
def test_query_list_of_int(clients: tuple[Any, Any], values: list[str], extra: str) -> None:
    query = "&".join(f"v={q(v)}" for v in values) + extra
    same(clients, f"/query/list?{query}")


@FUZZ
@given(raw=st.binary(max_size=12), name=st.sampled_from(["i", "s", "ranged"]))
def test_query_undecodable_bytes(clients: tuple[Any, Any], raw: bytes, name: str) -> None:
    """Percent-escapes of arbitrary bytes (invalid UTF-8 included) and an unescaped '+'."""
    same(clients, f"/query/one?{name}={quote(raw, safe='')}+x")


@FUZZ
@given(raw=RAW, name=st.sampled_from(["i", "s", "ranged"]), last=st.booleans())
def test_query_repeated_key_last_wins(clients: tuple[Any, Any], raw: str, name: str, last: bool) -> None:
    query = f"{name}=1&{name}={q(raw)}" if last else f"{name}={q(raw)}&{name}=2"
    same(clients, f"/query/one?{query}")


# --------------------------------------------------------------------------- header, cookie

HEADER_VALUE = HEADER_RAW.map(header_safe)


@FUZZ
@given(
    x_int=st.none() | HEADER_VALUE,
    x_str=st.none() | HEADER_VALUE,
    x_list=st.lists(HEADER_VALUE, max_size=3),
    x_bool=st.none() | HEADER_VALUE,
    x_float=st.none() | HEADER_VALUE,
)
@example(x_int="0\xa0", x_str="caf\xe9", x_list=["a", "\xff"], x_bool="ON", x_float="1e3")
def test_headers(
    header_clients: tuple[Any, Any],
    x_int: str | None,
    x_str: str | None,
    x_list: list[str],
    x_bool: str | None,
    x_float: str | None,
) -> None:
    headers = [(b"x-list", v.encode("latin-1")) for v in x_list]
    for name, value in (("x-int", x_int), ("x-str", x_str), ("x-bool", x_bool), ("x-float", x_float)):
        if value is not None:
            headers.append((name.encode(), value.encode("latin-1")))
    same(header_clients, "/header", headers)


@FUZZ
@given(name=st.sampled_from(["x-int", "x-str", "x-bool"]), values=st.lists(HEADER_VALUE, min_size=2, max_size=3))
def test_repeated_scalar_header_first_wins(header_clients: tuple[Any, Any], name: str, values: list[str]) -> None:
    same(header_clients, "/header", [(name.encode(), v.encode("latin-1")) for v in values])


@FUZZ
@given(
    c_int=st.none() | COOKIE_RAW,
    c_str=st.none() | COOKIE_RAW,
    c_float=st.none() | COOKIE_RAW,
    quoted=st.booleans(),
    spacing=st.sampled_from(["; ", ";", " ;  "]),
    repeat=st.booleans(),
)
@example(c_int="\xa05", c_str='a\\"b', c_float=" 1.5", quoted=True, spacing="; ", repeat=False)
def test_cookies(
    header_clients: tuple[Any, Any],
    c_int: str | None,
    c_str: str | None,
    c_float: str | None,
    quoted: bool,
    spacing: str,
    repeat: bool,
) -> None:
    pairs = [(n, v) for n, v in (("c_int", c_int), ("c_str", c_str), ("c_float", c_float)) if v is not None]
    if quoted:
        pairs = [(n, '"' + v + '"') for n, v in pairs]
    if repeat:  # a repeated cookie: the last one counts
        pairs = [(n, "0") for n, _ in pairs] + pairs
    header = spacing.join(f"{n}={v}" for n, v in pairs)
    same(header_clients, "/cookie", [(b"cookie", header.encode("latin-1"))] if pairs else None)


# --------------------------------------------------------------------------- FileResponse Range

FILE_SIZE = 100
MULTIPART_BOUNDARY = re.compile(r"multipart/byteranges; boundary=(\S+)")


@pytest.fixture(scope="module")
def file_clients() -> Iterator[tuple[Any, Any]]:
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "data.bin")
        with open(path, "wb") as f:
            f.write(bytes(range(FILE_SIZE)))

        def build(fw: types.ModuleType, response_class: Any) -> Any:
            app = fw.FastAPI()

            @app.api_route("/file", methods=["GET", "HEAD"])
            def get_file():
                return response_class(path, media_type="text/plain")

            return app

        reference = ASGIReference(build(fastapi, fastapi.responses.FileResponse))
        ours = TestClient(build(turboapi, turboapi.fileresponse.FileResponse), raise_server_exceptions=False)
        try:
            yield reference, ours
        finally:
            ours.close()
            reference.close()


def multipart_parts(response: Any) -> list[tuple[str, bytes]] | None:
    """(Content-Range, content) of each part of a multipart/byteranges body."""
    found = MULTIPART_BOUNDARY.match(response.headers.get("content-type", ""))
    if not found:
        return None
    boundary = found.group(1).encode()
    parts = []
    for chunk in response.content.split(b"--" + boundary)[1:]:
        if chunk.startswith(b"--"):
            break
        head, _, body = chunk.lstrip(b"\r\n").partition(b"\r\n\r\n")
        ranges = [line.split(b":", 1)[1].strip().decode() for line in head.split(b"\r\n") if b"range" in line.lower()]
        parts.append((ranges[0] if ranges else "?", body.removesuffix(b"\r\n")))
    return parts


def range_answer(response: Any) -> dict[str, Any]:
    seen: dict[str, Any] = {"status": response.status_code}
    parts = multipart_parts(response)
    if parts is not None:
        seen["parts"] = parts
        # the length of the whole multipart body depends on the boundary's length only
        return seen
    for name in ("content-range", "content-length", "content-type", "accept-ranges"):
        seen[name] = response.headers.get(name)
    seen["body"] = response.content
    return seen


ASCII_PRINTABLE = st.characters(min_codepoint=0x20, max_codepoint=0x7E)


@st.composite
def range_headers(draw: st.DrawFn) -> str:
    """Range values made of visible ASCII: single, multiple, suffix, open, overlapping, reversed and
    huge ranges, odd units and separators, whitespace, garbage."""
    number = st.one_of(
        st.integers(0, FILE_SIZE + 5).map(str),
        st.sampled_from(["", "0", "00", "99", "100", "101", "-1", "+5", " 7 ", "1e2", "0x10", "9" * 30, "abc"]),
    )
    single = st.one_of(
        st.tuples(number, number).map(lambda p: f"{p[0]}-{p[1]}"),
        number.map(lambda n: f"-{n}"),
        number.map(lambda n: f"{n}-"),
        st.sampled_from(["-", "", "--", "5", "1-2-3", "-0", "0-0", " 0 - 4 ", "5-4"]),
    )
    if draw(st.integers(0, 7)) == 0:
        return draw(st.text(ASCII_PRINTABLE, max_size=12))  # garbage
    units = ["bytes=", "bytes=", "bytes=", "Bytes=", " bytes =", "bytes", "items=", "=", "bytes==", "bytes= "]
    unit = draw(st.sampled_from(units))
    separator = draw(st.sampled_from([",", ",", ", ", " , ", ",,"]))
    return unit + separator.join(draw(st.lists(single, min_size=1, max_size=4)))


IF_RANGE = st.sampled_from([None, None, "etag", "last-modified", "weak", "other-etag", "garbage"])


def if_range_value(kind: str | None, plain: Any) -> str | None:
    """An If-Range header of ``kind`` for the file whose plain GET answer is ``plain``."""
    if kind is None:
        return None
    return {
        "etag": plain.headers["etag"],
        "last-modified": plain.headers["last-modified"],
        "weak": "W/" + plain.headers["etag"],
        "other-etag": '"0123456789abcdef"',
        "garbage": "yesterday",
    }[kind]


def compare_range(
    file_clients: tuple[Any, Any], method: str, value: str, if_range: str | None = None, raw: bytes | None = None
) -> None:
    reference, ours = file_clients
    answers = []
    for client in (reference, ours):
        headers = [(b"range", raw if raw is not None else value.encode("latin-1"))]
        if if_range is not None:
            headers.append((b"if-range", if_range_value(if_range, client.get("/file")).encode("latin-1")))
        answers.append(range_answer(client.request(method, "/file", headers=headers)))
    theirs, mine = answers
    note(f"{method} Range: {value!r} If-Range: {if_range!r}")
    assert mine == theirs, (
        f"\n{method} Range: {raw or value!r} If-Range: {if_range!r}\n  starlette: {theirs!r}\n  turboapi:  {mine!r}"
    )


@FUZZ
@given(value=range_headers(), if_range=IF_RANGE, method=st.sampled_from(["GET", "GET", "HEAD"]))
@example(value="bytes=-0", if_range=None, method="GET")
@example(value="bytes=0-9,5-19", if_range=None, method="GET")
@example(value="bytes=0-9,10-19", if_range=None, method="GET")
@example(value="bytes=90-200", if_range=None, method="GET")
@example(value="bytes=" + "9" * 30 + "-", if_range=None, method="GET")
@example(value="bytes=0-" + "9" * 30, if_range=None, method="GET")
@example(value="0-9", if_range=None, method="GET")
@example(value="bytes=0-1,-5", if_range=None, method="GET")
@example(value="bytes=50-40", if_range=None, method="GET")
@example(value="bytes=0-4", if_range="weak", method="GET")
@example(value="bytes=0-4", if_range="last-modified", method="HEAD")
def test_file_range(file_clients: tuple[Any, Any], value: str, if_range: str | None, method: str) -> None:
    """Status, and Content-Range / Content-Length / body (or each multipart part's range and
    content) as Starlette's FileResponse gives them."""
    compare_range(file_clients, method, value, if_range)


@FUZZ
@given(
    value=range_headers(),
    junk=st.text(st.characters(min_codepoint=0x80, max_codepoint=0xFF), min_size=1, max_size=3),
    at=st.integers(0, 40),
)
@example(value="bytes=0-4", junk="\xa0", at=0)
@example(value="bytes=0-4", junk="\xe9", at=9)
def test_file_range_with_obs_text(file_clients: tuple[Any, Any], value: str, junk: str, at: int) -> None:
    """A Range value with latin-1 bytes (obs-text, allowed in a field value): Starlette reads it as
    latin-1 (malformed → 400, or a range it can still parse)."""
    text = value[:at] + junk + value[at:]
    compare_range(file_clients, "GET", text, raw=text.encode("latin-1"))
