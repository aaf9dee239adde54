"""Turn iCalendar (RFC 5545) data into `RemoteEvent`s: pure, no I/O.

`parse_ics` reads a whole feed, expands recurring series inside a time window with
recurring-ical-events and returns the instances plus human-readable warnings. A feed that cannot be
read at all raises `CalendarFeedInvalid`; a single malformed event is skipped with a warning.

Untrusted feeds can make the libraries underneath loop for a very long time, so this module bounds
that work itself (see `_ExpansionBudget` and `_sanitize_timezones`).
"""

from __future__ import annotations

import codecs
import hashlib
import math
import re
import threading
import warnings
import zoneinfo
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import lru_cache
from typing import Any

import icalendar
import recurring_ical_events
import x_wr_timezone  # type: ignore[import-untyped]
from dateutil import rrule as dateutil_rrule  # type: ignore[import-untyped]
from icalendar.timezone import tzp
from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON

from connectors.calendars.base import CalendarFeedInvalid, RemoteEvent

MAX_TEXT_CHARS = 100_000
MAX_WARNINGS = 50
MAX_UID_CHARS = 255
MAX_OCCURRENCES_PER_DAY = 24
MAX_TIMEZONES = 100
# Work units one series may spend in dateutil (see _ExpansionBudget); 1 unit is about 0.1 µs.
EXPANSION_BUDGET = 2_000_000
# ... and all series of one feed together: thousands of hostile series must not take hours.
FEED_EXPANSION_BUDGET = 100_000_000
# Library spans are compared in local wall time for floating/all-day series; widen and filter later.
_SPAN_MARGIN = timedelta(days=2)
# Expansion proceeds in slices so that a huge window stops early once a series hits its cap.
_SLICE = timedelta(days=366)

_FREQUENCIES = ("YEARLY", "MONTHLY", "WEEKLY", "DAILY", "HOURLY")
_TOO_FREQUENT = ("MINUTELY", "SECONDLY")
# name: (lowest, highest, negative values allowed)
_BY_RANGES = {
    "BYSECOND": (0, 60, False),
    "BYMINUTE": (0, 59, False),
    "BYHOUR": (0, 23, False),
    "BYMONTHDAY": (1, 31, True),
    "BYYEARDAY": (1, 366, True),
    "BYWEEKNO": (1, 53, True),
    "BYMONTH": (1, 12, False),
    "BYSETPOS": (1, 366, True),
}
_RULE_PARTS = frozenset({"FREQ", "UNTIL", "COUNT", "INTERVAL", "WKST", "BYDAY", *_BY_RANGES})
_WEEKDAY = re.compile(r"^([+-]?)(\d{0,2})(MO|TU|WE|TH|FR|SA|SU)$")
_BEGIN_CALENDAR = re.compile(r"^BEGIN:VCALENDAR[ \t]*\r?$", re.IGNORECASE | re.MULTILINE)
# The same folding and line rules as icalendar's parser, so both see the same lines.
_UNFOLD = re.compile(r"(?:(?<!\n)\r\n|(?<![\r\n])\n)(?:\r?\n)*[ \t]")
_NEWLINE = re.compile(r"\r?\n")
_TIMEZONE_RULE_PARTS = _RULE_PARTS - {"BYSETPOS", "BYYEARDAY", "BYWEEKNO"}
_MONTH_DAYS = {1: 31, 2: 29, 3: 31, 4: 30, 5: 31, 6: 30, 7: 31, 8: 31, 9: 30, 10: 31, 11: 30, 12: 31}
_UTC_NAMES = frozenset({"UTC", "Etc/UTC", "Etc/UCT", "UCT", "Zulu", "Etc/Zulu", "Universal", "Etc/Universal"})

