"""The audit trail and the data service's API tokens.

Revision ID: 0001
Revises:
Create Date: 2026-11-23

Databases made before migrations existed (``create_all`` of the audit tables) are
adopted: tables already there are kept as they are.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

GENESIS = "0" * 64


def upgrade() -> None:
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    if "audit_events" not in existing:
        op.create_table(
            "audit_events",
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
            sa.Column("at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("actor", sa.String(200), nullable=False),
            sa.Column("project", sa.String(200)),
            sa.Column("action", sa.String(50), nullable=False),
            sa.Column("outcome", sa.String(50), nullable=False),
            sa.Column("detail", sa.JSON, nullable=False),
            sa.Column("prev_hash", sa.String(64), nullable=False),
            sa.Column("hash", sa.String(64), nullable=False),
        )
    if "audit_head" not in existing:
        head = op.create_table(
            "audit_head",
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("last_id", sa.Integer, nullable=False),
            sa.Column("last_hash", sa.String(64), nullable=False),
        )
        op.bulk_insert(head, [{"id": 1, "last_id": 0, "last_hash": GENESIS}])
    if "api_tokens" not in existing:
        op.create_table(
            "api_tokens",
            sa.Column("id", sa.String(32), primary_key=True),
            sa.Column("user_name", sa.String(200), nullable=False),
            sa.Column("groups", sa.JSON),
            sa.Column("hash", sa.String(64), nullable=False),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("created_by", sa.String(200), nullable=False),
            sa.Column("expires_at", sa.DateTime(timezone=True)),
            sa.Column("revoked_at", sa.DateTime(timezone=True)),
        )
        op.create_index("ix_api_tokens_user_name", "api_tokens", ["user_name"])


def downgrade() -> None:
    op.drop_index("ix_api_tokens_user_name", table_name="api_tokens")
    op.drop_table("api_tokens")
    op.drop_table("audit_head")
    op.drop_table("audit_events")
