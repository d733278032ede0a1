"""task inputs: the `task.input` a custom job's template renders, per task

Written by the pre-annotation hook (its `taskInput` and `isHumanAnnotationRequired`, or
the error that failed the item); a task without a row renders Ground Truth's default
`{"taskObject": ..., "manifestLine": ...}`.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 00:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    id_type = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    op.create_table(
        "task_inputs",
        sa.Column(
            "task_id",
            id_type,
            sa.ForeignKey("tasks.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("task_input", sa.JSON(), nullable=False),
        sa.Column("human_required", sa.Boolean(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("task_inputs")
