"""The slot-type registry through HTTP: whole-JSON answers and SQL statement counts."""

from __future__ import annotations

import base64
from typing import Any

import asyncpg
import pytest

from app.ids import encode_global_id
from app.resolvers import connection
from tests.conftest import GraphQLClient

# (slot_name, slot_type, display_name, display_unit, binary, round_length), in rank order:
# the registry's facts, restated independently of the migration.
REGISTRY = [
    ("cpu", "count", "CPU", "Core", False, 0),
    ("mem", "bytes", "RAM", "GiB", True, 0),
    ("cuda.device", "count", "GPU", "GPU", False, 0),
    ("cuda.shares", "count", "fGPU", "fGPU", False, 2),
    ("rocm.device", "count", "GPU", "GPU", False, 0),
    ("tpu.device", "count", "TPU", "TPU", False, 0),
    ("ipu.device", "count", "IPU", "IPU", False, 0),
    ("atom.device", "count", "ATOM Device", "ATOM", False, 0),
    ("atom-plus.device", "count", "ATOM+ Device", "ATOM+", False, 0),
    ("atom-max.device", "count", "ATOM Max Device", "ATOM Max", False, 0),
    ("gaudi2.device", "count", "Gaudi 2 Device", "Gaudi 2", False, 0),
    ("warboy.device", "count", "Warboy Device", "Warboy", False, 0),
    ("rngd.device", "count", "RNGD Device", "RNGD", False, 0),
    ("hyperaccel-lpu.device", "count", "Hyperaccel LPU Device", "LPU", False, 0),
]
NAMES_BY_RANK = [row[0] for row in REGISTRY]


def gid(slot_name: str) -> str:
    return base64.b64encode(f"ResourceSlotType:{slot_name}".encode()).decode()


def node_json(row: tuple[str, str, str, str, bool, int]) -> dict[str, Any]:
    name, kind, display, unit, binary, round_length = row
    return {
        "id": gid(name),
        "slotName": name,
        "slotType": kind,
        "displayName": display,
        "displayUnit": unit,
        "numberFormat": {"binary": binary, "roundLength": round_length},
    }


async def names(
    gql: GraphQLClient, args: str, variables: dict[str, Any] | None = None
) -> list[str]:
    header = "($f: ResourceSlotTypeFilter)" if "$f" in args else ""
    body = await gql.post(
        f"query{header} {{ resourceSlotTypes({args}) {{ edges {{ node {{ slotName }} }} }} }}",
        variables,
    )
    assert "errors" not in body, body
    return [edge["node"]["slotName"] for edge in body["data"]["resourceSlotTypes"]["edges"]]


async def test_client_query_returns_the_14_seeded_types_in_rank_order(gql: GraphQLClient) -> None:
    body = await gql.post(
        "{ resourceSlotTypes(limit: 100, orderBy: [{field: RANK, direction: ASC}]) "
        "{ edges { node { id slotName slotType displayName displayUnit "
        "numberFormat { binary roundLength } } } } }"
    )
    assert body == {
        "data": {"resourceSlotTypes": {"edges": [{"node": node_json(row)} for row in REGISTRY]}}
    }
    assert gql.sql.count == 1


async def test_tpu_device_is_displayed_in_tpus(gql: GraphQLClient) -> None:
    body = await gql.post(
        '{ resourceSlotType(slotName: "tpu.device") { slotName displayName displayUnit '
        "description displayIcon rank numberFormat { binary roundLength } } }"
    )
    assert body == {
        "data": {
            "resourceSlotType": {
                "slotName": "tpu.device",
                "displayName": "TPU",
                "displayUnit": "TPU",
                "description": "TPU device",
                "displayIcon": "tpu",
                "rank": 600,
                "numberFormat": {"binary": False, "roundLength": 0},
            }
        }
    }


async def test_missing_slot_type_is_null_without_error(gql: GraphQLClient) -> None:
    body = await gql.post('{ resourceSlotType(slotName: "nope.device") { slotName } }')
    assert body == {"data": {"resourceSlotType": None}}


async def test_default_page_is_first_ten_by_rank_with_exact_page_info(gql: GraphQLClient) -> None:
    body = await gql.post(
        "{ resourceSlotTypes { count pageInfo { hasNextPage hasPreviousPage } "
        "edges { node { slotName } } } }"
    )
    assert body == {
        "data": {
            "resourceSlotTypes": {
                "count": 14,
                "pageInfo": {"hasNextPage": True, "hasPreviousPage": False},
                "edges": [{"node": {"slotName": name}} for name in NAMES_BY_RANK[:10]],
            }
        }
    }
    assert gql.sql.count == 1


