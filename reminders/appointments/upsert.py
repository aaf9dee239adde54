"""Turn a provider's `RemoteEvent` into an `Appointment` row, with its recipient."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from connectors.calendars.base import RemoteEvent
from reminders.appointments.phones import RecipientResult, find_recipient
from reminders.models import Appointment

STATUS_CONFIRMED = "confirmed"
STATUS_CANCELLED = "cancelled"
STATUS_REMOVED = "removed"


def event_status(event: RemoteEvent) -> str:
    """The status the event gives its appointment (a removed one has no event)."""
    return STATUS_CANCELLED if event.cancelled else STATUS_CONFIRMED


def content_hash(event: RemoteEvent, phone_fields: Sequence[str], region: str) -> str:
    """A digest of everything that decides the appointment's reminders.

    The phone settings are part of it, so changing them re-reads every number on the next sync.
    """
    parts = (
        event.start.isoformat(),
        event.end.isoformat(),
        event.timezone or "",
        "1" if event.all_day else "0",
        "1" if event.cancelled else "0",
        event.title,
        event.location,
        event.description,
        ",".join(phone_fields),
        region,
    )
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode("utf-8", "surrogatepass"))
        digest.update(b"\x1f")
    return digest.hexdigest()


@dataclass(frozen=True, slots=True)
class PreparedEvent:
    """An event with everything worked out that needs no database: clean texts and the recipient.

    Finding the number is the costly part of storing an event, so a sync does it before it
    opens a write transaction.
    """

    event: RemoteEvent
    digest: str
    title: str
    location: str
    description: str
    recipient: RecipientResult


def prepare_event(
    event: RemoteEvent, *, digest: str, phone_fields: Sequence[str], region: str
) -> PreparedEvent:
    """Clean the event's texts and find its recipient in the enabled fields."""
    title, location, description = _clean(event.title), _clean(event.location), _clean(event.description)
    found = find_recipient(
        {"location": location, "title": title, "description": description}, phone_fields, region
    )
    return PreparedEvent(event, digest, title, location, description, found)


def apply_event(appointment: Appointment, prepared: PreparedEvent, *, now: datetime) -> None:
    """Copy the prepared event onto the row."""
    event = prepared.event
    if appointment.starts_at != event.start:
        appointment.scheduled_at = now
    appointment.external_id = event.external_id
    appointment.series_id = event.series_id
    appointment.title = prepared.title
    appointment.location = prepared.location
    appointment.description = prepared.description
    appointment.starts_at = event.start
    appointment.ends_at = event.end
    appointment.timezone = known_zone(event.timezone)
    appointment.all_day = event.all_day
    appointment.status = event_status(event)
    appointment.content_hash = prepared.digest
    appointment.updated_at = now
    appointment.recipient = prepared.recipient.number
    appointment.recipient_source = prepared.recipient.source
    appointment.recipient_reason = prepared.recipient.reason


@lru_cache(maxsize=512)
def known_zone(name: str | None) -> str | None:
    """The zone name if it is an IANA zone this machine knows, else None (the calendar's zone applies)."""
    if not name:
        return None
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None
    return name


def _clean(value: str) -> str:
    # Databases refuse NUL characters and lone surrogates; neither can matter to a reminder.
    return value.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")