# Parsing resets process-wide state: icalendar's VTIMEZONE cache (by TZID, so one feed's hostile or
# outdated "W. Europe Standard Time" would apply to every later feed) and the warnings filters. One
# parse at a time keeps feeds apart; parsing is CPU-bound, so under the GIL this costs no throughput.
_PARSE_LOCK = threading.Lock()


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
    if window_start.tzinfo is None or window_end.tzinfo is None or window_end <= window_start:
        raise ValueError("the window must be aware and non-empty")
    default_zone = lookup_zone(default_timezone)
    if default_zone is None:
        raise ValueError(f"unknown time zone {default_timezone!r}")
    notes = _Notes()
    with _PARSE_LOCK, warnings.catch_warnings(record=True) as caught:
        # Libraries warn on odd input (guessed TZIDs, COUNT with UNTIL); report, never raise.
        warnings.simplefilter("always")
        text = _decode(data, notes)
        calendars = _read_calendars(text, notes)
        context = _Context(
            window_start=window_start.astimezone(UTC),
            window_end=window_end.astimezone(UTC),
            zone=default_zone,
            zone_name=default_zone.key,
            max_instances=max_instances_per_series,
            notes=notes,
            feed_budget=FEED_EXPANSION_BUDGET,
            max_events=max_events,
        )
        _check_event_count(calendars, max_events)
        events = _collect(calendars, context, default_zone)
    for warning in caught:
        notes.add(f"Calendar library: {_one_line(str(warning.message))}")
    events.sort(key=lambda event: (event.start, event.external_id))
    return events, notes.result()


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
    return "text that is not iCalendar"


def lookup_zone(name: str) -> zoneinfo.ZoneInfo | None:
    """Resolve an IANA name, a Windows zone name or a vendor-prefixed TZID; None if unknown."""
    key = _iana_key(name)
    return None if key is None else zoneinfo.ZoneInfo(key)


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


def _read_calendars(text: str, notes: _Notes) -> list[icalendar.Calendar]:
    what = describe_non_icalendar(text[:2048].encode("utf-8", "replace"))
    if what is not None:
        raise CalendarFeedInvalid(f"The calendar feed is not an iCalendar file (it is {what}).")
    text = _sanitize_timezones(text, notes)
    tzp.use_zoneinfo()  # resets icalendar's timezone cache, see _PARSE_LOCK
    try:
        components: Sequence[icalendar.Component] = icalendar.Calendar.from_ical(text, multiple=True)
    except Exception as exc:  # the parser raises ValueError, IndexError, TypeError... on junk
        raise CalendarFeedInvalid(f"The calendar feed could not be read: {_one_line(str(exc))}") from exc
    finally:
        tzp.use_zoneinfo()
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
    return calendars


def _sanitize_timezones(text: str, notes: _Notes) -> str:
    """Make VTIMEZONEs cheap to evaluate, and drop those that cannot be.

    dateutil evaluates a VTIMEZONE lazily on UTC conversions, outside any budget, by iterating its
    rules from their start (often 1601): a rule repeating every second never finishes, and even a
    yearly one takes ~0.3 s to reach a date in 9999. So rules must be yearly on dates that exist,
    they stop in 2200, and a feed keeps at most MAX_TIMEZONES zones. Events whose zone was dropped
    are read like events with an unknown TZID.
    """
    if "BEGIN:VTIMEZONE" not in text.upper():
        return text
    kept: list[str] = []
    block: list[str] | None = None
    zones = 0
    for line in _NEWLINE.split(_UNFOLD.sub("", text)):
        upper = line.upper()
        if block is None and upper.startswith("BEGIN:VTIMEZONE"):
            block = [line]
        elif block is None:
            kept.append(line)
        else:
            block.append(line)
            if not upper.startswith("END:VTIMEZONE"):
                continue
            tzid = next((b[5:].strip() for b in block if b.upper().startswith("TZID:")), "?")
            rules = [b.partition(":")[2] for b in block if b.upper().startswith("RRULE")]
            if zones >= MAX_TIMEZONES:
                notes.add(f"The feed defines more than {MAX_TIMEZONES} time zones; the others were ignored.")
            elif all(_timezone_rule_is_safe(rule) for rule in rules):
                kept.extend(_bounded_rule(b) if b.upper().startswith("RRULE") else b for b in block)
                zones += 1
            else:
                notes.add(f"Ignored the definition of time zone {_short(tzid)!r}: its rules are unusable.")
            block = None
    kept.extend(block or ())
    return "\r\n".join(kept)


def _bounded_rule(line: str) -> str:
    """The RRULE line of a VTIMEZONE, ending by 2200 at the latest."""
    name, _, value = line.partition(":")
    parts = []
    for part in filter(None, value.split(";")):
        key, _, setting = part.partition("=")
        far = (key.upper() == "UNTIL" and setting[:4] > "2200") or (
            key.upper() == "COUNT" and (not setting.isdigit() or int(setting) > 600)
        )
        if not far:
            parts.append(part)
    if not any(p.upper().startswith(("UNTIL=", "COUNT=")) for p in parts):
        parts.append("UNTIL=22000101T000000Z")
    return f"{name}:{';'.join(parts)}"


