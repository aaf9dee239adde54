"""Turn iCalendar (RFC 5545) data into `RemoteEvent`s: pure, no I/O.

`parse_ics` reads a whole feed, expands recurring series inside a time window with
recurring-ical-events and returns the instances plus warnings for the calendar's owner. A feed that
cannot be read at all raises `CalendarFeedInvalid`; a broken part (an alarm, a time zone, one event)
is repaired or skipped, and the warning names the event and says what was done, in one sentence of
ours: library errors are only logged, at debug level, since their texts mean nothing to an owner
and can show the server's file paths.

Untrusted feeds can make the libraries underneath loop for a very long time; the guards against that
live in `ics_recurrence` (repeat rules and the expansion work budget) and `ics_zones` (time zones).
"""

from __future__ import annotations

import codecs
import hashlib
import logging
import re
import warnings
import zoneinfo
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

import icalendar
import recurring_ical_events
import x_wr_timezone  # type: ignore[import-untyped]

from connectors.calendars.base import CalendarFeedInvalid, RemoteEvent
from connectors.calendars.ics_errors import ParseOutOfMemory, raise_if_out_of_memory
from connectors.calendars.ics_naming import (
    event_subject,
    name_text,
    period_text,
    sentence,
)
from connectors.calendars.ics_prune import prune_feed
from connectors.calendars.ics_recurrence import (
    EXPANSION_BUDGET,
    FEED_EXPANSION_BUDGET,
    GUARD_INSTALLED,
    ExpansionTooCostly,
    FeedBudget,
    SeriesBudget,
    is_empty_rule,
    rule_problem,
)
from connectors.calendars.ics_zones import (
    PARSE_LOCK,
    TimezoneDefinitions,
    dropped_zone_phrase,
    fresh_zone_cache,
    lookup_zone,
    usable_tzid,
    zone_label,
)

# Re-exported: ics.py imports lookup_zone from here, and tests read or patch the budget names here.
__all__ = [
    "EXPANSION_BUDGET",
    "FEED_EXPANSION_BUDGET",
    "GUARD_INSTALLED",
    "NOT_ICALENDAR_TEXT",
    "ParseOutOfMemory",
    "check_parse_arguments",
    "describe_non_icalendar",
    "lookup_zone",
    "parse_ics",
]

log = logging.getLogger(__name__)

MAX_TEXT_CHARS = 100_000
MAX_WARNINGS = 50
MAX_UID_CHARS = 255
# Library spans are compared in local wall time for floating/all-day series; widen and filter later.
_SPAN_MARGIN = timedelta(days=2)
# Expansion proceeds in slices so that a huge window stops early once a series hits its cap.
_SLICE = timedelta(days=366)

_BEGIN_CALENDAR = re.compile(r"^BEGIN:VCALENDAR[ \t]*\r?$", re.IGNORECASE | re.MULTILINE)
_UNREADABLE = "The calendar feed could not be read: it is not well-formed iCalendar."
_UNREPAIRABLE = "The calendar feed could not be read: it is broken in a way that cannot be repaired."


def parse_ics(
    data: bytes,
    *,
    window_start: datetime,
    window_end: datetime,
    default_timezone: str,
    max_instances_per_series: int = 1000,
    max_events: int = 200_000,
) -> tuple[list[RemoteEvent], list[str]]:
    """Return every VEVENT instance overlapping [window_start, window_end) and the warnings.

    Floating times and all-day dates are read in the calendar's X-WR-TIMEZONE, else in
    `default_timezone` (an IANA name; ValueError if unknown). A series yields at most
    `max_instances_per_series` instances (the earliest ones). Events come sorted by start.

    :raises CalendarFeedInvalid: the data is not a readable calendar, or has more than
        `max_events` events.
    """
    default_zone = check_parse_arguments(window_start, window_end, default_timezone)
    notes = _Notes()
    try:
        with PARSE_LOCK, warnings.catch_warnings(record=True) as caught:
            # Libraries warn on odd input (guessed TZIDs, COUNT with UNTIL): log, never raise.
            warnings.simplefilter("always")
            events = _parse(
                data, window_start, window_end, default_zone, max_instances_per_series, max_events, notes
            )
    except CalendarFeedInvalid:
        raise
    except Exception as exc:  # no library failure may reach the owner as such (see the docstring)
        raise_if_out_of_memory(exc)
        log.debug("ics.parse.failed", exc_info=True)
        raise CalendarFeedInvalid(_UNREPAIRABLE) from exc
    for warning in caught:
        log.debug("ics.parse.library_warning %s: %s", warning.category.__name__, warning.message)
    events.sort(key=lambda event: (event.start, event.external_id))
    return events, notes.result()


