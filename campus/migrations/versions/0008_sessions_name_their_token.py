"""Browser sessions name the token they were opened with, and end with it.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("browser_sessions") as table:
        table.add_column(sa.Column("token_id", sa.String(32)))


def downgrade() -> None:
    with op.batch_alter_table("browser_sessions") as table:
        table.drop_column("token_id")
