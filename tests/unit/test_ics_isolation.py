"""IsolatedIcsParser: parse_ics in child processes that never wait for each other.

Real child processes throughout (multiprocessing's fork server); the only waiting is for a child
to exist, never an assertion on how long something took.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import pytest

from connectors.calendars.base import CalendarFeedInvalid, CalendarUnavailable
from connectors.calendars.ics_isolation import IcsParser, IsolatedIcsParser, ParseResult
from connectors.calendars.ics_parse import parse_ics
from tests.support.databases import skip_or_fail
from tests.support.ics_messages import technical_parts

TESTDATA = Path(__file__).resolve().parents[2].parent / "shared" / "testdata" / "ics-icalendar"
START = datetime(2026, 3, 1, tzinfo=UTC)
END = datetime(2026, 5, 1, tzinfo=UTC)
WIDE = {"window_start": datetime(1990, 1, 1, tzinfo=UTC), "window_end": datetime(2040, 1, 1, tzinfo=UTC)}

# Each series never matches a date, so expanding it spends its whole work budget; together they
# spend the feed's (about 10 s of CPU here): a feed that is slow to read, not broken.
_NEVER = (
    "BEGIN:VEVENT\r\nUID:slow-{0}\r\nDTSTART:20260302T090000Z\r\n"
    "RRULE:FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30\r\nSUMMARY:Slow {0}\r\nEND:VEVENT"
)
SLOW_FEED = (
    "BEGIN:VCALENDAR\r\n" + "\r\n".join(_NEVER.format(i) for i in range(160)) + "\r\nEND:VCALENDAR\r\n"
).encode()


def small_feed(name: str = "small") -> bytes:
    event = f"BEGIN:VEVENT\r\nUID:{name}\r\nDTSTART:20260310T090000Z\r\nSUMMARY:Cut {name}\r\nEND:VEVENT"
    return f"BEGIN:VCALENDAR\r\n{event}\r\nEND:VCALENDAR\r\n".encode()


def parse_with(parser: IcsParser, data: bytes, **window: datetime) -> ParseResult:
    return parser(
        data,
        window_start=window.get("window_start", START),
        window_end=window.get("window_end", END),
        default_timezone="Europe/Zurich",
    )


@pytest.fixture
def isolated() -> Iterator[IsolatedIcsParser]:
    with IsolatedIcsParser(deadline_seconds=120) as parser:
        yield parser


class InThread:
    """A parse running in a thread of its own; `outcome` is its result or the exception it raised."""

    def __init__(self, call: Callable[[], ParseResult]) -> None:
        self.outcome: ParseResult | BaseException | None = None
        self._call = call
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            self.outcome = self._call()
        except BaseException as exc:
            self.outcome = exc

    def join(self) -> ParseResult | BaseException | None:
        self.thread.join(timeout=240)
        assert not self.thread.is_alive()
        return self.outcome


def a_running_child() -> multiprocessing.process.BaseProcess:
    """Wait until a parse's child process exists, and return it."""
    for _ in range(6000):
        children = multiprocessing.active_children()
        if children:
            return children[0]
        time.sleep(0.01)
    raise AssertionError("no parse started a child process")


# --- the same answers as in-process ------------------------------------------------------------


def test_the_isolated_parser_is_called_like_parse_ics(isolated: IsolatedIcsParser) -> None:
    parsers: list[IcsParser] = [parse_ics, isolated]  # mypy checks both against one signature
    for parser in parsers:
        with pytest.raises(ValueError, match="unknown time zone"):
            parser(small_feed(), window_start=START, window_end=END, default_timezone="Mars/Olympus")


@pytest.mark.parametrize(
    "name",
    [
        "calendars/example.ics",
        "calendars/america_new_york.ics",
        "calendars/timezoned.ics",
        "calendars/issue_313_globally_unique_tzid.ics",
        "events/event_with_recurrence.ics",
        "events/event_with_unicode_fields.ics",
    ],
)
def test_results_equal_the_in_process_parse(isolated: IsolatedIcsParser, name: str) -> None:
    if not TESTDATA.is_dir():
        skip_or_fail(f"iCalendar test data not found at {TESTDATA}")
    data = (TESTDATA / name).read_bytes()
    events, warnings = parse_with(isolated, data, **WIDE)
    assert events  # a real comparison, not two empty lists
    assert (events, warnings) == parse_with(parse_ics, data, **WIDE)