def _timezone_rule_is_safe(value: str) -> bool:
    try:
        rule = icalendar.vRecur.from_ical(value)
    except Exception:  # unreadable rules are unusable rules
        return False
    if {str(k).upper() for k in rule} - _TIMEZONE_RULE_PARTS or _check_rule(rule) is not None:
        return False
    if [str(f).upper() for f in rule.get("FREQ", [])] != ["YEARLY"] or rule.get("INTERVAL", [1]) != [1]:
        return False
    # Every yearly rule left must match some date, so dateutil never searches up to year 9999.
    months = rule.get("BYMONTH") or range(1, 13)
    days = rule.get("BYMONTHDAY", [])
    if days and not any(abs(d) <= _MONTH_DAYS[m] for m in months for d in days):
        return False
    ordinals = [_WEEKDAY.match(str(d).upper()) for d in rule.get("BYDAY", [])]
    return all(m is not None and (not m.group(2) or int(m.group(2)) <= 5) for m in ordinals)


def _check_event_count(calendars: list[icalendar.Calendar], max_events: int) -> None:
    count = sum(1 for cal in calendars for c in cal.subcomponents if isinstance(c, icalendar.Event))
    if count > max_events:
        raise CalendarFeedInvalid(f"The calendar feed has more than {max_events:,} events.")


# --- time zones ---------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _known_keys() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def _iana_key(tzid: str) -> str | None:
    return _cached_iana_key(tzid) if len(tzid) <= 200 else None  # never cache huge junk


@lru_cache(maxsize=1024)
def _cached_iana_key(tzid: str) -> str | None:
    cleaned = tzid.strip().strip("/")
    candidates = [cleaned, WINDOWS_TO_OLSON.get(cleaned, "")]
    parts = cleaned.split("/")
    # "Globally unique" TZIDs like /mozilla.org/20070129_1/Europe/Berlin end in an IANA name.
    candidates += ["/".join(parts[i:]) for i in range(1, len(parts))]
    return next((c for c in candidates if c in _known_keys()), None)


def _zone_label(tz: tzinfo | None, tzid: str | None) -> str | None:
    """The IANA name to report for a timezone; None for UTC or an unidentifiable zone."""
    key = getattr(tz, "key", None)
    if isinstance(key, str) and key in _known_keys():
        return None if key in _UTC_NAMES else key
    if tzid is not None:
        resolved = _iana_key(tzid)
        if resolved is not None and resolved not in _UTC_NAMES:
            return resolved
    return None


# --- collecting events --------------------------------------------------------------------------


@dataclass
class _Context:
    window_start: datetime
    window_end: datetime
    zone: zoneinfo.ZoneInfo
    zone_name: str
    max_instances: int
    notes: _Notes
    feed_budget: int
    max_events: int
    seen_ids: set[str] = field(default_factory=set)
    # id(tzinfo) -> (tzinfo, label): custom VTIMEZONE zones, named from the TZID that made them.
    labels: dict[int, tuple[tzinfo, str | None]] = field(default_factory=dict)

    def label(self, value: date) -> str | None:
        if not isinstance(value, datetime) or value.tzinfo is None:
            return self.zone_name
        hit = self.labels.get(id(value.tzinfo))
        if hit is not None and hit[0] is value.tzinfo:
            return hit[1]
        return _zone_label(value.tzinfo, None)

    def overlaps(self, start: datetime, end: datetime) -> bool:
        # Zero-length events at window_start count as inside.
        return start < self.window_end and (start >= self.window_start or end > self.window_start)


def _collect(
    calendars: list[icalendar.Calendar], context: _Context, default_zone: zoneinfo.ZoneInfo
) -> list[RemoteEvent]:
    events: list[RemoteEvent] = []
    for calendar in calendars:
        calendar = _apply_calendar_zone(calendar, context, default_zone)
        for uid, components in _group_by_uid(calendar, context.notes).items():
            for event in _group_events(uid, components, context):
                if event.external_id in context.seen_ids:
                    context.notes.add(f"Skipped a duplicate of event {_short(event.external_id)!r}.")
                    continue
                context.seen_ids.add(event.external_id)
                events.append(event)
            if len(events) > context.max_events:  # checked early: series can multiply a small file
                raise CalendarFeedInvalid(
                    f"The calendar feed has more than {context.max_events:,} events in the sync window."
                )
    return events


