"""A root connection fetches its nodes' first nested pages in its own statement (see
app.resolvers.connection.resolve_connection): each node's page, count and page info are
the ones the node gets when its nested connection is asked alone, and the root page is
the one it is without the nested field, whatever the root's own arguments."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import GraphQLClient

pytestmark = pytest.mark.usefixtures("demo_loaded")

SLOTS = (
    "resourceSlots(first: 2, orderBy: [{field: USED, direction: DESC}]) "
    "{ count pageInfo { hasNextPage hasPreviousPage startCursor endCursor } "
    "edges { cursor node { id slotName used free } } }"
)
ALLOCATIONS = (
    "resourceAllocations(last: 2) { count pageInfo { hasNextPage hasPreviousPage } "
    "edges { cursor node { slotName requested used } } }"
)
ROOT_SELECTION = "pageInfo { hasNextPage hasPreviousPage startCursor endCursor } "

ROOTS = {
    "agentsV2": ("AgentV2", SLOTS, "resourceSlots"),
    "adminKernelsV2": ("KernelV2", ALLOCATIONS, "resourceAllocations"),
}
# Root arguments: forward, backward, offset, counted, filtered to nothing (one row of NULLs
# for the count), and (filled in by the test) after a cursor.
VARIANTS = [
    ("first: 3", False),
    ("last: 3", False),
    ("limit: 2, offset: 4", True),
    ("first: 4", True),
    ('filter: {id: {equals: "nothing"}}', True),
]
KERNEL_NOTHING = 'filter: {id: {equals: "00000000-0000-0000-0000-000000000000"}}'


def root_query(root: str, args: str, counted: bool, nested: str) -> str:
    count = "count " if counted else ""
    return (
        f"{{ {root}({args}) {{ {count}{ROOT_SELECTION}"
        f"edges {{ cursor node {{ id {nested} }} }} }} }}"
    )


async def alone(gql: GraphQLClient, type_name: str, node_id: str, nested: str) -> Any:
    body = await gql.post(
        f"query($id: ID!) {{ node(id: $id) {{ ... on {type_name} {{ {nested} }} }} }}",
        {"id": node_id},
    )
    assert "errors" not in body, body
    return body["data"]["node"]


async def check(gql: GraphQLClient, root: str, args: str, counted: bool) -> list[Any]:
    type_name, nested, field = ROOTS[root]
    gql.sql.reset()
    body = await gql.post(root_query(root, args, counted, nested))
    assert "errors" not in body, body
    # The page with each node's nested page: one statement.
    assert gql.sql.count == 1, args
    together = body["data"][root]
    plain = await gql.post(root_query(root, args, counted, ""))
    assert "errors" not in plain, plain
    # The root page is the same with the nested field as without it.
    assert {key: value for key, value in together.items() if key != "edges"} == {
        key: value for key, value in plain["data"][root].items() if key != "edges"
    }
    assert [(e["cursor"], e["node"]["id"]) for e in together["edges"]] == [
        (e["cursor"], e["node"]["id"]) for e in plain["data"][root]["edges"]
    ]
    for edge in together["edges"]:
        node = edge["node"]
        assert {field: node[field]} == await alone(gql, type_name, node["id"], nested)
    return list(together["edges"])


@pytest.mark.parametrize("root", sorted(ROOTS))
@pytest.mark.parametrize(("args", "counted"), VARIANTS)
async def test_first_nested_pages_come_with_the_root_page(
    gql: GraphQLClient, root: str, args: str, counted: bool
) -> None:
    empty = "nothing" in args
    if root == "adminKernelsV2" and empty:
        args = KERNEL_NOTHING
    edges = await check(gql, root, args, counted)
    if empty:
        assert edges == []
        return
    assert edges
    _, _, field = ROOTS[root]
    assert any(edge["node"][field]["edges"] for edge in edges)
    if "first" in args or "last" in args:
        # The next (or previous) page, after the cursor of this one's first edge.
        direction = "before" if "last" in args else "after"
        await check(gql, root, f"{args}, {direction}: {json.dumps(edges[-1]['cursor'])}", counted)


async def test_a_nested_field_in_a_fragment_or_twice_is_fetched_with_the_page(
    gql: GraphQLClient,
) -> None:
    """The nested field found through fragments, and asked twice under one response key
    (its selections merged), still comes with the page; a second nested connection field
    is loaded as before, in a statement of its own."""
    query = (
        "fragment Slots on AgentV2 { resourceSlots(first: 2) { edges { node { slotName } } } } "
        "{ agentsV2(first: 5, orderBy: [{field: ID}]) { edges { ...Edge } } } "
        "fragment Edge on AgentV2Edge { node { id ...Slots resourceSlots(first: 2) { count } "
        "kernels(first: 1) { count } } }"
    )
    body = await gql.post(query)
    assert "errors" not in body, body
    assert gql.sql.count == 2  # the page with its slots, then the kernel pages
    edges = body["data"]["agentsV2"]["edges"]
    assert len(edges) == 5
    for edge in edges:
        node = edge["node"]
        expected = await alone(
            gql,
            "AgentV2",
            node["id"],
            "resourceSlots(first: 2) { edges { node { slotName } } count } kernels(first: 1) { count }",
        )
        assert node["resourceSlots"] == expected["resourceSlots"]
        assert node["kernels"] == expected["kernels"]


@pytest.mark.parametrize("include", [True, False])
async def test_a_skipped_nested_field_is_left_out(gql: GraphQLClient, include: bool) -> None:
    body = await gql.post(
        "query($with: Boolean!) { agentsV2(first: 3) { edges { node { id "
        "resourceSlots(first: 1) @include(if: $with) { count } } } } }",
        {"with": include},
    )
    assert "errors" not in body, body
    for edge in body["data"]["agentsV2"]["edges"]:
        node = edge["node"]
        assert ("resourceSlots" in node) is include
        if include:
            assert node["resourceSlots"]["count"] > 0


async def test_nested_arguments_that_fail_fail_at_the_nested_field(gql: GraphQLClient) -> None:
    """A nested field's bad arguments are not the root's: the error is the nested field's,
    at its own path."""
    body = await gql.post(
        "{ agentsV2(first: 2, orderBy: [{field: ID}]) { edges { node { id "
        "resourceSlots(first: 0) { count } } } } }"
    )
    # resourceSlots is non-null: the error nulls its way up, as it does without the page.
    assert body["data"] is None
    [error] = body["errors"]
    assert error["path"] == ["agentsV2", "edges", 0, "node", "resourceSlots"]
    assert "`first` must be a positive number" in error["message"]


async def test_nested_arguments_from_variables_are_each_request_s_own(gql: GraphQLClient) -> None:
    """Literal nested arguments are coerced once per document; arguments that refer to
    variables are coerced in every request, so each request's page has its own size."""
    query = (
        "query($n: Int!) { agentsV2(first: 3, orderBy: [{field: ID}]) { edges { node { id "
        "resourceSlots(first: $n, orderBy: [{field: SLOT_NAME}]) "
        "{ count edges { node { slotName } } } } } } }"
    )
    sizes = []
    for n in (1, 2, 1):
        gql.sql.reset()
        body = await gql.post(query, {"n": n})
        assert "errors" not in body, body
        assert gql.sql.count == 1
        edges = body["data"]["agentsV2"]["edges"]
        sizes.append([len(e["node"]["resourceSlots"]["edges"]) for e in edges])
        for edge in edges:
            slots = edge["node"]["resourceSlots"]
            assert len(slots["edges"]) == min(n, slots["count"])
    assert sizes[0] == sizes[2] != sizes[1]
