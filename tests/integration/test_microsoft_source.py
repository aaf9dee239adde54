"""The Microsoft connector (MSAL + httpx) against the local Microsoft identity + Graph emulator.

Tokens come from the real sign-in flow (connectors.calendars.microsoft.auth) against the emulator.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit
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
from connectors.calendars.microsoft import (
    MicrosoftApp,
    MicrosoftCalendarSource,
    OAuthFailed,
    TokenCacheState,
    access_token,
    finish_flow,
    start_flow,
)
from tests.support.server import free_port

try:
    from tests.emulators.microsoft import MicrosoftEmulator, MicrosoftEmulatorOptions
except ImportError as exc:  # pragma: no cover - only while the emulator is being written
    pytest.skip(f"Microsoft emulator not available: {exc}", allow_module_level=True)

OWNER = "owner@example.com"
ZONE = "Europe/Zurich"
WINDOWS_ZONE = "W. Europe Standard Time"  # Europe/Berlin in CLDR: same offsets as Zurich
REDIRECT = "http://127.0.0.1:8000/oauth/microsoft/callback"
REVOKED = "Microsoft access was revoked or expired; reconnect the calendar"


class Recorder:
    """Stands in for time.sleep and for the cache-changed callback."""

    def __init__(self) -> None:
        self.sleeps: list[float] = []
        self.states: list[TokenCacheState] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)

    def changed(self, state: TokenCacheState) -> None:
        self.states.append(state)


@pytest.fixture
def emu() -> Iterator[MicrosoftEmulator]:
    with MicrosoftEmulator() as emulator:
        emulator.add_user(OWNER, name="Salon Owner")
        yield emulator
    assert emulator.internal_errors == []


@pytest.fixture
def app(emu: MicrosoftEmulator) -> MicrosoftApp:
    return make_app(emu)


def make_app(emu: MicrosoftEmulator) -> MicrosoftApp:
    return MicrosoftApp(
        client_id=emu.client_id,
        client_secret=emu.client_secret,
        authority=emu.authority,
        redirect_uri=REDIRECT,
        ca_bundle=emu.ca_bundle,
    )


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


def consent(
    emu: MicrosoftEmulator, app: MicrosoftApp, *, granted: list[str] | None = None, deny: bool = False
) -> tuple[dict[str, Any], dict[str, str]]:
    """Walk the sign-in page; returns (the stored flow, the callback's query)."""
    emu.set_consenting_user(OWNER, granted_scopes=granted, deny=deny)
    url, flow = start_flow(app, state="state-123")
    with httpx.Client(verify=emu.ssl_context()) as http:
        answer = http.get(url, follow_redirects=False)
    assert answer.status_code == 302, answer.text
    location = answer.headers["Location"]
    assert location.startswith(REDIRECT + "?")
    return json.loads(json.dumps(flow)), dict(parse_qsl(urlsplit(location).query))  # as stored: JSON


@pytest.fixture
def state(emu: MicrosoftEmulator, app: MicrosoftApp) -> TokenCacheState:
    flow, query = consent(emu, app)
    return finish_flow(app, flow, query)


@pytest.fixture
def calendar(emu: MicrosoftEmulator) -> str:
    return emu.default_calendar_id(OWNER)


@pytest.fixture
def source(
    state: TokenCacheState, app: MicrosoftApp, calendar: str, recorder: Recorder
) -> MicrosoftCalendarSource:
    return make_source(state, app, recorder, calendar_id=calendar)


def make_source(
    state: TokenCacheState,
    app: MicrosoftApp,
    recorder: Recorder,
    *,
    calendar_id: str,
    graph_url: str | None = None,
    page_size: int = 500,
    **options: Any,
) -> MicrosoftCalendarSource:
    return MicrosoftCalendarSource(
        calendar_id,
        state,
        app=app,
        graph_url=graph_url or app.authority.rsplit("/", 1)[0] + "/v1.0",
        default_timezone=ZONE,
        on_cache_changed=recorder.changed,
        sleep=recorder.sleep,
        page_size=page_size,
        timeout=5.0,
        **options,
    )


# --- time and event helpers -----------------------------------------------------------------------

NOW = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
WINDOW_START = NOW - timedelta(days=1)
WINDOW_END = NOW + timedelta(days=60)
ROUND_END = WINDOW_END + timedelta(days=1)  # rounds are asked for a day beyond the window


def at(days: float, hours: float = 10) -> datetime:
    """A moment `days` from today at `hours` o'clock UTC."""
    return NOW.replace(hour=0) + timedelta(days=days, hours=hours)


def wall(moment: datetime, zone: str = ZONE) -> str:
    key = "Europe/Berlin" if zone == WINDOWS_ZONE else zone
    return moment.astimezone(ZoneInfo(key)).replace(tzinfo=None).isoformat()


def timed(
    event_id: str, start: datetime, minutes: int = 45, zone: str = ZONE, **fields: Any
) -> dict[str, Any]:
    return {
        "id": event_id,
        "subject": f"Appointment {event_id}",
        "start": {"dateTime": wall(start, zone), "timeZone": zone},
        "end": {"dateTime": wall(start + timedelta(minutes=minutes), zone), "timeZone": zone},
        **fields,
    }


def daily(event_id: str, start: datetime, count: int = 5) -> dict[str, Any]:
    first = datetime.fromisoformat(wall(start))
    return {
        **timed(event_id, start, minutes=60, subject="Daily massage 079 123 45 67"),
        "recurrence": {
            "pattern": {"type": "daily", "interval": 1},
            "range": {
                "type": "numbered",
                "startDate": first.date().isoformat(),
                "numberOfOccurrences": count,
            },
        },
    }


def local_days_later(moment: datetime, days: int) -> datetime:
    """The same wall-clock time in Zurich `days` later (series keep local time over DST)."""
    local = moment.astimezone(ZoneInfo(ZONE)).replace(tzinfo=None) + timedelta(days=days)
    return local.replace(tzinfo=ZoneInfo(ZONE)).astimezone(UTC)


def new_round(source: MicrosoftCalendarSource) -> CalendarChanges:
    return source.fetch_changes(None, window_start=WINDOW_START, window_end=WINDOW_END)


def sync(source: MicrosoftCalendarSource, cursor: str | None) -> CalendarChanges:
    return source.fetch_changes(cursor, window_start=WINDOW_START, window_end=WINDOW_END)


def by_id(changes: CalendarChanges) -> dict[str, RemoteEvent]:
    return {e.external_id: e for e in changes.events}


def series_ids(changes: CalendarChanges, master: str) -> list[str]:
    return [e.external_id for e in sorted(changes.events, key=lambda e: e.start) if e.series_id == master]


def delta_requests(emu: MicrosoftEmulator) -> list[Any]:
    return [r for r in emu.requests if r.method == "GET" and r.path.endswith("/calendarView/delta")]


DELTA_PATH = "/v1.0/me/calendars/"


# --- first rounds ---------------------------------------------------------------------------------


def test_first_round_pages_to_a_delta_link(
    emu: MicrosoftEmulator, state: TokenCacheState, app: MicrosoftApp, calendar: str, recorder: Recorder
) -> None:
    for n in range(35):
        emu.put_event(OWNER, calendar, timed(f"ev{n:02d}", at(1 + n % 30, 8 + n % 9)))
    emu.put_event(OWNER, calendar, timed("past", at(-5)))  # ends before the window
    emu.put_event(OWNER, calendar, timed("lead", at(60.5)))  # beyond window_end, inside the round
    emu.put_event(OWNER, calendar, timed("far", at(90)))  # beyond the round
    source = make_source(state, app, recorder, calendar_id=calendar, page_size=4)

    changes = new_round(source)

    assert changes.complete
    assert (changes.window_start, changes.window_end) == (WINDOW_START, ROUND_END)
    ids = set(by_id(changes))
    assert ids == {f"ev{n:02d}" for n in range(35)} | {"lead"}
    requests = delta_requests(emu)
    assert len(requests) == 9  # 36 items, 4 a page
    first = requests[0]
    assert datetime.fromisoformat(first.param("startDateTime")) == WINDOW_START
    assert datetime.fromisoformat(first.param("endDateTime")) == ROUND_END
    assert first.headers["Prefer"] == 'outlook.timezone="UTC", odata.maxpagesize=4'
    assert all(r.param("$skiptoken") and r.param("startDateTime") is None for r in requests[1:])
    assert all(r.headers["Prefer"] == first.headers["Prefer"] for r in requests)
    cursor = json.loads(changes.cursor or "")
    assert set(cursor) == {"v", "calendar", "delta_link", "window_start", "window_end"}
    assert cursor["v"] == 1
    assert cursor["calendar"] == calendar
    assert cursor["delta_link"].startswith(emu.graph_url)
    assert "$deltatoken=" in cursor["delta_link"]
    assert recorder.sleeps == []


@pytest.mark.parametrize("option", ["empty_first_delta_page", "empty_page_every"])
def test_first_round_survives_empty_pages(
    emu: MicrosoftEmulator,
    state: TokenCacheState,
    app: MicrosoftApp,
    calendar: str,
    recorder: Recorder,
    option: str,
) -> None:
    setattr(emu.options, option, True if option == "empty_first_delta_page" else 2)
    for n in range(12):
        emu.put_event(OWNER, calendar, timed(f"ev{n}", at(2, 8 + n % 9)))
    changes = new_round(make_source(state, app, recorder, calendar_id=calendar, page_size=5))
    assert len(changes.events) == 12


@pytest.mark.parametrize("all_day_mode", ["wall", "convert"])
def test_times_zones_all_day_and_bodies(
    emu: MicrosoftEmulator, source: MicrosoftCalendarSource, calendar: str, all_day_mode: str
) -> None:
    emu.options.all_day_under_timezone = all_day_mode  # type: ignore[assignment]
    start = at(3, 9)
    emu.put_event(
        OWNER,
        calendar,
        timed(
            "windows",
            start,
            zone=WINDOWS_ZONE,
            body={"contentType": "html", "content": "<b>Tel</b> 079 555 66 77"},
            location={"displayName": "Salon"},
        ),
    )
    day = at(4).astimezone(ZoneInfo(ZONE)).date()
    emu.put_event(
        OWNER,
        calendar,
        {
            "id": "day",
            "subject": "Closed",
            "isAllDay": True,
            "start": {"dateTime": f"{day.isoformat()}T00:00:00", "timeZone": ZONE},
            "end": {"dateTime": f"{(day + timedelta(days=1)).isoformat()}T00:00:00", "timeZone": ZONE},
        },
    )

    events = by_id(new_round(source))

    single = events["windows"]
    assert (single.start, single.end) == (start, start + timedelta(minutes=45))
    assert single.timezone == "Europe/Berlin"
    assert single.description == "<b>Tel</b> 079 555 66 77"
    assert single.location == "Salon"
    whole = events["day"]
    assert whole.all_day
    midnight = datetime.combine(day, datetime.min.time(), tzinfo=ZoneInfo(ZONE))
    assert (whole.start, whole.end) == (midnight, midnight + timedelta(days=1))
    assert whole.timezone == ZONE


def test_daily_series_comes_as_occurrences(
    emu: MicrosoftEmulator, source: MicrosoftCalendarSource, calendar: str
) -> None:
    first = at(1, 8)
    emu.put_event(OWNER, calendar, daily("series", first, count=5))
    changes = new_round(source)
    occurrences = sorted(changes.events, key=lambda e: e.start)
    assert len(occurrences) == 5  # and no series master
    assert all(e.series_id == "series" for e in occurrences)
    assert len({e.external_id for e in occurrences}) == 5
    assert [e.start for e in occurrences] == [local_days_later(first, n) for n in range(5)]
    assert all(e.title == "Daily massage 079 123 45 67" for e in occurrences)


def test_an_unreadable_event_is_skipped_with_a_warning(
    emu: MicrosoftEmulator, source: MicrosoftCalendarSource, calendar: str
) -> None:
    good = {"id": "good", "subject": "Fine", "start": {"dateTime": wall(at(2), "UTC"), "timeZone": "UTC"}}
    bad = {"id": "bad", "start": {"dateTime": "someday", "timeZone": "UTC"}}
    page = {"value": [bad, good], "@odata.deltaLink": f"{emu.graph_url}/me/calendarView/delta?$deltatoken=x"}
    emu.inject_fault("GET", DELTA_PATH, 200, body=page)
    changes = new_round(source)
    assert set(by_id(changes)) == {"good"}
    assert len(changes.warnings) == 1
    assert "could not be read" in changes.warnings[0]
    assert "bad" in changes.warnings[0]


# --- incremental ----------------------------------------------------------------------------------


def test_incremental_create_update_delete_cancel_and_move_out(
    emu: MicrosoftEmulator, source: MicrosoftCalendarSource, calendar: str, recorder: Recorder
) -> None:
    emu.put_event(OWNER, calendar, timed("keep", at(2)))
    emu.put_event(OWNER, calendar, timed("doomed", at(3)))
    emu.put_event(OWNER, calendar, timed("leaving", at(4)))
    first = at(1, 8)
    emu.put_event(OWNER, calendar, daily("series", first, count=5))
    initial = new_round(source)
    occurrences = series_ids(initial, "series")
    assert len(occurrences) == 5

    nothing = sync(source, initial.cursor)
    assert not nothing.complete
    assert (list(nothing.events), list(nothing.removed_ids)) == ([], [])
    assert (nothing.window_start, nothing.window_end) == (WINDOW_START, ROUND_END)

    emu.put_event(OWNER, calendar, timed("new", at(5)))
    emu.put_event(OWNER, calendar, timed("keep", at(2, 15)))  # moved within the day
    emu.delete_event(OWNER, calendar, "doomed")
    emu.put_event(OWNER, calendar, timed("leaving", at(200)))  # moved out of the window
    second, third = local_days_later(first, 1), local_days_later(first, 2)
    emu.cancel_occurrence(OWNER, calendar, "series", wall(second))
    moved_to = third + timedelta(hours=3)
    emu.move_occurrence(
        OWNER,
        calendar,
        "series",
        wall(third),
        {"dateTime": wall(moved_to), "timeZone": ZONE},
        {"dateTime": wall(moved_to + timedelta(hours=1)), "timeZone": ZONE},
    )

    changes = sync(source, initial.cursor)

    assert not changes.complete
    events = by_id(changes)
    assert set(events) == {"new", "keep", occurrences[2]}
    assert events["keep"].start == at(2, 15)
    moved = events[occurrences[2]]  # an exception keeps its occurrence id
    assert (moved.start, moved.series_id) == (moved_to, "series")
    assert set(changes.removed_ids) == {"doomed", "leaving", occurrences[1]}
    incremental = delta_requests(emu)[-1]
    assert incremental.param("$deltatoken")
    assert incremental.param("startDateTime") is None

    after = sync(source, changes.cursor)
    assert (list(after.events), list(after.removed_ids)) == ([], [])
    assert recorder.sleeps == []


def test_deleting_a_series_removes_each_occurrence(
    emu: MicrosoftEmulator, source: MicrosoftCalendarSource, calendar: str
) -> None:
    emu.put_event(OWNER, calendar, daily("series", at(1, 8), count=3))
    initial = new_round(source)
    emu.delete_event(OWNER, calendar, "series")
    changes = sync(source, initial.cursor)
    assert list(changes.events) == []
    assert set(changes.removed_ids) >= set(series_ids(initial, "series"))


def test_incremental_paging_keeps_the_last_word(
    emu: MicrosoftEmulator, state: TokenCacheState, app: MicrosoftApp, calendar: str, recorder: Recorder
) -> None:
    source = make_source(state, app, recorder, calendar_id=calendar, page_size=3)
    cursor = new_round(source).cursor
    for n in range(11):
        emu.put_event(OWNER, calendar, timed(f"ev{n}", at(2, 8 + n % 9)))
    emu.delete_event(OWNER, calendar, "ev3")
    changes = sync(source, cursor)
    assert len(changes.events) == 10
    assert list(changes.removed_ids) == ["ev3"]


def test_the_window_slides_with_a_new_complete_round(
    emu: MicrosoftEmulator, source: MicrosoftCalendarSource, calendar: str
) -> None:
    emu.put_event(OWNER, calendar, timed("near", at(2)))
    emu.put_event(OWNER, calendar, timed("edge", at(61.8)))  # beyond the first round's end
    first = new_round(source)
    assert set(by_id(first)) == {"near"}

    later = source.fetch_changes(
        first.cursor,
        window_start=WINDOW_START + timedelta(hours=12),
        window_end=WINDOW_END + timedelta(hours=12),
    )
    assert not later.complete  # still inside the round's window
    assert later.window_end == ROUND_END

    slid_start, slid_end = WINDOW_START + timedelta(days=2), WINDOW_END + timedelta(days=2)
    slid = source.fetch_changes(later.cursor, window_start=slid_start, window_end=slid_end)
    assert slid.complete
    assert (slid.window_start, slid.window_end) == (slid_start, slid_end + timedelta(days=1))
    assert set(by_id(slid)) == {"near", "edge"}
    assert json.loads(slid.cursor or "")["window_end"] != json.loads(first.cursor or "")["window_end"]
    rounds = [r for r in delta_requests(emu) if r.param("startDateTime")]
    assert len(rounds) == 2


@pytest.mark.parametrize(
    "code", ["syncStateNotFound", "SyncStateNotFound", "resyncRequired", "RESYNCREQUIRED"]
)
def test_expired_delta_link_turns_into_a_complete_round(
    emu: MicrosoftEmulator, source: MicrosoftCalendarSource, calendar: str, code: str
) -> None:
    emu.put_event(OWNER, calendar, timed("a", at(2)))
    cursor = new_round(source).cursor
    emu.put_event(OWNER, calendar, timed("b", at(3)))
    emu.delete_event(OWNER, calendar, "a")
    emu.invalidate_delta_tokens(code=code)

    changes = sync(source, cursor)

    assert changes.complete
    assert set(by_id(changes)) == {"b"}
    assert changes.cursor != cursor
    assert sync(source, changes.cursor).events == []


@pytest.mark.parametrize(
    ("status", "code"), [(400, "SyncStateInvalid"), (400, "resyncrequired"), (410, "SomethingNew")]
)
def test_other_resync_answers_turn_into_a_complete_round(
    emu: MicrosoftEmulator, source: MicrosoftCalendarSource, calendar: str, status: int, code: str
) -> None:
    emu.put_event(OWNER, calendar, timed("a", at(2)))
    cursor = new_round(source).cursor
    emu.inject_fault("GET", DELTA_PATH, status, body={"error": {"code": code, "message": "Resync."}})
    changes = sync(source, cursor)
    assert changes.complete
    assert set(by_id(changes)) == {"a"}


def test_a_round_that_is_refused_as_expired_is_retried_later(
    emu: MicrosoftEmulator, source: MicrosoftCalendarSource, calendar: str
) -> None:
    cursor = new_round(source).cursor
    emu.inject_fault("GET", DELTA_PATH, 410, times=2)  # the delta link, then the new round
    with pytest.raises(CalendarUnavailable, match="could not list the calendar"):
        sync(source, cursor)


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "not json",
        '{"v": 99, "delta_link": "x"}',
        "OTHER-CALENDAR",
        "FOREIGN-ORIGIN",
        "NO-WINDOW",
    ],
)
def test_unusable_cursor_means_a_new_round(
    emu: MicrosoftEmulator, source: MicrosoftCalendarSource, calendar: str, cursor: str
) -> None:
    emu.put_event(OWNER, calendar, timed("a", at(2)))
    good = json.loads(new_round(source).cursor or "")
    replacements = {
        "OTHER-CALENDAR": {**good, "calendar": "other"},
        "FOREIGN-ORIGIN": {
            **good,
            "delta_link": "https://evil.example/v1.0/me/calendarView/delta?$deltatoken=1",
        },
        "NO-WINDOW": {k: v for k, v in good.items() if k != "window_end"},
    }
    raw = json.dumps(replacements[cursor]) if cursor in replacements else cursor
    changes = sync(source, raw)
    assert changes.complete
    assert set(by_id(changes)) == {"a"}
    assert all(urlsplit(r.path).netloc == "" for r in emu.requests)  # nothing left the emulator


