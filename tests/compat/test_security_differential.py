"""Differential test of the security utilities, used through Depends/Security end to end.

Same comparison as ``test_dependencies_differential.py`` (``differential_harness``'s
``SIDE_EFFECTS``): one app written once against a namespace of either FastAPI's or turboapi's
public names, both served through their own ``TestClient``; status, ``content-type``,
``www-authenticate``, ``set-cookie``, ``location``, the body and the side-effect log are compared.
"""

import base64
import secrets
from typing import Annotated, Any

import pytest

from .differential_harness import SIDE_EFFECTS, Apps, Built, C, Case, apps_fixture, assert_unique_ids, check

USERS = {
    "alice": {"password": "wonderland", "full_name": "Alice"},
    "bob": {"password": "builder", "full_name": "Bob"},
}


def build_security_app(fw: Any) -> Built:
    Depends, Security, HTTPException = fw.Depends, fw.Security, fw.HTTPException
    SecurityScopes = fw.SecurityScopes

    app = fw.FastAPI()
    built = Built(app)
    log = built.log

    oauth2_scheme = fw.OAuth2PasswordBearer(tokenUrl="token")
    oauth2_optional = fw.OAuth2PasswordBearer(tokenUrl="token", auto_error=False)
    oauth2_scoped = fw.OAuth2PasswordBearer(tokenUrl="token", scopes={"me": "Read me", "items": "Read items"})
    basic = fw.HTTPBasic()
    basic_realm = fw.HTTPBasic(realm="simple")
    basic_optional = fw.HTTPBasic(auto_error=False)
    bearer = fw.HTTPBearer()
    bearer_optional = fw.HTTPBearer(auto_error=False)
    api_header = fw.APIKeyHeader(name="X-API-Key")
    api_query = fw.APIKeyQuery(name="api_key")
    api_cookie = fw.APIKeyCookie(name="session")
    api_header_optional = fw.APIKeyHeader(name="X-API-Key", auto_error=False)
    api_query_optional = fw.APIKeyQuery(name="api_key", auto_error=False)
    api_cookie_optional = fw.APIKeyCookie(name="session", auto_error=False)

    # ------------------------------------------------------------------ OAuth2 password bearer
    @app.get("/oauth2/token")
    def oauth2_token(token: Annotated[str, Depends(oauth2_scheme)]):
        return {"token": token}

    @app.get("/oauth2/optional")
    async def oauth2_opt(token: str | None = Depends(oauth2_optional)):
        return {"token": token}

    def fake_decode(token: str = Depends(oauth2_scheme)):
        user = USERS.get(token)
        if user is None:
            raise HTTPException(
                status_code=401, detail="Invalid authentication credentials", headers={"WWW-Authenticate": "Bearer"}
            )
        return {"username": token, "full_name": user["full_name"]}

    @app.get("/oauth2/me")
    def oauth2_me(user: dict = Depends(fake_decode)):
        return user

    # ------------------------------------------------------------------ password request forms
    @app.post("/token")
    def login(form: Annotated[fw.OAuth2PasswordRequestForm, Depends()]):
        user = USERS.get(form.username)
        if user is None or form.password != user["password"]:
            raise HTTPException(status_code=400, detail="Incorrect username or password")
        return {
            "access_token": form.username + ":" + ",".join(form.scopes),
            "token_type": "bearer",
            "scopes": form.scopes,
            "grant_type": form.grant_type,
            "client_id": form.client_id,
            "client_secret": form.client_secret,
        }

    @app.post("/token/strict")
    async def login_strict(form: fw.OAuth2PasswordRequestFormStrict = Depends()):
        return {"username": form.username, "grant_type": form.grant_type, "scopes": form.scopes}

    # ------------------------------------------------------------------ scopes
    def get_current_user(security_scopes: SecurityScopes, token: Annotated[str, Depends(oauth2_scoped)]):
        if security_scopes.scopes:
            authenticate_value = f'Bearer scope="{security_scopes.scope_str}"'
        else:
            authenticate_value = "Bearer"
        username, _, scope_part = token.partition(":")
        if username not in USERS:
            raise HTTPException(
                status_code=401,
                detail="Could not validate credentials",
                headers={"WWW-Authenticate": authenticate_value},
            )
        token_scopes = scope_part.split(",") if scope_part else []
        for scope in security_scopes.scopes:
            if scope not in token_scopes:
                raise HTTPException(
                    status_code=401, detail="Not enough permissions", headers={"WWW-Authenticate": authenticate_value}
                )
        log.append(f"user:{username}:{security_scopes.scope_str}")
        return {"username": username, "token_scopes": token_scopes, "required": security_scopes.scopes}

    def get_current_active_user(current_user: Annotated[dict, Security(get_current_user, scopes=["me"])]):
        if current_user["username"] == "bob" and "disabled" in current_user["token_scopes"]:
            raise HTTPException(status_code=400, detail="Inactive user")
        return current_user

    @app.get("/users/me")
    def users_me(user: Annotated[dict, Depends(get_current_active_user)]):
        return user

    @app.get("/users/me/items")
    async def users_me_items(user: Annotated[dict, Security(get_current_active_user, scopes=["items"])]):
        return {"owner": user["username"], "required": user["required"]}

    @app.get("/status", dependencies=[Security(get_current_user)])
    def status_route():
        return {"status": "ok"}

    def echo_scopes(security_scopes: SecurityScopes):
        log.append("echo:" + security_scopes.scope_str)
        return {"scopes": security_scopes.scopes, "scope_str": security_scopes.scope_str}

    def nested_echo(inner: dict = Security(echo_scopes, scopes=["inner", "outer"])):
        return inner

    @app.get("/scopes/echo")
    def scopes_echo(s: dict = Security(echo_scopes, scopes=["a", "b"])):
        return s

    @app.get("/scopes/nested")
    def scopes_nested(s: dict = Security(nested_echo, scopes=["outer"])):
        return s

    @app.get("/scopes/plain-depends")
    async def scopes_plain(s: dict = Depends(echo_scopes)):
        return s

    @app.get("/scopes/decorator", dependencies=[Security(echo_scopes, scopes=["deco"])])
    def scopes_decorator():
        return {"ok": True}

    @app.get("/scopes/cache")
    def scopes_cache(
        a: dict = Security(echo_scopes, scopes=["x"]),
        b: dict = Security(echo_scopes, scopes=["y"]),
        c: dict = Security(echo_scopes, scopes=["x"]),
    ):
        return {"a": a, "b": b, "c": c}

    # ------------------------------------------------------------------ HTTP basic / bearer / digest
    @app.get("/basic")
    def basic_route(credentials: Annotated[fw.HTTPBasicCredentials, Depends(basic)]):
        return {"username": credentials.username, "password": credentials.password}

    @app.get("/basic/realm")
    def basic_realm_route(credentials: fw.HTTPBasicCredentials = Depends(basic_realm)):
        return credentials

    @app.get("/basic/optional")
    async def basic_optional_route(credentials: fw.HTTPBasicCredentials | None = Depends(basic_optional)):
        return {"credentials": None if credentials is None else credentials.username}

    def checked_user(credentials: Annotated[fw.HTTPBasicCredentials, Depends(basic)]):
        user = USERS.get(credentials.username)
        ok = user is not None and secrets.compare_digest(credentials.password.encode(), user["password"].encode())
        if not ok:
            raise HTTPException(
                status_code=401, detail="Incorrect username or password", headers={"WWW-Authenticate": "Basic"}
            )
        return credentials.username

    @app.get("/basic/checked")
    def basic_checked(username: str = Depends(checked_user)):
        return {"username": username}

    @app.get("/bearer")
    def bearer_route(credentials: Annotated[fw.HTTPAuthorizationCredentials, Depends(bearer)]):
        return {"scheme": credentials.scheme, "credentials": credentials.credentials}

    @app.get("/bearer/optional")
    def bearer_optional_route(credentials: fw.HTTPAuthorizationCredentials | None = Security(bearer_optional)):
        return {"credentials": None if credentials is None else credentials.credentials}

    # ------------------------------------------------------------------ API keys
    @app.get("/apikey/header")
    def apikey_header(key: str = Security(api_header)):
        return {"key": key}

    @app.get("/apikey/query")
    async def apikey_query(key: Annotated[str, Depends(api_query)]):
        return {"key": key}

    @app.get("/apikey/cookie")
    def apikey_cookie(key: str = Depends(api_cookie)):
        return {"key": key}

    def any_key(
        h: str | None = Depends(api_header_optional),
        q: str | None = Depends(api_query_optional),
        c: str | None = Depends(api_cookie_optional),
    ):
        key = h or q or c
        if key is None:
            raise HTTPException(status_code=403, detail="No API key")
        return {"key": key, "from": "header" if h else "query" if q else "cookie"}

    @app.get("/apikey/any")
    def apikey_any(found: dict = Depends(any_key)):
        return found

    @app.get("/apikey/optional")
    def apikey_optional(key: str | None = Depends(api_header_optional)):
        return {"key": key}

    # ------------------------------------------------------------------ other schemes, subclasses, routers
    code_bearer = fw.OAuth2AuthorizationCodeBearer(authorizationUrl="authorize", tokenUrl="token")
    openid = fw.OpenIdConnect(openIdConnectUrl="/.well-known/openid-configuration")
    openid_optional = fw.OpenIdConnect(openIdConnectUrl="/.well-known/openid-configuration", auto_error=False)
    digest = fw.HTTPDigest()

    @app.get("/other/code-bearer")
    def other_code_bearer(token: str = Depends(code_bearer)):
        return {"token": token}

    @app.get("/other/openid")
    def other_openid(value: str = Depends(openid)):
        return {"value": value}

    @app.get("/other/openid-optional")
    def other_openid_optional(value: str | None = Depends(openid_optional)):
        return {"value": value}

    @app.get("/other/digest")
    def other_digest(credentials: fw.HTTPAuthorizationCredentials = Depends(digest)):
        return {"scheme": credentials.scheme, "credentials": credentials.credentials}

    class JWTBearer(fw.HTTPBearer):
        async def __call__(self, request: fw.Request):
            credentials = await super().__call__(request)
            if credentials is None:
                return None
            if not credentials.credentials.startswith("jwt."):
                raise HTTPException(status_code=403, detail="Invalid token or expired token.")
            log.append("jwt-checked")
            return credentials.credentials

    jwt_bearer = JWTBearer()
    jwt_bearer_optional = JWTBearer(auto_error=False)

    @app.get("/other/jwt", dependencies=[Depends(jwt_bearer)])
    def other_jwt():
        return {"ok": True}

    @app.get("/other/jwt-optional")
    def other_jwt_optional(token: str | None = Depends(jwt_bearer_optional)):
        return {"token": token}

    secured = fw.APIRouter(prefix="/secured", dependencies=[Security(echo_scopes, scopes=["router"])])

    @secured.get("/inner")
    def secured_inner(s: dict = Security(echo_scopes, scopes=["route"])):
        return s

    app.include_router(secured)

    def count_calls():
        log.append("count_calls")
        return log.count("count_calls")

    @app.get("/other/security-no-cache")
    def other_security_no_cache(
        a: int = Security(count_calls), b: int = Security(count_calls, use_cache=False), c: int = Depends(count_calls)
    ):
        return {"a": a, "b": b, "c": c}

    # ------------------------------------------------------------------ overriding a security scheme
    def token_override():
        return "alice:me,items"

    def user_override():
        return {"username": "override", "token_scopes": [], "required": []}

    async def basic_override():
        return fw.HTTPBasicCredentials(username="bob", password="builder")

    built.registry.update(
        oauth2_scheme=oauth2_scheme,
        oauth2_scoped=oauth2_scoped,
        get_current_user=get_current_user,
        basic=basic,
        api_header=api_header,
        token_override=token_override,
        user_override=user_override,
        basic_override=basic_override,
    )
    return built


