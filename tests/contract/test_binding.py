"""Ariadne silently falls back to a default resolver: prove every field that needs logic is
bound, and every other field reads an attribute or key that really exists."""

from __future__ import annotations

import dataclasses

from ariadne.utils import convert_camel_case_to_snake
from graphql import GraphQLInterfaceType, GraphQLObjectType, GraphQLSchema

from app import records
from app.schema import build_schema

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
    return {
        name: t
        for name, t in schema.type_map.items()
        if isinstance(t, GraphQLObjectType) and not name.startswith("__") and name != "Query"
    }


def test_every_root_field_has_its_own_resolver() -> None:
    schema = build_schema()
    assert schema.query_type is not None
    unbound = [name for name, field in schema.query_type.fields.items() if not _ours(field.resolve)]
    assert unbound == []


def test_every_object_field_is_bound_or_backed_by_its_source() -> None:
    schema = build_schema()
    types = _object_types(schema)
    assert set(types) == set(SOURCES), "add new object types to SOURCES"
    problems: list[str] = []
    for type_name, graphql_type in types.items():
        source = SOURCES[type_name]
        available = (
            {f.name for f in dataclasses.fields(source)} | _properties(source)
            if isinstance(source, type)
            else source
        )
        for field_name, field in graphql_type.fields.items():
            if (type_name, field_name) in COMPUTED:
                if not _ours(field.resolve):
                    problems.append(f"{type_name}.{field_name} needs a resolver")
                continue
            if _ours(field.resolve):
                problems.append(f"{type_name}.{field_name} has a resolver but is not in COMPUTED")
            elif convert_camel_case_to_snake(field_name) not in available:
                problems.append(f"{type_name}.{field_name} has no resolver and no source attribute")
    assert problems == []


def test_interfaces_resolve_their_types() -> None:
    schema = build_schema()
    node = schema.type_map["Node"]
    assert isinstance(node, GraphQLInterfaceType)
    assert _ours(node.resolve_type)
