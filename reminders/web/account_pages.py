"""The owner's pages: business settings, SMS credit and its history, the account's users.

Every route depends on `web.owner`: staff get 403 here.
"""

import logging
import unicodedata
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from typing import Annotated

import phonenumbers
from babel import Locale
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.responses import Response

from connectors.mail import MailError, OutgoingMail
from reminders.accounts import settings_form
from reminders.accounts.invitations import invite, owned_invitation, pending_invitations
from reminders.accounts.mails import invitation_for_existing_account_mail, invitation_mail
from reminders.accounts.service import FormErrors, remove_user
from reminders.calendars.replan import replan_calendar
from reminders.models import Account, CreditEntry, Invitation, User
from reminders.web import queries
from reminders.web.auth_pages import invite_link
from reminders.web.context import NotFound, Viewer, Web
from reminders.web.i18n import N_
from reminders.web.paging import page_number, paging

log = logging.getLogger("reminders.web.account")

LEDGER_PAGE = 50
MESSAGE_LANGUAGES = (("de", "Deutsch"), ("fr", "Français"), ("it", "Italiano"), ("en", "English"))


@dataclass(frozen=True, slots=True)
class SentInvitation:
    """What the invite form produced: the pending invitation's id and the mail to send."""

    invitation_id: int
    mail: OutgoingMail


@cache
def countries(language: str) -> list[tuple[str, str]]:
    """(code, "name (code)") of every region phone numbers know, sorted by name in `language`."""
    names = Locale.parse(language).territories

    def key(item: tuple[str, str]) -> str:
        # "Österreich" sorts with the O's, not after Z.
        return unicodedata.normalize("NFKD", item[1]).encode("ascii", "ignore").decode().casefold()

    found = [(code, f"{names.get(code, code)} ({code})") for code in phonenumbers.SUPPORTED_REGIONS]
    return sorted(found, key=key)


def owned_user(session: Session, account_id: int, user_id: int) -> User | None:
    """The user with this id if they belong to the account (None for another account's id)."""
    found = session.get(User, user_id)
    return found if found is not None and found.account_id == account_id else None


