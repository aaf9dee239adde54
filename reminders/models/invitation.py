from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from reminders.models.base import Base, BigId, CreatedAtMixin, IdMixin


class Invitation(IdMixin, CreatedAtMixin, Base):
    """An address invited into an account; it becomes a user when the link in the e-mail is used.

    Kept apart from users so that inviting an address that already has an account (elsewhere)
    looks exactly like any other pending invitation to the owner.
    """

    __tablename__ = "invitation"
    __table_args__ = (UniqueConstraint("account_id", "email"),)

    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("account.id", ondelete="CASCADE"))
    # Lower-cased, like `User.email`.
    email: Mapped[str] = mapped_column(String(320))
    name: Mapped[str] = mapped_column(String(200), default="")
    # owner | staff
    role: Mapped[str] = mapped_column(String(16))
    language: Mapped[str] = mapped_column(String(5))
    # When the last e-mail went out: its link is bound to it, so sending again retires older links.
    sent_at: Mapped[datetime]
