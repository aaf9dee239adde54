"""sync warnings and held snapshot drops on calendar connections

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 14:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import reminders.db

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("calendar_connection", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sync_warnings", sa.JSON(), server_default="[]", nullable=False))
        batch_op.add_column(sa.Column("held_removals", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("held_upcoming", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("held_sightings", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("held_since", reminders.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("held_confirmed_at", reminders.db.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("calendar_connection", schema=None) as batch_op:
        batch_op.drop_column("held_confirmed_at")
        batch_op.drop_column("held_since")
        batch_op.drop_column("held_sightings")
        batch_op.drop_column("held_upcoming")
        batch_op.drop_column("held_removals")
        batch_op.drop_column("sync_warnings")
