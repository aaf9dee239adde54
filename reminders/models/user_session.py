from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from reminders.models.base import Base, BigId, CreatedAtMixin


class UserSession(CreatedAtMixin, Base):
    """A signed-in browser: its session cookie counts only while this row exists and has not expired."""

    __tablename__ = "user_session"

    # SHA-256 of the session id (hex): whoever reads the table cannot turn a row into a cookie.
    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    # Refreshed at most every few minutes, so reading a page rarely writes.
    last_seen_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)
