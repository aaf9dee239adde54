"""A sync never holds the database for long: bounded transactions, an event cap, sane times."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from connectors.calendars.memory import InMemoryCalendar
from reminders.bootstrap import Services
from reminders.calendars.sync import SyncLimits, SyncReport, sync_connection
from reminders.models import Appointment, CalendarConnection, Reminder
from tests.support.clock import FakeClock
from tests.support.factories import event, make_account, make_calendar
from tests.support.reading import all_appointments, all_reminders


@pytest.fixture
def calendar_id(services: Services) -> int:
    with services.factory.begin() as session:
        return make_calendar(session, make_account(session)).id


def run(
    services: Services,
    calendar_id: int,
    source: InMemoryCalendar,
    *,
    batch_size: int = 500,
    max_events: int = 50_000,
) -> SyncReport:
    limits = SyncLimits(max_events=max_events, batch_size=batch_size)
    return sync_connection(
        services.factory, calendar_id, source, now=services.clock(), horizon_days=60, limits=limits
    )


def many(clock: FakeClock, count: int) -> InMemoryCalendar:
    start = clock() + timedelta(days=2)
    return InMemoryCalendar([event(f"e{i}", start + timedelta(minutes=10 * i)) for i in range(count)])


def test_a_large_calendar_is_written_in_bounded_transactions(
    services: Services, calendar_id: int, clock: FakeClock
) -> None:
    committed: list[tuple[int, int]] = []

    def count_after_commit(_: Session) -> None:
        # What any other connection sees after each commit of the sync.
        with services.engine.connect() as other:
            appointments = other.scalar(select(func.count()).select_from(Appointment))
            reminders = other.scalar(select(func.count()).select_from(Reminder))
        committed.append((appointments or 0, reminders or 0))

    sa_event.listen(services.factory, "after_commit", count_after_commit)
    try:
        report = run(services, calendar_id, many(clock, 1050), batch_size=100)
    finally:
        sa_event.remove(services.factory, "after_commit", count_after_commit)

    assert (report.created, report.error) == (1050, None)
    assert committed[-1] == (1050, 2100)
    growth = [(b[0] - a[0], b[1] - a[1]) for a, b in zip([(0, 0), *committed], committed, strict=False)]
    assert max(g[0] for g in growth) <= 100  # never more than one batch of appointments at once
    assert max(g[1] for g in growth) <= 200  # ... with their two reminders each
    assert sum(1 for g in growth if g[0]) >= 11


def test_a_second_sync_after_an_interrupted_one_writes_the_rest(
    services: Services, calendar_id: int, clock: FakeClock
) -> None:
    source = many(clock, 300)
    first = run(services, calendar_id, source, batch_size=100)
    with services.factory.begin() as session:  # as if the process died before the cursor was saved
        session.get_one(CalendarConnection, calendar_id).cursor = None
        doomed = session.scalars(select(Appointment).order_by(Appointment.id).offset(200)).all()
        for appointment in doomed:
            session.delete(appointment)

    again = run(services, calendar_id, source, batch_size=100)

    assert (first.created, again.created, again.updated, again.removed) == (300, 100, 0, 0)
    assert len(all_appointments(services)) == 300
    assert len(all_reminders(services)) == 600


def test_a_calendar_over_the_event_cap_is_refused_and_nothing_changes(
    services: Services, calendar_id: int, clock: FakeClock
) -> None:
    source = many(clock, 150)
    run(services, calendar_id, source)
    before = [(a.id, a.updated_at) for a in all_appointments(services)]
    for i in range(150, 251):
        source.put(event(f"e{i}", clock() + timedelta(days=3, minutes=i)))

    report = run(services, calendar_id, source, max_events=250)

    assert report.error is not None
    assert "more than 250 events" in report.error
    assert "Split it into several calendars" in report.error
    assert [(a.id, a.updated_at) for a in all_appointments(services)] == before
    with services.reader() as session:
        assert session.get_one(CalendarConnection, calendar_id).last_sync_error == report.error


def test_an_end_before_the_start_takes_the_earlier_time_as_the_start(
    services: Services, calendar_id: int, clock: FakeClock
) -> None:
    later = clock().replace(microsecond=0) + timedelta(days=2)
    source = InMemoryCalendar([replace(event("swapped", later), end=later - timedelta(hours=1))])

    report = run(services, calendar_id, source)

    (appointment,) = all_appointments(services)
    assert report.created == 1
    assert (appointment.starts_at, appointment.ends_at) == (later - timedelta(hours=1), later)
