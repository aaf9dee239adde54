"""Google end to end: consent through the service's own routes, then push and polling keep reminders in step.

The Google side is the emulator in tests/emulators (real HTTP, official client libraries); the
service runs in uvicorn with its real scheduler, so push notifications travel emulator → webhook
→ debounced sync → planned reminders, as in production.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from connectors.sms.console import ConsoleGateway
from reminders.bootstrap import Services, build_services
from reminders.calendars.service import sync_one
from reminders.models import CalendarConnection, OAuthGrant
from reminders.reasons import CancelReason, ReminderState
from reminders.settings import Settings
from reminders.web.app import create_app
from scheduler.clock import ReminderClock
from tests.emulators.google import GoogleEmulator
from tests.support.factories import make_account
from tests.support.google import google_settings
from tests.support.reading import all_appointments, all_reminders, wait_for
from tests.support.server import free_port, live_server
from tests.support.web import make_user, sign_in

MIDNIGHT = clock_time(0, 0)
OWNER = "owner@salon.example"
SALON = "termine@group.calendar.google.com"


@dataclass
class Setup:
    services: Services
    google: GoogleEmulator
    web: httpx.Client
    account_id: int


@pytest.fixture
def setup(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Setup]:
    with GoogleEmulator() as google:
        google.add_user(OWNER)
        google.add_calendar(OWNER, SALON, "Termine Salon")
        google.set_consenting_user(OWNER)
        port = free_port()
        settings = Settings(
            env="test",
            database_url=database_url,
            data_dir=tmp_path,
            public_url=f"http://127.0.0.1:{port}",
            **google_settings(google),
        )
        services = build_services(settings, gateway=ConsoleGateway(quiet=True))
        with services.factory.begin() as session:
            # No quiet hours: the test must not depend on the time of day it runs at.
            account = make_account(session, quiet_start=MIDNIGHT, quiet_end=MIDNIGHT)
            account_id, email = account.id, make_user(session, account).email
        with (
            live_server(create_app(services), port=port) as base,
            httpx.Client(base_url=base, timeout=20) as web,
        ):
            sign_in(web, email)
            yield Setup(services, google, web, account_id)
        services.close()


def connect(setup: Setup, calendars: list[str]) -> list[int]:
    """The owner's clicks: connect, consent at Google, pick calendars."""
    started = setup.web.get("/calendars/google/connect")
    assert started.status_code == 303
    consent_url = started.headers["location"]
    assert consent_url.startswith(setup.google.auth_url)
    assert "access_type=offline" in consent_url
    assert "code_challenge=" in consent_url
    consent = httpx.get(consent_url, follow_redirects=False)  # Google's consent page answers with a redirect
    assert consent.status_code == 302
    callback = setup.web.get(consent.headers["location"])
    assert callback.status_code == 303, callback.text
    picker = setup.web.get(callback.headers["location"])
    assert picker.status_code == 200
    assert "Termine Salon" in picker.text
    csrf = re.search(r'name="csrf" value="([^"]+)"', picker.text)
    assert csrf is not None
    chosen = setup.web.post(callback.headers["location"], data={"calendar": calendars, "csrf": csrf.group(1)})
    assert chosen.status_code == 303, chosen.text
    with setup.services.factory.begin() as session:
        rows = session.scalars(select(CalendarConnection).where(CalendarConnection.provider == "google"))
        return [c.id for c in rows]


def appointment_event(event_id: str, start: datetime, **extra: object) -> dict[str, object]:
    local = start.astimezone(UTC)
    return {
        "id": event_id,
        "summary": "Haarschnitt Anna",
        "location": "079 123 45 67",
        "start": {"dateTime": local.isoformat(), "timeZone": "Europe/Zurich"},
        "end": {"dateTime": (local + timedelta(minutes=45)).isoformat(), "timeZone": "Europe/Zurich"},
        **extra,
    }


