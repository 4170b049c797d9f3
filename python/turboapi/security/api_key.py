"""API key schemes: the key travels in a query parameter, a header or a cookie."""

from collections.abc import Callable

from ..exceptions import HTTPException
from ..openapi.models import APIKey, APIKeyIn
from ..requests import Request
from .base import SecurityBase


class APIKeyBase(SecurityBase):
    model: APIKey

    def __init__(
        self,
        location: APIKeyIn,
        name: str,
        description: str | None,
        scheme_name: str | None,
        auto_error: bool,
    ):
        self.auto_error = auto_error
        self.model = APIKey.model_validate({"in": location, "name": name, "description": description})
        self.scheme_name = scheme_name or type(self).__name__

    def make_not_authenticated_error(self) -> HTTPException:
        """A 401 must carry a ``WWW-Authenticate`` challenge (RFC 9110); API keys have no standard one: ``APIKey``."""
        return HTTPException(
            status_code=401,
            detail="Not authenticated",
            headers={"WWW-Authenticate": "APIKey"},
        )

    def check_api_key(self, api_key: str | None) -> str | None:
        if api_key:
            return api_key
        if self.auto_error:
            raise self.make_not_authenticated_error()
        return None


def _init_for(location: APIKeyIn) -> Callable[..., None]:
    """The keyword-only ``__init__`` FastAPI gives each API-key class, for one location."""

    def __init__(
        self: APIKeyBase,
        *,
        name: str,
        scheme_name: str | None = None,
        description: str | None = None,
        auto_error: bool = True,
    ) -> None:
        APIKeyBase.__init__(
            self, location=location, name=name, scheme_name=scheme_name, description=description, auto_error=auto_error
        )

    return __init__


class APIKeyQuery(APIKeyBase):
    """API key read from the query parameter ``name``; the dependency result is the key string."""

    __init__ = _init_for(APIKeyIn.query)

    async def __call__(self, request: Request) -> str | None:
        return self.check_api_key(request.query_params.get(self.model.name))


class APIKeyHeader(APIKeyBase):
    """API key read from the header ``name``; the dependency result is the key string."""

    __init__ = _init_for(APIKeyIn.header)

    async def __call__(self, request: Request) -> str | None:
        return self.check_api_key(request.headers.get(self.model.name))


class APIKeyCookie(APIKeyBase):
    """API key read from the cookie ``name``; the dependency result is the key string."""

    __init__ = _init_for(APIKeyIn.cookie)

    async def __call__(self, request: Request) -> str | None:
        return self.check_api_key(request.cookies.get(self.model.name))
