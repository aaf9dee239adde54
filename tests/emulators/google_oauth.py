"""OAuth 2.0 endpoints of the Google emulator: consent stand-in, token, revoke, and bearer checks.

Call these with the state lock held. Behaviour follows calendar-apis.md §2, §5.2, §5.3 and §6.
"""

from __future__ import annotations

import base64
import hashlib
import html
import secrets
import time
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlencode, urlsplit

from tests.emulators.google_state import (
    AccessToken,
    ApiError,
    AuthCode,
    GoogleState,
    RefreshToken,
    Response,
    auth_error,
    google_error,
)
from tests.emulators.serving import Headers, RecordedRequest, client_auth

TOKEN_EXPIRED = "Token has been expired or revoked."


def _oauth_error(status: int, error: str, description: str) -> Response:
    return Response.json(status, {"error": error, "error_description": description})


def _page(status: int, title: str, detail: str) -> Response:
    """Google shows an error page (no redirect) for a bad client or redirect_uri."""
    text = f"<html><body><h1>{html.escape(title)}</h1><p>{html.escape(detail)}</p></body></html>"
    return Response(status, text.encode(), {"Content-Type": "text/html; charset=utf-8"})


def _redirect(redirect_uri: str, params: dict[str, str]) -> Response:
    joiner = "&" if urlsplit(redirect_uri).query else "?"
    return Response(302, b"", {"Location": redirect_uri + joiner + urlencode(params)})


def _ordered_union(*groups: Iterable[str]) -> list[str]:
    out: list[str] = []
    for group in groups:
        out.extend(s for s in group if s not in out)
    return out


# ---------------------------------------------------------------------------------------------------------
# GET /o/oauth2/auth


def authorize(state: GoogleState, req: RecordedRequest) -> Response:
    """The browserless consent screen: answers 302 to redirect_uri as the consenting user."""
    q = {k: v[0] for k, v in req.query.items()}
    client_id, redirect_uri = q.get("client_id"), q.get("redirect_uri")
    if not client_id:
        return _page(400, "Error 400: invalid_request", "Missing required parameter: client_id")
    if client_id not in state.clients:
        return _page(401, "Error 401: invalid_client", "The OAuth client was not found.")
    if not redirect_uri:
        return _page(400, "Error 400: invalid_request", "Missing required parameter: redirect_uri")
    allowed = state.options.redirect_uris
    if (allowed is not None and redirect_uri not in allowed) or urlsplit(redirect_uri).scheme not in (
        "http",
        "https",
    ):
        return _page(400, "Error 400: redirect_uri_mismatch", f"redirect_uri={redirect_uri}")
    if q.get("response_type") != "code":
        return _page(400, "Error 400: invalid_request", f"Invalid response_type: {q.get('response_type')}")
    requested = q.get("scope", "").split()
    if not requested:
        return _page(400, "Error 400: invalid_request", "Missing required parameter: scope")
    method = q.get("code_challenge_method") or ("plain" if q.get("code_challenge") else None)
    if method not in (None, "S256", "plain"):
        return _page(400, "Error 400: invalid_request", f"Invalid code_challenge_method: {method}")
    consent = state.consent
    if consent is None and len(state.users) == 1:
        email = next(iter(state.users))
    elif consent is None:
        return _page(400, "emulator: no consenting user", "Call set_consenting_user() first.")
    else:
        email = consent.email
    extra = {"state": q["state"]} if "state" in q else {}
    if consent is not None and consent.deny:
        return _redirect(redirect_uri, {"error": "access_denied", **extra})
    granted = list(requested)
    if consent is not None and consent.granted_scopes is not None:
        granted = [s for s in requested if s in consent.granted_scopes]
    key = (email, client_id)
    earlier = state.grants.get(key, [])
    prompts = q.get("prompt", "").split()
    if "none" in prompts and not set(granted) <= set(earlier):
        return _redirect(redirect_uri, {"error": "consent_required", **extra})
    if q.get("include_granted_scopes") == "true":
        granted = _ordered_union(earlier, granted)
    state.grants[key] = _ordered_union(earlier, granted)
    has_refresh = any(
        _live_refresh(state, t) for t in state.refresh_tokens.values() if (t.email, t.client_id) == key
    )
    code = AuthCode(
        code="4/0A" + secrets.token_urlsafe(40),
        client_id=client_id,
        redirect_uri=redirect_uri,
        email=email,
        scopes=granted,
        challenge=q.get("code_challenge"),
        challenge_method=method,
        with_refresh_token=q.get("access_type") == "offline" and ("consent" in prompts or not has_refresh),
        expires_at=time.time() + state.options.code_ttl,
    )
    state.codes[code.code] = code
    return _redirect(redirect_uri, {**extra, "code": code.code, "scope": " ".join(granted), "authuser": "0"})