def test_connecting_through_the_routes_then_push_keeps_reminders_in_step(setup: Setup) -> None:
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
    setup.google.put_event(SALON, appointment_event("before-connect", start))

    connect(setup, [SALON])

    assert [a.external_id for a in all_appointments(setup.services)] == [
        "before-connect"
    ]  # the first sync ran
    (channel,) = setup.google.channels()
    assert channel["address"] == f"{setup.services.settings.public_url}/webhooks/google"
    with setup.services.factory.begin() as session:
        grant = session.scalars(select(OAuthGrant)).one()
        assert b"refresh" not in grant.token  # encrypted at rest
        assert grant.subject == OWNER

    clock = ReminderClock(setup.services)
    clock.start()
    try:
        setup.google.put_event(SALON, appointment_event("new", start + timedelta(hours=2)))
        assert wait_for(
            lambda: len(all_appointments(setup.services)) == 2
        )  # push → webhook → sync, no polling wait
        assert any(d["status"] == 200 for d in setup.google.deliveries())

        setup.google.put_event(SALON, appointment_event("new", start + timedelta(days=1)))
        assert wait_for(
            lambda: (
                {r.due_at for r in all_reminders(setup.services) if r.state == ReminderState.SCHEDULED}
                == {start - timedelta(days=1), start}
            )
        )

        setup.google.delete_event(SALON, "new")
        assert wait_for(
            lambda: any(r.reason == CancelReason.APPOINTMENT_DELETED for r in all_reminders(setup.services))
        )
    finally:
        clock.shutdown()


def test_polling_alone_follows_changes(setup: Setup) -> None:
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
    (connection_id,) = connect(setup, [SALON])  # no scheduler runs: only explicit polls sync

    setup.google.put_event(SALON, appointment_event("a", start))
    sync_one(setup.services, connection_id)
    assert [a.external_id for a in all_appointments(setup.services)] == ["a"]

    setup.google.put_event(SALON, appointment_event("a", start, status="cancelled"))
    sync_one(setup.services, connection_id)
    assert {r.state for r in all_reminders(setup.services)} == {ReminderState.CANCELLED}


def test_revoked_access_keeps_reminders_and_tells_the_owner(setup: Setup) -> None:
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
    setup.google.put_event(SALON, appointment_event("a", start))
    (connection_id,) = connect(setup, [SALON])
    planned = [(r.id, r.state) for r in all_reminders(setup.services)]

    setup.google.revoke_refresh_tokens(OWNER)
    setup.google.expire_access_tokens()
    report = sync_one(setup.services, connection_id)

    assert report.access_revoked
    assert [(r.id, r.state) for r in all_reminders(setup.services)] == planned
    with setup.services.factory.begin() as session:
        connection = session.get_one(CalendarConnection, connection_id)
        assert connection.last_sync_error is not None
        assert "reconnect" in connection.last_sync_error.lower()
        assert session.scalars(select(OAuthGrant)).one().revoked_at is not None
    page = setup.web.get("/")
    assert "connect again" in page.text.lower()


def test_disconnecting_stops_push_revokes_access_and_cancels_future_reminders(setup: Setup) -> None:
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
    setup.google.put_event(SALON, appointment_event("a", start))
    (connection_id,) = connect(setup, [SALON])
    assert len(setup.google.channels()) == 1
    page = setup.web.get("/")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf is not None

    refused = setup.web.post(f"/calendars/{connection_id}/disconnect", data={"csrf": "forged"})
    assert refused.status_code == 403
    done = setup.web.post(f"/calendars/{connection_id}/disconnect", data={"csrf": csrf.group(1)})

    assert done.status_code == 303
    assert setup.google.channels() == []
    assert {(r.state, r.reason) for r in all_reminders(setup.services)} == {
        (ReminderState.CANCELLED, CancelReason.CALENDAR_DISCONNECTED)
    }
    assert any(r.path == "/revoke" for r in setup.google.requests)


def test_a_forged_or_replayed_callback_is_refused(setup: Setup) -> None:
    started = setup.web.get("/calendars/google/connect")
    consent = httpx.get(started.headers["location"], follow_redirects=False)
    callback_url = consent.headers["location"]

    anonymous = httpx.get(setup.web.base_url.join(callback_url))  # same link, another browser
    assert anonymous.status_code == 303
    assert anonymous.headers["location"].startswith("/login")
    with setup.services.factory.begin() as session:
        other = make_user(session, make_account(session, name="Other"))
    with httpx.Client(base_url=setup.web.base_url) as stranger:
        sign_in(stranger, other.email)
        assert stranger.get(callback_url).status_code == 400  # signed in, but not the session that started it
    forged = setup.web.get(re.sub(r"state=[^&]+", "state=forged.sig", callback_url))
    assert forged.status_code == 400
    assert setup.web.get(callback_url).status_code == 303
    assert setup.web.get(callback_url).status_code == 400  # a code and state work once


def test_a_push_with_a_wrong_token_is_rejected(setup: Setup) -> None:
    connect(setup, [SALON])
    (channel,) = setup.google.channels()

    wrong = setup.web.post(
        "/webhooks/google",
        headers={
            "X-Goog-Channel-ID": channel["id"],
            "X-Goog-Channel-Token": "nope",
            "X-Goog-Resource-State": "exists",
        },
    )

    assert wrong.status_code == 404
