from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from reminders.db import utcnow
from reminders.models.base import Base, BigId, IdMixin


class SendAttempt(IdMixin, Base):
    """One hand-over of a reminder to the SMS gateway, written before the gateway is called."""

    __tablename__ = "send_attempt"
    # The message log: an account's hand-overs, newest first.
    __table_args__ = (Index("ix_send_attempt_account_started", "account_id", "started_at", "id"),)

    reminder_id: Mapped[int] = mapped_column(BigId, ForeignKey("reminder.id", ondelete="CASCADE"), index=True)
    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("account.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(default=1)
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    gateway: Mapped[str] = mapped_column(String(32))
    recipient: Mapped[str] = mapped_column(String(20))
    sender: Mapped[str] = mapped_column(String(11))
    body: Mapped[str] = mapped_column(Text)
    encoding: Mapped[str] = mapped_column(String(8))
    segments: Mapped[int]
    # pending | sent | failed | unknown
    outcome: Mapped[str] = mapped_column(String(16), default="pending")
    provider_message_id: Mapped[str | None] = mapped_column(String(128))
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    finished_at: Mapped[datetime | None]
