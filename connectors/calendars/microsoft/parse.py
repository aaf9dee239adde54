"""Turn Microsoft Graph event resources into `RemoteEvent`s: pure, no I/O.

The connector reads `calendarView/delta`, which returns single events, occurrences and exceptions of
series, never series masters (calendar-apis.md 3.4); a master that shows up anyway is skipped.
Removals are `@removed` entries (deleted, or moved out of the round's window: only `id` is
guaranteed). An event the organiser cancelled (`isCancelled`, calendar-apis.md 3.6) still exists
with all its details: it is a cancelled `RemoteEvent`, or a `Cancellation` by id when its details
cannot be read, so that its reminders are withdrawn all the same.

Graph writes times without an offset, in the zone named next to them (calendar-apis.md 3.6). That
name may be an IANA name, "UTC" or a Windows name ("W. Europe Standard Time"); Windows names are
mapped with the CLDR windowsZones table that icalendar ships.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import lru_cache
from typing import Any

from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON

from connectors.calendars.base import RemoteEvent

__all__ = ["Cancellation", "Removal", "UnreadableEvent", "lookup_zone", "parse_event", "zone_key"]

# Names that mean UTC; Graph also uses "tzone://Microsoft/Utc" for events created through the API.
_UTC_KEYS = frozenset(
    {"UTC", "Etc/UTC", "Etc/UCT", "UCT", "Etc/GMT", "GMT", "Zulu", "Etc/Zulu", "Universal", "Etc/Universal"}
)
_UTC_ALIASES = frozenset({"utc", "tzone://microsoft/utc", "coordinated universal time"})


class UnreadableEvent(ValueError):
    """An event resource that cannot be turned into an appointment; the sync skips it."""


@dataclass(frozen=True, slots=True)
class Removal:
    """The event (or series occurrence) with this external id no longer exists in the window."""

    external_id: str


@dataclass(frozen=True, slots=True)
class Cancellation:
    """The event with this external id was cancelled; its details could not be read."""

    external_id: str


def parse_event(
    item: Mapping[str, Any], *, default_timezone: str
) -> RemoteEvent | Removal | Cancellation | None:
    """Return the event, a `Removal`, a `Cancellation`, or None for a series master.

    A series master is never an appointment itself: its occurrences are.

    Identity is Graph's `id` (occurrence ids are stable, calendar-apis.md 3.6) and `series_id` its
    `seriesMasterId`. Timed events become aware UTC. All-day events are midnight to midnight (end
    exclusive) in the event's zone. The reported zone is the one the event was written in
    (`originalStartTimeZone`); UTC or an unknown name falls back to `default_timezone`, because
    reminders shown in UTC would be wrong for almost every owner.

    :raises UnreadableEvent: no usable id, or unreadable start/end.
    """
    default_zone = lookup_zone(default_timezone)
    if default_zone is None:
        raise UnreadableEvent(f"unknown default time zone {default_timezone!r}")
    external_id = _text(item.get("id"))
    if not external_id:
        raise UnreadableEvent("event without an id")
    if "@removed" in item:
        return Removal(external_id)
    if item.get("type") == "seriesMaster":
        return None
    cancelled = item.get("isCancelled") is True
    try:
        return _event(item, external_id, default_timezone, default_zone, cancelled=cancelled)
    except UnreadableEvent:
        if cancelled:  # its reminders must go even though its times cannot be read
            return Cancellation(external_id)
        raise


def _event(
    item: Mapping[str, Any], external_id: str, default_timezone: str, default_zone: tzinfo, *, cancelled: bool
) -> RemoteEvent:
    """The event's times and texts; see `parse_event`."""
    start_field = _mapping(item.get("start"), f"start of {external_id!r}")
    if start_field is None:
        raise UnreadableEvent(f"event {external_id!r} has no start time")
    end_field = _mapping(item.get("end"), f"end of {external_id!r}")
    zone_name = _event_zone_name(item, start_field) or default_timezone
    event_zone = lookup_zone(zone_name) or default_zone

    all_day = item.get("isAllDay") is True
    if all_day:
        first = _day(start_field, default_zone, event_zone, what=f"start of {external_id!r}")
        last = (
            _day(end_field, default_zone, event_zone, what=f"end of {external_id!r}")
            if end_field is not None and end_field.get("dateTime") is not None
            else first + timedelta(days=1)
        )
        start, end = _midnight(first, event_zone), _midnight(max(first, last), event_zone)
    else:
        start = _instant(start_field, default_zone, what=f"start of {external_id!r}")
        end = (
            _instant(end_field, default_zone, what=f"end of {external_id!r}")
            if end_field is not None and end_field.get("dateTime") is not None
            else start  # tolerated: the service treats a missing duration as a zero-length event
        )
    return RemoteEvent(
        external_id=external_id,
        start=start,
        end=end,
        title=_text(item.get("subject")),
        location=_location(item),
        description=_description(item),
        timezone=zone_name,
        all_day=all_day,
        cancelled=cancelled,
        series_id=_text(item.get("seriesMasterId")) or None,
    )


