"""review comments: the thread of an item between its reviewer and its annotators, with
the reviewer's decisions (accepted, corrected, returned) in it

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 03:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    id_type = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    op.create_table(
        "review_comments",
        sa.Column("id", id_type, primary_key=True),
        sa.Column(
            "task_id", id_type, sa.ForeignKey("tasks.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("job_id", id_type, sa.ForeignKey("jobs.id", ondelete="CASCADE"), nullable=False),
        sa.Column(
            "author_id", id_type, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
    )
    op.create_index("ix_review_comments_task", "review_comments", ["task_id", "id"])
    op.create_index("ix_review_comments_job", "review_comments", ["job_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_review_comments_job", table_name="review_comments")
    op.drop_index("ix_review_comments_task", table_name="review_comments")
    op.drop_table("review_comments")