async def test_what_a_connection_selects_is_looked_at_once_per_document(
    gql: GraphQLClient,
) -> None:
    """The selection of a connection field (through fragments too) is walked once per
    document and shared by the requests that send it again; each document has its own."""
    counted = (
        "query { resourceSlotTypes(first: 2) { ...counted } } "
        "fragment counted on ResourceSlotTypeConnection { count }"
    )
    uncounted = "query { resourceSlotTypes(first: 2) { edges { node { slotName } } } }"
    connection._WANTS.clear()
    for _ in range(3):
        for query, count in ((counted, True), (uncounted, False)):
            gql.sql.reset()
            body = await gql.post(query)
            assert "errors" not in body
            assert ("count(*)" in str(gql.sql.statements[0])) is count
    assert len(connection._WANTS) == 2


async def test_count_is_not_computed_unless_selected(gql: GraphQLClient) -> None:
    await gql.post("{ resourceSlotTypes(first: 2) { edges { node { slotName } } } }")
    assert gql.sql.count == 1
    assert "count(*)" not in str(gql.sql.statements[0])
    gql.sql.reset()
    await gql.post("{ resourceSlotTypes(first: 2) { count } }")
    assert "count(*)" in str(gql.sql.statements[0])


async def test_forward_pages_walk_every_row_once(gql: GraphQLClient) -> None:
    seen: list[str] = []
    after = None
    pages = 0
    while True:
        body = await gql.post(
            "query($after: String) { resourceSlotTypes(first: 4, after: $after, "
            "orderBy: [{field: DISPLAY_NAME, direction: DESC}]) { pageInfo { hasNextPage "
            "hasPreviousPage startCursor endCursor } edges { cursor node { slotName } } } }",
            {"after": after},
        )
        connection = body["data"]["resourceSlotTypes"]
        edges = connection["edges"]
        info = connection["pageInfo"]
        assert info["startCursor"] == edges[0]["cursor"]
        assert info["endCursor"] == edges[-1]["cursor"]
        assert info["hasPreviousPage"] is (after is not None)
        seen += [edge["node"]["slotName"] for edge in edges]
        pages += 1
        if not info["hasNextPage"]:
            break
        after = info["endCursor"]
    assert pages == 4
    by_display = sorted(REGISTRY, key=lambda row: (row[2], row[0]), reverse=True)
    assert seen == [row[0] for row in by_display]


@pytest.mark.parametrize("window", ["first: 4", "last: 4", "first: 1", "last: 1", "limit: 3"])
async def test_page_cursors_are_the_same_without_edge_cursors(
    gql: GraphQLClient, window: str
) -> None:
    """Without `edges.cursor` only the first and last edge's cursors are encoded (for
    pageInfo); they must be exactly the ones a query selecting every cursor gets."""
    page = (
        f"resourceSlotTypes({window}, orderBy: [{{field: RANK}}]) "
        "{ pageInfo { startCursor endCursor } edges { %s node { slotName } } }"
    )
    both = await gql.post("{ all: " + page % "cursor" + " some: " + page % "" + " }")
    every, only_page = both["data"]["all"], both["data"]["some"]
    assert only_page["pageInfo"] == every["pageInfo"]
    assert every["pageInfo"]["startCursor"] == every["edges"][0]["cursor"]
    assert every["pageInfo"]["endCursor"] == every["edges"][-1]["cursor"]
    assert [e["node"] for e in only_page["edges"]] == [e["node"] for e in every["edges"]]


async def test_backward_pages_come_in_requested_order(gql: GraphQLClient) -> None:
    body = await gql.post(
        "{ resourceSlotTypes(last: 3, orderBy: [{field: RANK}]) { pageInfo { hasNextPage "
        "hasPreviousPage startCursor } edges { node { slotName } } } }"
    )
    connection = body["data"]["resourceSlotTypes"]
    assert [e["node"]["slotName"] for e in connection["edges"]] == NAMES_BY_RANK[-3:]
    assert connection["pageInfo"]["hasPreviousPage"] is True
    assert connection["pageInfo"]["hasNextPage"] is False
    before = connection["pageInfo"]["startCursor"]
    body = await gql.post(
        "query($b: String) { resourceSlotTypes(last: 3, before: $b, orderBy: [{field: RANK}]) "
        "{ pageInfo { hasNextPage hasPreviousPage } edges { node { slotName } } } }",
        {"b": before},
    )
    connection = body["data"]["resourceSlotTypes"]
    assert [e["node"]["slotName"] for e in connection["edges"]] == NAMES_BY_RANK[-6:-3]
    assert connection["pageInfo"] == {"hasNextPage": True, "hasPreviousPage": True}


