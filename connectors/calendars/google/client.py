"""A Google Calendar as a `CalendarSource`, through google-api-python-client.

Sync follows Google's sync-token model (calendar-apis.md 1.2–1.5): a full list from the window's
start with `singleEvents=true, showDeleted=true`, then incremental lists with the `nextSyncToken`
and otherwise identical parameters. A 410 (sync token no longer valid) turns into a full sync in
the same call. Retries with backoff are done here rather than by the library, because
`execute(num_retries=…)` ignores `Retry-After` (calendar-apis.md 1.11).

A cancelled instance is a cancellation while its series lives and a removal once the series is
deleted; when the listing itself does not show which, the series is looked up.

The service object is built for every public call and closed at its end, so no socket outlives a
call; building from the bundled discovery document costs about a millisecond. One source must not
be used by two threads at once (httplib2 is not thread-safe).
"""

from __future__ import annotations

import http.client
import json
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import google_auth_httplib2
import httplib2
from google.auth.exceptions import RefreshError, TransportError
from google.oauth2.credentials import Credentials
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

from connectors.calendars.base import (
    AccessRevoked,
    CalendarChanges,
    CalendarFeedInvalid,
    CalendarUnavailable,
    RemoteEvent,
)
from connectors.calendars.google.oauth import GoogleClient, GoogleEndpoints, GoogleToken
from connectors.calendars.google.parse import (
    CancelledInstance,
    Removal,
    UnreadableEvent,
    lookup_zone,
    parse_event,
)
from connectors.calendars.retry import retry_after_seconds, retry_wait
from connectors.calendars.urls import origin

__all__ = ["CalendarInfo", "Channel", "GoogleCalendarSource"]

log = logging.getLogger(__name__)

_CURSOR_VERSION = 1
_RATE_LIMIT_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded"})
_SCOPE_REASONS = frozenset({"insufficientPermissions", "ACCESS_TOKEN_SCOPE_INSUFFICIENT"})
_MAX_PAGES = 10_000
_MAX_WARNINGS = 50
# Series looked up per sync to tell cancelled instances from a deleted series; beyond it they
# count as removed, which withdraws their reminders all the same (only the reason differs).
_MAX_SERIES_LOOKUPS = 20

_REVOKED = "Google access was revoked or expired; reconnect the calendar"
_RATE_LIMITED = "Google is rate-limiting this calendar; will retry"
_QUOTA = "Google Calendar's usage limit for this service is exhausted; will retry later"
_GONE = "The calendar no longer exists or is no longer shared with this account"


@dataclass(frozen=True, slots=True)
class CalendarInfo:
    """One entry of the account's calendar list."""

    id: str
    summary: str
    primary: bool
    access_role: str
    time_zone: str | None


@dataclass(frozen=True, slots=True)
class Channel:
    """A push-notification channel; renew it (with a new id) before `expiration` (aware UTC)."""

    id: str
    resource_id: str
    expiration: datetime | None


class _SyncTokenGone(CalendarUnavailable):
    """HTTP 410: the sync token is no longer valid. Handled inside `fetch_changes`."""


@dataclass(frozen=True, slots=True)
class _Listed:
    """One events.list run: the last word on each id, sorted by kind."""

    events: list[RemoteEvent]
    removed: list[str]
    cancelled: list[CancelledInstance]
    sync_token: str
    warnings: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Cursor:
    calendar: str
    sync_token: str
    v: int = _CURSOR_VERSION

    def dump(self) -> str:
        return json.dumps(
            {"calendar": self.calendar, "sync_token": self.sync_token, "v": self.v},
            sort_keys=True,
            separators=(",", ":"),
        )

    @classmethod
    def load(cls, raw: str | None, calendar_id: str) -> _Cursor | None:
        """The stored cursor, or None (a full sync) when absent, unreadable or for another calendar."""
        if not raw:
            return None
        try:
            data = json.loads(raw)
        except ValueError:
            return None
        if not isinstance(data, dict) or data.get("v") != _CURSOR_VERSION:
            return None
        calendar, token = data.get("calendar"), data.get("sync_token")
        if calendar != calendar_id or not isinstance(token, str) or not token:
            return None
        return cls(calendar=calendar, sync_token=token)


