"""Quiet hours: the nightly window in which no reminder is sent.

Reminders are notifications, so they may go out any day, but never in the middle of the night
(product.md). The window is read in the account's zone, because that is where the business and
(almost always) its clients live.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

__all__ = ["QuietHours", "parse_clock"]

# 18:00, 18.00, 18h00 or 7:30, optionally with seconds (a time input may send them; they are dropped).
_CLOCK = re.compile(r"([01]?[0-9]|2[0-3])[:.h]([0-5][0-9])(?::[0-5][0-9])?")


def parse_clock(typed: str) -> time | None:
    """A time of day as people type it (quiet hours, "day before at"), or None when it is not one."""
    found = _CLOCK.fullmatch(typed.strip())
    return time(int(found.group(1)), int(found.group(2))) if found else None


# Far enough back to step over a day a zone skipped entirely (Pacific/Apia, 2011-12-30) and a
# quiet start that falls into a DST gap on the day before.
_LOOKBACK_DAYS = 4


@dataclass(frozen=True, slots=True)
class QuietHours:
    """A daily window of local wall-clock times, open at both ends.

    A send at exactly `start` or exactly `end` is allowed. `start > end` wraps midnight
    (21:00→08:00), `start < end` does not (12:00→14:00), and `start == end` means no quiet hours.
    """

    start: time = time(21, 0)
    end: time = time(8, 0)

    def __post_init__(self) -> None:
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ValueError("Quiet hours are local wall-clock times; give them without a zone.")

    def contains(self, local: time) -> bool:
        """Whether a local wall-clock time lies strictly inside the window."""
        if self.start < self.end:
            return self.start < local < self.end
        if self.start > self.end:
            return local > self.start or local < self.end
        return False

    def with_lead(self, lead: timedelta) -> QuietHours:
        """The window begun `lead` earlier: what a send planned now must clear to arrive outside it.

        A send planned for the window's first second arrives inside it, because handing it over
        takes time. No quiet hours stay none; a lead that would close the window's open part
        leaves the window as it is.
        """
        if self.start == self.end or lead <= timedelta(0):
            return self
        earlier = (datetime.combine(date(2000, 1, 2), self.start) - lead).time()
        return self if earlier == self.end else QuietHours(start=earlier, end=self.end)

    def latest_send_at(self, instant: datetime, zone: ZoneInfo) -> datetime | None:
        """The latest time at or before `instant` that is outside quiet hours in `zone`, in UTC.

        A time outside the window is returned as it is. A time inside is moved back to the start
        of its quiet period (05:30 → 21:00 the evening before; 22:30 → 21:00), never later: a
        reminder that arrives early is better than one that wakes the client or comes too late.
        None only if no such time exists within a few days (cannot happen with a window that
        leaves any part of the day open, kept so callers need not trust that).
        """
        instant = instant.astimezone(UTC)
        local = instant.astimezone(zone)
        if not self.contains(local.time()):
            return instant
        candidates = [
            candidate
            for back in range(_LOOKBACK_DAYS)
            for candidate in self._starts_on(local.date() - timedelta(days=back), zone)
            if candidate <= instant and not self.contains(candidate.astimezone(zone).time())
        ]
        return max(candidates, default=None)

    def _starts_on(self, day: date, zone: ZoneInfo) -> list[datetime]:
        # Both readings of the start's wall time: on a fall-back day both exist and the later one
        # may be the closer; on a spring-forward day fold=0 lands after the gap (possibly inside
        # the window, filtered out by the caller) and fold=1 before it (outside the window).
        wall = datetime.combine(day, self.start)
        return [wall.replace(tzinfo=zone, fold=fold).astimezone(UTC) for fold in (0, 1)]
