"""Every GET page of the app, opened in Chromium: 200, a heading, the right language, no console
errors, and no sideways scrolling on a phone.

The pages are read from the app's routes when the tests are collected, so a new page is tested
without being listed here. Pages with ids in their path are opened with rows made by the `site`
fixture; a new kind of id fails `test_page` until `path_values` knows it.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.dependencies.models import Dependant
from playwright.sync_api import Browser, BrowserContext, ViewportSize
from sqlalchemy import select

from connectors.calendars.memory import InMemoryCalendar
from reminders.accounts.invitations import invitation_token
from reminders.accounts.service import reset_token
from reminders.accounts.tokens import LinkTokens
from reminders.bootstrap import build_services
from reminders.calendars.sync import sync_connection
from reminders.models import (
    Appointment,
    BlockedNumber,
    CalendarTemplate,
    Invitation,
    MessageTemplate,
    ReminderRuleRow,
)
from reminders.settings import Settings
from reminders.web.app import create_app
from tests.browser.conftest import LiveApp, PageGuard, Screenshots, get_routes, serve_app
from tests.support.databases import fresh_sqlite
from tests.support.factories import event, make_account, make_calendar
from tests.support.web import PASSWORD, make_user

OWNER = "owner@praxis-seeblick.example"
LANGUAGE = "de"  # the owner's; the signed-in browser asks for English, so a page that ignores
# the user's language shows.
PHONE = ViewportSize(width=390, height=844)
DESKTOP = ViewportSize(width=1280, height=800)

# GET routes that are not pages to look at, and why.
NOT_PAGES = {
    "provider": "starts a consent round trip at Google or Microsoft",
    "grant_id": "needs a consent just given at Google or Microsoft",
}
ONE_TIME = {"/confirm/{token}": "confirms the address and redirects (tested in tests/integration)"}

# The elements that make a page wider than the window: beyond its right edge and not clipped by a
# scrolling box (an absolutely positioned element is clipped only by a box that holds its
# containing block).
_OVERFLOWING = """() => {
  const width = window.innerWidth + 1;
  const root = (box) => box === document.body || box === document.documentElement;
  const clipped = (el) => {
    const fixed = ["absolute", "fixed"].includes(getComputedStyle(el).position);
    const holder = el.offsetParent;
    for (let box = el.parentElement; box && !root(box); box = box.parentElement) {
      if (getComputedStyle(box).overflowX === "visible") continue;
      if (!fixed || (holder && (box === holder || box.contains(holder)))) return true;
    }
    return false;
  };
  const found = [];
  for (const el of document.body.querySelectorAll("*")) {
    if (el.getBoundingClientRect().right <= width || clipped(el)) continue;
    if (found.some((f) => f.el.contains(el))) continue;
    found.push({ el, right: Math.round(el.getBoundingClientRect().right) });
  }
  return found.slice(0, 5).map(({ el, right }) => {
    const classes = typeof el.className === "string" && el.className.trim()
      ? "." + el.className.trim().split(/\\s+/).join(".") : "";
    return `${el.tagName.toLowerCase()}${el.id ? "#" + el.id : ""}${classes} (to ${right}px)`;
  });
}"""


@dataclass(frozen=True)
class PageRoute:
    """A GET route to open, and whether it needs a signed-in user."""

    path: str
    signed_in: bool


def _needs_sign_in(dependant: Dependant) -> bool:
    return any(
        getattr(d.call, "__name__", "") in ("viewer", "owner") or _needs_sign_in(d)
        for d in dependant.dependencies
    )


def _required_query(dependant: Dependant) -> bool:
    return any(p.field_info.is_required() for p in dependant.query_params) or any(
        _required_query(d) for d in dependant.dependencies
    )


def discover() -> list[PageRoute]:
    """The app's GET routes worth opening (the app is built on a database it never opens)."""
    unused = Path(tempfile.gettempdir()) / "reminders-route-discovery-never-opened.db"
    services = build_services(Settings(env="test", database_url=f"sqlite:///{unused}"))
    try:
        routes = get_routes(create_app(services))
    finally:
        services.close()
    found = []
    for get in routes:
        params = set(re.findall(r"\{(\w+)", get.path))
        if params & NOT_PAGES.keys() or get.path in ONE_TIME or _required_query(get.route.dependant):
            continue
        found.append(PageRoute(get.path, _needs_sign_in(get.route.dependant)))
    return sorted(found, key=lambda r: r.path)


