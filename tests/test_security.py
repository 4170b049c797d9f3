"""Security schemes (``turboapi.security``) against FastAPI 0.141.1's, case by case, without a server.

Each case builds the same request twice: a Starlette ``Request`` from an ASGI scope for FastAPI's class, and a
turboapi ``Request`` for ours, then compares the credentials returned or the ``HTTPException`` raised
(status code, detail, headers). Also compared: the OpenAPI ``model`` dumps, ``scheme_name``, the password form
classes' signatures and attributes, and ``SecurityScopes``.
"""

import asyncio
import base64
import inspect
from enum import Enum
from types import SimpleNamespace
from typing import Any, get_args, get_origin, get_type_hints
from urllib.parse import urlencode

import fastapi.security as fa
import pytest
from fastapi import HTTPException as FastAPIHTTPException
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request as StarletteRequest

import turboapi.security as ta
from turboapi.exceptions import HTTPException as TurboHTTPException
from turboapi.requests import Request as TurboRequest
from turboapi.security.base import SecurityBase
from turboapi.security.utils import get_authorization_scheme_param


def _raw_headers(headers: dict[str, str], cookies: dict[str, str] | None) -> list[tuple[bytes, bytes]]:
    raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
    if cookies:
        raw.append((b"cookie", "; ".join(f"{k}={v}" for k, v in cookies.items()).encode("latin-1")))
    return raw


def starlette_request(headers: dict[str, str], query: dict[str, str], cookies: dict[str, str] | None) -> Any:
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/",
        "raw_path": b"/",
        "root_path": "",
        "scheme": "http",
        "query_string": urlencode(query).encode(),
        "headers": _raw_headers(headers, cookies),
        "client": ("testclient", 50000),
        "server": ("testserver", 80),
    }
    return StarletteRequest(scope)


def turbo_request(headers: dict[str, str], query: dict[str, str], cookies: dict[str, str] | None) -> TurboRequest:
    # The security classes are pure Python and only read headers / query params / cookies, so a stand-in for the
    # Rust core's RequestData (same attribute names and shapes as turboapi.requests.Request reads) is enough here.
    data = SimpleNamespace(
        method="GET",
        headers=_raw_headers(headers, cookies),
        query_string=urlencode(query).encode(),
        path="/",
        raw_path=b"/",
        scheme="http",
        client=("testclient", 50000),
        server=("testserver", 80),
        shard=0,
        path_params={},
        body=b"",
    )
    return TurboRequest(data)


