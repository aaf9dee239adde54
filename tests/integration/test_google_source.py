"""The Google connector through the official libraries against the local Google emulator.

Tokens come from the real OAuth dance (connectors.calendars.google.oauth) against the emulator.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import httpx
import pytest

from connectors.calendars.base import (
    AccessRevoked,
    CalendarChanges,
    CalendarFeedInvalid,
    CalendarUnavailable,
    RemoteEvent,
)
from connectors.calendars.google import (
    READ_SCOPES,
    GoogleCalendarSource,
    GoogleClient,
    GoogleEndpoints,
    GoogleToken,
    OAuthFailed,
    authorization_request,
    exchange_code,
    revoke,
)

try:
    from tests.emulators.google import GoogleEmulator
except ImportError as exc:  # pragma: no cover - only while the emulator is being written
    pytest.skip(f"Google emulator not available: {exc}", allow_module_level=True)

OWNER = "owner@example.com"
CALENDAR = OWNER  # the user's primary calendar has the user's address as its id
ZONE = "Europe/Zurich"
REDIRECT = "http://127.0.0.1:8000/oauth/google/callback"
SCOPE = "https://www.googleapis.com/auth/"


class Recorder:
    """Stands in for time.sleep and for the token-refresh callback."""

    def __init__(self) -> None:
        self.sleeps: list[float] = []
        self.tokens: list[GoogleToken] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)

    def refreshed(self, token: GoogleToken) -> None:
        self.tokens.append(token)


@pytest.fixture
def emu() -> Iterator[GoogleEmulator]:
    with GoogleEmulator() as emulator:
        emulator.add_user(OWNER)
        yield emulator
    assert emulator.internal_errors == []


@pytest.fixture
def client() -> GoogleClient:
    return GoogleClient(client_id="test-client", client_secret="test-secret", redirect_uri=REDIRECT)


@pytest.fixture
def endpoints(emu: GoogleEmulator) -> GoogleEndpoints:
    return GoogleEndpoints(
        auth_url=emu.auth_url, token_url=emu.token_url, revoke_url=emu.revoke_url, api_url=emu.api_url
    )


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


def consent(
    emu: GoogleEmulator,
    client: GoogleClient,
    endpoints: GoogleEndpoints,
    *,
    have_refresh_token: bool = False,
    granted: list[str] | None = None,
) -> tuple[str, str]:
    """Walk the consent screen; returns (code, verifier)."""
    emu.set_consenting_user(OWNER, granted_scopes=granted)
    url, verifier = authorization_request(
        client, endpoints, state="state-123", have_refresh_token=have_refresh_token
    )
    with httpx.Client() as http:
        answer = http.get(url, follow_redirects=False)
    assert answer.status_code == 302, answer.text
    callback = parse_qs(urlsplit(answer.headers["Location"]).query)
    assert callback["state"] == ["state-123"]
    return callback["code"][0], verifier


@pytest.fixture
def token(emu: GoogleEmulator, client: GoogleClient, endpoints: GoogleEndpoints) -> GoogleToken:
    code, verifier = consent(emu, client, endpoints)
    return exchange_code(client, endpoints, code=code, code_verifier=verifier)


@pytest.fixture
def source(
    token: GoogleToken, client: GoogleClient, endpoints: GoogleEndpoints, recorder: Recorder
) -> GoogleCalendarSource:
    return make_source(token, client, endpoints, recorder)


def make_source(
    token: GoogleToken,
    client: GoogleClient,
    endpoints: GoogleEndpoints,
    recorder: Recorder,
    *,
    calendar_id: str = CALENDAR,
    page_size: int = 2500,
) -> GoogleCalendarSource:
    return GoogleCalendarSource(
        calendar_id,
        token,
        client=client,
        endpoints=endpoints,
        default_timezone=ZONE,
        on_token_refreshed=recorder.refreshed,
        sleep=recorder.sleep,
        page_size=page_size,
        timeout=5.0,
    )


def free_port() -> int:
    """A loopback port nobody listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


# --- time helpers ---------------------------------------------------------------------------------

NOW = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
WINDOW_START = NOW - timedelta(days=1)
WINDOW_END = NOW + timedelta(days=60)


def at(days: float, hours: float = 10) -> datetime:
    """A moment `days` from today at `hours` o'clock UTC."""
    return NOW.replace(hour=0) + timedelta(days=days, hours=hours)