apps = apps_fixture({"main": build_security_app}, with_route=False, warm_up=True)


def basic_auth(value: str) -> dict[str, str]:
    return {"authorization": "Basic " + base64.b64encode(value.encode()).decode()}


def bearer_auth(token: str) -> dict[str, str]:
    return {"authorization": "Bearer " + token}


FORM_CT = {"content-type": "application/x-www-form-urlencoded"}
LOGIN = {"username": "alice", "password": "wonderland"}
MULTIPART = (
    b"--XyZ\r\n"
    b'Content-Disposition: form-data; name="username"\r\n\r\nalice\r\n'
    b"--XyZ\r\n"
    b'Content-Disposition: form-data; name="password"\r\n\r\nwonderland\r\n'
    b"--XyZ\r\n"
    b'Content-Disposition: form-data; name="scope"\r\n\r\nme items\r\n'
    b"--XyZ--\r\n"
)

OAUTH2_CASES = [
    C("oauth2-missing", "GET", "/oauth2/token", 401),
    C("oauth2-ok", "GET", "/oauth2/token", 200, headers=bearer_auth("abc")),
    C("oauth2-lowercase-scheme", "GET", "/oauth2/token", 200, headers={"authorization": "bearer abc"}),
    C("oauth2-wrong-scheme", "GET", "/oauth2/token", 401, headers={"authorization": "Basic abc"}),
    C("oauth2-scheme-only", "GET", "/oauth2/token", 200, headers={"authorization": "Bearer"}),
    C("oauth2-extra-spaces-stripped", "GET", "/oauth2/token", 200, headers={"authorization": "Bearer   tok  "}),
    C("oauth2-empty-header", "GET", "/oauth2/token", 401, headers={"authorization": ""}),
    C("oauth2-optional-missing", "GET", "/oauth2/optional", 200),
    C("oauth2-optional-wrong-scheme", "GET", "/oauth2/optional", 200, headers={"authorization": "Digest x"}),
    C("oauth2-optional-present", "GET", "/oauth2/optional", 200, headers=bearer_auth("t0k")),
    C("oauth2-me-ok", "GET", "/oauth2/me", 200, headers=bearer_auth("alice")),
    C("oauth2-me-unknown-user", "GET", "/oauth2/me", 401, headers=bearer_auth("mallory")),
    C("oauth2-me-missing", "GET", "/oauth2/me", 401),
]

