from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from ariadne import QueryType

from app.context import Info, context_of
from app.errors import InvalidParameters
from app.records import Kernel, ResourceSlotType
from app.repositories import agents, kernels, resource_slot_types
from app.resolvers.connection import resolve_connection
from app.resolvers.node import resolve_global_id, resolve_global_ids, selected_fields

query = QueryType()


@query.field("node")
async def resolve_node(_: None, info: Info, id: str) -> object | None:
    return await resolve_global_id(info, id)


@query.field("nodes")
async def resolve_nodes(_: None, info: Info, ids: Sequence[str]) -> list[object | None]:
    context = context_of(info)
    limit = context.settings.max_page_size
    if len(ids) > limit:
        raise InvalidParameters(
            f"`nodes` takes at most {limit} IDs, got {len(ids)}; split the request."
        )
    return await resolve_global_ids(info, ids)


@query.field("resourceSlotType")
async def resolve_resource_slot_type(
    _: None, info: Info, slot_name: str
) -> ResourceSlotType | None:
    if "\x00" in slot_name:
        return None  # no slot name can hold NUL
    return await context_of(info).loaders.slot_type.load(slot_name)


@query.field("resourceSlotTypes")
async def resolve_resource_slot_types(_: None, info: Info, **args: Any) -> dict[str, Any]:
    return await resolve_connection(info, resource_slot_types.CONNECTION, args)


@query.field("agentsV2")
async def resolve_agents(_: None, info: Info, **args: Any) -> dict[str, Any]:
    caller = context_of(info).caller
    caller.require(caller.sees_agents, "agentsV2", "superadmins")
    return await resolve_connection(info, agents.CONNECTION, args)


@query.field("kernelV2")
async def resolve_kernel(_: None, info: Info, id: UUID) -> Kernel | None:
    loader = context_of(info).loaders.kernel_reading(selected_fields(info, "KernelV2"))
    return await loader.load(id)


@query.field("adminKernelsV2")
async def resolve_admin_kernels(_: None, info: Info, **args: Any) -> dict[str, Any]:
    caller = context_of(info).caller
    caller.require(caller.lists_kernels, "adminKernelsV2", "superadmins and domain admins")
    return await resolve_connection(info, kernels.CONNECTION, args)
