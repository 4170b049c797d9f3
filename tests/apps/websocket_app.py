"""The app served by tests/test_websockets_server.py and bench/websocket.py: WebSockets over a
real socket.

Run: ``python tests/apps/websocket_app.py --port 0 [--setting value ...]`` (see _runner.py).
Handlers that tests observe from outside keep counters in ``STATS``, readable at ``/stats``.
"""

import asyncio
import threading

from turboapi import HTTPException, Query, TurboAPI, WebSocket, WebSocketDisconnect

app = TurboAPI()

_lock = threading.Lock()
STATS: dict[str, object] = {"disconnects": [], "flood_sent": 0, "flood_done": 0, "sink_received": 0}
#: Chat rooms: name -> the members' WebSockets (members may run on different loop shards).
ROOMS: dict[str, set[WebSocket]] = {}


def count(key: str, value: object = 1) -> None:
    with _lock:
        if isinstance(STATS[key], list):
            STATS[key].append(value)  # type: ignore[union-attr]
        else:
            STATS[key] += value  # type: ignore[operator]


@app.get("/")
def root():
    return {"ok": True}


@app.get("/stats")
def stats():
    with _lock:
        return {k: (list(v) if isinstance(v, list) else v) for k, v in STATS.items()}


@app.websocket("/echo")
async def echo(websocket: WebSocket):
    """Echo text and bytes until the client goes; records the disconnect code."""
    await websocket.accept()
    try:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                count("disconnects", message["code"])
                return
            if message.get("text") is not None:
                await websocket.send_text(message["text"])
            else:
                await websocket.send_bytes(message["bytes"])
    except WebSocketDisconnect as exc:
        count("disconnects", exc.code)


@app.websocket("/chat/{room}")
async def chat(websocket: WebSocket, room: str, name: str = Query()):
    """Every message goes to every member of the room, the sender included, as ``name: text``."""
    await websocket.accept()
    members = ROOMS.setdefault(room, set())
    members.add(websocket)
    try:
        async for text in websocket.iter_text():
            line = f"{name}: {text}"
            for member in list(members):
                try:
                    await member.send_text(line)
                except (WebSocketDisconnect, RuntimeError):
                    members.discard(member)
    finally:
        members.discard(websocket)


@app.websocket("/flood")
async def flood(websocket: WebSocket, size: int = 65536, total: int = 64 * 1024 * 1024):
    """Send ``total`` bytes in ``size``-byte messages, as fast as the client takes them; the count
    sent so far is in /stats (a client that does not read must hold it back)."""
    await websocket.accept()
    chunk = b"x" * size
    sent = 0
    with _lock:
        STATS["flood_sent"] = 0
    try:
        while sent < total:
            await websocket.send_bytes(chunk)
            sent += size
            with _lock:
                STATS["flood_sent"] = sent
        await websocket.close()
    except WebSocketDisconnect:
        pass
    finally:
        count("flood_done")


@app.websocket("/sink")
async def sink(websocket: WebSocket, wait: float = 0.0):
    """Accept, wait ``wait`` seconds without reading, then read and count bytes until the end."""
    await websocket.accept()
    await asyncio.sleep(wait)
    try:
        async for data in websocket.iter_bytes():
            count("sink_received", len(data))
    finally:
        pass


@app.websocket("/fanout")
async def fanout(websocket: WebSocket, tasks: int = 2, count: int = 40, size: int = 100_000):
    """Several tasks send to one connection at once (as a chat broadcast does): each must be woken
    when a slow reader has drained the queue; then the connection is closed."""
    await websocket.accept()
    chunk = b"f" * size

    async def sender() -> None:
        for _ in range(count):
            await websocket.send_bytes(chunk)

    await asyncio.gather(*(sender() for _ in range(tasks)))
    await websocket.close()


@app.websocket("/http-error")
async def http_error(websocket: WebSocket):
    raise HTTPException(status_code=418)  # an HTTP answer on a WebSocket: not supported, an error


@app.websocket("/slow-accept")
async def slow_accept(websocket: WebSocket, seconds: float = 2.0):
    await asyncio.sleep(seconds)
    await websocket.accept()


@app.websocket("/refuse")
async def refuse(websocket: WebSocket):
    await websocket.close(code=1008)


@app.websocket("/crash")
async def crash(websocket: WebSocket):
    raise RuntimeError("crash before accept")


@app.websocket("/hold")
async def hold(websocket: WebSocket):
    """Accept and wait for the client (or the server's shutdown) to end the connection."""
    await websocket.accept()
    await websocket.send_text("ready")
    try:
        await websocket.receive_text()
    except WebSocketDisconnect as exc:
        count("disconnects", exc.code)


if __name__ == "__main__":
    import _runner

    _runner.run(app)
