"""What every route of the web app shares: services, the session cookie, the viewer, pages, CSRF.

Routers are built from a `Web`; the dependencies here are the only way a route learns who is
signed in, so every query can be scoped to `viewer.account_id`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from sqlalchemy import select
from starlette.responses import Response

from reminders.accounts import sessions
from reminders.accounts.tokens import LinkTokens
from reminders.bootstrap import Services
from reminders.models import Account, User, UserSession
from reminders.web.i18n import LANGUAGES, N_, gettext_for, supported
from reminders.web.known_devices import KnownDevices
from reminders.web.limits import LoginLimiter
from reminders.web.rendering import TEMPLATES
from reminders.web.session import CSRF_FIELD, CSRF_HEADER, BrowserSession, SessionCookies

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Short notices shown after a redirect (?notice=key); a fixed list, so no text can be injected.
NOTICES: Mapping[str, str] = {
    "saved": N_("Saved."),
    "saved_over_credit": N_(
        "Saved. A reminder with this text costs more SMS credit than is left: "
        "reminders are skipped until credit is added."
    ),
    "deleted": N_("Deleted."),
    "added": N_("Added."),
    "removed": N_("Removed."),
    "connected": N_("Calendar connected. Its appointments are being read now."),
    "disconnected": N_("Calendar disconnected. Its future reminders were cancelled."),
    "synced": N_("Calendar synced."),
    "sync_failed": N_("The calendar could not be read. What went wrong is shown below."),
    "removals_confirmed": N_(
        "The appointments missing from the calendar are removed at its next read, within a minute."
    ),
    "confirmed": N_("Thank you, your e-mail address is confirmed."),
    "confirmation_sent": N_("We sent you a new confirmation link."),
    "password_changed": N_("Your password was changed."),
    "invited": N_("Invitation sent."),
    "joined": N_("Welcome! Your account is ready."),
    "signed_out": N_("You are signed out."),
    "welcome": N_("Welcome! Next, connect a calendar."),
    "withdrawn": N_("Invitation withdrawn."),
}

# Notices that report a success with a catch: shown as a warning, not as a plain confirmation.
WARNING_NOTICES = frozenset({"saved_over_credit"})


class NotSignedIn(Exception):
    """The page needs a signed-in user."""


class Forbidden(Exception):
    """The signed-in user's role may not do this."""


class NotFound(Exception):
    """Nothing with this id belongs to the viewer's account (the same answer whether it exists or not)."""


class CsrfRefused(Exception):
    """An unsafe request without this session's CSRF token."""


@dataclass(frozen=True, slots=True)
class Viewer:
    """The signed-in user and their account, as every page needs them."""

    user_id: int
    account_id: int
    role: str
    email: str
    name: str
    language: str
    account_name: str
    timezone: str
    email_confirmed: bool
    # The account's country: dates are written as the viewer's language writes them there.
    home_region: str = "CH"

    @property
    def is_owner(self) -> bool:
        return self.role == "owner"


