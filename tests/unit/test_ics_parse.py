"""parse_ics: single events, series, time zones, window edges, broken input, real-world files."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from connectors.calendars import ics_parse
from connectors.calendars.base import CalendarFeedInvalid, RemoteEvent
from connectors.calendars.ics import parse_ics
from tests.support.databases import skip_or_fail
from tests.support.ics_messages import technical_parts

TESTDATA = Path(__file__).resolve().parents[2].parent / "shared" / "testdata" / "ics-icalendar"
START = datetime(2026, 3, 1, tzinfo=UTC)
END = datetime(2026, 6, 1, tzinfo=UTC)


def feed(*components: str, header: str = "") -> bytes:
    """A VCALENDAR around the given components, with CRLF line ends."""
    body = "\n".join(textwrap.dedent(c).strip() for c in components)
    text = f"BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//reminders//test//EN\n{header}{body}\nEND:VCALENDAR\n"
    return text.replace("\n", "\r\n").encode()


def parse(
    data: bytes, start: datetime = START, end: datetime = END, **kwargs: int
) -> tuple[dict[str, RemoteEvent], list[str]]:
    events, warnings = parse_ics(
        data, window_start=start, window_end=end, default_timezone="Europe/Zurich", **kwargs
    )
    by_id = {e.external_id: e for e in events}
    assert len(by_id) == len(events), "external ids must be unique"
    return by_id, warnings


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


_OPENED: list[list[str]] = []  # the paths opened while recorded_file_access is active


def _record_open(event: str, args: tuple[object, ...]) -> None:
    if _OPENED and event in ("open", "os.listdir", "os.scandir") and args:
        _OPENED[-1].append(str(args[0]))


sys.addaudithook(_record_open)  # audit hooks cannot be removed; this one only records when asked


@contextmanager
def recorded_file_access() -> Iterator[list[str]]:
    """Every path this process opens or lists inside the block (Python's audit events)."""
    paths: list[str] = []
    _OPENED.append(paths)
    try:
        yield paths
    finally:
        _OPENED.remove(paths)


SERIES = """
BEGIN:VEVENT
UID:physio
DTSTART;TZID=Europe/Zurich:20260302T090000
DTEND;TZID=Europe/Zurich:20260302T093000
RRULE:FREQ=WEEKLY;COUNT=8
EXDATE;TZID=Europe/Zurich:20260309T090000
SUMMARY:Physio
LOCATION:+41 79 123 45 67
END:VEVENT
BEGIN:VEVENT
UID:physio
RECURRENCE-ID;TZID=Europe/Zurich:20260316T090000
DTSTART;TZID=Europe/Zurich:{moved}
DTEND;TZID=Europe/Zurich:{moved_end}
SUMMARY:Physio (moved)
END:VEVENT
BEGIN:VEVENT
UID:physio
RECURRENCE-ID;TZID=Europe/Zurich:20260323T090000
DTSTART;TZID=Europe/Zurich:20260323T090000
DTEND;TZID=Europe/Zurich:20260323T093000
STATUS:CANCELLED
SUMMARY:Physio
END:VEVENT
"""


def series(moved: str = "20260317T140000", moved_end: str = "20260317T143000") -> bytes:
    return feed(SERIES.format(moved=moved, moved_end=moved_end))


# --- single events and series ------------------------------------------------------------------


def test_single_event_has_every_field() -> None:
    events, warnings = parse(
        feed("""
        BEGIN:VEVENT
        UID:abc@clinic
        DTSTART;TZID=Europe/Zurich:20260310T141500
        DTEND;TZID=Europe/Zurich:20260310T150000
        SUMMARY:Dental check\\, Mrs Muster
        LOCATION:Praxis 1
        DESCRIPTION:Call +41 79 123 45 67\\nif late
        END:VEVENT
        """)
    )
    assert warnings == []
    assert events == {
        "abc@clinic": RemoteEvent(
            external_id="abc@clinic",
            start=utc(2026, 3, 10, 13, 15),
            end=utc(2026, 3, 10, 14, 0),
            title="Dental check, Mrs Muster",
            location="Praxis 1",
            description="Call +41 79 123 45 67\nif late",
            timezone="Europe/Zurich",
        )
    }


def test_weekly_series_with_exdate_override_and_cancellation() -> None:
    events, warnings = parse(series())
    assert warnings == []
    assert sorted(events) == [
        "physio/20260302T080000Z",
        "physio/20260316T080000Z",  # moved to Tuesday, id from its RECURRENCE-ID
        "physio/20260323T080000Z",
        "physio/20260330T070000Z",  # summer time from 29 March: still 09:00 in Zurich
        "physio/20260406T070000Z",
        "physio/20260413T070000Z",
        "physio/20260420T070000Z",
    ]
    moved = events["physio/20260316T080000Z"]
    assert (moved.start, moved.end, moved.title) == (
        utc(2026, 3, 17, 13),
        utc(2026, 3, 17, 13, 30),
        "Physio (moved)",
    )
    assert events["physio/20260323T080000Z"].cancelled
    assert all(e.series_id == "physio" for e in events.values())
    assert events["physio/20260302T080000Z"].location == "+41 79 123 45 67"
    assert events["physio/20260316T080000Z"].location == ""  # an override replaces the whole event
    assert sum(e.cancelled for e in events.values()) == 1


def test_series_ids_are_stable_across_syncs_and_moves() -> None:
    first, _ = parse(series())
    again, _ = parse(series())
    moved_again, _ = parse(series(moved="20260318T080000", moved_end="20260318T083000"))
    assert first == again
    assert set(moved_again) == set(first)
    assert moved_again["physio/20260316T080000Z"].start == utc(2026, 3, 18, 7)


def test_moved_instance_found_when_only_its_new_time_is_in_the_window() -> None:
    events, _ = parse(series(moved="20260601T090000", moved_end="20260601T093000"), end=utc(2026, 6, 2))
    assert events["physio/20260316T080000Z"].start == utc(2026, 6, 1, 7)
    events, _ = parse(series(moved="20260601T090000", moved_end="20260601T093000"), end=utc(2026, 3, 20))
    assert "physio/20260316T080000Z" not in events  # its original slot is in the window, it is not
    assert "physio/20260302T080000Z" in events


def test_cancelled_single_event_is_reported_as_cancelled() -> None:
    events, _ = parse(
        feed("""
        BEGIN:VEVENT
        UID:gone
        DTSTART:20260310T090000Z
        DURATION:PT45M
        STATUS:cancelled
        END:VEVENT
        """)
    )
    assert events["gone"].cancelled
    assert events["gone"].end == utc(2026, 3, 10, 9, 45)


def test_this_and_future_override_keeps_original_slot_ids() -> None:
    events, _ = parse(
        feed("""
        BEGIN:VEVENT
        UID:s
        DTSTART:20260302T090000Z
        RRULE:FREQ=DAILY;COUNT=4
        END:VEVENT
        BEGIN:VEVENT
        UID:s
        RECURRENCE-ID;RANGE=THISANDFUTURE:20260303T090000Z
        DTSTART:20260303T110000Z
        END:VEVENT
        """)
    )
    assert {k: v.start.hour for k, v in events.items()} == {
        "s/20260302T090000Z": 9,
        "s/20260303T090000Z": 11,
        "s/20260304T090000Z": 11,
        "s/20260305T090000Z": 11,
    }


# --- dates, time zones and the window ---------------------------------------------------------


def test_all_day_event_and_series() -> None:
    events, _ = parse(
        feed("""
        BEGIN:VEVENT
        UID:holiday
        DTSTART;VALUE=DATE:20260406
        END:VEVENT
        BEGIN:VEVENT
        UID:course
        DTSTART;VALUE=DATE:20260407
        DTEND;VALUE=DATE:20260409
        RRULE:FREQ=WEEKLY;COUNT=2
        END:VEVENT
        """)
    )
    holiday = events["holiday"]
    assert (holiday.start, holiday.end, holiday.all_day) == (utc(2026, 4, 5, 22), utc(2026, 4, 6, 22), True)
    assert holiday.timezone == "Europe/Zurich"
    assert sorted(k for k in events if k.startswith("course/")) == ["course/20260407", "course/20260414"]
    assert events["course/20260407"].end - events["course/20260407"].start == timedelta(days=2)


def test_floating_times_use_x_wr_timezone_else_the_default() -> None:
    event = """
    BEGIN:VEVENT
    UID:f
    DTSTART:20260310T090000
    DTEND:20260310T100000
    END:VEVENT
    """
    ny, _ = parse(feed(event, header="X-WR-TIMEZONE:America/New_York\n"))
    zurich, _ = parse(feed(event))
    assert (ny["f"].start, ny["f"].timezone) == (utc(2026, 3, 10, 13), "America/New_York")
    assert (zurich["f"].start, zurich["f"].timezone) == (utc(2026, 3, 10, 8), "Europe/Zurich")


def test_utc_series_follows_x_wr_timezone_wall_clock() -> None:
    # Google exports UTC times with X-WR-TIMEZONE; the series keeps 09:00 local across DST.
    events, _ = parse(
        feed(
            """
            BEGIN:VEVENT
            UID:g
            DTSTART:20260323T080000Z
            RRULE:FREQ=WEEKLY;COUNT=2
            END:VEVENT
            """,
            header="X-WR-TIMEZONE:Europe/Zurich\n",
        )
    )
    assert [e.start for e in events.values()] == [utc(2026, 3, 23, 8), utc(2026, 3, 30, 7)]


def test_windows_zone_names_and_unknown_zones() -> None:
    events, warnings = parse(
        feed("""
        BEGIN:VEVENT
        UID:outlook
        DTSTART;TZID=W. Europe Standard Time:20260310T090000
        END:VEVENT
        BEGIN:VEVENT
        UID:mystery
        DTSTART;TZID=Mars/Olympus:20260310T090000
        END:VEVENT
        """)
    )
    assert (events["outlook"].start, events["outlook"].timezone) == (utc(2026, 3, 10, 8), "Europe/Berlin")
    assert (events["mystery"].start, events["mystery"].timezone) == (utc(2026, 3, 10, 8), "Europe/Zurich")
    assert any("Mars/Olympus" in w for w in warnings)
    _, warnings = parse(
        feed(
            "BEGIN:VEVENT\nUID:m\nDTSTART;TZID=Mars/Olympus:20260310T090000\nEND:VEVENT",
            header="X-WR-TIMEZONE:UTC\n",
        )
    )
    assert warnings == [
        "The event with UID 'm' on 10 March 2026 at 09:00 uses the unknown time zone 'Mars/Olympus'; "
        "its times were read as UTC."
    ]


def test_utc_times_report_no_zone() -> None:
    events, _ = parse(feed("BEGIN:VEVENT\nUID:z\nDTSTART:20260310T090000Z\nEND:VEVENT"))
    assert (events["z"].start, events["z"].timezone) == (utc(2026, 3, 10, 9), None)


@pytest.mark.parametrize(
    ("start", "end", "inside"),
    [
        ("20260228T230000Z", "20260301T000000Z", False),  # ends exactly at window_start
        ("20260228T230000Z", "20260301T000100Z", True),
        ("20260301T000000Z", "20260301T000000Z", True),  # zero length at window_start
        ("20260531T235959Z", "20260601T010000Z", True),
        ("20260601T000000Z", "20260601T010000Z", False),  # starts exactly at window_end
        ("20260101T000000Z", "20261231T000000Z", True),  # spans the whole window
    ],
)
def test_window_edges(start: str, end: str, inside: bool) -> None:
    events, _ = parse(feed(f"BEGIN:VEVENT\nUID:e\nDTSTART:{start}\nDTEND:{end}\nEND:VEVENT"))
    assert ("e" in events) is inside


def test_event_without_uid_gets_a_stable_id() -> None:
    data = feed(
        "BEGIN:VEVENT\nDTSTART:20260310T090000Z\nSUMMARY:A\nEND:VEVENT",
        "BEGIN:VEVENT\nDTSTART:20260310T090000Z\nSUMMARY:A\nEND:VEVENT",
        "BEGIN:VEVENT\nDTSTART:20260311T090000Z\nSUMMARY:B\nEND:VEVENT",
    )
    first, warnings = parse(data)
    again, _ = parse(data)
    assert len(first) == 3
    assert first.keys() == again.keys()
    assert all(key.startswith("nouid-") for key in first)
    assert any("no UID" in w for w in warnings)


# --- broken and hostile input ----------------------------------------------------------------


def test_bad_events_are_skipped_with_a_warning_naming_them() -> None:
    events, warnings = parse(
        feed(
            "BEGIN:VEVENT\nUID:good-1\nDTSTART:20260310T090000Z\nEND:VEVENT",
            "BEGIN:VEVENT\nUID:bad-start\nDTSTART:NOT-A-DATE\nEND:VEVENT",
            "BEGIN:VEVENT\nUID:no-start\nSUMMARY:x\nEND:VEVENT",
            "BEGIN:VEVENT\nUID:year-one\nDTSTART;TZID=Asia/Tokyo:00010101T000000\nEND:VEVENT",
            "BEGIN:VEVENT\nUID:year-9999\nDTSTART;VALUE=DATE:99991231\nEND:VEVENT",
            "BEGIN:VEVENT\nUID:huge-duration\nDTSTART:20260310T090000Z\nDURATION:P9999999D\nEND:VEVENT",
            "BEGIN:VEVENT\nUID:bad-rule\nDTSTART:20260310T090000Z\nRRULE:FREQ=SOMETIMES\nEND:VEVENT",
            "BEGIN:VEVENT\nUID:bad-exdate\nDTSTART:20260310T090000Z\nRRULE:FREQ=DAILY\nEXDATE:nope\nEND:VEVENT",
            "BEGIN:VEVENT\nUID:good-2\nDTSTART;VALUE=DATE:20260311\nEND:VEVENT",
        )
    )
    assert set(events) == {"good-1", "good-2"}
    assert plain(warnings) == [
        "The event with UID 'bad-start' has no readable start (DTSTART); it was ignored.",
        "The event “x” has no readable start (DTSTART); it was ignored.",
        "The event with UID 'year-one' on 1 January 1 at 00:00 has dates out of range; it was ignored.",
        "The event with UID 'year-9999' on 31 December 9999 has dates out of range; it was ignored.",
        "The event with UID 'huge-duration' on 10 March 2026 at 10:00 has dates out of range; "
        "it was ignored.",
        "The series with UID 'bad-rule' starting 10 March 2026 at 10:00 has an unreadable repeat rule "
        "(RRULE); it was ignored.",
        "The series with UID 'bad-exdate' starting 10 March 2026 at 10:00 has unreadable excluded dates "
        "(EXDATE); it was ignored.",
    ]


def test_an_end_before_the_start_takes_the_earlier_time_as_the_start() -> None:
    events, warnings = parse(
        feed(
            "BEGIN:VEVENT\nUID:r\nSUMMARY:Schnitt\nDTSTART:20260310T090000Z\nDTEND:20260310T080000Z\nEND:VEVENT",
            "BEGIN:VEVENT\nUID:s\nDTSTART;TZID=Europe/Zurich:20260311T100000\n"
            "DTEND;TZID=Europe/Zurich:20260311T093000\nRRULE:FREQ=DAILY;COUNT=2\nEND:VEVENT",
        )
    )
    assert (events["r"].start, events["r"].end) == (utc(2026, 3, 10, 8), utc(2026, 3, 10, 9))
    series = sorted((e.start, e.end) for e in events.values() if e.external_id.startswith("s"))
    assert series[0] == (utc(2026, 3, 11, 8, 30), utc(2026, 3, 11, 9))
    assert any(
        w.startswith("The event “Schnitt”") and "the earlier time was taken as its start" in w
        for w in warnings
    )


@pytest.mark.parametrize(
    "rule",
    [
        "FREQ=SECONDLY;COUNT=999999999",
        "FREQ=MINUTELY",
        "FREQ=DAILY;BYHOUR=0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23;BYMINUTE=0,30",
        "FREQ=WEEKLY;INTERVAL=0",
        "FREQ=DAILY;BYSETPOS=-999",
        "FREQ=MONTHLY;BYMONTHDAY=40",
        "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30",  # never matches: dateutil would search to year 9999
        "FREQ=HOURLY;BYMONTH=2;BYMONTHDAY=31",
        "FREQ=DAILY;INTERVAL=7;BYDAY=TU",  # starts on a Monday, never lands on a Tuesday
        "FREQ=DAILY;BYSETPOS=5;BYHOUR=9",
        "FREQ=DAILY;X-UNKNOWN=1",
    ],
)
def test_pathological_rules_are_skipped_with_a_warning(rule: str) -> None:
    events, warnings = parse(
        feed(f"BEGIN:VEVENT\nUID:evil\nDTSTART:20260302T090000Z\nRRULE:{rule}\nEND:VEVENT"),
        start=utc(2026, 3, 1),
        end=utc(2026, 4, 30),
    )
    assert events == {}
    assert any("'evil'" in w for w in warnings)


def test_long_history_hourly_series_is_bounded() -> None:
    _, warnings = parse(feed("BEGIN:VEVENT\nUID:h\nDTSTART:19900101T000000Z\nRRULE:FREQ=HOURLY\nEND:VEVENT"))
    assert any("too costly" in w for w in warnings)
    assert ics_parse.GUARD_INSTALLED


def test_all_series_of_a_feed_share_one_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ics_parse, "FEED_EXPANSION_BUDGET", 3_000_000)
    never = (
        "BEGIN:VEVENT\nUID:{}\nDTSTART:20260302T090000Z\nRRULE:FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30\nEND:VEVENT"
    )
    _, warnings = parse(feed(*(never.format(f"never-{i}") for i in range(3))))
    assert any("'never-0' starting 2 March 2026 at 10:00 is too costly to compute;" in w for w in warnings)
    assert any(
        "'never-2' starting 2 March 2026 at 10:00 was ignored because the feed's" in w for w in warnings
    )


