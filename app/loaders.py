"""Per-request DataLoaders, one per key shape: every lookup of one type in one request
becomes one SQL statement. Built per request because aiodataloader binds the running loop."""

from __future__ import annotations

from asyncio import Future, Task, gather
from collections.abc import Callable, Coroutine, Hashable, Mapping, Sequence
from functools import cached_property, partial
from typing import Any
from uuid import UUID

from aiodataloader import DataLoader, dispatch_queue_batch
from aiodataloader import Loader as _Queued
from sqlalchemy.sql import ColumnElement

from app.aio import running_loop
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
from app.repositories.base import ConnectionSpec

_new_tuple = tuple.__new__


async def _absent(keys: list[Any]) -> list[Any]:
    return [None] * len(keys)


class _Loader(DataLoader[Any, Any]):
    """aiodataloader's DataLoader with the default options this service uses (batching,
    caching, keys as their own cache keys) and a shorter `load`: a page of 100 kernels
    loads 100 allocation pages, and the general `load` (a cache-key function, option
    checks, a second method call) was most of each load's cost. Its dispatch takes the
    queue when aiodataloader's does (two steps of the event loop after the first load; see
    tests/unit/test_loaders.py) with one task instead of two, and the loop it is made on without asking asyncio (see
    app.aio). Batch failures and everything else are DataLoader's own."""

    def __init__(
        self, batch_load_fn: Callable[[list[Any]], Coroutine[Any, Any, list[Any]]]
    ) -> None:
        super().__init__(batch_load_fn, loop=running_loop())

    # Values known before any load (see `Loaders.settle`): `load` gives them as they are.
    known: dict[Any, Any] | None = None

    def load(self, key: Any) -> Future[Any]:
        known = self.known
        if known is not None:
            value = known.get(key)
            if value is not None:
                return value  # type: ignore[no-any-return]
        cache = self._cache
        future: Future[Any] | None = cache.get(key)
        if future is not None:
            return future
        if key is None:
            return super().load(key)  # DataLoader's own error for it
        future = cache[key] = self.loop.create_future()
        queue = self._queue
        # The queue entry as aiodataloader's namedtuple, built without its keyword-argument
        # constructor (~1 µs a load, a tenth of a `nodes` request's hundred loads).
        queue.append(_new_tuple(_Queued, (key, future)))
        if len(queue) == 1:
            self.loop.call_soon(self._soon)
        return future

    def _soon(self) -> None:
        self.loop.call_soon(self._dispatch)

    def _dispatch(self) -> None:
        # aiodataloader's dispatch_queue, for a loader without a maximum batch size.
        queue, self._queue = self._queue, []
        self.loop.create_task(dispatch_queue_batch(self, queue))


