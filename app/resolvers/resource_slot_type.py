from __future__ import annotations

from ariadne import ObjectType

from app.context import Info
from app.execution import source_only
from app.ids import encode_global_id
from app.records import ResourceSlotType

resource_slot_type = ObjectType("ResourceSlotType")


@resource_slot_type.field("id")
@source_only
def resolve_id(obj: ResourceSlotType, _: Info) -> str:
    return encode_global_id("ResourceSlotType", obj.slot_name)
