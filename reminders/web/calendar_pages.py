"""Connecting calendars: the list, Google and Outlook (consent, callback, picker), ICS feeds, sync now,
disconnect."""

from collections.abc import Mapping
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from connectors.calendars.base import CalendarError
from reminders.calendars import google_link, microsoft_link
from reminders.calendars.ics_link import connect_feed, feed_url_problem, normalise_feed_url
from reminders.calendars.linking import ConnectError, Linker, close_and_release
from reminders.calendars.service import sync_one
from reminders.web import queries
from reminders.web.context import NotFound, Viewer, Web
from reminders.web.i18n import N_, gettext_for

LINKERS: Mapping[str, Linker] = {
    linker.PROVIDER: linker for linker in (google_link.LINKER, microsoft_link.LINKER)
}


def calendar_router(web: Web) -> APIRouter:
    """The calendar-connection routes."""
    router = APIRouter()
    services = web.services
    settings = services.settings
    signed = Depends(web.viewer)

    def linker(provider: str) -> Linker:
        found = LINKERS.get(provider)
        if found is None:
            raise NotFound
        return found

    def not_configured(request: Request, chosen: Linker, viewer: Viewer) -> Response:
        return web.message(
            request,
            N_("This provider is not set up here"),
            N_("This installation has no OAuth client for this provider. Use an ICS link instead."),
            status_code=503,
            viewer=viewer,
        )

    def provider_said(request: Request, viewer: Viewer, title: str, exc: Exception) -> Response:
        """What the provider (or the connector, in words) answered, on a page."""
        context = {"title": title, "text": str(exc)}
        return web.page(request, "message.html", context, viewer=viewer, status_code=400)

    def providers() -> list[tuple[str, str]]:
        return [(name, found.LABEL) for name, found in LINKERS.items() if found.is_configured(settings)]

    @router.get("/calendars")
    def calendar_list(request: Request, viewer: Annotated[Viewer, signed]) -> Response:
        with services.reader() as db:
            lines = queries.calendar_lines(db, viewer.account_id)
        return web.page(request, "calendars/list.html", {"calendars": lines}, viewer=viewer)

    @router.get("/calendars/new")
    def new_calendar(request: Request, viewer: Annotated[Viewer, signed]) -> Response:
        return web.page(
            request,
            "calendars/new.html",
            {"providers": providers(), "form": {}, "errors": {}},
            viewer=viewer,
        )

    @router.post("/calendars/ics")
    def connect_ics(
        request: Request,
        viewer: Annotated[Viewer, signed],
        url: Annotated[str, Form()] = "",
        name: Annotated[str, Form()] = "",
    ) -> Response:
        feed = normalise_feed_url(url)
        errors: dict[str, str] = {}
        if problem := feed_url_problem(feed, allow_private=settings.ics_allow_private_networks):
            errors["url"] = problem
        if not name.strip():
            errors["name"] = N_("Give the calendar a name, e.g. the room or the person.")
        elif len(name.strip()) > 200:
            errors["name"] = N_("Use at most 200 characters.")
        if errors:
            return web.page(
                request,
                "calendars/new.html",
                {"providers": providers(), "form": {"url": url, "name": name}, "errors": errors},
                viewer=viewer,
                status_code=422,
            )
        with services.factory.begin() as db:
            connection = connect_feed(
                db, viewer.account_id, url=feed, name=name.strip(), now=services.clock()
            )
            db.flush()
            connection_id = connection.id
        sync_one(services, connection_id)  # errors are kept on the connection and shown on its page
        return RedirectResponse(f"/calendars/{connection_id}?notice=connected", status_code=303)

    @router.post("/calendars/{connection_id}/sync")
    def sync_now(
        request: Request,
        connection_id: int,
        viewer: Annotated[Viewer, signed],
        back_to: Annotated[str, Form(alias="next")] = "",
    ) -> Response:
        with services.reader() as db:
            connection = queries.owned_calendar(db, viewer.account_id, connection_id)
            if connection is None or connection.disconnected_at is not None:
                raise NotFound
        report = sync_one(services, connection_id)  # errors are kept on the connection, shown on its page
        # Only back to the list or the calendar's page: never an address from the form.
        page = f"/calendars/{connection_id}"
        back = back_to if back_to in ("/calendars", page) else page
        notice = "sync_failed" if report.error else "synced"
        return RedirectResponse(f"{back}?notice={notice}", status_code=303)

    @router.get("/calendars/{provider}/connect")
    def connect(request: Request, provider: str, viewer: Annotated[Viewer, signed]) -> Response:
        chosen = linker(provider)
        if not chosen.is_configured(settings):
            return not_configured(request, chosen, viewer)
        url = chosen.start_connect(services, account_id=viewer.account_id, session_id=web.browser(request).id)
        return RedirectResponse(url, status_code=303)

    @router.get("/oauth/{provider}/callback")
    def callback(
        request: Request,
        provider: str,
        viewer: Annotated[Viewer, signed],
        state: str = "",
        code: str = "",
        error: str = "",
    ) -> Response:
        chosen = linker(provider)
        title = N_("The calendar was not connected")
        if error or not code:
            text = (
                "You declined access." if error == "access_denied" else "The provider did not grant access."
            )
            return web.message(request, title, text, status_code=400, viewer=viewer)
        try:
            grant_id = chosen.finish_connect(
                services, state=state, query=dict(request.query_params), session_id=web.browser(request).id
            )
        except (ConnectError, CalendarError) as exc:
            return provider_said(request, viewer, gettext_for(web.language_of(request, viewer), title), exc)
        return RedirectResponse(f"/calendars/{provider}/pick/{grant_id}", status_code=303)

    @router.get("/calendars/{provider}/pick/{grant_id}")
    def pick(request: Request, provider: str, grant_id: int, viewer: Annotated[Viewer, signed]) -> Response:
        chosen = linker(provider)
        try:
            calendars = chosen.calendars_of_grant(services, account_id=viewer.account_id, grant_id=grant_id)
        except ConnectError as exc:
            raise NotFound from exc
        except CalendarError as exc:
            return provider_said(request, viewer, chosen.LABEL, exc)
        context = {
            "calendars": calendars,
            "action": f"/calendars/{provider}/pick/{grant_id}",
            "label": chosen.LABEL,
        }
        return web.page(request, "calendars/pick.html", context, viewer=viewer)

    @router.post("/calendars/{provider}/pick/{grant_id}")
    def choose(
        request: Request,
        provider: str,
        grant_id: int,
        viewer: Annotated[Viewer, signed],
        calendar: Annotated[list[str] | None, Form()] = None,
    ) -> Response:
        chosen = linker(provider)
        try:
            chosen.connect_calendars(
                services, account_id=viewer.account_id, grant_id=grant_id, calendar_ids=calendar or []
            )
        except ConnectError as exc:
            raise NotFound from exc
        except CalendarError as exc:
            return provider_said(request, viewer, chosen.LABEL, exc)
        return RedirectResponse("/calendars?notice=connected", status_code=303)

    @router.get("/calendars/{connection_id}/disconnect")
    def confirm_disconnect(
        request: Request, connection_id: int, viewer: Annotated[Viewer, signed]
    ) -> Response:
        with services.reader() as db:
            connection = queries.owned_calendar(db, viewer.account_id, connection_id)
        if connection is None or connection.disconnected_at is not None:
            raise NotFound
        return web.page(request, "calendars/disconnect.html", {"calendar": connection}, viewer=viewer)

    @router.post("/calendars/{connection_id}/disconnect")
    def disconnect(request: Request, connection_id: int, viewer: Annotated[Viewer, signed]) -> Response:
        with services.factory.begin() as db:
            connection = queries.owned_calendar(db, viewer.account_id, connection_id)
            if connection is None or connection.disconnected_at is not None:
                raise NotFound
            provider = connection.provider
            if provider == "ics":
                close_and_release(db, connection, None, services.clock())
        if provider != "ics":
            try:
                linker(provider).disconnect(
                    services, account_id=viewer.account_id, connection_id=connection_id
                )
            except ConnectError as exc:
                raise NotFound from exc
        return RedirectResponse("/calendars?notice=disconnected", status_code=303)

    return router
