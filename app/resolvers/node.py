"""The Node interface: global IDs to objects, batched per type through the loaders."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from ariadne import InterfaceType

from app.context import RequestContext
from app.errors import InvalidParameters
from app.ids import decode_global_id
from app.records import ResourceSlotType

Fetch = Callable[[RequestContext, str], Awaitable[object | None]]

# Type name -> how to load a raw id of it. Each goes through a per-request DataLoader, so
# any number of IDs of one type cost one statement.
_FETCHERS: Mapping[str, Fetch] = {
    "ResourceSlotType": lambda context, raw: context.loaders.slot_type.load(raw),
}

_TYPE_NAMES: Mapping[type, str] = {
    ResourceSlotType: "ResourceSlotType",
}

node = InterfaceType("Node")


@node.type_resolver
def resolve_node_type(obj: Any, *_: Any) -> str:
    return _TYPE_NAMES[type(obj)]


def _parse(global_id: str) -> tuple[Fetch, str]:
    type_name, raw_id = decode_global_id(global_id)
    fetch = _FETCHERS.get(type_name)
    if fetch is None:
        known = ", ".join(sorted(_FETCHERS))
        raise InvalidParameters(
            f"Invalid global ID {global_id!r}: {type_name!r} is not a node type (known: {known})."
        )
    return fetch, raw_id


async def resolve_global_id(context: RequestContext, global_id: str) -> object | None:
    fetch, raw_id = _parse(global_id)
    return await fetch(context, raw_id)


async def resolve_global_ids(
    context: RequestContext, global_ids: Sequence[str]
) -> list[object | None]:
    # Decode every ID first: one malformed ID fails the field before any SQL runs.
    parsed = [_parse(global_id) for global_id in global_ids]
    return list(await asyncio.gather(*(fetch(context, raw) for fetch, raw in parsed)))
