"""A snapshot that suddenly drops most upcoming appointments is held, never applied blindly.

An ICS server answering 200 with an empty calendar used to remove every appointment and cancel
every reminder; one that fell due before the feed came back was lost. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import html
from datetime import timedelta
from pathlib import Path

import pytest

from connectors.calendars.ics import IcsCalendarSource
from connectors.calendars.memory import InMemoryCalendar
from reminders.bootstrap import Services
from reminders.calendars.drop_guard import DropGuard
from reminders.calendars.sync import SyncLimits, SyncReport, sync_connection
from reminders.models import CalendarConnection
from reminders.reasons import CancelReason, ReminderState
from tests.support.clock import FakeClock
from tests.support.factories import event, make_account, make_calendar
from tests.support.feeds import FOOTER, HEADER, vevent
from tests.support.reading import all_appointments, all_reminders
from tests.support.web import make_user, signed_in

EMPTY = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Broken server//EN\r\nEND:VCALENDAR\r\n"
ONLY_TIMEZONE = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Broken server//EN\r\n"
    "BEGIN:VTIMEZONE\r\nTZID:Europe/Zurich\r\n"
    "BEGIN:STANDARD\r\nDTSTART:19701025T030000\r\nRRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\n"
    "TZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nEND:STANDARD\r\n"
    "BEGIN:DAYLIGHT\r\nDTSTART:19700329T020000\r\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\n"
    "TZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\nEND:DAYLIGHT\r\n"
    "END:VTIMEZONE\r\nEND:VCALENDAR\r\n"
)


@pytest.fixture
def calendar_id(services: Services) -> int:
    with services.factory.begin() as session:
        account = make_account(session, credit_balance=20)
        make_user(session, account, email="owner@salon.example")
        return make_calendar(session, account, rules=((2, "hours"),)).id


def run(services: Services, calendar_id: int, source: object, **limits: object) -> SyncReport:
    return sync_connection(
        services.factory,
        calendar_id,
        source,  # type: ignore[arg-type]
        now=services.clock(),
        horizon_days=60,
        limits=SyncLimits(**limits),  # type: ignore[arg-type]
    )


def connection(services: Services, calendar_id: int) -> CalendarConnection:
    with services.reader() as session:
        return session.get_one(CalendarConnection, calendar_id)


def ics_feed(clock: FakeClock, count: int) -> str:
    start = clock().replace(microsecond=0) + timedelta(days=2)
    events = [
        vevent(f"e{i}@salon", start + timedelta(hours=i), title="Schnitt", location=f"079 123 45 6{i}")
        for i in range(count)
    ]
    return HEADER + "".join(events) + FOOTER


def synced_then_deleted(
    services: Services, calendar_id: int, clock: FakeClock, count: int, deleted: int | None = None
) -> InMemoryCalendar:
    """A calendar of `count` upcoming appointments, synced, then the first `deleted` (all) deleted."""
    source = InMemoryCalendar([event(f"e{i}", clock() + timedelta(days=2, hours=i)) for i in range(count)])
    run(services, calendar_id, source)
    for i in range(count if deleted is None else deleted):
        source.delete(f"e{i}")
    return source


def states(services: Services) -> list[tuple[int, str, str | None]]:
    return [(r.id, r.state, r.reason) for r in all_reminders(services)]


@pytest.mark.parametrize("broken", [EMPTY, ONLY_TIMEZONE], ids=["no-components", "only-a-vtimezone"])
def test_an_ics_file_that_comes_back_empty_is_held_and_cancels_nothing(
    services: Services, calendar_id: int, clock: FakeClock, tmp_path: Path, broken: str
) -> None:
    feed, good = tmp_path / "salon.ics", ics_feed(clock, 3)
    feed.write_text(good)
    source = IcsCalendarSource(str(feed))
    run(services, calendar_id, source)
    before = states(services)

    feed.write_text(broken)
    clock.advance(timedelta(minutes=5))
    held = run(services, calendar_id, source)

    assert (held.error, held.removed, held.held_removals) == (None, 0, 3)
    assert states(services) == before
    assert {a.status for a in all_appointments(services)} == {"confirmed"}
    stored = connection(services, calendar_id)
    assert (stored.held_removals, stored.held_upcoming, stored.held_sightings) == (3, 3, 1)
    assert stored.cursor is None  # the next sync reads the whole feed again

    feed.write_text(good)
    clock.advance(timedelta(minutes=5))
    back = run(services, calendar_id, source)

    assert (back.created, back.updated, back.removed, back.held_removals) == (0, 0, 0, 0)
    assert states(services) == before
    assert connection(services, calendar_id).held_removals == 0


def test_a_reminder_due_while_the_feed_is_empty_is_still_sent(
    services: Services, calendar_id: int, clock: FakeClock
) -> None:
    source = InMemoryCalendar(
        [event("a", clock() + timedelta(hours=3)), event("b", clock() + timedelta(days=2))]
    )
    run(services, calendar_id, source)
    source.delete("a")
    source.delete("b")
    run(services, calendar_id, source)  # held

    clock.advance(timedelta(hours=1, minutes=1))
    outcomes = services.dispatcher().run_once()

    assert sum(outcomes.values()) == 1
    sent = [r for r in all_reminders(services) if r.state == ReminderState.SENT]
    assert len(sent) == 1  # before the guard: cancelled(appointment_deleted), then skipped(too_late)


def test_a_drop_seen_on_enough_syncs_over_enough_time_is_applied(
    services: Services, calendar_id: int, clock: FakeClock
) -> None:
    source = synced_then_deleted(services, calendar_id, clock, 3)
    guard = DropGuard(confirmations=3, min_hold=timedelta(minutes=10))

    sightings = []
    for _ in range(2):
        report = run(services, calendar_id, source, guard=guard)
        sightings.append((report.held_removals, connection(services, calendar_id).held_sightings))
        clock.advance(timedelta(minutes=5))
    applied = run(services, calendar_id, source, guard=guard)

    assert sightings == [(3, 1), (3, 2)]
    assert (applied.removed, applied.held_removals) == (3, 0)
    assert {(r.state, r.reason) for r in all_reminders(services)} == {
        (ReminderState.CANCELLED, CancelReason.APPOINTMENT_DELETED)
    }
    assert connection(services, calendar_id).held_removals == 0


def test_quick_syncs_alone_do_not_confirm_a_drop(
    services: Services, calendar_id: int, clock: FakeClock
) -> None:
    source = synced_then_deleted(services, calendar_id, clock, 2)

    reports = []
    for _ in range(5):  # e.g. a burst of push notifications
        reports.append(run(services, calendar_id, source))
        clock.advance(timedelta(seconds=30))

    assert [r.held_removals for r in reports] == [2] * 5
    assert {a.status for a in all_appointments(services)} == {"confirmed"}


@pytest.mark.parametrize(
    ("upcoming", "deleted", "held"),
    [(10, 6, 6), (10, 2, 0), (4, 3, 0), (2, 2, 2), (1, 1, 1), (20, 10, 0)],
)
def test_only_dropping_all_or_most_upcoming_appointments_is_held(
    services: Services, calendar_id: int, clock: FakeClock, upcoming: int, deleted: int, held: int
) -> None:
    source = synced_then_deleted(services, calendar_id, clock, upcoming, deleted)

    report = run(services, calendar_id, source)

    assert (report.held_removals, report.removed) == (held, 0 if held else deleted)


def test_past_appointments_leaving_the_window_never_count_as_a_drop(
    services: Services, calendar_id: int, clock: FakeClock
) -> None:
    source = InMemoryCalendar(
        [event("past", clock() - timedelta(hours=3)), event("next", clock() + timedelta(days=1))]
    )
    run(services, calendar_id, source)
    source.delete("past")

    report = run(services, calendar_id, source)

    assert (report.removed, report.held_removals) == (1, 0)


def test_the_owner_sees_the_hold_and_can_apply_it(
    services: Services, calendar_id: int, clock: FakeClock
) -> None:
    source = synced_then_deleted(services, calendar_id, clock, 4)
    run(services, calendar_id, source)

    with signed_in(services, "owner@salon.example") as web:
        overview = web.get("/").text
        page = web.get(f"/calendars/{calendar_id}").text
        confirmed = web.post(f"/calendars/{calendar_id}/removals")

    assert "suddenly no longer lists 4 upcoming appointments" in overview
    assert "no longer lists 4 of its 4 upcoming appointments" in page
    assert f'action="/calendars/{calendar_id}/removals"' in page
    assert confirmed.status_code == 303
    stored = connection(services, calendar_id)
    assert stored.held_confirmed_at is not None
    assert stored.next_sync_at is not None
    assert stored.next_sync_at <= clock()

    applied = run(services, calendar_id, source)

    assert (applied.removed, applied.held_removals) == (4, 0)
    assert {r.reason for r in all_reminders(services)} == {CancelReason.APPOINTMENT_DELETED}
    stored = connection(services, calendar_id)
    assert (stored.held_removals, stored.held_confirmed_at) == (0, None)


def test_warnings_of_the_last_read_are_kept_for_the_owner(
    services: Services, calendar_id: int, clock: FakeClock, tmp_path: Path
) -> None:
    feed = tmp_path / "salon.ics"
    timed = ics_feed(clock, 1)
    broken = "BEGIN:VEVENT\r\nUID:broken\r\nSUMMARY:Anna 079 555 44 33\r\nEND:VEVENT\r\n"
    feed.write_text(timed.replace(FOOTER, broken + FOOTER))
    run(services, calendar_id, IcsCalendarSource(str(feed)))

    warnings = connection(services, calendar_id).sync_warnings
    with signed_in(services, "owner@salon.example") as web:
        page = web.get(f"/calendars/{calendar_id}").text

    assert any("Anna 079 555 44 33" in w for w in warnings)  # the event named for its owner...
    assert "Some events of the last read need a look (" in page
    assert "Anna ••• ••• •• 33" in html.unescape(page)  # ...but no client's number on a page
    assert "079 555 44 33" not in html.unescape(page)
