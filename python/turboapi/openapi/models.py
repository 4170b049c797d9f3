"""Pydantic models for the OpenAPI 3.1 security scheme objects.

Field names follow the OpenAPI spelling (``bearerFormat``, ``openIdConnectUrl``...); the Python-reserved
names ``type`` and ``in`` are stored as ``type_`` / ``in_`` with aliases, so
``model.model_dump(by_alias=True, exclude_none=True)`` yields the JSON that goes under ``components.securitySchemes``.
"""

from __future__ import annotations

from enum import Enum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from .._planned import refuse

__all__ = [
    "APIKey",
    "APIKeyIn",
    "HTTPBase",
    "HTTPBearer",
    "OAuth2",
    "OAuthFlow",
    "OAuthFlowAuthorizationCode",
    "OAuthFlowClientCredentials",
    "OAuthFlowImplicit",
    "OAuthFlowPassword",
    "OAuthFlows",
    "OpenIdConnect",
    "SecurityBase",
    "SecurityScheme",
    "SecuritySchemeType",
]


class _OpenAPIModel(BaseModel):
    # OpenAPI objects accept specification extensions (``x-...``) and unknown keys pass through.
    model_config = ConfigDict(extra="allow")


class SecuritySchemeType(Enum):
    apiKey = "apiKey"
    http = "http"
    oauth2 = "oauth2"
    openIdConnect = "openIdConnect"


class SecurityBase(_OpenAPIModel):
    type_: SecuritySchemeType = Field(alias="type")
    description: str | None = None


class APIKeyIn(Enum):
    query = "query"
    header = "header"
    cookie = "cookie"


class APIKey(SecurityBase):
    type_: SecuritySchemeType = Field(default=SecuritySchemeType.apiKey, alias="type")
    in_: APIKeyIn = Field(alias="in")
    name: str


class HTTPBase(SecurityBase):
    type_: SecuritySchemeType = Field(default=SecuritySchemeType.http, alias="type")
    scheme: str


class HTTPBearer(HTTPBase):
    scheme: Literal["bearer"] = "bearer"
    bearerFormat: str | None = None


class OAuthFlow(_OpenAPIModel):
    refreshUrl: str | None = None
    scopes: dict[str, str] = Field(default_factory=dict)


class OAuthFlowImplicit(OAuthFlow):
    authorizationUrl: str


class OAuthFlowPassword(OAuthFlow):
    tokenUrl: str


class OAuthFlowClientCredentials(OAuthFlow):
    tokenUrl: str


class OAuthFlowAuthorizationCode(OAuthFlow):
    authorizationUrl: str
    tokenUrl: str


class OAuthFlows(_OpenAPIModel):
    implicit: OAuthFlowImplicit | None = None
    password: OAuthFlowPassword | None = None
    clientCredentials: OAuthFlowClientCredentials | None = None
    authorizationCode: OAuthFlowAuthorizationCode | None = None


class OAuth2(SecurityBase):
    type_: SecuritySchemeType = Field(default=SecuritySchemeType.oauth2, alias="type")
    flows: OAuthFlows


class OpenIdConnect(SecurityBase):
    type_: SecuritySchemeType = Field(default=SecuritySchemeType.openIdConnect, alias="type")
    openIdConnectUrl: str


SecurityScheme = APIKey | HTTPBase | OAuth2 | OpenIdConnect | HTTPBearer


__getattr__ = refuse(
    "fastapi.openapi.models",
    """BaseModelWithConfig Components Contact Discriminator Encoding Example ExternalDocumentation Header Info
    License Link MediaType OpenAPI Operation Parameter ParameterBase ParameterInType PathItem Reference RequestBody
    Response Schema SchemaOrBool SchemaType Server ServerVariable Tag XML""".split(),
    "the OpenAPI document comes with the OpenAPI issue",
)
