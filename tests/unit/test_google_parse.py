"""Google event resources → event, removal or cancelled instance; one fixture per case in fixtures/google/."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from connectors.calendars.base import RemoteEvent
from connectors.calendars.google.parse import (
    CancelledInstance,
    Removal,
    UnreadableEvent,
    instance_id,
    parse_event,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "google"
ZONE = "Europe/Zurich"


def load(case: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / f"{case}.json").read_text(encoding="utf-8"))
    return data


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


EXPECTED: dict[str, RemoteEvent | Removal | CancelledInstance] = {
    "timed_with_offset": RemoteEvent(
        external_id="7kq2b0s1ne0p1evt",
        start=utc(2026, 3, 10, 8, 30),
        end=utc(2026, 3, 10, 9, 15),
        title="Haircut Anna Muster",
        location="Salon, Bahnhofstrasse 1, Zürich",
        description="Mobile 079 123 45 67",
        timezone=ZONE,  # no timeZone on the event: the calendar's
    ),
    "timed_with_timezone": RemoteEvent(
        external_id="0nyc1a2b3c4d5e6f",
        start=utc(2026, 7, 1, 18, 0),  # 14:00 EDT
        end=utc(2026, 7, 1, 18, 30),
        title="Consultation",
        timezone="America/New_York",
    ),
    "all_day": RemoteEvent(
        external_id="allday0dstchange",
        # Midnight to midnight in Zurich on the day clocks go forward: a 23-hour day.
        start=utc(2026, 3, 28, 23, 0),
        end=utc(2026, 3, 29, 22, 0),
        title="Salon closed",
        timezone=ZONE,
        all_day=True,
    ),
    "recurring_instance": RemoteEvent(
        external_id="weekly0series/20260310T083000Z",
        start=utc(2026, 3, 10, 8, 30),
        end=utc(2026, 3, 10, 9, 30),
        title="Weekly massage +41 79 765 43 21",
        timezone=ZONE,
        series_id="weekly0series",
    ),
    "moved_instance": RemoteEvent(
        external_id="weekly0series/20260310T083000Z",  # the original start keeps the identity
        start=utc(2026, 3, 11, 14, 0),
        end=utc(2026, 3, 11, 15, 0),
        title="Weekly massage +41 79 765 43 21",
        timezone=ZONE,
        series_id="weekly0series",
    ),
    "cancelled_instance": CancelledInstance(
        "weekly0series/20260317T083000Z", "weekly0series", utc(2026, 3, 17, 8, 30)
    ),
    "deleted_stub": Removal("7kq2b0s1ne0p1evt"),
    "html_description": RemoteEvent(
        external_id="html0description",
        start=utc(2026, 4, 2, 8, 0),
        end=utc(2026, 4, 2, 9, 0),
        title="Colour & cut",
        description=(
            '<b>Client:</b> Jean Dupont<br>Phone: <a href="tel:+33612345678">+33 6 12 34 56 78</a>'
            "<br><i>bring photos</i>"
        ),
        timezone=ZONE,
    ),
    "missing_fields": RemoteEvent(
        external_id="bare0minimum",
        start=utc(2026, 5, 5, 10, 0),
        end=utc(2026, 5, 5, 10, 0),  # no end: zero length
        timezone=ZONE,
    ),
    "all_day_instance": RemoteEvent(
        external_id="monthly0allday/20260401",
        start=utc(2026, 4, 1, 22, 0),
        end=utc(2026, 4, 2, 22, 0),
        title="Inventory day",
        timezone=ZONE,
        all_day=True,
        series_id="monthly0allday",
    ),
}


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_fixture_parses_to_expected(case: str) -> None:
    assert parse_event(load(case), calendar_timezone=ZONE) == EXPECTED[case]


def test_every_fixture_has_an_expectation() -> None:
    assert {p.stem for p in FIXTURES.glob("*.json")} == set(EXPECTED)


def test_times_are_aware_utc() -> None:
    for case in EXPECTED:
        parsed = parse_event(load(case), calendar_timezone=ZONE)
        if isinstance(parsed, RemoteEvent):
            assert parsed.start.tzinfo is UTC
            assert parsed.end.tzinfo is UTC


def test_cancelled_instance_names_the_id_the_live_instance_had() -> None:
    live = parse_event(load("recurring_instance"), calendar_timezone=ZONE)
    cancelled = dict(
        load("cancelled_instance"), originalStartTime=load("recurring_instance")["originalStartTime"]
    )
    parsed = parse_event(cancelled, calendar_timezone=ZONE)
    assert isinstance(live, RemoteEvent)
    assert parsed == CancelledInstance(live.external_id, "weekly0series", live.start)


def test_cancelled_all_day_instance_starts_at_midnight_in_the_calendar_zone() -> None:
    item = {
        "id": "monthly0allday_20260401",
        "status": "cancelled",
        "recurringEventId": "monthly0allday",
        "originalStartTime": {"date": "2026-04-01"},
    }
    parsed = parse_event(item, calendar_timezone=ZONE)
    assert parsed == CancelledInstance("monthly0allday/20260401", "monthly0allday", utc(2026, 3, 31, 22, 0))


def test_instance_identity_does_not_depend_on_how_the_original_start_is_written() -> None:
    with_offset = {"dateTime": "2026-03-10T09:30:00+01:00"}
    in_utc = {"dateTime": "2026-03-10T08:30:00Z", "timeZone": "Europe/Zurich"}
    local_with_zone = {"dateTime": "2026-03-10T09:30:00", "timeZone": "Europe/Zurich"}
    local_calendar_zone = {"dateTime": "2026-03-10T09:30:00"}
    ids = {
        instance_id("s", field, ZONE) for field in (with_offset, in_utc, local_with_zone, local_calendar_zone)
    }
    assert ids == {"s/20260310T083000Z"}


def test_cancelled_event_with_details_is_still_a_removal() -> None:
    organizer_copy = dict(load("timed_with_offset"), status="cancelled")
    assert parse_event(organizer_copy, calendar_timezone=ZONE) == Removal("7kq2b0s1ne0p1evt")


def test_tentative_event_is_an_event() -> None:
    parsed = parse_event(dict(load("timed_with_offset"), status="tentative"), calendar_timezone=ZONE)
    assert isinstance(parsed, RemoteEvent)
    assert not parsed.cancelled


def test_unknown_event_zone_falls_back_to_the_calendar_zone() -> None:
    item = {
        "id": "x",
        "start": {"dateTime": "2026-01-05T10:00:00", "timeZone": "Mars/Olympus_Mons"},
        "end": {"dateTime": "2026-01-05T11:00:00", "timeZone": "Mars/Olympus_Mons"},
    }
    parsed = parse_event(item, calendar_timezone=ZONE)
    assert isinstance(parsed, RemoteEvent)
    assert (parsed.start, parsed.timezone) == (utc(2026, 1, 5, 9, 0), ZONE)


def test_all_day_uses_the_calendar_zone_given() -> None:
    parsed = parse_event(load("all_day"), calendar_timezone="Asia/Tokyo")
    assert isinstance(parsed, RemoteEvent)
    assert parsed.start == utc(2026, 3, 28, 15, 0)
    assert parsed.timezone == "Asia/Tokyo"


def test_non_text_fields_become_empty() -> None:
    item = dict(load("missing_fields"), summary=None, location=42, description=["x"])
    parsed = parse_event(item, calendar_timezone=ZONE)
    assert isinstance(parsed, RemoteEvent)
    assert (parsed.title, parsed.location, parsed.description) == ("", "", "")


@pytest.mark.parametrize(
    "item",
    [
        pytest.param({"start": {"dateTime": "2026-01-05T10:00:00Z"}}, id="no-id"),
        pytest.param({"id": "x"}, id="no-start"),
        pytest.param({"id": "x", "start": {}}, id="empty-start"),
        pytest.param({"id": "x", "start": "tomorrow"}, id="start-not-object"),
        pytest.param({"id": "x", "start": {"dateTime": "next tuesday"}}, id="bad-datetime"),
        pytest.param({"id": "x", "start": {"dateTime": 1700000000}}, id="numeric-datetime"),
        pytest.param({"id": "x", "start": {"date": "2026-02-30"}}, id="bad-date"),
        pytest.param({"id": "x", "start": {"dateTime": "0001-01-01T00:00:00+01:00"}}, id="out-of-range"),
        pytest.param(
            {"id": "x", "start": {"dateTime": "2026-01-05T10:00:00Z"}, "end": {"dateTime": "soon"}},
            id="bad-end",
        ),
        pytest.param(
            {"id": "s_1", "recurringEventId": "s", "start": {"dateTime": "2026-01-05T10:00:00Z"}},
            id="instance-without-original-start",
        ),
        pytest.param(
            {"id": "s_1", "status": "cancelled", "recurringEventId": "s"}, id="cancelled-instance-stub"
        ),
    ],
)
def test_unreadable_events_raise_a_value_error(item: dict[str, Any]) -> None:
    with pytest.raises(UnreadableEvent):
        parse_event(item, calendar_timezone=ZONE)
    assert issubclass(UnreadableEvent, ValueError)


def test_unknown_calendar_zone_is_unreadable() -> None:
    with pytest.raises(UnreadableEvent, match="time zone"):
        parse_event(load("timed_with_offset"), calendar_timezone="Nowhere/Special")
