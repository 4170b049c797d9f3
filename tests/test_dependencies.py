"""Dependencies, against FastAPI 0.141.1 through each framework's own ``TestClient``: the
per-request cache a ``yield`` dependency shares across its scopes (``Depends(gen)``,
``Depends(gen, scope="request")``, ``scope="function"``), and a dependency override that declares a
body parameter on a route without one (422, not 500).
"""

import types
from collections.abc import Callable
from typing import Any

import pytest

pytest.importorskip("fastapi")

from pydantic import BaseModel  # noqa: E402

from fastapi_reference import Clients, differential, framework  # noqa: E402

# --------------------------------------------------------------------------- dependency cache across scopes

SCOPE_PAIRS = (
    (None, "request"),
    ("request", None),
    ("request", "request"),
    (None, "function"),
    ("function", "request"),
    ("function", "function"),
)


@pytest.mark.timeout(30)
@pytest.mark.parametrize("kind", ["sync_gen", "async_gen"])
@pytest.mark.parametrize(("scope_a", "scope_b"), SCOPE_PAIRS, ids=[f"{a}-{b}" for a, b in SCOPE_PAIRS])
def test_generator_dependency_cache_across_scopes(
    kind: str, scope_a: str | None, scope_b: str | None, make_client: Clients
) -> None:
    def observe(pkg: str) -> Any:
        f = framework(pkg)
        app = f.FastAPI()
        events: list[str] = []

        if kind == "sync_gen":

            def gen() -> Any:
                events.append("enter")
                yield len(events)
                events.append("exit")

        else:

            async def gen() -> Any:
                events.append("enter")
                yield len(events)
                events.append("exit")

        kw_a = {} if scope_a is None else {"scope": scope_a}
        kw_b = {} if scope_b is None else {"scope": scope_b}

        @app.get("/")
        def root(a: Any = f.Depends(gen, **kw_a), b: Any = f.Depends(gen, **kw_b)) -> Any:
            return {"a": a, "b": b}

        client = make_client(pkg, app, raise_server_exceptions=False)
        r = client.get("/")
        return {"status": r.status_code, "body": r.json(), "events": events}

    differential(observe)


# --------------------------------------------------------------------------- override declaring a Body parameter


class Item(BaseModel):
    a: int


def _override_body(f: types.SimpleNamespace, which: str) -> Callable[..., Any]:
    if which == "body":

        def override(x: int = f.Body()) -> Any:
            return x

    elif which == "body_embed":

        def override(x: int = f.Body(embed=True)) -> Any:
            return x

    elif which == "model":

        def override(item: Item) -> Any:
            return item.a

    else:

        async def override(x: int = f.Body()) -> Any:
            return x

    return override


@pytest.mark.timeout(30)
@pytest.mark.parametrize("which", ["body", "body_embed", "model", "async_body"])
@pytest.mark.parametrize("route", ["post_sync", "get_async"])
@pytest.mark.parametrize("payload", ["object", "scalar", "model_shape", "none"])
def test_dependency_override_with_body_on_bodyless_route(
    which: str, route: str, payload: str, make_client: Clients
) -> None:
    send = {"object": {"json": {"x": 5}}, "scalar": {"json": 5}, "model_shape": {"json": {"a": 3}}, "none": {}}[payload]

    def observe(pkg: str) -> Any:
        f = framework(pkg)
        app = f.FastAPI()

        def original() -> Any:
            return 1

        if route == "post_sync":

            @app.post("/ov")
            def ov(v: Any = f.Depends(original)) -> Any:
                return {"v": v}

        else:

            @app.get("/ov")
            async def ov(v: Any = f.Depends(original)) -> Any:
                return {"v": v}

        app.dependency_overrides[original] = _override_body(f, which)
        client = make_client(pkg, app, raise_server_exceptions=False)
        r = client.request("POST" if route == "post_sync" else "GET", "/ov", **send)
        return {"status": r.status_code, "body": r.json() if r.status_code != 500 else r.text}

    observed = differential(observe)
    assert observed["status"] == 422
