"""Graph event resources → event, removal or cancellation; one fixture per case in fixtures/microsoft/."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from connectors.calendars.base import RemoteEvent
from connectors.calendars.microsoft.parse import (
    Cancellation,
    Removal,
    UnreadableEvent,
    lookup_zone,
    parse_event,
    zone_key,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "microsoft"
ZONE = "Europe/Zurich"
SERIES = "AAMkAGI2U2VyaWVzAAA="


def load(case: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / f"{case}.json").read_text(encoding="utf-8"))
    return data


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def parse(item: dict[str, Any]) -> RemoteEvent | Removal | Cancellation | None:
    return parse_event(item, default_timezone=ZONE)


EXPECTED: dict[str, RemoteEvent | Removal | Cancellation | None] = {
    "single_utc": RemoteEvent(
        external_id="AAMkAGI2TG93AAA=",
        start=utc(2026, 11, 25, 10, 0),
        end=utc(2026, 11, 25, 10, 45),
        title="Haircut Anna Muster",
        location="Salon, Bahnhofstrasse 1, Zürich",
        description="Mobile 079 123 45 67",
        timezone=ZONE,  # written in UTC: the default zone is the better guess for the owner
    ),
    "single_windows_zone": RemoteEvent(
        external_id="AAMkAGI2TWluZG93cwAA",
        start=utc(2026, 3, 29, 7, 30),  # 09:30 CEST, the morning clocks went forward
        end=utc(2026, 3, 29, 8, 30),
        title="Colour & cut",
        timezone="Europe/Berlin",
    ),
    "iana_zone": RemoteEvent(
        external_id="AAMkAGI2TmV3WW9yawAA",
        start=utc(2026, 7, 1, 18, 0),  # 14:00 EDT
        end=utc(2026, 7, 1, 18, 30),
        title="Consultation",
        location="Room 2; Waiting area",
        timezone="America/New_York",  # "Eastern Standard Time" through CLDR
    ),
    "all_day": RemoteEvent(
        external_id="AAMkAGI2QWxsRGF5AAA=",
        # Midnight to midnight in Berlin on the day clocks go forward: a 23-hour day.
        start=utc(2026, 3, 28, 23, 0),
        end=utc(2026, 3, 29, 22, 0),
        title="Salon closed",
        timezone="Europe/Berlin",
        all_day=True,
    ),
    "all_day_converted": RemoteEvent(
        external_id="AAMkAGI2QWxsRGF5Q29udgAA",
        start=utc(2026, 3, 28, 23, 0),  # the same day, had Graph converted the midnights to UTC
        end=utc(2026, 3, 29, 22, 0),
        title="Salon closed",
        timezone="Europe/Berlin",
        all_day=True,
    ),
    "occurrence": RemoteEvent(
        external_id="AAMkAGI2U2VyaWVzAAABEgAQAO1",
        start=utc(2026, 11, 26, 8, 30),
        end=utc(2026, 11, 26, 9, 30),
        title="Weekly massage +41 79 765 43 21",
        timezone="Europe/Berlin",
        series_id=SERIES,
    ),
    "exception": RemoteEvent(
        external_id="AAMkAGI2U2VyaWVzAAABEgAQAO2",
        start=utc(2026, 12, 4, 13, 0),
        end=utc(2026, 12, 4, 14, 0),
        title="Weekly massage +41 79 765 43 21 (moved)",
        timezone="Europe/Berlin",
        series_id=SERIES,
    ),
    "cancelled_occurrence": RemoteEvent(  # cancelled, not deleted: it keeps its details
        external_id="AAMkAGI2U2VyaWVzAAABEgAQAO3",
        start=utc(2026, 12, 10, 8, 30),
        end=utc(2026, 12, 10, 9, 30),
        title="Canceled: Weekly massage +41 79 765 43 21",
        timezone="Europe/Berlin",
        cancelled=True,
        series_id=SERIES,
    ),
    "removed": Removal("AAMkAGI2TG93AAA="),
    "html_body": RemoteEvent(
        external_id="AAMkAGI2SHRtbAAA",
        start=utc(2026, 4, 2, 8, 0),
        end=utc(2026, 4, 2, 9, 0),
        title="Colour & cut",
        location="Salon Paris",
        description=(
            '<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8"></head>'
            '<body><b>Client:</b> Jean Dupont<br>Phone: <a href="tel:+33612345678">+33 6 12 34 56 78</a>'
            "<br><i>bring photos</i></body></html>"
        ),
        timezone="Europe/Paris",
    ),
    "body_preview_only": RemoteEvent(
        external_id="AAMkAGI2UHJldmlldwAA",
        start=utc(2026, 5, 5, 7, 0),
        end=utc(2026, 5, 5, 7, 20),
        title="Beard trim",
        description="Call 076 555 44 33 if late",
        timezone="Europe/Berlin",
    ),
    "missing_fields": RemoteEvent(
        external_id="AAMkAGI2QmFyZQAA",
        start=utc(2026, 5, 5, 10, 0),
        end=utc(2026, 5, 5, 10, 0),  # no end: zero length
        timezone=ZONE,
    ),
    "series_master": None,
}


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_fixture_parses_to_expected(case: str) -> None:
    assert parse(load(case)) == EXPECTED[case]


def test_every_fixture_has_an_expectation() -> None:
    assert {p.stem for p in FIXTURES.glob("*.json")} == set(EXPECTED)


def test_times_are_aware_utc() -> None:
    for case in EXPECTED:
        parsed = parse(load(case))
        if isinstance(parsed, RemoteEvent):
            assert parsed.start.tzinfo is UTC
            assert parsed.end.tzinfo is UTC


def test_removed_entry_wins_over_any_details() -> None:
    item = dict(load("single_utc"), **{"@removed": {"reason": "changed"}})
    assert parse(item) == Removal("AAMkAGI2TG93AAA=")


def test_cancelled_single_event_is_a_cancelled_event() -> None:
    live = parse(load("single_utc"))
    assert isinstance(live, RemoteEvent)
    assert parse(dict(load("single_utc"), isCancelled=True)) == replace(live, cancelled=True)


def test_cancelled_occurrence_cancels_the_id_the_live_occurrence_had() -> None:
    live = parse(load("occurrence"))
    cancelled = parse(dict(load("occurrence"), isCancelled=True))
    assert isinstance(live, RemoteEvent)
    assert cancelled == replace(live, cancelled=True)


def test_cancelled_event_without_readable_times_is_a_cancellation_by_id() -> None:
    item = {"id": "AAMkAGI2TG93AAA=", "isCancelled": True, "start": {"dateTime": "soon", "timeZone": "UTC"}}
    assert parse(item) == Cancellation("AAMkAGI2TG93AAA=")
    with pytest.raises(UnreadableEvent):
        parse(dict(item, isCancelled=False))


def test_time_is_read_in_the_zone_written_next_to_it() -> None:
    """Without `Prefer: outlook.timezone` Graph answers in the event's own zone."""
    item = dict(
        load("single_utc"),
        originalStartTimeZone="Pacific Standard Time",
        start={"dateTime": "2026-11-25T02:00:00.0000000", "timeZone": "Pacific Standard Time"},
        end={"dateTime": "2026-11-25T02:45:00.0000000", "timeZone": "America/Los_Angeles"},
    )
    parsed = parse(item)
    assert isinstance(parsed, RemoteEvent)
    assert (parsed.start, parsed.end) == (utc(2026, 11, 25, 10, 0), utc(2026, 11, 25, 10, 45))
    assert parsed.timezone == "America/Los_Angeles"


