"""Sign-up, e-mail confirmation, sign-in and out, password reset, invitations, the user's UI language."""

import logging
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from connectors.mail import MailError, OutgoingMail
from reminders.accounts import mails
from reminders.accounts.service import (
    FormErrors,
    SignUp,
    authenticate,
    confirm_email,
    confirmation_token,
    normalise_email,
    password_link_token,
    set_password,
    sign_up,
    user_by_email,
    user_of_password_link,
)
from reminders.accounts.tokens import Purpose
from reminders.models import User
from reminders.web.context import Viewer, Web
from reminders.web.i18n import LANGUAGES, N_
from reminders.web.session import new_session, signed_in

log = logging.getLogger("reminders.web.auth")


def safe_next(target: str | None) -> str:
    """A local path to go to after signing in; anything else (other sites) becomes the dashboard."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return "/"


def client_ip(request: Request) -> str:
    """The client address as the server sees it (uvicorn applies --forwarded-allow-ips)."""
    return request.client.host if request.client else "unknown"


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

    def start(request: Request, user: User) -> None:
        web.switch_session(request, signed_in(user.id, user.session_epoch))

    @router.get("/signup")
    def signup_form(request: Request) -> Response:
        if not settings.signup_enabled:
            return signup_closed(request)
        return web.page(request, "auth/signup.html", {"form": {}, "errors": {}})

    @router.post("/signup")
    def signup(
        request: Request,
        business: Annotated[str, Form()] = "",
        name: Annotated[str, Form()] = "",
        email: Annotated[str, Form()] = "",
        password: Annotated[str, Form()] = "",
        language: Annotated[str, Form()] = "",
    ) -> Response:
        form = {"business": business, "name": name, "email": email, "language": language}
        if not settings.signup_enabled:
            return signup_closed(request)
        if not web.limiter.throttle("signup", client_ip(request), 20):
            return too_many(request)
        language = language if language in LANGUAGES else web.language_of(request)
        now = services.clock()
        try:
            with services.factory.begin() as db:
                user = sign_up(
                    db,
                    SignUp(business, name, email, password, language),
                    now=now,
                    free_sms=settings.signup_free_sms,
                )
                business_name = business.strip()
        except FormErrors as exc:
            return web.page(
                request, "auth/signup.html", {"form": form, "errors": exc.errors}, status_code=422
            )
        send_confirmation(user, business_name)
        start(request, user)
        return RedirectResponse("/?notice=welcome", status_code=303)

    @router.get("/confirm/{token}")
    def confirm(request: Request, token: str) -> Response:
        with services.factory.begin() as db:
            user = confirm_email(db, web.links, token, now=services.clock())
        if user is None:
            return web.message(
                request,
                N_("This link does not work"),
                N_("The confirmation link is invalid or has expired. Sign in and ask for a new one."),
                status_code=400,
            )
        return RedirectResponse("/?notice=confirmed", status_code=303)

    @router.post("/confirm/resend")
    def resend(request: Request, viewer: Annotated[Viewer, Depends(web.viewer)]) -> Response:
        if not web.limiter.throttle("resend", str(viewer.user_id), 5):
            return too_many(request)
        with services.reader() as db:
            user = db.get_one(User, viewer.user_id)
        send_confirmation(user, viewer.account_name)
        return RedirectResponse("/?notice=confirmation_sent", status_code=303)

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
        context = {"form": {"email": email}, "next": safe_next(next)}
        if not web.limiter.allowed(address, ip):
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
        with services.factory.begin() as db:
            user = authenticate(db, address, password, now=services.clock())
        if user is None:
            web.limiter.failed(address, ip)
            return web.page(
                request,
                "auth/login.html",
                {**context, "errors": {"form": N_("The e-mail address or the password is wrong.")}},
                status_code=401,
            )
        start(request, user)
        return RedirectResponse(safe_next(next), status_code=303)

    @router.post("/logout")
    def logout(request: Request) -> Response:
        web.switch_session(request, new_session())
        return RedirectResponse("/login?notice=signed_out", status_code=303)

    @router.get("/password/forgot")
    def forgot_form(request: Request) -> Response:
        return web.page(request, "auth/forgot.html", {"form": {}, "errors": {}, "sent": False})

    @router.post("/password/forgot")
    def forgot(request: Request, email: Annotated[str, Form()] = "") -> Response:
        if not web.limiter.throttle("reset", client_ip(request), 10):
            return too_many(request)
        with services.reader() as db:
            user = user_by_email(db, email)
            token = password_link_token(web.links, user, Purpose.RESET_PASSWORD) if user else None
        if user is not None and token is not None:
            deliver(
                mails.reset_mail(to=user.email, language=user.language, link=link(f"/password/reset/{token}"))
            )
        # The same answer whether the address exists or not: the form must not reveal who has an account.
        return web.page(request, "auth/forgot.html", {"form": {"email": email}, "errors": {}, "sent": True})

    def password_link_page(request: Request, purpose: Purpose, token: str, template: str) -> Response:
        with services.reader() as db:
            user = user_of_password_link(db, web.links, purpose, token)
        if user is None:
            return dead_link(request)
        return web.page(request, template, {"errors": {}, "email": user.email, "token": token})

    def password_link_submit(
        request: Request, purpose: Purpose, token: str, password: str, repeat: str, template: str
    ) -> Response:
        errors: dict[str, str] = {}
        email = None
        # Pages are rendered after the transaction: on SQLite it holds the write lock.
        with services.factory.begin() as db:
            user = user_of_password_link(db, web.links, purpose, token)
            if user is not None:
                email = user.email
                try:
                    if password != repeat:
                        raise FormErrors({"repeat": N_("The two passwords differ.")})
                    set_password(user, password, now=services.clock())
                except FormErrors as exc:
                    errors = exc.errors
                else:
                    db.flush()
                    start(request, user)
        if email is None:
            return dead_link(request)
        if errors:
            return web.page(
                request, template, {"email": email, "token": token, "errors": errors}, status_code=422
            )
        return RedirectResponse("/?notice=password_changed", status_code=303)

    def password_link_routes(path: str, purpose: Purpose, template: str) -> None:
        """The page behind a reset or invitation link, and its form."""

        def form_page(request: Request, token: str) -> Response:
            return password_link_page(request, purpose, token, template)

        def submit(
            request: Request,
            token: str,
            password: Annotated[str, Form()] = "",
            repeat: Annotated[str, Form()] = "",
        ) -> Response:
            return password_link_submit(request, purpose, token, password, repeat, template)

        router.add_api_route(path, form_page, methods=["GET"], name=f"{purpose.value}-form")
        router.add_api_route(path, submit, methods=["POST"], name=purpose.value)

    password_link_routes("/password/reset/{token}", Purpose.RESET_PASSWORD, "auth/reset.html")
    password_link_routes("/invite/{token}", Purpose.ACCEPT_INVITE, "auth/invite.html")

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


def invite_link(web: Web, user: User) -> str:
    """The address an invited user opens to choose a password."""
    token = password_link_token(web.links, user, Purpose.ACCEPT_INVITE)
    return web.services.settings.public_url.rstrip("/") + f"/invite/{token}"
