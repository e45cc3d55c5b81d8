"""A Backend.AI client works unchanged: the operations its Relay-built UI sends for agents,
kernels and slot types (upstream field names, SPEC section 6; fragments, variables and
`__typename` as the Relay compiler emits them) validate against our schema and run against the
fixture cluster without errors."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from graphql import (
    GraphQLSchema,
    TypeInfo,
    Visitor,
    get_named_type,
    parse,
    validate,
    visit,
)
from graphql.language import DocumentNode, FieldNode
from graphql.utilities import TypeInfoVisitor

from app.schema import build_schema
from tests.api.cluster_fixture import K1, S1, USER, gid

pytestmark = pytest.mark.usefixtures("cluster", "demo_loaded")

KERNEL_FRAGMENT = """
fragment KernelNodeFragment on KernelV2 {
  id
  sessionInfo { sessionId name sessionType }
  userInfo { userId accessKey domainName groupId }
  cluster { clusterRole clusterIdx localRank clusterHostname }
  resource { agentId resourceGroupName containerId }
  lifecycle { status result createdAt terminatedAt startsAt }
}
"""

AGENT_FRAGMENTS = """
fragment AgentNodesFragment on AgentV2 {
  id
  scalingGroup
  statusInfo { status statusChanged firstContact lostAt schedulable }
  systemInfo { architecture version computePlugins { entries { pluginName value } } }
  networkInfo { region addr }
  resourceInfo { capacity used free }
  containerCount
  ...AgentKernelsFragment
}

fragment AgentKernelsFragment on AgentV2 {
  kernels(first: $kernelCount, orderBy: [{field: CREATED_AT, direction: DESC}]) {
    count
    edges {
      cursor
      node { __typename id ...KernelNodeFragment }
    }
    pageInfo { endCursor hasNextPage }
  }
}
"""

# name -> (document, variables)
OPERATIONS: dict[str, tuple[str, dict[str, Any]]] = {
    "AgentListPageQuery": (
        """
query AgentListPageQuery(
  $filter: AgentFilter
  $orderBy: [AgentOrderBy!]
  $first: Int
  $after: String
  $kernelCount: Int!
) {
  agentsV2(filter: $filter, orderBy: $orderBy, first: $first, after: $after) {
    count
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges {
      cursor
      node { __typename id ...AgentNodesFragment }
    }
  }
}
"""
        + AGENT_FRAGMENTS
        + KERNEL_FRAGMENT,
        {
            "filter": {"id": {"startsWith": "i-fx-"}, "status": {"in": ["ALIVE", "LOST"]}},
            "orderBy": [{"field": "ID", "direction": "ASC"}],
            "first": 20,
            "after": None,
            "kernelCount": 5,
        },
    ),
    # What a refetchable fragment sends to reload one agent.
    "AgentNodesFragmentRefetchQuery": (
        """
query AgentNodesFragmentRefetchQuery($id: ID!, $kernelCount: Int!) {
  node(id: $id) {
    __typename
    ...AgentNodesFragment
    id
  }
}
"""
        + AGENT_FRAGMENTS
        + KERNEL_FRAGMENT,
        {"id": gid("AgentV2", "i-fx-a"), "kernelCount": 1},
    ),
    "KernelDetailQuery": (
        """
query KernelDetailQuery($id: UUID!) {
  kernelV2(id: $id) {
    ...KernelNodeFragment
    agent { id scalingGroup statusInfo { status } }
    resourceAllocations(orderBy: [{field: SLOT_NAME, direction: ASC}]) {
      count
      edges { node { id slotName requested used } }
    }
  }
}
"""
        + KERNEL_FRAGMENT,
        {"id": str(K1)},
    ),
    "AdminKernelListQuery": (
        """
query AdminKernelListQuery(
  $filter: KernelV2Filter
  $orderBy: [KernelV2OrderBy!]
  $limit: Int
  $offset: Int
) {
  adminKernelsV2(filter: $filter, orderBy: $orderBy, limit: $limit, offset: $offset) {
    count
    edges { node { __typename id ...KernelNodeFragment } }
  }
}
"""
        + KERNEL_FRAGMENT,
        {
            "filter": {"sessionId": {"equals": str(S1)}, "status": {"notIn": ["CANCELLED"]}},
            "orderBy": [{"field": "CREATED_AT", "direction": "DESC"}],
            "limit": 10,
            "offset": 0,
        },
    ),
    "ResourceSlotTypesQuery": (
        """
query ResourceSlotTypesQuery(
  $filter: ResourceSlotTypeFilter
  $orderBy: [ResourceSlotTypeOrderBy!]
  $first: Int
  $after: String
) {
  resourceSlotTypes(filter: $filter, orderBy: $orderBy, first: $first, after: $after) {
    count
    edges {
      cursor
      node {
        __typename
        id
        slotName
        slotType
        displayName
        description
        displayUnit
        displayIcon
        numberFormat { binary roundLength }
        rank
      }
    }
    pageInfo { endCursor hasNextPage }
  }
}
""",
        {"filter": None, "orderBy": [{"field": "RANK", "direction": "ASC"}], "first": 100},
    ),
    "ResourceSlotTypeQuery": (
        """
