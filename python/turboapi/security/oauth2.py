"""OAuth2 schemes (bearer tokens from the password or authorization-code flows), the password form, scopes."""

# No ``from __future__ import annotations`` here: the form classes' ``Annotated[..., Form()]`` parameters are read
# by dependency injection, and real annotation objects keep that independent of how hints get resolved.
from typing import Annotated, Any

from ..exceptions import HTTPException
from ..openapi.models import OAuth2 as OAuth2Model
from ..openapi.models import OAuthFlows as OAuthFlowsModel
from ..param_functions import Form
from ..requests import Request
from .base import SecurityBase
from .utils import get_authorization_scheme_param


class OAuth2PasswordRequestForm:
    """The OAuth2 password-flow form fields (``username``, ``password``, ``scope``...), used as ``Depends()``.

    ``grant_type`` is optional here (the spec requires ``"password"``; see ``OAuth2PasswordRequestFormStrict``).
    ``scope`` is one space-separated string; it is exposed split, as the list ``scopes``.
    """

    def __init__(
        self,
        *,
        grant_type: Annotated[str | None, Form(pattern="^password$")] = None,
        username: Annotated[str, Form()],
        password: Annotated[str, Form(json_schema_extra={"format": "password"})],
        scope: Annotated[str, Form()] = "",
        client_id: Annotated[str | None, Form()] = None,
        client_secret: Annotated[str | None, Form(json_schema_extra={"format": "password"})] = None,
    ):
        self.grant_type = grant_type
        self.username = username
        self.password = password
        self.scopes = scope.split()
        self.client_id = client_id
        self.client_secret = client_secret


class OAuth2PasswordRequestFormStrict(OAuth2PasswordRequestForm):
    """Like ``OAuth2PasswordRequestForm``, but ``grant_type`` is required and must be ``"password"``."""

    def __init__(
        self,
        grant_type: Annotated[str, Form(pattern="^password$")],
        username: Annotated[str, Form()],
        password: Annotated[str, Form()],
        scope: Annotated[str, Form()] = "",
        client_id: Annotated[str | None, Form()] = None,
        client_secret: Annotated[str | None, Form()] = None,
    ):
        super().__init__(
            grant_type=grant_type,
            username=username,
            password=password,
            scope=scope,
            client_id=client_id,
            client_secret=client_secret,
        )


class OAuth2(SecurityBase):
    """Base of the OAuth2 schemes: declares ``flows`` for OpenAPI; the dependency result is the raw header."""

    def __init__(
        self,
        *,
        flows: OAuthFlowsModel | dict[str, dict[str, Any]] = OAuthFlowsModel(),
        scheme_name: str | None = None,
        description: str | None = None,
        auto_error: bool = True,
    ):
        self.model = OAuth2Model.model_validate({"flows": flows, "description": description})
        self.scheme_name = scheme_name or type(self).__name__
        self.auto_error = auto_error

    def make_not_authenticated_error(self) -> HTTPException:
        """OAuth2 defines no challenge of its own; ``Bearer`` is the practical default (override for other tokens)."""
        return HTTPException(status_code=401, detail="Not authenticated", headers={"WWW-Authenticate": "Bearer"})

    async def __call__(self, request: Request) -> str | None:
        authorization = request.headers.get("Authorization")
        if authorization:
            return authorization
        if self.auto_error:
            raise self.make_not_authenticated_error()
        return None


class _OAuth2Bearer(OAuth2):
    """An OAuth2 scheme whose dependency result is the token of an ``Authorization: Bearer <token>`` header."""

    async def __call__(self, request: Request) -> str | None:
        authorization = request.headers.get("Authorization")
        scheme, token = get_authorization_scheme_param(authorization)
        if authorization and scheme.lower() == "bearer":
            return token
        if self.auto_error:
            raise self.make_not_authenticated_error()
        return None


class OAuth2PasswordBearer(_OAuth2Bearer):
    """OAuth2 password flow: clients get a token at ``tokenUrl`` and send it as a Bearer token."""

    def __init__(
        self,
        tokenUrl: str,  # noqa: N803 - FastAPI's public parameter names
        scheme_name: str | None = None,
        scopes: dict[str, str] | None = None,
        description: str | None = None,
        auto_error: bool = True,
        refreshUrl: str | None = None,  # noqa: N803
    ):
        password_flow = {"tokenUrl": tokenUrl, "refreshUrl": refreshUrl, "scopes": scopes or {}}
        super().__init__(
            flows=OAuthFlowsModel.model_validate({"password": password_flow}),
            scheme_name=scheme_name,
            description=description,
            auto_error=auto_error,
        )


class OAuth2AuthorizationCodeBearer(_OAuth2Bearer):
    """OAuth2 authorization-code flow: the token, obtained through ``authorizationUrl``, arrives as a Bearer token."""

    def __init__(
        self,
        authorizationUrl: str,  # noqa: N803 - FastAPI's public parameter names
        tokenUrl: str,  # noqa: N803
        refreshUrl: str | None = None,  # noqa: N803
        scheme_name: str | None = None,
        scopes: dict[str, str] | None = None,
        description: str | None = None,
        auto_error: bool = True,
    ):
        code_flow = {
            "authorizationUrl": authorizationUrl,
            "tokenUrl": tokenUrl,
            "refreshUrl": refreshUrl,
            "scopes": scopes or {},
        }
        super().__init__(
            flows=OAuthFlowsModel.model_validate({"authorizationCode": code_flow}),
            scheme_name=scheme_name,
            description=description,
            auto_error=auto_error,
        )


class SecurityScopes:
    """The scopes required by every ``Security(...)`` in a dependency chain; the framework fills it in."""

    def __init__(self, scopes: list[str] | None = None):
        self.scopes: list[str] = scopes or []
        self.scope_str: str = " ".join(self.scopes)
