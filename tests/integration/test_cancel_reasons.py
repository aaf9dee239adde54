"""Cancelled versus deleted events from the Google and Microsoft emulators, through the real sync.

A cancelled occurrence (Google: a cancelled instance of a series that goes on; Outlook: an event
marked `isCancelled`) leaves the appointment "cancelled" and its reminders cancelled with
`appointment_cancelled`; a deleted event, occurrence or series gives `appointment_deleted`.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from connectors.calendars.google import GoogleToken
from connectors.sms.console import ConsoleGateway
from reminders.bootstrap import Services, build_services
from reminders.calendars.service import sync_one
from reminders.models import CalendarConnection
from reminders.reasons import CancelReason, ReminderState
from reminders.settings import Settings
from tests.emulators.google import GoogleEmulator
from tests.emulators.microsoft import MicrosoftEmulator
from tests.support.factories import make_account, make_oauth_calendar
from tests.support.google import google_settings
from tests.support.microsoft import microsoft_settings, sign_in
from tests.support.reading import all_appointments, all_reminders

ZURICH = ZoneInfo("Europe/Zurich")
GOOGLE_OWNER = "owner@praxis.example"
GOOGLE_CALENDAR = "praxis@group.calendar.google.com"
READONLY = "https://www.googleapis.com/auth/calendar.readonly"
OUTLOOK_OWNER = "praxis@contoso.example"
OUTLOOK_CALENDAR = "cal-praxis"

Outcome = tuple[str, frozenset[tuple[str, str | None]]]
CANCELLED: Outcome = ("cancelled", frozenset({(ReminderState.CANCELLED, CancelReason.APPOINTMENT_CANCELLED)}))
DELETED: Outcome = ("removed", frozenset({(ReminderState.CANCELLED, CancelReason.APPOINTMENT_DELETED)}))
PLANNED: Outcome = ("confirmed", frozenset({(ReminderState.SCHEDULED, None)}))


def soon() -> datetime:
    """Three days ahead at 10:00 in Zurich, so that the 24-hour reminders are all ahead."""
    day = datetime.now(ZURICH).date() + timedelta(days=3)
    return datetime(day.year, day.month, day.day, 10, tzinfo=ZURICH).astimezone(UTC)


def outcomes(services: Services) -> dict[str, Outcome]:
    """Each appointment's status and its reminders' states and reasons, by external id."""
    reminders: dict[int, set[tuple[str, str | None]]] = {}
    for reminder in all_reminders(services):
        reminders.setdefault(reminder.appointment_id, set()).add((reminder.state, reminder.reason))
    return {a.external_id: (a.status, frozenset(reminders.get(a.id, ()))) for a in all_appointments(services)}


def weeks_later(start: datetime, weeks: int) -> datetime:
    """The same wall-clock time in Zurich `weeks` later (a series keeps its local time over DST)."""
    wall = start.astimezone(ZURICH).replace(tzinfo=None) + timedelta(weeks=weeks)
    return wall.replace(tzinfo=ZURICH).astimezone(UTC)


def forget_cursor(services: Services, connection_id: int) -> None:
    """Make the next sync a full one, as after an expired sync token or delta link."""
    with services.factory.begin() as session:
        session.get_one(CalendarConnection, connection_id).cursor = None


# --- Google -------------------------------------------------------------------------------------


@pytest.fixture
def google(database_url: str, tmp_path: Path) -> Iterator[tuple[Services, GoogleEmulator, int]]:
    with GoogleEmulator() as emulator:
        emulator.add_user(GOOGLE_OWNER)
        emulator.add_calendar(GOOGLE_OWNER, GOOGLE_CALENDAR, "Praxis")
        settings = Settings(
            env="test",
            database_url=database_url,
            data_dir=tmp_path,
            public_url="http://127.0.0.1:9",  # nothing listens: push deliveries fail, polling stays the truth
            **google_settings(emulator),
        )
        services = build_services(settings, gateway=ConsoleGateway(quiet=True))
        access, refresh = emulator.issue_tokens(GOOGLE_OWNER, [READONLY])
        token = GoogleToken(access, refresh, datetime.now(UTC) + timedelta(hours=1), (READONLY,))
        with services.factory.begin() as session:
            connection = make_oauth_calendar(
                session, services.cipher, make_account(session), provider="google",
                external_id=GOOGLE_CALENDAR, subject=GOOGLE_OWNER, token_json=token.to_json(),
            )  # fmt: skip
            connection_id = connection.id
        yield services, emulator, connection_id
        services.close()


def google_event(event_id: str, start: datetime, **fields: object) -> dict[str, object]:
    local = start.astimezone(ZURICH).replace(tzinfo=None)
    return {
        "id": event_id,
        "summary": "Kontrolle Anna Muster",
        "location": "079 123 45 67",
        "start": {"dateTime": local.isoformat(), "timeZone": "Europe/Zurich"},
        "end": {"dateTime": (local + timedelta(minutes=45)).isoformat(), "timeZone": "Europe/Zurich"},
        **fields,
    }


def instance(start: datetime) -> str:
    return f"weekly/{start:%Y%m%dT%H%M%SZ}"


def series_lookups(emulator: GoogleEmulator) -> int:
    """How often the sync asked Google for the series itself (events.get)."""
    return sum(r.method == "GET" and r.path.endswith("/events/weekly") for r in emulator.requests)


def test_a_cancelled_google_instance_is_cancelled_and_a_deleted_event_deleted(
    google: tuple[Services, GoogleEmulator, int],
) -> None:
    services, emulator, connection_id = google
    first = soon()
    starts = [weeks_later(first, n) for n in range(3)]
    emulator.put_event(
        GOOGLE_CALENDAR, google_event("weekly", first, recurrence=["RRULE:FREQ=WEEKLY;COUNT=3"])
    )
    emulator.put_event(GOOGLE_CALENDAR, google_event("single", first + timedelta(hours=3)))
    emulator.put_event(GOOGLE_CALENDAR, google_event("doomed", first + timedelta(hours=5)))
    assert sync_one(services, connection_id).error is None
    assert set(outcomes(services).values()) == {PLANNED}

    emulator.cancel_instance(GOOGLE_CALENDAR, "weekly", starts[1].isoformat())  # "delete this event only"
    emulator.delete_event(GOOGLE_CALENDAR, "doomed")
    report = sync_one(services, connection_id)

    assert report.error is None
    after_cancel = {
        instance(starts[0]): PLANNED,
        instance(starts[1]): CANCELLED,
        instance(starts[2]): PLANNED,
        "single": PLANNED,
        "doomed": DELETED,
    }
    assert outcomes(services) == after_cancel
    appointment = next(a for a in all_appointments(services) if a.external_id == instance(starts[1]))
    assert (appointment.title, appointment.recipient) == ("Kontrolle Anna Muster", "+41791234567")
    assert series_lookups(emulator) == 1  # the listing held only the cancelled instance

    emulator.invalidate_sync_tokens()  # a full sync sees the cancelled instance again: still cancelled
    assert sync_one(services, connection_id).error is None
    forget_cursor(services, connection_id)
    assert sync_one(services, connection_id).error is None
    assert outcomes(services) == after_cancel
    assert series_lookups(emulator) == 1  # a full listing shows the live instances of the series

    emulator.delete_event(GOOGLE_CALENDAR, "weekly")  # every instance comes back cancelled, too
    assert sync_one(services, connection_id).error is None
    assert outcomes(services) == {
        instance(starts[0]): DELETED,
        instance(starts[1]): ("removed", CANCELLED[1]),  # gone with its series now
        instance(starts[2]): DELETED,
        "single": PLANNED,
        "doomed": DELETED,
    }
    assert series_lookups(emulator) == 2


def test_a_restored_google_instance_is_confirmed_again(google: tuple[Services, GoogleEmulator, int]) -> None:
    services, emulator, connection_id = google
    first = soon()
    second = weeks_later(first, 1)
    emulator.put_event(
        GOOGLE_CALENDAR, google_event("weekly", first, recurrence=["RRULE:FREQ=WEEKLY;COUNT=2"])
    )
    assert sync_one(services, connection_id).error is None
    emulator.cancel_instance(GOOGLE_CALENDAR, "weekly", second.isoformat())
    assert sync_one(services, connection_id).error is None
    assert outcomes(services)[instance(second)][0] == "cancelled"

    # Restoring the instance as it was: the same content as before, so only the status changed.
    original = {
        "dateTime": second.astimezone(ZURICH).replace(tzinfo=None).isoformat(),
        "timeZone": "Europe/Zurich",
    }
    restored = google_event("weekly", second, recurringEventId="weekly", originalStartTime=original)
    del restored["id"]
    emulator.put_event(GOOGLE_CALENDAR, restored)
    assert sync_one(services, connection_id).error is None

    assert outcomes(services)[instance(second)][0] == "confirmed"


# --- Outlook ------------------------------------------------------------------------------------


@pytest.fixture
def outlook(database_url: str, tmp_path: Path) -> Iterator[tuple[Services, MicrosoftEmulator, int]]:
    with MicrosoftEmulator() as emulator:
        emulator.add_user(OUTLOOK_OWNER)
        emulator.add_calendar(OUTLOOK_OWNER, OUTLOOK_CALENDAR, "Praxis")
        settings = Settings(
            env="test", database_url=database_url, data_dir=tmp_path, **microsoft_settings(emulator)
        )
        services = build_services(settings, gateway=ConsoleGateway(quiet=True))
        state = sign_in(emulator, services.microsoft_app, OUTLOOK_OWNER)
        with services.factory.begin() as session:
            connection = make_oauth_calendar(
                session, services.cipher, make_account(session), provider="microsoft",
                external_id=OUTLOOK_CALENDAR, subject=OUTLOOK_OWNER, token_json=state.to_json(),
            )  # fmt: skip
            connection_id = connection.id
        yield services, emulator, connection_id
        services.close()


def graph_event(event_id: str, start: datetime, **fields: object) -> dict[str, object]:
    wall = start.astimezone(UTC).replace(tzinfo=None)
    return {
        "id": event_id,
        "subject": "Kontrolle Anna Muster",
        "location": {"displayName": "079 123 45 67"},
        "start": {"dateTime": wall.isoformat(), "timeZone": "UTC"},
        "end": {"dateTime": (wall + timedelta(minutes=45)).isoformat(), "timeZone": "UTC"},
        **fields,
    }


def test_an_outlook_occurrence_marked_cancelled_is_cancelled_and_a_deleted_one_deleted(
    outlook: tuple[Services, MicrosoftEmulator, int],
) -> None:
    services, emulator, connection_id = outlook
    first = soon()
    days = [(first + timedelta(days=n)).astimezone(UTC).date().isoformat() for n in range(4)]
    recurrence = {
        "pattern": {"type": "daily", "interval": 1},
        "range": {"type": "numbered", "startDate": days[0], "numberOfOccurrences": 4},
    }
    emulator.put_event(OUTLOOK_OWNER, OUTLOOK_CALENDAR, graph_event("series", first, recurrence=recurrence))
    emulator.put_event(OUTLOOK_OWNER, OUTLOOK_CALENDAR, graph_event("single", first + timedelta(hours=3)))
    emulator.put_event(OUTLOOK_OWNER, OUTLOOK_CALENDAR, graph_event("doomed", first + timedelta(hours=5)))
    assert sync_one(services, connection_id).error is None
    assert set(outcomes(services).values()) == {PLANNED}
    occurrences = [
        a.external_id
        for a in sorted(all_appointments(services), key=lambda a: a.starts_at)
        if a.series_id == "series"
    ]
    assert len(occurrences) == 4

    cancelled = {"seriesMasterId": "series", "originalStart": days[1], "isCancelled": True}
    emulator.put_event(OUTLOOK_OWNER, OUTLOOK_CALENDAR, cancelled)  # the organiser cancelled one
    emulator.put_event(
        OUTLOOK_OWNER,
        OUTLOOK_CALENDAR,
        graph_event("single", first + timedelta(hours=3), subject="Canceled: Kontrolle", isCancelled=True),
    )
    emulator.cancel_occurrence(OUTLOOK_OWNER, OUTLOOK_CALENDAR, "series", days[2])  # deletes that one
    emulator.delete_event(OUTLOOK_OWNER, OUTLOOK_CALENDAR, "doomed")
    report = sync_one(services, connection_id)

    assert report.error is None
    after = {
        occurrences[0]: PLANNED,
        occurrences[1]: CANCELLED,
        occurrences[2]: DELETED,
        occurrences[3]: PLANNED,
        "single": CANCELLED,
        "doomed": DELETED,
    }
    assert outcomes(services) == after

    forget_cursor(services, connection_id)  # a new round lists the cancelled ones again
    assert sync_one(services, connection_id).error is None
    assert outcomes(services) == after