async def batch_at_dispatch(
    batches: Sequence[tuple[Callable[[list[Any]], Coroutine[Any, Any, list[Any]]], list[Any]]],
) -> list[list[Any]]:
    """Each of `batches` (a loader's batch function and keys) called as a loader dispatches
    its queue, in the step the loads made in this step are dispatched (two steps on, each
    batch a task of its own: see `_Loader`): a caller that knows all its keys at once needs
    no future per key, and its statements still join those of the loads of its step (see
    RequestSession.fetch_lookup). The values in each batch's key order; the first failure
    is raised, and cancelling the caller cancels the batches."""
    loop = running_loop()
    started: Future[list[Task[list[Any]]]] = loop.create_future()

    def start() -> None:
        if not started.cancelled():
            started.set_result([loop.create_task(fn(keys)) for fn, keys in batches])

    loop.call_soon(loop.call_soon, start)
    return list(await gather(*await started))


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
        return _Loader(partial(resource_slot_types.fetch_by_names, self._session))

    # Agents (and their slots) are all or nothing by role: for the others no statement
    # runs at all.

    @cached_property
    def agent(self) -> DataLoader[str, Agent | None]:
        sees = self._caller.sees_agents
        return _Loader(partial(agents.fetch_by_ids, self._session) if sees else _absent)

    @cached_property
    def agent_slot(self) -> DataLoader[tuple[str, str], AgentResourceSlot | None]:
        sees = self._caller.sees_agents
        return _Loader(partial(agent_resources.fetch_by_keys, self._session) if sees else _absent)

    @cached_property
    def kernel(self) -> DataLoader[UUID, Kernel | None]:
        return _Loader(partial(kernels.fetch_by_ids, self._session, self._caller))

    @cached_property
    def allocation(self) -> DataLoader[tuple[UUID, str], KernelResourceAllocation | None]:
        return _Loader(partial(resource_allocations.fetch_by_keys, self._session, self._caller))

    def agent_reading(self, node_fields: frozenset[str]) -> DataLoader[str, Agent | None]:
        """The agent loader for a lookup whose query selects `node_fields` on the agent: its
        statement selects only the columns those fields read (the shared `agent` loader
        when that is every column, or when the caller sees no agents)."""
        fetch = partial(agents.fetch_by_ids, self._session)
        sees = self._caller.sees_agents
        return self._reading(
            "agent", agents.CONNECTION, node_fields, fetch, lambda: self.agent, sees
        )

    def slot_type_reading(
        self, node_fields: frozenset[str]
    ) -> DataLoader[str, ResourceSlotType | None]:
        """`agent_reading` for slot types."""
        fetch = partial(resource_slot_types.fetch_by_names, self._session)
        spec = resource_slot_types.CONNECTION
        return self._reading("slot_type", spec, node_fields, fetch, lambda: self.slot_type)

    def agent_slot_reading(
        self, node_fields: frozenset[str]
    ) -> DataLoader[tuple[str, str], AgentResourceSlot | None]:
        """`agent_reading` for agents' slots."""
        fetch = partial(agent_resources.fetch_by_keys, self._session)
        spec, sees = agent_resources.CONNECTION, self._caller.sees_agents
        return self._reading("agent_slot", spec, node_fields, fetch, lambda: self.agent_slot, sees)

    def allocation_reading(
        self, node_fields: frozenset[str]
    ) -> DataLoader[tuple[UUID, str], KernelResourceAllocation | None]:
        """`agent_reading` for kernels' allocations."""
        fetch = partial(resource_allocations.fetch_by_keys, self._session, self._caller)
        spec = resource_allocations.CONNECTION
        return self._reading("allocation", spec, node_fields, fetch, lambda: self.allocation)

    def kernel_reading(self, node_fields: frozenset[str]) -> DataLoader[UUID, Kernel | None]:
        """`agent_reading` for kernels."""
        fetch = partial(kernels.fetch_by_ids, self._session, self._caller)
        return self._reading("kernel", kernels.CONNECTION, node_fields, fetch, lambda: self.kernel)

    def _reading(
        self,
        kind: str,
        spec: ConnectionSpec[Any],
        node_fields: frozenset[str],
        fetch: Callable[..., Coroutine[Any, Any, list[Any]]],
        shared: Callable[[], DataLoader[Any, Any]],
        visible: bool = True,
    ) -> DataLoader[Any, Any]:
        """The loader of `kind` whose statement reads the columns of `node_fields` (see
        `agent_reading`): `shared()` when that is every column, or when the caller may see
        none of them (agents and their slots are all or nothing by role: the shared loader
        runs no statement then)."""
        columns = spec.lookup_columns(node_fields)
        if columns is None or not visible:
            return shared()
        return self._narrowed(kind, columns, fetch)

    def _narrowed(
        self,
        kind: str,
        columns: tuple[ColumnElement[Any], ...],
        fetch: Callable[..., Coroutine[Any, Any, list[Any]]],
    ) -> DataLoader[Any, Any]:
        key = ("lookup", kind, *(column.name for column in columns))
        loader = self._connections.get(key)
        if loader is None:
            loader = self._connections[key] = _Loader(partial(fetch, columns=columns))
        return loader

    @cached_property
    def container_count(self) -> DataLoader[str, int]:
        return _Loader(partial(agents.container_counts, self._session))

    def release(self) -> None:
        """Drop every cached value and loader (see RequestContext.release)."""
        for loader in (*vars(self).values(), *self._connections.values()):
            if isinstance(loader, DataLoader):
                loader.clear_all()
            if isinstance(loader, _Loader):
                loader.known = None
        self._connections.clear()

    def connection(
        self, key: Hashable, batch: Callable[[list[Any]], Coroutine[Any, Any, list[Any]]]
    ) -> DataLoader[Any, Any]:
        """The loader of one nested connection field with one set of arguments: the pages of
        all its parents in this request come from one statement."""
        loader = self._connections.get(key)
        if loader is None:
            loader = self._connections[key] = _Loader(batch)
        return loader

    def settle(
        self,
        key: Hashable,
        batch: Callable[[list[Any]], Coroutine[Any, Any, list[Any]]],
        values: Mapping[Any, Any],
    ) -> None:
        """Give the loader of `key` (see `connection`) `values` by key, fetched already (a
        root connection's statement fetched its nodes' nested pages): their loads return
        them at once, with no future and no batch; any other key loads as before."""
        loader = self.connection(key, batch)
        assert isinstance(loader, _Loader)
        if loader.known is None:
            loader.known = {}
        loader.known.update(values)