def rfc(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def timed(event_id: str, start: datetime, minutes: int = 45, **fields: Any) -> dict[str, Any]:
    return {
        "id": event_id,
        "summary": f"Appointment {event_id}",
        "start": {"dateTime": rfc(start)},
        "end": {"dateTime": rfc(start + timedelta(minutes=minutes))},
        **fields,
    }


def weekly(event_id: str, start: datetime, count: int = 4) -> dict[str, Any]:
    local = start.astimezone(_zone())
    return {
        "id": event_id,
        "summary": "Weekly massage 079 123 45 67",
        "start": {"dateTime": local.replace(tzinfo=None).isoformat(), "timeZone": ZONE},
        "end": {"dateTime": (local + timedelta(hours=1)).replace(tzinfo=None).isoformat(), "timeZone": ZONE},
        "recurrence": [f"RRULE:FREQ=WEEKLY;COUNT={count}"],
    }


def _zone() -> ZoneInfo:
    return ZoneInfo(ZONE)


def local_days_later(moment: datetime, days: int) -> datetime:
    """The same wall-clock time in the calendar's zone `days` later (series keep local time over DST)."""
    local = moment.astimezone(_zone()).replace(tzinfo=None) + timedelta(days=days)
    return local.replace(tzinfo=_zone()).astimezone(UTC)


def basic(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def full_sync(source: GoogleCalendarSource) -> CalendarChanges:
    return source.fetch_changes(None, window_start=WINDOW_START, window_end=WINDOW_END)


def sync(source: GoogleCalendarSource, cursor: str | None) -> CalendarChanges:
    return source.fetch_changes(cursor, window_start=WINDOW_START, window_end=WINDOW_END)


def by_id(changes: CalendarChanges) -> dict[str, RemoteEvent]:
    return {e.external_id: e for e in changes.events}


def list_requests(emu: GoogleEmulator) -> list[dict[str, list[str]]]:
    return [r.query for r in emu.requests if r.method == "GET" and r.path.endswith("/events")]


# --- full sync ------------------------------------------------------------------------------------


def test_full_sync_pages_through_everything(
    emu: GoogleEmulator,
    token: GoogleToken,
    client: GoogleClient,
    endpoints: GoogleEndpoints,
    recorder: Recorder,
) -> None:
    for n in range(600):
        emu.put_event(CALENDAR, timed(f"ev{n:04d}", at(1 + n % 50, 8 + n % 9)))
    emu.put_event(CALENDAR, timed("past", at(-5)))  # ends before the window: not listed
    emu.put_event(CALENDAR, timed("far", at(400)))  # beyond the horizon: listed all the same
    source = make_source(token, client, endpoints, recorder, page_size=100)

    changes = full_sync(source)

    assert changes.complete
    assert changes.window_start == WINDOW_START
    assert changes.window_end is None
    assert changes.removed_ids == ()
    ids = set(by_id(changes))
    assert len(changes.events) == 601
    assert {"ev0000", "ev0599", "far"} <= ids
    assert "past" not in ids
    queries = list_requests(emu)
    assert len(queries) == 7
    first = queries[0]
    assert first["singleEvents"] == ["true"]
    assert first["showDeleted"] == ["true"]
    assert first["maxResults"] == ["100"]
    assert datetime.fromisoformat(first["timeMin"][0]) == WINDOW_START
    assert "timeMax" not in first
    assert all("pageToken" in q for q in queries[1:])
    cursor = json.loads(changes.cursor or "")
    assert cursor["v"] == 1
    assert cursor["calendar"] == CALENDAR
    assert cursor["sync_token"]


def test_full_sync_survives_empty_pages(
    emu: GoogleEmulator,
    token: GoogleToken,
    client: GoogleClient,
    endpoints: GoogleEndpoints,
    recorder: Recorder,
) -> None:
    emu.options.empty_page_every = 2
    for n in range(30):
        emu.put_event(CALENDAR, timed(f"ev{n}", at(2, 8 + n % 9)))
    changes = full_sync(make_source(token, client, endpoints, recorder, page_size=7))
    assert len(changes.events) == 30


def test_full_sync_reads_times_zones_and_series(emu: GoogleEmulator, source: GoogleCalendarSource) -> None:
    start = at(3, 9)
    emu.put_event(CALENDAR, timed("single", start, description="<b>Tel</b> 079 555 66 77"))
    emu.put_event(
        CALENDAR,
        {"id": "day", "start": {"date": at(4).date().isoformat()}, "end": {"date": at(5).date().isoformat()}},
    )
    emu.put_event(CALENDAR, weekly("series", at(2, 8)))

    events = by_id(full_sync(source))

    single = events["single"]
    assert (single.start, single.end) == (start, start + timedelta(minutes=45))
    assert single.description == "<b>Tel</b> 079 555 66 77"
    assert single.timezone == ZONE
    day = events["day"]
    assert day.all_day
    assert day.start == datetime.combine(at(4).date(), datetime.min.time(), tzinfo=_zone()).astimezone(UTC)
    instances = sorted((e for e in events.values() if e.series_id == "series"), key=lambda e: e.start)
    assert len(instances) == 4
    assert instances[0].external_id == f"series/{basic(at(2, 8))}"
    assert all(e.timezone == ZONE for e in instances)


def test_all_day_events_use_the_calendars_zone(
    emu: GoogleEmulator,
    token: GoogleToken,
    client: GoogleClient,
    endpoints: GoogleEndpoints,
    recorder: Recorder,
) -> None:
    emu.add_calendar(OWNER, "ny@group.calendar.google.com", "New York", time_zone="America/New_York")
    day = at(4).date()
    emu.put_event(
        "ny@group.calendar.google.com",
        {
            "id": "day",
            "start": {"date": day.isoformat()},
            "end": {"date": (day + timedelta(days=1)).isoformat()},
        },
    )
    source = make_source(token, client, endpoints, recorder, calendar_id="ny@group.calendar.google.com")
    event = by_id(full_sync(source))["day"]
    assert event.start == datetime.combine(day, datetime.min.time(), tzinfo=ZoneInfo("America/New_York"))
    assert event.timezone == "America/New_York"


def test_an_unreadable_event_is_skipped_with_a_warning(
    emu: GoogleEmulator, source: GoogleCalendarSource
) -> None:
    good = timed("good", at(2))
    bad = {"id": "bad", "status": "confirmed", "start": {"dateTime": "someday"}, "end": {"dateTime": "later"}}
    page = {"kind": "calendar#events", "timeZone": ZONE, "items": [bad, good], "nextSyncToken": "sy_x"}
    emu.inject_fault("GET", EVENTS_PATH, 200, body=page)
    changes = full_sync(source)
    assert set(by_id(changes)) == {"good"}
    assert len(changes.warnings) == 1
    assert "could not be read" in changes.warnings[0]
    assert "bad" in changes.warnings[0]


# --- incremental ----------------------------------------------------------------------------------


def test_incremental_create_move_cancel_delete(
    emu: GoogleEmulator, source: GoogleCalendarSource, recorder: Recorder
) -> None:
    emu.put_event(CALENDAR, timed("keep", at(2)))
    emu.put_event(CALENDAR, timed("doomed", at(3)))
    first_start = at(1, 8)
    emu.put_event(CALENDAR, weekly("series", first_start))
    cursor = full_sync(source).cursor

    nothing = sync(source, cursor)
    assert not nothing.complete
    assert (list(nothing.events), list(nothing.removed_ids)) == ([], [])

    second, third = local_days_later(first_start, 7), local_days_later(first_start, 14)
    emu.put_event(CALENDAR, timed("new", at(5)))
    emu.put_event(CALENDAR, timed("keep", at(2, 15)))  # moved
    emu.delete_event(CALENDAR, "doomed")
    local = third.astimezone(_zone()).replace(tzinfo=None)
    emu.cancel_instance(CALENDAR, "series", rfc(second))
    moved_to = local + timedelta(days=1)
    emu.move_instance(
        CALENDAR,
        "series",
        rfc(third),
        {"dateTime": moved_to.isoformat(), "timeZone": ZONE},
        {"dateTime": (moved_to + timedelta(hours=1)).isoformat(), "timeZone": ZONE},
    )

    changes = sync(source, cursor)

    assert not changes.complete
    events = by_id(changes)
    assert set(events) == {"new", "keep", f"series/{basic(third)}"}
    assert events["keep"].start == at(2, 15)
    moved = events[f"series/{basic(third)}"]
    assert moved.start == local_days_later(third, 1)
    assert moved.series_id == "series"
    assert set(changes.removed_ids) == {"doomed"}
    assert list(changes.cancelled_ids) == [f"series/{basic(second)}"]  # the series goes on
    incremental = list_requests(emu)[-1]
    assert "syncToken" in incremental
    assert "timeMin" not in incremental
    assert incremental["showDeleted"] == ["true"]
    assert incremental["singleEvents"] == ["true"]

    assert sync(source, changes.cursor).events == []
    assert recorder.sleeps == []


def test_deleting_a_series_removes_each_instance(emu: GoogleEmulator, source: GoogleCalendarSource) -> None:
    first = at(1, 8)
    emu.put_event(CALENDAR, weekly("series", first, count=3))
    cursor = full_sync(source).cursor
    emu.delete_event(CALENDAR, "series")
    changes = sync(source, cursor)
    assert list(changes.events) == []
    assert set(changes.removed_ids) == {f"series/{basic(local_days_later(first, 7 * n))}" for n in range(3)}


def test_incremental_paging_keeps_the_last_word(
    emu: GoogleEmulator,
    token: GoogleToken,
    client: GoogleClient,
    endpoints: GoogleEndpoints,
    recorder: Recorder,
) -> None:
    source = make_source(token, client, endpoints, recorder, page_size=5)
    cursor = full_sync(source).cursor
    for n in range(23):
        emu.put_event(CALENDAR, timed(f"ev{n}", at(2, 8 + n % 9)))
    emu.delete_event(CALENDAR, "ev3")
    changes = sync(source, cursor)
    assert len(changes.events) == 22
    assert list(changes.removed_ids) == ["ev3"]


def test_expired_sync_token_turns_into_a_complete_full_sync(
    emu: GoogleEmulator, source: GoogleCalendarSource
) -> None:
    emu.put_event(CALENDAR, timed("a", at(2)))
    cursor = full_sync(source).cursor
    emu.put_event(CALENDAR, timed("b", at(3)))
    emu.delete_event(CALENDAR, "a")
    emu.invalidate_sync_tokens()

    changes = sync(source, cursor)

    assert changes.complete
    assert changes.window_end is None
    assert set(by_id(changes)) == {"b"}
    assert changes.removed_ids == ()
    assert changes.cursor != cursor
    assert sync(source, changes.cursor).events == []


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "not json",
        '{"v": 99, "sync_token": "x"}',
        '{"v": 1, "calendar": "other@example.com", "sync_token": "x"}',
    ],
)
def test_unusable_cursor_means_a_full_sync(
    emu: GoogleEmulator, source: GoogleCalendarSource, cursor: str
) -> None:
    emu.put_event(CALENDAR, timed("a", at(2)))
    changes = sync(source, cursor)
    assert changes.complete
    assert set(by_id(changes)) == {"a"}


