"""The appointment list and detail pages over HTTP: masked numbers, reasons, final texts, isolation."""

from __future__ import annotations

import html
from datetime import timedelta

from sqlalchemy import select

from reminders.bootstrap import Services
from reminders.calendars.sync import sync_connection
from reminders.dispatch.render import render_reminder
from reminders.models import Account, Appointment, CalendarConnection
from tests.support.clock import FakeClock
from tests.support.factories import event
from tests.support.salons import Salon, make_salon, sync_events
from tests.support.web import signed_in

SENT_NUMBER = "+41791234567"  # 079 123 45 67
TITLE_NUMBER = "+41797654321"  # 079 765 43 21


def appointment_id(services: Services, salon: Salon, external_id: str) -> int:
    with services.factory.begin() as session:
        return session.scalars(
            select(Appointment.id).where(
                Appointment.calendar_id == salon.calendar_id, Appointment.external_id == external_id
            )
        ).one()


def a_week_of_appointments(services: Services, clock: FakeClock, salon: Salon) -> None:
    """One sent reminder, one number in the title, a landline, no number at all."""
    now = clock()
    sync_events(
        services,
        salon,
        event("sent", now + timedelta(hours=2, minutes=1), title="Kontrolle Meier"),
        event("title", now + timedelta(days=1), title="Anna Muster 079 765 43 21", location="Praxis am See"),
        event("landline", now + timedelta(days=2), title="Beat Frei", location="044 123 45 67"),
        event("none", now + timedelta(days=3), title="Carla Rossi", location="Praxis am See"),
    )
    clock.advance(timedelta(minutes=1))
    assert sum(services.dispatcher().run_once().values()) == 1


def test_the_list_shows_masked_numbers_their_field_and_why_others_have_none(
    services: Services, clock: FakeClock
) -> None:
    salon = make_salon(services)
    a_week_of_appointments(services, clock, salon)

    with signed_in(services, salon.owner) as web:
        page = web.get("/appointments")

    assert page.status_code == 200
    text = page.text
    for digits in ("791234567", "797654321", "079 123 45 67", "079 765 43 21", "44 123 45"):
        assert digits not in text
    assert text.count("+41•••••••67") == 1
    assert "+41•••••••21" in text
    assert "Anna Muster ••• ••• •• 21" in text  # the number in the title is masked too
    assert "from the field Title" in text
    assert "from the field Location" in text
    assert "The number is a landline or a service number; it cannot receive SMS." in text
    assert "Replace it with the client's mobile number." in text
    assert "No mobile number in the location, title or description." in text
    assert text.index("Anna Muster") < text.index("Beat Frei") < text.index("Carla Rossi")
    assert ">Sent</span>" in text
    assert ">Scheduled</span>" in text


def test_staff_see_the_pages_in_german_when_they_read_german(services: Services, clock: FakeClock) -> None:
    salon = make_salon(services, language="de")
    a_week_of_appointments(services, clock, salon)

    with signed_in(services, salon.owner) as web:
        page = web.get("/appointments")

    assert "aus dem Feld Titel" in page.text
    assert "Festnetz" in page.text
    assert ">Geplant</span>" in page.text


def test_the_problem_filter_lists_appointments_without_a_number_within_the_horizon(
    services: Services, clock: FakeClock
) -> None:
    salon = make_salon(services)
    a_week_of_appointments(services, clock, salon)
    salon.source.put(event("far", clock() + timedelta(days=90), title="Dora Weit", location="Praxis"))
    sync_connection(services.factory, salon.calendar_id, salon.source, now=clock(), horizon_days=120)

    with signed_in(services, salon.staff) as web:
        page = web.get("/appointments", problem="no_number")
        everything = web.get("/appointments")

    assert page.status_code == 200
    assert "Beat Frei" in page.text
    assert "Carla Rossi" in page.text
    assert "Anna Muster" not in page.text
    assert "Kontrolle Meier" not in page.text
    assert "Dora Weit" not in page.text  # beyond the 60-day planning horizon
    assert "Dora Weit" in everything.text


def test_past_appointments_are_a_tab_of_their_own(services: Services, clock: FakeClock) -> None:
    salon = make_salon(services)
    a_week_of_appointments(services, clock, salon)
    clock.advance(timedelta(hours=3))  # "Kontrolle Meier" has begun

    with signed_in(services, salon.owner) as web:
        upcoming = web.get("/appointments")
        past = web.get("/appointments", when="past")

    assert "Kontrolle Meier" not in upcoming.text
    assert "Anna Muster" in upcoming.text
    assert "Kontrolle Meier" in past.text
    assert "Anna Muster" not in past.text


