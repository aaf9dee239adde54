"""Each path of a reminder's language, through real dispatch and the console gateway.

Tag in the event, recipient's country code, the calendar's language, the language of the only
templates chosen for a calendar without one, the account's language, and the language chosen
on the sign-up form. Each sends one SMS, and the text is the calendar's template of that
language where it has one, else the built-in text of that language.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from sqlalchemy import select

from connectors.calendars.memory import InMemoryCalendar
from connectors.sms.console import ConsoleGateway
from reminders.bootstrap import Services
from reminders.calendars.configure import save_template, use_template
from reminders.calendars.sync import sync_connection
from reminders.models import Account, CalendarConnection, User
from tests.support.clock import FakeClock
from tests.support.factories import event, make_account, make_calendar
from tests.support.web import app_client, link_in, sent_mails

SWISS = "+41791234567"
FRENCH = "+33612345678"
GERMAN_TEXT = "Hallo von {business}: Termin {date} um {time}."


@dataclass
class Salon:
    account_id: int
    calendar_id: int
    source: InMemoryCalendar = field(default_factory=InMemoryCalendar)


def make_salon(
    services: Services,
    *,
    account_language: str = "en",
    calendar_language: str | None = None,
    templates: dict[str, str] | None = None,
) -> Salon:
    """An account ("Salon Stuhl") with one calendar that reminds 2 hours ahead and chose `templates`."""
    with services.factory.begin() as session:
        account = make_account(
            session, name="Salon Stuhl", language=account_language, credit_balance=10, now=services.clock()
        )
        calendar = make_calendar(
            session, account, rules=((2, "hours"),), name="Salon Stuhl 1", language=calendar_language
        )
        for language, body in (templates or {}).items():
            saved = save_template(
                session,
                account.id,
                name=f"Mine {language}",
                language=language,
                body=body,
                now=services.clock(),
            )
            use_template(session, calendar.id, saved)
        return Salon(account.id, calendar.id)


def send_one(
    services: Services,
    clock: FakeClock,
    gateway: ConsoleGateway,
    salon: Salon,
    *,
    location: str,
    title: str = "Kontrolle",
) -> str:
    """Sync one appointment whose reminder falls due in a minute, dispatch, and return the SMS text."""
    start = clock() + timedelta(hours=2, minutes=1)
    salon.source.put(event("appointment", start, title=title, location=location))
    sync_connection(services.factory, salon.calendar_id, salon.source, now=clock(), horizon_days=60)
    clock.advance(timedelta(minutes=1))

    services.dispatcher().run_once()

    (sent,) = gateway.outbox
    return sent.sms.body


def test_the_reported_case_the_german_template_chosen_for_a_calendar_is_sent_to_a_swiss_number(
    services: Services, clock: FakeClock, gateway: ConsoleGateway
) -> None:
    # Signed up with the English interface (account "en"), the calendar's language left unset,
    # a German template chosen for Deutsch, a Swiss number: the owner said German by choosing it.
    salon = make_salon(services, account_language="en", templates={"de": GERMAN_TEXT})

    body = send_one(services, clock, gateway, salon, location="079 123 45 67")

    assert body == "Hallo von Salon Stuhl: Termin 24.11.2026 um 12:01."
    assert gateway.outbox[0].sms.to == SWISS


def test_a_tag_in_the_title_picks_french_and_its_built_in_text(
    services: Services, clock: FakeClock, gateway: ConsoleGateway
) -> None:
    salon = make_salon(services, account_language="de", templates={"de": GERMAN_TEXT})

    body = send_one(services, clock, gateway, salon, title="Coupe [fr]", location="079 123 45 67")

    assert body.startswith("Rappel : votre rendez-vous chez Salon Stuhl le mardi 24.11.2026 à 12h01")
    assert "[fr]" not in body


def test_a_french_number_picks_french_and_the_calendars_french_template(
    services: Services, clock: FakeClock, gateway: ConsoleGateway
) -> None:
    salon = make_salon(
        services, account_language="de", templates={"de": GERMAN_TEXT, "fr": "Rendez-vous {date} à {time}."}
    )

    body = send_one(services, clock, gateway, salon, location="+33 6 12 34 56 78")

    assert body == "Rendez-vous 24.11.2026 à 12h01."
    assert gateway.outbox[0].sms.to == FRENCH


def test_the_calendars_own_language_wins_over_its_templates_and_the_account(
    services: Services, clock: FakeClock, gateway: ConsoleGateway
) -> None:
    salon = make_salon(services, account_language="de", calendar_language="it", templates={"de": GERMAN_TEXT})

    body = send_one(services, clock, gateway, salon, location="079 123 45 67")

    assert body.startswith("Promemoria: appuntamento da Salon Stuhl martedì 24.11.2026 alle 12:01")


def test_templates_of_several_languages_say_nothing_and_the_account_language_decides(
    services: Services, clock: FakeClock, gateway: ConsoleGateway
) -> None:
    salon = make_salon(
        services,
        account_language="en",
        templates={"de": GERMAN_TEXT, "en": "Hello from {business}, {date} {time}."},
    )

    body = send_one(services, clock, gateway, salon, location="079 123 45 67")

    assert body == "Hello from Salon Stuhl, 24 Nov 2026 12:01."


def test_without_any_choice_the_account_language_gives_its_built_in_text(
    services: Services, clock: FakeClock, gateway: ConsoleGateway
) -> None:
    salon = make_salon(services, account_language="it")

    body = send_one(services, clock, gateway, salon, location="079 123 45 67")

    assert body.startswith("Promemoria: appuntamento da Salon Stuhl")


@pytest.mark.parametrize(("chosen", "expected"), [("de", "Erinnerung: Ihr Termin bei"), ("fr", "Rappel :")])
def test_the_reminder_language_chosen_on_the_sign_up_form_is_the_language_sent(
    services: Services, clock: FakeClock, gateway: ConsoleGateway, chosen: str, expected: str
) -> None:
    with app_client(services) as web:
        signed = web.post(
            "/signup",
            {
                "business": "Salon Stuhl",
                "name": "Lea",
                "email": "lea@example.com",
                "password": "a long enough password",
                "language": "en",  # the pages in English ...
                "reminder_language": chosen,  # ... the clients' SMS in the chosen language
            },
        )
        assert signed.status_code == 303, signed.text
        (mail,) = sent_mails(services)
        assert web.get(link_in(mail)).status_code == 303
    with services.factory.begin() as session:
        owner = session.scalars(select(User).where(User.email == "lea@example.com")).one()
        account = session.get_one(Account, owner.account_id)
        assert (owner.language, account.language) == ("en", chosen)
        calendar = make_calendar(session, account, rules=((2, "hours"),), name="Salon Stuhl 1")
        salon = Salon(account.id, calendar.id)

    body = send_one(services, clock, gateway, salon, location="079 123 45 67")

    assert body.startswith(expected)
    assert "Salon Stuhl" in body
    assert gateway.outbox[0].sms.sender == "Salon Stuhl"  # the business name fits a sender ID


def test_the_chosen_template_is_used_only_for_its_own_language(
    services: Services, clock: FakeClock, gateway: ConsoleGateway
) -> None:
    # A German template chosen and the calendar set to English: the English built-in text is
    # sent, never the German template.
    salon = make_salon(services, account_language="de", calendar_language="en", templates={"de": GERMAN_TEXT})

    body = send_one(services, clock, gateway, salon, location="079 123 45 67")

    assert body.startswith("Reminder: your appointment at Salon Stuhl on Tuesday 24 Nov 2026 at 12:01.")
    with services.factory() as session:
        assert session.get_one(CalendarConnection, salon.calendar_id).language == "en"
