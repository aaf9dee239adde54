"""Microsoft identity platform through MSAL: the sign-in flow, and access tokens from a stored cache.

Each grant (one Microsoft account connected by one owner) has its own serialized
`msal.SerializableTokenCache`, kept encrypted by the caller as `TokenCacheState`. Refresh tokens
rotate on every refresh (calendar-apis.md 4.1), so every change of the cache is handed back
through `on_cache_changed` and must be stored.

How MSAL is pointed at an authority (calendar-apis.md 4.3):

- `instance_discovery=False`: otherwise MSAL asks login.microsoftonline.com about any other host,
  which fails offline and leaks the emulator's address. Tenant discovery (the authority's
  openid-configuration) still happens, once per `MicrosoftSession`.
- MSAL's HTTP goes through httpx (`_MsalHttp`) with an `ssl.SSLContext` built from
  `MicrosoftApp.ca_bundle`. MSAL's own requests session would let `REQUESTS_CA_BUNDLE` /
  `CURL_CA_BUNDLE` silently replace `verify=`; an explicit context is not overridden by anything
  in the environment, and nothing in `os.environ` is touched.
- Scopes are `Calendars.Read User.Read`; MSAL adds `openid profile offline_access` itself and
  refuses them if passed (so the refresh token comes without asking).

Tokens and the cache never reach logs or messages: the dataclasses' reprs leave them out.
"""

from __future__ import annotations

import json
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx
import msal
from msal.exceptions import MsalServiceError

from connectors.calendars.base import AccessRevoked, CalendarUnavailable
from connectors.calendars.urls import origin

__all__ = [
    "SCOPES",
    "MicrosoftApp",
    "MicrosoftSession",
    "OAuthFailed",
    "TokenCacheState",
    "access_token",
    "finish_flow",
    "start_flow",
]

SCOPES: tuple[str, ...] = ("Calendars.Read", "User.Read")
# Granted scopes that let the connector read calendars and events (calendar-apis.md 3.1).
_CALENDAR_SCOPES = frozenset({"calendars.read", "calendars.readwrite"})
_GRAPH_PREFIX = "https://graph.microsoft.com/"

REVOKED = "Microsoft access was revoked or expired; reconnect the calendar"
# Silent-refresh errors that only a new sign-in can fix (calendar-apis.md 4.1, 4.2).
_REVOKED_ERRORS = frozenset({"invalid_grant", "interaction_required", "consent_required", "login_required"})
_REVOKED_CODES = frozenset({50173, 700082, 70008, 700084, 50076, 50079, 65001, 50078, 53003})
_CLIENT_ERRORS = frozenset({"invalid_client", "unauthorized_client"})


class OAuthFailed(AccessRevoked):
    """Connecting a Microsoft account failed; the message says what the owner can do."""


@dataclass(frozen=True, slots=True)
class MicrosoftApp:
    """The service's app registration at Microsoft (or an emulator).

    `authority` is `https://{host}/{tenant}`, e.g. `https://login.microsoftonline.com/common`;
    MSAL accepts nothing but https with a tenant segment. `ca_bundle` is a PEM file of extra trusted
    roots (an emulator's CA); None trusts the system's roots.
    """

    client_id: str
    client_secret: str
    authority: str
    redirect_uri: str
    ca_bundle: str | None = None

    def __post_init__(self) -> None:
        parts = urlsplit(self.authority)
        if parts.scheme != "https" or not parts.hostname or not parts.path.strip("/"):
            raise ValueError(
                f"Microsoft authority {origin(self.authority)} must be an https:// URL with a tenant, "
                "e.g. https://login.microsoftonline.com/common"
            )

    def __repr__(self) -> str:  # keep the secret out of logs and tracebacks
        return (
            f"MicrosoftApp(client_id={self.client_id!r}, authority={self.authority!r}, "
            f"redirect_uri={self.redirect_uri!r}, ca_bundle={self.ca_bundle!r})"
        )

    def ssl_context(self) -> ssl.SSLContext:
        """The TLS trust for the authority and Graph: the system's roots plus `ca_bundle`'s.

        :raises CalendarUnavailable: the bundle cannot be read (an installation problem).
        """
        try:
            return _tls_context(self.ca_bundle or None)
        except (OSError, ssl.SSLError) as exc:
            raise CalendarUnavailable(
                "The Microsoft CA bundle of this installation could not be read; "
                "the administrator must check the Microsoft settings"
            ) from exc


