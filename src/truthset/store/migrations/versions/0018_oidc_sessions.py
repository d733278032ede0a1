"""oidc sessions: a browser session made by a sign-in through an identity provider keeps
the provider and its ID token, so that signing out also ends the provider's session
(OpenID Connect RP-initiated logout)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02 16:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    id_type = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    op.create_table(
        "oidc_sessions",
        # Goes with its session: a revoked or swept session takes this row along.
        sa.Column(
            "token_id",
            id_type,
            sa.ForeignKey("auth_tokens.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "provider_id",
            id_type,
            sa.ForeignKey("oidc_providers.id", ondelete="CASCADE"),
            nullable=False,
        ),
        # The provider's ID token of the sign-in: the `id_token_hint` of the sign-out.
        sa.Column("id_token", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("oidc_sessions")
