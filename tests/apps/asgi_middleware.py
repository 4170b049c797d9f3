"""An app with pure ASGI middleware (Starlette's SessionMiddleware and one of its own), which
turboapi runs on the core's stack: tests/test_asgi_app_server.py drives it over a socket."""

import asyncio

from _runner import run
from starlette.middleware.sessions import SessionMiddleware

from turboapi import FastAPI, Request
from turboapi.responses import StreamingResponse


class Failing:
    """Pure ASGI: raises before the app, or returns without an answer, when asked to; else adds a header."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope["path"] == "/middleware-fails":
            raise RuntimeError("the middleware failed")
        if scope["type"] == "http" and scope["path"] == "/middleware-silent":
            return  # neither calls the app nor answers

        async def marked(message):
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (b"x-asgi", b"yes")]
            await send(message)

        await self.app(scope, receive, marked)


app = FastAPI()
app.add_middleware(SessionMiddleware, secret_key="not-a-secret")
app.add_middleware(Failing)


@app.get("/count")
def count(request: Request):
    request.session["n"] = request.session.get("n", 0) + 1
    return {"n": request.session["n"]}


@app.post("/echo/{name}")
async def echo(name: str, request: Request):
    return {"name": name, "length": len(await request.body())}


@app.get("/ticks")
async def ticks(n: int = 3, delay: float = 0.2):
    async def gen():
        for i in range(n):
            yield f"tick {i}\n"
            await asyncio.sleep(delay)

    return StreamingResponse(gen(), media_type="text/plain")


if __name__ == "__main__":
    run(app)
