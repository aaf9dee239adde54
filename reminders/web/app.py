"""The FastAPI application: for now one page with the upcoming reminders and the outbox."""

from __future__ import annotations

from typing import Annotated

from fastapi import FastAPI, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse
from sqlalchemy import text

from reminders.bootstrap import Services
from reminders.web import queries
from reminders.web.calendar_pages import LINKERS, calendar_router
from reminders.web.rendering import TEMPLATES
from reminders.web.session import csrf_token, read_session, remember
from reminders.web.webhooks import webhook_router


def create_app(services: Services) -> FastAPI:
    """Build the web application around already-wired services."""
    app = FastAPI(title="reminders", docs_url=None, redoc_url=None)
    app.include_router(calendar_router(services))
    app.include_router(webhook_router(services))
    secure = services.settings.public_url.startswith("https://")

    @app.get("/", response_class=HTMLResponse)
    def index(request: Request, account: Annotated[int | None, Query()] = None) -> HTMLResponse:
        browser = read_session(request, services.signer)
        with services.factory.begin() as session:
            found = queries.account_for_page(session, account)
            if found is None:
                return TEMPLATES.TemplateResponse(
                    request, "empty.html", {}, status_code=404 if account else 200
                )
            context = {
                "account": found,
                "calendars": queries.calendars(session, found.id),
                "upcoming": queries.upcoming(session, found.id),
                "outcomes": queries.recent_outcomes(session, found.id),
                "outbox": queries.outbox(session, found.id),
                "when": lambda dt: queries.local(dt, found.timezone),
                "now": queries.local(services.clock(), found.timezone),
                "csrf": csrf_token(browser, services.signer),
                "providers": [
                    (name, linker.LABEL)
                    for name, linker in LINKERS.items()
                    if linker.is_configured(services.settings)
                ],
            }
            response = TEMPLATES.TemplateResponse(request, "index.html", context)
            remember(response, browser, services.signer, secure=secure)
            return response

    @app.get("/healthz")
    def healthz() -> JSONResponse:
        with services.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return JSONResponse({"status": "ok"})

    return app
