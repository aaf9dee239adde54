"""Running out of memory while reading a feed, told apart from a broken feed.

Libraries catch broadly and re-raise as something else (icalendar turns a MemoryError into
"ValueError: Expected StringType with content lines"), so a broken-input handler that catches
`Exception` must first ask whether memory ran out somewhere in the exception's chain.
"""

from __future__ import annotations

from connectors.calendars.base import CalendarFeedInvalid

OUT_OF_MEMORY = "The calendar feed is too large to read: the server ran out of memory while reading it."
_CHAIN_LIMIT = 50


class ParseOutOfMemory(CalendarFeedInvalid):
    """Reading the feed ran out of memory (a capped child process says how much it had)."""


def raise_if_out_of_memory(error: BaseException) -> None:
    """Raise ParseOutOfMemory when a MemoryError is `error` or among its causes and contexts."""
    current: BaseException | None = error
    for _ in range(_CHAIN_LIMIT):
        if current is None:
            return
        if isinstance(current, MemoryError):
            raise ParseOutOfMemory(OUT_OF_MEMORY) from None
        current = current.__cause__ or current.__context__