@dataclass(frozen=True, slots=True)
class TokenCacheState:
    """What the caller encrypts and stores for one grant: MSAL's cache and whose account it is."""

    serialized_cache: str
    home_account_id: str
    username: str

    def __repr__(self) -> str:  # the cache holds refresh tokens
        return f"TokenCacheState(home_account_id={self.home_account_id!r}, username={self.username!r})"

    def to_json(self) -> str:
        """Serialise for (encrypted) storage by the caller."""
        return json.dumps(
            {"cache": self.serialized_cache, "account": self.home_account_id, "username": self.username},
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, raw: str) -> TokenCacheState:
        """Inverse of `to_json`; ValueError when `raw` is not a stored token cache."""
        data = json.loads(raw)
        if not isinstance(data, dict) or not all(
            isinstance(data.get(k), str) for k in ("cache", "account", "username")
        ):
            raise ValueError("not a stored Microsoft token cache")
        return cls(data["cache"], data["account"], data["username"])


def start_flow(app: MicrosoftApp, *, state: str, timeout: float = 20.0) -> tuple[str, dict[str, Any]]:
    """Return (sign-in URL, flow); persist the flow server-side with `state` until the callback.

    The flow holds the PKCE verifier and the OpenID nonce: it must never reach the browser. The
    answer comes back as a query string (`response_mode=query`): a GET callback carries the browser's
    SameSite=Lax session cookie, a cross-site form_post would not.

    :raises OAuthFailed: Microsoft's sign-in service could not be reached or described itself wrongly.
    """
    with MicrosoftSession(app, timeout=timeout) as session:
        client = session.msal_app(signing_in=True)
        # form_post keeps MSAL from warning; the URL is switched back to query mode below.
        flow: dict[str, Any] = client.initiate_auth_code_flow(
            list(SCOPES), redirect_uri=app.redirect_uri, state=state, response_mode="form_post"
        )
    flow["auth_uri"] = _with_query_mode(str(flow["auth_uri"]))
    return flow["auth_uri"], flow


def finish_flow(
    app: MicrosoftApp, flow: Mapping[str, Any], query: Mapping[str, str], *, timeout: float = 20.0
) -> TokenCacheState:
    """Redeem the callback's code for tokens; returns the new grant's cache.

    :raises OAuthFailed: sign-in refused or failed, calendar access not granted, or Microsoft
        could not be reached. The message is for the owner.
    """
    if not query.get("state") or query.get("state") != flow.get("state"):
        raise OAuthFailed(
            "The Microsoft sign-in answer did not match this connection attempt. "
            "Please connect the calendar again."
        )
    with MicrosoftSession(app, timeout=timeout) as session:
        client = session.msal_app(signing_in=True)
        try:
            # MSAL pops keys from the flow: give it a copy so a retry with the stored flow still works.
            result = client.acquire_token_by_auth_code_flow(dict(flow), dict(query), scopes=list(SCOPES))
        except (ValueError, RuntimeError) as exc:  # an unreadable answer; RuntimeError: nonce mismatch
            raise OAuthFailed(
                "Microsoft's sign-in answer could not be verified. Please connect the calendar again."
            ) from exc
        except (httpx.HTTPError, MsalServiceError) as exc:
            raise OAuthFailed(_unreachable(app, signing_in=True)) from exc
        if not isinstance(result, Mapping) or "error" in result or "access_token" not in result:
            raise OAuthFailed(_sign_in_error(result if isinstance(result, Mapping) else {}))
        if not _has_calendar_access(result.get("scope")):
            raise OAuthFailed(
                "Microsoft did not give access to your calendars. "
                "Connect the calendar again and allow the app to read your calendars."
            )
        return session.state_after_sign_in(result)


def access_token(
    app: MicrosoftApp,
    state: TokenCacheState,
    *,
    on_cache_changed: Callable[[TokenCacheState], None],
    force_refresh: bool = False,
    timeout: float = 20.0,
) -> str:
    """An access token for Graph from the grant's cache, refreshing it when needed.

    :raises AccessRevoked: the grant was revoked or expired, or needs the owner to sign in again.
    :raises CalendarUnavailable: Microsoft could not be reached or had trouble; try again later.
    """
    with MicrosoftSession(app, state, on_cache_changed=on_cache_changed, timeout=timeout) as session:
        return session.access_token(force_refresh=force_refresh)