# --- errors, retries and backoff ------------------------------------------------------------------

EVENTS_PATH = "/calendar/v3/calendars/"


def test_rate_limit_honours_retry_after(
    emu: GoogleEmulator, source: GoogleCalendarSource, recorder: Recorder
) -> None:
    emu.put_event(CALENDAR, timed("a", at(2)))
    emu.inject_fault("GET", EVENTS_PATH, 429, headers={"Retry-After": "2"})
    changes = full_sync(source)
    assert set(by_id(changes)) == {"a"}
    assert len(recorder.sleeps) == 1
    assert recorder.sleeps[0] >= 2


@pytest.mark.parametrize("reason", ["rateLimitExceeded", "userRateLimitExceeded"])
def test_403_rate_limits_are_retried(
    emu: GoogleEmulator, source: GoogleCalendarSource, recorder: Recorder, reason: str
) -> None:
    emu.inject_fault("GET", EVENTS_PATH, 403, reason=reason, times=2)
    assert full_sync(source).complete
    assert len(recorder.sleeps) == 2
    assert recorder.sleeps[1] > recorder.sleeps[0]  # 1-2 s, then 2-3 s: exponential with jitter


def test_server_errors_are_retried(
    emu: GoogleEmulator, source: GoogleCalendarSource, recorder: Recorder
) -> None:
    emu.put_event(CALENDAR, timed("a", at(2)))
    emu.inject_fault("GET", EVENTS_PATH, 500, times=2)
    assert set(by_id(full_sync(source))) == {"a"}
    assert len(recorder.sleeps) == 2