def test_instances_are_capped_per_series_keeping_the_earliest() -> None:
    events, warnings = parse(
        feed("BEGIN:VEVENT\nUID:d\nDTSTART:20260301T090000Z\nRRULE:FREQ=DAILY\nEND:VEVENT"),
        end=utc(2036, 1, 1),
        max_instances_per_series=5,
    )
    assert [e.start.day for e in events.values()] == [1, 2, 3, 4, 5]
    assert any("has more than 5 occurrences between 1 March 2026 and 1 January 2036" in w for w in warnings)


def test_too_many_events_is_an_invalid_feed() -> None:
    one = "BEGIN:VEVENT\nUID:{}\nDTSTART:20260310T090000Z\nEND:VEVENT"
    with pytest.raises(CalendarFeedInvalid, match="more than 2 events"):
        parse(feed(*(one.format(i) for i in range(3))), max_events=2)


def test_series_multiplying_past_max_events_is_an_invalid_feed() -> None:
    daily = "BEGIN:VEVENT\nUID:{}\nDTSTART:20260301T090000Z\nRRULE:FREQ=DAILY\nEND:VEVENT"
    with pytest.raises(CalendarFeedInvalid, match="more than 100 events in the sync window"):
        parse(feed(*(daily.format(i) for i in range(3))), max_events=100)


