"""label issues: a model's suspicion that a human label is wrong

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 23:50:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("labels", sa.Column("issue", sa.JSON(), nullable=True))
    op.add_column("labels", sa.Column("issue_label_at", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("labels") as batch:
        batch.drop_column("issue_label_at")
        batch.drop_column("issue")