# --- errors, retries and backoff ------------------------------------------------------------------


def test_rate_limit_honours_a_fractional_retry_after(
    emu: MicrosoftEmulator, source: MicrosoftCalendarSource, calendar: str, recorder: Recorder
) -> None:
    emu.put_event(OWNER, calendar, timed("a", at(2)))
    emu.inject_fault("GET", DELTA_PATH, 429, headers={"Retry-After": "1.5"})
    changes = new_round(source)
    assert set(by_id(changes)) == {"a"}
    assert len(recorder.sleeps) == 1
    assert recorder.sleeps[0] >= 1.5


def test_retry_after_may_be_an_http_date(
    emu: MicrosoftEmulator, source: MicrosoftCalendarSource, recorder: Recorder
) -> None:
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    emu.inject_fault("GET", DELTA_PATH, 503, headers={"Retry-After": when})
    assert new_round(source).complete
    assert len(recorder.sleeps) == 1
    assert 25 <= recorder.sleeps[0] <= 31


def test_server_errors_back_off_exponentially(
    emu: MicrosoftEmulator, source: MicrosoftCalendarSource, recorder: Recorder
) -> None:
    emu.inject_fault("GET", DELTA_PATH, 503, times=3)
    assert new_round(source).complete
    assert len(recorder.sleeps) == 3
    assert 1 <= recorder.sleeps[0] <= 2 <= recorder.sleeps[1] <= 3 < 4 <= recorder.sleeps[2] <= 5


