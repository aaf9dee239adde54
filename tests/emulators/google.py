"""A Google OAuth 2.0 + Calendar v3 emulator on loopback, for tests (spec: shared/docs/calendar-apis.md).

Drive it with the official libraries: pass `emu.api_url` as `client_options={"api_endpoint": ...}` to
`googleapiclient.discovery.build` and `emu.token_url` as the credentials' `token_uri`. The test shapes the
calendars with `put_event` & co. and observes `requests`, `token_requests`, `channels()` and `deliveries()`.

    with GoogleEmulator() as emu:
        emu.add_user("ann@example.com")
        emu.put_event("ann@example.com", {"summary": "Dentist", "start": {...}, "end": {...}})
"""

from __future__ import annotations

import copy
import http.client
import sys
import threading
import time
import traceback
from email.utils import formatdate
from http.server import ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.emulators import google_oauth
from tests.emulators.google_calendar import API_PREFIX, handle_calendar, render_instance
from tests.emulators.google_state import (
    SCOPE_PREFIX,
    ApiError,
    Channel,
    Consent,
    Fault,
    GoogleEmulatorOptions,
    GoogleState,
    Response,
    default_fault_body,
    google_error,
)
from tests.emulators.serving import BackgroundSender, DispatchingHandler, Headers, RecordedRequest

__all__ = ["GoogleEmulator", "GoogleEmulatorOptions", "RecordedRequest"]

USER_AGENT = "APIs-Google; (+https://developers.google.com/webmasters/APIs-Google.html)"
_RETRY_STATUSES = (500, 502, 503, 504)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    emulator: GoogleEmulator


class _Handler(DispatchingHandler):
    server: _Server


