"""Per-request DataLoaders, one per key shape: every lookup of one type in one request
becomes one SQL statement. Built per request because aiodataloader binds the running loop."""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Hashable
from functools import partial
from typing import Any
from uuid import UUID

from aiodataloader import DataLoader

from app.auth import Caller
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


async def _absent(keys: list[Any]) -> list[Any]:
    return [None] * len(keys)


class Loaders:
    """Every loader answers for one caller: what it may not see is absent (None)."""

    def __init__(self, session: RequestSession, caller: Caller) -> None:
        self.slot_type: DataLoader[str, ResourceSlotType | None] = DataLoader(
            partial(resource_slot_types.fetch_by_names, session)
        )
        # Agents (and their slots) are all or nothing by role: for the others no statement
        # runs at all.
        sees_agents = caller.sees_agents
        self.agent: DataLoader[str, Agent | None] = DataLoader(
            partial(agents.fetch_by_ids, session) if sees_agents else _absent
        )
        self.agent_slot: DataLoader[tuple[str, str], AgentResourceSlot | None] = DataLoader(
            partial(agent_resources.fetch_by_keys, session) if sees_agents else _absent
        )
        self.kernel: DataLoader[UUID, Kernel | None] = DataLoader(
            partial(kernels.fetch_by_ids, session, caller)
        )
        self.allocation: DataLoader[tuple[UUID, str], KernelResourceAllocation | None] = DataLoader(
            partial(resource_allocations.fetch_by_keys, session, caller)
        )
        # Reached only through an AgentV2 object, which only superadmins ever get.
        self.agent_slots: DataLoader[str, list[AgentResourceSlot]] = DataLoader(
            partial(agent_resources.fetch_by_agents, session)
        )
        self.container_count: DataLoader[str, int] = DataLoader(
            partial(agents.container_counts, session)
        )
        self._connections: dict[Hashable, DataLoader[Any, Any]] = {}

    def release(self) -> None:
        """Drop every cached value and loader (see RequestContext.release)."""
        for loader in (*vars(self).values(), *self._connections.values()):
            if isinstance(loader, DataLoader):
                loader.clear_all()
        self._connections.clear()

    def connection(
        self, key: Hashable, batch: Callable[[list[Any]], Coroutine[Any, Any, list[Any]]]
    ) -> DataLoader[Any, Any]:
        """The loader of one nested connection field with one set of arguments: the pages of
        all its parents in this request come from one statement."""
        loader = self._connections.get(key)
        if loader is None:
            loader = self._connections[key] = DataLoader(batch)
        return loader
