"""Tenants' ICS links through the real sync: checked where the fetch connects, and time-boxed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from connectors.sms.console import ConsoleGateway
from reminders.bootstrap import Services, build_services
from reminders.calendars.service import sync_one
from reminders.demo import demo_feed
from reminders.models import Appointment, CalendarConnection
from reminders.settings import Settings
from tests.support.clock import FakeClock
from tests.support.factories import make_account, make_calendar
from tests.support.http_feed import FeedState, feed_server


def connect(services: Services, location: str) -> int:
    with services.factory.begin() as session:
        return make_calendar(session, make_account(session), external_id=location).id


def appointments(services: Services) -> int:
    with services.factory.begin() as session:
        return session.scalar(select(func.count()).select_from(Appointment)) or 0


def test_a_saved_link_whose_name_now_resolves_to_loopback_is_refused_at_fetch(
    services: Services, clock: FakeClock
) -> None:
    assert services.settings.ics_allow_private_networks is False
    state = FeedState(body=demo_feed(clock()))
    with feed_server(state) as url:
        # As if the name had pointed elsewhere when the link was saved (DNS rebinding).
        link = url.replace("127.0.0.1", "localhost").replace("/calendar.ics", "/secret-token/cal.ics")
        calendar_id = connect(services, link)

        report = sync_one(services, calendar_id)

    assert report.error is not None
    assert "localhost" in report.error
    assert "private network" in report.error
    assert "secret-token" not in report.error
    assert "127.0.0.1" not in report.error
    assert (state.connections, state.requests) == (0, [])
    assert appointments(services) == 0
    with services.factory.begin() as session:
        assert session.get_one(CalendarConnection, calendar_id).last_sync_error == report.error


@pytest.fixture
def lan_services(
    database_url: str, tmp_path: Path, gateway: ConsoleGateway, clock: FakeClock
) -> Iterator[Services]:
    """An installation on a LAN (private feeds allowed) with a short fetch deadline."""
    settings = Settings(
        env="test",
        database_url=database_url,
        data_dir=tmp_path / "data",
        ics_allow_private_networks=True,
        ics_fetch_deadline_seconds=2,
    )
    built = build_services(settings, gateway=gateway, clock=clock)
    yield built
    built.close()


def test_a_slow_drip_feed_is_cut_off_at_the_deadline(lan_services: Services, clock: FakeClock) -> None:
    state = FeedState(body=demo_feed(clock()), drip_seconds=0.1)  # minutes for the whole feed
    with feed_server(state) as url:
        calendar_id = connect(lan_services, url)

        report = sync_one(lan_services, calendar_id)

    port = url.rsplit(":", 1)[1].split("/")[0]
    assert report.error == (
        f"The calendar server at http://127.0.0.1:{port}/… did not send the calendar within 2 s."
    )
    assert appointments(lan_services) == 0


def test_on_a_lan_loopback_feeds_are_read(lan_services: Services, clock: FakeClock) -> None:
    state = FeedState(body=demo_feed(clock()))
    with feed_server(state) as url:
        report = sync_one(lan_services, connect(lan_services, url.replace("127.0.0.1", "localhost")))

    assert report.error is None
    assert report.created > 0
    assert state.requests == ["/calendar.ics"]
