"""The browser session: a signed, HttpOnly, SameSite cookie holding a random id and the signed-in user.

Every visitor gets a session id (sign-up and sign-in forms need a CSRF token before anyone is
signed in). Signing in or out issues a new id, so a planted cookie is worthless afterwards. A
signed-in id counts only while its server-side row exists (`reminders.accounts.sessions`): the
signature proves the cookie is ours, the row that it has not been signed out.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from starlette.requests import HTTPConnection
from starlette.responses import Response

from reminders.web.signed_cookie import SignedCookie

COOKIE = "reminders_session"
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"


@dataclass(frozen=True, slots=True)
class BrowserSession:
    """What the cookie carries."""

    id: str
    user_id: int | None = None
    # Set when the cookie must be (re)written on the response.
    changed: bool = False


def new_session() -> BrowserSession:
    """A fresh anonymous session."""
    return BrowserSession(secrets.token_urlsafe(24), changed=True)


def signed_in(session_id: str, user_id: int) -> BrowserSession:
    """The session of a user who has just proved who they are (its row is stored already)."""
    return BrowserSession(session_id, user_id, changed=True)


class SessionCookies:
    """Reads and writes the session cookie with the installation's secret key."""

    def __init__(self, secret: str, *, max_age_seconds: int, secure: bool) -> None:
        # SameSite=Lax so the OAuth callback, a top-level GET coming back from Google, still has it.
        self._cookie = SignedCookie(
            COOKIE, secret, salt="reminders.session", max_age_seconds=max_age_seconds, secure=secure
        )
        self._csrf_key = hashlib.sha256(f"csrf:{secret}".encode()).digest()

    def read(self, connection: HTTPConnection) -> BrowserSession:
        """The request's session; a new anonymous one when the cookie is missing, forged or too old."""
        data = self._cookie.load(connection) or {}
        sid, user_id = data.get("s"), data.get("u")
        if not isinstance(sid, str) or not (user_id is None or isinstance(user_id, int)):
            return new_session()
        return BrowserSession(sid, user_id)

    def write(self, response: Response, session: BrowserSession) -> None:
        """Set the cookie (HttpOnly, SameSite=Lax)."""
        self._cookie.store(response, {"s": session.id, "u": session.user_id})

    def csrf_token(self, session: BrowserSession) -> str:
        """The token forms of this session must carry."""
        return hmac.new(self._csrf_key, session.id.encode(), hashlib.sha256).hexdigest()

    def csrf_ok(self, session: BrowserSession, token: str | None) -> bool:
        """Whether `token` is this session's (an anonymous session that was just created has none)."""
        if not token or session.changed:
            return False
        return hmac.compare_digest(token, self.csrf_token(session))
