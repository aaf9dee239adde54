"""IcsCalendarSource against a real HTTP server on loopback, and against local files.

The source runs over the guarded client tenants' links get (`feed_http`), with private networks
allowed because the test servers are on loopback, unless a test says otherwise.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import cast

import httpx
import pytest

from connectors.calendars.base import AccessRevoked, CalendarChanges, CalendarFeedInvalid, CalendarUnavailable
from connectors.calendars.feed_http import feed_client
from connectors.calendars.ics import IcsCalendarSource
from tests.support.http_feed import FeedState, feed_server

SECRET_PATH = "/calendar/ical/secret-token-123/basic.ics"
WINDOW_START = datetime(2026, 3, 9, 12, tzinfo=UTC)
WINDOW_END = datetime(2026, 4, 9, 12, tzinfo=UTC)


def calendar(*events: str) -> bytes:
    body = "".join(events)
    return f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n{body}END:VCALENDAR\r\n".encode()


DAILY = "BEGIN:VEVENT\r\nUID:daily\r\nDTSTART:20260302T090000Z\r\nRRULE:FREQ=DAILY\r\nEND:VEVENT\r\n"
EXTRA = "BEGIN:VEVENT\r\nUID:extra\r\nDTSTART:20260320T150000Z\r\nSUMMARY:Extra\r\nEND:VEVENT\r\n"


@dataclass
class Feed:
    """What the server answers; tests change it between fetches."""

    body: bytes = field(default_factory=lambda: calendar(DAILY))
    etag: str = '"v1"'
    last_modified: str = "Tue, 10 Mar 2026 08:00:00 GMT"
    status: int = 200
    content_type: str = "text/calendar; charset=utf-8"
    send_length: bool = True
    honour_conditional: bool = True
    delay: float = 0.0
    requests: list[dict[str, str]] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    feed: Feed


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        feed = cast(_Server, self.server).feed
        feed.requests.append({"path": self.path, **{k.lower(): v for k, v in self.headers.items()}})
        if feed.delay:
            feed.stopping.wait(feed.delay)
        if self.path != SECRET_PATH:
            self.send_response(301)
            self.send_header("Location", SECRET_PATH)
            self.end_headers()
            return
        if feed.status != 200:
            self._answer(feed.status, b"<html>error</html>", "text/html")
            return
        not_modified = self.headers.get("If-None-Match") == feed.etag
        if feed.honour_conditional and not_modified:
            self.send_response(304)
            self.send_header("ETag", feed.etag)
            self.end_headers()
            return
        self._answer(200, feed.body, feed.content_type, feed)

    def _answer(self, status: int, body: bytes, content_type: str, feed: Feed | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        if feed is not None:
            self.send_header("ETag", feed.etag)
            self.send_header("Last-Modified", feed.last_modified)
        if feed is None or feed.send_length:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
        pass


@pytest.fixture
def feed() -> Feed:
    return Feed()


@pytest.fixture
def base_url(feed: Feed) -> Iterator[str]:
    server = _Server(("127.0.0.1", 0), _Handler)
    server.feed = feed
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    feed.stopping.set()
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with feed_client(allow_private=True, timeout=httpx.Timeout(5.0, connect=2.0)) as client:
        yield client


def fetch(source: IcsCalendarSource) -> CalendarChanges:
    return source.fetch_changes(None, window_start=WINDOW_START, window_end=WINDOW_END)


def test_first_fetch_returns_events_and_a_cursor(feed: Feed, base_url: str, http: httpx.Client) -> None:
    source = IcsCalendarSource(base_url + SECRET_PATH, http=http)
    changes = source.fetch_changes(None, window_start=WINDOW_START, window_end=WINDOW_END)
    assert changes.complete
    assert not changes.unchanged
    assert (changes.window_start, changes.window_end) == (WINDOW_START, WINDOW_END)
    assert [e.start.day for e in changes.events][:3] == [10, 11, 12]
    assert changes.events[-1].start == datetime(2026, 4, 9, 9, tzinfo=UTC)
    assert changes.cursor is not None
    cursor = json.loads(changes.cursor)
    assert (cursor["etag"], cursor["window_end_day"]) == ('"v1"', "2026-04-09")
    assert "if-none-match" not in feed.requests[0]


def test_unchanged_feed_answers_304(feed: Feed, base_url: str, http: httpx.Client) -> None:
    source = IcsCalendarSource(base_url + SECRET_PATH, http=http)
    first = source.fetch_changes(None, window_start=WINDOW_START, window_end=WINDOW_END)
    later = WINDOW_END + timedelta(hours=3)  # same day: the old expansion is still good
    second = source.fetch_changes(first.cursor, window_start=WINDOW_START, window_end=later)
    assert second.unchanged
    assert second.cursor == first.cursor
    assert list(second.events) == []
    assert feed.requests[1]["if-none-match"] == '"v1"'
    assert feed.requests[1]["if-modified-since"] == feed.last_modified


def test_changed_feed_returns_new_events(feed: Feed, base_url: str, http: httpx.Client) -> None:
    source = IcsCalendarSource(base_url + SECRET_PATH, http=http)
    first = source.fetch_changes(None, window_start=WINDOW_START, window_end=WINDOW_END)
    feed.body, feed.etag = calendar(DAILY, EXTRA), '"v2"'
    second = source.fetch_changes(first.cursor, window_start=WINDOW_START, window_end=WINDOW_END)
    assert second.complete
    assert "extra" in {e.external_id for e in second.events}
    assert second.cursor != first.cursor


def test_window_moved_to_next_day_refetches_and_reexpands(
    feed: Feed, base_url: str, http: httpx.Client
) -> None:
    source = IcsCalendarSource(base_url + SECRET_PATH, http=http)
    first = source.fetch_changes(None, window_start=WINDOW_START, window_end=WINDOW_END)
    day = timedelta(days=1)
    second = source.fetch_changes(first.cursor, window_start=WINDOW_START + day, window_end=WINDOW_END + day)
    assert "if-none-match" not in feed.requests[1]
    assert second.complete
    assert second.events[-1].external_id == "daily/20260410T090000Z"
    assert second.cursor is not None
    assert json.loads(second.cursor)["window_end_day"] == "2026-04-10"


def test_same_body_without_validators_is_unchanged_by_hash(
    feed: Feed, base_url: str, http: httpx.Client
) -> None:
    feed.honour_conditional = False
    source = IcsCalendarSource(base_url + SECRET_PATH, http=http)
    first = source.fetch_changes(None, window_start=WINDOW_START, window_end=WINDOW_END)
    second = source.fetch_changes(first.cursor, window_start=WINDOW_START, window_end=WINDOW_END)
    assert second.unchanged
    assert list(second.events) == []


def test_redirects_are_followed(feed: Feed, base_url: str, http: httpx.Client) -> None:
    source = IcsCalendarSource(base_url + "/old-link.ics", http=http)
    changes = source.fetch_changes(None, window_start=WINDOW_START, window_end=WINDOW_END)
    assert changes.events
    assert [r["path"] for r in feed.requests] == ["/old-link.ics", SECRET_PATH]


@pytest.mark.parametrize(
    ("status", "error", "words"),
    [
        (500, CalendarUnavailable, "HTTP 500"),
        (503, CalendarUnavailable, "HTTP 503"),
        (429, CalendarUnavailable, "HTTP 429"),
        (401, AccessRevoked, "HTTP 401"),
        (403, AccessRevoked, "HTTP 403"),
        (404, CalendarFeedInvalid, "no longer exists"),
        (410, CalendarFeedInvalid, "no longer exists"),
        (400, CalendarFeedInvalid, "HTTP 400"),
    ],
)
def test_http_errors_map_to_calendar_errors(
    feed: Feed, base_url: str, http: httpx.Client, status: int, error: type[Exception], words: str
) -> None:
    feed.status = status
    source = IcsCalendarSource(base_url + SECRET_PATH, http=http)
    with pytest.raises(error, match=words) as caught:
        source.fetch_changes(None, window_start=WINDOW_START, window_end=WINDOW_END)
    assert base_url in str(caught.value)
    assert "secret-token" not in str(caught.value)


def test_access_revoked_is_not_retryable(feed: Feed, base_url: str, http: httpx.Client) -> None:
    feed.status = 401
    with pytest.raises(AccessRevoked) as caught:
        fetch(IcsCalendarSource(base_url + SECRET_PATH, http=http))
    assert caught.value.retryable is False


def test_html_login_page_is_not_a_feed(feed: Feed, base_url: str, http: httpx.Client) -> None:
    feed.body, feed.content_type = b"<!DOCTYPE html><html><body>Please sign in</body></html>", "text/html"
    with pytest.raises(CalendarFeedInvalid, match=r"is not an iCalendar feed \(got text/html\)"):
        fetch(IcsCalendarSource(base_url + SECRET_PATH, http=http))


@pytest.mark.parametrize("send_length", [True, False])
def test_oversize_body_is_refused(feed: Feed, base_url: str, http: httpx.Client, send_length: bool) -> None:
    feed.body = calendar(*(DAILY.replace("daily", f"d{i}") for i in range(100)))
    feed.send_length = send_length
    with pytest.raises(CalendarFeedInvalid, match="larger than 2,000 bytes"):
        fetch(IcsCalendarSource(base_url + SECRET_PATH, http=http, max_bytes=2000))


def test_default_limit_message_is_in_megabytes(feed: Feed, base_url: str, http: httpx.Client) -> None:
    source = IcsCalendarSource(base_url + SECRET_PATH, http=http, max_bytes=1_000_000)
    feed.body = calendar(DAILY) + b" " * 1_000_001
    with pytest.raises(CalendarFeedInvalid, match="larger than 1 MB"):
        fetch(source)


def test_connection_refused_is_unavailable(http: httpx.Client) -> None:
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens there
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(CalendarUnavailable, match=rf"http://127\.0\.0\.1:{port}/…") as caught:
        fetch(IcsCalendarSource(f"http://127.0.0.1:{port}{SECRET_PATH}", http=http))
    assert "secret-token" not in str(caught.value)


def test_timeout_is_unavailable(feed: Feed, base_url: str) -> None:
    feed.delay = 5.0
    with httpx.Client(timeout=0.3) as impatient:
        source = IcsCalendarSource(base_url + SECRET_PATH, http=impatient)
        with pytest.raises(CalendarUnavailable, match="did not answer in time"):
            fetch(source)


def test_webcal_means_https(base_url: str, http: httpx.Client) -> None:
    # The loopback server speaks plain HTTP, so the TLS handshake the https:// request starts fails.
    with pytest.raises(CalendarUnavailable, match=r"https://127\.0\.0\.1"):
        fetch(IcsCalendarSource(base_url.replace("http://", "webcal://") + SECRET_PATH, http=http))


def test_own_client_is_guarded_and_closed(feed: Feed, base_url: str) -> None:
    source = IcsCalendarSource(base_url + SECRET_PATH)
    with pytest.raises(CalendarFeedInvalid, match="private network"):
        fetch(source)
    assert feed.requests == []
    source.close()


# --- tenants' links: private networks and the deadline -----------------------------------------


def test_a_link_into_a_private_network_is_refused_naming_only_the_host(feed: Feed, base_url: str) -> None:
    link = base_url.replace("127.0.0.1", "localhost") + SECRET_PATH
    with feed_client() as guarded, pytest.raises(CalendarFeedInvalid) as caught:
        fetch(IcsCalendarSource(link, http=guarded))
    message = str(caught.value)
    port = base_url.rsplit(":", 1)[1]
    assert message == (
        f"http://localhost:{port}/… points into a private network, which this server may not read."
    )
    assert feed.requests == []


def test_a_redirect_into_a_private_network_names_where_it_led() -> None:
    state = FeedState(redirect_to="http://169.254.169.254/latest/meta-data/iam/security-credentials/")
    with feed_server(state) as url:
        port = int(url.rsplit(":", 1)[1].split("/")[0])
        with (
            feed_client(allowed=[("127.0.0.1", port)]) as guarded,
            pytest.raises(CalendarFeedInvalid) as caught,
        ):
            fetch(IcsCalendarSource(url.replace("calendar.ics", "secret-token-123/c.ics"), http=guarded))
    message = str(caught.value)
    assert message == (
        f"http://127.0.0.1:{port}/… redirected to 169.254.169.254, which points into a private "
        "network that this server may not read."
    )
    assert "secret-token" not in message
    assert "meta-data" not in message


SLOW = calendar(*(DAILY.replace("daily", f"d{i}") for i in range(10)))


def test_a_slow_drip_is_cut_off_at_the_deadline() -> None:
    state = FeedState(body=SLOW, drip_seconds=0.05)  # the whole body would take about a minute
    with feed_server(state) as url, feed_client(allow_private=True) as guarded:
        source = IcsCalendarSource(url, http=guarded, fetch_deadline_seconds=1)
        with pytest.raises(CalendarUnavailable) as caught:
            fetch(source)
    port = url.rsplit(":", 1)[1].split("/")[0]
    assert str(caught.value) == (
        f"The calendar server at http://127.0.0.1:{port}/… did not send the calendar within 1 s."
    )


def test_the_deadline_also_holds_over_a_plain_client() -> None:
    state = FeedState(body=SLOW, drip_seconds=0.05)
    with feed_server(state) as url, httpx.Client(timeout=5.0) as plain:
        source = IcsCalendarSource(url, http=plain, fetch_deadline_seconds=1)
        with pytest.raises(CalendarUnavailable, match="did not send the calendar within 1 s"):
            fetch(source)


# --- local files -------------------------------------------------------------------------------


@pytest.mark.parametrize("as_url", [False, True])
def test_local_file_and_file_url(tmp_path: Path, as_url: bool) -> None:
    path = tmp_path / "salon feed.ics"
    path.write_bytes(calendar(DAILY))
    source = IcsCalendarSource(path.as_uri() if as_url else str(path))
    first = source.fetch_changes(None, window_start=WINDOW_START, window_end=WINDOW_END)
    assert first.complete
    assert len(first.events) == 31
    second = source.fetch_changes(first.cursor, window_start=WINDOW_START, window_end=WINDOW_END)
    assert second.unchanged
    path.write_bytes(calendar(DAILY, EXTRA))
    third = source.fetch_changes(second.cursor, window_start=WINDOW_START, window_end=WINDOW_END)
    assert "extra" in {e.external_id for e in third.events}


def test_touched_file_with_same_content_is_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "feed.ics"
    path.write_bytes(calendar(DAILY))
    source = IcsCalendarSource(str(path))
    first = source.fetch_changes(None, window_start=WINDOW_START, window_end=WINDOW_END)
    path.write_bytes(calendar(DAILY))  # new mtime, same bytes
    second = source.fetch_changes(first.cursor, window_start=WINDOW_START, window_end=WINDOW_END)
    assert second.unchanged


def test_missing_file_is_unavailable(tmp_path: Path) -> None:
    missing = tmp_path / "gone.ics"
    with pytest.raises(CalendarUnavailable, match=r"gone\.ics"):
        fetch(IcsCalendarSource(str(missing)))


def test_local_file_that_is_not_a_calendar(tmp_path: Path) -> None:
    path = tmp_path / "notes.ics"
    path.write_text('{"not": "a calendar"}')
    with pytest.raises(CalendarFeedInvalid, match="JSON"):
        fetch(IcsCalendarSource(str(path)))


@pytest.mark.parametrize(
    "cursor",
    [
        "not json",
        "[1, 2]",
        '{"sha256": 1}',
        '{"v": 1, "sha256": "x", "window_end_day": "2026-04-09", "timezone": "Europe/Zurich", "size": "9"}',
    ],
)
def test_unreadable_cursor_means_a_full_fetch(tmp_path: Path, cursor: str) -> None:
    path = tmp_path / "feed.ics"
    path.write_bytes(calendar(DAILY))
    changes = IcsCalendarSource(str(path)).fetch_changes(
        cursor, window_start=WINDOW_START, window_end=WINDOW_END
    )
    assert changes.complete