def test_persistent_server_errors_give_up(
    emu: GoogleEmulator, source: GoogleCalendarSource, recorder: Recorder
) -> None:
    emu.inject_fault("GET", EVENTS_PATH, 500, times=50)
    with pytest.raises(CalendarUnavailable, match=r"HTTP 500.*will retry"):
        full_sync(source)
    assert len(recorder.sleeps) == 4  # max_retries


def test_persistent_rate_limit_gives_up_with_a_plain_message(
    emu: GoogleEmulator, source: GoogleCalendarSource, recorder: Recorder
) -> None:
    emu.inject_fault("GET", EVENTS_PATH, 429, times=50)
    with pytest.raises(CalendarUnavailable) as raised:
        full_sync(source)
    assert str(raised.value) == "Google is rate-limiting this calendar; will retry"
    assert len(recorder.sleeps) == 4


def test_long_retry_after_is_not_waited_for(
    emu: GoogleEmulator, source: GoogleCalendarSource, recorder: Recorder
) -> None:
    emu.inject_fault("GET", EVENTS_PATH, 429, headers={"Retry-After": "3600"})
    with pytest.raises(CalendarUnavailable, match="rate-limiting"):
        full_sync(source)
    assert recorder.sleeps == []


def test_quota_exceeded_is_not_retried(
    emu: GoogleEmulator, source: GoogleCalendarSource, recorder: Recorder
) -> None:
    emu.inject_fault("GET", EVENTS_PATH, 403, reason="quotaExceeded")
    with pytest.raises(CalendarUnavailable, match="usage limit"):
        full_sync(source)
    assert recorder.sleeps == []