FORM_CASES = [
    C("form-login-ok", "POST", "/token", 200, data=LOGIN),
    C("form-login-scopes", "POST", "/token", 200, data={**LOGIN, "scope": "me items"}),
    C(
        "form-login-all-fields",
        "POST",
        "/token",
        200,
        data={**LOGIN, "grant_type": "password", "client_id": "cid", "client_secret": "cs", "scope": " me  items "},
    ),
    C("form-login-wrong-password", "POST", "/token", 400, data={"username": "alice", "password": "nope"}),
    C("form-login-unknown-user", "POST", "/token", 400, data={"username": "eve", "password": "x"}),
    C("form-login-missing-password", "POST", "/token", 422, data={"username": "alice"}),
    C("form-login-missing-everything", "POST", "/token", 422),
    C("form-login-empty-body-form-ct", "POST", "/token", 422, content=b"", headers=FORM_CT),
    C("form-login-empty-password", "POST", "/token", 422, data={"username": "alice", "password": ""}),
    C("form-login-bad-grant-type", "POST", "/token", 422, data={**LOGIN, "grant_type": "client_credentials"}),
    C("form-login-json-body", "POST", "/token", 422, json=LOGIN),
    C("form-login-extra-fields-ignored", "POST", "/token", 200, data={**LOGIN, "remember": "1"}),
    C(
        "form-login-multipart",
        "POST",
        "/token",
        200,
        content=MULTIPART,
        headers={"content-type": "multipart/form-data; boundary=XyZ"},
    ),
    C("form-strict-ok", "POST", "/token/strict", 200, data={**LOGIN, "grant_type": "password"}),
    C("form-strict-missing-grant-type", "POST", "/token/strict", 422, data=LOGIN),
    C("form-strict-wrong-grant-type", "POST", "/token/strict", 422, data={**LOGIN, "grant_type": "implicit"}),
]