def test_persistent_503_gives_up(
    emu: MicrosoftEmulator, source: MicrosoftCalendarSource, recorder: Recorder
) -> None:
    emu.inject_fault("GET", DELTA_PATH, 503, times=50)
    with pytest.raises(CalendarUnavailable, match=r"HTTP 503.*will retry"):
        new_round(source)
    assert len(recorder.sleeps) == 4  # max_retries


def test_persistent_rate_limit_gives_up_with_a_plain_message(
    emu: MicrosoftEmulator, source: MicrosoftCalendarSource, recorder: Recorder
) -> None:
    emu.inject_fault("GET", DELTA_PATH, 429, headers={"Retry-After": "0.5"}, times=50)
    with pytest.raises(CalendarUnavailable) as raised:
        new_round(source)
    assert str(raised.value) == "Microsoft is rate-limiting this calendar; will retry"
    assert recorder.sleeps == [0.5] * 4


def test_long_retry_after_is_not_waited_for(
    emu: MicrosoftEmulator, source: MicrosoftCalendarSource, recorder: Recorder
) -> None:
    emu.inject_fault("GET", DELTA_PATH, 429, headers={"Retry-After": "3600"})
    with pytest.raises(CalendarUnavailable, match="rate-limiting"):
        new_round(source)
    assert recorder.sleeps == []


