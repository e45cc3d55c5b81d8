"""Initial schema (slot types, agents, kernels, their per-slot rows) and the slot type registry.

Revision ID: 0001
Revises:
Create Date: 2026-11-28

The 14 slot types are facts of the upstream registry, copied here so the migration stands
alone; later changes to the registry get their own revision.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SLOT_TYPES = [
    {
        "slot_name": "cpu",
        "slot_type": "count",
        "display_name": "CPU",
        "description": "CPU",
        "display_unit": "Core",
        "display_icon": "cpu",
        "number_format": {"binary": False, "round_length": 0},
        "rank": 100,
    },
    {
        "slot_name": "mem",
        "slot_type": "bytes",
        "display_name": "RAM",
        "description": "Memory",
        "display_unit": "GiB",
        "display_icon": "ram",
        "number_format": {"binary": True, "round_length": 0},
        "rank": 200,
    },
    {
        "slot_name": "cuda.device",
        "slot_type": "count",
        "display_name": "GPU",
        "description": "CUDA-capable GPU",
        "display_unit": "GPU",
        "display_icon": "nvidia",
        "number_format": {"binary": False, "round_length": 0},
        "rank": 300,
    },
    {
        "slot_name": "cuda.shares",
        "slot_type": "count",
        "display_name": "fGPU",
        "description": "CUDA-capable GPU (fractional)",
        "display_unit": "fGPU",
        "display_icon": "nvidia",
        "number_format": {"binary": False, "round_length": 2},
        "rank": 400,
    },
    {
        "slot_name": "rocm.device",
        "slot_type": "count",
        "display_name": "GPU",
        "description": "ROCm-capable GPU",
        "display_unit": "GPU",
        "display_icon": "rocm",
        "number_format": {"binary": False, "round_length": 0},
        "rank": 500,
    },
    {
        "slot_name": "tpu.device",
        "slot_type": "count",
        "display_name": "TPU",
        "description": "TPU device",
        "display_unit": "TPU",
        "display_icon": "tpu",
        "number_format": {"binary": False, "round_length": 0},
        "rank": 600,
    },
    {
        "slot_name": "ipu.device",
        "slot_type": "count",
        "display_name": "IPU",
        "description": "IPU device",
        "display_unit": "IPU",
        "display_icon": "ipu",
        "number_format": {"binary": False, "round_length": 0},
        "rank": 700,
    },
    {
        "slot_name": "atom.device",
        "slot_type": "count",
        "display_name": "ATOM Device",
        "description": "ATOM",
        "display_unit": "ATOM",
        "display_icon": "rebel",
        "number_format": {"binary": False, "round_length": 0},
        "rank": 800,
    },
    {
        "slot_name": "atom-plus.device",
        "slot_type": "count",
        "display_name": "ATOM+ Device",
        "description": "ATOM+",
        "display_unit": "ATOM+",
        "display_icon": "rebel",
        "number_format": {"binary": False, "round_length": 0},
        "rank": 900,
    },
    {
        "slot_name": "atom-max.device",
        "slot_type": "count",
        "display_name": "ATOM Max Device",
        "description": "ATOM Max",
        "display_unit": "ATOM Max",
        "display_icon": "rebel",
        "number_format": {"binary": False, "round_length": 0},
        "rank": 1000,
    },
    {
        "slot_name": "gaudi2.device",
        "slot_type": "count",
        "display_name": "Gaudi 2 Device",
        "description": "Gaudi 2",
        "display_unit": "Gaudi 2",
        "display_icon": "gaudi",
        "number_format": {"binary": False, "round_length": 0},
        "rank": 1100,
    },
    {
        "slot_name": "warboy.device",
        "slot_type": "count",
        "display_name": "Warboy Device",
        "description": "Furiosa Warboy",
        "display_unit": "Warboy",
        "display_icon": "furiosa",
        "number_format": {"binary": False, "round_length": 0},
        "rank": 1200,
    },
    {
        "slot_name": "rngd.device",
        "slot_type": "count",
        "display_name": "RNGD Device",
        "description": "Furiosa RNGD",
        "display_unit": "RNGD",
        "display_icon": "furiosa",
        "number_format": {"binary": False, "round_length": 0},
        "rank": 1300,
    },
    {
        "slot_name": "hyperaccel-lpu.device",
        "slot_type": "count",
        "display_name": "Hyperaccel LPU Device",
        "description": "Hyperaccel LPU",
        "display_unit": "LPU",
        "display_icon": "lpu",
        "number_format": {"binary": False, "round_length": 0},
        "rank": 1400,
    },
]


def upgrade() -> None:
    op.create_table(
        "agents",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("status_changed", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_contact", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lost_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("region", sa.String(length=64), nullable=False),
        sa.Column("scaling_group", sa.String(length=64), server_default="default", nullable=False),
        sa.Column("schedulable", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("addr", sa.String(length=128), nullable=False),
        sa.Column("architecture", sa.String(length=32), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column(
            "compute_plugins",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "position(':' in id) = 0 AND id <> ''", name=op.f("ck_agents_id_format")
        ),
        sa.CheckConstraint(
            "status IN ('ALIVE', 'LOST', 'RESTARTING', 'TERMINATED')", name=op.f("ck_agents_status")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agents")),
    )
    op.create_index(
        op.f("ix_agents_first_contact_id"), "agents", ["first_contact", "id"], unique=False
    )
    op.create_index(op.f("ix_agents_region_id"), "agents", ["region", "id"], unique=False)
    op.create_index(
        op.f("ix_agents_scaling_group_id"), "agents", ["scaling_group", "id"], unique=False
    )
    op.create_index(op.f("ix_agents_schedulable_id"), "agents", ["schedulable", "id"], unique=False)
    op.create_index(op.f("ix_agents_status_id"), "agents", ["status", "id"], unique=False)
    op.create_table(
        "resource_slot_types",
        sa.Column("slot_name", sa.String(length=64), nullable=False),
        sa.Column("slot_type", sa.String(length=16), nullable=False),
        sa.Column("display_name", sa.String(length=128), server_default="", nullable=False),
        sa.Column("description", sa.String(length=256), server_default="", nullable=False),
        sa.Column("display_unit", sa.String(length=32), server_default="", nullable=False),
        sa.Column("display_icon", sa.String(length=64), server_default="", nullable=False),
        sa.Column(
            "number_format",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text('\'{"binary": false, "round_length": 0}\'::jsonb'),
            nullable=False,
        ),
        sa.Column("rank", sa.Integer(), server_default="0", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "slot_name <> ''", name=op.f("ck_resource_slot_types_slot_name_not_empty")
        ),
        sa.CheckConstraint(
            "slot_type IN ('count', 'bytes', 'unique', 'unified')",
            name=op.f("ck_resource_slot_types_slot_type"),
        ),
        sa.PrimaryKeyConstraint("slot_name", name=op.f("pk_resource_slot_types")),
    )
    op.create_index(
        op.f("ix_resource_slot_types_display_name_slot_name"),
        "resource_slot_types",
        ["display_name", "slot_name"],
        unique=False,
    )
    op.create_index(
        op.f("ix_resource_slot_types_rank_slot_name"),
        "resource_slot_types",
        ["rank", "slot_name"],
        unique=False,
    )
    op.create_table(
        "agent_resources",
        sa.Column("agent_id", sa.String(length=64), nullable=False),
        sa.Column("slot_name", sa.String(length=64), nullable=False),
        sa.Column("capacity", sa.Numeric(precision=24, scale=6), nullable=False),
        sa.Column("used", sa.Numeric(precision=24, scale=6), server_default="0", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("capacity >= 0", name=op.f("ck_agent_resources_capacity_not_negative")),
        sa.CheckConstraint("used >= 0", name=op.f("ck_agent_resources_used_not_negative")),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.id"],
            name=op.f("fk_agent_resources_agent_id_agents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["slot_name"],
            ["resource_slot_types.slot_name"],
            name=op.f("fk_agent_resources_slot_name_resource_slot_types"),
        ),
        sa.PrimaryKeyConstraint("agent_id", "slot_name", name=op.f("pk_agent_resources")),
    )
    op.create_index(
        op.f("ix_agent_resources_agent_id_capacity_slot_name"),
        "agent_resources",
        ["agent_id", "capacity", "slot_name"],
        unique=False,
    )
    op.create_index(
        op.f("ix_agent_resources_agent_id_used_slot_name"),
        "agent_resources",
        ["agent_id", "used", "slot_name"],
        unique=False,
    )
    op.create_index(
        op.f("ix_agent_resources_slot_name"), "agent_resources", ["slot_name"], unique=False
    )
    op.create_table(
        "kernels",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("session_id", sa.UUID(), nullable=False),
        sa.Column("session_name", sa.String(length=64), nullable=True),
        sa.Column("session_type", sa.String(length=16), nullable=False),
        sa.Column(
            "cluster_mode", sa.String(length=16), server_default="SINGLE_NODE", nullable=False
        ),
        sa.Column("cluster_size", sa.Integer(), server_default="1", nullable=False),
        sa.Column("cluster_role", sa.String(length=16), nullable=False),
        sa.Column("cluster_idx", sa.Integer(), server_default="0", nullable=False),
        sa.Column("local_rank", sa.Integer(), server_default="0", nullable=False),
        sa.Column("cluster_hostname", sa.String(length=64), nullable=False),
        sa.Column("agent", sa.String(length=64), nullable=True),
        sa.Column("scaling_group", sa.String(length=64), nullable=True),
        sa.Column("domain_name", sa.String(length=64), nullable=False),
        sa.Column("group_id", sa.UUID(), nullable=False),
        sa.Column("user_uuid", sa.UUID(), nullable=False),
        sa.Column("access_key", sa.String(length=20), nullable=True),
        sa.Column("image", sa.String(length=512), nullable=True),
        sa.Column("container_id", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("result", sa.String(length=16), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=True
        ),
        sa.Column("terminated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("startup_command", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "result IN ('UNDEFINED', 'SUCCESS', 'FAILURE')", name=op.f("ck_kernels_result")
        ),
        sa.CheckConstraint(
            "session_type IN ('INTERACTIVE', 'BATCH', 'INFERENCE', 'SYSTEM')",
            name=op.f("ck_kernels_session_type"),
        ),
        sa.CheckConstraint(
            "status IN ('PENDING', 'SCHEDULED', 'PREPARING', 'PREPARED', 'CREATING', 'RUNNING', 'TERMINATING', 'TERMINATED', 'CANCELLED')",
            name=op.f("ck_kernels_status"),
        ),
        sa.CheckConstraint(
            "cluster_idx >= 0 AND local_rank >= 0", name=op.f("ck_kernels_cluster_position")
        ),
        sa.CheckConstraint("cluster_size >= 1", name=op.f("ck_kernels_cluster_size_positive")),
        sa.ForeignKeyConstraint(["agent"], ["agents.id"], name=op.f("fk_kernels_agent_agents")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kernels")),
    )
    op.create_index(
        op.f("ix_kernels_agent_created_at_id"),
        "kernels",
        ["agent", "created_at", "id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_kernels_cluster_hostname_id"), "kernels", ["cluster_hostname", "id"], unique=False
    )
    op.create_index(
        op.f("ix_kernels_cluster_idx_id"), "kernels", ["cluster_idx", "id"], unique=False
    )
    op.create_index(
        op.f("ix_kernels_cluster_mode_id"), "kernels", ["cluster_mode", "id"], unique=False
    )
    op.create_index(op.f("ix_kernels_created_at_id"), "kernels", ["created_at", "id"], unique=False)
    op.create_index(op.f("ix_kernels_domain_name"), "kernels", ["domain_name"], unique=False)
    op.create_index(op.f("ix_kernels_group_id"), "kernels", ["group_id"], unique=False)
    op.create_index(op.f("ix_kernels_session_id"), "kernels", ["session_id"], unique=False)
    op.create_index(
        op.f("ix_kernels_status_created_at_id"),
        "kernels",
        ["status", "created_at", "id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_kernels_terminated_at_id"), "kernels", ["terminated_at", "id"], unique=False
    )
    op.create_index(op.f("ix_kernels_user_uuid"), "kernels", ["user_uuid"], unique=False)
    op.create_table(
        "resource_allocations",
        sa.Column("kernel_id", sa.UUID(), nullable=False),
        sa.Column("slot_name", sa.String(length=64), nullable=False),
        sa.Column("requested", sa.Numeric(precision=24, scale=6), nullable=False),
        sa.Column("used", sa.Numeric(precision=24, scale=6), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("free_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "requested >= 0", name=op.f("ck_resource_allocations_requested_not_negative")
        ),
        sa.CheckConstraint("used >= 0", name=op.f("ck_resource_allocations_used_not_negative")),
        sa.ForeignKeyConstraint(
            ["kernel_id"],
            ["kernels.id"],
            name=op.f("fk_resource_allocations_kernel_id_kernels"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["slot_name"],
            ["resource_slot_types.slot_name"],
            name=op.f("fk_resource_allocations_slot_name_resource_slot_types"),
        ),
        sa.PrimaryKeyConstraint("kernel_id", "slot_name", name=op.f("pk_resource_allocations")),
    )
    op.create_index(
        "ix_resource_allocations_held",
        "resource_allocations",
        ["kernel_id", "slot_name"],
        unique=False,
        postgresql_where=sa.text("free_at IS NULL"),
    )
    op.create_index(
        op.f("ix_resource_allocations_kernel_id_requested_slot_name"),
        "resource_allocations",
        ["kernel_id", "requested", "slot_name"],
        unique=False,
    )
    op.create_index(
        op.f("ix_resource_allocations_kernel_id_used_slot_name"),
        "resource_allocations",
        ["kernel_id", "used", "slot_name"],
        unique=False,
    )
    op.create_index(
        op.f("ix_resource_allocations_slot_name"),
        "resource_allocations",
        ["slot_name"],
        unique=False,
    )

    slot_types = sa.table(
        "resource_slot_types",
        sa.column("slot_name", sa.String),
        sa.column("slot_type", sa.String),
        sa.column("display_name", sa.String),
        sa.column("description", sa.String),
        sa.column("display_unit", sa.String),
        sa.column("display_icon", sa.String),
        sa.column("number_format", postgresql.JSONB),
        sa.column("rank", sa.Integer),
    )
    op.bulk_insert(slot_types, SLOT_TYPES)


def downgrade() -> None:
    for table in (
        "resource_allocations",
        "agent_resources",
        "kernels",
        "resource_slot_types",
        "agents",
    ):
        op.drop_table(table)
