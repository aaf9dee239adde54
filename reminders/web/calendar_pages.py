"""Connecting OAuth calendars: consent, callback, calendar picker, disconnect (any provider)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from connectors.calendars.base import CalendarError
from reminders.bootstrap import Services
from reminders.calendars import google_link, microsoft_link
from reminders.calendars.linking import ConnectError, Linker
from reminders.models import CalendarConnection
from reminders.web import queries
from reminders.web.rendering import TEMPLATES, message_page
from reminders.web.session import csrf_ok, csrf_token, read_session, remember

LINKERS: Mapping[str, Linker] = {
    linker.PROVIDER: linker for linker in (google_link.LINKER, microsoft_link.LINKER)
}


def calendar_router(services: Services) -> APIRouter:
    """The calendar-connection routes, bound to the process's services."""
    router = APIRouter()
    signer = services.signer
    secure = services.settings.public_url.startswith("https://")

    def account_id(requested: int | None = None) -> int | None:
        with services.factory.begin() as session:
            account = queries.account_for_page(session, requested)
            return account.id if account else None

    def form_account(request: Request, csrf: str) -> int | Response:
        """The account a posted form acts for, or the refusal when its CSRF token is not this session's."""
        found = account_id()
        if found is None or not csrf_ok(read_session(request, signer), signer, csrf):
            return message_page(
                request, "Please try again", "The form expired; open it again.", status_code=403
            )
        return found

    def linker(request: Request, provider: str) -> Linker | Response:
        found = LINKERS.get(provider)
        if found is None:
            return message_page(
                request, "Unknown calendar provider", f"{provider!r} is not supported.", status_code=404
            )
        if not found.is_configured(services.settings):
            return message_page(
                request,
                f"{found.LABEL} is not set up here",
                f"This installation has no {found.LABEL} OAuth client configured.",
                status_code=503,
            )
        return found

    @router.get("/calendars/{provider}/connect")
    def connect(request: Request, provider: str, account: int | None = None) -> Response:
        chosen = linker(request, provider)
        if isinstance(chosen, Response):
            return chosen
        found = account_id(account)
        if found is None:
            return message_page(request, "No such business", "Set up a business first.", status_code=404)
        session = read_session(request, signer)
        response = RedirectResponse(
            chosen.start_connect(services, account_id=found, session_id=session.id), status_code=303
        )
        remember(response, session, signer, secure=secure)
        return response

    @router.get("/oauth/{provider}/callback")
    def callback(
        request: Request, provider: str, state: str = "", code: str = "", error: str = ""
    ) -> Response:
        chosen = linker(request, provider)
        if isinstance(chosen, Response):
            return chosen
        title = f"{chosen.LABEL} calendar not connected"
        if error or not code:
            reason = "you declined access" if error == "access_denied" else (error or "no code was returned")
            return message_page(request, title, f"{chosen.LABEL} says {reason}.", status_code=400)
        session = read_session(request, signer)
        try:
            grant_id = chosen.finish_connect(
                services, state=state, query=dict(request.query_params), session_id=session.id
            )
        except (ConnectError, CalendarError) as exc:
            return message_page(request, title, str(exc), status_code=400)
        return RedirectResponse(f"/calendars/{provider}/pick/{grant_id}", status_code=303)

    @router.get("/calendars/{provider}/pick/{grant_id}", response_class=HTMLResponse)
    def pick(request: Request, provider: str, grant_id: int) -> Response:
        chosen = linker(request, provider)
        if isinstance(chosen, Response):
            return chosen
        found = account_id()
        if found is None:
            return message_page(request, "No such business", "Set up a business first.", status_code=404)
        session = read_session(request, signer)
        try:
            calendars = chosen.calendars_of_grant(services, account_id=found, grant_id=grant_id)
        except (ConnectError, CalendarError) as exc:
            return message_page(
                request, f"Cannot list your {chosen.LABEL} calendars", str(exc), status_code=400
            )
        context = {
            "calendars": calendars,
            "action": f"/calendars/{provider}/pick/{grant_id}",
            "label": chosen.LABEL,
            "csrf": csrf_token(session, signer),
        }
        response = TEMPLATES.TemplateResponse(request, "calendar_pick.html", context)
        remember(response, session, signer, secure=secure)
        return response

    @router.post("/calendars/{provider}/pick/{grant_id}")
    def choose(
        request: Request,
        provider: str,
        grant_id: int,
        calendar: Annotated[list[str] | None, Form()] = None,
        csrf: Annotated[str, Form()] = "",
    ) -> Response:
        chosen = linker(request, provider)
        if isinstance(chosen, Response):
            return chosen
        found = form_account(request, csrf)
        if isinstance(found, Response):
            return found
        try:
            chosen.connect_calendars(
                services, account_id=found, grant_id=grant_id, calendar_ids=calendar or []
            )
        except (ConnectError, CalendarError) as exc:
            return message_page(request, f"{chosen.LABEL} calendar not connected", str(exc), status_code=400)
        return RedirectResponse("/", status_code=303)

    @router.post("/calendars/{connection_id}/disconnect")
    def disconnect(request: Request, connection_id: int, csrf: Annotated[str, Form()] = "") -> Response:
        found = form_account(request, csrf)
        if isinstance(found, Response):
            return found
        with services.factory.begin() as session:
            connection = session.get(CalendarConnection, connection_id)
            chosen = (
                LINKERS.get(connection.provider) if connection and connection.account_id == found else None
            )
        if chosen is None:
            return message_page(
                request, "Not disconnected", "That calendar is not connected.", status_code=404
            )
        try:
            chosen.disconnect(services, account_id=found, connection_id=connection_id)
        except ConnectError as exc:
            return message_page(request, "Not disconnected", str(exc), status_code=404)
        return RedirectResponse("/", status_code=303)

    return router
