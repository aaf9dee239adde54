"""Hostile calendars through connector, sync and planning: no crash, no hang, nothing lost.

Each example builds an ICS file from hostile parts (huge fields, broken encodings, deep HTML,
absurd dates and recurrence rules), then runs the real sync into a real database.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from connectors.calendars.ics import IcsCalendarSource
from reminders.bootstrap import Services
from reminders.calendars.sync import sync_connection
from reminders.models import Appointment, CalendarConnection, Reminder
from reminders.reasons import ReminderState
from tests.support.factories import make_account, make_calendar

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)

hostile_text = st.one_of(
    st.text(max_size=300),
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=200),
    st.builds(lambda n: "<div>" * n + "Tel 079 123 45 67" + "</div>" * n, st.integers(0, 5000)),
    st.builds(lambda n: "079 123 45 67 " * n, st.integers(0, 20000)),
    st.sampled_from(["\x00\x01\x02", "\ud800", "&#0;&#xD800;", "<br>" * 10000, "\\n" * 5000, ";,:" * 1000]),
)
absurd_start = st.one_of(
    st.sampled_from(
        ["00010101T000000Z", "99991231T235959Z", "20261125T100000", "20261125", "2026-11-25", "X"]
    ),
    st.datetimes(min_value=datetime(2026, 11, 20), max_value=datetime(2027, 2, 1)).map(  # noqa: DTZ001
        lambda d: d.strftime("%Y%m%dT%H%M%SZ")
    ),
)
absurd_rrule = st.one_of(
    st.none(),
    st.sampled_from(
        [
            "FREQ=SECONDLY;COUNT=999999999",
            "FREQ=MINUTELY",
            "FREQ=DAILY;INTERVAL=0",
            "FREQ=YEARLY;BYSETPOS=-999",
            "FREQ=WEEKLY;UNTIL=99991231T000000Z",
            "FREQ=HOURLY;BYDAY=XX",
            "FREQ=DAILY;COUNT=3",
            "garbage",
        ]
    ),
)


def escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace(";", "\\;").replace(",", "\\,")


def fold(line: str) -> str:
    return "\r\n ".join(line[i : i + 70] for i in range(0, max(len(line), 1), 70))


@st.composite
def hostile_feed(draw: st.DrawFn) -> bytes:
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//fuzz//EN"]
    for index in range(draw(st.integers(0, 4))):
        lines += ["BEGIN:VEVENT", f"UID:fuzz-{index}", f"DTSTART:{draw(absurd_start)}"]
        if draw(st.booleans()):
            lines.append(f"DTEND:{draw(absurd_start)}")
        if (rule := draw(absurd_rrule)) is not None:
            lines.append(f"RRULE:{rule}")
        for name in ("SUMMARY", "LOCATION", "DESCRIPTION"):
            lines.append(fold(f"{name}:{escape(draw(hostile_text))}"))
        if draw(st.booleans()):
            lines.append("STATUS:CANCELLED")
        lines.append("END:VEVENT")
    if draw(st.booleans()):
        lines.append("END:VCALENDAR")
    raw = "\r\n".join(lines).encode("utf-8", "surrogatepass")
    if draw(st.booleans()):
        cut = draw(st.integers(0, len(raw)))
        raw = raw[:cut] + draw(st.binary(max_size=40)) + raw[cut:]
    return raw


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(feed=hostile_feed())
def test_hostile_feeds_never_crash_the_pipeline(services: Services, tmp_path: Path, feed: bytes) -> None:
    path = tmp_path / "feed.ics"
    path.write_bytes(feed)
    with services.factory.begin() as session:
        account = make_account(session)
        calendar_id = make_calendar(session, account, external_id=str(path)).id
        planned_before = session.scalar(select(func.count()).select_from(Reminder))

    report = sync_connection(
        services.factory, calendar_id, IcsCalendarSource(str(path)), now=NOW, horizon_days=60
    )

    with services.factory.begin() as session:
        connection = session.get_one(CalendarConnection, calendar_id)
        stored = session.scalars(select(Appointment).where(Appointment.calendar_id == calendar_id)).all()
        planned_after = session.scalar(select(func.count()).select_from(Reminder))
    if report.error is not None:
        assert connection.last_sync_error == report.error
        assert report.error.strip()
        assert planned_after == planned_before
    for appointment in stored:
        assert appointment.starts_at.tzinfo is not None
        assert appointment.ends_at >= appointment.starts_at
    for due in _scheduled_due_times(services, calendar_id):
        assert NOW <= due <= NOW + timedelta(days=61)


def _scheduled_due_times(services: Services, calendar_id: int) -> list[datetime]:
    with services.factory.begin() as session:
        stmt = (
            select(Reminder.due_at)
            .join(Appointment, Reminder.appointment_id == Appointment.id)
            .where(Appointment.calendar_id == calendar_id, Reminder.state == ReminderState.SCHEDULED)
        )
        return [d for d in session.scalars(stmt) if d is not None]
