"""Outlook faults through the real sync into both databases: nothing lost, a readable state left behind."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from connectors.calendars.microsoft import TokenCacheState
from connectors.sms.console import ConsoleGateway
from reminders.bootstrap import Services, build_services
from reminders.calendars import grants
from reminders.calendars.service import sync_one
from reminders.models import Appointment, CalendarConnection, OAuthGrant, Reminder
from reminders.settings import Settings
from tests.emulators.microsoft import MicrosoftEmulator
from tests.support.factories import make_account, make_oauth_calendar
from tests.support.microsoft import microsoft_settings, sign_in

OWNER = "praxis@contoso.example"
CALENDAR = "cal-praxis"


@dataclass
class Linked:
    services: Services
    ms: MicrosoftEmulator
    connection_id: int
    grant_id: int
    waits: list[float] = field(default_factory=list)


@pytest.fixture
def linked(database_url: str, tmp_path: Path) -> Iterator[Linked]:
    with MicrosoftEmulator() as ms:
        ms.add_user(OWNER)
        ms.add_calendar(OWNER, CALENDAR, "Praxis")
        settings = Settings(
            env="test", database_url=database_url, data_dir=tmp_path, **microsoft_settings(ms)
        )
        services = build_services(settings, gateway=ConsoleGateway(quiet=True))
        waits: list[float] = []
        services.sleep = waits.append
        state = sign_in(ms, services.microsoft_app, OWNER)
        with services.factory.begin() as session:
            account = make_account(session)
            connection = make_oauth_calendar(
                session, services.cipher, account, provider="microsoft", external_id=CALENDAR, subject=OWNER,
                token_json=state.to_json(),
            )  # fmt: skip
            ids = connection.id, connection.grant_id or 0
        yield Linked(services, ms, ids[0], ids[1], waits)
        services.close()


def put(ms: MicrosoftEmulator, event_id: str, start: datetime) -> None:
    wall = start.astimezone(UTC).replace(tzinfo=None)
    ms.put_event(
        OWNER,
        CALENDAR,
        {
            "id": event_id,
            "subject": "Kontrolle",
            "location": {"displayName": "079 123 45 67"},
            "start": {"dateTime": wall.isoformat(), "timeZone": "UTC"},
            "end": {"dateTime": (wall + timedelta(minutes=30)).isoformat(), "timeZone": "UTC"},
        },
    )


def state(linked: Linked) -> tuple[list[str], list[tuple[int, str]], str | None]:
    with linked.services.factory.begin() as session:
        appointments = [a.external_id for a in session.scalars(select(Appointment).order_by(Appointment.id))]
        reminders = [(r.id, r.state) for r in session.scalars(select(Reminder).order_by(Reminder.id))]
        error = session.get_one(CalendarConnection, linked.connection_id).last_sync_error
    return appointments, reminders, error


def soon() -> datetime:
    return datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)


def test_throttling_is_waited_out_as_graph_asks(linked: Linked) -> None:
    put(linked.ms, "a", soon())
    linked.ms.inject_fault("GET", "/v1.0/me/calendars/", 429, headers={"Retry-After": "1.5"})

    assert sync_one(linked.services, linked.connection_id).error is None

    assert linked.waits
    assert linked.waits[0] >= 1.5
    assert state(linked)[0] == ["a"]


def test_an_outage_is_recorded_loses_nothing_and_the_next_sync_recovers(linked: Linked) -> None:
    put(linked.ms, "a", soon())
    sync_one(linked.services, linked.connection_id)
    before = state(linked)

    put(linked.ms, "b", soon())
    linked.ms.inject_fault("GET", "/v1.0/me/calendars/", 503, times=20)
    failed = sync_one(linked.services, linked.connection_id)

    assert failed.error is not None
    assert state(linked)[:2] == before[:2]
    assert state(linked)[2] == failed.error
    linked.ms.clear_faults()
    assert sync_one(linked.services, linked.connection_id).error is None
    assert state(linked)[0] == ["a", "b"]


def test_the_rotated_token_cache_is_saved_encrypted(linked: Linked) -> None:
    put(linked.ms, "a", soon())
    with linked.services.factory.begin() as session:
        before = session.get_one(OAuthGrant, linked.grant_id).token
    linked.ms.expire_access_tokens()

    assert sync_one(linked.services, linked.connection_id).error is None

    with linked.services.factory.begin() as session:
        grant = session.get_one(OAuthGrant, linked.grant_id)
        after = TokenCacheState.from_json(grants.token_of(linked.services.cipher, grant))
    assert grant.token != before
    assert b"refresh" not in grant.token.lower()
    assert after.username == OWNER
    assert sync_one(linked.services, linked.connection_id).error is None  # the rotated cache works


def test_a_new_round_that_comes_back_empty_is_held_and_cancels_nothing(linked: Linked) -> None:
    for i in range(3):
        put(linked.ms, f"e{i}", soon() + timedelta(hours=i))
    assert sync_one(linked.services, linked.connection_id).error is None
    before = state(linked)
    with linked.services.factory.begin() as session:  # a new round is due (e.g. an expired deltaLink)
        session.get_one(CalendarConnection, linked.connection_id).cursor = None
    delta = f"{linked.ms.graph_url}/me/calendars/{CALENDAR}/calendarView/delta?$deltatoken=glitch"
    linked.ms.inject_fault("GET", "/v1.0/me/calendars/", 200, body={"value": [], "@odata.deltaLink": delta})

    held = sync_one(linked.services, linked.connection_id)

    assert (held.error, held.removed, held.held_removals) == (None, 0, 3)
    assert state(linked) == before

    back = sync_one(linked.services, linked.connection_id)

    assert (back.error, back.removed, back.held_removals, back.updated) == (None, 0, 0, 0)
    assert state(linked) == before


def test_graph_request_lines_log_no_delta_or_skip_tokens(
    linked: Linked, caplog: pytest.LogCaptureFixture
) -> None:
    for i in range(3):
        put(linked.ms, f"e{i}", soon() + timedelta(hours=i))
    with caplog.at_level(logging.DEBUG):
        assert sync_one(linked.services, linked.connection_id).error is None
        put(linked.ms, "later", soon() + timedelta(days=1))
        assert sync_one(linked.services, linked.connection_id).error is None  # follows the deltaLink
    with linked.services.reader() as session:
        cursor = session.get_one(CalendarConnection, linked.connection_id).cursor or ""

    assert "deltatoken" in cursor.lower()
    assert any("HTTP Request" in r.getMessage() for r in caplog.records)
    assert "deltatoken=" not in caplog.text.lower()
    assert "skiptoken=" not in caplog.text.lower()
