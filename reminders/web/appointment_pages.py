"""Appointments: the upcoming and past list with filters, and one appointment with every reminder."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from reminders.dispatch.render import calendar_templates
from reminders.models import Appointment
from reminders.numbers.blocklist import blocked_kinds, is_blocked
from reminders.reports.masking import mask_digits
from reminders.web import queries
from reminders.web.appointment_queries import (
    AppointmentFilter,
    AppointmentLine,
    ListCursor,
    appointment_detail,
    appointment_page,
)
from reminders.web.appointment_views import cannot_send, masked_field, reminder_badge, reminder_view
from reminders.web.context import NotFound, Viewer, Web
from reminders.web.i18n import N_
from reminders.web.list_filters import chosen_calendar, list_link
from reminders.web.reminder_texts import APPOINTMENT_STATUSES, SOURCES, recipient_problem


@dataclass(frozen=True, slots=True)
class ListQuery:
    """The list's query string, validated: the filter, where the page starts, and field errors."""

    where: AppointmentFilter
    after: ListCursor | None
    form: dict[str, str]
    errors: dict[str, str]


def parse_list_query(params: Mapping[str, str], calendar_ids: set[int], *, problem_days: int) -> ListQuery:
    """Read and check the filters; unknown values become errors next to their field.

    Problems are looked for among appointments within `problem_days` of now (the planning
    horizon: reminders are planned within it, and the search must stay bounded)."""
    form = {
        "when": params.get("when", "upcoming") or "upcoming",
        "calendar": params.get("calendar", "").strip(),
        "problem": params.get("problem", "").strip(),
    }
    errors: dict[str, str] = {}
    if form["when"] not in ("upcoming", "past"):
        errors["when"] = N_("Choose upcoming or past appointments.")
    calendar_id = chosen_calendar(form["calendar"], calendar_ids, errors)
    if form["problem"] not in ("", "no_number"):
        errors["problem"] = N_("Choose a problem from the list.")
    where = AppointmentFilter(
        past=form["when"] == "past",
        calendar_id=calendar_id,
        no_number=form["problem"] == "no_number",
        within=timedelta(days=problem_days) if form["problem"] == "no_number" else None,
    )
    return ListQuery(where, ListCursor.decode(params.get("after", "")), form, errors)


def _link(form: dict[str, str], **changes: str) -> str:
    return list_link("/appointments", form, **changes)


def _recipient(appointment: Appointment) -> dict[str, Any]:
    """The appointment's title and number as pages show them: digit runs masked, words as msgids."""
    return {
        "appointment": appointment,
        "title": mask_digits(appointment.title) or "–",
        "source": SOURCES.get(appointment.recipient_source or ""),
        "problem": None if appointment.recipient else recipient_problem(appointment.recipient_reason),
        "status": APPOINTMENT_STATUSES.get(appointment.status, appointment.status),
    }


def _list_lines(lines: list[AppointmentLine], blocked: Mapping[str, str]) -> list[dict[str, Any]]:
    """What the list template needs of each appointment; `blocked` maps numbers on one of the
    account's lists to that list."""
    shown = []
    for line in lines:
        a = line.appointment
        on_list = blocked.get(a.recipient) if a.recipient else None
        badges = [(r, reminder_badge(r, a, on_list)) for r in line.reminders]
        # Said once under the reminders it stops, unless the number's cell says it already.
        stopped = a.recipient is not None and any(b.code == "blocked" for _, b in badges)
        shown.append(
            {
                **_recipient(a),
                "calendar": line.calendar_name,
                "reminders": badges,
                "blocked": cannot_send(a, on_list) if stopped else None,
            }
        )
    return shown


def _blocked_numbers(db: Session, account_id: int, lines: list[AppointmentLine]) -> dict[str, str]:
    """The numbers of these appointments that are on one of the account's lists, in one query."""
    numbers = {line.appointment.recipient for line in lines if line.appointment.recipient}
    found = blocked_kinds(db, [(account_id, number) for number in numbers if number])
    return {number: kind for (_, number), kind in found.items()}


def appointment_router(web: Web) -> APIRouter:
    """The appointment list and detail pages (owners and staff)."""
    router = APIRouter()
    services = web.services

    @router.get("/appointments")
    def appointment_list(request: Request, viewer: Annotated[Viewer, Depends(web.viewer)]) -> Response:
        now = services.clock()
        with services.reader() as db:
            calendars = queries.calendars(db, viewer.account_id)
            query = parse_list_query(
                request.query_params,
                {c.id for c in calendars},
                problem_days=services.settings.planning_horizon_days,
            )
            page = None
            lines: list[dict[str, Any]] = []
            if not query.errors:
                page = appointment_page(db, viewer.account_id, query.where, now=now, after=query.after)
                lines = _list_lines(page.lines, _blocked_numbers(db, viewer.account_id, page.lines))
        context = {
            "calendars": [(str(c.id), c.name) for c in calendars],
            "form": query.form,
            "errors": query.errors,
            "lines": lines,
            "first_url": _link(query.form) if query.after else None,
            "next_url": _link(query.form, after=page.next.encode()) if page and page.next else None,
            "tab_urls": {when: _link(query.form, when=when) for when in ("upcoming", "past")},
            "horizon_days": services.settings.planning_horizon_days,
        }
        status = 422 if query.errors else 200
        return web.page(request, "appointments/list.html", context, viewer=viewer, status_code=status)

    @router.get("/appointments/{appointment_id}")
    def appointment(
        request: Request, appointment_id: int, viewer: Annotated[Viewer, Depends(web.viewer)]
    ) -> Response:
        now = services.clock()
        with services.reader() as db:
            detail = appointment_detail(db, viewer.account_id, appointment_id)
            if detail is None:
                raise NotFound
            account = queries.account(db, viewer.account_id)
            calendar = detail.calendar
            templates = calendar_templates(db, [calendar.id]).get(calendar.id, {})
            recipient = detail.appointment.recipient
            blocked = is_blocked(db, viewer.account_id, recipient) if recipient else None
            reminders = [
                reminder_view(
                    reminder,
                    detail.attempts.get(reminder.id, []),
                    appointment=detail.appointment,
                    account=account,
                    calendar=calendar,
                    templates=templates,
                    blocked=blocked,
                    now=now,
                )
                for reminder in detail.reminders
            ]
            a = detail.appointment
            context = {
                **_recipient(a),
                "calendar": calendar,
                "location": masked_field(a.location),
                "description": masked_field(a.description),
                "reminders": reminders,
            }
            return web.page(request, "appointments/detail.html", context, viewer=viewer)

    return router