def test_hostile_timezone_definition_is_ignored() -> None:
    # A VTIMEZONE rule repeating every second since 1601 made every UTC conversion hang forever.
    events, warnings = parse(
        feed(
            """
            BEGIN:VTIMEZONE
            TZID:Evil
            BEGIN:STANDARD
            DTSTART:16010101T000000
            RRULE:FREQ=SECONDLY
            TZOFFSETFROM:+0100
            TZOFFSETTO:+0100
            END:STANDARD
            END:VTIMEZONE
            """,
            "BEGIN:VEVENT\nUID:x\nDTSTART;TZID=Evil:20260310T090000\nEND:VEVENT",
        )
    )
    assert events["x"].start == utc(2026, 3, 10, 8)
    assert any("'Evil'" in w for w in warnings)


def test_each_feed_uses_its_own_timezone_definitions() -> None:
    # icalendar caches VTIMEZONEs by TZID process-wide; one feed must not redefine another's zone.
    def custom(offset: str) -> bytes:
        return feed(
            f"""
            BEGIN:VTIMEZONE
            TZID:Clinic Time
            BEGIN:STANDARD
            DTSTART:19700101T000000
            TZOFFSETFROM:{offset}
            TZOFFSETTO:{offset}
            END:STANDARD
            END:VTIMEZONE
            """,
            "BEGIN:VEVENT\nUID:c\nDTSTART;TZID=Clinic Time:20260310T090000\nEND:VEVENT",
        )

    plus_five, _ = parse(custom("+0500"))
    minus_three, _ = parse(custom("-0300"))
    assert plus_five["c"].start == utc(2026, 3, 10, 4)
    assert minus_three["c"].start == utc(2026, 3, 10, 12)


