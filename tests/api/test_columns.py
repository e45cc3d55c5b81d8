"""Pages select only the columns the query reads (`ConnectionSpec.field_columns`): every
node field must answer the same whether it is selected alone (its own columns) or with
every other field (every column), or a wrong mapping would show as an error or, worse, a
wrong value."""

from __future__ import annotations

from typing import Any

import pytest
from graphql import (
    GraphQLField,
    GraphQLObjectType,
    get_named_type,
    is_leaf_type,
    is_non_null_type,
    is_object_type,
)
from sqlalchemy import Select

from app.ids import decode_global_id
from app.repositories import (
    agent_resources,
    agents,
    kernels,
    resource_allocations,
    resource_slot_types,
)
from app.repositories.base import ConnectionSpec
from app.schema import build_schema
from tests.conftest import GraphQLClient

pytestmark = pytest.mark.usefixtures("cluster", "demo_loaded")

SCHEMA = build_schema()
PAGE = 25


def _selection(field: GraphQLField, depth: int = 0) -> str:
    """A sub-selection reaching every field below `field` (connections: their count and
    node ids; other fields with required arguments are left out)."""
    named = get_named_type(field.type)
    if is_leaf_type(named):
        return ""
    assert isinstance(named, GraphQLObjectType)
    if named.name.endswith("Connection"):
        return "(first: 2) { count edges { node { id } } }"
    if depth >= 2:
        return " { __typename }"
    parts = []
    for name, sub in named.fields.items():
        if any(is_non_null_type(arg.type) for arg in sub.args.values()):
            continue
        parts.append(name + _selection(sub, depth + 1))
    return " { " + " ".join(parts) + " }"


def _node_fields(type_name: str) -> dict[str, str]:
    node_type = SCHEMA.type_map[type_name]
    assert is_object_type(node_type)
    assert isinstance(node_type, GraphQLObjectType)
    return {name: name + _selection(field) for name, field in node_type.fields.items()}


CASES = [
    ("adminKernelsV2", "KernelV2", kernels.CONNECTION),
    ("agentsV2", "AgentV2", agents.CONNECTION),
    ("resourceSlotTypes", "ResourceSlotType", resource_slot_types.CONNECTION),
]
# Node types with views of their record (`sub_field_columns`).
VIEW_CASES = CASES[:2]
# Node types whose lookups by key select only what the selection reads.
LOOKUP_CASES = CASES
# Nodes of nested connections: (root connection, nested field, node type, spec).
NESTED_CASES = [
    ("agentsV2", "resourceSlots", "AgentResourceSlot", agent_resources.CONNECTION),
    (
        "adminKernelsV2",
        "resourceAllocations",
        "KernelResourceAllocation",
        resource_allocations.CONNECTION,
    ),
]


def _page(root: str, node: str) -> str:
    return f"{{ {root}(first: {PAGE}) {{ edges {{ node {{ {node} }} }} }} }}"


@pytest.mark.parametrize(("root", "type_name", "spec"), CASES)
async def test_every_field_answers_alike_from_its_own_columns(
    gql: GraphQLClient, root: str, type_name: str, spec: ConnectionSpec[Any]
) -> None:
    fields = _node_fields(type_name)
    # Every field is mapped: a new field must say which columns it reads (unmapped, it
    # would quietly make every page select every column again).
    assert spec.field_columns is not None
    assert set(spec.field_columns) == set(fields)
    everything = await gql.post(_page(root, " ".join(fields.values())))
    assert "errors" not in everything, everything
    full = [edge["node"] for edge in everything["data"][root]["edges"]]
    assert len(full) > 1
    for name, selection in fields.items():
        gql.sql.reset()
        alone = await gql.post(_page(root, selection))
        assert "errors" not in alone, (name, alone)
        assert [edge["node"] for edge in alone["data"][root]["edges"]] == [
            {name: node[name]} for node in full
        ], name
        page = gql.sql.statements[0]
        assert isinstance(page, Select)
        selected = {column.name for column in page.selected_columns}
        read = set(spec.field_columns[name]) | set(spec.always)
        assert selected & {column.name for column in spec.columns} == read, name


