from __future__ import annotations

from ariadne import ObjectType

from app.context import Info
from app.ids import encode_global_id
from app.records import ResourceSlotType

resource_slot_type = ObjectType("ResourceSlotType")


@resource_slot_type.field("id")
def resolve_id(obj: ResourceSlotType, _: Info) -> str:
    return encode_global_id("ResourceSlotType", obj.slot_name)
