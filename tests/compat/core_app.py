"""One application, written once, run on FastAPI and on turboapi.

``build_app(fw, route)`` receives a namespace whose attributes are the public names
of either ``fastapi`` (+ ``fastapi.responses``) or ``turboapi`` (+
``turboapi.responses``).  Nothing in here may import a framework directly:
everything framework-specific goes through ``fw``.  Pydantic models are
shared (they are plain pydantic, not framework objects).

Routes are registered through ``get``/``post``/... shorthands for the
harness's ``route(app, method, path)`` (``differential_harness.make_route``):
if a framework rejects one endpoint at registration time (an unsupported
parameter kind, say), that route is left out and the problem is recorded;
the rest of the app still works, so only the cases hitting that route fail
(404 against FastAPI's answer) instead of every case erroring.
"""

import functools
from typing import Annotated, Any

from pydantic import BaseModel


class Item(BaseModel):
    name: str
    price: float
    tags: list[str] = []


class User(BaseModel):
    username: str
    full_name: str | None = None


def build_app(fw: Any, route: Any) -> Any:
    FastAPI = fw.FastAPI
    Query, Path, Header, Cookie, Body = fw.Query, fw.Path, fw.Header, fw.Cookie, fw.Body
    HTTPException, Request, Response = fw.HTTPException, fw.Request, fw.Response
    JSONResponse, HTMLResponse = fw.JSONResponse, fw.HTMLResponse
    PlainTextResponse, RedirectResponse = fw.PlainTextResponse, fw.RedirectResponse

    app = FastAPI()
    get, post, put, patch, delete = (
        functools.partial(route, app, m) for m in ("get", "post", "put", "patch", "delete")
    )

    # ------------------------------------------------------------------ path params
    @get("/paths/int/{item_id}")
    def path_int(item_id: int):
        return {"item_id": item_id, "type": type(item_id).__name__}

    @get("/paths/float/{x}")
    async def path_float(x: float):
        return {"x": x, "type": type(x).__name__}

    @get("/paths/str/{name}")
    def path_str(name: str):
        return {"name": name}

    @get("/paths/files/{file_path:path}")
    async def path_catch_all(file_path: str):
        return {"file_path": file_path}

    @get("/paths/constrained/{n}")
    def path_constrained(n: int = Path(gt=0, lt=100)):
        return {"n": n}

    @get("/paths/ranged/{n}")
    def path_ranged(n: Annotated[int, Path(ge=1, le=10)]):
        return {"n": n}

    @get("/paths/slug/{slug}")
    def path_slug(slug: str = Path(min_length=3, max_length=8, pattern="^[a-z-]+$")):
        return {"slug": slug}

    @get("/paths/two/{a}/{b}")
    async def path_two(a: str, b: int):
        return {"a": a, "b": b}

    # ------------------------------------------------------------------ query params
    @get("/query/types")
    def query_types(
        i: int,
        f: float = 1.5,
        b: bool = False,
        s: str = "default",
        opt: str | None = None,
        opt_int: int | None = None,
    ):
        return {"i": i, "f": f, "b": b, "s": s, "opt": opt, "opt_int": opt_int}

    @get("/query/bool")
    async def query_bool(flag: bool):
        return {"flag": flag}

    @get("/query/lists")
    def query_lists(
        ids: list[int] = Query([]),
        tags: list[str] = Query(default=[]),
        maybe: list[str] | None = Query(None),
    ):
        return {"ids": ids, "tags": tags, "maybe": maybe}

    @get("/query/required-list")
    def query_required_list(ids: Annotated[list[int], Query()]):
        return {"ids": ids}

    @get("/query/alias")
    def query_alias(
        item_query: str = Query("dflt", alias="item-query"),
        x: Annotated[int, Query(alias="x-val")] = 5,
    ):
        return {"item_query": item_query, "x": x}

    @get("/query/constraints")
    async def query_constraints(
        n: int = Query(ge=1, le=10),
        r: float = Query(0.5, gt=0, lt=1),
        s: str | None = Query(None, min_length=2, max_length=5, pattern="^[a-z]+$"),
    ):
        return {"n": n, "r": r, "s": s}

    # ------------------------------------------------------------------ headers/cookies
    @get("/headers")
    def headers(
        user_agent: str | None = Header(None),
        x_token: str | None = Header(None),
        x_count: int = Header(0),
        custom: Annotated[str | None, Header(alias="X-Custom-Thing")] = None,
    ):
        return {"user_agent": user_agent, "x_token": x_token, "x_count": x_count, "custom": custom}

    @get("/headers/required")
    async def headers_required(x_key: str = Header()):
        return {"x_key": x_key}

    @get("/cookies")
    def cookies(
        session: str | None = Cookie(None),
        count: int = Cookie(0),
        sid: Annotated[str | None, Cookie(alias="session-id")] = None,
    ):
        return {"session": session, "count": count, "sid": sid}

    # ------------------------------------------------------------------ model body
    @get("/items")
    def list_items():
        return [Item(name="a", price=1.0), Item(name="b", price=2.5, tags=["x"])]

    @post("/items", status_code=201)
    def create_item(item: Item):
        return item

    @post("/items/async", status_code=201)
    async def create_item_async(item: Item):
        return {"name": item.name, "price": item.price, "tags": item.tags, "n_tags": len(item.tags)}

    @put("/items/{item_id}")
    def update_item(item_id: int, item: Item, q: str | None = None):
        return {"item_id": item_id, "item": item, "q": q}

    # ------------------------------------------------------------------ Body() params
    @post("/body/multi")
    def body_multi(item: Item, user: User):
        return {"item": item, "user": user}

    @post("/body/embed")
    def body_embed(item: Item = Body(embed=True)):
        return {"item": item}

    @post("/body/mixed")
    async def body_mixed(item: Item, user: User, importance: int = Body()):
        return {"item": item, "user": user, "importance": importance}

    # ------------------------------------------------------------------ Request
    @get("/request/info/{thing}")
    def request_info(thing: str, request: Request):
        return {
            "method": request.method,
            "path": request.url.path,
            "query": dict(request.query_params),
            "x_test": request.headers.get("x-test"),
            "path_params": dict(request.path_params),
            "cookies": dict(request.cookies),
            "thing": thing,
        }

    @post("/request/json")
    async def request_json(request: Request):
        data = await request.json()
        return {"received": data, "method": request.method}

    # ------------------------------------------------------------------ responses
    @get("/resp/dict")
    def resp_dict():
        return {"a": 1, "b": [1, 2], "c": {"d": None}, "e": "é"}

    @get("/resp/list")
    async def resp_list():
        return [1, "two", None, True]

    @get("/resp/str")
    def resp_str():
        return "hello"

    @get("/resp/int")
    async def resp_int():
        return 42

    @get("/resp/none")
    def resp_none():
        return None

    @get("/resp/model")
    def resp_model():
        return Item(name="m", price=3.0, tags=["t1", "t2"])

    @get("/resp/response-model", response_model=User)
    def resp_response_model():
        return {"username": "u", "full_name": None, "password": "hidden"}

    @get("/resp/raw")
    def resp_raw():
        return Response(content=b"a,b\n1,2\n", media_type="text/csv")

    @get("/resp/raw-binary")
    def resp_raw_binary():
        return Response(content=b"\x00\x01\x02", media_type="application/octet-stream")

    @get("/resp/json202")
    async def resp_json202():
        return JSONResponse(status_code=202, content={"accepted": True}, headers={"x-a": "b"})

    @get("/resp/html")
    def resp_html():
        return HTMLResponse("<h1>Hi</h1>")

    @get("/resp/text")
    async def resp_text():
        return PlainTextResponse("just text")

    @get("/resp/text-418")
    def resp_text_418():
        return PlainTextResponse("teapot", status_code=418)

    @get("/resp/redirect")
    def resp_redirect():
        return RedirectResponse("/resp/dict")

    @get("/resp/redirect301")
    async def resp_redirect301():
        return RedirectResponse(url="https://example.com/elsewhere", status_code=301)

    @get("/resp/cookie")
    def resp_cookie():
        response = JSONResponse({"set": True})
        response.set_cookie("flavour", "choc", httponly=True)
        response.set_cookie(key="plain", value="v1", path="/resp", samesite="strict")
        return response

    @get("/resp/cookie-param")
    def resp_cookie_param(response: Response):
        response.set_cookie("flavour", "choc", httponly=True)
        response.set_cookie(key="plain", value="v1", path="/resp", samesite="strict")
        return {"set": True}

    @get("/resp/header")
    async def resp_header(response: Response):
        response.headers["x-extra"] = "yes"
        response.status_code = 203
        return {"ok": True}

    @post("/resp/created", status_code=201)
    async def resp_created():
        return {"created": True}

    @delete("/resp/nocontent", status_code=204)
    def resp_nocontent():
        return None

    # ------------------------------------------------------------------ errors
    @get("/err/404")
    def err_404():
        raise HTTPException(404, detail="nope")

    @get("/err/dict")
    async def err_dict():
        raise HTTPException(status_code=400, detail={"code": "bad", "fields": ["a", "b"]})

    @get("/err/headers")
    def err_headers():
        raise HTTPException(status_code=401, detail="auth", headers={"WWW-Authenticate": "Bearer"})

    @get("/err/500")
    def err_500():
        raise ValueError("boom")

    @get("/err/500-async")
    async def err_500_async():
        raise ValueError("boom async")

    # ------------------------------------------------------------------ methods
    @get("/methods")
    def methods_get():
        return {"m": "get"}

    @post("/methods")
    def methods_post():
        return {"m": "post"}

    @delete("/methods")
    async def methods_delete():
        return {"m": "delete"}

    @patch("/methods")
    def methods_patch():
        return {"m": "patch"}

    return app
