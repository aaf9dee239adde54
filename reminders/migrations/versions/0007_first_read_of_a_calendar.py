"""when a calendar was first read

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 17:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import reminders.db

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("calendar_connection", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("first_synced_at", reminders.db.UTCDateTime(timezone=True), nullable=True)
        )
    # Calendars read before this column existed: their connection is the closest known time.
    op.execute("UPDATE calendar_connection SET first_synced_at = created_at WHERE last_synced_at IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table("calendar_connection", schema=None) as batch_op:
        batch_op.drop_column("first_synced_at")