def test_warnings_come_back_as_in_process(isolated: IsolatedIcsParser) -> None:
    data = (
        b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:m\r\nDTSTART:20260312T080000Z\r\nRRULE:FREQ=MINUTELY\r\n"
        b"SUMMARY:Stand-up\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:g\r\nDTSTART:20260312T080000Z\r\n"
        b"END:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    result = parse_with(isolated, data)
    assert result == parse_with(parse_ics, data)
    assert result[1] == [
        "The series “Stand-up” starting 12 March 2026 at 09:00 repeats every minute; it was ignored."
    ]


@pytest.mark.parametrize(
    "data",
    [
        b"<!DOCTYPE html><html><body>Sign in</body></html>",
        b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:a\r\n",
        b"BEGIN:VCALENDAR\r\nX\r\nEND:VCALENDAR\r\n",
    ],
)
def test_a_refused_feed_is_refused_with_the_same_sentence(isolated: IsolatedIcsParser, data: bytes) -> None:
    with pytest.raises(CalendarFeedInvalid) as in_process:
        parse_with(parse_ics, data)
    with pytest.raises(CalendarFeedInvalid) as in_child:
        parse_with(isolated, data)
    assert type(in_child.value) is CalendarFeedInvalid
    assert str(in_child.value) == str(in_process.value)


# --- parses that never wait for each other ----------------------------------------------------


def test_a_slow_feed_does_not_hold_up_another_parse() -> None:
    parser = IsolatedIcsParser(deadline_seconds=200)
    slow = InThread(lambda: parse_with(parser, SLOW_FEED))
    a_running_child()
    small = InThread(lambda: parse_with(parser, small_feed()))
    small_outcome = small.join()
    # In one process the small parse waited for the parse lock until the slow one was done.
    assert slow.thread.is_alive()
    assert slow.outcome is None
    assert isinstance(small_outcome, tuple)
    assert [e.external_id for e in small_outcome[0]] == ["small"]
    parser.close()  # ends the slow parse instead of waiting for it
    assert isinstance(slow.join(), CalendarUnavailable)


def test_many_threads_at_once(isolated: IsolatedIcsParser) -> None:
    names = [f"t{i}" for i in range(8)]
    runs = [InThread(partial(parse_with, isolated, small_feed(name))) for name in names for _ in range(3)]
    outcomes = [run.join() for run in runs]
    expected = [parse_with(parse_ics, small_feed(name)) for name in names for _ in range(3)]
    assert outcomes == expected


# --- deadline, memory cap, killed children, shutdown ---------------------------------------------


def test_a_parse_past_its_deadline_is_killed_and_the_caller_gets_a_sentence() -> None:
    with IsolatedIcsParser(deadline_seconds=1) as parser:
        with pytest.raises(CalendarFeedInvalid) as refused:
            parse_with(parser, SLOW_FEED)
        assert str(refused.value) == "The calendar feed is too complex to read: it took longer than 1 s."
        assert multiprocessing.active_children() == []  # killed and reaped, not left running
        assert parse_with(parser, small_feed())[0]  # and the parser goes on working


def test_a_child_killed_by_the_os_gives_a_clear_error(isolated: IsolatedIcsParser) -> None:
    slow = InThread(lambda: parse_with(isolated, SLOW_FEED))
    child = a_running_child()
    assert child.pid is not None
    os.kill(child.pid, signal.SIGKILL)
    outcome = slow.join()
    assert isinstance(outcome, CalendarFeedInvalid)
    assert str(outcome) == (
        "The calendar feed could not be read: the process reading it was stopped "
        "(perhaps it needed too much memory)."
    )


def test_a_feed_over_the_memory_cap_gives_a_sentence() -> None:
    event = "BEGIN:VEVENT\r\nUID:e{0}\r\nDTSTART:20260310T090000Z\r\nSUMMARY:E {0}\r\nEND:VEVENT"
    big = (
        "BEGIN:VCALENDAR\r\n" + "\r\n".join(event.format(i) for i in range(60_000)) + "\r\nEND:VCALENDAR\r\n"
    ).encode()
    with IsolatedIcsParser(memory_limit_mb=64) as parser:
        with pytest.raises(CalendarFeedInvalid) as refused:
            parse_with(parser, big)
        assert (
            str(refused.value)
            == "The calendar feed is too large to read: it needs more than 64 MB of memory."
        )
        assert parse_with(parser, small_feed())[0]  # a small feed fits


def test_close_ends_running_parses_and_refuses_new_ones() -> None:
    parser = IsolatedIcsParser()
    slow = InThread(lambda: parse_with(parser, SLOW_FEED))
    a_running_child()
    parser.close()
    outcome = slow.join()
    assert isinstance(outcome, CalendarUnavailable)
    assert not technical_parts(str(outcome))
    with pytest.raises(CalendarUnavailable, match="shutting down"):
        parse_with(parser, small_feed())
    assert multiprocessing.active_children() == []
