"""imported users: the worker id an account had where its work was done (Ground Truth)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 02:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("users", sa.Column("imported_as", sa.String(300), nullable=True))
    op.create_index("ix_users_imported_as", "users", ["imported_as"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_users_imported_as", table_name="users")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("imported_as")
