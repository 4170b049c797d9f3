"""turboapi's objects are Starlette's (issue 14), on the core's fast path: what a handler gets and
returns passes the ``isinstance`` checks libraries make, and Starlette's API on them works."""

from __future__ import annotations

import pytest
import starlette.background
import starlette.datastructures
import starlette.exceptions
import starlette.requests
import starlette.responses
import starlette.websockets

from turboapi import BackgroundTasks, FastAPI, File, HTTPException, Request, UploadFile, WebSocket
from turboapi.responses import FileResponse, JSONResponse, StreamingResponse
from turboapi.testclient import TestClient

app = FastAPI()
seen: dict[str, object] = {}


@app.middleware("http")
async def mark(request: Request, call_next):
    request.scope["marked_by"] = "middleware"
    return await call_next(request)


@app.get("/items/{item_id}")
async def item(item_id: int, request: starlette.requests.Request, tasks: starlette.background.BackgroundTasks):
    seen["request"] = request
    seen["tasks"] = tasks
    scope = request.scope
    return {
        "type": scope["type"],
        "method": scope["method"],
        "path": scope["path"],
        "query_string": scope["query_string"].decode(),
        "path_params": scope["path_params"],
        "marked_by": scope.get("marked_by"),
        "app_is_ours": scope["app"] is app,
        "host": request.headers["host"],
        "url": str(request.url),
        "item": request["path_params"]["item_id"],
    }


@app.post("/upload")
async def upload(file: UploadFile = File()):
    seen["upload"] = file
    return {"size": len(await file.read())}


@app.get("/raise")
def raise_it():
    raise HTTPException(status_code=418, detail="teapot")


@app.exception_handler(starlette.exceptions.HTTPException)
async def starlette_handler(request: Request, exc: starlette.exceptions.HTTPException):
    seen["handler_request"] = request
    return JSONResponse({"caught": exc.detail}, status_code=exc.status_code)


@app.websocket("/ws")
async def ws(websocket: starlette.websockets.WebSocket):
    seen["websocket"] = websocket
    await websocket.accept()
    await websocket.send_json({"path": websocket.scope["path"], "type": websocket.scope["type"]})
    await websocket.close()


def test_a_handler_gets_starlettes_request_with_a_scope_shared_with_the_middleware() -> None:
    with TestClient(app) as client:
        answer = client.get("/items/7?q=x").json()
    assert answer == {
        "type": "http",
        "method": "GET",
        "path": "/items/7",
        "query_string": "q=x",
        "path_params": {"item_id": "7"},
        "marked_by": "middleware",
        "app_is_ours": True,
        "host": "testserver",
        "url": "http://testserver/items/7?q=x",
        "item": "7",
    }
    assert isinstance(seen["request"], starlette.requests.Request)
    assert isinstance(seen["tasks"], starlette.background.BackgroundTasks)


def test_uploads_exceptions_and_websockets_are_starlettes() -> None:
    with TestClient(app) as client:
        assert client.post("/upload", files={"file": ("a.txt", b"abc")}).json() == {"size": 3}
        assert client.get("/raise").json() == {"caught": "teapot"}
        with client.websocket_connect("/ws") as socket:
            assert socket.receive_json() == {"path": "/ws", "type": "websocket"}
    assert isinstance(seen["upload"], starlette.datastructures.UploadFile)
    assert isinstance(seen["handler_request"], starlette.requests.Request)
    assert isinstance(seen["websocket"], starlette.websockets.WebSocket)
    assert issubclass(HTTPException, starlette.exceptions.HTTPException)


def test_session_without_its_middleware_fails_as_in_starlette() -> None:
    with TestClient(app) as client:
        client.get("/items/1")
    with pytest.raises(AssertionError, match="SessionMiddleware must be installed"):
        _ = seen["request"].session  # type: ignore[attr-defined]


def test_the_public_classes_are_starlettes() -> None:
    assert issubclass(Request, starlette.requests.Request)
    assert issubclass(WebSocket, starlette.websockets.WebSocket)
    assert issubclass(UploadFile, starlette.datastructures.UploadFile)
    assert issubclass(BackgroundTasks, starlette.background.BackgroundTasks)
    assert issubclass(JSONResponse, starlette.responses.JSONResponse)
    assert issubclass(StreamingResponse, starlette.responses.StreamingResponse)
    assert issubclass(FileResponse, starlette.responses.FileResponse)


def test_a_request_made_from_a_scope_is_starlettes_own() -> None:
    scope = {"type": "http", "method": "GET", "path": "/x", "headers": [(b"host", b"h")], "query_string": b"a=1"}
    request = Request(scope)
    assert request.scope is scope
    assert request.method == "GET" and request.query_params["a"] == "1" and request.headers["host"] == "h"
