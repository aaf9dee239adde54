"""A Microsoft identity platform + Graph calendar emulator over HTTPS on loopback, for tests.

Spec: shared/docs/calendar-apis.md §3, §4 and §6. Drive it with the official pieces: MSAL with
`authority=emu.authority, instance_discovery=False` and the test CA in `emu.ca_bundle` (mind §4.3: the
REQUESTS_CA_BUNDLE environment variable overrides MSAL's `verify=`), and plain HTTP (httpx with
`verify=emu.ssl_context()`) against `emu.graph_url`. The test shapes mailboxes with `put_event` & co. and
observes `requests`, `token_requests`, `subscriptions()` and `deliveries()`.

    with MicrosoftEmulator() as emu:
        emu.add_user("ann@example.com")
        emu.put_event("ann@example.com", "calendar", {"subject": "Dentist", "start": {...}, "end": {...}})
"""

from __future__ import annotations

import copy
import http.client
import json
import shutil
import socket
import ssl
import sys
import tempfile
import threading
import time
import traceback
import uuid
from http.server import ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, quote_plus, urlsplit

import trustme

from tests.emulators import microsoft_graph, microsoft_identity
from tests.emulators.microsoft_graph import API_PREFIX, PendingSubscription
from tests.emulators.microsoft_state import (
    LIFECYCLE_EVENTS,
    ApiError,
    Consent,
    Fault,
    MicrosoftEmulatorOptions,
    MicrosoftState,
    Response,
    aad_error,
    default_fault_body,
    finish,
    graph_error,
)
from tests.emulators.serving import BackgroundSender, DispatchingHandler, Headers, RecordedRequest

__all__ = ["MicrosoftEmulator", "MicrosoftEmulatorOptions", "RecordedRequest"]

_RETRY_STATUSES = (500, 502, 503, 504)
_VALIDATION_TEXT = "Validation: Testing client application reachability for subscription Request-Id: "
_Job = tuple[str, str, dict[str, Any]]  # url, kind, JSON body


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    emulator: MicrosoftEmulator

    def handle_error(self, request: Any, client_address: Any) -> None:
        error = sys.exc_info()[1]
        if isinstance(error, (ssl.SSLError, ConnectionError, TimeoutError)):
            return  # a client that rejected the certificate or hung up
        self.emulator.internal_errors.append(traceback.format_exc())


class _Handler(DispatchingHandler):
    server: _Server
    timeout = 30

    def setup(self) -> None:
        self.request.settimeout(self.timeout)
        self.request.do_handshake()  # in the handler thread, not the accept loop
        super().setup()