def ledger(session: Session, account_id: int, *, offset: int, limit: int) -> list[CreditEntry]:
    """One page of the account's credit movements, newest first."""
    stmt = (
        select(CreditEntry)
        .where(CreditEntry.account_id == account_id)
        .order_by(CreditEntry.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return list(session.scalars(stmt))


def ledger_count(session: Session, account_id: int) -> int:
    """How many credit movements the account has."""
    return int(session.scalar(select(func.count()).where(CreditEntry.account_id == account_id)) or 0)


def users_of(session: Session, account_id: int) -> list[User]:
    """The account's users, owners first, then by address."""
    stmt = select(User).where(User.account_id == account_id).order_by(User.role, User.email)
    return list(session.scalars(stmt))


def account_router(web: Web) -> APIRouter:
    """The owner-only routes."""
    router = APIRouter()
    router.include_router(_settings_routes(web))
    router.include_router(_credit_routes(web))
    router.include_router(_user_routes(web))
    return router


def _settings_routes(web: Web) -> APIRouter:
    router = APIRouter()
    services = web.services
    owner = Depends(web.owner)

    def settings_page(
        request: Request,
        viewer: Viewer,
        form: dict[str, str],
        errors: dict[str, str],
        line: int | None = None,
        status_code: int = 200,
    ) -> Response:
        context = {
            "form": form,
            "errors": errors,
            "error_line": line,
            "countries": countries(web.language_of(request, viewer)),
            "message_languages": MESSAGE_LANGUAGES,
            "zones": settings_form.zone_names(),
        }
        return web.page(request, "account/settings.html", context, viewer=viewer, status_code=status_code)

    @router.get("/account")
    def settings(request: Request, viewer: Annotated[Viewer, owner]) -> Response:
        with services.reader() as db:
            form = settings_form.typed_form(queries.account(db, viewer.account_id))
        return settings_page(request, viewer, form, {})

    @router.post("/account")
    def save_settings(
        request: Request,
        viewer: Annotated[Viewer, owner],
        name: Annotated[str, Form()] = "",
        sender_name: Annotated[str, Form()] = "",
        home_region: Annotated[str, Form()] = "",
        timezone: Annotated[str, Form()] = "",
        language: Annotated[str, Form()] = "",
        quiet_start: Annotated[str, Form()] = "",
        quiet_end: Annotated[str, Form()] = "",
        language_by_prefix: Annotated[str, Form()] = "",
    ) -> Response:
        form = {
            "name": name,
            "sender_name": sender_name,
            "home_region": home_region,
            "timezone": timezone,
            "language": language,
            "quiet_start": quiet_start,
            "quiet_end": quiet_end,
            "language_by_prefix": language_by_prefix,
        }
        try:
            checked = settings_form.read_form(form)
        except settings_form.SettingsRefused as exc:
            return settings_page(request, viewer, form, exc.errors, exc.line, status_code=422)
        with services.factory.begin() as db:
            if settings_form.apply(queries.account(db, viewer.account_id), checked):
                # Reminders already planned must move with the new zone or quiet hours, together with them.
                horizon = timedelta(days=services.settings.planning_horizon_days)
                for calendar in queries.calendars(db, viewer.account_id, connected_only=True):
                    replan_calendar(db, calendar.id, now=services.clock(), within=horizon)
        return RedirectResponse("/account?notice=saved", status_code=303)

    return router


def _credit_routes(web: Web) -> APIRouter:
    router = APIRouter()
    services = web.services

    @router.get("/account/credit")
    def credit(request: Request, viewer: Annotated[Viewer, Depends(web.owner)], page: str = "1") -> Response:
        with services.reader() as db:
            balance = queries.account(db, viewer.account_id).credit_balance
            shown = paging(ledger_count(db, viewer.account_id), page_number(page), LEDGER_PAGE)
            entries = ledger(db, viewer.account_id, offset=shown.offset, limit=shown.size)
        context = {"balance": balance, "entries": entries, "paging": shown}
        return web.page(request, "account/credit.html", context, viewer=viewer)

    return router


def _user_routes(web: Web) -> APIRouter:
    router = APIRouter()
    services = web.services
    owner = Depends(web.owner)

    def users_page(
        request: Request, viewer: Viewer, form: dict[str, str], errors: dict[str, str], status_code: int = 200
    ) -> Response:
        with services.reader() as db:
            users = users_of(db, viewer.account_id)
            invitations = pending_invitations(db, viewer.account_id)
        context = {"users": users, "invitations": invitations, "form": form, "errors": errors}
        return web.page(request, "account/users.html", context, viewer=viewer, status_code=status_code)

    def send_invitation(viewer: Viewer, email: str, name: str, role: str) -> SentInvitation:
        """Store the pending invitation (committed) and its mail; `FormErrors` for bad input.

        An address with an account elsewhere is invited like any other, so the owner learns
        nothing about it; its mail says it has an account instead of carrying a link.
        """
        with services.factory.begin() as db:
            inviter = db.get_one(User, viewer.user_id)
            invited = invite(db, inviter, email=email, name=name, role=role, now=services.clock())
            invitation, existing = invited.invitation, invited.existing_user
            sender = inviter.name or inviter.email
            if existing is None:
                mail = invitation_mail(
                    to=invitation.email,
                    language=invitation.language,
                    business=viewer.account_name,
                    inviter=sender,
                    link=invite_link(web, invitation),
                )
            else:
                mail = invitation_for_existing_account_mail(
                    to=existing.email,
                    language=existing.language,
                    business=viewer.account_name,
                    inviter=sender,
                    login_link=services.settings.public_url.rstrip("/") + "/login",
                )
            return SentInvitation(invitation.id, mail)

    def undo(sent: SentInvitation) -> None:
        """Drop an invitation whose mail did not go out, so the owner can simply try again."""
        with services.factory.begin() as db:
            invitation = db.get(Invitation, sent.invitation_id)
            if invitation is not None:
                db.delete(invitation)

    @router.get("/account/users")
    def users(request: Request, viewer: Annotated[Viewer, owner]) -> Response:
        return users_page(request, viewer, {"role": "staff"}, {})

    @router.post("/account/users")
    def invite_user(
        request: Request,
        viewer: Annotated[Viewer, owner],
        email: Annotated[str, Form()] = "",
        name: Annotated[str, Form()] = "",
        role: Annotated[str, Form()] = "staff",
    ) -> Response:
        form = {"email": email, "name": name, "role": role}
        try:
            sent = send_invitation(viewer, email, name, role)
        except FormErrors as exc:
            return users_page(request, viewer, form, exc.errors, status_code=422)
        # Sent after the commit: an SMTP server can be slow, and SQLite's write lock must not wait on it.
        try:
            services.mailer.send(sent.mail)
        except MailError as exc:
            log.error("mail.failed to=%s error=%s", sent.mail.to, exc)
            undo(sent)
            errors = {
                "form": N_(
                    "The invitation e-mail could not be sent, so nobody was invited. "
                    "Check the mail settings of this installation and try again."
                )
            }
            return users_page(request, viewer, form, errors, status_code=502)
        return RedirectResponse("/account/users?notice=invited", status_code=303)

    @router.get("/account/invitations/{invitation_id}/withdraw")
    def confirm_withdraw(request: Request, invitation_id: int, viewer: Annotated[Viewer, owner]) -> Response:
        with services.reader() as db:
            invitation = owned_invitation(db, viewer.account_id, invitation_id)
        if invitation is None:
            raise NotFound
        context = {"invitation": invitation}
        return web.page(request, "account/withdraw_invitation.html", context, viewer=viewer)

    @router.post("/account/invitations/{invitation_id}/withdraw")
    def withdraw(request: Request, invitation_id: int, viewer: Annotated[Viewer, owner]) -> Response:
        with services.factory.begin() as db:
            invitation = owned_invitation(db, viewer.account_id, invitation_id)
            if invitation is None:
                raise NotFound
            db.delete(invitation)
        return RedirectResponse("/account/users?notice=withdrawn", status_code=303)

    @router.get("/account/users/{user_id}/remove")
    def confirm_remove(request: Request, user_id: int, viewer: Annotated[Viewer, owner]) -> Response:
        with services.reader() as db:
            user = owned_user(db, viewer.account_id, user_id)
        if user is None:
            raise NotFound
        return web.page(request, "account/remove_user.html", {"user": user, "errors": {}}, viewer=viewer)

    @router.post("/account/users/{user_id}/remove")
    def remove(request: Request, user_id: int, viewer: Annotated[Viewer, owner]) -> Response:
        with services.factory.begin() as db:
            # Two owners removing each other at once must not leave the account without one:
            # the account row lock makes the owner count and the delete one step (SQLite locks anyway).
            db.execute(select(Account.id).where(Account.id == viewer.account_id).with_for_update())
            user = owned_user(db, viewer.account_id, user_id)
            if user is None:
                raise NotFound
            try:
                remove_user(db, db.get_one(User, viewer.user_id), user_id)
            except FormErrors as exc:
                context = {"user": user, "errors": {"form": exc.errors["user"]}}
                return web.page(request, "account/remove_user.html", context, viewer=viewer, status_code=409)
        if user_id == viewer.user_id:
            return RedirectResponse("/login", status_code=303)  # they removed themselves: signed out
        return RedirectResponse("/account/users?notice=removed", status_code=303)

    return router
