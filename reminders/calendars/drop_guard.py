"""Holding back a snapshot that suddenly drops most of a calendar's upcoming appointments.

A feed server that answers 200 with an empty calendar, or a provider's full resync that comes
back empty, looks exactly like an owner who deleted everything. Applying it would cancel every
planned reminder, and those due before the feed recovers would be lost for good. So a complete
snapshot that drops all, or more than half, of the upcoming appointments is held: nothing is
removed, the calendar shows a warning, and the removals are applied only once the same kind of
snapshot has been seen on several syncs over some minutes, or when the owner confirms them.

Pure: the sync decides with these functions and stores the `HeldDrop` on the connection.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class DropGuard:
    """When a drop counts as suspicious, and when a held drop is believed."""

    # Consecutive syncs that must see the drop (the first included) before it is applied...
    confirmations: int = 3
    # ...and how long after the first of them, so a burst of pushed syncs cannot confirm it.
    min_hold: timedelta = timedelta(minutes=10)
    # Below this many dropped appointments only "all of them" is suspicious: an owner who
    # deletes two of three appointments is not held up.
    min_bulk: int = 5


@dataclass(frozen=True, slots=True)
class HeldDrop:
    """A drop that is being held: how many of how many upcoming appointments it would remove."""

    removals: int
    upcoming: int
    sightings: int
    since: datetime
    confirmed_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class DropVerdict:
    """Whether to apply the snapshot's removals now, and the hold to keep (None: no hold)."""

    apply_removals: bool
    hold: HeldDrop | None


def is_suspicious(guard: DropGuard, *, upcoming: int, dropped: int) -> bool:
    """Whether dropping `dropped` of `upcoming` upcoming appointments at once looks like a broken feed."""
    if dropped <= 0 or upcoming <= 0:
        return False
    return dropped >= upcoming or (dropped * 2 > upcoming and dropped >= guard.min_bulk)


def judge(
    guard: DropGuard, previous: HeldDrop | None, *, upcoming: int, dropped: int, now: datetime
) -> DropVerdict:
    """Decide about a complete snapshot that would drop `dropped` of `upcoming` appointments."""
    if not is_suspicious(guard, upcoming=upcoming, dropped=dropped):
        return DropVerdict(apply_removals=True, hold=None)
    if previous is not None and previous.confirmed_at is not None:
        return DropVerdict(apply_removals=True, hold=None)  # the owner said the calendar is right
    sightings = (previous.sightings if previous is not None else 0) + 1
    since = previous.since if previous is not None else now
    if sightings >= guard.confirmations and now - since >= guard.min_hold:
        return DropVerdict(apply_removals=True, hold=None)
    return DropVerdict(
        apply_removals=False,
        hold=HeldDrop(removals=dropped, upcoming=upcoming, sightings=sightings, since=since),
    )