def check_parse_arguments(
    window_start: datetime, window_end: datetime, default_timezone: str
) -> zoneinfo.ZoneInfo:
    """The default zone of a parse; ValueError for arguments `parse_ics` refuses."""
    if window_start.tzinfo is None or window_end.tzinfo is None or window_end <= window_start:
        raise ValueError("the window must be aware and non-empty")
    default_zone = lookup_zone(default_timezone)
    if default_zone is None:
        raise ValueError(f"unknown time zone {default_timezone!r}")
    return default_zone


def _parse(
    data: bytes,
    window_start: datetime,
    window_end: datetime,
    default_zone: zoneinfo.ZoneInfo,
    max_instances: int,
    max_events: int,
    notes: _Notes,
) -> list[RemoteEvent]:
    text = _decode(data, notes)
    calendars, dropped_zones = _read_calendars(text, notes)
    context = _Context(
        window_start=window_start.astimezone(UTC),
        window_end=window_end.astimezone(UTC),
        zone=default_zone,
        zone_name=default_zone.key,
        max_instances=max_instances,
        notes=notes,
        # Read here, at call time, so that patching them on this module takes effect.
        budget=FeedBudget(FEED_EXPANSION_BUDGET, per_series=EXPANSION_BUDGET),
        max_events=max_events,
        dropped_zones=dropped_zones,
    )
    _check_event_count(calendars, max_events)
    return _collect(calendars, context, default_zone)


# What `describe_non_icalendar` says of text it cannot place (no BEGIN: line first).
NOT_ICALENDAR_TEXT = "text that is not iCalendar"


def describe_non_icalendar(data: bytes) -> str | None:
    """Return None when `data` looks like iCalendar, else what it looks like ("an HTML page")."""
    head = _decode_head(data).lstrip(" \t\r\n\ufeff")[:1024]
    if not head:
        return "an empty document"
    if head[:6].upper() == "BEGIN:":
        return None
    lowered = head.lower()
    if lowered.startswith("<!doctype html") or "<html" in lowered:
        return "an HTML page"
    if head.startswith("<"):
        return "an XML document"
    if head[0] in "{[":
        return "a JSON document"
    if "\x00" in head or "\ufffd" in head:
        return "binary data"
    return NOT_ICALENDAR_TEXT


# --- reading the document -------------------------------------------------------------------


@dataclass
class _Notes:
    """Warnings for the calendar's owner: deduplicated and capped, so a bad feed stays readable."""

    messages: list[str] = field(default_factory=list)
    dropped: int = 0
    _seen: set[str] = field(default_factory=set)

    def add(self, message: str) -> None:
        if message in self._seen:
            return
        self._seen.add(message)
        if len(self.messages) < MAX_WARNINGS:
            self.messages.append(message)
        else:
            self.dropped += 1

    def result(self) -> list[str]:
        extra = [f"… and {self.dropped} more warnings."] if self.dropped else []
        return self.messages + extra


def _decode(data: bytes, notes: _Notes) -> str:
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16", "replace")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        notes.add("The calendar feed is not valid UTF-8; unreadable characters were replaced.")
        return data.decode("utf-8-sig", "replace")


