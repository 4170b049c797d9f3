"""Starlette's SessionMiddleware (signed cookie sessions, with itsdangerous), as FastAPI's docs and
Starlette's show it: ``app.add_middleware(SessionMiddleware, secret_key=...)`` and ``request.session``."""

import pytest
from observe import answer

pytestmark = [pytest.mark.timeout(60), pytest.mark.libraries("itsdangerous")]

APP = """
from fastapi import FastAPI, Request
from starlette.middleware.sessions import SessionMiddleware

app = FastAPI()
app.add_middleware(SessionMiddleware, secret_key="ecosystem-suite-secret", max_age=3600)


@app.post("/cart/{item}")
async def add_to_cart(item: str, request: Request):
    request.session["cart"] = request.session.get("cart", []) + [item]
    return {"cart": request.session["cart"]}


@app.get("/cart")
def show_cart(request: Request):
    return {"cart": request.session.get("cart", [])}


@app.post("/logout")
def logout(request: Request):
    request.session.clear()
    return {"cart": []}
"""


def exercise(client):
    seen = {"empty": answer(client.get("/cart"), "set-cookie")}
    seen["first"] = answer(client.post("/cart/apple"), "set-cookie")
    client.post("/cart/pear")
    cookie = client.cookies.get("session")
    seen["cookie"] = cookie
    seen["after_two"] = answer(client.get("/cart"))
    client.cookies.clear()
    seen["without_cookie"] = answer(client.get("/cart"))
    seen["with_cookie"] = answer(client.get("/cart", headers={"cookie": f"session={cookie}"}))
    seen["tampered"] = answer(client.get("/cart", headers={"cookie": f"session=x{cookie}"}))
    seen["logout"] = answer(client.post("/logout", headers={"cookie": f"session={cookie}"}), "set-cookie")
    return seen


def test_session_cookie_round_trips(ecosystem):
    seen = ecosystem(APP, exercise)
    # an empty session sets no cookie
    assert seen["empty"] == {"status": 200, "body": {"cart": []}, "set-cookie": None}
    first = seen["first"]
    assert first["status"] == 200 and first["body"] == {"cart": ["apple"]}, first
    attributes = [part.strip().lower() for part in first["set-cookie"].split(";")]
    assert attributes[0].startswith("session=")
    assert {"path=/", "max-age=3600", "httponly", "samesite=lax"} <= set(attributes)
    assert seen["cookie"]
    assert seen["after_two"] == {"status": 200, "body": {"cart": ["apple", "pear"]}}
    assert seen["without_cookie"] == {"status": 200, "body": {"cart": []}}
    assert seen["with_cookie"] == {"status": 200, "body": {"cart": ["apple", "pear"]}}
    # a bad signature is no session
    assert seen["tampered"] == {"status": 200, "body": {"cart": []}}
    # clearing the session expires the cookie
    logout = seen["logout"]
    assert logout["status"] == 200
    assert logout["set-cookie"].lower().startswith("session=null;")
    assert "expires=thu, 01 jan 1970 00:00:00 gmt" in logout["set-cookie"].lower()
