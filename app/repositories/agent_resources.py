from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy.sql import ColumnElement

from app.db import RequestSession
from app.filters import string_filter, value_filter
from app.pagination import Kind, SortKey
from app.records import AgentResourceSlot
from app.repositories.base import ConnectionSpec, RecordReader, fetch_by_pairs, result_by_keys
from app.tables import agent_resources as t

COLUMNS = (t.c.agent_id, t.c.slot_name, t.c.capacity, t.c.used)


to_record = RecordReader(AgentResourceSlot)


SLOT_NAME = SortKey("SLOT_NAME", t.c.slot_name, Kind.STRING)

CONNECTION = ConnectionSpec(
    name="AgentResourceSlot",
    source=t,
    columns=COLUMNS,
    sort_keys={
        "SLOT_NAME": SLOT_NAME,
        "CAPACITY": SortKey("CAPACITY", t.c.capacity, Kind.DECIMAL),
        "USED": SortKey("USED", t.c.used, Kind.DECIMAL),
    },
    # Unique within one agent, which is the only scope this connection has.
    tiebreak=(SLOT_NAME,),
    default_order=(("SLOT_NAME", False),),
    filter_type="AgentResourceSlotFilter",
    filter_fields={
        "slot_name": string_filter(t.c.slot_name),
        "capacity": value_filter(t.c.capacity, kind="DecimalFilter"),
        "used": value_filter(t.c.used, kind="DecimalFilter"),
    },
    to_record=to_record,
    parent_column=t.c.agent_id,
    # A page reads its agent's id only for the slots' global IDs (its rows are each
    # agent's already); a lookup maps its rows back by agent and slot name.
    field_columns={
        "id": ("agent_id", "slot_name"),
        "slotName": ("slot_name",),
        "capacity": ("capacity",),
        "used": ("used",),
        "free": ("capacity", "used"),
        "slotType": ("slot_name",),
    },
    always=("slot_name",),
    lookup_always=("agent_id", "slot_name"),
)


async def fetch_by_keys(
    session: RequestSession,
    keys: Sequence[tuple[str, str]],
    columns: Sequence[ColumnElement[Any]] = COLUMNS,
) -> list[AgentResourceSlot | None]:
    """Slots by (agent, slot name); `columns` those the lookup's selection reads (see
    ConnectionSpec.lookup_columns)."""
    return await fetch_by_pairs(
        session,
        t,
        columns,
        (t.c.agent_id, t.c.slot_name),
        keys,
        to_record,
        lambda r: (r.agent_id, r.slot_name),
    )


async def amounts_by_agents(
    session: RequestSession, agent_ids: Sequence[str]
) -> list[list[tuple[str, Decimal, Decimal]]]:
    """Every slot of each agent as (slot name, capacity, used), in slot name order (for its
    resourceInfo maps): one statement, the values read from its rows without a record."""
    grouped: dict[str, list[tuple[str, Decimal, Decimal]]] = {a: [] for a in agent_ids}
    rows = await result_by_keys(
        session, COLUMNS, t.c.agent_id, list(grouped), order_by=(t.c.slot_name,)
    )
    if rows:
        read = rows.getter(("agent_id", "slot_name", "capacity", "used"))
        for agent_id, slot_name, capacity, used in map(read, rows):
            grouped[agent_id].append((slot_name, capacity, used))
    return [grouped[agent_id] for agent_id in agent_ids]
