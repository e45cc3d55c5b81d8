from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql import ColumnElement

from app.auth import Caller
from app.db import RequestSession
from app.filters import any_of, equals_filter, string_filter, value_filter
from app.pagination import Kind, SortKey
from app.records import Agent
from app.repositories.base import ConnectionSpec, RecordReader, fetch_by_keys
from app.tables import KERNEL_UNFINISHED, kernels
from app.tables import agents as t

COLUMNS = (
    t.c.id,
    t.c.status,
    t.c.status_changed,
    t.c.first_contact,
    t.c.lost_at,
    t.c.region,
    t.c.scaling_group,
    t.c.schedulable,
    t.c.addr,
    t.c.architecture,
    t.c.version,
    t.c.compute_plugins,
)


# How many of the agent's kernels are not finished, for the agent of the row it is selected
# with (the partial index on kernels(agent) WHERE unfinished answers it).
CONTAINER_COUNT = (
    sa.select(sa.func.count())
    .select_from(kernels)
    .where(kernels.c.agent == t.c.id, sa.text(KERNEL_UNFINISHED))
    .correlate(t)
    .scalar_subquery()
    .label("container_count")
)


def _compute_plugins(value: dict[str, Any] | None) -> dict[str, Any]:
    return value or {}


_CONVERTERS = {"compute_plugins": _compute_plugins}


to_record = RecordReader(Agent, _CONVERTERS)


ID = SortKey("ID", t.c.id, Kind.STRING)

CONNECTION = ConnectionSpec(
    name="AgentV2",
    source=t,
    columns=COLUMNS,
    sort_keys={
        "ID": ID,
        "STATUS": SortKey("STATUS", t.c.status, Kind.STRING),
        "FIRST_CONTACT": SortKey("FIRST_CONTACT", t.c.first_contact, Kind.DATETIME, nullable=True),
        "SCALING_GROUP": SortKey("SCALING_GROUP", t.c.scaling_group, Kind.STRING),
        "SCHEDULABLE": SortKey("SCHEDULABLE", t.c.schedulable, Kind.BOOL),
    },
    tiebreak=(ID,),
    default_order=(("ID", False),),
    filter_type="AgentFilter",
    filter_fields={
        "id": string_filter(t.c.id),
        "status": value_filter(t.c.status, kind="AgentStatusFilter"),
        "schedulable": equals_filter(t.c.schedulable),
        "scaling_group": string_filter(t.c.scaling_group),
        "region": string_filter(t.c.region),
    },
    to_record=to_record,
    scope=Caller.agent_scope,
    optional_columns={"containerCount": CONTAINER_COUNT},
    field_columns={
        "containerCount": ("id",),
        "id": ("id",),
        "kernels": ("id",),
        "networkInfo": ("addr", "region"),
        "resourceInfo": ("id",),
        "resourceSlots": ("id",),
        "scalingGroup": ("scaling_group",),
        "statusInfo": ("status", "status_changed", "first_contact", "lost_at", "schedulable"),
        "systemInfo": ("architecture", "version", "compute_plugins"),
    },
    always=("id",),
    sub_field_columns={
        "networkInfo": {"region": ("region",), "addr": ("addr",)},
        "statusInfo": {
            "status": ("status",),
            "statusChanged": ("status_changed",),
            "firstContact": ("first_contact",),
            "lostAt": ("lost_at",),
            "schedulable": ("schedulable",),
        },
        "systemInfo": {
            "architecture": ("architecture",),
            "version": ("version",),
            "computePlugins": ("compute_plugins",),
        },
    },
)


async def fetch_by_ids(
    session: RequestSession,
    ids: Sequence[str],
    columns: Sequence[ColumnElement[Any]] = COLUMNS,
) -> list[Agent | None]:
    """Agents by id; `columns` narrows the statement (`ConnectionSpec.lookup_columns`)."""
    return await fetch_by_keys(session, columns, t.c.id, ids, to_record, lambda r: r.id)


async def container_counts(session: RequestSession, ids: Sequence[str]) -> list[int]:
    """Per agent, how many of its kernels are not finished: one grouped statement."""
    statement = (
        sa.select(kernels.c.agent, sa.func.count().label("n"))
        .where(any_of(kernels.c.agent, ids), sa.text(KERNEL_UNFINISHED))
        .group_by(kernels.c.agent)
    )
    counts = {row["agent"]: row["n"] for row in await session.fetch_all(statement)}
    return [counts.get(agent_id, 0) for agent_id in ids]
