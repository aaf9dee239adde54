"""An Outlook / Microsoft 365 calendar as a `CalendarSource`, through Microsoft Graph over httpx.

Sync follows Graph's calendarView delta rounds (calendar-apis.md 3.4–3.5). A round starts with the
window's bounds, pages through `@odata.nextLink`s exactly as given, and ends with an
`@odata.deltaLink`, which later calls follow to get what changed in that same window. So:

- a new round is `complete` for its window. Rounds are asked for `round_lead` beyond the caller's
  `window_end`, and a new round starts once the caller's window is no longer inside the stored
  one: the window slides forward at most once per `round_lead` and never leaves a gap at the far
  end;
- following the delta link is incremental (`complete=False`): changed events (cancelled ones
  among them), and removals for deleted events and for events that left the window;
- a delta link Graph no longer accepts (410, or `syncStateNotFound` / `resyncRequired` /
  `SyncStateInvalid` in any letter case) makes this call a new round.

Retries with backoff are done here: `Retry-After` is honoured (fractional seconds or an HTTP
date). Links are only followed on the configured Graph origin, so a tampered cursor cannot send
the bearer token elsewhere. One source must not be used by two threads at once.
"""

from __future__ import annotations

import json
import logging
import socket
import ssl
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode

import httpx

from connectors.calendars.base import (
    AccessRevoked,
    CalendarChanges,
    CalendarFeedInvalid,
    CalendarUnavailable,
    RemoteEvent,
)
from connectors.calendars.microsoft.auth import REVOKED, MicrosoftApp, MicrosoftSession, TokenCacheState
from connectors.calendars.microsoft.parse import (
    Cancellation,
    Removal,
    UnreadableEvent,
    lookup_zone,
    parse_event,
)
from connectors.calendars.retry import retry_after_seconds, retry_wait
from connectors.calendars.urls import origin

__all__ = ["CalendarInfo", "MicrosoftCalendarSource", "Subscription"]

log = logging.getLogger(__name__)

_CURSOR_VERSION = 1
_RESYNC_CODES = frozenset({"syncstatenotfound", "resyncrequired", "syncstateinvalid"})
_MAX_PAGES = 10_000
_MAX_WARNINGS = 50
_CLIENT_STATE_MAX = 128

_RATE_LIMITED = "Microsoft is rate-limiting this calendar; will retry"
_GONE = "The calendar no longer exists or is no longer shared with this account"
_FORBIDDEN = "Microsoft refused access to this calendar; check that it is still shared with this account"


@dataclass(frozen=True, slots=True)
class CalendarInfo:
    """One calendar of the account (`GET /me/calendars`). `owner` is the owner's address, or ""."""

    id: str
    name: str
    is_default: bool
    can_edit: bool
    owner: str


@dataclass(frozen=True, slots=True)
class Subscription:
    """A Graph change-notification subscription; renew it before `expires` (aware UTC)."""

    id: str
    expires: datetime


class _DeltaGone(CalendarUnavailable):
    """Graph no longer accepts the delta link. Handled inside `fetch_changes`."""


@dataclass(frozen=True, slots=True)
class _Cursor:
    """A finished round: its delta link and the window it covers."""

    calendar: str
    delta_link: str
    window_start: datetime
    window_end: datetime
    v: int = _CURSOR_VERSION

    def dump(self) -> str:
        return json.dumps(
            {
                "v": self.v,
                "calendar": self.calendar,
                "delta_link": self.delta_link,
                "window_start": _iso(self.window_start),
                "window_end": _iso(self.window_end),
            },
            sort_keys=True,
            separators=(",", ":"),
        )

    @classmethod
    def load(cls, raw: str | None, calendar_id: str, graph_origin: str) -> _Cursor | None:
        """The stored cursor, or None (a new round) when absent, unreadable or not for this calendar."""
        if not raw:
            return None
        try:
            data = json.loads(raw)
        except ValueError:
            return None
        if not isinstance(data, dict) or data.get("v") != _CURSOR_VERSION:
            return None
        calendar, link = data.get("calendar"), data.get("delta_link")
        if calendar != calendar_id or not isinstance(link, str) or origin(link) != graph_origin:
            return None
        start, end = _aware(data.get("window_start")), _aware(data.get("window_end"))
        if start is None or end is None or end <= start:
            return None
        return cls(calendar=calendar, delta_link=link, window_start=start, window_end=end)

    def covers(self, window_start: datetime, window_end: datetime) -> bool:
        return self.window_start <= window_start and window_end <= self.window_end