# ---------------------------------------------------------------------------------------------------------
# POST /token


def token_request_record(req: RecordedRequest) -> dict[str, str]:
    """The parsed form of a /token call plus "auth": "basic", "body" or "none"."""
    form = req.form()
    return {**form, "auth": client_auth(req, form)[2]}


def token(state: GoogleState, req: RecordedRequest) -> Response:
    """The token endpoint: authorization_code (with PKCE) and refresh_token grants."""
    form = req.form()
    client_id, client_secret, how = client_auth(req, form)
    if how == "basic" and form.get("client_id") not in (None, client_id):
        return _oauth_error(400, "invalid_request", "client_id in body and header differ")
    if not client_id:
        return _oauth_error(400, "invalid_request", "Could not determine client ID from request.")
    if client_id not in state.clients:
        return _oauth_error(401, "invalid_client", "The OAuth client was not found.")
    if state.clients[client_id] != client_secret:
        return _oauth_error(401, "invalid_client", "Unauthorized")
    grant_type = form.get("grant_type")
    if grant_type == "authorization_code":
        return _exchange_code(state, client_id, form)
    if grant_type == "refresh_token":
        return _refresh(state, client_id, form)
    return _oauth_error(400, "unsupported_grant_type", f"Invalid grant_type: {grant_type}")


def _pkce_ok(code: AuthCode, verifier: str) -> bool:
    if code.challenge_method == "S256":
        digest = hashlib.sha256(verifier.encode("ascii", "replace")).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode() == code.challenge
    return verifier == code.challenge


def _exchange_code(state: GoogleState, client_id: str, form: dict[str, str]) -> Response:
    opts = state.options
    if not form.get("code"):
        return _oauth_error(400, "invalid_request", "Missing required parameter: code")
    code = state.codes.get(form["code"])
    if code is None:
        return _oauth_error(400, "invalid_grant", opts.code_malformed_description)
    if code.used:
        return _oauth_error(400, "invalid_grant", opts.code_reused_description)
    if code.expires_at < time.time():
        return _oauth_error(400, "invalid_grant", opts.code_expired_description)
    if code.client_id != client_id:
        return _oauth_error(400, "invalid_grant", "Unauthorized")
    if form.get("redirect_uri") != code.redirect_uri:
        return _oauth_error(400, "redirect_uri_mismatch", "Bad Request")
    if code.challenge is not None:
        verifier = form.get("code_verifier")
        if not verifier:
            return _oauth_error(400, "invalid_grant", opts.missing_verifier_description)
        if not _pkce_ok(code, verifier):
            return _oauth_error(400, "invalid_grant", opts.invalid_verifier_description)
    code.used = True
    refresh = (
        issue_refresh_token(state, code.email, client_id, code.scopes) if code.with_refresh_token else None
    )
    return Response.json(200, token_body(state, code.email, client_id, code.scopes, refresh))


def issue_refresh_token(state: GoogleState, email: str, client_id: str, scopes: list[str]) -> str:
    """A new refresh token; past the cap the oldest live one of the user and client dies."""
    record = RefreshToken("1//0g" + secrets.token_urlsafe(48), email, client_id, list(scopes), time.time())
    state.refresh_tokens[record.token] = record
    cap = state.options.refresh_token_cap
    live = [t for t in state.refresh_tokens.values() if (t.email, t.client_id) == (email, client_id)]
    live = [t for t in live if _live_refresh(state, t)]
    while cap is not None and len(live) > cap:
        live.pop(0).revoked = True
    return record.token


