"""The overview: calendars and their state, credit, the next reminders, and what needs attention."""

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from reminders.web import queries
from reminders.web.context import Viewer, Web
from reminders.web.i18n import N_

# The free credit of a new account (10) is not "low" yet; a handful of reminders is.
LOW_CREDIT = 5


@dataclass(frozen=True, slots=True)
class Attention:
    """Something the owner should fix, with where to fix it (msgid + link)."""

    text: str
    href: str | None
    params: dict[str, object]


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
        if account.credit_balance <= 0:
            attention.append(
                Attention(N_("Your SMS credit is used up: no reminder can be sent."), credit_page, {})
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
                "upcoming": upcoming,
                "attention": attention,
                "now": now,
            },
            viewer=viewer,
        )

    return router