def test_text_fields_are_capped_cleaned_and_fall_back_to_html() -> None:
    events, _ = parse(
        feed(f"""
        BEGIN:VEVENT
        UID:t
        DTSTART:20260310T090000Z
        SUMMARY:{"x" * 150_000}
        LOCATION:Room\x001
        X-ALT-DESC;FMTTYPE=text/html:<p>Call <b>+41 79 123 45 67</b></p>
        END:VEVENT
        """)
    )
    event = events["t"]
    assert len(event.title) == 100_000
    assert event.location == "Room1"
    assert event.description == "<p>Call <b>+41 79 123 45 67</b></p>"


@pytest.mark.parametrize(
    ("data", "what"),
    [
        (b"<!DOCTYPE html><html><body>Sign in</body></html>", "HTML"),
        (b'{"error": "not found"}', "JSON"),
        (b"", "empty"),
        (b"   \r\n", "empty"),
        (b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:a\r\nDTSTART:20260310T090000Z\r\n", "incomplete"),
        (
            b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:a\r\nDTSTART:20260310T090000Z\r\nBEGIN:VALARM\r\n",
            "incomplete",
        ),
        (b"BEGIN:VCALENDAR\r\nBEGIN:VTIMEZONE\r\nTZID:Clinic Time\r\nBEGIN:STANDARD\r\n", "incomplete"),
        (b"BEGIN:VTODO\r\nUID:x\r\nEND:VTODO\r\n", "no VCALENDAR"),
        (b"BEGIN:VCALENDAR\r\nX\r\nEND:VCALENDAR\r\n", "could not be read"),
    ],
)
def test_unreadable_feeds_are_invalid(data: bytes, what: str) -> None:
    with pytest.raises(CalendarFeedInvalid, match=what):
        parse(data)


def test_invalid_utf8_is_replaced_with_a_warning() -> None:
    data = feed("BEGIN:VEVENT\nUID:u\nDTSTART:20260310T090000Z\nSUMMARY:Zürich\nEND:VEVENT").replace(
        "ü".encode(), b"\xfc"
    )
    events, warnings = parse(data)
    assert events["u"].title == "Z\ufffdrich"
    assert any("UTF-8" in w for w in warnings)


# --- the icalendar project's test files --------------------------------------------------------


def require_testdata() -> list[Path]:
    """The shared test files; a missing folder skips locally and fails in CI."""
    if not TESTDATA.is_dir():
        skip_or_fail(f"iCalendar test data not found at {TESTDATA}")
    return sorted(TESTDATA.rglob("*.ics"))


TESTDATA_FILES = sorted(TESTDATA.rglob("*.ics")) if TESTDATA.is_dir() else []
MUST_PARSE = {"calendars/example.ics", "calendars/america_new_york.ics", "calendars/timezoned.ics"}
MUST_PARSE |= {f"events/{p.name}" for p in TESTDATA_FILES if p.parent.name == "events"}
MUST_REJECT = {
    "calendars/big_bad_calendar.ics",  # BEGIN:VCALENDAR never ends
    "calendars/small_bad_calendar.ics",
    "calendars/issue_104_broken_calendar.ics",
    "fuzzing/Index_Error.ics",
    "fuzzing/Type_Error.ics",
    "alarms/example.ics",  # a VALARM alone is no calendar
    "timezones/pacific_fiji.ics",
}


def test_testdata_folder_is_present() -> None:
    assert len(require_testdata()) > 100


@pytest.mark.parametrize(
    "path", TESTDATA_FILES or [None], ids=lambda p: p.relative_to(TESTDATA).as_posix() if p else "missing"
)
def test_testdata_file_parses_or_is_rejected_cleanly(path: Path | None) -> None:
    require_testdata()
    assert path is not None
    name = path.relative_to(TESTDATA).as_posix()
    error: CalendarFeedInvalid | None = None
    try:
        events, warnings = parse(path.read_bytes(), start=utc(1990, 1, 1), end=utc(2040, 1, 1))
    except CalendarFeedInvalid as exc:  # the only exception allowed
        error, events, warnings = exc, {}, []
    if error is not None:
        assert name not in MUST_PARSE, str(error)
        assert str(error).strip()
        assert not technical_parts(str(error)), str(error)
        return
    assert name not in MUST_REJECT
    assert all(isinstance(w, str) and w for w in warnings)
    assert not [w for w in warnings if technical_parts(w)]
    for event in events.values():
        assert event.start.tzinfo is UTC
        assert event.end >= event.start


def test_testdata_expectations() -> None:
    require_testdata()

    def read(name: str) -> dict[str, RemoteEvent]:
        events, _ = parse((TESTDATA / name).read_bytes(), start=utc(1990, 1, 1), end=utc(2040, 1, 1))
        return events

    holidays = read("calendars/example.ics")  # all-day, X-WR-TIMEZONE:Etc/GMT, DTEND == DTSTART
    new_year = holidays["636a0cc1dbd5a1667894465@icalendar"]
    assert (new_year.title, new_year.start, new_year.end, new_year.all_day) == (
        "New Year's Day",
        utc(2022, 1, 1),
        utc(2022, 1, 2),
        True,
    )
    assert holidays["636a0cc1dbfd91667894465@icalendar"].location == "Russia"
    custom_tz = read("calendars/america_new_york.ics")["noend123"]  # custom VTIMEZONE, EDT
    assert (custom_tz.start, custom_tz.end) == (utc(2014, 8, 29, 12), utc(2014, 8, 29, 14))
    daily = read("events/event_with_recurrence.ics")  # 100 days, 3 EXDATEs in UTC
    assert len(daily) == 97
    assert not any(e.start.date().isoformat() in ("1996-04-02", "1996-04-03") for e in daily.values())
    unique = read("calendars/issue_313_globally_unique_tzid.ics")
    assert unique["libical-evolution@issue-313"].timezone == "Europe/Berlin"
    # Only a time zone with an impossible offset (+57:44): dropped, and no event needed it.
    assert parse((TESTDATA / "calendars/parsing_error_in_UTC_offset.ics").read_bytes()) == ({}, [])
    vienna = read("calendars/timezoned.ics")["123456"]
    assert (vienna.start, vienna.timezone) == (utc(2012, 2, 13, 9), "Europe/Vienna")


# --- broken parts: repaired or skipped, never the whole feed -------------------------------------

GOOD_AROUND = (
    "BEGIN:VEVENT\nUID:before\nDTSTART:20260310T090000Z\nSUMMARY:Before\nEND:VEVENT",
    "BEGIN:VEVENT\nUID:after\nDTSTART:20260320T090000Z\nSUMMARY:After\nEND:VEVENT",
)


def around(*broken: str, header: str = "") -> bytes:
    """A feed with a good event before and after the given components."""
    return feed(GOOD_AROUND[0], *broken, GOOD_AROUND[1], header=header)


def plain(warnings: list[str]) -> list[str]:
    """The warnings, after checking that each is one plain sentence for the owner."""
    for warning in warnings:
        assert not technical_parts(warning), warning
        assert warning.endswith("."), warning
        assert "\n" not in warning, warning
    return warnings


@pytest.mark.parametrize(
    "alarm",
    [
        "TRIGGER:PT-2H",  # the minus belongs before the P
        "TRIGGER;VALUE=DATE-TIME:garbage",
        "TRIGGER:\nDURATION:xx\nREPEAT:x",
        "TRIGGER:-PT15M\nBEGIN:X-NESTED\nDTSTART:nope\nEND:X-NESTED",
    ],
)
def test_a_broken_alarm_never_costs_its_event(alarm: str) -> None:
    events, warnings = parse(
        around(
            "BEGIN:VEVENT\nUID:a\nDTSTART:20260312T090000Z\nSUMMARY:Cut and colour\n"
            f"BEGIN:VALARM\nACTION:DISPLAY\n{alarm}\nEND:VALARM\nEND:VEVENT"
        )
    )
    assert set(events) == {"before", "a", "after"}
    assert events["a"].title == "Cut and colour"
    assert plain(warnings) == []  # alarms are not ours to read: nothing was lost


def test_an_empty_repeat_rule_means_a_single_event() -> None:
    events, warnings = parse(
        around(
            "BEGIN:VEVENT\nUID:y\nDTSTART;TZID=Europe/Zurich:20260312T100000\nRRULE:\nSUMMARY:Yoga\nEND:VEVENT"
        )
    )
    assert set(events) == {"before", "y", "after"}
    assert (events["y"].start, events["y"].series_id) == (utc(2026, 3, 12, 9), None)
    assert plain(warnings) == [
        "The event “Yoga” on 12 March 2026 at 10:00 has an empty repeat rule (RRULE); "
        "it was read as a single event."
    ]


BROKEN_TIMEZONES = {
    "RDATE period": (
        "TZID:Clinic Time\nBEGIN:STANDARD\nDTSTART:19700101T000000\n"
        "RDATE;VALUE=PERIOD:19710101T000000/PT1H\nTZOFFSETFROM:+0100\nTZOFFSETTO:+0100\nEND:STANDARD"
    ),
    "RDATE date": (
        "TZID:Clinic Time\nBEGIN:STANDARD\nDTSTART:19700101T000000\nRDATE;VALUE=DATE:19710101\n"
        "TZOFFSETFROM:+0100\nTZOFFSETTO:+0100\nEND:STANDARD"
    ),
    "two TZIDs": (
        "TZID:Clinic Time\nTZID:Other\nBEGIN:STANDARD\nDTSTART:19700101T000000\n"
        "TZOFFSETFROM:+0100\nTZOFFSETTO:+0100\nEND:STANDARD"
    ),
    "no rules": "TZID:Clinic Time",
    "no DTSTART": "TZID:Clinic Time\nBEGIN:STANDARD\nTZOFFSETFROM:+0100\nTZOFFSETTO:+0100\nEND:STANDARD",
    "bad offset": (
        "TZID:Clinic Time\nBEGIN:STANDARD\nDTSTART:19700101T000000\nTZOFFSETFROM:+0100\n"
        "TZOFFSETTO:xx\nEND:STANDARD"
    ),
    "bad DTSTART": (
        "TZID:Clinic Time\nBEGIN:STANDARD\nDTSTART:garbage\nTZOFFSETFROM:+0100\nTZOFFSETTO:+0100\n"
        "END:STANDARD"
    ),
}


@pytest.mark.parametrize("definition", BROKEN_TIMEZONES.values(), ids=list(BROKEN_TIMEZONES))
def test_a_broken_timezone_is_dropped_and_its_events_read_in_the_calendar_zone(definition: str) -> None:
    events, warnings = parse(
        around(
            f"BEGIN:VTIMEZONE\n{definition}\nEND:VTIMEZONE",
            "BEGIN:VEVENT\nUID:c\nDTSTART;TZID=Clinic Time:20260312T090000\nSUMMARY:Massage\nEND:VEVENT",
        )
    )
    assert set(events) == {"before", "c", "after"}
    assert (events["c"].start, events["c"].timezone) == (utc(2026, 3, 12, 8), "Europe/Zurich")
    assert plain(warnings) == [
        "The event “Massage” on 12 March 2026 at 09:00 uses the time zone 'Clinic Time', whose "
        "definition in the feed is unreadable; its times were read as Europe/Zurich."
    ]


def test_a_timezone_without_a_name_is_dropped_quietly() -> None:
    events, warnings = parse(
        around(
            "BEGIN:VTIMEZONE\nTZID:\nBEGIN:STANDARD\nDTSTART:19700101T000000\nTZOFFSETFROM:+0100\n"
            "TZOFFSETTO:+0100\nEND:STANDARD\nEND:VTIMEZONE"
        )
    )
    assert set(events) == {"before", "after"}
    assert warnings == []  # nothing can refer to it, so nothing was lost


def test_an_empty_tzid_is_read_in_the_calendar_zone() -> None:
    events, warnings = parse(
        around("BEGIN:VEVENT\nUID:e\nDTSTART;TZID=:20260312T090000\nSUMMARY:Wax\nEND:VEVENT")
    )
    assert (events["e"].start, events["e"].timezone) == (utc(2026, 3, 12, 8), "Europe/Zurich")
    assert plain(warnings) == [
        "The event “Wax” on 12 March 2026 at 09:00 names no time zone (its TZID is empty); "
        "its times were read as Europe/Zurich."
    ]


def test_a_broken_definition_of_a_known_zone_changes_nothing() -> None:
    events, warnings = parse(
        around(
            "BEGIN:VTIMEZONE\nTZID:Europe/Berlin\nBEGIN:STANDARD\nDTSTART:19700101T000000\n"
            "RDATE;VALUE=PERIOD:19710101T000000/PT1H\nTZOFFSETFROM:+0100\nTZOFFSETTO:+0100\n"
            "END:STANDARD\nEND:VTIMEZONE",
            "BEGIN:VEVENT\nUID:b\nDTSTART;TZID=Europe/Berlin:20260701T090000\nSUMMARY:Nails\nEND:VEVENT",
        ),
        end=utc(2026, 8, 1),
    )
    assert (events["b"].start, events["b"].timezone) == (utc(2026, 7, 1, 7), "Europe/Berlin")
    assert warnings == []


def test_unknown_zones_are_reported_once_per_zone_naming_an_event() -> None:
    mystery = (
        "BEGIN:VEVENT\nUID:m{0}\nDTSTART;TZID=Mars/Olympus:2026031{0}T090000\nSUMMARY:Visit {0}\nEND:VEVENT"
    )
    _, warnings = parse(feed(*(mystery.format(i) for i in range(1, 4))))
    assert plain(warnings) == [
        "The event “Visit 1” on 11 March 2026 at 09:00 and 2 other events use the unknown time zone "
        "'Mars/Olympus'; their times were read as Europe/Zurich."
    ]


@pytest.mark.parametrize(
    "tzid",
    [
        "A" * 300,  # made the feed fail with "[Errno 36] File name too long: '/…/site-packages/tzdata/…'"
        "../../../../../etc/passwd",
        "Europe/../../../etc/passwd",
        "/zoneinfo/../Europe/Paris",
        "Europe\\Paris",
    ],
)
def test_a_long_or_path_like_tzid_is_unknown_and_never_touches_the_file_system(tzid: str) -> None:
    marker = tzid[-12:]
    with recorded_file_access() as paths:
        events, warnings = parse(
            around(
                f"BEGIN:VTIMEZONE\nTZID:{tzid}\nBEGIN:STANDARD\nDTSTART:19700101T000000\n"
                "TZOFFSETFROM:+0500\nTZOFFSETTO:+0500\nEND:STANDARD\nEND:VTIMEZONE",
                f"BEGIN:VEVENT\nUID:t\nDTSTART;TZID={tzid}:20260312T090000\nSUMMARY:Tint\nEND:VEVENT",
                f"BEGIN:VEVENT\nUID:s\nDTSTART;TZID={tzid}:20260313T090000\nRRULE:FREQ=DAILY;COUNT=2\n"
                "SUMMARY:Series\nEND:VEVENT",
            )
        )
    assert not [p for p in paths if marker in p or "passwd" in p]
    assert events["t"].start == utc(2026, 3, 12, 8)  # the calendar's zone, not the feed's +05:00
    assert events["t"].timezone == "Europe/Zurich"
    assert {"s/20260313T080000Z", "s/20260314T080000Z"} <= set(events)
    assert len(plain(warnings)) == 1
    assert warnings[0].startswith("The event “Tint” on 12 March 2026 at 09:00 and 1 other event use ")
    assert warnings[0].endswith("their times were read as Europe/Zurich.")


def test_the_servers_own_zone_is_never_a_feeds_zone() -> None:
    # zoneinfo lists "localtime" on Debian, a link to /etc/localtime; icalendar guessed it from this.
    with recorded_file_access() as paths:
        events, warnings = parse(
            around(
                "BEGIN:VEVENT\nUID:l\nDTSTART;TZID=/etc/localtime:20260312T090000\nSUMMARY:Tan\nEND:VEVENT"
            )
        )
    assert not [p for p in paths if "localtime" in p]
    assert events["l"].start == utc(2026, 3, 12, 8)
    assert plain(warnings) == [
        "The event “Tan” on 12 March 2026 at 09:00 uses the unknown time zone '/etc/localtime'; "
        "its times were read as Europe/Zurich."
    ]


@pytest.mark.parametrize(
    "component",
    [
        "BEGIN:VTODO\nUID:todo\nDUE:garbage\nEND:VTODO",
        "BEGIN:VJOURNAL\nUID:j\nDTSTART:garbage\nEND:VJOURNAL",
        "BEGIN:VFREEBUSY\nFREEBUSY:garbage\nEND:VFREEBUSY",
        "BEGIN:X-VENDOR-THING\nDTSTART:garbage\nEND:X-VENDOR-THING",
        "BEGIN:VAVAILABILITY\nDTSTART:garbage\nBEGIN:AVAILABLE\nDTSTART:nope\nEND:AVAILABLE\nEND:VAVAILABILITY",
        "BEGIN:VEVENT\nUID:loc\nDTSTART:20260315T090000Z\nBEGIN:VLOCATION\nGEO:x\nEND:VLOCATION\nEND:VEVENT",
    ],
)
def test_components_we_do_not_read_never_cost_the_feed(component: str) -> None:
    events, warnings = parse(around(component))
    assert {"before", "after"} <= set(events)
    assert plain(warnings) == []


def test_a_broken_calendar_property_never_costs_the_feed() -> None:
    events, warnings = parse(around(header="LAST-MODIFIED:garbage\nREFRESH-INTERVAL;VALUE=DURATION:soon\n"))
    assert set(events) == {"before", "after"}
    assert plain(warnings) == []


@pytest.mark.parametrize(
    ("rule", "how_often"),
    [
        ("FREQ=MINUTELY", "every minute"),
        ("FREQ=MINUTELY;INTERVAL=15", "every 15 minutes"),
        ("FREQ=SECONDLY;COUNT=999999999", "every second"),
        ("FREQ=SECONDLY;INTERVAL=30", "every 30 seconds"),
    ],
)
def test_a_series_repeating_every_second_or_minute_is_named_and_ignored(rule: str, how_often: str) -> None:
    events, warnings = parse(
        around(f"BEGIN:VEVENT\nUID:x\nDTSTART:20260312T080000Z\nRRULE:{rule}\nSUMMARY:Stand-up\nEND:VEVENT")
    )
    assert set(events) == {"before", "after"}
    assert plain(warnings) == [
        f"The series “Stand-up” starting 12 March 2026 at 09:00 repeats {how_often}; it was ignored."
    ]


def test_a_series_cut_at_the_instance_cap_says_so() -> None:
    events, warnings = parse(
        around(
            "BEGIN:VEVENT\nUID:h\nDTSTART:20260301T000000Z\nRRULE:FREQ=HOURLY\nSUMMARY:Check-in\nEND:VEVENT"
        )
    )
    assert sum(1 for e in events.values() if e.series_id == "h") == 1000
    assert plain(warnings) == [
        "The series “Check-in” starting 1 March 2026 at 01:00 has more than 1,000 occurrences between "
        "1 March and 1 June 2026; only the first 1,000 get reminders."
    ]


def test_an_event_without_a_title_is_named_by_its_uid() -> None:
    _, warnings = parse(
        feed("BEGIN:VEVENT\nUID:abc@clinic\nDTSTART;VALUE=DATE:20260312\nRRULE:FREQ=MINUTELY\nEND:VEVENT")
    )
    assert plain(warnings) == [
        "The series with UID 'abc@clinic' starting 12 March 2026 repeats every minute; it was ignored."
    ]


def test_library_messages_never_reach_the_owner() -> None:
    # icalendar warns when it guesses a zone from a "globally unique" TZID; dateutil on COUNT+UNTIL.
    events, warnings = parse(
        feed(
            "BEGIN:VEVENT\nUID:g\nDTSTART;TZID=/usr/share/zoneinfo/Europe/Paris:20260312T090000\nEND:VEVENT",
            "BEGIN:VEVENT\nUID:cu\nDTSTART:20260312T090000Z\nRRULE:FREQ=DAILY;COUNT=3;UNTIL=20260320T000000Z\n"
            "END:VEVENT",
        )
    )
    assert events["g"].start == utc(2026, 3, 12, 8)
    assert len([e for e in events.values() if e.series_id == "cu"]) == 3
    assert plain(warnings) == []


@pytest.mark.parametrize(
    "data",
    [
        b"BEGIN:VCALENDAR\r\nX\r\nEND:VCALENDAR\r\n",
        b"BEGIN:VCALENDAR\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
        b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nEND:VEVENT\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
    ],
)
def test_an_unreadable_feed_is_refused_in_our_words(data: bytes) -> None:
    with pytest.raises(CalendarFeedInvalid) as refused:
        parse(data)
    assert str(refused.value) == "The calendar feed could not be read: it is not well-formed iCalendar."
