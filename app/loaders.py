"""Per-request DataLoaders, one per key shape: every lookup of one type in one request
becomes one SQL statement. Built per request because aiodataloader binds the running loop."""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Hashable
from functools import partial
from typing import Any
from uuid import UUID

from aiodataloader import DataLoader

from app.db import RequestSession
from app.records import (
    Agent,
    AgentResourceSlot,
    Kernel,
    KernelResourceAllocation,
    ResourceSlotType,
)
from app.repositories import (
    agent_resources,
    agents,
    kernels,
    resource_allocations,
    resource_slot_types,
)


class Loaders:
    def __init__(self, session: RequestSession) -> None:
        self.slot_type: DataLoader[str, ResourceSlotType | None] = DataLoader(
            partial(resource_slot_types.fetch_by_names, session)
        )
        self.agent: DataLoader[str, Agent | None] = DataLoader(
            partial(agents.fetch_by_ids, session)
        )
        self.kernel: DataLoader[UUID, Kernel | None] = DataLoader(
            partial(kernels.fetch_by_ids, session)
        )
        self.agent_slot: DataLoader[tuple[str, str], AgentResourceSlot | None] = DataLoader(
            partial(agent_resources.fetch_by_keys, session)
        )
        self.allocation: DataLoader[tuple[UUID, str], KernelResourceAllocation | None] = DataLoader(
            partial(resource_allocations.fetch_by_keys, session)
        )
        self.agent_slots: DataLoader[str, list[AgentResourceSlot]] = DataLoader(
            partial(agent_resources.fetch_by_agents, session)
        )
        self.container_count: DataLoader[str, int] = DataLoader(
            partial(agents.container_counts, session)
        )
        self._connections: dict[Hashable, DataLoader[Any, Any]] = {}

    def connection(
        self, key: Hashable, batch: Callable[[list[Any]], Coroutine[Any, Any, list[Any]]]
    ) -> DataLoader[Any, Any]:
        """The loader of one nested connection field with one set of arguments: the pages of
        all its parents in this request come from one statement."""
        loader = self._connections.get(key)
        if loader is None:
            loader = self._connections[key] = DataLoader(batch)
        return loader
