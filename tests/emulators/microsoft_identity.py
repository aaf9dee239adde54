"""Identity endpoints of the Microsoft emulator: OIDC discovery, keys, authorize, token, bearer checks.

Call these with the state lock held. Behaviour follows calendar-apis.md §4 and §6.
"""

from __future__ import annotations

import base64
import hashlib
import html
import secrets
import time
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode, urlsplit

from tests.emulators.microsoft_state import (
    GRAPH_APP_ID,
    GRAPH_RESOURCE,
    OIDC_SCOPES,
    AccessToken,
    AuthCode,
    MicrosoftState,
    RefreshToken,
    Response,
    aad_error,
    b64url_json,
    normalise_scope,
    unauthenticated,
)
from tests.emulators.serving import Headers, RecordedRequest, client_auth

WELL_KNOWN_TENANTS = ("common", "organizations", "consumers")
REVOKED_MESSAGES = {
    50173: "The provided grant has expired due to it being revoked, a fresh auth token is needed. The user "
    "might have changed or reset their password. The grant was issued on '{issued}' and the TokensValidFrom "
    "date (before which tokens are not valid) for this user is '{now}'.",
    700082: "The refresh token has expired due to inactivity. The token was issued on {issued} and was "
    "inactive for 90.00:00:00.",
    70008: "The provided authorization code or refresh token has expired due to inactivity. Send a new "
    "interactive authorization request for this user and resource.",
}


def _error(status: int, body: dict[str, Any]) -> Response:
    return Response.json(status, body, {"Cache-Control": "no-store, no-cache", "Pragma": "no-cache"})


def _page(status: int, title: str, detail: str) -> Response:
    """Entra shows an error page (no redirect) for a bad client or redirect_uri."""
    text = f"<html><body><h1>{html.escape(title)}</h1><p>{html.escape(detail)}</p></body></html>"
    return Response(status, text.encode(), {"Content-Type": "text/html; charset=utf-8"})


def tenant_segment(state: MicrosoftState, segment: str) -> bool:
    return segment.lower() in (state.tenant.lower(), state.tenant_id.lower(), *WELL_KNOWN_TENANTS)


def issuer(base_url: str, tenant_id: str) -> str:
    return f"{base_url}/{tenant_id}/v2.0"


# ---------------------------------------------------------------------------------------------------------
# Discovery


def openid_configuration(state: MicrosoftState, base_url: str, segment: str) -> dict[str, Any]:
    """What MSAL's tenant discovery reads (calendar-apis.md 4.3): https endpoints on the emulator host."""
    root = f"{base_url}/{segment}"
    specific = segment.lower() not in WELL_KNOWN_TENANTS
    host = urlsplit(base_url).netloc
    return {
        "token_endpoint": f"{root}/oauth2/v2.0/token",
        "token_endpoint_auth_methods_supported": [
            "client_secret_post",
            "private_key_jwt",
            "client_secret_basic",
        ],
        "jwks_uri": f"{root}/discovery/v2.0/keys",
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "issuer": issuer(base_url, state.tenant_id if specific else "{tenantid}"),
        "request_uri_parameter_supported": False,
        "userinfo_endpoint": f"{base_url}/oidc/userinfo",
        "authorization_endpoint": f"{root}/oauth2/v2.0/authorize",
        "http_logout_supported": True,
        "frontchannel_logout_supported": True,
        "end_session_endpoint": f"{root}/oauth2/v2.0/logout",
        "claims_supported": [
            "sub",
            "iss",
            "cloud_instance_name",
            "cloud_instance_host_name",
            "cloud_graph_host_name",
            "msgraph_host",
            "aud",
            "exp",
            "iat",
            "auth_time",
            "acr",
            "nonce",
            "preferred_username",
            "name",
            "tid",
            "ver",
            "at_hash",
            "c_hash",
            "email",
        ],
        "tenant_region_scope": None,
        "cloud_instance_name": "microsoftonline.com",
        "cloud_graph_host_name": "graph.windows.net",
        "msgraph_host": host,
        "rbac_url": "https://pas.windows.net",
    }