class MicrosoftCalendarSource:
    """One Outlook calendar of one Microsoft account.

    `on_cache_changed` receives the grant's new `TokenCacheState` whenever MSAL refreshed tokens
    (the refresh token rotates each time), so the caller can store it (encrypted); an exception it
    raises propagates. `http` is used as given (its own TLS settings; not closed here); without it
    each call opens and closes a client trusting `app.ca_bundle`. `sleep` is called between
    retries; `page_size` is sent as `odata.maxpagesize`.
    """

    def __init__(
        self,
        calendar_id: str,
        state: TokenCacheState,
        *,
        app: MicrosoftApp,
        graph_url: str,
        default_timezone: str,
        on_cache_changed: Callable[[TokenCacheState], None],
        http: httpx.Client | None = None,
        timeout: float = 20.0,
        sleep: Callable[[float], None] = time.sleep,
        max_retries: int = 4,
        page_size: int = 500,
        max_retry_after: float = 60.0,
        round_lead: timedelta = timedelta(days=1),
    ) -> None:
        if lookup_zone(default_timezone) is None:
            raise ValueError(f"unknown time zone {default_timezone!r}")
        if not 1 <= page_size <= 1000:
            raise ValueError("page_size must be between 1 and 1000")
        if round_lead < timedelta(0):
            raise ValueError("round_lead must not be negative")
        self._calendar_id = calendar_id
        self._app = app
        self._graph_url = graph_url.rstrip("/")
        self._graph_origin = origin(self._graph_url)
        self._default_timezone = default_timezone
        self._http = http
        self._timeout = timeout
        self._sleep = sleep
        self._max_retries = max(0, max_retries)
        self._page_size = page_size
        self._max_retry_after = max_retry_after
        self._round_lead = round_lead
        self._session = MicrosoftSession(app, state, on_cache_changed=on_cache_changed, timeout=timeout)
        self._bearer: str | None = None

    @property
    def state(self) -> TokenCacheState | None:
        """The grant's newest cache state (after any refresh)."""
        return self._session.state

    # --- CalendarSource ---------------------------------------------------------------------------

    def fetch_changes(
        self, cursor: str | None, *, window_start: datetime, window_end: datetime
    ) -> CalendarChanges:
        """Return the changes since `cursor`; a new round when there is none or the window moved.

        A new round lists every event overlapping [window_start, window_end + round_lead) and is
        `complete` for that window. Following a delta link returns changed events and removed ids
        for the stored round's window (`complete` false).

        :raises CalendarUnavailable: network trouble, rate limits, Graph or sign-in server errors.
        :raises AccessRevoked: the owner withdrew access or it expired.
        :raises CalendarFeedInvalid: the calendar is gone or no longer shared.
        """
        if window_start.tzinfo is None or window_end.tzinfo is None:
            raise ValueError("window_start and window_end must be timezone-aware")
        if window_end <= window_start:
            raise ValueError("window_end must be after window_start")
        previous = _Cursor.load(cursor, self._calendar_id, self._graph_origin)
        with self._call() as http:
            if previous is not None and previous.covers(window_start, window_end):
                try:
                    return self._incremental(http, previous)
                except _DeltaGone:
                    log.info("microsoft.sync.delta_expired calendar=%s: new round", self._calendar_id)
            return self._round(http, window_start, window_end)

    # --- other calls ------------------------------------------------------------------------------

    def list_calendars(self) -> list[CalendarInfo]:
        """Every calendar of the account (all pages)."""
        found: list[CalendarInfo] = []
        with self._call() as http:
            for page in self._pages(http, f"{self._graph_url}/me/calendars"):
                for entry in _values(page):
                    calendar_id = entry.get("id")
                    if not isinstance(calendar_id, str) or not calendar_id:
                        continue
                    owner = entry.get("owner")
                    found.append(
                        CalendarInfo(
                            id=calendar_id,
                            name=_text(entry.get("name")),
                            is_default=entry.get("isDefaultCalendar") is True,
                            can_edit=entry.get("canEdit") is True,
                            owner=_text(owner.get("address")) if isinstance(owner, Mapping) else "",
                        )
                    )
        return found

    def subscribe(
        self, *, notification_url: str, lifecycle_url: str, client_state: str, expires: datetime
    ) -> Subscription:
        """Ask Graph to POST to `notification_url` when the calendar's events change.

        Graph first checks both URLs by POSTing a `validationToken` they must echo as plain text
        (calendar-apis.md 3.7). `client_state` comes back in every notification: use it to
        authenticate them, never put a token in it.
        """
        if not client_state or len(client_state) > _CLIENT_STATE_MAX:
            raise ValueError(f"client_state must be 1 to {_CLIENT_STATE_MAX} characters")
        body = {
            "changeType": "created,updated,deleted",
            "notificationUrl": notification_url,
            "lifecycleNotificationUrl": lifecycle_url,
            "resource": f"me/calendars/{self._calendar_id}/events",
            "expirationDateTime": _iso(_utc(expires, "expires")),
            "clientState": client_state,
        }
        with self._call() as http:
            response = self._request(http, "POST", f"{self._graph_url}/subscriptions", body=body)
        return self._subscription(response)

    def renew(self, subscription_id: str, expires: datetime) -> Subscription:
        """Extend a subscription (which also re-authorizes it)."""
        body = {"expirationDateTime": _iso(_utc(expires, "expires"))}
        with self._call() as http:
            response = self._request(http, "PATCH", self._subscription_url(subscription_id), body=body)
        return self._subscription(response)

    def unsubscribe(self, subscription_id: str) -> None:
        """Delete a subscription; one Graph no longer knows counts as deleted."""
        with self._call() as http:
            self._request(http, "DELETE", self._subscription_url(subscription_id), missing_ok=True)

    # --- sync -------------------------------------------------------------------------------------

    def _round(self, http: httpx.Client, window_start: datetime, window_end: datetime) -> CalendarChanges:
        start = _floor_second(window_start)
        end = _ceil_second(window_end + self._round_lead)
        query = urlencode({"startDateTime": _iso(start), "endDateTime": _iso(end)})
        url = f"{self._graph_url}/me/calendars/{_segment(self._calendar_id)}/calendarView/delta?{query}"
        try:
            events, removed, cancelled, delta_link, warnings = self._collect(http, url)
        except _DeltaGone as exc:  # no delta token was sent: nothing better to do than retry later
            raise CalendarUnavailable("Microsoft Graph could not list the calendar; will retry") from exc
        return CalendarChanges(
            cursor=_Cursor(self._calendar_id, delta_link, start, end).dump(),
            events=events,
            removed_ids=removed,  # deleted, or outside the window: harmless for ids never stored
            cancelled_ids=cancelled,
            complete=True,
            window_start=start,
            window_end=end,
            warnings=warnings,
        )

    def _incremental(self, http: httpx.Client, previous: _Cursor) -> CalendarChanges:
        events, removed, cancelled, delta_link, warnings = self._collect(http, previous.delta_link)
        return CalendarChanges(
            cursor=replace(previous, delta_link=delta_link).dump(),
            events=events,
            removed_ids=removed,
            cancelled_ids=cancelled,
            complete=False,
            # What the delta link covers; not a completeness claim (complete is False).
            window_start=previous.window_start,
            window_end=previous.window_end,
            warnings=warnings,
        )

    def _collect(
        self, http: httpx.Client, url: str
    ) -> tuple[list[RemoteEvent], list[str], list[str], str, tuple[str, ...]]:
        """Follow a round's pages to its delta link; the last word on an id wins.

        Returns the events, the removed ids, the ids of cancelled events whose details could not be
        read, the delta link and the warnings.
        """
        latest: dict[str, RemoteEvent | Removal | Cancellation] = {}
        warnings: list[str] = []
        skipped = 0
        delta_link: str | None = None
        for page in self._pages(http, url, delta=True):
            for item in _values(page):
                try:
                    parsed = parse_event(item, default_timezone=self._default_timezone)
                except UnreadableEvent as exc:
                    skipped += 1
                    if len(warnings) < _MAX_WARNINGS:
                        warnings.append(f"Skipped an Outlook event that could not be read: {exc}.")
                    continue
                if parsed is None:  # a series master: its occurrences are the appointments
                    continue
                latest.pop(parsed.external_id, None)  # keep Graph's order for the final word
                latest[parsed.external_id] = parsed
            link = page.get("@odata.deltaLink")
            if isinstance(link, str) and link:
                delta_link = link
        if skipped > len(warnings):
            warnings.append(f"… and {skipped - len(warnings)} more unreadable Outlook events were skipped.")
        if delta_link is None:
            raise CalendarUnavailable("Microsoft Graph ended the event list without a delta link; will retry")
        events = [e for e in latest.values() if isinstance(e, RemoteEvent)]
        removed = [e.external_id for e in latest.values() if isinstance(e, Removal)]
        cancelled = [e.external_id for e in latest.values() if isinstance(e, Cancellation)]
        return events, removed, cancelled, delta_link, tuple(warnings)

    def _pages(self, http: httpx.Client, url: str, *, delta: bool = False) -> Iterator[Mapping[str, Any]]:
        """GET `url` and its `@odata.nextLink`s verbatim; pages may be empty and still have a next."""
        next_url: str | None = url
        for _ in range(_MAX_PAGES):
            if next_url is None:
                return
            page = self._json(self._request(http, "GET", next_url, delta=delta))
            yield page
            link = page.get("@odata.nextLink")
            next_url = link if isinstance(link, str) and link else None
            if next_url is not None and origin(next_url) != self._graph_origin:
                raise CalendarUnavailable(
                    f"Microsoft Graph sent a link outside {self._graph_origin}; will retry"
                )
        raise CalendarUnavailable("Microsoft Graph sent too many pages; will retry")

    # --- transport --------------------------------------------------------------------------------

    @contextmanager
    def _call(self) -> Iterator[httpx.Client]:
        """One public call: a fresh token lookup, and no connection left open afterwards."""
        self._bearer = None
        own = self._http is None
        http = self._http or httpx.Client(verify=self._app.ssl_context(), timeout=self._timeout)
        try:
            yield http
        finally:
            if own:
                http.close()
            self._session.close()

    def _request(
        self,
        http: httpx.Client,
        method: str,
        url: str,
        *,
        body: Mapping[str, Any] | None = None,
        delta: bool = False,
        missing_ok: bool = False,
    ) -> httpx.Response:
        """Send one Graph request with retries; map every failure to a `CalendarError`."""
        attempt = 0
        reauthorized = False
        while True:
            headers = {"Authorization": f"Bearer {self._token()}", "Accept": "application/json"}
            if delta:
                headers["Prefer"] = f'outlook.timezone="UTC", odata.maxpagesize={self._page_size}'
            elif method == "GET":
                headers["Prefer"] = f"odata.maxpagesize={self._page_size}"
            try:
                response = http.request(method, url, headers=headers, json=body)
            except httpx.HTTPError as exc:
                raise CalendarUnavailable(
                    f"Could not reach Microsoft Graph at {self._graph_origin} ({_network_reason(exc)}); "
                    "will retry"
                ) from exc
            status = response.status_code
            if status < 300:
                return response
            if missing_ok and status in (404, 410):
                return response
            if status == 401 and not reauthorized:
                # An access token can die before its expiry (revocation, policy): get a new one once.
                reauthorized = True
                self._bearer = self._session.access_token(force_refresh=True)
                continue
            delay = self._retry_delay(response, attempt, delta=delta)  # raises when retrying cannot help
            attempt += 1
            log.info(
                "microsoft.retry calendar=%s status=%s attempt=%d delay=%.1fs",
                self._calendar_id,
                status,
                attempt,
                delay,
            )
            self._sleep(delay)

    def _retry_delay(self, response: httpx.Response, attempt: int, *, delta: bool) -> float:
        """Seconds to wait before retrying `response`, or raise the error the owner should see."""
        status = response.status_code
        code = _error_code(response)
        if delta and (status == 410 or code.lower() in _RESYNC_CODES):
            raise _DeltaGone("Microsoft Graph asked for a new sync round")
        if status == 401:
            raise AccessRevoked(REVOKED)
        if status == 403:
            raise CalendarFeedInvalid(_FORBIDDEN)
        if status == 404:
            raise CalendarFeedInvalid(_GONE)
        rate_limited = status == 429
        if not rate_limited and status < 500:
            detail = f": {code[:100]}" if code else ""
            raise CalendarFeedInvalid(f"Microsoft Graph refused the request (HTTP {status}){detail}")
        give_up = (
            _RATE_LIMITED if rate_limited else f"Microsoft Graph has a problem (HTTP {status}); will retry"
        )
        if attempt >= self._max_retries:
            raise CalendarUnavailable(give_up)
        retry_after = retry_after_seconds(response.headers.get("Retry-After"))
        wait = retry_wait(attempt, retry_after, max_retry_after=self._max_retry_after)
        if wait is None:
            raise CalendarUnavailable(give_up)
        return wait

    def _token(self) -> str:
        if self._bearer is None:
            self._bearer = self._session.access_token()
        return self._bearer

    def _json(self, response: httpx.Response) -> Mapping[str, Any]:
        try:
            data = response.json()
        except ValueError as exc:
            raise CalendarUnavailable("Microsoft Graph sent an unreadable answer; will retry") from exc
        if not isinstance(data, Mapping):
            raise CalendarUnavailable("Microsoft Graph sent an unreadable answer; will retry")
        return data

    def _subscription(self, response: httpx.Response) -> Subscription:
        data = self._json(response)
        subscription_id, expires = data.get("id"), _aware(data.get("expirationDateTime"))
        if not isinstance(subscription_id, str) or not subscription_id or expires is None:
            raise CalendarUnavailable("Microsoft Graph did not confirm the change subscription; will retry")
        return Subscription(id=subscription_id, expires=expires)

    def _subscription_url(self, subscription_id: str) -> str:
        if not subscription_id:
            raise ValueError("subscription_id must not be empty")
        return f"{self._graph_url}/subscriptions/{_segment(subscription_id)}"


