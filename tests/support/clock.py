"""A clock tests can set and advance."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta


class FakeClock:
    """Returns a fixed aware UTC time until told otherwise; safe across threads."""

    def __init__(self, now: datetime | None = None) -> None:
        self._now = now or datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self._now

    def set(self, now: datetime) -> None:
        """Jump to `now`."""
        with self._lock:
            self._now = now

    def advance(self, delta: timedelta) -> datetime:
        """Move forward by `delta`; returns the new time."""
        with self._lock:
            self._now += delta
            return self._now
