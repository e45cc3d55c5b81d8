"""The Node interface: global IDs to objects, batched per type through the loaders."""

from __future__ import annotations

import functools
import operator
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aiodataloader import DataLoader
from ariadne import InterfaceType
from graphql import FieldNode, GraphQLNamedType, GraphQLObjectType, is_abstract_type

from app.context import Info, RequestContext, context_of
from app.errors import InvalidParameters
from app.execution import source_only
from app.ids import decode_global_id
from app.loaders import batch_at_dispatch
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


@dataclass(frozen=True, eq=False)  # hashed by identity: one dict lookup per ID
class _NodeType:
    parse: Callable[[str], Any]
    # The loader of keys for a lookup whose query selects the given fields on the node
    # (its statement reads their columns only).
    loader: Callable[[RequestContext, frozenset[str]], DataLoader[Any, Any]]


# Type name -> how to read its raw id and load it. Each load goes through a per-request
# DataLoader, so any number of IDs of one type (and one selection) cost one statement.
_NODE_TYPES: Mapping[str, _NodeType] = {
    "ResourceSlotType": _NodeType(_text, lambda c, f: c.loaders.slot_type_reading(f)),
    "AgentV2": _NodeType(_text, lambda c, f: c.loaders.agent_reading(f)),
    "KernelV2": _NodeType(_uuid, lambda c, f: c.loaders.kernel_reading(f)),
    "AgentResourceSlot": _NodeType(_pair, lambda c, f: c.loaders.agent_slot_reading(f)),
    "KernelResourceAllocation": _NodeType(_uuid_pair, lambda c, f: c.loaders.allocation_reading(f)),
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
    found: object | None = await _loader_of(info, node_type).load(key)
    return found


def _loader_of(info: Info, node_type: _NodeType) -> DataLoader[Any, Any]:
    return node_type.loader(context_of(info), selected_fields(info, _NAMES[node_type]))


_NAMES = {node_type: name for name, node_type in _NODE_TYPES.items()}


async def resolve_global_ids(info: Info, global_ids: Sequence[str]) -> list[object | None]:
    """The objects of `global_ids`, in their order (None where absent or not visible).

    All the keys are known at once, so each type's loader batch is called with its keys
    directly, when the loads of this step dispatch (see `batch_at_dispatch`): their lookups
    run as one statement with those loads' (RequestSession.fetch_lookup). A future per ID,
    its load and the loader's dispatch were a tenth of a `nodes` request of 100 IDs. The
    loaders' per-request caches are not used: an ID asked for again elsewhere in the
    request is looked up again."""
    # Decode every ID first: one malformed ID fails the field before any SQL runs.
    parsed = [_parse(global_id) for global_id in global_ids]
    # Each type's keys, each once, in the order first asked for, and its loader.
    batches: dict[_NodeType, tuple[DataLoader[Any, Any], dict[Any, None]]] = {}
    for node_type, key in parsed:
        batch = batches.get(node_type)
        if batch is None:
            batch = batches[node_type] = (_loader_of(info, node_type), {})
        batch[1][key] = None
    found = await batch_at_dispatch(
        [(loader.batch_load_fn, list(keys)) for loader, keys in batches.values()]
    )
    by_key = {
        node_type: dict(zip(keys, values, strict=True))
        for (node_type, (_, keys)), values in zip(batches.items(), found, strict=True)
    }
    nodes = [by_key[node_type][key] for node_type, key in parsed]
    for value in nodes:
        if isinstance(value, Exception):
            raise value  # a batch's value for a key that failed, as its load raised it
    return nodes