SCOPE_CASES = [
    C("scopes-me-no-token", "GET", "/users/me", 401),
    C("scopes-me-ok", "GET", "/users/me", 200, headers=bearer_auth("alice:me,items"), expect_log=["user:alice:me"]),
    C("scopes-me-missing-scope", "GET", "/users/me", 401, headers=bearer_auth("bob:")),
    C("scopes-me-unknown-user", "GET", "/users/me", 401, headers=bearer_auth("eve:me")),
    C("scopes-me-inactive", "GET", "/users/me", 400, headers=bearer_auth("bob:me,disabled")),
    C("scopes-items-ok", "GET", "/users/me/items", 200, headers=bearer_auth("alice:me,items")),
    C("scopes-items-missing-items", "GET", "/users/me/items", 401, headers=bearer_auth("bob:me")),
    C("scopes-status-no-scopes-needed", "GET", "/status", 200, headers=bearer_auth("bob:"), expect_log=["user:bob:"]),
    C("scopes-status-no-token", "GET", "/status", 401),
    C("scopes-echo", "GET", "/scopes/echo", 200, expect_log=["echo:a b"]),
    C("scopes-nested-accumulate", "GET", "/scopes/nested", 200, expect_log=["echo:outer inner"]),
    C("scopes-plain-depends-empty", "GET", "/scopes/plain-depends", 200, expect_log=["echo:"]),
    C("scopes-decorator-security", "GET", "/scopes/decorator", 200, expect_log=["echo:deco"]),
    C("scopes-cache-per-scope-set", "GET", "/scopes/cache", 200, expect_log=["echo:x", "echo:y"]),
]