async def test_offset_pages_set_both_page_flags_exactly(gql: GraphQLClient) -> None:
    query = (
        "query($o: Int) { resourceSlotTypes(limit: 5, offset: $o, orderBy: [{field: RANK}]) "
        "{ pageInfo { hasNextPage hasPreviousPage } edges { node { slotName } } } }"
    )
    expectations = {
        0: (NAMES_BY_RANK[0:5], True, False),
        5: (NAMES_BY_RANK[5:10], True, True),
        9: (NAMES_BY_RANK[9:14], False, True),
        14: ([], False, True),
        40: ([], False, True),
    }
    for offset, (expected, has_next, has_previous) in expectations.items():
        body = await gql.post(query, {"o": offset})
        assert body["data"]["resourceSlotTypes"] == {
            "pageInfo": {"hasNextPage": has_next, "hasPreviousPage": has_previous},
            "edges": [{"node": {"slotName": name}} for name in expected],
        }, offset


async def test_offset_alone_uses_the_default_page_size(gql: GraphQLClient) -> None:
    assert await names(gql, "offset: 2, orderBy: [{field: RANK}]") == NAMES_BY_RANK[2:12]


async def test_order_by_terms_apply_in_list_order(gql: GraphQLClient) -> None:
    got = await names(
        gql,
        "limit: 14, orderBy: [{field: DISPLAY_NAME, direction: ASC}, {field: RANK, direction: DESC}]",
    )
    expected = sorted(REGISTRY, key=lambda row: (row[2], -NAMES_BY_RANK.index(row[0])))
    assert got == [row[0] for row in expected]


async def test_empty_page_has_null_cursors_and_a_count(gql: GraphQLClient) -> None:
    body = await gql.post(
        '{ resourceSlotTypes(filter: {slotName: {equals: "none"}}) { count pageInfo '
        "{ hasNextPage hasPreviousPage startCursor endCursor } edges { cursor } } }"
    )
    assert body == {
        "data": {
            "resourceSlotTypes": {
                "count": 0,
                "pageInfo": {
                    "hasNextPage": False,
                    "hasPreviousPage": False,
                    "startCursor": None,
                    "endCursor": None,
                },
                "edges": [],
            }
        }
    }


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ({"slotName": {"equals": "mem"}}, ["mem"]),
        ({"slotName": {"iEquals": "MEM"}}, ["mem"]),
        (
            {"slotName": {"startsWith": "atom"}},
            ["atom.device", "atom-plus.device", "atom-max.device"],
        ),
        (
            {"slotName": {"startsWith": "atom", "notContains": "max"}},
            ["atom.device", "atom-plus.device"],
        ),
        ({"displayName": {"iContains": "gpu"}}, ["cuda.device", "cuda.shares", "rocm.device"]),
        (
            {"displayName": {"endsWith": "Device", "iStartsWith": "a"}},
            ["atom.device", "atom-plus.device", "atom-max.device"],
        ),
        ({"slotType": {"notEquals": "count"}}, ["mem"]),
        ({"slotName": {"in": ["cpu", "mem", "nope"]}}, ["cpu", "mem"]),
        ({"slotName": {"iIn": ["CPU", "Mem"]}}, ["cpu", "mem"]),
        ({"slotName": {"notIn": NAMES_BY_RANK[1:]}}, ["cpu"]),
        ({"slotName": {"iNotIn": [n.upper() for n in NAMES_BY_RANK[1:]]}}, ["cpu"]),
        ({"slotName": {"in": []}}, []),
        (
            {"slotName": {"notStartsWith": "a", "notEndsWith": ".device", "iNotContains": "M"}},
            ["cpu", "cuda.shares"],
        ),
        ({"slotName": {"iNotStartsWith": "C", "iNotEndsWith": "DEVICE"}}, ["mem"]),
        (
            {
                "slotName": {"iNotEquals": "CPU", "notStartsWith": "cuda"},
                "slotType": {"equals": "count"},
                "displayName": {"iEndsWith": "pu"},
            },
            ["rocm.device", "tpu.device", "ipu.device"],
        ),
        (
            {"OR": [{"slotName": {"equals": "cpu"}}, {"slotName": {"equals": "mem"}}]},
            ["cpu", "mem"],
        ),
        ({"NOT": [{"slotName": {"contains": "."}}]}, ["cpu", "mem"]),
        (
            {"AND": [{"slotName": {"contains": "cuda"}}, {"displayName": {"equals": "fGPU"}}]},
            ["cuda.shares"],
        ),
        ({"slotName": {"OR": [{"equals": "cpu"}, {"equals": "mem"}]}}, ["cpu", "mem"]),
        ({"slotName": {"NOT": [{"contains": "."}]}}, ["cpu", "mem"]),
        ({}, NAMES_BY_RANK),
    ],
)
async def test_filters(gql: GraphQLClient, condition: dict[str, Any], expected: list[str]) -> None:
    got = await names(gql, "filter: $f, limit: 100, orderBy: [{field: RANK}]", {"f": condition})
    assert got == expected


