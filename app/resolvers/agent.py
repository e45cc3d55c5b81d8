"""AgentV2 and the objects it is made of. The info objects are views of the agent record
itself; amounts are shown as exact decimal strings."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import orjson
from aiodataloader import DataLoader
from ariadne import ObjectType

from app.context import Info, context_of
from app.execution import loads_per_parent, source_only
from app.ids import encode_global_id
from app.records import Agent, free_amount
from app.repositories import agent_resources, kernels
from app.resolvers.connection import nested_by_id, resolve_nested_connection
from app.resolvers.scalars import remembered_decimal_text, serialize_decimal
from app.resolvers.views import itself

agent = ObjectType("AgentV2")
agent_system_info = ObjectType("AgentSystemInfo")


@agent.field("id")
@source_only
def resolve_id(obj: Agent, _: Info) -> str:
    return encode_global_id("AgentV2", obj.id)


agent.set_field("statusInfo", itself)
agent.set_field("systemInfo", itself)
agent.set_field("networkInfo", itself)


def _resource_info(slots: list[tuple[str, Decimal, Decimal]]) -> dict[str, dict[str, str]]:
    # From each slot's (name, capacity, used), in one pass, and each amount's text taken
    # from the remembered texts without a call when it is there: what serialize_decimal
    # gives.
    known = remembered_decimal_text
    capacity: dict[str, str] = {}
    used: dict[str, str] = {}
    free: dict[str, str] = {}
    for name, capacity_amount, used_amount in slots:
        amount = capacity_amount
        capacity[name] = known(str(amount)) or serialize_decimal(amount)
        amount = used_amount
        used[name] = known(str(amount)) or serialize_decimal(amount)
        amount = free_amount(capacity_amount, used_amount)
        free[name] = known(str(amount)) or serialize_decimal(amount)
    return {"capacity": capacity, "used": used, "free": free}


_RESOURCE_INFO = ("AgentV2.resourceInfo",)


def _resource_info_loader(info: Info) -> DataLoader[str, dict[str, dict[str, str]]]:
    """The agents' capacity/used/free maps, for every agent of the request in one
    statement (the loader's value is the field's value: no coroutine per agent)."""
    context = context_of(info)

    # Reached only through an AgentV2 object, which only superadmins ever get.
    async def batch(agent_ids: list[str]) -> list[dict[str, dict[str, str]]]:
        grouped = await agent_resources.amounts_by_agents(context.session, agent_ids)
        return [_resource_info(slots) for slots in grouped]

    loader: DataLoader[str, dict[str, dict[str, str]]] = context.loaders.connection(
        _RESOURCE_INFO, batch
    )
    return loader


def _prepare_resource_info(info: Info, _args: dict[str, Any]) -> Callable[[Agent], Any]:
    load = _resource_info_loader(info).load

    def load_info(parent: Agent) -> Any:
        return load(parent.id)

    return load_info


@agent.field("resourceInfo")
@loads_per_parent(_prepare_resource_info)
def resolve_resource_info(obj: Agent, info: Info) -> Awaitable[dict[str, dict[str, str]]]:
    return _resource_info_loader(info).load(obj.id)


def _prepare_container_count(info: Info, _args: dict[str, Any]) -> Callable[[Agent], Any]:
    load = context_of(info).loaders.container_count.load

    def count(parent: Agent) -> int | Awaitable[int]:
        # Counted by the agents page's own statement when it listed this agent; else batched.
        if parent.container_count is not None:
            return parent.container_count
        return load(parent.id)

    return count


@agent.field("containerCount")
@loads_per_parent(_prepare_container_count)
def resolve_container_count(obj: Agent, info: Info) -> int | Awaitable[int]:
    count: int | Awaitable[int] = _prepare_container_count(info, {})(obj)
    return count


@agent.field("kernels")
@loads_per_parent(nested_by_id(kernels.CONNECTION, "AgentV2", "kernels"))
def resolve_kernels(obj: Agent, info: Info, **args: Any) -> Awaitable[dict[str, Any]]:
    return resolve_nested_connection(info, kernels.CONNECTION, args, obj.id)


@agent.field("resourceSlots")
@loads_per_parent(nested_by_id(agent_resources.CONNECTION, "AgentV2", "resourceSlots"))
def resolve_resource_slots(obj: Agent, info: Info, **args: Any) -> Awaitable[dict[str, Any]]:
    return resolve_nested_connection(info, agent_resources.CONNECTION, args, obj.id)


def compact_json(value: Any) -> str:
    """A plugin's value as compact JSON text. orjson refuses integers beyond 64 bits (a
    JSONB value may hold one); the json module writes them, in the same compact form."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


@agent_system_info.field("computePlugins")
@source_only
def resolve_compute_plugins(obj: Agent, _: Info) -> dict[str, list[dict[str, str]]]:
    return {
        "entries": [
            {"plugin_name": name, "value": compact_json(value)}
            for name, value in sorted(obj.compute_plugins.items())
        ]
    }