def _apply_calendar_zone(
    calendar: icalendar.Calendar, context: _Context, default_zone: zoneinfo.ZoneInfo
) -> icalendar.Calendar:
    """Pick the zone for floating times (X-WR-TIMEZONE, else the default) and apply it."""
    context.zone, context.zone_name = default_zone, default_zone.key
    raw = calendar.get("X-WR-TIMEZONE")
    name = str(raw[0] if isinstance(raw, list) and raw else raw) if raw is not None else None
    zone = lookup_zone(name) if name is not None else None
    if name is not None and zone is None:
        context.notes.add(f"Unknown calendar time zone {_short(name)!r}; used {default_zone.key}.")
    if zone is not None:
        context.zone, context.zone_name = zone, zone.key
    _warn_unknown_tzids(calendar, context)
    if zone is None:
        return calendar
    try:
        # Google writes UTC times plus X-WR-TIMEZONE and means that zone's wall clock for series.
        converted: icalendar.Calendar = x_wr_timezone.to_standard(calendar, timezone=zone)
    except Exception as exc:  # a failed conversion must not lose the feed
        context.notes.add(f"Could not apply the calendar time zone {zone.key}: {_one_line(str(exc))}")
        return calendar
    return converted


def _warn_unknown_tzids(calendar: icalendar.Calendar, context: _Context) -> None:
    unknown: set[str] = set()
    for component in calendar.subcomponents:
        if not isinstance(component, icalendar.Event):
            continue
        for name in ("DTSTART", "DTEND", "RECURRENCE-ID"):
            prop = component.get(name)
            value = getattr(prop, "params", {})
            tzid = value.get("TZID") if isinstance(value, dict) else None
            dt = _safe_dt(prop)
            if tzid and isinstance(dt, datetime) and dt.tzinfo is None:
                unknown.add(str(tzid))
    for tzid in sorted(unknown)[:5]:
        context.notes.add(f"Unknown time zone {_short(tzid)!r}; its times were read as {context.zone_name}.")


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
    if anonymous:
        notes.add(f"{anonymous} event(s) have no UID; their ids are derived from start and title.")
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
        context.notes.add(
            f"{len(masters)} events share the UID {_short(uid)!r}; only the latest version is used."
        )
        latest = max(masters, key=_sequence)  # the first of the highest SEQUENCE, as the library does
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
    units = min(EXPANSION_BUDGET, context.feed_budget)
    budget = _ExpansionBudget(units, max(_emission_weight(c) for c in components))
    try:
        return _expand(uid, components, uid if recurring else None, budget, context)
    except _ExpansionTooCostly:
        whose = "its repeat rule is" if units == EXPANSION_BUDGET else "the feed's repeating events are"
        context.notes.add(f"Skipped recurring event {_short(uid)!r}: {whose} too costly to compute.")
    except Exception as exc:  # the expansion library raises many types on bad data
        reason = _one_line(str(exc)) or type(exc).__name__
        context.notes.add(f"Skipped recurring event {_short(uid)!r}: {reason}.")
    finally:
        context.feed_budget -= units - max(budget.remaining, 0)
    return []