# ---------------------------------------------------------------------------------------------------------
# GET /{tenant}/oauth2/v2.0/authorize


def _redirect(redirect_uri: str, params: dict[str, str], mode: str) -> Response:
    if mode == "form_post":
        inputs = "".join(
            f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}" />'
            for k, v in params.items()
        )
        page = (
            "<html><head><title>Working...</title></head><body>"
            f'<form method="POST" name="hiddenform" action="{html.escape(redirect_uri)}">{inputs}'
            "<noscript><p>Script is disabled. Click Submit to continue.</p>"
            '<input type="submit" value="Submit" /></noscript></form>'
            "<script>window.setTimeout(function(){document.forms[0].submit()}, 0);</script></body></html>"
        )
        return Response(200, page.encode(), {"Content-Type": "text/html; charset=utf-8"})
    if mode == "fragment":
        return Response(302, b"", {"Location": f"{redirect_uri}#{urlencode(params)}"})
    joiner = "&" if urlsplit(redirect_uri).query else "?"
    return Response(302, b"", {"Location": redirect_uri + joiner + urlencode(params)})


def _split_scopes(raw: str) -> list[str]:
    return [s for s in raw.split() if s]


def resource_scopes(scopes: Iterable[str]) -> set[str]:
    """Normalised non-OIDC scopes ("https://graph.microsoft.com/.default" stays ".default")."""
    return {normalise_scope(s) for s in scopes if normalise_scope(s) not in OIDC_SCOPES}


def authorize(state: MicrosoftState, req: RecordedRequest) -> Response:
    """The browserless sign-in + consent: answers (302, or a form_post page) as the consenting user."""
    q = {k: v[0] for k, v in req.query.items()}
    if req.method == "POST":
        q.update(req.form())
    client_id, redirect_uri = q.get("client_id", ""), q.get("redirect_uri", "")
    if client_id not in state.clients:
        detail = f"AADSTS700016: Application with identifier '{client_id}' was not found in the directory."
        return _page(400, "Sign in: unauthorized_client", detail)
    allowed = state.options.redirect_uris
    if (
        not redirect_uri
        or (allowed is not None and redirect_uri not in allowed)
        or urlsplit(redirect_uri).scheme not in ("http", "https")
    ):
        detail = f"AADSTS50011: The redirect URI '{redirect_uri}' specified in the request does not match."
        return _page(400, "Sign in: redirect_uri mismatch", detail)
    mode = q.get("response_mode") or "query"
    extra = {"state": q["state"]} if "state" in q else {}

    def fail(error: str, code: int, message: str) -> Response:
        params = {"error": error, "error_description": f"AADSTS{code}: {message}", **extra}
        return _redirect(redirect_uri, params, mode)

    if mode not in ("query", "fragment", "form_post"):
        return fail("invalid_request", 900144, f"Unsupported response_mode '{mode}'.")
    if q.get("response_type") != "code":
        return fail("unsupported_response_type", 700054, "response_type must be 'code'.")
    requested = _split_scopes(q.get("scope", ""))
    if not requested:
        return fail(
            "invalid_request", 900144, "The request body must contain the following parameter: 'scope'."
        )
    method = q.get("code_challenge_method") or ("plain" if q.get("code_challenge") else None)
    if method not in (None, "S256", "plain"):
        return fail("invalid_request", 50126, f"Invalid code_challenge_method '{method}'.")
    consent = state.consent
    if consent is None and len(state.users) == 1:
        email = next(iter(state.users))
    elif consent is None:
        return _page(400, "emulator: no consenting user", "Call set_consenting_user() first.")
    else:
        email = consent.email
    if consent is not None and consent.deny:
        params = {
            "error": "access_denied",
            "error_subcode": "cancel",
            "error_description": "AADSTS65004: User declined to consent to access the app.",
            **extra,
        }
        return _redirect(redirect_uri, params, mode)
    granted = list(requested)
    if consent is not None and consent.granted_scopes is not None:
        allowed_scopes = {normalise_scope(s) for s in consent.granted_scopes}
        granted = [s for s in requested if normalise_scope(s) in OIDC_SCOPES | allowed_scopes]
    key = (email, client_id)
    earlier = state.grants.get(key, [])
    if "none" in q.get("prompt", "").split() and not resource_scopes(granted) <= set(earlier):
        return fail(
            "consent_required", 65001, "The user or administrator has not consented to use the application."
        )
    state.grants[key] = sorted(set(earlier) | resource_scopes(granted))
    code = AuthCode(
        code="1.A" + secrets.token_urlsafe(60),
        client_id=client_id,
        redirect_uri=redirect_uri,
        email=email,
        scopes=granted,
        nonce=q.get("nonce"),
        challenge=q.get("code_challenge"),
        challenge_method=method,
        max_age=q.get("max_age"),
        expires_at=time.time() + state.options.code_ttl,
    )
    state.codes[code.code] = code
    return _redirect(redirect_uri, {"code": code.code, **extra, "session_state": str(uuid.uuid4())}, mode)


