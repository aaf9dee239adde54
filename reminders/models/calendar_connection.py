from __future__ import annotations

from datetime import datetime, time

from sqlalchemy import JSON, ForeignKey, String, Text, Time, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from connectors.calendars.base import PHONE_FIELDS
from reminders.models.base import Base, BigId, CreatedAtMixin, IdMixin


def _default_phone_fields() -> list[str]:
    return list(PHONE_FIELDS)


class CalendarConnection(IdMixin, CreatedAtMixin, Base):
    """One connected calendar (Google, Outlook or ICS) and its reminder settings."""

    __tablename__ = "calendar_connection"
    __table_args__ = (UniqueConstraint("account_id", "provider", "external_id"),)

    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("account.id", ondelete="CASCADE"), index=True)
    provider: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(2048))
    name: Mapped[str] = mapped_column(String(200))
    enabled: Mapped[bool] = mapped_column(default=True)
    phone_fields: Mapped[list[str]] = mapped_column(JSON, default=_default_phone_fields)
    timezone: Mapped[str | None] = mapped_column(String(64))
    language: Mapped[str | None] = mapped_column(String(5))
    sender_name: Mapped[str | None] = mapped_column(String(11))
    allow_late_send: Mapped[bool] = mapped_column(default=False)
    # Quiet hours of this calendar; None means the account's.
    quiet_start: Mapped[time | None] = mapped_column(Time())
    quiet_end: Mapped[time | None] = mapped_column(Time())
    grant_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("oauth_grant.id", ondelete="SET NULL"), index=True
    )
    disconnected_at: Mapped[datetime | None]

    cursor: Mapped[str | None] = mapped_column(Text)
    last_synced_at: Mapped[datetime | None]
    # The end of the first successful read: reminder times before it were never possible.
    first_synced_at: Mapped[datetime | None]
    last_sync_error: Mapped[str | None] = mapped_column(Text)
    last_sync_error_at: Mapped[datetime | None]
    sync_failures: Mapped[int] = mapped_column(default=0)
    next_sync_at: Mapped[datetime | None] = mapped_column(index=True)
    # What the owner should know about the last read: events skipped or repaired, series cut short.
    sync_warnings: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    # A snapshot that dropped most upcoming appointments at once, held back (calendars.drop_guard).
    held_removals: Mapped[int] = mapped_column(default=0, server_default="0")
    held_upcoming: Mapped[int] = mapped_column(default=0, server_default="0")
    held_sightings: Mapped[int] = mapped_column(default=0, server_default="0")
    held_since: Mapped[datetime | None]
    held_confirmed_at: Mapped[datetime | None]
    # Push notifications (Google channel, later Graph subscription).
    push_channel_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    push_resource_id: Mapped[str | None] = mapped_column(String(256))
    push_token: Mapped[str | None] = mapped_column(String(256))
    push_expires_at: Mapped[datetime | None] = mapped_column(index=True)