def _plain(value: Any) -> Any:
    """Make FastAPI's and turboapi's objects comparable: enums by value, pydantic models as dicts."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, BaseModel):
        return {"__model__": type(value).__name__, **_plain(value.model_dump())}
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def outcome(scheme: Any, request: Any, exc_types: tuple[type[BaseException], ...]) -> tuple[Any, ...]:
    try:
        result = asyncio.run(scheme(request))
    except exc_types as exc:
        return ("raised", exc.status_code, exc.detail, exc.headers)
    return ("returned", _plain(result))


def _b64(text: str) -> str:
    return base64.b64encode(text.encode("latin-1")).decode("ascii")


# (id, class name, constructor kwargs, request headers, query, cookies)
CASES = [
    # API keys
    ("query-present", "APIKeyQuery", {"name": "key"}, {}, {"key": "secret"}, None),
    ("query-absent", "APIKeyQuery", {"name": "key"}, {}, {}, None),
    ("query-empty", "APIKeyQuery", {"name": "key"}, {}, {"key": ""}, None),
    ("query-other-param", "APIKeyQuery", {"name": "key"}, {}, {"other": "x"}, None),
    ("query-absent-noerror", "APIKeyQuery", {"name": "key", "auto_error": False}, {}, {}, None),
    ("header-present", "APIKeyHeader", {"name": "X-Key"}, {"x-key": "secret"}, {}, None),
    ("header-case", "APIKeyHeader", {"name": "x-key"}, {"X-KEY": "secret"}, {}, None),
    ("header-absent", "APIKeyHeader", {"name": "X-Key"}, {}, {}, None),
    ("header-empty", "APIKeyHeader", {"name": "X-Key"}, {"X-Key": ""}, {}, None),
    ("header-absent-noerror", "APIKeyHeader", {"name": "X-Key", "auto_error": False}, {}, {}, None),
    ("cookie-present", "APIKeyCookie", {"name": "session"}, {}, {}, {"session": "abc"}),
    ("cookie-absent", "APIKeyCookie", {"name": "session"}, {}, {}, {"other": "abc"}),
    ("cookie-none", "APIKeyCookie", {"name": "session"}, {}, {}, None),
    ("cookie-absent-noerror", "APIKeyCookie", {"name": "session", "auto_error": False}, {}, {}, None),
    # HTTP Basic
    ("basic-ok", "HTTPBasic", {}, {"Authorization": "Basic " + _b64("john:secret")}, {}, None),
    ("basic-lowercase", "HTTPBasic", {}, {"Authorization": "basic " + _b64("john:secret")}, {}, None),
    ("basic-colon-in-pw", "HTTPBasic", {}, {"Authorization": "Basic " + _b64("john:se:cr:et")}, {}, None),
    ("basic-empty-user", "HTTPBasic", {}, {"Authorization": "Basic " + _b64(":pw")}, {}, None),
    ("basic-empty-both", "HTTPBasic", {}, {"Authorization": "Basic " + _b64(":")}, {}, None),
    ("basic-absent", "HTTPBasic", {}, {}, {}, None),
    ("basic-absent-realm", "HTTPBasic", {"realm": "simple"}, {}, {}, None),
    ("basic-absent-noerror", "HTTPBasic", {"auto_error": False}, {}, {}, None),
    ("basic-wrong-scheme", "HTTPBasic", {}, {"Authorization": "Bearer abc"}, {}, None),
    ("basic-wrong-scheme-noerror", "HTTPBasic", {"auto_error": False}, {"Authorization": "Bearer abc"}, {}, None),
    ("basic-malformed-b64", "HTTPBasic", {}, {"Authorization": "Basic not*base64!"}, {}, None),
    ("basic-malformed-noerror", "HTTPBasic", {"auto_error": False}, {"Authorization": "Basic %%%"}, {}, None),
    ("basic-malformed-realm", "HTTPBasic", {"realm": "r"}, {"Authorization": "Basic %%%"}, {}, None),
    ("basic-no-colon", "HTTPBasic", {}, {"Authorization": "Basic " + _b64("johnsecret")}, {}, None),
    ("basic-no-colon-noerror", "HTTPBasic", {"auto_error": False}, {"Authorization": "Basic " + _b64("x")}, {}, None),
    ("basic-non-ascii", "HTTPBasic", {}, {"Authorization": "Basic " + _b64("jöhn:pw")}, {}, None),
    ("basic-scheme-only", "HTTPBasic", {}, {"Authorization": "Basic"}, {}, None),
    ("basic-scheme-space", "HTTPBasic", {}, {"Authorization": "Basic "}, {}, None),
    ("basic-empty-header", "HTTPBasic", {}, {"Authorization": ""}, {}, None),
    ("basic-padded", "HTTPBasic", {}, {"Authorization": "Basic   " + _b64("a:b") + "  "}, {}, None),
    # HTTP Bearer
    ("bearer-ok", "HTTPBearer", {}, {"Authorization": "Bearer abc.def"}, {}, None),
    ("bearer-lowercase", "HTTPBearer", {}, {"Authorization": "bearer abc"}, {}, None),
    ("bearer-extra-spaces", "HTTPBearer", {}, {"Authorization": "Bearer   abc  "}, {}, None),
    ("bearer-token-with-space", "HTTPBearer", {}, {"Authorization": "Bearer a b"}, {}, None),
    ("bearer-absent", "HTTPBearer", {}, {}, {}, None),
    ("bearer-absent-noerror", "HTTPBearer", {"auto_error": False}, {}, {}, None),
    ("bearer-wrong-scheme", "HTTPBearer", {}, {"Authorization": "Basic abc"}, {}, None),
    ("bearer-wrong-scheme-noerror", "HTTPBearer", {"auto_error": False}, {"Authorization": "Basic abc"}, {}, None),
    ("bearer-no-token", "HTTPBearer", {}, {"Authorization": "Bearer"}, {}, None),
    ("bearer-blank-token", "HTTPBearer", {}, {"Authorization": "Bearer    "}, {}, None),
    ("bearer-no-token-noerror", "HTTPBearer", {"auto_error": False}, {"Authorization": "Bearer"}, {}, None),
    ("bearer-format", "HTTPBearer", {"bearerFormat": "JWT"}, {}, {}, None),
    # HTTP Digest
    ("digest-ok", "HTTPDigest", {}, {"Authorization": 'Digest username="a", realm="r"'}, {}, None),
    ("digest-lowercase", "HTTPDigest", {}, {"Authorization": "digest abc"}, {}, None),
    ("digest-absent", "HTTPDigest", {}, {}, {}, None),
    ("digest-absent-noerror", "HTTPDigest", {"auto_error": False}, {}, {}, None),
    ("digest-wrong-scheme", "HTTPDigest", {}, {"Authorization": "Bearer abc"}, {}, None),
    ("digest-wrong-scheme-noerror", "HTTPDigest", {"auto_error": False}, {"Authorization": "Bearer abc"}, {}, None),
    ("digest-no-credentials", "HTTPDigest", {}, {"Authorization": "Digest"}, {}, None),
    # OAuth2 base: any Authorization header
    ("oauth2-any-header", "OAuth2", {}, {"Authorization": "Whatever xyz"}, {}, None),
    ("oauth2-absent", "OAuth2", {}, {}, {}, None),
    ("oauth2-empty", "OAuth2", {}, {"Authorization": ""}, {}, None),
    ("oauth2-absent-noerror", "OAuth2", {"auto_error": False}, {}, {}, None),
    # OAuth2 password bearer
    ("pwbearer-ok", "OAuth2PasswordBearer", {"tokenUrl": "token"}, {"Authorization": "Bearer tok"}, {}, None),
    ("pwbearer-lower", "OAuth2PasswordBearer", {"tokenUrl": "token"}, {"Authorization": "bEaReR tok"}, {}, None),
    ("pwbearer-scheme-only", "OAuth2PasswordBearer", {"tokenUrl": "token"}, {"Authorization": "Bearer"}, {}, None),
    ("pwbearer-absent", "OAuth2PasswordBearer", {"tokenUrl": "token"}, {}, {}, None),
    ("pwbearer-wrong", "OAuth2PasswordBearer", {"tokenUrl": "token"}, {"Authorization": "Basic abc"}, {}, None),
    ("pwbearer-noerror", "OAuth2PasswordBearer", {"tokenUrl": "t", "auto_error": False}, {}, {}, None),
    (
        "pwbearer-wrong-noerror",
        "OAuth2PasswordBearer",
        {"tokenUrl": "t", "auto_error": False},
        {"Authorization": "Digest x"},
        {},
        None,
    ),
    # OAuth2 authorization code bearer
    (
        "codebearer-ok",
        "OAuth2AuthorizationCodeBearer",
        {"authorizationUrl": "a", "tokenUrl": "t"},
        {"Authorization": "Bearer tok"},
        {},
        None,
    ),  # fmt: skip
    (
        "codebearer-absent",
        "OAuth2AuthorizationCodeBearer",
        {"authorizationUrl": "a", "tokenUrl": "t"},
        {},
        {},
        None,
    ),  # fmt: skip
    (
        "codebearer-wrong",
        "OAuth2AuthorizationCodeBearer",
        {"authorizationUrl": "a", "tokenUrl": "t"},
        {"Authorization": "Basic abc"},
        {},
        None,
    ),  # fmt: skip
    (
        "codebearer-noerror",
        "OAuth2AuthorizationCodeBearer",
        {"authorizationUrl": "a", "tokenUrl": "t", "auto_error": False},
        {},
        {},
        None,
    ),  # fmt: skip
    # OpenID Connect
    ("oidc-present", "OpenIdConnect", {"openIdConnectUrl": "/oidc"}, {"Authorization": "Bearer x"}, {}, None),
    ("oidc-absent", "OpenIdConnect", {"openIdConnectUrl": "/oidc"}, {}, {}, None),
    ("oidc-absent-noerror", "OpenIdConnect", {"openIdConnectUrl": "/oidc", "auto_error": False}, {}, {}, None),
]

FA_ERRORS = (FastAPIHTTPException, StarletteHTTPException)


@pytest.mark.parametrize(("cls_name", "kwargs", "headers", "query", "cookies"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])  # fmt: skip
def test_call_matches_fastapi(cls_name, kwargs, headers, query, cookies):
    expected = outcome(getattr(fa, cls_name)(**kwargs), starlette_request(headers, query, cookies), FA_ERRORS)
    actual = outcome(getattr(ta, cls_name)(**kwargs), turbo_request(headers, query, cookies), (TurboHTTPException,))
    assert actual == expected


def test_http_base_custom_scheme_challenge():
    fa_base = fa.http.HTTPBase(scheme="custom")
    ta_base = ta.http.HTTPBase(scheme="custom")
    for headers in ({}, {"Authorization": "Custom abc"}, {"Authorization": "Other abc"}):
        assert outcome(ta_base, turbo_request(headers, {}, None), (TurboHTTPException,)) == outcome(
            fa_base, starlette_request(headers, {}, None), FA_ERRORS
        )


def test_unauthenticated_error_is_turboapi_http_exception():
    with pytest.raises(TurboHTTPException) as info:
        asyncio.run(ta.HTTPBearer()(turbo_request({}, {}, None)))
    assert info.value.status_code == 401


# (class name, constructor kwargs) for the OpenAPI model and scheme_name comparisons
MODEL_CASES = [
    ("APIKeyQuery", {"name": "key"}),
    ("APIKeyHeader", {"name": "X-API-Key", "scheme_name": "hdr", "description": "A header key"}),
    ("APIKeyCookie", {"name": "session", "description": "cookie"}),
    ("HTTPBasic", {}),
    ("HTTPBasic", {"realm": "simple", "scheme_name": "basicAuth", "description": "d"}),
    ("HTTPBearer", {}),
    ("HTTPBearer", {"bearerFormat": "JWT", "description": "jwt"}),
    ("HTTPDigest", {"scheme_name": "dig"}),
    ("OAuth2", {}),
    ("OAuth2", {"flows": {"implicit": {"authorizationUrl": "/auth", "scopes": {"a": "A"}}}}),
    ("OAuth2", {"flows": {"clientCredentials": {"tokenUrl": "/tok", "refreshUrl": "/ref"}}, "description": "cc"}),
    (
        "OAuth2",
        {
            "flows": {
                "password": {"tokenUrl": "/tok"},
                "authorizationCode": {"authorizationUrl": "/a", "tokenUrl": "/t", "scopes": {"x": "y"}, "x-extra": 1},
            }
        },
    ),  # fmt: skip
    ("OAuth2PasswordBearer", {"tokenUrl": "token"}),
    ("OAuth2PasswordBearer", {"tokenUrl": "token", "scopes": {"me": "Read me"}, "refreshUrl": "/refresh"}),
    ("OAuth2PasswordBearer", {"tokenUrl": "token", "scheme_name": "pw", "description": "pw flow"}),
    ("OAuth2AuthorizationCodeBearer", {"authorizationUrl": "/authorize", "tokenUrl": "/token"}),
    (
        "OAuth2AuthorizationCodeBearer",
        {"authorizationUrl": "/a", "tokenUrl": "/t", "refreshUrl": "/r", "scopes": {"s": "S"}},
    ),  # fmt: skip
    ("OpenIdConnect", {"openIdConnectUrl": "https://example.com/.well-known/openid-configuration"}),
    ("OpenIdConnect", {"openIdConnectUrl": "/oidc", "scheme_name": "oidc", "description": "OIDC"}),
]


@pytest.mark.parametrize(("cls_name", "kwargs"), MODEL_CASES, ids=[f"{c}-{i}" for i, (c, _) in enumerate(MODEL_CASES)])
def test_model_and_scheme_name_match_fastapi(cls_name, kwargs):
    fa_scheme = getattr(fa, cls_name)(**kwargs)
    ta_scheme = getattr(ta, cls_name)(**kwargs)
    assert isinstance(ta_scheme, SecurityBase)
    assert ta_scheme.scheme_name == fa_scheme.scheme_name
    assert ta_scheme.auto_error == fa_scheme.auto_error
    assert type(ta_scheme.model).__name__ == type(fa_scheme.model).__name__
    for mode in ("python", "json"):
        fa_dump = fa_scheme.model.model_dump(mode=mode, by_alias=True, exclude_none=True)
        ta_dump = ta_scheme.model.model_dump(mode=mode, by_alias=True, exclude_none=True)
        assert _plain(ta_dump) == _plain(fa_dump)
    if hasattr(fa_scheme, "realm"):
        assert ta_scheme.realm == fa_scheme.realm


def test_openapi_models_json():
    from turboapi.openapi import models

    assert models.APIKey.model_validate({"in": "header", "name": "k"}).model_dump(
        mode="json", by_alias=True, exclude_none=True
    ) == {"type": "apiKey", "in": "header", "name": "k"}
    assert models.HTTPBearer(bearerFormat="JWT").model_dump(mode="json", by_alias=True, exclude_none=True) == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
    }
    # Specification extensions pass through, as on FastAPI's models.
    assert models.OpenIdConnect.model_validate({"openIdConnectUrl": "/o", "x-logo": "l"}).model_dump(
        mode="json", by_alias=True, exclude_none=True
    ) == {"type": "openIdConnect", "openIdConnectUrl": "/o", "x-logo": "l"}


def test_flows_default_not_shared_mutably():
    first, second = ta.OAuth2(), ta.OAuth2()
    assert first.model.flows.model_dump(exclude_none=True) == second.model.flows.model_dump(exclude_none=True) == {}


@pytest.mark.parametrize(
    "value",
    [None, "", "Bearer", "Bearer tok", "Bearer  tok  ", "Basic", "Basic ", " Bearer tok", "a b c", "tok"],
)
def test_get_authorization_scheme_param_matches_fastapi(value):
    from fastapi.security.utils import get_authorization_scheme_param as fa_split

    assert get_authorization_scheme_param(value) == fa_split(value)


def _form_markers(cls: type) -> dict[str, tuple[Any, ...]]:
    """Per ``__init__`` parameter: kind, default, annotated type, and the Form marker's class name and constraints."""
    hints = get_type_hints(cls.__init__, include_extras=True)
    described = {}
    for name, param in inspect.signature(cls.__init__).parameters.items():
        if name == "self":
            continue
        hint = hints[name]
        assert get_origin(hint) is not None
        base, *extras = get_args(hint)
        markers = [e for e in extras if type(e).__name__ == "Form"]
        assert len(markers) == 1, name
        marker = markers[0]
        patterns = [getattr(m, "pattern", None) for m in marker.metadata if getattr(m, "pattern", None)]
        # FastAPI's Form stores a missing json_schema_extra as {}, turboapi's as None: same meaning.
        described[name] = (param.kind, param.default, base, patterns, marker.json_schema_extra or None)
    return described


