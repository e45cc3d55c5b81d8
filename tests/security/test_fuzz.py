"""Generated documents, valid and invalid, against the real service: never a 500, never an
unmasked or unexpected error, never a leak of SQL, driver or schema suggestions."""

from __future__ import annotations

import uuid

import httpx
import pytest
from graphql import StringValueNode
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import Mode, nodes, queries

from app.schema import build_schema

pytestmark = pytest.mark.usefixtures("demo_loaded", "cluster")

SCHEMA = build_schema()
SCALARS: dict[str, st.SearchStrategy[StringValueNode]] = {
    "UUID": st.one_of(st.uuids(), st.just(uuid.UUID(int=0))).map(nodes.String),
    "Decimal": st.one_of(
        st.decimals(allow_nan=False, allow_infinity=False, places=6).map(str),
        st.sampled_from(["1e30", "-0", "1e-200000", "x"]),
    ).map(nodes.String),
    "DateTime": st.datetimes().map(lambda d: d.isoformat()).map(nodes.String),
    "JSON": st.text(max_size=20).map(nodes.String),
}
# What a refusal may say; anything else (internal-error above all) is a finding.
EXPECTED_CODES = {"api_generic_invalid-parameters", "api_generic_query-too-complex"}
LEAKS = ("Traceback", "asyncpg", "sqlalchemy", "SELECT ", "postgresql://", "Did you mean")
FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


async def check(client: httpx.AsyncClient, query: str) -> None:
    response = await client.post("/graphql", json={"query": query})
    assert response.status_code == 200, response.text
    for leak in LEAKS:
        assert leak not in response.text, (query, response.text)
    body = response.json()
    for error in body.get("errors", ()):
        assert error["extensions"]["code"] in EXPECTED_CODES, (query, error)
        assert error["message"] != "Internal server error", (query, error)


@FUZZ
@given(query=queries(SCHEMA, custom_scalars=SCALARS, mode=Mode.POSITIVE))
async def test_valid_documents(client: httpx.AsyncClient, query: str) -> None:
    await check(client, query)


@FUZZ
@given(query=queries(SCHEMA, custom_scalars=SCALARS, mode=Mode.NEGATIVE))
async def test_invalid_documents(client: httpx.AsyncClient, query: str) -> None:
    await check(client, query)


@FUZZ
@given(query=st.text(max_size=300))
async def test_any_text(client: httpx.AsyncClient, query: str) -> None:
    await check(client, query or " ")