def test_missing_calendar_is_feed_invalid(
    token: GoogleToken, client: GoogleClient, endpoints: GoogleEndpoints, recorder: Recorder
) -> None:
    source = make_source(token, client, endpoints, recorder, calendar_id="gone@group.calendar.google.com")
    with pytest.raises(CalendarFeedInvalid, match="no longer exists or is no longer shared"):
        full_sync(source)


def test_unreachable_google_names_only_the_host(
    token: GoogleToken, client: GoogleClient, recorder: Recorder
) -> None:
    port = free_port()
    dead = GoogleEndpoints(
        auth_url=f"http://127.0.0.1:{port}/auth",
        token_url=f"http://127.0.0.1:{port}/token",
        revoke_url=f"http://127.0.0.1:{port}/revoke",
        api_url=f"http://127.0.0.1:{port}/calendar/v3/",
    )
    source = make_source(token, client, dead, recorder)
    with pytest.raises(CalendarUnavailable) as raised:
        full_sync(source)
    message = str(raised.value)
    assert f"http://127.0.0.1:{port}" in message
    assert "/calendar/v3" not in message
    assert token.access_token not in message


# --- tokens ---------------------------------------------------------------------------------------


def test_revoked_refresh_token_means_access_revoked(
    emu: GoogleEmulator, source: GoogleCalendarSource, recorder: Recorder
) -> None:
    emu.revoke_refresh_tokens(OWNER)
    emu.expire_access_tokens()
    with pytest.raises(AccessRevoked) as raised:
        full_sync(source)
    assert str(raised.value) == "Google access was revoked or expired; reconnect the calendar"
    assert recorder.tokens == []


def test_401_after_refresh_means_access_revoked(
    emu: GoogleEmulator, source: GoogleCalendarSource, recorder: Recorder
) -> None:
    emu.inject_fault("GET", EVENTS_PATH, 401, times=10)
    with pytest.raises(AccessRevoked, match="reconnect the calendar"):
        full_sync(source)
    assert recorder.tokens  # the refreshed token was still handed back
    assert recorder.sleeps == []


def test_token_endpoint_trouble_is_temporary(emu: GoogleEmulator, source: GoogleCalendarSource) -> None:
    emu.expire_access_tokens()
    emu.inject_fault("POST", "/token", 503, times=10)  # google-auth itself retries a few times
    with pytest.raises(CalendarUnavailable, match="Could not renew Google access"):
        full_sync(source)


def test_token_without_refresh_token_means_access_revoked_once_expired(
    emu: GoogleEmulator,
    token: GoogleToken,
    client: GoogleClient,
    endpoints: GoogleEndpoints,
    recorder: Recorder,
) -> None:
    bare = GoogleToken(token.access_token, None, token.expiry, token.scopes)
    emu.expire_access_tokens()
    with pytest.raises(AccessRevoked):
        full_sync(make_source(bare, client, endpoints, recorder))