class MicrosoftSession:
    """One grant's MSAL application and cache, reused across calls (one tenant discovery).

    Not thread-safe: use one per thread. `close()` ends its connections; it reconnects when used
    again. An exception raised by `on_cache_changed` propagates.
    """

    def __init__(
        self,
        app: MicrosoftApp,
        state: TokenCacheState | None = None,
        *,
        on_cache_changed: Callable[[TokenCacheState], None] | None = None,
        timeout: float = 20.0,
    ) -> None:
        self._app = app
        self._state = state
        self._on_cache_changed = on_cache_changed
        self._http = _MsalHttp(app.ssl_context(), timeout)
        self._cache = msal.SerializableTokenCache()
        if state is not None and state.serialized_cache:
            try:
                self._cache.deserialize(state.serialized_cache)
            except ValueError:  # not JSON: nothing usable, a reconnect is the only way
                self._cache = msal.SerializableTokenCache()
        self._client: Any = None

    def __enter__(self) -> MicrosoftSession:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def state(self) -> TokenCacheState | None:
        """The newest cache state (after any refresh)."""
        return self._state

    def close(self) -> None:
        self._http.close()

    def msal_app(self, *, signing_in: bool = False) -> Any:
        """The MSAL application; built on first use, which fetches the authority's configuration.

        :raises OAuthFailed: (`signing_in`) or `CalendarUnavailable`: the authority is unreachable.
        """
        failure: type[Exception] = OAuthFailed if signing_in else CalendarUnavailable
        if self._client is None:
            try:
                self._client = msal.ConfidentialClientApplication(
                    self._app.client_id,
                    client_credential=self._app.client_secret,
                    authority=self._app.authority,
                    token_cache=self._cache,
                    http_client=self._http,
                    instance_discovery=False,
                )
            except (httpx.HTTPError, MsalServiceError) as exc:
                raise failure(_unreachable(self._app, signing_in=signing_in)) from exc
            except ValueError as exc:  # discovery answered 4xx or without the endpoints
                raise failure(
                    f"Microsoft's sign-in service at {origin(self._app.authority)} did not describe itself; "
                    "the administrator must check the Microsoft authority setting"
                ) from exc
        return self._client

    def access_token(self, *, force_refresh: bool = False) -> str:
        """A Graph access token; `force_refresh` skips the cached one (after a 401)."""
        state = self._state
        if state is None:
            raise AccessRevoked(REVOKED)
        client = self.msal_app()
        try:
            accounts = [a for a in client.get_accounts() if a.get("home_account_id") == state.home_account_id]
            if not accounts:
                raise AccessRevoked(REVOKED)
            result = client.acquire_token_silent_with_error(
                list(SCOPES), accounts[0], force_refresh=force_refresh
            )
        except httpx.HTTPError as exc:
            raise CalendarUnavailable(_unreachable(self._app, signing_in=False)) from exc
        except MsalServiceError as exc:  # a 5xx from the token endpoint
            raise CalendarUnavailable(
                f"Microsoft's sign-in service at {origin(self._app.authority)} has a problem; will retry"
            ) from exc
        finally:
            self._report_cache_change()
        if result is None:  # no refresh token in the cache
            raise AccessRevoked(REVOKED)
        if "error" in result or not isinstance(result.get("access_token"), str):
            raise _refresh_failure(self._app, result)
        token: str = result["access_token"]
        return token

    def state_after_sign_in(self, result: Mapping[str, Any]) -> TokenCacheState:
        """The grant's state once MSAL stored the tokens of `result` (a fresh sign-in)."""
        claims = result.get("id_token_claims")
        claims = claims if isinstance(claims, Mapping) else {}
        accounts = self.msal_app().get_accounts()
        # A fresh cache holds the one account just signed in; match it to the id token anyway.
        oid, tid = claims.get("oid"), claims.get("tid")
        chosen = next(
            (a for a in accounts if oid and tid and a.get("home_account_id") == f"{oid}.{tid}"),
            accounts[0] if accounts else None,
        )
        if chosen is None or not chosen.get("home_account_id"):
            raise OAuthFailed(
                "Microsoft's answer did not say which account signed in. Please connect the calendar again."
            )
        self._state = TokenCacheState(
            serialized_cache=self._cache.serialize(),
            home_account_id=str(chosen["home_account_id"]),
            username=str(chosen.get("username") or claims.get("preferred_username") or ""),
        )
        return self._state

    def _report_cache_change(self) -> None:
        """Hand a changed cache (a refresh rotated the refresh token) to the caller."""
        if not self._cache.has_state_changed or self._state is None:
            return
        self._state = TokenCacheState(
            serialized_cache=self._cache.serialize(),
            home_account_id=self._state.home_account_id,
            username=self._state.username,
        )
        self._cache.has_state_changed = False
        if self._on_cache_changed is not None:
            self._on_cache_changed(self._state)


