from __future__ import annotations

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from reminders.models.base import Base, BigId, CreatedAtMixin, IdMixin


class User(IdMixin, CreatedAtMixin, Base):
    """A person who signs in; belongs to one account."""

    __tablename__ = "user_account"

    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("account.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str | None] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default="owner")
    language: Mapped[str] = mapped_column(String(5), default="de")
