"""task returns: an item a reviewer returned goes back to the workers it was returned to
(their earlier answer handed to their tool), not to whoever asks next

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02 15:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

# `tasks.reserved` (1 while a task has places held for returned workers) is what the
# work engine's pick reads: a task that is not reserved costs the pick one column compare,
# and only a reserved one probes `task_returns` for the asking worker. A constant default:
# PostgreSQL adds the column without rewriting the table.


def upgrade() -> None:
    id_type = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    op.add_column(
        "tasks",
        sa.Column("reserved", sa.Integer(), nullable=False, server_default=sa.text("0")),
    )
    op.create_table(
        "task_returns",
        sa.Column(
            "task_id", id_type, sa.ForeignKey("tasks.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column(
            "worker_id",
            id_type,
            sa.ForeignKey("users.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        # The worker's answer as it was returned (JSON): their tool starts from it.
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("returned_at", sa.Float(), nullable=False),
        # After this the place is open to any worker of the job.
        sa.Column("until", sa.Float(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("task_returns")
    # SQLite drops a column itself since 3.35 (no batch copy of the table).
    op.execute("ALTER TABLE tasks DROP COLUMN reserved")
