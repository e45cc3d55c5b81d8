"""Agents, kernels and their per-slot connections: whole-JSON answers and the statement
budget of each query shape, which must not grow with the number of parents or IDs."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.cluster_fixture import GIB, K1, K2, K3, K4, S1, gid
from tests.conftest import DEMO_AGENTS, GraphQLClient

pytestmark = pytest.mark.usefixtures("cluster", "demo_loaded")

INVALID = "api_generic_invalid-parameters"
FX = '{id: {startsWith: "i-fx-"}}'

AGENT_A = {
    "id": gid("AgentV2", "i-fx-a"),
    "scalingGroup": "default",
    "statusInfo": {
        "status": "ALIVE",
        "statusChanged": "2026-03-01T00:00:00+00:00",
        "firstContact": "2026-03-01T00:00:00+00:00",
        "lostAt": None,
        "schedulable": True,
    },
    "systemInfo": {
        "architecture": "x86_64",
        "version": "26.3.0",
        "computePlugins": {"entries": [{"pluginName": "cuda", "value": '{"version":"12.4"}'}]},
    },
    "networkInfo": {"region": "r1", "addr": "10.0.0.1:6001"},
    "resourceInfo": {
        "capacity": {"cpu": "16", "cuda.device": "4", "mem": str(64 * GIB)},
        "used": {"cpu": "4", "cuda.device": "4.5", "mem": str(16 * GIB)},
        "free": {"cpu": "12", "cuda.device": "0", "mem": str(48 * GIB)},
    },
    "containerCount": 1,
}
AGENT_QUERY = """
  id scalingGroup
  statusInfo { status statusChanged firstContact lostAt schedulable }
  systemInfo { architecture version computePlugins { entries { pluginName value } } }
  networkInfo { region addr }
  resourceInfo { capacity used free }
  containerCount
