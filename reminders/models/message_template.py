from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from reminders.db import utcnow
from reminders.models.base import Base, BigId, CreatedAtMixin, IdMixin


class MessageTemplate(IdMixin, CreatedAtMixin, Base):
    """A reminder text with placeholders; data, never code."""

    __tablename__ = "message_template"

    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("account.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    language: Mapped[str] = mapped_column(String(5), default="de")
    body: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