def _decode_head(data: bytes) -> str:
    head = data[:4096]
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return head.decode("utf-16", "replace")
    return head.decode("utf-8-sig", "replace")


def _read_calendars(text: str, notes: _Notes) -> tuple[list[icalendar.Calendar], dict[str, str]]:
    """The feed's calendars, and why time zone definitions were dropped (by TZID)."""
    what = describe_non_icalendar(text[:2048].encode("utf-8", "replace"))
    if what is not None:
        raise CalendarFeedInvalid(f"The calendar feed is not an iCalendar file (it is {what}).")
    zones = TimezoneDefinitions(notes.add)
    with fresh_zone_cache():
        text = prune_feed(text, zones)
        try:
            components: Sequence[icalendar.Component] = icalendar.Calendar.from_ical(text, multiple=True)
        except Exception as exc:  # the parser raises ValueError, IndexError, TypeError... on junk
            raise_if_out_of_memory(exc)
            log.debug("ics.parse.unreadable", exc_info=True)
            raise CalendarFeedInvalid(_UNREADABLE) from exc
    calendars = [c for c in components if isinstance(c, icalendar.Calendar)]
    if len(calendars) < len(_BEGIN_CALENDAR.findall(text)):
        # The parser silently drops a calendar without END:VCALENDAR. Treating a cut-off download
        # as complete would delete every appointment after the cut.
        raise CalendarFeedInvalid("The calendar feed is incomplete (it ends in the middle of a calendar).")
    loose = [c for c in components if isinstance(c, icalendar.Event)]
    if loose:  # bare VEVENTs without a VCALENDAR: unusual but unambiguous
        wrapper = icalendar.Calendar()
        for event in loose:
            wrapper.add_component(event)
        calendars.append(wrapper)
    if not calendars:
        raise CalendarFeedInvalid("The calendar feed contains no calendar (no VCALENDAR).")
    return calendars, zones.dropped


def _check_event_count(calendars: list[icalendar.Calendar], max_events: int) -> None:
    count = sum(1 for cal in calendars for c in cal.subcomponents if isinstance(c, icalendar.Event))
    if count > max_events:
        raise CalendarFeedInvalid(f"The calendar feed has more than {max_events:,} events.")


# --- collecting events --------------------------------------------------------------------------


@dataclass
class _Context:
    window_start: datetime
    window_end: datetime
    zone: zoneinfo.ZoneInfo
    zone_name: str
    max_instances: int
    notes: _Notes
    budget: FeedBudget
    max_events: int
    # TZID -> why the feed's definition of it was dropped (ics_zones).
    dropped_zones: dict[str, str] = field(default_factory=dict)
    seen_ids: set[str] = field(default_factory=set)
    # id(tzinfo) -> (tzinfo, label): custom VTIMEZONE zones, named from the TZID that made them.
    labels: dict[int, tuple[tzinfo, str | None]] = field(default_factory=dict)

    def label(self, value: date) -> str | None:
        if not isinstance(value, datetime) or value.tzinfo is None:
            return self.zone_name
        hit = self.labels.get(id(value.tzinfo))
        if hit is not None and hit[0] is value.tzinfo:
            return hit[1]
        return zone_label(value.tzinfo, None)

    def overlaps(self, start: datetime, end: datetime) -> bool:
        # Zero-length events at window_start count as inside.
        return start < self.window_end and (start >= self.window_start or end > self.window_start)

    def subject(self, component: icalendar.Event, uid: str, *, series: bool | None = None) -> str:
        """How warnings name this component: title and local start, else its UID."""
        if series is None:
            series = "RRULE" in component or "RDATE" in component
        start = _safe_dt(component.get("DTSTART"))
        return event_subject(
            title=_text(component, "SUMMARY"),
            start=start if isinstance(start, date) else None,
            uid=uid,
            series=series,
            zone=self.zone,
        )


