"""Turn Google Calendar event resources into `RemoteEvent`s: pure, no I/O.

The connector lists with `singleEvents=true`, so every item is a single event or one instance of a
series, never a series master (calendar-apis.md 1.6). A cancelled item without `recurringEventId` is
a deleted event (only `id` guaranteed): a `Removal`. A cancelled instance (`id`, `recurringEventId`
and `originalStartTime` guaranteed) is a `CancelledInstance`: that occurrence was cancelled if its
series still exists, and is gone with it otherwise, which the item alone cannot tell
(calendar-apis.md 1.5).
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, tzinfo
from functools import lru_cache
from typing import Any

from connectors.calendars.base import RemoteEvent

__all__ = ["CancelledInstance", "Removal", "UnreadableEvent", "instance_id", "lookup_zone", "parse_event"]


class UnreadableEvent(ValueError):
    """An event resource that cannot be turned into an appointment; the sync skips it."""


@dataclass(frozen=True, slots=True)
class Removal:
    """The event (or series instance) with this external id no longer exists."""

    external_id: str


@dataclass(frozen=True, slots=True)
class CancelledInstance:
    """A cancelled instance of series `series_id`, whose rule placed it at `original_start` (aware UTC).

    Google's way to cancel (or "delete") one occurrence while the series goes on; also what each
    instance of a deleted series looks like. Only the series' own state tells the two apart.
    """

    external_id: str
    series_id: str
    original_start: datetime


def parse_event(
    item: Mapping[str, Any], *, calendar_timezone: str
) -> RemoteEvent | Removal | CancelledInstance:
    """Return the event, a `Removal` for a deleted one, or a `CancelledInstance`.

    Identity: a single event keeps Google's `id`. A series instance is
    `{recurringEventId}/{originalStartTime in UTC basic format}` (all-day: `{id}/YYYYMMDD`): Google's
    instance id format is undocumented, while `originalStartTime` stays the same when the instance
    is moved. Timed events become aware UTC; all-day dates are midnights in `calendar_timezone`
    (end exclusive).

    :raises UnreadableEvent: no usable id, or unreadable start/end.
    """
    calendar_zone = lookup_zone(calendar_timezone)
    if calendar_zone is None:
        raise UnreadableEvent(f"unknown calendar time zone {calendar_timezone!r}")
    external_id, series_id = _identity(item, calendar_zone)
    if item.get("status") == "cancelled":
        if series_id is None:
            return Removal(external_id)
        original = _mapping(item.get("originalStartTime"), "originalStartTime") or {}
        zone = lookup_zone(_text(original.get("timeZone"))) or calendar_zone
        start = _instant(original, zone, calendar_zone, what=f"original start of {external_id!r}")
        return CancelledInstance(external_id, series_id, start)

    start_field = _mapping(item.get("start"), "start")
    if start_field is None:
        raise UnreadableEvent(f"event {external_id!r} has no start time")
    end_field = _mapping(item.get("end"), "end")
    event_zone_name = _text(start_field.get("timeZone")) or _text((end_field or {}).get("timeZone"))
    event_zone = lookup_zone(event_zone_name) if event_zone_name else None
    if event_zone is None:  # no zone, or one we cannot resolve: the calendar's zone is the best guess
        event_zone_name, event_zone = calendar_timezone, calendar_zone

    all_day = "date" in start_field and "dateTime" not in start_field
    start = _instant(start_field, event_zone, calendar_zone, what=f"start of {external_id!r}")
    end = (
        _instant(end_field, event_zone, calendar_zone, what=f"end of {external_id!r}")
        if end_field is not None and ("date" in end_field or "dateTime" in end_field)
        else start  # tolerated: the service treats a missing duration as a zero-length event
    )
    return RemoteEvent(
        external_id=external_id,
        start=start,
        end=end,
        title=_text(item.get("summary")),
        location=_text(item.get("location")),
        description=_text(item.get("description")),
        timezone=calendar_timezone if all_day else event_zone_name,
        all_day=all_day,
        series_id=series_id,
    )


def instance_id(series_id: str, original_start: Mapping[str, Any], calendar_timezone: str) -> str:
    """The external id of the instance of `series_id` that the series rule placed at `original_start`."""
    zone = lookup_zone(calendar_timezone)
    if zone is None:
        raise UnreadableEvent(f"unknown calendar time zone {calendar_timezone!r}")
    return f"{series_id}/{_basic(original_start, zone, what=f'original start of {series_id!r}')}"


@lru_cache(maxsize=512)
def lookup_zone(name: str) -> tzinfo | None:
    """The zone for an IANA name, or None when it is unknown."""
    if not name or len(name) > 100:
        return None
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):  # ValueError: not a valid key at all
        return None


# --- helpers ------------------------------------------------------------------------------------


def _identity(item: Mapping[str, Any], calendar_zone: tzinfo) -> tuple[str, str | None]:
    raw_id = _text(item.get("id"))
    series_id = _text(item.get("recurringEventId")) or None
    if series_id is None:
        if not raw_id:
            raise UnreadableEvent("event without an id")
        return raw_id, None
    original = _mapping(item.get("originalStartTime"), "originalStartTime")
    if original is None:
        raise UnreadableEvent(f"instance {raw_id or series_id!r} has no originalStartTime")
    basic = _basic(original, calendar_zone, what=f"original start of {raw_id or series_id!r}")
    return f"{series_id}/{basic}", series_id


def _basic(field: Mapping[str, Any], calendar_zone: tzinfo, *, what: str) -> str:
    """`YYYYMMDDTHHMMSSZ` for a timed EventDateTime, `YYYYMMDD` for a date."""
    if "dateTime" not in field and "date" in field:
        return _date(field.get("date"), what).strftime("%Y%m%d")
    zone = lookup_zone(_text(field.get("timeZone"))) or calendar_zone
    return _instant(field, zone, calendar_zone, what=what).strftime("%Y%m%dT%H%M%SZ")


def _instant(field: Mapping[str, Any], event_zone: tzinfo, calendar_zone: tzinfo, *, what: str) -> datetime:
    """An EventDateTime as aware UTC; dates are midnight in the calendar's zone."""
    raw = field.get("dateTime")
    if raw is None:
        if "date" not in field:
            raise UnreadableEvent(f"{what}: neither date nor dateTime")
        day = _date(field.get("date"), what)
        return datetime.combine(day, time(), tzinfo=calendar_zone).astimezone(UTC)
    if not isinstance(raw, str):
        raise UnreadableEvent(f"{what}: dateTime is not text")
    try:
        parsed = datetime.fromisoformat(raw.strip())
    except ValueError as exc:
        raise UnreadableEvent(f"{what}: unreadable dateTime {raw[:40]!r}") from exc
    if parsed.tzinfo is None:  # an offset is optional when timeZone is given (calendar-apis.md 1.7)
        parsed = parsed.replace(tzinfo=event_zone)
    try:
        return parsed.astimezone(UTC)
    except OverflowError as exc:  # year 1 or 9999 with an offset
        raise UnreadableEvent(f"{what}: dateTime {raw[:40]!r} is out of range") from exc


def _date(raw: object, what: str) -> date:
    if not isinstance(raw, str):
        raise UnreadableEvent(f"{what}: date is not text")
    try:
        return date.fromisoformat(raw.strip())
    except ValueError as exc:
        raise UnreadableEvent(f"{what}: unreadable date {raw[:40]!r}") from exc


def _mapping(raw: object, what: str) -> Mapping[str, Any] | None:
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise UnreadableEvent(f"{what} is not an object")
    return raw


def _text(raw: object) -> str:
    return raw if isinstance(raw, str) else ""
