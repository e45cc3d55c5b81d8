"""Expected errors keep their code and message; everything else is masked, with a request id
that finds the full error in the server log. Nothing of the SQL, the schema's names or the
DSN reaches a client unless debug is on."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from app.db import RequestSession
from tests.conftest import GraphQLClient
from tests.security.conftest import Client

SECRET = "connection to postgresql://admin:hunter2@db.internal/prod failed: SELECT * FROM x"


async def broken(*_: object, **__: object) -> None:
    """A fault no handler expects, with secrets in its message."""
    raise RuntimeError(SECRET)


async def test_internal_errors_are_masked_with_a_request_id(
    gql: GraphQLClient, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Connection pages go through fetch_page, everything else through fetch_all.
    monkeypatch.setattr(RequestSession, "fetch_all", broken)
    monkeypatch.setattr(RequestSession, "fetch_page", broken)
    response = await gql.http.post(
        "/graphql",
        json={"query": "{ resourceSlotTypes { count } }"},
        headers={"x-request-id": "req-masked-1"},
    )
    assert response.json() == {
        "data": None,
        "errors": [
            {
                "message": "Internal server error",
                "locations": [{"line": 1, "column": 3}],
                "path": ["resourceSlotTypes"],
                "extensions": {
                    "code": "backendai_generic_internal-error",
                    "requestId": "req-masked-1",
                },
            }
        ],
    }
    assert "hunter2" not in response.text
    # The whole error is in the log, under the same request id.
    [record] = [r for r in caplog.records if r.name == "slotgraph.errors"]
    assert "request_id=req-masked-1" in record.getMessage()
    assert record.exc_info is not None
    assert str(record.exc_info[1]) == SECRET


async def test_a_real_sql_error_is_masked(
    gql: GraphQLClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = RequestSession.fetch_all

    async def wrong_sql(self: RequestSession, _: Any) -> Sequence[Any]:
        # What a bug in a repository would send: PostgreSQL names the table and the column.
        return await original(self, sa.text("SELECT secret_column FROM no_such_table"))

    monkeypatch.setattr(RequestSession, "fetch_page", wrong_sql)
    response = await gql.http.post("/graphql", json={"query": "{ resourceSlotTypes { count } }"})
    [error] = response.json()["errors"]
    assert error["message"] == "Internal server error"
    assert error["extensions"]["code"] == "backendai_generic_internal-error"
    assert error["extensions"]["requestId"] == response.headers["x-request-id"]
    for leak in ("no_such_table", "secret_column", "SELECT", "relation", "asyncpg"):
        assert leak not in response.text


async def test_expected_errors_keep_code_and_message(gql: GraphQLClient) -> None:
    body = await gql.post("{ resourceSlotTypes(first: 0) { count } }")
    assert body["errors"][0]["message"] == "`first` must be a positive number, got 0."
    assert body["errors"][0]["extensions"] == {"code": "api_generic_invalid-parameters"}


async def test_no_field_suggestions(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/graphql", json={"query": "{ resourceSlotTypez { count } agentsV2(firts: 1) { count } }"}
    )
    messages = [e["message"] for e in response.json()["errors"]]
    assert messages == [
        "Cannot query field 'resourceSlotTypez' on type 'Query'.",
        "Unknown argument 'firts' on field 'Query.agentsV2'.",
    ]
    response = await client.post(
        "/graphql",
        json={"query": "{ agentsV2(orderBy: [{field: IDD}]) { count } }"},
    )
    assert "Did you mean" not in response.text


async def test_debug_shows_what_production_hides(client_with: Client) -> None:
    async with client_with(debug=True) as http:
        response = await http.post("/graphql", json={"query": "{ resourceSlotTypez { count } }"})
        assert "Did you mean 'resourceSlotType'" in response.json()["errors"][0]["message"]


async def test_debug_unmasks_internal_errors(
    client_with: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with client_with(debug=True) as http:
        # Authenticated once (the key is cached), then every statement breaks.
        assert (await http.post("/graphql", json={"query": "{ __typename }"})).status_code == 200
        monkeypatch.setattr(RequestSession, "fetch_all", broken)
        monkeypatch.setattr(RequestSession, "fetch_page", broken)
        response = await http.post("/graphql", json={"query": "{ resourceSlotTypes { count } }"})
        [error] = response.json()["errors"]
        assert error["message"] == SECRET
        assert error["extensions"]["exception"] == {"type": "RuntimeError", "message": SECRET}
