"""The Node interface: global IDs to objects, batched per type through the loaders."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ariadne import InterfaceType

from app.context import RequestContext
from app.errors import InvalidParameters
from app.execution import source_only
from app.ids import decode_global_id
from app.records import (
    Agent,
    AgentResourceSlot,
    Kernel,
    KernelResourceAllocation,
    ResourceSlotType,
)


class _BadRawId(ValueError):
    pass


def _text(raw: str) -> str:
    if "\x00" in raw:
        raise _BadRawId("contains a NUL character")
    return raw


def _uuid(raw: str) -> uuid.UUID:
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise _BadRawId(f"{raw!r} is not a UUID") from None


def _pair(raw: str) -> tuple[str, str]:
    # Agent ids never contain ':', slot names may: split on the first one only.
    owner, sep, slot_name = _text(raw).partition(":")
    if not sep or not owner or not slot_name:
        raise _BadRawId(f"{raw!r} is not '<owner>:<slot name>'")
    return owner, slot_name


def _uuid_pair(raw: str) -> tuple[uuid.UUID, str]:
    owner, slot_name = _pair(raw)
    return _uuid(owner), slot_name


@dataclass(frozen=True)
class _NodeType:
    parse: Callable[[str], Any]
    load: Callable[[RequestContext, Any], Awaitable[object | None]]


# Type name -> how to read its raw id and load it. Each load goes through a per-request
# DataLoader, so any number of IDs of one type cost one statement.
_NODE_TYPES: Mapping[str, _NodeType] = {
    "ResourceSlotType": _NodeType(_text, lambda c, key: c.loaders.slot_type.load(key)),
    "AgentV2": _NodeType(_text, lambda c, key: c.loaders.agent.load(key)),
    "KernelV2": _NodeType(_uuid, lambda c, key: c.loaders.kernel.load(key)),
    "AgentResourceSlot": _NodeType(_pair, lambda c, key: c.loaders.agent_slot.load(key)),
    "KernelResourceAllocation": _NodeType(
        _uuid_pair, lambda c, key: c.loaders.allocation.load(key)
    ),
}

_TYPE_NAMES: Mapping[type, str] = {
    ResourceSlotType: "ResourceSlotType",
    Agent: "AgentV2",
    Kernel: "KernelV2",
    AgentResourceSlot: "AgentResourceSlot",
    KernelResourceAllocation: "KernelResourceAllocation",
}

node = InterfaceType("Node")


@node.type_resolver
@source_only
def resolve_node_type(obj: Any, *_: Any) -> str:
    return _TYPE_NAMES[type(obj)]


# A client asks for the same IDs again and again (a UI refreshing what it shows): decoding
# one (base64 checked against its alphabet, the text split, a UUID parsed) took ~3 µs, 100
# per `nodes` request. Parsing is pure, so its results are remembered; a malformed ID raises
# every time (lru_cache keeps no exceptions).
@functools.lru_cache(maxsize=8192)
def _parse(global_id: str) -> tuple[_NodeType, Any]:
    type_name, raw_id = decode_global_id(global_id)
    node_type = _NODE_TYPES.get(type_name)
    if node_type is None:
        known = ", ".join(sorted(_NODE_TYPES))
        raise InvalidParameters(
            f"Invalid global ID {global_id!r}: {type_name!r} is not a node type (known: {known})."
        )
    try:
        return node_type, node_type.parse(raw_id)
    except _BadRawId as error:
        raise InvalidParameters(
            f"Invalid global ID {global_id!r}: its {type_name} id {error}. "
            "Use an `id` value returned by this API."
        ) from None


async def resolve_global_id(context: RequestContext, global_id: str) -> object | None:
    node_type, key = _parse(global_id)
    return await node_type.load(context, key)


async def resolve_global_ids(
    context: RequestContext, global_ids: Sequence[str]
) -> list[object | None]:
    # Decode every ID first: one malformed ID fails the field before any SQL runs.
    parsed = [_parse(global_id) for global_id in global_ids]
    # Every load is asked for before any is awaited, so the loaders batch them; each type's
    # batch settles all of its loads at once, so the awaits below wait once per batch, not
    # once per ID (asyncio.gather watched each of them with a callback of its own). The
    # first failing ID in the list fails the field.
    loads = [t.load(context, key) for t, key in parsed]
    return [await load for load in loads]
