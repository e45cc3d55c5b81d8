"""The per-slot nodes: an agent's slot and a kernel's allocation."""

from __future__ import annotations

from ariadne import ObjectType

from app.context import Info, context_of
from app.execution import source_only
from app.ids import encode_global_id
from app.records import AgentResourceSlot, KernelResourceAllocation, ResourceSlotType

agent_resource_slot = ObjectType("AgentResourceSlot")
kernel_resource_allocation = ObjectType("KernelResourceAllocation")


@agent_resource_slot.field("id")
@source_only
def resolve_agent_slot_id(obj: AgentResourceSlot, _: Info) -> str:
    return encode_global_id("AgentResourceSlot", f"{obj.agent_id}:{obj.slot_name}")


@kernel_resource_allocation.field("id")
@source_only
def resolve_allocation_id(obj: KernelResourceAllocation, _: Info) -> str:
    return encode_global_id("KernelResourceAllocation", f"{obj.kernel_id}:{obj.slot_name}")


async def resolve_slot_type(
    obj: AgentResourceSlot | KernelResourceAllocation, info: Info
) -> ResourceSlotType | None:
    # Batched by slot name across the whole request; the foreign key guarantees a row.
    return await context_of(info).loaders.slot_type.load(obj.slot_name)


agent_resource_slot.set_field("slotType", resolve_slot_type)
kernel_resource_allocation.set_field("slotType", resolve_slot_type)
