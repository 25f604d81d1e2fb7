"""A review names the content it was given for (its sha256).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("export_reviews") as table:
        table.add_column(sa.Column("content_sha256", sa.String(64)))


def downgrade() -> None:
    with op.batch_alter_table("export_reviews") as table:
        table.drop_column("content_sha256")
