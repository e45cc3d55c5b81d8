"""Differential: every operation the rest of the test suite sent (recorded by
tests.conftest.GraphQLClient), plus a fixed corpus, through the service with the fast
execution path and with stock graphql-core, byte-identical answers.

This test runs last (tests/differential/conftest.py moves it there), so the recorded
operations are replayed against the same fixture data they were written for."""

from __future__ import annotations

import pytest

from app import execution
from app.ids import encode_global_id
from tests.api.cluster_fixture import K1
from tests.conftest import SENT_OPERATIONS
from tests.differential.conftest import Differential

pytestmark = pytest.mark.usefixtures("demo_loaded", "cluster")

AGENTS_WITH_SLOTS = (
    "query Agents { agentsV2(first: 50) { edges { node { id statusInfo { status } "
    "resourceSlots(first: 5, orderBy: [{field: USED, direction: DESC}]) "
    "{ count edges { node { slotName capacity used free } } } } } } }"
)

# Documents worth checking whatever else ran: the benchmark's and README's queries, and the
# shapes the fast path has to get exactly right.
CORPUS: list[tuple[str, dict[str, object] | None]] = [
    (AGENTS_WITH_SLOTS, None),
    (
        "{ resourceSlotTypes(limit: 100, orderBy: [{field: RANK, direction: ASC}]) { count "
        "edges { node { id slotName slotType displayName displayUnit "
        "numberFormat { binary roundLength } } } } }",
        None,
    ),
    (
        "{ agentsV2(first: 5, filter: {status: {in: [ALIVE]}}) { count edges { node { "
        "id statusInfo { status } containerCount resourceInfo { capacity used free } "
        "resourceSlots(first: 3, orderBy: [{field: USED, direction: DESC}]) { edges { node { "
        "slotName capacity used free slotType { displayName displayUnit } } } } "
        "kernels(first: 2, filter: {status: {in: [RUNNING]}}) { edges { node { id "
        "lifecycle { status createdAt } resourceAllocations { edges { node { slotName "
        "requested used } } } } } } } } } }",
        None,
    ),
    (
        "query RunningKernels { adminKernelsV2(first: 100, filter: {status: {in: [RUNNING]}}) "
        "{ edges { node { id lifecycle { status createdAt } sessionInfo { sessionId name "
        "sessionType } userInfo { userId accessKey domainName groupId } cluster { clusterRole "
        "clusterIdx localRank clusterHostname } resource { agentId resourceGroupName "
        "containerId } resourceAllocations { count edges { node { slotName requested used "
        "slotType { slotName rank } } } } } } } }",
        None,
    ),
    (
        "query($skip: Boolean!, $include: Boolean!, $n: Int) { a: agentsV2(first: $n, filter: "
        '{id: {startsWith: "i-fx"}}) { pageInfo { hasNextPage endCursor } edges { cursor '
        "node { ...agent ... on AgentV2 @include(if: $include) { systemInfo { architecture "
        "version computePlugins { entries { pluginName value } } } } networkInfo @skip(if: "
        "$skip) { region addr } s1: statusInfo { status } s2: statusInfo { schedulable "
        "lostAt } } } } } fragment agent on AgentV2 { __typename id scalingGroup "
        "statusInfo { statusChanged firstContact } }",
        {"skip": True, "include": True, "n": 3},
    ),
    (
        "query($ids: [ID!]!) { nodes(ids: $ids) { __typename id ... on AgentResourceSlot { "
        "slotName capacity used free } ... on KernelResourceAllocation { slotName requested "
        "used } ... on KernelV2 { lifecycle { status result terminatedAt } agent { id } } "
        "... on ResourceSlotType { numberFormat { binary } } } }",
        {
            "ids": [
                encode_global_id("AgentResourceSlot", "i-fx-a:cuda.device"),
                encode_global_id("KernelResourceAllocation", f"{K1}:mem"),
                encode_global_id("KernelV2", str(K1)),
                encode_global_id("ResourceSlotType", "cpu"),
                encode_global_id("AgentV2", "i-missing"),
            ]
        },
    ),
    ('{ __typename a: __typename resourceSlotType(slotName: "cpu") { __typename rank } }', None),
    ("{ __schema { queryType { name } } }", None),
    # Errors: a refused nested page, a malformed ID, a cursor that does not decode.
    (
        "{ agentsV2(first: 2) { edges { node { id resourceSlots(first: 0) { count } } } } }",
        None,
    ),
    ('{ node(id: "bad") { id } nodes(ids: ["QWdlbnRWMjppLWZ4LWE="]) { id } }', None),
    ('{ adminKernelsV2(first: 2, after: "nope") { edges { cursor } } }', None),
]


