"""Access control (SPEC 8a): who sees what, asserted for every root field and node type,
for each role, in its own domain, another domain, and as another user.

The data lives in domains of its own (acc-d1, acc-d2), so the whole-database counts an admin
or a user gets are exactly the rows below, beside the demo and fixture clusters.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest
from starlette.applications import Starlette

from app.apikeys import create_key
from tests.api.cluster_fixture import gid
from tests.conftest import StatementLog, issue_key

FORBIDDEN = "api_generic_forbidden"

U1 = uuid.UUID("acc00000-0000-4000-8000-000000000001")  # acc-d1, owns KA1
U2 = uuid.UUID("acc00000-0000-4000-8000-000000000002")  # acc-d1, owns KA2
U3 = uuid.UUID("acc00000-0000-4000-8000-000000000003")  # acc-d2, owns KA3
U9 = uuid.UUID("acc00000-0000-4000-8000-000000000009")  # acc-d1, owns nothing
KA1 = uuid.UUID("acc0000a-0000-4000-8000-000000000001")
KA2 = uuid.UUID("acc0000a-0000-4000-8000-000000000002")
KA3 = uuid.UUID("acc0000a-0000-4000-8000-000000000003")
KERNELS = (KA1, KA2, KA3)
AGENT = "i-acc-1"
GROUP = uuid.UUID("acc0000b-0000-4000-8000-000000000001")

SQL = f"""
INSERT INTO agents (id, status, region, addr, architecture, version)
VALUES ('{AGENT}', 'ALIVE', 'r-acc', '10.9.0.1:6001', 'x86_64', '26.3.0');
INSERT INTO agent_resources (agent_id, slot_name, capacity, used)
VALUES ('{AGENT}', 'cpu', 8, 3);
INSERT INTO kernels (id, session_id, session_type, cluster_role, cluster_hostname, agent,
                     domain_name, group_id, user_uuid, status, result, created_at) VALUES
 ('{KA1}', '{KA1}', 'BATCH', 'main', 'main1', '{AGENT}', 'acc-d1', '{GROUP}', '{U1}',
  'RUNNING', 'UNDEFINED', '2026-04-01T00:00:01Z'),
 ('{KA2}', '{KA2}', 'BATCH', 'main', 'main1', '{AGENT}', 'acc-d1', '{GROUP}', '{U2}',
  'RUNNING', 'UNDEFINED', '2026-04-01T00:00:02Z'),
 ('{KA3}', '{KA3}', 'BATCH', 'main', 'main1', '{AGENT}', 'acc-d2', '{GROUP}', '{U3}',
  'RUNNING', 'UNDEFINED', '2026-04-01T00:00:03Z');
INSERT INTO resource_allocations (kernel_id, slot_name, requested) VALUES
 ('{KA1}', 'cpu', 1), ('{KA2}', 'cpu', 1), ('{KA3}', 'cpu', 1);
