"""Sign-up, e-mail confirmation, sign-in and out, password reset, invitations, the user's UI language.

No answer here tells a visitor whether an address has an account: sign-up and the reset form
answer the same either way and e-mail the address, which says the rest.
"""

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session
from starlette.responses import Response

from connectors.mail import MailError, OutgoingMail
from reminders.accounts import mails
from reminders.accounts.invitations import accept_invitation, invitation_of_link, invitation_token
from reminders.accounts.service import (
    FormErrors,
    SignUp,
    authenticate,
    confirm_email,
    confirmation_token,
    normalise_email,
    reminder_language_from,
    reset_token,
    set_password,
    sign_up,
    user_by_email,
    user_of_reset_link,
)
from reminders.accounts.sessions import end_session, open_session
from reminders.models import Account, Invitation, User
from reminders.web.context import Viewer, Web
from reminders.web.i18n import LANGUAGES, N_
from reminders.web.session import BrowserSession, new_session, signed_in

log = logging.getLogger("reminders.web.auth")

# Sign-ups per IP, and "you have an account" mails per address, per 15 minutes.
SIGNUPS_PER_IP = 20
ACCOUNT_EXISTS_MAILS_PER_ADDRESS = 3
# The languages a business's reminders can be written in, named in their own language.
REMINDER_LANGUAGES = (("de", "Deutsch"), ("fr", "Français"), ("it", "Italiano"), ("en", "English"))


