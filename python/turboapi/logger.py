"""turboapi's logger (FastAPI's ``fastapi.logger``), named ``"turboapi"``."""

import logging

logger = logging.getLogger("turboapi")