def token_body(
    state: GoogleState, email: str, client_id: str, scopes: list[str], refresh_token: str | None
) -> dict[str, Any]:
    """Mint an access token; the token endpoint's success body."""
    access = AccessToken(
        token="ya29." + secrets.token_urlsafe(60),
        email=email,
        client_id=client_id,
        scopes=list(scopes),
        expires_at=time.time() + state.access_token_ttl,
        refresh_token=refresh_token,
    )
    state.access_tokens[access.token] = access
    body: dict[str, Any] = {
        "access_token": access.token,
        "expires_in": state.access_token_ttl,
        "scope": " ".join(scopes),
        "token_type": "Bearer",
    }
    if refresh_token is not None:
        body["refresh_token"] = refresh_token
    return body


def _live_refresh(state: GoogleState, record: RefreshToken) -> bool:
    ttl = state.options.refresh_token_ttl
    return not record.revoked and (ttl is None or record.issued_at + ttl > time.time())


def _refresh(state: GoogleState, client_id: str, form: dict[str, str]) -> Response:
    if not form.get("refresh_token"):
        return _oauth_error(400, "invalid_request", "Missing required parameter: refresh_token")
    record = state.refresh_tokens.get(form["refresh_token"])
    if record is None or not _live_refresh(state, record):
        return _oauth_error(400, "invalid_grant", TOKEN_EXPIRED)
    if record.client_id != client_id:
        return _oauth_error(400, "unauthorized_client", "Unauthorized")
    scopes = list(record.scopes)
    if form.get("scope"):
        wanted = form["scope"].split()
        if not set(wanted) <= set(record.scopes) and state.options.refresh_extra_scopes == "invalid_scope":
            return _oauth_error(400, "invalid_scope", "Bad Request")
        scopes = [s for s in record.scopes if s in wanted]
    # Google does not rotate refresh tokens: the response carries none.
    return Response.json(200, token_body(state, record.email, client_id, scopes, None))


# ---------------------------------------------------------------------------------------------------------
# POST /revoke


def revoke(state: GoogleState, req: RecordedRequest) -> Response:
    """Revokes the whole grant (user + client) the token belongs to."""
    value = (req.query.get("token") or [""])[0] or req.form().get("token", "")
    owner: tuple[str, str] | None = None
    if value in state.refresh_tokens and not state.refresh_tokens[value].revoked:
        record = state.refresh_tokens[value]
        owner = (record.email, record.client_id)
    elif value in state.access_tokens and not state.access_tokens[value].revoked:
        access = state.access_tokens[value]
        owner = (access.email, access.client_id)
    if owner is None:
        return _oauth_error(400, "invalid_token", "Token expired or revoked")
    revoke_grant(state, *owner)
    return Response.json(200, {})


def revoke_grant(state: GoogleState, email: str, client_id: str) -> None:
    for refresh in state.refresh_tokens.values():
        if (refresh.email, refresh.client_id) == (email, client_id):
            refresh.revoked = True
    for access in state.access_tokens.values():
        if (access.email, access.client_id) == (email, client_id):
            access.revoked = True
    state.grants.pop((email, client_id), None)


# ---------------------------------------------------------------------------------------------------------
# Bearer checks for the Calendar API


def authenticate(state: GoogleState, headers: Headers) -> AccessToken:
    """The access token of an `Authorization: Bearer` header, or 401 authError."""
    header = headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    record = state.access_tokens.get(value.strip()) if scheme.lower() == "bearer" else None
    if (
        record is None
        or record.revoked
        or record.expires_at <= time.time()
        or record.email not in state.users
    ):
        raise auth_error()
    return record


def require_scope(token: AccessToken, accepted: Iterable[str]) -> None:
    """403 insufficientPermissions unless the token holds one of `accepted`."""
    if not set(token.scopes) & set(accepted):
        body = google_error(
            403,
            "insufficientPermissions",
            "Insufficient Permission",
            top_message="Request had insufficient authentication scopes.",
        )
        raise ApiError(403, body)