class MicrosoftEmulator:
    """Microsoft identity platform + Graph calendars over HTTPS on 127.0.0.1 (a free port)."""

    def __init__(
        self,
        *,
        client_id: str = "test-ms-client",
        client_secret: str = "test-ms-secret",
        tenant: str = "common",
        access_token_ttl: int = 3600,
        subscription_max_minutes: int = 4230,
        options: MicrosoftEmulatorOptions | None = None,
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.tenant = tenant
        self.options = options or MicrosoftEmulatorOptions()
        self._state = MicrosoftState(
            client_id=client_id,
            client_secret=client_secret,
            tenant=tenant,
            access_token_ttl=access_token_ttl,
            subscription_max_minutes=subscription_max_minutes,
            options=self.options,
        )
        self._state.enqueue = self._enqueue
        self._state.on_change = lambda user, cal, event_id, change: microsoft_graph.notify(
            self._state, user, cal, event_id, change
        )
        self.requests: list[RecordedRequest] = []
        self.token_requests: list[dict[str, str]] = []
        self.internal_errors: list[str] = []
        self._deliveries: list[dict[str, Any]] = []
        self._notifications: BackgroundSender[_Job] = BackgroundSender(
            lambda job: self._deliver(*job), self.internal_errors, "microsoft-emulator-notify"
        )
        self._server: _Server | None = None
        self._threads: list[threading.Thread] = []
        self._base_url = ""
        self._tmp: Path | None = None

    # -- lifecycle -----------------------------------------------------------------------------------------

    def start(self) -> None:
        """Make a test CA, listen with TLS on 127.0.0.1 and start the notification sender."""
        if self._server is not None:
            raise RuntimeError("already started")
        ca = trustme.CA()
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
        self._tmp = Path(tempfile.mkdtemp(prefix="ms-emulator-"))
        ca.cert_pem.write_to_path(str(self._tmp / "ca.pem"))
        server = _Server(("127.0.0.1", 0), _Handler)
        server.socket = context.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
        server.emulator = self
        self._server = server
        self._base_url = f"https://127.0.0.1:{server.server_address[1]}"
        self._threads = [
            threading.Thread(
                target=server.serve_forever, args=(0.05,), name="microsoft-emulator", daemon=True
            )
        ]
        self._threads[0].start()
        self._notifications.start()

    def stop(self) -> None:
        """Stop serving and sending; remove the CA file."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        self._notifications.stop()
        for thread in self._threads:
            thread.join(timeout=10)
        self._server = None
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def __enter__(self) -> MicrosoftEmulator:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """ "https://127.0.0.1:PORT"."""
        if not self._base_url:
            raise RuntimeError("MicrosoftEmulator is not started")
        return self._base_url

    @property
    def authority(self) -> str:
        """The MSAL authority: `{base_url}/{tenant}`."""
        return f"{self.base_url}/{self.tenant}"

    @property
    def authorize_url(self) -> str:
        """`{authority}/oauth2/v2.0/authorize`."""
        return f"{self.authority}/oauth2/v2.0/authorize"

    @property
    def token_url(self) -> str:
        """`{authority}/oauth2/v2.0/token`."""
        return f"{self.authority}/oauth2/v2.0/token"

    @property
    def graph_url(self) -> str:
        """`{base_url}/v1.0`."""
        return f"{self.base_url}{API_PREFIX}"

    @property
    def ca_bundle(self) -> str:
        """Path of a PEM file with the test CA (for MSAL's verify= / REQUESTS_CA_BUNDLE)."""
        if self._tmp is None:
            raise RuntimeError("MicrosoftEmulator is not started")
        return str(self._tmp / "ca.pem")

    @property
    def tenant_id(self) -> str:
        """The users' home tenant id (the id_token's tid, client_info's utid)."""
        return self._state.tenant_id

    def ssl_context(self) -> ssl.SSLContext:
        """A client context trusting only the test CA (httpx 0.28 deprecates verify=<path>)."""
        return ssl.create_default_context(cafile=self.ca_bundle)

    # -- users, calendars, consent, tokens -----------------------------------------------------------------

    def add_user(self, email: str, *, name: str = "") -> str:
        """Add a user with a default calendar "Calendar"; returns the user's object id (oid)."""
        with self._state.lock:
            return self._state.add_user(email, name)

    def add_calendar(
        self, email: str, calendar_id: str, name: str, *, can_edit: bool = True, is_default: bool = False
    ) -> None:
        """Add a calendar to the user's mailbox (`is_default` moves the default to it)."""
        with self._state.lock:
            self._state.add_calendar(email, calendar_id, name, can_edit=can_edit, is_default=is_default)

    def default_calendar_id(self, email: str) -> str:
        """The id of the user's default calendar (the alias "calendar" works in the test hooks too)."""
        with self._state.lock:
            return self._state.user(email).default_calendar

    def add_client(self, client_id: str, client_secret: str) -> None:
        """Register another app."""
        with self._state.lock:
            self._state.clients[client_id] = client_secret

    def set_consenting_user(
        self, email: str, *, granted_scopes: list[str] | None = None, deny: bool = False
    ) -> None:
        """Who signs in at /authorize; `granted_scopes` limits the resource scopes granted, `deny` refuses."""
        with self._state.lock:
            self._state.user(email)
            self._state.consent = Consent(email, granted_scopes, deny)

    def issue_tokens(self, email: str, scopes: list[str] | None = None) -> tuple[str, str]:
        """(access token, refresh token) for `email` without the sign-in dance."""
        scopes = scopes or ["Calendars.Read", "User.Read", "offline_access", "openid", "profile"]
        with self._state.lock:
            key = (email, self.client_id)
            resource = microsoft_identity.resource_scopes(scopes)
            self._state.grants[key] = sorted(set(self._state.grants.get(key, [])) | resource)
            body = microsoft_identity.token_body(
                self._state,
                email,
                self.client_id,
                scopes,
                base_url=self.base_url,
                nonce=None,
                with_refresh=True,
                with_id_token=False,
                client_info=False,
            )
            return str(body["access_token"]), str(body["refresh_token"])

    def revoke_refresh_tokens(self, email: str, *, error_code: int = 50173) -> None:
        """Refresh tokens of the user answer 400 invalid_grant "AADSTS{error_code}: …" (50173, 700082…)."""
        with self._state.lock:
            for record in self._state.refresh_tokens.values():
                if record.email == email:
                    record.revoked_code = error_code

    def require_interaction(self, email: str, required: bool = True) -> None:
        """Refreshing the user's tokens answers 400 interaction_required (AADSTS50076) until cleared."""
        with self._state.lock:
            if required:
                self._state.interaction_required.add(email)
            else:
                self._state.interaction_required.discard(email)

    def expire_access_tokens(self) -> None:
        """Current access tokens answer 401 InvalidAuthenticationToken from now on."""
        with self._state.lock:
            for record in self._state.access_tokens.values():
                record.expires_at = 0.0

    # -- events --------------------------------------------------------------------------------------------

    def put_event(self, email: str, calendar_id: str, event: dict[str, Any]) -> dict[str, Any]:
        """Create or replace an event by id; one with seriesMasterId + originalStart is an exception.

        Returns the stored resource (times in the event's own zones) with id, changeKey, lastModifiedDateTime.
        """
        with self._state.lock:
            state = self._state
            stored_id = state.put_event(email, calendar_id, event)
            user, cal = state.user(email), state.calendar(email, calendar_id)
            if stored_id in cal.events:
                return finish(state.snapshot(user, cal, cal.events[stored_id]), None, self.options)
            master = cal.events[str(event["seriesMasterId"])]
            override = master.overrides[stored_id]
            snapshot = state.occurrence_snapshot(user, cal, master, override.original, override)
            return finish(snapshot, None, self.options)

    def delete_event(self, email: str, calendar_id: str, event_id: str) -> None:
        """Delete an event or series (an occurrence id cancels that occurrence)."""
        with self._state.lock:
            self._state.delete_event(email, calendar_id, event_id)

    def cancel_occurrence(self, email: str, calendar_id: str, master_id: str, original_start: str) -> None:
        """Delete one occurrence; `original_start` is ISO (naive: the series' zone) or "YYYY-MM-DD"."""
        with self._state.lock:
            master = self._state.master(self._state.calendar(email, calendar_id), master_id)
            original = self._state.resolve_original(master, original_start)
            self._state.cancel_occurrence(email, calendar_id, master_id, original)

    def move_occurrence(
        self,
        email: str,
        calendar_id: str,
        master_id: str,
        original_start: str,
        new_start: dict[str, Any],
        new_end: dict[str, Any],
    ) -> None:
        """Reschedule one occurrence (it becomes an exception keeping its id and originalStart)."""
        with self._state.lock:
            master = self._state.master(self._state.calendar(email, calendar_id), master_id)
            original = self._state.resolve_original(master, original_start)
            self._state.move_occurrence(email, calendar_id, master_id, original, new_start, new_end)

    # -- faults --------------------------------------------------------------------------------------------

    def invalidate_delta_tokens(self, *, code: str = "syncStateNotFound") -> None:
        """Every delta/skip token issued so far answers 410 with error `code` (e.g. "resyncRequired")."""
        with self._state.lock:
            for sync in self._state.sync_states.values():
                sync.dead_code = code
            for cursor in self._state.cursors.values():
                cursor.dead_code = code

    def inject_fault(
        self,
        method: str,
        path_prefix: str,
        status: int,
        *,
        body: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next `times` requests matching method ("*": any) and path prefix with `status`.

        Without `body`: Graph's shape (429 TooManyRequests, 503 ServiceNotAvailable, 401
        InvalidAuthenticationToken, …), or Entra's under the identity paths.
        """
        identity = any(part in path_prefix for part in ("/oauth2/", "/.well-known", "/discovery/"))
        fault_body = body if body is not None else default_fault_body(status, identity)
        fault = Fault(method.upper(), path_prefix, status, fault_body, dict(headers or {}), times)
        with self._state.lock:
            self._state.faults.append(fault)

    def clear_faults(self) -> None:
        """Drop faults not yet served."""
        with self._state.lock:
            self._state.faults.clear()

    def send_lifecycle(self, subscription_id: str, event: str) -> None:
        """Queue a lifecycle notification (reauthorizationRequired | subscriptionRemoved | missed).

        reauthorizationRequired pauses change notifications until a PATCH renewal or /reauthorize;
        subscriptionRemoved ends the subscription.
        """
        if event not in LIFECYCLE_EVENTS:
            raise ValueError(f"lifecycle event must be one of {LIFECYCLE_EVENTS}")
        with self._state.lock:
            sub = self._state.subscriptions[subscription_id]
            if sub.lifecycle_url is None:
                raise ValueError(f"subscription {subscription_id!r} has no lifecycleNotificationUrl")
            body = microsoft_graph.lifecycle_body(self._state, sub, event)
            if event == "reauthorizationRequired":
                sub.paused = True
            elif event == "subscriptionRemoved":
                sub.removed = True
            self._enqueue(sub.lifecycle_url, "lifecycle", body)

    # -- observation ---------------------------------------------------------------------------------------

    def subscriptions(self) -> list[dict[str, Any]]:
        """Live (not deleted, removed or expired) subscriptions, as Graph describes them."""
        with self._state.lock:
            return [
                s.describe(self.graph_url, s.client_id)
                for s in self._state.subscriptions.values()
                if s.live()
            ]

    def deliveries(self) -> list[dict[str, Any]]:
        """Every validation/notification/lifecycle POST tried: url, kind, body, status, elapsed_ms, error."""
        with self._state.lock:
            return copy.deepcopy(self._deliveries)

    def wait_for_notifications(self, timeout: float = 5.0) -> bool:
        """Wait until every queued notification was attempted; False on timeout."""
        return self._notifications.wait(timeout)

    # -- HTTP ----------------------------------------------------------------------------------------------

    def _dispatch(self, method: str, raw_path: str, headers: dict[str, str], body: bytes) -> Response:
        parts = urlsplit(raw_path)
        query = parse_qs(parts.query, keep_blank_values=True)
        req = RecordedRequest(method, parts.path, query, Headers(headers), body)
        with self._state.lock:
            self.requests.append(req)
            if req.method == "POST" and req.path.endswith("/oauth2/v2.0/token"):
                self.token_requests.append(microsoft_identity.token_request_record(req))
            answer = self._answer(req)
            if isinstance(answer, Response):
                req.status = answer.status
                return answer
        failure = self._validate(answer.urls)  # the handshake runs without the lock
        with self._state.lock:
            try:
                response = microsoft_graph.finish_subscription(self._state, answer, failure)
            except ApiError as error:
                response = error.response()
            response.headers.update(self._graph_headers(req))
            req.status = response.status
            return response

    def _answer(self, req: RecordedRequest) -> Response | PendingSubscription:
        for fault in self._state.faults:
            if fault.method in ("*", req.method) and req.path.startswith(fault.path_prefix):
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._state.faults.remove(fault)
                return Response.json(fault.status, fault.body, fault.headers)
        try:
            answer = self._route(req)
        except ApiError as error:
            answer = error.response()
        except Exception:
            text = traceback.format_exc()
            self.internal_errors.append(text)
            print(text, file=sys.stderr)
            answer = Response.json(500, graph_error("generalException", "Emulator bug: see internal_errors"))
        if isinstance(answer, Response) and req.path.startswith(API_PREFIX + "/"):
            answer.headers.update(self._graph_headers(req))
        return answer

    @staticmethod
    def _graph_headers(req: RecordedRequest) -> dict[str, str]:
        request_id = str(uuid.uuid4())
        return {
            "request-id": request_id,
            "client-request-id": req.headers.get("client-request-id", request_id),
        }

    def _route(self, req: RecordedRequest) -> Response | PendingSubscription:
        state = self._state
        if req.path.startswith(API_PREFIX + "/"):
            return microsoft_graph.handle_graph(state, req, self.graph_url)
        if req.path == "/oidc/userinfo":
            token = microsoft_identity.authenticate(state, req.headers)
            user = state.users[token.email]
            return Response.json(200, {"sub": user.oid, "name": user.name, "email": user.email})
        segment, _, rest = req.path.lstrip("/").partition("/")
        known = microsoft_identity.tenant_segment(state, segment)
        if not known and rest in ("v2.0/.well-known/openid-configuration", "oauth2/v2.0/token"):
            return Response.json(400, aad_error("invalid_tenant", 90002, f"Tenant '{segment}' not found."))
        if known and req.method == "GET" and rest == "v2.0/.well-known/openid-configuration":
            return Response.json(200, microsoft_identity.openid_configuration(state, self.base_url, segment))
        if known and req.method == "GET" and rest == "discovery/v2.0/keys":
            return Response.json(
                200, state.signer.jwks(microsoft_identity.issuer(self.base_url, state.tenant_id))
            )
        if known and req.method in ("GET", "POST") and rest == "oauth2/v2.0/authorize":
            return microsoft_identity.authorize(state, req)
        if known and req.method == "POST" and rest == "oauth2/v2.0/token":
            return microsoft_identity.token(state, req, self.base_url)
        return Response.json(
            404, graph_error("ResourceNotFound", f"No emulator route for {req.method} {req.path}")
        )

    # -- outgoing POSTs ------------------------------------------------------------------------------------

    def _validate(self, urls: list[str]) -> str | None:
        """The validation handshake (§3.7) on each URL; the first failure's reason, or None."""
        for url in urls:
            token = f"{_VALIDATION_TEXT}{uuid.uuid4()}"
            joiner = "&" if urlsplit(url).query else "?"
            target = f"{url}{joiner}validationToken={quote_plus(token)}"
            headers = {"Content-Type": "text/plain; charset=utf-8"}
            result = self._post(target, b"", headers, self.options.validation_timeout)
            status, content_type, text, error, elapsed = result
            failure: str | None = None
            if status != 200:
                failure = "Notification endpoint must respond with 200 OK to validation request."
            elif not content_type.lower().startswith("text/plain"):
                failure = "Validation response must have Content-Type text/plain."
            elif text != token:
                failure = "Validation response must echo the decoded validationToken in plain text."
            self._record(url, "validation", token, status, elapsed, error or failure, response=text)
            if failure is not None:
                return failure
        return None

    def _enqueue(self, url: str, kind: str, body: dict[str, Any]) -> None:
        self._notifications.put((url, kind, body))

    def _deliver(self, url: str, kind: str, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        headers = {"Content-Type": "application/json; charset=utf-8"}
        delay = self.options.notification_retry_delay
        for attempt in range(self.options.notification_retries + 1):
            status, _, text, error, elapsed = self._post(
                url, data, headers, self.options.notification_timeout
            )
            self._record(url, kind, body, status, elapsed, error, response=text, attempt=attempt + 1)
            if status is not None and status not in _RETRY_STATUSES:
                return
            if attempt < self.options.notification_retries:
                time.sleep(delay)
                delay *= 2

    def _record(
        self,
        url: str,
        kind: str,
        body: Any,
        status: int | None,
        elapsed: float,
        error: str | None,
        *,
        response: str = "",
        attempt: int = 1,
    ) -> None:
        with self._state.lock:
            self._deliveries.append(
                {
                    "url": url,
                    "kind": kind,
                    "body": copy.deepcopy(body),
                    "status": status,
                    "elapsed_ms": round(elapsed * 1000, 1),
                    "error": error,
                    "response": response[:2000],
                    "attempt": attempt,
                }
            )

    def _post(
        self, url: str, data: bytes, headers: dict[str, str], timeout: float
    ) -> tuple[int | None, str, str, str | None, float]:
        """(status, content type, body text, error, seconds) of one POST."""
        parts = urlsplit(url)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        connection: http.client.HTTPConnection
        if parts.scheme == "https":
            context = ssl.create_default_context(cafile=self.options.notification_ca_file)
            connection = http.client.HTTPSConnection(
                parts.hostname or "", parts.port, timeout=timeout, context=context
            )
        else:
            connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=timeout)
        started = time.monotonic()
        try:
            connection.request("POST", path, body=data, headers={**headers, "Content-Length": str(len(data))})
            answer = connection.getresponse()
            text = answer.read().decode("utf-8", "replace")
            return (
                answer.status,
                answer.getheader("Content-Type") or "",
                text,
                None,
                time.monotonic() - started,
            )
        except (OSError, http.client.HTTPException) as exc:
            error = (
                "timeout"
                if isinstance(exc, (TimeoutError, socket.timeout))
                else f"{type(exc).__name__}: {exc}"
            )
            return None, "", "", error, time.monotonic() - started
        finally:
            connection.close()