"""


async def test_agents_whole_answer(gql: GraphQLClient) -> None:
    body = await gql.post(
        "{ agentsV2(filter: " + FX + ", first: 1) { count pageInfo { hasNextPage hasPreviousPage } "
        "edges { node {" + AGENT_QUERY + "} } } }"
    )
    assert body == {
        "data": {
            "agentsV2": {
                "count": 3,
                "pageInfo": {"hasNextPage": True, "hasPreviousPage": False},
                "edges": [{"node": AGENT_A}],
            }
        }
    }
    # The page (with its container counts) and the slot maps: one statement each.
    assert gql.sql.count == 2


async def test_container_counts_are_the_same_from_a_page_and_from_a_lookup(
    gql: GraphQLClient,
) -> None:
    """An agents page counts containers in its own statement, and so does a lookup by ID
    that selects the count; an agent reached from its kernels counts them through a batched
    loader. All give the same numbers."""
    page = await gql.post(
        "{ agentsV2(first: 30, orderBy: [{field: ID}]) { edges { node { id containerCount } } } }"
    )
    assert gql.sql.count == 1
    counted = {
        e["node"]["id"]: e["node"]["containerCount"] for e in page["data"]["agentsV2"]["edges"]
    }
    assert len(counted) == 30
    assert any(n > 0 for n in counted.values())
    assert any(n == 0 for n in counted.values())
    gql.sql.reset()
    looked_up = await gql.post(
        "query($ids: [ID!]!) { nodes(ids: $ids) { ... on AgentV2 { id containerCount } } }",
        {"ids": list(counted)},
    )
    # The agents with their counts: one statement, as for the page.
    assert gql.sql.count == 1
    assert {n["id"]: n["containerCount"] for n in looked_up["data"]["nodes"]} == counted
    gql.sql.reset()
    reached = await gql.post(
        "{ adminKernelsV2(first: 200) { edges { node { agent { id containerCount } } } } }"
    )
    # The kernels, their agents, then the agents' counts: one statement each.
    assert gql.sql.count == 3
    edges = reached["data"]["adminKernelsV2"]["edges"]
    agents = [e["node"]["agent"] for e in edges if e["node"]["agent"] is not None]
    assert {a["id"] for a in agents} & set(counted)
    for agent in agents:
        if agent["id"] in counted:
            assert agent["containerCount"] == counted[agent["id"]]


async def test_agent_slots_with_free_and_slot_type(gql: GraphQLClient) -> None:
    body = await gql.post(
        "{ agentsV2(filter: "
        + FX
        + ", orderBy: [{field: STATUS, direction: DESC}]) { edges { node { id "
        "resourceSlots(orderBy: [{field: USED, direction: DESC}]) { count edges { node { "
        "id slotName capacity used free slotType { slotName displayUnit } } } } } } } }"
    )
    slot = {
        "cpu": ("cpu", "Core"),
        "mem": ("mem", "GiB"),
        "cuda.device": ("cuda.device", "GPU"),
    }

    def node(agent: str, name: str, capacity: str, used: str, free: str) -> dict[str, Any]:
        return {
            "node": {
                "id": gid("AgentResourceSlot", f"{agent}:{name}"),
                "slotName": name,
                "capacity": capacity,
                "used": used,
                "free": free,
                "slotType": {"slotName": slot[name][0], "displayUnit": slot[name][1]},
            }
        }

    assert body == {
        "data": {
            "agentsV2": {
                "edges": [
                    # LOST sorts after ALIVE; DESC puts it first; ties by id, also DESC.
                    {
                        "node": {
                            "id": gid("AgentV2", "i-fx-b"),
                            "resourceSlots": {
                                "count": 1,
                                "edges": [node("i-fx-b", "cpu", "8", "0", "8")],
                            },
                        }
                    },
                    {
                        "node": {
                            "id": gid("AgentV2", "i-fx-c"),
                            "resourceSlots": {"count": 0, "edges": []},
                        }
                    },
                    {
                        "node": {
                            "id": gid("AgentV2", "i-fx-a"),
                            "resourceSlots": {
                                "count": 3,
                                "edges": [
                                    node(
                                        "i-fx-a", "mem", str(64 * GIB), str(16 * GIB), str(48 * GIB)
                                    ),
                                    node("i-fx-a", "cuda.device", "4", "4.5", "0"),
                                    node("i-fx-a", "cpu", "16", "4", "12"),
                                ],
                            },
                        }
                    },
                ]
            }
        }
    }
    # Agents page with each agent's slot page, then all slot types.
    assert gql.sql.count == 2


KERNEL_QUERY = """
  id startupCommand
  sessionInfo { sessionId name sessionType }
  userInfo { userId accessKey domainName groupId }
  cluster { clusterRole clusterIdx localRank clusterHostname }
  resource { agentId resourceGroupName containerId }
  lifecycle { status result createdAt terminatedAt startsAt }
  agent { id }
  resourceAllocations(orderBy: [{field: USED, direction: ASC}]) {
    count edges { node { id slotName requested used slotType { slotName } } }
  }
