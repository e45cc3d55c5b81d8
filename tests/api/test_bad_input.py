"""Every invalid argument gets api_generic_invalid-parameters, a message saying what to
change, the field's path, and runs no SQL."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from tests.conftest import GraphQLClient

INVALID = "api_generic_invalid-parameters"


async def error_of(
    gql: GraphQLClient, args: str, variables: dict[str, Any] | None = None
) -> dict[str, Any]:
    header = "($c: String)" if "$c" in args else ""
    body = await gql.post(
        "query" + header + " { resourceSlotTypes(" + args + ") { edges { node { slotName } } } }",
        variables or {},
    )
    assert body["data"] is None
    assert len(body["errors"]) == 1
    error: dict[str, Any] = body["errors"][0]
    assert error["extensions"] == {"code": INVALID}
    assert error["path"] == ["resourceSlotTypes"]
    assert gql.sql.count == 0, "invalid arguments must be refused before any SQL runs"
    return error


async def cursor(gql: GraphQLClient, order: str) -> str:
    body = await gql.post(
        "{ resourceSlotTypes(first: 1, orderBy: " + order + ") { pageInfo { endCursor } } }"
    )
    gql.sql.reset()
    value: str = body["data"]["resourceSlotTypes"]["pageInfo"]["endCursor"]
    return value


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            "first: 2, last: 2",
            "Use one pagination mode: `first`/`after` (forward), `last`/`before` (backward) or `limit`/`offset`; this request mixes `first`, `last`.",
        ),
        (
            "first: 2, limit: 2",
            "Use one pagination mode: `first`/`after` (forward), `last`/`before` (backward) or `limit`/`offset`; this request mixes `first`, `limit`.",
        ),
        (
            "after: $c, offset: 1",
            "Use one pagination mode: `first`/`after` (forward), `last`/`before` (backward) or `limit`/`offset`; this request mixes `after`, `offset`.",
        ),
        (
            "before: $c, first: 1",
            "Use one pagination mode: `first`/`after` (forward), `last`/`before` (backward) or `limit`/`offset`; this request mixes `first`, `before`.",
        ),
        ("first: 0", "`first` must be a positive number, got 0."),
        ("last: -1", "`last` must be a positive number, got -1."),
        ("limit: 0", "`limit` must be a positive number, got 0."),
        ("offset: -3", "`offset` must be zero or more, got -3."),
        ("first: 1001", "`first` must be at most 1000, got 1001; page on with `after`."),
        ("last: 5000", "`last` must be at most 1000, got 5000; page backward with `before`."),
        ("limit: 1001", "`limit` must be at most 1000, got 1001; page on with `offset`."),
        (
            'after: ""',
            "`after` is an empty string; pass a cursor from a previous page or leave it out.",
        ),
        (
            "orderBy: [{field: RANK}, {field: RANK, direction: DESC}]",
            "`orderBy` names RANK more than once; list each field at most once.",
        ),
        (
            "filter: {OR: []}",
            "`OR` in ResourceSlotTypeFilter is an empty list; give it at least one filter or leave it out.",
        ),
        (
            "filter: {slotName: {NOT: []}}",
            "`NOT` in a StringFilter is an empty list; give it at least one filter or leave it out.",
        ),
    ],
)
async def test_invalid_arguments(gql: GraphQLClient, args: str, message: str) -> None:
    variables = {"c": "WzFd"} if "$c" in args else {}
    error = await error_of(gql, args, variables)
    assert error["message"] == message


async def test_max_page_size_boundary_passes(gql: GraphQLClient) -> None:
    for args in ("first: 1000", "last: 1000", "limit: 1000"):
        body = await gql.post("{ resourceSlotTypes(" + args + ") { edges { cursor } } }")
        assert len(body["data"]["resourceSlotTypes"]["edges"]) == 14


@pytest.mark.parametrize(
    "bad",
    ["not-a-cursor!", "WzFd", base64.urlsafe_b64encode(b'[1, "x", []]').decode(), "e30", "bnVsbA"],
)
async def test_malformed_cursor(gql: GraphQLClient, bad: str) -> None:
    error = await error_of(gql, "first: 2, after: $c", {"c": bad})
    assert error["message"] == (
        f"The cursor {bad!r} is not valid: pass a cursor exactly as a previous page returned it, "
        "or leave `after`/`before` out to start from the beginning."
    )


async def test_tampered_cursor_values_are_refused(gql: GraphQLClient) -> None:
    good = await cursor(gql, "[{field: RANK}]")
    raw = base64.urlsafe_b64decode(good + "=" * (-len(good) % 4)).replace(b"100", b'"x"')
    tampered = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    error = await error_of(gql, "first: 2, after: $c, orderBy: [{field: RANK}]", {"c": tampered})
    assert "is not valid" in error["message"]


async def test_cursor_from_another_order_is_refused(gql: GraphQLClient) -> None:
    made_for_rank = await cursor(gql, "[{field: RANK}]")
    error = await error_of(
        gql, "first: 2, after: $c, orderBy: [{field: DISPLAY_NAME}]", {"c": made_for_rank}
    )
    assert error["message"] == (
        f"The cursor {made_for_rank!r} was made for another order "
        "(ResourceSlotType[RANK:ASC,SLOT_NAME:ASC]), but this request orders by "
        "ResourceSlotType[DISPLAY_NAME:ASC,SLOT_NAME:ASC]. Use the `orderBy` the cursor was made "
        "with, or leave `after`/`before` out to start again in the new order."
    )
    # Same field, other direction: also another order.
    error = await error_of(
        gql, "last: 2, before: $c, orderBy: [{field: RANK, direction: DESC}]", {"c": made_for_rank}
    )
    assert "was made for another order" in error["message"]


@pytest.mark.parametrize(
    ("global_id", "message"),
    [
        (
            "%%%",
            "Invalid global ID '%%%': it is not base64 of '<TypeName>:<id>'. Use an `id` value returned by this API.",
        ),
        (
            base64.b64encode(b"no-colon").decode(),
            "Invalid global ID 'bm8tY29sb24=': it decodes to 'no-colon', not '<TypeName>:<id>'. Use an `id` value returned by this API.",
        ),
        (
            base64.b64encode(b"Agent:x").decode(),
            "Invalid global ID 'QWdlbnQ6eA==': 'Agent' is not a node type (known: AgentResourceSlot, AgentV2, KernelResourceAllocation, KernelV2, ResourceSlotType).",
        ),
        (
            base64.b64encode(b"\xff\xfe:x").decode(),
            "Invalid global ID '//46eA==': it is not base64 of '<TypeName>:<id>'. Use an `id` value returned by this API.",
        ),
    ],
)
async def test_malformed_global_ids(gql: GraphQLClient, global_id: str, message: str) -> None:
    body = await gql.post("query($id: ID!) { node(id: $id) { id } }", {"id": global_id})
    assert body == {
        "data": {"node": None},
        "errors": [
            {
                "message": message,
                "locations": [{"line": 1, "column": 19}],
                "path": ["node"],
                "extensions": {"code": INVALID},
            }
        ],
    }
    assert gql.sql.count == 0


async def test_one_malformed_id_fails_nodes_before_any_sql(gql: GraphQLClient) -> None:
    good = base64.b64encode(b"ResourceSlotType:cpu").decode()
    body = await gql.post("query($ids: [ID!]!) { nodes(ids: $ids) { id } }", {"ids": [good, "???"]})
    assert body["data"] is None
    assert body["errors"][0]["path"] == ["nodes"]
    assert body["errors"][0]["extensions"] == {"code": INVALID}
    assert gql.sql.count == 0


async def test_nodes_takes_at_most_the_max_page_size(gql: GraphQLClient) -> None:
    good = base64.b64encode(b"ResourceSlotType:cpu").decode()
    body = await gql.post("query($ids: [ID!]!) { nodes(ids: $ids) { id } }", {"ids": [good] * 1001})
    assert (
        body["errors"][0]["message"]
        == "`nodes` takes at most 1000 IDs, got 1001; split the request."
    )
    assert gql.sql.count == 0
    body = await gql.post("query($ids: [ID!]!) { nodes(ids: $ids) { id } }", {"ids": [good] * 1000})
    assert len(body["data"]["nodes"]) == 1000
    assert gql.sql.count == 1


async def test_validation_errors_have_a_code_and_http_400(gql: GraphQLClient) -> None:
    response = await gql.http.post(
        "/graphql",
        json={"query": "{ resourceSlotTypes { nope } }"},
        headers={"accept": "application/graphql-response+json"},
    )
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/graphql-response+json"
    assert response.json() == {
        "errors": [
            {
                "message": "Cannot query field 'nope' on type 'ResourceSlotTypeConnection'.",
                "locations": [{"line": 1, "column": 23}],
                "extensions": {"code": INVALID},
            }
        ]
    }


@pytest.mark.parametrize(
    ("accept", "status", "media_type"),
    [
        (None, 200, "application/json"),
        ("application/json", 200, "application/json"),
        ("*/*", 200, "application/json"),
        ("application/graphql-response+json", 400, "application/graphql-response+json"),
        (
            "application/graphql-response+json, application/json;q=0.9",
            400,
            "application/graphql-response+json",
        ),
        ("application/graphql-response+json;q=0, application/json", 200, "application/json"),
        ("application/json, application/graphql-response+json;q=0.5", 200, "application/json"),
        # Longer than the Accept headers whose answer is remembered: worked out every time.
        (
            "text/html;q=0.2, " * 20 + "application/graphql-response+json",
            400,
            "application/graphql-response+json",
        ),
        ("text/html;q=0.2, " * 20 + "application/json", 200, "application/json"),
    ],
)
async def test_status_of_a_request_error_follows_the_media_type(
    gql: GraphQLClient, accept: str | None, status: int, media_type: str
) -> None:
    """GraphQL-over-HTTP: a document that cannot execute is a 400 with the
    graphql-response+json media type; legacy application/json clients get 200."""
    headers = {"accept": accept} if accept is not None else {}
    response = await gql.http.post("/graphql", json={"query": "{ nope }"}, headers=headers)
    assert (response.status_code, response.headers["content-type"]) == (status, media_type)
    body = response.json()
    assert "data" not in body
    assert body["errors"][0]["extensions"] == {"code": INVALID}


async def test_wrong_variable_type_is_an_invalid_parameter(gql: GraphQLClient) -> None:
    response = await gql.http.post(
        "/graphql",
        json={
            "query": "query($n: Int) { resourceSlotTypes(first: $n) { count } }",
            "variables": {"n": "x"},
        },
        headers={"accept": "application/graphql-response+json"},
    )
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["extensions"] == {"code": INVALID}
    assert (
        error["message"]
        == "Variable '$n' has invalid value: Int cannot represent non-integer value: 'x'"
    )
