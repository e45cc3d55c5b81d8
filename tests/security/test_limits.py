"""Every query limit at its production default: n passes, n + 1 is refused before any SQL
runs, with api_generic_query-too-complex and a message naming the limit and its value."""

from __future__ import annotations

from typing import Any

import pytest
from graphql import get_introspection_query, parse

from app.settings import Settings
from tests.conftest import GraphQLClient
from tests.security.conftest import Client

pytestmark = pytest.mark.usefixtures("demo_loaded")

TOO_COMPLEX = "api_generic_query-too-complex"
DEFAULTS = Settings()


def test_the_defaults_are_the_documented_ones() -> None:
    assert (
        DEFAULTS.max_depth,
        DEFAULTS.max_aliases,
        DEFAULTS.max_tokens,
        DEFAULTS.max_root_fields,
        DEFAULTS.max_cost,
        DEFAULTS.max_input_depth,
        DEFAULTS.max_body_bytes,
        DEFAULTS.statement_timeout_ms,
    ) == (12, 30, 5000, 10, 50_000, 20, 1024 * 1024, 5000)


async def refused(gql: GraphQLClient, query: str, variables: dict[str, Any] | None = None) -> str:
    """The one error of a refused request; nothing executed."""
    body = await gql.post(query, variables)
    assert "data" not in body, body
    [error] = body["errors"]
    assert error["extensions"] == {"code": TOO_COMPLEX}
    assert "path" not in error
    assert gql.sql.count == 0
    message: str = error["message"]
    return message


async def passes(gql: GraphQLClient, query: str, variables: dict[str, Any] | None = None) -> None:
    body = await gql.post(query, variables)
    assert "errors" not in body, body["errors"]
    gql.sql.reset()


def deep(levels: int) -> str:
    """A query exactly `levels` fields deep: agent → kernels → agent → … cycles freely."""
    chain = ["agentsV2(first: 1)", "edges", "node"]
    while len(chain) < levels - 1:
        chain += ["kernels(first: 1)", "edges", "node", "agent"][: levels - 1 - len(chain)]
    leaf = "id" if chain[-1] in ("node", "agent") else "__typename"
    return "{ " + " { ".join([*chain, leaf]) + " }" * len(chain) + " }"


async def test_depth(gql: GraphQLClient) -> None:
    await passes(gql, deep(12))
    assert await refused(gql, deep(13)) == (
        "The query is nested 13 levels deep; the limit (max depth) is 12. Select fewer nested "
        "levels, or split the query."
    )


async def test_depth_counts_through_fragments(gql: GraphQLClient) -> None:
    inner = deep(12)[len("{ agentsV2(first: 1) { edges { node { ") :][: -len(" } } } }")]
    query = (
        "{ agentsV2(first: 1) { ...E } } fragment E on AgentV2Connection { edges { node { ...N } } }"
        f" fragment N on AgentV2 {{ {inner} }}"
    )
    await passes(gql, query)
    deeper = query.replace("{ id }", "{ kernels(first: 1) { count } }")
    assert "13 levels deep" in await refused(gql, deeper)


def aliased(count: int) -> str:
    fields = " ".join(f"a{i}: count" for i in range(count))
    return "{ resourceSlotTypes(first: 1) { " + fields + " } }"


async def test_aliases(gql: GraphQLClient) -> None:
    await passes(gql, aliased(30))
    assert await refused(gql, aliased(31)) == (
        "The query uses 31 aliases; the limit (max aliases) is 30. Use fewer aliases, or split "
        "the query."
    )


async def test_aliases_in_a_fragment_count_each_time_it_is_spread(gql: GraphQLClient) -> None:
    fragment = "fragment F on ResourceSlotTypeConnection { " + " ".join(
        f"a{i}: count" for i in range(15)
    )
    two = "{ a: resourceSlotTypes(first: 1) { ...F } b: resourceSlotTypes(first: 1) { ...F } } "
    # 2 root aliases + 2 * 15: over 30, although the document spells 17.
    assert "uses 32 aliases" in await refused(gql, two + fragment + " }")


