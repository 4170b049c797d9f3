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
from turboapi.contract import CoreParam, CoreRoute, EagerState, EngineConfig, Hooks
from turboapi.serving import Settings, core_hooks, engine_config


def _hooks() -> Hooks:
    return core_hooks(FastAPI(), Settings(), served_asgi=False)


def _config() -> EngineConfig:
    return engine_config(Settings(), root_path="")


def _route(**params: object) -> types.SimpleNamespace:
    param = types.SimpleNamespace(
        name="q", key="q", source="query", scalar="int", is_list=False, fast=True, required=True,
        default=None, copy_default=False,
    )  # fmt: skip
    route = types.SimpleNamespace(
        path="/items/{item_id}", methods_list=["GET"], param_specs=[param], core_endpoint=lambda q: q,
        core_is_async=False, status_code_or_default=200, always_solve=False, custom_serialize=False,
        accepts_websocket=False, streams_body=False,
    )  # fmt: skip
    return route


def _protocol_attributes(protocol: type) -> list[str]:
    return [name for name in typing.get_type_hints(protocol) if not name.startswith("_")]


def test_a_complete_contract_starts_an_engine() -> None:
    engine = Engine([_route()], _hooks(), _config())
    assert engine.shard_count == 1


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


@pytest.mark.parametrize("name", _protocol_attributes(CoreRoute))
def test_every_route_attribute_is_read_by_the_core(name: str) -> None:
    route = _route()
    delattr(route, name)
    with pytest.raises(AttributeError, match=name):
        Engine([route], _hooks(), _config())


@pytest.mark.parametrize("name", _protocol_attributes(CoreParam))
def test_every_parameter_attribute_is_read_by_the_core(name: str) -> None:
    route = _route()
    param = route.param_specs[0]
    # A required parameter's default is not read: it is never used.
    if name == "default":
        param.required = False
    delattr(param, name)
    with pytest.raises(AttributeError, match=name):
        Engine([route], _hooks(), _config())


def test_a_bad_value_is_refused_with_its_name() -> None:
    route = _route()
    route.param_specs[0].source = "body"
    with pytest.raises(ValueError, match='unknown source "body"'):
        Engine([route], _hooks(), _config())
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