@pytest.mark.parametrize("cls_name", ["OAuth2PasswordRequestForm", "OAuth2PasswordRequestFormStrict"])
def test_password_form_signature_matches_fastapi(cls_name):
    assert _form_markers(getattr(ta, cls_name)) == _form_markers(getattr(fa, cls_name))


FORM_CASES = [
    ("OAuth2PasswordRequestForm", {"username": "u", "password": "p"}),
    ("OAuth2PasswordRequestForm", {"username": "u", "password": "p", "grant_type": "password"}),
    ("OAuth2PasswordRequestForm", {"username": "u", "password": "p", "scope": "items:read  me openid "}),
    ("OAuth2PasswordRequestForm", {"username": "u", "password": "p", "client_id": "c", "client_secret": "s"}),
    ("OAuth2PasswordRequestFormStrict", {"grant_type": "password", "username": "u", "password": "p"}),
    (
        "OAuth2PasswordRequestFormStrict",
        {"grant_type": "password", "username": "u", "password": "p", "scope": "a b", "client_id": "c"},
    ),  # fmt: skip
]


@pytest.mark.parametrize(("cls_name", "kwargs"), FORM_CASES)
def test_password_form_attributes_match_fastapi(cls_name, kwargs):
    fa_form = getattr(fa, cls_name)(**kwargs)
    ta_form = getattr(ta, cls_name)(**kwargs)
    assert vars(ta_form) == vars(fa_form)


