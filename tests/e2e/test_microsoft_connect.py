"""Outlook end to end: consent through the service's own routes, then notifications and polling.

The Microsoft side is the HTTPS emulator in tests/emulators (MSAL against a local authority,
Graph over httpx with the emulator's test CA); the service runs in uvicorn with its real
scheduler, so change notifications travel emulator → webhook → debounced sync → reminders.
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
from pydantic import SecretStr
from sqlalchemy import select

from connectors.sms.console import ConsoleGateway
from reminders.bootstrap import Services, build_services
from reminders.calendars.service import sync_one
from reminders.models import CalendarConnection, OAuthGrant
from reminders.reasons import CancelReason, ReminderState
from reminders.settings import Settings
from reminders.web.app import create_app
from scheduler.clock import ReminderClock
from tests.emulators.microsoft import MicrosoftEmulator
from tests.support.factories import make_account
from tests.support.reading import all_appointments, all_reminders, wait_for
from tests.support.server import free_port, live_server
from tests.support.web import make_user, sign_in

MIDNIGHT = clock_time(0, 0)
OWNER = "praxis@contoso.example"
CALENDAR = "cal-termine"


@dataclass
class Setup:
    services: Services
    ms: MicrosoftEmulator
    web: httpx.Client
    account_id: int


@pytest.fixture
def setup(database_url: str, tmp_path: Path) -> Iterator[Setup]:
    with MicrosoftEmulator() as ms:
        ms.add_user(OWNER, name="Praxis Muster")
        ms.add_calendar(OWNER, CALENDAR, "Termine")
        ms.set_consenting_user(OWNER)
        port = free_port()
        settings = Settings(
            env="test",
            database_url=database_url,
            data_dir=tmp_path,
            public_url=f"http://127.0.0.1:{port}",
            microsoft_client_id=ms.client_id,
            microsoft_client_secret=SecretStr(ms.client_secret),
            microsoft_authority=ms.authority,
            microsoft_graph_url=ms.graph_url,
            microsoft_ca_bundle=ms.ca_bundle,
        )
        services = build_services(settings, gateway=ConsoleGateway(quiet=True))
        with services.factory.begin() as session:
            account = make_account(session, quiet_start=MIDNIGHT, quiet_end=MIDNIGHT)
            account_id, email = account.id, make_user(session, account).email
        with (
            live_server(create_app(services), port=port) as base,
            httpx.Client(base_url=base, timeout=20) as web,
        ):
            sign_in(web, email)
            yield Setup(services, ms, web, account_id)
        services.close()


def connect(setup: Setup) -> int:
    started = setup.web.get("/calendars/microsoft/connect")
    assert started.status_code == 303
    assert started.headers["location"].startswith(setup.ms.authority)
    assert "code_challenge=" in started.headers["location"]
    consent = httpx.get(started.headers["location"], verify=setup.ms.ssl_context(), follow_redirects=False)
    assert consent.status_code == 302
    callback = setup.web.get(consent.headers["location"])
    assert callback.status_code == 303, callback.text
    picker = setup.web.get(callback.headers["location"])
    assert picker.status_code == 200
    assert "Termine" in picker.text
    csrf = re.search(r'name="csrf" value="([^"]+)"', picker.text)
    assert csrf is not None
    chosen = setup.web.post(
        callback.headers["location"], data={"calendar": [CALENDAR], "csrf": csrf.group(1)}
    )
    assert chosen.status_code == 303, chosen.text
    with setup.services.factory.begin() as session:
        return session.scalars(
            select(CalendarConnection.id).where(CalendarConnection.provider == "microsoft")
        ).one()


def graph_event(event_id: str, start: datetime, **extra: object) -> dict[str, object]:
    utc = start.astimezone(UTC).replace(tzinfo=None)
    return {
        "id": event_id,
        "subject": "Physiotherapie Herr Keller",
        "location": {"displayName": "Praxis"},
        "body": {"contentType": "html", "content": "<p>Mobile: <b>079 123 45 67</b></p>"},
        "start": {"dateTime": utc.isoformat(), "timeZone": "UTC"},
        "end": {"dateTime": (utc + timedelta(minutes=45)).isoformat(), "timeZone": "UTC"},
        **extra,
    }


def soon() -> datetime:
    return datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)


def test_connecting_then_notifications_keep_reminders_in_step(setup: Setup) -> None:
    start = soon()
    setup.ms.put_event(OWNER, CALENDAR, graph_event("before", start))
    connection_id = connect(setup)

    (appointment,) = all_appointments(setup.services)
    assert (appointment.external_id, appointment.recipient, appointment.recipient_source) == (
        "before",
        "+41791234567",
        "description",
    )
    (subscription,) = setup.ms.subscriptions()
    assert subscription["notificationUrl"] == f"{setup.services.settings.public_url}/webhooks/microsoft"
    with setup.services.factory.begin() as session:
        assert session.get_one(CalendarConnection, connection_id).push_channel_id == subscription["id"]

    clock = ReminderClock(setup.services)
    clock.start()
    try:
        setup.ms.put_event(OWNER, CALENDAR, graph_event("new", start + timedelta(hours=3)))
        assert wait_for(lambda: len(all_appointments(setup.services)) == 2)
        assert any(d["kind"] == "notification" and d["status"] == 202 for d in setup.ms.deliveries())

        setup.ms.put_event(OWNER, CALENDAR, graph_event("new", start + timedelta(days=1)))
        assert wait_for(
            lambda: any(a.starts_at == start + timedelta(days=1) for a in all_appointments(setup.services))
        )

        setup.ms.delete_event(OWNER, CALENDAR, "new")
        assert wait_for(
            lambda: any(r.reason == CancelReason.APPOINTMENT_DELETED for r in all_reminders(setup.services))
        )
    finally:
        clock.shutdown()


def test_polling_follows_changes_and_an_expired_delta_token_resyncs(setup: Setup) -> None:
    connection_id = connect(setup)
    setup.ms.put_event(OWNER, CALENDAR, graph_event("a", soon()))
    setup.ms.put_event(OWNER, CALENDAR, graph_event("b", soon()))
    assert sync_one(setup.services, connection_id).error is None
    assert [a.external_id for a in all_appointments(setup.services)] == ["a", "b"]

    setup.ms.delete_event(OWNER, CALENDAR, "b")
    setup.ms.invalidate_delta_tokens()
    assert sync_one(setup.services, connection_id).error is None
    assert {(a.external_id, a.status) for a in all_appointments(setup.services)} == {
        ("a", "confirmed"),
        ("b", "removed"),
    }


def test_revoked_consent_keeps_reminders_and_tells_the_owner(setup: Setup) -> None:
    setup.ms.put_event(OWNER, CALENDAR, graph_event("a", soon()))
    connection_id = connect(setup)
    planned = [(r.id, r.state) for r in all_reminders(setup.services)]

    setup.ms.revoke_refresh_tokens(OWNER)
    setup.ms.expire_access_tokens()
    report = sync_one(setup.services, connection_id)

    assert report.access_revoked
    assert [(r.id, r.state) for r in all_reminders(setup.services)] == planned
    with setup.services.factory.begin() as session:
        assert session.scalars(select(OAuthGrant)).one().revoked_at is not None
    assert "connect again" in setup.web.get("/").text.lower()


def test_a_notification_with_a_wrong_client_state_is_ignored(setup: Setup) -> None:
    connection_id = connect(setup)
    (subscription,) = setup.ms.subscriptions()
    with setup.services.factory.begin() as session:
        before = session.get_one(CalendarConnection, connection_id).next_sync_at

    answer = setup.web.post(
        "/webhooks/microsoft",
        json={
            "value": [
                {"subscriptionId": subscription["id"], "clientState": "forged", "changeType": "updated"}
            ]
        },
    )

    assert answer.status_code == 202
    with setup.services.factory.begin() as session:
        assert session.get_one(CalendarConnection, connection_id).next_sync_at == before


def test_lifecycle_events_renew_or_recreate_the_subscription(setup: Setup) -> None:
    connect(setup)
    (first,) = setup.ms.subscriptions()

    setup.ms.send_lifecycle(first["id"], "subscriptionRemoved")
    assert wait_for(lambda: [s["id"] for s in setup.ms.subscriptions()] not in ([], [first["id"]]))


def test_disconnecting_deletes_the_subscription_and_cancels_future_reminders(setup: Setup) -> None:
    setup.ms.put_event(OWNER, CALENDAR, graph_event("a", soon()))
    connection_id = connect(setup)
    csrf = re.search(r'name="csrf" value="([^"]+)"', setup.web.get("/").text)
    assert csrf is not None

    done = setup.web.post(f"/calendars/{connection_id}/disconnect", data={"csrf": csrf.group(1)})

    assert done.status_code == 303
    assert setup.ms.subscriptions() == []
    assert {(r.state, r.reason) for r in all_reminders(setup.services)} == {
        (ReminderState.CANCELLED, CancelReason.CALENDAR_DISCONNECTED)
    }


def test_polling_follows_a_recurring_series_and_cancellations(setup: Setup) -> None:
    connection_id = connect(setup)
    first = soon()
    wall = first.replace(tzinfo=None)
    series = graph_event("series", first)
    series["recurrence"] = {
        "pattern": {"type": "daily", "interval": 1},
        "range": {"type": "numbered", "startDate": wall.date().isoformat(), "numberOfOccurrences": 3},
    }
    series["start"] = {"dateTime": wall.isoformat(), "timeZone": "UTC"}
    setup.ms.put_event(OWNER, CALENDAR, series)
    setup.ms.put_event(OWNER, CALENDAR, graph_event("single", first + timedelta(hours=5)))
    assert sync_one(setup.services, connection_id).error is None
    occurrences = [a for a in all_appointments(setup.services) if a.series_id == "series"]
    assert len(occurrences) == 3
    assert all(a.recipient == "+41791234567" for a in occurrences)

    setup.ms.cancel_occurrence(OWNER, CALENDAR, "series", (wall + timedelta(days=1)).isoformat())
    setup.ms.put_event(OWNER, CALENDAR, graph_event("single", first + timedelta(hours=5), isCancelled=True))
    assert sync_one(setup.services, connection_id).error is None

    statuses = sorted(a.status for a in all_appointments(setup.services))
    assert statuses == ["cancelled", "confirmed", "confirmed", "removed"]  # isCancelled; a deleted occurrence
