"""An app whose startup/shutdown hooks print markers to stderr.

``--mode events``: ``@app.on_event("startup")`` / ``("shutdown")`` (one sync and one async each).
``--mode lifespan``: ``TurboAPI(lifespan=...)`` with an async context manager.
"""

import asyncio
import contextlib
import sys

import _runner

from turboapi import TurboAPI

host, port, settings, args = _runner.parse()
STATE: dict[str, object] = {}


def marker(text: str) -> None:
    print(f"MARKER {text}", file=sys.stderr, flush=True)


if args.mode == "lifespan":

    @contextlib.asynccontextmanager
    async def lifespan(app):
        marker("lifespan-enter")
        STATE["lifespan"] = True
        await asyncio.sleep(0)
        yield
        marker("lifespan-exit")

    app = TurboAPI(lifespan=lifespan)

elif args.mode == "events":
    app = TurboAPI()

    @app.on_event("startup")
    def startup_sync():
        marker("startup-sync")
        STATE["startup_sync"] = True

    @app.on_event("startup")
    async def startup_async():
        await asyncio.sleep(0)
        marker("startup-async")
        STATE["startup_async"] = True

    @app.on_event("shutdown")
    def shutdown_sync():
        marker("shutdown-sync")

    @app.on_event("shutdown")
    async def shutdown_async():
        await asyncio.sleep(0)
        marker("shutdown-async")

else:
    raise SystemExit(f"--mode must be 'events' or 'lifespan', not {args.mode!r}")


@app.get("/state")
def state():
    return STATE


app.run(host=host, port=port, **settings)
