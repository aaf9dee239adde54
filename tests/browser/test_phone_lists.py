"""Lists on a phone (issue 10, item 7): the message log, the appointments, an appointment's
hand-overs, the blocked numbers and the overview fit a 390 px screen, and every row's To, Text
and State are on the screen, the state first, with the header's words above each value."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, FloatRect, Page, ViewportSize
from sqlalchemy import select

from connectors.calendars.memory import InMemoryCalendar
from reminders.calendars.sync import sync_connection
from reminders.models import Appointment, BlockedNumber, Reminder
from reminders.reasons import ReminderState, SkipReason
from tests.browser.conftest import LiveApp, PageGuard, Screenshots, serve_app
from tests.support.databases import fresh_sqlite
from tests.support.factories import event, make_account, make_calendar
from tests.support.web import PASSWORD, make_user

PHONE = ViewportSize(width=390, height=844)
OWNER = "owner@salon-stuhl.example"
LONG_TITLE = "Balayage, Schnitt und Föhnen mit Pflegekur Annemarie Müller-Lüdenscheidt"

# Every element of the main content that reaches beyond the screen's edges.
_OUTSIDE = """() => {
  const width = window.innerWidth;
  return [...document.querySelectorAll("main *")]
    .filter((el) => {
      const box = el.getBoundingClientRect();
      return box.width > 0 && (box.left < -1 || box.right > width + 1);
    })
    .slice(0, 5)
    .map((el) => `${el.tagName.toLowerCase()}.${el.className} to ${el.getBoundingClientRect().right}px`);
}"""
# Scrolling boxes whose content is wider than they are (a table that scrolls inside its box).
_SCROLLING = """() => [...document.querySelectorAll(".table-wrap")]
  .filter((el) => el.scrollWidth > el.clientWidth + 1)
  .map((el) => `${el.scrollWidth}px in ${el.clientWidth}px`)"""


@dataclass
class Phone:
    app: LiveApp
    page: Page
    appointment_id: int


def seed(app: LiveApp, language: str) -> int:
    """A salon whose first connect left a sent reminder, skips, a blocked number and one never
    possible; returns the id of the appointment whose reminder went out."""
    services, now = app.services, app.clock()
    with services.factory.begin() as session:
        account = make_account(session, name="Salon Stuhl", credit_balance=50, now=now)
        make_user(session, account, email=OWNER, language=language)
        calendar = make_calendar(session, account, name="Salon Stuhl 1", rules=((24, "hours"), (2, "hours")))
        session.add(
            BlockedNumber(account_id=account.id, kind="blacklist", number="+41795550011", note="STOP")
        )
        calendar_id = calendar.id
    source = InMemoryCalendar(
        [
            event("sent", now + timedelta(hours=2, minutes=5), title=LONG_TITLE, location="079 123 45 67"),
            event(
                "before", now + timedelta(hours=1), title="Kontrolle Beat Keller", location="078 765 43 21"
            ),
            event("none", now + timedelta(hours=30), title="Besprechung", location="Raum 3"),
            event("landline", now + timedelta(days=2), title="Carla Rossi", location="044 123 45 67"),
            event("stop", now + timedelta(days=3), title="Dora Frei", location="079 555 00 11"),
        ]
    )
    report = sync_connection(services.factory, calendar_id, source, now=now, horizon_days=60)
    assert report.error is None, report.error
    with services.factory.begin() as session:
        ids = {
            external: row_id
            for external, row_id in session.execute(select(Appointment.external_id, Appointment.id))
        }
        for reminder in session.scalars(select(Reminder).where(Reminder.appointment_id == ids["before"])):
            reminder.state, reminder.reason = ReminderState.SKIPPED, SkipReason.BEFORE_CONNECTED
        for reminder in session.scalars(select(Reminder).where(Reminder.appointment_id == ids["sent"])):
            if reminder.state == ReminderState.SKIPPED:
                reminder.reason = SkipReason.QUIET_HOURS
    app.clock.advance(timedelta(minutes=6))
    assert services.dispatcher().run_once()
    return ids["sent"]


@pytest.fixture(scope="module", params=["en", "de"])
def phone(
    request: pytest.FixtureRequest,
    browser: Browser,
    sqlite_template: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Phone]:
    directory = tmp_path_factory.mktemp("phone")
    with serve_app(fresh_sqlite(sqlite_template, directory), directory / "data", scheduler=False) as app:
        appointment_id = seed(app, request.param)
        context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, locale="de-CH")
        try:
            page = context.new_page()
            page.goto(app.url("/login"))
            page.fill("#f-email", OWNER)
            page.fill("#f-password", PASSWORD)
            with page.expect_navigation():
                page.click("form[action='/login'] button[type=submit]")
            yield Phone(app, page, appointment_id)
        finally:
            context.close()


def open_page(phone: Phone, guard: PageGuard, path: str) -> Page:
    page = guard.watch(phone.page)
    response = page.goto(phone.app.url(path))
    assert response is not None, path
    assert response.status == 200, path
    return page


def assert_fits(page: Page, path: str) -> None:
    scroll_width, inner_width = page.evaluate(
        "() => [document.scrollingElement.scrollWidth, window.innerWidth]"
    )
    assert scroll_width <= inner_width, f"{path} scrolls sideways: {scroll_width}px in {inner_width}px"
    assert page.evaluate(_OUTSIDE) == [], path
    assert page.evaluate(_SCROLLING) == [], path


def assert_on_screen(page: Page, selector: str) -> FloatRect:
    box = page.locator(selector).bounding_box()
    assert box is not None, f"{selector} is not shown"
    assert box["x"] >= 0, (selector, box)
    assert box["x"] + box["width"] <= PHONE["width"], (selector, box)
    assert box["width"] > 0, (selector, box)
    assert box["height"] > 0, (selector, box)
    return box


def test_the_message_log_is_cards_with_the_state_first(
    phone: Phone, guard: PageGuard, screenshots: Screenshots
) -> None:
    page = open_page(phone, guard, "/messages")
    lang = page.locator("html").get_attribute("lang")
    screenshots.take(page, f"messages-{lang}")

    assert page.locator("tr[data-testid=log-row]").count() == 2  # the sent one and the quiet-hours skip
    assert_fits(page, "/messages")
    row = "tr[data-testid=log-row]:first-child"
    state = assert_on_screen(page, f"{row} [data-testid=state]")
    to = assert_on_screen(page, f"{row} [data-testid=to]")
    text = assert_on_screen(page, f"{row} [data-testid=text]")
    assert state["y"] < to["y"] < text["y"]
    label = page.eval_on_selector(
        f"{row} [data-testid=state]", "(el) => getComputedStyle(el, '::before').content"
    )
    assert label == ('"State"' if lang == "en" else '"Status"')
    header = page.locator("table.stacked thead").bounding_box()
    assert header is not None  # kept for screen readers, out of sight
    assert header["height"] <= 1


def test_the_appointment_list_is_cards_that_show_every_column(
    phone: Phone, guard: PageGuard, screenshots: Screenshots
) -> None:
    page = open_page(phone, guard, "/appointments")
    lang = page.locator("html").get_attribute("lang")
    screenshots.take(page, f"appointments-{lang}")

    assert_fits(page, "/appointments")
    rows = page.locator("table.stacked tbody tr")
    assert rows.count() == 5
    for index in range(rows.count()):
        for cell in range(rows.nth(index).locator("td").count()):
            box = rows.nth(index).locator("td").nth(cell).bounding_box()
            assert box is not None, (index, cell)
            assert box["x"] >= 0, (index, cell, box)
            assert box["x"] + box["width"] <= PHONE["width"], (index, cell, box)
    assert page.locator(".state-blocked").count() >= 3


def test_the_past_appointment_never_possible_is_grey_and_fits(
    phone: Phone, guard: PageGuard, screenshots: Screenshots
) -> None:
    phone.app.clock.advance(timedelta(hours=1))  # the never-possible appointment has begun
    page = open_page(phone, guard, "/appointments?when=past")
    lang = page.locator("html").get_attribute("lang")
    screenshots.take(page, f"appointments-past-{lang}")

    assert_fits(page, "/appointments?when=past")
    muted = page.locator(".state-muted")
    assert muted.count() == 2
    assert_on_screen(page, ".state-muted >> nth=0")
    assert page.locator(".state-skipped").count() == 0


@pytest.mark.parametrize("path", ["/appointments/{id}", "/numbers/blacklist", "/"])
def test_the_other_lists_fit_the_phone(
    path: str, phone: Phone, guard: PageGuard, screenshots: Screenshots
) -> None:
    shown = path.replace("{id}", str(phone.appointment_id))
    page = open_page(phone, guard, shown)
    lang = page.locator("html").get_attribute("lang")
    name = "".join(c if c.isalnum() else "-" for c in shown).strip("-") or "overview"
    screenshots.take(page, f"{name}-{lang}")

    assert_fits(page, shown)