@pytest.mark.parametrize("needle", ["%", "_", "\\", "a%", "%device", "cuda_device", "c\\%"])
async def test_like_wildcards_match_literally(gql: GraphQLClient, needle: str) -> None:
    for operator in ("contains", "startsWith", "endsWith", "iContains", "iStartsWith", "iEndsWith"):
        got = await names(gql, "filter: $f, limit: 100", {"f": {"slotName": {operator: needle}}})
        assert got == [], (operator, needle)


async def test_wildcard_characters_are_found_where_they_stand(
    gql: GraphQLClient, database_url: str
) -> None:
    name = "wild%_\\card"  # wild, percent, underscore, one backslash, card
    connection = await asyncpg.connect(database_url)
    try:
        await connection.execute(
            "INSERT INTO resource_slot_types (slot_name, slot_type, display_name) "
            "VALUES ($1, 'count', 'Wild 100% _x_')",
            name,
        )
        for operator, needle in [
            ("contains", "%_\\"),
            ("startsWith", "wild%"),
            ("endsWith", "_\\card"),
            ("iContains", "D%_"),
        ]:
            got = await names(gql, "filter: $f", {"f": {"slotName": {operator: needle}}})
            assert got == [name], (operator, needle)
        got = await names(gql, "filter: $f", {"f": {"displayName": {"endsWith": "% _x_"}}})
        assert got == [name]
    finally:
        await connection.execute("DELETE FROM resource_slot_types WHERE slot_name = $1", name)
        await connection.close()


async def test_node_and_nodes_resolve_slot_types(gql: GraphQLClient) -> None:
    body = await gql.post(
        "query($id: ID!, $ids: [ID!]!) { node(id: $id) { id ... on ResourceSlotType { slotName } } "
        "nodes(ids: $ids) { __typename id ... on ResourceSlotType { displayUnit } } }",
        {"id": gid("cpu"), "ids": [gid("tpu.device"), gid("missing"), gid("mem")]},
    )
    assert body == {
        "data": {
            "node": {"id": gid("cpu"), "slotName": "cpu"},
            "nodes": [
                {"__typename": "ResourceSlotType", "id": gid("tpu.device"), "displayUnit": "TPU"},
                None,
                {"__typename": "ResourceSlotType", "id": gid("mem"), "displayUnit": "GiB"},
            ],
        }
    }
    # node + nodes in one request: the loader batches all four keys into one statement.
    assert gql.sql.count == 1


async def test_fifty_nodes_cost_one_statement(gql: GraphQLClient) -> None:
    ids = [gid(NAMES_BY_RANK[i % 14]) for i in range(40)] + [gid(f"absent-{i}") for i in range(10)]
    body = await gql.post("query($ids: [ID!]!) { nodes(ids: $ids) { id } }", {"ids": ids})
    got = body["data"]["nodes"]
    assert got == [{"id": i} for i in ids[:40]] + [None] * 10
    assert gql.sql.count == 1


async def test_global_id_splits_on_the_first_colon_only(gql: GraphQLClient) -> None:
    weird = encode_global_id("ResourceSlotType", "a:b:c")
    body = await gql.post("query($id: ID!) { node(id: $id) { id } }", {"id": weird})
    assert body == {"data": {"node": None}}
    assert gql.sql.count == 1


async def test_slot_type_lookups_in_one_request_share_a_statement(gql: GraphQLClient) -> None:
    body = await gql.post(
        '{ a: resourceSlotType(slotName: "cpu") { rank } b: resourceSlotType(slotName: "mem") '
        '{ rank } c: node(id: "' + gid("cuda.device") + '") { id } }'
    )
    assert body == {
        "data": {"a": {"rank": 100}, "b": {"rank": 200}, "c": {"id": gid("cuda.device")}}
    }
    assert gql.sql.count == 1