@pytest.mark.parametrize(("root", "type_name", "spec"), VIEW_CASES)
async def test_every_field_of_a_view_answers_alike_from_its_own_columns(
    gql: GraphQLClient, root: str, type_name: str, spec: ConnectionSpec[Any]
) -> None:
    """A node field that is a view of the record (`ConnectionSpec.sub_field_columns`) reads
    only the columns of the fields selected on it: each alone answers as beside every
    other field, and its page selects its own columns; `__typename` alone reads none."""
    assert spec.field_columns is not None
    assert spec.sub_field_columns
    fields = _node_fields(type_name)
    everything = await gql.post(_page(root, " ".join(fields.values())))
    full = [edge["node"] for edge in everything["data"][root]["edges"]]
    node_type = SCHEMA.type_map[type_name]
    assert isinstance(node_type, GraphQLObjectType)
    for name, subs in spec.sub_field_columns.items():
        view = get_named_type(node_type.fields[name].type)
        assert isinstance(view, GraphQLObjectType)
        # Every field of the view is mapped, and together they read what the field reads.
        assert set(subs) == set(view.fields), name
        assert {c for read in subs.values() for c in read} == set(spec.field_columns[name])
        for sub, read in [*subs.items(), ("__typename", ())]:
            gql.sql.reset()
            inner = sub + (_selection(view.fields[sub], 1) if sub in view.fields else "")
            alone = await gql.post(_page(root, f"{name} {{ {inner} }}"))
            assert "errors" not in alone, (name, sub, alone)
            nodes = [edge["node"] for edge in alone["data"][root]["edges"]]
            if sub == "__typename":
                assert nodes == [{name: {"__typename": view.name}} for _ in full]
            else:
                assert nodes == [{name: {sub: node[name][sub]}} for node in full], (name, sub)
            page = gql.sql.statements[0]
            assert isinstance(page, Select)
            selected = {column.name for column in page.selected_columns}
            assert selected & _spec_columns(spec) == set(read) | set(spec.always), (name, sub)
    # Two fields of one view, one of them through a fragment, and a field of each other
    # view: the union of theirs.
    views = list(spec.sub_field_columns.items())
    first_name, first_subs = views[0]
    leaves = [
        sub
        for sub in first_subs
        if is_leaf_type(get_named_type(_view_field(node_type, first_name, sub)))
    ]
    assert len(leaves) >= 2
    query = f"fragment F on {type_name} {{ {first_name} {{ {leaves[1]} }} }} " + _page(
        root,
        f"...F {first_name} {{ {leaves[0]} }} "
        + " ".join(f"{name} {{ __typename }}" for name, _ in views[1:]),
    )
    gql.sql.reset()
    body = await gql.post(query)
    assert "errors" not in body, body
    nodes = [edge["node"] for edge in body["data"][root]["edges"]]
    assert [node[first_name] for node in nodes] == [
        {leaves[1]: node[first_name][leaves[1]], leaves[0]: node[first_name][leaves[0]]}
        for node in full
    ]
    page = gql.sql.statements[0]
    assert isinstance(page, Select)
    selected = {column.name for column in page.selected_columns}
    expected = {*first_subs[leaves[0]], *first_subs[leaves[1]], *spec.always}
    assert selected & _spec_columns(spec) == expected


def _view_field(node_type: GraphQLObjectType, name: str, sub: str) -> Any:
    view = get_named_type(node_type.fields[name].type)
    assert isinstance(view, GraphQLObjectType)
    return view.fields[sub].type


async def test_a_count_alone_reads_only_the_key(gql: GraphQLClient) -> None:
    body = await gql.post(
        "{ adminKernelsV2(first: 3) { count edges { node { __typename } } } "
        "agentsV2(first: 3) { edges { node { __typename } } } }"
    )
    assert "errors" not in body
    kernel_page, agent_page = gql.sql.statements
    # The kernels page is nested in its count; its rows are the lateral `page`.
    assert "startup_command" not in str(kernel_page)
    assert "kernels.id" in str(kernel_page)
    assert isinstance(agent_page, Select)
    # The sort key (id) is read from its column for cursors, not selected a second time.
    assert {column.name for column in agent_page.selected_columns} == {"id"}


async def test_a_field_read_from_a_column_not_loaded_is_an_error_not_a_value() -> None:
    """NOT_LOADED is nothing a resolver could pass on as data."""
    from app.records import NOT_LOADED

    assert repr(NOT_LOADED) == "<not loaded>"
    with pytest.raises(RuntimeError, match="did not select"):
        bool(NOT_LOADED)
    for scalar in ("String", "ID", "Int", "Boolean", "Decimal", "DateTime", "UUID"):
        with pytest.raises(Exception):  # noqa: B017 - any error, never a value
            SCHEMA.type_map[scalar].serialize(NOT_LOADED)  # type: ignore[attr-defined]
    with pytest.raises(RuntimeError):
        f"{NOT_LOADED}"