def test_403_means_the_calendar_is_no_longer_shared(
    emu: MicrosoftEmulator, source: MicrosoftCalendarSource, recorder: Recorder
) -> None:
    emu.inject_fault("GET", DELTA_PATH, 403)
    with pytest.raises(CalendarFeedInvalid, match="check that it is still shared"):
        new_round(source)
    assert recorder.sleeps == []


def test_missing_calendar_is_feed_invalid(
    state: TokenCacheState, app: MicrosoftApp, recorder: Recorder
) -> None:
    source = make_source(state, app, recorder, calendar_id="AAMkADgone=")
    with pytest.raises(CalendarFeedInvalid) as raised:
        new_round(source)
    assert str(raised.value) == "The calendar no longer exists or is no longer shared with this account"


def test_other_client_errors_are_feed_invalid_with_the_code(
    emu: MicrosoftEmulator, source: MicrosoftCalendarSource
) -> None:
    emu.inject_fault("GET", DELTA_PATH, 400, body={"error": {"code": "ErrorInvalidUrlQuery", "message": "x"}})
    with pytest.raises(CalendarFeedInvalid, match=r"HTTP 400\): ErrorInvalidUrlQuery"):
        new_round(source)


def test_unreachable_graph_names_only_the_origin(
    state: TokenCacheState, app: MicrosoftApp, calendar: str, recorder: Recorder
) -> None:
    port = free_port()
    source = make_source(
        state, app, recorder, calendar_id=calendar, graph_url=f"https://127.0.0.1:{port}/v1.0"
    )
    with pytest.raises(CalendarUnavailable) as raised:
        new_round(source)
    message = str(raised.value)
    assert (
        message
        == f"Could not reach Microsoft Graph at https://127.0.0.1:{port} (connection refused); will retry"
    )
    assert state.serialized_cache not in message


