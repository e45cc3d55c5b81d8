"""Property: a nested connection asked under many parents at once gives each parent exactly
the page that parent gets when asked alone, for any page arguments, order and filter.

The batched path (one LATERAL statement for all parents) and the single-parent path go
through the same engine but different SQL shapes, so comparing them checks the per-parent
partitioning: every parent's own ORDER BY, LIMIT n+1, OFFSET, keyset seek, count and page
flags. Runs over the generated demo cluster (agents i-node00001 onwards).
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import DEMO_AGENTS, GraphQLClient

pytestmark = pytest.mark.usefixtures("demo_loaded")

AGENTS = [f"i-node{n:05d}" for n in range(1, DEMO_AGENTS + 1)]

# field -> (order fields, filter fragments)
CONNECTIONS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "resourceSlots": (
        ("SLOT_NAME", "CAPACITY", "USED"),
        (
            '{slotName: {in: ["cpu", "mem"]}}',
            '{slotName: {contains: "."}}',
            '{used: {greaterThan: "0"}}',
            '{OR: [{capacity: {lessThanOrEqual: "8"}}, {slotName: {equals: "mem"}}]}',
        ),
    ),
    "kernels": (
        (
            "CREATED_AT",
            "TERMINATED_AT",
            "STATUS",
            "CLUSTER_MODE",
            "CLUSTER_HOSTNAME",
            "CLUSTER_IDX",
        ),
        (
            "{status: {in: [RUNNING, TERMINATED]}}",
            "{status: {notIn: [CANCELLED]}}",
            "{NOT: [{status: {equals: RUNNING}}]}",
        ),
    ),
}
SELECTION = (
    "count pageInfo { hasNextPage hasPreviousPage startCursor endCursor } "
    "edges { cursor node { id } }"
)


def gid(agent: str) -> str:
    return base64.b64encode(f"AgentV2:{agent}".encode()).decode()


@st.composite
def arguments(draw: st.DrawFn, field: str) -> dict[str, Any]:
    order_fields, filters = CONNECTIONS[field]
    args: dict[str, Any] = {}
    mode = draw(st.sampled_from(["first", "last", "limit", "offset", "none"]))
    size = draw(st.integers(1, 6))
    if mode in ("first", "last", "limit"):
        args[mode] = size
    if mode in ("limit", "offset"):
        args["offset"] = draw(st.integers(0, 8))
    fields = draw(st.lists(st.sampled_from(order_fields), unique=True, max_size=2))
    args["orderBy"] = [(f, draw(st.sampled_from(["ASC", "DESC"]))) for f in fields]
    args["filter"] = draw(st.none() | st.sampled_from(filters))
    return args


def render(args: dict[str, Any], cursor: tuple[str, str] | None = None) -> str:
    parts = [f"{k}: {v}" for k, v in args.items() if k in ("first", "last", "limit", "offset")]
    if args["orderBy"]:
        terms = ", ".join(f"{{field: {f}, direction: {d}}}" for f, d in args["orderBy"])
        parts.append(f"orderBy: [{terms}]")
    if args["filter"]:
        parts.append(f"filter: {args['filter']}")
    if cursor is not None:
        parts.append(f"{cursor[0]}: {json.dumps(cursor[1])}")
    return "(" + ", ".join(parts) + ")" if parts else ""


async def batched(gql: GraphQLClient, field: str, parents: list[str], call: str) -> list[Any]:
    body = await gql.post(
        "query($ids: [String!]) { agentsV2(first: 1000, filter: {id: {in: $ids}}, orderBy: [{field: ID}]) "
        "{ edges { node { id " + field + call + " { " + SELECTION + " } } } } }",
        {"ids": parents},
    )
    assert "errors" not in body, body
    edges = body["data"]["agentsV2"]["edges"]
    assert [e["node"]["id"] for e in edges] == [gid(p) for p in sorted(parents)]
    return [e["node"][field] for e in edges]


async def alone(gql: GraphQLClient, field: str, parent: str, call: str) -> Any:
    body = await gql.post(
        "query($id: ID!) { node(id: $id) { ... on AgentV2 { "
        + field
        + call
        + " { "
        + SELECTION
        + " } } } }",
        {"id": gid(parent)},
    )
    assert "errors" not in body, body
    return body["data"]["node"][field]


# Function-scoped fixtures are safe under @given here: the client keeps no state between
# requests and nothing is written to the database.
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
async def test_each_parent_gets_its_own_page(gql: GraphQLClient, data: st.DataObject) -> None:
    field = data.draw(st.sampled_from(sorted(CONNECTIONS)))
    parents = sorted(
        data.draw(st.lists(st.sampled_from(AGENTS), min_size=1, max_size=12, unique=True))
    )
    args = data.draw(arguments(field))
    calls = [render(args)]

    # A cursor from one parent's page also positions every other parent's page.
    if "offset" not in args and "limit" not in args:
        first_page = await alone(gql, field, parents[0], render(args))
        if first_page["edges"]:
            edge = data.draw(st.sampled_from(first_page["edges"]))
            direction = "before" if "last" in args else "after"
            calls.append(render(args, (direction, edge["cursor"])))

    for call in calls:
        gql.sql.reset()
        together = await batched(gql, field, parents, call)
        # A first page comes with the agents, its rows joined to each agent's: one
        # statement. A page after a cursor or an offset is fetched for all parents at once
        # after the agents: two.
        first_pages = call is calls[0] and not args.get("offset")
        assert gql.sql.count == (1 if first_pages else 2)
        for parent, page in zip(parents, together, strict=True):
            assert page == await alone(gql, field, parent, call), (parent, call)
