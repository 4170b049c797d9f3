"""``SecurityBase``: what every security scheme carries for the OpenAPI document."""

from __future__ import annotations

from ..openapi.models import SecurityBase as SecurityBaseModel


class SecurityBase:
    """A security scheme: its OpenAPI ``model`` and the ``scheme_name`` it is registered under."""

    model: SecurityBaseModel
    scheme_name: str