def _lookup(type_name: str, selection: str) -> str:
    return f"query($ids: [ID!]!) {{ nodes(ids: $ids) {{ ... on {type_name} {{ {selection} }} }} }}"


def _spec_columns(spec: ConnectionSpec[Any]) -> set[str]:
    return {column.name for column in spec.columns}


@pytest.mark.parametrize(("root", "type_name", "spec"), LOOKUP_CASES)
async def test_every_field_answers_alike_from_a_lookup_of_its_own_columns(
    gql: GraphQLClient, root: str, type_name: str, spec: ConnectionSpec[Any]
) -> None:
    """`nodes` (and `node`, `kernelV2`) select only what the selection on the type reads,
    as pages do (`ConnectionSpec.lookup_columns`)."""
    fields = _node_fields(type_name)
    everything = await gql.post(_page(root, " ".join(fields.values())))
    full = [edge["node"] for edge in everything["data"][root]["edges"]]
    assert spec.field_columns is not None
    for name, selection in fields.items():
        read = set(spec.field_columns[name]) | set(spec.always)
        await _lookup_reads(gql, spec, type_name, name, selection, full, read)


async def _lookup_reads(
    gql: GraphQLClient,
    spec: ConnectionSpec[Any],
    type_name: str,
    name: str,
    selection: str,
    full: list[dict[str, Any]],
    read: set[str],
) -> None:
    """Field `name` of the nodes `full`, looked up by their ids with `selection` alone,
    answers as beside every other field, from a statement that reads `read` (and the key
    a lookup maps its rows back by)."""
    gql.sql.reset()
    alone = await gql.post(_lookup(type_name, selection), {"ids": [node["id"] for node in full]})
    assert "errors" not in alone, (name, alone)
    assert alone["data"]["nodes"] == [{name: node[name]} for node in full], name
    lookup = gql.sql.statements[0]
    assert isinstance(lookup, Select)
    selected = {column.name for column in lookup.selected_columns}
    assert selected & _spec_columns(spec) == read | set(spec.lookup_always), name


def _nested_page(root: str, field: str, node: str) -> str:
    return _page(root, f"{field}(first: 3) {{ edges {{ node {{ {node} }} }} }}")


def _nested_nodes(body: dict[str, Any], root: str, field: str) -> list[dict[str, Any]]:
    return [
        edge["node"]
        for parent in body["data"][root]["edges"]
        for edge in parent["node"][field]["edges"]
    ]


@pytest.mark.parametrize(("root", "field", "type_name", "spec"), NESTED_CASES)
async def test_every_field_of_a_nested_node_answers_alike_from_its_own_columns(
    gql: GraphQLClient, root: str, field: str, type_name: str, spec: ConnectionSpec[Any]
) -> None:
    """A nested connection's pages (fetched with their parents' page: the child's columns
    are the `_child_` ones of its statement) and its nodes' lookups read only the columns
    of the selected fields; a page needs no parent key to group its rows, a lookup its
    whole key to map them back."""
    fields = _node_fields(type_name)
    assert spec.field_columns is not None
    assert set(spec.field_columns) == set(fields)
    everything = await gql.post(_nested_page(root, field, " ".join(fields.values())))
    assert "errors" not in everything, everything
    full = _nested_nodes(everything, root, field)
    assert len(full) > PAGE
    for name, selection in fields.items():
        gql.sql.reset()
        alone = await gql.post(_nested_page(root, field, selection))
        assert "errors" not in alone, (name, alone)
        assert _nested_nodes(alone, root, field) == [{name: node[name]} for node in full], name
        page = gql.sql.statements[0]
        assert isinstance(page, Select)
        child = {
            column.name.removeprefix("_child_")
            for column in page.selected_columns
            if column.name.startswith("_child_")
        }
        read = set(spec.field_columns[name]) | set(spec.always)
        assert child & _spec_columns(spec) == read, name
        await _lookup_reads(gql, spec, type_name, name, selection, full, read)


