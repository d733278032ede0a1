"""review leases

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "review_leases",
        sa.Column("task_id", _ID, nullable=False),
        sa.Column("job_id", _ID, nullable=False),
        sa.Column("reviewer_id", _ID, nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("leased_at", sa.Float(), nullable=False),
        sa.Column("deadline", sa.Float(), nullable=False),
        sa.Column("ended_at", sa.Float(), nullable=True),
        sa.Column("answer", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["reviewer_id"], ["users.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["task_id"], ["tasks.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("task_id"),
    )
    op.create_index(
        "ix_review_leases_reviewer",
        "review_leases",
        ["job_id", "reviewer_id", "status"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_review_leases_reviewer", table_name="review_leases")
    op.drop_table("review_leases")
