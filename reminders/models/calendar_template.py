from __future__ import annotations

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from reminders.models.base import Base, BigId, IdMixin


class CalendarTemplate(IdMixin, Base):
    """The saved template a calendar uses for one language; one template may serve many calendars."""

    __tablename__ = "calendar_template"
    __table_args__ = (UniqueConstraint("calendar_id", "language"),)

    calendar_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("calendar_connection.id", ondelete="CASCADE"), index=True
    )
    language: Mapped[str] = mapped_column(String(5))
    template_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("message_template.id", ondelete="CASCADE"), index=True
    )
