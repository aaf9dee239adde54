"""A reminder's language: tag in the event, recipient's country code, calendar, account."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from reminders.dispatch.render import message_language, render_reminder
from reminders.messaging.language import (
    BUILT_IN_PREFIXES,
    LanguageChoice,
    LanguageSource,
    choose_language,
    language_for_number,
    language_tag,
    strip_tags,
)
from reminders.messaging.templates import DEFAULT_TEMPLATES
from reminders.models import Account, Appointment, CalendarConnection

FRENCH_MOBILE = "+33612345678"
SWISS_MOBILE = "+41791234567"


def choose(
    *,
    title: str = "Kontrolle",
    location: str = "",
    description: str = "",
    recipient: str | None = SWISS_MOBILE,
    by_prefix: dict[str, str] | None = None,
    home_region: str = "CH",
    calendar_language: str | None = None,
    account_language: str = "de",
) -> LanguageChoice:
    return choose_language(
        title=title,
        location=location,
        description=description,
        recipient=recipient,
        by_prefix=by_prefix or {},
        home_region=home_region,
        calendar_language=calendar_language,
        account_language=account_language,
    )


@pytest.mark.parametrize(
    ("texts", "expected"),
    [
        (("Kontrolle [fr]", "", ""), "fr"),
        (("Kontrolle", "Praxis [IT]", ""), "it"),
        (("Kontrolle", "", "Bitte [ en ] schreiben"), "en"),
        (("Kontrolle [de]", "[fr]", ""), "de"),  # the title is read first
        (("Kontrolle [es]", "(fr)", "fr"), None),  # only our four languages, only in brackets
    ],
)
def test_the_first_tag_names_the_language(texts: tuple[str, str, str], expected: str | None) -> None:
    assert language_tag(*texts) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Kontrolle [fr]", "Kontrolle"),
        ("[it] Visita", "Visita"),
        ("Massage [de], Raum 2", "Massage, Raum 2"),
        ("Zimmer 2 [FR]\nErdgeschoss", "Zimmer 2\nErdgeschoss"),
        ("Kein  Tag, [x] bleibt", "Kein  Tag, [x] bleibt"),  # nothing to remove: left exactly as it was
    ],
)
def test_tags_are_removed_from_the_text(text: str, expected: str) -> None:
    assert strip_tags(text) == expected


def test_a_tag_wins_over_everything_else() -> None:
    choice = choose(title="Kontrolle [it]", recipient=FRENCH_MOBILE, calendar_language="en")
    assert choice == LanguageChoice("it", LanguageSource.TAG)


def test_the_longest_prefix_of_the_account_map_wins() -> None:
    by_prefix = {"+41": "de", "+4191": "it", "+33": "fr"}
    assert language_for_number("+41912345678", by_prefix) == "it"
    assert language_for_number(SWISS_MOBILE, by_prefix) == "de"
    assert language_for_number(FRENCH_MOBILE, by_prefix) == "fr"
    assert (
        language_for_number("+4915112345678", by_prefix) is None
    )  # a map of its own replaces the built-in one


def test_prefixes_are_compared_by_digits_and_bad_entries_are_ignored() -> None:
    assert language_for_number(SWISS_MOBILE, {"+41 79": "fr-CH"}) == "fr"
    assert language_for_number(SWISS_MOBILE, {"+41": "rm"}) is None
    assert language_for_number(None, {"+41": "de"}) is None


def test_the_built_in_map_serves_foreign_numbers_when_the_account_has_none() -> None:
    assert choose(recipient=FRENCH_MOBILE) == LanguageChoice("fr", LanguageSource.PREFIX)
    assert choose(recipient="+393471234567") == LanguageChoice("it", LanguageSource.PREFIX)
    # A Swiss number says nothing about the language: the calendar's or the account's decides.
    assert "+41" not in BUILT_IN_PREFIXES
    assert choose(recipient=SWISS_MOBILE, calendar_language="fr").source is LanguageSource.CALENDAR


def test_the_home_country_is_left_to_the_business_settings() -> None:
    choice = choose(recipient=FRENCH_MOBILE, home_region="FR", calendar_language="en")
    assert choice == LanguageChoice("en", LanguageSource.CALENDAR)
    assert language_for_number("+4915112345678", {}, home_region="FR") == "de"


def test_calendar_then_account_language() -> None:
    assert choose(calendar_language="it") == LanguageChoice("it", LanguageSource.CALENDAR)
    assert choose(calendar_language=None, account_language="fr") == LanguageChoice(
        "fr", LanguageSource.ACCOUNT
    )
    assert choose(calendar_language="xx", account_language="de-CH") == LanguageChoice(
        "de", LanguageSource.ACCOUNT
    )


def rows(
    *, title: str, recipient: str, by_prefix: dict[str, str] | None = None
) -> tuple[Appointment, Account, CalendarConnection]:
    account = Account(
        name="Praxis Muster",
        home_region="CH",
        timezone="Europe/Zurich",
        language="de",
        language_by_prefix=by_prefix or {},
    )
    connection = CalendarConnection(name="Praxis", language=None, timezone=None)
    appointment = Appointment(
        title=title,
        location="Bahnhofstrasse 12 [fr]",
        description="",
        starts_at=datetime(2026, 11, 25, 13, 30, tzinfo=UTC),
        timezone="Europe/Zurich",
        recipient=recipient,
    )
    return appointment, account, connection


def test_the_reminder_uses_the_template_of_its_language_without_the_tag() -> None:
    appointment, account, connection = rows(title="Kontrolle 079 123 45 67", recipient=SWISS_MOBILE)
    templates = {"de": "Termin {date}", "fr": "RDV {title}, {location}, {time}"}

    message = render_reminder(appointment, account, connection, templates)

    assert message_language(appointment, account, connection, templates) == "fr"
    assert message.body == "RDV Kontrolle, Bahnhofstrasse 12, 14h30"


def test_a_language_without_a_saved_template_uses_its_built_in_text() -> None:
    appointment, account, connection = rows(title="Kontrolle", recipient="+393471234567")
    appointment.location = "Studio"

    message = render_reminder(appointment, account, connection, {"de": "Termin {date}"})

    assert message.body.startswith(DEFAULT_TEMPLATES["it"].split(":")[0])
    assert "mercoledì 25.11.2026 alle 14:30, Studio" in message.body