def root_fields(count: int) -> str:
    return (
        "{ "
        + " ".join(f'r{i}: resourceSlotType(slotName: "cpu") {{ slotName }}' for i in range(count))
        + " }"
    )


async def test_root_fields(gql: GraphQLClient) -> None:
    await passes(gql, root_fields(10))
    assert await refused(gql, root_fields(11)) == (
        "The query selects 11 root fields; the limit (max root fields) is 10. Split it into "
        "several requests."
    )


def with_tokens(total: int) -> str:
    base = '{ resourceSlotTypes(filter: {slotName: {in: ["cpu"]}}) { count } }'
    extra = total - parse(base).token_count
    query = base.replace('["cpu"]', "[" + ", ".join(['"cpu"'] * (1 + extra)) + "]")
    assert parse(query).token_count == total
    return query


async def test_tokens(gql: GraphQLClient) -> None:
    await passes(gql, with_tokens(5000))
    assert await refused(gql, with_tokens(5001)) == (
        "The query document has more than 5000 tokens; the limit (max tokens) is 5000. Send a "
        "smaller document, or split it."
    )


async def test_comments_count_as_tokens(gql: GraphQLClient) -> None:
    query = "{ __typename }"  # 3 tokens
    await passes(gql, "#\n" * 4997 + query)
    assert "more than 5000 tokens" in await refused(gql, "#\n" * 4998 + query)


def nested_filter(levels: int) -> str:
    """A slot-type filter literal nested `levels` deep (objects and lists both count)."""
    ands, odd = divmod(levels - 2, 2)
    leaf = '{slotName: {in: ["cpu"]}}' if odd else '{slotName: {equals: "cpu"}}'
    return "{AND: [" * ands + leaf + "]}" * ands


def nested_variable(levels: int) -> dict[str, Any]:
    ands, odd = divmod(levels - 2, 2)
    value: dict[str, Any] = {"slotName": {"in": ["cpu"]} if odd else {"equals": "cpu"}}
    for _ in range(ands):
        value = {"AND": [value]}
    return value


async def test_input_depth_of_literals_and_variables(gql: GraphQLClient) -> None:
    literal = "{ resourceSlotTypes(filter: %s) { count } }"
    await passes(gql, literal % nested_filter(20))
    assert await refused(gql, literal % nested_filter(21)) == (
        "An argument is nested 21 levels deep; the limit (max input depth) is 20. Write the "
        "filter with fewer nested AND/OR/NOT."
    )
    query = "query($f: ResourceSlotTypeFilter) { resourceSlotTypes(filter: $f) { count } }"
    await passes(gql, query, {"f": nested_variable(20)})
    assert "nested 21 levels deep" in await refused(gql, query, {"f": nested_variable(21)})


