from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ariadne import QueryType

from app.context import Info, context_of
from app.errors import InvalidParameters
from app.records import ResourceSlotType
from app.repositories import resource_slot_types
from app.resolvers.connection import order_terms, page_request, to_connection, wants
from app.resolvers.node import resolve_global_id, resolve_global_ids

query = QueryType()


@query.field("node")
async def resolve_node(_: None, info: Info, id: str) -> object | None:
    return await resolve_global_id(context_of(info), id)


@query.field("nodes")
async def resolve_nodes(_: None, info: Info, ids: Sequence[str]) -> list[object | None]:
    context = context_of(info)
    limit = context.settings.max_page_size
    if len(ids) > limit:
        raise InvalidParameters(
            f"`nodes` takes at most {limit} IDs, got {len(ids)}; split the request."
        )
    return await resolve_global_ids(context, ids)


@query.field("resourceSlotType")
async def resolve_resource_slot_type(
    _: None, info: Info, slot_name: str
) -> ResourceSlotType | None:
    return await context_of(info).loaders.slot_type.load(slot_name)


@query.field("resourceSlotTypes")
async def resolve_resource_slot_types(
    _: None,
    info: Info,
    filter: Mapping[str, Any] | None = None,
    order_by: Sequence[Mapping[str, Any]] | None = None,
    **pagination: Any,
) -> dict[str, Any]:
    context = context_of(info)
    # Every argument is checked before any SQL runs.
    page = page_request(pagination, context.settings)
    ordering = resource_slot_types.resolve_order(order_terms(order_by))
    where = resource_slot_types.build_filter(filter)
    selected = wants(info)
    result = await resource_slot_types.fetch_page(
        context.session,
        where,
        ordering,
        page,
        want_count=selected.count,
        want_opposite=selected.opposite(page),
    )
    return to_connection(result)
