"""Google faults through the real sync into both databases: nothing lost, a readable state left behind."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from connectors.calendars.google import GoogleToken
from connectors.sms.console import ConsoleGateway
from reminders.bootstrap import Services, build_services
from reminders.calendars import google_link, grants
from reminders.calendars.service import sync_one
from reminders.models import Appointment, CalendarConnection, OAuthGrant, Reminder
from reminders.settings import Settings
from tests.emulators.google import GoogleEmulator
from tests.support.factories import make_account, make_oauth_calendar
from tests.support.google import google_settings

OWNER = "owner@praxis.example"
CALENDAR = "praxis@group.calendar.google.com"
READONLY = "https://www.googleapis.com/auth/calendar.readonly"


@dataclass
class Linked:
    services: Services
    google: GoogleEmulator
    connection_id: int
    grant_id: int
    waits: list[float] = field(default_factory=list)


@pytest.fixture
def linked(database_url: str, tmp_path: Path) -> Iterator[Linked]:
    with GoogleEmulator() as google:
        google.add_user(OWNER)
        google.add_calendar(OWNER, CALENDAR, "Praxis")
        settings = Settings(
            env="test",
            database_url=database_url,
            data_dir=tmp_path,
            public_url="http://127.0.0.1:9",  # nothing listens: push deliveries fail, polling stays the truth
            **google_settings(google),
        )
        services = build_services(settings, gateway=ConsoleGateway(quiet=True))
        waits: list[float] = []
        services.sleep = waits.append
        access, refresh = google.issue_tokens(OWNER, [READONLY])
        token = GoogleToken(access, refresh, datetime.now(UTC) + timedelta(hours=1), (READONLY,))
        with services.factory.begin() as session:
            account = make_account(session)
            connection = make_oauth_calendar(
                session, services.cipher, account, provider="google", external_id=CALENDAR, subject=OWNER,
                token_json=token.to_json(),
            )  # fmt: skip
            ids = connection.id, connection.grant_id or 0
        yield Linked(services, google, ids[0], ids[1], waits)
        services.close()


def put(google: GoogleEmulator, event_id: str, start: datetime) -> None:
    google.put_event(
        CALENDAR,
        {
            "id": event_id,
            "summary": "Kontrolle",
            "location": "079 123 45 67",
            "start": {"dateTime": start.isoformat(), "timeZone": "Europe/Zurich"},
            "end": {"dateTime": (start + timedelta(minutes=30)).isoformat(), "timeZone": "Europe/Zurich"},
        },
    )


def state(linked: Linked) -> tuple[list[tuple[str, str]], list[tuple[int, str]], str | None]:
    with linked.services.factory.begin() as session:
        appointments = [
            (a.external_id, a.status) for a in session.scalars(select(Appointment).order_by(Appointment.id))
        ]
        reminders = [(r.id, r.state) for r in session.scalars(select(Reminder).order_by(Reminder.id))]
        error = session.get_one(CalendarConnection, linked.connection_id).last_sync_error
    return appointments, reminders, error


def soon() -> datetime:
    return datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)


def test_an_expired_sync_token_resyncs_in_full_and_reconciles(linked: Linked) -> None:
    put(linked.google, "keep", soon())
    put(linked.google, "gone", soon() + timedelta(hours=2))
    assert sync_one(linked.services, linked.connection_id).error is None
    _, reminders_before, _ = state(linked)

    linked.google.delete_event(CALENDAR, "gone")
    linked.google.invalidate_sync_tokens()
    report = sync_one(linked.services, linked.connection_id)

    assert report.error is None
    appointments, reminders, error = state(linked)
    assert appointments == [("keep", "confirmed"), ("gone", "removed")]
    keep_reminder = reminders_before[0]
    assert keep_reminder in reminders  # untouched by the full resync
    assert error is None
    assert any(r.path.endswith("/events") and "syncToken" not in r.query for r in linked.google.requests[-3:])


def test_rate_limiting_is_waited_out_as_google_asks(linked: Linked) -> None:
    put(linked.google, "a", soon())
    linked.google.inject_fault("GET", "/calendar/v3/calendars/", 429, headers={"Retry-After": "3"})

    report = sync_one(linked.services, linked.connection_id)

    assert report.error is None
    assert linked.waits
    assert linked.waits[0] >= 3
    assert state(linked)[0] == [("a", "confirmed")]


def test_a_google_outage_is_recorded_loses_nothing_and_the_next_sync_recovers(linked: Linked) -> None:
    put(linked.google, "a", soon())
    sync_one(linked.services, linked.connection_id)
    before = state(linked)

    put(linked.google, "b", soon())
    linked.google.inject_fault("GET", "/calendar/v3/calendars/", 500, times=20)
    failed = sync_one(linked.services, linked.connection_id)

    assert failed.error is not None
    assert "500" in failed.error
    assert state(linked)[:2] == before[:2]
    assert state(linked)[2] == failed.error
    linked.google.clear_faults()
    assert sync_one(linked.services, linked.connection_id).error is None
    assert [a for a, _ in state(linked)[0]] == ["a", "b"]


def test_a_token_refreshed_mid_sync_is_saved_encrypted(linked: Linked) -> None:
    put(linked.google, "a", soon())
    with linked.services.factory.begin() as session:
        before = GoogleToken.from_json(
            grants.token_of(linked.services.cipher, session.get_one(OAuthGrant, linked.grant_id))
        )
    linked.google.expire_access_tokens()

    assert sync_one(linked.services, linked.connection_id).error is None

    with linked.services.factory.begin() as session:
        grant = session.get_one(OAuthGrant, linked.grant_id)
        after = GoogleToken.from_json(grants.token_of(linked.services.cipher, grant))
    assert after.access_token != before.access_token
    assert after.refresh_token == before.refresh_token
    assert after.access_token.encode() not in grant.token
    assert state(linked)[0] == [("a", "confirmed")]


def test_push_channels_are_renewed_before_they_expire(linked: Linked) -> None:
    assert google_link.ensure_channel(linked.services, linked.connection_id)
    (first,) = linked.google.channels()
    with linked.services.factory.begin() as session:
        connection = session.get_one(CalendarConnection, linked.connection_id)
        connection.push_expires_at = datetime.now(UTC) + timedelta(minutes=30)

    assert google_link.renew_channels(linked.services) == 1

    (second,) = linked.google.channels()  # the old one was stopped after the new one started
    assert second["id"] != first["id"]
    with linked.services.factory.begin() as session:
        connection = session.get_one(CalendarConnection, linked.connection_id)
        assert connection.push_channel_id == second["id"]
        assert connection.push_expires_at is not None
        assert connection.push_expires_at > datetime.now(UTC) + timedelta(minutes=50)
    assert google_link.renew_channels(linked.services) == 0


def test_a_full_resync_that_comes_back_empty_is_held_and_cancels_nothing(linked: Linked) -> None:
    for i in range(3):
        put(linked.google, f"e{i}", soon() + timedelta(hours=i))
    assert sync_one(linked.services, linked.connection_id).error is None
    appointments_before, reminders_before, _ = state(linked)
    with linked.services.factory.begin() as session:  # a full resync is due (e.g. after a 410)
        session.get_one(CalendarConnection, linked.connection_id).cursor = None
    empty = {"kind": "calendar#events", "items": [], "nextSyncToken": "glitch"}
    linked.google.inject_fault("GET", "/calendar/v3/calendars/", 200, body=empty)

    held = sync_one(linked.services, linked.connection_id)

    assert (held.error, held.removed, held.held_removals) == (None, 0, 3)
    assert state(linked)[:2] == (appointments_before, reminders_before)

    back = sync_one(linked.services, linked.connection_id)  # Google answers in full again

    assert (back.error, back.removed, back.held_removals, back.updated) == (None, 0, 0, 0)
    assert state(linked)[:2] == (appointments_before, reminders_before)
