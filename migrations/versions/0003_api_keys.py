"""API keys, and kernel indexes for the visibility scopes.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28

Every request authenticates with an API key: a key id plus a SHA-256 of its secret (never the
secret), bound to a user, a domain and a role. Admins list their domain's kernels and users
their own, newest first, so those scopes get (scope, created_at, id) indexes; they replace the
single-column ones, which they cover.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("key_id", sa.String(16), nullable=False),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        sa.Column("user_uuid", UUID(as_uuid=True), nullable=False),
        sa.Column("domain_name", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("description", sa.String(256), nullable=False, server_default=""),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            nullable=False,
            server_default=sa.func.now(),
        ),
        sa.Column("revoked_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint(
            "role IN ('superadmin', 'admin', 'user')", name=op.f("ck_api_keys_role")
        ),
        sa.CheckConstraint("key_id ~ '^[0-9a-f]{16}$'", name=op.f("ck_api_keys_key_id_format")),
        sa.CheckConstraint(
            "secret_hash ~ '^[0-9a-f]{64}$'", name=op.f("ck_api_keys_secret_hash_format")
        ),
        sa.PrimaryKeyConstraint("key_id", name=op.f("pk_api_keys")),
    )
    op.create_index("ix_api_keys_user_uuid", "api_keys", ["user_uuid"])
    op.create_index(
        "ix_kernels_domain_name_created_at_id", "kernels", ["domain_name", "created_at", "id"]
    )
    op.create_index(
        "ix_kernels_user_uuid_created_at_id", "kernels", ["user_uuid", "created_at", "id"]
    )
    op.drop_index("ix_kernels_domain_name", table_name="kernels")
    op.drop_index("ix_kernels_user_uuid", table_name="kernels")


def downgrade() -> None:
    op.create_index("ix_kernels_user_uuid", "kernels", ["user_uuid"])
    op.create_index("ix_kernels_domain_name", "kernels", ["domain_name"])
    op.drop_index("ix_kernels_user_uuid_created_at_id", table_name="kernels")
    op.drop_index("ix_kernels_domain_name_created_at_id", table_name="kernels")
    op.drop_index("ix_api_keys_user_uuid", table_name="api_keys")
    op.drop_table("api_keys")