class _MsalHttp:
    """MSAL's HTTP client (its documented `HttpClient` shape) on httpx with an explicit TLS context.

    The httpx client is opened on first use and closed by `close()`; one retry on connection errors
    matches what MSAL's default session does.
    """

    def __init__(self, verify: ssl.SSLContext, timeout: float) -> None:
        self._verify = verify
        self._timeout = timeout
        self._client: httpx.Client | None = None

    def post(
        self,
        url: str,
        params: Mapping[str, Any] | None = None,
        data: Any = None,
        headers: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        if isinstance(data, str | bytes):
            return self._http().post(url, params=params, content=data, headers=headers)
        return self._http().post(url, params=params, data=data, headers=headers)

    def get(
        self,
        url: str,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        return self._http().get(url, params=params, headers=headers)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def _http(self) -> httpx.Client:
        if self._client is None:
            self._client = httpx.Client(
                transport=httpx.HTTPTransport(verify=self._verify, retries=1),
                timeout=self._timeout,
                follow_redirects=False,
            )
        return self._client


# --- helpers ------------------------------------------------------------------------------------


@lru_cache(maxsize=8)
def _tls_context(ca_bundle: str | None) -> ssl.SSLContext:
    # Built once per bundle: loading the system's roots costs milliseconds; contexts are shareable.
    context = ssl.create_default_context()
    if ca_bundle:
        context.load_verify_locations(cafile=ca_bundle)
    return context


def _with_query_mode(auth_uri: str) -> str:
    parts = urlsplit(auth_uri)
    query = [(k, "query" if k == "response_mode" else v) for k, v in parse_qsl(parts.query)]
    return urlunsplit(parts._replace(query=urlencode(query)))


def _has_calendar_access(scope: object) -> bool:
    """Whether the granted `scope` (short names or full Graph URIs) can read calendars."""
    granted = scope.split() if isinstance(scope, str) else []
    names = {s.lower().removeprefix(_GRAPH_PREFIX) for s in granted}
    return bool(names & _CALENDAR_SCOPES)


def _error_codes(result: Mapping[str, Any]) -> set[int]:
    codes = result.get("error_codes")
    found = {c for c in codes if isinstance(c, int)} if isinstance(codes, list) else set()
    description = str(result.get("error_description") or "")
    if description.startswith("AADSTS"):
        digits = description[6:].split(":", 1)[0]
        if digits.isdigit():
            found.add(int(digits))
    return found


def _refresh_failure(app: MicrosoftApp, result: Mapping[str, Any]) -> Exception:
    error = str(result.get("error") or "")
    if error in _REVOKED_ERRORS or _error_codes(result) & _REVOKED_CODES:
        return AccessRevoked(REVOKED)
    if error in _CLIENT_ERRORS:
        return CalendarUnavailable(
            "Microsoft rejected this server's client id or secret; "
            "the administrator must check the Microsoft settings"
        )
    return CalendarUnavailable(f"Could not renew Microsoft access at {origin(app.authority)}; will retry")


def _sign_in_error(result: Mapping[str, Any]) -> str:
    error = str(result.get("error") or "")
    codes = _error_codes(result)
    if error == "access_denied":
        return "Access to your Microsoft calendar was denied. Connect the calendar again and allow access."
    if error == "consent_required" or codes & {65001, 90094, 90095}:
        return (
            "Your Microsoft organisation requires an administrator to approve this app before it can read "
            "calendars. Ask your administrator, then connect the calendar again."
        )
    if error == "invalid_grant":
        return (
            "Microsoft did not accept the sign-in code (it expired or was already used). "
            "Please connect the calendar again."
        )
    if error in _CLIENT_ERRORS:
        return (
            "Microsoft rejected this server's client id or secret. "
            "The administrator must check the Microsoft settings of this installation."
        )
    if not error:
        return "Microsoft's answer had no access token; please connect the calendar again."
    return f"Microsoft sign-in failed ({error[:60]}). Please connect the calendar again."


def _unreachable(app: MicrosoftApp, *, signing_in: bool) -> str:
    if signing_in:
        return (
            f"Could not reach Microsoft's sign-in service ({origin(app.authority)}); "
            "please try connecting the calendar again."
        )
    return (
        f"Could not reach Microsoft's sign-in service at {origin(app.authority)} to renew access; will retry"
    )
