"""What an ICS feed error says when the body is not iCalendar: never "not an iCalendar feed (got
text/calendar)", which contradicts itself, but what the server claimed and what it really sent."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest

from connectors.calendars.base import CalendarFeedInvalid
from connectors.calendars.feed_http import feed_client
from connectors.calendars.ics import IcsCalendarSource
from tests.support.http_feed import FeedState, feed_server
from tests.support.ics_messages import technical_parts

WINDOW_START = datetime(2026, 3, 9, 12, tzinfo=UTC)
WINDOW_END = datetime(2026, 4, 9, 12, tzinfo=UTC)
LOGIN_PAGE = b"<!DOCTYPE html><html><body>Please sign in</body></html>"


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with feed_client(allow_private=True, timeout=httpx.Timeout(5.0, connect=2.0)) as client:
        yield client


def refusal(http: httpx.Client, content_type: str, body: bytes) -> str:
    with feed_server(FeedState(body=body, content_type=content_type)) as url:
        source = IcsCalendarSource(url.replace("/calendar.ics", "/secret-token/calendar.ics"), http=http)
        with pytest.raises(CalendarFeedInvalid) as caught:
            source.fetch_changes(None, window_start=WINDOW_START, window_end=WINDOW_END)
    message = str(caught.value)
    assert "secret-token" not in message
    assert technical_parts(message) == []
    return message


@pytest.mark.parametrize(
    ("content_type", "body", "found"),
    [
        ("text/calendar; charset=utf-8", LOGIN_PAGE, "(it is an HTML page)"),
        ("text/calendar", b"", "(it is an empty document)"),
        ("application/ics", b'{"error": "expired"}', "(it is a JSON document)"),
        ("text/calendar", b"Your subscription has expired.", "(it does not begin with BEGIN:VCALENDAR)"),
    ],
)
def test_a_calendar_type_with_other_content_says_both(
    http: httpx.Client, content_type: str, body: bytes, found: str
) -> None:
    message = refusal(http, content_type, body)

    media_type = content_type.split(";")[0]
    assert f"answered with {media_type}, but the content is not an iCalendar file {found}." in message
    assert "not an iCalendar feed" not in message
    assert f"(got {media_type})" not in message


def test_another_type_keeps_its_words(http: httpx.Client) -> None:
    assert "is not an iCalendar feed (got text/html)." in refusal(http, "text/html", LOGIN_PAGE)