BASIC_CASES = [
    C("basic-ok", "GET", "/basic", 200, headers=basic_auth("john:secret")),
    C("basic-missing", "GET", "/basic", 401),
    C("basic-realm-missing", "GET", "/basic/realm", 401),
    C("basic-realm-ok", "GET", "/basic/realm", 200, headers=basic_auth("a:b")),
    C("basic-invalid-base64", "GET", "/basic", 401, headers={"authorization": "Basic !!!notbase64"}),
    C("basic-no-colon", "GET", "/basic", 401, headers=basic_auth("johnsecret")),
    C("basic-password-with-colon", "GET", "/basic", 200, headers=basic_auth("john:se:cret")),
    C("basic-empty-username", "GET", "/basic", 200, headers=basic_auth(":pw")),
    C("basic-utf8-username-rejected", "GET", "/basic", 401, headers=basic_auth("jöhn:pässword")),
    C("basic-lowercase-scheme", "GET", "/basic", 200, headers={"authorization": "basic " + "dTpw"}),
    C("basic-wrong-scheme", "GET", "/basic", 401, headers=bearer_auth("x")),
    C("basic-optional-missing", "GET", "/basic/optional", 200),
    C("basic-optional-present", "GET", "/basic/optional", 200, headers=basic_auth("opt:pw")),
    C("basic-optional-invalid-base64", "GET", "/basic/optional", 401, headers={"authorization": "Basic %%%"}),
    C("basic-checked-ok", "GET", "/basic/checked", 200, headers=basic_auth("bob:builder")),
    C("basic-checked-wrong-password", "GET", "/basic/checked", 401, headers=basic_auth("bob:nope")),
    C("bearer-ok", "GET", "/bearer", 200, headers=bearer_auth("tok123")),
    C("bearer-missing", "GET", "/bearer", 401),
    C("bearer-wrong-scheme", "GET", "/bearer", 401, headers=basic_auth("a:b")),
    C("bearer-scheme-only", "GET", "/bearer", 401, headers={"authorization": "Bearer"}),
    C("bearer-lowercase", "GET", "/bearer", 200, headers={"authorization": "bearer low"}),
    C("bearer-optional-missing", "GET", "/bearer/optional", 200),
    C("bearer-optional-wrong-scheme", "GET", "/bearer/optional", 200, headers=basic_auth("a:b")),
    C("bearer-optional-present", "GET", "/bearer/optional", 200, headers=bearer_auth("zz")),
]