def test_token_refresh_mid_sync_is_handed_back(
    emu: GoogleEmulator,
    token: GoogleToken,
    client: GoogleClient,
    endpoints: GoogleEndpoints,
    recorder: Recorder,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for n in range(12):
        emu.put_event(CALENDAR, timed(f"ev{n}", at(2, 8 + n % 9)))
    source = make_source(token, client, endpoints, recorder, page_size=5)
    # The access token dies after the first page: the emulator answers 401, google-auth refreshes.
    pages: list[dict[str, Any]] = []
    execute = source._execute

    def execute_then_expire(request: Any, **kwargs: Any) -> dict[str, Any]:
        answer = execute(request, **kwargs)
        pages.append(answer)
        if len(pages) == 1:
            emu.expire_access_tokens()
        return answer

    monkeypatch.setattr(source, "_execute", execute_then_expire)
    changes = full_sync(source)

    assert len(changes.events) == 12
    assert len(recorder.tokens) == 1
    new = recorder.tokens[0]
    assert new.access_token != token.access_token
    assert new.refresh_token == token.refresh_token  # Google does not rotate refresh tokens
    assert new.expiry is not None
    assert new.expiry > datetime.now(UTC)
    assert source.token == new
    refreshes = [r for r in emu.token_requests if r.get("grant_type") == "refresh_token"]
    assert len(refreshes) == 1


def test_expired_token_is_refreshed_before_the_first_request(
    emu: GoogleEmulator,
    token: GoogleToken,
    client: GoogleClient,
    endpoints: GoogleEndpoints,
    recorder: Recorder,
) -> None:
    stale = GoogleToken(
        token.access_token, token.refresh_token, datetime.now(UTC) - timedelta(hours=1), token.scopes
    )
    emu.put_event(CALENDAR, timed("a", at(2)))
    changes = full_sync(make_source(stale, client, endpoints, recorder))
    assert set(by_id(changes)) == {"a"}
    assert len(recorder.tokens) == 1
    assert recorder.tokens[0].scopes == token.scopes


# --- calendar list, push channels -----------------------------------------------------------------


def test_list_calendars_pages(emu: GoogleEmulator, source: GoogleCalendarSource) -> None:
    for n in range(300):
        emu.add_calendar(OWNER, f"c{n:03d}@group.calendar.google.com", f"Room {n}", time_zone="Europe/Paris")
    calendars = source.list_calendars()
    assert len(calendars) == 301
    primary = [c for c in calendars if c.primary]
    assert [c.id for c in primary] == [OWNER]
    assert primary[0].access_role == "owner"
    room = next(c for c in calendars if c.id == "c007@group.calendar.google.com")
    assert (room.summary, room.time_zone, room.primary) == ("Room 7", "Europe/Paris", False)
    list_calls = [r for r in emu.requests if r.path.endswith("/users/me/calendarList")]
    assert len(list_calls) == 2


@pytest.mark.parametrize("as_string", [True, False])
def test_watch_and_stop(emu: GoogleEmulator, source: GoogleCalendarSource, as_string: bool) -> None:
    emu.options.expiration_as_string = as_string
    before = datetime.now(UTC)
    channel = source.watch(
        channel_id="chan-1", address="http://127.0.0.1:9/hooks/google", token="secret-token", ttl_seconds=3600
    )
    assert channel.id == "chan-1"
    assert channel.resource_id
    assert channel.expiration is not None
    assert before + timedelta(minutes=59) < channel.expiration < before + timedelta(minutes=61)
    live = emu.channels()
    assert [c["id"] for c in live] == ["chan-1"]
    assert live[0]["token"] == "secret-token"

    source.stop_channel(channel.id, channel.resource_id)
    assert emu.channels() == []
    source.stop_channel(channel.id, channel.resource_id)  # already stopped: fine


# --- OAuth ----------------------------------------------------------------------------------------


def test_authorization_url(client: GoogleClient, endpoints: GoogleEndpoints) -> None:
    url, verifier = authorization_request(client, endpoints, state="abc", login_hint="owner@example.com")
    query = parse_qs(urlsplit(url).query)
    assert url.startswith(endpoints.auth_url + "?")
    assert query["access_type"] == ["offline"]
    assert query["prompt"] == ["consent"]
    assert query["include_granted_scopes"] == ["true"]
    assert query["state"] == ["abc"]
    assert query["scope"] == [" ".join(READ_SCOPES)]
    assert query["redirect_uri"] == [REDIRECT]
    assert query["code_challenge_method"] == ["S256"]
    assert query["code_challenge"][0]
    assert query["login_hint"] == ["owner@example.com"]
    assert 43 <= len(verifier) <= 128

    again, _ = authorization_request(client, endpoints, state="abc", have_refresh_token=True)
    assert "prompt" not in parse_qs(urlsplit(again).query)


def test_oauth_leaves_the_environment_alone(client: GoogleClient, endpoints: GoogleEndpoints) -> None:
    assert "OAUTHLIB_INSECURE_TRANSPORT" not in os.environ
    authorization_request(client, endpoints, state="abc")
    assert "OAUTHLIB_INSECURE_TRANSPORT" not in os.environ
    assert "OAUTHLIB_RELAX_TOKEN_SCOPE" not in os.environ


def test_plain_http_elsewhere_is_refused(client: GoogleClient) -> None:
    remote = GoogleEndpoints(auth_url="http://accounts.example.com/o/oauth2/auth")
    with pytest.raises(ValueError, match="https"):
        authorization_request(client, remote, state="abc")


def test_exchange_gives_a_refresh_token_and_the_granted_scopes(
    emu: GoogleEmulator, token: GoogleToken
) -> None:
    assert token.access_token
    assert token.refresh_token
    assert token.scopes == READ_SCOPES
    assert token.expiry is not None
    assert token.expiry > datetime.now(UTC) + timedelta(minutes=50)
    exchange = [r for r in emu.token_requests if r.get("grant_type") == "authorization_code"]
    assert len(exchange) == 1
    assert exchange[0].get("code_verifier")
    assert GoogleToken.from_json(token.to_json()) == token
    assert token.access_token not in repr(token)


def test_reconnect_without_prompt_and_wider_grant(
    emu: GoogleEmulator, token: GoogleToken, client: GoogleClient, endpoints: GoogleEndpoints
) -> None:
    # Earlier grants come back too (include_granted_scopes): oauthlib's scope-change Warning is handled.
    emu.issue_tokens(OWNER, [SCOPE + "calendar.events"])
    code, verifier = consent(emu, client, endpoints, have_refresh_token=True)
    again = exchange_code(client, endpoints, code=code, code_verifier=verifier)
    assert set(again.scopes) == {SCOPE + "calendar.readonly", SCOPE + "calendar.events"}
    assert again.refresh_token is None  # already consented and not asked again: keep the stored one


def test_ungranted_calendar_scope_fails(
    emu: GoogleEmulator, client: GoogleClient, endpoints: GoogleEndpoints
) -> None:
    code, verifier = consent(emu, client, endpoints, granted=[SCOPE + "userinfo.email"])
    with pytest.raises(OAuthFailed, match="access to your calendars was not granted"):
        exchange_code(client, endpoints, code=code, code_verifier=verifier)


def test_reused_code_fails_readably(
    emu: GoogleEmulator, client: GoogleClient, endpoints: GoogleEndpoints
) -> None:
    code, verifier = consent(emu, client, endpoints)
    exchange_code(client, endpoints, code=code, code_verifier=verifier)
    with pytest.raises(OAuthFailed, match="expired or was already used"):
        exchange_code(client, endpoints, code=code, code_verifier=verifier)


def test_wrong_verifier_fails(emu: GoogleEmulator, client: GoogleClient, endpoints: GoogleEndpoints) -> None:
    code, _ = consent(emu, client, endpoints)
    with pytest.raises(OAuthFailed):
        exchange_code(client, endpoints, code=code, code_verifier="x" * 64)


def test_unreachable_token_endpoint_fails_readably(client: GoogleClient) -> None:
    dead = GoogleEndpoints(token_url=f"http://127.0.0.1:{free_port()}/token")
    with pytest.raises(OAuthFailed, match="Could not reach Google's sign-in service"):
        exchange_code(client, dead, code="4/abc", code_verifier="v" * 64, timeout=2)


def test_revoke(
    emu: GoogleEmulator,
    token: GoogleToken,
    client: GoogleClient,
    endpoints: GoogleEndpoints,
    recorder: Recorder,
) -> None:
    assert token.refresh_token is not None
    with httpx.Client() as http:
        revoke(endpoints, token.refresh_token, http)
        revoke(endpoints, token.refresh_token, http)  # already revoked: fine
    with pytest.raises(AccessRevoked):
        full_sync(make_source(token, client, endpoints, recorder))