class GoogleCalendarSource:
    """One Google calendar of one account.

    `on_token_refreshed` receives the new `GoogleToken` whenever google-auth renewed the access
    token during a call, so the caller can store it (encrypted); an exception it raises propagates.
    `sleep` is called between retries; `page_size` is `maxResults` for events.list.
    """

    def __init__(
        self,
        calendar_id: str,
        token: GoogleToken,
        *,
        client: GoogleClient,
        endpoints: GoogleEndpoints,
        default_timezone: str,
        on_token_refreshed: Callable[[GoogleToken], None],
        timeout: float = 20.0,
        sleep: Callable[[float], None] = time.sleep,
        max_retries: int = 4,
        page_size: int = 2500,
        max_retry_after: float = 60.0,
    ) -> None:
        if lookup_zone(default_timezone) is None:
            raise ValueError(f"unknown time zone {default_timezone!r}")
        if not 1 <= page_size <= 2500:
            raise ValueError("page_size must be between 1 and 2500")
        self._calendar_id = calendar_id
        self._token = token
        self._client = client
        self._endpoints = endpoints
        self._default_timezone = default_timezone
        self._on_token_refreshed = on_token_refreshed
        self._timeout = timeout
        self._sleep = sleep
        self._max_retries = max(0, max_retries)
        self._page_size = page_size
        self._max_retry_after = max_retry_after
        self._credentials = self._make_credentials(token)

    @property
    def token(self) -> GoogleToken:
        """The newest token (after any refresh)."""
        return self._token

    # --- CalendarSource ---------------------------------------------------------------------------

    def fetch_changes(
        self, cursor: str | None, *, window_start: datetime, window_end: datetime
    ) -> CalendarChanges:
        """Return the changes since `cursor`; a full sync when there is none (or it is unusable).

        A full sync lists every event that ends after `window_start`, however far in the future, and
        is `complete` for [window_start, ∞) (`window_end` None). An incremental sync returns changed
        events and the ids of removed ones. A sync token Google no longer accepts (HTTP 410) makes
        this call a full sync.

        :raises CalendarUnavailable: network trouble, rate limits, Google server errors.
        :raises AccessRevoked: the owner withdrew access or it expired.
        :raises CalendarFeedInvalid: the calendar is gone or no longer shared.
        """
        if window_start.tzinfo is None:
            raise ValueError("window_start must be timezone-aware")
        previous = _Cursor.load(cursor, self._calendar_id)
        with self._service() as service:
            if previous is not None:
                try:
                    return self._incremental(service, previous, window_start, window_end)
                except _SyncTokenGone:
                    log.info("google.sync.token_expired calendar=%s: full sync", self._calendar_id)
            return self._full(service, window_start)

    # --- other calls ------------------------------------------------------------------------------

    def list_calendars(self) -> list[CalendarInfo]:
        """Every calendar in the account's calendar list (all pages)."""
        found: list[CalendarInfo] = []
        with self._service() as service:
            resource = service.calendarList()
            request = resource.list(maxResults=250)
            for page in self._pages(resource, request):
                for entry in _items(page):
                    if entry.get("deleted") or not isinstance(entry.get("id"), str):
                        continue
                    zone = entry.get("timeZone")
                    found.append(
                        CalendarInfo(
                            id=entry["id"],
                            summary=_text(entry.get("summaryOverride")) or _text(entry.get("summary")),
                            primary=entry.get("primary") is True,
                            access_role=_text(entry.get("accessRole")),
                            time_zone=zone if isinstance(zone, str) and zone else None,
                        )
                    )
        return found

    def watch(self, *, channel_id: str, address: str, token: str, ttl_seconds: int) -> Channel:
        """Ask Google to POST to `address` when the calendar's events change (events.watch).

        `token` comes back in `X-Goog-Channel-Token`: use it to authenticate notifications, never
        put an OAuth token in it.
        """
        if not channel_id or len(channel_id) > 64:
            raise ValueError("channel_id must be 1 to 64 characters")
        if len(token) > 256:
            raise ValueError("token must be at most 256 characters")
        body = {
            "id": channel_id,
            "type": "web_hook",
            "address": address,
            "token": token,
            "params": {"ttl": str(int(ttl_seconds))},
        }
        with self._service() as service:
            answer = self._execute(service.events().watch(calendarId=self._calendar_id, body=body))
        resource_id = answer.get("resourceId")
        if not isinstance(resource_id, str) or not resource_id:
            raise CalendarUnavailable("Google did not confirm the notification channel; will retry")
        return Channel(
            id=_text(answer.get("id")) or channel_id,
            resource_id=resource_id,
            expiration=_expiration(answer.get("expiration")),
        )

    def stop_channel(self, channel_id: str, resource_id: str) -> None:
        """Stop a push channel; one Google no longer knows counts as stopped."""
        with self._service() as service:
            request = service.channels().stop(body={"id": channel_id, "resourceId": resource_id})
            self._execute(request, missing_ok=True)

    # --- sync -------------------------------------------------------------------------------------

    def _full(self, service: Any, window_start: datetime) -> CalendarChanges:
        params = self._list_params() | {"timeMin": window_start.astimezone(UTC).isoformat(timespec="seconds")}
        try:
            listed = self._collect(service, params)
        except _SyncTokenGone as exc:  # no sync token was sent: nothing better to do than retry later
            raise CalendarUnavailable("Google Calendar could not list the calendar; will retry") from exc
        _, cancelled = self._sort_cancelled(service, listed, window_start)
        return CalendarChanges(
            cursor=_Cursor(self._calendar_id, listed.sync_token).dump(),
            events=listed.events,  # deleted items of a full sync are simply not part of the set
            cancelled_ids=cancelled,
            complete=True,
            window_start=window_start,
            window_end=None,
            warnings=listed.warnings,
        )

    def _incremental(
        self, service: Any, previous: _Cursor, window_start: datetime, window_end: datetime
    ) -> CalendarChanges:
        # timeMin is forbidden with a sync token; everything else must match the full sync.
        params = self._list_params() | {"syncToken": previous.sync_token}
        listed = self._collect(service, params)
        removed, cancelled = self._sort_cancelled(service, listed, window_start)
        return CalendarChanges(
            cursor=_Cursor(self._calendar_id, listed.sync_token).dump(),
            events=listed.events,
            removed_ids=listed.removed + removed,
            cancelled_ids=cancelled,
            complete=False,
            # Not a completeness claim (complete is False): it lets the caller load only the
            # appointments that can still matter.
            window_start=window_start,
            window_end=window_end,
            warnings=listed.warnings,
        )

    def _list_params(self) -> dict[str, Any]:
        # showDeleted must be True: with a sync token Google refuses False (calendar-apis.md 1.2).
        return {
            "calendarId": self._calendar_id,
            "singleEvents": True,
            "showDeleted": True,
            "maxResults": self._page_size,
        }

    def _collect(self, service: Any, params: Mapping[str, Any]) -> _Listed:
        """Page through events.list; the last word on an id wins."""
        resource = service.events()
        latest: dict[str, RemoteEvent | Removal | CancelledInstance] = {}
        warnings: list[str] = []
        skipped = 0
        calendar_timezone = ""
        sync_token: str | None = None
        for page in self._pages(resource, resource.list(**params)):
            if not calendar_timezone:
                zone = _text(page.get("timeZone"))
                calendar_timezone = zone if lookup_zone(zone) is not None else self._default_timezone
            for item in _items(page):
                try:
                    parsed = parse_event(item, calendar_timezone=calendar_timezone)
                except UnreadableEvent as exc:
                    skipped += 1
                    if len(warnings) < _MAX_WARNINGS:
                        warnings.append(f"Skipped a Google event that could not be read: {exc}.")
                    continue
                latest.pop(parsed.external_id, None)  # keep Google's order for the final word
                latest[parsed.external_id] = parsed
            token = page.get("nextSyncToken")
            if isinstance(token, str) and token:
                sync_token = token
        if skipped > len(warnings):
            warnings.append(f"… and {skipped - len(warnings)} more unreadable Google events were skipped.")
        if sync_token is None:
            raise CalendarUnavailable("Google Calendar ended the event list without a sync token; will retry")
        return _Listed(
            events=[e for e in latest.values() if isinstance(e, RemoteEvent)],
            removed=[e.external_id for e in latest.values() if isinstance(e, Removal)],
            cancelled=[e for e in latest.values() if isinstance(e, CancelledInstance)],
            sync_token=sync_token,
            warnings=tuple(warnings),
        )

    def _sort_cancelled(
        self, service: Any, listed: _Listed, window_start: datetime
    ) -> tuple[list[str], list[str]]:
        """The cancelled instances' ids split into (removed, cancelled) by their series' state.

        A series is alive when the listing holds a live instance of it, deleted when it lists the
        series itself as removed; otherwise events.get says (a deleted master comes back with
        status "cancelled", calendar-apis.md 1.5). Only series with an instance still ahead of
        `window_start` are looked up: a past one's reason changes nothing.
        """
        live = {e.series_id for e in listed.events if e.series_id is not None}
        deleted = set(listed.removed)
        lookups = 0
        for instance in listed.cancelled:
            series = instance.series_id
            if series in live or series in deleted or instance.original_start < window_start:
                continue
            if lookups >= _MAX_SERIES_LOOKUPS:
                log.info("google.sync.series_lookups_capped calendar=%s", self._calendar_id)
                break
            lookups += 1
            master = self._execute(
                service.events().get(calendarId=self._calendar_id, eventId=series), missing_ok=True
            )
            (live if master and master.get("status") != "cancelled" else deleted).add(series)
        removed: list[str] = []
        cancelled: list[str] = []
        for instance in listed.cancelled:
            (cancelled if instance.series_id in live else removed).append(instance.external_id)
        return removed, cancelled

    def _pages(self, resource: Any, request: Any) -> Iterator[Mapping[str, Any]]:
        """Execute `request` and its `list_next` successors; only a nextPageToken means more.

        Pages may be empty and still have a successor (calendar-apis.md 1.2); a page cap stops a
        server that never ends the list.
        """
        for _ in range(_MAX_PAGES):
            if request is None:
                return
            page = self._execute(request)
            yield page
            request = resource.list_next(request, page)
        raise CalendarUnavailable("Google Calendar sent too many pages; will retry")

    # --- transport --------------------------------------------------------------------------------

    @contextmanager
    def _service(self) -> Iterator[Any]:
        authorized = google_auth_httplib2.AuthorizedHttp(
            self._credentials, http=httplib2.Http(timeout=self._timeout)
        )
        service = build(
            "calendar",
            "v3",
            http=authorized,
            static_discovery=True,
            cache_discovery=False,
            client_options={"api_endpoint": self._endpoints.api_url},
        )
        try:
            yield service
        finally:
            service.close()

    def _execute(self, request: Any, *, missing_ok: bool = False) -> dict[str, Any]:
        """Run one API request with retries; map every failure to a `CalendarError`."""
        attempt = 0
        while True:
            try:
                answer = request.execute()
            except HttpError as exc:
                if missing_ok and exc.status_code in (404, 410):
                    return {}
                delay = self._retry_delay(exc, attempt)  # raises when retrying cannot help
                attempt += 1
                log.info(
                    "google.retry calendar=%s status=%s attempt=%d delay=%.1fs",
                    self._calendar_id,
                    exc.status_code,
                    attempt,
                    delay,
                )
                self._sleep(delay)
                continue
            except RefreshError as exc:
                raise self._refresh_failure(exc) from exc
            except (httplib2.HttpLib2Error, http.client.HTTPException, TransportError, OSError) as exc:
                raise CalendarUnavailable(
                    f"Could not reach Google Calendar at {self._api_host()} ({_network_reason(exc)}); "
                    "will retry"
                ) from exc
            except ValueError as exc:  # a body that is not JSON
                raise CalendarUnavailable("Google Calendar sent an unreadable answer; will retry") from exc
            finally:
                self._report_refresh()
            if answer is None or answer == "":
                return {}
            if not isinstance(answer, dict):
                raise CalendarUnavailable("Google Calendar sent an unreadable answer; will retry")
            return answer

    def _retry_delay(self, exc: HttpError, attempt: int) -> float:
        """Seconds to wait before retrying `exc`, or raise the error the owner should see."""
        status = exc.status_code
        reason = _reason(exc)
        if status == 410:
            raise _SyncTokenGone("Google asked for a full sync")
        if status == 401:
            raise AccessRevoked(_REVOKED)
        if status == 403 and reason == "quotaExceeded":
            raise CalendarUnavailable(_QUOTA)
        if status == 403 and reason in _SCOPE_REASONS:
            raise AccessRevoked(
                "Google access no longer includes your calendars; reconnect the calendar and allow access"
            )
        rate_limited = status == 429 or (status == 403 and reason in _RATE_LIMIT_REASONS)
        if status == 403 and not rate_limited:
            raise CalendarFeedInvalid(
                "Google refused access to this calendar; check that it is still shared with this account"
            )
        if status == 404:
            raise CalendarFeedInvalid(_GONE)
        if not rate_limited and status < 500:
            detail = f": {exc.reason[:200]}" if exc.reason else ""
            raise CalendarFeedInvalid(f"Google Calendar refused the request (HTTP {status}){detail}")
        give_up = (
            _RATE_LIMITED if rate_limited else f"Google Calendar has a problem (HTTP {status}); will retry"
        )
        if attempt >= self._max_retries:
            raise CalendarUnavailable(give_up)
        raw = exc.resp.get("retry-after") if hasattr(exc.resp, "get") else None
        wait = retry_wait(attempt, retry_after_seconds(raw if isinstance(raw, str) else None),
                          max_retry_after=self._max_retry_after)  # fmt: skip
        if wait is None:
            raise CalendarUnavailable(give_up)
        return wait

    def _refresh_failure(self, exc: RefreshError) -> Exception:
        if self._token.refresh_token is None or _refresh_error_code(exc) == "invalid_grant":
            return AccessRevoked(_REVOKED)
        if _refresh_error_code(exc) in ("invalid_client", "unauthorized_client"):
            return CalendarUnavailable(
                "Google rejected this server's OAuth client id or secret; "
                "the administrator must check the Google settings"
            )
        return CalendarUnavailable(
            f"Could not renew Google access at {origin(self._endpoints.token_url)}; will retry"
        )

    def _api_host(self) -> str:
        return origin(self._endpoints.api_url)

    # --- tokens -----------------------------------------------------------------------------------

    def _make_credentials(self, token: GoogleToken) -> Credentials:
        # Built directly: from_authorized_user_info() would replace token_uri (calendar-apis.md 5.2).
        expiry = token.expiry.astimezone(UTC).replace(tzinfo=None) if token.expiry else None
        return Credentials(  # type: ignore[no-untyped-call]
            token.access_token,
            refresh_token=token.refresh_token,
            token_uri=self._endpoints.token_url,
            client_id=self._client.client_id,
            client_secret=self._client.client_secret,
            scopes=list(token.scopes) or None,
            expiry=expiry,
        )

    def _report_refresh(self) -> None:
        """Hand a token google-auth renewed during the last request to the caller."""
        credentials = self._credentials
        current = credentials.token
        if not isinstance(current, str) or current == self._token.access_token:
            return
        expiry = credentials.expiry
        granted = credentials.granted_scopes
        self._token = GoogleToken(
            access_token=current,
            refresh_token=credentials.refresh_token or self._token.refresh_token,
            expiry=expiry.replace(tzinfo=UTC) if isinstance(expiry, datetime) else None,
            scopes=tuple(granted) if granted else self._token.scopes,
        )
        self._on_token_refreshed(self._token)