def test_bad_filters_are_named_next_to_their_field(services: Services, clock: FakeClock) -> None:
    salon = make_salon(services)
    other = make_salon(services, "Salon Luna")
    a_week_of_appointments(services, clock, salon)

    with signed_in(services, salon.owner) as web:
        foreign = web.get("/appointments", calendar=str(other.calendar_id))
        junk = web.get("/appointments", calendar="x1", problem="lots", when="soon")

    assert foreign.status_code == 422
    assert 'id="e-calendar"' in foreign.text
    assert "Choose one of your calendars." in foreign.text
    assert "Anna Muster" not in foreign.text
    assert junk.status_code == 422
    assert "Choose a problem from the list." in junk.text
    assert "Choose upcoming or past appointments." in junk.text


def test_the_list_is_cut_into_pages_of_fifty(services: Services, clock: FakeClock) -> None:
    salon = make_salon(services)
    start = clock() + timedelta(days=1)
    sync_events(
        services,
        salon,
        *(event(f"e{i:03}", start + timedelta(minutes=15 * i), title=f"T{i:03}") for i in range(120)),
    )

    with signed_in(services, salon.owner) as web:
        seen = web.every_page("/appointments", r">(T\d{3})</a>")

    assert seen == [f"T{i:03}" for i in range(120)]


def test_the_detail_shows_the_exact_text_of_a_planned_reminder_and_its_cost(
    services: Services, clock: FakeClock
) -> None:
    salon = make_salon(services)
    sync_events(
        services,
        salon,
        event("plain", clock() + timedelta(days=1), title="Anna Muster 079 765 43 21", location="Praxis"),
        event("emoji", clock() + timedelta(days=1), location="079 123 45 67, Praxis 🦷 am See"),
    )
    expected = {}
    with services.factory.begin() as session:
        account = session.get_one(Account, salon.account_id)
        calendar = session.get_one(CalendarConnection, salon.calendar_id)
        for external_id in ("plain", "emoji"):
            found = session.scalars(select(Appointment).where(Appointment.external_id == external_id)).one()
            expected[external_id] = render_reminder(found, account, calendar, {})

    with signed_in(services, salon.owner) as web:
        plain = web.get(f"/appointments/{appointment_id(services, salon, 'plain')}")
        emoji = web.get(f"/appointments/{appointment_id(services, salon, 'emoji')}")

    assert plain.status_code == 200
    assert html.escape(expected["plain"].body) in plain.text
    assert "Encoding: GSM-7" in plain.text
    assert "1 segment ·" in plain.text
    assert "will cost 1 credit" in plain.text
    assert "from the field Title" in plain.text
    assert "+41•••••••21" in plain.text
    assert "797654321" not in plain.text
    assert "079 765 43 21" not in plain.text
    assert expected["emoji"].encoding == "ucs2"
    assert expected["emoji"].segments == 2
    assert html.escape(expected["emoji"].body) in emoji.text
    assert "Encoding: UCS-2" in emoji.text
    assert "2 segments" in emoji.text
    assert "will cost 2 credits" in emoji.text
    assert "791234567" not in emoji.text
    assert "079 123 45 67" not in emoji.text


def test_the_detail_of_a_sent_reminder_shows_what_went_out_and_a_planned_one_what_will_fail(
    services: Services, clock: FakeClock
) -> None:
    salon = make_salon(services)
    a_week_of_appointments(services, clock, salon)

    with signed_in(services, salon.staff) as web:
        sent = web.get(f"/appointments/{appointment_id(services, salon, 'sent')}")
        none = web.get(f"/appointments/{appointment_id(services, salon, 'none')}")

    assert "Text sent" in sent.text
    assert "1 credit charged" in sent.text
    assert "Hand-overs to the SMS provider" in sent.text
    assert ">Sent</span>" in sent.text
    assert "+41•••••••67" in sent.text
    assert "791234567" not in sent.text
    assert "If nothing changes, it will not go out: The appointment has no mobile number." in none.text
    assert "Write the client's mobile number into the appointment's location" in none.text


def test_another_account_s_appointment_is_not_found_and_never_listed(
    services: Services, clock: FakeClock
) -> None:
    salon = make_salon(services)
    other = make_salon(services, "Salon Luna")
    a_week_of_appointments(services, clock, salon)
    sync_events(services, other, event("luna", clock() + timedelta(days=1), title="Geheim Luna"))
    foreign = appointment_id(services, other, "luna")

    with signed_in(services, salon.owner) as web:
        detail = web.get(f"/appointments/{foreign}")
        missing = web.get("/appointments/999999")
        listed = web.get("/appointments")
        no_number = web.get("/appointments", problem="no_number")

    assert detail.status_code == 404
    assert missing.status_code == 404
    assert "Geheim Luna" not in detail.text
    assert "Geheim Luna" not in listed.text
    assert "Geheim Luna" not in no_number.text


def test_signed_out_visitors_are_sent_to_sign_in(services: Services) -> None:
    from tests.support.web import app_client

    with app_client(services) as web:
        page = web.http.get("/appointments", follow_redirects=False)

    assert page.status_code == 303
    assert page.headers["location"].startswith("/login?next=")