def _collect(
    calendars: list[icalendar.Calendar], context: _Context, default_zone: zoneinfo.ZoneInfo
) -> list[RemoteEvent]:
    events: list[RemoteEvent] = []
    for calendar in calendars:
        calendar = _apply_calendar_zone(calendar, context, default_zone)
        for uid, components in _group_by_uid(calendar, context.notes).items():
            for event in _events_of_uid(uid, components, context):
                if event.external_id in context.seen_ids:
                    subject = event_subject(
                        title=event.title, start=event.start, uid=uid, series=False, zone=context.zone
                    )
                    context.notes.add(sentence(subject, "appears twice in the feed; the copy was ignored"))
                    continue
                context.seen_ids.add(event.external_id)
                events.append(event)
            if len(events) > context.max_events:  # checked early: series can multiply a small file
                raise CalendarFeedInvalid(
                    f"The calendar feed has more than {context.max_events:,} events in the sync window."
                )
    return events


def _events_of_uid(uid: str, components: list[icalendar.Event], context: _Context) -> list[RemoteEvent]:
    """The events of one UID; a failure we did not foresee costs this UID only, never the feed."""
    try:
        return _group_events(uid, components, context)
    except CalendarFeedInvalid:
        raise
    except Exception as exc:
        raise_if_out_of_memory(exc)
        log.debug("ics.parse.event_failed", exc_info=True)
        context.notes.add(sentence(context.subject(components[0], uid), "could not be read; it was ignored"))
        return []


def _apply_calendar_zone(
    calendar: icalendar.Calendar, context: _Context, default_zone: zoneinfo.ZoneInfo
) -> icalendar.Calendar:
    """Pick the zone for floating times (X-WR-TIMEZONE, else the default) and apply it."""
    context.zone, context.zone_name = default_zone, default_zone.key
    raw = calendar.get("X-WR-TIMEZONE")
    name = str(raw[0] if isinstance(raw, list) and raw else raw).strip() if raw is not None else None
    name = name or None  # an empty X-WR-TIMEZONE names no zone: the default applies, nothing is lost
    zone = lookup_zone(name) if name is not None else None
    if name is not None and zone is None:
        context.notes.add(
            f"The calendar's time zone {name_text(name)} is unknown; "
            f"its times were read as {default_zone.key}."
        )
    if zone is not None:
        context.zone, context.zone_name = zone, zone.key
    _warn_unknown_tzids(calendar, context)
    if zone is None:
        return calendar
    try:
        # Google writes UTC times plus X-WR-TIMEZONE and means that zone's wall clock for series.
        converted: icalendar.Calendar = x_wr_timezone.to_standard(calendar, timezone=zone)
    except Exception as exc:  # a failed conversion must not lose the feed
        raise_if_out_of_memory(exc)
        log.debug("ics.parse.x_wr_timezone_failed zone=%s", zone.key, exc_info=True)
        context.notes.add(
            f"The calendar's time zone {zone.key} could not be applied to its events; "
            "their times were read as written."
        )
        return calendar
    return converted


def _warn_unknown_tzids(calendar: icalendar.Calendar, context: _Context) -> None:
    """One warning per TZID that could not be resolved, naming the first event that uses it."""
    users: dict[str, list[icalendar.Event]] = {}
    for component in calendar.subcomponents:
        if not isinstance(component, icalendar.Event):
            continue
        for name in ("DTSTART", "DTEND", "RECURRENCE-ID"):
            prop = component.get(name)
            params = getattr(prop, "params", {})
            tzid = params.get("TZID") if isinstance(params, dict) else None
            dt = _safe_dt(prop)
            if isinstance(tzid, str) and isinstance(dt, datetime) and dt.tzinfo is None:
                found = users.setdefault(tzid, [])
                if not found or found[-1] is not component:
                    found.append(component)
    for tzid, components in list(users.items())[:5]:
        context.notes.add(_unknown_zone_warning(tzid, components, context))


