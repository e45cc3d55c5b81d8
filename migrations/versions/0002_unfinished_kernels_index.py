"""Partial index for AgentV2.containerCount: each agent's unfinished kernels.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28

Counting through (agent, created_at, id) read every finished kernel of an agent too; the
count then grew with the agent's history. The partial index holds only the kernels that
are not TERMINATED or CANCELLED.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_kernels_unfinished_agent",
        "kernels",
        ["agent"],
        postgresql_where=sa.text("status NOT IN ('TERMINATED', 'CANCELLED')"),
    )


def downgrade() -> None:
    op.drop_index("ix_kernels_unfinished_agent", table_name="kernels")
