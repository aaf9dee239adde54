"""Typed phone numbers for the blocked-number lists, and the business settings form: pure parsing."""

from __future__ import annotations

from datetime import time

import pytest

from reminders.accounts.service import FormErrors
from reminders.accounts.settings_form import (
    SettingsRefused,
    format_language_map,
    parse_language_map,
    read_form,
    sender_name_problem,
)
from reminders.appointments.phones import find_in_text
from reminders.messaging.sender import sender_name_problem as shared_sender_problem
from reminders.numbers.typed import readable, to_e164


@pytest.mark.parametrize(
    ("typed", "region", "expected"),
    [
        ("079 123 45 67", "CH", "+41791234567"),
        ("+41 (0)79 123 45 67", "CH", "+41791234567"),
        ("0041 79 123 45 67", "ch", "+41791234567"),
        ("079/123.45.67", "CH", "+41791234567"),
        ("044 668 18 00", "CH", "+41446681800"),  # a landline may be blocked too
        ("06 12 34 56 78", "FR", "+33612345678"),
        ("+33 6 12 34 56 78", "CH", "+33612345678"),
    ],
)
def test_a_typed_number_becomes_e164(typed: str, region: str, expected: str) -> None:
    assert to_e164(typed, region) == expected


def test_the_form_and_the_calendar_finder_store_the_same_string() -> None:
    assert to_e164("079 123 45 67", "CH") == find_in_text("Tel. 079 123 45 67", "CH")[0]


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("", "Enter a phone number."),
        ("   ", "Enter a phone number."),
        ("1-800-FLOWERS", "Enter only the phone number"),
        ("Tel. 079 123 45 67", "Enter only the phone number"),
        ("+-()", "Enter only the phone number"),
        ("9" * 41, "Enter only the phone number"),
        ("079 123", "This is not a valid phone number."),
        ("+999 123 456", "This is not a valid phone number."),
        ("079 123 45 67 89", "This is not a valid phone number."),
    ],
)
def test_what_is_not_a_phone_number_is_refused_with_a_reason(typed: str, message: str) -> None:
    with pytest.raises(FormErrors) as refused:
        to_e164(typed, "CH")

    assert message in refused.value.errors["number"]


def test_a_stored_number_is_grouped_for_reading() -> None:
    assert readable("+41791234567") == "+41 79 123 45 67"
    assert readable("not a number") == "not a number"


def test_the_account_sender_is_required_and_follows_the_shared_rule() -> None:
    assert sender_name_problem("") == "Enter a sender name."
    assert sender_name_problem("Praxis") is None
    for name in ("Zahnärztin", "Praxis Bella", "0791234567"):
        assert sender_name_problem(name) == shared_sender_problem(name) is not None


def test_the_language_map_reads_lines_and_commas_and_prints_sorted() -> None:
    parsed = parse_language_map("+33 fr\n\n +4191: IT ; +39=it\n+1 en")

    assert parsed == {"+33": "fr", "+4191": "it", "+39": "it", "+1": "en"}
    assert format_language_map(parsed) == "+1 en\n+33 fr\n+39 it\n+4191 it"


def test_the_settings_form_normalises_what_it_accepts() -> None:
    checked = read_form(
        {
            "name": " Praxis ",
            "sender_name": " Praxis See ",
            "home_region": "ch",
            "timezone": "EUROPE/ZURICH",
            "language": "it",
            "quiet_start": "22.15",
            "quiet_end": "06:00:00",
            "language_by_prefix": "",
        }
    )

    assert (checked.name, checked.sender_name, checked.home_region, checked.timezone) == (
        "Praxis",
        "Praxis See",
        "CH",
        "Europe/Zurich",
    )
    assert (checked.quiet_start, checked.quiet_end, checked.language_by_prefix) == (time(22, 15), time(6), {})


def test_the_settings_form_names_every_wrong_field_and_the_wrong_line() -> None:
    with pytest.raises(SettingsRefused) as refused:
        read_form({"name": "Praxis", "language_by_prefix": "+33 fr\n+33 fr"})

    assert set(refused.value.errors) == {
        "sender_name",
        "home_region",
        "timezone",
        "language",
        "quiet_start",
        "quiet_end",
        "language_by_prefix",
    }
    assert refused.value.line == 2