PAGES = discover()


@dataclass
class Site:
    """The app with one account's data, a signed-in browser and an anonymous one."""

    app: LiveApp
    member: BrowserContext
    visitor: BrowserContext
    values: dict[str, list[str]]
    tokens: dict[str, str]

    def paths(self, template: str) -> list[str]:
        """The concrete paths of a route; raises LookupError for a parameter nobody knows."""
        if template in self.tokens:
            return [template.replace("{token}", self.tokens[template])]
        paths = [template]
        for name in re.findall(r"\{(\w+)", template):
            if name not in self.values:
                raise LookupError(name)
            paths = [p.replace(f"{{{name}}}", value) for p in paths for value in self.values[name]]
        return paths


def seed(app: LiveApp) -> tuple[dict[str, list[str]], dict[str, str]]:
    """One account with something on every page; returns the ids for path parameters and the link tokens."""
    services, now = app.services, app.clock()
    with services.factory.begin() as session:
        account = make_account(session, name="Praxis Seeblick", credit_balance=50, now=now)
        owner = make_user(session, account, email=OWNER, language=LANGUAGE)
        staff = make_user(
            session, account, email="staff@praxis-seeblick.example", role="staff", language="en"
        )
        invited = Invitation(
            account_id=account.id,
            email="new@praxis-seeblick.example",
            role="staff",
            language="de",
            sent_at=now,
        )
        session.add(invited)
        calendar = make_calendar(
            session, account, name="Praxis Dr. Muster", rules=((24, "hours"), (2, "hours"))
        )
        rule = session.scalars(
            select(ReminderRuleRow).where(ReminderRuleRow.calendar_id == calendar.id)
        ).first()
        assert rule is not None
        template = MessageTemplate(
            account_id=account.id,
            name="Freundlich",
            language="de",
            body="Guten Tag! Ihr Termin bei {business} ist am {weekday}, {date} um {time}.",
        )
        session.add(template)
        session.flush()
        session.add(CalendarTemplate(calendar_id=calendar.id, language="de", template_id=template.id))
        blocked = BlockedNumber(
            account_id=account.id, kind="blacklist", number="+41795550011", note="am Telefon"
        )
        session.add_all(
            [blocked, BlockedNumber(account_id=account.id, kind="invalid", number="+41795550022")]
        )
        session.flush()
        # Another business, so every page has rows it must not show.
        other = make_account(session, name="Salon Nebenan", credit_balance=5, now=now)
        make_user(session, other, email="owner@salon-nebenan.example")
        other_calendar = make_calendar(session, other, name="Salon")
        ids = {
            "calendar": calendar.id,
            "rule": rule.id,
            "template": template.id,
            "staff": staff.id,
            "blocked": blocked.id,
            "invitation": invited.id,
            "other_calendar": other_calendar.id,
        }
        links = LinkTokens(services.settings.secret_key.get_secret_value())
        tokens = {
            "/password/reset/{token}": reset_token(links, owner),
            "/invite/{token}": invitation_token(links, invited),
        }
    events = [
        event(
            "soon",
            now + timedelta(hours=2, minutes=5),
            title="Kontrolle Anna Muster",
            location="079 123 45 67",
        ),
        event(
            "tomorrow",
            now + timedelta(hours=26),
            title="Dentalhygiene Beat Keller",
            location="+41 78 765 43 21",
        ),
        event("no-number", now + timedelta(hours=30), title="Besprechung", location="Raum 3"),
        event("landline", now + timedelta(days=3), title="Kontrolle Carla Rossi", location="044 123 45 67"),
        event("blocked", now + timedelta(days=4), title="Kontrolle Dora Frei", location="079 555 00 11"),
    ]
    for calendar_id, source in (
        (ids["calendar"], InMemoryCalendar(events)),
        (ids["other_calendar"], InMemoryCalendar([event("x", now + timedelta(hours=26), title="Nebenan")])),
    ):
        report = sync_connection(services.factory, calendar_id, source, now=now, horizon_days=60)
        assert report.error is None, report.error
    # The first reminder falls due and is sent: the message log and the credit history have a row.
    app.clock.advance(timedelta(minutes=6))
    assert services.dispatcher().run_once()
    with services.factory() as session:
        appointment_id = session.scalars(
            select(Appointment.id)
            .where(Appointment.calendar_id == ids["calendar"])
            .order_by(Appointment.starts_at)
        ).first()
    values = {
        "connection_id": [str(ids["calendar"])],
        "calendar_id": [str(ids["calendar"])],
        "rule_id": [str(ids["rule"])],
        "template_id": [str(ids["template"])],
        "appointment_id": [str(appointment_id)],
        "user_id": [str(ids["staff"])],
        "invitation_id": [str(ids["invitation"])],
        "entry_id": [str(ids["blocked"])],
        "kind": ["blacklist", "invalid"],
    }
    return values, tokens


