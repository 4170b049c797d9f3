"""fastapi-users with its SQLAlchemy adapter on SQLite (aiosqlite, a file in the project directory),
JWT over a bearer transport, and the auth, register and users routers, in one module along the
lines of its "full example"."""

import pytest
from observe import answer

pytestmark = [
    pytest.mark.timeout(60),
    pytest.mark.libraries("fastapi-users", "fastapi-users-db-sqlalchemy", "aiosqlite"),
    pytest.mark.needs_alias(
        "the app's turboapi Depends() go into routers fastapi-users builds with real FastAPI, which reads only its own"
    ),
]

APP = """
import uuid
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from fastapi_users import BaseUserManager, FastAPIUsers, UUIDIDMixin, schemas
from fastapi_users.authentication import AuthenticationBackend, BearerTransport, JWTStrategy
from fastapi_users_db_sqlalchemy import SQLAlchemyBaseUserTableUUID, SQLAlchemyUserDatabase
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase

SECRET = "ecosystem-suite-secret-that-is-long-enough"
engine = create_async_engine("sqlite+aiosqlite:///./users.db")
async_session_maker = async_sessionmaker(engine, expire_on_commit=False)


class Base(DeclarativeBase):
    pass


class User(SQLAlchemyBaseUserTableUUID, Base):
    pass


class UserRead(schemas.BaseUser[uuid.UUID]):
    pass


class UserCreate(schemas.BaseUserCreate):
    pass


class UserUpdate(schemas.BaseUserUpdate):
    pass


async def get_async_session() -> AsyncGenerator[AsyncSession, None]:
    async with async_session_maker() as session:
        yield session


async def get_user_db(session: AsyncSession = Depends(get_async_session)):
    yield SQLAlchemyUserDatabase(session, User)


registered = []


class UserManager(UUIDIDMixin, BaseUserManager[User, uuid.UUID]):
    reset_password_token_secret = SECRET
    verification_token_secret = SECRET

    async def on_after_register(self, user, request=None):
        registered.append(user.email)


async def get_user_manager(user_db: SQLAlchemyUserDatabase = Depends(get_user_db)):
    yield UserManager(user_db)


bearer_transport = BearerTransport(tokenUrl="auth/jwt/login")


def get_jwt_strategy() -> JWTStrategy:
    return JWTStrategy(secret=SECRET, lifetime_seconds=3600)


auth_backend = AuthenticationBackend(name="jwt", transport=bearer_transport, get_strategy=get_jwt_strategy)
fastapi_users = FastAPIUsers[User, uuid.UUID](get_user_manager, [auth_backend])
current_active_user = fastapi_users.current_user(active=True)


@asynccontextmanager
async def lifespan(app: FastAPI):
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    yield
    await engine.dispose()


app = FastAPI(lifespan=lifespan)
app.include_router(fastapi_users.get_auth_router(auth_backend), prefix="/auth/jwt", tags=["auth"])
app.include_router(fastapi_users.get_register_router(UserRead, UserCreate), prefix="/auth", tags=["auth"])
app.include_router(fastapi_users.get_users_router(UserRead, UserUpdate), prefix="/users", tags=["users"])


@app.get("/authenticated-route")
async def authenticated_route(user: User = Depends(current_active_user)):
    return {"message": f"Hello {user.email}!", "registered": registered}
"""

EMAIL = "ada@example.com"
PASSWORD = "correct horse battery staple"


def exercise(client):
    credentials = {"email": EMAIL, "password": PASSWORD}
    seen = {
        "register": answer(client.post("/auth/register", json=credentials)),
        "again": answer(client.post("/auth/register", json=credentials)),
        "bad_email": answer(client.post("/auth/register", json={"email": "nobody", "password": PASSWORD})),
        "wrong_password": answer(client.post("/auth/jwt/login", data={"username": EMAIL, "password": "nope"})),
        "anonymous": answer(client.get("/authenticated-route")),
        "login": answer(client.post("/auth/jwt/login", data={"username": EMAIL, "password": PASSWORD})),
    }
    token = seen["login"]["body"].get("access_token", "") if isinstance(seen["login"]["body"], dict) else ""
    auth = {"Authorization": f"Bearer {token}"}
    seen["me"] = answer(client.get("/users/me", headers=auth))
    seen["hello"] = answer(client.get("/authenticated-route", headers=auth))
    seen["bad_token"] = answer(client.get("/users/me", headers={"Authorization": "Bearer not.a.token"}))
    seen["openapi"] = answer(client.get("/openapi.json"))
    return seen


def test_register_login_and_authenticated_routes(ecosystem):
    seen = ecosystem(APP, exercise)
    registered = seen["register"]
    assert registered["status"] == 201, registered
    user = registered["body"]
    assert user["email"] == EMAIL
    assert (user["is_active"], user["is_superuser"], user["is_verified"]) == (True, False, False)
    assert "password" not in user and "hashed_password" not in user
    assert seen["again"] == {"status": 400, "body": {"detail": "REGISTER_USER_ALREADY_EXISTS"}}
    assert seen["bad_email"]["status"] == 422
    assert seen["wrong_password"] == {"status": 400, "body": {"detail": "LOGIN_BAD_CREDENTIALS"}}
    assert seen["anonymous"] == {"status": 401, "body": {"detail": "Unauthorized"}}
    login = seen["login"]
    assert login["status"] == 200, login
    assert login["body"]["token_type"] == "bearer"
    assert login["body"]["access_token"].count(".") == 2  # a JWT
    assert seen["me"] == {"status": 200, "body": user}
    assert seen["hello"] == {"status": 200, "body": {"message": f"Hello {EMAIL}!", "registered": [EMAIL]}}
    assert seen["bad_token"] == {"status": 401, "body": {"detail": "Unauthorized"}}
    assert sorted(seen["openapi"]["body"]["paths"]) == [
        "/auth/jwt/login",
        "/auth/jwt/logout",
        "/auth/register",
        "/authenticated-route",
        "/users/me",
        "/users/{id}",
    ]
