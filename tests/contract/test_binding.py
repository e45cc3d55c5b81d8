"""Ariadne silently falls back to a default resolver: prove every field that needs logic is
bound, and every other field reads an attribute or key that really exists."""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Mapping, Sequence, Set
from pathlib import Path

from ariadne import ObjectType, load_schema_from_path, make_executable_schema
from ariadne.types import SchemaBindable
from ariadne.utils import convert_camel_case_to_snake
from graphql import GraphQLInterfaceType, GraphQLObjectType, GraphQLSchema

from app import records
from app.schema import BINDABLES, SCHEMA_DIR, type_defs

# Objects each GraphQL type is served from: a record class, or the dict keys a resolver builds.
EDGE = {"cursor", "node"}
CONNECTION = {"edges", "page_info", "count"}
SOURCES: dict[str, type | set[str]] = {
    "ResourceSlotType": records.ResourceSlotType,
    "NumberFormat": records.NumberFormat,
    "PageInfo": {"has_next_page", "has_previous_page", "start_cursor", "end_cursor"},
    "ResourceSlotTypeEdge": EDGE,
    "ResourceSlotTypeConnection": CONNECTION,
    "AgentV2": records.Agent,
    "AgentV2Edge": EDGE,
    "AgentV2Connection": CONNECTION,
    "AgentStatusInfo": records.Agent,
    "AgentSystemInfo": records.Agent,
    "AgentNetworkInfo": records.Agent,
    "AgentResource": {"capacity", "used", "free"},
    "ComputePlugins": {"entries"},
    "ComputePluginEntry": {"plugin_name", "value"},
    "AgentResourceSlot": records.AgentResourceSlot,
    "AgentResourceSlotEdge": EDGE,
    "AgentResourceConnection": CONNECTION,
    "KernelV2": records.Kernel,
    "KernelV2Edge": EDGE,
    "KernelV2Connection": CONNECTION,
    "KernelV2SessionInfo": {"session_id", "name", "session_type"},
    "KernelV2UserInfo": {"user_id", "access_key", "domain_name", "group_id"},
    "KernelV2ClusterInfo": records.Kernel,
    "KernelV2ResourceInfo": {"agent_id", "resource_group_name", "container_id"},
    "KernelV2LifecycleInfo": records.Kernel,
    "KernelResourceAllocation": records.KernelResourceAllocation,
    "KernelResourceAllocationEdge": EDGE,
    "ResourceAllocationConnection": CONNECTION,
}
# Fields computed by a resolver of ours rather than read from the source.
COMPUTED = {
    ("ResourceSlotType", "id"),
    ("AgentV2", "id"),
    ("AgentV2", "statusInfo"),
    ("AgentV2", "systemInfo"),
    ("AgentV2", "networkInfo"),
    ("AgentV2", "resourceInfo"),
    ("AgentV2", "containerCount"),
    ("AgentV2", "kernels"),
    ("AgentV2", "resourceSlots"),
    ("AgentSystemInfo", "computePlugins"),
    ("AgentResourceSlot", "id"),
    ("AgentResourceSlot", "slotType"),
    ("KernelV2", "id"),
    ("KernelV2", "sessionInfo"),
    ("KernelV2", "userInfo"),
    ("KernelV2", "cluster"),
    ("KernelV2", "resource"),
    ("KernelV2", "lifecycle"),
    ("KernelV2", "agent"),
    ("KernelV2", "resourceAllocations"),
    ("KernelResourceAllocation", "id"),
    ("KernelResourceAllocation", "slotType"),
}


def _properties(cls: type) -> set[str]:
    return {name for name, value in vars(cls).items() if isinstance(value, property)}


def _ours(resolver: object) -> bool:
    return getattr(resolver, "__module__", "").startswith("app.resolvers")


def _object_types(schema: GraphQLSchema) -> dict[str, GraphQLObjectType]:
    root = schema.query_type.name if schema.query_type else "Query"
    return {
        name: t
        for name, t in schema.type_map.items()
        if isinstance(t, GraphQLObjectType) and not name.startswith("__") and name != root
    }


def build(
    type_defs: str, bindables: Sequence[SchemaBindable]
) -> tuple[GraphQLSchema | None, list[str]]:
    """The executable schema, or why it cannot be built: Ariadne refuses a resolver bound to a
    type or field the SDL does not have (e.g. a field removed from the SDL, its resolver left)."""
    try:
        return make_executable_schema(type_defs, *bindables, convert_names_case=True), []
    except ValueError as error:
        return None, [f"a resolver is bound to something the schema does not have: {error}"]


