"""A browser session id in a signed, HttpOnly cookie (until sign-in arrives with the web app)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from fastapi import Request, Response

from reminders.security.secrets import Signer

COOKIE = "reminders_session"
MAX_AGE = 14 * 24 * 3600


@dataclass(frozen=True, slots=True)
class BrowserSession:
    """The id of the browser session a request belongs to."""

    id: str
    is_new: bool


def read_session(request: Request, signer: Signer) -> BrowserSession:
    """The request's session, or a new one when the cookie is missing or forged."""
    raw = request.cookies.get(COOKIE)
    session_id = signer.unsign(raw) if raw else None
    if session_id:
        return BrowserSession(session_id, is_new=False)
    return BrowserSession(secrets.token_urlsafe(24), is_new=True)


def remember(response: Response, session: BrowserSession, signer: Signer, *, secure: bool) -> None:
    """Set the cookie on the response if the session is new."""
    if session.is_new:
        # Lax, not Strict: the OAuth callback is a top-level navigation coming back from Google.
        response.set_cookie(
            COOKIE, signer.sign(session.id), max_age=MAX_AGE, httponly=True, samesite="lax", secure=secure
        )


def csrf_token(session: BrowserSession, signer: Signer) -> str:
    """A token for forms of this session."""
    return signer.sign(f"csrf:{session.id}")


def csrf_ok(session: BrowserSession, signer: Signer, token: str | None) -> bool:
    """Whether a submitted form carries this session's token."""
    return bool(token) and not session.is_new and signer.unsign(token or "") == f"csrf:{session.id}"