def test_unknown_zone_names_fall_back_to_the_default_zone() -> None:
    item = dict(
        load("single_utc"),
        originalStartTimeZone="tzone://Microsoft/Custom",
        start={"dateTime": "2026-11-25T10:00:00.0000000", "timeZone": "Customized Time Zone"},
        end={"dateTime": "2026-11-25T10:45:00.0000000", "timeZone": "Customized Time Zone"},
    )
    parsed = parse(item)
    assert isinstance(parsed, RemoteEvent)
    assert parsed.start == utc(2026, 11, 25, 9, 0)  # 10:00 in Zurich (CET)
    assert parsed.timezone == ZONE


def test_a_date_time_with_an_offset_keeps_its_offset() -> None:
    item = dict(load("missing_fields"), start={"dateTime": "2026-05-05T10:00:00+02:00", "timeZone": "UTC"})
    parsed = parse(item)
    assert isinstance(parsed, RemoteEvent)
    assert parsed.start == utc(2026, 5, 5, 8, 0)


def test_all_day_without_end_lasts_one_day() -> None:
    item = {k: v for k, v in load("all_day").items() if k != "end"}
    parsed = parse(item)
    assert isinstance(parsed, RemoteEvent)
    assert (parsed.start, parsed.end) == (utc(2026, 3, 28, 23, 0), utc(2026, 3, 29, 22, 0))


