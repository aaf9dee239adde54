from __future__ import annotations

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from reminders.models.base import Base, BigId, CreatedAtMixin, IdMixin


class CreditEntry(IdMixin, CreatedAtMixin, Base):
    """One movement of an account's SMS credit; the balance is their sum."""

    __tablename__ = "credit_ledger"

    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("account.id", ondelete="CASCADE"), index=True)
    delta: Mapped[int]
    balance_after: Mapped[int]
    # grant | purchase | send | refund | adjustment
    kind: Mapped[str] = mapped_column(String(16))
    reminder_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("reminder.id", ondelete="SET NULL"))
    note: Mapped[str] = mapped_column(String(200), default="")