def _expand(
    uid: str,
    components: list[icalendar.Event],
    series_id: str | None,
    budget: _ExpansionBudget,
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
                context.notes.add(
                    f"Series {_short(uid)!r} has more than {context.max_instances} instances in the "
                    f"sync window; only the first {context.max_instances} are used."
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
    kind = "recurring event" if "RRULE" in component else "event"
    start = _safe_dt(component.get("DTSTART"))
    if not isinstance(start, date):
        context.notes.add(f"Skipped {kind} {_short(uid)!r}: its start (DTSTART) is missing or unreadable.")
        return None
    try:
        _to_utc(start, context.zone)
        problem = _rule_problem(component) or _exdate_problem(component)
        if problem is None:
            component = _repair(component, start, uid, context)
            _to_utc(_raw_end(component, start), context.zone)
            if "RECURRENCE-ID" in component and not isinstance(_safe_dt(component["RECURRENCE-ID"]), date):
                problem = "its RECURRENCE-ID is unreadable"
    except (OverflowError, ValueError):
        problem = "its dates are out of range"
    if problem is not None:
        context.notes.add(f"Skipped {kind} {_short(uid)!r}: {problem}.")
        return None
    _register_label(component, start, context)
    return component


def _repair(component: icalendar.Event, start: date, uid: str, context: _Context) -> icalendar.Event:
    """Drop an unusable DTEND/DURATION (the library would swap start and end) or RDATE."""
    timed = isinstance(start, datetime)
    start_utc = _to_utc(start, context.zone)
    drop: list[str] = []
    if "DTEND" in component:
        end = _safe_dt(component.get("DTEND"))
        if not isinstance(end, date) or isinstance(end, datetime) != timed:
            drop.append("DTEND")
        elif _to_utc(end, context.zone) < start_utc or (not timed and end <= start):
            drop.append("DTEND")
            if _to_utc(end, context.zone) < start_utc:
                context.notes.add(f"Event {_short(uid)!r} ends before it starts; its end was ignored.")
    if "DURATION" in component and ("DTEND" not in component or "DTEND" in drop):
        duration = _safe_dt(component.get("DURATION"))
        if not isinstance(duration, timedelta) or duration < timedelta(0):
            drop.append("DURATION")
        else:
            _to_utc(start + duration, context.zone)  # OverflowError for absurd durations
    if not all(_dates_readable(prop) for prop in _as_list(component.get("RDATE"))):
        drop.append("RDATE")  # losing extra dates is safer than losing the whole event
        context.notes.add(f"Event {_short(uid)!r} has unreadable extra dates (RDATE); they were ignored.")
    if not drop:
        return component
    repaired: icalendar.Event = component.copy()
    for name in drop:
        repaired.pop(name, None)
    return repaired


def _register_label(component: icalendar.Event, start: date, context: _Context) -> None:
    if isinstance(start, datetime) and start.tzinfo is not None and id(start.tzinfo) not in context.labels:
        tzid = component["DTSTART"].params.get("TZID")
        label = _zone_label(start.tzinfo, str(tzid) if tzid else None)
        context.labels[id(start.tzinfo)] = (start.tzinfo, label)


def _exdate_problem(component: icalendar.Event) -> str | None:
    # Ignoring an EXDATE would bring back a cancelled instance (and its reminder): skip instead.
    for prop in _as_list(component.get("EXDATE")):
        if not _dates_readable(prop):
            return "its excluded dates (EXDATE) are unreadable"
    return None


def _dates_readable(prop: Any) -> bool:
    try:
        values = [d.dt for d in prop.dts]
    except Exception:  # vBroken and friends raise various errors
        return False
    for value in values:
        first = value[0] if isinstance(value, tuple) and value else value
        if not isinstance(first, date):
            return False
    return True


def _rule_problem(component: icalendar.Event) -> str | None:
    for rule in _as_list(component.get("RRULE")):
        problem = _check_rule(rule)
        if problem is not None:
            return problem
    return None


def _check_rule(rule: Any) -> str | None:
    if not isinstance(rule, icalendar.vRecur):
        return "its repeat rule (RRULE) is unreadable"
    freqs = [str(f).upper() for f in rule.get("FREQ", [])]
    if len(freqs) != 1 or freqs[0] not in _FREQUENCIES + _TOO_FREQUENT:
        return "its repeat rule (RRULE) has no valid FREQ"
    unsupported = sorted({str(k).upper() for k in rule} - _RULE_PARTS)
    if unsupported:  # dateutil rejects them (RSCALE, X-...)
        return f"its repeat rule (RRULE) uses unsupported parts ({_short(', '.join(unsupported), 40)})"
    if freqs[0] in _TOO_FREQUENT:
        return f"it repeats {freqs[0].lower()}, which is not an appointment series"
    interval = rule.get("INTERVAL", [1])
    if len(interval) != 1 or not isinstance(interval[0], int) or interval[0] < 1:
        return "its repeat rule (RRULE) has an invalid INTERVAL"
    for name, (low, high, signed) in _BY_RANGES.items():
        for value in rule.get(name, []):
            if not isinstance(value, int) or not (low <= abs(value) <= high) or (value < 0 and not signed):
                return f"its repeat rule (RRULE) has an invalid {name}"
    for day in rule.get("BYDAY", []):
        match = _WEEKDAY.match(str(day).upper())
        if match is None or (match.group(2) and not 1 <= int(match.group(2)) <= 53):
            return "its repeat rule (RRULE) has an invalid BYDAY"
    if _rule_per_day(rule, freqs[0], interval[0]) > MAX_OCCURRENCES_PER_DAY:
        return f"it repeats more than {MAX_OCCURRENCES_PER_DAY} times a day"
    return None


def _rule_per_day(rule: Any, freq: str, interval: int) -> int:
    hours = len(rule.get("BYHOUR", [])) or 1
    if freq == "HOURLY":
        hours = min(math.ceil(24 / interval), len(rule.get("BYHOUR", [])) or 24)
    return hours * (len(rule.get("BYMINUTE", [])) or 1) * (len(rule.get("BYSECOND", [])) or 1)


def _emission_weight(component: icalendar.Event) -> int:
    """An upper bound of the instances one dateutil period emits (an hour for HOURLY, else a day+)."""
    weight = 1
    for rule in _as_list(component.get("RRULE")):
        freq = str(rule.get("FREQ", [""])[0]).upper()
        slots = (len(rule.get("BYMINUTE", [])) or 1) * (len(rule.get("BYSECOND", [])) or 1)
        if freq != "HOURLY":
            slots *= len(rule.get("BYHOUR", [])) or 1
        weight = max(weight, _days_per_period(rule, freq) * slots)
    return weight


def _days_per_period(rule: Any, freq: str) -> int:
    """An upper bound of the days of one period that can hold instances (validated rules only)."""

    def count(name: str) -> int:
        return len(rule.get(name, []))

    weekdays = [_WEEKDAY.match(str(d).upper()) for d in rule.get("BYDAY", [])]
    plain = sum(1 for m in weekdays if m is not None and not m.group(2))
    ordinal = len(weekdays) - plain
    if freq in ("DAILY", "HOURLY"):
        return 1
    if freq == "WEEKLY":
        return len(weekdays) or 1
    if freq == "MONTHLY":
        return count("BYMONTHDAY") or (plain * 5 + ordinal) or 1
    if count("BYYEARDAY"):
        return count("BYYEARDAY")
    if count("BYMONTHDAY"):
        return (count("BYMONTH") or 12) * count("BYMONTHDAY")
    if count("BYWEEKNO"):
        return count("BYWEEKNO") * (len(weekdays) or 7)
    return (plain * 53 + ordinal * (count("BYMONTH") or 1)) or count("BYMONTH") or 1


# --- bounding dateutil -------------------------------------------------------------------------


class _ExpansionTooCostly(Exception):
    """A series used up its expansion budget."""


class _ExpansionBudget:
    """Work one series may make dateutil do, charged per rule period dateutil visits.

    dateutil iterates from DTSTART and, for a rule that never matches (FREQ=DAILY;BYMONTH=2;
    BYMONTHDAY=30, or FREQ=DAILY;INTERVAL=7;BYDAY=TU from a Monday), up to the year 9999 without
    yielding: seconds per event, invisible from outside; a long history costs as much.
    `_GuardedIterInfo` is called once per period and charges the budget of the rule it serves;
    rules without a budget (everyone else's) are unaffected.
    """

    ATTRIBUTE = "_reminders_expansion_budget"

    def __init__(self, units: int, weight: int) -> None:
        self.remaining = units
        self.weight = weight

    def attach(self, series: Any) -> None:
        recurrence = getattr(series, "recurrence", None)
        for rule in getattr(recurrence, "rrules", ()):
            setattr(rule, self.ATTRIBUTE, self)

    def charge(self, days: int) -> None:
        # Measured: a period costs ~1.2 µs, filtering a day ~0.2 µs, emitting an instance ~0.8 µs.
        self.remaining -= 12 + 2 * days + 8 * self.weight
        if self.remaining < 0:
            raise _ExpansionTooCostly


def _guarded(name: str) -> Callable[..., Any]:
    original = getattr(dateutil_rrule._iterinfo, name)

    def method(self: Any, year: int, month: int, day: int) -> Any:
        result = original(self, year, month, day)
        budget = getattr(self.rrule, _ExpansionBudget.ATTRIBUTE, None)
        if budget is not None:
            budget.charge(result[2] - result[1])
        return result

    return method


def _install_guard() -> bool:
    base = getattr(dateutil_rrule, "_iterinfo", None)
    names = ("ydayset", "mdayset", "wdayset", "ddayset")
    if base is None or not all(callable(getattr(base, n, None)) for n in names):
        return False  # dateutil changed; the static RRULE checks still apply
    if getattr(base, "_reminders_guard", False):
        return True
    # No __slots__ on purpose: _iterinfo.__init__ initialises `self.__slots__`, which must stay the base's.
    guarded = type("_GuardedIterInfo", (base,), {"_reminders_guard": True} | {n: _guarded(n) for n in names})
    dateutil_rrule._iterinfo = guarded
    return True


GUARD_INSTALLED = _install_guard()


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
    except Exception:  # vBroken raises on access
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


def _one_line(message: str, limit: int = 160) -> str:
    flat = " ".join(message.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _short(value: str, limit: int = 80) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"
