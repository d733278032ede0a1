"""assignment drafts: a worker's unfinished answer, saved by the tool while the lease
lives (stop and resume later), and removed by the database itself when the lease ends

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 06:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

# A draft lives only as long as its lease: when the assignment's status leaves 'leased'
# (submitted, released, skipped, expired) the draft goes in the same statement. A trigger
# rather than a DELETE in each of those code paths: the submit is the work engine's hot
# path, and the trigger costs it no extra round trip. `assignments.has_draft` (set by the
# first save) keeps it off the others: the trigger's WHEN reads the row itself, so an
# assignment that never had a draft (nearly all) never runs the trigger's body or its
# probe of assignment_drafts (on PostgreSQL, never calls the plpgsql function).
_SQLITE_TRIGGER = """
CREATE TRIGGER trg_assignment_drafts_end AFTER UPDATE OF status ON assignments
FOR EACH ROW WHEN NEW.status <> 'leased' AND OLD.has_draft
BEGIN
    DELETE FROM assignment_drafts WHERE assignment_id = NEW.id;
END
"""
_PG_FUNCTION = """
CREATE FUNCTION assignment_drafts_end() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM assignment_drafts WHERE assignment_id = NEW.id;
    RETURN NULL;
END
$$
"""
_PG_TRIGGER = """
CREATE TRIGGER trg_assignment_drafts_end AFTER UPDATE OF status ON assignments
FOR EACH ROW WHEN (NEW.status <> 'leased' AND OLD.has_draft)
EXECUTE FUNCTION assignment_drafts_end()
"""


def upgrade() -> None:
    id_type = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    op.create_table(
        "assignment_drafts",
        sa.Column(
            "assignment_id",
            id_type,
            sa.ForeignKey("assignments.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("saved_at", sa.Float(), nullable=False),
    )
    # A constant default: PostgreSQL adds the column without rewriting the table.
    op.add_column(
        "assignments",
        sa.Column("has_draft", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_FUNCTION)
        op.execute(_PG_TRIGGER)
    else:
        op.execute(_SQLITE_TRIGGER)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS trg_assignment_drafts_end ON assignments")
        op.execute("DROP FUNCTION IF EXISTS assignment_drafts_end()")
    else:
        op.execute("DROP TRIGGER IF EXISTS trg_assignment_drafts_end")
    # SQLite drops a column itself since 3.35 (no batch copy of the table).
    op.execute("ALTER TABLE assignments DROP COLUMN has_draft")
    op.drop_table("assignment_drafts")
