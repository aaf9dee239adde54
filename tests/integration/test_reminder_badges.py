"""How the pages word reminders that were never possible or cannot go out (issue 10, items 1 and 6).

- A reminder whose time had passed before the calendar was connected is no failure: the message
  log and its downloads leave it out, the appointment pages show it in grey as "connected after
  this reminder's time".
- A planned reminder of an appointment without a sendable number is "Blocked", with the reason,
  on the list as on the detail page, never "Scheduled".
"""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

from openpyxl import load_workbook  # type: ignore[import-untyped]
from sqlalchemy import select

from reminders.bootstrap import Services
from reminders.models import Appointment, BlockedNumber, Reminder, User
from reminders.reasons import ReminderState, SkipReason
from tests.support.clock import FakeClock
from tests.support.factories import event
from tests.support.salons import Salon, make_salon, sync_events
from tests.support.web import signed_in

BEFORE = "Vorher Verbunden"  # the title of the appointment whose reminder was never possible
LATE = "Spät Gespeichert"  # one saved too late: a real skip, still in the log


def appointment_of(services: Services, salon: Salon, external_id: str) -> int:
    with services.factory() as session:
        return session.scalars(
            select(Appointment.id).where(
                Appointment.calendar_id == salon.calendar_id, Appointment.external_id == external_id
            )
        ).one()


def skip_reminders(services: Services, salon: Salon, external_id: str, reason: str) -> None:
    """Turn the appointment's reminders into skipped ones with `reason`, as the planner stores them."""
    with services.factory.begin() as session:
        for reminder in session.scalars(
            select(Reminder).where(Reminder.appointment_id == appointment_of(services, salon, external_id))
        ):
            reminder.state, reminder.reason = ReminderState.SKIPPED, reason


def connected_late(services: Services, clock: FakeClock, *, language: str = "en") -> Salon:
    salon = make_salon(services, language=language)
    soon = clock() + timedelta(hours=1)
    sync_events(
        services,
        salon,
        event("before", soon, title=BEFORE),
        event("late", soon, title=LATE, location="079 222 33 44"),
        event("quiet", soon + timedelta(hours=1), title="Ruhezeit", location="079 333 44 55"),
    )
    skip_reminders(services, salon, "before", SkipReason.BEFORE_CONNECTED)
    skip_reminders(services, salon, "late", SkipReason.TOO_LATE)
    skip_reminders(services, salon, "quiet", SkipReason.QUIET_HOURS)
    return salon


def log_rows(page_text: str) -> list[str]:
    return re.findall(r'<tr data-testid="log-row">(.*?)</tr>', page_text, re.DOTALL)


def test_reminders_that_were_never_possible_are_not_messages(services: Services, clock: FakeClock) -> None:
    salon = connected_late(services, clock)

    with signed_in(services, salon.owner) as web:
        everything = web.get("/messages")
        skipped = web.get("/messages", state="skipped")
        csv_file = web.get("/messages.csv")
        xlsx_file = web.get("/messages.xlsx")

    for page in (everything, skipped):
        rows = log_rows(page.text)
        assert len(rows) == 2, rows
        assert BEFORE not in page.text
        assert any(LATE in row for row in rows)
        assert any("Quiet hours moved this reminder earlier" in row for row in rows)
    lines = list(csv.reader(io.StringIO(csv_file.content.decode("utf-8-sig"))))
    assert len(lines) == 3  # the header, the late one, the quiet-hours one
    assert BEFORE not in csv_file.content.decode("utf-8-sig")
    sheet = load_workbook(io.BytesIO(xlsx_file.content)).active
    cells = [str(cell) for row in sheet.iter_rows(values_only=True) for cell in row]
    assert sheet.max_row == 3
    assert BEFORE not in cells


