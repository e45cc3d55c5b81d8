from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from sqlalchemy.sql import ColumnElement

from app.auth import Caller
from app.db import RequestSession
from app.filters import value_filter
from app.pagination import Kind, SortKey
from app.records import Kernel
from app.repositories.base import ConnectionSpec, RecordReader, fetch_by_keys
from app.tables import kernels as t

COLUMNS = (
    t.c.id,
    t.c.session_id,
    t.c.session_name,
    t.c.session_type,
    t.c.cluster_mode,
    t.c.cluster_size,
    t.c.cluster_role,
    t.c.cluster_idx,
    t.c.local_rank,
    t.c.cluster_hostname,
    t.c.agent,
    t.c.scaling_group,
    t.c.domain_name,
    t.c.group_id,
    t.c.user_uuid,
    t.c.access_key,
    t.c.image,
    t.c.container_id,
    t.c.status,
    t.c.result,
    t.c.created_at,
    t.c.terminated_at,
    t.c.starts_at,
    t.c.startup_command,
)


to_record = RecordReader(Kernel)


ID = SortKey("ID", t.c.id, Kind.UUID)

# Root (`adminKernelsV2`) and nested (`AgentV2.kernels`) share filter and order; only the
# scope differs.
CONNECTION = ConnectionSpec(
    name="KernelV2",
    source=t,
    columns=COLUMNS,
    sort_keys={
        "CREATED_AT": SortKey("CREATED_AT", t.c.created_at, Kind.DATETIME, nullable=True),
        "TERMINATED_AT": SortKey("TERMINATED_AT", t.c.terminated_at, Kind.DATETIME, nullable=True),
        "STATUS": SortKey("STATUS", t.c.status, Kind.STRING),
        "CLUSTER_MODE": SortKey("CLUSTER_MODE", t.c.cluster_mode, Kind.STRING),
        "CLUSTER_HOSTNAME": SortKey("CLUSTER_HOSTNAME", t.c.cluster_hostname, Kind.STRING),
        "CLUSTER_IDX": SortKey("CLUSTER_IDX", t.c.cluster_idx, Kind.INT),
    },
    tiebreak=(ID,),
    default_order=(("CREATED_AT", True),),
    filter_type="KernelV2Filter",
    filter_fields={
        "id": value_filter(t.c.id, kind="UUIDFilter"),
        "status": value_filter(t.c.status, kind="KernelV2StatusFilter"),
        "session_id": value_filter(t.c.session_id, kind="UUIDFilter"),
    },
    to_record=to_record,
    parent_column=t.c.agent,
    scope=Caller.kernel_scope,
    field_columns={
        "id": ("id",),
        "agent": ("agent",),
        "cluster": ("cluster_role", "cluster_idx", "local_rank", "cluster_hostname"),
        "lifecycle": ("status", "result", "created_at", "terminated_at", "starts_at"),
        "resource": ("agent", "scaling_group", "container_id"),
        "resourceAllocations": ("id",),
        "sessionInfo": ("session_id", "session_name", "session_type"),
        "startupCommand": ("startup_command",),
        "userInfo": ("user_uuid", "access_key", "domain_name", "group_id"),
    },
    always=("id",),
    sub_field_columns={
        "cluster": {
            "clusterRole": ("cluster_role",),
            "clusterIdx": ("cluster_idx",),
            "localRank": ("local_rank",),
            "clusterHostname": ("cluster_hostname",),
        },
        "lifecycle": {
            "status": ("status",),
            "result": ("result",),
            "createdAt": ("created_at",),
            "terminatedAt": ("terminated_at",),
            "startsAt": ("starts_at",),
        },
    },
)


async def fetch_by_ids(
    session: RequestSession,
    caller: Caller,
    ids: Sequence[UUID],
    columns: Sequence[ColumnElement[Any]] = COLUMNS,
) -> list[Kernel | None]:
    """Kernels by id that `caller` may see; `columns` narrows the statement
    (`ConnectionSpec.lookup_columns`)."""
    return await fetch_by_keys(
        session, columns, t.c.id, ids, to_record, lambda r: r.id, caller.kernel_scope()
    )
