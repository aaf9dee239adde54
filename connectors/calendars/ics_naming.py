"""How warnings about an ICS feed name its events, for the calendar's owner.

The owner knows an appointment by its title and when it takes place, not by its UID, so a warning
says "the event “Yoga” on 12 March 2026 at 10:00" (or "the series … starting …"), and falls back to
the UID only for an event without a title. Dates are written in English words on purpose: these
sentences are stored with the calendar and must not depend on the server's locale.
"""

from __future__ import annotations

from contextlib import suppress
from datetime import UTC, date, datetime, timedelta, tzinfo

MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
UTC_NAMES = frozenset({"UTC", "Etc/UTC", "Etc/UCT", "UCT", "Zulu", "Etc/Zulu", "Universal", "Etc/Universal"})
_CONTROLS = {code: " " for code in (*range(32), 127)}
_TITLE_CHARS = 60
_NAME_CHARS = 80


def event_subject(*, title: str, start: date | None, uid: str, series: bool, zone: tzinfo) -> str:
    """Name an event for a warning: 'the event “Yoga” on 12 March 2026 at 10:00'.

    `start` is the event's DTSTART as written (None when unreadable); UTC times are shown in
    `zone`, the calendar's zone, and other times in their own zone. Without a title the UID names
    the event, unless there is none or it was derived by us ("nouid-…"): "an untitled event".
    """
    noun = "series" if series else "event"
    if title:
        subject = f"the {noun} {quoted(title)}"
    elif not uid or uid.startswith("nouid-"):
        subject = f"an untitled {noun}"
    else:
        subject = f"the {noun} with UID '{short(one_line(uid), _NAME_CHARS)}'"
    when = when_text(start, zone)
    if when is not None:
        subject += f" starting {when}" if series else f" on {when}"
    return subject


def when_text(value: date | None, zone: tzinfo) -> str | None:
    """'12 March 2026 at 10:00' for a time, '12 March 2026' for a date, None for anything else."""
    if isinstance(value, datetime):
        if _is_utc(value.tzinfo):
            with suppress(OverflowError, ValueError):  # year 1 or 9999: shown as written
                value = value.astimezone(zone)
        return f"{day_text(value)} at {value.hour:02d}:{value.minute:02d}"
    if isinstance(value, date):
        return day_text(value)
    return None


def day_text(value: date) -> str:
    """'12 March 2026'."""
    return f"{value.day} {MONTHS[value.month - 1]} {value.year}"


def period_text(start: datetime, end: datetime, zone: tzinfo) -> str:
    """'between 1 March and 1 June 2026': the days of [start, end) in `zone`."""
    first = start.astimezone(zone).date()
    last = (end - timedelta(microseconds=1)).astimezone(zone).date()
    if first.year == last.year:
        return f"between {first.day} {MONTHS[first.month - 1]} and {day_text(last)}"
    return f"between {day_text(first)} and {day_text(last)}"


def sentence(subject: str, predicate: str) -> str:
    """One sentence: the subject with a capital letter, the predicate, a full stop."""
    text = f"{subject} {predicate}"
    return text[:1].upper() + text[1:] + "."


def quoted(text: str) -> str:
    """A title in quotation marks, on one line and shortened."""
    return f"“{short(one_line(text), _TITLE_CHARS)}”"


def name_text(value: str) -> str:
    """A name from the feed (a TZID, a UID) in single quotes, on one line and shortened."""
    return f"'{short(one_line(value), _NAME_CHARS)}'"


def one_line(text: str) -> str:
    """`text` with every run of whitespace and control characters made one space."""
    return " ".join(text.translate(_CONTROLS).split())


def short(text: str, limit: int) -> str:
    """`text`, cut to `limit` characters with an ellipsis."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _is_utc(zone: tzinfo | None) -> bool:
    return zone is UTC or getattr(zone, "key", None) in UTC_NAMES