query ResourceSlotTypeQuery($slotName: String!) {
  resourceSlotType(slotName: $slotName) { id slotName displayName displayUnit }
}
""",
        {"slotName": "cuda.device"},
    ),
}

# The upstream names SPEC section 6 says a client relies on.
REQUIRED = (
    {
        ("AgentV2", name)
        for name in (
            "statusInfo",
            "systemInfo",
            "networkInfo",
            "resourceInfo",
            "containerCount",
            "kernels",
            "scalingGroup",
        )
    }
    | {
        ("KernelV2", name)
        for name in ("sessionInfo", "userInfo", "cluster", "resource", "lifecycle")
    }
    | {
        ("Query", name)
        for name in (
            "resourceSlotTypes",
            "resourceSlotType",
            "agentsV2",
            "kernelV2",
            "adminKernelsV2",
        )
    }
)


def _fields_used(schema: GraphQLSchema, document: DocumentNode) -> set[tuple[str, str]]:
    info = TypeInfo(schema)
    used: set[tuple[str, str]] = set()

    class Collect(Visitor):
        def enter_field(self, node: FieldNode, *_: object) -> None:
            parent = info.get_parent_type()
            if parent is not None:
                used.add((get_named_type(parent).name, node.name.value))

    visit(document, TypeInfoVisitor(info, Collect()))
    return used


def test_every_operation_validates_and_together_they_use_every_upstream_field() -> None:
    schema = build_schema()
    used: set[tuple[str, str]] = set()
    for name, (document, _) in OPERATIONS.items():
        parsed = parse(document)
        assert [e.message for e in validate(schema, parsed)] == [], name
        used |= _fields_used(schema, parsed)
    assert sorted(REQUIRED - used) == []


async def _run(client: httpx.AsyncClient, name: str) -> dict[str, Any]:
    document, variables = OPERATIONS[name]
    response = await client.post(
        "/graphql", json={"query": document, "variables": variables, "operationName": name}
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body["errors"]
    return body["data"]  # type: ignore[no-any-return]


async def test_agent_list_page(client: httpx.AsyncClient) -> None:
    data = await _run(client, "AgentListPageQuery")
    page = data["agentsV2"]
    assert page["count"] == 3
    agents = {edge["node"]["id"]: edge["node"] for edge in page["edges"]}
    assert list(agents) == [gid("AgentV2", a) for a in ("i-fx-a", "i-fx-b", "i-fx-c")]
    a = agents[gid("AgentV2", "i-fx-a")]
    assert a["__typename"] == "AgentV2"
    assert a["statusInfo"]["status"] == "ALIVE"
    assert a["systemInfo"]["computePlugins"] == {
        "entries": [{"pluginName": "cuda", "value": '{"version":"12.4"}'}]
    }
    assert a["networkInfo"] == {"region": "r1", "addr": "10.0.0.1:6001"}
    assert a["resourceInfo"]["capacity"]["cpu"] == "16"
    assert a["containerCount"] == 1
    kernels = a["kernels"]
    assert kernels["count"] == 2
    assert [e["node"]["id"] for e in kernels["edges"]] == [
        gid("KernelV2", K1),
        kernels["edges"][1]["node"]["id"],
    ]
    assert kernels["edges"][0]["node"]["lifecycle"]["status"] == "RUNNING"


async def test_agent_refetch_through_node(client: httpx.AsyncClient) -> None:
    node = (await _run(client, "AgentNodesFragmentRefetchQuery"))["node"]
    assert (node["__typename"], node["id"]) == ("AgentV2", gid("AgentV2", "i-fx-a"))
    assert node["kernels"]["pageInfo"]["hasNextPage"] is True
    assert len(node["kernels"]["edges"]) == 1


async def test_kernel_detail(client: httpx.AsyncClient) -> None:
    kernel = (await _run(client, "KernelDetailQuery"))["kernelV2"]
    assert kernel["sessionInfo"] == {"sessionId": str(S1), "name": "train", "sessionType": "BATCH"}
    assert kernel["userInfo"]["userId"] == str(USER)
    assert kernel["cluster"] == {
        "clusterRole": "main",
        "clusterIdx": 0,
        "localRank": 0,
        "clusterHostname": "main1",
    }
    assert kernel["resource"] == {
        "agentId": "i-fx-a",
        "resourceGroupName": "default",
        "containerId": "c0ffee01",
    }
    assert kernel["agent"]["id"] == gid("AgentV2", "i-fx-a")
    assert [e["node"]["slotName"] for e in kernel["resourceAllocations"]["edges"]] == [
        "cpu",
        "cuda.device",
        "mem",
    ]


async def test_admin_kernel_list(client: httpx.AsyncClient) -> None:
    page = (await _run(client, "AdminKernelListQuery"))["adminKernelsV2"]
    assert page["count"] == 2
    assert {e["node"]["sessionInfo"]["sessionId"] for e in page["edges"]} == {str(S1)}


async def test_slot_types(client: httpx.AsyncClient) -> None:
    data = await _run(client, "ResourceSlotTypesQuery")
    assert data["resourceSlotTypes"]["count"] == 14
    assert data["resourceSlotTypes"]["edges"][0]["node"]["slotName"] == "cpu"
    data = await _run(client, "ResourceSlotTypeQuery")
    assert data["resourceSlotType"]["slotName"] == "cuda.device"
