"""Sender names: 1-11 of A-Z, a-z, 0-9 and space, with at least one letter."""

from __future__ import annotations

import pytest

from reminders.messaging.sender import SENDER_MAX_LENGTH, clean_sender_name, sender_name_problem


@pytest.mark.parametrize("name", ["Praxis", "Dr Muster", "Salon 24", "A", "ABCDEFGHIJK", "7eleven"])
def test_valid_names(name: str) -> None:
    assert sender_name_problem(name) is None


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("ABCDEFGHIJKL", "at most 11"),
        ("Zahnärzte", "only the letters"),
        ("Dr. Muster", "only the letters"),
        ("Salon_1", "only the letters"),
        ("Praxis\tSee", "only the letters"),
        ("0791234567", "at least one letter"),
        ("12 34", "at least one letter"),
        ("", "Enter a sender name"),
    ],
)
def test_invalid_names_say_why(name: str, problem: str) -> None:
    found = sender_name_problem(name)
    assert found is not None
    assert problem in found


def test_the_limit_is_eleven() -> None:
    assert SENDER_MAX_LENGTH == 11


@pytest.mark.parametrize(("typed", "stored"), [("  Salon  ", "Salon"), ("", None), ("   ", None)])
def test_cleaning_strips_and_empty_means_the_default(typed: str, stored: str | None) -> None:
    assert clean_sender_name(typed) == stored
