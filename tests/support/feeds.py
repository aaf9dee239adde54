"""ICS feed text for tests and benchmarks, written directly (building big feeds with icalendar is slow)."""

from __future__ import annotations

from datetime import datetime, timedelta

HEADER = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//reminders//tests//EN\r\n"
FOOTER = "END:VCALENDAR\r\n"


def vevent(uid: str, start: datetime, *, minutes: int = 30, title: str = "Termin", location: str = "") -> str:
    """One VEVENT in UTC."""
    end = start + timedelta(minutes=minutes)
    return (
        f"BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:{start:%Y%m%dT%H%M%SZ}\r\n"
        f"DTSTART:{start:%Y%m%dT%H%M%SZ}\r\nDTEND:{end:%Y%m%dT%H%M%SZ}\r\n"
        f"SUMMARY:{title}\r\nLOCATION:{location}\r\nEND:VEVENT\r\n"
    )


def lean_feed(events: int, now: datetime) -> str:
    """`events` short appointments over the next 60 days, each with a Swiss mobile (100,000: ~16 MB)."""
    base = now.replace(hour=7, minute=0, second=0, microsecond=0)
    parts = [HEADER]
    for i in range(events):
        start = base + timedelta(days=1 + i % 59, minutes=5 * (i % 120))
        number = f"07{8 + i % 2} {100 + i % 900:03d} {10 + i % 90:02d} {10 + (i // 90) % 90:02d}"
        parts.append(vevent(f"b{i}@bench", start, title=f"Termin {i}", location=number))
    parts.append(FOOTER)
    return "".join(parts)