"""


def allocation(kernel: object, name: str, requested: str, used: str | None) -> dict[str, Any]:
    return {
        "node": {
            "id": gid("KernelResourceAllocation", f"{kernel}:{name}"),
            "slotName": name,
            "requested": requested,
            "used": used,
            "slotType": {"slotName": name},
        }
    }


async def test_kernel_whole_answer(gql: GraphQLClient) -> None:
    body = await gql.post(
        "query($id: UUID!) { kernelV2(id: $id) {" + KERNEL_QUERY + "} }", {"id": str(K1)}
    )
    assert body == {
        "data": {
            "kernelV2": {
                "id": gid("KernelV2", K1),
                "startupCommand": "python3 train.py",
                "sessionInfo": {"sessionId": str(S1), "name": "train", "sessionType": "BATCH"},
                "userInfo": {
                    "userId": "00000000-0000-4000-a000-000000000001",
                    "accessKey": "AKIAFIXTURE",
                    "domainName": "default",
                    "groupId": "00000000-0000-4000-b000-000000000001",
                },
                "cluster": {
                    "clusterRole": "main",
                    "clusterIdx": 0,
                    "localRank": 0,
                    "clusterHostname": "main1",
                },
                "resource": {
                    "agentId": "i-fx-a",
                    "resourceGroupName": "default",
                    "containerId": "c0ffee01",
                },
                "lifecycle": {
                    "status": "RUNNING",
                    "result": "UNDEFINED",
                    "createdAt": "2026-03-02T00:00:00+00:00",
                    "terminatedAt": None,
                    "startsAt": "2026-03-02T00:00:05+00:00",
                },
                "agent": {"id": gid("AgentV2", "i-fx-a")},
                # NULL (not measured) sorts last ascending.
                "resourceAllocations": {
                    "count": 3,
                    "edges": [
                        allocation(K1, "cuda.device", "1", "1"),
                        allocation(K1, "cpu", "2", "1.5"),
                        allocation(K1, "mem", str(8 * GIB), None),
                    ],
                },
            }
        }
    }
    assert gql.sql.count == 4  # kernel, its agent, its allocations, their slot types


async def test_unknown_kernel_is_null(gql: GraphQLClient) -> None:
    body = await gql.post('{ kernelV2(id: "00000000-0000-4000-8000-0000000000ff") { id } }')
    assert body == {"data": {"kernelV2": None}}


async def test_malformed_kernel_uuid_is_an_invalid_parameter(gql: GraphQLClient) -> None:
    response = await gql.http.post(
        "/graphql",
        json={"query": '{ kernelV2(id: "nope") { id } }'},
        headers={"accept": "application/graphql-response+json"},
    )
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["extensions"] == {"code": INVALID}
    assert "is not a UUID" in error["message"]
    assert gql.sql.count == 0


@pytest.mark.parametrize(
    ("condition", "order", "expected"),
    [
        ('{sessionId: {equals: "' + str(S1) + '"}}', "CREATED_AT", [K1, K2]),
        (
            '{status: {in: [RUNNING, PENDING]}, id: {in: ["' + f'{K1}", "{K3}", "{K4}' + '"]}}',
            "CREATED_AT",
            [K3, K1],
        ),
        (
            '{id: {in: ["' + f'{K1}", "{K2}", "{K3}", "{K4}' + '"]}, status: {notIn: [PENDING]}}',
            "CREATED_AT",
            [K4, K1, K2],
        ),
        (
            '{id: {in: ["'
            + f'{K1}", "{K2}", "{K3}", "{K4}'
            + '"]}, NOT: [{status: {equals: RUNNING}}]}',
            "CLUSTER_IDX",
            [K2, K4, K3],
        ),
        (
            '{OR: [{id: {equals: "' + str(K4) + '"}}, {sessionId: {in: ["' + str(S1) + '"]}}]}',
            "TERMINATED_AT",
            [K4, K1, K2],
        ),
    ],
)
async def test_admin_kernels_filters_and_orders(
    gql: GraphQLClient, condition: str, order: str, expected: list[object]
) -> None:
    body = await gql.post(
        "{ adminKernelsV2(filter: " + condition + ", orderBy: [{field: " + order + "}]) "
        "{ count edges { node { id } } } }"
    )
    assert body == {
        "data": {
            "adminKernelsV2": {
                "count": len(expected),
                "edges": [{"node": {"id": gid("KernelV2", k)}} for k in expected],
            }
        }
    }


async def test_agent_kernels_nested(gql: GraphQLClient) -> None:
    body = await gql.post(
        "{ agentsV2(filter: " + FX + ") { edges { node { id kernels(orderBy: [{field: CREATED_AT, "
        "direction: ASC}]) { count edges { node { id lifecycle { status } } } } } } } }"
    )

    def kernel(k: object, status: str) -> dict[str, Any]:
        return {"node": {"id": gid("KernelV2", k), "lifecycle": {"status": status}}}

    assert body["data"]["agentsV2"]["edges"] == [
        {
            "node": {
                "id": gid("AgentV2", "i-fx-a"),
                "kernels": {"count": 2, "edges": [kernel(K2, "TERMINATED"), kernel(K1, "RUNNING")]},
            }
        },
        {
            "node": {
                "id": gid("AgentV2", "i-fx-b"),
                "kernels": {"count": 1, "edges": [kernel(K4, "CANCELLED")]},
            }
        },
        {"node": {"id": gid("AgentV2", "i-fx-c"), "kernels": {"count": 0, "edges": []}}},
    ]
    # The agents with each one's first page of kernels: one statement.
    assert gql.sql.count == 1


NESTED = """
query($n: Int!) {
  agentsV2(first: $n, orderBy: [{field: ID}]) {
    count
    edges { node {
      id containerCount resourceInfo { capacity }
      resourceSlots(first: 5, orderBy: [{field: USED, direction: DESC}]) {
        count pageInfo { hasNextPage } edges { node { slotName used slotType { displayName } } }
      }
      kernels(first: 3, filter: {status: {in: [RUNNING]}}) {
        count edges { node { id agent { id } resourceAllocations(first: 2) { count edges { node { slotName used } } } } }
      }
    } }
  }
}
"""


@pytest.mark.parametrize("parents", [1, 100])
async def test_nested_statement_budget_is_fixed(gql: GraphQLClient, parents: int) -> None:
    """Budget: agents page (with their container counts and their first slot pages), slot
    maps, kernel pages, the kernels' agents, allocation pages, slot types: 6, for 1 parent
    or 100."""
    body = await gql.post(NESTED, {"n": parents})
    assert "errors" not in body
    assert len(body["data"]["agentsV2"]["edges"]) == parents
    assert gql.sql.count == 6


async def test_simple_nested_page_under_fifty_agents_is_one_statement(gql: GraphQLClient) -> None:
    body = await gql.post(
        "{ agentsV2(first: 50) { edges { node { id resourceSlots(first: 5, "
        "orderBy: [{field: USED, direction: DESC}]) { count edges { node { slotName used } } } } } } }"
    )
    assert len(body["data"]["agentsV2"]["edges"]) == 50
    assert gql.sql.count == 1


async def test_hundred_mixed_nodes_cost_one_statement(gql: GraphQLClient) -> None:
    """Five types' loaders dispatch together: their lookups run as one statement."""
    ids = []
    for n in range(20):
        ids.append(gid("AgentV2", f"i-node{n + 1:05d}"))
        ids.append(gid("AgentResourceSlot", f"i-node{n + 1:05d}:cpu"))
        ids.append(gid("ResourceSlotType", ["cpu", "mem"][n % 2]))
        ids.append(gid("KernelV2", [K1, K2, K3, K4][n % 4]))
        ids.append(gid("KernelResourceAllocation", f"{K1}:{['cpu', 'mem', 'nope'][n % 3]}"))
    body = await gql.post(
        "query($ids: [ID!]!) { nodes(ids: $ids) { __typename id } }", {"ids": ids}
    )
    nodes = body["data"]["nodes"]
    # Every ID resolves to itself, in order, except K1's 'nope' allocation, which is absent.
    absent = gid("KernelResourceAllocation", f"{K1}:nope")
    assert [n["id"] if n else None for n in nodes] == [None if i == absent else i for i in ids]
    assert ids.count(absent) == 6
    assert {n["__typename"] for n in nodes if n} == {
        "AgentV2",
        "AgentResourceSlot",
        "ResourceSlotType",
        "KernelV2",
        "KernelResourceAllocation",
    }
    assert gql.sql.count == 1
    assert len(gql.sql.lookups()) == 5


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("KernelV2:nope", "its KernelV2 id 'nope' is not a UUID"),
        (
            "AgentResourceSlot:i-fx-a",
            "its AgentResourceSlot id 'i-fx-a' is not '<owner>:<slot name>'",
        ),
        ("KernelResourceAllocation:x:cpu", "its KernelResourceAllocation id 'x' is not a UUID"),
    ],
)
async def test_malformed_raw_ids(gql: GraphQLClient, raw: str, message: str) -> None:
    global_id = gid(*raw.split(":", 1))
    body = await gql.post("query($id: ID!) { node(id: $id) { id } }", {"id": global_id})
    assert body["errors"][0]["message"] == (
        f"Invalid global ID {global_id!r}: {message}. Use an `id` value returned by this API."
    )
    assert body["errors"][0]["extensions"] == {"code": INVALID}
    assert gql.sql.count == 0


