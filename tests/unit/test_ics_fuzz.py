"""Fuzzing parse_ics: whatever the bytes, it returns events or raises CalendarFeedInvalid, quickly.

And whatever it says is said in our words: no library error text, type name or server path.
"""

from __future__ import annotations

from datetime import UTC, datetime
from unittest import mock

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.calendars import ics_parse
from connectors.calendars.base import CalendarFeedInvalid
from connectors.calendars.ics import parse_ics
from tests.support.ics_messages import technical_parts

WINDOW_START = datetime(2026, 3, 1, tzinfo=UTC)
WINDOW_END = datetime(2026, 4, 30, tzinfo=UTC)  # 60 days: a FREQ=SECONDLY rule here is 5 M instances
FUZZ = settings(
    max_examples=150,
    deadline=None,
    database=None,  # keep .hypothesis/ out of the work tree
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

SERIES = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Fuzz//EN
X-WR-TIMEZONE:Europe/Zurich
BEGIN:VTIMEZONE
TZID:Clinic Time
BEGIN:STANDARD
DTSTART:16011028T030000
RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
END:STANDARD
BEGIN:DAYLIGHT
DTSTART:16010325T020000
RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
END:DAYLIGHT
END:VTIMEZONE
BEGIN:VEVENT
UID:series@fuzz
DTSTART;TZID=Clinic Time:20260302T090000
DTEND;TZID=Clinic Time:20260302T093000
RRULE:FREQ=WEEKLY;COUNT=10
EXDATE;TZID=Clinic Time:20260309T090000
SUMMARY:Physio +41 79 123 45 67
LOCATION:Room 1
DESCRIPTION:Bring the referral
BEGIN:VALARM
ACTION:DISPLAY
TRIGGER:-PT2H
END:VALARM
END:VEVENT
BEGIN:VEVENT
UID:series@fuzz
RECURRENCE-ID;TZID=Clinic Time:20260316T090000
DTSTART;TZID=Clinic Time:20260317T140000
DTEND;TZID=Clinic Time:20260317T143000
SUMMARY:Physio moved
END:VEVENT
BEGIN:VEVENT
UID:allday@fuzz
DTSTART;VALUE=DATE:20260320
DTEND;VALUE=DATE:20260321
SUMMARY:Closed
END:VEVENT
BEGIN:VEVENT
UID:google@fuzz
DTSTART:20260325T130000Z
DURATION:PT1H
RRULE:FREQ=DAILY;UNTIL=20260405T000000Z
STATUS:CONFIRMED
X-ALT-DESC;FMTTYPE=text/html:<p>Hi</p>
END:VEVENT
END:VCALENDAR
"""
LINES = SERIES.strip().split("\n")

ABSURD_VALUES = [
    "FREQ=SECONDLY;COUNT=999999999",
    "FREQ=MINUTELY;INTERVAL=1",
    "FREQ=DAILY;INTERVAL=0",
    "FREQ=WEEKLY;BYSETPOS=-999;BYDAY=MO",
    "FREQ=MONTHLY;BYMONTHDAY=31;BYMONTH=2",
    "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30",
    "FREQ=DAILY;INTERVAL=7;BYDAY=TU",
    "FREQ=YEARLY;BYWEEKNO=53;BYMONTH=1;BYYEARDAY=1",
    "FREQ=HOURLY;BYHOUR=25",
    "FREQ=DAILY;UNTIL=00010101",
    "FREQ=DAILY;COUNT=-1",
    "FREQ=DAILY;BYDAY=99MO",
    "FREQ=YEARLY;INTERVAL=99999999999999999999",
    "FREQ=SECONDLY",
    "00010101T000000",
    "99991231T235959Z",
    "99991231",
    "20261301T000000",
    "20260230",
    "P999999999999W",
    "-PT1H",
    "PT0S",
    "",
    ";;;",
    "\\",
    "x" * 200_000,
    "<div>" * 5_000 + "+41 79 123 45 67" + "</div>" * 5_000,
    "\x00\x01\x02",
]
ABSURD_LINES = [
    "RRULE:FREQ=SECONDLY;COUNT=999999999",
    "RRULE:FREQ=MINUTELY",
    "RRULE:FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30",
    "RRULE:FREQ=YEARLY;BYSETPOS=366;BYMONTHDAY=1",
    "RRULE:FREQ=SECONDLY",  # inside a VTIMEZONE this used to hang every UTC conversion
    "DTSTART:00010101T000000",
    "DTSTART;TZID=Asia/Tokyo:00010101T000000",
    "DTSTART:99991231T235959Z",
    "DTSTART;TZID=Nowhere/Special:20260310T090000",
    "DTEND;VALUE=DATE:20260301",
    "DURATION:P999999999999W",
    "EXDATE:garbage",
    "RDATE;VALUE=PERIOD:20260310T090000Z/20260309T090000Z",
    "RECURRENCE-ID:20260316T080000Z",
    "RECURRENCE-ID;RANGE=THISANDFUTURE:20260323T080000Z",
    "STATUS:CANCELLED",
    "UID:",
    "BEGIN:VEVENT",
    "END:VEVENT",
    "END:VCALENDAR",
    "BEGIN:VCALENDAR",
    "SUMMARY:" + "y" * 150_000,
    "DESCRIPTION:" + "<b>" * 10_000,
    "X-WR-TIMEZONE:Mars/Olympus",
    "X-WR-TIMEZONE:W. Europe Standard Time",
    "TZOFFSETTO:+9999",
    # Broken parts that used to cost the whole feed (issue 9).
    "TRIGGER:PT-2H",
    "BEGIN:VALARM",
    "END:VALARM",
    "BEGIN:VTODO",
    "DUE:garbage",
    "BEGIN:X-VENDOR",
    "RRULE:",
    "TZID:",
    "TZID:Other Time",
    "RDATE;VALUE=PERIOD:19710101T000000/PT1H",
    "RDATE;TZID=Europe/Paris:19710101T000000",
    "BEGIN:VTIMEZONE",
    "END:VTIMEZONE",
    "LAST-MODIFIED:garbage",
    "DTSTART;TZID=" + "A" * 300 + ":20260310T090000",
    "DTSTART;TZID=../../../../etc/passwd:20260310T090000",
    "DTSTART;TZID=/etc/localtime:20260310T090000",
    "DTSTART;TZID=:20260310T090000",
]


@st.composite
def mutated_feed(draw: st.DrawFn) -> bytes:
    lines = list(LINES)
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.sampled_from(["delete", "duplicate", "swap", "value", "insert", "random"]))
        i = draw(st.integers(0, len(lines) - 1)) if lines else 0
        if op == "delete" and lines:
            del lines[i]
        elif op == "duplicate" and lines:
            lines.insert(i, lines[i])
        elif op == "swap" and lines:
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        elif op == "value" and lines:
            name = lines[i].split(":", 1)[0]
            lines[i] = f"{name}:{draw(st.sampled_from(ABSURD_VALUES))}"
        elif op == "insert":
            lines.insert(i, draw(st.sampled_from(ABSURD_LINES)))
        else:
            lines.insert(i, draw(st.text(max_size=60)))
    raw = "\r\n".join(lines).encode("utf-8", "surrogatepass")
    if draw(st.booleans()):
        cut = draw(st.integers(0, len(raw)))
        raw = raw[:cut] + draw(st.sampled_from([b"", b"\xff\xfe", b"\xc3", b"\xed\xa0\x80", b"\r", b"\r\n "]))
        raw += raw[cut:] if draw(st.booleans()) else b""
    return raw


def _numbers(low: int, high: int) -> st.SearchStrategy[str]:
    return st.lists(st.integers(low, high), min_size=1, max_size=4).map(lambda xs: ",".join(map(str, xs)))


WEEKDAYS = st.tuples(
    st.sampled_from(["", "1", "-1", "+2", "5", "53", "-54"]),
    st.sampled_from(["MO", "TU", "WE", "TH", "FR", "SA", "SU"]),
).map("".join)
RULE_PARTS = st.fixed_dictionaries(
    {"FREQ": st.sampled_from(["YEARLY", "MONTHLY", "WEEKLY", "DAILY", "HOURLY", "MINUTELY", "SECONDLY"])},
    optional={
        "INTERVAL": st.integers(-2, 1000).map(str),
        "COUNT": st.integers(-5, 10**9).map(str),
        "UNTIL": st.sampled_from(["20260401T000000Z", "99991231T235959Z", "00010101", "20260315"]),
        "BYMONTH": _numbers(0, 13),
        "BYMONTHDAY": _numbers(-32, 32),
        "BYYEARDAY": _numbers(-367, 367),
        "BYWEEKNO": _numbers(-54, 54),
        "BYHOUR": _numbers(0, 24),
        "BYMINUTE": _numbers(0, 60),
        "BYSECOND": _numbers(0, 61),
        "BYSETPOS": _numbers(-400, 400),
        "BYDAY": st.lists(WEEKDAYS, min_size=1, max_size=3).map(",".join),
        "WKST": st.sampled_from(["MO", "SU", "XX"]),
    },
)


@st.composite
def random_rule_feed(draw: st.DrawFn) -> bytes:
    rule = ";".join(f"{k}={v}" for k, v in draw(RULE_PARTS).items())
    start = draw(
        st.sampled_from(
            [
                "DTSTART:20260302T090000Z",
                "DTSTART:19000101T000000Z",
                "DTSTART:00010101T000000Z",
                "DTSTART;VALUE=DATE:20260302",
                "DTSTART;TZID=Europe/Zurich:20260302T090000",
                "DTSTART;TZID=America/New_York:99990101T000000",
            ]
        )
    )
    lines = [
        "BEGIN:VCALENDAR",
        "BEGIN:VEVENT",
        "UID:r",
        start,
        f"RRULE:{rule}",
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    return "\r\n".join(lines).encode()


def check(data: bytes) -> None:
    """parse_ics returns sane events or raises CalendarFeedInvalid; anything else fails the test."""
    try:
        events, warnings = parse_ics(
            data, window_start=WINDOW_START, window_end=WINDOW_END, default_timezone="Europe/Zurich"
        )
    except CalendarFeedInvalid as exc:  # the only exception allowed, and it must say something
        events, warnings = [], [str(exc)]
    assert all(w.strip() for w in warnings)
    assert not [w for w in warnings if technical_parts(w)]
    assert len({e.external_id for e in events}) == len(events)
    assert len(warnings) <= 51
    for event in events:
        assert event.start.utcoffset() is not None
        assert event.start <= event.end
        assert event.start < WINDOW_END
        assert max(len(event.title), len(event.location), len(event.description)) <= 100_000


@FUZZ
@given(st.binary(max_size=4_000))
def test_arbitrary_bytes(data: bytes) -> None:
    check(data)


@FUZZ
@given(st.text(max_size=2_000))
def test_arbitrary_text_behind_a_calendar_header(text: str) -> None:
    check(f"BEGIN:VCALENDAR\r\n{text}\r\nEND:VCALENDAR\r\n".encode("utf-8", "surrogatepass"))


@FUZZ
@given(mutated_feed())
def test_mutated_valid_feed(data: bytes) -> None:
    check(data)


@FUZZ
@given(random_rule_feed())
def test_random_recurrence_rules(data: bytes) -> None:
    # Most random BY-combinations never match and exhaust the budget; a smaller one keeps this quick.
    with mock.patch.object(ics_parse, "EXPANSION_BUDGET", 200_000):
        check(data)


@FUZZ
@given(st.lists(st.sampled_from(ABSURD_LINES), min_size=1, max_size=8), st.integers(0, len(LINES)))
def test_broken_parts_inserted_into_a_valid_feed(inserted: list[str], at: int) -> None:
    lines = LINES[:at] + inserted + LINES[at:]
    check("\r\n".join(lines).encode())


def test_unmutated_feed_parses() -> None:
    events, warnings = parse_ics(
        "\r\n".join(LINES).encode(), window_start=WINDOW_START, window_end=WINDOW_END, default_timezone="UTC"
    )
    assert warnings == []
    assert {e.series_id or e.external_id for e in events} == {"series@fuzz", "allday@fuzz", "google@fuzz"}