# ---------------------------------------------------------------------------------------------------------
# POST /{tenant}/oauth2/v2.0/token


def token_request_record(req: RecordedRequest) -> dict[str, str]:
    """The parsed form of a token call plus "auth" ("basic", "body", "none") and any X-AnchorMailbox."""
    form = req.form()
    record = {**form, "auth": client_auth(req, form)[2]}
    anchor = req.headers.get("X-AnchorMailbox")
    if anchor:
        record["X-AnchorMailbox"] = anchor
    return record


def token(state: MicrosoftState, req: RecordedRequest, base_url: str) -> Response:
    """The token endpoint: authorization_code (with PKCE) and refresh_token grants."""
    form = req.form()
    client_id, client_secret, how = client_auth(req, form)
    if how == "basic" and form.get("client_id") not in (None, client_id):
        return _error(400, aad_error("invalid_request", 900144, "client_id in the body and header differ."))
    if not client_id:
        message = "The request body must contain the following parameter: 'client_id'."
        return _error(400, aad_error("invalid_request", 900144, message))
    if client_id not in state.clients:
        message = (
            f"Application with identifier '{client_id}' was not found in the directory '{state.tenant}'."
        )
        return _error(400, aad_error("unauthorized_client", 700016, message))
    if client_secret is None:
        message = (
            "The request body must contain the following parameter: 'client_assertion' or 'client_secret'."
        )
        return _error(401, aad_error("invalid_client", 7000218, message))
    if state.clients[client_id] != client_secret:
        message = (
            "Invalid client secret provided. Ensure the secret being sent in the request is the client "
            f"secret value, not the client secret ID, for a secret added to app '{client_id}'."
        )
        return _error(401, aad_error("invalid_client", 7000215, message))
    grant_type = form.get("grant_type")
    if grant_type == "authorization_code":
        return _exchange_code(state, client_id, form, base_url)
    if grant_type == "refresh_token":
        return _refresh(state, client_id, form, base_url)
    message = f"The provided value for the input parameter 'grant_type' is not valid: '{grant_type}'."
    return _error(400, aad_error("unsupported_grant_type", 70003, message))


def _pkce_ok(code: AuthCode, verifier: str) -> bool:
    if code.challenge_method == "S256":
        digest = hashlib.sha256(verifier.encode("ascii", "replace")).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode() == code.challenge
    return verifier == code.challenge


