"""Google OAuth 2.0 for web-server apps: the consent URL, the code exchange, revocation.

Built on google-auth-oauthlib's `Flow` (calendar-apis.md 5.3), with two of oauthlib's process-wide
switches handled here instead of in the environment of the whole process:

- oauthlib refuses `http://` endpoints unless `OAUTHLIB_INSECURE_TRANSPORT` is set. Only for
  loopback endpoints (`http://127.0.0.1`, `http://localhost`, `http://[::1]`: the local emulators)
  do we set it, for the duration of the call, and remove it again unless someone else had set it.
  Any other plain-http endpoint is refused with a `ValueError` unless the operator sets the
  variable themselves (e.g. an emulator reached by a Docker host name).
- oauthlib raises a `Warning` when the granted scopes differ from the requested ones, which Google
  does routinely (`include_granted_scopes`, users unticking scopes). That `Warning` carries the
  parsed token, so we take the token from it instead of setting `OAUTHLIB_RELAX_TOKEN_SCOPE`,
  then check ourselves that calendar access was granted.
"""

from __future__ import annotations

import ipaddress
import json
import os
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
from google_auth_oauthlib.flow import Flow
from oauthlib.oauth2.rfc6749.errors import (  # type: ignore[import-untyped]
    InsecureTransportError,
    OAuth2Error,
)

from connectors.calendars.base import AccessRevoked, CalendarUnavailable
from connectors.calendars.urls import origin

__all__ = [
    "CALENDAR_SCOPES",
    "READ_SCOPES",
    "GoogleClient",
    "GoogleEndpoints",
    "GoogleToken",
    "OAuthFailed",
    "authorization_request",
    "exchange_code",
    "revoke",
]

READ_SCOPES: tuple[str, ...] = ("https://www.googleapis.com/auth/calendar.readonly",)
# Either of these lets the connector list calendars and read events (calendar-apis.md 1.1).
CALENDAR_SCOPES = frozenset(
    {
        "https://www.googleapis.com/auth/calendar.readonly",
        "https://www.googleapis.com/auth/calendar",
    }
)
_INSECURE = "OAUTHLIB_INSECURE_TRANSPORT"
_TOKEN_JSON_VERSION = 1


class OAuthFailed(AccessRevoked):
    """Connecting a Google account failed; the message says what the owner can do."""


@dataclass(frozen=True, slots=True)
class GoogleEndpoints:
    """Where Google (or an emulator) lives. `api_url` includes `/calendar/v3/`."""

    auth_url: str = "https://accounts.google.com/o/oauth2/v2/auth"
    token_url: str = "https://oauth2.googleapis.com/token"
    revoke_url: str = "https://oauth2.googleapis.com/revoke"
    api_url: str = "https://www.googleapis.com/calendar/v3/"


@dataclass(frozen=True, slots=True)
class GoogleClient:
    """The service's OAuth client registration."""

    client_id: str
    client_secret: str
    redirect_uri: str

    def __repr__(self) -> str:  # keep the secret out of logs and tracebacks
        return f"GoogleClient(client_id={self.client_id!r}, redirect_uri={self.redirect_uri!r})"


