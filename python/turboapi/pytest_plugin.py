"""A FastAPI app's test suite on turboapi, unchanged: ``pytest -p turboapi.pytest_plugin``, or
``pytest_plugins = ["turboapi.pytest_plugin"]`` in the suite's top conftest.py. From then on
``import fastapi`` (in the tests, the app and its libraries) gives turboapi (``turboapi.alias``)."""

from .alias import install

install()
