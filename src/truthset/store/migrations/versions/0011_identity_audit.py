"""OIDC providers, their subjects and pending sign-ins; source-IP allow-lists of the
workforce and of teams; the audit log (issue 15)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 02:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    id_type = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    op.create_table(
        "oidc_providers",
        sa.Column("id", id_type, primary_key=True),
        sa.Column("name", sa.String(100), nullable=False, unique=True),
        sa.Column("display_name", sa.String(100), nullable=False),
        sa.Column("issuer", sa.String(500), nullable=False),
        sa.Column("discovery_url", sa.String(1000), nullable=True),
        sa.Column("client_id", sa.String(300), nullable=False),
        sa.Column("client_secret_sealed", sa.Text(), nullable=True),
        sa.Column("scopes", sa.String(500), nullable=False),
        sa.Column("groups_claim", sa.String(100), nullable=False),
        sa.Column("group_map", sa.JSON(), nullable=False),
        sa.Column("default_role", sa.String(20), nullable=False),
        sa.Column("require_group", sa.Boolean(), nullable=False),
        sa.Column("redirect_base", sa.String(500), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
    )
    op.create_table(
        "oidc_identities",
        sa.Column(
            "provider_id",
            id_type,
            sa.ForeignKey("oidc_providers.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("subject", sa.String(255), primary_key=True),
        sa.Column(
            "user_id",
            id_type,
            sa.ForeignKey("users.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column("last_sign_in_at", sa.Float(), nullable=False),
    )
    op.create_table(
        "oidc_logins",
        sa.Column("state", sa.String(100), primary_key=True),
        sa.Column(
            "provider_id",
            id_type,
            sa.ForeignKey("oidc_providers.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("nonce", sa.String(100), nullable=False),
        sa.Column("code_verifier", sa.String(128), nullable=False),
        sa.Column("next_path", sa.String(2000), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False, index=True),
    )
    op.create_table(
        "workforce_settings",
        sa.Column("name", sa.String(50), primary_key=True),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
    )
    op.create_table(
        "team_source_ips",
        sa.Column(
            "team_id", id_type, sa.ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("cidrs", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
    )
    op.create_table(
        "audit_events",
        sa.Column("id", id_type, primary_key=True),
        sa.Column("at", sa.Float(), nullable=False, index=True),
        sa.Column("actor_id", sa.BigInteger(), nullable=True),
        sa.Column("actor_name", sa.String(100), nullable=True),
        sa.Column("actor_role", sa.String(20), nullable=True),
        sa.Column("action", sa.String(100), nullable=False),
        sa.Column("target", sa.String(500), nullable=True),
        sa.Column("outcome", sa.String(10), nullable=False),
        sa.Column("status", sa.Integer(), nullable=True),
        sa.Column("address", sa.String(64), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=True),
    )
    op.create_index("ix_audit_actor", "audit_events", ["actor_name", "at"])
    op.create_index("ix_audit_action", "audit_events", ["action", "at"])


def downgrade() -> None:
    op.drop_index("ix_audit_action", "audit_events")
    op.drop_index("ix_audit_actor", "audit_events")
    for table in (
        "audit_events",
        "team_source_ips",
        "workforce_settings",
        "oidc_logins",
        "oidc_identities",
        "oidc_providers",
    ):
        op.drop_table(table)
