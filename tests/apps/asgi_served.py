"""A turboapi app served as an ASGI application, by uvicorn (tests/test_asgi_app.py runs
``uvicorn asgi_served:app``) and by Starlette's TestClient. Lifespan events print MARKER lines."""

import asyncio
import sys
from contextlib import asynccontextmanager

from pydantic import BaseModel

from turboapi import FastAPI, Request, WebSocket, WebSocketDisconnect
from turboapi.responses import StreamingResponse


def marker(text: str) -> None:
    sys.stderr.write(f"MARKER {text}\n")
    sys.stderr.flush()


@asynccontextmanager
async def lifespan(app):
    marker("startup")
    yield {"greeting": "hello from the lifespan"}
    marker("shutdown")


app = FastAPI(lifespan=lifespan)


class Item(BaseModel):
    name: str
    price: float


@app.get("/items/{item_id}")
def read_item(item_id: int, q: str | None = None):
    return {"item_id": item_id, "q": q}


@app.post("/items", status_code=201)
async def create_item(item: Item):
    return item


@app.get("/state")
def state(request: Request):
    return {"greeting": request.state.greeting, "path": request.url.path}


@app.get("/ticks")
async def ticks(n: int = 5, delay: float = 0.2):
    async def gen():
        for i in range(n):
            yield f"tick {i}\n"
            await asyncio.sleep(delay)

    return StreamingResponse(gen(), media_type="text/plain")


@app.get("/boom")
def boom():
    raise RuntimeError("boom")


@app.websocket("/ws/{room}")
async def chat(websocket: WebSocket, room: str):
    await websocket.accept(subprotocol=(websocket.scope["subprotocols"] or [None])[0])
    try:
        while True:
            text = await websocket.receive_text()
            await websocket.send_text(f"{room}: {text}")
    except WebSocketDisconnect as exc:
        marker(f"ws disconnect {exc.code}")
