"""login failures (the sign-in lockout, seen by every app process) and token prefixes
(an API token can be named by its first characters to revoke it)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 02:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "login_failures",
        sa.Column("user_name", sa.String(100), primary_key=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("first_at", sa.Float(), nullable=False),
        sa.Column("locked_until", sa.Float(), nullable=True),
    )
    with op.batch_alter_table("auth_tokens") as batch:
        batch.add_column(sa.Column("prefix", sa.String(16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("auth_tokens") as batch:
        batch.drop_column("prefix")
    op.drop_table("login_failures")
