"""access keys: AWS-style key ids of users, for the SageMaker API (SigV4)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 00:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    id_type = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    op.create_table(
        "access_keys",
        sa.Column("id", id_type, primary_key=True),
        sa.Column("key_id", sa.String(20), nullable=False, unique=True),
        sa.Column(
            "user_id",
            id_type,
            sa.ForeignKey("users.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        sa.Column("name", sa.String(100), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=True),
    )
    op.create_index("ix_access_keys_user_id", "access_keys", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_access_keys_user_id", table_name="access_keys")
    op.drop_table("access_keys")