async def test_a_lookup_reads_the_fragments_its_type_meets(gql: GraphQLClient) -> None:
    """Inline fragments and spreads count for a type when their condition is the type or an
    interface it implements; a fragment on another type adds nothing to its statement."""
    agent_page = await gql.post("{ agentsV2(first: 2) { edges { node { id scalingGroup } } } }")
    kernel_page = await gql.post(
        "{ adminKernelsV2(first: 2) { edges { node { id startupCommand } } } }"
    )
    agent = agent_page["data"]["agentsV2"]["edges"][0]["node"]
    kernel = kernel_page["data"]["adminKernelsV2"]["edges"][0]["node"]
    gql.sql.reset()
    body = await gql.post(
        "fragment K on KernelV2 { startupCommand } "
        "query($ids: [ID!]!) { nodes(ids: $ids) { __typename ... on Node { id } "
        "... on AgentV2 { scalingGroup } ...K } }",
        {"ids": [agent["id"], kernel["id"]]},
    )
    assert body == {
        "data": {
            "nodes": [
                {"__typename": "AgentV2", "id": agent["id"], "scalingGroup": agent["scalingGroup"]},
                {
                    "__typename": "KernelV2",
                    "id": kernel["id"],
                    "startupCommand": kernel["startupCommand"],
                },
            ]
        }
    }
    # Both types' lookups in one statement, each reading its own columns.
    assert gql.sql.count == 1
    selected = []
    for statement in gql.sql.lookups():
        assert isinstance(statement, Select)
        selected.append({column.name for column in statement.selected_columns})
    assert sorted(selected, key=len) == [{"id", "scaling_group"}, {"id", "startup_command"}]


async def test_one_request_may_look_a_kernel_up_narrowly_and_in_full(gql: GraphQLClient) -> None:
    """A narrowed lookup has a loader of its own: the same kernel selected with few fields in
    one place and every field in another answers each from its own statement; `kernelV2`
    narrows as `node` does."""
    everything = " ".join(_node_fields("KernelV2").values())
    page = await gql.post(_page("adminKernelsV2", everything))
    kernel = page["data"]["adminKernelsV2"]["edges"][0]["node"]
    _, raw_id = decode_global_id(kernel["id"])
    gql.sql.reset()
    body = await gql.post(
        "query($id: ID!, $uuid: UUID!) { "
        "few: node(id: $id) { ... on KernelV2 { lifecycle { status } } } "
        "byId: kernelV2(id: $uuid) { startupCommand } "
        f"all: node(id: $id) {{ ... on KernelV2 {{ {everything} }} }} }}",
        {"id": kernel["id"], "uuid": raw_id},
    )
    assert "errors" not in body, body
    assert body["data"] == {
        "few": {"lifecycle": {"status": kernel["lifecycle"]["status"]}},
        "byId": {"startupCommand": kernel["startupCommand"]},
        "all": kernel,
    }
    read = kernels.CONNECTION.field_columns
    assert read is not None
    lookups = {
        frozenset(column.name for column in statement.selected_columns)
        for statement in gql.sql.lookups()
        if isinstance(statement, Select)
    }
    assert frozenset({"id", *read["lifecycle"]}) in lookups
    assert frozenset({"id", "startup_command"}) in lookups
    # Every field: every column a field reads (not the columns no field reads).
    assert frozenset().union(*read.values()) in lookups


async def test_a_sort_key_the_page_does_not_select_is_selected_for_its_cursors(
    gql: GraphQLClient,
) -> None:
    """Ordered by rank with only slotName selected, each page selects rank under a name of
    its own (`_pk0`) for its cursors, and walking the pages gives the whole list's order;
    ordered by slot name, the selected column serves the cursors."""
    page = (
        "query($after: String, $order: ResourceSlotTypeOrderField!) { resourceSlotTypes("
        "first: 4, after: $after, orderBy: [{field: $order, direction: DESC}]) { pageInfo { "
        "hasNextPage endCursor } edges { node { slotName } } } }"
    )
    for order, own_column in (("RANK", True), ("SLOT_NAME", False)):
        whole = await gql.post(
            "query($order: ResourceSlotTypeOrderField!) { resourceSlotTypes(first: 100, "
            "orderBy: [{field: $order, direction: DESC}]) { edges { node { slotName } } } }",
            {"order": order},
        )
        expected = [
            edge["node"]["slotName"] for edge in whole["data"]["resourceSlotTypes"]["edges"]
        ]
        assert len(expected) > 8
        walked: list[str] = []
        after = None
        while True:
            gql.sql.reset()
            body = await gql.post(page, {"after": after, "order": order})
            assert "errors" not in body, body
            statement = gql.sql.statements[0]
            assert isinstance(statement, Select)
            names = {column.name for column in statement.selected_columns}
            assert ("_pk0" in names) is own_column, (order, names)
            connection = body["data"]["resourceSlotTypes"]
            walked += [edge["node"]["slotName"] for edge in connection["edges"]]
            if not connection["pageInfo"]["hasNextPage"]:
                break
            after = connection["pageInfo"]["endCursor"]
        assert walked == expected, order