def test_the_appointment_pages_show_them_in_grey_with_what_happened(
    services: Services, clock: FakeClock
) -> None:
    salon = connected_late(services, clock)

    with signed_in(services, salon.owner) as web:
        listing = web.get("/appointments")
        detail = web.get(f"/appointments/{appointment_of(services, salon, 'before')}")
        quiet = web.get(f"/appointments/{appointment_of(services, salon, 'quiet')}")

    (row,) = [r for r in re.findall(r"<tr>.*?</tr>", listing.text, re.S) if BEFORE in r]
    assert """<span class="state state-muted">Connected after this reminder's time</span>""" in row
    assert "Skipped" not in row
    (late,) = [r for r in re.findall(r"<tr>.*?</tr>", listing.text, re.S) if LATE in r]
    assert ">Skipped</span>" in late  # a real skip stays one
    assert detail.status_code == 200
    assert "state-muted" in detail.text
    assert "Skipped" not in detail.text
    assert "This reminder's time had already passed when the calendar was connected" in detail.text
    assert "Quiet hours moved this reminder earlier, to a time that had already passed." in quiet.text


def test_german_pages_say_it_in_german(services: Services, clock: FakeClock) -> None:
    salon = connected_late(services, clock, language="de")

    with signed_in(services, salon.owner) as web:
        listing = web.get("/appointments")
        detail = web.get(f"/appointments/{appointment_of(services, salon, 'before')}")
        quiet = web.get(f"/appointments/{appointment_of(services, salon, 'quiet')}")

    assert ">Kalender erst danach verbunden</span>" in listing.text
    assert "als der Kalender verbunden wurde" in detail.text
    assert "Die Ruhezeit hat diese Erinnerung vorverlegt" in quiet.text


def unsendable_week(services: Services, clock: FakeClock) -> Salon:
    """A mobile number, a landline, no number at all, and a number on the blacklist."""
    salon = make_salon(services)
    now = clock()
    sync_events(
        services,
        salon,
        event("mobile", now + timedelta(days=1), title="Anna Muster"),
        event("landline", now + timedelta(days=2), title="Beat Frei", location="044 123 45 67"),
        event("none", now + timedelta(days=3), title="Carla Rossi", location="Praxis am See"),
        event("stop", now + timedelta(days=4), title="Dora Stopp", location="079 555 00 11"),
    )
    with services.factory.begin() as session:
        session.add(BlockedNumber(account_id=salon.account_id, kind="blacklist", number="+41795550011"))
    return salon


def list_row(page_text: str, title: str) -> str:
    rows: list[str] = re.findall(r"<tr>.*?</tr>", page_text, re.S)
    (row,) = [r for r in rows if title in r]
    return row


def test_reminders_that_cannot_go_out_are_blocked_not_scheduled(services: Services, clock: FakeClock) -> None:
    salon = unsendable_week(services, clock)

    with signed_in(services, salon.owner) as web:
        listing = web.get("/appointments")
        landline = web.get(f"/appointments/{appointment_of(services, salon, 'landline')}")
        stop = web.get(f"/appointments/{appointment_of(services, salon, 'stop')}")

    assert ">Scheduled</span>" in list_row(listing.text, "Anna Muster")
    for title, reason in (
        ("Beat Frei", "The number is a landline or a service number; it cannot receive SMS."),
        ("Carla Rossi", "No mobile number in the location, title or description."),
        ("Dora Stopp", "The number is on your blacklist: its owner asked not to get SMS."),
    ):
        row = list_row(listing.text, title)
        assert "Scheduled" not in row, title
        assert ">Blocked</span>" in row, title
        assert reason in row, title
    for detail in (landline, stop):
        assert "Scheduled" not in detail.text
        assert ">Blocked</span>" in detail.text
    assert "The number is a landline or a service number; it cannot receive SMS." in landline.text
    assert "The number is on your blacklist" in stop.text


def test_blocked_is_blockiert_in_german(services: Services, clock: FakeClock) -> None:
    salon = unsendable_week(services, clock)
    with services.factory.begin() as session:
        session.scalars(select(User).where(User.email == salon.owner)).one().language = "de"

    with signed_in(services, salon.owner) as web:
        listing = web.get("/appointments")

    assert ">Geplant</span>" in list_row(listing.text, "Anna Muster")
    assert ">Blockiert</span>" in list_row(listing.text, "Beat Frei")