async def test_the_nested_agents_query_is_mostly_built_directly(
    differential: Differential,
) -> None:
    """The fast path really is taken: the agents' `edges` list is completed in one batch
    (each edge and node filled directly, the global ID - a `source_only` resolver - and
    the status of every agent built without graphql-core), each agent's slot page (its
    resolver's result: count and the whole edges list) is loaded without calling its
    resolver 50 times (the loader is found once, then each agent only loads) and completed
    whole, and nothing is handed back. The first slot pages come with the agents' page, so
    their loads find them at once: no future is waited on; a page after an offset is
    loaded in one batch for the 50 agents, and each future's value completed whole."""
    body = await differential.compare(AGENTS_WITH_SLOTS)
    agents = body["data"]["agentsV2"]["edges"]
    assert len(agents) == 50
    assert differential.batched_items == 50
    assert differential.batch_fallbacks == 0
    assert differential.pure_results == 0  # no future: the pages were known
    assert differential.loaded_fields == 0
    # Only the connection's `edges` field itself goes through the mixed path.
    assert differential.mixed_fields == 1
    assert differential.given_up == 0
    assert any(agent["node"]["resourceSlots"]["edges"] for agent in agents)

    offset = AGENTS_WITH_SLOTS.replace(
        "resourceSlots(first: 5,", "resourceSlots(limit: 5, offset: 1,"
    )
    body = await differential.compare(offset)
    agents = body["data"]["agentsV2"]["edges"]
    assert len(agents) == 50
    assert any(agent["node"]["resourceSlots"]["edges"] for agent in agents)
    assert differential.batched_items == 100
    assert differential.batch_fallbacks == 0
    assert differential.pure_results == 50
    assert differential.loaded_fields == 50
    assert differential.given_up == 0


async def test_partly_literal_arguments_coerce_as_graphql_core_does(
    differential: Differential,
) -> None:
    """A field whose arguments are partly literal and partly variables has the literal
    ones coerced once and shared; each request coerces only those that refer to its
    variables, and the answers are graphql-core's whatever the variables are: given,
    absent, null, another value, refused by the resolver, or not coercible."""
    query = (
        "query($after: String, $n: Int, $statuses: [KernelV2Status!]) { adminKernelsV2("
        "orderBy: [{field: CREATED_AT, direction: ASC}], first: $n, after: $after, "
        "filter: {status: {in: $statuses}}) "
        "{ count edges { cursor node { id lifecycle { status } } } } }"
    )
    split_before = len(execution._SPLIT_ARGUMENTS)
    first = await differential.compare(query, {"n": 2})
    edges = first["data"]["adminKernelsV2"]["edges"]
    assert len(edges) == 2
    variable_sets: list[dict[str, object]] = [
        {"n": 2},
        {"n": 1, "after": edges[0]["cursor"]},
        {"n": 3, "statuses": ["RUNNING"]},
        {"statuses": None},
        {},
        {"n": -1},  # refused by the resolver
        {"after": "nope"},  # a cursor that does not decode
        {"n": "two"},  # refused before execution
        {"n": 2, "statuses": ["NOT_A_STATUS"]},
        {"n": 2},
    ]
    for variables in variable_sets:
        await differential.compare(query, variables)
    # The split was made once and used by the requests after the first.
    assert len(execution._SPLIT_ARGUMENTS) == split_before + 1


async def test_every_operation_the_suite_sends(differential: Differential) -> None:
    operations = [(query, variables, None) for query, variables in CORPUS]
    seen: set[bytes] = set()
    for query, variables, authorization in [*operations, *SENT_OPERATIONS]:
        key = repr((query, variables, authorization)).encode()
        if key in seen:
            continue
        seen.add(key)
        await differential.compare(query, variables, authorization)
    assert differential.compared >= len(CORPUS)
    # Over this many documents the fast path must have done real work.
    assert differential.pure_fields > 0
    assert differential.pure_results > 0