class GoogleEmulator:
    """Google OAuth + Calendar v3 over plain HTTP on 127.0.0.1 (a free port)."""

    def __init__(
        self,
        *,
        client_id: str = "test-client",
        client_secret: str = "test-secret",
        access_token_ttl: int = 3600,
        page_size_cap: int = 2500,
        channel_ttl: int = 3600,
        options: GoogleEmulatorOptions | None = None,
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.options = options or GoogleEmulatorOptions()
        self._state = GoogleState(
            client_id=client_id,
            client_secret=client_secret,
            access_token_ttl=access_token_ttl,
            page_size_cap=page_size_cap,
            channel_ttl=channel_ttl,
            options=self.options,
        )
        self._state.push = self._enqueue_push
        self.requests: list[RecordedRequest] = []
        self.token_requests: list[dict[str, str]] = []
        self.internal_errors: list[str] = []
        self._deliveries: list[dict[str, Any]] = []
        self._pushes: BackgroundSender[tuple[Channel, str, int]] = BackgroundSender(
            lambda job: self._deliver(*job), self.internal_errors, "google-emulator-push"
        )
        self._server: _Server | None = None
        self._threads: list[threading.Thread] = []
        self._base_url = ""

    # -- lifecycle -----------------------------------------------------------------------------------------

    def start(self) -> None:
        """Listen on 127.0.0.1 and start the push sender."""
        if self._server is not None:
            raise RuntimeError("already started")
        server = _Server(("127.0.0.1", 0), _Handler)
        server.emulator = self
        self._server = server
        self._base_url = f"http://127.0.0.1:{server.server_address[1]}"
        self._threads = [threading.Thread(target=server.serve_forever, name="google-emulator", daemon=True)]
        self._threads[0].start()
        self._pushes.start()

    def stop(self) -> None:
        """Stop serving and sending pushes."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        self._pushes.stop()
        for thread in self._threads:
            thread.join(timeout=10)
        self._server = None

    def __enter__(self) -> GoogleEmulator:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        if not self._base_url:
            raise RuntimeError("GoogleEmulator is not started")
        return self._base_url

    @property
    def auth_url(self) -> str:
        return f"{self.base_url}/o/oauth2/auth"

    @property
    def token_url(self) -> str:
        return f"{self.base_url}/token"

    @property
    def revoke_url(self) -> str:
        return f"{self.base_url}/revoke"

    @property
    def api_url(self) -> str:
        return f"{self.base_url}{API_PREFIX}"

    # -- users, calendars, consent, tokens -----------------------------------------------------------------

    def add_user(self, email: str) -> str:
        """Add a user with a primary calendar whose id is `email`; returns the user id."""
        with self._state.lock:
            return self._state.add_user(email)

    def add_calendar(
        self,
        email: str,
        calendar_id: str,
        summary: str,
        *,
        time_zone: str = "Europe/Zurich",
        access_role: str = "owner",
    ) -> None:
        """Put a calendar on the user's list (the same id for several users shares the calendar)."""
        with self._state.lock:
            self._state.add_calendar(email, calendar_id, summary, time_zone, access_role)

    def add_client(self, client_id: str, client_secret: str) -> None:
        """Register another OAuth client."""
        with self._state.lock:
            self._state.clients[client_id] = client_secret

    def set_consenting_user(
        self, email: str, *, granted_scopes: list[str] | None = None, deny: bool = False
    ) -> None:
        """Who answers the consent screen; `granted_scopes` unticks the others, `deny` refuses."""
        with self._state.lock:
            self._state.user(email)
            self._state.consent = Consent(email, granted_scopes, deny)

    def issue_tokens(
        self, email: str, scopes: list[str] | None = None, *, client_id: str | None = None
    ) -> tuple[str, str]:
        """(access token, refresh token) for `email` without the consent dance."""
        scopes = scopes or [SCOPE_PREFIX + "calendar"]
        client = client_id or self.client_id
        with self._state.lock:
            self._state.user(email)
            key = (email, client)
            self._state.grants[key] = list(dict.fromkeys([*self._state.grants.get(key, []), *scopes]))
            refresh = google_oauth.issue_refresh_token(self._state, email, client, scopes)
            body = google_oauth.token_body(self._state, email, client, scopes, refresh)
            return str(body["access_token"]), refresh

    def revoke_refresh_tokens(self, email: str) -> None:
        """Kill the user's refresh tokens (all clients): refresh answers 400 invalid_grant."""
        with self._state.lock:
            for record in self._state.refresh_tokens.values():
                if record.email == email:
                    record.revoked = True

    def expire_access_tokens(self) -> None:
        """Current access tokens answer 401 authError from now on."""
        with self._state.lock:
            for record in self._state.access_tokens.values():
                record.expires_at = 0.0

    # -- events --------------------------------------------------------------------------------------------

    def put_event(self, calendar_id: str, event: dict[str, Any]) -> dict[str, Any]:
        """Create or replace an event by id (one with recurringEventId is an exception); returns it."""
        with self._state.lock:
            stored_id = self._state.put_event(calendar_id, event)
            cal = self._state.calendar(calendar_id)
            if stored_id in cal.events:
                return copy.deepcopy(cal.events[stored_id].data)
            master = cal.events[event["recurringEventId"]]
            override = master.overrides[stored_id]
            return render_instance(self._state, cal, master, override.original, override)

    def delete_event(self, calendar_id: str, event_id: str) -> None:
        """Delete an event (or cancel an instance, given an instance id)."""
        with self._state.lock:
            self._state.delete_event(calendar_id, event_id)

    def cancel_instance(self, calendar_id: str, master_id: str, original_start: str) -> None:
        """Cancel one instance; `original_start` is RFC 3339 (naive: the series' zone) or YYYY-MM-DD."""
        with self._state.lock:
            original = self._state.parse_original(calendar_id, master_id, original_start)
            self._state.cancel_instance(calendar_id, master_id, original)

    def move_instance(
        self,
        calendar_id: str,
        master_id: str,
        original_start: str,
        new_start: dict[str, Any],
        new_end: dict[str, Any],
    ) -> None:
        """Reschedule one instance; it keeps its id and originalStartTime."""
        with self._state.lock:
            original = self._state.parse_original(calendar_id, master_id, original_start)
            self._state.move_instance(calendar_id, master_id, original, new_start, new_end)

    # -- faults ----------------------------------------------------------------------------------------------

    def invalidate_sync_tokens(self, calendar_id: str | None = None) -> None:
        """The next incremental list (of one calendar, or all) answers 410 fullSyncRequired."""
        with self._state.lock:
            calendars = [self._state.calendar(calendar_id)] if calendar_id else self._state.calendars.values()
            for cal in calendars:
                cal.epoch += 1
            if calendar_id is None:
                for user in self._state.users.values():
                    user.list_epoch += 1

    def inject_fault(
        self,
        method: str,
        path_prefix: str,
        status: int,
        *,
        body: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        times: int = 1,
        reason: str | None = None,
    ) -> None:
        """Answer the next `times` matching requests with `status` (method "*" matches any).

        Without `body`: 403/429 rateLimitExceeded (or `reason`, e.g. "userRateLimitExceeded",
        "quotaExceeded"), 500/503 backendError, OAuth-shaped errors under /token, /revoke, /o/oauth2.
        """
        fault_body = body if body is not None else default_fault_body(status, path_prefix, reason)
        fault = Fault(method.upper(), path_prefix, status, fault_body, dict(headers or {}), times)
        with self._state.lock:
            self._state.faults.append(fault)

    def clear_faults(self) -> None:
        """Drop faults not yet served."""
        with self._state.lock:
            self._state.faults.clear()

    # -- observation -----------------------------------------------------------------------------------------

    def channels(self) -> list[dict[str, Any]]:
        """Live (not stopped, not expired) channels."""
        with self._state.lock:
            return [c.describe() for c in self._state.channels.values() if c.live()]

    def deliveries(self) -> list[dict[str, Any]]:
        """Every push POST attempted: channel_id, address, state, message_number, headers, status, error."""
        with self._state.lock:
            return copy.deepcopy(self._deliveries)

    def wait_for_push(self, timeout: float = 5.0) -> bool:
        """Wait until every queued push was attempted; False on timeout."""
        return self._pushes.wait(timeout)

    # -- HTTP ----------------------------------------------------------------------------------------------

    def _dispatch(self, method: str, raw_path: str, headers: dict[str, str], body: bytes) -> Response:
        parts = urlsplit(raw_path)
        query = parse_qs(parts.query, keep_blank_values=True)
        req = RecordedRequest(method, parts.path, query, Headers(headers), body)
        with self._state.lock:
            self.requests.append(req)
            if req.path == "/token":
                self.token_requests.append(google_oauth.token_request_record(req))
            response = self._answer(req)
            req.status = response.status
            return response

    def _answer(self, req: RecordedRequest) -> Response:
        for fault in self._state.faults:
            if fault.method in ("*", req.method) and req.path.startswith(fault.path_prefix):
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._state.faults.remove(fault)
                return Response.json(fault.status, fault.body, fault.headers)
        try:
            return self._route(req)
        except ApiError as error:
            return error.response()
        except Exception:
            text = traceback.format_exc()
            self.internal_errors.append(text)
            print(text, file=sys.stderr)
            body = google_error(500, "backendError", "Emulator bug: see internal_errors")
            return Response.json(500, body)

    def _route(self, req: RecordedRequest) -> Response:
        if req.method == "GET" and req.path in ("/o/oauth2/auth", "/o/oauth2/v2/auth"):
            return google_oauth.authorize(self._state, req)
        if req.method == "POST" and req.path == "/token":
            return google_oauth.token(self._state, req)
        if req.method == "POST" and req.path == "/revoke":
            return google_oauth.revoke(self._state, req)
        if req.path.startswith(API_PREFIX):
            return handle_calendar(self._state, req, self.api_url)
        return Response.json(404, google_error(404, "notFound", "Not Found"))

    # -- push ----------------------------------------------------------------------------------------------

    def _enqueue_push(self, channel: Channel, resource_state: str, number: int) -> None:
        self._pushes.put((channel, resource_state, number))

    def _deliver(self, channel: Channel, resource_state: str, number: int) -> None:
        with self._state.lock:
            if not channel.live():
                return
            headers = {
                "X-Goog-Channel-ID": channel.id,
                "X-Goog-Channel-Expiration": formatdate(channel.expiration_ms / 1000, usegmt=True),
                "X-Goog-Message-Number": str(number),
                "X-Goog-Resource-ID": channel.resource_id,
                "X-Goog-Resource-State": resource_state,
                "X-Goog-Resource-URI": channel.resource_uri,
                "User-Agent": USER_AGENT,
                "Content-Length": "0",
            }
            if channel.token is not None:
                headers["X-Goog-Channel-Token"] = channel.token
        delay = self.options.push_retry_delay
        for attempt in range(self.options.push_retries + 1):
            status, error = self._post(channel.address, headers)
            with self._state.lock:
                self._deliveries.append(
                    {
                        "channel_id": channel.id,
                        "address": channel.address,
                        "state": resource_state,
                        "message_number": number,
                        "headers": dict(headers),
                        "status": status,
                        "error": error,
                        "attempt": attempt + 1,
                    }
                )
            if status not in _RETRY_STATUSES:
                return
            time.sleep(delay)
            delay *= 2

    def _post(self, address: str, headers: dict[str, str]) -> tuple[int | None, str | None]:
        parts = urlsplit(address)
        connection_class = (
            http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        )
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        connection = connection_class(parts.hostname or "", parts.port, timeout=self.options.push_timeout)
        try:
            connection.request("POST", path, body=b"", headers=headers)
            response = connection.getresponse()
            response.read()
            return response.status, None
        except OSError as exc:
            return None, f"{type(exc).__name__}: {exc}"
        finally:
            connection.close()