def _unknown_zone_warning(tzid: str, components: list[icalendar.Event], context: _Context) -> str:
    first = components[0]
    subject = context.subject(first, _uid(first) or "")
    others = len(components) - 1
    if others:
        subject += f" and {others} other event{'s' if others > 1 else ''}"
    one = not others
    if not tzid.strip():
        what = f"{'names' if one else 'name'} no time zone (its TZID is empty)"
    elif not usable_tzid(tzid):
        what = f"{'uses' if one else 'use'} an invalid time zone name {name_text(tzid)}"
    elif tzid in context.dropped_zones:
        what = f"{'uses' if one else 'use'} {dropped_zone_phrase(tzid, context.dropped_zones[tzid])}"
    else:
        what = f"{'uses' if one else 'use'} the unknown time zone {name_text(tzid)}"
    return sentence(subject, f"{what}; {'its' if one else 'their'} times were read as {context.zone_name}")


def _group_by_uid(calendar: icalendar.Calendar, notes: _Notes) -> dict[str, list[icalendar.Event]]:
    groups: dict[str, list[icalendar.Event]] = {}
    anonymous = 0
    for component in calendar.subcomponents:
        if not isinstance(component, icalendar.Event):
            continue
        uid = _uid(component)
        if uid is None:
            anonymous += 1
            uid = _derived_uid(component, groups)
        groups.setdefault(uid, []).append(component)
    if anonymous == 1:
        notes.add("1 event has no UID; it is told apart from the others by its start and title.")
    elif anonymous:
        notes.add(f"{anonymous} events have no UID; they are told apart by their start and title.")
    return groups


def _uid(component: icalendar.Event) -> str | None:
    raw = component.get("UID")
    if isinstance(raw, list):
        raw = raw[0] if raw else None
    uid = _clean_text(str(raw)).strip() if raw is not None else ""
    if not uid:
        return None
    if len(uid) > MAX_UID_CHARS:  # keep ids storable; the hash is as stable as the UID
        return "uid-sha256:" + hashlib.sha256(uid.encode()).hexdigest()
    return uid


def _derived_uid(component: icalendar.Event, groups: dict[str, list[icalendar.Event]]) -> str:
    start = component.get("DTSTART")
    start_text = start.to_ical().decode("utf-8", "replace") if hasattr(start, "to_ical") else ""
    tzid = str(getattr(start, "params", {}).get("TZID", ""))
    summary = _text(component, "SUMMARY")
    digest = hashlib.sha256(f"{start_text}|{tzid}|{summary}".encode("utf-8", "replace")).hexdigest()[:24]
    uid, n = f"nouid-{digest}", 1
    while uid in groups:  # identical twins: number them in file order
        n += 1
        uid = f"nouid-{digest}-{n}"
    return uid


# --- one UID: a single event or a series ------------------------------------------------------


def _group_events(uid: str, components: list[icalendar.Event], context: _Context) -> list[RemoteEvent]:
    masters = [c for c in components if "RECURRENCE-ID" not in c]
    if len(masters) > 1:
        latest = max(masters, key=_sequence)  # the first of the highest SEQUENCE, as the library does
        context.notes.add(
            f"{len(masters)} versions of {context.subject(latest, uid)} share one UID; "
            "only the latest was read."
        )
        components = [c for c in components if c is latest or "RECURRENCE-ID" in c]
        masters = [latest]
    prepared = [p for p in (_prepare(c, uid, context) for c in components) if p is not None]
    if not prepared or (masters and not any("RECURRENCE-ID" not in p for p in prepared)):
        return []  # the master was unusable (already warned): its instances cannot be computed
    recurring = any(name in c for c in prepared for name in ("RRULE", "RDATE", "RECURRENCE-ID"))
    if len(prepared) == 1 and not recurring and "EXDATE" not in prepared[0]:
        single = _single_event(prepared[0], uid, context)
        return [] if single is None else [single]
    return _expand_series(uid, prepared, recurring, context)


def _sequence(component: icalendar.Event) -> int:
    value = component.get("SEQUENCE", -1)
    return value if isinstance(value, int) else -1


