from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from app.db import RequestSession, Row
from app.filters import Expression, any_of, entity_filter, string_filter
from app.pagination import (
    ConnectionQuery,
    Kind,
    Ordering,
    PageRequest,
    Slice,
    SortKey,
    build_select,
)
from app.pagination import resolve_order as _resolve_order
from app.records import NumberFormat, ResourceSlotType
from app.tables import resource_slot_types as t

CONNECTION = "ResourceSlotType"

SORT_KEYS: Mapping[str, SortKey] = {
    "SLOT_NAME": SortKey("SLOT_NAME", t.c.slot_name, Kind.STRING),
    "RANK": SortKey("RANK", t.c.rank, Kind.INT),
    "DISPLAY_NAME": SortKey("DISPLAY_NAME", t.c.display_name, Kind.STRING),
}
TIEBREAK = (SORT_KEYS["SLOT_NAME"],)
DEFAULT_ORDER = (("RANK", False),)

FILTER_FIELDS = {
    "slot_name": string_filter(t.c.slot_name),
    "slot_type": string_filter(t.c.slot_type),
    "display_name": string_filter(t.c.display_name),
}

COLUMNS = (
    t.c.slot_name,
    t.c.slot_type,
    t.c.display_name,
    t.c.description,
    t.c.display_unit,
    t.c.display_icon,
    t.c.number_format,
    t.c.rank,
)


def to_record(row: Row) -> ResourceSlotType:
    number_format: dict[str, Any] = row["number_format"] or {}
    return ResourceSlotType(
        slot_name=row["slot_name"],
        slot_type=row["slot_type"],
        display_name=row["display_name"],
        description=row["description"],
        display_unit=row["display_unit"],
        display_icon=row["display_icon"],
        number_format=NumberFormat(
            binary=bool(number_format.get("binary", False)),
            round_length=int(number_format.get("round_length", 0)),
        ),
        rank=row["rank"],
    )


def resolve_order(requested: Sequence[tuple[str, bool]]) -> Ordering:
    return _resolve_order(CONNECTION, requested, SORT_KEYS, TIEBREAK, DEFAULT_ORDER)


def build_filter(spec: Mapping[str, Any] | None) -> Expression | None:
    return entity_filter(spec, FILTER_FIELDS, "ResourceSlotTypeFilter")


async def fetch_page(
    session: RequestSession,
    where: Expression | None,
    ordering: Ordering,
    page: PageRequest,
    *,
    want_count: bool,
    want_opposite: bool,
) -> Slice[ResourceSlotType]:
    """Slot types are global: every caller sees the whole registry, so the scope is empty."""
    statement, shape = build_select(
        ConnectionQuery(t, COLUMNS, where, ordering, page, want_count, want_opposite), to_record
    )
    [result] = shape(await session.fetch_all(statement))
    return result


async def fetch_by_names(
    session: RequestSession, names: Sequence[str]
) -> list[ResourceSlotType | None]:
    rows = await session.fetch_all(sa.select(*COLUMNS).where(any_of(t.c.slot_name, names)))
    by_name = {row["slot_name"]: to_record(row) for row in rows}
    return [by_name.get(name) for name in names]