@dataclass(frozen=True, slots=True)
class GoogleToken:
    """An access token and what it takes to renew it. `expiry` is aware UTC (None: unknown)."""

    access_token: str
    refresh_token: str | None
    expiry: datetime | None
    scopes: tuple[str, ...]

    def __repr__(self) -> str:  # never print the tokens themselves
        return f"GoogleToken(expiry={self.expiry!r}, scopes={self.scopes!r})"

    def to_json(self) -> str:
        """Serialise for (encrypted) storage by the caller."""
        return json.dumps(
            {
                "v": _TOKEN_JSON_VERSION,
                "access_token": self.access_token,
                "refresh_token": self.refresh_token,
                "expiry": self.expiry.astimezone(UTC).isoformat() if self.expiry else None,
                "scopes": list(self.scopes),
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, raw: str) -> GoogleToken:
        """Inverse of `to_json`; ValueError when `raw` is not a stored token."""
        data = json.loads(raw)
        if not isinstance(data, dict) or data.get("v") != _TOKEN_JSON_VERSION:
            raise ValueError("not a stored Google token")
        access, refresh, expiry, scopes = (
            data.get("access_token"),
            data.get("refresh_token"),
            data.get("expiry"),
            data.get("scopes"),
        )
        if not isinstance(access, str) or not (refresh is None or isinstance(refresh, str)):
            raise ValueError("stored Google token has no access token")
        if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
            raise ValueError("stored Google token has unreadable scopes")
        parsed_expiry: datetime | None = None
        if expiry is not None:
            if not isinstance(expiry, str):
                raise ValueError("stored Google token has an unreadable expiry")
            parsed_expiry = datetime.fromisoformat(expiry)
            if parsed_expiry.tzinfo is None:
                raise ValueError("stored Google token has a naive expiry")
            parsed_expiry = parsed_expiry.astimezone(UTC)
        return cls(access, refresh, parsed_expiry, tuple(scopes))

    def has_calendar_access(self) -> bool:
        """Whether the granted scopes allow listing calendars and reading events."""
        return bool(CALENDAR_SCOPES.intersection(self.scopes))


def authorization_request(
    client: GoogleClient,
    endpoints: GoogleEndpoints,
    *,
    state: str,
    scopes: Sequence[str] = READ_SCOPES,
    have_refresh_token: bool = False,
    login_hint: str | None = None,
) -> tuple[str, str]:
    """Return (consent URL, PKCE code verifier); persist the verifier with `state` for the callback.

    `prompt=consent` is only sent when the service holds no refresh token for the account: Google
    issues a refresh token only on consent, and each forced consent uses up one of the 100 live
    refresh tokens per account and client (calendar-apis.md 2.2).
    """
    flow = _flow(client, endpoints, scopes)
    extra: dict[str, str] = {"access_type": "offline", "include_granted_scopes": "true"}
    if not have_refresh_token:
        extra["prompt"] = "consent"
    if login_hint:
        extra["login_hint"] = login_hint
    try:
        with _loopback_http_allowed(endpoints.auth_url):
            url, _ = flow.authorization_url(state=state, **extra)
    finally:
        flow.oauth2session.close()
    verifier = flow.code_verifier
    if not isinstance(url, str) or not isinstance(verifier, str):
        raise RuntimeError("google-auth-oauthlib did not produce a URL and a PKCE verifier")
    return url, verifier


def exchange_code(
    client: GoogleClient,
    endpoints: GoogleEndpoints,
    *,
    code: str,
    code_verifier: str,
    scopes: Sequence[str] = READ_SCOPES,
    timeout: float = 20.0,
) -> GoogleToken:
    """Trade the authorization code from the callback for tokens.

    `refresh_token` is None when Google sent none (an account that had consented before and was
    not asked again): keep the stored one then.

    :raises OAuthFailed: Google refused the code, could not be reached, or calendar access was
        not granted.
    """
    flow = _flow(client, endpoints, scopes, code_verifier=code_verifier)
    try:
        with _loopback_http_allowed(endpoints.token_url):
            raw = flow.fetch_token(code=code, timeout=timeout)
    except Warning as changed:
        # oauthlib's "Scope has changed" carries the parsed token; the scope check below decides.
        raw = getattr(changed, "token", None)
        if raw is None:
            raise
    except OAuth2Error as exc:
        raise OAuthFailed(_oauth_error_message(exc)) from exc
    except OSError as exc:  # requests' errors are OSErrors: refused, reset, timeout, DNS, TLS
        raise OAuthFailed(
            f"Could not reach Google's sign-in service ({origin(endpoints.token_url)}); "
            "please try connecting the calendar again."
        ) from exc
    finally:
        flow.oauth2session.close()
    token = _token_from_response(raw, requested=scopes)
    if not token.has_calendar_access():
        raise OAuthFailed(
            "Google did not give access to your calendars: access to your calendars was not granted. "
            "Connect the calendar again and allow the app to see your calendars."
        )
    return token


def revoke(endpoints: GoogleEndpoints, token: str, http: httpx.Client) -> None:
    """Withdraw the grant behind `token` (a refresh token withdraws the whole grant).

    A token Google no longer knows counts as revoked.

    :raises CalendarUnavailable: Google could not be reached or had trouble; try again later.
    :raises OAuthFailed: Google refused the request for another reason.
    """
    try:
        response = http.post(
            endpoints.revoke_url,
            data={"token": token},
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
    except httpx.HTTPError as exc:
        raise CalendarUnavailable(
            f"Could not reach Google ({origin(endpoints.revoke_url)}) to withdraw access; try again later."
        ) from exc
    if response.status_code == 200:
        return
    if response.status_code == 400 and _json_error(response) == "invalid_token":
        return  # already revoked or expired: the goal is reached
    if response.status_code >= 500 or response.status_code == 429:
        raise CalendarUnavailable(
            f"Google answered HTTP {response.status_code} when withdrawing access; try again later."
        )
    raise OAuthFailed(
        f"Google refused to withdraw access (HTTP {response.status_code}). "
        "You can remove the app's access in your Google account's security settings."
    )


# --- helpers ------------------------------------------------------------------------------------


def _flow(
    client: GoogleClient,
    endpoints: GoogleEndpoints,
    scopes: Sequence[str],
    *,
    code_verifier: str | None = None,
) -> Any:
    config = {
        "web": {
            "client_id": client.client_id,
            "client_secret": client.client_secret,
            "auth_uri": endpoints.auth_url,
            "token_uri": endpoints.token_url,
            "redirect_uris": [client.redirect_uri],
        }
    }
    return Flow.from_client_config(
        config, scopes=list(scopes), redirect_uri=client.redirect_uri, code_verifier=code_verifier
    )


_insecure_lock = threading.Lock()
_insecure_users = 0
_insecure_set_by_us = False


@contextmanager
def _loopback_http_allowed(url: str) -> Iterator[None]:
    """Let oauthlib talk plain http to a loopback `url` while the block runs (see module doc)."""
    global _insecure_users, _insecure_set_by_us
    parts = urlsplit(url)
    if parts.scheme.lower() != "http" or not _is_loopback(parts.hostname or ""):
        try:
            yield
        except InsecureTransportError as exc:
            raise ValueError(
                f"Google OAuth endpoint {origin(url)} must use https:// "
                f"(set {_INSECURE}=1 to allow plain http in a test setup)"
            ) from exc
        return
    with _insecure_lock:
        # Counted, so that overlapping calls from several threads never pull it from under each other.
        if _insecure_users == 0 and _INSECURE not in os.environ:
            os.environ[_INSECURE] = "1"
            _insecure_set_by_us = True
        _insecure_users += 1
    try:
        yield
    finally:
        with _insecure_lock:
            _insecure_users -= 1
            if _insecure_users == 0 and _insecure_set_by_us:
                os.environ.pop(_INSECURE, None)
                _insecure_set_by_us = False


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _token_from_response(raw: Mapping[str, Any], *, requested: Sequence[str]) -> GoogleToken:
    access = raw.get("access_token")
    if not isinstance(access, str) or not access:
        raise OAuthFailed("Google's answer had no access token; please connect the calendar again.")
    refresh = raw.get("refresh_token")
    # Without a `scope` field the grant is exactly what was asked for (RFC 6749 §5.1).
    granted = raw.get("scope", list(requested))
    scopes = granted.split() if isinstance(granted, str) else [str(s) for s in granted or ()]
    expires_at = raw.get("expires_at")
    expiry = datetime.fromtimestamp(float(expires_at), UTC) if expires_at is not None else None
    return GoogleToken(
        access_token=access,
        refresh_token=refresh if isinstance(refresh, str) and refresh else None,
        expiry=expiry,
        scopes=tuple(scopes),
    )


def _oauth_error_message(exc: Any) -> str:
    error = getattr(exc, "error", "") or ""
    if error == "invalid_grant":
        return (
            "Google did not accept the sign-in code (it expired or was already used). "
            "Please connect the calendar again."
        )
    if error == "access_denied":
        return "Access to Google Calendar was denied. Connect the calendar again and allow access."
    if error in ("invalid_client", "unauthorized_client"):
        return (
            "Google rejected this server's OAuth client id or secret. "
            "The administrator must check the Google settings of this installation."
        )
    if error == "missing_token":
        return "Google's answer had no access token; please connect the calendar again."
    return f"Google sign-in failed ({error or 'unknown error'}). Please connect the calendar again."


def _json_error(response: httpx.Response) -> str | None:
    try:
        data = response.json()
    except ValueError:
        return None
    error = data.get("error") if isinstance(data, dict) else None
    return error if isinstance(error, str) else None
