"""Per-request DataLoaders, one per key shape: every lookup of one type in one request
becomes one SQL statement. Built per request because aiodataloader binds the running loop."""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Hashable
from functools import cached_property, partial
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
    """Every loader answers for one caller: what it may not see is absent (None). Each is
    made on first use: most requests need one or two of them, and a DataLoader binds the
    running loop when it is made."""

    def __init__(self, session: RequestSession, caller: Caller) -> None:
        self._session = session
        self._caller = caller
        self._connections: dict[Hashable, DataLoader[Any, Any]] = {}

    @cached_property
    def slot_type(self) -> DataLoader[str, ResourceSlotType | None]:
        return DataLoader(partial(resource_slot_types.fetch_by_names, self._session))

    # Agents (and their slots) are all or nothing by role: for the others no statement
    # runs at all.

    @cached_property
    def agent(self) -> DataLoader[str, Agent | None]:
        sees = self._caller.sees_agents
        return DataLoader(partial(agents.fetch_by_ids, self._session) if sees else _absent)

    @cached_property
    def agent_slot(self) -> DataLoader[tuple[str, str], AgentResourceSlot | None]:
        sees = self._caller.sees_agents
        return DataLoader(
            partial(agent_resources.fetch_by_keys, self._session) if sees else _absent
        )

    @cached_property
    def kernel(self) -> DataLoader[UUID, Kernel | None]:
        return DataLoader(partial(kernels.fetch_by_ids, self._session, self._caller))

    @cached_property
    def allocation(self) -> DataLoader[tuple[UUID, str], KernelResourceAllocation | None]:
        return DataLoader(partial(resource_allocations.fetch_by_keys, self._session, self._caller))

    @cached_property
    def container_count(self) -> DataLoader[str, int]:
        return DataLoader(partial(agents.container_counts, self._session))

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