"""

# Role -> (role, user, domain) of its key, and the kernels it may see.
ROLES: dict[str, tuple[str, uuid.UUID, str]] = {
    "superadmin": ("superadmin", uuid.UUID(int=1), "default"),
    "admin-d1": ("admin", U9, "acc-d1"),
    "admin-d2": ("admin", U9, "acc-d2"),
    "user-u1": ("user", U1, "acc-d1"),
    "user-u2": ("user", U2, "acc-d1"),
    "user-none": ("user", U9, "acc-d1"),
}
SEES: dict[str, set[uuid.UUID]] = {
    "superadmin": {KA1, KA2, KA3},
    "admin-d1": {KA1, KA2},
    "admin-d2": {KA3},
    "user-u1": {KA1},
    "user-u2": {KA2},
    "user-none": set(),
}
LISTS_KERNELS = {"superadmin", "admin-d1", "admin-d2"}


@pytest.fixture(scope="session")
def access_data(database_url: str) -> None:
    async def load() -> None:
        connection = await asyncpg.connect(database_url)
        try:
            async with connection.transaction():
                await connection.execute(SQL)
        finally:
            await connection.close()

    asyncio.run(load())


@pytest.fixture(scope="session")
def tokens(database_url: str, access_data: None) -> dict[str, str]:
    return {
        name: issue_key(database_url, role, user, domain)
        for name, (role, user, domain) in ROLES.items()
    }


@pytest.fixture
async def as_role(app: Starlette, tokens: dict[str, str]) -> AsyncIterator[Any]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:

        async def post(role: str, query: str, variables: dict[str, Any] | None = None) -> Any:
            response = await http.post(
                "/graphql",
                json={"query": query, "variables": variables},
                headers={"Authorization": f"Bearer {tokens[role]}"},
            )
            assert response.status_code == 200, response.text
            return response.json()

        yield post


def _ids(kernels: set[uuid.UUID]) -> list[str]:
    # adminKernelsV2's default order: newest first.
    return [gid("KernelV2", k) for k in sorted(kernels, key=str, reverse=True)]


ALL_ROLES = pytest.mark.parametrize("role", list(ROLES))


@ALL_ROLES
async def test_slot_types_are_for_everyone(as_role: Any, role: str) -> None:
    body = await as_role(
        role,
        '{ resourceSlotType(slotName: "cpu") { slotName } '
        'resourceSlotTypes(limit: 1, filter: {slotName: {equals: "cpu"}}) '
        "{ count edges { node { slotName } } } }",
    )
    assert body == {
        "data": {
            "resourceSlotType": {"slotName": "cpu"},
            "resourceSlotTypes": {"count": 1, "edges": [{"node": {"slotName": "cpu"}}]},
        }
    }


@ALL_ROLES
async def test_agents_v2_is_for_superadmins(as_role: Any, role: str) -> None:
    body = await as_role(
        role,
        '{ agentsV2(filter: {id: {equals: "i-acc-1"}}) { count edges { node { id '
        "resourceSlots { count } kernels { count } } } } }",
    )
    if role == "superadmin":
        assert body == {
            "data": {
                "agentsV2": {
                    "count": 1,
                    "edges": [
                        {
                            "node": {
                                "id": gid("AgentV2", AGENT),
                                "resourceSlots": {"count": 1},
                                "kernels": {"count": 3},
                            }
                        }
                    ],
                }
            }
        }
    else:
        assert body == {
            "data": None,
            "errors": [
                {
                    "message": "`agentsV2` is for superadmins; this API key's role is "
                    f"{ROLES[role][0]!r}.",
                    "locations": [{"line": 1, "column": 3}],
                    "path": ["agentsV2"],
                    "extensions": {"code": FORBIDDEN},
                }
            ],
        }


@ALL_ROLES
async def test_admin_kernels_v2_scope(as_role: Any, role: str) -> None:
    # Scoped to this file's kernels for the superadmin, who sees every cluster's kernels;
    # unscoped for admins, whose whole view is their domain.
    ids = ", ".join(f'"{k}"' for k in KERNELS)
    scope = f"(filter: {{sessionId: {{in: [{ids}]}}}})" if role == "superadmin" else ""
    query = (
        "{ adminKernelsV2" + scope + " { count edges { node { id "
        "resourceAllocations { count } } } } }"
    )
    body = await as_role(role, query)
    if role in LISTS_KERNELS:
        visible = _ids(SEES[role])
        assert body == {
            "data": {
                "adminKernelsV2": {
                    "count": len(visible),
                    "edges": [
                        {"node": {"id": i, "resourceAllocations": {"count": 1}}} for i in visible
                    ],
                }
            }
        }
    else:
        assert body["data"] is None
        [error] = body["errors"]
        assert error["path"] == ["adminKernelsV2"]
        assert error["extensions"] == {"code": FORBIDDEN}
        assert error["message"] == (
            "`adminKernelsV2` is for superadmins and domain admins; this API key's role is 'user'."
        )


@ALL_ROLES
async def test_kernel_v2_and_kernel_nodes(as_role: Any, role: str) -> None:
    fields = "id resource { agentId } agent { id } resourceAllocations { count }"
    query = " ".join(
        f'k{i}: kernelV2(id: "{k}") {{ {fields} }} n{i}: node(id: "{gid("KernelV2", k)}") {{ id }}'
        for i, k in enumerate(KERNELS)
    )
    body = await as_role(role, "{ " + query + " }")
    expected: dict[str, Any] = {}
    for i, k in enumerate(KERNELS):
        seen = k in SEES[role]
        expected[f"k{i}"] = (
            {
                "id": gid("KernelV2", k),
                "resource": {"agentId": AGENT},
                # The kernel is visible, its agent only to superadmins.
                "agent": {"id": gid("AgentV2", AGENT)} if role == "superadmin" else None,
                "resourceAllocations": {"count": 1},
            }
            if seen
            else None
        )
        expected[f"n{i}"] = {"id": gid("KernelV2", k)} if seen else None
    assert body == {"data": expected}


@ALL_ROLES
async def test_nodes_of_every_type(as_role: Any, role: str) -> None:
    ids = [
        gid("ResourceSlotType", "cpu"),
        gid("AgentV2", AGENT),
        gid("AgentResourceSlot", f"{AGENT}:cpu"),
        *(gid("KernelV2", k) for k in KERNELS),
        *(gid("KernelResourceAllocation", f"{k}:cpu") for k in KERNELS),
    ]
    body = await as_role(
        role, "query($ids: [ID!]!) { nodes(ids: $ids) { __typename id } }", {"ids": ids}
    )
    superadmin = role == "superadmin"
    visible = [
        True,
        superadmin,
        superadmin,
        *(k in SEES[role] for k in KERNELS),
        *(k in SEES[role] for k in KERNELS),
    ]
    expected = [
        {"__typename": node_id_type(i), "id": i} if seen else None
        for i, seen in zip(ids, visible, strict=True)
    ]
    assert body == {"data": {"nodes": expected}}


def node_id_type(global_id: str) -> str:
    import base64

    return base64.b64decode(global_id).decode().split(":", 1)[0]


async def test_access_control_keeps_the_statement_budget(
    app: Starlette, tokens: dict[str, str], sql: StatementLog
) -> None:
    """Visibility is a predicate in the same statements, so budgets do not grow: nodes of five
    types cost one statement (their lookups run together), with no agent lookup in it for
    an admin."""
    ids = [
        gid("ResourceSlotType", "cpu"),
        gid("AgentV2", AGENT),
        gid("AgentResourceSlot", f"{AGENT}:cpu"),
        *(gid("KernelV2", k) for k in KERNELS),
        *(gid("KernelResourceAllocation", f"{k}:cpu") for k in KERNELS),
    ]
    query = "query($ids: [ID!]!) { nodes(ids: $ids) { id } }"
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        for role, lookups in (("superadmin", 5), ("admin-d1", 3), ("user-u1", 3)):
            headers = {"Authorization": f"Bearer {tokens[role]}"}
            # The first request verifies the key (one more statement), later ones use the cache.
            await http.post("/graphql", json={"query": "{ __typename }"}, headers=headers)
            sql.reset()
            response = await http.post(
                "/graphql", json={"query": query, "variables": {"ids": ids}}, headers=headers
            )
            assert response.status_code == 200
            assert sql.count == 1, (role, sql.count)
            assert len(sql.lookups()) == lookups, role
        # A nested query for an admin: the page with its nodes' first nested pages.
        headers = {"Authorization": f"Bearer {tokens['admin-d1']}"}
        sql.reset()
        response = await http.post(
            "/graphql",
            json={
                "query": "{ adminKernelsV2(first: 50) { count edges { node { id "
                "resourceAllocations(first: 5) { count edges { node { slotName } } } } } } }"
            },
            headers=headers,
        )
        assert response.json()["data"]["adminKernelsV2"]["count"] == 2
        assert sql.count == 1


async def test_a_cold_key_costs_one_lookup(
    app: Starlette, database_url: str, sql: StatementLog
) -> None:
    token = (await create_key(database_url, role="user", user_uuid=U1, domain="acc-d1")).token
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        headers = {"Authorization": f"Bearer {token}"}
        response = await http.post("/graphql", json={"query": "{ __typename }"}, headers=headers)
        assert response.json() == {"data": {"__typename": "Query"}}
        assert sql.count == 1
        sql.reset()
        response = await http.post("/graphql", json={"query": "{ __typename }"}, headers=headers)
        assert sql.count == 0