def _single_event(component: icalendar.Event, uid: str, context: _Context) -> RemoteEvent | None:
    start_raw: date = _safe_dt(component.get("DTSTART"))
    end_raw = _raw_end(component, start_raw)
    start, end = _to_utc(start_raw, context.zone), _to_utc(end_raw, context.zone)
    if not context.overlaps(start, end):
        return None
    return _remote_event(component, uid, None, start_raw, start, end, context)


def _raw_end(component: icalendar.Event, start: date) -> date:
    end = _safe_dt(component.get("DTEND"))
    if isinstance(end, date):
        return end
    duration = _safe_dt(component.get("DURATION"))
    if isinstance(duration, timedelta):
        return start + duration
    return start if isinstance(start, datetime) else start + timedelta(days=1)


def _remote_event(
    component: icalendar.Event,
    external_id: str,
    series_id: str | None,
    start_raw: date,
    start: datetime,
    end: datetime,
    context: _Context,
) -> RemoteEvent:
    description = _text(component, "DESCRIPTION") or _html_description(component)
    status = component.get("STATUS")
    return RemoteEvent(
        external_id=external_id,
        start=start,
        end=end,
        title=_text(component, "SUMMARY"),
        location=_text(component, "LOCATION"),
        description=description,
        timezone=context.label(start_raw),
        all_day=not isinstance(start_raw, datetime),
        cancelled=str(status).strip().upper() == "CANCELLED" if status is not None else False,
        series_id=series_id,
    )


def _expand_series(
    uid: str, components: list[icalendar.Event], recurring: bool, context: _Context
) -> list[RemoteEvent]:
    """Expand one UID with recurring-ical-events, within work budgets and an instance cap."""
    budget = context.budget.for_series([r for c in components for r in _as_list(c.get("RRULE"))])
    master = next((c for c in components if "RECURRENCE-ID" not in c), components[0])
    subject = context.subject(master, uid, series=recurring)
    try:
        return _expand(uid, components, uid if recurring else None, budget, subject, context)
    except ExpansionTooCostly:
        if context.budget.limited_by_feed(budget):
            predicate = "was ignored because the feed's repeating events together are too costly to compute"
        else:
            predicate = "is too costly to compute; it was ignored"
        context.notes.add(sentence(subject, predicate))
    except Exception as exc:  # the expansion library raises many types on bad data
        raise_if_out_of_memory(exc)
        log.debug("ics.parse.expansion_failed", exc_info=True)
        context.notes.add(sentence(subject, "could not be computed; it was ignored"))
    finally:
        context.budget.settle(budget)
    return []


def _expand(
    uid: str,
    components: list[icalendar.Event],
    series_id: str | None,
    budget: SeriesBudget,
    subject: str,
    context: _Context,
) -> list[RemoteEvent]:
    shifts = _this_and_future_shifts(components, context)
    series = recurring_ical_events.Series([recurring_ical_events.EventAdapter(c) for c in components])
    budget.attach(series)
    results: list[RemoteEvent] = []
    ids: set[str] = set()
    for span_start, span_end in _slices(context):
        # Sorted first, converted lazily: the cap keeps the earliest instances, and cheaply.
        for occurrence in sorted(series.between(span_start, span_end)):
            event = _occurrence_event(occurrence, uid, series_id, shifts, context)
            if event is None or event.external_id in ids:
                continue  # outside the window, or spanning two slices
            ids.add(event.external_id)
            results.append(event)
            if len(results) >= context.max_instances:
                cap = context.max_instances
                period = period_text(context.window_start, context.window_end, context.zone)
                context.notes.add(
                    sentence(
                        subject,
                        f"has more than {cap:,} occurrences {period}; only the first {cap:,} get reminders",
                    )
                )
                return results
    return results


def _slices(context: _Context) -> Iterator[tuple[datetime, datetime]]:
    start, stop = context.window_start - _SPAN_MARGIN, context.window_end + _SPAN_MARGIN
    while start < stop:
        end = min(start + _SLICE, stop)
        yield start, end
        start = end