async def test_variables_nested_as_deep_as_json_allows_are_refused(gql: GraphQLClient) -> None:
    query = "query($f: ResourceSlotTypeFilter) { resourceSlotTypes(filter: $f) { count } }"
    # 902 levels: under the JSON parser's own limit (1024), far over what coercion and SQL
    # building could recurse through. Written by hand: JSON encoders refuse such nesting.
    ands = 450
    body = (
        '{"query": "'
        + query
        + '", "variables": {"f": '
        + '{"AND": [' * ands
        + '{"slotName": {"equals": "cpu"}}'
        + "]}" * ands
        + "}}"
    )
    response = await gql.http.post(
        "/graphql", content=body.encode(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 200
    [error] = response.json()["errors"]
    assert error["extensions"] == {"code": TOO_COMPLEX}
    assert "nested 902 levels deep" in error["message"]
    assert gql.sql.count == 0


# 2 (agentsV2, edges) + a * (node, kernels, edges) + a * b * (node, id) + padding `count`s.
COST_QUERY = (
    "query Cost($a: Int, $b: Int) { agentsV2(first: $a) { %s edges { node { "
    "kernels(first: $b) { edges { node { id } } } } } } }"
)


def cost_query(padding: int) -> str:
    return COST_QUERY % " ".join(["count"] * padding)


async def test_cost_at_its_limit(gql: GraphQLClient) -> None:
    # 2 + 3*100 + 2*100*248 + 98 = 50,000
    await passes(gql, cost_query(98), {"a": 100, "b": 248})
    assert await refused(gql, cost_query(99), {"a": 100, "b": 248}) == (
        "The query's estimated cost is 50001 (each field counts once per item of the lists "
        "around it); the limit (max cost) is 50000. Ask for smaller pages (`first`, `last`, "
        "`limit`), fewer nested connections or fewer fields."
    )


async def test_cost_follows_the_variables(gql: GraphQLClient) -> None:
    query = cost_query(98)
    # The same document, cached once, is measured again with each request's variables.
    assert "estimated cost is 50200" in await refused(gql, query, {"a": 100, "b": 249})
    await passes(gql, query, {"a": 100, "b": 248})
    assert "estimated cost is 50499" in await refused(gql, query, {"a": 101, "b": 248})
    # A variable's default counts when the request leaves it out.
    defaulted = query.replace("$b: Int)", "$b: Int = 249)")
    assert "estimated cost is 50200" in await refused(gql, defaulted, {"a": 100})


async def test_cost_of_limit_and_of_last(gql: GraphQLClient) -> None:
    base = cost_query(98).replace("first: $b", "%s: $b")
    for argument in ("last", "limit"):
        await passes(gql, base % argument, {"a": 100, "b": 248})
        assert "estimated cost is 50200" in await refused(
            gql, base % argument, {"a": 100, "b": 249}
        )


async def test_nested_connections_without_arguments_count_the_default_page(
    gql: GraphQLClient,
) -> None:
    # 1000 kernels * 10 default allocations each * (node, slotName) plus the rest: 44,002.
    await passes(
        gql,
        "{ adminKernelsV2(first: 1000) { edges { node { id resourceAllocations { edges { node "
        "{ slotName requested used } } } } } } }",
    )
    message = await refused(
        gql,
        "{ adminKernelsV2(first: 1000) { edges { node { id resourceAllocations(first: 12) "
        "{ edges { node { slotName requested used } } } } } } }",
    )
    assert "estimated cost is 52002" in message


CPU_ID = "UmVzb3VyY2VTbG90VHlwZTpjcHU="  # ResourceSlotType:cpu


async def test_nodes_costs_per_id(gql: GraphQLClient) -> None:
    query = "query($ids: [ID!]!) { nodes(ids: $ids) { id %s } }"
    # 1 + 1000 * (id + 48 __typename) = 49,001; one more selection per node: 50,001.
    await passes(gql, query % " ".join(["__typename"] * 48), {"ids": [CPU_ID] * 1000})
    assert "estimated cost is 50001" in await refused(
        gql, query % " ".join(["__typename"] * 49), {"ids": [CPU_ID] * 1000}
    )


async def test_pages_over_the_maximum_keep_their_own_error(gql: GraphQLClient) -> None:
    body = await gql.post("{ adminKernelsV2(first: 100000) { edges { node { id } } } }")
    assert body["errors"][0]["extensions"] == {"code": "api_generic_invalid-parameters"}
    assert body["errors"][0]["message"].startswith("`first` must be at most 1000")


BENCH_AND_README_QUERIES = [
    # README / bench: the nested agents query at 50 agents (estimated cost 7,353).
    "{ agentsV2(first: 50, filter: {status: {in: [ALIVE]}}) { count edges { node { id "
    "statusInfo { status } containerCount resourceInfo { capacity used free } "
    "resourceSlots(first: 5, orderBy: [{field: USED, direction: DESC}]) { edges { node { "
    "slotName capacity used free slotType { displayName displayUnit } } } } "
    "kernels(first: 2, filter: {status: {in: [RUNNING]}}) { edges { node { id lifecycle { "
    "status createdAt } resourceAllocations { edges { node { slotName requested used } } } } } } "
    "} } } }",
    # bench: running kernels with their allocations (4,802).
    "query RunningKernels { adminKernelsV2(first: 100, filter: {status: {in: [RUNNING]}}) { "
    "edges { node { id lifecycle { status createdAt } resourceAllocations { count edges { node "
    "{ slotName requested used } } } } } } }",
    "query Agents { agentsV2(first: 50) { edges { node { id statusInfo { status } "
    "resourceSlots(first: 5, orderBy: [{field: USED, direction: DESC}]) { count edges { node "
    "{ slotName capacity used free } } } containerCount resourceInfo { capacity used free } } } } }",
]


@pytest.mark.parametrize("query", BENCH_AND_README_QUERIES)
async def test_the_real_queries_pass(gql: GraphQLClient, query: str) -> None:
    await passes(gql, query)


async def test_graphiqls_introspection_query_passes(gql: GraphQLClient) -> None:
    query = get_introspection_query(
        descriptions=True,
        specified_by_url=True,
        directive_is_repeatable=True,
        schema_description=True,
        input_value_deprecation=True,
    )
    body = await gql.post(query)
    assert "errors" not in body
    assert body["data"]["__schema"]["queryType"]["name"] == "Query"


async def test_nested_introspection_is_refused(gql: GraphQLClient) -> None:
    body = await gql.post(
        "{ __schema { types { fields { type { fields { type { fields { name } } } } } } } }"
    )
    assert body["errors"][0]["message"] == "Maximum introspection depth exceeded"


async def test_introspection_and_playground_can_be_turned_off(client_with: Client) -> None:
    async with client_with(introspection=False, playground=False) as http:
        response = await http.post(
            "/graphql", json={"query": "{ __schema { queryType { name } } }"}
        )
        assert response.json() == {
            "errors": [
                {
                    "message": "Cannot query '__schema': introspection is disabled.",
                    "locations": [{"line": 1, "column": 3}],
                    "extensions": {"code": "api_generic_invalid-parameters"},
                }
            ]
        }
        # __typename is not introspection: clients (Relay, Apollo) add it everywhere.
        response = await http.post("/graphql", json={"query": "{ __typename }"})
        assert response.json() == {"data": {"__typename": "Query"}}
        page = await http.get("/graphql", headers={"accept": "text/html"})
        assert page.status_code == 400
        assert page.headers["content-type"].startswith("application/json")


async def test_limits_are_settings(client_with: Client) -> None:
    async with client_with(max_depth=3, max_aliases=1, max_root_fields=2, max_cost=5) as http:

        async def message(query: str) -> str | None:
            body = (await http.post("/graphql", json={"query": query})).json()
            errors = body.get("errors")
            return errors[0]["message"] if errors else None

        assert await message("{ resourceSlotTypes(first: 1) { edges { cursor } } }") is None
        assert "limit (max depth) is 3" in str(
            await message("{ resourceSlotTypes(first: 1) { edges { node { rank } } } }")
        )
        assert await message("{ a: __typename }") is None
        assert "limit (max aliases) is 1" in str(await message("{ a: __typename b: __typename }"))
        assert "limit (max root fields) is 2" in str(
            await message("{ __typename a: __typename __typename }")
        )
        # resourceSlotTypes + edges + n * cursor
        assert await message("{ resourceSlotTypes(first: 3) { edges { cursor } } }") is None
        assert "estimated cost is 6" in str(
            await message("{ resourceSlotTypes(first: 4) { edges { cursor } } }")
        )
