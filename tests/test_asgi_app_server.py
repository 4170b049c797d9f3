"""An app with pure ASGI middleware, on the real server: Starlette's SessionMiddleware keeps its
cookie session, request bodies reach the route, a streamed response arrives chunk by chunk, a
middleware's error (or its returning without an answer) is a 500 and the server keeps serving."""

from __future__ import annotations

import time

import httpx

from serverutil import served


def test_served_the_asgi_way_over_a_socket() -> None:
    with served("asgi_middleware") as server, httpx.Client(base_url=server.base_url, timeout=10) as client:
        assert "the ASGI way" not in server.output  # the middleware runs on the core's stack
        assert [client.get("/count").json()["n"] for _ in range(3)] == [1, 2, 3]
        r = client.get("/count")
        assert r.headers["x-asgi"] == "yes" and r.headers["content-length"] == str(len(r.content))

        r = client.post("/echo/ann", content=b"x" * 300_000)
        assert r.status_code == 200 and r.json() == {"name": "ann", "length": 300_000}
        assert client.post("/echo/ann", json=[1]).status_code == 200

        started = time.monotonic()
        arrivals = []
        with client.stream("GET", "/ticks?n=3&delay=0.3") as stream:
            for line in stream.iter_lines():
                arrivals.append((line, time.monotonic() - started))
        assert [line for line, _ in arrivals] == ["tick 0", "tick 1", "tick 2"]
        assert arrivals[0][1] < arrivals[-1][1] - 0.4, arrivals  # sent as it came, not at the end

        r = client.get("/middleware-fails")
        assert r.status_code == 500 and r.text == "Internal Server Error"
        server.wait_for_line("the middleware failed", timeout=5)  # reported, as a server reports it
        r = client.get("/middleware-silent")
        assert r.status_code == 500 and r.text == "Internal Server Error"
        server.wait_for_line("ended without sending a response", timeout=5)
        assert client.get("/nowhere").json() == {"detail": "Not Found"}
        assert client.get("/count").status_code == 200  # still serving
