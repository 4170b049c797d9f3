"""OpenID Connect scheme (a stub: it declares the discovery URL for OpenAPI and hands over the raw header)."""

from ..exceptions import HTTPException
from ..openapi.models import OpenIdConnect as OpenIdConnectModel
from ..requests import Request
from .base import SecurityBase


class OpenIdConnect(SecurityBase):
    """OpenID Connect: the dependency result is the raw ``Authorization`` header; subclass to verify it."""

    def __init__(
        self,
        *,
        openIdConnectUrl: str,  # noqa: N803 - FastAPI's public parameter name
        scheme_name: str | None = None,
        description: str | None = None,
        auto_error: bool = True,
    ):
        self.model = OpenIdConnectModel(openIdConnectUrl=openIdConnectUrl, description=description)
        self.scheme_name = scheme_name or type(self).__name__
        self.auto_error = auto_error

    def make_not_authenticated_error(self) -> HTTPException:
        return HTTPException(status_code=401, detail="Not authenticated", headers={"WWW-Authenticate": "Bearer"})

    async def __call__(self, request: Request) -> str | None:
        authorization = request.headers.get("Authorization")
        if authorization:
            return authorization
        if self.auto_error:
            raise self.make_not_authenticated_error()
        return None
