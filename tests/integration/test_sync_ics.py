"""Real ICS feeds over HTTP and from files through the sync: failures are recorded, nothing is lost."""

from __future__ import annotations

import socket
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from threading import Barrier

import pytest
from sqlalchemy import select

from reminders.bootstrap import Services
from reminders.calendars.service import claim_due_connections, sync_due, sync_one
from reminders.demo import demo_feed
from reminders.models import Appointment, CalendarConnection, Reminder
from reminders.reasons import ReminderState
from reminders.settings import Settings
from tests.support.clock import FakeClock
from tests.support.factories import make_account, make_calendar
from tests.support.http_feed import FeedState, feed_server


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    # The feeds here are served on loopback, which tenants' links may reach only when allowed.
    return Settings(
        env="test", database_url=database_url, data_dir=tmp_path / "data", ics_allow_private_networks=True
    )


def connect(services: Services, location: str) -> int:
    with services.factory.begin() as session:
        account = make_account(session)
        return make_calendar(session, account, external_id=location).id


def connection(services: Services, calendar_id: int) -> CalendarConnection:
    with services.factory.begin() as session:
        return session.get_one(CalendarConnection, calendar_id)


def live_reminders(services: Services) -> list[tuple[int, str, object]]:
    with services.factory.begin() as session:
        rows = session.scalars(select(Reminder).order_by(Reminder.id)).all()
        return [(r.id, r.state, r.due_at) for r in rows]


def test_a_feed_that_breaks_is_recorded_keeps_everything_and_recovers(
    services: Services, clock: FakeClock
) -> None:
    state = FeedState(body=demo_feed(clock()))
    with feed_server(state) as url:
        calendar_id = connect(services, url)
        first = sync_one(services, calendar_id)
        assert first.error is None
        assert first.created >= 18
        planned = live_reminders(services)
        assert any(s == ReminderState.SCHEDULED for _, s, _ in planned)

        state.status, state.body = 500, b"Internal Server Error"
        clock.advance(timedelta(minutes=10))
        failed = sync_one(services, calendar_id)
        assert failed.error is not None
        assert "500" in failed.error
        assert connection(services, calendar_id).last_sync_error == failed.error
        assert live_reminders(services) == planned  # nothing planned was lost

        state.status, state.content_type = 200, "text/html"
        state.body = b"<html><body>Please sign in</body></html>"
        clock.advance(timedelta(minutes=10))
        (not_ics,) = sync_due(services)
        assert not_ics.error is not None
        assert "iCalendar" in not_ics.error
        assert live_reminders(services) == planned

        state.content_type, state.body = "text/calendar", demo_feed(clock() - timedelta(minutes=20))
        clock.advance(timedelta(minutes=10))
        (recovered,) = sync_due(services)  # the next scheduled sync retries by itself
        assert recovered.error is None
        after = connection(services, calendar_id)
        assert (after.last_sync_error, after.sync_failures) == (None, 0)


def test_an_unreachable_feed_says_so_in_words(services: Services) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again when the block ends: nothing listens there
    calendar_id = connect(services, f"http://127.0.0.1:{port}/secret-token/calendar.ics")

    report = sync_one(services, calendar_id)

    assert report.error is not None
    assert "127.0.0.1" in report.error
    assert "secret-token" not in report.error  # feed URLs carry secrets; never echo them
    assert connection(services, calendar_id).last_sync_error == report.error


def test_a_malformed_file_is_an_error_not_a_crash(services: Services, tmp_path: Path) -> None:
    path = tmp_path / "broken.ics"
    path.write_bytes(b"BEGIN:VCALENDAR\r\nthis is not icalendar at all\r\n\x00\xff")
    calendar_id = connect(services, str(path))

    report = sync_one(services, calendar_id)

    assert report.error is not None
    with services.factory.begin() as session:
        assert session.scalars(select(Appointment)).all() == []


def test_an_unknown_provider_is_reported_on_the_connection(services: Services) -> None:
    with services.factory.begin() as session:
        account = make_account(session)
        calendar_id = make_calendar(session, account, provider="exchange2003").id

    report = sync_one(services, calendar_id)

    assert report.error == "Calendars of type 'exchange2003' are not supported yet."


def test_a_calendar_with_an_unknown_time_zone_is_reported_not_raised(
    services: Services, tmp_path: Path
) -> None:
    with services.factory.begin() as session:
        account = make_account(session)
        calendar_id = make_calendar(
            session, account, external_id=str(tmp_path / "x.ics"), timezone="Mars/Olympus"
        ).id

    report = sync_one(services, calendar_id)

    assert report.error is not None
    assert report.error.startswith("The calendar's settings are not usable")


def test_concurrent_workers_never_claim_the_same_calendar(services: Services, clock: FakeClock) -> None:
    with services.factory.begin() as session:
        account = make_account(session)
        for i in range(30):
            make_calendar(session, account, external_id=f"https://example.org/{i}.ics", rules=())
    barrier = Barrier(3)

    def claim(_: int) -> list[int]:
        barrier.wait()
        return claim_due_connections(services, limit=7)

    with ThreadPoolExecutor(3) as pool:
        claimed = [i for ids in pool.map(claim, range(3)) for i in ids]

    assert len(claimed) == len(set(claimed)) == 21
    assert claim_due_connections(services, limit=100) != []  # the other 9 are still due
    assert claim_due_connections(services, limit=100) == []  # and now everything is claimed
    clock.advance(timedelta(minutes=11))
    assert len(claim_due_connections(services, limit=100)) == 30  # a dead worker's claims come back
