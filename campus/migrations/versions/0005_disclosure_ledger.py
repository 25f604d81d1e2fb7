"""The disclosure ledger: released cells per user and project, and what each spent.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "released_cells",
        sa.Column("scope", sa.String(250), primary_key=True),
        sa.Column("dataset", sa.String(100), primary_key=True),
        sa.Column("period", sa.String(10), primary_key=True),
        sa.Column("cell", sa.String(32), primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "budget_spent",
        sa.Column("scope", sa.String(250), primary_key=True),
        sa.Column("dataset", sa.String(100), primary_key=True),
        sa.Column("period", sa.String(10), primary_key=True),
        sa.Column("cells", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("budget_spent")
    op.drop_table("released_cells")
