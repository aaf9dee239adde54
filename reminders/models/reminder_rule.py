from __future__ import annotations

from datetime import time

from sqlalchemy import ForeignKey, String, Time
from sqlalchemy.orm import Mapped, mapped_column

from reminders.models.base import Base, BigId, CreatedAtMixin, IdMixin


class ReminderRuleRow(IdMixin, CreatedAtMixin, Base):
    """When a calendar's reminders go out: an offset before the start or "the day before at HH:MM"."""

    __tablename__ = "reminder_rule"

    calendar_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("calendar_connection.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    amount: Mapped[int] = mapped_column(default=0)
    unit: Mapped[str] = mapped_column(String(8), default="hours")
    at_time: Mapped[time | None] = mapped_column(Time())
    days_before: Mapped[int] = mapped_column(default=1)
    active: Mapped[bool] = mapped_column(default=True)