# --- helpers --------------------------------------------------------------------------------------


def _values(page: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    items = page.get("value")
    if not isinstance(items, list):
        return []
    return [item for item in items if isinstance(item, Mapping)]


def _error_code(response: httpx.Response) -> str:
    """`error.code` of a Graph error body ("" when there is none)."""
    try:
        data = response.json()
    except ValueError:
        return ""
    error = data.get("error") if isinstance(data, Mapping) else None
    code = error.get("code") if isinstance(error, Mapping) else None
    return code if isinstance(code, str) else ""


def _network_reason(exc: BaseException) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return "timed out"
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ssl.SSLCertVerificationError):
            return "its certificate is not trusted"
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused"
        if isinstance(cause, socket.gaierror):
            return "host not found"
        cause = cause.__cause__ or cause.__context__
    if isinstance(exc, httpx.ConnectError):
        return "connection failed"
    return type(exc).__name__


def _segment(raw: str) -> str:
    """A path segment: Graph ids may hold `/` and `+` (base64), which must not split the path."""
    return quote(raw, safe="=")


def _iso(moment: datetime) -> str:
    """UTC in the form Graph documents for query parameters and bodies."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _utc(moment: datetime, what: str) -> datetime:
    if moment.tzinfo is None:
        raise ValueError(f"{what} must be timezone-aware")
    return moment.astimezone(UTC)


def _aware(raw: object) -> datetime | None:
    """An ISO date-time as aware UTC (Graph writes up to 7 fractional digits); None if unreadable."""
    if not isinstance(raw, str):
        return None
    try:
        parsed = datetime.fromisoformat(raw.strip())
    except ValueError:
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


def _floor_second(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(microsecond=0)


def _ceil_second(moment: datetime) -> datetime:
    floored = _floor_second(moment)
    return floored if floored == moment else floored + timedelta(seconds=1)


def _text(raw: object) -> str:
    return raw if isinstance(raw, str) else ""
