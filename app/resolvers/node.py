"""The Node interface: global IDs to objects, batched per type through the loaders."""

from __future__ import annotations

import functools
import operator
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ariadne import InterfaceType
from graphql import FieldNode, GraphQLNamedType, GraphQLObjectType, is_abstract_type

from app.context import Info, RequestContext, context_of
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
from app.resolvers.connection import field_nodes


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


Load = Callable[[Any], Awaitable[object | None]]


@dataclass(frozen=True, eq=False)  # hashed by identity: one dict lookup per ID
class _NodeType:
    parse: Callable[[str], Any]
    # The load of one key, for a lookup whose query selects the given fields on the node.
    loader: Callable[[RequestContext, frozenset[str]], Load]
    # Whether the loader narrows its statement to the selected fields' columns.
    narrows: bool = False


# Type name -> how to read its raw id and load it. Each load goes through a per-request
# DataLoader, so any number of IDs of one type (and one selection) cost one statement.
_NODE_TYPES: Mapping[str, _NodeType] = {
    "ResourceSlotType": _NodeType(_text, lambda c, _: c.loaders.slot_type.load),
    "AgentV2": _NodeType(_text, lambda c, fields: c.loaders.agent_reading(fields).load, True),
    "KernelV2": _NodeType(_uuid, lambda c, fields: c.loaders.kernel_reading(fields).load, True),
    "AgentResourceSlot": _NodeType(_pair, lambda c, _: c.loaders.agent_slot.load),
    "KernelResourceAllocation": _NodeType(_uuid_pair, lambda c, _: c.loaders.allocation.load),
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


# What a field's selection selects on each node type, shared by the requests of a cached
# document (the nodes and fragments are the document's). Keyed by the field nodes'
# identities and the type; the entry keeps the nodes, so the ids stay theirs. Bounded.
_SELECTED: dict[tuple[str, tuple[int, ...]], tuple[tuple[FieldNode, ...], frozenset[str]]] = {}
_SELECTED_SIZE = 4096


def selected_fields(info: Info, type_name: str) -> frozenset[str]:
    """The names of the fields `info`'s field selects on objects of `type_name`: its own
    selections and those of fragments whose type condition the type meets. Directives are
    ignored: at worst a column is read that @skip then drops."""
    nodes = tuple(info.field_nodes)
    key = (type_name, tuple(map(id, nodes)))
    known = _SELECTED.get(key)
    if known is not None and all(map(operator.is_, known[0], nodes)):
        return known[1]
    object_type = info.schema.get_type(type_name)

    def meets(condition: str) -> bool:
        return _meets(info, condition, object_type)

    names = {
        field.name.value for node in nodes for field in field_nodes(node.selection_set, info, meets)
    }
    found = frozenset(names)
    if len(_SELECTED) >= _SELECTED_SIZE:
        _SELECTED.clear()
    _SELECTED[key] = (nodes, found)
    return found


def _meets(info: Info, condition: str, object_type: GraphQLNamedType | None) -> bool:
    if object_type is None:
        return True  # not expected: reading more columns is always safe
    if condition == object_type.name:
        return True
    abstract = info.schema.get_type(condition)
    return (
        isinstance(object_type, GraphQLObjectType)
        and is_abstract_type(abstract)
        and info.schema.is_sub_type(abstract, object_type)
    )


async def resolve_global_id(info: Info, global_id: str) -> object | None:
    node_type, key = _parse(global_id)
    return await _load_of(info, node_type)(key)


def _load_of(info: Info, node_type: _NodeType) -> Load:
    fields = selected_fields(info, _NAMES[node_type]) if node_type.narrows else frozenset()
    return node_type.loader(context_of(info), fields)


_NAMES = {node_type: name for name, node_type in _NODE_TYPES.items()}


async def resolve_global_ids(info: Info, global_ids: Sequence[str]) -> list[object | None]:
    # Decode every ID first: one malformed ID fails the field before any SQL runs.
    parsed = [_parse(global_id) for global_id in global_ids]
    # Every load is asked for before any is awaited, so the loaders batch them; each type's
    # batch settles all of its loads at once, so the awaits below wait once per batch, not
    # once per ID (asyncio.gather watched each of them with a callback of its own). The
    # first failing ID in the list fails the field.
    loaders: dict[_NodeType, Load] = {}
    loads = []
    for node_type, key in parsed:
        load = loaders.get(node_type)
        if load is None:
            load = loaders[node_type] = _load_of(info, node_type)
        loads.append(load(key))
    return [await load for load in loads]
