from __future__ import annotations

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from reminders.models.base import Base, BigId, CreatedAtMixin, IdMixin


class BlockedNumber(IdMixin, CreatedAtMixin, Base):
    """A number an account never sends to: opted out (blacklist) or found unassigned (invalid)."""

    __tablename__ = "blocked_number"
    __table_args__ = (UniqueConstraint("account_id", "kind", "number"),)

    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("account.id", ondelete="CASCADE"), index=True)
    # blacklist | invalid
    kind: Mapped[str] = mapped_column(String(16))
    # E.164, as the phone extraction stores recipients.
    number: Mapped[str] = mapped_column(String(20))
    # manual | reply | gateway
    source: Mapped[str] = mapped_column(String(16), default="manual")
    note: Mapped[str] = mapped_column(String(200), default="")
