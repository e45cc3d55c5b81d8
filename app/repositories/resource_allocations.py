from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from sqlalchemy.sql import ColumnElement

from app.auth import Caller
from app.db import RequestSession
from app.filters import string_filter, value_filter
from app.pagination import Kind, SortKey
from app.records import KernelResourceAllocation
from app.repositories.base import ConnectionSpec, RecordReader, fetch_by_pairs
from app.tables import kernels
from app.tables import resource_allocations as t

COLUMNS = (t.c.kernel_id, t.c.slot_name, t.c.requested, t.c.used)


to_record = RecordReader(KernelResourceAllocation)


SLOT_NAME = SortKey("SLOT_NAME", t.c.slot_name, Kind.STRING)

CONNECTION = ConnectionSpec(
    name="KernelResourceAllocation",
    source=t,
    columns=COLUMNS,
    sort_keys={
        "SLOT_NAME": SLOT_NAME,
        "REQUESTED": SortKey("REQUESTED", t.c.requested, Kind.DECIMAL),
        # Null until measured: last ascending, first descending.
        "USED": SortKey("USED", t.c.used, Kind.DECIMAL, nullable=True),
    },
    tiebreak=(SLOT_NAME,),
    default_order=(("SLOT_NAME", False),),
    filter_type="KernelResourceAllocationFilter",
    filter_fields={
        "slot_name": string_filter(t.c.slot_name),
        "requested": value_filter(t.c.requested, kind="DecimalFilter"),
        "used": value_filter(t.c.used, nullable=True, kind="DecimalFilter"),
    },
    to_record=to_record,
    parent_column=t.c.kernel_id,
    # As agent_resources': a page reads its kernel's id only for the global IDs.
    field_columns={
        "id": ("kernel_id", "slot_name"),
        "slotName": ("slot_name",),
        "requested": ("requested",),
        "used": ("used",),
        "slotType": ("slot_name",),
    },
    always=("slot_name",),
    lookup_always=("kernel_id", "slot_name"),
)


# Allocations with their kernel, whose row the caller's scope reads. One object: a lookup's
# statement shape is keyed by its source's identity, so a join built per call made every
# scoped lookup a new shape, compiled again in every request.
_WITH_KERNEL = t.join(kernels, kernels.c.id == t.c.kernel_id)


async def fetch_by_keys(
    session: RequestSession,
    caller: Caller,
    keys: Sequence[tuple[UUID, str]],
    columns: Sequence[ColumnElement[Any]] = COLUMNS,
) -> list[KernelResourceAllocation | None]:
    """Allocations by key; one of a kernel the caller may not see is absent. `columns` those
    the lookup's selection reads (see ConnectionSpec.lookup_columns)."""
    visible = caller.kernel_scope()
    return await fetch_by_pairs(
        session,
        t if visible is None else _WITH_KERNEL,
        columns,
        (t.c.kernel_id, t.c.slot_name),
        keys,
        to_record,
        lambda r: (r.kernel_id, r.slot_name),
        visible,
    )
