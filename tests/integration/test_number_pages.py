"""The blacklist and invalid-numbers pages over HTTP: add, duplicates, bad input, remove, isolation."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from reminders.bootstrap import Services
from reminders.models import BlockedNumber
from reminders.numbers import blocklist
from tests.support.factories import make_account
from tests.support.web import app_client, make_user, signed_in

OWNER = "owner@example.com"
STAFF = "staff@example.com"


def make_business(services: Services, name: str = "Praxis Test", **overrides: Any) -> int:
    """An account with an owner and a staff member; returns the account id."""
    with services.factory.begin() as session:
        account = make_account(session, name=name, now=services.clock(), **overrides)
        prefix = "" if name == "Praxis Test" else f"{account.id}-"
        make_user(session, account, email=prefix + OWNER)
        make_user(session, account, email=prefix + STAFF, role="staff")
        return account.id


def entries(services: Services, account_id: int) -> list[tuple[str, str, str]]:
    with services.factory() as session:
        rows = session.scalars(
            select(BlockedNumber).where(BlockedNumber.account_id == account_id).order_by(BlockedNumber.id)
        )
        return [(row.kind, row.number, row.note) for row in rows]


def put(services: Services, account_id: int, kind: str, number: str) -> int:
    with services.factory.begin() as session:
        added = blocklist.add_number(
            session, account_id, kind=kind, number=number, now=services.clock(), source="gateway"
        )
        return added.entry.id


def test_a_typed_number_is_added_in_e164_and_shown_in_full(services: Services) -> None:
    account_id = make_business(services)
    with signed_in(services, OWNER) as web:
        added = web.post("/numbers/blacklist", {"number": "079 123 45 67", "note": "asked at the desk"})
        page = web.get("/numbers/blacklist?notice=added")
        other_tab = web.get("/numbers/invalid")

    assert (added.status_code, added.headers["location"]) == (303, "/numbers/blacklist?notice=added")
    assert entries(services, account_id) == [("blacklist", "+41791234567", "asked at the desk")]
    assert "+41 79 123 45 67" in page.text
    assert "asked at the desk" in page.text
    assert "Added." in page.text
    assert "Blacklist (1)" in page.text
    assert "+41 79 123 45 67" not in other_tab.text
    assert "No number is on this list." in other_tab.text


def test_numbers_without_country_code_are_read_in_the_home_region(services: Services) -> None:
    account_id = make_business(services, home_region="FR")
    with signed_in(services, OWNER) as web:
        assert web.post("/numbers/invalid", {"number": "06 12 34 56 78"}).status_code == 303

    assert entries(services, account_id) == [("invalid", "+33612345678", "")]


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("", "Enter a phone number."),
        ("call 079 123", "Enter only the phone number"),
        ("079 123", "This is not a valid phone number."),
    ],
)
def test_bad_input_is_explained_next_to_the_field_and_kept(
    services: Services, typed: str, message: str
) -> None:
    account_id = make_business(services)
    with signed_in(services, OWNER) as web:
        page = web.post("/numbers/blacklist", {"number": typed, "note": "my note"})

    assert page.status_code == 422
    error = re.search(r'<small id="e-number" class="field-error">([^<]*)</small>', page.text)
    assert error is not None
    assert message in error.group(1)
    assert f'name="number" type="tel" value="{typed}"' in page.text
    assert 'value="my note"' in page.text
    assert entries(services, account_id) == []


def test_a_duplicate_is_reported_without_losing_the_input(services: Services) -> None:
    account_id = make_business(services)
    with signed_in(services, STAFF) as web:
        assert web.post("/numbers/blacklist", {"number": "+41 79 123 45 67"}).status_code == 303
        again = web.post("/numbers/blacklist", {"number": "0041 79 123 45 67", "note": "second time"})
        elsewhere = web.post("/numbers/invalid", {"number": "079 123 45 67"})

    assert again.status_code == 422
    assert "This number is already on this list." in again.text
    assert 'value="0041 79 123 45 67"' in again.text
    assert 'value="second time"' in again.text
    assert elsewhere.status_code == 303  # the other list is another list
    assert entries(services, account_id) == [
        ("blacklist", "+41791234567", ""),
        ("invalid", "+41791234567", ""),
    ]


def test_removing_asks_first_then_removes(services: Services) -> None:
    account_id = make_business(services)
    entry_id = put(services, account_id, "invalid", "+41791234567")
    with signed_in(services, STAFF) as web:
        question = web.get(f"/numbers/{entry_id}/remove")
        assert entries(services, account_id) != []
        done = web.post(f"/numbers/{entry_id}/remove")
        after = web.get("/numbers/invalid?notice=removed")

    assert question.status_code == 200
    assert "Remove +41 79 123 45 67 from the invalid numbers?" in question.text
    assert f'action="/numbers/{entry_id}/remove"' in question.text
    assert (done.status_code, done.headers["location"]) == (303, "/numbers/invalid?notice=removed")
    assert entries(services, account_id) == []
    assert "Removed." in after.text


def test_another_account_s_entries_are_not_found(services: Services) -> None:
    make_business(services)
    other = make_business(services, name="Salon Nord")
    entry_id = put(services, other, "blacklist", "+41791234567")
    with signed_in(services, OWNER) as web:
        page = web.get("/numbers/blacklist")
        question = web.get(f"/numbers/{entry_id}/remove")
        removal = web.post(f"/numbers/{entry_id}/remove")
        missing = web.get("/numbers/999999/remove")

    assert "+41 79 123 45 67" not in page.text
    assert (question.status_code, removal.status_code, missing.status_code) == (404, 404, 404)
    assert entries(services, other) == [("blacklist", "+41791234567", "")]


def test_long_lists_are_paged_newest_first(services: Services) -> None:
    account_id = make_business(services)
    with services.factory.begin() as session:
        for i in range(51):
            blocklist.add_number(
                session,
                account_id,
                kind="blacklist",
                number=f"+417912345{i:02d}",
                now=services.clock() + timedelta(minutes=i),
                source="reply",
            )
    with signed_in(services, OWNER) as web:
        first, second = web.get("/numbers/blacklist"), web.get("/numbers/blacklist", page="2")
        beyond, mangled = web.get("/numbers/blacklist", page="9"), web.get("/numbers/blacklist", page="x")

    assert "+41 79 123 45 50" in first.text  # the newest
    assert "Page 1 of 2" in first.text
    assert "+41 79 123 45 00" not in first.text
    assert "+41 79 123 45 00" in second.text
    assert "Page 2 of 2" in beyond.text
    assert "Page 1 of 2" in mangled.text


def test_the_lists_need_a_signed_in_user_and_a_known_list(services: Services) -> None:
    make_business(services)
    with app_client(services) as anonymous:
        assert anonymous.http.get("/numbers/blacklist").headers["location"].startswith("/login?next=")
    with signed_in(services, OWNER) as web:
        assert web.get("/numbers").headers["location"] == "/numbers/blacklist"
        assert web.get("/numbers/other").status_code == 404
        assert web.post("/numbers/blacklist", {"number": "079 123 45 67"}, csrf=False).status_code == 403


def test_the_pages_speak_the_user_s_language(services: Services) -> None:
    with services.factory.begin() as session:
        account = make_account(session, now=services.clock())
        make_user(session, account, email="de@example.com", language="de")
    with signed_in(services, "de@example.com") as web:
        page = web.post("/numbers/blacklist", {"number": "079 123"})

    assert "Gesperrte Nummern" in page.text
    assert "Das ist keine gültige Telefonnummer." in page.text
