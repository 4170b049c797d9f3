"""The contract between Python and the core (python/turboapi/contract.py, src/contract.rs): both
sides name the same hooks, settings and route attributes, and agree on the states' values.

Each test takes one name away from a working set and checks that the engine refuses to start,
naming what is missing: a name the core stopped reading, or one it reads that the Python side
does not declare, fails here instead of at the first request that needs it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import types
import typing

import pytest

from turboapi import FastAPI, _eager
from turboapi._core import Engine
from turboapi.contract import CoreParam, CorePlan, CoreRoute, EagerState, EngineConfig, Hooks
from turboapi.serving import Settings, core_hooks, engine_config


def _hooks() -> Hooks:
    return core_hooks(FastAPI(), Settings(), served_asgi=False)


def _config() -> EngineConfig:
    return engine_config(Settings(), root_path="")


def _route() -> types.SimpleNamespace:
    """A route object as ``CorePlan.of`` reads one (``contract.CoreRoute``)."""
    param = types.SimpleNamespace(
        name="q", key="q", source="query", scalar="int", is_list=False, fast=True, required=True,
        default=None, copy_default=False,
    )  # fmt: skip
    return types.SimpleNamespace(
        path="/items/{item_id}", methods_list=["GET"], param_specs=[param], core_endpoint=lambda q: q,
        core_is_async=False, status_code_or_default=200, always_solve=False, custom_serialize=False,
        accepts_websocket=False, streams_body=False, solve=lambda kwargs, pending, data: None,
        serialize=lambda result, kwargs: result,
    )  # fmt: skip


def _plan(**changes: object) -> types.SimpleNamespace:
    """A plan the core reads, as a namespace whose attributes a test can take away."""
    plan = CorePlan.of(_route())  # type: ignore[arg-type]
    fields = {f.name: getattr(plan, f.name) for f in dataclasses.fields(CorePlan)}
    return types.SimpleNamespace(**{**fields, **changes})


def _protocol_attributes(protocol: type) -> list[str]:
    return [name for name in typing.get_type_hints(protocol) if not name.startswith("_")]


def test_a_complete_contract_starts_an_engine() -> None:
    engine = Engine([CorePlan.of(_route())], _hooks(), _config())  # type: ignore[arg-type]
    assert engine.shard_count == 1


def test_the_plan_of_a_real_route_is_what_the_route_planned() -> None:
    app = FastAPI()

    @app.post("/items/{item_id}", status_code=201)
    async def create(item_id: int, q: str | None = None) -> dict[str, int]:
        return {"item_id": item_id}

    (route,) = [r for r in app.routes if getattr(r, "path", "") == "/items/{item_id}"]
    plan = CorePlan.of(route)
    assert (plan.path, plan.methods, plan.status_code, plan.is_async) == ("/items/{item_id}", ["POST"], 201, True)
    assert [(p.name, p.source, p.scalar, p.required) for p in plan.params] == [
        ("item_id", "path", "int", True),
        ("q", "query", "str", False),
    ]
    assert plan.route is route and plan.solve == route.solve


@pytest.mark.parametrize("name", [field.name for field in dataclasses.fields(Hooks)])
def test_every_hook_is_read_by_the_core(name: str) -> None:
    hooks = types.SimpleNamespace(**{f.name: getattr(_hooks(), f.name) for f in dataclasses.fields(Hooks)})
    delattr(hooks, name)
    with pytest.raises(AttributeError, match=name):
        Engine([], hooks, _config())


@pytest.mark.parametrize("key", list(typing.get_type_hints(EngineConfig)))
def test_every_setting_is_read_by_the_core(key: str) -> None:
    # `forwarded_allow_ips` is read only with `proxy_headers` on.
    config = dict(_config(), proxy_headers=True)
    del config[key]
    with pytest.raises(ValueError, match=f'engine config is missing "{key}"'):
        Engine([], _hooks(), config)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", [field.name for field in dataclasses.fields(CorePlan)])
def test_every_plan_field_is_read_by_the_core(name: str) -> None:
    plan = _plan()
    delattr(plan, name)
    with pytest.raises(AttributeError, match=name):
        Engine([plan], _hooks(), _config())  # type: ignore[list-item]


@pytest.mark.parametrize("name", _protocol_attributes(CoreRoute))
def test_the_plan_takes_every_route_attribute_the_contract_names(name: str) -> None:
    route = _route()
    delattr(route, name)
    with pytest.raises(AttributeError, match=name):
        CorePlan.of(route)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", _protocol_attributes(CoreParam))
def test_every_parameter_attribute_is_read_by_the_core(name: str) -> None:
    plan = _plan()
    param = plan.params[0]
    # A required parameter's default is not read: it is never used.
    if name == "default":
        param.required = False
    delattr(param, name)
    with pytest.raises(AttributeError, match=name):
        Engine([plan], _hooks(), _config())  # type: ignore[list-item]


def test_a_bad_value_is_refused_with_its_name() -> None:
    plan = _plan()
    plan.params[0].source = "body"
    with pytest.raises(ValueError, match='unknown source "body"'):
        Engine([plan], _hooks(), _config())  # type: ignore[list-item]
    config = dict(_config(), shard_policy="random")
    with pytest.raises(ValueError, match='unknown shard_policy "random"'):
        Engine([], _hooks(), config)  # type: ignore[arg-type]


def test_the_eager_start_reports_the_states_the_core_reads() -> None:
    async def finished() -> str:
        return "done"

    async def failing() -> None:
        raise KeyError("x")

    async def waiting() -> None:
        await asyncio.sleep(0)

    loop = asyncio.new_event_loop()
    try:
        assert _eager.start(finished(), loop) == (EagerState.DONE, "done")
        state, error = _eager.start(failing(), loop)
        assert (state, type(error)) == (EagerState.FAILED, KeyError)
        state, task = _eager.start(waiting(), loop)
        assert state == EagerState.WAITING
        loop.run_until_complete(task)
    finally:
        loop.close()
