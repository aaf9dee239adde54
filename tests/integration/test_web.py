"""The overview page over HTTP: the demo salon's calendars, credit, next reminders and problems."""

from __future__ import annotations

from datetime import timedelta

from reminders.bootstrap import Services
from reminders.demo import DEMO_EMAIL, DEV_DEMO_PASSWORD, load_demo
from tests.support.clock import FakeClock
from tests.support.factories import make_account
from tests.support.web import app_client, make_user, signed_in


def test_the_overview_shows_calendars_credit_and_the_next_reminders(services: Services) -> None:
    load_demo(services)
    with signed_in(services, DEMO_EMAIL, DEV_DEMO_PASSWORD) as web:
        page = web.get("/")
        health = web.get("/healthz")

    assert page.status_code == 200
    text = page.text
    assert '<html lang="de">' in text
    assert "Demo Salon" in text
    assert "Termine Salon" in text
    assert 'data-testid="credit">10<' in text
    assert "Haarschnitt Anna Muster" in text
    assert "+41791112233" not in text  # numbers are masked
    assert "+41•••••••33" in text
    assert health.json() == {"status": "ok"}


def test_the_overview_lists_what_needs_attention(services: Services, clock: FakeClock) -> None:
    with services.factory.begin() as session:
        email = make_user(session, make_account(session, name="Leer")).email
    with signed_in(services, email) as web:
        page = web.get("/").text

    assert "Connect a calendar to start sending reminders." in page
    assert "Your SMS credit is used up" in page


def test_the_overview_counts_appointments_without_a_mobile_number(
    services: Services, clock: FakeClock
) -> None:
    load_demo(services)
    clock.advance(timedelta(minutes=1))
    with signed_in(services, DEMO_EMAIL, DEV_DEMO_PASSWORD) as web:
        page = web.get("/").text

    assert (
        "appointments of the next 7 days have no mobile number" in page
        or "Termine der nächsten 7 Tage" in page
    )


def test_an_anonymous_visitor_is_sent_to_sign_in(services: Services) -> None:
    with app_client(services) as web:
        page = web.get("/appointments")

    assert page.status_code == 303
    assert page.headers["location"] == "/login?next=%2Fappointments"