# --- helpers --------------------------------------------------------------------------------------


def _items(page: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    items = page.get("items")
    if not isinstance(items, list):
        return []
    return [item for item in items if isinstance(item, Mapping)]


def _reason(exc: HttpError) -> str | None:
    """The first `errors[].reason` of a Google error body."""
    details = exc.error_details
    if isinstance(details, list) and details and isinstance(details[0], Mapping):
        reason = details[0].get("reason")
        return reason if isinstance(reason, str) else None
    return None


def _refresh_error_code(exc: RefreshError) -> str | None:
    """The OAuth error code (`invalid_grant`, …) of a failed refresh, from its text or its JSON."""
    for arg in exc.args:
        if isinstance(arg, Mapping) and isinstance(arg.get("error"), str):
            return str(arg["error"])
    text = str(exc.args[0]) if exc.args else ""
    for code in ("invalid_grant", "invalid_client", "unauthorized_client"):
        if code in text:
            return code
    return None


def _expiration(raw: object) -> datetime | None:
    """A channel expiration in Unix milliseconds, sent as a string or a number."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, str) and raw.strip().isdigit():
        millis = int(raw.strip())
    elif isinstance(raw, int | float):
        millis = int(raw)
    else:
        return None
    try:
        return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=millis)
    except OverflowError:
        return None


def _network_reason(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, httplib2.ServerNotFoundError):
        return "host not found"
    if isinstance(exc, ConnectionError):
        return "connection failed"
    return type(exc).__name__


def _text(raw: object) -> str:
    return raw if isinstance(raw, str) else ""
