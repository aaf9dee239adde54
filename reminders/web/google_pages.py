"""Routes of the Google connection: consent, callback, calendar picker, push webhook, disconnect."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Form, Header, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from connectors.calendars.base import CalendarError
from reminders.bootstrap import Services
from reminders.calendars import google_link
from reminders.web import queries
from reminders.web.rendering import TEMPLATES, message_page
from reminders.web.session import csrf_ok, csrf_token, read_session, remember

log = logging.getLogger(__name__)


def google_router(services: Services) -> APIRouter:
    """The Google routes, bound to the process's services."""
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

    @router.get("/calendars/google/connect")
    def connect(request: Request, account: int | None = None) -> Response:
        found = account_id(account)
        if found is None:
            return message_page(request, "No such business", "Set up a business first.", status_code=404)
        if not services.settings.google_client_id:
            return message_page(
                request,
                "Google is not set up here",
                "This installation has no Google OAuth client; set REMINDERS_GOOGLE_CLIENT_ID and "
                "REMINDERS_GOOGLE_CLIENT_SECRET.",
                status_code=503,
            )
        session = read_session(request, signer)
        url = google_link.start_connect(services, account_id=found, session_id=session.id)
        response = RedirectResponse(url, status_code=303)
        remember(response, session, signer, secure=secure)
        return response

    @router.get("/oauth/google/callback")
    def callback(request: Request, state: str = "", code: str = "", error: str = "") -> Response:
        if error or not code:
            reason = "you declined access" if error == "access_denied" else (error or "no code was returned")
            return message_page(
                request, "Google calendar not connected", f"Google says {reason}.", status_code=400
            )
        session = read_session(request, signer)
        try:
            grant_id = google_link.finish_connect(services, state=state, code=code, session_id=session.id)
        except (google_link.ConnectError, CalendarError) as exc:
            return message_page(request, "Google calendar not connected", str(exc), status_code=400)
        return RedirectResponse(f"/calendars/google/pick/{grant_id}", status_code=303)

    @router.get("/calendars/google/pick/{grant_id}", response_class=HTMLResponse)
    def pick(request: Request, grant_id: int) -> Response:
        found = account_id()
        session = read_session(request, signer)
        if found is None:
            return message_page(request, "No such business", "Set up a business first.", status_code=404)
        try:
            calendars = google_link.calendars_of_grant(services, account_id=found, grant_id=grant_id)
        except (google_link.ConnectError, CalendarError) as exc:
            return message_page(request, "Cannot list your Google calendars", str(exc), status_code=400)
        context = {"calendars": calendars, "grant_id": grant_id, "csrf": csrf_token(session, signer)}
        response = TEMPLATES.TemplateResponse(request, "google_pick.html", context)
        remember(response, session, signer, secure=secure)
        return response

    @router.post("/calendars/google/pick/{grant_id}")
    def choose(
        request: Request,
        grant_id: int,
        calendar: Annotated[list[str] | None, Form()] = None,
        csrf: Annotated[str, Form()] = "",
    ) -> Response:
        found = form_account(request, csrf)
        if isinstance(found, Response):
            return found
        try:
            google_link.connect_calendars(
                services, account_id=found, grant_id=grant_id, calendar_ids=calendar or []
            )
        except (google_link.ConnectError, CalendarError) as exc:
            return message_page(request, "Google calendar not connected", str(exc), status_code=400)
        return RedirectResponse("/", status_code=303)

    @router.post("/webhooks/google")
    def webhook(
        x_goog_channel_id: Annotated[str, Header()] = "",
        x_goog_channel_token: Annotated[str, Header()] = "",
        x_goog_resource_state: Annotated[str, Header()] = "",
    ) -> Response:
        result = google_link.handle_push(
            services,
            channel_id=x_goog_channel_id,
            token=x_goog_channel_token,
            resource_state=x_goog_resource_state,
        )
        if not result.accepted:
            log.warning("google.push.rejected channel=%s", x_goog_channel_id[:64])
            return Response(status_code=404)
        if services.wake_sync is not None and x_goog_resource_state != "sync":
            services.wake_sync(services.clock() + google_link.PUSH_DEBOUNCE)
        return Response(status_code=200)

    @router.post("/calendars/{connection_id}/disconnect")
    def disconnect(request: Request, connection_id: int, csrf: Annotated[str, Form()] = "") -> Response:
        found = form_account(request, csrf)
        if isinstance(found, Response):
            return found
        try:
            google_link.disconnect(services, account_id=found, connection_id=connection_id)
        except google_link.ConnectError as exc:
            return message_page(request, "Not disconnected", str(exc), status_code=404)
        return RedirectResponse("/", status_code=303)

    return router