def zone_key(name: str) -> str | None:
    """The IANA key for an IANA, Windows or UTC zone name; None when it is unknown."""
    if not name or len(name) > 200:
        return None
    return _cached_zone_key(name.strip())


def lookup_zone(name: str) -> tzinfo | None:
    """The zone for an IANA, Windows or UTC zone name; None when it is unknown."""
    key = zone_key(name)
    return zoneinfo.ZoneInfo(key) if key is not None else None


# --- helpers ------------------------------------------------------------------------------------


@lru_cache(maxsize=512)
def _cached_zone_key(name: str) -> str | None:
    if name.lower() in _UTC_ALIASES:
        return "UTC"
    for candidate in (name, WINDOWS_TO_OLSON.get(name, "")):
        if not candidate:
            continue
        try:
            zoneinfo.ZoneInfo(candidate)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):  # ValueError: not a valid key at all
            continue
        return candidate
    return None


def _event_zone_name(item: Mapping[str, Any], start_field: Mapping[str, Any]) -> str | None:
    """The IANA zone the event was written in, skipping UTC (what `Prefer: outlook.timezone` gives)."""
    for raw in (item.get("originalStartTimeZone"), start_field.get("timeZone")):
        key = zone_key(_text(raw))
        if key is not None and key not in _UTC_KEYS:
            return key
    return None


def _instant(field: Mapping[str, Any], default_zone: tzinfo, *, what: str) -> datetime:
    """A dateTimeTimeZone as aware UTC: the offset-less `dateTime` read in its `timeZone`."""
    parsed = _local(field, what=what)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=lookup_zone(_text(field.get("timeZone"))) or default_zone)
    try:
        return parsed.astimezone(UTC)
    except OverflowError as exc:  # year 1 or 9999 in a zone with an offset
        raise UnreadableEvent(f"{what}: dateTime is out of range") from exc


def _day(field: Mapping[str, Any], default_zone: tzinfo, event_zone: tzinfo, *, what: str) -> date:
    """The calendar date an all-day boundary stands for.

    All-day times are midnights. Whether Graph converts them into the `outlook.timezone` asked for
    is unconfirmed (calendar-apis.md 7.6), so a boundary that is not a midnight as written is read
    as an instant and rounded to the nearest midnight in the event's zone.
    """
    parsed = _local(field, what=what)
    if parsed.tzinfo is None and parsed.time() == time():
        return parsed.date()
    local = _instant(field, default_zone, what=what).astimezone(event_zone)
    return (local + timedelta(hours=12)).date()


def _midnight(day: date, zone: tzinfo) -> datetime:
    return datetime.combine(day, time(), tzinfo=zone).astimezone(UTC)


def _local(field: Mapping[str, Any], *, what: str) -> datetime:
    raw = field.get("dateTime")
    if not isinstance(raw, str):
        raise UnreadableEvent(f"{what}: dateTime is not text")
    try:
        return datetime.fromisoformat(raw.strip())  # 7 fractional digits are read (and truncated)
    except ValueError as exc:
        raise UnreadableEvent(f"{what}: unreadable dateTime {raw[:40]!r}") from exc


def _location(item: Mapping[str, Any]) -> str:
    """`location.displayName`, plus any `locations[]` name it does not already contain."""
    names: list[str] = []
    location = item.get("location")
    others = item.get("locations")
    candidates = [location] + (list(others) if isinstance(others, list) else [])
    for candidate in candidates:
        name = _text(candidate.get("displayName")).strip() if isinstance(candidate, Mapping) else ""
        # Outlook joins several locations into location.displayName with "; ".
        if name and not any(name in known for known in names):
            names.append(name)
    return "; ".join(names)


def _description(item: Mapping[str, Any]) -> str:
    """The body (HTML or text, as Graph sends it); the plain-text preview when there is none."""
    body = item.get("body")
    content = _text(body.get("content")) if isinstance(body, Mapping) else ""
    return content if content.strip() else _text(item.get("bodyPreview"))


def _mapping(raw: object, what: str) -> Mapping[str, Any] | None:
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise UnreadableEvent(f"{what} is not an object")
    return raw


def _text(raw: object) -> str:
    return raw if isinstance(raw, str) else ""
