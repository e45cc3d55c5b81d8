"""Per-request DataLoaders, one per key shape: every lookup of one type in one request
becomes one SQL statement. Built per request because aiodataloader binds the running loop."""

from __future__ import annotations

from collections.abc import Sequence

from aiodataloader import DataLoader

from app.db import RequestSession
from app.records import ResourceSlotType
from app.repositories import resource_slot_types


class Loaders:
    def __init__(self, session: RequestSession) -> None:
        async def load_slot_types(names: Sequence[str]) -> list[ResourceSlotType | None]:
            return await resource_slot_types.fetch_by_names(session, names)

        self.slot_type: DataLoader[str, ResourceSlotType | None] = DataLoader(load_slot_types)
