"""The blocked-number lists in the database: duplicates, lookups, paging, isolation between accounts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from reminders.accounts.service import FormErrors
from reminders.bootstrap import Services
from reminders.models import BlockedNumber
from reminders.numbers import blocklist
from tests.support.factories import make_account

MOBILE = "+41791234567"


def two_accounts(services: Services) -> tuple[int, int]:
    with services.factory.begin() as session:
        return make_account(session).id, make_account(session, name="Salon Nord").id


def test_adding_twice_returns_the_first_entry(services: Services) -> None:
    mine, _ = two_accounts(services)
    with services.factory.begin() as session:
        first = blocklist.add(
            session,
            mine,
            kind="blacklist",
            typed="079 123 45 67",
            region="CH",
            now=services.clock(),
            note=" a ",
        )
        again = blocklist.add(
            session, mine, kind="blacklist", typed="+41791234567", region="CH", now=services.clock(), note="b"
        )
        assert (first.created, again.created) == (True, False)
        assert again.entry.id == first.entry.id
        assert (again.entry.note, again.entry.source) == ("a", "manual")
        assert blocklist.count(session, mine, "blacklist") == 1


def test_a_concurrent_duplicate_keeps_the_caller_s_transaction(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    mine, _ = two_accounts(services)
    with services.factory.begin() as session:
        blocklist.add_number(
            session, mine, kind="invalid", number=MOBILE, now=services.clock(), source="gateway"
        )
    real_entry = blocklist._entry
    calls: list[int] = []

    def first_miss(session: Session, account_id: int, kind: str, number: str) -> BlockedNumber | None:
        calls.append(1)  # the first look happens "before the other process committed"
        return None if len(calls) == 1 else real_entry(session, account_id, kind, number)

    monkeypatch.setattr(blocklist, "_entry", first_miss)
    with services.factory.begin() as session:
        raced = blocklist.add_number(
            session, mine, kind="invalid", number=MOBILE, now=services.clock(), source="reply"
        )
        assert raced.created is False
        assert raced.entry.source == "gateway"
        later = blocklist.add_number(  # the transaction goes on after the refused insert
            session, mine, kind="blacklist", number="+41781112233", now=services.clock(), source="manual"
        )
    assert len(calls) == 3
    with services.factory() as session:
        assert blocklist.is_blocked(session, mine, later.entry.number) == "blacklist"
        assert blocklist.count(session, mine, "invalid") == 1


def test_bad_input_names_each_field(services: Services) -> None:
    mine, _ = two_accounts(services)
    with services.factory.begin() as session, pytest.raises(FormErrors) as refused:
        blocklist.add(
            session, mine, kind="blacklist", typed="abc", region="CH", now=services.clock(), note="x" * 201
        )

    assert set(refused.value.errors) == {"number", "note"}


def test_lookups_see_only_the_account_s_own_lists(services: Services) -> None:
    mine, theirs = two_accounts(services)
    with services.factory.begin() as session:
        blocklist.add_number(
            session, mine, kind="invalid", number=MOBILE, now=services.clock(), source="gateway"
        )
        blocklist.add_number(
            session, mine, kind="blacklist", number=MOBILE, now=services.clock(), source="reply"
        )
        blocklist.add_number(
            session, theirs, kind="invalid", number="+41781112233", now=services.clock(), source="manual"
        )
    with services.factory() as session:
        assert blocklist.is_blocked(session, mine, MOBILE) == "blacklist"  # the opt-out wins
        assert blocklist.is_blocked(session, theirs, MOBILE) is None
        assert blocklist.is_blocked(session, mine, "+41781112233") is None
        kinds = blocklist.blocked_kinds(session, {(mine, MOBILE), (theirs, MOBILE), (theirs, "+41781112233")})
        assert kinds == {(mine, MOBILE): "blacklist", (theirs, "+41781112233"): "invalid"}
        assert blocklist.blocked_kinds(session, set()) == {}


def test_entries_are_paged_newest_first_and_removed_only_by_their_account(services: Services) -> None:
    mine, theirs = two_accounts(services)
    with services.factory.begin() as session:
        ids = [
            blocklist.add_number(
                session,
                mine,
                kind="blacklist",
                number=f"+4179123456{i}",
                now=services.clock() + timedelta(minutes=i),
                source="manual",
            ).entry.id
            for i in range(5)
        ]
    with services.factory.begin() as session:
        page = blocklist.entries(session, mine, "blacklist", offset=1, limit=2)
        assert [entry.id for entry in page] == [ids[3], ids[2]]
        assert blocklist.entries(session, theirs, "blacklist") == []
        assert blocklist.remove(session, theirs, ids[0]) is None
        assert blocklist.owned(session, theirs, ids[0]) is None
        removed = blocklist.remove(session, mine, ids[0])
        assert removed is not None
        assert removed.number == "+41791234560"
        assert blocklist.count(session, mine, "blacklist") == 4


def test_unknown_lists_are_a_programming_error(services: Services) -> None:
    mine, _ = two_accounts(services)
    with services.factory.begin() as session, pytest.raises(ValueError, match="unknown list"):
        blocklist.add(
            session, mine, kind="whitelist", typed="079 123 45 67", region="CH", now=services.clock()
        )