def _occurrence_event(
    occurrence: Any, uid: str, series_id: str | None, shifts: dict[str, timedelta], context: _Context
) -> RemoteEvent | None:
    start_raw, end_raw = occurrence.start, occurrence.end
    start, end = _to_utc(start_raw, context.zone), _to_utc(end_raw, context.zone)
    if end < start:
        end = start
    if not context.overlaps(start, end):
        return None
    component: icalendar.Event = occurrence.as_component(False)
    if series_id is None:
        return _remote_event(component, uid, None, start_raw, start, end, context)
    key = _rid_text(_safe_dt(component.get("RECURRENCE-ID")), context.zone)
    if key in shifts:  # generated by a RANGE=THISANDFUTURE override: id from the original slot
        key = _rid_text(start_raw - shifts[key], context.zone)
    return _remote_event(component, f"{uid}/{key}", series_id, start_raw, start, end, context)


def _this_and_future_shifts(components: list[icalendar.Event], context: _Context) -> dict[str, timedelta]:
    shifts: dict[str, timedelta] = {}
    for component in components:
        prop = component.get("RECURRENCE-ID")
        if prop is None or str(prop.params.get("RANGE", "")).upper() != "THISANDFUTURE":
            continue
        start, rid = _safe_dt(component.get("DTSTART")), _safe_dt(prop)
        if isinstance(start, datetime) == isinstance(rid, datetime):
            shifts[_rid_text(rid, context.zone)] = start - rid
    return shifts


def _rid_text(value: date, zone: tzinfo) -> str:
    if isinstance(value, datetime):
        v = _to_utc(value, zone)
        return f"{v.year:04d}{v.month:02d}{v.day:02d}T{v.hour:02d}{v.minute:02d}{v.second:02d}Z"
    return f"{value.year:04d}{value.month:02d}{value.day:02d}"


def _to_utc(value: date, zone: tzinfo) -> datetime:
    if not isinstance(value, datetime):
        value = datetime.combine(value, time(), tzinfo=zone)
    elif value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    return value.astimezone(UTC)


# --- validating one component -----------------------------------------------------------------


def _prepare(component: icalendar.Event, uid: str, context: _Context) -> icalendar.Event | None:
    """Return the component (a repaired copy if needed) or None when it cannot be used."""
    start = _safe_dt(component.get("DTSTART"))
    if not isinstance(start, date):
        context.notes.add(
            sentence(context.subject(component, uid), "has no readable start (DTSTART); it was ignored")
        )
        return None
    rules = [rule for rule in _as_list(component.get("RRULE")) if not is_empty_rule(rule)]
    try:
        _to_utc(start, context.zone)
        problem = rule_problem(rules) or _exdate_problem(component)
        if problem is None:
            component = _repair(component, start, uid, context)
            start = _safe_dt(component.get("DTSTART"))  # the repair may have swapped start and end
            assert isinstance(start, date)
            _to_utc(_raw_end(component, start), context.zone)
            if "RECURRENCE-ID" in component and not isinstance(_safe_dt(component["RECURRENCE-ID"]), date):
                problem = "has an unreadable RECURRENCE-ID"
    except (OverflowError, ValueError):
        problem = "has dates out of range"
    if problem is not None:
        context.notes.add(sentence(context.subject(component, uid), f"{problem}; it was ignored"))
        return None
    _register_label(component, start, context)
    return component