@pytest.fixture(scope="module")
def site(browser: Browser, sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    directory = tmp_path_factory.mktemp("pages")
    with serve_app(fresh_sqlite(sqlite_template, directory), directory / "data", scheduler=False) as app:
        values, tokens = seed(app)
        member = browser.new_context(locale="en-US", viewport=DESKTOP)
        visitor = browser.new_context(locale="de-CH", viewport=DESKTOP)
        try:
            page = member.new_page()
            page.goto(app.url("/login"))
            page.fill("#f-email", OWNER)
            page.fill("#f-password", PASSWORD)
            with page.expect_navigation():
                page.click("form[action='/login'] button[type=submit]")
            assert page.url == app.url("/"), page.url
            page.close()
            yield Site(app, member, visitor, values, tokens)
        finally:
            member.close()
            visitor.close()


def test_pages_were_found() -> None:
    paths = {page.path for page in PAGES}
    assert {"/", "/login", "/signup", "/calendars", "/calendars/new"} <= paths, paths


@pytest.mark.parametrize("route", PAGES, ids=[page.path for page in PAGES])
def test_page(route: PageRoute, site: Site, guard: PageGuard, screenshots: Screenshots) -> None:
    try:
        paths = site.paths(route.path)
    except LookupError as exc:
        pytest.fail(f"{route.path}: no row for the path parameter {{{exc}}}; add one to `seed` in {__name__}")
    context = site.member if route.signed_in else site.visitor
    problems: list[str] = []
    for path in paths:
        url = site.app.url(path)
        head = context.request.get(url)
        if "text/html" not in head.headers.get("content-type", ""):
            # A download or JSON (/messages.csv, /healthz): it must answer, there is nothing to look at.
            if head.status != 200:
                problems.append(f"{path}: status {head.status}")
            continue
        page = guard.watch(context.new_page())
        try:
            response = page.goto(url)
            status = response.status if response else None
            if status != 200:
                problems.append(f"{path}: status {status}")
            if page.locator("h1").count() < 1:
                problems.append(f"{path}: no <h1>")
            lang = page.locator("html").get_attribute("lang")
            if lang != LANGUAGE:
                problems.append(f"{path}: <html lang={lang!r}>, expected {LANGUAGE!r}")
            name = slug(path.replace(site.tokens.get(route.path, "\0"), "token"))
            screenshots.take(page, name)
            page.set_viewport_size(PHONE)
            scroll_width, inner_width = page.evaluate(
                "() => [document.documentElement.scrollWidth, window.innerWidth]"
            )
            if scroll_width > inner_width + 1:
                wide = page.evaluate(_OVERFLOWING)
                problems.append(
                    f"{path}: scrolls sideways on a phone ({scroll_width}px wide in {inner_width}px): "
                    + ", ".join(wide)
                )
            screenshots.take(page, f"{name}-phone")
        finally:
            page.close()
    guard.check()
    assert not problems, "\n".join(problems)


def slug(path: str) -> str:
    """A file name for a page's screenshot: "/calendars/3" -> "calendars-3", "/" -> "overview"."""
    return re.sub(r"[^A-Za-z0-9]+", "-", path).strip("-") or "overview"
