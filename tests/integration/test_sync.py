"""The sync service on SQLite and PostgreSQL, driven by the in-memory calendar."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from connectors.calendars.base import CalendarChanges, CalendarUnavailable, RemoteEvent
from connectors.calendars.memory import InMemoryCalendar
from reminders.bootstrap import Services
from reminders.calendars.sync import UNEXPECTED_READ, SyncReport, store_changes, sync_connection
from reminders.models import CalendarConnection, Reminder
from reminders.planning.horizon import plan_entering_horizon
from reminders.reasons import CancelReason, ReminderState, SkipReason
from tests.support.clock import FakeClock
from tests.support.factories import event, make_account, make_calendar
from tests.support.reading import all_appointments, all_reminders


@pytest.fixture
def calendar_id(services: Services) -> int:
    with services.factory.begin() as session:
        account = make_account(session)
        return make_calendar(session, account).id


def run_sync(services: Services, calendar_id: int, source: InMemoryCalendar) -> SyncReport:
    return sync_connection(services.factory, calendar_id, source, now=services.clock(), horizon_days=60)


def test_first_sync_stores_appointments_finds_numbers_and_plans(
    services: Services, calendar_id: int, clock: FakeClock
) -> None:
    start = clock() + timedelta(days=2, hours=5)
    source = InMemoryCalendar([event("a", start), event("b", start + timedelta(hours=1), location="Praxis")])

    report = run_sync(services, calendar_id, source)

    assert (report.created, report.updated, report.removed, report.error) == (2, 0, 0, None)
    a, b = all_appointments(services)
    assert (a.recipient, a.recipient_source, a.recipient_reason) == ("+41791234567", "location", None)
    assert (b.recipient, b.recipient_reason) == (None, "no_number")
    reminders = all_reminders(services)
    assert len(reminders) == 4
    assert {r.state for r in reminders} == {ReminderState.SCHEDULED}
    due_for_a = sorted(r.due_at for r in reminders if r.appointment_id == a.id and r.due_at)
    assert due_for_a == [start - timedelta(hours=24), start - timedelta(hours=2)]
    assert report.earliest_due == start - timedelta(hours=24)


def test_resync_without_change_changes_nothing(
    services: Services, calendar_id: int, clock: FakeClock
) -> None:
    source = InMemoryCalendar(
        [event("a", clock() + timedelta(days=3)), event("b", clock() + timedelta(days=4))]
    )
    run_sync(services, calendar_id, source)
    before = [(r.id, r.state, r.due_at, r.updated_at) for r in all_reminders(services)]
    appointments_before = [(a.id, a.updated_at, a.content_hash) for a in all_appointments(services)]
    clock.advance(timedelta(minutes=10))

    unchanged = run_sync(services, calendar_id, source)
    with services.factory.begin() as session:  # forget the cursor: the same snapshot arrives again
        session.get_one(CalendarConnection, calendar_id).cursor = None
    resent = run_sync(services, calendar_id, source)

    assert unchanged.unchanged
    assert (resent.created, resent.updated, resent.removed) == (0, 0, 0)
    assert [(r.id, r.state, r.due_at, r.updated_at) for r in all_reminders(services)] == before
    assert [(a.id, a.updated_at, a.content_hash) for a in all_appointments(services)] == appointments_before


def test_moved_appointment_moves_its_reminders(
    services: Services, calendar_id: int, clock: FakeClock
) -> None:
    start = clock() + timedelta(days=3)
    source = InMemoryCalendar([event("a", start)])
    run_sync(services, calendar_id, source)
    ids = [r.id for r in all_reminders(services)]

    source.put(event("a", start + timedelta(days=1, hours=2)))
    report = run_sync(services, calendar_id, source)

    assert report.updated == 1
    assert report.reminders.moved == 2
    moved = all_reminders(services)
    assert [r.id for r in moved] == ids
    assert sorted(r.due_at for r in moved if r.due_at) == [
        start + timedelta(hours=2),
        start + timedelta(days=1),
    ]
    assert {r.for_starts_at for r in moved} == {start + timedelta(days=1, hours=2)}


def test_deleted_appointment_cancels_its_reminders_with_the_reason(
    services: Services, calendar_id: int, clock: FakeClock
) -> None:
    source = InMemoryCalendar(
        [event("a", clock() + timedelta(days=3)), event("b", clock() + timedelta(days=3))]
    )
    run_sync(services, calendar_id, source)

    source.delete("a")
    report = run_sync(services, calendar_id, source)

    assert report.removed == 1
    by_appointment = {a.external_id: a for a in all_appointments(services)}
    assert by_appointment["a"].status == "removed"
    states = {(r.appointment_id, r.state, r.reason) for r in all_reminders(services)}
    assert states == {
        (by_appointment["a"].id, ReminderState.CANCELLED, CancelReason.APPOINTMENT_DELETED),
        (by_appointment["b"].id, ReminderState.SCHEDULED, None),
    }


def test_cancelled_event_cancels_reminders_and_a_restored_one_gets_new_ones(
    services: Services, calendar_id: int, clock: FakeClock
) -> None:
    original = event("a", clock() + timedelta(days=3))
    source = InMemoryCalendar([original])
    run_sync(services, calendar_id, source)

    source.put(replace(original, cancelled=True))
    run_sync(services, calendar_id, source)
    assert {(r.state, r.reason) for r in all_reminders(services)} == {
        (ReminderState.CANCELLED, CancelReason.APPOINTMENT_CANCELLED)
    }

    source.put(original)
    run_sync(services, calendar_id, source)
    states = sorted(r.state for r in all_reminders(services))
    assert states == [ReminderState.CANCELLED] * 2 + [ReminderState.SCHEDULED] * 2


def test_appointment_moved_after_its_reminder_was_sent_gets_a_new_one(
    services: Services, calendar_id: int, clock: FakeClock
) -> None:
    start = clock() + timedelta(days=3)
    source = InMemoryCalendar([event("a", start)])
    run_sync(services, calendar_id, source)
    with services.factory.begin() as session:
        for reminder in session.scalars(select(Reminder)):
            reminder.state = ReminderState.SENT

    source.put(event("a", start + timedelta(days=7)))
    run_sync(services, calendar_id, source)

    rows = all_reminders(services)
    assert sorted(r.state for r in rows) == [ReminderState.SCHEDULED] * 2 + [ReminderState.SENT] * 2
    assert {r.for_starts_at for r in rows if r.state == ReminderState.SCHEDULED} == {
        start + timedelta(days=7)
    }


def test_reminders_whose_time_passed_before_the_first_read_were_never_possible(
    services: Services, calendar_id: int, clock: FakeClock
) -> None:
    source = InMemoryCalendar([event("soon", clock() + timedelta(hours=3))])
    run_sync(services, calendar_id, source)

    states = sorted((r.state, r.reason) for r in all_reminders(services))
    assert states == [(ReminderState.SCHEDULED, None), (ReminderState.SKIPPED, SkipReason.BEFORE_CONNECTED)]


def test_an_appointment_saved_after_its_reminder_time_is_skipped_as_too_late(
    services: Services, calendar_id: int, clock: FakeClock
) -> None:
    source = InMemoryCalendar([event("early", clock() + timedelta(days=5))])
    run_sync(services, calendar_id, source)
    clock.advance(timedelta(days=2))  # long after the connection, the business adds a late booking
    source.put(event("soon", clock() + timedelta(hours=3)))
    run_sync(services, calendar_id, source)

    soon = sorted(
        (r.state, r.reason) for r in all_reminders(services) if r.for_starts_at < clock() + timedelta(days=1)
    )
    assert soon == [(ReminderState.SCHEDULED, None), (ReminderState.SKIPPED, SkipReason.TOO_LATE)]


def test_a_failing_source_is_recorded_and_loses_nothing(
    services: Services, calendar_id: int, clock: FakeClock
) -> None:
    # Two appointments: deleting the only one would look like an empty feed and be held back.
    source = InMemoryCalendar(
        [event("a", clock() + timedelta(days=3)), event("b", clock() + timedelta(days=4))]
    )
    run_sync(services, calendar_id, source)
    before = [(r.id, r.state, r.due_at) for r in all_reminders(services)]

    source.fail_next(CalendarUnavailable("calendar.example.org answered HTTP 500; will retry"))
    failed = run_sync(services, calendar_id, source)

    assert failed.error == "calendar.example.org answered HTTP 500; will retry"
    with services.factory.begin() as session:
        connection = session.get_one(CalendarConnection, calendar_id)
        assert connection.last_sync_error == failed.error
        assert connection.sync_failures == 1
        assert connection.next_sync_at is not None
        assert connection.next_sync_at <= clock() + timedelta(minutes=5)
    assert [(r.id, r.state, r.due_at) for r in all_reminders(services)] == before

    clock.advance(timedelta(minutes=2))
    source.delete("a")
    recovered = run_sync(services, calendar_id, source)
    assert recovered.error is None
    assert recovered.removed == 1
    with services.factory.begin() as session:
        connection = session.get_one(CalendarConnection, calendar_id)
        assert (connection.last_sync_error, connection.sync_failures) == (None, 0)


def test_a_crashing_connector_is_recorded_not_raised(services: Services, calendar_id: int) -> None:
    class Broken:
        def fetch_changes(self, *_: object, **__: object) -> None:
            raise KeyError("dtstart")

    report = sync_connection(services.factory, calendar_id, Broken(), now=services.clock(), horizon_days=60)  # type: ignore[arg-type]

    assert report.error == UNEXPECTED_READ  # the owner never sees a library's internals
    assert "dtstart" not in UNEXPECTED_READ


def test_changing_the_phone_fields_re_reads_numbers(
    services: Services, calendar_id: int, clock: FakeClock
) -> None:
    source = InMemoryCalendar([event("a", clock() + timedelta(days=3))])
    run_sync(services, calendar_id, source)
    with services.factory.begin() as session:
        connection = session.get_one(CalendarConnection, calendar_id)
        connection.phone_fields = ["title", "description"]
        connection.cursor = None

    run_sync(services, calendar_id, source)

    (appointment,) = all_appointments(services)
    assert (appointment.recipient, appointment.recipient_reason) == (None, "not_in_enabled_fields")


def test_appointments_beyond_the_horizon_are_stored_then_planned_when_they_come_within_it(
    services: Services, calendar_id: int, clock: FakeClock
) -> None:
    horizon = timedelta(days=60)
    far = snapshot(event("far", clock() + timedelta(days=75)), now=clock())
    report = store_changes(services.factory, calendar_id, far, now=clock(), horizon=horizon)

    assert report.created == 1
    assert all_reminders(services) == []
    assert plan_entering_horizon(services.factory, now=clock(), horizon=horizon).planned == 0

    clock.advance(timedelta(days=16))
    assert plan_entering_horizon(services.factory, now=clock(), horizon=horizon).planned == 2
    assert plan_entering_horizon(services.factory, now=clock(), horizon=horizon).planned == 0
    assert {r.state for r in all_reminders(services)} == {ReminderState.SCHEDULED}


def test_an_appointment_moved_beyond_the_horizon_loses_its_reminders_until_it_comes_back(
    services: Services, calendar_id: int, clock: FakeClock
) -> None:
    horizon = timedelta(days=60)
    for days in (3, 90):
        moved = snapshot(event("a", clock() + timedelta(days=days)), now=clock())
        store_changes(services.factory, calendar_id, moved, now=clock(), horizon=horizon)

    assert {(r.state, r.reason) for r in all_reminders(services)} == {
        (ReminderState.CANCELLED, CancelReason.APPOINTMENT_MOVED)
    }


def snapshot(*events: RemoteEvent, now: datetime) -> CalendarChanges:
    """An open-ended complete snapshot, as a Google full sync delivers it (no window end)."""
    return CalendarChanges(cursor="x", events=events, complete=True, window_start=now - timedelta(days=1))


def test_removing_a_series_id_removes_every_instance_of_it(
    services: Services, calendar_id: int, clock: FakeClock
) -> None:
    start = clock() + timedelta(days=3)
    instances = [
        replace(event(f"weekly/{i}", start + timedelta(weeks=i)), series_id="weekly") for i in range(3)
    ]
    store_changes(services.factory, calendar_id, CalendarChanges(cursor="1", events=instances), now=clock())
    report = store_changes(
        services.factory, calendar_id, CalendarChanges(cursor="2", removed_ids=["weekly"]), now=clock()
    )

    assert report.removed == 3
    assert {a.status for a in all_appointments(services)} == {"removed"}
