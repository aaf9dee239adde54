"""A new business from sign-up to its first reminder sent, in Chromium against the real app.

The app runs with the in-process scheduler, as `reminders serve` does. Its clock starts at 09:00
in Zurich and ticks in real time; the test jumps it ahead when a reminder should fall due, and the
scheduler sends it by itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from reminders.models import Reminder, SendAttempt
from reminders.reasons import ReminderState
from tests.browser.conftest import LiveApp, PageGuard, Screenshots
from tests.support.http_feed import FeedState, feed_server
from tests.support.reading import wait_for
from tests.support.web import link_in, sent_mails

EMAIL = "lea@salon-lea.example"
PASSWORD = "Haarschnitt-2026!"
TITLE = "Haarschnitt Anna Muster"
MOBILE = "+41791234567"
MASKED = "+41•••••••67"
TEMPLATE = "Hello from {business}: see you on {date} at {time}."
SENT_TEXT = re.compile(r"^Hello from Salon Lea: see you on .+ at 11:00\.$")


def feed(app: LiveApp) -> bytes:
    """One appointment 26 hours ahead (11:00 tomorrow in Zurich) with a Swiss mobile in its location:
    the default rule (24 hours before) plans its reminder for 11:00 today."""
    start = app.clock() + timedelta(hours=26)
    stamp = "%Y%m%dT%H%M%SZ"
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//reminders//browser journey//EN",
        "BEGIN:VEVENT",
        "UID:journey-1@salon-lea.example",
        f"DTSTAMP:{app.clock().strftime(stamp)}",
        f"DTSTART:{start.strftime(stamp)}",
        f"DTEND:{(start + timedelta(minutes=45)).strftime(stamp)}",
        f"SUMMARY:{TITLE}",
        "LOCATION:+41 79 123 45 67",
        "END:VEVENT",
        "END:VCALENDAR",
        "",
    ]
    return "\r\n".join(lines).encode()


@dataclass
class Journey:
    """One browser tab through the app; each step ends with a screenshot and the error check."""

    app: LiveApp
    page: Page
    guard: PageGuard
    shots: Screenshots
    number: int = 0

    def step(self, name: str) -> None:
        """Screenshot the page as it is now (`01-signup.png`, ...) and fail on reported errors."""
        self.number += 1
        self.page.wait_for_load_state("load")
        self.shots.take(self.page, f"{self.number:02d}-{name}")
        self.guard.check()

    def goto(self, path: str) -> None:
        response = self.page.goto(self.app.url(path))
        assert response is not None, path
        assert response.status == 200, f"{path}: {response.status}"

    def notice(self, text: str) -> None:
        expect(self.page.locator("main > .notice")).to_contain_text(text)


@pytest.fixture
def journey(
    live_app: LiveApp, browser: Browser, guard: PageGuard, screenshots: Screenshots
) -> Iterator[Journey]:
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 800})
    context.set_default_timeout(10_000)
    try:
        yield Journey(live_app, guard.watch(context.new_page()), guard, screenshots)
    finally:
        context.close()


def test_from_sign_up_to_the_first_reminder_sent(journey: Journey) -> None:
    app, page = journey.app, journey.page
    state = FeedState(body=feed(app))
    with feed_server(state) as feed_url:
        # Sign up: business, name, e-mail, password.
        journey.goto("/signup")
        expect(page.get_by_role("heading", level=1)).to_have_text("Create your account")
        page.get_by_label("Business name").fill("Salon Lea")
        page.get_by_label("Your name").fill("Lea Meier")
        page.get_by_label("E-mail address").fill(EMAIL)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_label("Language of these pages").select_option("en")
        journey.step("signup")
        page.get_by_role("button", name="Create account").click()

        # The same answer for a new address and one in use: the e-mail says the rest.
        expect(page).to_have_url(re.compile(r"/signup/sent$"))
        expect(page.get_by_role("heading", level=1)).to_have_text("Check your e-mail")
        journey.step("signup-sent")

        # The confirmation link from the mail leads to sign-in.
        (mail,) = sent_mails(app.services)
        assert mail.to == EMAIL
        journey.goto(link_in(mail))
        journey.notice("your e-mail address is confirmed")
        journey.step("email-confirmed")
        page.get_by_label("E-mail address").fill(EMAIL)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()

        # The overview welcomes the new account: 10 SMS free, no calendar yet.
        expect(page).to_have_url(re.compile(r"/\?notice=welcome$"))
        expect(page.get_by_role("heading", level=1)).to_have_text("Overview")
        journey.notice("Welcome!")
        expect(page.get_by_test_id("credit")).to_have_text("10")
        expect(page.get_by_text("Please confirm your e-mail address")).to_have_count(0)
        journey.step("overview")

        # Connect the ICS feed by its URL; it is read at once.
        page.get_by_role("link", name="Connect a calendar").first.click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Connect a calendar")
        page.get_by_label("Link to the calendar (ICS)").fill(feed_url)
        page.get_by_label("Name", exact=True).fill("Salon")
        journey.step("connect-calendar")
        page.get_by_role("button", name="Connect the link").click()
        expect(page).to_have_url(re.compile(r"/calendars/\d+\?notice=connected$"))
        assert state.requests, "the feed was not read"
        calendar_path = page.url.removeprefix(app.base_url).split("?")[0]

        # The calendar's page: reminders on, the default rule.
        journey.notice("Calendar connected")
        expect(page.get_by_role("heading", level=1)).to_have_text("Salon")
        expect(page.get_by_text("Reminders on")).to_be_visible()
        rules = page.get_by_role("region", name="When reminders are sent")
        expect(rules.get_by_role("listitem")).to_have_text(["24 hours before · Remove"])
        journey.step("calendar")

        # The overview lists the planned reminder: the title, the masked number, due 11:00 today.
        journey.goto("/")
        upcoming = page.get_by_role("row").filter(has_text=TITLE)
        expect(upcoming).to_have_count(1)
        expect(upcoming).to_contain_text(MASKED)
        expect(upcoming).to_contain_text("11:00")
        journey.step("overview-planned")

        # A second rule, 2 hours before: planned at once.
        journey.goto(calendar_path)
        add_before = page.locator("form").filter(has=page.get_by_label("Reminder before the appointment"))
        add_before.get_by_label("Reminder before the appointment").fill("2")
        add_before.get_by_label("Unit").select_option("hours")
        add_before.get_by_role("button", name="Add").click()
        journey.notice("Added.")
        expect(rules.get_by_role("listitem")).to_have_count(2)
        expect(rules.get_by_role("listitem").filter(has_text="2 hours before")).to_have_count(1)
        journey.step("rule-added")
        assert len(scheduled(app)) == 2

        # A template of our own; the preview follows the typing, with the next appointment's data.
        journey.goto("/templates")
        page.get_by_role("link", name="New template").click()
        editor = page.locator("#template-editor")
        editor.get_by_label("Name").fill("Friendly")
        editor.get_by_label("Language").select_option("en")
        preview = page.locator("#template-preview")
        expect(preview).to_contain_text("The next appointment in Salon")
        message = editor.get_by_label("Message")
        message.fill("See you at {tiem}")
        expect(preview.locator("[data-preview-error]")).to_contain_text("Unknown placeholder {tiem}")
        journey.step("template-typo")
        message.fill(TEMPLATE.replace(":", " 😀:"))
        expect(preview).to_contain_text("UCS-2")
        expect(preview).to_contain_text("Hello from Salon Lea 😀: see you on")
        journey.step("template-emoji")
        message.fill(TEMPLATE)
        expect(preview.locator(".sms")).to_have_text(SENT_TEXT)
        expect(preview).to_contain_text("GSM-7")
        expect(preview).to_contain_text("Credits per reminder: 1")
        journey.step("template-preview")
        editor.get_by_role("button", name="Save template").click()
        journey.notice("Saved.")

        # The calendar sends English reminders with that template.
        journey.goto(calendar_path)
        page.get_by_label("Language of the reminders").select_option("en")
        page.get_by_label("English", exact=True).select_option(label="Friendly")
        page.get_by_role("button", name="Save settings").click()
        journey.notice("Saved.")
        journey.step("calendar-template")

        # The appointment, its number and its reminders.
        journey.goto("/appointments")
        row = page.get_by_role("row").filter(has_text=TITLE)
        expect(row).to_have_count(1)
        expect(row.get_by_test_id("number")).to_have_text(MASKED)
        journey.step("appointments")
        row.get_by_role("link", name=TITLE).click()
        expect(page.get_by_role("heading", level=1)).to_have_text(TITLE)
        expect(page.get_by_test_id("recipient")).to_contain_text(MASKED)
        expect(page.get_by_test_id("reminder")).to_have_count(2)
        expect(page.get_by_test_id("text").first).to_have_text(SENT_TEXT)
        journey.step("appointment")

        # Two hours later the first reminder is due: the scheduler sends it by itself.
        app.clock.advance(timedelta(hours=2, minutes=1))
        assert wait_for(lambda: sent_to(app) == [MOBILE], seconds=20), sent_to(app)
        (sms,) = [message.sms for message in app.gateway.outbox]
        assert sms.to == MOBILE
        assert SENT_TEXT.match(sms.body), sms.body
        journey.goto("/")
        expect(page.get_by_test_id("credit")).to_have_text("9")
        journey.step("overview-sent")

        # The message log shows it.
        journey.goto("/messages")
        logged = page.get_by_test_id("log-row").filter(has_text=MASKED)
        expect(logged).to_have_count(1)
        expect(logged).to_contain_text(TITLE)
        expect(logged.locator(".body")).to_have_text(sms.body)
        expect(logged.locator(".state")).to_have_text("Sent")
        journey.step("messages")


def scheduled(app: LiveApp) -> list[Reminder]:
    with app.services.factory() as session:
        return list(session.scalars(select(Reminder).where(Reminder.state == ReminderState.SCHEDULED)))


def sent_to(app: LiveApp) -> list[str]:
    """The recipients of the send attempts that went through."""
    with app.services.factory() as session:
        return list(session.scalars(select(SendAttempt.recipient).where(SendAttempt.outcome == "sent")))
