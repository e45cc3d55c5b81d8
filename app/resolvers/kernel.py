"""KernelV2 and the objects it is made of, named as the upstream API names them."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

from ariadne import ObjectType

from app.context import Info, context_of
from app.execution import loads_per_parent, source_only
from app.ids import encode_global_id
from app.records import Agent, Kernel
from app.repositories import resource_allocations
from app.resolvers.connection import nested_by_id, resolve_nested_connection
from app.resolvers.views import itself

kernel = ObjectType("KernelV2")


@kernel.field("id")
@source_only
def resolve_id(obj: Kernel, _: Info) -> str:
    return encode_global_id("KernelV2", str(obj.id))


@kernel.field("sessionInfo")
@source_only
def resolve_session_info(obj: Kernel, _: Info) -> dict[str, Any]:
    return {
        "session_id": obj.session_id,
        "name": obj.session_name,
        "session_type": obj.session_type,
    }


@kernel.field("userInfo")
@source_only
def resolve_user_info(obj: Kernel, _: Info) -> dict[str, Any]:
    return {
        "user_id": obj.user_uuid,
        "access_key": obj.access_key,
        "domain_name": obj.domain_name,
        "group_id": obj.group_id,
    }


@kernel.field("resource")
@source_only
def resolve_resource(obj: Kernel, _: Info) -> dict[str, Any]:
    return {
        "agent_id": obj.agent,
        "resource_group_name": obj.scaling_group,
        "container_id": obj.container_id,
    }


kernel.set_field("cluster", itself)
kernel.set_field("lifecycle", itself)


@kernel.field("agent")
async def resolve_agent(obj: Kernel, info: Info) -> Agent | None:
    if obj.agent is None:
        return None
    return await context_of(info).loaders.agent.load(obj.agent)


@kernel.field("resourceAllocations")
@loads_per_parent(nested_by_id(resource_allocations.CONNECTION, "KernelV2", "resourceAllocations"))
def resolve_resource_allocations(obj: Kernel, info: Info, **args: Any) -> Awaitable[dict[str, Any]]:
    return resolve_nested_connection(info, resource_allocations.CONNECTION, args, obj.id)
