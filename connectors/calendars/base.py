"""The port every calendar provider implements, and the events it hands over.

Connectors never touch the database: they turn a provider's feed into `RemoteEvent`s and a new
opaque cursor, and raise a `CalendarError` subclass that says whether retrying can help.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

PHONE_FIELDS = ("location", "title", "description")


@dataclass(frozen=True, slots=True)
class RemoteEvent:
    """One appointment as the provider shows it; one instance of a recurring series.

    `external_id` is stable across syncs and unique within the calendar (for series instances it
    includes the recurrence id). `start`/`end` are aware UTC; `timezone` is the IANA zone the
    event was written in, or None when the provider gave none. `description` may be HTML.
    """

    external_id: str
    start: datetime
    end: datetime
    title: str = ""
    location: str = ""
    description: str = ""
    timezone: str | None = None
    all_day: bool = False
    cancelled: bool = False
    series_id: str | None = None


@dataclass(frozen=True, slots=True)
class CalendarChanges:
    """What changed since the cursor.

    When `complete` is true, `events` is every event of the calendar inside
    [`window_start`, `window_end`): anything stored in that window and missing here (and not in
    `cancelled_ids`) was removed. `cancelled_ids` are events that still exist but were cancelled,
    known by id only (a cancelled instance of a live Google series): they keep what was last
    known of them. `unchanged` means the provider said nothing changed (HTTP 304, same content hash).
    """

    cursor: str | None
    events: Sequence[RemoteEvent] = ()
    removed_ids: Sequence[str] = ()
    cancelled_ids: Sequence[str] = ()
    complete: bool = False
    unchanged: bool = False
    window_start: datetime | None = None
    window_end: datetime | None = None
    warnings: Sequence[str] = field(default_factory=tuple)


class CalendarError(Exception):
    """A sync could not complete. The message is shown to the calendar's owner as is."""

    retryable: bool = True


class CalendarUnavailable(CalendarError):
    """The provider could not be reached or answered with a server error; retry later."""


class CalendarFeedInvalid(CalendarError):
    """The provider answered, but with something that is not a readable calendar."""


class AccessRevoked(CalendarError):
    """The owner withdrew access (or it expired); only reconnecting helps."""

    retryable = False


class CursorExpired(CalendarError):
    """The stored cursor is no longer accepted; a full sync is needed."""


class CalendarSource(Protocol):
    """A calendar the service reads appointments from."""

    def fetch_changes(
        self, cursor: str | None, *, window_start: datetime, window_end: datetime
    ) -> CalendarChanges:
        """Return the changes since `cursor` (None: a full sync) for events overlapping the window."""
        ...
