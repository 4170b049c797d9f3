"""HTTP status code constants with Starlette's names (``status.HTTP_404_NOT_FOUND``)."""

from http import HTTPStatus as _HTTPStatus

for _s in _HTTPStatus:
    globals()[f"HTTP_{_s.value}_{_s.name}"] = _s.value
HTTP_422_UNPROCESSABLE_ENTITY = 422
HTTP_413_REQUEST_ENTITY_TOO_LARGE = 413
del _s, _HTTPStatus
