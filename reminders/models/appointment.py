from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from reminders.db import utcnow
from reminders.models.base import Base, BigId, IdMixin


class Appointment(IdMixin, Base):
    """An event synced from a calendar: one instance of a series, with the recipient found in it."""

    __tablename__ = "appointment"
    __table_args__ = (
        UniqueConstraint("calendar_id", "external_id"),
        Index("ix_appointment_calendar_starts", "calendar_id", "starts_at"),
    )

    calendar_id: Mapped[int] = mapped_column(BigId, ForeignKey("calendar_connection.id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(String(1024))
    series_id: Mapped[str | None] = mapped_column(String(1024))
    title: Mapped[str] = mapped_column(Text, default="")
    location: Mapped[str] = mapped_column(Text, default="")
    description: Mapped[str] = mapped_column(Text, default="")
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    timezone: Mapped[str | None] = mapped_column(String(64))
    all_day: Mapped[bool] = mapped_column(default=False)
    # confirmed | cancelled (in the calendar) | removed (deleted or gone from the feed)
    status: Mapped[str] = mapped_column(String(16), default="confirmed")
    recipient: Mapped[str | None] = mapped_column(String(20))
    recipient_reason: Mapped[str | None] = mapped_column(String(32))
    recipient_source: Mapped[str | None] = mapped_column(String(16))
    content_hash: Mapped[str] = mapped_column(String(64))
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    # When the service last saw the start time set or change ("the date the appointment was saved").
    scheduled_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