def test_all_day_without_a_known_zone_uses_the_default_zone() -> None:
    item = {k: v for k, v in load("all_day").items() if not k.startswith("original")}
    parsed = parse_event(item, default_timezone="America/New_York")
    assert isinstance(parsed, RemoteEvent)
    assert parsed.start == utc(2026, 3, 29, 4, 0)  # midnight EDT
    assert parsed.timezone == "America/New_York"


def test_location_names_are_not_repeated() -> None:
    item = dict(
        load("iana_zone"),
        location={"displayName": "Room 2; Waiting area"},
        locations=[{"displayName": "Room 2"}, {"displayName": "Waiting area"}, {"displayName": ""}, "junk"],
    )
    parsed = parse(item)
    assert isinstance(parsed, RemoteEvent)
    assert parsed.location == "Room 2; Waiting area"


def test_empty_html_body_falls_back_to_the_preview() -> None:
    item = dict(load("body_preview_only"), body={"contentType": "html", "content": "  "})
    parsed = parse(item)
    assert isinstance(parsed, RemoteEvent)
    assert parsed.description == "Call 076 555 44 33 if late"


@pytest.mark.parametrize(
    ("item", "message"),
    [
        (
            {"subject": "no id", "start": {"dateTime": "2026-05-05T10:00:00", "timeZone": "UTC"}},
            "without an id",
        ),
        ({"id": "x"}, "no start"),
        ({"id": "x", "start": "2026-05-05"}, "not an object"),
        ({"id": "x", "start": {"dateTime": "someday", "timeZone": "UTC"}}, "unreadable dateTime"),
        ({"id": "x", "start": {"timeZone": "UTC"}}, "not text"),
        (
            {
                "id": "x",
                "start": {"dateTime": "2026-05-05T10:00:00", "timeZone": "UTC"},
                "end": {"dateTime": 5, "timeZone": "UTC"},
            },
            "not text",
        ),
    ],
)
def test_unreadable_events_raise(item: dict[str, Any], message: str) -> None:
    with pytest.raises(UnreadableEvent, match=message):
        parse(item)


def test_removal_needs_only_an_id() -> None:
    assert parse({"id": "gone", "@removed": {"reason": "deleted"}}) == Removal("gone")
    with pytest.raises(UnreadableEvent):
        parse({"@removed": {"reason": "deleted"}})


def test_unknown_default_zone_is_refused() -> None:
    with pytest.raises(UnreadableEvent, match="default time zone"):
        parse_event(load("single_utc"), default_timezone="Mars/Olympus")


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("W. Europe Standard Time", "Europe/Berlin"),
        ("Romance Standard Time", "Europe/Paris"),
        ("GMT Standard Time", "Europe/London"),
        ("Eastern Standard Time", "America/New_York"),
        ("Europe/Zurich", "Europe/Zurich"),
        ("UTC", "UTC"),
        ("tzone://Microsoft/Utc", "UTC"),
        (" W. Europe Standard Time ", "Europe/Berlin"),
        ("tzone://Microsoft/Custom", None),
        ("Customized Time Zone", None),
        ("../../etc/passwd", None),
        ("", None),
        ("x" * 300, None),
    ],
)
def test_zone_names(name: str, key: str | None) -> None:
    assert zone_key(name) == key
    assert (lookup_zone(name) is None) == (key is None)