async def test_unknown_nodes_are_null(gql: GraphQLClient) -> None:
    ids = [
        gid("AgentV2", "i-nobody"),
        gid("AgentResourceSlot", "i-fx-c:cpu"),
        gid("KernelV2", "00000000-0000-4000-8000-0000000000ff"),
        gid("KernelResourceAllocation", f"{K2}:mem"),
    ]
    body = await gql.post("query($ids: [ID!]!) { nodes(ids: $ids) { id } }", {"ids": ids})
    assert body == {"data": {"nodes": [None, None, None, None]}}


async def test_error_in_a_nested_connection_names_its_path(gql: GraphQLClient) -> None:
    body = await gql.post(
        "{ agentsV2(filter: "
        + FX
        + ", first: 1) { count edges { node { id resourceSlots(first: 0) { count } } } } }"
    )
    assert body["data"] is None  # resourceSlots is non-null all the way up to agentsV2
    assert body["errors"] == [
        {
            "message": "`first` must be a positive number, got 0.",
            "locations": [{"line": 1, "column": 85}],
            "path": ["agentsV2", "edges", 0, "node", "resourceSlots"],
            "extensions": {"code": INVALID},
        }
    ]


async def test_demo_cluster_is_loaded(gql: GraphQLClient) -> None:
    body = await gql.post('{ agentsV2(filter: {id: {startsWith: "i-node"}}) { count } }')
    assert body == {"data": {"agentsV2": {"count": DEMO_AGENTS}}}


