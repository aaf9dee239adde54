""" "Sync now" on a calendar (issue 10): reads the feed at once, says how it went, stays in the account."""

from __future__ import annotations

import html
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from reminders.bootstrap import Services
from reminders.calendars.service import sync_one
from reminders.models import Appointment, CalendarConnection, User
from reminders.settings import Settings
from tests.support.clock import FakeClock
from tests.support.factories import make_account, make_calendar
from tests.support.feeds import FOOTER, HEADER, vevent
from tests.support.http_feed import FeedState, feed_server
from tests.support.web import make_user, signed_in

OWNER = "owner@salon.example"


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    # The feed is served on loopback, which tenants' links may reach only when allowed.
    return Settings(
        env="test", database_url=database_url, data_dir=tmp_path / "data", ics_allow_private_networks=True
    )


@dataclass
class Salon:
    calendar_id: int
    other_calendar_id: int
    feed: FeedState


@pytest.fixture
def salon(services: Services, clock: FakeClock) -> Iterator[Salon]:
    state = FeedState(body=feed(clock, "first"))
    with feed_server(state) as url:
        with services.factory.begin() as session:
            account = make_account(session, name="Salon Bella")
            make_user(session, account, email=OWNER)
            calendar_id = make_calendar(session, account, external_id=url, name="Stühle").id
            other = make_account(session, name="Other")
            other_id = make_calendar(session, other, external_id=url + "?other", name="Fremd").id
        assert sync_one(services, calendar_id).error is None
        state.requests.clear()
        yield Salon(calendar_id, other_id, state)


def feed(clock: FakeClock, *uids: str) -> bytes:
    tomorrow = clock() + timedelta(days=1)
    events = [
        vevent(uid, tomorrow + timedelta(hours=i), location="079 123 45 67") for i, uid in enumerate(uids)
    ]
    return (HEADER + "".join(events) + FOOTER).encode()


def stored_uids(services: Services, calendar_id: int) -> list[str]:
    with services.factory() as session:
        rows = session.scalars(
            select(Appointment.external_id)
            .where(Appointment.calendar_id == calendar_id, Appointment.status == "confirmed")
            .order_by(Appointment.external_id)
        )
        return list(rows)


def connection(services: Services, calendar_id: int) -> CalendarConnection:
    with services.factory() as session:
        return session.get_one(CalendarConnection, calendar_id)


def test_sync_now_reads_a_new_event_at_once(services: Services, salon: Salon, clock: FakeClock) -> None:
    assert stored_uids(services, salon.calendar_id) == ["first"]
    salon.feed.body = feed(clock, "first", "booked-just-now")
    clock.advance(timedelta(minutes=1))  # well before the next scheduled sync

    with signed_in(services, OWNER) as web:
        synced = web.post(f"/calendars/{salon.calendar_id}/sync")
        page = web.get(synced.headers["location"])

    assert synced.status_code == 303
    assert synced.headers["location"] == f"/calendars/{salon.calendar_id}?notice=synced"
    assert stored_uids(services, salon.calendar_id) == ["booked-just-now", "first"]
    assert connection(services, salon.calendar_id).last_synced_at == clock()
    assert page.status_code == 200
    assert "Calendar synced." in page.text
    assert f'action="/calendars/{salon.calendar_id}/sync"' in page.text


def test_from_the_list_it_goes_back_to_the_list_and_nowhere_else(services: Services, salon: Salon) -> None:
    with signed_in(services, OWNER) as web:
        listed = web.get("/calendars")
        from_list = web.post(f"/calendars/{salon.calendar_id}/sync", {"next": "/calendars"})
        elsewhere = web.post(f"/calendars/{salon.calendar_id}/sync", {"next": "https://evil.example/"})
        other_page = web.post(
            f"/calendars/{salon.calendar_id}/sync", {"next": f"/calendars/{salon.other_calendar_id}"}
        )

    assert f'action="/calendars/{salon.calendar_id}/sync"' in listed.text
    assert 'name="next" value="/calendars"' in listed.text
    assert ">Sync now<" in listed.text
    assert from_list.headers["location"] == "/calendars?notice=synced"
    assert elsewhere.headers["location"] == f"/calendars/{salon.calendar_id}?notice=synced"
    assert other_page.headers["location"] == f"/calendars/{salon.calendar_id}?notice=synced"


def test_another_accounts_calendar_is_not_found_and_not_read(services: Services, salon: Salon) -> None:
    before = connection(services, salon.other_calendar_id).last_synced_at

    with signed_in(services, OWNER) as web:
        theirs = web.post(f"/calendars/{salon.other_calendar_id}/sync")
        missing = web.post("/calendars/999999/sync")

    assert theirs.status_code == 404
    assert missing.status_code == 404
    assert salon.feed.requests == []
    assert connection(services, salon.other_calendar_id).last_synced_at == before


def test_a_disconnected_calendar_is_not_found(services: Services, salon: Salon, clock: FakeClock) -> None:
    with services.factory.begin() as session:
        session.get_one(CalendarConnection, salon.calendar_id).disconnected_at = clock()

    with signed_in(services, OWNER) as web:
        gone = web.post(f"/calendars/{salon.calendar_id}/sync")

    assert gone.status_code == 404
    assert salon.feed.requests == []


def test_a_failing_feed_says_so_and_the_page_shows_the_error(
    services: Services, salon: Salon, clock: FakeClock
) -> None:
    salon.feed.status, salon.feed.body = 500, b"Internal Server Error"

    with signed_in(services, OWNER) as web:
        failed = web.post(f"/calendars/{salon.calendar_id}/sync")
        page = web.get(failed.headers["location"])
        salon.feed.status, salon.feed.body = 200, b"<!DOCTYPE html><html><body>Sign in</body></html>"
        from_list = web.post(f"/calendars/{salon.calendar_id}/sync", {"next": "/calendars"})
        listed = web.get(from_list.headers["location"])

    assert failed.status_code == 303
    assert failed.headers["location"] == f"/calendars/{salon.calendar_id}?notice=sync_failed"
    assert page.status_code == 200
    text = html.unescape(page.text)
    assert "The calendar could not be read. What went wrong is shown below." in text
    assert "answered HTTP 500" in text
    assert from_list.headers["location"] == "/calendars?notice=sync_failed"
    assert listed.status_code == 200
    # The feed's content type says calendar, its body is a web page: the error says exactly that.
    assert "answered with text/calendar, but the content is not an iCalendar file (it is an HTML page)" in (
        html.unescape(listed.text)
    )
    assert stored_uids(services, salon.calendar_id) == ["first"]  # nothing lost


def test_german_words(services: Services, salon: Salon) -> None:
    with services.factory.begin() as session:
        session.scalars(select(User).where(User.email == OWNER)).one().language = "de"

    with signed_in(services, OWNER) as web:
        synced = web.post(f"/calendars/{salon.calendar_id}/sync")
        page = web.get(synced.headers["location"])

    assert "Kalender synchronisiert." in page.text
    assert "Jetzt synchronisieren" in page.text