def safe_next(target: str | None) -> str:
    """A local path to go to after signing in; anything else (other sites) becomes the dashboard."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return "/"


def client_ip(request: Request) -> str:
    """The client address as the server sees it (uvicorn applies --forwarded-allow-ips)."""
    return request.client.host if request.client else "unknown"


def same_passwords(password: str, repeat: str) -> None:
    """`FormErrors` when the two password fields differ."""
    if password != repeat:
        raise FormErrors({"repeat": N_("The two passwords differ.")})


def auth_router(web: Web) -> APIRouter:
    """The routes that do not need a signed-in user (and sign-out and language)."""
    router = APIRouter()
    services = web.services
    settings = services.settings

    def link(path: str) -> str:
        return settings.public_url.rstrip("/") + path

    def deliver(mail: OutgoingMail) -> bool:
        try:
            services.mailer.send(mail)
        except MailError as exc:
            log.error("mail.failed to=%s error=%s", mail.to, exc)
            return False
        return True

    def send_confirmation(user: User, business: str) -> bool:
        token = confirmation_token(web.links, user)
        return deliver(
            mails.confirmation_mail(
                to=user.email, language=user.language, business=business, link=link(f"/confirm/{token}")
            )
        )

    def signup_closed(request: Request) -> Response:
        return web.message(
            request, N_("Sign-up is closed"), N_("Ask the owner of this installation for an account.")
        )

    def dead_link(request: Request) -> Response:
        return web.message(
            request,
            N_("This link does not work"),
            N_("The link is invalid, expired or was already used. Ask for a new one."),
            status_code=400,
        )

    def too_many(request: Request) -> Response:
        return web.message(
            request,
            N_("Too many attempts"),
            N_("Please wait a few minutes and try again."),
            status_code=429,
        )

    def open_for(db: Session, request: Request, user: User) -> BrowserSession:
        """Store a new server-side session for `user`, ending the one this browser had."""
        previous = web.browser(request)
        if previous.user_id is not None:
            end_session(db, previous.id)
        lifetime = timedelta(days=settings.session_days)
        return signed_in(open_session(db, user.id, now=services.clock(), lifetime=lifetime), user.id)

    def enter(request: Request, session: BrowserSession, address: str, target: str) -> Response:
        """Go to `target` signed in; the browser is a known device for `address` from now on."""
        web.switch_session(request, session)
        response = RedirectResponse(target, status_code=303)
        web.devices.remember(request, response, address)
        return response

    # --- sign-up and confirmation ---------------------------------------------------------------

    def signup_page(
        request: Request, form: dict[str, str], errors: dict[str, str], status_code: int = 200
    ) -> Response:
        context = {"form": form, "errors": errors, "message_languages": REMINDER_LANGUAGES}
        return web.page(request, "auth/signup.html", context, status_code=status_code)

    def proposed_reminder_language(request: Request) -> str:
        return reminder_language_from(request.headers.get("accept-language", ""))

    @router.get("/signup")
    def signup_form(request: Request) -> Response:
        if not settings.signup_enabled:
            return signup_closed(request)
        return signup_page(request, {"reminder_language": proposed_reminder_language(request)}, {})

    @router.post("/signup")
    def signup(
        request: Request,
        business: Annotated[str, Form()] = "",
        name: Annotated[str, Form()] = "",
        email: Annotated[str, Form()] = "",
        password: Annotated[str, Form()] = "",
        language: Annotated[str, Form()] = "",
        reminder_language: Annotated[str, Form()] = "",
    ) -> Response:
        # A form without the field (an older page) gets the language the form would have proposed.
        reminder_language = reminder_language or proposed_reminder_language(request)
        form = {
            "business": business,
            "name": name,
            "email": email,
            "language": language,
            "reminder_language": reminder_language,
        }
        if not settings.signup_enabled:
            return signup_closed(request)
        if not web.limiter.throttle("signup", client_ip(request), SIGNUPS_PER_IP):
            return too_many(request)
        language = language if language in LANGUAGES else web.language_of(request)
        try:
            with services.factory.begin() as db:
                registration = sign_up(
                    db,
                    SignUp(business, name, email, password, language, reminder_language),
                    now=services.clock(),
                    free_sms=settings.signup_free_sms,
                )
        except FormErrors as exc:
            return signup_page(request, form, exc.errors, status_code=422)
        user = registration.user
        if registration.created:
            send_confirmation(user, business.strip())
        elif web.limiter.throttle("signup-known", user.email, ACCOUNT_EXISTS_MAILS_PER_ADDRESS):
            token = reset_token(web.links, user)
            deliver(
                mails.account_exists_mail(
                    to=user.email,
                    language=user.language,
                    login_link=link("/login"),
                    reset_link=link(f"/password/reset/{token}"),
                )
            )
        return RedirectResponse("/signup/sent", status_code=303)

    @router.get("/signup/sent")
    def signup_sent(request: Request) -> Response:
        return web.page(request, "auth/signup_sent.html")

    @router.get("/confirm/{token}")
    def confirm(request: Request, token: str) -> Response:
        with services.factory.begin() as db:
            confirmation = confirm_email(db, web.links, token, now=services.clock())
        if confirmation is None:
            return web.message(
                request,
                N_("This link does not work"),
                N_("The confirmation link is invalid or has expired. Sign in and ask for a new one."),
                status_code=400,
            )
        if web.optional_viewer(request) is not None:
            return RedirectResponse("/?notice=confirmed", status_code=303)
        # The link confirms; the password signs in (a link opened by a mail scanner signs in nobody).
        welcome = "&next=" + quote("/?notice=welcome", safe="") if confirmation.first else ""
        return RedirectResponse(f"/login?notice=confirmed{welcome}", status_code=303)

    @router.post("/confirm/resend")
    def resend(request: Request, viewer: Annotated[Viewer, Depends(web.viewer)]) -> Response:
        if not web.limiter.throttle("resend", str(viewer.user_id), 5):
            return too_many(request)
        with services.reader() as db:
            user = db.get_one(User, viewer.user_id)
        send_confirmation(user, viewer.account_name)
        return RedirectResponse("/?notice=confirmation_sent", status_code=303)

    # --- sign-in and out ------------------------------------------------------------------------

    @router.get("/login")
    def login_form(request: Request, next: str = "/") -> Response:
        if web.optional_viewer(request) is not None:
            return RedirectResponse(safe_next(next), status_code=303)
        return web.page(request, "auth/login.html", {"form": {}, "errors": {}, "next": safe_next(next)})

    @router.post("/login")
    def login(
        request: Request,
        email: Annotated[str, Form()] = "",
        password: Annotated[str, Form()] = "",
        next: Annotated[str, Form()] = "/",
    ) -> Response:
        address, ip = normalise_email(email), client_ip(request)
        device = web.devices.device_for(request, address)
        context = {"form": {"email": email}, "next": safe_next(next)}
        if not web.limiter.allowed(address, ip, device):
            return web.page(
                request,
                "auth/login.html",
                {
                    **context,
                    "errors": {
                        "form": N_("Too many failed attempts. Wait 15 minutes or reset your password.")
                    },
                },
                status_code=429,
            )
        opened: BrowserSession | None = None
        business = ""
        with services.factory.begin() as db:
            user = authenticate(db, address, password, now=services.clock())
            if user is not None and user.email_confirmed_at is not None:
                opened = open_for(db, request, user)
            elif user is not None:
                business = db.get_one(Account, user.account_id).name
        if user is None:
            web.limiter.failed(address, ip, device)
            return web.page(
                request,
                "auth/login.html",
                {**context, "errors": {"form": N_("The e-mail address or the password is wrong.")}},
                status_code=401,
            )
        if opened is None:
            # Right password, address never confirmed: only a confirmed owner may use the account,
            # so nobody can sign up with another person's address and use it.
            if web.limiter.throttle("resend", str(user.id), 5):
                send_confirmation(user, business)
            return web.message(
                request,
                N_("Please confirm your e-mail address first"),
                N_("We sent you a link to confirm your e-mail address. Open it, then sign in."),
                status_code=403,
            )
        return enter(request, opened, address, safe_next(next))

    @router.post("/logout")
    def logout(request: Request) -> Response:
        current = web.browser(request)
        if current.user_id is not None:
            # Ended on the server, so a copy of the cookie made before is worthless too.
            with services.factory.begin() as db:
                end_session(db, current.id)
        web.switch_session(request, new_session())
        return RedirectResponse("/login?notice=signed_out", status_code=303)

    # --- password reset and invitations ---------------------------------------------------------

    @router.get("/password/forgot")
    def forgot_form(request: Request) -> Response:
        return web.page(request, "auth/forgot.html", {"form": {}, "errors": {}, "sent": False})

    @router.post("/password/forgot")
    def forgot(request: Request, email: Annotated[str, Form()] = "") -> Response:
        if not web.limiter.throttle("reset", client_ip(request), 10):
            return too_many(request)
        with services.reader() as db:
            user = user_by_email(db, email)
            token = reset_token(web.links, user) if user else None
        if user is not None and token is not None:
            deliver(
                mails.reset_mail(to=user.email, language=user.language, link=link(f"/password/reset/{token}"))
            )
        # The same answer whether the address exists or not: the form must not reveal who has an account.
        return web.page(request, "auth/forgot.html", {"form": {"email": email}, "errors": {}, "sent": True})

    def password_page(
        request: Request,
        template: str,
        email: str,
        token: str,
        errors: dict[str, str],
        status_code: int = 200,
    ) -> Response:
        context = {"email": email, "token": token, "errors": errors}
        return web.page(request, template, context, status_code=status_code)

    def password_link_routes(
        path: str,
        template: str,
        find: Callable[[Session, str], User | Invitation | None],
        complete: Callable[[Session, Any, str], User],
        landing: str,
    ) -> None:
        """The page behind a reset or invitation link, and its form that sets the password."""

        def form_page(request: Request, token: str) -> Response:
            with services.reader() as db:
                found = find(db, token)
            if found is None:
                return dead_link(request)
            return password_page(request, template, found.email, token, {})

        def submit(
            request: Request,
            token: str,
            password: Annotated[str, Form()] = "",
            repeat: Annotated[str, Form()] = "",
        ) -> Response:
            errors: dict[str, str] = {}
            email: str | None = None
            opened: BrowserSession | None = None
            # Pages are rendered after the transaction: on SQLite it holds the write lock.
            with services.factory.begin() as db:
                found = find(db, token)
                if found is not None:
                    email = found.email
                    try:
                        same_passwords(password, repeat)
                        user = complete(db, found, password)
                    except FormErrors as exc:
                        errors = exc.errors
                    else:
                        opened = open_for(db, request, user)
            if email is None:
                return dead_link(request)
            if opened is None:
                return password_page(request, template, email, token, errors, status_code=422)
            return enter(request, opened, email, landing)

        router.add_api_route(path, form_page, methods=["GET"])
        router.add_api_route(path, submit, methods=["POST"])

    def reset_password(db: Session, user: User, password: str) -> User:
        set_password(db, user, password, now=services.clock())
        return user

    def accept(db: Session, invitation: Invitation, password: str) -> User:
        return accept_invitation(db, invitation, password, now=services.clock())

    password_link_routes(
        "/password/reset/{token}",
        "auth/reset.html",
        lambda db, token: user_of_reset_link(db, web.links, token),
        reset_password,
        "/?notice=password_changed",
    )
    password_link_routes(
        "/invite/{token}",
        "auth/invite.html",
        lambda db, token: invitation_of_link(db, web.links, token),
        accept,
        "/?notice=joined",
    )

    # --- preferences ----------------------------------------------------------------------------

    @router.post("/me/language")
    def choose_language(
        request: Request,
        viewer: Annotated[Viewer, Depends(web.viewer)],
        language: Annotated[str, Form()] = "",
        next: Annotated[str, Form()] = "/",
    ) -> Response:
        if language in LANGUAGES:
            with services.factory.begin() as db:
                db.get_one(User, viewer.user_id).language = language
        return RedirectResponse(safe_next(next), status_code=303)

    return router


def invite_link(web: Web, invitation: Invitation) -> str:
    """The address an invited person opens to choose a password."""
    token = invitation_token(web.links, invitation)
    return web.services.settings.public_url.rstrip("/") + f"/invite/{token}"
