"""Differential privacy spent per scope, dataset and period: ε and δ, summed.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("budget_spent") as table:
        table.add_column(sa.Column("epsilon", sa.Float, nullable=False, server_default="0"))
        table.add_column(sa.Column("delta", sa.Float, nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("budget_spent") as table:
        table.drop_column("delta")
        table.drop_column("epsilon")
