from __future__ import annotations

from datetime import time

from sqlalchemy import JSON, String, Time
from sqlalchemy.orm import Mapped, mapped_column

from reminders.models.base import Base, CreatedAtMixin, IdMixin


class Account(IdMixin, CreatedAtMixin, Base):
    """A business (clinic, salon) and its defaults."""

    __tablename__ = "account"

    name: Mapped[str] = mapped_column(String(200))
    home_region: Mapped[str] = mapped_column(String(2), default="CH")
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Zurich")
    language: Mapped[str] = mapped_column(String(5), default="de")
    sender_name: Mapped[str] = mapped_column(String(11), default="Reminder")
    quiet_start: Mapped[time] = mapped_column(Time(), default=time(21, 0))
    quiet_end: Mapped[time] = mapped_column(Time(), default=time(8, 0))
    # Denormalised sum of the credit ledger, so a debit is one conditional UPDATE.
    credit_balance: Mapped[int] = mapped_column(default=0)
    # Language of a reminder by the recipient's country code, e.g. {"+33": "fr"}; longest prefix wins.
    language_by_prefix: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