def _exchange_code(state: MicrosoftState, client_id: str, form: dict[str, str], base_url: str) -> Response:
    if not form.get("code"):
        message = "The request body must contain the following parameter: 'code'."
        return _error(400, aad_error("invalid_request", 900144, message))
    code = state.codes.get(form["code"])
    if code is None:
        return _error(
            400, aad_error("invalid_grant", 9002313, "Invalid request. Request is malformed or invalid.")
        )
    if code.used:
        message = (
            "OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an "
            "existing refresh token."
        )
        return _error(400, aad_error("invalid_grant", 54005, message))
    if code.expires_at < time.time():
        return _error(400, aad_error("invalid_grant", 70008, REVOKED_MESSAGES[70008]))
    if code.client_id != client_id:
        return _error(400, aad_error("invalid_grant", 70000, "Provided grant is invalid or malformed."))
    if form.get("redirect_uri") != code.redirect_uri:
        message = (
            f"The reply address '{form.get('redirect_uri')}' does not match the reply address "
            f"'{code.redirect_uri}' provided when requesting Authorization code."
        )
        return _error(400, aad_error("invalid_grant", 500112, message))
    if code.challenge is not None:
        verifier = form.get("code_verifier")
        if not verifier:
            message = (
                "The code_verifier does not match the code_challenge supplied in the authorization request."
            )
            return _error(400, aad_error("invalid_grant", 50148, message))
        if not _pkce_ok(code, verifier):
            message = (
                "The Code_Verifier does not match the code_challenge supplied in the authorization request."
            )
            return _error(400, aad_error("invalid_grant", 501481, message))
    code.used = True
    granted = {normalise_scope(s) for s in code.scopes}
    requested = _split_scopes(form.get("scope", "")) or list(code.scopes)
    scopes = [s for s in requested if normalise_scope(s) in granted | {".default"}]
    extra_claims = {"auth_time": int(time.time())} if code.max_age is not None else {}
    body = token_body(
        state,
        code.email,
        client_id,
        scopes,
        base_url=base_url,
        nonce=code.nonce,
        with_refresh="offline_access" in granted,
        with_id_token="openid" in granted,
        client_info=form.get("client_info") == "1",
        extra_claims=extra_claims,
    )
    return Response.json(200, body, {"Cache-Control": "no-store, no-cache", "Pragma": "no-cache"})


def _refresh(state: MicrosoftState, client_id: str, form: dict[str, str], base_url: str) -> Response:
    if not form.get("refresh_token"):
        message = "The request body must contain the following parameter: 'refresh_token'."
        return _error(400, aad_error("invalid_request", 900144, message))
    if not form.get("scope"):
        message = "The request body must contain the following parameter: 'scope'."
        return _error(400, aad_error("invalid_request", 900144, message))
    record = state.refresh_tokens.get(form["refresh_token"])
    if record is None:
        return _error(
            400, aad_error("invalid_grant", 9002313, "Invalid request. Request is malformed or invalid.")
        )
    if record.client_id != client_id:
        return _error(400, aad_error("invalid_grant", 70000, "Provided grant is invalid or malformed."))
    if record.revoked_code is not None:
        issued = datetime.fromtimestamp(record.issued_at, UTC).strftime("%m/%d/%Y %H:%M:%S")
        now = datetime.now(UTC).strftime("%m/%d/%Y %H:%M:%S")
        template = REVOKED_MESSAGES.get(record.revoked_code, "The refresh token is no longer valid.")
        message = template.format(issued=issued, now=now)
        return _error(400, aad_error("invalid_grant", record.revoked_code, message, suberror="bad_token"))
    if record.email in state.interaction_required:
        message = (
            "Due to a configuration change made by your administrator, or because you moved to a new "
            f"location, you must use multi-factor authentication to access '{GRAPH_APP_ID}'."
        )
        return _error(400, aad_error("interaction_required", 50076, message, suberror="basic_action"))
    requested = _split_scopes(form["scope"])
    grant = set(state.grants.get((record.email, client_id), []))
    missing = resource_scopes(requested) - grant - {".default"}
    if missing:
        message = (
            "The user or administrator has not consented to use the application with ID "
            f"'{client_id}'. Send an interactive authorization request for this user and resource."
        )
        return _error(400, aad_error("invalid_grant", 65001, message, suberror="consent_required"))
    if state.options.revoke_rotated_refresh_tokens:
        record.revoked_code = 70008
    body = token_body(
        state,
        record.email,
        client_id,
        requested,
        base_url=base_url,
        nonce=None,
        with_refresh=True,  # Entra rotates: every refresh answers a new refresh token (§4.1)
        with_id_token="openid" in {normalise_scope(s) for s in requested},
        client_info=form.get("client_info") == "1",
    )
    return Response.json(200, body, {"Cache-Control": "no-store, no-cache", "Pragma": "no-cache"})


