"""An in-memory calendar: a real `CalendarSource` for tests, demos and contract suites."""

from __future__ import annotations

import threading
from datetime import datetime

from connectors.calendars.base import CalendarChanges, CalendarError, RemoteEvent


class InMemoryCalendar:
    """Events kept in a dict; every fetch is a complete snapshot of the window.

    `fail_next(error)` makes the next fetch raise, to exercise error handling.
    """

    def __init__(self, events: list[RemoteEvent] | None = None) -> None:
        self._lock = threading.Lock()
        self._events = {e.external_id: e for e in events or []}
        self._version = 0
        self._failure: CalendarError | None = None

    def put(self, event: RemoteEvent) -> None:
        """Create or replace an event."""
        with self._lock:
            self._events[event.external_id] = event
            self._version += 1

    def delete(self, external_id: str) -> None:
        """Remove an event."""
        with self._lock:
            del self._events[external_id]
            self._version += 1

    def fail_next(self, error: CalendarError) -> None:
        """Make the next `fetch_changes` raise `error`."""
        with self._lock:
            self._failure = error

    def fetch_changes(
        self, cursor: str | None, *, window_start: datetime, window_end: datetime
    ) -> CalendarChanges:
        """Everything overlapping the window, or `unchanged` when nothing changed since `cursor`."""
        with self._lock:
            if self._failure is not None:
                failure, self._failure = self._failure, None
                raise failure
            current = f"{self._version}@{window_end.date().isoformat()}"
            if cursor == current:
                return CalendarChanges(cursor=current, unchanged=True)
            events = [e for e in self._events.values() if e.end > window_start and e.start < window_end]
        return CalendarChanges(
            cursor=current, events=events, complete=True, window_start=window_start, window_end=window_end
        )
