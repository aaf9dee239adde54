"""When a snapshot's drop of upcoming appointments is held, and when it is believed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from reminders.calendars.drop_guard import DropGuard, HeldDrop, is_suspicious, judge

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
GUARD = DropGuard(confirmations=3, min_hold=timedelta(minutes=10), min_bulk=5)


@pytest.mark.parametrize(
    ("upcoming", "dropped", "suspicious"),
    [
        (0, 0, False),  # a new calendar
        (10, 0, False),
        (1, 1, True),  # all of them: the empty feed
        (3, 3, True),
        (10, 5, False),  # half is not more than half
        (10, 6, True),
        (7, 4, False),  # more than half, but a few appointments are an owner's edit
        (9, 5, True),
        (1000, 499, False),
    ],
)
def test_all_or_most_of_the_upcoming_appointments_is_suspicious(
    upcoming: int, dropped: int, suspicious: bool
) -> None:
    assert is_suspicious(GUARD, upcoming=upcoming, dropped=dropped) is suspicious


def test_a_first_sighting_is_held() -> None:
    verdict = judge(GUARD, None, upcoming=4, dropped=4, now=NOW)

    assert not verdict.apply_removals
    assert verdict.hold == HeldDrop(removals=4, upcoming=4, sightings=1, since=NOW)


def test_a_drop_needs_both_enough_sightings_and_enough_time() -> None:
    seen_twice = HeldDrop(removals=4, upcoming=4, sightings=2, since=NOW)

    too_soon = judge(GUARD, seen_twice, upcoming=4, dropped=4, now=NOW + timedelta(minutes=9))
    long_enough = judge(GUARD, seen_twice, upcoming=4, dropped=4, now=NOW + timedelta(minutes=10))
    once_long_ago = judge(GUARD, HeldDrop(4, 4, 1, NOW), upcoming=4, dropped=4, now=NOW + timedelta(hours=5))

    assert (too_soon.apply_removals, too_soon.hold and too_soon.hold.sightings) == (False, 3)
    assert (long_enough.apply_removals, long_enough.hold) == (True, None)
    assert not once_long_ago.apply_removals


def test_the_owners_confirmation_applies_the_drop_at_once() -> None:
    confirmed = HeldDrop(removals=4, upcoming=4, sightings=1, since=NOW, confirmed_at=NOW)

    verdict = judge(GUARD, confirmed, upcoming=4, dropped=4, now=NOW + timedelta(seconds=5))

    assert (verdict.apply_removals, verdict.hold) == (True, None)


def test_a_snapshot_that_is_back_to_normal_ends_the_hold() -> None:
    verdict = judge(GUARD, HeldDrop(4, 4, 2, NOW), upcoming=4, dropped=0, now=NOW)

    assert (verdict.apply_removals, verdict.hold) == (True, None)
