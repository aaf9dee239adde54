"""The overview: calendars and their state, credit, the next reminders, and what needs attention."""

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from reminders.numbers.blocklist import blocked_kinds
from reminders.web import queries
from reminders.web.appointment_views import cannot_send, reminder_badge
from reminders.web.context import Viewer, Web
from reminders.web.i18n import N_
from reminders.web.reminder_texts import Badge

# The free credit of a new account (10) is not "low" yet; a handful of reminders is.
LOW_CREDIT = 5


@dataclass(frozen=True, slots=True)
class Attention:
    """Something the owner should fix, with where to fix it (msgid + link)."""

    text: str
    href: str | None
    params: dict[str, object]


@dataclass(frozen=True, slots=True)
class NextReminder:
    """A line of "Next reminders": the reminder, its badge, and why it cannot go out (a msgid) if so."""

    line: queries.ReminderLine
    badge: Badge
    problem: str | None


def dashboard_router(web: Web) -> APIRouter:
    """The overview page."""
    router = APIRouter()
    services = web.services

    @router.get("/")
    def overview(request: Request, viewer: Annotated[Viewer, Depends(web.viewer)]) -> Response:
        now = services.clock()
        with services.reader() as db:
            account = queries.account(db, viewer.account_id)
            calendars = queries.calendar_lines(db, viewer.account_id)
            upcoming = queries.upcoming(db, viewer.account_id)
            at_risk = queries.at_risk_count(db, viewer.account_id, now)
            unpaid = queries.skipped_for_credit(db, viewer.account_id, now)
            due_soon = queries.due_soon(db, viewer.account_id, now)
            numbers = {line.appointment.recipient for line in upcoming if line.appointment.recipient}
            blocked = blocked_kinds(db, [(viewer.account_id, number) for number in numbers])
        next_reminders = [
            next_reminder(line, blocked.get((viewer.account_id, line.appointment.recipient or "")))
            for line in upcoming
        ]
        attention: list[Attention] = []
        # Staff cannot open the credit page; they still see the warning.
        credit_page = "/account/credit" if viewer.is_owner else None
        if not calendars:
            attention.append(
                Attention(N_("Connect a calendar to start sending reminders."), "/calendars/new", {})
            )
        for line in calendars:
            c = line.calendar
            if line.access_revoked:
                attention.append(
                    Attention(
                        N_("Access to %(name)s was withdrawn. Connect it again."),
                        "/calendars/new",
                        {"name": c.name},
                    )
                )
            elif c.last_sync_error:
                attention.append(
                    Attention(
                        N_("%(name)s could not be read: %(error)s"),
                        f"/calendars/{c.id}",
                        {"name": c.name, "error": c.last_sync_error},
                    )
                )
            if c.held_removals:
                attention.append(
                    Attention(
                        N_(
                            "%(name)s suddenly no longer lists %(count)s upcoming appointments; "
                            "nothing was cancelled. Check the calendar."
                        ),
                        f"/calendars/{c.id}#held-removals",
                        {"name": c.name, "count": c.held_removals},
                    )
                )
            if not c.enabled:
                attention.append(
                    Attention(
                        N_("Reminders are switched off for %(name)s."), f"/calendars/{c.id}", {"name": c.name}
                    )
                )
        if unpaid:
            attention.append(
                Attention(
                    N_("Reminders not sent for lack of SMS credit in the last 7 days: %(count)s."),
                    "/messages?state=skipped",
                    {"count": unpaid},
                )
            )
        if account.credit_balance <= 0:
            attention.append(
                Attention(N_("Your SMS credit is used up: no reminder can be sent."), credit_page, {})
            )
        elif due_soon > account.credit_balance:
            attention.append(
                Attention(
                    N_(
                        "Reminders due in the next 48 hours: %(count)s; SMS credit left: %(credit)s. "
                        "The reminders beyond the credit will not be sent."
                    ),
                    credit_page,
                    {"count": due_soon, "credit": account.credit_balance},
                )
            )
        elif account.credit_balance < LOW_CREDIT:
            attention.append(
                Attention(
                    N_("Only %(count)s SMS of credit left."), credit_page, {"count": account.credit_balance}
                )
            )
        if at_risk:
            attention.append(
                Attention(
                    N_(
                        "%(count)s appointments of the next 7 days have no mobile number; "
                        "they will get no reminder."
                    ),
                    "/appointments?problem=no_number",
                    {"count": at_risk},
                )
            )
        return web.page(
            request,
            "dashboard.html",
            {
                "account": account,
                "calendars": calendars,
                "upcoming": next_reminders,
                "attention": attention,
                "now": now,
            },
            viewer=viewer,
        )

    return router


def next_reminder(line: queries.ReminderLine, blocked: str | None) -> NextReminder:
    """The overview's line for a planned reminder; `blocked` names the account's list its number is on."""
    return NextReminder(
        line,
        reminder_badge(line.reminder, line.appointment, blocked),
        cannot_send(line.appointment, blocked),
    )
