"""The connect page (issue 10): help on where to find a calendar's ICS link, and webcal:// links."""

from __future__ import annotations

import html
from pathlib import Path

import pytest
from sqlalchemy import select

from reminders.bootstrap import Services
from reminders.calendars.ics_link import feed_url_problem, normalise_feed_url
from reminders.models import CalendarConnection, User
from reminders.settings import Settings
from tests.support.factories import make_account
from tests.support.http_feed import FeedState, feed_server
from tests.support.web import make_user, signed_in

OWNER = "owner@salon.example"


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    # The feed is served on loopback, which tenants' links may reach only when allowed.
    return Settings(
        env="test", database_url=database_url, data_dir=tmp_path / "data", ics_allow_private_networks=True
    )


@pytest.fixture
def owner(services: Services) -> str:
    with services.factory.begin() as session:
        make_user(session, make_account(session, name="Salon Bella"), email=OWNER)
    return OWNER


def test_the_connect_page_says_where_each_app_keeps_its_link(services: Services, owner: str) -> None:
    with signed_in(services, owner) as web:
        english = html.unescape(web.get("/calendars/new").text)
        with services.factory.begin() as session:
            session.scalars(select(User).where(User.email == owner)).one().language = "de"
        german = html.unescape(web.get("/calendars/new").text)

    assert "<summary>Where do I find my calendar's ICS link?</summary>" in english
    for words in (
        "“Integrate calendar”",
        "“Secret address in iCal format”",
        "“Shared calendars”",
        "“Publish a calendar”",
        "“Can view all details”",
        "“Public Calendar”",
        "It starts with webcal://: paste it as it is.",
        "“calendar feed”",
    ):
        assert words in english
    assert "Calendly" not in english  # not an ICS feed: never promised
    assert "<summary>Wo finde ich den ICS-Link meines Kalenders?</summary>" in german
    assert "„Privatadresse im iCal-Format“" in german
    assert "„Öffentlicher Kalender“" in german


def test_a_webcal_link_is_accepted_and_read_as_https(services: Services, owner: str) -> None:
    with feed_server(FeedState()) as url:
        webcal = url.replace("http://", "webcal://")
        with signed_in(services, owner) as web:
            connected = web.post("/calendars/ics", {"url": webcal, "name": "iCloud"})

    assert connected.status_code == 303, connected.text
    with services.factory() as session:
        stored = session.scalars(select(CalendarConnection)).one()
    assert stored.external_id == url.replace("http://", "https://")
    assert stored.name == "iCloud"


@pytest.mark.parametrize(
    "link", ["webcal://p01-caldav.icloud.com/published/2/secret", "WEBCAL://x.example/a.ics"]
)
def test_webcal_is_https_for_the_check(link: str) -> None:
    feed = normalise_feed_url(link)
    assert feed.startswith("https://")
    assert feed_url_problem(feed, allow_private=True) is None