def binding_problems(
    schema: GraphQLSchema,
    sources: Mapping[str, type | set[str]] = SOURCES,
    computed: Set[tuple[str, str]] = COMPUTED,
) -> list[str]:
    problems: list[str] = []
    assert schema.query_type is not None
    for name, root_field in schema.query_type.fields.items():
        if not _ours(root_field.resolve):
            problems.append(f"{schema.query_type.name}.{name} needs a resolver")
    types = _object_types(schema)
    problems += [
        f"{name} is a new object type; add it to SOURCES"
        for name in sorted(set(types) - set(sources))
    ]
    problems += [
        f"{name} is in SOURCES but not in the schema" for name in sorted(set(sources) - set(types))
    ]
    for type_name, field_name in sorted(computed):
        graphql_type = types.get(type_name)
        if graphql_type is None or field_name not in graphql_type.fields:
            problems.append(f"{type_name}.{field_name} is in COMPUTED but not in the schema")
    for type_name, graphql_type in sorted(types.items()):
        source = sources.get(type_name)
        if source is None:
            continue
        available = (
            {f.name for f in dataclasses.fields(source)} | _properties(source)
            if isinstance(source, type)
            else source
        )
        for field_name, graphql_field in graphql_type.fields.items():
            if (type_name, field_name) in computed:
                if not _ours(graphql_field.resolve):
                    problems.append(f"{type_name}.{field_name} needs a resolver")
                continue
            if _ours(graphql_field.resolve):
                problems.append(f"{type_name}.{field_name} has a resolver but is not in COMPUTED")
            elif convert_camel_case_to_snake(field_name) not in available:
                problems.append(f"{type_name}.{field_name} has no resolver and no source attribute")
    for name, named in sorted(schema.type_map.items()):
        if isinstance(named, GraphQLInterfaceType) and not _ours(named.resolve_type):
            problems.append(f"interface {name} needs a resolve_type of ours")
    return problems


def test_every_field_that_needs_logic_is_bound_and_every_other_is_backed() -> None:
    schema, problems = build(type_defs(), BINDABLES)
    assert problems == []
    assert schema is not None
    assert binding_problems(schema) == []


# The check itself must fail where it should: on scratch copies of the SDL.


def _scratch_sdl(tmp_path: Path, file: str, old: str, new: str) -> str:
    scratch = tmp_path / "schema"
    shutil.copytree(SCHEMA_DIR, scratch)
    text = (scratch / file).read_text()
    assert text.count(old) == 1, f"{old!r} not found once in {file}"
    (scratch / file).write_text(text.replace(old, new))
    return load_schema_from_path(str(scratch))


CONTAINER_COUNT = """  containerCount: Int!
"""


def test_a_new_sdl_field_without_resolver_or_source_is_reported(tmp_path: Path) -> None:
    sdl = _scratch_sdl(
        tmp_path, "agent.graphql", CONTAINER_COUNT, CONTAINER_COUNT + "  nodeLabel: String!\n"
    )
    schema, problems = build(sdl, BINDABLES)
    assert problems == []
    assert schema is not None
    assert binding_problems(schema) == ["AgentV2.nodeLabel has no resolver and no source attribute"]


def test_a_computed_field_left_unbound_is_reported(tmp_path: Path) -> None:
    sdl = _scratch_sdl(
        tmp_path, "agent.graphql", CONTAINER_COUNT, CONTAINER_COUNT + "  load: Int!\n"
    )
    schema, _ = build(sdl, BINDABLES)
    assert schema is not None
    assert binding_problems(schema, computed=COMPUTED | {("AgentV2", "load")}) == [
        "AgentV2.load needs a resolver"
    ]


def test_a_root_field_without_resolver_is_reported(tmp_path: Path) -> None:
    sdl = _scratch_sdl(
        tmp_path, "schema.graphql", "type Query {\n", "type Query {\n  clusterName: String\n"
    )
    schema, _ = build(sdl, BINDABLES)
    assert schema is not None
    assert binding_problems(schema) == ["Query.clusterName needs a resolver"]


def test_a_resolver_bound_to_a_field_the_sdl_no_longer_has_is_reported(tmp_path: Path) -> None:
    described = (
        '  """\n  How many kernels on this agent are not yet terminated or cancelled.\n  """\n'
    )
    sdl = _scratch_sdl(tmp_path, "agent.graphql", described + CONTAINER_COUNT, "")
    schema, problems = build(sdl, BINDABLES)
    assert schema is None
    assert problems == [
        "a resolver is bound to something the schema does not have: "
        "Field containerCount is not defined on type AgentV2"
    ]


def test_a_resolver_bound_to_a_type_the_sdl_does_not_have_is_reported() -> None:
    ghost = ObjectType("AgentV3")
    ghost.set_field("id", lambda *_: "x")
    _, problems = build(type_defs(), [*BINDABLES, ghost])
    assert problems == [
        "a resolver is bound to something the schema does not have: "
        "Type AgentV3 is not defined in the schema"
    ]


def test_stale_entries_in_the_lists_are_reported() -> None:
    schema, _ = build(type_defs(), BINDABLES)
    assert schema is not None
    sources = {**SOURCES, "AgentV1": records.Agent}
    computed = COMPUTED | {("AgentV2", "gpuCount")}
    assert binding_problems(schema, sources, computed) == [
        "AgentV1 is in SOURCES but not in the schema",
        "AgentV2.gpuCount is in COMPUTED but not in the schema",
    ]
