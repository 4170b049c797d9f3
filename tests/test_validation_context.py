"""Validation errors say where they come from, as FastAPI's do (``endpoint_ctx``): the response's
errors and a WebSocket's, with the handler's name and the route's method and path."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from turboapi import FastAPI, WebSocket, WebSocketDisconnect
from turboapi.exceptions import ResponseValidationError, WebSocketRequestValidationError
from turboapi.testclient import TestClient


class Item(BaseModel):
    id: int


def build(seen: list[Any]) -> FastAPI:
    app = FastAPI()

    @app.exception_handler(ResponseValidationError)
    async def response_error(request: Any, exc: ResponseValidationError) -> Any:
        seen.append(exc)
        raise exc

    @app.exception_handler(WebSocketRequestValidationError)
    async def websocket_error(websocket: Any, exc: WebSocketRequestValidationError) -> None:
        seen.append(exc)
        await websocket.close(code=1008)

    @app.get("/items/", response_model=Item)
    def get_broken_item() -> Any:
        return {"name": "no id"}

    @app.websocket("/ws/{item_id}")
    async def typed_socket(websocket: WebSocket, item_id: int) -> None:
        await websocket.accept()  # pragma: no cover

    return app


def test_response_validation_error_names_the_endpoint() -> None:
    seen: list[Any] = []
    with TestClient(build(seen), raise_server_exceptions=False) as client:
        assert client.get("/items/").status_code == 500
    text = str(seen[0])
    assert "get_broken_item" in text and "GET /items/" in text


def test_websocket_validation_error_names_the_endpoint() -> None:
    seen: list[Any] = []
    with TestClient(build(seen)) as client:
        with pytest.raises(WebSocketDisconnect) as closed, client.websocket_connect("/ws/not-a-number") as ws:
            ws.receive_text()
        assert closed.value.code == 1008
    text = str(seen[0])
    assert "typed_socket" in text and "WS /ws/{item_id}" in text
