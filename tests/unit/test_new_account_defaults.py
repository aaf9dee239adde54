"""What a new account and a calendar without settings default to: the calendar's language from its
chosen templates, the proposed reminder language, the sender name, and how dates are written."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from reminders.accounts.service import reminder_language_from
from reminders.dispatch.render import language_choice, message_language
from reminders.messaging.formatting import format_date, format_time
from reminders.messaging.language import (
    LanguageChoice,
    LanguageSource,
    calendar_default,
    calendar_language,
)
from reminders.messaging.sender import DEFAULT_SENDER_NAME, default_sender_name, sender_name_problem
from reminders.models import Account, Appointment, CalendarConnection
from reminders.web.i18n import clock_time, date_locale, day, when

EVENING = datetime(2026, 12, 2, 20, 3, tzinfo=UTC)  # 21:03 in Zurich


@pytest.mark.parametrize(
    ("explicit", "templates", "expected"),
    [
        (None, ["de"], "de"),  # one language chosen: that is the calendar's
        ("", ["fr"], "fr"),
        (None, ["de", "en"], None),  # several: nothing said, the account decides
        (None, [], None),
        ("it", ["de"], "it"),  # set on the calendar: that wins
        ("xx", ["de"], "de"),  # a language we do not write is no setting
        (None, ["de", "rm"], "de"),
    ],
)
def test_the_calendar_language_is_its_own_else_that_of_its_only_template_language(
    explicit: str | None, templates: list[str], expected: str | None
) -> None:
    assert calendar_language(explicit, templates) == expected


def test_the_calendar_default_says_why() -> None:
    assert calendar_default("fr", ["de"], "en") == LanguageChoice("fr", LanguageSource.CALENDAR)
    assert calendar_default(None, ["de"], "en") == LanguageChoice("de", LanguageSource.TEMPLATE)
    assert calendar_default(None, ["de", "it"], "en") == LanguageChoice("en", LanguageSource.ACCOUNT)


def rows(recipient: str, title: str = "Kontrolle") -> tuple[Appointment, Account, CalendarConnection]:
    account = Account(
        name="Salon", home_region="CH", timezone="Europe/Zurich", language="en", language_by_prefix={}
    )
    connection = CalendarConnection(name="Stuhl 1", language=None, timezone=None)
    appointment = Appointment(
        title=title,
        location="",
        description="",
        starts_at=EVENING,
        timezone="Europe/Zurich",
        recipient=recipient,
    )
    return appointment, account, connection


def test_dispatch_takes_the_calendar_language_from_its_templates_and_says_so() -> None:
    appointment, account, connection = rows("+41791234567")
    assert message_language(appointment, account, connection, []) == "en"
    assert language_choice(appointment, account, connection, ["de"]) == LanguageChoice(
        "de", LanguageSource.TEMPLATE
    )
    # A tag and a foreign number still come first.
    tagged, *_ = rows("+41791234567", title="Kontrolle [it]")
    assert language_choice(tagged, account, connection, ["de"]).source is LanguageSource.TAG
    french, *_ = rows("+33612345678")
    assert language_choice(french, account, connection, ["de"]) == LanguageChoice("fr", LanguageSource.PREFIX)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("de-CH,de;q=0.9,en;q=0.8", "de"),
        ("en-US,en;q=0.9", "en"),
        ("es-ES,fr;q=0.7,it;q=0.9", "it"),  # by weight, not by position
        ("fr-CH, en", "fr"),
        ("es,pt;q=0.5", "de"),  # none we write: the default
        ("", "de"),
        ("en;q=0,it", "it"),  # q=0 means "not this one"
        ("en;q=abc,fr", "fr"),
    ],
)
def test_the_sign_up_proposes_the_browsers_first_language_we_write(header: str, expected: str) -> None:
    assert reminder_language_from(header) == expected


@pytest.mark.parametrize(
    ("business", "sender"),
    [
        ("Salon Bella", "Salon Bella"),
        ("Dr. Muster", "Dr Muster"),
        ("Café Léa", "Cafe Lea"),
        ("Zahnarzt Müller", DEFAULT_SENDER_NAME),  # "Zahnarzt Mueller" is 16 characters
        ("Müller", "Mueller"),
        ("Haar-Studio", "Haar Studio"),
        ("  Salon   Lea ", "Salon Lea"),
        ("Praxis Sonne", DEFAULT_SENDER_NAME),  # 12 characters
        ("1234", DEFAULT_SENDER_NAME),  # digits only would look like a number
        ("発電所", DEFAULT_SENDER_NAME),
        ("", DEFAULT_SENDER_NAME),
    ],
)
def test_a_new_accounts_sender_is_its_business_name_where_that_is_a_valid_sender(
    business: str, sender: str
) -> None:
    found = default_sender_name(business)
    assert found == sender
    assert sender_name_problem(found) is None


def test_dates_follow_the_accounts_country_not_american_english() -> None:
    assert when(EVENING, "Europe/Zurich", "en", "short") == "12/2/26, 9:03\u202fPM"  # no country known
    assert when(EVENING, "Europe/Zurich", "en", "short", region="CH") == "02.12.2026, 21:03"
    assert when(EVENING, "Europe/Zurich", "de", "short", region="CH") == "02.12.26, 21:03"
    assert when(EVENING, "Europe/London", "en", "short", region="GB") == "02/12/2026, 20:03"
    assert day(EVENING, "Europe/Zurich", "en", region="CH") == "2 Dec 2026"
    assert clock_time(EVENING, "Europe/Zurich", "en", region="ch") == "21:03"


def test_a_language_and_country_babel_does_not_know_falls_back_to_the_language() -> None:
    assert str(date_locale("de", "FR")) == "de"
    assert str(date_locale("en", "LI")) == "en"
    assert str(date_locale("en", None)) == "en"
    assert when(EVENING, "Europe/Zurich", "de", "short", region="FR") == "02.12.26, 21:03"


def test_sms_dates_are_the_same_for_every_country() -> None:
    # The reminder texts use fixed formats per language (no American English there either).
    assert (format_date(EVENING, "Europe/Zurich", "en"), format_time(EVENING, "Europe/Zurich", "en")) == (
        "2 Dec 2026",
        "21:03",
    )