def _echo(state: MicrosoftState, scopes: list[str]) -> str:
    if state.options.scope_echo == "verbatim":
        return " ".join(scopes)
    out = []
    for scope in scopes:
        short = normalise_scope(scope)
        if short == "offline_access":
            continue
        out.append(scope if short in OIDC_SCOPES else GRAPH_RESOURCE + scope.split("/")[-1])
    return " ".join(out)


def token_body(
    state: MicrosoftState,
    email: str,
    client_id: str,
    scopes: list[str],
    *,
    base_url: str,
    nonce: str | None,
    with_refresh: bool,
    with_id_token: bool,
    client_info: bool,
    extra_claims: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Mint tokens; the token endpoint's success body (calendar-apis.md 4.3 lists what MSAL needs)."""
    user = state.user(email)
    now = int(time.time())
    resource = resource_scopes(scopes)
    if ".default" in resource:  # every scope the user consented to for this app
        resource = (resource - {".default"}) | set(state.grants.get((email, client_id), []))
    claims = {
        "aud": GRAPH_APP_ID,
        "iss": f"https://sts.windows.net/{state.tenant_id}/",
        "iat": now,
        "nbf": now,
        "exp": now + state.access_token_ttl,
        "appid": client_id,
        "name": user.name,
        "oid": user.oid,
        "scp": " ".join(sorted(resource)),
        "sub": user.oid,
        "tid": state.tenant_id,
        "unique_name": user.email,
        "upn": user.email,
        "uti": secrets.token_urlsafe(16),
        "ver": "1.0",
    }
    access = AccessToken(
        state.signer.sign(claims), email, client_id, sorted(resource), now + state.access_token_ttl
    )
    state.access_tokens[access.token] = access
    body: dict[str, Any] = {
        "token_type": "Bearer",
        "scope": _echo(state, scopes),
        "expires_in": state.access_token_ttl,
        "ext_expires_in": state.access_token_ttl,
        "access_token": access.token,
    }
    if state.options.refresh_in is not None:
        body["refresh_in"] = state.options.refresh_in
    if with_refresh:
        record = RefreshToken("1.AR" + secrets.token_urlsafe(96), email, client_id, time.time())
        state.refresh_tokens[record.token] = record
        body["refresh_token"] = record.token
    if with_id_token:
        id_claims: dict[str, Any] = {
            "ver": "2.0",
            "iss": issuer(base_url, state.tenant_id),
            "sub": base64.urlsafe_b64encode(hashlib.sha256(f"{user.oid}|{client_id}".encode()).digest())
            .decode()
            .rstrip("="),
            "aud": client_id,
            "exp": now + 3600,
            "iat": now,
            "nbf": now,
            "name": user.name,
            "preferred_username": user.email,
            "oid": user.oid,
            "tid": state.tenant_id,
            "aio": secrets.token_urlsafe(24),
            **(extra_claims or {}),
        }
        if nonce is not None:
            id_claims["nonce"] = nonce
        body["id_token"] = state.signer.sign(id_claims)
    if client_info:
        body["client_info"] = b64url_json({"uid": user.oid, "utid": state.tenant_id})
    return body


# ---------------------------------------------------------------------------------------------------------
# Bearer checks for Graph


def authenticate(state: MicrosoftState, headers: Headers) -> AccessToken:
    """The access token of an `Authorization: Bearer` header, or 401 InvalidAuthenticationToken."""
    header = headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    value = value.strip()
    if scheme.lower() != "bearer" or not value:
        raise unauthenticated("Access token is empty.")
    record = state.access_tokens.get(value)
    if record is None:
        if "." not in value:
            raise unauthenticated("IDX14100: JWT is not well formed, there are no dots (.).")
        raise unauthenticated("Access token validation failure. Invalid audience.")
    if record.expires_at <= time.time():
        raise unauthenticated("Lifetime validation failed, the token is expired.")
    if record.email not in state.users:
        raise unauthenticated("Access token validation failure.")
    return record