class Web:
    """The web app's shared parts, built once per application."""

    def __init__(self, services: Services) -> None:
        settings = services.settings
        secret = settings.secret_key.get_secret_value()
        secure = settings.public_url.startswith("https://")
        self.services = services
        self.cookies = SessionCookies(secret, max_age_seconds=settings.session_days * 86400, secure=secure)
        self.devices = KnownDevices(secret, max_age_seconds=settings.known_device_days * 86400, secure=secure)
        self.links = LinkTokens(secret)
        self.limiter = LoginLimiter(
            settings.rate_limit_storage,
            settings.login_attempts_per_15_minutes,
            per_ip=settings.login_attempts_per_ip_per_15_minutes,
            per_known_device=settings.login_attempts_per_known_device_per_15_minutes,
        )

    # --- sessions -------------------------------------------------------------------------------

    @staticmethod
    def browser(request: Request) -> BrowserSession:
        """The request's browser session (read by the middleware)."""
        session: BrowserSession = request.state.browser
        return session

    @staticmethod
    def switch_session(request: Request, session: BrowserSession) -> None:
        """Replace the browser session; the middleware writes the cookie."""
        request.state.browser = session

    def viewer(self, request: Request) -> Viewer:
        """FastAPI dependency: the signed-in user, or `NotSignedIn`."""
        found = self.optional_viewer(request)
        if found is None:
            raise NotSignedIn
        return found

    def owner(self, request: Request) -> Viewer:
        """FastAPI dependency: a signed-in owner of the account, or `Forbidden` for staff."""
        found = self.viewer(request)
        if not found.is_owner:
            raise Forbidden
        return found

    def optional_viewer(self, request: Request) -> Viewer | None:
        """The signed-in user, if the cookie's session is still live on the server."""
        cached: Viewer | bool | None = getattr(request.state, "viewer", False)
        if cached is not False:
            return cached  # type: ignore[return-value]
        session = self.browser(request)
        found: Viewer | None = None
        if session.user_id is not None:
            now = self.services.clock()
            with self.services.reader() as db:
                row = db.execute(
                    select(User, Account, UserSession.last_seen_at)
                    .join(Account, Account.id == User.account_id)
                    .join(UserSession, UserSession.user_id == User.id)
                    .where(User.id == session.user_id, sessions.is_live(session.id, now=now))
                ).first()
            if row is not None:
                user, account, last_seen_at = row
                if sessions.needs_touch(last_seen_at, now=now):
                    with self.services.factory.begin() as db:
                        sessions.touch(db, session.id, now=now)
                found = Viewer(
                    user_id=user.id,
                    account_id=account.id,
                    role=user.role,
                    email=user.email,
                    name=user.name,
                    language=supported(user.language),
                    account_name=account.name,
                    timezone=account.timezone,
                    email_confirmed=user.email_confirmed_at is not None,
                    home_region=account.home_region,
                )
        request.state.viewer = found
        return found

    async def csrf_guard(self, request: Request) -> None:
        """FastAPI dependency on every router with forms: unsafe methods need the session's token."""
        if request.method in SAFE_METHODS:
            return
        token = request.headers.get(CSRF_HEADER)
        content_type = request.headers.get("content-type", "")
        if token is None and content_type.startswith(("application/x-www-form-urlencoded", "multipart/")):
            value = (await request.form()).get(CSRF_FIELD)
            token = value if isinstance(value, str) else None
        if not self.cookies.csrf_ok(self.browser(request), token):
            raise CsrfRefused

    # --- pages ----------------------------------------------------------------------------------

    def language_of(self, request: Request, viewer: Viewer | None = None) -> str:
        """The UI language: the user's, else what the browser asks for, else the default."""
        if viewer is not None:
            return viewer.language
        asked = request.query_params.get("lang")
        if asked in LANGUAGES:
            return asked
        for part in request.headers.get("accept-language", "").split(","):
            code = part.split(";")[0].strip().lower()[:2]
            if code in LANGUAGES:
                return code
        return supported(None)

    def page(
        self,
        request: Request,
        template: str,
        context: Mapping[str, Any] | None = None,
        *,
        viewer: Viewer | None = None,
        status_code: int = 200,
    ) -> Response:
        """Render a page with what every template expects (language, zone, CSRF token, viewer, notice)."""
        lang = self.language_of(request, viewer)
        notice_key = request.query_params.get("notice", "")
        notice = NOTICES.get(notice_key)
        base: dict[str, Any] = {
            "lang": lang,
            "zone": viewer.timezone if viewer else "UTC",
            "region": viewer.home_region if viewer else None,
            "viewer": viewer,
            "csrf": self.cookies.csrf_token(self.browser(request)),
            "notice": notice,
            "notice_is_warning": notice_key in WARNING_NOTICES,
            "languages": LANGUAGES,
            "path": request.url.path,
        }
        base.update(context or {})
        return TEMPLATES.TemplateResponse(request, template, base, status_code=status_code)

    def message(
        self,
        request: Request,
        title: str,
        text: str,
        *,
        status_code: int = 200,
        viewer: Viewer | None = None,
    ) -> Response:
        """A page that says what happened (title and text are msgids, translated here)."""
        viewer = viewer or self.optional_viewer(request)
        lang = self.language_of(request, viewer)
        return self.page(
            request,
            "message.html",
            {"title": gettext_for(lang, title), "text": gettext_for(lang, text)},
            viewer=viewer,
            status_code=status_code,
        )
