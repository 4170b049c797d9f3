"""strawberry-graphql's FastAPI integration: ``GraphQLRouter(schema, context_getter=...)`` included
with ``app.include_router(graphql_app, prefix="/graphql")``, the context built by a dependency, as
strawberry's FastAPI docs set it up."""

import pytest
from observe import answer

pytestmark = [pytest.mark.timeout(60), pytest.mark.libraries("strawberry-graphql")]

APP = """
import strawberry
from fastapi import Depends, FastAPI, Header
from strawberry.fastapi import GraphQLRouter


@strawberry.type
class Book:
    title: str
    author: str


BOOKS = [Book(title="The Left Hand of Darkness", author="Ursula K. Le Guin")]


def current_user(x_user: str | None = Header(default=None)) -> str:
    return x_user or "anonymous"


async def get_context(user: str = Depends(current_user)):
    return {"user": user}


@strawberry.type
class Query:
    @strawberry.field
    def books(self) -> list[Book]:
        return BOOKS

    @strawberry.field
    def viewer(self, info: strawberry.Info) -> str:
        return info.context["user"]


@strawberry.type
class Mutation:
    @strawberry.mutation
    def add_book(self, title: str, author: str) -> Book:
        book = Book(title=title, author=author)
        BOOKS.append(book)
        return book


schema = strawberry.Schema(query=Query, mutation=Mutation)
graphql_app = GraphQLRouter(schema, context_getter=get_context)

app = FastAPI()
app.include_router(graphql_app, prefix="/graphql")
"""


def exercise(client):
    def graphql(query, variables=None, headers=None):
        return answer(client.post("/graphql", json={"query": query, "variables": variables or {}}, headers=headers))

    return {
        "query": graphql("{ books { title author } }"),
        "mutation": graphql(
            "mutation Add($title: String!, $author: String!) { addBook(title: $title, author: $author) { title } }",
            {"title": "Kindred", "author": "Octavia E. Butler"},
        ),
        "after": graphql("{ books { title } }"),
        "viewer": graphql("{ viewer }", headers={"x-user": "ada"}),
        "anonymous": graphql("{ viewer }"),
        "invalid": graphql("{ nope }"),
        "get": answer(client.get("/graphql", params={"query": "{ books { author } }"})),
        "graphiql": answer(client.get("/graphql", headers={"Accept": "text/html"}), "content-type"),
    }


def test_graphql_query_and_mutation_answer(ecosystem):
    seen = ecosystem(APP, exercise)
    assert seen["query"] == {
        "status": 200,
        "body": {"data": {"books": [{"title": "The Left Hand of Darkness", "author": "Ursula K. Le Guin"}]}},
    }
    assert seen["mutation"] == {"status": 200, "body": {"data": {"addBook": {"title": "Kindred"}}}}
    assert seen["after"] == {
        "status": 200,
        "body": {"data": {"books": [{"title": "The Left Hand of Darkness"}, {"title": "Kindred"}]}},
    }
    # the context comes from a FastAPI dependency that reads a header
    assert seen["viewer"] == {"status": 200, "body": {"data": {"viewer": "ada"}}}
    assert seen["anonymous"] == {"status": 200, "body": {"data": {"viewer": "anonymous"}}}
    invalid = seen["invalid"]
    assert invalid["status"] == 200, invalid
    assert invalid["body"]["data"] is None
    assert [error["message"] for error in invalid["body"]["errors"]] == ["Cannot query field 'nope' on type 'Query'."]
    assert seen["get"] == {
        "status": 200,
        "body": {"data": {"books": [{"author": "Ursula K. Le Guin"}, {"author": "Octavia E. Butler"}]}},
    }
    graphiql = seen["graphiql"]
    assert graphiql["status"] == 200
    assert graphiql["content-type"].startswith("text/html")
    assert "graphiql" in graphiql["body"].lower()