async def test_agent_filters(gql: GraphQLClient) -> None:
    async def ids(condition: str) -> list[str]:
        body = await gql.post(
            "{ agentsV2(filter: {AND: [" + FX + ", " + condition + "]}) { edges { node { id } } } }"
        )
        return [e["node"]["id"] for e in body["data"]["agentsV2"]["edges"]]

    a, b, c = (gid("AgentV2", f"i-fx-{x}") for x in "abc")
    assert await ids("{status: {equals: LOST}}") == [b]
    assert await ids("{status: {in: [ALIVE]}}") == [a, c]
    assert await ids("{schedulable: false}") == [b]
    assert await ids('{scalingGroup: {equals: "gpu"}}') == [b]
    assert await ids('{region: {in: ["r1"]}}') == [a, c]
    assert await ids('{NOT: [{region: {equals: "r1"}}]}') == [b]


async def test_decimal_filters_on_slots(gql: GraphQLClient) -> None:
    body = await gql.post(
        '{ node(id: "' + gid("AgentV2", "i-fx-a") + '") { ... on AgentV2 { '
        'over: resourceSlots(filter: {used: {greaterThan: "4"}}) { edges { node { slotName } } } '
        "exact: resourceSlots(filter: {capacity: {equals: 16}}) { edges { node { slotName } } } } } "
        'kernelV2(id: "'
        + str(K1)
        + '") { unmeasured: resourceAllocations(filter: {used: {notEquals: "1"}}) '
        "{ edges { node { slotName used } } } } }"
    )
    assert body == {
        "data": {
            "node": {
                "over": {
                    "edges": [{"node": {"slotName": "cuda.device"}}, {"node": {"slotName": "mem"}}]
                },
                "exact": {"edges": [{"node": {"slotName": "cpu"}}]},
            },
            "kernelV2": {
                "unmeasured": {
                    "edges": [
                        {"node": {"slotName": "cpu", "used": "1.5"}},
                        {"node": {"slotName": "mem", "used": None}},
                    ]
                }
            },
        }
    }


