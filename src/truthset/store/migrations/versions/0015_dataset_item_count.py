"""datasets.item_count: each dataset's number of items, kept by the import in the
transaction that adds them, so the datasets page never counts a million items to show it

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02 07:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN on both stores: a batch (copy and move) on SQLite would drop the
    # old table, and with foreign keys on that deletes every item through the cascade.
    op.add_column(
        "datasets", sa.Column("item_count", sa.BigInteger(), nullable=False, server_default="0")
    )
    # The datasets that exist already: counted once, here.
    op.execute(
        "UPDATE datasets SET item_count = "
        "(SELECT count(*) FROM items WHERE items.dataset_id = datasets.id)"
    )


def downgrade() -> None:
    # SQLite's own DROP COLUMN (3.35+), for the reason above.
    op.execute("ALTER TABLE datasets DROP COLUMN item_count")
