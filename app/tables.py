"""Core tables: the same shapes the migrations create (a test compares the two)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB, UUID

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = sa.MetaData(naming_convention=NAMING)

SLOT_TYPE_KINDS = ("count", "bytes", "unique", "unified")
AGENT_STATUSES = ("ALIVE", "LOST", "RESTARTING", "TERMINATED")
SESSION_TYPES = ("INTERACTIVE", "BATCH", "INFERENCE", "SYSTEM")
KERNEL_STATUSES = (
    "PENDING",
    "SCHEDULED",
    "PREPARING",
    "PREPARED",
    "CREATING",
    "RUNNING",
    "TERMINATING",
    "TERMINATED",
    "CANCELLED",
)
KERNEL_RESULTS = ("UNDEFINED", "SUCCESS", "FAILURE")
ROLES = ("superadmin", "admin", "user")
# Kernels that still hold (or are about to hold) a container on their agent. Literal SQL, so
# the partial index below is provably usable even for generic prepared plans.
KERNEL_UNFINISHED = "status NOT IN ('TERMINATED', 'CANCELLED')"

AMOUNT = sa.Numeric(24, 6)
DEFAULT_NUMBER_FORMAT = sa.text("""'{"binary": false, "round_length": 0}'::jsonb""")


def _one_of(column: str, values: tuple[str, ...]) -> str:
    quoted = ", ".join(f"'{v}'" for v in values)
    return f"{column} IN ({quoted})"


def _timestamps() -> list[sa.Column[object]]:
    return [
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
    ]


resource_slot_types = sa.Table(
    "resource_slot_types",
    metadata,
    sa.Column("slot_name", sa.String(64), primary_key=True),
    sa.Column("slot_type", sa.String(16), nullable=False),
    sa.Column("display_name", sa.String(128), nullable=False, server_default=""),
    sa.Column("description", sa.String(256), nullable=False, server_default=""),
    sa.Column("display_unit", sa.String(32), nullable=False, server_default=""),
    sa.Column("display_icon", sa.String(64), nullable=False, server_default=""),
    sa.Column("number_format", JSONB, nullable=False, server_default=DEFAULT_NUMBER_FORMAT),
    sa.Column("rank", sa.Integer, nullable=False, server_default="0"),
    *_timestamps(),
    sa.CheckConstraint(_one_of("slot_type", SLOT_TYPE_KINDS), name="slot_type"),
    sa.CheckConstraint("slot_name <> ''", name="slot_name_not_empty"),
    sa.Index(None, "rank", "slot_name"),
    sa.Index(None, "display_name", "slot_name"),
)

agents = sa.Table(
    "agents",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("status_changed", sa.DateTime(timezone=True)),
    sa.Column("first_contact", sa.DateTime(timezone=True)),
    sa.Column("lost_at", sa.DateTime(timezone=True)),
    sa.Column("region", sa.String(64), nullable=False),
    sa.Column("scaling_group", sa.String(64), nullable=False, server_default="default"),
    sa.Column("schedulable", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("addr", sa.String(128), nullable=False),
    sa.Column("architecture", sa.String(32), nullable=False),
    sa.Column("version", sa.String(64), nullable=False),
    sa.Column("compute_plugins", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
    sa.CheckConstraint(_one_of("status", AGENT_STATUSES), name="status"),
    sa.CheckConstraint("position(':' in id) = 0 AND id <> ''", name="id_format"),
    sa.Index(None, "status", "id"),
    sa.Index(None, "scaling_group", "id"),
    sa.Index(None, "first_contact", "id"),
    sa.Index(None, "schedulable", "id"),
    sa.Index(None, "region", "id"),
)

kernels = sa.Table(
    "kernels",
    metadata,
    sa.Column("id", UUID(as_uuid=True), primary_key=True),
    sa.Column("session_id", UUID(as_uuid=True), nullable=False),
    sa.Column("session_name", sa.String(64)),
    sa.Column("session_type", sa.String(16), nullable=False),
    sa.Column("cluster_mode", sa.String(16), nullable=False, server_default="SINGLE_NODE"),
    sa.Column("cluster_size", sa.Integer, nullable=False, server_default="1"),
    sa.Column("cluster_role", sa.String(16), nullable=False),
    sa.Column("cluster_idx", sa.Integer, nullable=False, server_default="0"),
    sa.Column("local_rank", sa.Integer, nullable=False, server_default="0"),
    sa.Column("cluster_hostname", sa.String(64), nullable=False),
    sa.Column("agent", sa.String(64), sa.ForeignKey("agents.id")),
    sa.Column("scaling_group", sa.String(64)),
    sa.Column("domain_name", sa.String(64), nullable=False),
    sa.Column("group_id", UUID(as_uuid=True), nullable=False),
    sa.Column("user_uuid", UUID(as_uuid=True), nullable=False),
    sa.Column("access_key", sa.String(20)),
    sa.Column("image", sa.String(512)),
    sa.Column("container_id", sa.String(64)),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("result", sa.String(16), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
    sa.Column("terminated_at", sa.DateTime(timezone=True)),
    sa.Column("starts_at", sa.DateTime(timezone=True)),
    sa.Column("startup_command", sa.Text),
    sa.CheckConstraint(_one_of("session_type", SESSION_TYPES), name="session_type"),
    sa.CheckConstraint(_one_of("status", KERNEL_STATUSES), name="status"),
    sa.CheckConstraint(_one_of("result", KERNEL_RESULTS), name="result"),
    sa.CheckConstraint("cluster_size >= 1", name="cluster_size_positive"),
    sa.CheckConstraint("cluster_idx >= 0 AND local_rank >= 0", name="cluster_position"),
    sa.Index(None, "agent", "created_at", "id"),
    sa.Index(None, "session_id"),
    sa.Index(None, "created_at", "id"),
    sa.Index(None, "terminated_at", "id"),
    sa.Index(None, "status", "created_at", "id"),
    sa.Index(None, "cluster_mode", "id"),
    sa.Index(None, "cluster_hostname", "id"),
    sa.Index(None, "cluster_idx", "id"),
    # Visibility scopes (admins: their domain; users: their own kernels) in the default order.
    sa.Index(None, "domain_name", "created_at", "id"),
    sa.Index(None, "user_uuid", "created_at", "id"),
    sa.Index(None, "group_id"),
    # AgentV2.containerCount: an agent's unfinished kernels, however long its history.
    sa.Index(
        "ix_kernels_unfinished_agent",
        "agent",
        postgresql_where=sa.text(KERNEL_UNFINISHED),
    ),
)

agent_resources = sa.Table(
    "agent_resources",
    metadata,
    sa.Column(
        "agent_id", sa.String(64), sa.ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column(
        "slot_name", sa.String(64), sa.ForeignKey("resource_slot_types.slot_name"), primary_key=True
    ),
    sa.Column("capacity", AMOUNT, nullable=False),
    sa.Column("used", AMOUNT, nullable=False, server_default="0"),
    *_timestamps(),
    sa.CheckConstraint("capacity >= 0", name="capacity_not_negative"),
    sa.CheckConstraint("used >= 0", name="used_not_negative"),
    sa.Index(None, "slot_name"),
    sa.Index(None, "agent_id", "capacity", "slot_name"),
    sa.Index(None, "agent_id", "used", "slot_name"),
)

resource_allocations = sa.Table(
    "resource_allocations",
    metadata,
    sa.Column(
        "kernel_id",
        UUID(as_uuid=True),
        sa.ForeignKey("kernels.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column(
        "slot_name", sa.String(64), sa.ForeignKey("resource_slot_types.slot_name"), primary_key=True
    ),
    sa.Column("requested", AMOUNT, nullable=False),
    sa.Column("used", AMOUNT),
    sa.Column(
        "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    ),
    sa.Column("used_at", sa.DateTime(timezone=True)),
    sa.Column("free_at", sa.DateTime(timezone=True)),
    sa.CheckConstraint("requested >= 0", name="requested_not_negative"),
    sa.CheckConstraint("used >= 0", name="used_not_negative"),
    sa.Index(None, "slot_name"),
    sa.Index(None, "kernel_id", "requested", "slot_name"),
    sa.Index(None, "kernel_id", "used", "slot_name"),
    sa.Index(
        "ix_resource_allocations_held",
        "kernel_id",
        "slot_name",
        postgresql_where=sa.text("free_at IS NULL"),
    ),
)

# API keys: the secret itself is never stored, only a SHA-256 of it (the secret is 256 random
# bits, so a slow password hash would add latency without adding safety).
api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("key_id", sa.String(16), primary_key=True),
    sa.Column("secret_hash", sa.String(64), nullable=False),
    sa.Column("user_uuid", UUID(as_uuid=True), nullable=False),
    sa.Column("domain_name", sa.String(64), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("description", sa.String(256), nullable=False, server_default=""),
    sa.Column(
        "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    ),
    sa.Column("revoked_at", sa.DateTime(timezone=True)),
    sa.CheckConstraint(_one_of("role", ROLES), name="role"),
    sa.CheckConstraint("key_id ~ '^[0-9a-f]{16}$'", name="key_id_format"),
    sa.CheckConstraint("secret_hash ~ '^[0-9a-f]{64}$'", name="secret_hash_format"),
    sa.Index(None, "user_uuid"),
)
