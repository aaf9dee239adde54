from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from reminders.db import utcnow
from reminders.models.base import Base, BigId, CreatedAtMixin, IdMixin


class Reminder(IdMixin, CreatedAtMixin, Base):
    """One SMS planned for one appointment by one rule; the dispatch queue is this table."""

    __tablename__ = "reminder"
    __table_args__ = (
        # The claim query reads only scheduled rows by due time.
        Index(
            "ix_reminder_due_scheduled",
            "due_at",
            postgresql_where=text("state = 'scheduled'"),
            sqlite_where=text("state = 'scheduled'"),
        ),
        Index("ix_reminder_appointment", "appointment_id"),
        # At most one live reminder per rule for a given start of the appointment.
        Index(
            "uq_reminder_live_per_rule",
            "appointment_id",
            "rule_id",
            "for_starts_at",
            unique=True,
            postgresql_where=text("state <> 'cancelled'"),
            sqlite_where=text("state <> 'cancelled'"),
        ),
        Index("ix_reminder_state_lease", "state", "lease_until"),
        # The message log: reminders that ended in a state, newest first.
        Index("ix_reminder_state_updated", "state", "updated_at", "id"),
    )

    appointment_id: Mapped[int] = mapped_column(BigId, ForeignKey("appointment.id", ondelete="CASCADE"))
    rule_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("reminder_rule.id", ondelete="SET NULL"))
    # The appointment start this reminder was planned for; a move to another start re-plans.
    for_starts_at: Mapped[datetime]
    due_at: Mapped[datetime | None]
    nominal_at: Mapped[datetime | None]
    state: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(32))
    body: Mapped[str | None] = mapped_column(Text)
    encoding: Mapped[str | None] = mapped_column(String(8))
    segments: Mapped[int | None]
    attempts: Mapped[int] = mapped_column(default=0)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