def test_an_untrusted_certificate_is_refused(
    emu: MicrosoftEmulator, state: TokenCacheState, calendar: str, recorder: Recorder
) -> None:
    untrusting = MicrosoftApp(emu.client_id, emu.client_secret, emu.authority, REDIRECT, ca_bundle=None)
    source = make_source(state, untrusting, recorder, calendar_id=calendar)
    with pytest.raises(CalendarUnavailable, match=f"sign-in service at {emu.base_url} to renew access"):
        new_round(source)


def test_environment_ca_variables_do_not_override_the_bundle(
    emu: MicrosoftEmulator, calendar: str, recorder: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """REQUESTS_CA_BUNDLE silently replaces MSAL's verify= (calendar-apis.md 4.3); not ours."""
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE"):
        monkeypatch.setenv(name, "/etc/ssl/certs/ca-certificates.crt")  # does not hold the test CA
    app = make_app(emu)
    flow, query = consent(emu, app)
    state = finish_flow(app, flow, query)
    assert new_round(make_source(state, app, recorder, calendar_id=calendar)).complete


# --- tokens ---------------------------------------------------------------------------------------


def test_an_expired_access_token_is_renewed_once(
    emu: MicrosoftEmulator, source: MicrosoftCalendarSource, state: TokenCacheState, recorder: Recorder
) -> None:
    emu.expire_access_tokens()  # MSAL still believes in its cached token: Graph says 401
    before = len(emu.token_requests)
    assert new_round(source).complete
    refreshes = emu.token_requests[before:]
    assert [r["grant_type"] for r in refreshes] == ["refresh_token"]
    assert len(recorder.states) == 1  # the rotated refresh token was handed back
    assert recorder.states[0].serialized_cache != state.serialized_cache
    assert recorder.states[0].home_account_id == state.home_account_id
    assert source.state == recorder.states[0]
    assert recorder.sleeps == []


def test_401_after_a_renewed_token_means_access_revoked(
    emu: MicrosoftEmulator, source: MicrosoftCalendarSource, recorder: Recorder
) -> None:
    emu.inject_fault("GET", DELTA_PATH, 401, times=10)
    with pytest.raises(AccessRevoked) as raised:
        new_round(source)
    assert str(raised.value) == REVOKED
    assert recorder.states  # the renewed cache was still handed back
    assert recorder.sleeps == []


@pytest.mark.parametrize("error_code", [50173, 700082])
def test_revoked_refresh_token_means_access_revoked(
    emu: MicrosoftEmulator, source: MicrosoftCalendarSource, recorder: Recorder, error_code: int
) -> None:
    emu.revoke_refresh_tokens(OWNER, error_code=error_code)
    emu.expire_access_tokens()
    with pytest.raises(AccessRevoked) as raised:
        new_round(source)
    assert str(raised.value) == REVOKED
    assert recorder.states == []


def test_interaction_required_means_access_revoked(
    emu: MicrosoftEmulator, source: MicrosoftCalendarSource, recorder: Recorder
) -> None:
    emu.require_interaction(OWNER)
    emu.expire_access_tokens()
    with pytest.raises(AccessRevoked, match="reconnect the calendar"):
        new_round(source)


def test_token_endpoint_trouble_is_temporary(emu: MicrosoftEmulator, source: MicrosoftCalendarSource) -> None:
    emu.expire_access_tokens()
    emu.inject_fault("POST", "/common/oauth2/v2.0/token", 503, times=10)
    with pytest.raises(CalendarUnavailable) as raised:
        new_round(source)
    assert str(raised.value) == f"Microsoft's sign-in service at {emu.base_url} has a problem; will retry"


def test_an_empty_or_foreign_cache_means_access_revoked(
    state: TokenCacheState, app: MicrosoftApp, calendar: str, recorder: Recorder
) -> None:
    for broken in (
        TokenCacheState("", state.home_account_id, state.username),
        TokenCacheState("not json", state.home_account_id, state.username),
        TokenCacheState(state.serialized_cache, "someone.else", state.username),
    ):
        with pytest.raises(AccessRevoked):
            new_round(make_source(broken, app, recorder, calendar_id=calendar))


def test_rotated_refresh_tokens_must_be_kept() -> None:
    """Short-lived access tokens: every call refreshes, and only the newest cache keeps working."""
    options = MicrosoftEmulatorOptions(revoke_rotated_refresh_tokens=True)
    with MicrosoftEmulator(access_token_ttl=200, options=options) as emu:
        emu.add_user(OWNER)
        app = make_app(emu)
        flow, query = consent(emu, app)
        original = finish_flow(app, flow, query)
        recorder = Recorder()
        calendar_id = emu.default_calendar_id(OWNER)

        first = new_round(make_source(original, app, recorder, calendar_id=calendar_id))
        assert len(recorder.states) == 1
        rotated = recorder.states[0]
        assert rotated.serialized_cache != original.serialized_cache

        again = make_source(rotated, app, recorder, calendar_id=calendar_id)
        assert not sync(again, first.cursor).complete
        assert len(recorder.states) == 2

        with pytest.raises(AccessRevoked):
            new_round(make_source(original, app, Recorder(), calendar_id=calendar_id))
        assert emu.internal_errors == []


def test_access_token_function_hands_back_a_changed_cache(
    emu: MicrosoftEmulator, app: MicrosoftApp, state: TokenCacheState
) -> None:
    changed: list[TokenCacheState] = []
    cached = access_token(app, state, on_cache_changed=changed.append)
    assert cached
    assert changed == []  # served from the cache
    fresh = access_token(app, state, on_cache_changed=changed.append, force_refresh=True)
    assert fresh != cached
    assert len(changed) == 1
    with httpx.Client(verify=emu.ssl_context()) as http:
        me = http.get(f"{emu.graph_url}/me", headers={"Authorization": f"Bearer {fresh}"})
    assert me.status_code == 200
    assert me.json()["userPrincipalName"] == OWNER


# --- sign-in --------------------------------------------------------------------------------------


def test_sign_in_end_to_end(emu: MicrosoftEmulator, app: MicrosoftApp) -> None:
    url, flow = start_flow(app, state="state-xyz")
    query = dict(parse_qsl(urlsplit(url).query))
    assert url.startswith(emu.authorize_url + "?")
    assert query["response_mode"] == "query"
    assert query["state"] == "state-xyz"
    assert query["code_challenge_method"] == "S256"
    assert query["scope"].split() == ["Calendars.Read", "User.Read", "offline_access", "openid", "profile"]
    assert query["redirect_uri"] == REDIRECT
    assert "code_verifier" in flow
    assert "nonce" in flow
    assert flow["code_verifier"] not in url

    stored, callback = consent(emu, app)
    result = finish_flow(app, stored, callback)

    assert result.username == OWNER
    assert result.home_account_id == f"{emu_oid(emu)}.{emu.tenant_id}"
    assert json.loads(result.serialized_cache)["RefreshToken"]  # what the grant lives on
    assert result.serialized_cache not in repr(result)
    redeemed = emu.token_requests[-1]
    assert redeemed["grant_type"] == "authorization_code"
    assert redeemed["code_verifier"] == stored["code_verifier"]
    assert redeemed["auth"] == "body"
    assert all("discovery/instance" not in r.path for r in emu.requests)  # instance_discovery=False


def emu_oid(emu: MicrosoftEmulator) -> str:
    with httpx.Client(verify=emu.ssl_context()) as http:
        token, _ = emu.issue_tokens(OWNER)
        me = http.get(f"{emu.graph_url}/me", headers={"Authorization": f"Bearer {token}"})
    oid: str = me.json()["id"]
    return oid


def test_full_graph_scope_names_in_the_answer_are_accepted(emu: MicrosoftEmulator, app: MicrosoftApp) -> None:
    emu.options.scope_echo = "graph_uri"
    flow, query = consent(emu, app)
    state = finish_flow(app, flow, query)
    recorder = Recorder()
    source = make_source(state, app, recorder, calendar_id=emu.default_calendar_id(OWNER))
    assert new_round(source).complete


def test_denied_consent(emu: MicrosoftEmulator, app: MicrosoftApp) -> None:
    flow, query = consent(emu, app, deny=True)
    assert query["error"] == "access_denied"
    with pytest.raises(OAuthFailed, match="was denied"):
        finish_flow(app, flow, query)


def test_calendar_access_not_granted(emu: MicrosoftEmulator, app: MicrosoftApp) -> None:
    flow, query = consent(emu, app, granted=["User.Read"])
    with pytest.raises(OAuthFailed, match="did not give access to your calendars"):
        finish_flow(app, flow, query)


def test_a_foreign_state_is_refused(emu: MicrosoftEmulator, app: MicrosoftApp) -> None:
    flow, query = consent(emu, app)
    with pytest.raises(OAuthFailed, match="did not match"):
        finish_flow(app, flow, {**query, "state": "someone-elses"})
    assert not [r for r in emu.token_requests if r["grant_type"] == "authorization_code"]


def test_a_code_is_redeemed_once(emu: MicrosoftEmulator, app: MicrosoftApp) -> None:
    flow, query = consent(emu, app)
    finish_flow(app, flow, query)
    with pytest.raises(OAuthFailed, match="expired or was already used"):
        finish_flow(app, flow, query)


def test_unreachable_sign_in_service(app: MicrosoftApp) -> None:
    dead = MicrosoftApp(app.client_id, app.client_secret, f"https://127.0.0.1:{free_port()}/common", REDIRECT)
    with pytest.raises(
        OAuthFailed, match=r"Could not reach Microsoft's sign-in service \(https://127\.0\.0\.1:"
    ):
        start_flow(dead, state="s")


def test_authority_must_be_https_with_a_tenant() -> None:
    for authority in ("http://127.0.0.1:1/common", "https://login.microsoftonline.com"):
        with pytest.raises(ValueError, match="https:// URL with a tenant"):
            MicrosoftApp("id", "secret", authority, REDIRECT)
    assert "secret" not in repr(
        MicrosoftApp("id", "secret", "https://login.microsoftonline.com/common", REDIRECT)
    )


# --- calendars and subscriptions ------------------------------------------------------------------


def test_list_calendars_follows_pages(
    emu: MicrosoftEmulator, state: TokenCacheState, app: MicrosoftApp, recorder: Recorder
) -> None:
    emu.options.calendars_page_size = 2
    for n in range(4):
        emu.add_calendar(OWNER, f"AAMkADcal{n}=", f"Room {n}", can_edit=n % 2 == 0)
    source = make_source(state, app, recorder, calendar_id="")
    calendars = source.list_calendars()
    assert len(calendars) == 5
    default = calendars[0]
    assert (default.id, default.name, default.is_default) == (
        emu.default_calendar_id(OWNER),
        "Calendar",
        True,
    )
    assert default.owner == OWNER
    rooms = {c.id: c for c in calendars[1:]}
    assert rooms["AAMkADcal1="].name == "Room 1"
    assert not rooms["AAMkADcal1="].can_edit
    assert rooms["AAMkADcal2="].can_edit
    assert not any(c.is_default for c in rooms.values())
    pages = [r for r in emu.requests if r.path.endswith("/me/calendars")]
    assert len(pages) == 3


@dataclass
class Receiver:
    """A notification endpoint that echoes Graph's validationToken as plain text."""

    url: str = ""
    echo: bool = True
    received: list[dict[str, Any]] = field(default_factory=list)


@contextmanager
def receiver(*, echo: bool = True) -> Iterator[Receiver]:
    box = Receiver(echo=echo)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            parts = urlsplit(self.path)
            token = dict(parse_qsl(parts.query)).get("validationToken")
            box.received.append({"path": parts.path, "token": token, "body": body})
            answer = (unquote(token) if token is not None and box.echo else "").encode()
            self.send_response(200 if token is not None else 202)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    box.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield box
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_subscribe_renew_unsubscribe(
    emu: MicrosoftEmulator, source: MicrosoftCalendarSource, calendar: str
) -> None:
    with receiver() as box:
        expires = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=48)
        subscription = source.subscribe(
            notification_url=f"{box.url}/webhooks/microsoft",
            lifecycle_url=f"{box.url}/webhooks/microsoft/lifecycle",
            client_state="s3cret",
            expires=expires,
        )
        assert subscription.expires == expires
        assert subscription.expires.tzinfo is not None
        [live] = emu.subscriptions()
        assert live["id"] == subscription.id
        assert live["resource"] == f"me/calendars/{calendar}/events"
        assert live["changeType"] == "created,updated,deleted"
        assert live["clientState"] == "s3cret"
        assert live["lifecycleNotificationUrl"] == f"{box.url}/webhooks/microsoft/lifecycle"
        assert [r["path"] for r in box.received] == ["/webhooks/microsoft", "/webhooks/microsoft/lifecycle"]

        emu.put_event(OWNER, calendar, timed("a", at(2)))
        assert emu.wait_for_notifications()
        notes = [json.loads(r["body"]) for r in box.received if r["token"] is None]
        assert notes[0]["value"][0]["clientState"] == "s3cret"

        renewed = source.renew(subscription.id, expires + timedelta(hours=20))
        assert (renewed.id, renewed.expires) == (subscription.id, expires + timedelta(hours=20))

        source.unsubscribe(subscription.id)
        assert emu.subscriptions() == []
        source.unsubscribe(subscription.id)  # already gone: fine


def test_subscription_refused_when_validation_fails(
    emu: MicrosoftEmulator, source: MicrosoftCalendarSource
) -> None:
    with receiver(echo=False) as box, pytest.raises(CalendarFeedInvalid, match="HTTP 400"):
        source.subscribe(
            notification_url=f"{box.url}/n",
            lifecycle_url=f"{box.url}/l",
            client_state="s",
            expires=datetime.now(UTC) + timedelta(hours=1),
        )
    assert emu.subscriptions() == []


def test_renewing_an_unknown_subscription_is_an_error(source: MicrosoftCalendarSource) -> None:
    with pytest.raises(CalendarFeedInvalid):
        source.renew("no-such-subscription", datetime.now(UTC) + timedelta(hours=1))
