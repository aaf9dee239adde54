"""The Google emulator, driven only through the official libraries (calendar-apis.md §5)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from google.auth.exceptions import RefreshError
from google.oauth2.credentials import Credentials
from google_auth_oauthlib.flow import Flow
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError
from oauthlib.oauth2.rfc6749.errors import InvalidGrantError  # type: ignore[import-untyped]

from tests.emulators.google import GoogleEmulator, GoogleEmulatorOptions

ANN = "ann@example.com"
CALENDAR = "https://www.googleapis.com/auth/calendar.readonly"
EVENTS = "https://www.googleapis.com/auth/calendar.events.readonly"
REDIRECT = "http://127.0.0.1:9/oauth/callback"
ZURICH = "Europe/Zurich"


@pytest.fixture
def emu() -> Iterator[GoogleEmulator]:
    with GoogleEmulator() as emulator:
        emulator.add_user(ANN)
        yield emulator


def credentials(emu: GoogleEmulator, scopes: list[str] | None = None) -> Credentials:
    scopes = scopes or [CALENDAR]
    access, refresh = emu.issue_tokens(ANN, scopes)
    return Credentials(  # type: ignore[no-untyped-call]
        access,
        refresh_token=refresh,
        token_uri=emu.token_url,
        client_id=emu.client_id,
        client_secret=emu.client_secret,
        scopes=scopes,
    )


def calendar_service(emu: GoogleEmulator, creds: Credentials | None = None) -> Any:
    return build(
        "calendar",
        "v3",
        credentials=creds or credentials(emu),
        client_options={"api_endpoint": emu.api_url},
        static_discovery=True,
        cache_discovery=False,
    )


def timed(event_id: str, start: str, end: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": event_id,
        "summary": event_id,
        "start": {"dateTime": start, "timeZone": ZURICH},
        "end": {"dateTime": end, "timeZone": ZURICH},
        **extra,
    }


def sync_all(service: Any, **params: Any) -> tuple[list[dict[str, Any]], str, int]:
    """Page to the end like a connector; returns (items, nextSyncToken, pages)."""
    request = service.events().list(calendarId="primary", **params)
    items: list[dict[str, Any]] = []
    pages = 0
    while request is not None:
        page = request.execute()
        pages += 1
        assert not ("nextPageToken" in page and "nextSyncToken" in page)
        items.extend(page["items"])
        last = page
        request = service.events().list_next(request, page)
    return items, last["nextSyncToken"], pages


def weekly(emu: GoogleEmulator, count: int = 4) -> None:
    series = timed("weekly", "2030-01-07T09:00:00", "2030-01-07T10:00:00")
    emu.put_event(ANN, {**series, "recurrence": [f"RRULE:FREQ=WEEKLY;COUNT={count}"]})


# ---------------------------------------------------------------------------------------------------------
# OAuth


def consent(emu: GoogleEmulator, flow: Flow, **kwargs: str) -> dict[str, str]:
    url, state = flow.authorization_url(**kwargs)
    answer = httpx.get(url, follow_redirects=False, trust_env=False)
    assert answer.status_code == 302
    location = answer.headers["location"]
    assert location.startswith(REDIRECT)
    params = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
    assert params.get("state") == state
    return params


def new_flow(emu: GoogleEmulator, scopes: list[str]) -> Flow:
    config = {
        "web": {
            "client_id": emu.client_id,
            "client_secret": emu.client_secret,
            "auth_uri": emu.auth_url,
            "token_uri": emu.token_url,
            "redirect_uris": [REDIRECT],
        }
    }
    return Flow.from_client_config(config, scopes=scopes, redirect_uri=REDIRECT)


@pytest.fixture
def insecure_oauthlib(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    monkeypatch.setenv("OAUTHLIB_RELAX_TOKEN_SCOPE", "1")


@pytest.mark.usefixtures("insecure_oauthlib")
def test_code_exchange_with_pkce_and_refresh_token_rules(emu: GoogleEmulator) -> None:
    emu.set_consenting_user(ANN)
    flow = new_flow(emu, [CALENDAR])
    flow.fetch_token(code=consent(emu, flow, access_type="offline")["code"])
    first = flow.credentials
    assert first.refresh_token
    assert first.token
    assert first.expiry is not None
    assert first.token_uri == emu.token_url
    assert first.granted_scopes == [CALENDAR]
    exchange = emu.token_requests[-1]
    assert exchange["auth"] == "basic"
    assert exchange["grant_type"] == "authorization_code"
    assert len(exchange["code_verifier"]) == 128
    assert exchange["redirect_uri"] == REDIRECT

    again = new_flow(emu, [CALENDAR])  # not the first consent: no refresh token
    again.fetch_token(code=consent(emu, again, access_type="offline")["code"])
    assert again.credentials.refresh_token is None

    forced = new_flow(emu, [CALENDAR])  # prompt=consent: a new one, the old one still works
    forced.fetch_token(code=consent(emu, forced, access_type="offline", prompt="consent")["code"])
    assert forced.credentials.refresh_token not in (None, first.refresh_token)

    online = new_flow(emu, [CALENDAR])
    online.fetch_token(code=consent(emu, online, access_type="online", prompt="consent")["code"])
    assert online.credentials.refresh_token is None

    emu.expire_access_tokens()
    assert calendar_service(emu, first).events().list(calendarId="primary").execute()["items"] == []
    refresh = emu.token_requests[-1]
    assert refresh["grant_type"] == "refresh_token"
    assert refresh["auth"] == "body"
    assert first.refresh_token == refresh["refresh_token"]  # not rotated


@pytest.mark.usefixtures("insecure_oauthlib")
def test_pkce_mismatch_and_reused_code_are_rejected(emu: GoogleEmulator) -> None:
    flow = new_flow(emu, [CALENDAR])
    code = consent(emu, flow)["code"]
    verifier = flow.code_verifier
    flow.code_verifier = "x" * 128
    with pytest.raises(InvalidGrantError, match="Invalid code verifier"):
        flow.fetch_token(code=code)
    flow.code_verifier = verifier
    flow.fetch_token(code=code)
    with pytest.raises(InvalidGrantError):
        flow.fetch_token(code=code)


@pytest.mark.usefixtures("insecure_oauthlib")
def test_granular_consent_and_denial(emu: GoogleEmulator) -> None:
    emu.set_consenting_user(ANN, granted_scopes=[EVENTS])
    flow = new_flow(emu, [CALENDAR, EVENTS])
    params = consent(emu, flow, prompt="consent")
    assert params["scope"] == EVENTS
    flow.fetch_token(code=params["code"])
    assert flow.credentials.granted_scopes == [EVENTS]

    service = calendar_service(emu, flow.credentials)
    service.events().list(calendarId="primary").execute()
    with pytest.raises(HttpError) as raised:  # calendar.events.* cannot list calendars
        service.calendarList().list().execute()
    assert raised.value.status_code == 403
    assert raised.value.error_details[0]["reason"] == "insufficientPermissions"

    emu.set_consenting_user(ANN, deny=True)
    denied = consent(emu, new_flow(emu, [CALENDAR]))
    assert denied["error"] == "access_denied"
    assert "code" not in denied


def test_revoked_refresh_token_raises_invalid_grant(emu: GoogleEmulator) -> None:
    service = calendar_service(emu)
    service.events().list(calendarId="primary").execute()
    emu.revoke_refresh_tokens(ANN)
    emu.expire_access_tokens()
    with pytest.raises(RefreshError, match="invalid_grant") as raised:
        service.events().list(calendarId="primary").execute()
    assert raised.value.args[0] == "invalid_grant: Token has been expired or revoked."
    assert not raised.value.retryable


def test_revoke_endpoint_kills_the_grant(emu: GoogleEmulator) -> None:
    creds = credentials(emu)
    answer = httpx.post(emu.revoke_url, params={"token": creds.refresh_token}, trust_env=False)
    assert answer.status_code == 200
    with pytest.raises(RefreshError, match="invalid_grant"):
        calendar_service(emu, creds).events().list(calendarId="primary").execute()
    # the access token died with the grant: 401, then the refresh failed
    statuses = [(r.path, r.status) for r in emu.requests[-2:]]
    assert statuses == [("/calendar/v3/calendars/primary/events", 401), ("/token", 400)]


# ---------------------------------------------------------------------------------------------------------
# events.list: paging, sync tokens, errors


def test_full_sync_pages_to_a_sync_token_then_incremental_sees_every_change(emu: GoogleEmulator) -> None:
    for n in range(30):
        emu.put_event(ANN, timed(f"ev{n:02d}", f"2030-02-{n % 28 + 1:02d}T08:00:00", "2030-03-01T09:00:00"))
    weekly(emu)
    service = calendar_service(emu)
    items, token, pages = sync_all(service, singleEvents=True, showDeleted=True, maxResults=7)
    assert pages == 5
    assert len(items) == 34
    assert {i["id"] for i in items if "recurringEventId" in i} == {
        f"weekly_203001{d:02d}T080000Z" for d in (7, 14, 21, 28)
    }

    emu.put_event(ANN, timed("new", "2030-04-01T10:00:00", "2030-04-01T11:00:00"))
    emu.put_event(ANN, timed("ev01", "2030-02-02T12:00:00", "2030-02-02T13:00:00", location="Room 2"))
    emu.delete_event(ANN, "ev02")
    emu.cancel_instance(ANN, "weekly", "2030-01-14T09:00:00+01:00")
    emu.move_instance(
        ANN,
        "weekly",
        "2030-01-21T09:00:00",
        {"dateTime": "2030-01-21T15:00:00+01:00", "timeZone": ZURICH},
        {"dateTime": "2030-01-21T16:00:00+01:00", "timeZone": ZURICH},
    )
    changed, token2, _ = sync_all(service, singleEvents=True, showDeleted=True, syncToken=token, maxResults=2)
    by_id = {i["id"]: i for i in changed}
    assert set(by_id) == {"new", "ev01", "ev02", "weekly_20300114T080000Z", "weekly_20300121T080000Z"}
    assert by_id["ev01"]["location"] == "Room 2"
    assert by_id["ev01"]["sequence"] == 1
    assert by_id["ev02"] == {
        "kind": "calendar#event",
        "etag": by_id["ev02"]["etag"],
        "id": "ev02",
        "status": "cancelled",
    }
    cancelled = by_id["weekly_20300114T080000Z"]
    assert cancelled["status"] == "cancelled"
    assert cancelled["recurringEventId"] == "weekly"
    assert cancelled["originalStartTime"] == {"dateTime": "2030-01-14T09:00:00+01:00", "timeZone": ZURICH}
    moved = by_id["weekly_20300121T080000Z"]
    assert moved["start"]["dateTime"] == "2030-01-21T15:00:00+01:00"
    assert moved["originalStartTime"]["dateTime"] == "2030-01-21T09:00:00+01:00"
    assert "recurrence" not in moved

    assert sync_all(service, singleEvents=True, showDeleted=True, syncToken=token2)[0] == []
    emu.delete_event(ANN, "weekly")  # deleting the master cancels its remaining instances
    gone, _, _ = sync_all(service, singleEvents=True, showDeleted=True, syncToken=token2)
    assert {i["id"] for i in gone} == {f"weekly_203001{d:02d}T080000Z" for d in (7, 14, 21, 28)}
    assert all(i["status"] == "cancelled" and i["recurringEventId"] == "weekly" for i in gone)


def test_series_edits_report_their_instances_in_single_events_sync(emu: GoogleEmulator) -> None:
    weekly(emu)
    service = calendar_service(emu)
    _, token, _ = sync_all(service, singleEvents=True, showDeleted=True)
    series = timed("weekly", "2030-01-07T09:00:00", "2030-01-07T10:00:00", summary="Renamed")
    emu.put_event(ANN, {**series, "recurrence": ["RRULE:FREQ=WEEKLY;COUNT=2"]})
    changed, token, _ = sync_all(service, singleEvents=True, showDeleted=True, syncToken=token)
    states = {i["id"]: (i["status"], i.get("summary")) for i in changed}
    assert states == {
        "weekly_20300107T080000Z": ("confirmed", "Renamed"),
        "weekly_20300114T080000Z": ("confirmed", "Renamed"),
        "weekly_20300121T080000Z": ("cancelled", None),
        "weekly_20300128T080000Z": ("cancelled", None),
    }
    exception = emu.put_event(
        ANN,
        {
            "recurringEventId": "weekly",
            "originalStartTime": {"dateTime": "2030-01-14T09:00:00+01:00", "timeZone": ZURICH},
            "summary": "Moved and renamed",
            "start": {"dateTime": "2030-01-15T09:00:00+01:00"},
            "end": {"dateTime": "2030-01-15T10:00:00+01:00"},
        },
    )
    assert exception["id"] == "weekly_20300114T080000Z"
    changed, _, _ = sync_all(service, singleEvents=True, showDeleted=True, syncToken=token)
    assert [(i["id"], i["summary"]) for i in changed] == [("weekly_20300114T080000Z", "Moved and renamed")]


def test_master_mode_lists_series_and_exceptions(emu: GoogleEmulator) -> None:
    weekly(emu)
    emu.put_event(ANN, {"id": "day", "start": {"date": "2030-01-10"}, "end": {"date": "2030-01-11"}})
    service = calendar_service(emu)
    items, token, _ = sync_all(service)
    assert [i["id"] for i in items] == ["weekly", "day"]
    assert items[0]["recurrence"] == ["RRULE:FREQ=WEEKLY;COUNT=4"]
    emu.cancel_instance(ANN, "weekly", "2030-01-28T09:00:00")
    changed, token, _ = sync_all(service, syncToken=token)
    assert [(i["id"], i["status"]) for i in changed] == [("weekly_20300128T080000Z", "cancelled")]
    assert [i["id"] for i in sync_all(service)[0]] == ["weekly", "weekly_20300128T080000Z", "day"]
    emu.delete_event(ANN, "weekly")
    assert sync_all(service, syncToken=token)[0][0]["status"] == "cancelled"
    assert [i["id"] for i in sync_all(service)[0]] == ["day"]


def test_recurrence_expansion_all_day_and_time_window(emu: GoogleEmulator) -> None:
    emu.put_event(
        ANN,
        {
            "id": "bins",
            "start": {"date": "2030-03-04"},
            "end": {"date": "2030-03-05"},
            "recurrence": ["RRULE:FREQ=DAILY;UNTIL=20300307", "EXDATE;VALUE=DATE:20300305"],
        },
    )
    emu.put_event(
        ANN,
        {
            **timed("dst", "2030-03-29T09:00:00", "2030-03-29T09:30:00"),
            "recurrence": ["RRULE:FREQ=DAILY;COUNT=3", "RDATE;TZID=Europe/Zurich:20300405T070000"],
        },
    )
    service = calendar_service(emu)
    items, _, _ = sync_all(
        service, singleEvents=True, orderBy="startTime", timeMin="2030-03-05T00:00:00+01:00"
    )
    assert [i["id"] for i in items] == [
        "bins_20300306",
        "bins_20300307",
        "dst_20300329T080000Z",
        "dst_20300330T080000Z",
        "dst_20300331T070000Z",  # summer time from 31 March: same wall clock, another UTC hour
        "dst_20300405T050000Z",
    ]
    assert items[0]["start"] == {"date": "2030-03-06"}
    assert items[0]["end"] == {"date": "2030-03-07"}
    # timeMin bounds the END (exclusive), timeMax the START (exclusive)
    window = sync_all(
        service,
        singleEvents=True,
        timeMin="2030-03-29T09:30:00+01:00",
        timeMax="2030-03-30T09:00:00+01:00",
    )[0]
    assert [i["id"] for i in window] == []
    window = sync_all(
        service, singleEvents=True, timeMin="2030-03-29T09:29:59+01:00", timeMax="2030-03-30T09:00:01+01:00"
    )[0]
    assert [i["id"] for i in window] == ["dst_20300329T080000Z", "dst_20300330T080000Z"]
    single = service.events().get(calendarId=ANN, eventId="dst_20300331T070000Z").execute()
    assert single["originalStartTime"] == {"dateTime": "2030-03-31T09:00:00+02:00", "timeZone": ZURICH}


def test_invalidated_sync_token_answers_410_full_sync_required(emu: GoogleEmulator) -> None:
    service = calendar_service(emu)
    _, token, _ = sync_all(service)
    emu.invalidate_sync_tokens(ANN)
    with pytest.raises(HttpError) as raised:
        service.events().list(calendarId="primary", syncToken=token).execute()
    error = raised.value
    assert error.status_code == 410
    assert error.reason == "Sync token is no longer valid, a full sync is required."
    assert error.error_details[0]["reason"] == "fullSyncRequired"
    assert error.error_details[0]["domain"] == "calendar"
    assert sync_all(service)[0] == []  # a full sync works again


@pytest.mark.parametrize(
    ("params", "location"),
    [
        ({"syncToken": "TOKEN", "timeMin": "2030-01-01T00:00:00Z"}, "timeMin"),
        ({"orderBy": "startTime"}, "orderBy"),
        ({"timeMin": "2030-01-01T00:00:00"}, "timeMin"),
        ({"timeMin": "2030-01-02T00:00:00Z", "timeMax": "2030-01-01T00:00:00Z"}, "timeMax"),
    ],
)
def test_bad_list_queries_answer_400(emu: GoogleEmulator, params: dict[str, str], location: str) -> None:
    service = calendar_service(emu)
    if params.get("syncToken"):
        params["syncToken"] = sync_all(service)[1]
    with pytest.raises(HttpError) as raised:
        service.events().list(calendarId="primary", **params).execute()
    assert raised.value.status_code == 400
    assert raised.value.error_details[0]["location"] == location


def test_empty_pages_are_allowed_when_configured() -> None:
    with GoogleEmulator(options=GoogleEmulatorOptions(empty_page_every=2)) as emu:
        emu.add_user(ANN)
        for n in range(5):
            emu.put_event(ANN, timed(f"e{n}", "2030-01-01T08:00:00", "2030-01-01T09:00:00"))
        service = calendar_service(emu)
        items, _, pages = sync_all(service, maxResults=2)
    assert len(items) == 5
    assert pages == 5


def test_rate_limits_and_unknown_calendar(emu: GoogleEmulator) -> None:
    service = calendar_service(emu)
    emu.inject_fault("GET", "/calendar/v3/calendars/", 429, headers={"Retry-After": "2"})
    with pytest.raises(HttpError) as raised:
        service.events().list(calendarId="primary").execute()
    assert raised.value.status_code == 429
    assert raised.value.resp["retry-after"] == "2"
    assert raised.value.error_details[0]["reason"] == "rateLimitExceeded"

    emu.inject_fault("GET", "/calendar/v3/", 403)
    emu.inject_fault("GET", "/calendar/v3/", 403, reason="userRateLimitExceeded")
    for reason in ("rateLimitExceeded", "userRateLimitExceeded"):
        with pytest.raises(HttpError) as raised:
            service.events().list(calendarId="primary").execute()
        assert raised.value.status_code == 403
        assert raised.value.error_details[0] == {
            "domain": "usageLimits",
            "reason": reason,
            "message": "Rate Limit Exceeded" if reason == "rateLimitExceeded" else "User Rate Limit Exceeded",
        }
    assert service.events().list(calendarId="primary").execute()["items"] == []

    with pytest.raises(HttpError) as raised:
        service.events().list(calendarId="nobody@example.com").execute()
    assert raised.value.status_code == 404
    assert raised.value.error_details[0]["reason"] == "notFound"


def test_expired_access_token_is_refreshed_mid_sync(emu: GoogleEmulator) -> None:
    for n in range(4):
        emu.put_event(ANN, timed(f"e{n}", "2030-01-01T08:00:00", "2030-01-01T09:00:00"))
    service = calendar_service(emu)
    request = service.events().list(calendarId="primary", maxResults=2)
    first = request.execute()
    emu.expire_access_tokens()
    second = service.events().list_next(request, first).execute()
    assert [i["id"] for i in second["items"]] == ["e2", "e3"]
    assert "nextSyncToken" in second
    assert [r["grant_type"] for r in emu.token_requests] == ["refresh_token"]
    calls = [r for r in emu.requests if r.path.endswith("/events")]
    assert len(calls) == 3  # page 1, page 2 refused with 401, page 2 again
    assert calls[1].headers["Authorization"] != calls[2].headers["Authorization"]


def test_calendar_list_pages(emu: GoogleEmulator) -> None:
    for n in range(4):
        emu.add_calendar(ANN, f"c{n}@group.calendar.google.com", f"Cal {n}", access_role="reader")
    service = calendar_service(emu)
    request = service.calendarList().list(maxResults=2)
    entries: list[dict[str, Any]] = []
    while request is not None:
        page = request.execute()
        entries.extend(page["items"])
        last = page
        request = service.calendarList().list_next(request, page)
    assert [e["id"] for e in entries] == [ANN] + [f"c{n}@group.calendar.google.com" for n in range(4)]
    assert entries[0]["primary"] is True
    assert entries[1]["accessRole"] == "reader"
    assert "nextSyncToken" in last
    owners = service.calendarList().list(minAccessRole="owner").execute()["items"]
    assert [e["id"] for e in owners] == [ANN]


# ---------------------------------------------------------------------------------------------------------
# Push


@dataclass
class Receiver:
    url: str
    received: list[dict[str, str]] = field(default_factory=list)
    arrived: threading.Condition = field(default_factory=threading.Condition)

    def wait_for(self, count: int, timeout: float = 5.0) -> list[dict[str, str]]:
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.received) >= count, timeout)
            return list(self.received)


@contextmanager
def push_receiver() -> Iterator[Receiver]:
    receiver = Receiver("")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()
            with receiver.arrived:
                receiver.received.append(
                    {**dict(self.headers.items()), "path": self.path, "body": body.decode()}
                )
                receiver.arrived.notify_all()

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/google"
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()


def test_watch_pushes_sync_then_exists_until_stopped(emu: GoogleEmulator) -> None:
    service = calendar_service(emu)
    with push_receiver() as receiver:
        body = {"id": "chan-1", "type": "web_hook", "address": receiver.url, "token": "secret-ish"}
        channel = service.events().watch(calendarId="primary", body=body).execute()
        assert channel["kind"] == "api#channel"
        assert channel["id"] == "chan-1"
        assert isinstance(channel["expiration"], str)
        assert abs(int(channel["expiration"]) / 1000 - (time.time() + 3600)) < 60
        [sync] = receiver.wait_for(1)
        assert sync["X-Goog-Resource-State"] == "sync"
        assert sync["X-Goog-Message-Number"] == "1"
        assert sync["X-Goog-Channel-ID"] == "chan-1"
        assert sync["X-Goog-Channel-Token"] == "secret-ish"
        assert sync["X-Goog-Resource-ID"] == channel["resourceId"]
        assert sync["X-Goog-Channel-Expiration"].endswith(" GMT")
        assert sync["body"] == ""
        assert sync["User-Agent"].startswith("APIs-Google")
        assert sync["path"] == "/hooks/google"
        assert [c["id"] for c in emu.channels()] == ["chan-1"]

        emu.put_event(ANN, timed("e1", "2030-01-01T08:00:00", "2030-01-01T09:00:00"))
        emu.delete_event(ANN, "e1")
        pushes = receiver.wait_for(3)
        assert [p["X-Goog-Resource-State"] for p in pushes] == ["sync", "exists", "exists"]
        numbers = [int(p["X-Goog-Message-Number"]) for p in pushes]
        assert numbers == sorted(numbers)
        assert numbers[2] > numbers[1] + 1 > 2

        service.channels().stop(body={"id": "chan-1", "resourceId": channel["resourceId"]}).execute()
        assert emu.requests[-1].path == "/calendar/v3/channels/stop"
        assert emu.channels() == []
        emu.put_event(ANN, timed("e2", "2030-01-01T08:00:00", "2030-01-01T09:00:00"))
        assert emu.wait_for_push()
        assert len(receiver.received) == 3
    assert [d["status"] for d in emu.deliveries()] == [200, 200, 200]
