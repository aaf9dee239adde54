"""The Microsoft emulator, driven only through the official pieces: MSAL, and httpx against Graph (§3, §4)."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

import certifi
import httpx
import jwt
import msal
import pytest
import requests

from tests.emulators.microsoft import MicrosoftEmulator, MicrosoftEmulatorOptions

ANN = "ann@example.com"
BOB = "bob@example.com"
SCOPES = ["Calendars.Read", "User.Read"]
REDIRECT = "http://127.0.0.1:9/oauth/microsoft/callback"
BERLIN = "W. Europe Standard Time"
WINDOW = {"startDateTime": "2026-11-23T00:00:00Z", "endDateTime": "2026-11-30T00:00:00Z"}
QUERY_MODE_WARNING = "ignore:response_mode='form_post' is recommended:UserWarning"


@pytest.fixture
def emu(monkeypatch: pytest.MonkeyPatch) -> Iterator[MicrosoftEmulator]:
    with MicrosoftEmulator() as emulator:
        emulator.add_user(ANN, name="Ann Example")
        # calendar-apis.md 4.3: REQUESTS_CA_BUNDLE overrides MSAL's verify=, so point it at the CA too
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", emulator.ca_bundle)
        yield emulator


def msal_app(emu: MicrosoftEmulator) -> msal.ConfidentialClientApplication:
    return msal.ConfidentialClientApplication(
        emu.client_id,
        client_credential=emu.client_secret,
        authority=emu.authority,
        instance_discovery=False,
        verify=emu.ca_bundle,
        token_cache=msal.SerializableTokenCache(),
    )


def graph(emu: MicrosoftEmulator, token: str | None = None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(verify=emu.ssl_context(), trust_env=False, headers=headers, timeout=10)


def sign_in(emu: MicrosoftEmulator, app: msal.ConfidentialClientApplication, **kwargs: Any) -> dict[str, Any]:
    """The auth code flow with form_post (what MSAL recommends): returns the token result."""
    flow = app.initiate_auth_code_flow(SCOPES, redirect_uri=REDIRECT, response_mode="form_post", **kwargs)
    with graph(emu) as client:
        page = client.get(flow["auth_uri"])
    assert page.status_code == 200
    assert f'action="{REDIRECT}"' in page.text
    fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', page.text))
    result: dict[str, Any] = app.acquire_token_by_auth_code_flow(flow, fields)
    return result


def timed(event_id: str, start: str, end: str, zone: str = BERLIN, **extra: Any) -> dict[str, Any]:
    return {
        "id": event_id,
        "subject": event_id,
        "start": {"dateTime": start, "timeZone": zone},
        "end": {"dateTime": end, "timeZone": zone},
        **extra,
    }


def daily(emu: MicrosoftEmulator, count: int = 5) -> None:
    series = timed("daily", "2026-11-23T09:00:00", "2026-11-23T09:15:00", "Europe/Zurich", subject="Standup")
    recurrence = {
        "pattern": {"type": "daily", "interval": 1},
        "range": {"type": "numbered", "startDate": "2026-11-23", "numberOfOccurrences": count},
    }
    emu.put_event(ANN, "calendar", {**series, "recurrence": recurrence})


def delta_round(
    client: httpx.Client, url: str, params: dict[str, str] | None = None, prefer: str | None = None
) -> tuple[list[dict[str, Any]], str, int]:
    """Follow nextLinks verbatim to the deltaLink; returns (items, deltaLink, pages)."""
    headers = {"Prefer": prefer} if prefer else {}
    items: list[dict[str, Any]] = []
    pages = 0
    link: str | None = url
    while link is not None:
        answer = client.get(link, params=params if pages == 0 else None, headers=headers)
        assert answer.status_code == 200, answer.text
        page = answer.json()
        pages += 1
        assert ("@odata.nextLink" in page) != ("@odata.deltaLink" in page)
        items.extend(page["value"])
        link = page.get("@odata.nextLink")
        delta_link = page.get("@odata.deltaLink")
    assert delta_link is not None
    return items, delta_link, pages


# ---------------------------------------------------------------------------------------------------------
# Identity through MSAL


@pytest.mark.filterwarnings(QUERY_MODE_WARNING)
def test_auth_code_flow_then_silent_refresh_rotates_the_refresh_token(emu: MicrosoftEmulator) -> None:
    app = msal_app(emu)
    flow = app.initiate_auth_code_flow(SCOPES, redirect_uri=REDIRECT)
    sent = {k: v[0] for k, v in parse_qs(urlsplit(flow["auth_uri"]).query).items()}
    assert flow["auth_uri"].startswith(f"{emu.authority}/oauth2/v2.0/authorize?")
    assert sent["scope"] == "Calendars.Read User.Read offline_access openid profile"  # MSAL adds 3
    assert sent["code_challenge_method"] == "S256"
    assert sent["client_info"] == "1"
    with graph(emu) as client:
        answer = client.get(flow["auth_uri"])
    assert answer.status_code == 302
    location = answer.headers["location"]
    assert location.startswith(REDIRECT + "?")
    params = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
    assert set(params) == {"code", "state", "session_state"}

    result = app.acquire_token_by_auth_code_flow(flow, params)
    assert result["token_source"] == "identity_provider", result
    assert result["scope"] == sent["scope"]  # echoed verbatim: MSAL's cache lookups hit
    assert int(result["expires_in"]) > 300
    claims = result["id_token_claims"]
    assert claims["aud"] == emu.client_id
    assert claims["preferred_username"] == ANN
    assert claims["tid"] == emu.tenant_id
    assert claims["iss"] == f"{emu.base_url}/{emu.tenant_id}/v2.0"
    exchange = emu.token_requests[-1]
    assert exchange["grant_type"] == "authorization_code"
    assert exchange["auth"] == "body"
    assert exchange["redirect_uri"] == REDIRECT
    assert exchange["code_verifier"]
    # the id_token is really signed: check it against the published keys
    with graph(emu) as client:
        keys = client.get(f"{emu.authority}/discovery/v2.0/keys").json()
    key = jwt.PyJWK(keys["keys"][0]).key
    jwt.decode(result["id_token"], key, algorithms=["RS256"], audience=emu.client_id)

    [account] = app.get_accounts()
    assert account["home_account_id"] == f"{claims['oid']}.{emu.tenant_id}"
    assert account["username"] == ANN
    assert app.acquire_token_silent_with_error(SCOPES, account)["token_source"] == "cache"
    assert len(emu.token_requests) == 1

    first_rt = result["refresh_token"]
    refreshed = app.acquire_token_silent_with_error(SCOPES, account, force_refresh=True)
    assert refreshed["token_source"] == "identity_provider"
    refresh = emu.token_requests[-1]
    assert refresh["grant_type"] == "refresh_token"
    assert refresh["refresh_token"] == first_rt
    assert refresh["X-AnchorMailbox"] == f"Oid:{claims['oid']}@{emu.tenant_id}"
    cached = [rt["secret"] for rt in app.token_cache.search(msal.TokenCache.CredentialType.REFRESH_TOKEN)]
    assert cached == [refreshed["refresh_token"]] != [first_rt]  # rotated, and the cache holds the new one
    app.acquire_token_silent_with_error(SCOPES, account, force_refresh=True)
    assert emu.token_requests[-1]["refresh_token"] == refreshed["refresh_token"]

    again = app.acquire_token_by_auth_code_flow(flow, params)  # codes are single-use
    assert again["error"] == "invalid_grant"
    assert again["error_codes"] == [54005]
    assert again["error_description"].startswith("AADSTS54005: ")


def test_requests_ca_bundle_overrides_msal_verify(monkeypatch: pytest.MonkeyPatch) -> None:
    with MicrosoftEmulator(tenant="contoso.onmicrosoft.com") as emu:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", certifi.where())  # a bundle without the test CA
        with pytest.raises(requests.exceptions.SSLError):
            msal_app(emu)  # verify=emu.ca_bundle silently ignored (calendar-apis.md 4.3)
        monkeypatch.delenv("REQUESTS_CA_BUNDLE")
        monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
        assert msal_app(emu).authority.tenant == "contoso.onmicrosoft.com"
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", certifi.where())
        with requests.Session() as session:  # the robust fix: a session that ignores the environment
            session.trust_env = False
            session.verify = emu.ca_bundle
            app = msal.ConfidentialClientApplication(
                emu.client_id,
                client_credential=emu.client_secret,
                authority=emu.authority,
                instance_discovery=False,
                http_client=session,
            )
            assert app.get_accounts() == []
        with pytest.raises(ValueError, match="https"):
            msal.ConfidentialClientApplication(
                emu.client_id, authority=emu.authority.replace("https:", "http:"), instance_discovery=False
            )
        discovery = [r.path for r in emu.requests]
    assert discovery == ["/contoso.onmicrosoft.com/v2.0/.well-known/openid-configuration"] * 2


def test_pkce_mismatch_partial_consent_and_denial(emu: MicrosoftEmulator) -> None:
    app = msal_app(emu)
    flow = app.initiate_auth_code_flow(SCOPES, redirect_uri=REDIRECT, response_mode="form_post")
    with graph(emu) as client:
        fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', client.get(flow["auth_uri"]).text))
    bad = app.acquire_token_by_auth_code_flow({**flow, "code_verifier": "x" * 43}, fields)
    assert bad["error"] == "invalid_grant"
    assert bad["error_codes"] == [501481]

    emu.set_consenting_user(ANN, granted_scopes=["Calendars.Read"])
    narrowed = sign_in(emu, msal_app(emu))
    assert narrowed["scope"] == "Calendars.Read offline_access openid profile"
    with graph(emu, narrowed["access_token"]) as client:
        assert client.get(f"{emu.graph_url}/me/calendars").status_code == 200
        forbidden = client.get(f"{emu.graph_url}/me")
    assert forbidden.status_code == 403
    assert forbidden.json()["error"]["code"] == "ErrorAccessDenied"

    emu.set_consenting_user(ANN, deny=True)
    denied = sign_in(emu, msal_app(emu))
    assert denied["error"] == "access_denied"
    assert denied["error_description"].startswith("AADSTS65004")


@pytest.mark.parametrize(
    ("action", "error", "code"),
    [
        ("revoke", "invalid_grant", 50173),
        ("expire", "invalid_grant", 700082),
        ("mfa", "interaction_required", 50076),
    ],
)
def test_silent_refresh_failures_come_back_as_error_dicts(
    emu: MicrosoftEmulator, action: str, error: str, code: int
) -> None:
    app = msal_app(emu)
    sign_in(emu, app)
    [account] = app.get_accounts()
    if action == "revoke":
        emu.revoke_refresh_tokens(ANN)
    elif action == "expire":
        emu.revoke_refresh_tokens(ANN, error_code=700082)
    else:
        emu.require_interaction(ANN)
    failed = app.acquire_token_silent_with_error(SCOPES, account, force_refresh=True)
    assert failed["error"] == error
    assert failed["error_codes"] == [code]
    assert failed["error_description"].startswith(f"AADSTS{code}: ")
    assert app.acquire_token_silent(SCOPES, account, force_refresh=True) is None
    # MSAL keeps the refresh token after invalid_grant: reconnecting means a new auth code flow
    assert len(list(app.token_cache.search(msal.TokenCache.CredentialType.REFRESH_TOKEN))) == 1


def test_expired_access_token_gets_401_and_a_forced_refresh_recovers(emu: MicrosoftEmulator) -> None:
    app = msal_app(emu)
    token = sign_in(emu, app)["access_token"]
    with graph(emu, token) as client:
        assert client.get(f"{emu.graph_url}/me").json()["userPrincipalName"] == ANN
        emu.expire_access_tokens()
        refused = client.get(f"{emu.graph_url}/me")
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "InvalidAuthenticationToken"
    assert "WWW-Authenticate" in refused.headers
    [account] = app.get_accounts()
    assert app.acquire_token_silent(SCOPES, account)["access_token"] == token  # MSAL can't know
    fresh = app.acquire_token_silent(SCOPES, account, force_refresh=True)["access_token"]
    with graph(emu, fresh) as client:
        assert client.get(f"{emu.graph_url}/me").status_code == 200
    with graph(emu) as client:
        missing = client.get(f"{emu.graph_url}/me")
    assert (missing.status_code, missing.json()["error"]["message"]) == (401, "Access token is empty.")


# ---------------------------------------------------------------------------------------------------------
# Graph: calendars and calendarView/delta


@pytest.fixture
def client(emu: MicrosoftEmulator) -> Iterator[httpx.Client]:
    access, _ = emu.issue_tokens(ANN)
    with graph(emu, access) as http:
        yield http


def test_calendars_page_with_absolute_next_links(emu: MicrosoftEmulator, client: httpx.Client) -> None:
    for n in range(4):
        emu.add_calendar(ANN, f"cal-{n}", f"Cal {n}", can_edit=n != 2)
    names: list[str] = []
    link: str | None = f"{emu.graph_url}/me/calendars?$top=2"
    pages = 0
    while link is not None:
        assert link.startswith(emu.graph_url)
        page = client.get(link).json()
        pages += 1
        names.extend(c["name"] for c in page["value"])
        if pages == 1:
            default = page["value"][0]
            assert default["isDefaultCalendar"] is True
            assert default["id"] == emu.default_calendar_id(ANN)
            assert default["owner"] == {"name": "Ann Example", "address": ANN}
        link = page.get("@odata.nextLink")
    assert (pages, names) == (3, ["Calendar", "Cal 0", "Cal 1", "Cal 2", "Cal 3"])
    assert client.get(f"{emu.graph_url}/me/calendars/cal-2").json()["canEdit"] is False
    assert client.get(f"{emu.graph_url}/me/calendars/nope").status_code == 404


def test_delta_first_round_pages_to_a_delta_link(emu: MicrosoftEmulator, client: httpx.Client) -> None:
    for n in range(6):
        emu.put_event(
            ANN, "calendar", timed(f"e{n}", f"2026-11-2{n + 3}T10:00:00", f"2026-11-2{n + 3}T11:00:00")
        )
    emu.put_event(ANN, "calendar", timed("later", "2026-12-10T10:00:00", "2026-12-10T11:00:00"))
    daily(emu, count=10)  # 7 occurrences fall into the window
    url = f"{emu.graph_url}/me/calendars/{emu.default_calendar_id(ANN)}/calendarView/delta"
    first = client.get(url, params=WINDOW, headers={"Prefer": "odata.maxpagesize=4"})
    assert first.headers["Preference-Applied"] == "odata.maxpagesize=4, odata.track-changes"
    assert first.json()["@odata.nextLink"].startswith(f"{url}?$skiptoken=")
    items, delta_link, pages = delta_round(client, url, WINDOW, "odata.maxpagesize=4")
    assert pages == 4
    assert delta_link.startswith(f"{url}?$deltatoken=")
    assert "startDateTime" not in delta_link
    assert len(items) == 13
    assert "later" not in {i["id"] for i in items}
    assert "seriesMaster" not in {i["type"] for i in items}
    occurrences = [i for i in items if i["type"] == "occurrence"]
    assert len(occurrences) == 7
    assert {i["seriesMasterId"] for i in occurrences} == {"daily"}
    assert len({i["id"] for i in occurrences}) == len({i["iCalUId"] for i in occurrences}) == 7
    assert occurrences[0]["originalStart"] == "2026-11-23T08:00:00Z"
    assert occurrences[0]["start"] == {"dateTime": "2026-11-23T08:00:00.0000000", "timeZone": "UTC"}
    assert occurrences[0]["originalStartTimeZone"] == "Europe/Zurich"
    single = next(i for i in items if i["id"] == "e0")
    assert single["start"] == {"dateTime": "2026-11-23T09:00:00.0000000", "timeZone": "UTC"}
    assert single["subject"] == "e0"
    assert single["changeKey"]
    assert single["lastModifiedDateTime"].endswith("Z")

    assert delta_round(client, delta_link)[0] == []  # nothing changed
    missing = client.get(url, params={"startDateTime": WINDOW["startDateTime"]})
    assert missing.status_code == 400
    assert "StartDateTime and EndDateTime" in missing.json()["error"]["message"]
    # httpx 0.28's params= would REPLACE the link's query (dropping $deltatoken): append by hand
    repeated = client.get(f"{delta_link}&{urlencode(WINDOW)}")
    assert repeated.status_code == 400  # start/end only on the first call


def test_delta_incremental_sees_every_kind_of_change(emu: MicrosoftEmulator, client: httpx.Client) -> None:
    emu.put_event(ANN, "calendar", timed("keep", "2026-11-24T10:00:00", "2026-11-24T11:00:00"))
    emu.put_event(ANN, "calendar", timed("edit", "2026-11-24T12:00:00", "2026-11-24T13:00:00"))
    emu.put_event(ANN, "calendar", timed("gone", "2026-11-25T12:00:00", "2026-11-25T13:00:00"))
    emu.put_event(ANN, "calendar", timed("leaves", "2026-11-26T12:00:00", "2026-11-26T13:00:00"))
    emu.put_event(ANN, "calendar", timed("called-off", "2026-11-27T12:00:00", "2026-11-27T13:00:00"))
    daily(emu)
    url = f"{emu.graph_url}/me/calendarView/delta"
    items, delta_link, _ = delta_round(client, url, WINDOW)
    ids = {i["start"]["dateTime"][:10]: i["id"] for i in items if i.get("seriesMasterId") == "daily"}

    emu.put_event(ANN, "calendar", timed("new", "2026-11-28T08:00:00", "2026-11-28T09:00:00"))
    emu.put_event(
        ANN, "calendar", timed("edit", "2026-11-24T12:00:00", "2026-11-24T13:30:00", subject="Edited")
    )
    emu.delete_event(ANN, "calendar", "gone")
    emu.put_event(ANN, "calendar", timed("leaves", "2026-12-26T12:00:00", "2026-12-26T13:00:00"))
    emu.put_event(
        ANN, "calendar", timed("called-off", "2026-11-27T12:00:00", "2026-11-27T13:00:00", isCancelled=True)
    )
    emu.put_event(ANN, "calendar", timed("elsewhen", "2027-02-01T12:00:00", "2027-02-01T13:00:00"))
    emu.cancel_occurrence(ANN, "calendar", "daily", "2026-11-24")
    emu.move_occurrence(
        ANN,
        "calendar",
        "daily",
        "2026-11-25T09:00:00",
        {"dateTime": "2026-11-25T15:00:00", "timeZone": "Europe/Zurich"},
        {"dateTime": "2026-11-25T15:30:00", "timeZone": "Europe/Zurich"},
    )
    emu.move_occurrence(
        ANN,
        "calendar",
        "daily",
        "2026-11-26T08:00:00Z",
        {"dateTime": "2026-12-26T09:00:00", "timeZone": "Europe/Zurich"},
        {"dateTime": "2026-12-26T09:15:00", "timeZone": "Europe/Zurich"},
    )
    changed, delta_link, _ = delta_round(client, delta_link, prefer="odata.maxpagesize=2")
    by_id = {i["id"]: i for i in changed}
    removed = {i["id"] for i in changed if "@removed" in i}
    assert removed == {"gone", "leaves", "elsewhen", ids["2026-11-24"], ids["2026-11-26"]}
    assert by_id["gone"] == {
        "@odata.type": "#microsoft.graph.event",
        "id": "gone",
        "@removed": {"reason": "deleted"},
    }
    assert set(by_id) - removed == {"new", "edit", "called-off", ids["2026-11-25"]}
    assert by_id["edit"]["subject"] == "Edited"
    assert by_id["edit"]["end"]["dateTime"] == "2026-11-24T12:30:00.0000000"
    assert by_id["called-off"]["isCancelled"] is True
    moved = by_id[ids["2026-11-25"]]
    assert moved["type"] == "exception"
    assert moved["originalStart"] == "2026-11-25T08:00:00Z"
    assert moved["start"]["dateTime"] == "2026-11-25T14:00:00.0000000"
    assert "keep" not in by_id

    assert delta_round(client, delta_link)[0] == []
    emu.delete_event(ANN, "calendar", "daily")  # the series goes: every occurrence is removed
    gone, _, _ = delta_round(client, delta_link)
    assert all("@removed" in i for i in gone)
    assert {i["id"] for i in gone} == {ids["2026-11-23"], ids["2026-11-25"], ids["2026-11-27"]}


def test_time_zone_preferences_and_all_day_events(emu: MicrosoftEmulator, client: httpx.Client) -> None:
    emu.put_event(ANN, "calendar", timed("berlin", "2026-11-25T10:00:00.0000000", "2026-11-25T11:00:00"))
    emu.put_event(
        ANN,
        "calendar",
        timed("day", "2026-11-26T00:00:00", "2026-11-27T00:00:00", "Pacific Standard Time", isAllDay=True),
    )
    url = f"{emu.graph_url}/me/calendar/calendarView"
    plain = {i["id"]: i for i in client.get(url, params=WINDOW).json()["value"]}
    assert plain["berlin"]["start"] == {"dateTime": "2026-11-25T09:00:00.0000000", "timeZone": "UTC"}
    assert plain["day"]["start"] == {"dateTime": "2026-11-26T00:00:00.0000000", "timeZone": "UTC"}
    prefer = 'outlook.timezone="Eastern Standard Time", odata.maxpagesize=5'
    answer = client.get(f"{url}/delta", params=WINDOW, headers={"Prefer": prefer})
    assert 'outlook.timezone="Eastern Standard Time"' in answer.headers["Preference-Applied"]
    eastern = {i["id"]: i for i in answer.json()["value"]}
    assert eastern["berlin"]["start"] == {
        "dateTime": "2026-11-25T04:00:00.0000000",
        "timeZone": "Eastern Standard Time",
    }
    assert eastern["day"]["end"] == {
        "dateTime": "2026-11-27T00:00:00.0000000",
        "timeZone": "Eastern Standard Time",
    }
    assert eastern["day"]["isAllDay"] is True
    emu.options.default_timezone = None  # the event's own zone when no preference is sent
    own = client.get(f"{emu.graph_url}/me/events/berlin").json()
    assert own["start"] == {"dateTime": "2026-11-25T10:00:00.0000000", "timeZone": BERLIN}
    emu.options.all_day_under_timezone = "convert"
    converted = {
        i["id"]: i for i in client.get(url, params=WINDOW, headers={"Prefer": prefer}).json()["value"]
    }
    assert converted["day"]["start"]["dateTime"] == "2026-11-26T03:00:00.0000000"


def test_recurrence_patterns_expand_within_the_window(emu: MicrosoftEmulator, client: httpx.Client) -> None:
    weekly = {
        "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["tuesday", "thursday"]},
        "range": {"type": "endDate", "startDate": "2026-10-20", "endDate": "2026-11-26"},
    }
    emu.put_event(
        ANN,
        "calendar",
        {**timed("weekly", "2026-10-20T18:00:00", "2026-10-20T19:00:00"), "recurrence": weekly},
    )
    monthly = {
        "pattern": {"type": "relativeMonthly", "interval": 1, "daysOfWeek": ["friday"], "index": "last"},
        "range": {"type": "noEnd", "startDate": "2026-01-30"},
    }
    emu.put_event(
        ANN,
        "calendar",
        {**timed("monthly", "2026-01-30T08:00:00", "2026-01-30T09:00:00"), "recurrence": monthly},
    )
    window = {"startDateTime": "2026-10-26T00:00:00", "endDateTime": "2026-12-01T00:00:00"}
    items, _, _ = delta_round(client, f"{emu.graph_url}/me/calendarView/delta", window)
    starts = sorted((i["seriesMasterId"], i["start"]["dateTime"][:16]) for i in items)
    assert starts == [
        ("monthly", "2026-10-30T07:00"),
        ("monthly", "2026-11-27T07:00"),
        ("weekly", "2026-10-27T17:00"),
        ("weekly", "2026-10-29T17:00"),  # 18:00 Berlin, after the switch to winter time
        ("weekly", "2026-11-03T17:00"),
        ("weekly", "2026-11-05T17:00"),
        ("weekly", "2026-11-10T17:00"),
        ("weekly", "2026-11-12T17:00"),
        ("weekly", "2026-11-17T17:00"),
        ("weekly", "2026-11-19T17:00"),
        ("weekly", "2026-11-24T17:00"),
        ("weekly", "2026-11-26T17:00"),
    ]
    occurrence = next(i for i in items if i["seriesMasterId"] == "monthly")
    fetched = client.get(f"{emu.graph_url}/me/events/{occurrence['id']}").json()
    assert (fetched["type"], fetched["start"]) == ("occurrence", occurrence["start"])
    master = client.get(f"{emu.graph_url}/me/events/monthly").json()
    assert master["type"] == "seriesMaster"
    assert master["recurrence"] == monthly

    moved_up = timed("ignored", "2026-11-24T16:00:00", "2026-11-24T17:00:00", subject="Moved up")
    del moved_up["id"]
    exception = emu.put_event(
        ANN, "calendar", {**moved_up, "seriesMasterId": "weekly", "originalStart": "2026-11-24T18:00:00"}
    )
    assert (exception["type"], exception["originalStart"]) == ("exception", "2026-11-24T17:00:00Z")
    emu.delete_event(ANN, "calendar", occurrence["id"])  # an occurrence id: that occurrence goes
    users_url = f"{emu.graph_url}/users/{ANN}/calendarView/delta"
    after = {i["id"]: i for i in delta_round(client, users_url, window)[0]}
    assert occurrence["id"] not in after
    assert after[exception["id"]]["subject"] == "Moved up"
    assert after[exception["id"]]["start"]["dateTime"] == "2026-11-24T15:00:00.0000000"
    assert client.get(f"{emu.graph_url}/me/events/{occurrence['id']}").status_code == 404


@pytest.mark.parametrize("code", ["syncStateNotFound", "resyncRequired"])
def test_invalidated_delta_tokens_answer_410(emu: MicrosoftEmulator, client: httpx.Client, code: str) -> None:
    for n in range(3):
        emu.put_event(ANN, "calendar", timed(f"e{n}", "2026-11-24T10:00:00", "2026-11-24T11:00:00"))
    url = f"{emu.graph_url}/me/calendarView/delta"
    _, delta_link, _ = delta_round(client, url, WINDOW)
    first = client.get(url, params=WINDOW, headers={"Prefer": "odata.maxpagesize=1"}).json()
    emu.invalidate_delta_tokens(code=code)
    for link in (delta_link, first["@odata.nextLink"]):
        gone = client.get(link)
        assert gone.status_code == 410
        assert gone.json()["error"]["code"] == code
        assert gone.headers["Location"] == f"{url}?$deltatoken="
    items, _, _ = delta_round(client, url, WINDOW)  # a new round works
    assert len(items) == 3


def test_throttling_and_injected_faults(emu: MicrosoftEmulator, client: httpx.Client) -> None:
    url = f"{emu.graph_url}/me/calendarView/delta"
    emu.inject_fault("GET", "/v1.0/me/calendarView", 429, headers={"Retry-After": "1.5"})
    emu.inject_fault("GET", "/v1.0/", 503, times=2)
    throttled = client.get(url, params=WINDOW)
    assert throttled.status_code == 429
    assert float(throttled.headers["Retry-After"]) == 1.5
    assert throttled.json()["error"]["code"] == "TooManyRequests"
    for _ in range(2):
        unavailable = client.get(url, params=WINDOW)
        assert unavailable.status_code == 503
        assert unavailable.json()["error"]["code"] == "ServiceNotAvailable"
    assert client.get(url, params=WINDOW).status_code == 200
    assert [r.status for r in emu.requests[-4:]] == [429, 503, 503, 200]


def test_empty_pages_with_next_links_when_configured() -> None:
    options = MicrosoftEmulatorOptions(empty_first_delta_page=True, empty_page_every=3)
    with MicrosoftEmulator(options=options) as emu:
        emu.add_user(ANN)
        for n in range(5):
            emu.put_event(ANN, "calendar", timed(f"e{n}", "2026-11-24T10:00:00", "2026-11-24T11:00:00"))
        with graph(emu, emu.issue_tokens(ANN)[0]) as http:
            url = f"{emu.graph_url}/me/calendarView/delta"
            first = http.get(url, params=WINDOW).json()
            assert first["value"] == []
            assert "@odata.nextLink" in first
            items, _, pages = delta_round(http, url, WINDOW, "odata.maxpagesize=2")
    assert (len(items), pages) == (5, 5)


# ---------------------------------------------------------------------------------------------------------
# Subscriptions


@dataclass
class Receiver:
    url: str
    mode: str = "echo"  # "echo", "silent" (202 without the token), "encoded" (echoes it still URL-encoded)
    received: list[dict[str, Any]] = field(default_factory=list)
    arrived: threading.Condition = field(default_factory=threading.Condition)

    def wait_for(self, count: int, path: str, timeout: float = 5.0) -> list[dict[str, Any]]:
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.posts(path)) >= count, timeout)
            return self.posts(path)

    def posts(self, path: str) -> list[dict[str, Any]]:
        return [r for r in self.received if r["path"] == path and "validationToken" not in r]


@contextmanager
def receiver(mode: str = "echo") -> Iterator[Receiver]:
    box = Receiver("", mode)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            parts = urlsplit(self.path)
            raw_token = next(
                (p[16:] for p in parts.query.split("&") if p.startswith("validationToken=")), None
            )
            record: dict[str, Any] = {"path": parts.path, "content_type": self.headers.get("Content-Type")}
            if raw_token is not None:  # check validationToken before parsing a body (§3.7)
                record["validationToken"] = unquote(raw_token.replace("+", " "))
                answer = {"echo": record["validationToken"], "encoded": raw_token, "silent": ""}[box.mode]
                self.send_response(200 if box.mode != "silent" else 202)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
            else:
                record["json"] = json.loads(body)
                answer = ""
                self.send_response(202)
            self.send_header("Content-Length", str(len(answer.encode())))
            self.end_headers()
            self.wfile.write(answer.encode())
            with box.arrived:
                box.received.append(record)
                box.arrived.notify_all()

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    box.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield box
    finally:
        server.shutdown()
        server.server_close()


def in_minutes(minutes: float) -> str:
    return (datetime.now(UTC) + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def subscribe(client: httpx.Client, emu: MicrosoftEmulator, box: Receiver, **extra: Any) -> httpx.Response:
    body = {
        "changeType": "created,updated,deleted",
        "notificationUrl": f"{box.url}/hooks/microsoft?tenant=ann",
        "lifecycleNotificationUrl": f"{box.url}/hooks/lifecycle",
        "resource": "me/events",
        "expirationDateTime": in_minutes(60),
        "clientState": "s3cret-state",
        **extra,
    }
    return client.post(f"{emu.graph_url}/subscriptions", json=body)


def test_subscription_handshake_notifications_renewal_and_delete(
    emu: MicrosoftEmulator, client: httpx.Client
) -> None:
    with receiver() as box:
        created = subscribe(client, emu, box)
        assert created.status_code == 201, created.text
        sub = created.json()
        assert sub["clientState"] == "s3cret-state"
        assert sub["applicationId"] == emu.client_id
        assert [s["id"] for s in emu.subscriptions()] == [sub["id"]]
        handshakes = [r for r in box.received if "validationToken" in r]
        assert sorted(r["path"] for r in handshakes) == ["/hooks/lifecycle", "/hooks/microsoft"]  # any order
        assert handshakes[0]["validationToken"].startswith("Validation: Testing client application")
        assert handshakes[0]["content_type"] == "text/plain; charset=utf-8"

        emu.put_event(ANN, "calendar", timed("e1", "2026-11-24T10:00:00", "2026-11-24T11:00:00"))
        emu.delete_event(ANN, "calendar", "e1")
        assert emu.wait_for_notifications()
        posts = box.wait_for(2, "/hooks/microsoft")
        changes = [p["json"]["value"][0] for p in posts]
        assert [c["changeType"] for c in changes] == ["created", "deleted"]
        first = changes[0]
        assert first["subscriptionId"] == sub["id"]
        assert first["clientState"] == "s3cret-state"
        assert first["tenantId"] == emu.tenant_id
        assert first["resourceData"]["id"] == "e1"
        assert first["resourceData"]["@odata.type"] == "#Microsoft.Graph.Event"
        assert first["resource"].endswith("/Events/e1")

        renewed = client.patch(
            f"{emu.graph_url}/subscriptions/{sub['id']}", json={"expirationDateTime": in_minutes(4000)}
        )
        assert renewed.status_code == 200
        assert renewed.json()["expirationDateTime"] > sub["expirationDateTime"]
        too_long = client.patch(
            f"{emu.graph_url}/subscriptions/{sub['id']}", json={"expirationDateTime": in_minutes(4231)}
        )
        assert too_long.status_code == 400

        deleted = client.delete(f"{emu.graph_url}/subscriptions/{sub['id']}")
        assert deleted.status_code == 204
        assert emu.subscriptions() == []
        emu.put_event(ANN, "calendar", timed("e2", "2026-11-24T10:00:00", "2026-11-24T11:00:00"))
        assert emu.wait_for_notifications()
        assert client.get(f"{emu.graph_url}/subscriptions/{sub['id']}").status_code == 404
    kinds = [(d["kind"], d["status"]) for d in emu.deliveries()]
    assert kinds == [("validation", 200), ("validation", 200), ("notification", 202), ("notification", 202)]
    assert all(d["elapsed_ms"] >= 0 and d["error"] is None for d in emu.deliveries())


@pytest.mark.parametrize("mode", ["silent", "encoded"])
def test_subscription_is_refused_when_validation_fails(
    emu: MicrosoftEmulator, client: httpx.Client, mode: str
) -> None:
    with receiver(mode) as box:
        refused = subscribe(client, emu, box)
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "ValidationError"
    assert refused.json()["error"]["message"].startswith("Subscription validation request failed")
    assert emu.subscriptions() == []
    assert [d["kind"] for d in emu.deliveries()] == ["validation"]


def test_subscription_limits(emu: MicrosoftEmulator, client: httpx.Client) -> None:
    with receiver() as box:
        capped = subscribe(client, emu, box, expirationDateTime=in_minutes(4231))
        assert capped.status_code == 400
        assert "4230 minutes" in capped.json()["error"]["message"]
        long_state = subscribe(client, emu, box, clientState="x" * 129)
        assert long_state.status_code == 400
        other = subscribe(client, emu, box, resource="me/calendars/nope/events")
        assert other.status_code == 404
    assert emu.deliveries() == []  # refused before any handshake


def test_lifecycle_events_pause_until_renewed(emu: MicrosoftEmulator, client: httpx.Client) -> None:
    emu.add_calendar(ANN, "work", "Work")
    with receiver() as box:
        sub = subscribe(client, emu, box, resource="me/calendars/work/events").json()
        emu.send_lifecycle(sub["id"], "reauthorizationRequired")
        [lifecycle] = box.wait_for(1, "/hooks/lifecycle")
        assert lifecycle["json"]["value"][0] == {
            "subscriptionId": sub["id"],
            "subscriptionExpirationDateTime": sub["expirationDateTime"],
            "tenantId": emu.tenant_id,
            "clientState": "s3cret-state",
            "lifecycleEvent": "reauthorizationRequired",
        }
        emu.put_event(ANN, "work", timed("w1", "2026-11-24T10:00:00", "2026-11-24T11:00:00"))
        emu.put_event(
            ANN, "calendar", timed("d1", "2026-11-24T10:00:00", "2026-11-24T11:00:00")
        )  # not watched
        assert emu.wait_for_notifications()
        assert box.posts("/hooks/microsoft") == []  # held while paused
        reauthorized = client.post(f"{emu.graph_url}/subscriptions/{sub['id']}/reauthorize")
        assert reauthorized.status_code == 200
        [held] = box.wait_for(1, "/hooks/microsoft")
        assert [c["resourceData"]["id"] for c in held["json"]["value"]] == ["w1"]
        emu.send_lifecycle(sub["id"], "subscriptionRemoved")
        assert emu.wait_for_notifications()
        assert emu.subscriptions() == []
    assert [
        d["body"]["value"][0].get("lifecycleEvent") for d in emu.deliveries() if d["kind"] == "lifecycle"
    ] == [
        "reauthorizationRequired",
        "subscriptionRemoved",
    ]


def test_slow_or_dead_notification_endpoints_are_recorded(
    emu: MicrosoftEmulator, client: httpx.Client
) -> None:
    emu.options.notification_timeout = 0.3
    with receiver() as box:
        sub = subscribe(client, emu, box, lifecycleNotificationUrl=None)
        assert sub.status_code == 201
    started = time.monotonic()
    emu.put_event(ANN, "calendar", timed("e1", "2026-11-24T10:00:00", "2026-11-24T11:00:00"))
    assert emu.wait_for_notifications()
    assert time.monotonic() - started < 3
    last = emu.deliveries()[-1]
    assert last["kind"] == "notification"
    assert last["status"] is None
    assert last["error"]
