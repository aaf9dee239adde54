"""The FastAPI application: middleware, error pages and the routers of every area of the app."""

from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import quote

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import text
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from reminders.bootstrap import Services
from reminders.web.account_pages import account_router
from reminders.web.appointment_pages import appointment_router
from reminders.web.auth_pages import auth_router
from reminders.web.calendar_pages import calendar_router
from reminders.web.calendar_settings import calendar_settings_router
from reminders.web.context import CsrfRefused, Forbidden, NotFound, NotSignedIn, Web
from reminders.web.dashboard import dashboard_router
from reminders.web.i18n import N_
from reminders.web.message_log import message_log_router
from reminders.web.number_pages import number_router
from reminders.web.template_pages import template_router
from reminders.web.webhooks import webhook_router

STATIC = Path(__file__).parent / "static"
# Pages load only their own scripts and styles; nothing inline, nothing from elsewhere.
SECURITY_HEADERS = {
    "content-security-policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
    ),
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
}
# Production is served over https only (settings refuse an http public URL): browsers must not
# even try plain http for a year, on any subdomain.
HSTS = ("strict-transport-security", "max-age=31536000; includeSubDomains")


def create_app(services: Services) -> FastAPI:
    """Build the web application around already-wired services."""
    app = FastAPI(title="reminders", docs_url=None, redoc_url=None, openapi_url=None)
    web = Web(services)
    headers = dict(SECURITY_HEADERS)
    if services.settings.env == "production":
        headers.update([HSTS])
    guarded = [Depends(web.csrf_guard)]
    for router in (
        auth_router(web),
        dashboard_router(web),
        calendar_router(web),
        calendar_settings_router(web),
        template_router(web),
        appointment_router(web),
        message_log_router(web),
        number_router(web),
        account_router(web),
    ):
        app.include_router(router, dependencies=guarded)
    # Webhooks are called by Google and Microsoft, not browsers: they prove themselves with channel secrets.
    app.include_router(webhook_router(services))
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.middleware("http")
    async def browser_session(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        request.state.browser = web.cookies.read(request)
        response = await call_next(request)
        session = request.state.browser
        if session.changed and not request.url.path.startswith(("/webhooks/", "/static/", "/healthz")):
            web.cookies.write(response, session)
        for name, value in headers.items():
            response.headers.setdefault(name, value)
        if "text/html" in response.headers.get("content-type", ""):
            response.headers.setdefault("cache-control", "no-store")
        return response

    @app.exception_handler(NotSignedIn)
    def not_signed_in(request: Request, _exc: NotSignedIn) -> Response:
        if request.method == "GET":
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
        return web.message(
            request, N_("Please sign in"), N_("Your session has ended. Sign in again."), status_code=401
        )

    @app.exception_handler(Forbidden)
    def forbidden(request: Request, _exc: Forbidden) -> Response:
        return web.message(
            request, N_("Only for owners"), N_("Ask an owner of this account to do this."), status_code=403
        )

    @app.exception_handler(NotFound)
    def not_found(request: Request, _exc: NotFound) -> Response:
        return web.message(request, N_("Not found"), N_("There is nothing here."), status_code=404)

    @app.exception_handler(CsrfRefused)
    def csrf_refused(request: Request, _exc: CsrfRefused) -> Response:
        return web.message(
            request,
            N_("Please try again"),
            N_("The form expired. Reload the page and send it again."),
            status_code=403,
        )

    @app.exception_handler(StarletteHTTPException)
    def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404:
            return web.message(request, N_("Not found"), N_("There is nothing here."), status_code=404)
        if exc.status_code == 405:
            return web.message(request, N_("Not found"), N_("There is nothing here."), status_code=405)
        return web.message(request, N_("Something went wrong"), str(exc.detail), status_code=exc.status_code)

    @app.get("/healthz")
    def healthz() -> JSONResponse:
        with services.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return JSONResponse({"status": "ok"})

    return app
