from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from reminders.models.base import Base, BigId, CreatedAtMixin, IdMixin


class User(IdMixin, CreatedAtMixin, Base):
    """A person who signs in; belongs to one account as its owner or as staff."""

    __tablename__ = "user_account"

    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("account.id", ondelete="CASCADE"), index=True)
    # Stored lower-cased, so the unique index is case-insensitive on both engines.
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str | None] = mapped_column(String(255))
    # owner | staff
    role: Mapped[str] = mapped_column(String(16), default="owner")
    language: Mapped[str] = mapped_column(String(5), default="de")
    email_confirmed_at: Mapped[datetime | None]
    # Raised on password change and "sign out everywhere": older session cookies stop working.
    session_epoch: Mapped[int] = mapped_column(default=0)
    last_login_at: Mapped[datetime | None]
