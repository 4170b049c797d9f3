"""HTTP authentication schemes read from the ``Authorization`` header: Basic, Bearer, Digest."""

import binascii
from base64 import b64decode

from pydantic import BaseModel

from ..exceptions import HTTPException
from ..openapi.models import HTTPBase as HTTPBaseModel
from ..openapi.models import HTTPBearer as HTTPBearerModel
from ..requests import Request
from .base import SecurityBase
from .utils import get_authorization_scheme_param


class HTTPBasicCredentials(BaseModel):
    """What ``HTTPBasic`` gives a dependant: the decoded ``username`` and ``password``."""

    username: str
    password: str


class HTTPAuthorizationCredentials(BaseModel):
    """What ``HTTPBearer`` / ``HTTPDigest`` give a dependant: the header value split at its first space."""

    scheme: str
    credentials: str


class HTTPBase(SecurityBase):
    model: HTTPBaseModel

    def __init__(
        self,
        *,
        scheme: str,
        scheme_name: str | None = None,
        description: str | None = None,
        auto_error: bool = True,
    ):
        self.model = HTTPBaseModel(scheme=scheme, description=description)
        self.scheme_name = scheme_name or type(self).__name__
        self.auto_error = auto_error

    def make_authenticate_headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": self.model.scheme.title()}

    def make_not_authenticated_error(self) -> HTTPException:
        return HTTPException(status_code=401, detail="Not authenticated", headers=self.make_authenticate_headers())

    def _fail(self) -> None:
        """Refuse the request (``auto_error``) or let the dependency resolve to ``None``."""
        if self.auto_error:
            raise self.make_not_authenticated_error()

    def _split_authorization(self, request: Request) -> tuple[str, str] | None:
        """``(scheme, credentials)`` from the header, or ``None`` when either part is missing."""
        authorization = request.headers.get("Authorization")
        scheme, credentials = get_authorization_scheme_param(authorization)
        if authorization and scheme and credentials:
            return scheme, credentials
        return None

    async def __call__(self, request: Request) -> HTTPAuthorizationCredentials | None:
        parts = self._split_authorization(request)
        if parts is None:
            self._fail()
            return None
        return HTTPAuthorizationCredentials(scheme=parts[0], credentials=parts[1])


class HTTPBasic(HTTPBase):
    """HTTP Basic authentication (RFC 7617); the dependency result is an ``HTTPBasicCredentials``."""

    def __init__(
        self,
        *,
        scheme_name: str | None = None,
        realm: str | None = None,
        description: str | None = None,
        auto_error: bool = True,
    ):
        self.model = HTTPBaseModel(scheme="basic", description=description)
        self.scheme_name = scheme_name or type(self).__name__
        self.realm = realm
        self.auto_error = auto_error

    def make_authenticate_headers(self) -> dict[str, str]:
        if self.realm:
            return {"WWW-Authenticate": f'Basic realm="{self.realm}"'}
        return {"WWW-Authenticate": "Basic"}

    async def __call__(self, request: Request) -> HTTPBasicCredentials | None:  # type: ignore[override]
        authorization = request.headers.get("Authorization")
        scheme, param = get_authorization_scheme_param(authorization)
        if not authorization or scheme.lower() != "basic":
            self._fail()
            return None
        # Credentials that are present but undecodable are always refused, even with auto_error=False.
        try:
            decoded = b64decode(param).decode("ascii")
        except (ValueError, UnicodeDecodeError, binascii.Error) as exc:
            raise self.make_not_authenticated_error() from exc
        username, colon, password = decoded.partition(":")
        if not colon:
            raise self.make_not_authenticated_error()
        return HTTPBasicCredentials(username=username, password=password)


class _SchemeCheckedHTTP(HTTPBase):
    """An ``HTTPBase`` that also requires the header's scheme to be ``_expected_scheme`` (case-insensitively)."""

    _expected_scheme: str

    async def __call__(self, request: Request) -> HTTPAuthorizationCredentials | None:
        parts = self._split_authorization(request)
        if parts is None or parts[0].lower() != self._expected_scheme:
            self._fail()
            return None
        return HTTPAuthorizationCredentials(scheme=parts[0], credentials=parts[1])


class HTTPBearer(_SchemeCheckedHTTP):
    """HTTP Bearer token authentication; the dependency result is an ``HTTPAuthorizationCredentials``."""

    _expected_scheme = "bearer"

    def __init__(
        self,
        *,
        bearerFormat: str | None = None,  # noqa: N803 - FastAPI's public parameter name
        scheme_name: str | None = None,
        description: str | None = None,
        auto_error: bool = True,
    ):
        self.model = HTTPBearerModel(bearerFormat=bearerFormat, description=description)
        self.scheme_name = scheme_name or type(self).__name__
        self.auto_error = auto_error


class HTTPDigest(_SchemeCheckedHTTP):
    """HTTP Digest stub: only checks the scheme and hands over the raw credentials (subclass to verify them)."""

    _expected_scheme = "digest"

    def __init__(
        self,
        *,
        scheme_name: str | None = None,
        description: str | None = None,
        auto_error: bool = True,
    ):
        self.model = HTTPBaseModel(scheme="digest", description=description)
        self.scheme_name = scheme_name or type(self).__name__
        self.auto_error = auto_error