@pytest.mark.parametrize("alone_first", [False, True])
async def test_a_fragment_grouped_with_different_siblings_selects_each_time(
    gql: GraphQLClient, alone_first: bool
) -> None:
    """One fragment's `resourceSlots` field is alone under one agents page and grouped with
    a sibling asking for cursors under another: each group gets what it selects, whichever
    is resolved first (nested connections are set up once per field group)."""
    alone = "alone: agentsV2(first: 1, filter: " + FX + ") { edges { node { ...Slots } } }"
    grouped = (
        "grouped: agentsV2(first: 1, filter: " + FX + ") { edges { node { ...Slots "
        "resourceSlots(first: 1) { edges { cursor } } } } }"
    )
    fields = f"{alone} {grouped}" if alone_first else f"{grouped} {alone}"
    body = await gql.post(
        "query { " + fields + " } fragment Slots on AgentV2 { resourceSlots(first: 1) { count } }"
    )
    assert "errors" not in body, body
    [agent] = [edge["node"] for edge in body["data"]["grouped"]["edges"]]
    assert agent["resourceSlots"]["count"] == 3
    [edge] = agent["resourceSlots"]["edges"]
    assert isinstance(edge["cursor"], str)
    assert body["data"]["alone"] == {"edges": [{"node": {"resourceSlots": {"count": 3}}}]}


async def test_a_variable_deep_inside_literal_arguments_is_read_per_request(
    gql: GraphQLClient,
) -> None:
    """Literal arguments are coerced once for every request of a document; arguments with
    a variable anywhere inside (here in a list in an object) are coerced per request."""
    query = (
        "query($status: KernelV2Status!) { adminKernelsV2(first: 5, filter: {status: "
        "{in: [$status]}}) { edges { node { lifecycle { status } } } } }"
    )
    for status in ("RUNNING", "TERMINATED", "RUNNING"):
        body = await gql.post(query, {"status": status})
        edges = body["data"]["adminKernelsV2"]["edges"]
        assert edges
        assert {edge["node"]["lifecycle"]["status"] for edge in edges} == {status}


async def test_a_counted_only_page_fetches_no_rows_beyond_its_probe(gql: GraphQLClient) -> None:
    """A connection whose selection is only `count` (and `__typename`) reads none of its
    page's rows: its statement fetches at most one probe row per page, and the counts are
    those of the same connection with its edges; a sibling with edges keeps its own page."""
    counted = (
        "{ agentsV2(first: 3) { count __typename edges { node { id "
        "slots: resourceSlots(first: 2) { count } } } } }"
    )
    both = (
        "{ agentsV2(first: 3) { count edges { node { id "
        "slots: resourceSlots(first: 2) { count } "
        "listed: resourceSlots(first: 2) { count edges { node { slotName } } } } } } }"
    )
    gql.sql.reset()
    body = await gql.post(counted)
    assert "errors" not in body
    # The agents' page with each one's slots, counted: one statement.
    [page] = gql.sql.statements
    sql = str(page.compile())
    assert sql.count("LIMIT 4") == 1  # edges are selected: the whole page
    assert sql.count("LIMIT 1") == 1  # only counted: one probe row
    assert "LIMIT 3" not in sql
    gql.sql.reset()
    full = await gql.post(both)
    assert "errors" not in full
    # The page with the counted slots (the first nested connection), the listed slots.
    assert gql.sql.count == 2
    agents = body["data"]["agentsV2"]["edges"]
    listed = full["data"]["agentsV2"]["edges"]
    assert len(agents) == 3
    assert [a["node"]["slots"] for a in agents] == [a["node"]["slots"] for a in listed]
    for agent in listed:
        node = agent["node"]
        assert node["listed"]["count"] == node["slots"]["count"]
        assert len(node["listed"]["edges"]) == min(2, node["slots"]["count"])
    assert any(agent["node"]["slots"]["count"] > 2 for agent in listed)
    gql.sql.reset()
    root = await gql.post("{ resourceSlotTypes(first: 2) { count } }")
    assert root == {"data": {"resourceSlotTypes": {"count": 14}}}
    assert "LIMIT 1" in str(gql.sql.statements[0].compile())
    assert "LIMIT 3" not in str(gql.sql.statements[0].compile())