def test_strict_form_positional_and_password_form_keyword_only():
    assert vars(ta.OAuth2PasswordRequestFormStrict("password", "u", "p")) == vars(
        fa.OAuth2PasswordRequestFormStrict("password", "u", "p")
    )
    with pytest.raises(TypeError):
        ta.OAuth2PasswordRequestForm(None, "u", "p")  # type: ignore[misc]
    assert issubclass(ta.OAuth2PasswordRequestFormStrict, ta.OAuth2PasswordRequestForm)


@pytest.mark.parametrize("scopes", [None, [], ["me"], ["items:read", "items:write", "me"]])
def test_security_scopes_match_fastapi(scopes):
    fa_scopes, ta_scopes = fa.SecurityScopes(scopes), ta.SecurityScopes(scopes=scopes)
    assert (ta_scopes.scopes, ta_scopes.scope_str) == (fa_scopes.scopes, fa_scopes.scope_str)


@pytest.mark.parametrize("cls_name", sorted(fa.__all__) if hasattr(fa, "__all__") else sorted(ta.__all__))
def test_constructor_signatures_match_fastapi(cls_name):
    def describe(cls: type) -> list[tuple[str, Any, Any]]:
        params = inspect.signature(cls.__init__).parameters.values()
        return [(p.name, p.kind, _plain(p.default)) for p in params]

    assert describe(getattr(ta, cls_name)) == describe(getattr(fa, cls_name))


def test_public_names():
    assert sorted(ta.__all__) == sorted(name for name in dir(fa) if not name.startswith("_") and name[0].isupper())
