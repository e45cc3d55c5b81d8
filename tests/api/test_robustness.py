"""Inputs and failures that once broke the service: each keeps its fix honest."""

from __future__ import annotations

import asyncio
import base64
import json

import pytest

from tests.api.cluster_fixture import K1, gid
from tests.conftest import GraphQLClient

pytestmark = pytest.mark.usefixtures("cluster", "demo_loaded")

INVALID = "api_generic_invalid-parameters"


async def test_root_errors_with_pending_lookups_release_their_connection(
    gql: GraphQLClient,
) -> None:
    """A non-null root field fails while a loader batch is still pending: the response is
    complete before the batch runs. The batch must not take (and keep) a connection: after
    more such requests than the pool has connections, the service still answers."""
    failing = (
        '{ a: resourceSlotTypes(first: -1) { count } b: node(id: "'
        + gid("AgentV2", "i-node00001")
        + '") { id } }'
    )
    for _ in range(3 * gql_pool_size()):
        response = await gql.http.post("/graphql", json={"query": failing})
        assert response.status_code == 200
        body = response.json()
        assert body["data"] is None
        assert body["errors"][0]["extensions"] == {"code": INVALID}
    healthy = await asyncio.wait_for(gql.post("{ agentsV2(first: 1) { count } }"), timeout=10)
    assert healthy["data"]["agentsV2"]["count"] > 0


def gql_pool_size() -> int:
    from app.settings import Settings

    return Settings().pool_max_size


@pytest.mark.parametrize(
    "value", ["1e200000", "-1e30", "1e-200000", "0.0000000000000000000000000000001"]
)
async def test_decimals_far_outside_any_amount_are_refused(gql: GraphQLClient, value: str) -> None:
    response = await gql.http.post(
        "/graphql",
        json={
            "query": 'query($v: Decimal) { kernelV2(id: "'
            + str(K1)
            + '") { resourceAllocations(filter: {requested: {greaterThan: $v}}) { count } } }',
            "variables": {"v": value},
        },
        headers={"accept": "application/graphql-response+json"},
    )
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["extensions"] == {"code": INVALID}
    assert f"Decimal '{value}' is out of range" in error["message"]


async def test_not_and_its_filter_split_the_rows_also_over_nulls(gql: GraphQLClient) -> None:
    async def slots(condition: str) -> list[str]:
        body = await gql.post(
            '{ kernelV2(id: "' + str(K1) + '") { resourceAllocations(filter: ' + condition + ") "
            "{ edges { node { slotName } } } } }"
        )
        return [
            e["node"]["slotName"] for e in body["data"]["kernelV2"]["resourceAllocations"]["edges"]
        ]

    # K1: cpu used 1.5, cuda.device used 1, mem not measured (NULL).
    assert await slots('{NOT: [{used: {greaterThan: "1e20"}}]}') == ["cpu", "cuda.device", "mem"]
    assert await slots('{used: {equals: "1"}}') == ["cuda.device"]
    assert await slots('{NOT: [{used: {equals: "1"}}]}') == ["cpu", "mem"]
    assert await slots('{used: {notEquals: "1"}}') == ["cpu", "mem"]


async def test_nul_characters_are_the_clients_mistake(gql: GraphQLClient) -> None:
    body = await gql.post(
        '{ resourceSlotTypes(filter: {slotName: {equals: "a\\u0000b"}}) { count } }'
    )
    assert body["data"] is None
    assert body["errors"][0]["message"] == "Text values must not contain NUL characters (\\u0000)."
    assert body["errors"][0]["extensions"] == {"code": INVALID}

    body = await gql.post('{ resourceSlotType(slotName: "a\\u0000b") { slotName } }')
    assert body == {"data": {"resourceSlotType": None}}

    nul_id = base64.b64encode(b"AgentV2:a\x00b").decode()
    body = await gql.post('{ node(id: "' + nul_id + '") { id } }')
    assert body["errors"][0]["message"] == (
        f"Invalid global ID {nul_id!r}: its AgentV2 id contains a NUL character. "
        "Use an `id` value returned by this API."
    )
    assert gql.sql.count == 0


def forged(signature: str, values: list[object]) -> str:
    raw = json.dumps([1, signature, values]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


async def test_cursor_values_outside_their_column_are_refused(gql: GraphQLClient) -> None:
    cursor = forged("KernelV2[CLUSTER_IDX:ASC,ID:ASC]", [99_999_999_999, str(K1)])
    body = await gql.post(
        "query($c: String) { adminKernelsV2(first: 1, after: $c, orderBy: [{field: CLUSTER_IDX, direction: ASC}]) { count } }",
        {"c": cursor},
    )
    assert body["errors"][0]["extensions"] == {"code": INVALID}
    assert "is not valid" in body["errors"][0]["message"]
    assert gql.sql.count == 0


async def test_a_bad_nested_cursor_fails_before_the_nested_statement(gql: GraphQLClient) -> None:
    body = await gql.post(
        '{ agentsV2(first: 3) { edges { node { resourceSlots(after: "garbage") { count } } } } }'
    )
    assert body["data"] is None
    assert {tuple(e["path"]) for e in body["errors"]} <= {
        ("agentsV2", "edges", i, "node", "resourceSlots") for i in range(3)
    }
    assert all(e["extensions"] == {"code": INVALID} for e in body["errors"])
    assert gql.sql.count == 1  # the agents page; the slot pages never ran