APIKEY_CASES = [
    C("apikey-header-ok", "GET", "/apikey/header", 200, headers={"x-api-key": "k1"}),
    C("apikey-header-missing", "GET", "/apikey/header", 401),
    C("apikey-header-empty", "GET", "/apikey/header", 401, headers={"x-api-key": ""}),
    C("apikey-query-ok", "GET", "/apikey/query", 200, params={"api_key": "k2"}),
    C("apikey-query-missing", "GET", "/apikey/query", 401),
    C("apikey-query-empty", "GET", "/apikey/query", 401, params={"api_key": ""}),
    C("apikey-cookie-ok", "GET", "/apikey/cookie", 200, cookies={"session": "k3"}),
    C("apikey-cookie-missing", "GET", "/apikey/cookie", 401),
    C("apikey-optional-missing", "GET", "/apikey/optional", 200),
    C("apikey-optional-present", "GET", "/apikey/optional", 200, headers={"x-api-key": "k4"}),
    C("apikey-any-header-first", "GET", "/apikey/any", 200, headers={"x-api-key": "h"}, params={"api_key": "q"}),
    C("apikey-any-query", "GET", "/apikey/any", 200, params={"api_key": "q"}, cookies={"session": "c"}),
    C("apikey-any-cookie", "GET", "/apikey/any", 200, cookies={"session": "c"}),
    C("apikey-any-none", "GET", "/apikey/any", 403),
]

OVERRIDE_CASES = [
    C("override-oauth2-scheme", "GET", "/oauth2/token", 200, overrides=(("oauth2_scheme", "token_override"),)),
    C(
        "override-scoped-scheme-feeds-scopes-check",
        "GET",
        "/users/me/items",
        200,
        overrides=(("oauth2_scoped", "token_override"),),
        expect_log=["user:alice:items me"],
    ),
    C("override-current-user", "GET", "/users/me", 200, overrides=(("get_current_user", "user_override"),)),
    C("override-basic-scheme", "GET", "/basic/checked", 200, overrides=(("basic", "basic_override"),)),
    C("override-api-key-header", "GET", "/apikey/header", 200, overrides=(("api_header", "token_override"),)),
]

OTHER_CASES = [
    C("code-bearer-ok", "GET", "/other/code-bearer", 200, headers=bearer_auth("code")),
    C("code-bearer-missing", "GET", "/other/code-bearer", 401),
    C("openid-ok", "GET", "/other/openid", 200, headers={"authorization": "Whatever raw"}),
    C("openid-missing", "GET", "/other/openid", 401),
    C("openid-optional-missing", "GET", "/other/openid-optional", 200),
    C("digest-ok", "GET", "/other/digest", 200, headers={"authorization": 'Digest username="u", nonce="n"'}),
    C("digest-missing", "GET", "/other/digest", 401),
    C("digest-wrong-scheme", "GET", "/other/digest", 401, headers=bearer_auth("x")),
    C("jwt-subclass-ok", "GET", "/other/jwt", 200, headers=bearer_auth("jwt.abc"), expect_log=["jwt-checked"]),
    C("jwt-subclass-invalid", "GET", "/other/jwt", 403, headers=bearer_auth("abc")),
    C("jwt-subclass-missing", "GET", "/other/jwt", 401),
    C("jwt-subclass-optional-missing", "GET", "/other/jwt-optional", 200),
    C("router-security-scopes", "GET", "/secured/inner", 200, expect_log=["echo:router", "echo:route"]),
    C("security-use-cache-false", "GET", "/other/security-no-cache", 200, expect_log=["count_calls"] * 2),
    C(
        "form-repeated-field-last-wins",
        "POST",
        "/token",
        400,
        content=b"username=alice&password=wonderland&password=x",
        headers=FORM_CT,
    ),
    C(
        "form-repeated-field-ok",
        "POST",
        "/token",
        200,
        content=b"username=alice&password=x&password=wonderland",
        headers=FORM_CT,
    ),
    C("basic-empty-password", "GET", "/basic", 200, headers=basic_auth("user:")),
    C("basic-scheme-only", "GET", "/basic", 401, headers={"authorization": "Basic"}),
    C("basic-extra-spaces", "GET", "/basic", 200, headers={"authorization": "Basic   dTpw  "}),
    C("oauth2-tab-separator", "GET", "/oauth2/token", 401, headers={"authorization": "Bearer\ttok"}),
]

ALL_CASES = OTHER_CASES + OAUTH2_CASES + FORM_CASES + SCOPE_CASES + BASIC_CASES + APIKEY_CASES + OVERRIDE_CASES


@pytest.mark.parametrize("case", ALL_CASES)
def test_security_differential(apps: Apps, case: Case) -> None:
    check(apps, case, SIDE_EFFECTS)


def test_case_ids_unique() -> None:
    assert_unique_ids(ALL_CASES)
