from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql import ColumnElement

from app.db import RequestSession
from app.filters import string_filter
from app.pagination import Kind, SortKey
from app.records import NumberFormat, ResourceSlotType
from app.repositories.base import ConnectionSpec, RecordReader, fetch_by_keys
from app.tables import resource_slot_types as t

COLUMNS = (
    t.c.slot_name,
    t.c.slot_type,
    t.c.display_name,
    t.c.description,
    t.c.display_unit,
    t.c.display_icon,
    # As its JSON text: the registry holds a handful of distinct formats, each parsed once.
    sa.type_coerce(t.c.number_format, sa.Text).label("number_format"),
    t.c.rank,
)


@functools.lru_cache(maxsize=256)
def _number_format(text: str | None) -> NumberFormat:
    number_format = (json.loads(text) if text is not None else None) or {}
    return NumberFormat(
        binary=bool(number_format.get("binary", False)),
        round_length=int(number_format.get("round_length", 0)),
    )


_CONVERTERS = {"number_format": _number_format}


to_record = RecordReader(ResourceSlotType, _CONVERTERS)


SLOT_NAME = SortKey("SLOT_NAME", t.c.slot_name, Kind.STRING)

# Slot types are global: every caller sees the whole registry, so there is no scope.
CONNECTION = ConnectionSpec(
    name="ResourceSlotType",
    source=t,
    columns=COLUMNS,
    sort_keys={
        "SLOT_NAME": SLOT_NAME,
        "RANK": SortKey("RANK", t.c.rank, Kind.INT),
        "DISPLAY_NAME": SortKey("DISPLAY_NAME", t.c.display_name, Kind.STRING),
    },
    tiebreak=(SLOT_NAME,),
    default_order=(("RANK", False),),
    filter_type="ResourceSlotTypeFilter",
    filter_fields={
        "slot_name": string_filter(t.c.slot_name),
        "slot_type": string_filter(t.c.slot_type),
        "display_name": string_filter(t.c.display_name),
    },
    to_record=to_record,
    # A UI's list reads a few of the registry's columns; `description` and `displayIcon`,
    # long texts, only when asked for.
    field_columns={
        "id": ("slot_name",),
        "slotName": ("slot_name",),
        "slotType": ("slot_type",),
        "displayName": ("display_name",),
        "description": ("description",),
        "displayUnit": ("display_unit",),
        "displayIcon": ("display_icon",),
        "numberFormat": ("number_format",),
        "rank": ("rank",),
    },
    always=("slot_name",),
)


async def fetch_by_names(
    session: RequestSession,
    names: Sequence[str],
    columns: Sequence[ColumnElement[Any]] = COLUMNS,
) -> list[ResourceSlotType | None]:
    """Slot types by name; `columns` those the lookup's selection reads (see
    ConnectionSpec.lookup_columns)."""
    return await fetch_by_keys(
        session, columns, t.c.slot_name, names, to_record, lambda r: r.slot_name
    )