def _repair(component: icalendar.Event, start: date, uid: str, context: _Context) -> icalendar.Event:
    """Swap a DTEND before DTSTART; drop an unusable DTEND/DURATION, RDATE or empty RRULE."""
    timed = isinstance(start, datetime)
    start_utc = _to_utc(start, context.zone)
    drop: list[str] = []
    swapped = False
    if "DTEND" in component:
        end = _safe_dt(component.get("DTEND"))
        if not isinstance(end, date) or isinstance(end, datetime) != timed:
            drop.append("DTEND")
        elif _to_utc(end, context.zone) < start_utc:
            swapped = True  # the common export bug: the earlier time is the start
            context.notes.add(
                sentence(
                    context.subject(component, uid),
                    "ends before it starts; the earlier time was taken as its start",
                )
            )
        elif not timed and end <= start:
            drop.append("DTEND")
    if "DURATION" in component and ("DTEND" not in component or "DTEND" in drop):
        duration = _safe_dt(component.get("DURATION"))
        if not isinstance(duration, timedelta) or duration < timedelta(0):
            drop.append("DURATION")
        else:
            _to_utc(start + duration, context.zone)  # OverflowError for absurd durations
    if not all(_dates_readable(prop) for prop in _as_list(component.get("RDATE"))):
        drop.append("RDATE")  # losing extra dates is safer than losing the whole event
        context.notes.add(
            sentence(context.subject(component, uid), "has unreadable extra dates (RDATE); they were ignored")
        )
    rules = _as_list(component.get("RRULE"))
    kept_rules = [rule for rule in rules if not is_empty_rule(rule)]
    if len(kept_rules) < len(rules):
        drop.append("RRULE")
        single = not kept_rules and ("RDATE" not in component or "RDATE" in drop)
        context.notes.add(
            sentence(
                context.subject(component, uid, series=not single),
                "has an empty repeat rule (RRULE); "
                + ("it was read as a single event" if single else "the empty rule was ignored"),
            )
        )
    if not drop and not swapped:
        return component
    repaired: icalendar.Event = component.copy()
    for name in drop:
        repaired.pop(name, None)
    if swapped:
        repaired["DTSTART"], repaired["DTEND"] = component["DTEND"], component["DTSTART"]
    if "RRULE" in drop and kept_rules:
        repaired["RRULE"] = kept_rules[0] if len(kept_rules) == 1 else kept_rules
    return repaired


def _register_label(component: icalendar.Event, start: date, context: _Context) -> None:
    if isinstance(start, datetime) and start.tzinfo is not None and id(start.tzinfo) not in context.labels:
        tzid = component["DTSTART"].params.get("TZID")
        label = zone_label(start.tzinfo, str(tzid) if tzid else None)
        context.labels[id(start.tzinfo)] = (start.tzinfo, label)


def _exdate_problem(component: icalendar.Event) -> str | None:
    # Ignoring an EXDATE would bring back a cancelled instance (and its reminder): skip instead.
    for prop in _as_list(component.get("EXDATE")):
        if not _dates_readable(prop):
            return "has unreadable excluded dates (EXDATE)"
    return None


def _dates_readable(prop: Any) -> bool:
    try:
        values = [d.dt for d in prop.dts]
    except Exception as exc:  # vBroken and friends raise various errors
        raise_if_out_of_memory(exc)
        return False
    for value in values:
        first = value[0] if isinstance(value, tuple) and value else value
        if not isinstance(first, date):
            return False
    return True


# --- small helpers -------------------------------------------------------------------------------


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _safe_dt(prop: Any) -> Any:
    """The .dt of a date property, or None when it is missing or broken."""
    if prop is None or isinstance(prop, list):
        return None
    try:
        return prop.dt
    except Exception as exc:  # vBroken raises on access
        raise_if_out_of_memory(exc)
        return None


def _text(component: icalendar.Event, name: str) -> str:
    value = component.get(name)
    if isinstance(value, list):
        value = value[0] if value else None
    return "" if value is None else _clean_text(str(value)).strip()


def _html_description(component: icalendar.Event) -> str:
    for value in _as_list(component.get("X-ALT-DESC")):
        fmttype = str(getattr(value, "params", {}).get("FMTTYPE", "")).lower()
        if fmttype == "text/html":
            return _clean_text(str(value)).strip()
    return ""


def _clean_text(value: str) -> str:
    # NUL cannot be stored in PostgreSQL text columns.
    return value[:MAX_TEXT_CHARS].replace("\x00", "")
