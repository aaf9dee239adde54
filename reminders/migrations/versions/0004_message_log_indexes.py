"""message log indexes

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 01:55:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_reminder_state_updated", "reminder", ["state", "updated_at", "id"])
    op.create_index("ix_send_attempt_account_started", "send_attempt", ["account_id", "started_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_send_attempt_account_started", table_name="send_attempt")
    op.drop_index("ix_reminder_state_updated", table_name="reminder")
